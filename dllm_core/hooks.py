"""Hooks: the one way into the denoising loop (guidance, constraints, and the engine's own default rules).

A hook sees the :class:`~dllm_core.state.SamplerState` and may change the logits before the scheduler chooses
tokens (:meth:`SamplerHook.adjust_logits`), and the tokens after it has committed (:meth:`SamplerHook.adjust_tokens`).
Every run also has the default hooks of :func:`default_hooks`: the repetition penalty (when configured) before the
caller's hooks, and after them the writing rules (:class:`NoAdjacentRepeat`, :class:`NoLineBreakInSentence`;
``SamplerConfig.writing_rules``, on by default) and the formatting rule :class:`NoClosingAfterSpace`.
"""

from __future__ import annotations

import torch
from transformers import RepetitionPenaltyLogitsProcessor

from .adapter import ModelAdapter
from .canvas import TokenState
from .config import SamplerConfig
from .spelling import Spelling
from .state import SamplerState


class SamplerHook:
    """Base class for guidance. Override what you need; every method is called once per step for the batch."""

    #: True when :meth:`adjust_logits` works on logits wherever the model put them (e.g. on a GPU); hooks that
    #: index them with host tensors keep the default, and then the sampler hands every hook host tensors
    on_device: bool = False

    def start(self, state: SamplerState) -> None:
        """Called once before the first step (after re-noising)."""

    def extra_tokens(self, state: SamplerState) -> torch.Tensor | None:
        """(B, N) variants of ``state.tokens`` that need logits at the same positions (e.g. classifier-free
        guidance's unconditional canvases). They go through the model in the same forward pass as the canvases;
        their (E, V) logits are in ``state.extra_logits[self]`` when :meth:`adjust_logits` runs."""
        return None

    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        """``logits`` is (E, V) for ``state.query_rows`` / ``state.query_pos``; return the adjusted tensor."""
        return logits

    def adjust_tokens(self, state: SamplerState) -> None:
        """May change ``state.tokens`` / ``state.states`` after the commit (never PINNED or FIXED positions)."""


class RepetitionPenalty(SamplerHook):
    """CTRL-style repetition penalty: tokens already generated in a canvas's edited positions become less likely
    there (positive logits divided by ``penalty``, negative ones multiplied). Weak models otherwise tend to fill
    parallel slots with the same frequent words ("the area of the area").

    The arithmetic is transformers' ``RepetitionPenaltyLogitsProcessor``; what counts as "already generated" is
    ours: a diffusion canvas has no prefix of earlier tokens, so every logits row is penalised by the tokens
    generated so far anywhere in the edited positions of its own canvas (never the draft's fixed or pinned text).
    """

    def __init__(self, penalty: float):
        self.processor = RepetitionPenaltyLogitsProcessor(float(penalty))

    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        vocab = logits.shape[1]
        generated = state.states == TokenState.GENERATED
        per_canvas = [state.tokens[b][generated[b]] for b in range(len(state.tokens))]
        width = max(1, max(len(ids) for ids in per_canvas))
        # rows padded with the id one past the vocabulary, which the processor ignores
        seen = torch.full((len(per_canvas), width), vocab, dtype=torch.long)
        for b, ids in enumerate(per_canvas):
            seen[b, : len(ids)] = ids
        return self.processor(seen[state.query_rows].to(logits.device), logits)


class NoClosingAfterSpace(SamplerHook):
    """No comma, full stop or closing bracket straight after white space that the draft keeps: the renderer keeps
    the draft's characters, so it would come out as "Meanwhile , the". Runs after every other hook."""

    on_device = True

    def __init__(self, adapter: ModelAdapter):
        self.closing = adapter.closing_ids
        self.spaces_in_tokens = not Spelling.of(adapter.tokenizer).word_pieces

    def start(self, state: SamplerState) -> None:
        self.after_space = torch.zeros(state.tokens.shape, dtype=torch.bool)  # (B, N)
        for b, canvas in enumerate(state.canvases):
            self.after_space[b, : len(canvas)] = torch.tensor(canvas.after_space(self.spaces_in_tokens), dtype=torch.bool)

    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        rows = self.after_space[state.query_rows, state.query_pos].nonzero().flatten()
        if len(rows) and len(self.closing):
            logits[rows.to(logits.device)[:, None], self.closing.to(logits.device)[None, :]] = float("-inf")
        return logits


class NoAdjacentRepeat(SamplerHook):
    """A generated token never repeats the token right before or after it ("the the", ",,", "programs programs").
    Parallel decoding fills neighbouring slots from nearly the same context, so small denoisers otherwise stutter;
    real prose almost never repeats a token in place."""

    on_device = True

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
    """A span rewritten or inserted inside a paragraph gets no line breaks unless the text it replaces had one;
    text generated at the very end of the draft (free generation) may break lines."""

    on_device = True

    def __init__(self, line_break_ids: torch.Tensor):
        self.line_break_ids = line_break_ids
        self.allowed: torch.Tensor | None = None

    def start(self, state: SamplerState) -> None:
        """Per position to write: may a line break go there?"""
        self.allowed = torch.ones(state.tokens.shape, dtype=torch.bool)
        for b, canvas in enumerate(state.canvases):
            # spans from the last segment with text on are free generation at the end of the draft
            tail = max((k for k, seg in enumerate(canvas.segments) if seg.text.strip()), default=-1)
            surface = None
            for i in (state.states[b] == TokenState.MASKED).nonzero().flatten().tolist():
                index = canvas.segment_of[i]
                seg = canvas.segments[index]
                if seg.editable:
                    self.allowed[b, i] = index >= tail or "\n" in seg.text
                else:  # a draft token re-noised by strength: only where the draft had a break
                    surface = surface or canvas.surface_texts()
                    self.allowed[b, i] = "\n" in (surface[i] or "")

    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        if self.allowed is None or not len(self.line_break_ids):
            return logits
        banned = (~self.allowed[state.query_rows, state.query_pos]).nonzero().flatten()
        if len(banned):
            ids = self.line_break_ids.to(logits.device)
            logits[banned.to(logits.device)[:, None], ids[None, :]] = float("-inf")
        return logits


def default_hooks(adapter: ModelAdapter, config: SamplerConfig) -> tuple[list[SamplerHook], list[SamplerHook]]:
    """The engine's own hooks: (those that run before the caller's hooks, those that run after them)."""
    before: list[SamplerHook] = []
    if config.repetition_penalty != 1.0:
        before.append(RepetitionPenalty(config.repetition_penalty))
    after: list[SamplerHook] = []
    if config.writing_rules:
        after += [NoAdjacentRepeat(), NoLineBreakInSentence(adapter.line_break_ids)]
    return before, [*after, NoClosingAfterSpace(adapter)]
