"""Fluency guidance (the causal reading as a second expert, with a look-ahead at a span's seam), beam search over
the batch, and span-length variants: mechanics on a tiny random Llama with SmolLM2's tokenizer."""

from __future__ import annotations

import pytest
import torch
from test_bpe_shifted import base_dir, bpe_editor, bpe_tokenizer, tiny_llama  # noqa: F401 (fixtures)

from dllm_core import SamplerConfig, TokenState
from dllm_core.adapter import ModelAdapter
from dllm_core.hooks import BeamSearch, CausalFluency, SamplerHook
from dllm_core.sampler import Sampler
from dllm_core.shifted import ShiftedDiffusionLM

FLUENT = dict(steps=256, block_length=1, fluency=1.0, threshold=None)


def test_causal_logits_are_the_causal_lms_next_token_logits(bpe_tokenizer):  # noqa: F811
    causal = tiny_llama(49152, seed=5)
    adapter = ModelAdapter(ShiftedDiffusionLM(causal), bpe_tokenizer, "tiny", kind="shifted-causal",
                           start_token="<|endoftext|>")
    seqs = [torch.tensor([10, 20, 30, 40, 50]), torch.tensor([7, 8, 9])]
    ids, attention, offset = adapter.frame(seqs)
    rows = torch.tensor([0, 0, 1])
    cols = torch.tensor([2, 4, 2]) + offset
    mine = adapter.causal_logits_at(ids, attention, rows, cols)
    with torch.no_grad():
        ref = causal(input_ids=ids).logits  # row r, column c-1 predicts the token at c
    torch.testing.assert_close(mine[:, :-1], ref[rows, cols - 1], atol=1e-5, rtol=1e-4)
    assert torch.isinf(mine[:, -1]).all()  # the mask id is never predicted


def state_after_forward(editor, markup: str, config: SamplerConfig):
    sampler = Sampler(editor.adapter, config)
    state = sampler.prepare([editor.canvas(markup, config)])
    return sampler, state, sampler._forward(state)


def test_fluency_adds_the_causal_reading_only_where_the_left_is_written(bpe_editor):  # noqa: F811
    config = SamplerConfig(**FLUENT)
    _, state, logits = state_after_forward(bpe_editor, "The harbour [[was very quiet]] today.", config)
    hook = CausalFluency(bpe_editor.adapter, 0.7, look_ahead=0)
    out = hook.adjust_logits(state, logits.clone())
    pos = state.query_pos
    first = int(pos.argmin())
    p = int(pos[first])
    left = state.tokens[0, :p + 1]
    ids, attention, offset = bpe_editor.adapter.frame([left])
    causal = bpe_editor.adapter.causal_logits_at(ids, attention, torch.tensor([0]), torch.tensor([p]) + offset)[0]
    causal[bpe_editor.adapter.banned_ids] = float("-inf")
    want = torch.log_softmax(logits[first], -1) + 0.7 * torch.log_softmax(causal, -1)
    finite = torch.isfinite(want)
    torch.testing.assert_close(out[first][finite], want[finite], atol=1e-4, rtol=1e-4)
    others = [k for k in range(len(pos)) if k != first]  # their left neighbour is still masked
    assert torch.equal(out[others], logits[others])


def test_look_ahead_keeps_few_tokens_scored_by_how_the_text_reads_on(bpe_editor):  # noqa: F811
    config = SamplerConfig(**FLUENT)
    _, state, logits = state_after_forward(bpe_editor, "The harbour [[was]] quiet today.", config)
    assert len(state.query_pos) == 1  # one slot: written text on both sides, so it is a seam
    hook = CausalFluency(bpe_editor.adapter, 1.0, look_ahead=5, right=4)
    out = hook.adjust_logits(state, logits.clone())[0]
    kept = set(torch.isfinite(out).nonzero().flatten().tolist())
    mixed = CausalFluency(bpe_editor.adapter, 1.0, look_ahead=0).adjust_logits(state, logits.clone())[0]
    # the mixture's 5 best and the denoiser's own 5 best (it alone sees the text on the right)
    want = set(mixed.topk(5).indices.tolist()) | set(logits[0].topk(5).indices.tolist())
    assert kept == want and 5 <= len(kept) <= 10
    kept = torch.tensor(sorted(kept))
    p = int(state.query_pos[0])
    left, right = state.tokens[0, :p], state.tokens[0, p + 1 : p + 5]
    for t in kept[:2]:
        read = bpe_editor.adapter.sequence_log_likelihood([torch.cat([left, t.view(1), right])], start=[p + 1])[0]
        torch.testing.assert_close(out[t], mixed[t] + read, atol=1e-3, rtol=1e-4)


class TwoStepTrap(SamplerHook):
    """Token A looks best at the span's first slot but leaves only a flat choice among 100 tokens after it; B looks
    worse first and then is followed by C for certain. Greedy takes A, a beam of two finds B C."""

    A, B, C = 1000, 2000, 3000

    def adjust_logits(self, state, logits):
        logits = torch.full_like(logits, float("-inf"))
        first = int(state.query_pos.min())
        for k, (b, p) in enumerate(zip(state.query_rows.tolist(), state.query_pos.tolist())):
            if p == first:
                logits[k, self.A], logits[k, self.B] = 1.0, 0.0
            elif int(state.tokens[b, p - 1]) == self.B:
                logits[k, self.C] = 0.0
            else:
                logits[k, 4000:4100] = 0.0
        return logits


def test_beam_search_finds_what_greedy_misses(bpe_editor):  # noqa: F811
    markup = "Left side [[2]] right side."
    greedy = bpe_editor.edit(markup, SamplerConfig(steps=8, block_length=1, threshold=None), hooks=[TwoStepTrap()])
    beam = bpe_editor.edit(markup, SamplerConfig(steps=8, block_length=1, threshold=None, beams=2),
                           hooks=[TwoStepTrap()])
    written = [t for t, s in zip(greedy.canvas.ids, greedy.canvas.states) if s == TokenState.GENERATED]
    assert written[0] == TwoStepTrap.A
    found = bpe_editor.tokenizer.decode([TwoStepTrap.B, TwoStepTrap.C])
    assert found not in greedy.text
    assert len(beam.candidates) == 2 and any(found in text for text in beam.candidates)


def test_beams_and_length_variants_keep_the_draft_and_are_deterministic(bpe_editor):  # noqa: F811
    markup = "It was a {{cold}} morning and [[everyone stayed at home]] all day."
    config = SamplerConfig(**FLUENT, beams=3, length_slack=1)
    one = bpe_editor.edit(markup, config)
    two = bpe_editor.edit(markup, config)
    assert one.candidates == two.candidates and one.scores == two.scores
    assert 2 <= len(one.candidates) <= 3 * 3 and len(set(one.candidates)) == len(one.candidates)
    assert one.scores == sorted(one.scores, reverse=True)
    for text in one.candidates:
        assert text.startswith("It was a cold morning and") and text.endswith(" all day.")


def test_length_variants_only_for_spans_that_keep_their_length(bpe_editor, tiny_editor):  # noqa: F811
    config = SamplerConfig(length_slack=2)
    segments = bpe_editor.parse("A [[quiet grey harbour]] and [[5]] then [[x y|3]].")
    base = bpe_editor.canvas(segments, config)
    variants = bpe_editor.length_variants(segments, base, config)
    counts = [[c.segment_of[i] for i in c.positions(TokenState.MASKED)] for c in variants]
    first = counts[0].count(1)
    assert sorted(c.count(1) for c in counts) == sorted(first + d for d in (-2, -1, 0, 1, 2))
    assert all(c.count(3) == 5 and c.count(5) == 3 for c in counts)  # [[5]] and [[x y|3]] keep their lengths
    # a model without a causal reading cannot rank lengths: no variants
    tiny_segments = tiny_editor.parse("A [[quiet grey harbour]] here.")
    assert len(tiny_editor.length_variants(tiny_segments, tiny_editor.canvas(tiny_segments, config), config)) == 1


def test_fluency_and_beams_are_validated():
    for bad in (dict(fluency=-1.0), dict(fluency=float("nan")), dict(beams=0), dict(beams=99), dict(beams=2.5),
                dict(length_slack=-1), dict(length_slack=9)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            SamplerConfig(**bad).validate()


def test_beam_hook_is_added_only_when_asked(bpe_editor):  # noqa: F811
    hooks = Sampler(bpe_editor.adapter, SamplerConfig(**FLUENT, beams=2)).hooks
    assert isinstance(hooks[-1], BeamSearch) and isinstance(hooks[-2], CausalFluency)
    assert not any(isinstance(h, (BeamSearch, CausalFluency)) for h in Sampler(bpe_editor.adapter).hooks)


def test_fluent_preset_and_cli_flags(capsys):
    from cli.main import main
    from dllm_core.presets import apply_preset

    config = apply_preset(SamplerConfig(seed=4, temperature=0.9), "fluent").validate()
    assert (config.block_length, config.fluency, config.beams, config.length_slack, config.threshold,
            config.temperature, config.seed) == (1, 1.0, 4, 2, None, 0.0, 4)
    with pytest.raises(ValueError, match="preset"):
        apply_preset(config, "poetic")
    for flags, message in ((["--beams", "0"], "beams"), (["--fluency", "nan"], "fluency"),
                           (["--length-slack", "7"], "length_slack")):
        assert main(["edit", "The [[3]] sat.", *flags]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1
    with pytest.raises(SystemExit) as exc:
        main(["edit", "The [[3]] sat.", "--writing", "poetic"])
    assert exc.value.code == 2


def test_default_model_follows_setup(monkeypatch):
    from dllm_core import adapter, basemodel

    monkeypatch.delenv("DLLM_MODEL", raising=False)
    monkeypatch.setattr(basemodel, "base_ready", lambda: True)
    assert adapter.default_model() == "smollm2-dlm"
    monkeypatch.setattr(basemodel, "base_ready", lambda: False)
    assert adapter.default_model() == "embedded"  # before setup: MiniLM, which is always there
    monkeypatch.setenv("DLLM_MODEL", "minilm")
    assert adapter.default_model() == "minilm"


def test_writing_modes():
    from dllm_core.presets import FLUENT_AUTO_MAX_TOKENS, writing_settings

    base = SamplerConfig(seed=3)
    fluent = dict(can_score=True, tokens_to_write=8, guided=False)
    auto = writing_settings(base, "auto", **fluent)
    assert (auto.beams, auto.speculate, auto.length_slack, auto.fluency) == (1, True, 2, 1.0)  # FAST
    assert writing_settings(base, None, **fluent) == auto
    assert writing_settings(base, "fast", **fluent) == auto
    assert not writing_settings(base, "fluent", **fluent).speculate
    assert writing_settings(base, "parallel", **fluent) == base
    for change in (dict(can_score=False), dict(guided=True), dict(tokens_to_write=FLUENT_AUTO_MAX_TOKENS + 1),
                   dict(tokens_to_write=0)):
        assert writing_settings(base, "auto", **{**fluent, **change}) == base, change
    assert writing_settings(base, "fluent", **{**fluent, "guided": True}).beams == 4  # asked for: given
    assert writing_settings(SamplerConfig(strength=0.5), "auto", **fluent).beams == 1
    with pytest.raises(ValueError, match="writing: must be one of auto, fast, fluent, parallel"):
        writing_settings(base, "poetic", **fluent)


def test_app_writes_fluently_on_a_model_with_a_causal_reading(bpe_editor):  # noqa: F811
    import ui
    from dllm_core import EditError
    from ui import guided

    studio = ui.Studio(bpe_editor)
    plain = SamplerConfig(steps=8)
    args = ("", "", guided.NO_ATTRIBUTE, 0.0, 0.0)
    draft = "The harbour [[was quiet]] today."
    assert studio.writing_config(bpe_editor, draft, plain, "auto", *args).speculate
    assert studio.writing_config(bpe_editor, draft, plain, "fluent", *args).beams == 4
    assert studio.writing_config(bpe_editor, draft, plain, "parallel", *args) == plain
    assert studio.writing_config(bpe_editor, draft, plain, "auto", "harbour", *args[1:]) == plain  # guided
    assert studio.writing_config(bpe_editor, "A [[100]] b.", plain, "auto", *args) == plain  # long: parallel
    with pytest.raises(EditError, match="writing"):
        studio.writing_config(bpe_editor, draft, plain, "bogus", *args)


def test_actions_write_fluently_with_beams_per_draft(bpe_editor, tiny_editor):  # noqa: F811
    from dllm_core import EditError
    from writing.actions import action_config, rephrase, shorten

    config = action_config(bpe_editor, k=2, seed=1)
    assert (config.fluency, config.beams, config.length_slack, config.block_length, config.speculate) == (
        1.0, 1, 0, 1, True)
    config = action_config(bpe_editor, k=2, seed=1, writing="fluent")
    assert (config.fluency, config.beams, config.length_slack, config.block_length, config.speculate) == (
        1.0, 2, 0, 1, False)
    assert action_config(tiny_editor, k=2).beams == 1  # no causal reading: parallel, sampled
    assert action_config(tiny_editor, k=2).temperature == 0.7
    assert action_config(bpe_editor, k=1, writing="parallel").fluency == 0.0
    with pytest.raises(EditError, match="writing"):
        action_config(bpe_editor, writing="loud")
    text = "Anna walked to the old harbour in Bergen on a cold morning in 1998."
    # the sampler's path (re-noise): the swap path writes nothing with the sampler (tests/test_cuts_swaps.py)
    result = rephrase(bpe_editor, text, 0.5, k=2, config=config, seed=1, method="renoise", check_facts=False)
    assert 1 <= len(result.alternatives) <= 2
    for alt in result.alternatives:
        for word in ("Anna", "Bergen", "1998"):
            assert word in alt.text
    short = shorten(bpe_editor, text, "70%", k=2, config=config, seed=1, check_facts=False)
    assert all(alt.words < 14 for alt in short.alternatives)


def test_app_run_in_fluent_mode_streams_and_ends_with_the_best_beam(bpe_editor):  # noqa: F811
    import ui
    from dllm_core.presets import FAST, FLUENT
    from ui import guided

    studio = ui.Studio(bpe_editor)
    ui.build_ui(studio)
    settings = dict(steps=8, schedule="cosine", order="confidence", temperature=0.0, top_p=1.0, block_length=0,
                    remask=0.0, threshold=0.0, strength=0.0, seed=2, required="", banned="",
                    attribute=guided.NO_ATTRIBUTE, attribute_strength=0.0, cfg_scale=0.0, percent=70, session={})
    draft = "The harbour [[was very quiet]] today."
    updates = [studio.page.named(u) for u in studio.run(draft, **settings, writing="auto")]
    final = updates[-1]
    want = bpe_editor.edit(draft, SamplerConfig(**{**FAST, "seed": 2}))
    assert final["result"] == want.text  # auto on a model with a causal reading = the fast preset
    assert final["result"].startswith("The harbour") and final["result"].endswith(" today.")
    assert len(updates) >= 2  # streamed step by step
    updates = [studio.page.named(u) for u in studio.run(draft, **settings, writing="fluent")]
    assert updates[-1]["result"] == bpe_editor.edit(draft, SamplerConfig(**{**FLUENT, "seed": 2})).text
    assert len(updates) >= 3  # left to right, one token a step
    parallel = [studio.page.named(u) for u in studio.run(draft, **settings, writing="parallel")][-1]
    assert parallel["result"] == bpe_editor.edit(draft, SamplerConfig(steps=8, seed=2, threshold=None)).text
    studio.close()


def test_beams_normalise_scores_unless_the_causal_reading_did(bpe_editor, tiny_editor):  # noqa: F811
    """On a model without a causal reading, fluency is ignored, so the beams must turn logits into
    log-probabilities themselves (raw logits of different rows are not comparable)."""
    config = SamplerConfig(**FLUENT, beams=2)
    assert Sampler(bpe_editor.adapter, config).hooks[-1].normalise is False
    assert Sampler(tiny_editor.adapter, config).hooks[-1].normalise is True
