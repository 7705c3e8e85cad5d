"""Sampler settings, validated in one place so that the CLI, the API and the web app give the same messages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .limits import MAX_BLOCK_LENGTH, MAX_CONTEXT, MAX_REPETITION_PENALTY, MAX_STEPS, MAX_TEMPERATURE

SCHEDULES = ("cosine", "linear")
ORDERS = ("confidence", "margin", "entropy", "random")


@dataclass
class SamplerConfig:
    steps: int = 16  # forward passes (clamped to the number of tokens to generate: every step commits one or more)
    schedule: str = "cosine"  # how fast masks are committed: cosine (slow start) or linear
    order: str = "confidence"  # which masked positions commit first: confidence, margin, entropy or random
    temperature: float = 0.0  # 0: greedy; > 0: Gumbel-max sampling from logits / temperature
    top_p: float = 1.0  # nucleus filtering before sampling (only with temperature > 0)
    block_length: int = 0  # semi-autoregressive blocks of this many masked tokens, left to right (0: off)
    remask: float = 0.0  # self-correction: remask this fraction of each step's commits among low-confidence tokens
    remask_until: float = 0.75  # ... only during this first fraction of the steps
    # also commit every masked position whose confidence exceeds this (Fast-dLLM); None: off. On by default: on the
    # embedded model it cost no accuracy (bench/RESULTS.md), and confident models finish in fewer passes
    threshold: float | None = 0.9
    repetition_penalty: float = 1.0  # > 1: tokens already generated in the edited spans become less likely
    strength: float = 0.0  # re-noise this fraction of the draft's non-pinned tokens before denoising (SDEdit)
    seed: int = 0
    context: int = 96  # tokens of draft context on each side of the edited positions that the model sees
    # writing rules as default hooks: no token repeats its neighbour, no line break inside a paragraph's spans
    writing_rules: bool = True

    def validate(self) -> SamplerConfig:
        """Raise ValueError with a user-facing message for any setting out of range; return self."""
        def bad(name, why):
            raise ValueError(f"{name}: {why}")

        if not isinstance(self.steps, int) or not 1 <= self.steps <= MAX_STEPS:
            bad("steps", f"must be an integer in 1..{MAX_STEPS}, got {self.steps!r}")
        if self.schedule not in SCHEDULES:
            bad("schedule", f"must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.order not in ORDERS:
            bad("order", f"must be one of {', '.join(ORDERS)}, got {self.order!r}")
        if not 0.0 <= float(self.temperature) <= MAX_TEMPERATURE:
            bad("temperature", f"must be in [0, {MAX_TEMPERATURE:g}], got {self.temperature!r}")
        if not 0.0 < float(self.top_p) <= 1.0:
            bad("top_p", f"must be in (0, 1], got {self.top_p!r}")
        if not isinstance(self.block_length, int) or not 0 <= self.block_length <= MAX_BLOCK_LENGTH:
            bad("block_length", f"must be an integer in 0..{MAX_BLOCK_LENGTH}, got {self.block_length!r}")
        if not 0.0 <= float(self.remask) <= 1.0:
            bad("remask", f"must be in [0, 1], got {self.remask!r}")
        if not 0.0 <= float(self.remask_until) <= 1.0:
            bad("remask_until", f"must be in [0, 1], got {self.remask_until!r}")
        if self.threshold is not None and not 0.0 < float(self.threshold) <= 1.0:
            bad("threshold", f"must be in (0, 1] or unset, got {self.threshold!r}")
        if not 1.0 <= float(self.repetition_penalty) <= MAX_REPETITION_PENALTY:
            bad("repetition_penalty", f"must be in [1, {MAX_REPETITION_PENALTY:g}], got {self.repetition_penalty!r}")
        if not 0.0 <= float(self.strength) <= 1.0:
            bad("strength", f"must be in [0, 1], got {self.strength!r}")
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            bad("seed", f"must be a non-negative integer, got {self.seed!r}")
        if not isinstance(self.context, int) or not 0 <= self.context <= MAX_CONTEXT:
            bad("context", f"must be an integer in 0..{MAX_CONTEXT}, got {self.context!r}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SamplerConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def threshold_setting(value: float | None) -> float | None:
    """The confidence threshold as a user sets it (CLI flag, web slider): 0 or empty means off (None)."""
    return float(value) if value and float(value) > 0 else None
