"""What a run leaves behind: per step, the tokens, per-position confidence, what was committed or remasked."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StepRecord:
    step: int
    ids: list[int]
    states: list[int]  # TokenState values
    confidence: list[float | None]  # None for fixed/pinned positions
    committed: list[int]  # positions committed at this step
    remasked: list[int]  # positions remasked at this step (self-correction)
    signals: dict = field(default_factory=dict)  # guidance values recorded by hooks

    @property
    def n_masked(self) -> int:
        return sum(1 for s in self.states if s == 2)

    def mean_confidence(self) -> float | None:
        vals = [c for c, s in zip(self.confidence, self.states) if c is not None and s == 3]
        return sum(vals) / len(vals) if vals else None

    def to_json(self, tokenizer, mask_text: str = "[MASK]") -> dict:
        tokens = [mask_text if s == 2 else t for s, t in zip(self.states, tokenizer.convert_ids_to_tokens(self.ids))]
        return {
            "step": self.step,
            "tokens": tokens,
            "confidence": self.confidence,
            "states": [STATE_NAMES[s] for s in self.states],
            "committed": self.committed,
            "remasked": self.remasked,
            "masked": self.n_masked,
            "mean_confidence": None if (m := self.mean_confidence()) is None else round(m, 4),
            "signals": self.signals,
        }


STATE_NAMES = {0: "fixed", 1: "pinned", 2: "masked", 3: "generated"}
