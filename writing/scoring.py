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


@torch.no_grad()
def predictability(editor: Editor, text: str, words: list[Word], batch: int = 64) -> list[float]:
    """Per word: the mean log-probability of its tokens with that word masked and the rest of ``text`` visible
    (one batched forward pass per ``batch`` words; each reads :data:`READ_WINDOW` tokens around the word at most).
    High: the rest says it already."""
    adapter = editor.adapter
    canvas = Canvas.from_segments([Segment("fixed", text, 0)], editor.tokenizer)
    ids = torch.tensor(canvas.ids)
    token_words: list[list[int]] = []
    for w in words:
        token_words.append([i for i, span in enumerate(canvas.spans)
                            if span is not None and span[0] < w.end and span[1] > w.start])
    body = read_window(adapter)
    scores = [0.0] * len(words)
    order = [k for k, toks in enumerate(token_words) if toks]
    for chunk_start in range(0, len(order), batch):
        chunk = order[chunk_start : chunk_start + batch]
        seqs, rows, cols, targets, owner = [], [], [], [], []
        for r, k in enumerate(chunk):
            toks = token_words[k]
            lo = max(0, min(toks[0] - body // 2, len(ids) - body))
            hi = min(len(ids), lo + body)
            seq = ids[lo:hi].clone()
            for p in toks:
                if lo <= p < hi:
                    seq[p - lo] = adapter.mask_id
                    rows.append(r)
                    cols.append(p - lo)
                    targets.append(int(ids[p]))
                    owner.append(k)
            seqs.append(seq)
        logp = adapter.masked_log_probs(seqs, rows, cols, targets)
        sums: dict[int, list[float]] = {}
        for k, lp in zip(owner, logp.tolist()):
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
