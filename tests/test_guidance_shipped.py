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
