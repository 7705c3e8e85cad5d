"""The denoising loop: a batch of canvases, one forward pass per step, hooks for guidance.

Each step, as in LLaDA's ``generate``: forward (one pass over windows of every canvas, logits only at editable
positions) -> hooks adjust the logits -> the scheduler proposes tokens and decides which to commit (or remask) per its
schedule -> the loop applies that decision -> hooks adjust the tokens -> record the step. What is committed when lives in :mod:`dllm_core.scheduler`, what the
model reads in :mod:`dllm_core.windows`, the hook interface and the engine's default hooks in
:mod:`dllm_core.hooks`, and what hooks share in :mod:`dllm_core.state`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from . import batching
from .adapter import ModelAdapter
from .canvas import Canvas, TokenState
from .config import SamplerConfig
from .hooks import SamplerHook, default_hooks
from .scheduler import SchedulerOutput, UnmaskingScheduler, add_noise, edit_passes, gather_rows
from .state import SamplerState
from .trajectory import StepRecord
from .windows import plan_windows, window_budget, windowed_logits

__all__ = ["SampleStats", "Sampler", "SamplerHook", "SamplerState", "StepEvent"]


@dataclass
class StepEvent:
    step: int
    steps: int
    records: list[StepRecord]
    state: SamplerState

    def surface_texts(self, b: int = 0) -> list[str | None]:
        """Per position of canvas ``b``: the draft's own spelling for tokens from the draft, None for new ones."""
        return self.state.canvases[b].surface_texts()

    def text(self, tokenizer, mask_text: str, b: int = 0) -> str:
        """The text of canvas ``b`` as it stood after this step, masks still to fill shown as ``mask_text`` (what a
        page shows while a run streams)."""
        canvas = self.state.canvases[b].copy()
        record = self.records[b]
        canvas.ids = list(record.ids)
        canvas.states = [TokenState(int(s)) for s in record.states]
        return canvas.render(tokenizer, mask_text)


@dataclass
class SampleStats:
    forward_passes: int = 0
    steps: int = 0
    generated_tokens: int = 0
    seconds: float = 0.0


class Sampler:
    def __init__(self, adapter: ModelAdapter, config: SamplerConfig | None = None,
                 hooks: Sequence[SamplerHook] = ()):
        self.adapter = adapter
        self.config = (config or SamplerConfig()).validate()
        before, after = default_hooks(adapter, self.config)
        self.hooks = [*before, *hooks, *after]
        self.scheduler = UnmaskingScheduler(self.config, adapter.mask_id)

    # ------------------------------------------------------------------------------------------------ setup
    def prepare(self, canvases: list[Canvas]) -> SamplerState:
        cfg = self.config
        for b, canvas in enumerate(canvases):
            add_noise(canvas, cfg, b)
        n_max = max(len(c) for c in canvases)
        tokens = torch.full((len(canvases), n_max), -1, dtype=torch.long)
        states = torch.full((len(canvases), n_max), -1, dtype=torch.long)
        for b, canvas in enumerate(canvases):
            tokens[b, : len(canvas)] = torch.tensor(canvas.ids, dtype=torch.long)
            states[b, : len(canvas)] = torch.tensor([int(s) for s in canvas.states], dtype=torch.long)
        editable = states == TokenState.MASKED
        steps = self.scheduler.set_timesteps(editable)
        state = SamplerState(canvases, cfg, tokens, states, editable, torch.full(tokens.shape, float("nan")),
                             steps=steps, generator=torch.Generator().manual_seed(cfg.seed),
                             signals=[[] for _ in canvases], locked=[{} for _ in canvases])
        body = window_budget(self.adapter)
        for b, canvas in enumerate(canvases):
            state.windows += plan_windows(b, len(canvas), editable[b].nonzero().flatten().tolist(), body,
                                          cfg.context)
        for hook in self.hooks:
            hook.start(state)
        return state

    # ------------------------------------------------------------------------------------------------ loop
    def run(self, canvases: list[Canvas]) -> Iterator[StepEvent]:
        """Denoise ``canvases`` in place, yielding after every step (a UI can stream and stop it). On a model with
        step batching (:mod:`dllm_core.batching`) the run holds a session from its first step to its end or Stop,
        and its forward passes are shared with the other requests running then."""
        state = self.prepare(canvases)
        passes0 = self.adapter.forward_passes
        started = time.perf_counter()
        self.stats = SampleStats(generated_tokens=int(state.editable.sum()))
        passes = edit_passes(self.config)  # token editing: passes after the last mask
        polished, edited = 0, False
        with batching.joined(self.adapter) as session:
            for step in range(state.steps + passes):
                state.step = step
                if not (state.states == TokenState.MASKED).any():
                    if polished >= passes or (polished and not edited):  # the last pass edited nothing
                        break
                    polished += 1
                logits = self._forward(state, session)
                for hook in self.hooks:
                    logits = hook.adjust_logits(state, logits)
                out = self.scheduler.step(state, logits)  # decides; the loop applies (as diffusers' loops do)
                masked = state.states == TokenState.MASKED
                out.apply(state, self.scheduler.mask_id)
                state.probs, state.candidates = out.probs, out.candidates
                for hook in self.hooks:
                    hook.adjust_tokens(state)
                self._count_hook_commits(state, out, masked)
                edited = any(out.edited)
                self._show_confidence(state, out)
                records = [self._record(state, b, out) for b in range(len(canvases))]
                self.stats.steps += 1
                with batching.parked(session):
                    yield StepEvent(step, state.steps, records, state)
        self._finish(state)
        # batched: the passes this request rode in (the adapter's counter also counts everyone else's)
        self.stats.forward_passes = session.calls if session is not None else self.adapter.forward_passes - passes0
        self.stats.seconds = time.perf_counter() - started

    def sample(self, canvases: list[Canvas]) -> list[list[StepRecord]]:
        """Run to completion; return each canvas's trajectory."""
        trajectories: list[list[StepRecord]] = [[] for _ in canvases]
        for event in self.run(canvases):
            for b, record in enumerate(event.records):
                trajectories[b].append(record)
        return trajectories

    # ------------------------------------------------------------------------------------------------ parts
    def _forward(self, state: SamplerState, session: batching.Session | None = None) -> torch.Tensor:
        """Logits (E, V) at every editable position (and the hooks' extra variants, in the same pass)."""
        variants, owners = [state.tokens], []
        for hook in self.hooks:
            extra = hook.extra_tokens(state)
            if extra is not None:
                variants.append(extra)
                owners.append(hook)
        # When every hook works on the model's device (the default ones do), the (E, V) logits stay there: on an
        # H200, copying them to the host each step is the likely reason 16 batched candidates ran slower than 16
        # single runs (bench/RESULTS.md, "GPU"; not re-measured since). Otherwise hooks get host tensors.
        on_device = all(hook.on_device for hook in self.hooks)
        logits, state.query_rows, state.query_pos = windowed_logits(self.adapter, state.windows, variants,
                                                                    state.editable, keep_on_device=on_device,
                                                                    session=session)
        state.extra_logits = dict(zip(owners, logits[1:]))
        return logits[0]

    @staticmethod
    def _count_hook_commits(state: SamplerState, out: SchedulerOutput, masked: torch.Tensor) -> None:
        """Positions a hook committed after the scheduler (a verified draft) join the step's ``committed``."""
        for b, p in (masked & (state.states != TokenState.MASKED)).nonzero().tolist():
            if p not in out.committed[b]:
                out.committed[b].append(p)
                out.committed_tokens[b].append(int(state.tokens[b, p]))

    @staticmethod
    def _show_confidence(state: SamplerState, out: SchedulerOutput) -> None:
        """Confidence shown for each editable position: the proposal's for masked ones, the current token's else."""
        rows, pos = state.query_rows, state.query_pos
        tok_now = state.tokens[rows, pos].clamp_min(0)
        still_masked = state.states[rows, pos] == TokenState.MASKED
        state.confidence[rows, pos] = torch.where(still_masked, out.confidence, gather_rows(out.probs, tok_now))

    @staticmethod
    def _record(state: SamplerState, b: int, out: SchedulerOutput) -> StepRecord:
        n = len(state.canvases[b])
        return StepRecord(
            step=state.step,
            ids=state.tokens[b, :n].tolist(),
            states=state.states[b, :n].tolist(),
            confidence=[None if math.isnan(c) else round(float(c), 4) for c in state.confidence[b, :n].tolist()],
            committed=sorted(out.committed[b]),
            remasked=sorted(out.remasked[b]),
            signals=state.recorded_signals(b),
            edited=sorted(out.edited[b]) if out.edited else [],
        )

    @staticmethod
    def _finish(state: SamplerState) -> None:
        for b, canvas in enumerate(state.canvases):
            n = len(canvas)
            canvas.ids = state.tokens[b, :n].tolist()
            canvas.states = [TokenState(int(s)) for s in state.states[b, :n].tolist()]
