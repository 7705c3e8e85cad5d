"""Span length for shortening and lengthening: ``[[text|N]]``, ``[[text|70%]]`` (exact, handled by the engine) and
``[[text|auto]]``, for which this module picks the length by a model score.

For an auto span we draft the span at a few candidate lengths around a target (``target`` × the original token
count, ``±spread``), all candidates in one batched sampler run, and score every draft by its pseudo-log-likelihood
per token: the span's tokens (plus two context tokens on each side, which measure how well it joins the draft) are
masked in ``groups`` interleaved groups, all groups in one forward pass, and the log-probabilities of the drafted
tokens are averaged. The best-scoring length wins (ties: the one nearest the target). "Shorten this by about 30 %"
is ``[[paragraph|auto]]`` with ``target=0.7``. Drafting goes through :meth:`dllm_core.Editor.denoise` and scoring
through the adapter's own framing, so this works for any model the editor can load.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dllm_core.api import Editor
from dllm_core.canvas import Canvas, TokenState
from dllm_core.config import SamplerConfig
from dllm_core.markup import Segment
from dllm_core.windows import window_budget

from .limits import MAX_LENGTH_CANDIDATES, MAX_LENGTH_TARGET


@dataclass
class LengthChoice:
    segment: int
    original: int
    candidates: list[int]
    scores: list[float]
    chosen: int

    def to_json(self) -> dict:
        return {"segment": self.segment, "original_tokens": self.original, "chosen": self.chosen,
                "candidates": dict(zip(self.candidates, [round(s, 4) for s in self.scores]))}


def valid_length_target(target: float, spread: float) -> bool:
    """The auto-length rule: a target in (0, MAX_LENGTH_TARGET] times the original, a spread in [0, target)."""
    return 0 < target <= MAX_LENGTH_TARGET and 0 <= spread < target


def candidate_lengths(original: int, target: float = 1.0, spread: float = 0.2, count: int = 5) -> list[int]:
    """Distinct token counts around ``target * original``, from ``target - spread`` to ``target + spread``."""
    if not valid_length_target(target, spread):
        raise ValueError(f"length target must be in (0, {MAX_LENGTH_TARGET:g}] and the spread in [0, target), "
                         f"got {target}, {spread}")
    count = max(1, min(count, MAX_LENGTH_CANDIDATES))
    ratios = [target] if count == 1 else [target - spread + 2 * spread * i / (count - 1) for i in range(count)]
    return sorted({max(1, round(original * r)) for r in ratios})


def pseudo_log_likelihood(adapter, canvas: Canvas, positions: list[int], groups: int = 4) -> float:
    """Mean log-probability of the tokens at ``positions``, each predicted with its group masked."""
    ids = torch.tensor(canvas.ids)
    body = window_budget(adapter)
    lo = max(0, min(positions[0] - body // 4, len(ids) - body))
    hi = min(len(ids), lo + body)
    positions = [p for p in positions if lo <= p < hi]
    groups = max(1, min(groups, len(positions)))
    batch = []
    targets, rows, cols = [], [], []
    for g in range(groups):
        seq = ids[lo:hi].clone()
        mine = positions[g::groups]
        seq[torch.tensor(mine) - lo] = adapter.mask_id
        batch.append(seq)
        for p in mine:
            rows.append(g)
            cols.append(p - lo)
            targets.append(int(ids[p]))
    return float(adapter.masked_log_probs(batch, rows, cols, targets).mean())


def choose_lengths(editor: Editor, segments: list[Segment], config: SamplerConfig, *, target: float = 1.0,
                   spread: float = 0.2, count: int = 5, draft_steps: int = 8, groups: int = 4
                   ) -> tuple[dict[int, int], list[LengthChoice]]:
    """Token counts for every ``auto`` span (``{segment index: n}``) and how each was chosen."""
    auto = [i for i, s in enumerate(segments) if s.kind == "rewrite" and s.auto]
    draft = SamplerConfig(steps=draft_steps, seed=config.seed, context=config.context,
                          writing_rules=config.writing_rules)
    as_written = editor.canvas(segments, draft)  # the spans at their original token counts
    original = {i: as_written.segment_of.count(i) for i in auto}
    lengths: dict[int, int] = {}
    options: dict[int, list[int]] = {}
    for i in auto:
        options[i] = candidate_lengths(original[i], target, spread, count)
        lengths[i] = max(1, round(original[i] * target))
    choices = []
    for i in auto:  # one auto span at a time, the others at their target length
        canvases = [editor.canvas(segments, draft, {**lengths, i: n}) for n in options[i]]
        editor.denoise(canvases, draft)
        scores = []
        for canvas in canvases:
            span = [p for p, s in enumerate(canvas.segment_of) if s == i]
            context = [p for p in (span[0] - 2, span[0] - 1, span[-1] + 1, span[-1] + 2)
                       if 0 <= p < len(canvas) and canvas.states[p] != TokenState.MASKED]
            scores.append(pseudo_log_likelihood(editor.adapter, canvas, sorted(span + context), groups))
        want = original[i] * target
        best = max(range(len(scores)), key=lambda k: (round(scores[k], 6), -abs(options[i][k] - want)))
        lengths[i] = options[i][best]
        choices.append(LengthChoice(i, original[i], options[i], scores, lengths[i]))
    return lengths, choices
