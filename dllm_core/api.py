"""The Python API: ``Editor.load().edit("The [[3]] sat on the mat.")``.

Text + markup -> canvas -> sampler (with hooks) -> trajectory -> :class:`EditResult` (text, JSON).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .adapter import ModelAdapter
from .canvas import Canvas, TokenState
from .config import SamplerConfig
from .hooks import SamplerHook
from .limits import MAX_CANDIDATES, MAX_CANVAS_TOKENS, MAX_DRAFT_CHARS
from .markup import Segment, parse
from .ranking import rank_order
from .sampler import Sampler, SampleStats, StepEvent
from .trajectory import StepRecord


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
            **({"guidance": self.guidance} if self.guidance is not None else {}),
        }


def checked(config: SamplerConfig) -> SamplerConfig:
    """``config``, validated; a bad setting is an :class:`EditError`."""
    try:
        return config.validate()
    except ValueError as exc:
        raise EditError(str(exc)) from exc


class Editor:
    """A loaded model plus the edit pipeline. Thread-compatible: every call builds its own canvases and sampler."""

    def __init__(self, adapter: ModelAdapter):
        self.adapter = adapter

    @classmethod
    def load(cls, model_id: str | None = None, **kwargs) -> Editor:
        return cls(ModelAdapter.load(model_id, **kwargs))

    @property
    def tokenizer(self):
        return self.adapter.tokenizer

    # ------------------------------------------------------------------------------------------------ input
    def parse(self, markup: str) -> list[Segment]:
        if not isinstance(markup, str) or not markup.strip():
            raise EditError("the draft is empty: type some text, with [[...]] around what to rewrite")
        if len(markup) > MAX_DRAFT_CHARS:
            raise EditError(f"the draft is {len(markup):,} characters; the limit is {MAX_DRAFT_CHARS:,}")
        try:
            return parse(markup)
        except ValueError as exc:
            raise EditError(str(exc)) from exc

    def canvas(self, markup: str | list[Segment], config: SamplerConfig, lengths: dict[int, int] | None = None
               ) -> Canvas:
        segments = self.parse(markup) if isinstance(markup, str) else markup
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

    # ------------------------------------------------------------------------------------------------ run
    def denoise(self, canvases: list[Canvas], config: SamplerConfig, hooks: Sequence[SamplerHook] = ()
                ) -> list[list[StepRecord]]:
        """Denoise canvases built with :meth:`canvas` (of any lengths) in one batch, in place; their trajectories."""
        return Sampler(self.adapter, checked(config), hooks).sample(canvases)

    def stream(self, markup: str | list[Segment], config: SamplerConfig | None = None,
               hooks: Sequence[SamplerHook] = (), n: int = 1, lengths: dict[int, int] | None = None
               ) -> Iterator[StepEvent | EditResult]:
        """Yield a :class:`StepEvent` after every step, then the :class:`EditResult`."""
        config = checked(config or SamplerConfig())
        if not 1 <= n <= MAX_CANDIDATES:
            raise EditError(f"candidates must be in 1..{MAX_CANDIDATES}, got {n}")
        base = self.canvas(markup, config, lengths)
        canvases = [base.copy() for _ in range(n)]
        sampler = Sampler(self.adapter, config, hooks)
        trajectories: list[list[StepRecord]] = [[] for _ in canvases]
        for event in sampler.run(canvases):
            for b, record in enumerate(event.records):
                trajectories[b].append(record)
            yield event
        texts = [c.render(self.tokenizer) for c in canvases]
        # several candidates: best first where the model can read finished text causally (dllm_core.ranking)
        order, scores = rank_order(self.adapter, texts)
        texts, canvases, trajectories = ([x[i] for i in order] for x in (texts, canvases, trajectories))
        markup_text = markup if isinstance(markup, str) else ""
        yield EditResult(texts[0], markup_text, trajectories[0], canvases[0], sampler.stats, self.adapter.name,
                         config, texts, scores=scores)

    def edit(self, markup: str | list[Segment], config: SamplerConfig | None = None,
             hooks: Sequence[SamplerHook] = (), n: int = 1, lengths: dict[int, int] | None = None) -> EditResult:
        result = None
        for item in self.stream(markup, config, hooks, n, lengths):
            result = item
        assert isinstance(result, EditResult)
        return result
