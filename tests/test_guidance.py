"""Guidance mechanics on the tiny random BERT: exactness at strength 0, constraints, gradient sign, CFG, length."""

from __future__ import annotations

import re

import pytest
import torch
from conftest import make_tiny_classifier

from cli.main import build_parser
from dllm_core import EditError, Editor, SamplerConfig, TokenState
from dllm_core.hooks import SamplerHook
from guidance import GuidanceOptions, guided_edit
from guidance.cfg import ClassifierFreeGuidance
from guidance.classifier import AttributeClassifier, ClassifierGuidance
from guidance.cli import run_guided
from guidance.common import PieceTable
from guidance.constraints import BanWords, packs
from guidance.length import candidate_lengths, choose_lengths

DRAFT = "The old harbour [[was quiet in the grey morning light and nobody came]] to see the boats."
CONFIGS = [
    SamplerConfig(steps=8),
    SamplerConfig(steps=6, temperature=1.0, seed=3),
    SamplerConfig(steps=10, remask=0.8, seed=5, order="margin"),
    SamplerConfig(steps=8, block_length=4, order="entropy"),
    SamplerConfig(steps=8, threshold=0.01, seed=2),  # commits everything early: the loop ends before `steps`
    SamplerConfig(steps=3, order="random", seed=7),
]


def word_in(word: str, text: str) -> bool:
    return re.search(r"(?<!\w)" + r"\s+".join(map(re.escape, word.split())) + r"(?!\w)", text, re.I) is not None


@pytest.fixture(scope="module")
def tiny_classifier(tiny_editor) -> AttributeClassifier:
    return make_tiny_classifier(tiny_editor)


def same_run(a, b) -> bool:
    return a.text == b.text and [r.ids for r in a.trajectory] == [r.ids for r in b.trajectory] and \
        [r.confidence for r in a.trajectory] == [r.confidence for r in b.trajectory]


# ------------------------------------------------------------------------------------------------ exactness at 0
@pytest.mark.parametrize("config", [CONFIGS[0], CONFIGS[2]])
def test_zero_strength_is_unguided_exactly(tiny_editor, tiny_classifier, config):
    plain = tiny_editor.edit(DRAFT, config, n=2)
    for mode in ("gradient", "exact"):
        hook = ClassifierGuidance(tiny_classifier, "positive", 0.0, mode=mode)
        assert same_run(plain, tiny_editor.edit(DRAFT, config, [hook], n=2))
    assert same_run(plain, tiny_editor.edit(DRAFT, config, [ClassifierFreeGuidance(tiny_editor.adapter, 0.0)], n=2))
    result, report = guided_edit(tiny_editor, DRAFT, config, GuidanceOptions(), n=2)
    assert same_run(plain, result) and result.candidates == plain.candidates and report["satisfied"]


def test_cli_without_flags_is_plain_edit(tiny_editor):
    args = build_parser().parse_args(["edit", DRAFT, "--candidates", "2"])
    config = SamplerConfig(steps=5)
    result, report = run_guided(tiny_editor, DRAFT, config, args)
    assert same_run(result, tiny_editor.edit(DRAFT, config, n=2))
    assert report["require"] == [] and report["ban"] == []


# ------------------------------------------------------------------------------------------------ required words
REQUIRED = [["harbour"], ["serendipity"], ["new york", "lighthouse"], ["unbelievably quiet", "gulls", "tide"]]


@pytest.mark.parametrize("config", CONFIGS)
def test_required_words_always_appear(tiny_editor, tokenizer, config):
    table = PieceTable(tokenizer)
    assert len(table.encode_word("serendipity")) > 1  # a multi-token word is exercised
    for words in REQUIRED:
        result, report = guided_edit(tiny_editor, DRAFT, config, GuidanceOptions(require=words))
        assert report["satisfied"], (words, result.text)
        for word in words:
            assert word_in(word, result.text), (word, result.text)
        assert result.text.startswith("The old harbour ") and result.text.endswith(" to see the boats.")
        assert result.canvas.n_masked == 0


def test_required_words_fill_an_exactly_sized_span(tiny_editor):
    result, report = guided_edit(tiny_editor, "It was [[2]].", SamplerConfig(steps=2),
                                 GuidanceOptions(require=["new york"]))
    assert report["satisfied"] and "new york" in result.text.lower()


def test_no_room_is_reported_before_running(tiny_editor):
    before = tiny_editor.adapter.forward_passes
    with pytest.raises(EditError, match="no room for the required words"):
        guided_edit(tiny_editor, "A [[short]] span.", SamplerConfig(), GuidanceOptions(require=["serendipity"]))
    with pytest.raises(EditError, match="no room"):  # fits one span each, but not both in a 4-token span
        guided_edit(tiny_editor, "A [[4]] b.", SamplerConfig(), GuidanceOptions(require=["new york", "big apple", "x"]))
    with pytest.raises(EditError, match="both required and banned"):
        guided_edit(tiny_editor, DRAFT, SamplerConfig(), GuidanceOptions(require=["harbour"], ban=["Harbour"]))
    assert tiny_editor.adapter.forward_passes == before


def test_packing_is_exact():
    assert packs([3, 2], [5]) and packs([3, 2, 2], [4, 3]) and not packs([3, 3], [5, 2]) and packs([], [])


# ------------------------------------------------------------------------------------------------ banned words
class Steer(SamplerHook):
    """Test helper: push given tokens at given positions (offsets into the first span), as a model might."""

    def __init__(self, wants: dict[int, int]):
        self.wants = wants

    def adjust_logits(self, state, logits):
        first = int(state.editable[0].nonzero()[0])
        for r, (b, p) in enumerate(zip(state.query_rows.tolist(), state.query_pos.tolist())):
            tok = self.wants.get(p - first)
            if tok is not None:
                logits[r, tok] += 50.0
        return logits


def test_banned_words_never_appear(tiny_editor):
    plain = [tiny_editor.edit(DRAFT, c).canvas for c in CONFIGS]
    table = PieceTable(tiny_editor.tokenizer)
    produced = sorted({w for c in plain for i, w in enumerate(table.words(c.ids))
                       if c.states[w[0]] == TokenState.GENERATED for w in [w[2]] if w.isalpha()})
    ban = [w.upper() if i % 2 else w for i, w in enumerate(produced[:12])]  # binding bans, in other cases too
    assert ban
    for config in CONFIGS:
        result, report = guided_edit(tiny_editor, DRAFT, config, GuidanceOptions(ban=ban))
        generated = " ".join(w[2] for w in table.words(result.canvas.ids)
                             if result.canvas.states[w[0]] == TokenState.GENERATED)
        for word in ban:
            assert not word_in(word, generated), (word, result.text)
        assert report["satisfied"]


def test_banned_word_in_other_subword_spellings(tiny_editor, tokenizer):
    vocab = tokenizer.get_vocab()
    pieces = [vocab["ca"], vocab["##t"]]  # "cat" spelled as two pieces
    assert vocab.get("cat") is not None
    for config in (SamplerConfig(steps=4), SamplerConfig(steps=1), SamplerConfig(steps=4, order="random", seed=1)):
        steer = Steer({0: pieces[0], 1: pieces[1], 3: vocab["cat"]})
        plain = tiny_editor.edit("Look, [[6]] here.", config, [steer])
        assert word_in("cat", plain.text)  # without the ban the steered model writes it
        result = tiny_editor.edit("Look, [[6]] here.", config, [steer, BanWords(tokenizer, ["CAT"])])
        assert not word_in("cat", result.text), result.text
    phrase = Steer({0: vocab["new"], 1: vocab["york"]})
    result = tiny_editor.edit("Look, [[4]] here.", SamplerConfig(steps=4), [phrase, BanWords(tokenizer, ["New York"])])
    assert not word_in("new york", result.text), result.text


# ------------------------------------------------------------------------------------------------ classifier guidance
def test_gradient_term_predicts_the_classifier_change(tiny_editor, tiny_classifier, tokenizer):
    """First-order term E[v]·∇ log p(y|x) must rank substitutions like the true change of log p(y|x)."""
    clf = tiny_classifier
    ids = torch.tensor([tokenizer("the ship sailed into the quiet harbour at dawn", add_special_tokens=False)
                        ["input_ids"]])
    i = 3
    ids[0, i] = tokenizer.mask_token_id
    valid = torch.ones_like(ids, dtype=torch.bool)
    emb = clf.embeddings[ids].clone().requires_grad_(True)
    log_p = clf.logits(ids, valid, emb).log_softmax(-1)[0, 1]
    (grad,) = torch.autograd.grad(log_p, emb)
    cands = torch.randperm(tokenizer.vocab_size, generator=torch.Generator().manual_seed(0))[:300] + 0
    predicted = clf.embeddings[cands] @ grad[0, i]
    variants = ids.repeat(len(cands), 1)
    variants[:, i] = cands
    with torch.no_grad():
        actual = clf.logits(variants, valid.repeat(len(cands), 1)).log_softmax(-1)[:, 1] - log_p.detach()
    corr = torch.corrcoef(torch.stack([predicted, actual]))[0, 1]
    assert corr > 0.5, float(corr)


@pytest.mark.parametrize("mode", ["gradient", "exact"])
def test_guidance_raises_target_probability(tiny_editor, tiny_classifier, mode):
    def p_pos(result):
        ids = torch.tensor([result.canvas.ids])
        return float(tiny_classifier.logits(ids, torch.ones_like(ids, dtype=torch.bool)).softmax(-1)[0, 1])

    base, pos, neg = [], [], []
    for seed in range(3):
        config = SamplerConfig(steps=6, seed=seed, temperature=0.8)
        base.append(p_pos(tiny_editor.edit(DRAFT, config)))
        up = tiny_editor.edit(DRAFT, config, [ClassifierGuidance(tiny_classifier, "positive", 20.0, mode=mode)])
        down = tiny_editor.edit(DRAFT, config, [ClassifierGuidance(tiny_classifier, "negative", 20.0, mode=mode)])
        pos.append(p_pos(up))
        neg.append(p_pos(down))
        assert "attribute_p" in up.trajectory[0].signals and "gamma" in up.trajectory[-1].signals
    assert sum(neg) / 3 < sum(base) / 3 < sum(pos) / 3, (neg, base, pos)


def test_gamma_ramps_up_as_canvas_fills(tiny_editor, tiny_classifier):
    hook = ClassifierGuidance(tiny_classifier, "positive", 5.0)
    result = tiny_editor.edit(DRAFT, SamplerConfig(steps=6), [hook])
    gammas = [r.signals["gamma"] for r in result.trajectory]
    assert gammas == sorted(gammas) and gammas[0] < gammas[-1] <= 5.0


# ------------------------------------------------------------------------------------------------ CFG and length
def test_cfg_shares_the_forward_pass_and_changes_logits(tiny_editor):
    adapter = tiny_editor.adapter
    config = SamplerConfig(steps=4)
    before = adapter.forward_passes
    plain = tiny_editor.edit(DRAFT, config)
    plain_passes = adapter.forward_passes - before
    before = adapter.forward_passes
    probe_plain, probe_cfg = Probe(), Probe()
    tiny_editor.edit(DRAFT, config, [probe_plain])
    before = adapter.forward_passes
    guided = tiny_editor.edit(DRAFT, config, [ClassifierFreeGuidance(adapter, 3.0), probe_cfg])
    assert adapter.forward_passes - before == plain_passes  # unconditional rows ride in the same pass
    assert all(r.signals["cfg_shift"] > 0 for r in guided.trajectory)
    cond, out = probe_plain.first, probe_cfg.first
    finite = torch.isfinite(cond)
    assert not torch.allclose(cond[finite], out[finite])
    # w = 3: out = cond + 3 (cond - uncond)  =>  uncond = cond - (out - cond) / 3 must not depend on w
    uncond = cond - (out - cond) / 3.0
    probe_w1 = Probe()
    tiny_editor.edit(DRAFT, config, [ClassifierFreeGuidance(adapter, 1.0), probe_w1])
    assert torch.allclose(probe_w1.first[finite], (cond + (cond - uncond))[finite], atol=1e-4)
    assert plain.text


class Probe(SamplerHook):
    first = None

    def adjust_logits(self, state, logits):
        if self.first is None:
            self.first = logits.clone()
        return logits


def test_auto_length_picks_among_candidates(tiny_editor):
    markup = "Tea [[was served in the drawing room just after four o'clock every single day|auto]] as usual."
    segments = tiny_editor.parse(markup)
    lengths, choices = choose_lengths(tiny_editor, segments, SamplerConfig(), target=0.7, spread=0.2)
    original = choices[0].original
    assert choices[0].candidates == candidate_lengths(original, 0.7, 0.2)
    assert lengths[1] in choices[0].candidates and max(choices[0].candidates) < original
    result, report = guided_edit(tiny_editor, markup, SamplerConfig(steps=4), GuidanceOptions(length_target=0.7))
    assert len(result.canvas.positions(TokenState.GENERATED)) == report["lengths"][0]["chosen"] == lengths[1]
    assert result.text.startswith("Tea ") and result.text.endswith(" as usual.")


def test_bad_options_are_user_errors(tiny_editor):
    for options in (GuidanceOptions(strength=2.0), GuidanceOptions(attribute="nope", target="x", strength=1.0),
                    GuidanceOptions(cfg=-1), GuidanceOptions(require=["!!!"])):
        with pytest.raises(EditError):
            guided_edit(tiny_editor, DRAFT, SamplerConfig(), options)


def test_guidance_reports_user_errors_as_the_editors_edit_error(tiny_editor):
    """guided_edit takes the Editor and words a bad option as its EditError, which a caller may catch as a
    ValueError (the CLI and the batch runner do), never as some other exception type."""
    assert isinstance(tiny_editor, Editor) and issubclass(EditError, ValueError) and EditError is not ValueError
    with pytest.raises(ValueError) as caught:
        guided_edit(tiny_editor, DRAFT, SamplerConfig(), GuidanceOptions(cfg=-1))
    assert type(caught.value) is EditError and str(caught.value) == "cfg scale must be in [0, 20], got -1"


def test_cli_attribute_defaults_to_exact_rescoring_and_gradient_is_opt_in():
    import argparse  # noqa: PLC0415

    from guidance.cli import add_guidance_arguments, options_from_args  # noqa: PLC0415

    parser = argparse.ArgumentParser()
    add_guidance_arguments(parser)
    default = options_from_args(parser.parse_args(["--attribute", "sentiment=positive"]))
    assert default.exact and default.strength == 8.0
    gradient = options_from_args(parser.parse_args(["--attribute", "sentiment=positive", "--gradient-guidance"]))
    assert not gradient.exact and gradient.strength == 3.0
    assert options_from_args(parser.parse_args([])).strength == 0.0  # no attribute: no classifier guidance
