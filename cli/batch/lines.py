"""The input lines of a batch job: what a line may hold (:data:`LINE_KEYS`, :data:`GUIDANCE_KEYS`), the job-wide
defaults (:class:`LineDefaults`), and :func:`parse_line`, which checks a line without a model, as the ``edit`` and
``action`` commands check their input, and makes it a :class:`Task` for a worker."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

from pydantic import Field, with_config
from typing_extensions import TypedDict

from dllm_core.api import check_draft, share_key
from dllm_core.config import SamplerConfig, is_integer, is_number
from dllm_core.limits import MAX_CANDIDATES, MAX_DRAFT_BYTES, MAX_DRAFT_CHARS
from dllm_core.markup import MarkupError, check_text, has_auto_length
from dllm_core.validation import STRICT, expectation, first_problem
from writing.actions import MAX_ALTERNATIVES, TONES, count_words, parse_target, sampling_temperature


@with_config(STRICT)
class LineKeys(TypedDict, total=False):
    """What a line may hold, with the types pydantic checks (Any: checked by hand below, in context)."""

    id: Any
    text: Any
    steps: int
    seed: int
    candidates: int
    temperature: float
    strength: float
    guidance: Any
    action: Any
    target: Any
    attribute: Any
    keep: Any


Text = Annotated[str | None, Field(description="text")]


@with_config(STRICT)
class GuidanceKeys(TypedDict, total=False):
    """The options of a guided edit (GuidanceOptions' fields, which check their ranges), with their types."""

    require: Any
    ban: Any
    attribute: Text
    target: Text
    strength: float
    exact: bool
    top_k: int
    cfg: float
    length_target: float
    length_spread: float
    length_candidates: int


LINE_KEYS = tuple(LineKeys.__annotations__)
GUIDANCE_KEYS = tuple(GuidanceKeys.__annotations__)
MODES = ("edit", "shorten", "rephrase", "tone")
MAX_ID_CHARS = 1000
MAX_LINE_BYTES = MAX_DRAFT_BYTES + 64 * 1024  # UTF-8 of the longest draft plus room for the options


class JobError(ValueError):
    """A problem with the job itself (files, flags, the cluster), worded for the user; the CLI's status 2."""


@dataclass
class LineDefaults:
    """Job-wide defaults of the per-line options (the flags of ``python -m dllm_core batch``).

    ``strength`` is what it is in the matching command: the re-noised share of the draft for edits (default 0), the
    re-written share of the words for rephrase and tone (default 0.5). ``temperature`` None: 0 for edits, and for
    actions sampled with several alternatives, greedy for one (``writing.actions.sampling_temperature``, as the
    ``action`` command). ``guidance``: GuidanceOptions fields (see :data:`GUIDANCE_KEYS`) for edits."""

    config: SamplerConfig = field(default_factory=SamplerConfig)
    candidates: int = 1
    action: str = "edit"  # or shorten, rephrase, tone
    temperature: float | None = None
    strength: float | None = None
    target: str | int | float = "70%"  # shorten: words or a share
    attribute: str | None = None  # tone: NAME=TARGET
    keep: tuple[str, ...] = ()  # actions: words every alternative keeps
    guidance: dict = field(default_factory=dict)


@dataclass
class Task:
    """One checked input line, ready for a worker."""

    line: int  # 1-based line number in the input
    id: str | int
    text: str
    config: SamplerConfig
    n: int = 1  # candidates (alternatives for actions)
    action: str = "edit"
    action_args: dict = field(default_factory=dict)
    guidance: object | None = None  # guidance.GuidanceOptions for a guided edit

    @property
    def shares(self) -> bool:
        return self.action == "edit" and self.guidance is None and share_key(self.config) is not None

    def sort_key(self) -> tuple:
        """Lines that can share a run together, then by length (similar canvases pad little)."""
        group = repr(share_key(self.config)) if self.shares else f"~{self.action}"
        return (group, len(self.text), self.line)


class LineError(ValueError):
    def __init__(self, message: str, id_: str | int | None = None):
        super().__init__(message)
        self.id = id_


def error_record(line: int, id_: str | int | None, message: str) -> dict:
    return {"id": id_, "line": line, "error": message}


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def parse_line(data: bytes | str, line: int, defaults: LineDefaults | None = None) -> Task | None:
    """Check one input line without a model, as the ``edit`` command checks its input; None for a blank line. A
    :class:`LineError` (with the id when the line has a usable one) says what is wrong."""
    defaults = defaults or LineDefaults()
    if isinstance(data, bytes):
        if len(data) > MAX_LINE_BYTES:
            raise LineError(f"the line is {len(data):,} bytes; the limit is {MAX_LINE_BYTES:,}")
        try:
            text = data.decode("utf-8-sig" if line == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise LineError(f"not valid UTF-8: byte 0x{data[exc.start]:02x} at byte {exc.start}") from None
    else:
        text = data
    if not text.strip():
        return None
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise LineError(f"not a JSON object: {str(exc).splitlines()[0]}") from None
    if not isinstance(obj, dict):
        raise LineError(f"expected a JSON object with \"id\" and \"text\", got {type(obj).__name__}")
    id_ = obj.get("id")
    if not (is_integer(id_) or isinstance(id_, str) and 0 < len(id_) <= MAX_ID_CHARS):
        raise LineError(f"\"id\" must be a string of 1..{MAX_ID_CHARS} characters or an integer, got {id_!r:.60}")
    if isinstance(id_, str):
        try:
            check_text(id_, "the id")
        except MarkupError as exc:
            raise LineError(str(exc)) from None
    try:
        return _task(obj, line, id_, defaults)
    except (ValueError, TypeError) as exc:  # EditError, MarkupError, the settings' ValueErrors
        raise LineError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, id_) from None


def _task(obj: dict, line: int, id_: str | int, defaults: LineDefaults) -> Task:
    problem = first_problem(obj, LineKeys)
    if problem and problem[0] not in LINE_KEYS:
        raise ValueError(f"unknown key {problem[0]!r}; a line may have {', '.join(LINE_KEYS)}")
    if "text" not in obj:
        raise ValueError("the line has no \"text\"")
    text = obj["text"]
    if not isinstance(text, str):
        raise ValueError(f"\"text\" must be a string, got {type(text).__name__}")
    action = obj.get("action", defaults.action)
    if action is None:
        action = "edit"
    if action not in MODES:
        raise ValueError(f"action: must be one of {', '.join(MODES)}, got {action!r:.60}")
    if problem:  # steps, seed and candidates integers, temperature and strength numbers
        raise ValueError(f"{problem[0]}: {expectation(LineKeys, problem[0])}, got {problem[1]!r:.60}")
    n = obj.get("candidates", defaults.candidates)
    temperature = obj.get("temperature", defaults.temperature)
    strength = obj.get("strength", defaults.strength)
    config = replace(defaults.config, steps=obj.get("steps", defaults.config.steps),
                     seed=obj.get("seed", defaults.config.seed))
    if action == "edit":
        check_draft(text)
        if temperature is not None:
            config = replace(config, temperature=temperature)
        if strength is not None:
            config = replace(config, strength=strength)
        config.validate()
        if not 1 <= n <= MAX_CANDIDATES:
            raise ValueError(f"candidates: must be in 1..{MAX_CANDIDATES}, got {n}")
        for key in ("target", "attribute", "keep"):
            if key in obj:
                raise ValueError(f"{key!r} is an option of the actions; this line is an edit (set \"action\")")
        guidance = _guidance(obj.get("guidance"), defaults.guidance, text)
        return Task(line, id_, text, config, n, guidance=guidance)
    # a writing action: plain text in, alternatives out
    check_text(text, "the text")
    if not text.strip():
        raise ValueError("the text is empty")
    if len(text) > MAX_DRAFT_CHARS:
        raise ValueError(f"the text is {len(text):,} characters; the limit is {MAX_DRAFT_CHARS:,}")
    if "guidance" in obj:
        raise ValueError("\"guidance\" is an option of edits; tone steers with \"attribute\"")
    if not 1 <= n <= MAX_ALTERNATIVES:
        raise ValueError(f"candidates: an action gives 1..{MAX_ALTERNATIVES} alternatives, got {n}")
    config = replace(config, strength=0.0,
                     temperature=temperature if temperature is not None else sampling_temperature(n))
    config.validate()
    args: dict = {"k": n, "config": config, "seed": config.seed, "keep": tuple(_words(obj.get("keep", defaults.keep),
                                                                                        "keep"))}
    if action == "shorten":
        target = obj.get("target", defaults.target)
        if not (isinstance(target, str) or is_number(target)):
            raise ValueError(f"target: words (12) or a share (0.7, \"70%\"), got {target!r:.60}")
        parse_target(target, count_words(text))  # a target out of range is refused here, before any model
        args["target"] = target
        if "strength" in obj:
            raise ValueError("\"strength\" is an option of edits, rephrase and tone, not of shorten")
    else:
        share = 0.5 if strength is None else strength
        if not 0 < share <= 1:
            raise ValueError(f"strength: the share of words to re-write must be in (0, 1], got {share}")
        args["strength"] = share
    if action == "tone":
        attribute = obj.get("attribute", defaults.attribute) or "formal"
        if not isinstance(attribute, str) or ("=" not in attribute and attribute not in TONES):
            raise ValueError(f"tone needs \"attribute\": one of {', '.join(TONES)}, or \"NAME=TARGET\" of a "
                             "classifier, e.g. sentiment=positive")
        check_text(attribute, "attribute")
        if "=" in attribute:
            args["attribute"], args["target"] = (x.strip() for x in attribute.split("=", 1))
        else:
            args["attribute"] = attribute
    elif "attribute" in obj:
        raise ValueError(f"\"attribute\" is an option of tone, not of {action}")
    if action != "shorten" and "target" in obj:
        raise ValueError(f"\"target\" is an option of shorten, not of {action}")
    return Task(line, id_, text, config, n, action, args)


def _words(value, name: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(w, str) for w in items):
        raise ValueError(f"{name}: a word or a list of words, got {value!r:.60}")
    for w in items:
        check_text(w, name)
    return list(items)


def _guidance(line_options, defaults: dict, text: str):
    """GuidanceOptions for a guided edit (job defaults, then the line's own), or None for a plain edit."""
    if line_options is not None and not isinstance(line_options, dict):
        raise ValueError(f"guidance: a JSON object of {', '.join(GUIDANCE_KEYS)}, got {type(line_options).__name__}")
    merged = {**defaults, **(line_options or {})}
    if not merged and not has_auto_length(text):
        return None
    try:
        from guidance import GuidanceOptions  # noqa: PLC0415 (optional package)
        from guidance.options import default_strength  # noqa: PLC0415
    except ImportError:
        raise ValueError("guidance and [[...|auto]] spans need the guidance package, which is not installed") from None
    problem = first_problem(merged, GuidanceKeys)
    if problem and problem[0] not in GUIDANCE_KEYS:
        raise ValueError(f"guidance: unknown option {problem[0]!r}; use {', '.join(GUIDANCE_KEYS)}")
    if problem:
        raise ValueError(f"guidance {problem[0]}: {expectation(GuidanceKeys, problem[0])}, got {problem[1]!r:.60}")
    for key in ("require", "ban"):
        if key in merged:
            merged[key] = _words(merged[key], f"guidance {key}")
    for key in ("attribute", "target"):
        if merged.get(key) is not None:
            check_text(merged[key], f"guidance {key}")
    if isinstance(merged.get("attribute"), str) and "=" in merged["attribute"]:
        merged["attribute"], merged["target"] = (x.strip() for x in merged["attribute"].split("=", 1))
    if merged.get("attribute") and "strength" not in merged:  # as the edit command
        merged["strength"] = default_strength(merged.get("exact", True))
    options = GuidanceOptions(**merged).validate()
    return options if options.active or has_auto_length(text) else None
