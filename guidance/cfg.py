"""Classifier-free guidance for prompted generation (LLaDA style).

The prompt is everything the sampler may not write: fixed draft text and pinned words. Each step the canvases are
also run with those positions masked (batched into the sampler's own forward pass, so it costs rows, not passes),
and the two are combined::

    logits = uncond + (w + 1) · (cond - uncond)        (= cond + w · (cond - uncond))

so ``w = 0`` is the unguided sampler exactly (no extra rows are run) and larger ``w`` follows the prompt harder.
"""

from __future__ import annotations

import torch

from dllm_core.canvas import TokenState
from dllm_core.hooks import SamplerHook
from dllm_core.state import SamplerState

from .limits import MAX_CFG


class ClassifierFreeGuidance(SamplerHook):
    def __init__(self, adapter, scale: float):
        if not 0.0 <= scale <= MAX_CFG:
            raise ValueError(f"cfg scale must be in [0, {MAX_CFG:g}], got {scale}")
        self.adapter = adapter
        self.scale = float(scale)

    def extra_tokens(self, state: SamplerState) -> torch.Tensor | None:
        if self.scale == 0.0:
            return None
        prompt = (state.states == TokenState.FIXED) | (state.states == TokenState.PINNED)
        if not prompt.any():
            return None
        tokens = state.tokens.clone()
        tokens[prompt] = self.adapter.mask_id
        return tokens

    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        uncond = state.extra_logits.get(self)
        if uncond is None:
            return logits
        finite = torch.isfinite(logits) & torch.isfinite(uncond)
        guided = uncond + (self.scale + 1.0) * (logits - uncond)
        out = torch.where(finite, guided, logits)
        shift = (out.log_softmax(-1) - logits.log_softmax(-1)).abs()
        shift = torch.where(finite, shift, torch.zeros_like(shift))
        for b in range(len(state.canvases)):
            rows = state.query_rows == b
            if rows.any():
                state.step_signals(b)["cfg_shift"] = round(float(shift[rows].max(-1).values.mean()), 4)
        return out
