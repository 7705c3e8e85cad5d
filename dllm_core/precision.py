"""Which number format a model reads in on this machine (one home for the choice).

The judge (SmolLM2's own causal LM, :meth:`~dllm_core.adapter.ModelAdapter.judge`) scores finished text for the
writing actions and the gate. It is never int8: quantised, its reading of a cut was noise. In float32 it is the
slowest reading of an action (Shorten on 2,000 characters: most of its time). A CPU with AMX tiles (Intel Xeon
from Sapphire Rapids on) multiplies bfloat16 matrices in hardware: there the judge reads in bfloat16, 3-4x faster
than float32 on 2 cores; of 60 single-sentence actions 57 came out identical (the rest near-tied synonyms in
another order) and every Fill verdict the same (bench/RESULTS.md, "The judge in bfloat16"). Elsewhere bfloat16 is emulated and slower than float32, so float32 stays.

``DLLM_JUDGE_DTYPE`` (``float32`` or ``bfloat16``) overrides the choice, to reproduce a figure or compare.
"""

from __future__ import annotations

import os

import torch

JUDGE_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def cpu_has_amx() -> bool:
    """Whether this CPU has AMX tiles (hardware bfloat16 matrix multiplies) as torch sees them."""
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)  # private in torch 2.x: absent means no
    try:
        return bool(probe()) if probe is not None else False
    except RuntimeError:
        return False


def judge_dtype(device: torch.device, dtype: torch.dtype) -> torch.dtype:
    """The judge's number format: ``DLLM_JUDGE_DTYPE`` if set; bfloat16 for a float32 model on a CPU with AMX;
    else the model's own ``dtype``."""
    asked = os.environ.get("DLLM_JUDGE_DTYPE", "").strip()
    if asked:
        if asked not in JUDGE_DTYPES:
            raise ValueError(f"DLLM_JUDGE_DTYPE: one of {', '.join(JUDGE_DTYPES)}, got {asked!r}")
        return JUDGE_DTYPES[asked]
    if device.type == "cpu" and dtype == torch.float32 and cpu_has_amx():
        return torch.bfloat16
    return dtype
