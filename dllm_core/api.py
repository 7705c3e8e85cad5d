"""The Python API: ``Editor.load().edit("The [[3]] sat on the mat.")``.

Text + markup -> canvas -> sampler (with hooks) -> trajectory -> :class:`EditResult` (text, JSON). Around the
sampler's loop, :meth:`Editor.stream` adds beams and length variants of the canvas before it (``beams``,
``length_slack``) and, after it, renders the candidates, keeps each distinct text once, ranks them best first
(:mod:`dllm_core.ranking`) and asks the gate about span rewrites (:mod:`dllm_core.gate`). :meth:`Editor.edit_many`
edits several drafts, sharing forward passes where that leaves each result as it would be alone (batch jobs).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .adapter import ModelAdapter, ModelLoadError
from .canvas import Canvas, TokenState
from .config import SamplerConfig, device_setting, is_integer
from .gate import gate_for
from .hooks import SamplerHook
from .limits import EDIT_PASSES, MAX_CANDIDATES, MAX_CANVAS_TOKENS, MAX_DRAFT_CHARS
from .markup import Segment, parse
from .ranking import rank_order
from .sampler import Sampler, SampleStats, StepEvent
from .scheduler import clamped_steps, edit_passes
from .trajectory import StepRecord
from .windows import plan_windows, window_budget

MAX_SHARED = 256  # canvases in one shared denoising run (Editor.edit_many)


class EditError(ValueError):
    """A problem with the user's input, worded for the user."""


@dataclass
class EditResult:
    text: str
    markup: str
    trajectory: list[StepRecord]
    canvas: Canvas
    stats: SampleStats
    model: str
    config: SamplerConfig
    candidates: list[str]
    guidance: dict | None = None  # the guidance report (see guidance.check_result) when the run was guided
    scores: list[float] | None = None  # reading score of each candidate (best first; None: model cannot score)
    # span rewrites of existing words on a model that reads causally: does the text read well against the original?
    # {"reads_well": bool, "why": str, "drop": float} (dllm_core.gate); None for anything else
    gate: dict | None = None

    @property
    def seed(self) -> int:
        return self.config.seed

    def to_json(self, tokenizer, *, include_trajectory: bool = True) -> dict:
        return {
            "text": self.text,
            "markup": self.markup,
            "candidates": self.candidates,
            "scores": self.scores,
            "model": self.model,
            "seed": self.seed,
            "config": self.config.to_dict(),
            "stats": {
                "forward_passes": self.stats.forward_passes,
                "steps": self.stats.steps,
                "generated_tokens": self.stats.generated_tokens,
                "seconds": round(self.stats.seconds, 4),
                "tokens_per_second": round(self.stats.generated_tokens / self.stats.seconds, 2)
                if self.stats.seconds > 0 else None,
            },
            "trajectory": [r.to_json(tokenizer) for r in self.trajectory] if include_trajectory else [],
            "gate": self.gate,
            **({"guidance": self.guidance} if self.guidance is not None else {}),
        }


def checked(config: SamplerConfig) -> SamplerConfig:
    """``config``, validated; a bad setting is an :class:`EditError`."""
    try:
        return config.validate()
    except ValueError as exc:
        raise EditError(str(exc)) from exc


def check_draft_length(text: str) -> None:
    """An :class:`EditError` for a draft over :data:`MAX_DRAFT_CHARS` characters: what every edit and every writing
    action checks before any model work."""
    if len(text) > MAX_DRAFT_CHARS:
        raise EditError(f"the draft is {len(text):,} characters; the limit is {MAX_DRAFT_CHARS:,}")


def check_draft(markup: str) -> list[Segment]:
    """The segments of ``markup``; an :class:`EditError` for a draft that is not text, is empty or too long, holds
    invalid characters, or has bad markup. Needs no model, so a command line can check before loading one."""
    if markup is not None and not isinstance(markup, str):
        raise EditError(f"the draft must be text, got {type(markup).__name__}")
    if not markup or not markup.strip():
        raise EditError("the draft is empty: type some text, with [[...]] around what to rewrite")
    check_draft_length(markup)
    try:
        return parse(markup)
    except ValueError as exc:
        raise EditError(str(exc)) from exc


class Editor:
    """A loaded model plus the edit pipeline. Thread-compatible: every call builds its own canvases and sampler.

    ``max_work``: the most token-steps one call may ask for (see :meth:`work`; the budgets of a server are in
    :mod:`dllm_core.limits`); a bigger request is an :class:`EditError` before any forward pass. None: no limit."""

    def __init__(self, adapter: ModelAdapter, max_work: int | None = None):
        self.adapter = adapter
        self.max_work = max_work

    @classmethod
    def load(cls, model_id: str | None = None, *, max_work: int | None = None, batching: bool = False,
             **kwargs) -> Editor:
        """Load a model (see :meth:`ModelAdapter.load`); a device this machine lacks is a :class:`ModelLoadError`.
        ``batching``: concurrent requests on this model share one forward pass per step (:mod:`dllm_core.batching`;
        for servers)."""
        try:
            device_setting(kwargs.get("device"))
        except ValueError as exc:
            raise ModelLoadError(str(exc)) from None
        folder = Path(model_id).expanduser() if model_id else None
        if folder is not None and folder.is_dir() and not (folder / "config.json").is_file():
            raise ModelLoadError(f"{model_id!r} is a folder but holds no model (no config.json in it)")
        adapter = ModelAdapter.load(model_id, **kwargs)
        if batching:
            adapter.enable_step_batching()
        return cls(adapter, max_work)

    @property
    def tokenizer(self):
        return self.adapter.tokenizer

    # ------------------------------------------------------------------------------------------------ input
    def parse(self, markup: str) -> list[Segment]:
        return check_draft(markup)

    def canvas(self, markup: str | list[Segment], config: SamplerConfig, lengths: dict[int, int] | None = None
               ) -> Canvas:
        segments = markup if isinstance(markup, list) else self.parse(markup)
        canvas = Canvas.from_segments(segments, self.tokenizer, lengths)
        if len(canvas) > MAX_CANVAS_TOKENS:
            raise EditError(f"the draft is {len(canvas):,} tokens; the limit is {MAX_CANVAS_TOKENS:,}")
        has_span = any(seg.editable for seg in segments)
        has_free = any(seg.kind == "fixed" for seg in segments) and len(canvas.positions(TokenState.FIXED)) > 0
        if not has_span and not (config.strength > 0 and has_free):
            if config.strength > 0:
                raise EditError("everything is pinned: nothing is left to rewrite")
            raise EditError("nothing to edit: mark a span with [[...]], insert with [[N]], or set a strength > 0")
        return canvas

    def work(self, canvases: list[Canvas], config: SamplerConfig, hooks: Sequence[SamplerHook] = ()
             ) -> tuple[int, int, int]:
        """What denoising ``canvases`` asks of the model: ``(token-steps, tokens read per step, steps)``. Tokens read
        per step are those of every window the sampler plans (the edited positions and their context; with a
        strength, wherever re-noising may land), times the variants hooks add (classifier-free guidance doubles
        them); steps as the scheduler clamps them (one per token to write at most, unless remasking)."""
        body = window_budget(self.adapter)
        variants = 1 + sum(type(h).extra_tokens is not SamplerHook.extra_tokens for h in hooks)
        read = most = 0
        for canvas in canvases:
            masked = canvas.positions(TokenState.MASKED)
            noised = round(config.strength * len(canvas.positions(TokenState.FIXED))) if config.strength > 0 else 0
            reach = sorted(masked + canvas.positions(TokenState.FIXED)) if noised else masked
            read += sum(w.end - w.start for w in plan_windows(0, len(canvas), reach, body, config.context))
            most = max(most, len(masked) + noised)
        steps = clamped_steps(config, most) + edit_passes(config)
        return read * variants * steps, read * variants, steps

    def check_work(self, canvases: list[Canvas], config: SamplerConfig, hooks: Sequence[SamplerHook] = ()) -> None:
        """An :class:`EditError` naming the limit when the request is over this editor's ``max_work``."""
        if self.max_work is None:
            return
        work, read, steps = self.work(canvases, config, hooks)
        if work > self.max_work:
            raise EditError(f"too much work for one request: {read:,} tokens read per step × {steps} steps = "
                            f"{work:,} token-steps; the limit is {self.max_work:,} per request. Use fewer steps, "
                            f"shorter spans or fewer candidates")

    # ------------------------------------------------------------------------------------------------ run
    def denoise(self, canvases: list[Canvas], config: SamplerConfig, hooks: Sequence[SamplerHook] = ()
                ) -> list[list[StepRecord]]:
        """Denoise canvases built with :meth:`canvas` (of any lengths) in one batch, in place; their trajectories."""
        self.check_work(canvases, checked(config), hooks)
        return Sampler(self.adapter, checked(config), hooks).sample(canvases)

    def stream(self, markup: str | list[Segment], config: SamplerConfig | None = None,
               hooks: Sequence[SamplerHook] = (), n: int = 1, lengths: dict[int, int] | None = None
               ) -> Iterator[StepEvent | EditResult]:
        """Yield a :class:`StepEvent` after every step, then the :class:`EditResult`."""
        config = checked(config or SamplerConfig())
        if not 1 <= n <= MAX_CANDIDATES:
            raise EditError(f"candidates must be in 1..{MAX_CANDIDATES}, got {n}")
        segments = markup if isinstance(markup, list) else self.parse(markup)
        base = self.canvas(segments, config, lengths)
        if config.beams > 1 or (config.length_slack and self.adapter.can_score):
            canvases = [v.copy() for v in self.length_variants(segments, base, config, lengths)
                        for _ in range(config.beams)]
        else:
            canvases = [base.copy() for _ in range(n)]
        self.check_work(canvases, config, hooks)
        sampler = Sampler(self.adapter, config, hooks)
        trajectories: list[list[StepRecord]] = [[] for _ in canvases]
        for event in sampler.run(canvases):
            for b, record in enumerate(event.records):
                trajectories[b].append(record)
            yield event
        yield self.result(markup, segments, canvases, trajectories, sampler.stats, config, n)

    def result(self, markup: str | list[Segment], segments: list[Segment], canvases: list[Canvas],
               trajectories: list[list[StepRecord]], stats: SampleStats, config: SamplerConfig, n: int
               ) -> EditResult:
        """The :class:`EditResult` of denoised ``canvases`` (the draft ``segments``, asked for ``n`` candidates):
        rendered, each distinct text once where beams or length variants made more canvases than ``n``, best first
        where the model can read finished text causally (:mod:`dllm_core.ranking`), with the gate's verdict on a span
        rewrite (:mod:`dllm_core.gate`)."""
        texts = [c.render(self.tokenizer) for c in canvases]
        if len(canvases) > n:  # beams and length variants: each distinct text once
            first = {t: i for i, t in reversed(list(enumerate(texts)))}
            keep = sorted(first.values())
            texts, canvases, trajectories = ([x[i] for i in keep] for x in (texts, canvases, trajectories))
        order, scores = rank_order(self.adapter, texts)
        texts, canvases, trajectories = ([x[i] for i in order] for x in (texts, canvases, trajectories))
        markup_text = markup if isinstance(markup, str) else ""
        return EditResult(texts[0], markup_text, trajectories[0], canvases[0], stats, self.adapter.name, config,
                          texts, scores=scores, gate=gate_for(self.adapter, segments, texts[0]))

    def length_variants(self, segments: list[Segment], base: Canvas, config: SamplerConfig,
                        lengths: dict[int, int] | None = None) -> list[Canvas]:
        """``base`` and, where the model can rank them (a causal reading), the same draft with every rewrite span
        that keeps its original length (``[[words]]``) 1..``length_slack`` tokens shorter and longer."""
        counts = Counter(base.segment_of[i] for i in base.positions(TokenState.MASKED))
        flexible = [k for k, seg in enumerate(segments)
                    if seg.kind == "rewrite" and seg.length is None and seg.ratio is None and not seg.auto
                    and k in counts and k not in (lengths or {})]
        variants = [base]
        if not flexible or not self.adapter.can_score:
            return variants
        for d in range(1, config.length_slack + 1):
            for delta in (-d, d):
                if all(counts[k] + delta >= 1 for k in flexible):
                    variants.append(self.canvas(segments, config, {**(lengths or {}),
                                                                   **{k: counts[k] + delta for k in flexible}}))
        return variants

    def edit(self, markup: str | list[Segment], config: SamplerConfig | None = None,
             hooks: Sequence[SamplerHook] = (), n: int = 1, lengths: dict[int, int] | None = None) -> EditResult:
        result = None
        for item in self.stream(markup, config, hooks, n, lengths):
            result = item
        assert isinstance(result, EditResult)
        return result

    def edit_many(self, drafts: Sequence[str], configs: SamplerConfig | Sequence[SamplerConfig] | None = None,
                  n: int | Sequence[int] = 1, *, return_errors: bool = False, max_shared: int = MAX_SHARED
                  ) -> list[EditResult | EditError]:
        """Edit several drafts, sharing forward passes where that leaves each result as it would be alone.

        ``configs`` and ``n`` (candidates) are one for all or one per draft. Returns one :class:`EditResult` per
        draft, in order, equal (in float32) to ``self.edit(draft, config, n=n)`` but for the timing stats (a config
        with beams or span lengths, the fluent and fast writing paths, runs alone through :meth:`edit`); a bad draft raises its :class:`EditError`, or with
        ``return_errors`` takes its place in the list. Drafts share a run when their sampling is deterministic and
        their settings and clamped step counts are equal (:func:`share_key`); the others run alone; a run holds at
        most ``max_shared`` canvases. ``max_work`` applies to each draft. ``stats.forward_passes`` is the passes the
        draft took part in; ``stats.seconds`` the wall time of the run it shared.

        Why only then: the sampler draws its random numbers from one generator per run and clamps the step count to
        the run's longest span, so a result must not depend on its neighbours. In float32 a shared run gives exactly
        the one-draft results; with int8 dynamic quantisation (the CPU default) the activation scale is computed
        over the whole batch, so a token can come out differently than in a one-draft run (still reproducible:
        the same drafts in the same runs give the same results)."""
        k = len(drafts)
        configs = [configs or SamplerConfig()] * k if not isinstance(configs, (list, tuple)) else list(configs)
        ns = [n] * k if not isinstance(n, (list, tuple)) else list(n)
        if len(configs) != k or len(ns) != k:
            raise ValueError("edit_many: give one config and one n for all drafts, or one per draft")
        out: list[EditResult | EditError | None] = [None] * k
        segments: list[list[Segment] | None] = [None] * k
        runs: dict[object, list[tuple[int, list[Canvas]]]] = {}
        for i, (draft, config, m) in enumerate(zip(drafts, configs, ns)):
            try:
                config = configs[i] = checked(config)
                if not is_integer(m) or not 1 <= m <= MAX_CANDIDATES:
                    raise EditError(f"candidates must be in 1..{MAX_CANDIDATES}, got {m!r}")
                segments[i] = self.parse(draft)
                base = self.canvas(segments[i], config)
                canvases = [base.copy() for _ in range(m)]
                self.check_work(canvases, config)
            except EditError as exc:
                if not return_errors:
                    raise
                out[i] = exc
                continue
            if config.beams > 1 or (config.length_slack and self.adapter.can_score):
                # beams and span lengths (the fluent and fast writing paths): the run :meth:`stream` makes, alone
                try:
                    out[i] = self.edit(drafts[i], config, n=m)
                except EditError as exc:
                    if not return_errors:
                        raise
                    out[i] = exc
                continue
            key = share_key(config)
            key = ("alone", i) if key is None else (key, clamped_steps(config, len(base.positions(TokenState.MASKED))))
            while sum(len(c) for _, c in runs.get(key, [])) + len(canvases) > max_shared and key in runs:
                key = (key, "more")  # this run is full: the next one with the same settings
            runs.setdefault(key, []).append((i, canvases))
        for members in runs.values():
            sampler = Sampler(self.adapter, configs[members[0][0]])
            trajectories = sampler.sample([c for _, group in members for c in group])
            at = 0
            for i, group in members:
                trajs = [_until_written(t) for t in trajectories[at : at + len(group)]]
                at += len(group)
                steps = max(len(t) for t in trajs)
                stats = replace(sampler.stats, forward_passes=steps, steps=steps,
                                generated_tokens=sum(len(c.positions(TokenState.GENERATED)) for c in group))
                out[i] = self.result(drafts[i], segments[i], group, trajs, stats, configs[i], len(group))
        return out  # type: ignore[return-value]



def deterministic(config: SamplerConfig) -> bool:
    """Whether a run with ``config`` draws no random numbers (so its seed plays no part)."""
    return config.temperature == 0 and config.order != "random" and config.remask == 0 and config.strength == 0


def share_key(config: SamplerConfig) -> tuple | None:
    """What drafts must have in common to share a denoising run (besides the clamped step count); None: run alone."""
    if not deterministic(config):
        return None
    return tuple(sorted(asdict(replace(config, seed=0)).items()))


def _until_written(trajectory: list[StepRecord]) -> list[StepRecord]:
    """A canvas's records up to the step that wrote its last mask, or its last token edit after that (token
    editing): a one-canvas run stops there, a shared run goes on while other canvases still have masks (and,
    without remasking, changes nothing more in this one)."""
    for s, record in enumerate(trajectory):
        if TokenState.MASKED not in record.states:
            edits = [t for t in range(s + 1, min(len(trajectory), s + 1 + EDIT_PASSES)) if trajectory[t].edited]
            return trajectory[: max([s, *edits]) + 1]
    return trajectory
