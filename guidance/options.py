"""What a guided edit asks for: :class:`GuidanceOptions`, validated before anything runs."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Annotated

from pydantic import Field

from dllm_core.api import EditError
from dllm_core.validation import STRICT, expectation, first_problem

from .classifier import available_classifiers
from .constraints import normalise_words
from .length import valid_length_target
from .limits import MAX_ATTRIBUTE_STRENGTH, MAX_CFG, MAX_LENGTH_TARGET, MAX_TOP_K, MAX_WORD_CHARS, MAX_WORDS

EXACT_STRENGTH = 8.0  # attribute guidance strength when an attribute is asked for without one: exact rescoring
GRADIENT_STRENGTH = 3.0  # ... with the gradient term (weaker per unit: see bench/GUIDANCE.md)
# how the messages name the settings (the rest by their field names)
LABELS = {"strength": "guidance strength", "cfg": "cfg scale"}
LENGTH_RULE = f"length target must be in (0, {MAX_LENGTH_TARGET:g}] and its spread in [0, target)"


def default_strength(exact: bool = True) -> float:
    """The attribute guidance strength used when an attribute is asked for without one (the edit command, batch
    jobs and the web app all ask here)."""
    return EXACT_STRENGTH if exact else GRADIENT_STRENGTH


@dataclass
class GuidanceOptions:
    __pydantic_config__ = STRICT  # the rules on the fields below: dllm_core.validation

    require: list[str] = field(default_factory=list)  # words/phrases that must appear in the edited spans
    ban: list[str] = field(default_factory=list)  # words/phrases that must never be generated
    attribute: str | None = None  # classifier name, e.g. "sentiment" (see available_attributes())
    target: str | None = None  # class to steer toward, e.g. "positive"
    # classifier guidance strength γ (0: off; ~3 gradient, ~8 exact)
    strength: Annotated[float, Field(ge=0.0, le=MAX_ATTRIBUTE_STRENGTH)] = 0.0
    # top-k rescoring (default: it is what moved an outside judge in bench/GUIDANCE.md); False = the gradient term
    exact: bool = True
    top_k: Annotated[int, Field(ge=1, le=MAX_TOP_K)] = 16  # candidates rescored per position in exact mode
    cfg: Annotated[float, Field(ge=0.0, le=MAX_CFG)] = 0.0  # classifier-free guidance scale w (0: off)
    length_target: float = 1.0  # [[...|auto]] spans: target length as a fraction of the original
    length_spread: float = 0.2  # ... candidates from target - spread to target + spread
    length_candidates: int = 5  # ... how many candidate lengths

    @property
    def active(self) -> bool:
        """Whether any hook is needed (auto length is asked for by the markup, not here)."""
        return bool(self.require or self.ban or (self.attribute and self.strength > 0) or self.cfg > 0)

    def validate(self) -> GuidanceOptions:
        self.require, self.ban = normalise_words(self.require), normalise_words(self.ban)
        for name, words in (("require", self.require), ("ban", self.ban)):
            if len(words) > MAX_WORDS:
                raise EditError(f"{name}: at most {MAX_WORDS} words, got {len(words)}")
            for w in words:
                if len(w) > MAX_WORD_CHARS or not re.search(r"\w", w):
                    raise EditError(f"{name}: {w!r} is not a word or short phrase")
        problem = first_problem(self)  # types, NaN and the bounds declared on the fields
        if problem:
            name, value = problem
            if name in ("length_target", "length_spread"):
                raise EditError(LENGTH_RULE)
            raise EditError(f"{LABELS.get(name, name)} {expectation(GuidanceOptions, name)}, got {value}")
        if self.strength > 0 and not (self.attribute and self.target):
            raise EditError("guidance strength needs an attribute and a target, e.g. sentiment=positive")
        if self.attribute and self.attribute not in available_classifiers():
            raise EditError(f"unknown attribute {self.attribute!r}; available: "
                            f"{', '.join(available_classifiers()) or 'none'}")
        if not valid_length_target(self.length_target, self.length_spread):
            raise EditError(LENGTH_RULE)
        return self

    def to_dict(self) -> dict:
        return asdict(self)

