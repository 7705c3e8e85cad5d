"""The fluent path with and without the KV-cached look-ahead (issue 24): seconds per 6-word span edit on the default
path (smollm2-dlm, ``--writing auto``), the two taking turns on the same cases in one process, and whether their
texts agree.

    python bench/look_ahead.py --n 8 --threads 1

The look-ahead at a span's last slot reads each of up to 16 candidate tokens followed by 16 tokens of the draft,
after ~96 tokens of left context (dllm_core.hooks.CausalFluency). With the cache
(ModelAdapter.continuations_log_likelihood) the left context is read once per row instead of once per candidate.
Cases: 6-word spans of the unseen genres (bench/outside.py via writer_eval's chooser), seed ``--seed``. Written to
bench/RESULTS.md, section "Fluent look-ahead with a KV cache".
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from common import median, write_section


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=8)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--quantize", choices=("none", "int8"), default="int8")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch  # noqa: PLC0415

    import writer_eval as W  # noqa: PLC0415
    from dllm_core import Editor  # noqa: PLC0415
    from dllm_core.hooks import CausalFluency  # noqa: PLC0415

    if args.threads:
        torch.set_num_threads(args.threads)
    editor = Editor.load("smollm2-dlm", device="cpu", quantize=args.quantize)
    cases = W.outside_cases(args.n, args.seed, "span", W.choose_span)
    times: dict[bool, list[float]] = {True: [], False: []}
    same = 0
    for k, case in enumerate(cases):
        markup = W.to_markup(case["sentence"], case["start"], case["end"])
        config = W.edit_config(editor, markup, 0, "AUTO")
        if k == 0:
            editor.edit(markup, config)  # warm-up
        texts = {}
        for cached in ((True, False) if k % 2 == 0 else (False, True)):  # turns: drift falls on both
            CausalFluency.cached = cached
            t0 = time.perf_counter()
            texts[cached] = editor.edit(markup, config).text
            times[cached].append(time.perf_counter() - t0)
        CausalFluency.cached = True
        same += texts[True] == texts[False]
        print(f"[{k + 1}/{len(cases)}] cached {times[True][-1]:.1f} s, uncached {times[False][-1]:.1f} s, "
              f"{'same text' if texts[True] == texts[False] else 'texts differ'}", flush=True)
    fast, slow = median(times[True]), median(times[False])
    load = os.getloadavg()[0]
    body = (f"{len(cases)} six-word span edits on the default path (smollm2-dlm, {args.quantize} weights, "
            f"--writing auto: fluent, 4 beams x 5 span lengths), unseen genres (seed {args.seed}), the two taking "
            f"turns in one process after a warm-up.\n\n"
            "| look-ahead | s per edit, median | mean |\n|---|---:|---:|\n"
            f"| every candidate reads the whole left context (before) | {slow:.2f} | "
            f"{sum(times[False]) / len(cases):.2f} |\n"
            f"| left context read once, KV cache (now) | {fast:.2f} | {sum(times[True]) / len(cases):.2f} |\n\n"
            f"Speed-up {slow / fast:.2f}x (median). Same text in {same} of {len(cases)} edits (int8 activations "
            "are quantised per batch, so batch shapes can move a near-tie; on fp32 weights the test "
            "tests/test_kv_look_ahead.py asserts the same edits). 1-minute load average at the end: "
            f"{load:.1f} on {os.cpu_count()} cores.")
    print(body)
    write_section("Fluent look-ahead with a KV cache", "python bench/look_ahead.py " +
                  " ".join(sys.argv[1:] if argv is None else argv), body)


if __name__ == "__main__":
    main()
