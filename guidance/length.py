"""Span length for shortening and lengthening: ``[[text|N]]``, ``[[text|70%]]`` (exact, handled by the engine) and
``[[text|auto]]``, for which this module picks the length by a model score.

For an auto span we draft the span at a few candidate lengths around a target (``target`` × the original token
count, ``±spread``), all candidates in one batched sampler run, and score every draft by its pseudo-log-likelihood
per token: the span's tokens (plus two context tokens on each side, which measure how well it joins the draft) are
masked in ``groups`` interleaved groups, one forward pass per group, and the log-probabilities of the drafted tokens
are averaged. The best-scoring length wins (ties: the one nearest the target). "Shorten this by about 30 %" is
``[[paragraph|auto]]`` with ``target=0.7``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dllm_core.canvas import Canvas, TokenState, span_length
from dllm_core.config import SamplerConfig
from dllm_core.markup import Segment
from dllm_core.sampler import Sampler

MAX_LENGTH_CANDIDATES = 9


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


def candidate_lengths(original: int, target: float = 1.0, spread: float = 0.2, count: int = 5) -> list[int]:
    """Distinct token counts around ``target * original``, from ``target - spread`` to ``target + spread``."""
    if not 0 < target <= 4 or not 0 <= spread < target:
        raise ValueError(f"length target must be in (0, 4] and the spread in [0, target), got {target}, {spread}")
    count = max(1, min(count, MAX_LENGTH_CANDIDATES))
    ratios = [target] if count == 1 else [target - spread + 2 * spread * i / (count - 1) for i in range(count)]
    return sorted({max(1, round(original * r)) for r in ratios})


def pseudo_log_likelihood(adapter, canvas: Canvas, positions: list[int], groups: int = 4) -> float:
    """Mean log-probability of the tokens at ``positions``, each predicted with its group masked."""
    ids = torch.tensor(canvas.ids)
    body = adapter.max_length - 2
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
        batch.append(torch.cat([torch.tensor([adapter.cls_id]), seq, torch.tensor([adapter.sep_id])]))
        for p in mine:
            rows.append(g)
            cols.append(p - lo + 1)
            targets.append(int(ids[p]))
    input_ids = torch.stack(batch)
    logits = adapter.logits_at(input_ids, torch.ones_like(input_ids), torch.tensor(rows), torch.tensor(cols))
    logp = logits.log_softmax(-1).gather(1, torch.tensor(targets).unsqueeze(1).to(logits.device))
    return float(logp.mean())


def choose_lengths(adapter, segments: list[Segment], config: SamplerConfig, *, target: float = 1.0,
                   spread: float = 0.2, count: int = 5, draft_steps: int = 8, groups: int = 4
                   ) -> tuple[dict[int, int], list[LengthChoice]]:
    """Token counts for every ``auto`` span (``{segment index: n}``) and how each was chosen."""
    tokenizer = adapter.tokenizer
    auto = [i for i, s in enumerate(segments) if s.kind == "rewrite" and s.auto]
    lengths: dict[int, int] = {}
    options: dict[int, list[int]] = {}
    for i in auto:
        original = span_length(segments[i], tokenizer)
        options[i] = candidate_lengths(original, target, spread, count)
        lengths[i] = max(1, round(original * target))
    choices = []
    for i in auto:  # one auto span at a time, the others at their target length
        canvases = [Canvas.from_segments(segments, tokenizer, {**lengths, i: n}) for n in options[i]]
        draft = SamplerConfig(steps=draft_steps, seed=config.seed, context=config.context)
        Sampler(adapter, draft).sample(canvases)
        scores = []
        for canvas in canvases:
            span = [p for p, s in enumerate(canvas.segment_of) if s == i]
            context = [p for p in (span[0] - 2, span[0] - 1, span[-1] + 1, span[-1] + 2)
                       if 0 <= p < len(canvas) and canvas.states[p] != TokenState.MASKED]
            scores.append(pseudo_log_likelihood(adapter, canvas, sorted(span + context), groups))
        want = span_length(segments[i], tokenizer) * target
        best = max(range(len(scores)), key=lambda k: (round(scores[k], 6), -abs(options[i][k] - want)))
        lengths[i] = options[i][best]
        choices.append(LengthChoice(i, span_length(segments[i], tokenizer), options[i], scores, lengths[i]))
    return lengths, choices
