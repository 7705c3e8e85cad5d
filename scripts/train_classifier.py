"""Train an attribute classifier head on the shipped denoiser's token embeddings (a few CPU minutes).

    python scripts/train_classifier.py                           # sentiment, on the embedded model, ~3 CPU minutes
    python scripts/train_classifier.py --attribute formality     # second attribute (register proxy)
    python scripts/train_classifier.py --model smollm2-dlm       # into assets/classifiers/smollm2-dlm/

Rerun it whenever a model's input embeddings change (the head reads the model's embedding matrix; only the head is
stored, in assets/classifiers/[MODEL/]NAME.safetensors + NAME.json). The guidance finds the head whose embedding
size and fingerprint match the loaded model (guidance.classifier.find_classifier). Inputs are partially masked with a random ratio
t ~ U(0, 0.9) so the classifier can judge a half-denoised canvas.

Data (never the Reuters texts of r-cran-tm, which are reserved for evaluation):
- sentiment: the 200 Pang-Lee polarity sentences from gensim's test data (50 held out for evaluation), plus
  weak labels from VADER (compound >= 0.5 positive, <= -0.5 negative) on sentences of data/corpus/*.train.txt.
  AFINN is deliberately NOT used, so it can judge the guidance benchmark (bench/guidance_attribute.py).
- formality: a register proxy, sentences from news, Wikipedia and the Debian handbook (formal) versus the chat
  dialogue corpus and fortunes (informal).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
import zipfile
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import get_linear_schedule_with_warmup

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from guidance.classifier import CLASSIFIER_DIR, AttributeHead, embedding_fingerprint  # noqa: E402

CORPUS = ROOT / "data" / "corpus"
RAW = ROOT / "data" / "raw"
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
ATTRIBUTES = {
    "sentiment": ["negative", "positive"],
    "formality": ["informal", "formal"],
}
FORMAL = ("news", "wiki", "debian_handbook")
INFORMAL = ("dialogue", "fortunes")


def pang_lee() -> list[tuple[str, int]]:
    path = RAW / "gensim" / "pang_lee_polarity.cor"
    if not path.exists():
        wheels = sorted((RAW / "pypi").glob("gensim-*.whl"))
        if not wheels:
            raise SystemExit("gensim wheel not found: pip download --no-deps --only-binary :all: gensim "
                             f"-d {RAW / 'pypi'}")
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheels[-1]) as z:
            path.write_bytes(z.read("gensim/test/test_data/pang_lee_polarity.cor"))
    out = []
    for line in path.read_text(encoding="cp1252", errors="replace").splitlines():
        label, _, text = line.partition(" ")
        out.append((text.strip(), int(label == "__label__pos")))
    return out


def sentences(source: str, split: str = "train", limit: int = 40000, seed: int = 0) -> list[str]:
    path = CORPUS / f"{source}.{split}.txt"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        for s in SENTENCE.split(line.strip()):
            if 5 <= len(s.split()) <= 40:
                out.append(s)
    random.Random(seed).shuffle(out)
    return out[:limit]


def sentiment_data(seed: int) -> tuple[list, list, list]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: PLC0415

    pl = pang_lee()
    rng = random.Random(seed)
    neg = [x for x in pl if x[1] == 0]
    pos = [x for x in pl if x[1] == 1]
    rng.shuffle(neg)
    rng.shuffle(pos)
    held = neg[:25] + pos[:25]
    train_pl = neg[25:] + pos[25:]
    vader = SentimentIntensityAnalyzer()
    weak = {0: [], 1: []}
    for source in ("austen", "fortunes", "dialogue", "news", "wiki", "shakespeare", "debian_handbook"):
        for s in sentences(source, limit=12000, seed=seed):
            c = vader.polarity_scores(s)["compound"]
            if abs(c) >= 0.5:
                weak[int(c > 0)].append(s)
    n = min(len(weak[0]), len(weak[1]), 12000)
    train = [(s, 0) for s in weak[0][:n]] + [(s, 1) for s in weak[1][:n]] + train_pl * 10
    return train, held, [("weak", n)]


def formality_data(seed: int) -> tuple[list, list, list]:
    formal = [s for src in FORMAL for s in sentences(src, limit=6000, seed=seed)]
    informal = [s for src in INFORMAL for s in sentences(src, limit=9000, seed=seed)]
    n = min(len(formal), len(informal))
    rng = random.Random(seed)
    rng.shuffle(formal)
    rng.shuffle(informal)
    held_f = [s for src in FORMAL for s in sentences(src, "heldout", limit=100, seed=seed)]
    held_i = [s for src in INFORMAL for s in sentences(src, "heldout", limit=150, seed=seed)]
    held = [(s, 1) for s in held_f] + [(s, 0) for s in held_i]
    return [(s, 1) for s in formal[:n]] + [(s, 0) for s in informal[:n]], held, [("per_class", n)]


def encode(tokenizer, texts: list[str], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    enc = tokenizer(texts, add_special_tokens=False, truncation=True, max_length=max_len, padding=True,
                    return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"].bool()


def mask_batch(ids: torch.Tensor, valid: torch.Tensor, mask_id: int, gen: torch.Generator,
               ratio: float | None = None) -> torch.Tensor:
    t = torch.rand(ids.shape[0], 1, generator=gen) * 0.9 if ratio is None else torch.full((ids.shape[0], 1), ratio)
    hide = (torch.rand(ids.shape, generator=gen) < t) & valid
    return ids.masked_fill(hide, mask_id)


@torch.no_grad()
def accuracy(head, emb, ids, valid, labels, mask_id, ratio, seed=0) -> float:
    gen = torch.Generator().manual_seed(seed)
    masked = mask_batch(ids, valid, mask_id, gen, ratio) if ratio > 0 else ids
    pred = head(emb[masked], valid).argmax(-1)
    return float((pred == labels).float().mean())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--attribute", choices=sorted(ATTRIBUTES), default="sentiment")
    p.add_argument("--model", default="embedded", help="denoiser whose input embeddings to use: a name of "
                   "'python -m dllm_core models' or a folder")
    p.add_argument("--out", type=Path, default=None, help="default: assets/classifiers/ for the embedded model, "
                   "assets/classifiers/MODEL/ for another")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--minutes", type=float, default=4.0, help="stop early after this wall-clock budget")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--max-len", type=int, default=48)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    from dllm_core.adapter import EMBEDDED_DIR, SMOLLM_DELTA_DIR, ModelAdapter  # noqa: PLC0415

    adapter = ModelAdapter.load(args.model, device="cpu", quantize="none")  # every model kind, one way to load
    tokenizer = adapter.tokenizer
    if tokenizer.pad_token_id is None:  # decoder tokenizers: pad with the adapter's pad id (attention masks it)
        tokenizer.pad_token_id = adapter.pad_id
    emb = adapter.input_embeddings().weight.detach().float().clone()
    mask_id = adapter.mask_id
    named = {"embedded": EMBEDDED_DIR, "minilm": EMBEDDED_DIR, "smollm2-dlm": SMOLLM_DELTA_DIR}
    model_dir = named.get(args.model, Path(args.model))
    del adapter
    if args.out is None:
        args.out = CLASSIFIER_DIR if args.model in ("embedded", "minilm") else CLASSIFIER_DIR / Path(args.model).name
    started = time.time()
    train, held, info = sentiment_data(args.seed) if args.attribute == "sentiment" else formality_data(args.seed)
    print(f"{len(train)} training sentences, {len(held)} held out ({info}), data {time.time() - started:.0f}s")
    ids, valid = encode(tokenizer, [t for t, _ in train], args.max_len)
    labels = torch.tensor([y for _, y in train])
    h_ids, h_valid = encode(tokenizer, [t for t, _ in held], args.max_len)
    h_labels = torch.tensor([y for _, y in held])

    head = AttributeHead(emb.shape[1], len(ATTRIBUTES[args.attribute]), args.hidden)
    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=0.01)
    # transformers' linear warm-up (50 steps) and linear decay to 0 after the last step. The hand-written schedule it
    # replaces, lr * min(1, step / 50) * (1 - step / (steps + 1)), also decayed during the warm-up; this is the
    # closest of transformers' shapes (at the default 3000 steps the rates differ by at most 1.7 % of the peak).
    # last_epoch=0: the first update (step 1) runs at the schedule's value at 1, not at 0.
    for group in opt.param_groups:
        group["initial_lr"] = args.lr
    schedule = get_linear_schedule_with_warmup(opt, 50, args.steps + 1, last_epoch=0)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    step = 0
    for step in range(1, args.steps + 1):
        pick = torch.randint(len(labels), (args.batch,), generator=gen)
        x, v = ids[pick], valid[pick]
        width = int(v.sum(1).max())
        x, v = mask_batch(x[:, :width], v[:, :width], mask_id, gen), v[:, :width]
        loss = F.cross_entropy(head(emb[x], v), labels[pick])
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        if step % 250 == 0:
            acc = accuracy(head.eval(), emb, h_ids, h_valid, h_labels, mask_id, 0.0)
            head.train()
            print(f"step {step} loss {loss.item():.3f} held-out acc {acc:.3f} ({time.time() - t0:.0f}s)")
        if time.time() - t0 > args.minutes * 60:
            break
    head.eval()
    metrics = {f"heldout_acc_mask{int(r * 100)}": round(accuracy(head, emb, h_ids, h_valid, h_labels, mask_id, r), 4)
               for r in (0.0, 0.3, 0.6)}
    if args.attribute == "sentiment":  # agreement with AFINN (the benchmark's judge) on held-out corpus sentences
        from afinn import Afinn  # noqa: PLC0415

        afinn = Afinn()
        judged = [(s, afinn.score(s)) for src in ("news", "wiki", "austen", "fortunes", "dialogue")
                  for s in sentences(src, "heldout", limit=400, seed=args.seed)]
        judged = [(s, int(a > 0)) for s, a in judged if abs(a) >= 2]
        a_ids, a_valid = encode(tokenizer, [s for s, _ in judged], args.max_len)
        a_labels = torch.tensor([y for _, y in judged])
        metrics["afinn_agreement_heldout_corpus"] = round(accuracy(head, emb, a_ids, a_valid, a_labels, mask_id, 0.0), 4)
        metrics["afinn_judged_sentences"] = len(judged)
    print(metrics)
    args.out.mkdir(parents=True, exist_ok=True)
    from safetensors.torch import save_file  # noqa: PLC0415

    save_file({k: v.contiguous() for k, v in head.state_dict().items()}, str(args.out / f"{args.attribute}.safetensors"))
    training = json.loads((model_dir / "training.json").read_text()) if (model_dir / "training.json").exists() else {}
    meta = {"name": args.attribute, "classes": ATTRIBUTES[args.attribute], "dim": emb.shape[1], "hidden": args.hidden,
            "kernel": 3, "embedding_fingerprint": embedding_fingerprint(emb), "model": args.model, "denoiser_step": training.get("step"),
            "train_steps": step, "train_sentences": len(train), "heldout": len(held), "metrics": metrics,
            "data": dict(info)}
    (args.out / f"{args.attribute}.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {args.out / args.attribute}.safetensors/.json in {time.time() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
