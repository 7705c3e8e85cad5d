"""Measure the writing actions on held-out sentences (data/corpus/*.heldout.txt; never the Reuters texts).

    python scripts/action_eval.py --model embedded --n 12 --k 3

Shorten: achieved / target words (median, share within one word), content words kept. Rephrase: share of the
selection's words changed, content words kept, distinct alternatives. Tone (models with a classifier): the
classifier's p(target) before and after. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dllm_core import EditError, Editor, SamplerConfig  # noqa: E402
from dllm_core.actions import count_words, rephrase, shorten, tone  # noqa: E402

CORPORA = ("news", "wiki", "austen", "fortunes", "dialogue")


def sentences(n: int, seed: int, lo: int = 14, hi: int = 40) -> list[str]:
    pool = []
    for name in CORPORA:
        path = Path(__file__).resolve().parent.parent / "data" / "corpus" / f"{name}.heldout.txt"
        for line in path.read_text().splitlines():
            for sent in re.split(r"(?<=[.!?])\s+", line.strip()):
                if lo <= count_words(sent) <= hi and sent[:1].isupper() and sent[-1:] in ".!?":
                    pool.append(sent)
    random.Random(seed).shuffle(pool)
    return pool[:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--target", default="70%")
    ap.add_argument("--strength", type=float, default=0.5)
    args = ap.parse_args()
    editor = Editor.load(args.model)
    config = SamplerConfig(steps=16, temperature=0.7 if args.k > 1 else 0.0, seed=args.seed)
    data = sentences(args.n, args.seed)
    out: dict = {"model": editor.adapter.name, "n": len(data), "k": args.k, "target": args.target,
                 "strength": args.strength}

    t0 = time.perf_counter()
    ratios, within, kept, examples = [], 0, [], []
    for s in data:
        r = shorten(editor, s, args.target, k=args.k, config=config)
        best = r.alternatives[0]
        ratios.append(best.words / r.words_before)
        within += abs(best.words - r.target_words) <= 1
        kept.append(all(w in best.text for w in r.kept))
        examples.append({"before": s, "after": best.text, "words": [r.words_before, best.words, r.target_words]})
    out["shorten"] = {"median_ratio": round(statistics.median(ratios), 3), "within_one_word": f"{within}/{len(data)}",
                      "content_kept": f"{sum(kept)}/{len(data)}", "seconds": round(time.perf_counter() - t0, 1),
                      "examples": examples[:4]}

    t0 = time.perf_counter()
    changed, kept, distinct, examples = [], [], [], []
    for s in data:
        r = rephrase(editor, s, args.strength, k=args.k, config=config)
        best = r.alternatives[0]
        a, b = s.lower().split(), best.text.lower().split()
        changed.append(1 - len(set(a) & set(b)) / max(1, len(set(a))))
        kept.append(all(w in best.text for w in r.kept))
        distinct.append(len(r.alternatives))
        examples.append({"before": s, "after": best.text})
    out["rephrase"] = {"words_changed": round(statistics.mean(changed), 3), "content_kept": f"{sum(kept)}/{len(data)}",
                       "distinct_alternatives_mean": round(statistics.mean(distinct), 2),
                       "seconds": round(time.perf_counter() - t0, 1), "examples": examples[:4]}

    try:
        from guidance.classifier import get_classifier  # noqa: PLC0415

        t0 = time.perf_counter()
        before, after = [], []
        for s in data:
            r = tone(editor, s, "sentiment", "positive", k=args.k, config=config, strength=args.strength)
            clf = get_classifier(editor, "sentiment")
            before.append(clf.score(s, "positive"))
            after.append(clf.score(r.text, "positive"))
        out["tone"] = {"sentiment=positive p_before_mean": round(statistics.mean(before), 3),
                       "p_after_mean": round(statistics.mean(after), 3),
                       "judge": "the guidance classifier itself", "seconds": round(time.perf_counter() - t0, 1)}
    except EditError as exc:
        out["tone"] = {"unavailable": str(exc)}
    print(json.dumps(out, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
