"""The unmasking schedule: which masked positions become tokens at each step, and which tokens are taken back.

:class:`UnmaskingScheduler` plays the part of a diffusers scheduler (its ``BlockRefinementScheduler`` in particular):
:meth:`~UnmaskingScheduler.set_timesteps` plans the run and :meth:`~UnmaskingScheduler.step` turns one step's logits
into a decision, returning a small :class:`SchedulerOutput` (which positions to commit with which tokens, which to
remask) that the loop applies to the sampler state; :func:`add_noise` is the forward process (SDEdit-style
re-noising of the draft). The loop in :mod:`dllm_core.sampler` owns the model and the hooks, this module owns:

- the schedule: each canvas's editable positions in left-to-right blocks (``block_length``; one block when 0), the
  steps shared among the blocks, and per step a quota from the cosine or linear mask fraction;
- the proposal: one candidate token per masked position (greedy, or Gumbel-max at ``temperature`` after top-p) and a
  score by the unmasking ``order`` (confidence, margin, negative entropy, random);
- the commit rule: the quota's best-scored masked positions of the current block, plus every one whose confidence
  exceeds ``threshold`` (Fast-dLLM); on the last step everything still masked;
- remasking: ReMDM-style self-correction of the current block's least confident earlier tokens;
- token editing (``editing_threshold``, as LLaDA2.1's token-to-token editing and the ``editing_threshold`` of
  diffusers' ``BlockRefinementScheduler``): once a canvas has no masks, a few more passes replace each generated
  token whose proposal is another token above the threshold; with ``edit_while_masked``, as those two do, also at
  every step before, among the generated tokens of the current block.

Unlike diffusers' scheduler, the quota is per canvas (the canvases of a batch have scattered spans of different
sizes), several unmasking orders and the cosine schedule are supported, and hooks get the proposal to work with.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import torch

from .canvas import Canvas, TokenState
from .config import SamplerConfig
from .limits import EDIT_PASSES
from .state import SamplerState


def add_noise(canvas: Canvas, config: SamplerConfig, index: int = 0) -> int:
    """Re-noise ``config.strength`` of the draft's unpinned tokens of canvas ``index`` of a batch (SDEdit for text);
    the seed depends on the run's seed and the index, so every candidate of a batch is re-noised differently and
    a run is reproducible. Returns how many tokens were masked."""
    if config.strength <= 0:
        return 0
    return canvas.renoise(config.strength, random.Random(config.seed * 7919 + index))


def mask_fraction(schedule: str, t: float) -> float:
    """Fraction of a block still masked after progress t in [0, 1]."""
    t = min(max(t, 0.0), 1.0)
    return math.cos(math.pi / 2 * t) if schedule == "cosine" else 1.0 - t


@dataclass
class Block:
    positions: list[int]
    first_step: int
    n_steps: int


def plan_blocks(positions: list[int], steps: int, block_length: int) -> list[Block]:
    """Split a canvas's editable positions into left-to-right blocks and share the steps among them."""
    if not positions:
        return []
    size = block_length if block_length > 0 else len(positions)
    n_blocks = math.ceil(len(positions) / size)
    if n_blocks > steps:  # fewer steps than blocks: make the blocks bigger
        size = math.ceil(len(positions) / steps)
        n_blocks = math.ceil(len(positions) / size)
    base, extra = divmod(steps, n_blocks)
    blocks, first = [], 0
    for b in range(n_blocks):
        n = base + (1 if b < extra else 0)
        blocks.append(Block(positions[b * size : (b + 1) * size], first, n))
        first += n
    return blocks


def top_p_filter(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of tokens whose probability reaches ``top_p`` (always the top one).

    Not transformers' ``TopPLogitsWarper``: it keeps the same set in exact arithmetic, but it sums the probabilities
    from the least likely token up, and over a vocabulary of tens of thousands of tokens the rounding of that sum
    moves the cut-off by a token in some rows (measured on random logits), so sampled outputs for a fixed seed
    would change."""
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    cum = sorted_logits.softmax(-1).cumsum(-1)
    drop = cum - sorted_logits.softmax(-1) >= top_p
    sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)


def gather_rows(probs: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """probs[i, index[i]] for every row, on the host (``probs`` may live on the model's device)."""
    return probs.gather(1, index.to(probs.device)[:, None]).squeeze(1).cpu()


@dataclass
class SchedulerOutput:
    """What one step decided, for the loop to apply (:meth:`apply`): per canvas, the positions to commit with their
    tokens and the positions to remask; per logits row, the proposal. The scheduler itself changes no state."""

    committed: list[list[int]]
    committed_tokens: list[list[int]]  # the token for each position of ``committed``, in the same order
    remasked: list[list[int]]
    probs: torch.Tensor  # (E, V) probabilities after hooks (where the logits were)
    candidates: torch.Tensor  # (E,) proposed token, on the host
    confidence: torch.Tensor  # (E,) probability of the proposed token, on the host
    edited: list[list[int]] = field(default_factory=list)  # generated positions to give another token (editing)
    edited_tokens: list[list[int]] = field(default_factory=list)

    def apply(self, state: SamplerState, mask_id: int) -> None:
        """Write the decision into ``state``: committed positions get their tokens (GENERATED), remasked ones the
        mask (MASKED). The two never overlap (only tokens from earlier steps are remasked)."""
        for b, (positions, tokens, back) in enumerate(zip(self.committed, self.committed_tokens, self.remasked)):
            if positions:
                where = torch.tensor(positions, dtype=torch.long)
                state.tokens[b, where] = torch.tensor(tokens, dtype=state.tokens.dtype)
                state.states[b, where] = TokenState.GENERATED
            if back:
                where = torch.tensor(back, dtype=torch.long)
                state.tokens[b, where] = mask_id
                state.states[b, where] = TokenState.MASKED
        for b, (positions, tokens) in enumerate(zip(self.edited, self.edited_tokens)):
            if positions:  # generated tokens replaced: they stay GENERATED
                state.tokens[b, torch.tensor(positions, dtype=torch.long)] = torch.tensor(tokens, dtype=state.tokens.dtype)


def edit_passes(config: SamplerConfig) -> int:
    """The passes a run may add after its canvases' last mask for token editing (0 when editing is off)."""
    return EDIT_PASSES if config.editing_threshold is not None else 0


def clamped_steps(config: SamplerConfig, most: int) -> int:
    """The steps a run takes when its canvas with the most tokens to write has ``most`` of them: ``config.steps``,
    but no more than one per token (every step commits at least one, so more would be idle passes), unless
    remasking. The one home of this rule: the scheduler plans with it, the Editor prices work and shares runs by it."""
    return config.steps if config.remask > 0 else max(1, min(config.steps, most))


class UnmaskingScheduler:
    """The schedule, commit rule and remasking of one run (see the module docstring)."""

    def __init__(self, config: SamplerConfig, mask_id: int):
        self.config = config
        self.mask_id = mask_id
        self.steps = 0
        self.blocks: list[list[Block]] = []

    def set_timesteps(self, editable: torch.Tensor) -> int:
        """Plan the run for (B, N) ``editable`` positions; returns the number of steps. Every step commits at least
        one token, so more steps than tokens would be idle passes (unless remasking)."""
        cfg = self.config
        most = int(editable.sum(1).max())
        self.steps = clamped_steps(cfg, most)
        self.polished = [0] * len(editable)  # per canvas: editing passes since its last mask
        self.blocks = [plan_blocks(row.nonzero().flatten().tolist(), self.steps, cfg.block_length)
                       for row in editable]
        return self.steps

    # ------------------------------------------------------------------------------------------------ proposal
    def propose(self, logits: torch.Tensor, generator: torch.Generator):
        """(probs, candidate, confidence, score) for every logits row; the (E, V) probabilities stay where the
        logits are, the per-row vectors go to the host (small)."""
        cfg = self.config
        probs = torch.softmax(logits, dim=-1)
        if cfg.temperature > 0:
            scaled = logits / cfg.temperature
            if cfg.top_p < 1.0:
                scaled = top_p_filter(scaled, cfg.top_p)
            u = torch.rand(scaled.shape, generator=generator).clamp_(1e-10, 1.0).to(scaled.device)
            candidates = (scaled - torch.log(-torch.log(u))).argmax(-1)
        else:
            candidates = logits.argmax(-1)
        conf = probs.gather(1, candidates[:, None]).squeeze(1)
        if cfg.order == "confidence":
            score = conf
        elif cfg.order == "margin":
            top2 = probs.topk(2, dim=-1).values
            score = top2[:, 0] - top2[:, 1]
        elif cfg.order == "entropy":
            score = (probs * torch.log(probs.clamp_min(1e-12))).sum(-1)  # negative entropy: sure first
        else:
            score = torch.rand(conf.shape, generator=generator)
        return probs, candidates.cpu(), conf.cpu(), score.cpu()

    # ------------------------------------------------------------------------------------------------ schedule
    def quota(self, b: int, step: int, masked_now: set[int]) -> tuple[Block | None, list[int], int]:
        """Canvas ``b``'s current block, its masked positions (eligible this step) and how many of them to commit."""
        if step >= self.steps - 1:  # last step: everything still masked, in every block
            left = sorted(masked_now)
            return (self.blocks[b][-1] if self.blocks[b] else None), left, len(left)
        for block in self.blocks[b]:
            left = [p for p in block.positions if p in masked_now]
            if not left:
                continue
            local = step - block.first_step
            if local >= block.n_steps - 1:
                return block, left, len(left)
            target = round(len(block.positions) * mask_fraction(self.config.schedule, (local + 1) / block.n_steps))
            return block, left, max(1, len(left) - target)
        return None, [], 0

    # ------------------------------------------------------------------------------------------------ step
    def step(self, state: SamplerState, logits: torch.Tensor) -> SchedulerOutput:
        """Propose from ``logits`` (E, V, after the hooks) and decide, per the schedule and threshold, which masked
        positions to commit with which tokens, and which earlier tokens to remask for self-correction. ``state`` is
        only read (its generator draws); the caller applies the returned decision (:meth:`SchedulerOutput.apply`)."""
        cfg = self.config
        probs, candidates, conf, score = self.propose(logits, state.generator)
        rows, pos = state.query_rows, state.query_pos
        current_conf = gather_rows(probs, state.tokens[rows, pos].clamp_min(0))
        is_masked = state.states[rows, pos] == TokenState.MASKED
        n_canvases = len(state.tokens)
        committed: list[list[int]] = [[] for _ in range(n_canvases)]
        committed_tokens: list[list[int]] = [[] for _ in range(n_canvases)]
        remasked: list[list[int]] = [[] for _ in range(n_canvases)]
        edited: list[list[int]] = [[] for _ in range(n_canvases)]
        edited_tokens: list[list[int]] = [[] for _ in range(n_canvases)]
        for b in range(n_canvases):
            sel = (rows == b).nonzero().flatten()
            if len(sel) == 0:
                continue
            index_of = {int(pos[i]): int(i) for i in sel}
            masked_now = {p for p, i in index_of.items() if is_masked[i]}
            if not masked_now and cfg.editing_threshold is not None and self.polished[b] < EDIT_PASSES:
                self.polished[b] += 1  # a canvas is edited in at most EDIT_PASSES passes, shared run or alone
                edited[b], edited_tokens[b] = self.edits(state, sel, candidates, conf)
            block, eligible, k = self.quota(b, state.step, masked_now)
            if masked_now and cfg.editing_threshold is not None and cfg.edit_while_masked:  # LLaDA2.1: every step
                in_block = sel if block is None else torch.tensor(
                    [index_of[p] for p in block.positions if p in index_of], dtype=torch.long)
                edited[b], edited_tokens[b] = self.edits(state, in_block, candidates, conf)
            if not eligible:
                continue
            idx = torch.tensor([index_of[p] for p in eligible])
            order = score[idx].argsort(descending=True)
            take = set(order[:k].tolist())
            if cfg.threshold is not None:
                take |= set((conf[idx] > cfg.threshold).nonzero().flatten().tolist())
            chosen = idx[sorted(take)]
            committed[b] = pos[chosen].tolist()
            committed_tokens[b] = candidates[chosen].tolist()
            if cfg.remask > 0 and state.step < self.steps - 1 and state.step < cfg.remask_until * self.steps:
                remasked[b] = self.remask(state, b, sel, is_masked, current_conf, len(chosen), block)
        return SchedulerOutput(committed, committed_tokens, remasked, probs, candidates, conf, edited, edited_tokens)

    def edits(self, state: SamplerState, sel: torch.Tensor, candidates: torch.Tensor, conf: torch.Tensor
              ) -> tuple[list[int], list[int]]:
        """Token editing on a canvas with no masks left (its logits rows ``sel``): the generated positions whose
        proposal is another token with a probability above ``editing_threshold``, and those tokens. Fixed and
        pinned text is never edited (only GENERATED positions are)."""
        rows, pos = state.query_rows[sel], state.query_pos[sel]
        current = state.tokens[rows, pos]
        hit = ((state.states[rows, pos] == TokenState.GENERATED) & (candidates[sel] != current)
               & (conf[sel] > self.config.editing_threshold)).nonzero().flatten()
        return pos[hit].tolist(), candidates[sel][hit].tolist()

    def remask(self, state: SamplerState, b: int, sel, is_masked, current_conf, n_committed: int,
               block: Block) -> list[int]:
        """ReMDM-style self-correction: which of the current block's least confident tokens generated in earlier
        steps to remask (never pinned or fixed ones; never the tokens committed this step, masked before it)."""
        pos = state.query_pos
        in_block = set(block.positions)
        old = [int(i) for i in sel
               if not is_masked[i] and state.states[b, pos[i]] == TokenState.GENERATED and int(pos[i]) in in_block]
        want = self.config.remask * n_committed  # stochastic rounding keeps small fractions meaningful
        n = min(len(old), int(want) + int(torch.rand((), generator=state.generator) < want - int(want)))
        if n <= 0:
            return []
        worst = sorted(old, key=lambda i: float(current_conf[i]))[:n]
        return pos[torch.tensor(worst)].tolist()
