"""The denoising loop: a batch of canvases, one forward pass per step, hooks for guidance.

Each step: (1) one forward pass over windows of every canvas, logits only at editable positions; (2) hooks adjust
the logits (guidance, banned words); (3) a candidate token and a score for every masked position; (4) per canvas,
commit the best-scored masked positions that the schedule (or a confidence threshold) allows; (5) optionally remask
low-confidence generated tokens (self-correction); (6) hooks adjust tokens (constraints); (7) record the step.

Why not diffusers' ``BlockRefinementScheduler.step``: it commits by confidence only, with one uniform quota per
block for the whole batch and no remasking; our canvases have scattered spans of different sizes per row, several
unmasking orders, cosine schedules and ReMDM-style self-correction, and hooks need the candidate scores. The commit
rule is the same idea (top-k by confidence, plus everything above a threshold), written per canvas here.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch

from .adapter import ModelAdapter
from .canvas import Canvas, TokenState
from .config import SamplerConfig
from .trajectory import StepRecord


class SamplerHook:
    """Base class for guidance. Override what you need; every method is called once per step for the batch."""

    def start(self, state: SamplerState) -> None:
        """Called once before the first step (after re-noising)."""

    def extra_tokens(self, state: SamplerState) -> torch.Tensor | None:
        """(B, N) variants of ``state.tokens`` that need logits at the same positions (e.g. classifier-free
        guidance's unconditional canvases). They go through the model in the same forward pass as the canvases;
        their (E, V) logits are in ``state.extra_logits[id(self)]`` when :meth:`adjust_logits` runs."""
        return None

    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        """``logits`` is (E, V) for ``state.query_rows`` / ``state.query_pos``; return the adjusted tensor."""
        return logits

    def adjust_tokens(self, state: SamplerState) -> None:
        """May change ``state.tokens`` / ``state.states`` after the commit (never PINNED or FIXED positions)."""


@dataclass
class Window:
    canvas: int
    start: int  # slice of the canvas the model sees
    end: int
    core_start: int  # positions whose logits are read from this window
    core_end: int


@dataclass
class SamplerState:
    """Everything a hook may read. Tensors are on the CPU (``probs`` stays on the model's device only when no hook
    runs); ``tokens``/``states`` are (B, N) padded with -1."""

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
    signals: list[dict] = field(default_factory=list)  # per canvas, per step: values hooks want charted
    windows: list[Window] = field(default_factory=list)  # slices of the canvases the model sees
    extra_logits: dict = field(default_factory=dict)  # id(hook) -> logits of that hook's extra_tokens
    extra: dict = field(default_factory=dict)
    after_space: torch.Tensor | None = None  # (B, N) bool: written straight after the draft's white space

    @property
    def progress(self) -> float:
        return (self.step + 1) / max(self.steps, 1)


@dataclass
class StepEvent:
    step: int
    steps: int
    records: list[StepRecord]
    state: SamplerState


@dataclass
class SampleStats:
    forward_passes: int = 0
    steps: int = 0
    generated_tokens: int = 0
    seconds: float = 0.0


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


def plan_windows(canvas_index: int, n: int, editable: list[int], body: int, context: int) -> list[Window]:
    """Slices of at most ``body`` tokens covering every editable position with up to ``context`` tokens each side."""
    if not editable:
        return []
    context = min(context, max(0, (body - 1) // 4))
    lo, hi = max(0, editable[0] - context), min(n, editable[-1] + 1 + context)
    if hi - lo <= body:
        return [Window(canvas_index, lo, hi, lo, hi)]
    core = body - 2 * context
    windows, i = [], 0
    while i < len(editable):
        c0 = editable[i]
        c1 = min(n, c0 + core)
        w0 = max(0, c0 - context)
        w1 = min(n, w0 + body)
        windows.append(Window(canvas_index, w0, w1, c0, min(c1, w1)))
        while i < len(editable) and editable[i] < windows[-1].core_end:
            i += 1
    return windows


class Sampler:
    def __init__(self, adapter: ModelAdapter, config: SamplerConfig | None = None,
                 hooks: Sequence[SamplerHook] = ()):
        self.adapter = adapter
        self.config = (config or SamplerConfig()).validate()
        self.hooks = list(hooks)

    # ------------------------------------------------------------------------------------------------ setup
    def prepare(self, canvases: list[Canvas]) -> SamplerState:
        cfg = self.config
        for b, canvas in enumerate(canvases):
            if cfg.strength > 0:
                canvas.renoise(cfg.strength, random.Random(cfg.seed * 7919 + b))
        n_max = max(len(c) for c in canvases)
        tokens = torch.full((len(canvases), n_max), -1, dtype=torch.long)
        states = torch.full((len(canvases), n_max), -1, dtype=torch.long)
        for b, canvas in enumerate(canvases):
            tokens[b, : len(canvas)] = torch.tensor(canvas.ids, dtype=torch.long)
            states[b, : len(canvas)] = torch.tensor([int(s) for s in canvas.states], dtype=torch.long)
        editable = states == TokenState.MASKED
        most = int(editable.sum(1).max())
        # every step commits at least one token, so more steps than tokens would be idle passes (unless remasking)
        steps = cfg.steps if cfg.remask > 0 else max(1, min(cfg.steps, most))
        gen = torch.Generator().manual_seed(cfg.seed)
        state = SamplerState(canvases, cfg, tokens, states, editable, torch.full(tokens.shape, float("nan")),
                             steps=steps, generator=gen, signals=[[] for _ in canvases])
        state.after_space = torch.zeros(tokens.shape, dtype=torch.bool)
        for b, canvas in enumerate(canvases):
            state.after_space[b, : len(canvas)] = torch.tensor(canvas.after_space(), dtype=torch.bool)
        body = self.adapter.max_length - 2
        self._blocks = []
        for b, canvas in enumerate(canvases):
            pos = editable[b].nonzero().flatten().tolist()
            state.windows += plan_windows(b, len(canvas), pos, body, cfg.context)
            self._blocks.append(plan_blocks(pos, steps, cfg.block_length))
        for hook in self.hooks:
            hook.start(state)
        return state

    # ------------------------------------------------------------------------------------------------ forward
    def _forward(self, state: SamplerState) -> torch.Tensor:
        """Logits (E, V) at every editable position (and the hooks' extra variants, in the same pass)."""
        variants, owners = [state.tokens], []
        for hook in self.hooks:
            extra = hook.extra_tokens(state)
            if extra is not None:
                variants.append(extra)
                owners.append(id(hook))
        # Without hooks or a repetition penalty the (E, V) logits stay on the model's device: on an H200, copying
        # them to the host each step is the likely reason 16 batched candidates ran slower than 16 single runs
        # (bench/RESULTS.md, "GPU"; not re-measured since). Hooks get host tensors (their bookkeeping is on the CPU).
        on_device = not self.hooks and self.config.repetition_penalty == 1.0
        logits, state.query_rows, state.query_pos = windowed_logits(self.adapter, state.windows, variants,
                                                                    state.editable, keep_on_device=on_device)
        state.extra_logits = dict(zip(owners, logits[1:]))
        return logits[0]

    # ------------------------------------------------------------------------------------------------ choose
    def _propose(self, state: SamplerState, logits: torch.Tensor):
        cfg = self.config
        probs = torch.softmax(logits, dim=-1)
        if cfg.temperature > 0:
            scaled = logits / cfg.temperature
            if cfg.top_p < 1.0:
                scaled = top_p_filter(scaled, cfg.top_p)
            u = torch.rand(scaled.shape, generator=state.generator).clamp_(1e-10, 1.0).to(scaled.device)
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
            score = torch.rand(conf.shape, generator=state.generator)
        # the per-position vectors go to the host (small); the (E, V) probabilities stay where the logits are
        return probs, candidates.cpu(), conf.cpu(), score.cpu()

    def _quota(self, b: int, state: SamplerState, masked_now: set[int]) -> tuple[Block | None, list[int], int]:
        """The current block, its masked positions (eligible this step) and how many of them to commit."""
        if state.step >= state.steps - 1:  # last step: everything still masked, in every block
            left = sorted(masked_now)
            return (self._blocks[b][-1] if self._blocks[b] else None), left, len(left)
        for block in self._blocks[b]:
            left = [p for p in block.positions if p in masked_now]
            if not left:
                continue
            local = state.step - block.first_step
            if local >= block.n_steps - 1:
                return block, left, len(left)
            target = round(len(block.positions) * mask_fraction(self.config.schedule, (local + 1) / block.n_steps))
            return block, left, max(1, len(left) - target)
        return None, [], 0

    # ------------------------------------------------------------------------------------------------ loop
    def run(self, canvases: list[Canvas]) -> Iterator[StepEvent]:
        """Denoise ``canvases`` in place, yielding after every step (a UI can stream and stop it)."""
        cfg = self.config
        state = self.prepare(canvases)
        passes0 = self.adapter.forward_passes
        started = time.perf_counter()
        self.stats = SampleStats(generated_tokens=int(state.editable.sum()))
        for step in range(state.steps):
            state.step = step
            if not (state.states == TokenState.MASKED).any():
                break
            logits = self._forward(state)
            if cfg.repetition_penalty != 1.0:
                logits = penalise_repeats(state, logits, cfg.repetition_penalty)
            for hook in self.hooks:
                logits = hook.adjust_logits(state, logits)
            logits = self._no_closing_after_space(state, logits)
            probs, candidates, conf, score = self._propose(state, logits)
            state.probs, state.candidates = probs, candidates
            rows, pos = state.query_rows, state.query_pos
            current = state.tokens[rows, pos].clamp_min(0)
            current_conf = gather_rows(probs, current)
            is_masked = state.states[rows, pos] == TokenState.MASKED
            committed: list[list[int]] = [[] for _ in canvases]
            remasked: list[list[int]] = [[] for _ in canvases]
            for b in range(len(canvases)):
                sel = (rows == b).nonzero().flatten()
                if len(sel) == 0:
                    continue
                index_of = {int(pos[i]): int(i) for i in sel}
                masked_now = {p for p, i in index_of.items() if is_masked[i]}
                block, eligible, k = self._quota(b, state, masked_now)
                if not eligible:
                    continue
                idx = torch.tensor([index_of[p] for p in eligible])
                order = score[idx].argsort(descending=True)
                take = set(order[:k].tolist())
                if cfg.threshold is not None:
                    take |= set((conf[idx] > cfg.threshold).nonzero().flatten().tolist())
                chosen = idx[sorted(take)]
                state.tokens[b, pos[chosen]] = candidates[chosen]
                state.states[b, pos[chosen]] = TokenState.GENERATED
                committed[b] = pos[chosen].tolist()
                if cfg.remask > 0 and step < state.steps - 1 and step < cfg.remask_until * state.steps:
                    remasked[b] = self._remask(state, b, sel, is_masked, current_conf, len(chosen), block)
            for hook in self.hooks:
                hook.adjust_tokens(state)
            # confidence shown for each editable position: the proposal's for masked ones, the current token's else
            tok_now = state.tokens[rows, pos].clamp_min(0)
            still_masked = state.states[rows, pos] == TokenState.MASKED
            state.confidence[rows, pos] = torch.where(still_masked, conf, gather_rows(probs, tok_now))
            records = [self._record(state, b, committed[b], remasked[b]) for b in range(len(canvases))]
            self.stats.steps += 1
            yield StepEvent(step, state.steps, records, state)
        self._finish(state)
        self.stats.forward_passes = self.adapter.forward_passes - passes0
        self.stats.seconds = time.perf_counter() - started

    def _no_closing_after_space(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        """No comma, full stop or closing bracket straight after white space that the draft keeps: the renderer
        keeps the draft's characters, so it would come out as "Meanwhile , the". Applied after the hooks."""
        closing = self.adapter.closing_ids
        rows = state.after_space[state.query_rows, state.query_pos].nonzero().flatten()
        if len(rows) and len(closing):
            logits[rows.to(logits.device)[:, None], closing.to(logits.device)[None, :]] = float("-inf")
        return logits

    def _remask(self, state, b, sel, is_masked, current_conf, n_committed, block: Block) -> list[int]:
        """ReMDM-style self-correction: remask the current block's least confident tokens generated in earlier
        steps (never pinned or fixed ones; never the tokens committed this step)."""
        pos = state.query_pos
        in_block = set(block.positions)
        old = [int(i) for i in sel
               if not is_masked[i] and state.states[b, pos[i]] == TokenState.GENERATED and int(pos[i]) in in_block]
        want = self.config.remask * n_committed  # stochastic rounding keeps small fractions meaningful
        n = min(len(old), int(want) + int(torch.rand((), generator=state.generator) < want - int(want)))
        if n <= 0:
            return []
        worst = sorted(old, key=lambda i: float(current_conf[i]))[:n]
        positions = pos[torch.tensor(worst)]
        state.tokens[b, positions] = self.adapter.mask_id
        state.states[b, positions] = TokenState.MASKED
        return positions.tolist()

    def _record(self, state: SamplerState, b: int, committed: list[int], remasked: list[int]) -> StepRecord:
        n = len(state.canvases[b])
        conf = state.confidence[b, :n]
        signals = state.signals[b][-1] if state.signals[b] and state.signals[b][-1].get("step") == state.step else {}
        return StepRecord(
            step=state.step,
            ids=state.tokens[b, :n].tolist(),
            states=state.states[b, :n].tolist(),
            confidence=[None if math.isnan(c) else round(float(c), 4) for c in conf.tolist()],
            committed=sorted(committed),
            remasked=sorted(remasked),
            signals={k: v for k, v in signals.items() if k != "step"},
        )

    def _finish(self, state: SamplerState) -> None:
        for b, canvas in enumerate(state.canvases):
            n = len(canvas)
            canvas.ids = state.tokens[b, :n].tolist()
            canvas.states = [TokenState(int(s)) for s in state.states[b, :n].tolist()]

    def sample(self, canvases: list[Canvas]) -> list[list[StepRecord]]:
        """Run to completion; return each canvas's trajectory."""
        trajectories: list[list[StepRecord]] = [[] for _ in canvases]
        for event in self.run(canvases):
            for b, record in enumerate(event.records):
                trajectories[b].append(record)
        return trajectories


def penalise_repeats(state: SamplerState, logits: torch.Tensor, penalty: float) -> torch.Tensor:
    """CTRL-style repetition penalty: tokens already generated in a canvas's edited positions become less likely
    there (positive logits divided by ``penalty``, negative ones multiplied). Weak models otherwise tend to
    fill parallel slots with the same frequent words ("the area of the area")."""
    seen = torch.zeros(state.tokens.shape[0], logits.shape[1], dtype=torch.bool)
    generated = state.states == TokenState.GENERATED
    rows, cols = generated.nonzero(as_tuple=True)
    seen[rows, state.tokens[rows, cols]] = True
    hit = seen[state.query_rows]
    return torch.where(hit, torch.where(logits > 0, logits / penalty, logits * penalty), logits)


def gather_rows(probs: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """probs[i, index[i]] for every row, on the host (``probs`` may live on the model's device)."""
    return probs.gather(1, index.to(probs.device)[:, None]).squeeze(1).cpu()


def windowed_logits(adapter: ModelAdapter, windows: list[Window], variants: list[torch.Tensor],
                    editable: torch.Tensor, keep_on_device: bool = False
                    ) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """One forward pass over every window of every (B, N) token variant; logits at the editable positions of each
    window's core. Returns one (E, V) float tensor per variant (special and unused tokens at -inf; on the host
    unless ``keep_on_device``), and the canvas index and position of each of the E rows (the same order for every
    variant)."""
    seqs, rows, cols, q_rows, q_pos = [], [], [], [], []
    for tokens in variants:
        for w in windows:
            core = editable[w.canvas, w.core_start : w.core_end].nonzero().flatten() + w.core_start
            rows.append(torch.full_like(core, len(seqs)))
            cols.append(core - w.start)
            if tokens is variants[0]:
                q_rows.append(torch.full_like(core, w.canvas))
                q_pos.append(core)
            seqs.append(tokens[w.canvas, w.start : w.end])
    input_ids, attention, offset = adapter.frame(seqs)
    logits = adapter.logits_at(input_ids, attention, torch.cat(rows), torch.cat(cols) + offset).float()
    if not keep_on_device:
        logits = logits.cpu()
    logits[:, adapter.banned_ids] = float("-inf")
    return list(logits.chunk(len(variants))), torch.cat(q_rows), torch.cat(q_pos)


def top_p_filter(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of tokens whose probability reaches ``top_p`` (always the top one)."""
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    cum = sorted_logits.softmax(-1).cumsum(-1)
    drop = cum - sorted_logits.softmax(-1) >= top_p
    sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
