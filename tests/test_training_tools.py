"""The training scripts' pure parts: held-out decontamination, POD cleaning, GPU row sampling, diffusion masking."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import build_corpus as bc  # noqa: E402
import train_denoiser as td  # noqa: E402
import train_gpu as tg  # noqa: E402


def test_decontaminate_drops_heldout_passages_sharing_a_sentence_with_any_source():
    shared = "The server keeps a copy of every file that the client has asked for today."
    train = {"manual": [f"Intro text here. {shared} More follows after this sentence."],
             "other": ["Completely unrelated prose about gardens and the weather in spring time."]}
    heldout = {"manual": [f"{shared} Then a new sentence that nobody has written anywhere before now.",
                          "A fresh passage with its own sentences that appear in no train passage at all."],
               "book": ["Completely unrelated prose about gardens and the weather in spring time."]}
    dropped = bc.decontaminate(heldout, train)
    assert dropped == {"manual": 1, "book": 1}
    assert heldout["manual"] == ["A fresh passage with its own sentences that appear in no train passage at all."]
    assert heldout["book"] == []
    assert train["manual"][0].startswith("Intro")  # the train side is never touched


def test_decontaminate_ignores_short_common_sentences():
    train = {"a": ["Yes. It is what it is, and so on and so forth for ever."]}
    heldout = {"a": ["Yes. A different long sentence follows here with many words in it."]}
    assert bc.decontaminate(heldout, train) == {"a": 0}


def test_clean_pod_unwraps_formatting_codes_and_skips_commands_and_code():
    pod = ("=head1 NAME\n\nperlfoo - a page\n\n    my $x = 1;  # verbatim code\n\n"
           "Use B<bold> and C<code()> with L<perlfunc/open> or L<the manual|perlvar> here, X<index>ok then more.\n")
    paras = bc.clean_pod(pod)
    assert paras == ["Use bold and code() with open or the manual here, ok then more."]


def test_random_rows_are_windows_of_the_stream_framed_by_cls_and_sep():
    stream = torch.arange(1000, 1500)
    gen = torch.Generator().manual_seed(0)
    rows = tg.random_rows(stream, batch=8, seq_len=16, cls_id=101, sep_id=102, gen=gen)
    assert rows.shape == (8, 16)
    assert (rows[:, 0] == 101).all() and (rows[:, -1] == 102).all()
    body = rows[:, 1:-1]
    assert ((body[:, 1:] - body[:, :-1]) == 1).all()  # contiguous windows
    assert body.min() >= 1000 and body.max() < 1500


def test_mask_batch_masks_exactly_round_t_n_text_positions():
    rows = torch.randint(1000, 2000, (6, 34))
    ratios = torch.tensor([0.01, 0.15, 0.5, 0.9, 1.0, 0.33])
    inputs, masked, k = td.mask_batch(rows, ratios, mask_id=103, gen=torch.Generator().manual_seed(1))
    assert masked.sum(1).tolist() == k.tolist() == [1, 5, 16, 29, 32, 11]
    assert not masked[:, 0].any() and not masked[:, -1].any()
    assert (inputs[masked] == 103).all() and (inputs[~masked] == rows[~masked]).all()


def test_evaluate_leaves_the_model_in_the_mode_it_found():
    from transformers import BertConfig, BertForMaskedLM  # noqa: PLC0415

    config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, hidden_dropout_prob=0.5)
    model = BertForMaskedLM(config).eval()
    rows = torch.randint(5, 64, (4, 12))
    first = td.evaluate(model, rows, mask_id=3, levels=(0.5,))
    assert not model.training  # an inference model stays deterministic (dropout off) after being measured
    assert td.evaluate(model, rows, mask_id=3, levels=(0.5,)) == first
    model.train()
    td.evaluate(model, rows, mask_id=3, levels=(0.5,))
    assert model.training  # and a model being trained goes on training


def test_reserved_reuters_package_is_never_training_data(monkeypatch):
    """r-cran-tm (Reuters-21578) is reserved for evaluation: the corpus builder refuses it before fetching
    anything, and the evaluation unpacks it outside the training data's folder."""
    import subprocess

    import pytest

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import reuters_eval

    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    with pytest.raises(ValueError, match="reserved for evaluation"):
        bc.deb_extract("r-cran-tm")
    assert calls == []
    assert bc.RAW not in reuters_eval.EVAL_RAW.parents and reuters_eval.EVAL_RAW != bc.RAW


def _two_groups():
    return torch.optim.AdamW([{"params": [torch.zeros(1, requires_grad=True)], "scale": 1.0},
                              {"params": [torch.zeros(1, requires_grad=True)], "scale": 3.0}], lr=1.0)


def test_warmup_schedule_is_the_linear_warmup_and_resumes_at_the_step_it_is_given():
    """transformers' constant-with-warm-up schedule as the scripts drive it: min(1, (step + 1) / warmup) times each
    group's scaled rate, and a run resumed at step k (optimizer state from mid warm-up included) carries on there."""
    opt = _two_groups()
    schedule = td.warmup_schedule(opt, 5e-4, 50)
    rates = []
    for _ in range(80):
        rates.append([g["lr"] for g in opt.param_groups])
        opt.step()
        schedule.step()
    for step in (0, 1, 24, 48, 49, 50, 79):
        assert rates[step] == pytest.approx([5e-4 * min(1.0, (step + 1) / 50) * s for s in (1.0, 3.0)], rel=1e-12)
    resumed_opt = _two_groups()
    resumed_opt.load_state_dict(opt.state_dict())  # the checkpoint's optimizer state, whatever rate it last had
    resumed = td.warmup_schedule(resumed_opt, 5e-4, 50, step=30)
    for step in range(30, 80):
        assert [g["lr"] for g in resumed_opt.param_groups] == pytest.approx(rates[step], rel=1e-12)
        resumed_opt.step()
        resumed.step()


def test_time_cosine_decays_from_one_to_a_tenth_over_the_budget():
    assert td.time_cosine(0.0) == pytest.approx(1.0) and td.time_cosine(0.5) == pytest.approx(0.55)
    assert td.time_cosine(1.0) == pytest.approx(0.1) and td.time_cosine(1.7) == pytest.approx(0.1)
    fractions = [i / 20 for i in range(21)]
    assert all(a > b for a, b in zip(map(td.time_cosine, fractions), map(td.time_cosine, fractions[1:])))
