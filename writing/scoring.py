"""How the writing actions read a text with the model: per-word predictability and deletion fit (the denoiser,
one batched pass per chunk of masked copies), and the judge's summed reading of short windows (cuts and swaps)."""

from __future__ import annotations

import torch

from dllm_core.adapter import ModelAdapter
from dllm_core.api import Editor
from dllm_core.canvas import Canvas
from dllm_core.markup import Segment
from dllm_core.windows import window_budget

from .words import Word

# tokens of the text one masked reading sees (the word and what is around it, about a paragraph): the cost of
# scoring a text grows with its length, not with its length squared, and a pass's memory is bounded (issue 24).
# A sentence and the text around it up to this length read as they did when every reading saw the whole text
READ_WINDOW = 128


def read_window(adapter: ModelAdapter) -> int:
    """The most tokens one masked reading of a word sees: :data:`READ_WINDOW`, or less where the model's context is
    shorter."""
    return min(window_budget(adapter), READ_WINDOW)


# a text longer than one reading window is read in interleaved groups: one reading of a window masks every
# SPARSE_STRIDE-th of its words at once (the others visible: the nearest mask is that many words away), so each token
# is read about 2 x SPARSE_STRIDE times instead of once per word around it (issue 24: a 2,000-character Shorten read
# 46,930 tokens for its word scores; now 4,682). The denoiser was trained on every masking rate; on the long draft of
# bench/action_cost.py the grouped scores follow a whole-text reading per word nearly as closely as one 128-token
# reading per word did (Spearman 0.87 against 0.90; bench/RESULTS.md, "Word scores of long texts"). A text within one
# window reads one word at a time, as before
SPARSE_STRIDE = 6


def word_tokens(canvas: Canvas, words: list[Word]) -> list[list[int]]:
    """Per word: the positions of the canvas tokens that overlap it (one pass over both, in order)."""
    spans = [(i, span) for i, span in enumerate(canvas.spans) if span is not None]
    out: list[list[int]] = []
    first = 0
    for w in words:
        while first < len(spans) and spans[first][1][1] <= w.start:
            first += 1
        toks, j = [], first
        while j < len(spans) and spans[j][1][0] < w.end:
            if spans[j][1][1] > w.start:
                toks.append(spans[j][0])
            j += 1
        out.append(toks)
    return out


def grouped_readings(n_tokens: int, token_words: list[list[int]], body: int, stride: int,
                     read: list[int] | None = None) -> list[tuple[int, list[int]]]:
    """The masked readings that score the words ``read`` (default: every word with tokens; a word without any is
    not read): (window start, the words masked in it). Within one window: one reading per word. Longer: windows of
    ``body`` tokens overlapping by half; each word is read in the window whose middle is nearest to it, masked in the
    same reading as other words of that window at least ``stride`` words apart (first fit, in the text's order:
    when every word is read, every ``stride``-th word of the window)."""
    order = [k for k, toks in enumerate(token_words) if toks]
    read = order if read is None else sorted(k for k in read if token_words[k])
    if n_tokens <= body:
        return [(0, [k]) for k in read]
    rank = {k: i for i, k in enumerate(order)}
    starts = list(range(0, n_tokens - body, body // 2)) + [n_tokens - body]
    home: dict[int, list[int]] = {}
    for k in read:
        mid = (token_words[k][0] + token_words[k][-1]) / 2
        lo = min(starts, key=lambda s: abs(s + body / 2 - mid))
        home.setdefault(lo, []).append(k)
    out = []
    for lo, ks in sorted(home.items()):
        groups: list[list[int]] = []
        for k in ks:
            group = next((g for g in groups if rank[k] - rank[g[-1]] >= stride), None)
            if group is None:
                groups.append([k])
            else:
                group.append(k)
        out += [(lo, g) for g in groups]
    return out


def masked_windows(ids: torch.Tensor, readings: list[tuple[int, list[int]]], token_words: list[list[int]],
                   body: int, mask_id: int) -> tuple[list[torch.Tensor], list[tuple[int, int, int, int]]]:
    """The token windows of ``readings`` (from :func:`grouped_readings`) with their words masked, and per masked
    token ``(row, column, word, position in ids)``, in order."""
    seqs, masked = [], []
    for r, (lo, ks) in enumerate(readings):
        hi = min(len(ids), lo + body)
        seq = ids[lo:hi].clone()
        for k in ks:
            for p in token_words[k]:
                if lo <= p < hi:
                    seq[p - lo] = mask_id
                    masked.append((r, p - lo, k, p))
        seqs.append(seq)
    return seqs, masked


@torch.no_grad()
def predictability(editor: Editor, text: str, words: list[Word], batch: int = 64,
                   stride: int = SPARSE_STRIDE) -> list[float]:
    """Per word: the mean log-probability of its tokens with that word masked and the rest of ``text`` visible
    (batched forward passes of ``batch`` readings; each reads :data:`READ_WINDOW` tokens at most; in a text longer
    than that, every ``stride``-th word of a window is masked in the same reading). High: the rest says it already."""
    adapter = editor.adapter
    canvas = Canvas.from_segments([Segment("fixed", text, 0)], editor.tokenizer)
    ids = torch.tensor(canvas.ids)
    token_words = word_tokens(canvas, words)
    body = read_window(adapter)
    scores = [0.0] * len(words)
    readings = grouped_readings(len(ids), token_words, body, stride)
    for chunk_start in range(0, len(readings), batch):
        seqs, masked = masked_windows(ids, readings[chunk_start : chunk_start + batch], token_words, body,
                                      adapter.mask_id)
        logp = adapter.masked_log_probs(seqs, [m[0] for m in masked], [m[1] for m in masked],
                                        [int(ids[m[3]]) for m in masked])
        sums: dict[int, list[float]] = {}
        for (_, _, k, _), lp in zip(masked, logp.tolist()):
            sums.setdefault(k, []).append(lp)
        for k, lps in sums.items():
            scores[k] = sum(lps) / len(lps)
    return scores


@torch.no_grad()
def deletion_fit(editor: Editor, text: str, words: list[Word], batch: int = 64, reach: int = 300) -> list[float]:
    """Per word: how well the text reads without it. The word is deleted (with the white space before it), and
    each neighbouring word is masked in turn (two sequences per word, all in batched passes): the mean
    log-probability of the neighbours' own tokens. High: nothing is missing where the word was."""
    items = []  # (word index, token ids, positions to score)
    for k, w in enumerate(words):
        cut_lo = words[k - 1].end if k > 0 and not text[words[k - 1].end : w.start].strip() else w.start
        lo, hi = max(0, w.start - reach), min(len(text), w.end + reach)
        short = text[lo:cut_lo] + text[w.end : hi]
        shift = w.end - cut_lo
        enc = editor.tokenizer(short, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = enc["input_ids"], enc["offset_mapping"]
        neighbours = []
        if k > 0:
            neighbours.append((words[k - 1].start - lo, words[k - 1].end - lo))
        if k + 1 < len(words):
            neighbours.append((words[k + 1].start - lo - shift, words[k + 1].end - lo - shift))
        for a, b in neighbours:
            toks = [i for i, (s, e) in enumerate(offsets) if s < b and e > a]
            if toks:
                items.append((k, ids, toks))
    body = read_window(editor.adapter)
    sums: dict[int, list[float]] = {}
    for chunk_start in range(0, len(items), batch):
        seqs, rows, cols, targets, owner = [], [], [], [], []
        for r, (k, ids, toks) in enumerate(items[chunk_start : chunk_start + batch]):
            w_lo = max(0, min(toks[0] - body // 2, len(ids) - body))
            seq = torch.tensor(ids[w_lo : w_lo + body], dtype=torch.long)
            for p in toks:
                if w_lo <= p < w_lo + len(seq):
                    rows.append(r)
                    cols.append(p - w_lo)
                    targets.append(int(seq[p - w_lo]))
                    owner.append(k)
            seq[[c for rr, c in zip(rows, cols) if rr == r]] = editor.adapter.mask_id
            seqs.append(seq)
        logp = editor.adapter.masked_log_probs(seqs, rows, cols, targets)
        for k, lp in zip(owner, logp.tolist()):
            sums.setdefault(k, []).append(lp)
    return [sum(sums[k]) / len(sums[k]) if k in sums else 0.0 for k in range(len(words))]


def word_window(text: str, start: int, end: int, before: int, after: int) -> tuple[int, int]:
    """The character range around ``text[start:end]`` with about ``before`` / ``after`` characters each side,
    widened to white space (so that a window never starts or ends inside a word): what a judge reads of a local
    edit (the writing actions' cuts and swaps)."""
    lo = max(0, start - before)
    while lo > 0 and not text[lo - 1].isspace():
        lo -= 1
    hi = min(len(text), end + after)
    while hi < len(text) and not text[hi].isspace():
        hi += 1
    return lo, hi


def judged_totals(adapter: ModelAdapter, texts: list[str], batch: int = 48) -> list[float]:
    """Summed log-probability of each text (read from its start) under the adapter's judge
    (:meth:`ModelAdapter.judge_log_probs`), in batches of ``batch`` texts. Used by the cuts and word swaps of the
    writing actions."""
    limit = adapter.max_length - 2
    ids = [torch.tensor(adapter.tokenizer(t, add_special_tokens=False)["input_ids"][-limit:] or [adapter.sep_id])
           for t in texts]
    out: list[float] = []
    for b in range(0, len(ids), batch):
        out += [float(lp.sum()) for lp in adapter.judge_log_probs(ids[b : b + batch])]
    return out
