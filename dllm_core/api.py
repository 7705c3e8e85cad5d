"""The Python API: ``Editor.load().edit("The [[3]] sat on the mat.")``.

Text + markup -> canvas -> sampler (with hooks) -> trajectory -> :class:`EditResult` (text, JSON).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .adapter import ModelAdapter
from .canvas import Canvas
from .config import SamplerConfig
from .markup import Segment, parse
from .sampler import Sampler, SampleStats, SamplerHook, StepEvent
from .trajectory import StepRecord

MAX_DRAFT_CHARS = 50_000
MAX_CANVAS_TOKENS = 16_384
MAX_CANDIDATES = 16


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

    @property
    def seed(self) -> int:
        return self.config.seed

    def to_json(self, tokenizer, *, include_trajectory: bool = True) -> dict:
        return {
            "text": self.text,
            "markup": self.markup,
            "candidates": self.candidates,
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
        }


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
        has_free = any(seg.kind == "fixed" for seg in segments) and len(canvas.positions(0)) > 0
        if not has_span and not (config.strength > 0 and has_free):
            if config.strength > 0:
                raise EditError("everything is pinned: nothing is left to rewrite")
            raise EditError("nothing to edit: mark a span with [[...]], insert with [[N]], or set a strength > 0")
        return canvas

    # ------------------------------------------------------------------------------------------------ run
    def stream(self, markup: str | list[Segment], config: SamplerConfig | None = None,
               hooks: Sequence[SamplerHook] = (), n: int = 1, lengths: dict[int, int] | None = None
               ) -> Iterator[StepEvent | EditResult]:
        """Yield a :class:`StepEvent` after every step, then the :class:`EditResult`."""
        config = config or SamplerConfig()
        try:
            config.validate()
        except ValueError as exc:
            raise EditError(str(exc)) from exc
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
        markup_text = markup if isinstance(markup, str) else ""
        yield EditResult(texts[0], markup_text, trajectories[0], canvases[0], sampler.stats, self.adapter.name,
                         config, texts)

    def edit(self, markup: str | list[Segment], config: SamplerConfig | None = None,
             hooks: Sequence[SamplerHook] = (), n: int = 1, lengths: dict[int, int] | None = None) -> EditResult:
        result = None
        for item in self.stream(markup, config, hooks, n, lengths):
            result = item
        assert isinstance(result, EditResult)
        return result
