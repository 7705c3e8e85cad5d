"""Draft and verify on the fluent path (SamplerConfig.speculate, the preset "fast"; issue 24): the denoiser drafts the
rest of a span in its pass, the causal reading checks the draft in one pass, and the tokens the mixture agrees with
commit in the same step. On a tiny random Llama with SmolLM2's tokenizer (fp32)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from test_app import DEFAULTS, new_studio
from test_bpe_shifted import base_dir, bpe_editor, bpe_tokenizer  # noqa: F401 (fixtures)

from dllm_core import SamplerConfig
from dllm_core.canvas import TokenState
from dllm_core.presets import apply_preset

MARKUP = "The harbour was [[quiet and calm that]] morning, and the boats came in late."


def fast(seed: int = 3, **changes) -> SamplerConfig:
    return replace(apply_preset(SamplerConfig(seed=seed), "fast"), **changes)


def causal_reading(monkeypatch, adapter, make):
    """Replace the adapter's causal reading at the positions asked by ``make(rows, cols) -> logits``."""
    real = adapter.causal_logits_at

    def reading(input_ids, attention, rows, cols):
        logits = real(input_ids, attention, rows, cols)
        return make(logits, input_ids, rows, cols)

    monkeypatch.setattr(adapter, "causal_logits_at", reading)


def test_a_reading_that_agrees_lets_a_whole_span_commit_in_one_step(bpe_editor, monkeypatch):  # noqa: F811
    # a flat causal reading never overrules the denoiser: every drafted token is verified at once
    causal_reading(monkeypatch, bpe_editor.adapter, lambda logits, *_: torch.zeros_like(logits))
    result = bpe_editor.edit(MARKUP, fast(length_slack=0, writing_rules=False))  # a random model repeats itself
    first = result.trajectory[0]
    generated = [p for p, s in enumerate(first.states) if s == TokenState.GENERATED]
    assert len(generated) >= 4  # the span's tokens (at least one per word)
    assert sorted(first.committed) == generated  # the hook's commits are in the step's record
    assert result.stats.steps == 1
    assert result.text.startswith("The harbour was ") and result.text.endswith(" morning, and the boats came in late.")


def test_a_reading_that_always_disagrees_is_today_s_fluent_decoding(bpe_editor, monkeypatch):  # noqa: F811
    # the causal reading strongly favours a token that depends on the one before it, which the random denoiser
    # does not draft: the first check fails each step, so each step commits one token, as decoding without a draft
    def contrary(logits, input_ids, rows, cols):
        out = logits.clone()
        favour = (input_ids[rows, cols - 1] * 7919 + 11) % 40000 + 300
        out[torch.arange(len(out)), favour] = out.max() + 50.0
        return out

    causal_reading(monkeypatch, bpe_editor.adapter, contrary)
    with_draft = bpe_editor.edit(MARKUP, fast(length_slack=0))
    without = bpe_editor.edit(MARKUP, fast(length_slack=0, speculate=False))
    assert with_draft.text == without.text
    assert with_draft.stats.steps == without.stats.steps == len(
        [s for s in without.trajectory[-1].states if s == TokenState.GENERATED])


def test_the_real_reading_writes_the_span_in_no_more_steps_and_keeps_the_draft(bpe_editor):  # noqa: F811
    markup = "The [[harbour]] was [[quiet and calm that]] morning, and [[the boats]] came in late."
    for seed in range(3):
        config = fast(seed=seed, length_slack=0)
        result = bpe_editor.edit(markup, config)
        sequential = bpe_editor.edit(markup, replace(config, speculate=False))
        written = sum(len(r.committed) for r in result.trajectory)
        assert written == len([s for s in result.trajectory[-1].states if s == TokenState.GENERATED])
        assert result.stats.steps <= sequential.stats.steps
        # the first token of each run is decided the same way with and without the draft
        first = lambda r: [(p, r.trajectory[-1].ids[p]) for p in r.trajectory[0].committed][:1]  # noqa: E731
        assert first(result) == first(sequential)
        for kept in (" was ", " morning, and ", " came in late."):
            assert kept in result.text
        assert not any(s == TokenState.MASKED for s in result.trajectory[-1].states)


def test_pins_hold_and_beams_turn_the_draft_off(bpe_editor):  # noqa: F811
    markup = "The harbour was [[quiet]] {{and}} [[calm that]] morning."
    result = bpe_editor.edit(markup, fast(length_slack=0))
    assert " and " in result.text
    beams = apply_preset(SamplerConfig(seed=3), "fluent")
    assert bpe_editor.edit(MARKUP, replace(beams, speculate=True)).text == bpe_editor.edit(MARKUP, beams).text


@pytest.mark.parametrize("slack", [0, 2])
def test_the_page_s_last_canvas_is_the_result(bpe_editor, slack):  # noqa: F811
    """A length variant may win the ranking: the canvas and its replay then show that variant's steps."""
    studio = new_studio(bpe_editor)
    studio.writing_config = lambda editor, draft, config, *rest: fast(seed=config.seed, length_slack=slack)
    updates = [studio.page.named(u) for u in studio.run(MARKUP, **DEFAULTS, writing="fluent")]
    final = updates[-1]
    frame = final["session"]["frames"][-1]
    shown = "".join(t for t in frame["tokens"]).replace("Ġ", " ")
    assert "".join(shown.split()) == "".join(final["result"].split())
    # the status line says the writing mode set the steps, not "(of 1024 asked)"
    assert "several tokens a step" in final["status"] and "asked" not in final["status"]


def test_edit_many_gives_the_fast_and_fluent_paths_their_own_run(bpe_editor):  # noqa: F811
    """The writing paths with span lengths (FAST, FLUENT) are not shared runs: edit_many used to run them as one
    plain batch, which wrote other text than an edit of each draft alone (found by bench/gpu_check.py)."""
    from dllm_core.presets import writing_settings

    drafts = ["The council voted to [[raise the parking fees]] this year.", "Boats [[come back before]] dawn."]
    fast = writing_settings(SamplerConfig(seed=3), "auto", can_score=True, tokens_to_write=4, guided=False)
    assert fast.length_slack and fast.speculate
    many = bpe_editor.edit_many(drafts, fast)
    alone = [bpe_editor.edit(d, fast) for d in drafts]
    assert [m.text for m in many] == [a.text for a in alone]
    assert [m.candidates for m in many] == [a.candidates for a in alone]
