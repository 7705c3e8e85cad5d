"""Judges for the guidance benchmarks, independent of what guides the sampler.

- Sentiment: AFINN (``pip install afinn``), a word-list scorer. The guidance classifier was trained on Pang-Lee
  sentences and VADER weak labels, never on AFINN, so AFINN is an outside judge (both are lexicons, so it is not a
  fully independent one; see bench/GUIDANCE.md).
- Fluency: SmolLM2-135M-Instruct perplexity, from bench/ar_model.py (the base that `python -m dllm_core setup`
  caches).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ar_model import perplexity  # noqa: E402,F401  (re-exported for the guidance benchmarks)


def afinn_scorer():
    """``score(text) -> float``: AFINN sum of word valences (> 0 positive, < 0 negative)."""
    from afinn import Afinn  # noqa: PLC0415

    return Afinn().score
