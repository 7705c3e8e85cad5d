"""Writing rules that every edit follows, as sampler hooks: small facts about text that weak models get wrong.

- :class:`NoAdjacentRepeat`: a generated token never repeats the token right before or after it ("the the",
  ",,", "programs programs"). Parallel decoding fills neighbouring slots from nearly the same context, so
  small denoisers otherwise stutter; real prose almost never repeats a token in place.
- :class:`NoLineBreakInSentence`: a span rewritten or inserted inside a paragraph gets no line breaks unless the
  text it replaces had one; text generated at the very end of the draft (free generation) may break lines.
"""

from __future__ import annotations

import torch

from .canvas import TokenState
from .sampler import SamplerHook, SamplerState


class NoAdjacentRepeat(SamplerHook):
    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        rows, pos = state.query_rows, state.query_pos
        n = state.tokens.shape[1]
        for step in (-1, 1):
            near = (pos + step).clamp(0, n - 1)
            token = state.tokens[rows, near]
            decided = ((pos + step >= 0) & (pos + step < n) & (token >= 0)
                       & (state.states[rows, near] != TokenState.MASKED))
            hit = decided.nonzero().flatten()
            if len(hit):
                logits[hit.to(logits.device), token[hit].to(logits.device)] = float("-inf")
        return logits


class NoLineBreakInSentence(SamplerHook):
    def __init__(self, line_break_ids: torch.Tensor):
        self.line_break_ids = line_break_ids
        self.allowed: torch.Tensor | None = None

    def start(self, state: SamplerState) -> None:
        """Per canvas position: may a line break be written there?"""
        self.allowed = torch.ones(state.tokens.shape, dtype=torch.bool)
        for b, canvas in enumerate(state.canvases):
            last = len(canvas.segments) - 1
            surface = canvas.surface_texts()
            for i, index in enumerate(canvas.segment_of):
                seg = canvas.segments[index]
                at_end = index == last or all(not s.text.strip() for s in canvas.segments[index + 1 :])
                if seg.editable:
                    self.allowed[b, i] = at_end or "\n" in seg.text
                else:  # a draft token re-noised by strength: only where the draft had a break
                    self.allowed[b, i] = "\n" in (surface[i] or "")

    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        if self.allowed is None or not len(self.line_break_ids):
            return logits
        banned = (~self.allowed[state.query_rows, state.query_pos]).nonzero().flatten()
        if len(banned):
            ids = self.line_break_ids.to(logits.device)
            logits[banned.to(logits.device)[:, None], ids[None, :]] = float("-inf")
        return logits
