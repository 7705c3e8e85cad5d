"""Settings checked by pydantic, worded as the project's one-line messages.

A settings dataclass (or the TypedDict of a JSON object's keys) declares its rules on its fields
(``Annotated[int, Field(ge=1, le=MAX_STEPS)]``, a ``Literal`` of the allowed words, ``X | None`` for a setting that
may be unset) and takes the config :data:`STRICT` (a dataclass as ``__pydantic_config__``, a TypedDict through
``pydantic.with_config``): no unknown field, no bool or float where an int is wanted, no text where a number is, no
NaN or infinity. :func:`first_problem` runs pydantic and returns the field of its first complaint with the offending
value; :func:`expectation` words what that field asks for from the same declaration, so a rule lives in one place
and so does its message.
"""

from __future__ import annotations

import types
from functools import lru_cache
from typing import Annotated, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import ConfigDict, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

# revalidate_instances: the dataclasses are built unchecked (a form, a JSON line, dataclasses.replace) and checked when
# asked, so pydantic must look inside an instance rather than trust it
STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, revalidate_instances="always")


@lru_cache(maxsize=None)
def _adapter(cls: type) -> TypeAdapter:
    return TypeAdapter(cls)


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict:
    return get_type_hints(cls, include_extras=True)


def first_problem(value, schema: type | None = None) -> tuple[str, object] | None:
    """``(field name, value)`` of the first field of ``value`` that breaks its declared rule, or None when every field
    keeps it. ``value``: a dataclass with ``__pydantic_config__``, or a dict checked against ``schema`` (a TypedDict
    with the same config); an unknown key comes first (the first in sorted order), with its value."""
    try:
        _adapter(schema or type(value)).validate_python(value)
    except ValidationError as exc:
        unknown = sorted(str(e["loc"][0]) for e in exc.errors() if e["type"] == "extra_forbidden")
        name = unknown[0] if unknown else str(exc.errors()[0]["loc"][0])
        return name, (value.get(name) if isinstance(value, dict) else getattr(value, name))
    return None


def expectation(cls: type, name: str) -> str:
    """What field ``name`` of ``cls`` asks for, in words: "must be an integer in 1..1024", "must be in (0, 1]",
    "must be one of cosine, linear", "must be true or false"; "... or unset" when None is allowed, and the field's
    ``description`` ("must be <description>") where the bounds alone would read badly."""
    return "must be " + _wanted(_hints(cls)[name])


def _wanted(hint) -> str:
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return f"{_wanted(rest[0])} or unset"
    if origin is Literal:
        return f"one of {', '.join(map(str, args))}"
    if origin is Annotated:
        base, bounds = args[0], {}
        for meta in args[1:]:
            if isinstance(meta, FieldInfo):
                if meta.description:
                    return meta.description
                for constraint in meta.metadata:
                    bounds.update({k: v for k in ("ge", "gt", "le") if (v := getattr(constraint, k, None)) is not None})
        if base is int:
            return f"an integer in {bounds['ge']}..{bounds['le']}"
        low = f"({bounds['gt']:g}" if "gt" in bounds else f"[{bounds['ge']:g}"
        return f"in {low}, {bounds['le']:g}]"
    if hint is bool:
        return "true or false"
    if hint is int:
        return "an integer"
    if hint is float:
        return "a number"
    if hint is str:
        return "text"
    return f"a {getattr(hint, '__name__', hint)}"
