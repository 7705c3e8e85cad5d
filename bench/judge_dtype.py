"""The judge in bfloat16 against float32 (dllm_core.precision), in one process, taking turns on the same cases:
seconds per call of the writing actions that read with the judge (Shorten, Rephrase, Tone on single sentences; Fill
on a 6-word span, whose gate reads with it) and how many results are identical.

    python bench/judge_dtype.py --n 20

Cases: the first ``--n`` sentences of bench/results/actions_cases_outside_s21_formal.json (the unseen genres) for
Shorten / Rephrase / Tone (k = 3), and ``--n`` 6-word spans of the unseen genres (seed 11) for Fill. Written to
bench/RESULTS.md, section "The judge in bfloat16". Long drafts: ``DLLM_JUDGE_DTYPE=float32 python
bench/action_cost.py --sizes 2000`` against the same without the variable.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

from common import median, write_section

CASES = Path(__file__).parent / "results" / "actions_cases_outside_s21_formal.json"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch  # noqa: PLC0415

    import writer_eval as W  # noqa: PLC0415
    from dllm_core import Editor  # noqa: PLC0415
    from dllm_core.api import EditError  # noqa: PLC0415
    from dllm_core.precision import JUDGE_DTYPES, cpu_has_amx  # noqa: PLC0415
    from writing.actions import run_action  # noqa: PLC0415

    torch.set_num_threads(args.threads)
    editor = Editor.load("smollm2-dlm")
    adapter = editor.adapter
    # two fresh copies of the judge, one in each format (not one cast from the other: a float32 copy of bfloat16
    # weights would keep their rounding)
    judges = {name: adapter.judge_loader().to(dtype).eval() for name, dtype in JUDGE_DTYPES.items()}
    sentences = json.loads(CASES.read_text(encoding="utf-8"))["sentences"][: args.n]
    spans = W.outside_cases(args.n, 11, "span", W.choose_span)
    calls = [(action, s, None) for s in sentences for action in ("shorten", "rephrase", "tone")]
    calls += [("fill", c["sentence"], (c["start"], c["end"])) for c in spans]
    seconds: dict[str, dict[str, list[float]]] = {d: {} for d in judges}
    texts: dict[str, list] = {d: [] for d in judges}
    for dtype in judges:  # warm-up
        adapter._judge = judges[dtype]
        run_action(editor, "rephrase", sentences[0], k=3)
    for i, (action, text, selection) in enumerate(calls):
        for dtype in (list(judges) if i % 2 == 0 else list(judges)[::-1]):  # turns: drift falls on both
            adapter._judge = judges[dtype]
            t0 = time.perf_counter()
            try:
                extra = {"selection": selection} if selection else {}
                out = [a.text for a in run_action(editor, action, text, k=3, **extra).alternatives]
            except EditError as exc:
                out = [re.sub(r"\d+\.\d+", "#", f"declined: {exc}")]  # the verdict; its nats differ by ~0.05
            seconds[dtype].setdefault(action, []).append(time.perf_counter() - t0)
            texts[dtype].append(out)
        print(f"[{i + 1}/{len(calls)}] {action}", flush=True)
    same = {a: 0 for a in seconds["float32"]}
    for (action, _, _), x, y in zip(calls, texts["float32"], texts["bfloat16"]):
        same[action] += x == y
    rows = [f"| {a} | {len(seconds['float32'][a])} | {median(seconds['float32'][a]):.2f} | "
            f"{median(seconds['bfloat16'][a]):.2f} | {median(seconds['float32'][a]) / median(seconds['bfloat16'][a]):.1f}x"
            f" | {same[a]} |" for a in same]
    differing = [f"- {action}: `{text}`\n  - float32: {x}\n  - bfloat16: {y}"
                 for (action, text, _), x, y in zip(calls, texts["float32"], texts["bfloat16"]) if x != y]
    body = "\n".join([
        f"smollm2-dlm (int8 denoiser), {torch.get_num_threads()} threads, this CPU has AMX: {cpu_has_amx()}. "
        f"Shorten / Rephrase / Tone (k = 3) on {len(sentences)} sentences of the unseen genres, Fill (k = 3) on "
        f"{len(spans)} six-word spans; the two judges take turns on each call after a warm-up.",
        "",
        "| action | calls | float32 judge, s (median) | bfloat16 judge, s (median) | speed-up | identical results |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "A declined call counts as identical when its message is, the figures in it aside (the gate's nats move by "
        "about 0.05 between the formats).",
        "",
        "Results that differ (alternatives in order):" if differing else "Every result is identical.",
        "",
        *differing,
    ])
    write_section("The judge in bfloat16", f"python bench/judge_dtype.py --n {args.n}", body)
    print(body)


if __name__ == "__main__":
    main()
