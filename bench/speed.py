"""Speed: our engine vs a naive LLaDA-style loop (same model) vs SmolLM2-135M autoregressive (greedy, KV cache).

    python bench/speed.py              # writes the "Speed" and "Cost growth" sections of bench/RESULTS.md
    python bench/speed.py --repeats 3  # quicker

Every figure is a median over ``--repeats`` runs after one warm-up, all in one process on one machine.
"""

from __future__ import annotations

import argparse
import time

import torch
from common import PeakMemory, median, naive_loop, percentile, write_section

from dllm_core import Editor, SamplerConfig
from dllm_core.canvas import Canvas, TokenState

PARAGRAPH = (
    "The old harbour town wakes slowly. Fishing boats come back before dawn, and by seven the market square is "
    "full of crates, gulls and people arguing about the price of cod. The bakery on the corner opens its shutters, "
    "the ferry to the island sounds its horn twice, and children cut across the square on their way to school. "
    "By noon the tide has turned, the cafes have put out their chairs, and the first visitors of the season are "
    "walking along the sea wall, taking pictures of the lighthouse. "
)


def draft_of(tokenizer, n_tokens: int) -> str:
    text = ""
    while len(tokenizer(text, add_special_tokens=False)["input_ids"]) < n_tokens:
        text += PARAGRAPH
    words = text.split()
    while len(tokenizer(" ".join(words), add_special_tokens=False)["input_ids"]) > n_tokens:
        words.pop()
    return " ".join(words)


def time_engine(editor: Editor, markup: str, config: SamplerConfig, repeats: int) -> dict:
    times, steps, passes = [], [], 0
    mem = 0.0
    for r in range(repeats + 1):
        step_times = []
        with PeakMemory() as pm:
            t0 = last = time.perf_counter()
            for item in editor.stream(markup, config):
                now = time.perf_counter()
                if hasattr(item, "records"):
                    step_times.append(now - last)
                last = now
            total = time.perf_counter() - t0
        if r == 0:
            continue  # warm-up
        times.append(total)
        steps += step_times
        passes = item.stats.forward_passes
        generated = item.stats.generated_tokens
        mem = max(mem, pm.delta)
    return {"seconds": median(times), "tok_s": generated / median(times), "passes": passes,
            "step_ms": 1000 * median(steps), "step_p90_ms": 1000 * percentile(steps, 0.9), "mem_mb": mem}


def time_naive(editor: Editor, markup: str, repeats: int, tokens_per_step: int = 1) -> dict:
    canvas = Canvas.from_markup(markup, editor.tokenizer)
    masked = canvas.positions(TokenState.MASKED)
    times, steps, mem = [], [], 0.0
    for r in range(repeats + 1):
        with PeakMemory() as pm:
            t0 = time.perf_counter()
            _, info = naive_loop(editor.adapter, canvas.ids, masked, tokens_per_step)
            total = time.perf_counter() - t0
        if r:
            times.append(total)
            steps += info["step_times"]
            mem = max(mem, pm.delta)
    return {"seconds": median(times), "tok_s": len(masked) / median(times), "passes": info["forward_passes"],
            "step_ms": 1000 * median(steps), "step_p90_ms": 1000 * percentile(steps, 0.9), "mem_mb": mem}


@torch.no_grad()
def time_ar(prompt: str, n_new: int, repeats: int) -> dict:
    from ar_model import load_ar_model  # noqa: PLC0415

    model, tok = load_ar_model()
    ids = tok(prompt, return_tensors="pt").input_ids
    times, mem = [], 0.0
    for r in range(repeats + 1):
        with PeakMemory() as pm:
            t0 = time.perf_counter()
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n_new,
                                 min_new_tokens=n_new, do_sample=False, use_cache=True,
                                 pad_token_id=tok.eos_token_id)
            total = time.perf_counter() - t0
        if r:
            times.append(total)
            mem = max(mem, pm.delta)
    n = out.shape[1] - ids.shape[1]
    return {"seconds": median(times), "tok_s": n / median(times), "passes": n,
            "step_ms": 1000 * median(times) / n, "step_p90_ms": float("nan"), "mem_mb": mem}


def row(name: str, r: dict, base: dict | None) -> str:
    ratio = f"{r['tok_s'] / base['tok_s']:.2f}×" if base else "1.00×"
    p90 = "–" if r["step_p90_ms"] != r["step_p90_ms"] else f"{r['step_p90_ms']:.1f}"
    return (f"| {name} | {r['tok_s']:.1f} | {ratio} | {r['passes']} | {r['step_ms']:.1f} | {p90} | "
            f"{r['seconds'] * 1000:.0f} | {r['mem_mb']:.0f} |")


HEADER = ("| system | tokens/s | vs naive | forward passes | step median (ms) | step p90 (ms) | total (ms) | "
          "peak RSS +MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--no-ar", action="store_true", help="skip the SmolLM2 baseline")
    args = p.parse_args()
    torch.manual_seed(0)
    editor = Editor.load("embedded", device="cpu", quantize="none")
    int8 = Editor.load("embedded", device="cpu", quantize="int8")
    tok = editor.tokenizer
    prefix = draft_of(tok, 48)
    suffix = draft_of(tok, 40)
    cases = {
        "64-token rewrite": (f"{prefix} [[64]] {suffix}", 64, prefix),
        "256-token free generation": ("The old harbour town wakes slowly. [[256]]", 256,
                                      "The old harbour town wakes slowly."),
    }
    body = []
    for title, (markup, n, prompt) in cases.items():
        print(f"== {title}", flush=True)
        naive = time_naive(editor, markup, args.repeats)
        rows = [row("naive loop (1 token/step, full canvas)", naive, None)]
        configs = {
            "engine fp32, 16 steps cosine": (editor, SamplerConfig(threshold=None)),
            f"engine fp32, threshold 0.9 (≤ {n} steps)": (editor, SamplerConfig(steps=n, threshold=0.9)),
            f"engine fp32, {n // 4} steps": (editor, SamplerConfig(steps=n // 4, threshold=None)),
            "engine int8, 16 steps (CPU default)": (int8, SamplerConfig()),
        }
        for name, (ed, cfg) in configs.items():
            r = time_engine(ed, markup, cfg, args.repeats)
            rows.append(row(name, r, naive))
            print(rows[-1], flush=True)
        if not args.no_ar:
            rows.append(row("SmolLM2-135M AR (greedy, KV cache)", time_ar(prompt, n, args.repeats), naive))
            print(rows[-1], flush=True)
        body.append(f"### {title}\n\n{HEADER}\n" + "\n".join(rows))

    print("== 128-token canvas step latency", flush=True)
    canvas_128 = f"{draft_of(tok, 64)} [[32]] {draft_of(tok, 30)}"
    r = time_engine(editor, canvas_128, SamplerConfig(steps=16), args.repeats)
    body.append(f"### Step latency, 128-token canvas (32 masked, 16 steps, fp32)\n\nmedian {r['step_ms']:.1f} ms, "
                f"p90 {r['step_p90_ms']:.1f} ms per step (target ≤ 60 ms)")
    write_section("Speed", "python bench/speed.py", "\n\n".join(body))

    print("== cost growth", flush=True)
    lines = ["| draft tokens | engine (ms) | vs 200 | naive full-canvas loop (ms) |", "|---:|---:|---:|---:|"]
    base = None
    for n_tokens in (200, 1000, 2000):
        half = draft_of(tok, n_tokens // 2 - 5)
        markup = f"{half} [[{draft_of(tok, 10)}]] {half}"
        r = time_engine(editor, markup, SamplerConfig(steps=8), args.repeats)
        base = base or r["seconds"]
        naive_ms = "n/a (over the model's 512 positions)"
        if n_tokens <= 510:
            naive_ms = f"{time_naive(editor, markup, args.repeats)['seconds'] * 1000:.0f}"
        lines.append(f"| {n_tokens} | {r['seconds'] * 1000:.0f} | {r['seconds'] / base:.2f}× | {naive_ms} |")
        print(lines[-1], flush=True)
    write_section("Cost growth (10-token span rewrite, 8 steps, fp32)", "python bench/speed.py", "\n".join(lines))


if __name__ == "__main__":
    main()
