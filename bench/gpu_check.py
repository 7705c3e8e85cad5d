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
    res["default_model"] = default_model(args)
    res["tiny_families"] = tiny_families(args)
    if cuda:
        res["peak_mem_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    print(json.dumps(res, indent=1))
    with open(args.out, "w") as fh:
        json.dump(res, fh, indent=1)


# six-word spans of plain modern prose (issue 24's case: a writer selects a few words and asks for a rewrite)
SPANS = ["The city council voted on Monday to [[raise parking fees in the centre]] by fifteen percent.",
         "Volunteers from the library have [[spent the past year reading with children]] after school.",
         "The new ferry will [[leave the harbour twice a day]] from the end of May.",
         "Most of the money will go to [[repairing roads in the northern districts]] before winter.",
         "The museum reopened last week after [[two years of careful work on its]] roof and windows."]


def default_model(args) -> dict:
    """The default model (smollm2-dlm, the writing path "auto": FAST) on the device: one 6-word span edit's
    latency (median over SPANS, after a warm-up), and 20 writers at once (``Editor.edit_many``, which shares
    forward passes where it can) against the same 20 edits one after another."""
    from dllm_core.presets import writing_settings  # noqa: PLC0415

    cuda = args.device == "cuda"
    editor = Editor.load("smollm2-dlm", device=args.device, dtype=torch.bfloat16 if cuda else torch.float32,
                         quantize="none" if cuda else "int8")
    config = writing_settings(SamplerConfig(seed=3), "auto", can_score=editor.adapter.can_score, tokens_to_write=8,
                              guided=False)
    editor.edit(SPANS[0], config)  # warm-up
    sync()
    each = []
    for markup in SPANS:
        t0 = time.perf_counter()
        result = editor.edit(markup, config)
        sync()
        each.append(time.perf_counter() - t0)
        kept = result.text.startswith(markup.split("[[")[0]) and result.text.endswith(markup.split("]]")[1])
        if not kept:
            return {"error": f"fixed text not kept: {result.text!r}"}
    drafts = [SPANS[i % len(SPANS)] for i in range(20)]
    t0 = time.perf_counter()
    together = editor.edit_many(drafts, config)
    sync()
    t_together = time.perf_counter() - t0
    t0 = time.perf_counter()
    alone = [editor.edit(d, config) for d in drafts]
    sync()
    t_alone = time.perf_counter() - t0
    return {"model": editor.adapter.name, "dtype": "bf16" if cuda else "fp32 (int8 linear)",
            "edit_s_median": round(median(each), 3), "edit_s_max": round(max(each), 3),
            "concurrent20_s": round(t_together, 2), "sequential20_s": round(t_alone, 2),
            "concurrent20_speedup": round(t_alone / t_together, 2),
            "concurrent20_same_text": sum(a.text == b.text for a, b in zip(together, alone))}


def tiny_families(args) -> dict:
    """Each family the engine can run offline, on a tiny random configuration of its own code, on the device in
    bf16: LLaDA2.x (block-causal, :func:`tiny_llada2`) and DiffusionGemma (prompt encoder + canvas decoder). Their
    logits at masked positions against the model's own forward, and an edit that must keep fixed text and pins."""
    from transformers import AutoTokenizer  # noqa: PLC0415

    from dllm_core.adapter import ModelAdapter  # noqa: PLC0415
    from dllm_core.basemodel import ensure_base  # noqa: PLC0415

    tok = AutoTokenizer.from_pretrained(ensure_base(quiet=True))
    tok.add_special_tokens({"mask_token": "<|mask|>"})
    out = {"llada2": tiny_llada2(args, tok)}
    try:
        from transformers import DiffusionGemmaConfig, DiffusionGemmaForBlockDiffusion  # noqa: PLC0415
    except ImportError:
        return {**out, "diffusion_gemma": "this transformers has no DiffusionGemma"}
    text = dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                num_key_value_heads=1, head_dim=16, sliding_window=64, layer_types=["sliding_attention",
                                                                                   "full_attention"],
                per_layer_config={}, max_position_embeddings=512, num_experts=4, top_k_experts=2,
                moe_intermediate_size=32)
    vision = dict(hidden_size=16, intermediate_size=16, num_hidden_layers=1, num_attention_heads=1,
                  num_key_value_heads=1, head_dim=16, position_embedding_size=64)
    torch.manual_seed(0)
    config = DiffusionGemmaConfig(text_config=text, vision_config=vision, audio_config=None, canvas_length=16)
    dtype = torch.bfloat16 if args.device == "cuda" else torch.float32
    model = DiffusionGemmaForBlockDiffusion(config).eval().to(args.device, dtype)
    editor = Editor(ModelAdapter(model, tok, "tiny-diffusiongemma", kind="prompt-canvas"))
    adapter = editor.adapter
    window = torch.randint(100, 40000, (20,), generator=torch.Generator().manual_seed(1))
    window[8:12] = adapter.mask_id
    input_ids, attention, offset = adapter.frame([window])
    cols = torch.arange(8, 12, device=input_ids.device) + offset
    ours = adapter.logits_at(input_ids, attention, torch.zeros(4, dtype=torch.long, device=input_ids.device), cols)
    with torch.no_grad():
        reference = model(input_ids=input_ids[:, : 8 + offset],
                          decoder_input_ids=input_ids[:, 8 + offset : 20 + offset]).logits[0, :4].float()
    markup = "The harbour was [[quiet and calm]] {{that}} [[morning|3]], and the boats came in late."
    result = editor.edit(markup, SamplerConfig(steps=4, seed=2))
    out["diffusion_gemma"] = {
        "dtype": str(dtype).replace("torch.", ""),
        "logits_max_abs_diff": round(float((ours.float() - reference).abs().max()), 5),
        "fixed_text_kept": result.text.startswith("The harbour was ") and " that " in result.text
        and result.text.endswith(", and the boats came in late."),
        "no_mask_left": not result.canvas.positions(TokenState.MASKED),
        "steps_recorded": len(result.trajectory) == result.stats.steps}
    return out


def tiny_llada2(args, tok) -> dict:
    """LLaDA2.x: the family's own code (vendored in tests/fixtures/llada2) on a tiny random configuration, read with
    its block-causal mask (blocks of 8 here), on the device in bf16: logits at masked positions against the model's
    own forward with the mask its ``generate`` builds, and an edit with token editing that must keep fixed text and
    pins and edit only written tokens."""
    import importlib.util  # noqa: PLC0415
    import sys  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from dllm_core.adapter import ModelAdapter  # noqa: PLC0415
    from dllm_core.llada2 import fix_remote_class, patch_transformers_for_remote_code  # noqa: PLC0415

    fixture = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "llada2"
    if "llada2_fixture" not in sys.modules:
        spec = importlib.util.spec_from_file_location("llada2_fixture", fixture / "__init__.py",
                                                      submodule_search_locations=[str(fixture)])
        sys.modules["llada2_fixture"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules["llada2_fixture"])
    patch_transformers_for_remote_code()
    from llada2_fixture.configuration_llada2_moe import LLaDA2MoeConfig  # noqa: PLC0415
    from llada2_fixture.modeling_llada2_moe import LLaDA2MoeModelLM  # noqa: PLC0415

    fix_remote_class(LLaDA2MoeModelLM)
    block = 8
    config = LLaDA2MoeConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=512,
                             rope_theta=600000.0, num_experts=4, num_shared_experts=1, num_experts_per_tok=2, n_group=2,
                             topk_group=1, moe_intermediate_size=16, first_k_dense_replace=1, partial_rotary_factor=0.5,
                             use_qkv_bias=False, use_bias=False, pad_token_id=tok.eos_token_id, attention_dropout=0.0,
                             block_length=block)
    config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    dtype = torch.bfloat16 if args.device == "cuda" else torch.float32
    model = LLaDA2MoeModelLM(config).eval().to(args.device, dtype)
    editor = Editor(ModelAdapter(model, tok, "tiny-llada2", kind="block-causal"))
    adapter = editor.adapter
    window = torch.randint(100, 40000, (30,), generator=torch.Generator().manual_seed(1))
    window[9:14] = adapter.mask_id
    input_ids, attention, offset = adapter.frame([window])
    input_ids = input_ids.to(args.device)
    cols = torch.arange(9, 14, device=input_ids.device) + offset
    ours = adapter.logits_at(input_ids, attention, torch.zeros(5, dtype=torch.long, device=input_ids.device), cols)
    length = input_ids.shape[1]
    blocks = (length + block - 1) // block
    pattern = torch.tril(torch.ones(blocks, blocks)).repeat_interleave(block, 0).repeat_interleave(block, 1)
    mask = pattern[:length, :length][None, None].log().to(args.device, dtype)
    with torch.no_grad():
        reference = model(input_ids, attention_mask=mask,
                          position_ids=torch.arange(length, device=input_ids.device)[None]).logits[0, cols].float()
    markup = "The harbour was [[quiet and calm]] {{that}} [[morning|3]], and the boats came in late."
    result = editor.edit(markup, SamplerConfig(steps=4, seed=2, editing_threshold=0.5))
    return {
        "dtype": str(dtype).replace("torch.", ""),
        "logits_max_abs_diff": round(float((ours.float() - reference).abs().max()), 5),
        "fixed_text_kept": result.text.startswith("The harbour was ") and " that " in result.text
        and result.text.endswith(", and the boats came in late."),
        "no_mask_left": not result.canvas.positions(TokenState.MASKED),
        "steps_recorded": len(result.trajectory) == result.stats.steps,
        "edits_only_written": all(r.states[p] == TokenState.GENERATED for r in result.trajectory for p in r.edited)}


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
    d = r.get("default_model")
    if d and "error" not in d:
        lines += ["", "| the default model (`smollm2-dlm`, writing auto) | figure |", "|---|---:|",
                  f"| 6-word span edit, {d['dtype']}, median (slowest) | {d['edit_s_median']} s ({d['edit_s_max']} s) |",
                  f"| 20 span edits at once (`Editor.edit_many`) | {d['concurrent20_s']} s |",
                  f"| the same 20 one after another | {d['sequential20_s']} s ({d['concurrent20_speedup']}× slower"
                  f" than at once; {d['concurrent20_same_text']} of 20 texts identical) |"]
    for family, f in (r.get("tiny_families") or {}).items():
        lines.append(f"\n{family}, tiny random configuration on the device: {f}")
    body = (f"Correctness on the GPU (same seed → same text, fixed and pinned text kept, no mask left): "
            f"**{'pass' if ok else 'FAIL'}**. Peak GPU memory {r.get('peak_mem_mb', '?')} MiB. Medians of 5 runs "
            f"after a warm-up, one process.\n\n" + "\n".join(lines) + "\n\n" + r.get("note", ""))
    write_section("GPU", f"python bench/gpu_check.py (on the device machine; saved as {path})", body,
                  where=f"{r['device']}, torch {r['torch']}")


if __name__ == "__main__":
    main()
