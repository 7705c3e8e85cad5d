"""Classifier-free guidance for prompted generation (LLaDA style).

The prompt is everything the sampler may not write: fixed draft text and pinned words. Each step runs a second
forward pass in which those positions are masked too, and combines the two::

    logits = uncond + (w + 1) · (cond - uncond)        (= cond + w · (cond - uncond))

so ``w = 0`` is the unguided sampler exactly (no second pass is made) and larger ``w`` follows the prompt harder.
"""

from __future__ import annotations

import torch

from dllm_core.canvas import TokenState
from dllm_core.sampler import SamplerHook, SamplerState

from .common import forward_canvases, step_signals


class ClassifierFreeGuidance(SamplerHook):
    def __init__(self, adapter, scale: float):
        if not 0.0 <= scale <= 20.0:
            raise ValueError(f"cfg scale must be in [0, 20], got {scale}")
        self.adapter = adapter
        self.scale = float(scale)

    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        if self.scale == 0.0:
            return logits
        prompt = (state.states == TokenState.FIXED) | (state.states == TokenState.PINNED)
        if not prompt.any():
            return logits
        tokens = state.tokens.clone()
        tokens[prompt] = self.adapter.mask_id
        uncond = forward_canvases(self.adapter, state, tokens)
        finite = torch.isfinite(logits) & torch.isfinite(uncond)
        guided = uncond + (self.scale + 1.0) * (logits - uncond)
        out = torch.where(finite, guided, logits)
        shift = (out.log_softmax(-1) - logits.log_softmax(-1)).abs()
        shift = torch.where(finite, shift, torch.zeros_like(shift))
        for b in range(len(state.canvases)):
            rows = state.query_rows == b
            if rows.any():
                step_signals(state, b)["cfg_shift"] = round(float(shift[rows].max(-1).values.mean()), 4)
        return out
