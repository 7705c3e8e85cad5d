"""Attribute (sentiment) guidance on the shipped model, judged from outside (issue 3).

    python bench/guidance_attribute.py               # 60 sentences; writes bench/results/guidance_attribute.json

Sentences: held-out corpus sentences (news, Wikipedia, Austen, fortunes, dialogue; never the Reuters evaluation
texts) that AFINN scores neutral or negative (<= 0), with their middle half marked for rewriting. Every sentence is
rewritten unguided and with guidance toward "positive" (gradient term at each strength, exact top-k rescoring),
with the same seed and settings. Judges, neither of which trains or guides anything:
- sentiment: AFINN (the classifier was trained on Pang-Lee + VADER weak labels);
- fluency: SmolLM2-135M perplexity of the result, compared with the original sentence's.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.guidance_judges import afinn_scorer, perplexity  # noqa: E402
from dllm_core import Editor, SamplerConfig  # noqa: E402
from guidance import GuidanceOptions, get_classifier, guided_edit  # noqa: E402

SOURCES = ("news", "wiki", "austen", "fortunes", "dialogue")


def sentences(n: int, seed: int, afinn) -> list[str]:
    rng = random.Random(seed)
    pool = []
    for src in SOURCES:
        text = (ROOT / "data" / "corpus" / f"{src}.heldout.txt").read_text()
        sents = [s for line in text.splitlines() for s in re.split(r"(?<=[.!?])\s+", line.strip())
                 if 8 <= len(s.split()) <= 25 and not re.search(r"\[\[|\]\]|\{\{|\}\}", s) and afinn(s) <= 0]
        rng.shuffle(sents)
        pool += sents[: n // len(SOURCES) + 1]
    rng.shuffle(pool)
    return pool[:n]


def mark(sentence: str) -> str:
    words = sentence.split()
    a = len(words) // 4
    b = a + max(3, len(words) // 2)
    return " ".join(words[:a] + ["[[" + " ".join(words[a:b]) + "]]"] + words[b:])


def bootstrap_ci(values: list[float], seed: int = 0, rounds: int = 2000) -> list[float]:
    """95 % bootstrap interval of the mean."""
    rng = random.Random(seed)
    means = sorted(statistics.mean(rng.choices(values, k=len(values))) for _ in range(rounds))
    return [round(means[int(0.025 * rounds)], 3), round(means[int(0.975 * rounds) - 1], 3)]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sentences", type=int, default=60)
    p.add_argument("--strengths", type=float, nargs="*", default=[2.0, 5.0])
    p.add_argument("--exact-strengths", type=float, nargs="*", default=[4.0, 8.0])
    p.add_argument("--top-k", type=int, default=16, help="candidates per position for exact guidance")
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--model", default="embedded", help="embedded (MiniLM) or smollm2-dlm (its own attribute heads)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "guidance_attribute.json")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    afinn = afinn_scorer()
    editor = Editor.load(args.model, device="cpu")
    classifier = get_classifier(editor, "sentiment")
    conditions = {"unguided": GuidanceOptions()}
    for g in args.strengths:
        conditions[f"gradient γ={g:g}"] = GuidanceOptions(attribute="sentiment", target="positive", strength=g,
                                                            exact=False)
    for g in args.exact_strengths:
        conditions[f"exact top-{args.top_k} γ={g:g}"] = GuidanceOptions(
            attribute="sentiment", target="positive", strength=g, exact=True, top_k=args.top_k)
    texts = sentences(args.sentences, args.seed, afinn)
    outputs: dict[str, list[str]] = {name: [] for name in conditions}
    seconds: dict[str, float] = {name: 0.0 for name in conditions}
    for k, sentence in enumerate(texts):
        config = SamplerConfig(steps=args.steps, temperature=args.temperature, seed=args.seed + k)
        for name, options in conditions.items():
            t0 = time.time()
            result, _ = guided_edit(editor, mark(sentence), config, options)
            seconds[name] += time.time() - t0
            outputs[name].append(result.text)
    ppl_orig = perplexity(texts)
    rows = {}
    base_afinn = [afinn(t) for t in outputs["unguided"]]
    for name, outs in outputs.items():
        scores = [afinn(t) for t in outs]
        ppl = perplexity(outs)
        log_ratio = [math.log(a / b) for a, b in zip(ppl, ppl_orig)]
        rows[name] = {
            "share_positive_afinn": round(sum(s > 0 for s in scores) / len(scores), 3),
            "mean_afinn": round(statistics.mean(scores), 3),
            "mean_shift_vs_unguided": round(statistics.mean(s - b for s, b in zip(scores, base_afinn)), 3),
            "shift_95ci": bootstrap_ci([s - b for s, b in zip(scores, base_afinn)]),
            "better_same_worse": [sum(s > b for s, b in zip(scores, base_afinn)),
                                  sum(s == b for s, b in zip(scores, base_afinn)),
                                  sum(s < b for s, b in zip(scores, base_afinn))],
            "classifier_p_positive": round(statistics.mean(float(x) for x in
                                                           classifier.score_texts(outs)[:, 1]), 3),
            "median_ppl": round(statistics.median(ppl), 1),
            "ppl_ratio_vs_original_geomean": round(math.exp(statistics.mean(log_ratio)), 3),
            "seconds_per_edit": round(seconds[name] / len(texts), 3),
        }
    summary = {"model": editor.adapter.name, "sentences": len(texts), "steps": args.steps,
               "temperature": args.temperature, "judge": "AFINN (not used to train or guide)",
               "fluency_judge": "SmolLM2-135M-Instruct perplexity",
               "original": {"share_positive_afinn": round(sum(afinn(t) > 0 for t in texts) / len(texts), 3),
                            "mean_afinn": round(statistics.mean(afinn(t) for t in texts), 3),
                            "median_ppl": round(statistics.median(ppl_orig), 1)},
               "conditions": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    examples = [{"original": t, **{name: outputs[name][i] for name in conditions}} for i, t in enumerate(texts)]
    args.out.write_text(json.dumps({"summary": summary, "examples": examples}, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
