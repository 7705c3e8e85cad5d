"""What a writing action costs as its draft grows (issue 24): seconds, peak memory and the tokens the model reads, for
Shorten, Rephrase and Tone on the first 250 / 500 / 1,000 / 2,000 (/ 10,000) characters of a draft of modern prose
(bench/texts/long_draft.txt, cut at the sentence's end nearest to that length; 10,000 repeats its paragraphs).

    python bench/action_cost.py                                   # this checkout, smollm2-dlm, 2 threads
    python bench/action_cost.py --code /path/to/other/checkout    # the same measurements of other code (before/after)
    python bench/action_cost.py --sizes 250,2000 --actions shorten --runs 3 --json out.json

Each measurement runs in a fresh process (so that its peak resident memory is its own): the model loads, one warm-up
action on one sentence runs, then the action on the draft, ``--runs`` times (the median is printed). ``rss_loaded``
is the process's peak before the action, ``rss_peak`` after it; ``tokens`` counts the tokens of every forward pass
(rows x padded length, by a counter on the adapter's framing), which does not depend on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRAFT = ROOT / "bench" / "texts" / "long_draft.txt"
WARM = ("Some residents argued that the council should have spent the money on roads, and a few of them wrote angry "
        "letters to the local paper.")

CHILD = r"""
import json, resource, sys, time
import torch
torch.set_num_threads(int(sys.argv[1]))
from dllm_core.api import EditError, Editor
from writing.actions import run_action
action, runs, model = sys.argv[2], int(sys.argv[3]), sys.argv[4]
text, warm = json.loads(sys.stdin.read())
editor = Editor.load(model)
tokens = [0]
frame = editor.adapter.frame
def counted(seqs):
    out = frame(seqs)
    tokens[0] += out[0].shape[0] * out[0].shape[1]
    return out
editor.adapter.frame = counted
try:
    run_action(editor, action, warm)
except EditError:
    pass
rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
seconds, counts, out, error = [], [], "", ""
for _ in range(runs):
    tokens[0] = 0
    t = time.perf_counter()
    try:
        out = run_action(editor, action, text).text
    except EditError as exc:
        error = str(exc)
    seconds.append(time.perf_counter() - t)
    counts.append(tokens[0])
print(json.dumps({"seconds": seconds, "tokens": counts, "rss_loaded_mb": rss_loaded,
                  "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "error": error, "words_out": len(out.split())}))
"""


def draft(chars: int) -> str:
    """The draft (its paragraphs repeated when it is shorter than ``chars``) up to the end of the sentence nearest to
    ``chars`` characters."""
    text = DRAFT.read_text(encoding="utf-8").strip()
    while len(text) < chars:
        text = text + "\n\n" + DRAFT.read_text(encoding="utf-8").strip()
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s|$)", text)] or [len(text)]
    return text[: min(ends, key=lambda e: abs(e - chars))]


def measure(code: Path, action: str, chars: int, runs: int, threads: int, model: str, timeout: float) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(threads)}
    text = draft(chars)
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, str(threads), action, str(runs), model], cwd=code,
                              env=env, input=json.dumps([text, WARM]), capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"action": action, "chars": len(text), "error": f"over {timeout:.0f} s"}
    if done.returncode:
        return {"action": action, "chars": len(text), "error": done.stderr.strip().splitlines()[-1]}
    row = json.loads(done.stdout.strip().splitlines()[-1])
    return {"action": action, "chars": len(text), "words": len(text.split()), **row,
            "median_s": statistics.median(row["seconds"]), "median_tokens": statistics.median(row["tokens"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose actions are measured")
    parser.add_argument("--actions", default="shorten,rephrase,tone")
    parser.add_argument("--sizes", default="250,500,1000,2000", help="characters, comma-separated")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", default="smollm2-dlm")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per measurement")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    rows = []
    print(f"{'action':9} {'chars':>6} {'words':>5} {'seconds':>8} {'tokens':>8} {'RSS loaded':>10} {'RSS peak':>9}")
    for action in args.actions.split(","):
        for chars in (int(c) for c in args.sizes.split(",")):
            row = measure(args.code.resolve(), action, chars, args.runs, args.threads, args.model, args.timeout)
            rows.append(row)
            if "median_s" not in row:
                print(f"{action:9} {row['chars']:>6} {'':>5} {row['error']}", flush=True)
                continue
            print(f"{action:9} {row['chars']:>6} {row['words']:>5} {row['median_s']:>8.1f} {row['median_tokens']:>8.0f} "
                  f"{row['rss_loaded_mb']:>8.0f}MB {row['rss_peak_mb']:>7.0f}MB"
                  + (f"  ({row['error'][:60]})" if row["error"] else ""), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
