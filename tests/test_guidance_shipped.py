"""Guidance on the shipped model and classifiers (skipped when assets/model has no weights yet)."""

from __future__ import annotations

import re

import pytest

from dllm_core import SamplerConfig
from dllm_core.adapter import EMBEDDED_DIR
from guidance import GuidanceOptions, available_attributes, get_classifier, guided_edit

pytestmark = pytest.mark.skipif(not (EMBEDDED_DIR / "model.safetensors").exists(), reason="no shipped weights yet")


def test_shipped_classifiers_load_and_separate_clear_cases(editor):
    assert {"sentiment": ["negative", "positive"]}.items() <= available_attributes().items()
    sentiment = get_classifier(editor, "sentiment")
    good = sentiment.score("what a wonderful, delightful and beautiful day, i loved it.", "positive")
    bad = sentiment.score("a terrible, awful and boring mess; i hated it.", "positive")
    assert good > 0.5 > bad


def test_shipped_guidance_end_to_end(editor):
    markup = "The old harbour [[was quiet in the grey morning light and nobody came]] to see the boats."
    options = GuidanceOptions(require=["lighthouse", "new york"], ban=["the", "and"], attribute="sentiment",
                              target="positive", strength=8.0, exact=True)
    result, report = guided_edit(editor, markup, SamplerConfig(steps=8), options)
    assert report["satisfied"] and 0.0 <= report["attribute"]["score"] <= 1.0
    assert "lighthouse" in result.text.lower() and "new york" in result.text.lower()
    generated = result.text[len("The old harbour"): -len("to see the boats.")]
    assert not re.search(r"(?<!\w)(the|and)(?!\w)", generated, re.I), generated


@pytest.fixture(scope="module")
def smollm2_editor():
    from dllm_core import Editor  # noqa: PLC0415
    from dllm_core.basemodel import ensure_base  # noqa: PLC0415

    ensure_base(quiet=True)
    return Editor.load("smollm2-dlm")


def test_each_model_finds_the_classifiers_trained_on_its_own_embeddings(editor, smollm2_editor):
    from guidance.classifier import CLASSIFIER_DIR, find_classifier  # noqa: PLC0415

    for name in ("sentiment", "formality"):
        assert find_classifier(name, editor.adapter) == CLASSIFIER_DIR / f"{name}.json"
        assert find_classifier(name, smollm2_editor.adapter) == CLASSIFIER_DIR / "smollm2-dlm" / f"{name}.json"
    assert available_attributes(smollm2_editor.adapter) == available_attributes(editor.adapter)
    sentiment = get_classifier(smollm2_editor, "sentiment")
    assert sentiment.embeddings.shape[0] == smollm2_editor.adapter.mask_id + 1  # the mask row is readable
    good = sentiment.score("What a wonderful, delightful and beautiful day. I loved it.", "positive")
    bad = sentiment.score("A terrible, awful and boring mess. I hated it.", "positive")
    assert good > 0.5 > bad


def test_tone_on_smollm2_moves_its_classifier_score(smollm2_editor):
    from writing.actions import tone  # noqa: PLC0415

    text = "The hotel room was small, the staff were slow and the breakfast was cold."
    result = tone(smollm2_editor, text, "sentiment", "positive", strength=0.5, k=2, seed=0)
    sentiment = get_classifier(smollm2_editor, "sentiment")
    assert result.alternatives and all(a.text != text for a in result.alternatives)
    best = max(sentiment.score(a.text, "positive") for a in result.alternatives)
    assert best > sentiment.score(text, "positive")
