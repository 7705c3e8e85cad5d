"""An action's cost grows about linearly with its draft, and its memory is bounded (issue 24).

Cost is counted in the tokens the model reads (every forward pass's rows x padded length, counted on the adapter's
framing, which every reading goes through), not in seconds, so that a loaded machine cannot make these tests pass or
fail."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
import torch
from test_bpe_shifted import base_dir, bpe_editor, bpe_tokenizer  # noqa: F401 (fixtures)

from dllm_core.adapter import target_log_probs
from dllm_core.api import EditError
from dllm_core.limits import MAX_DRAFT_CHARS
from writing.actions import ACTIONS, run_action
from writing.scoring import READ_WINDOW

ROOT = Path(__file__).resolve().parents[1]
DRAFT = (ROOT / "bench" / "texts" / "long_draft.txt").read_text(encoding="utf-8").strip()


def first_sentences(chars: int) -> str:
    """The draft up to the end of the sentence nearest to ``chars`` characters."""
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s|$)", DRAFT)]
    return DRAFT[: min(ends, key=lambda e: abs(e - chars))]


class Reads:
    """Counts the tokens of every forward pass of an adapter (rows x padded length) and the biggest pass."""

    def __init__(self, adapter, monkeypatch):
        self.passes: list[int] = []
        frame = adapter.frame

        def counted(seqs):
            out = frame(seqs)
            self.passes.append(out[0].shape[0] * out[0].shape[1])
            return out

        monkeypatch.setattr(adapter, "frame", counted)

    def of(self, fn) -> tuple[int, int]:
        self.passes.clear()
        fn()
        return sum(self.passes), max(self.passes, default=0)


def test_the_draft_is_a_few_paragraphs_of_two_thousand_characters():
    assert 1800 <= len(DRAFT) <= 2200 and DRAFT.count("\n\n") >= 4


@pytest.mark.parametrize("action, small, large", [("shorten", 470, 1960), ("rephrase", 940, 1960)])
def test_the_tokens_an_action_reads_grow_about_linearly_with_the_draft(bpe_editor, monkeypatch, action, small,
                                                                        large):  # noqa: F811
    # the tiny model reads up to 510 tokens at once: before issue 24 each word's masked reading saw the whole text,
    # so Shorten read 14.6 times the tokens for 4.2 times the text (and its biggest pass grew 4-fold), Rephrase 3.2
    # times for 2.1 times the text
    reads = Reads(bpe_editor.adapter, monkeypatch)
    short, long = first_sentences(small), first_sentences(large)
    total_short, biggest_short = reads.of(lambda: run_action(bpe_editor, action, short))
    total_long, biggest_long = reads.of(lambda: run_action(bpe_editor, action, long))
    growth = len(long) / len(short)
    assert total_short > 0 and total_long / total_short < 1.3 * growth, (total_short, total_long, growth)
    # a pass holds at most a batch of bounded windows, whatever the draft's length
    assert biggest_long <= max(biggest_short, 64 * (READ_WINDOW + 2)), (biggest_short, biggest_long)


@pytest.mark.parametrize("action", ACTIONS)
def test_a_draft_over_the_limit_is_a_one_line_error_before_any_model_work(bpe_editor, monkeypatch,
                                                                          action):  # noqa: F811
    reads = Reads(bpe_editor.adapter, monkeypatch)
    huge = ("The new library opened on a wet Monday in March, and by ten the reading room was full. " * 2400)[:200_000]
    tracemalloc.start()
    t = time.perf_counter()
    with pytest.raises(EditError) as err:
        run_action(bpe_editor, action, huge, selection=(0, 20))
    seconds = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    message = str(err.value)
    assert message == f"the draft is 200,000 characters; the limit is {MAX_DRAFT_CHARS:,}"
    assert "\n" not in message and not reads.passes
    assert seconds < 1.0 and peak < 2_000_000, (seconds, peak)  # no copies, no tokenising of the draft


def test_the_action_command_refuses_a_draft_over_the_limit_before_loading_a_model():
    huge = ("Not everyone was pleased at first. " * 6000)[:200_000].encode()
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "dllm_core", "action", "shorten", "-"], cwd=ROOT, input=huge,
                          capture_output=True, timeout=120,
                          env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "DLLM_MODEL": "embedded"})
    err = proc.stderr.decode().strip()
    assert proc.returncode == 2 and proc.stdout == b""
    assert err == f"error: the draft is 200,000 characters; the limit is {MAX_DRAFT_CHARS:,}", err
    assert time.perf_counter() - t < 60


def test_target_log_probs_is_the_log_softmax_at_the_targets_read_in_chunks(monkeypatch):
    import dllm_core.adapter as adapter_module

    monkeypatch.setattr(adapter_module, "LOGIT_CHUNK", 7)  # several chunks, the last one short
    torch.manual_seed(0)
    head = torch.nn.Linear(16, 50, bias=False)
    hidden, targets = torch.randn(3, 11, 16), torch.randint(0, 50, (3, 11))
    with torch.no_grad():
        got = target_log_probs(head, hidden, targets)
        want = head(hidden).log_softmax(-1).gather(2, targets[:, :, None]).squeeze(2)
        got_40 = target_log_probs(head, hidden, targets.clamp(max=39), 40)
        want_40 = head(hidden)[..., :40].log_softmax(-1).gather(2, targets.clamp(max=39)[:, :, None]).squeeze(2)
    assert torch.allclose(got, want, atol=1e-5) and torch.allclose(got_40, want_40, atol=1e-5)


def _masked_words(words, reading_seq, lo, token_words, mask_id):
    return [k for k, toks in enumerate(token_words) if toks and all(reading_seq[p - lo] == mask_id for p in toks
                                                                      if lo <= p < lo + len(reading_seq))]


def test_a_long_texts_word_scores_mask_spaced_words_together_each_word_once_near_its_windows_middle():
    from writing.scoring import SPARSE_STRIDE, grouped_readings

    # 40 words of one token each, then a window of 16 tokens: every word is read once, in a window where it is in
    # the middle half (or at the text's edge), masked with the words SPARSE_STRIDE apart from it, never nearer
    token_words = [[i] for i in range(40)]
    readings = grouped_readings(40, token_words, 16, SPARSE_STRIDE)
    seen = sorted(k for _, ks in readings for k in ks)
    assert seen == list(range(40))
    for lo, ks in readings:
        assert 0 <= lo <= 40 - 16
        assert all(b - a >= SPARSE_STRIDE for a, b in zip(ks, ks[1:])), ks
        for k in ks:
            assert lo + 4 <= k <= lo + 12 or k < 8 or k >= 32, (lo, k)
    # about 2 x SPARSE_STRIDE readings of each token, not one window per word
    assert len(readings) * 16 <= 2 * SPARSE_STRIDE * 40 * 1.25
    # some of the words read (the swap places): those of a window at least SPARSE_STRIDE words apart share readings
    read = [0, 1, 2, 9, 17, 18, 30, 38]
    sparse = grouped_readings(40, token_words, 16, SPARSE_STRIDE, read)
    assert sorted(k for _, ks in sparse for k in ks) == read
    assert all(b - a >= SPARSE_STRIDE for _, ks in sparse for a, b in zip(ks, ks[1:])), sparse
    assert len(sparse) < len(read) and len({lo for lo, _ in sparse}) < len(sparse)
    # within one window each word has a reading of its own (what the single-sentence results were read blind with)
    assert grouped_readings(12, token_words[:12], 16, SPARSE_STRIDE) == [(0, [k]) for k in range(12)]


def test_word_scores_of_a_long_text_read_about_two_stride_readings_per_token(bpe_editor, monkeypatch):  # noqa: F811
    from writing.scoring import SPARSE_STRIDE, predictability, word_tokens
    from dllm_core.canvas import Canvas
    from dllm_core.markup import Segment
    from writing.words import words_of

    reads = Reads(bpe_editor.adapter, monkeypatch)
    text = first_sentences(1960)
    words = words_of(text)
    canvas = Canvas.from_segments([Segment("fixed", text, 0)], bpe_editor.tokenizer)
    token_words = word_tokens(canvas, words)
    # one pass over words and tokens finds the same tokens as comparing every word with every token
    assert token_words == [[i for i, s in enumerate(canvas.spans) if s is not None and s[0] < w.end and s[1] > w.start]
                           for w in words]
    scores = []
    total, _ = reads.of(lambda: scores.extend(predictability(bpe_editor, text, words)))
    n = len(canvas.ids)
    assert n > 3 * READ_WINDOW
    # one reading per word would read len(words) windows; grouped readings about 2 x SPARSE_STRIDE per token
    assert total <= 2.5 * SPARSE_STRIDE * n + 64 * (READ_WINDOW + 2), (total, n, len(words))
    assert total < len(words) * READ_WINDOW / 3
    assert len(scores) == len(words) and all(s < 0 for s in scores)


def _swap_places(editor, text, words):
    """The words propose_synonyms reads (a lexicon candidate with tokens), and the canvas's token count."""
    from dllm_core.canvas import Canvas
    from dllm_core.markup import Segment
    from writing.lexicon import Lexicon
    from writing.rephrase import may_change
    from writing.scoring import word_tokens
    from writing.substitute import synonyms_in_place

    lexicon = Lexicon.load()
    canvas = Canvas.from_segments([Segment("fixed", text, 0)], editor.tokenizer)
    token_words = word_tokens(canvas, words)
    places = [k for k, w in enumerate(words) if may_change(w) and w.text.islower() and token_words[k]
              and synonyms_in_place(lexicon, text, w)]
    return places, len(canvas.ids)


def test_the_swap_places_of_a_long_text_are_read_in_grouped_readings_each_place_once(bpe_editor,
                                                                                    monkeypatch):  # noqa: F811
    from writing.lexicon import available
    from writing.rephrase import may_change
    from writing.scoring import SPARSE_STRIDE
    from writing.substitute import propose_synonyms
    from writing.words import words_of

    if not available():
        pytest.skip("no lexicon")
    adapter = bpe_editor.adapter
    reads = Reads(adapter, monkeypatch)
    masked_places = []
    read = adapter.masked_log_probs

    def recorded(seqs, rows, cols, targets=None):
        assert targets is None  # a row of the whole vocabulary per place
        for r, c in zip(rows, cols):
            assert seqs[r][c] == adapter.mask_id
        masked_places.append(len(rows))
        return read(seqs, rows, cols, targets)

    monkeypatch.setattr(adapter, "masked_log_probs", recorded)
    text = DRAFT
    words = words_of(text)
    places, n = _swap_places(bpe_editor, text, words)
    assert n > 3 * READ_WINDOW and len(places) > 40
    swaps = []
    total, _ = reads.of(lambda: swaps.extend(propose_synonyms(bpe_editor, text, words,
                                                              [may_change(w) for w in words], min_fit=-1e9)))
    # every place read once, in its own row (and, with no fit floor, offered)
    assert sum(masked_places) == len(places) and {s.word for s in swaps} == set(places)
    # windows overlapping by half (ceil((n - READ_WINDOW) / (READ_WINDOW / 2)) + 1 of them); places at least
    # SPARSE_STRIDE words apart share a reading, so a window has at most as many readings as the most places among
    # any SPARSE_STRIDE consecutive words; one reading per place (before) read len(places) windows
    windows = -(-(n - READ_WINDOW) // (READ_WINDOW // 2)) + 1
    crowd = max(sum(1 for k in places if i <= k < i + SPARSE_STRIDE) for i in range(len(words)))
    assert total <= windows * crowd * (READ_WINDOW + 2), (total, windows, crowd)
    assert windows * crowd < len(places) / 2, (windows, crowd, len(places))


def test_the_swaps_of_a_text_within_one_window_are_those_of_one_reading_per_place(bpe_editor):  # noqa: F811
    from writing.lexicon import available
    from writing.rephrase import may_change
    from writing.substitute import propose_synonyms
    from writing.words import words_of

    if not available():
        pytest.skip("no lexicon")
    text = first_sentences(470)
    words = words_of(text)
    places, n = _swap_places(bpe_editor, text, words)
    assert READ_WINDOW / 2 < n <= READ_WINDOW and len(places) > 5
    may = [may_change(w) for w in words]
    swaps = propose_synonyms(bpe_editor, text, words, may, min_fit=-1e9)
    # each place alone: a reading of the whole text with only that word masked
    alone = [s for k in places for s in propose_synonyms(bpe_editor, text, words, [j == k for j in range(len(words))],
                                                         min_fit=-1e9)]
    assert [(s.word, s.new) for s in swaps] == [(s.word, s.new) for s in alone]
    assert [s.score for s in swaps] == pytest.approx([s.score for s in alone], abs=1e-4)
