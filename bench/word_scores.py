"""How faithful the grouped word scores of a long text are (issue 24): writing.scoring.predictability on the long
draft (bench/texts/long_draft.txt, ~2,000 characters), with every SPARSE_STRIDE-th word of a window masked in one
reading, against one reading per word, and both against the ideal: one reading per word that sees the whole text.

    python bench/word_scores.py                 # strides 4, 6, 8; smollm2-dlm, 2 threads

Printed per method: Spearman and Pearson correlation of the 361 word scores with the whole-text reading, the tokens
read (rows x padded length of every pass) and seconds. Written to bench/RESULTS.md, "Word scores of long texts".
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from action_cost import draft
from common import write_section


def per_word(editor, text, words, body):
    """One reading per word: a window of ``body`` tokens centred on it (the method before the grouped readings;
    ``body`` >= the text's length: the whole text)."""
    import torch  # noqa: PLC0415

    from dllm_core.canvas import Canvas  # noqa: PLC0415
    from dllm_core.markup import Segment  # noqa: PLC0415
    from writing.scoring import word_tokens  # noqa: PLC0415

    adapter = editor.adapter
    canvas = Canvas.from_segments([Segment("fixed", text, 0)], editor.tokenizer)
    ids = torch.tensor(canvas.ids)
    scores = []
    for toks in word_tokens(canvas, words):
        lo = max(0, min(toks[0] - body // 2, len(ids) - body))
        seq = ids[lo : lo + body].clone()
        seq[[p - lo for p in toks]] = adapter.mask_id
        lp = adapter.masked_log_probs([seq], [0] * len(toks), [p - lo for p in toks], [int(ids[p]) for p in toks])
        scores.append(float(lp.mean()))
    return scores


def correlations(a, b):
    rank = lambda x: np.argsort(np.argsort(x)).astype(float)  # noqa: E731
    return float(np.corrcoef(rank(a), rank(b))[0, 1]), float(np.corrcoef(a, b)[0, 1])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--strides", default="4,6,8")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch  # noqa: PLC0415

    from dllm_core.api import Editor  # noqa: PLC0415
    from writing.scoring import READ_WINDOW, SPARSE_STRIDE, predictability  # noqa: PLC0415
    from writing.words import words_of  # noqa: PLC0415

    torch.set_num_threads(args.threads)
    editor = Editor.load("smollm2-dlm")
    text = draft(2000)
    words = words_of(text)
    tokens = [0]
    frame = editor.adapter.frame

    def counted(seqs):
        out = frame(seqs)
        tokens[0] += out[0].shape[0] * out[0].shape[1]
        return out

    editor.adapter.frame = counted
    runs = {}

    def run(name, fn):
        tokens[0] = 0
        t = time.perf_counter()
        scores = fn()
        runs[name] = (scores, tokens[0], time.perf_counter() - t)
        print(name, tokens[0], "tokens", round(runs[name][2], 1), "s", flush=True)

    run("whole text, one word a reading", lambda: per_word(editor, text, words, 4096))
    run(f"{READ_WINDOW} tokens around each word, one word a reading (before)",
        lambda: per_word(editor, text, words, READ_WINDOW))
    for stride in (int(s) for s in args.strides.split(",")):
        mark = " (shipped)" if stride == SPARSE_STRIDE else ""
        run(f"grouped: every {stride}th word of a {READ_WINDOW}-token window{mark}",
            lambda stride=stride: predictability(editor, text, words, stride=stride))
    ideal = runs["whole text, one word a reading"][0]
    rows = []
    for name, (scores, n, seconds) in runs.items():
        s, r = correlations(scores, ideal)
        rows.append(f"| {name} | {s:.3f} | {r:.3f} | {n:,} | {seconds:.1f} |")
    body = "\n".join([
        f"{len(words)} words of the long draft ({len(text):,} characters), smollm2-dlm, {args.threads} threads. Each "
        "word's score is the mean log-probability of its tokens with the word masked (what Shorten's cuts and "
        "Rephrase's key words read). Correlation with the whole-text reading, over the words:",
        "",
        "| method | Spearman | Pearson | tokens read | seconds |",
        "|---|---:|---:|---:|---:|",
        *rows,
    ])
    write_section("Word scores of long texts", "python bench/word_scores.py", body)
    print(body)


if __name__ == "__main__":
    main()
