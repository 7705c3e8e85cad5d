"""Sampler settings, validated in one place so that the CLI, the API and the web app give the same messages."""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields
from typing import Annotated, Literal, get_args

from pydantic import Field

from .limits import MAX_BEAMS, MAX_BLOCK_LENGTH, MAX_FLUENCY, MAX_LENGTH_SLACK, MAX_CONTEXT, MAX_REPETITION_PENALTY, MAX_STEPS, MAX_TEMPERATURE
from .validation import STRICT, expectation, first_problem

Schedule = Literal["cosine", "linear"]
Order = Literal["confidence", "margin", "entropy", "random"]
SCHEDULES = get_args(Schedule)
ORDERS = get_args(Order)
Share = Annotated[float, Field(ge=0.0, le=1.0)]  # a fraction in [0, 1]


@dataclass
class SamplerConfig:
    __pydantic_config__ = STRICT  # the rules on the fields below: dllm_core.validation

    # forward passes (clamped to the number of tokens to generate: every step commits one or more)
    steps: Annotated[int, Field(ge=1, le=MAX_STEPS)] = 16
    schedule: Schedule = "cosine"  # how fast masks are committed: cosine (slow start) or linear
    order: Order = "confidence"  # which masked positions commit first: confidence, margin, entropy or random
    # 0: greedy; > 0: Gumbel-max sampling from logits / temperature
    temperature: Annotated[float, Field(ge=0.0, le=MAX_TEMPERATURE)] = 0.0
    # nucleus filtering before sampling (only with temperature > 0)
    top_p: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    # semi-autoregressive blocks of this many masked tokens, left to right (0: off)
    block_length: Annotated[int, Field(ge=0, le=MAX_BLOCK_LENGTH)] = 0
    remask: Share = 0.0  # self-correction: remask this fraction of each step's commits among low-confidence tokens
    remask_until: Share = 0.75  # ... only during this first fraction of the steps
    # also commit every masked position whose confidence exceeds this (Fast-dLLM); None: off. On by default: on the
    # embedded model it cost no accuracy (bench/RESULTS.md), and confident models finish in fewer passes
    threshold: Annotated[float, Field(gt=0.0, le=1.0)] | None = 0.9
    # > 1: tokens already generated in the edited spans become less likely
    repetition_penalty: Annotated[float, Field(ge=1.0, le=MAX_REPETITION_PENALTY)] = 1.0
    strength: Share = 0.0  # re-noise this fraction of the draft's non-pinned tokens before denoising (SDEdit)
    seed: Annotated[int, Field(ge=0, le=2**63 - 1, description="a non-negative integer")] = 0
    # tokens of draft context on each side of the edited positions that the model sees
    context: Annotated[int, Field(ge=0, le=MAX_CONTEXT)] = 96
    # writing rules as default hooks: no token repeats its neighbour, no line break inside a paragraph's spans
    writing_rules: bool = True
    # fluency guidance: weight of the model's causal reading (left to right) next to the denoiser's own logits, with
    # a look-ahead into the text after each span (dllm_core.hooks.CausalFluency); 0: off. Models without a causal
    # reading (MiniLM) ignore it. Best with block_length 1 and one step per token (Editor presets: FLUENT)
    fluency: Annotated[float, Field(ge=0.0, le=MAX_FLUENCY)] = 0.0
    # beam search among the candidates of a left-to-right run (dllm_core.hooks.BeamSearch): the Editor runs this
    # many beams per span length; 1: off. Deterministic (temperature is not used for the beams)
    beams: Annotated[int, Field(ge=1, le=MAX_BEAMS)] = 1
    # the Editor also tries rewrite spans ([[words]] without a length) this many tokens shorter and longer, and the
    # causal reading picks among them (models without one: off)
    length_slack: Annotated[int, Field(ge=0, le=MAX_LENGTH_SLACK)] = 0
    # with fluency and one beam: draft and verify. The denoiser's pass drafts the rest of the span, the causal
    # reading checks the draft in one pass, and every drafted token the mixture agrees with is committed in the same
    # step (dllm_core.hooks.CausalFluency); fewer steps than one per token. Greedy only: ignored with beams > 1 or
    # temperature > 0
    speculate: bool = False
    # token editing (token-to-token, as LLaDA2.1): once a canvas has no masks left, up to limits.EDIT_PASSES more
    # passes in which a generated token is replaced by the model's choice where that choice's probability exceeds
    # this (never fixed or pinned text); None: off
    editing_threshold: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    # with editing_threshold: also edit while masks remain, at every step, the generated tokens of the block being
    # written (LLaDA2.1's own loop and diffusers' BlockRefinementScheduler do so); False: only after the last mask
    edit_while_masked: bool = False

    def validate(self) -> SamplerConfig:
        """Raise ValueError with a user-facing message for any setting out of range (NaN, infinities, booleans and
        strings included), as pydantic checks the rules declared on the fields; return self."""
        problem = first_problem(self)
        if problem:
            name, value = problem
            raise ValueError(f"{name}: {expectation(SamplerConfig, name)}, got {value!r}")
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


def threshold_setting(value: float | None, name: str = "threshold") -> float | None:
    """A threshold as a user sets it (CLI flag, web slider; the confidence threshold, or ``editing_threshold``): 0
    or empty means off (None); NaN or text is a ValueError naming ``name``, and anything else goes on to
    :meth:`SamplerConfig.validate` (which refuses a negative one)."""
    if value is None or value == "":
        return None
    try:
        threshold = float(value)
    except (TypeError, ValueError):
        threshold = math.nan
    if math.isnan(threshold) or isinstance(value, bool):
        raise ValueError(f"{name}: must be a number in (0, 1], or 0 for off, got {value!r}")
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
