"""Batch jobs measured (issue 17): lines per second of ``python -m dllm_core batch`` in this process and on a local Ray
instance with 2 actors, in one run (so the ratio is of the same machine at the same time), plus what the driver
alone can feed (the ceiling when workers are added on a cluster).

Input: ``--lines`` sentences of 10-40 words from held-out prose (data/corpus/{news,wiki,austen,fortunes,dialogue}
.heldout.txt, as bench/actions.py; a built-in list when the corpus is not built), each with a span of 2-6 words
marked ``[[...]]`` for a same-length rewrite; greedy, 16 steps (the defaults), the embedded model. Order of the
runs: local, Ray, local again, each replica with one torch thread (the machine may be shared: the two local runs
bracket the Ray one), then local with torch's own thread count.

    python bench/batch.py --lines 480          # writes bench/results/batch.json and prints a table
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, machine  # noqa: F401 (puts the repository on sys.path)

from cli.batch import BatchWorker, WorkerSpec, run_job

CORPORA = ("news", "wiki", "austen", "fortunes", "dialogue")
FALLBACK = [
    "The harbour was quiet when the ferry came in from the islands late in the evening.",
    "She walked slowly to the market, where the old man sold apples and pears every Sunday morning.",
    "After the storm the villagers gathered on the beach to count the boats that had been lost.",
    "The committee will publish its report on the new railway line early next spring.",
    "He had never seen the city from the top of the cathedral tower before that day.",
]


def sentences(n: int, seed: int) -> list[str]:
    from writing.actions import count_words  # noqa: PLC0415

    pool = []
    for name in CORPORA:
        path = ROOT / "data" / "corpus" / f"{name}.heldout.txt"
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            for sent in re.split(r"(?<=[.!?])\s+", line.strip()):
                if 10 <= count_words(sent) <= 40 and sent[:1].isupper() and sent[-1:] in ".!?" and "[[" not in sent \
                        and "{{" not in sent and "]]" not in sent and "}}" not in sent:
                    pool.append(sent)
    pool = pool or FALLBACK
    rng = random.Random(seed)
    rng.shuffle(pool)
    return [pool[i % len(pool)] for i in range(n)]


def lines(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i, sent in enumerate(sentences(n, seed)):
        words = list(re.finditer(r"\S+", sent))
        size = rng.randint(2, min(6, len(words) - 2))
        start = rng.randint(1, len(words) - size - 1)
        a, b = words[start].start(), words[start + size - 1].end()
        out.append({"id": i, "text": f"{sent[:a]}[[{sent[a:b]}]]{sent[b:]}"})
    return out


class NullWorker(BatchWorker):
    """No model: what the driver costs per line (reading, checking, planning, writing)."""

    def __init__(self, spec):
        self.spec, self.problem, self.cpu_seconds = spec, None, 0.0

    def ready(self):
        return True, "no model"

    def run(self, tasks):
        return [{"id": t.id, "line": t.line, "text": t.text} for t in tasks]


def texts(path: Path) -> dict:
    return {r["id"]: r.get("text") for r in map(json.loads, path.read_text().splitlines())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=240)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--quantize", default="auto")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-default-threads", action="store_true",
                        help="leave out the local run with torch's own thread count")
    args = parser.parse_args(argv)

    load0 = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="dllm-batch-bench-"))
    src = tmp / "in.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in lines(args.lines, args.seed)))
    spec = WorkerSpec(model=args.model, quantize=args.quantize)
    runs = {}

    def run(name: str, **kwargs) -> None:
        out = tmp / f"{name}.jsonl"
        t0 = time.perf_counter()
        summary = run_job(src, out, spec=kwargs.pop("spec", spec), batch_size=kwargs.pop("batch_size", args.batch_size),
                          progress=False, **kwargs)
        runs[name] = {**summary.to_json(), "wall_seconds": round(time.perf_counter() - t0, 2), "out": out,
                      "load_average_after": round(os.getloadavg()[0], 2)}
        per_cpu = summary.written / summary.worker_cpu_seconds if summary.worker_cpu_seconds else float("nan")
        runs[name]["lines_per_worker_cpu_second"] = round(per_cpu, 2) if per_cpu == per_cpu else None
        print(f"{name:>19}: {summary.lines_per_second:7.2f} lines/s, {per_cpu:6.2f} per worker CPU-second "
              f"({summary.written} lines in {summary.seconds:.1f} s; setup {summary.setup_seconds:.1f} s; "
              f"{summary.runner})", flush=True)

    one_thread = WorkerSpec(model=args.model, quantize=args.quantize, threads=1)
    run("driver", worker_class=NullWorker)
    run("local", spec=one_thread)
    run("ray", ray="local", workers=args.workers, spec=one_thread)
    run("local-again", spec=one_thread)
    run("local-unshared", spec=one_thread, batch_size=1)  # every line in its own run: what sharing passes gains
    if not args.skip_default_threads:
        run("local-torch-threads", spec=WorkerSpec(model=args.model, quantize=args.quantize, threads=None))
    local = (runs["local"]["lines_per_second"] + runs["local-again"]["lines_per_second"]) / 2
    ray = runs["ray"]["lines_per_second"]
    a, b = texts(runs["local"]["out"]), texts(runs["ray"]["out"])
    same = a == b
    differ = sum(a[k] != b.get(k) for k in a)
    result = {
        "machine": machine(), "load_average_before": round(load0, 2), "lines": args.lines,
        "batch_size": args.batch_size, "model": args.model,
        "quantize": args.quantize, "workers": args.workers,
        "runs": {k: {kk: vv for kk, vv in v.items() if kk != "out"} for k, v in runs.items()},
        "ray_over_local": round(ray / local, 3) if local else None,
        "per_actor_lines_per_second": round(ray / args.workers, 2),
        "driver_lines_per_second": runs["driver"]["lines_per_second"],
        "shared_over_unshared": round(local / runs["local-unshared"]["lines_per_second"], 3),
        "local_and_ray_texts_identical": same, "texts_that_differ": differ,
    }
    print(f"Ray ({args.workers} actors) / local: {result['ray_over_local']}  (local {local:.2f}, Ray {ray:.2f} "
          f"lines/s); per actor {result['per_actor_lines_per_second']} lines/s; driver alone "
          f"{result['driver_lines_per_second']:.0f} lines/s; local and Ray texts identical: {same} ({differ} differ)")
    out = ROOT / "bench" / "results" / "batch.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
