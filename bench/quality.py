"""Quality of the embedded denoiser and of the sampler settings, on held-out text never trained on.

    python scripts/build_corpus.py      # once: the held-out slices under data/corpus/
    python bench/quality.py             # writes the "Quality" section of bench/RESULTS.md

Measures: top-1 accuracy on masked tokens at 15/50/90 % masking per held-out source (one pass); top-5 single-word
infill; span infill (16-token spans of modern held-out prose) for several sampler settings and for the naive loop:
token accuracy against the original and SmolLM2-135M perplexity of the edited passage vs the original.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import torch
from common import ROOT, median, naive_loop, write_section

from dllm_core import Editor, SamplerConfig
from dllm_core.canvas import Canvas, TokenState

sys.path.insert(0, str(ROOT / "scripts"))
import train_denoiser as td  # noqa: E402

MODERN = ("wiki", "news", "debian_handbook", "python_docs")


def masked_accuracy(editor: Editor, rows_per_source: int, int8: Editor | None = None,
                    baseline: Editor | None = None) -> list[str]:
    """Per source, fp32 accuracy; the last rows are the mean, the mean of the int8 model and of a baseline model."""
    lines = ["| held-out source | 15 % | 50 % | 90 % |", "|---|---:|---:|---:|"]
    sets = td.load_heldout(editor.tokenizer, 64, rows_per_source)
    model = editor.adapter.model
    means = {k: [] for k in ("15", "50", "90")}
    for name, rows in sets.items():
        acc = td.evaluate(model, rows, editor.adapter.mask_id)
        for k in means:
            means[k].append(acc[k])
        lines.append(f"| {name} | {acc['15']:.1f} | {acc['50']:.1f} | {acc['90']:.1f} |")
    lines.append("| **mean** | " + " | ".join(f"**{sum(v) / len(v):.1f}**" for v in means.values()) + " |")
    if int8 is not None:
        q = [td.evaluate(int8.adapter.model, rows, int8.adapter.mask_id) for rows in sets.values()]
        lines.append("| mean, int8 model | " + " | ".join(
            f"{sum(a[k] for a in q) / len(q):.1f}" for k in ("15", "50", "90")) + " |")
    if baseline is not None:
        q = [td.evaluate(baseline.adapter.model, rows, baseline.adapter.mask_id) for rows in sets.values()]
        lines.append(f"| mean, baseline `{baseline.adapter.name}` | " + " | ".join(
            f"{sum(a[k] for a in q) / len(q):.1f}" for k in ("15", "50", "90")) + " |")
    return lines


def passages(n: int, seed: int = 0) -> list[str]:
    out = []
    for name in MODERN:
        path = td.CORPUS / f"{name}.heldout.txt"
        out += [line.strip() for line in path.open() if 25 <= len(line.split()) <= 70]
    random.Random(seed).shuffle(out)
    return out[:n]


@torch.no_grad()
def top5_single_word(editor: Editor, texts: list[str], per_text: int = 3) -> float:
    tok, ad = editor.tokenizer, editor.adapter
    hits = total = 0
    rng = random.Random(1)
    for text in texts:
        enc = tok(text, add_special_tokens=False)
        ids = enc["input_ids"][:200]
        words = [i for i, t in enumerate(tok.convert_ids_to_tokens(ids)) if t.isalpha() and
                 (i + 1 >= len(ids) or not tok.convert_ids_to_tokens(ids[i + 1]).startswith("##"))]
        for i in rng.sample(words, min(per_text, len(words))):
            inp = torch.tensor([[ad.cls_id, *ids, ad.sep_id]])
            inp[0, i + 1] = ad.mask_id
            logits = ad.logits_at(inp, torch.ones_like(inp), torch.tensor([0]), torch.tensor([i + 1]))
            hits += int(ids[i] in logits[0].topk(5).indices.tolist())
            total += 1
    return 100.0 * hits / max(total, 1)


def span_markup(tok, text: str, rng: random.Random, span: int = 16):
    """Markup masking ``span`` tokens in the middle of ``text`` (on word boundaries), plus the original span."""
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    offs = enc["offset_mapping"]
    toks = tok.convert_ids_to_tokens(enc["input_ids"])
    starts = [i for i in range(4, len(toks) - span - 4) if not toks[i].startswith("##")
              and not toks[i + span].startswith("##")]
    if not starts:
        return None
    i = rng.choice(starts)
    a, b = offs[i][0], offs[i + span - 1][1]
    return text[:a] + "[[" + text[a:b] + "]]" + text[b:], enc["input_ids"][i : i + span]


def span_infill(editor: Editor, texts: list[str], settings: dict, judge: bool) -> list[str]:
    tok = editor.tokenizer
    rng = random.Random(2)
    cases = [c for c in (span_markup(tok, t, rng) for t in texts) if c]
    if judge:
        from ar_model import perplexity  # noqa: PLC0415

        base_ppl = median(perplexity([m.replace("[[", "").replace("]]", "") for m, _ in cases]))
    lines = ["| setting | forward passes | token accuracy % | SmolLM2 ppl of edited passage (original: "
             f"{base_ppl:.1f}) | seconds/edit |" if judge else "| setting | passes | token accuracy % | s/edit |",
             "|---|---:|---:|---:|---:|" if judge else "|---|---:|---:|---:|"]
    for name, cfg in settings.items():
        hits = total = passes = 0
        texts_out, secs = [], []
        for markup, target in cases:
            t0 = time.perf_counter()
            if isinstance(cfg, tuple):  # (editor, config): another model variant
                result = cfg[0].edit(markup, cfg[1])
                got = [result.canvas.ids[p] for p in result.canvas.positions(TokenState.GENERATED)]
                texts_out.append(result.text)
                passes += result.stats.forward_passes
            elif cfg == "naive":
                canvas = Canvas.from_markup(markup, tok)
                masked = canvas.positions(TokenState.MASKED)
                ids, info = naive_loop(editor.adapter, canvas.ids, masked, 1)
                got = [ids[p] for p in masked]
                canvas.ids = ids
                canvas.states = [TokenState.GENERATED if s == TokenState.MASKED else s for s in canvas.states]
                texts_out.append(canvas.render(tok))
                passes += info["forward_passes"]
            else:
                result = editor.edit(markup, cfg)
                got = [result.canvas.ids[p] for p in result.canvas.positions(TokenState.GENERATED)]
                texts_out.append(result.text)
                passes += result.stats.forward_passes
            secs.append(time.perf_counter() - t0)
            hits += sum(int(a == b) for a, b in zip(got, target))
            total += len(target)
        acc = 100.0 * hits / total
        if judge:
            ppl = median(perplexity(texts_out))
            lines.append(f"| {name} | {passes / len(cases):.1f} | {acc:.1f} | {ppl:.1f} | {median(secs):.3f} |")
        else:
            lines.append(f"| {name} | {passes / len(cases):.1f} | {acc:.1f} | {median(secs):.3f} |")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=150, help="held-out rows per source for masked accuracy")
    p.add_argument("--passages", type=int, default=60)
    p.add_argument("--no-judge", action="store_true")
    p.add_argument("--baseline", default=None, help="another model directory: adds its mean masked accuracy")
    args = p.parse_args()
    editor = Editor.load("embedded", device="cpu", quantize="none")
    int8 = Editor.load("embedded", device="cpu", quantize="int8")
    base = Editor.load(args.baseline, device="cpu", quantize="none") if args.baseline else None
    print("== masked accuracy", flush=True)
    acc = masked_accuracy(editor, args.rows, int8, base)
    print("\n".join(acc), flush=True)
    texts = passages(args.passages)
    top5 = top5_single_word(editor, texts)
    print(f"top-5 single word: {top5:.1f}", flush=True)
    settings = {"naive loop, 1 token/step": "naive"}
    for steps in (1, 2, 4, 8, 16):
        settings[f"engine, {steps} steps"] = SamplerConfig(steps=steps, threshold=None)
    settings["engine, threshold 0.9 (≤ 16 steps)"] = SamplerConfig(steps=16, threshold=0.9)
    settings["engine, threshold 0.7 (≤ 16 steps)"] = SamplerConfig(steps=16, threshold=0.7)
    settings["engine, 16 steps, remask 0.5"] = SamplerConfig(threshold=None, steps=16, remask=0.5)
    settings["engine, 16 steps, margin order"] = SamplerConfig(threshold=None, steps=16, order="margin")
    settings["engine, 16 steps, repetition penalty 1.3"] = SamplerConfig(threshold=None, steps=16,
                                                                         repetition_penalty=1.3)
    settings["engine, 16 steps, temperature 0.7, top-p 0.9"] = SamplerConfig(threshold=None, steps=16,
                                                                             temperature=0.7, top_p=0.9)
    settings["engine int8, 16 steps"] = (int8, SamplerConfig(threshold=None, steps=16))
    settings["engine int8, 8 steps"] = (int8, SamplerConfig(threshold=None, steps=8))
    infill = span_infill(editor, texts, settings, judge=not args.no_judge)
    body = ("### Masked-token top-1 accuracy (one pass), held-out slices\n\n" + "\n".join(acc) +
            f"\n\n### Single-word infill\n\ntop-5 accuracy {top5:.1f} % ({len(texts)} modern held-out passages, "
            "3 words each)\n\n### 16-token span infill vs steps (modern held-out passages: "
            f"{', '.join(MODERN)}; {len(texts)} passages)\n\n" + "\n".join(infill))
    write_section("Quality", "python bench/quality.py", body)


if __name__ == "__main__":
    main()
