"""Continue training the embedded denoiser on a GPU: several recipes side by side, many epochs, best on a dev slice.

The CPU script (``train_denoiser.py``) sees a fraction of an epoch per hour; a GPU sees the whole corpus every few
seconds, so here the limits are data and over-fitting rather than steps. Differences from the CPU recipe:

* data: ``pool.train.txt`` (every train passage of every source once) as one token stream; each row is a window at a
  random offset, so a row is rarely seen twice with the same boundaries and the same mask;
* dropout 0.1, bf16 autocast, a time-based cosine decay (the step count of a wall-clock budget is not known ahead);
* the best state is chosen on a *dev* slice (held-out rows 150 onwards of each source) that the reported figures
  (rows 0-149, the protocol of ``train_denoiser.py``) never use.

Usage::

    python scripts/train_gpu.py prepare                 # here: tokenise into runs/gpu_pack/ (small enough to carry)
    python scripts/train_gpu.py sweep --minutes 7 --out OUT_DIR    # on the GPU machine: 3 recipes in parallel
    python scripts/train_gpu.py train --tag a --seq-len 128 --batch 256 --lr 5e-4 --minutes 7 --out OUT_DIR

``sweep`` writes ``OUT_DIR/best/`` (an exported model directory) and ``OUT_DIR/report.json`` (standard held-out
figures of the starting model and of every recipe's best state, all measured in the same process).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer, BertForMaskedLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_denoiser import (  # noqa: E402
    CORPUS, diffusion_loss, evaluate, export, time_cosine, tokenize_file, warmup_schedule)

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "runs" / "gpu_pack"
REPORT_ROWS = 150          # held-out rows 0..149 per source: the reported protocol
EVAL_LEN = 64

# name: (seq_len, batch, lr, dropout) -- run side by side by `sweep`
RECIPES = {
    "a": (128, 256, 5e-4, 0.1),
    "b": (128, 256, 2.5e-4, 0.1),
    "c": (64, 512, 5e-4, 0.1),
}


def prepare(init: Path) -> None:
    """Tokenise the pool into one uint16 stream and the held-out files into rows of EVAL_LEN tokens."""
    tok = AutoTokenizer.from_pretrained(init)
    assert tok.vocab_size < 2**16
    lines = [ln.strip() for ln in (CORPUS / "pool.train.txt").open(encoding="utf-8") if ln.strip()]
    stream: list[int] = []
    for start in range(0, len(lines), 2048):
        for ids in tok(lines[start : start + 2048], add_special_tokens=False)["input_ids"]:
            stream.extend(ids)
            stream.append(tok.sep_token_id)
    arrays = {"stream": np.asarray(stream, dtype=np.uint16)}
    for path in sorted(CORPUS.glob("*.heldout.txt")):
        arrays["heldout." + path.name.split(".")[0]] = tokenize_file(path, tok, EVAL_LEN).numpy().astype(np.uint16)
    PACK.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(PACK / "pack.npz", **arrays)
    print(f"stream {len(stream):,} tokens; {len(arrays) - 1} held-out sets -> {PACK / 'pack.npz'} "
          f"({(PACK / 'pack.npz').stat().st_size / 1e6:.1f} MB)")


def load_pack():
    pack = np.load(PACK / "pack.npz")
    stream = torch.from_numpy(pack["stream"].astype(np.int64))
    heldout = {k.split(".", 1)[1]: torch.from_numpy(pack[k].astype(np.int64)) for k in pack.files if k != "stream"}
    return stream, heldout


def dev_rows(heldout: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([rows[REPORT_ROWS:] for rows in heldout.values() if len(rows) > REPORT_ROWS])


def report_scores(model, heldout, mask_id) -> dict:
    per_source = {name: evaluate(model, rows[:REPORT_ROWS], mask_id) for name, rows in heldout.items()}
    levels = next(iter(per_source.values())).keys()
    return {"mean": {lv: round(sum(s[lv] for s in per_source.values()) / len(per_source), 2) for lv in levels},
            "per_source": per_source}


def random_rows(stream: torch.Tensor, batch: int, seq_len: int, cls_id: int, sep_id: int, gen) -> torch.Tensor:
    body = seq_len - 2
    starts = torch.randint(0, len(stream) - body, (batch,), generator=gen, device=stream.device)
    rows = stream[starts.unsqueeze(1) + torch.arange(body, device=stream.device)]
    cls = torch.full((batch, 1), cls_id, device=stream.device, dtype=rows.dtype)
    sep = torch.full((batch, 1), sep_id, device=stream.device, dtype=rows.dtype)
    return torch.cat([cls, rows, sep], dim=1)


def train(args) -> None:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = True
    tok = AutoTokenizer.from_pretrained(args.init)
    model = BertForMaskedLM.from_pretrained(args.init, dtype=torch.float32, hidden_dropout_prob=args.dropout,
                                            attention_probs_dropout_prob=args.dropout).to(device).train()
    stream, heldout = load_pack()
    stream = stream.to(device)
    dev = dev_rows(heldout)
    head = [p for n, p in model.named_parameters() if n.startswith("cls.")]
    body = [p for n, p in model.named_parameters() if not n.startswith("cls.")]
    opt = torch.optim.AdamW([{"params": body, "scale": 1.0}, {"params": head, "scale": 3.0}], lr=args.lr,
                            weight_decay=0.01, betas=(0.9, 0.98), fused=device.type == "cuda")
    gen = torch.Generator(device=device).manual_seed(args.seed)
    out = Path(args.out) / args.tag
    out.mkdir(parents=True, exist_ok=True)

    def dev_score() -> float:
        s = evaluate(model, dev, tok.mask_token_id, levels=(0.15, 0.5))
        return s, (s["15"] + s["50"]) / 2

    history, best, best_state = [], -1.0, None
    budget = args.minutes * 60
    start = last_eval = time.time()
    step, running = 0, float("nan")
    schedule = warmup_schedule(opt, args.lr, args.warmup)  # warm-up by steps, cosine decay by the clock
    while (elapsed := time.time() - start) < budget:
        decay = time_cosine(elapsed / budget)
        for group, warmed in zip(opt.param_groups, schedule.get_last_lr()):
            group["lr"] = warmed * decay
        lr = opt.param_groups[0]["lr"]
        rows = random_rows(stream, args.batch, args.seq_len, tok.cls_token_id, tok.sep_token_id, gen)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = diffusion_loss(model, rows, tok.mask_token_id, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        schedule.step()
        step += 1
        if step % 50 == 0:
            value = loss.item()
            running = value if math.isnan(running) else 0.9 * running + 0.1 * value
        if time.time() - last_eval > args.eval_every:
            scores, score = dev_score()
            history.append({"step": step, "seconds": round(time.time() - start), "lr": lr, "loss": round(running, 4),
                            "dev": scores})
            print(f"[{args.tag}] step {step} {time.time() - start:.0f}s loss {running:.3f} dev {scores}", flush=True)
            if score > best:
                best, best_state = score, {k: v.detach().clone() for k, v in model.state_dict().items()}
            last_eval = time.time()
    if not history or history[-1]["step"] != step:
        scores, score = dev_score()
        history.append({"step": step, "seconds": round(time.time() - start), "loss": round(running, 4), "dev": scores})
        if score > best:
            best, best_state = score, {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    meta = {"recipe": {k: v for k, v in vars(args).items() if isinstance(v, (int, float, str)) and k != "out"}, "steps": step, "seconds": round(time.time() - start),
            "best_dev": best, "history": history,
            "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu"}
    export(model.cpu(), tok, out, meta)
    print(f"[{args.tag}] done: {step} steps, best dev {best:.2f}", flush=True)


def sweep(args) -> None:
    out = Path(args.out)
    procs = {}
    for tag, (seq_len, batch, lr, dropout) in RECIPES.items():
        if args.only and tag not in args.only:
            continue
        cmd = [sys.executable, __file__, "train", "--tag", tag, "--seq-len", str(seq_len), "--batch",
               str(batch // args.shrink), "--lr", str(lr), "--dropout", str(dropout), "--minutes", str(args.minutes),
               "--out", str(out), "--init", str(args.init), "--eval-every", str(args.eval_every)]
        procs[tag] = subprocess.Popen(cmd)
    codes = {tag: p.wait() for tag, p in procs.items()}
    print("exit codes", codes, flush=True)
    stream, heldout = load_pack()
    del stream
    tok = AutoTokenizer.from_pretrained(args.init)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    report = {"start": report_scores(BertForMaskedLM.from_pretrained(args.init, dtype=torch.float32).to(device),
                                     heldout, tok.mask_token_id), "recipes": {}}
    for tag in procs:
        meta_path = out / tag / "training.json"
        if not meta_path.exists():
            continue
        meta = json.loads(meta_path.read_text())
        model = BertForMaskedLM.from_pretrained(out / tag, dtype=torch.float32).to(device)  # the fp16 export
        report["recipes"][tag] = {"best_dev": meta["best_dev"], "steps": meta["steps"],
                                  "report": report_scores(model, heldout, tok.mask_token_id)}
    best = max(report["recipes"], key=lambda t: report["recipes"][t]["best_dev"])  # chosen on dev, not on report
    report["chosen"] = best
    (out / "report.json").write_text(json.dumps(report, indent=1))
    shutil.rmtree(out / "best", ignore_errors=True)
    (out / best).rename(out / "best")
    print(json.dumps({k: v["report"]["mean"] for k, v in report["recipes"].items()} | {"start": report["start"]["mean"],
                                                                                      "chosen": best}), flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["prepare", "train", "sweep"])
    p.add_argument("--init", type=Path, default=ROOT / "assets" / "model")
    p.add_argument("--out", default=str(ROOT / "runs" / "gpu"))
    p.add_argument("--minutes", type=float, default=7.0)
    p.add_argument("--eval-every", type=float, default=45.0, help="seconds between dev evaluations")
    p.add_argument("--tag", default="a")
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", default="", help="sweep: run only these recipe tags (e.g. 'ab')")
    p.add_argument("--shrink", type=int, default=1, help="sweep: divide batch sizes (CPU smoke tests)")
    args = p.parse_args(argv)
    {"prepare": lambda: prepare(args.init), "train": lambda: train(args), "sweep": lambda: sweep(args)}[args.mode]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
