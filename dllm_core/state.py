"""What the denoising loop shares with its hooks: :class:`SamplerState`, one object per run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from .canvas import Canvas
from .config import SamplerConfig
from .windows import Window

if TYPE_CHECKING:
    from .hooks import SamplerHook


@dataclass
class SamplerState:
    """Everything a hook may read. Tensors are on the CPU (``probs`` stays on the model's device only when every
    hook works there); ``tokens``/``states`` are (B, N) padded with -1."""

    canvases: list[Canvas]
    config: SamplerConfig
    tokens: torch.Tensor
    states: torch.Tensor
    editable: torch.Tensor  # (B, N) bool: positions the sampler may write
    confidence: torch.Tensor  # (B, N) float, nan where not applicable
    step: int = 0
    steps: int = 0
    query_rows: torch.Tensor | None = None  # (E,) canvas index of each logits row
    query_pos: torch.Tensor | None = None  # (E,) position of each logits row
    candidates: torch.Tensor | None = None  # (E,) proposed token of each logits row
    probs: torch.Tensor | None = None  # (E, V) probabilities after hooks
    generator: torch.Generator | None = None
    signals: list[list[dict]] = field(default_factory=list)  # per canvas, per step: values hooks want charted
    windows: list[Window] = field(default_factory=list)  # slices of the canvases the model sees
    # logits of each hook's extra_tokens variants, (E, V) in the rows of the canvases' logits
    extra_logits: dict[SamplerHook, torch.Tensor] = field(default_factory=dict)
    # per canvas, position -> token id that a hook has fixed (e.g. a placed required word): other hooks leave
    # those positions alone
    locked: list[dict[int, int]] = field(default_factory=list)

    @property
    def progress(self) -> float:
        return (self.step + 1) / max(self.steps, 1)

    def step_signals(self, b: int) -> dict:
        """The signals of canvas ``b`` for the current step (created on first use, shared by all hooks)."""
        rows = self.signals[b]
        if not rows or rows[-1].get("step") != self.step:
            rows.append({"step": self.step})
        return rows[-1]

    def recorded_signals(self, b: int) -> dict:
        """What hooks recorded for canvas ``b`` at the current step (without the step number)."""
        rows = self.signals[b]
        current = rows[-1] if rows and rows[-1].get("step") == self.step else {}
        return {k: v for k, v in current.items() if k != "step"}
