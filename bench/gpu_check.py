"""GPU check: the engine on CUDA -- correctness (pins kept, no mask left, seeded runs identical) and speed.

    python bench/gpu_check.py [--out gpu.json]     # on a CUDA machine: prints and saves the figures
    python bench/gpu_check.py --report bench/results/gpu_check_h200.json   # here: writes the "GPU" section

Speed figures are medians of --repeats runs after one warm-up, all in one process: the engine against the naive
LLaDA-style loop (whole canvas, logits everywhere, one token per pass) on the same GPU, bf16 against fp32, and
candidates batched in one forward pass against the same number of single runs.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from common import median, naive_loop, write_section

from dllm_core import Editor, SamplerConfig
from dllm_core.canvas import Canvas, TokenState

DRAFT_L = ("The old harbour town wakes slowly. Fishing boats come back before dawn, and by seven the market square "
           "is full of crates, gulls and people arguing about the price of cod.")
DRAFT_R = ("By noon the tide has turned, the cafes have put out their chairs, and the first visitors of the season "
           "are walking along the sea wall.")


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn, repeats: int) -> float:
    fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return median(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", default="gpu.json")
    p.add_argument("--device", default="cuda", help="cpu only to smoke-test this script")
    p.add_argument("--report", default=None, help="a saved JSON: write the GPU section of bench/RESULTS.md from it")
    args = p.parse_args()
    if args.report:
        return report(args.report)
    cuda = args.device == "cuda"
    res = {"device": torch.cuda.get_device_name() if cuda else "cpu", "torch": torch.__version__}
    bf16 = Editor.load("embedded", device=args.device, dtype=torch.bfloat16, quantize="none")
    fp32 = Editor.load("embedded", device=args.device, dtype=torch.float32, quantize="none")
    markup = f"{DRAFT_L} {{{{Meanwhile}}}} [[64]] {DRAFT_R}"
    cfg = SamplerConfig(steps=16, seed=7)

    # correctness on the GPU
    a, b = bf16.edit(markup, cfg), bf16.edit(markup, cfg)
    res["same_seed_identical"] = a.text == b.text
    res["fixed_text_kept"] = a.text.startswith(DRAFT_L + " Meanwhile") and a.text.endswith(DRAFT_R)
    res["no_mask_left"] = not a.canvas.positions(TokenState.MASKED)
    res["sample_text"] = a.text
    # speed: engine vs naive loop, bf16 vs fp32
    canvas = Canvas.from_markup(f"{DRAFT_L} [[64]] {DRAFT_R}", bf16.tokenizer)
    masked = canvas.positions(TokenState.MASKED)
    for name, ed in (("bf16", bf16), ("fp32", fp32)):
        t_engine = timed(lambda ed=ed: ed.edit(f"{DRAFT_L} [[64]] {DRAFT_R}", cfg), args.repeats)
        t_naive = timed(lambda ed=ed: naive_loop(ed.adapter, canvas.ids, masked), args.repeats)
        res[f"rewrite64_{name}"] = {"engine_tok_s": round(64 / t_engine, 1), "naive_tok_s": round(64 / t_naive, 1),
                                    "speedup": round(t_naive / t_engine, 2), "engine_ms": round(1000 * t_engine, 1)}
    t_gen = timed(lambda: bf16.edit("The old harbour town wakes slowly. [[256]]", SamplerConfig(steps=64, seed=1)),
                  args.repeats)
    res["generate256_bf16"] = {"tok_s": round(256 / t_gen, 1), "ms": round(1000 * t_gen, 1)}
    # batching: 16 candidates in one pass per step vs 16 single runs
    t_batch = timed(lambda: bf16.edit(markup, cfg, n=16), args.repeats)
    t_single = timed(lambda: [bf16.edit(markup, cfg) for _ in range(16)], max(1, args.repeats // 2))
    res["candidates16_bf16"] = {"batched_ms": round(1000 * t_batch, 1), "sequential_ms": round(1000 * t_single, 1),
                                "speedup": round(t_single / t_batch, 2)}
    if cuda:
        res["peak_mem_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    print(json.dumps(res, indent=1))
    with open(args.out, "w") as fh:
        json.dump(res, fh, indent=1)


def report(path: str) -> None:
    r = json.load(open(path))
    ok = all(r[k] for k in ("same_seed_identical", "fixed_text_kept", "no_mask_left"))
    lines = ["| case | engine | naive loop | ratio |", "|---|---:|---:|---:|"]
    for dt in ("bf16", "fp32"):
        c = r[f"rewrite64_{dt}"]
        lines.append(f"| 64-token rewrite, {dt}, 16 steps | {c['engine_tok_s']} tok/s ({c['engine_ms']} ms) | "
                     f"{c['naive_tok_s']} tok/s | {c['speedup']}× |")
    g, c = r["generate256_bf16"], r["candidates16_bf16"]
    lines.append(f"| 256-token generation, bf16, 64 steps | {g['tok_s']} tok/s ({g['ms']} ms) | | |")
    lines.append(f"| 16 candidates, one batch vs 16 runs | {c['batched_ms']} ms | {c['sequential_ms']} ms | "
                 f"{c['speedup']}× |")
    body = (f"Correctness on the GPU (same seed → same text, fixed and pinned text kept, no mask left): "
            f"**{'pass' if ok else 'FAIL'}**. Peak GPU memory {r.get('peak_mem_mb', '?')} MiB. Medians of 5 runs "
            f"after a warm-up, one process.\n\n" + "\n".join(lines) + "\n\n" + r.get("note", ""))
    write_section("GPU", f"python bench/gpu_check.py (on the device machine; saved as {path})", body,
                  where=f"{r['device']}, torch {r['torch']}")


if __name__ == "__main__":
    main()
