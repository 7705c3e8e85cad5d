"""The fluent path at parallel speed (issue 24): seconds per 6-word span edit with the writer presets FLUENT (4 beams
per span length, one token a step) and FAST (one beam per length, draft and verify: ``SamplerConfig.speculate``),
taking turns on the same cases in one process, and a 32-token insertion on the default path against the reference
loop of the LLaDA paper (one token per forward pass over the whole canvas) on the same model.

    python bench/fast_path.py --n 10            # 2 threads: the machine's cores
    python bench/fast_path.py --n 10 --threads 1

Cases: 6-word spans of the unseen genres (bench/outside.py via writer_eval's chooser), seed ``--seed``; smollm2-dlm
with the CPU's default int8 weights. Medians after one warm-up. Written to bench/RESULTS.md, section "Fluent path at
parallel speed".
"""

from __future__ import annotations

import argparse
import os
import time

from common import median, naive_loop, write_section

INSERT = ("The harbour town wakes slowly: fishing boats come back before dawn, and [[32]] while the ferry to the "
          "island sounds its horn twice.")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--repeats", type=int, default=3, help="runs of the 32-token insertion per system")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch  # noqa: PLC0415

    import writer_eval as W  # noqa: PLC0415
    from dllm_core import Editor, SamplerConfig  # noqa: PLC0415
    from dllm_core.presets import apply_preset, writing_settings  # noqa: PLC0415

    if args.threads:
        torch.set_num_threads(args.threads)
    editor = Editor.load("smollm2-dlm", device="cpu", quantize="int8")
    presets = ("fluent", "fast")
    cases = W.outside_cases(args.n, args.seed, "span", W.choose_span)
    runs: dict[str, list[dict]] = {name: [] for name in presets}
    for k, case in enumerate(cases):
        markup = W.to_markup(case["sentence"], case["start"], case["end"])
        if k == 0:
            editor.edit(markup, apply_preset(SamplerConfig(), "fast"))  # warm-up
        for name in (presets if k % 2 == 0 else presets[::-1]):  # turns: drift falls on both
            t0 = time.perf_counter()
            result = editor.edit(markup, apply_preset(SamplerConfig(seed=0), name))
            seconds = time.perf_counter() - t0
            written = sum(len(r.committed) for r in result.trajectory)
            runs[name].append({"s": seconds, "steps": result.stats.steps, "written": written,
                               "passes": result.stats.forward_passes})
        print(f"[{k + 1}/{len(cases)}] " + ", ".join(f"{n} {runs[n][-1]['s']:.2f} s ({runs[n][-1]['steps']} steps)"
                                                    for n in presets), flush=True)

    # the 32-token insertion: the default path (--writing auto) and the reference loop, same model
    auto = writing_settings(SamplerConfig(), "auto", can_score=True, tokens_to_write=32, guided=False)
    canvas = editor.canvas(INSERT, auto)
    masked = [i for i, s in enumerate(canvas.states) if int(s) == 2]
    insert: dict[str, list[float]] = {"default path": [], "reference loop": []}
    for r in range(args.repeats + 1):
        t0 = time.perf_counter()
        steps = editor.edit(INSERT, auto).stats.steps
        t1 = time.perf_counter()
        naive_loop(editor.adapter, canvas.ids, masked)
        t2 = time.perf_counter()
        if r:
            insert["default path"].append(t1 - t0)
            insert["reference loop"].append(t2 - t1)

    # the writing actions on the same sentences (the span as the selection for Rewrite and Fill), as the app runs them
    from writing import actions as A  # noqa: PLC0415

    calls = {"Shorten to 70 %": lambda c, sel: A.shorten(editor, c["sentence"], 0.7, k=3),
             "Rephrase 0.5": lambda c, sel: A.rephrase(editor, c["sentence"], 0.5, k=3),
             "Tone (more formal)": lambda c, sel: A.tone(editor, c["sentence"], "formal", k=3),
             "Rewrite (the span)": lambda c, sel: A.rewrite(editor, c["sentence"], selection=sel, k=3),
             "Fill (the span)": lambda c, sel: A.fill(editor, c["sentence"], selection=sel, k=3)}
    acts: dict[str, list[float]] = {name: [] for name in calls}
    for case in cases:
        sel = (case["start"], case["end"])  # character offsets of the span
        for name, call in calls.items():
            t0 = time.perf_counter()
            try:
                call(case, sel)
            except Exception as exc:  # noqa: BLE001 (a declined action is an EditError: timed all the same)
                print(f"  {name}: {type(exc).__name__}: {exc}", flush=True)
            acts[name].append(time.perf_counter() - t0)

    def summary(name: str) -> str:
        rows = runs[name]
        per_step = sum(r["written"] for r in rows) / max(1, sum(r["steps"] for r in rows))
        return (f"| {name} | {median([r['s'] for r in rows]):.2f} | {sum(r['s'] for r in rows) / len(rows):.2f} | "
                f"{max(r['s'] for r in rows):.2f} | {median([r['passes'] for r in rows]):.0f} | {per_step:.2f} |")

    fluent, fast = (median([r["s"] for r in runs[n]]) for n in presets)
    default, naive = median(insert["default path"]), median(insert["reference loop"])
    preset = "FAST" if auto.speculate else "FLUENT" if auto.fluency else "parallel"
    load = os.getloadavg()[0]
    body = "\n".join([
        f"{len(cases)} six-word span edits of the unseen genres (seed {args.seed}), smollm2-dlm with int8 weights, "
        f"{torch.get_num_threads()} threads; the presets take turns on each case after a warm-up.",
        "",
        "| preset | s per edit, median | mean | slowest | forward passes, median | tokens per step (the chosen candidate's tokens / the run's steps) |",
        "|---|---:|---:|---:|---:|---:|",
        summary("fluent"), summary("fast"),
        "",
        f"**FAST is {fluent / fast:.1f}x FLUENT** (medians).",
        "",
        f"32-token insertion (`{INSERT}`), median of {args.repeats}: the default path (`--writing auto`: {preset}, "
        f"{steps} steps) {default:.2f} s; the reference loop (one token per pass over the whole canvas, same model "
        f"and weights) {naive:.2f} s: **{naive / default:.1f}x**.",
        "",
        "The writing actions on the same sentences (k = 3 alternatives; Rewrite and Fill on the span), s per call:",
        "",
        "| action | median | slowest |",
        "|---|---:|---:|",
        *[f"| {name} | {median(t):.2f} | {max(t):.2f} |" for name, t in acts.items()],
        "",
        f"1-minute load average at the end: {load:.1f}.",
    ])
    write_section("Fluent path at parallel speed", f"python bench/fast_path.py --n {args.n}"
                  + (f" --threads {args.threads}" if args.threads else ""), body)
    print(body)


if __name__ == "__main__":
    main()
