"""The gate on span rewrites (dllm_core.gate): repetition the original lacks, a reading much worse than the
original's under the judge, the original itself passing, None without a causal reading, and the verdict in the
edit result and the CLI. The reading is checked with SmolLM2's real base as the judge (its identity matters); the
mechanics on a tiny random Llama with SmolLM2's tokenizer."""

from __future__ import annotations

import json

import pytest
from test_bpe_shifted import base_dir, bpe_editor, bpe_tokenizer, tiny_llama  # noqa: F401 (fixtures)

from dllm_core import Editor, SamplerConfig, gate
from dllm_core.adapter import ModelAdapter
from dllm_core.shifted import ShiftedDiffusionLM

GOOD = "The committee will meet again next week to discuss the budget for the new library in the town centre."


@pytest.fixture(scope="module")
def judged(base_dir, bpe_tokenizer):  # noqa: F811
    """A shifted tiny model whose judge is SmolLM2's real base causal LM."""
    from transformers import AutoModelForCausalLM

    adapter = ModelAdapter(ShiftedDiffusionLM(tiny_llama(49152)), bpe_tokenizer, "tiny+judge", kind="shifted-causal",
                           start_token="<|endoftext|>")
    adapter.judge_loader = lambda: AutoModelForCausalLM.from_pretrained(base_dir)
    return adapter


@pytest.mark.parametrize("original,rewrite,says", [
    ("Many firms went bankrupt in the crisis and the banks lost money on their loans.",
     "Many firms went bankrupt in the crisis and went bankrupt on their loans.", 'repeats "went bankrupt"'),
    ("It helps small businesses grow.", "It helps small and small businesses grow.", '"small" on both sides'),
    ("It was the best of all the days.", "It was the the best of all days.", 'writes "the the"'),
])
def test_new_repeats_are_found(original, rewrite, says):
    assert says in gate.new_repeat(original, rewrite)


@pytest.mark.parametrize("original,rewrite", [
    ("Prices rose again and again this year.", "Prices went up again and again this year."),  # the original has it
    ("The end of the road is near.", "The end of the road is near, said the head of the council."),  # "of the" x2
    ("The lines grew long at the gates.", "The lines grew longer and longer at the gates."),  # a comparative
    ("They talked on the way home.", "They talked on and on all the way home."),  # an idiom of function words
    ("He said it would cost money. We paid.", "He said it would cost money. He said we paid."),  # another sentence
])
def test_repeats_the_original_has_or_english_needs_are_not_flagged(original, rewrite):
    assert gate.new_repeat(original, rewrite) is None


def test_the_judge_passes_the_original_and_stops_what_reads_much_worse(judged):
    same = gate.check_rewrite(judged, GOOD, GOOD)
    assert same["reads_well"] and same["drop"] == 0.0
    scrambled = GOOD.replace("to discuss the budget for", "budget the to for discuss")
    verdict = gate.check_rewrite(judged, GOOD, scrambled)
    assert not verdict["reads_well"] and "reads worse than the original" in verdict["why"] and verdict["drop"] > 0
    close = gate.check_rewrite(judged, GOOD, GOOD.replace("to discuss the budget", "to talk about the budget"))
    assert close["drop"] < verdict["drop"] - 1.0
    repeated = gate.check_rewrite(judged, GOOD, GOOD.replace("to discuss the budget for", "to meet again next week"))
    assert not repeated["reads_well"] and 'repeats "meet again"' in repeated["why"]
    assert gate.check_rewrite(judged, GOOD, scrambled, max_drop=1e9)["reads_well"]  # the limit decides


def test_the_drop_scores_the_change_and_its_sentence_only(judged):
    before = "An unrelated first sentence about the weather stays the same. "
    after = " And a long unrelated last sentence follows it, which must not water the difference down at all."
    scrambled = GOOD.replace("to discuss the budget for", "budget the to for discuss")
    alone = gate.reading_drop(judged, GOOD, scrambled)
    inside = gate.reading_drop(judged, before + GOOD + after, before + scrambled + after)
    assert inside == pytest.approx(alone, abs=0.3)


def test_drops_read_in_one_batch_are_the_drops_read_one_by_one(judged):
    rewrites = [GOOD.replace("to discuss the budget for", "budget the to for discuss"),
                GOOD.replace("to discuss the budget", "to talk about the budget"), GOOD.replace("budget", "plan")]
    passes = judged.forward_passes
    together = gate.reading_drops(judged, GOOD, rewrites)
    assert judged.forward_passes - passes == 1
    assert together == pytest.approx([gate.reading_drop(judged, GOOD, r) for r in rewrites], abs=1e-4)
    assert gate.reading_drops(judged, GOOD, []) == []


def test_verdicts_read_in_one_batch_are_the_verdicts_read_one_by_one(judged):
    rewrites = [GOOD, GOOD.replace("budget", "budget budget"), GOOD.replace("to discuss the budget", "to talk about the "
                "budget"), GOOD.replace("budget", "plan"), GOOD.replace("budget", "plan")]
    passes = judged.forward_passes
    together = gate.check_rewrites(judged, GOOD, rewrites, max_drop=0.0)
    assert judged.forward_passes - passes == 1  # the unchanged one and the repeated one are not read twice
    one_by_one = [gate.check_rewrite(judged, GOOD, r, max_drop=0.0) for r in rewrites]
    assert [v["reads_well"] for v in together] == [v["reads_well"] for v in one_by_one]
    assert [v["drop"] for v in together] == pytest.approx([v["drop"] for v in one_by_one], abs=1e-3)
    assert together[0]["why"] == "the same words as the original" and not together[1]["reads_well"]


def test_gate_is_none_without_a_causal_reading_or_an_original(tiny_editor, bpe_editor):  # noqa: F811
    result = tiny_editor.edit("The [[cat]] sat on the mat.", SamplerConfig(steps=2))
    assert result.gate is None and result.to_json(tiny_editor.tokenizer)["gate"] is None
    assert bpe_editor.edit("The harbour was [[4]] when it came.", SamplerConfig(steps=2)).gate is None  # an insertion
    assert bpe_editor.edit("The harbour was [[quiet]] and [[2]] came.", SamplerConfig(steps=2)).gate is None
    result = bpe_editor.edit("The harbour was [[quiet in the grey morning]] when it came.", SamplerConfig(steps=3))
    assert set(result.gate) == {"reads_well", "why", "drop"} and isinstance(result.gate["reads_well"], bool)
    assert result.to_json(bpe_editor.tokenizer)["gate"] == result.gate
    assert gate.gate_for(bpe_editor.adapter, [], "x") is None


def test_cli_carries_the_verdict_and_says_when_it_fails(bpe_editor, monkeypatch, capsys):  # noqa: F811
    from cli.main import main

    monkeypatch.setattr(Editor, "load", classmethod(lambda cls, *a, **k: Editor(bpe_editor.adapter)))
    draft = "The harbour was [[quiet in the grey morning]] when the ferry came."
    args = ["edit", draft, "--writing", "parallel", "--steps", "3"]
    assert main([*args, "--json", "--no-trajectory"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["gate"]) == {"reads_well", "why", "drop"}
    monkeypatch.setattr(gate, "MAX_DROP", float("-inf"))  # nothing changed reads well enough
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() and "(no rewrite that reads well; try a shorter span or Fill)" in captured.err
    monkeypatch.setattr(gate, "MAX_DROP", float("inf"))
    monkeypatch.setattr(gate, "new_repeat", lambda original, rewrite: None)
    assert main(args) == 0
    assert "no rewrite that reads well" not in capsys.readouterr().err
