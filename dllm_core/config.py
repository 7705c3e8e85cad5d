"""Sampler settings, validated in one place so that the CLI, the API and the web app give the same messages."""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields

from .limits import MAX_BEAMS, MAX_BLOCK_LENGTH, MAX_FLUENCY, MAX_LENGTH_SLACK, MAX_CONTEXT, MAX_REPETITION_PENALTY, MAX_STEPS, MAX_TEMPERATURE

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
    # fluency guidance: weight of the model's causal reading (left to right) next to the denoiser's own logits, with
    # a look-ahead into the text after each span (dllm_core.hooks.CausalFluency); 0: off. Models without a causal
    # reading (MiniLM) ignore it. Best with block_length 1 and one step per token (Editor presets: FLUENT)
    fluency: float = 0.0
    # beam search among the candidates of a left-to-right run (dllm_core.hooks.BeamSearch): the Editor runs this
    # many beams per span length; 1: off. Deterministic (temperature is not used for the beams)
    beams: int = 1
    # the Editor also tries rewrite spans ([[words]] without a length) this many tokens shorter and longer, and the
    # causal reading picks among them (models without one: off)
    length_slack: int = 0

    def validate(self) -> SamplerConfig:
        """Raise ValueError with a user-facing message for any setting out of range (NaN, infinities, booleans and
        strings included); return self."""
        def bad(name, why):
            raise ValueError(f"{name}: {why}")

        def integer(name: str, lo: int, hi: int, why: str = "") -> None:
            value = getattr(self, name)
            if not is_integer(value) or not lo <= value <= hi:
                bad(name, f"{why or f'must be an integer in {lo}..{hi}'}, got {value!r}")

        def number(name: str, lo: float, hi: float, low_open: bool = False, why: str = "") -> None:
            value = getattr(self, name)
            if not is_number(value) or not (lo < value if low_open else lo <= value) or not value <= hi:
                bracket = "(" if low_open else "["
                bad(name, f"{why or f'must be in {bracket}{lo:g}, {hi:g}]'}, got {value!r}")

        integer("steps", 1, MAX_STEPS)
        if self.schedule not in SCHEDULES:
            bad("schedule", f"must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.order not in ORDERS:
            bad("order", f"must be one of {', '.join(ORDERS)}, got {self.order!r}")
        number("temperature", 0.0, MAX_TEMPERATURE)
        number("top_p", 0.0, 1.0, low_open=True)
        integer("block_length", 0, MAX_BLOCK_LENGTH)
        number("remask", 0.0, 1.0)
        number("fluency", 0.0, MAX_FLUENCY)
        integer("beams", 1, MAX_BEAMS)
        integer("length_slack", 0, MAX_LENGTH_SLACK)
        number("remask_until", 0.0, 1.0)
        if self.threshold is not None:
            number("threshold", 0.0, 1.0, low_open=True, why="must be in (0, 1] or unset")
        number("repetition_penalty", 1.0, MAX_REPETITION_PENALTY)
        number("strength", 0.0, 1.0)
        integer("seed", 0, 2**63 - 1, why="must be a non-negative integer")
        integer("context", 0, MAX_CONTEXT)
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SamplerConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def is_integer(value) -> bool:
    """An int and not a bool (``True`` is not a step count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    """A finite real number (NumPy's too), not a bool and not text: NaN passes no range check the wrong way."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def whole_number(value, name: str) -> int:
    """``value`` (a form field: 3, 3.0, "3") as an int; a ValueError naming the setting for 2.7, NaN, "abc" or
    nothing, so a fraction is refused rather than cut to a whole number."""
    try:
        number = float(value) if isinstance(value, str) else value
        if is_integer(number):
            return number
        if is_number(number) and float(number).is_integer():
            return int(number)
    except (TypeError, ValueError):
        pass
    raise ValueError(f"{name}: must be a whole number, got {value!r}")


def threshold_setting(value: float | None) -> float | None:
    """The confidence threshold as a user sets it (CLI flag, web slider): 0 or empty means off (None); NaN or text
    is a ValueError, and anything else goes on to :meth:`SamplerConfig.validate` (which refuses a negative one)."""
    if value is None or value == "":
        return None
    try:
        threshold = float(value)
    except (TypeError, ValueError):
        threshold = math.nan
    if math.isnan(threshold) or isinstance(value, bool):
        raise ValueError(f"threshold: must be a number in (0, 1], or 0 for off, got {value!r}")
    return threshold if threshold != 0 else None


def device_setting(device: str | None) -> str | None:
    """``device`` checked against this machine ("cpu", "cuda", "cuda:1", "mps"; None or "" picks one): a one-line
    ValueError for a name torch does not know or a device this machine does not have."""
    if device is None or device == "":
        return None
    import torch  # noqa: PLC0415 (keeps the CLI's --help fast)

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device: {device!r} is not a device name; use cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"device: {device!r} asks for a CUDA GPU and this machine has none; use cpu")
        if dev.index is not None and dev.index >= count:
            raise ValueError(f"device: {device!r} does not exist; this machine has {count} CUDA GPU(s)")
    elif dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"device: {device!r} (Apple GPU) is not available on this machine; use cpu")
    elif dev.type != "cpu":
        raise ValueError(f"device: {device!r} is not supported; use cpu, cuda, cuda:N or mps")
    return str(dev)
