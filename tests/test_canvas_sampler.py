import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dllm_core import Canvas, EditError, SamplerConfig, TokenState
from dllm_core.detok import case_map, detokenize
from dllm_core.hooks import SamplerHook
from dllm_core.scheduler import plan_blocks, top_p_filter
from dllm_core.windows import plan_windows

DRAFT = "Dear {{Élodie}}, the [[quick brown]] fox [[4]] jumps over the lazy dog. It's \"fine\" — naïve café!"
odd_text = st.text(st.characters(blacklist_characters="[]{}\\", blacklist_categories=("Cs",)), min_size=1,
                   max_size=60)


def fixed_pieces(canvas):
    return [s.text for s in canvas.segments if s.kind in ("fixed", "pinned")]


def assert_in_order(text, pieces):
    cursor = 0
    for piece in pieces:
        found = text.find(piece, cursor)
        assert found >= 0, (piece, text)
        cursor = found + len(piece)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=odd_text, b=odd_text)
def test_canvas_roundtrip_preserves_every_character(tokenizer, a, b):
    canvas = Canvas.from_markup(a + "{{" + b + "}}" if b.strip() else a, tokenizer)
    assert canvas.render(tokenizer) == a + (b if b.strip() else "")


def test_canvas_states_and_lengths(tokenizer):
    canvas = Canvas.from_markup(DRAFT, tokenizer)
    states = canvas.states
    assert states.count(TokenState.MASKED) == 2 + 4  # "quick brown" keeps its 2 tokens, [[4]] inserts 4
    pinned = [tokenizer.convert_ids_to_tokens(canvas.ids[i]) for i in canvas.positions(TokenState.PINNED)]
    assert "".join(p.removeprefix("##") for p in pinned) == "elodie"
    assert len(Canvas.from_markup("a [[one two three four|50%]] b", tokenizer).positions(TokenState.MASKED)) == 2
    assert len(Canvas.from_markup("a [[one two|7]] b", tokenizer).positions(TokenState.MASKED)) == 7


@pytest.mark.parametrize("config", [
    SamplerConfig(steps=4),
    SamplerConfig(steps=8, temperature=1.0, top_p=0.9, order="margin", remask=0.5, seed=3),
    SamplerConfig(steps=6, block_length=2, order="entropy", schedule="linear"),
    SamplerConfig(steps=5, order="random", threshold=0.2),
    SamplerConfig(steps=12, remask=1.0, block_length=3, temperature=0.7, seed=9),
])
def test_sampler_invariants(tiny_editor, tokenizer, config):
    result = tiny_editor.edit(DRAFT, config)
    canvas = result.canvas
    pinned = canvas.positions(TokenState.PINNED)
    fixed = canvas.positions(TokenState.FIXED)
    first_ids = list(result.trajectory[0].ids)
    for record in result.trajectory:  # pins and fixed text never change at any step
        assert all(record.ids[i] == first_ids[i] for i in pinned + fixed)
        assert all(record.states[i] == TokenState.PINNED for i in pinned)
    assert canvas.n_masked == 0 and result.trajectory[-1].n_masked == 0
    assert tokenizer.mask_token_id not in canvas.ids
    assert not set(canvas.ids) & {tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id}
    assert result.stats.forward_passes == len(result.trajectory) == result.stats.steps <= config.steps
    assert_in_order(result.text, fixed_pieces(canvas))


def test_step_count_honoured(tiny_editor):
    for steps in (1, 3, 6):
        result = tiny_editor.edit(DRAFT, SamplerConfig(steps=steps))
        assert len(result.trajectory) == steps
        committed = sum(len(r.committed) for r in result.trajectory)
        assert committed == 6  # every masked position committed exactly once (no remasking)
    # more steps than masks: one commit per step, never idle passes
    assert len(tiny_editor.edit(DRAFT, SamplerConfig(steps=50)).trajectory) == 6


def test_schedule_commits_follow_cosine(tiny_editor):
    result = tiny_editor.edit("x [[40]] y", SamplerConfig(steps=8, schedule="cosine"))
    masked = [r.n_masked for r in result.trajectory]
    expected = [round(40 * math.cos(math.pi / 2 * (s + 1) / 8)) for s in range(8)]
    assert masked == expected


def test_seed_reproducible_and_temperature_varies(tiny_editor):
    cfg = SamplerConfig(steps=6, temperature=1.5, seed=11)
    a, b = tiny_editor.edit(DRAFT, cfg), tiny_editor.edit(DRAFT, cfg)
    assert a.text == b.text and [r.ids for r in a.trajectory] == [r.ids for r in b.trajectory]
    others = {tiny_editor.edit(DRAFT, SamplerConfig(steps=6, temperature=1.5, seed=s)).text for s in range(5)}
    assert len(others) > 1


def test_strength_renoises_but_never_pins(tiny_editor, tokenizer):
    markup = "The {{Queen}} said that the {{garden}} was lovely and the weather kind."
    result = tiny_editor.edit(markup, SamplerConfig(steps=6, strength=1.0))
    canvas = result.canvas
    assert canvas.positions(TokenState.FIXED) == []  # strength 1: every unpinned token re-noised
    assert "Queen" in result.text and "garden" in result.text
    half = tiny_editor.edit(markup, SamplerConfig(steps=6, strength=0.5)).canvas
    n_free = len(Canvas.from_markup(markup, tokenizer).positions(TokenState.FIXED))
    assert len(half.positions(TokenState.GENERATED)) == round(0.5 * n_free)


def test_block_mode_goes_left_to_right(tiny_editor):
    result = tiny_editor.edit("a [[12]] b", SamplerConfig(steps=6, block_length=4))
    first = min(result.canvas.positions(TokenState.GENERATED))
    blocks = [{(p - first) // 4 for p in r.committed} for r in result.trajectory]
    assert all(len(b) == 1 for b in blocks)  # one step never reaches into two blocks
    order = [b.pop() for b in blocks]
    assert order == sorted(order) == [0, 0, 1, 1, 2, 2]


def test_remasking_only_touches_generated(tiny_editor):
    result = tiny_editor.edit(DRAFT, SamplerConfig(steps=10, remask=1.0, seed=2))
    remasked = [p for r in result.trajectory for p in r.remasked]
    assert remasked, "remask=1.0 must remask something"
    editable = set(result.canvas.positions(TokenState.GENERATED))
    assert set(remasked) <= editable


def test_plan_windows_cover_editable_within_budget():
    editable = list(range(100, 110)) + list(range(1500, 1600)) + [1999]
    windows = plan_windows(0, 2000, editable, body=126, context=32)
    covered = set()
    for w in windows:
        assert w.end - w.start <= 126 and w.start <= w.core_start <= w.core_end <= w.end
        covered |= {p for p in editable if w.core_start <= p < w.core_end}
    assert covered == set(editable)
    single = plan_windows(0, 2000, list(range(1000, 1010)), body=510, context=64)
    assert len(single) == 1 and single[0].end - single[0].start == 10 + 128  # context 64 each side


def test_long_draft_edits_only_near_span(tiny_editor):
    long_text = " ".join(f"word{i}" for i in range(900))
    markup = long_text + " and [[3]] then " + long_text
    result = tiny_editor.edit(markup, SamplerConfig(steps=3))
    assert result.text.startswith(long_text + " and ") and result.text.endswith(" then " + long_text)
    assert result.canvas.n_masked == 0


def test_plan_blocks_share_steps():
    blocks = plan_blocks(list(range(10)), steps=5, block_length=4)
    assert [len(b.positions) for b in blocks] == [4, 4, 2]
    assert sum(b.n_steps for b in blocks) == 5
    assert [b.first_step for b in blocks] == [0, 2, 4]
    tight = plan_blocks(list(range(10)), steps=2, block_length=2)
    assert len(tight) == 2 and sum(len(b.positions) for b in tight) == 10


def test_top_p_keeps_the_nucleus():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = torch.isfinite(top_p_filter(logits, 0.7))
    assert kept.tolist() == [[True, True, False, False]]
    assert torch.isfinite(top_p_filter(logits, 0.01)).sum() == 1


@pytest.mark.parametrize("markup,words", [
    ("", "empty"), ("   ", "empty"), ("no markup here", "nothing to edit"), ("a [[b", "never closed"),
    ("x" * 60_000 + " [[2]]", "limit"),
])
def test_bad_input_gets_clear_message(tiny_editor, markup, words):
    with pytest.raises(EditError, match=words):
        tiny_editor.edit(markup)


def test_bad_settings_get_clear_message(tiny_editor):
    for cfg, words in [(SamplerConfig(steps=0), "steps"), (SamplerConfig(steps=10**9), "steps"),
                       (SamplerConfig(temperature=-1), "temperature"), (SamplerConfig(order="best"), "order"),
                       (SamplerConfig(strength=2), "strength"), (SamplerConfig(top_p=0), "top_p")]:
        with pytest.raises(EditError, match=words):
            tiny_editor.edit("a [[2]] b", cfg)
    with pytest.raises(EditError, match="pinned"):
        tiny_editor.edit("{{all pinned}}", SamplerConfig(strength=0.5))


def test_detokenize_and_case():
    cases = case_map("We met Elizabeth in London. She said I would.")
    assert cases["elizabeth"] == "Elizabeth" and cases["london"] == "London" and "she" not in cases
    text = detokenize(["i", "saw", "elizabeth", "'", "s", "well", "-", "known", "dog", ".", "it", "ran", "(", "fast",
                       ")", "!"], sentence_start=True, cases=cases)
    assert text == "I saw Elizabeth's well-known dog. It ran (fast)!"
    assert detokenize(["play", "##ing", ",", "don", "'", "t", "stop"]) == "playing, don't stop"


class FirstWord(SamplerHook):
    """Makes the first masked position of each canvas ``token_id`` (to pin what a span starts with)."""

    def __init__(self, token_id: int):
        self.token_id = token_id

    def start(self, state):
        self.first = (state.states == TokenState.MASKED).int().argmax(dim=1)

    def adjust_logits(self, state, logits):
        logits = logits.clone()
        logits[state.query_pos == self.first[state.query_rows], self.token_id] += 1e4
        return logits


def test_generated_text_is_capitalised_at_sentence_start(tiny_editor, tokenizer):
    """A span that starts a sentence starts with a capital; the same word inside a sentence stays lower case."""
    the = FirstWord(tokenizer.convert_tokens_to_ids("the"))
    result = tiny_editor.edit("It rained. [[3]] Then {{Anna}} left.", SamplerConfig(steps=3), hooks=[the])
    assert result.text.startswith("It rained. The "), result.text
    inside = tiny_editor.edit("It rained and [[3]] then {{Anna}} left.", SamplerConfig(steps=3), hooks=[the])
    assert inside.text.startswith("It rained and the "), inside.text


def test_surface_texts_and_step_views(tiny_editor, tokenizer):
    result = tiny_editor.edit("Dear {{Élodie}}, the [[2]] fox.", SamplerConfig(steps=2))
    surface = result.canvas.surface_texts()
    generated = result.canvas.positions(TokenState.GENERATED)
    assert all(surface[p] is None for p in generated)
    assert "".join(s for s in surface if s is not None).replace(" ", "") == "DearÉlodie,thefox."
    record = result.trajectory[-1]
    view = generated + [generated[-1] + 1]
    part = record.to_json(tokenizer, positions=view)
    full = record.to_json(tokenizer)
    assert part["positions"] == view and part["length"] == len(full["tokens"])
    assert part["tokens"] == [full["tokens"][p] for p in view]
    assert [view[k] for k in part["committed"]] == [p for p in full["committed"] if p in view]


def test_repetition_penalty_discourages_generated_tokens(tiny_editor):
    """On the random tiny model greedy filling repeats tokens; the penalty lowers the share of repeats."""
    def repeats(result):
        ids = [result.canvas.ids[p] for p in result.canvas.positions(TokenState.GENERATED)]
        return len(ids) - len(set(ids))

    plain = tiny_editor.edit("a [[40]] b", SamplerConfig(steps=40))
    penalised = tiny_editor.edit("a [[40]] b", SamplerConfig(steps=40, repetition_penalty=5.0))
    assert repeats(plain) > 0
    assert repeats(penalised) < repeats(plain)
    same = tiny_editor.edit("a [[40]] b", SamplerConfig(steps=40, repetition_penalty=1.0))
    assert same.canvas.ids == plain.canvas.ids


def test_after_space_marks_positions_written_straight_after_kept_white_space(tokenizer):
    canvas = Canvas.from_markup("{{Meanwhile}} [[3]]and then, [[2]]x", tokenizer)
    words = tokenizer.convert_ids_to_tokens(canvas.ids)
    flags = dict(enumerate(canvas.after_space()))
    inserts = [i for i, s in enumerate(canvas.states) if s == TokenState.MASKED]
    assert [flags[i] for i in inserts] == [True, False, False, True, False]  # first of each insert only
    fixed = {w: flags[i] for i, w in enumerate(words) if canvas.states[i] == TokenState.FIXED}
    assert fixed["then"] is True and fixed[","] is False and fixed["and"] is False  # "]]and": no space before


def test_no_closing_punctuation_right_after_kept_white_space_even_when_a_hook_wants_it(tiny_editor):
    comma = tiny_editor.tokenizer.convert_tokens_to_ids(",")

    class LoveCommas(SamplerHook):
        def adjust_logits(self, state, logits):
            logits = logits.clone()
            logits[:, comma] += 1e4
            return logits

    result = tiny_editor.edit("{{Meanwhile}} [[3]] and then", SamplerConfig(steps=3, seed=0), hooks=[LoveCommas()])
    generated = [result.canvas.ids[i] for i in result.canvas.positions(TokenState.GENERATED)]
    assert generated[0] != comma and generated[1:] == [comma, comma]
    assert "Meanwhile ," not in result.text


def test_scheduler_step_only_decides_and_the_loop_applies_it(tiny_editor):
    """UnmaskingScheduler.step changes no state: it returns which positions to commit with which tokens (and which
    to remask), and applying that output writes exactly those (diffusers' scheduler.step and its loop, likewise)."""
    from dllm_core.sampler import Sampler  # noqa: PLC0415

    config = SamplerConfig(steps=3, remask=1.0, seed=5)
    sampler = Sampler(tiny_editor.adapter, config)
    state = sampler.prepare([tiny_editor.canvas("The old [[5]] sat on the mat.", config)])
    remasked = []
    for step in range(2):
        state.step = step
        logits = sampler._forward(state)
        tokens, states = state.tokens.clone(), state.states.clone()
        out = sampler.scheduler.step(state, logits)
        assert torch.equal(state.tokens, tokens) and torch.equal(state.states, states)  # decided, not applied
        assert out.committed[0] and len(out.committed[0]) == len(out.committed_tokens[0])
        assert not set(out.committed[0]) & set(out.remasked[0])
        out.apply(state, sampler.scheduler.mask_id)
        assert state.tokens[0, out.committed[0]].tolist() == out.committed_tokens[0]
        assert (state.states[0, out.committed[0]] == TokenState.GENERATED).all()
        assert (state.tokens[0, out.remasked[0]] == sampler.scheduler.mask_id).all()
        assert (state.states[0, out.remasked[0]] == TokenState.MASKED).all()
        touched = set(out.committed[0]) | set(out.remasked[0])
        untouched = [i for i in range(tokens.shape[1]) if i not in touched]
        assert torch.equal(state.tokens[0, untouched], tokens[0, untouched])
        assert torch.equal(state.states[0, untouched], states[0, untouched])
        remasked += out.remasked[0]
    assert remasked  # the second step takes a token of the first back (remask=1.0)
