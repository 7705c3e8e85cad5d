"""What a run leaves behind: per step, the tokens, per-position confidence, what was committed, remasked or edited."""

from __future__ import annotations

from dataclasses import dataclass, field

from .canvas import TokenState
from .spelling import Spelling


@dataclass
class StepRecord:
    step: int
    ids: list[int]
    states: list[int]  # TokenState values
    confidence: list[float | None]  # None for fixed/pinned positions
    committed: list[int]  # positions committed at this step
    remasked: list[int]  # positions remasked at this step (self-correction)
    signals: dict = field(default_factory=dict)  # guidance values recorded by hooks
    edited: list[int] = field(default_factory=list)  # generated positions given another token at this step (editing)

    @property
    def n_masked(self) -> int:
        return sum(1 for s in self.states if s == TokenState.MASKED)

    def mean_confidence(self) -> float | None:
        vals = [c for c, s in zip(self.confidence, self.states) if c is not None and s == TokenState.GENERATED]
        return sum(vals) / len(vals) if vals else None

    def to_json(self, tokenizer, mask_text: str = "[MASK]", positions: list[int] | None = None) -> dict:
        """JSON-ready step. With ``positions`` (a subset of canvas indices, e.g. what a UI shows), the per-position
        lists cover only those, ``committed``/``remasked`` become indices into them, and ``positions`` is added."""
        view = list(range(len(self.ids))) if positions is None else list(positions)
        local = {p: k for k, p in enumerate(view)}
        states = [self.states[p] for p in view]
        tokens = Spelling.of(tokenizer).pieces([self.ids[p] for p in view])  # " word" starts a word, "ing" glues
        out = {
            "step": self.step,
            "tokens": [mask_text if s == TokenState.MASKED else t for s, t in zip(states, tokens)],
            "confidence": [self.confidence[p] for p in view],
            "states": [STATE_NAMES[s] for s in states],
            "committed": [local[p] for p in self.committed if p in local],
            "remasked": [local[p] for p in self.remasked if p in local],
            "edited": [local[p] for p in self.edited if p in local],
            "masked": self.n_masked,
            "mean_confidence": None if (m := self.mean_confidence()) is None else round(m, 4),
            "signals": self.signals,
        }
        if positions is not None:
            out["positions"] = view
            out["length"] = len(self.ids)
        return out


STATE_NAMES = {int(s): s.name.lower() for s in TokenState}  # 0: "fixed", 1: "pinned", 2: "masked", 3: "generated"
