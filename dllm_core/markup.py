"""Edit markup: the one language the CLI, the Python API and the web app share.

    [[some words]]       rewrite this span (same token count)
    [[some words|8]]     rewrite it as 8 tokens;  [[some words|70%]]  as 70 % of its tokens;  [[some words|auto]]
    [[12]]               insert 12 new tokens here (free generation: ``Prompt text [[64]]``)
    {{words}}            pinned: never changed, not by strength re-noising nor by remasking

Everything else is fixed text and comes back character for character. ``\\[[``, ``\\]]``, ``\\{{`` and ``\\}}`` write
the brackets literally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .limits import MAX_LENGTH_PERCENT, MAX_SPAN_TOKENS

SegmentKind = Literal["fixed", "pinned", "rewrite", "insert"]


class MarkupError(ValueError):
    """Bad markup; ``position`` is the 0-based character offset of the problem in the input."""

    def __init__(self, message: str, position: int):
        super().__init__(f"{message} (at character {position})")
        self.position = position


@dataclass(frozen=True)
class Segment:
    """One piece of the draft. ``text`` is the original text (empty for an insertion)."""

    kind: SegmentKind
    text: str
    start: int  # offset of the segment's markup in the input string
    length: int | None = None  # insert: token count; rewrite: target token count (None = same as original)
    ratio: float | None = None  # rewrite: target length as a fraction of the original token count
    auto: bool = False  # rewrite: choose the length by model score

    @property
    def editable(self) -> bool:
        return self.kind in ("rewrite", "insert")


_ESCAPES = {"\\[[": "[[", "\\]]": "]]", "\\{{": "{{", "\\}}": "}}"}
_TOKEN = re.compile(r"\\\[\[|\\\]\]|\\\{\{|\\\}\}|\[\[|\]\]|\{\{|\}\}")
_LENGTH = re.compile(r"^\s*(\d+)\s*$")
_SPEC = re.compile(r"^(?P<body>.*)\|\s*(?:(?P<n>\d+)|(?P<pct>\d+(?:\.\d+)?)\s*%|(?P<auto>auto))\s*$", re.S)
# what reads as a length spec that is not a valid one: a signed or decimal number (with % or not), "%", any case of
# "auto", or nothing after the bar. [[yes|no]] stays words to rewrite.
_BAD_SPEC = re.compile(r"^(?P<body>.*)\|\s*(?P<spec>[-+]?(?:\d[\d.,]*|\.\d+)(?:[eE][-+]?\d+)?\s*%?|%|(?i:auto)|)\s*$",
                       re.S)
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(text: str, what: str = "the draft") -> None:
    """Raise :class:`MarkupError` when ``text`` holds a lone surrogate: what invalid UTF-8 becomes when decoded with
    ``surrogateescape`` (command-line arguments), or a JSON ``"\\ud800"`` escape. No tokenizer can encode one."""
    if m := _SURROGATE.search(text):
        code = ord(m.group())
        what_it_is = (f"the byte 0x{code - 0xDC00:02x}, which is not UTF-8" if 0xDC80 <= code <= 0xDCFF else
                      f"U+{code:04X}, half of a UTF-16 surrogate pair")
        raise MarkupError(f"{what} is not valid text: it holds {what_it_is}", m.start())


def parse(markup: str) -> list[Segment]:
    """Split ``markup`` into segments; raise :class:`MarkupError` naming the position of any problem."""
    if not isinstance(markup, str):
        raise MarkupError("markup must be a string", 0)
    check_text(markup)
    segments: list[Segment] = []
    buf: list[str] = []
    buf_start = 0
    open_kind: str | None = None
    open_at = 0
    pos = 0

    def flush(kind: SegmentKind, start: int) -> None:
        text = "".join(buf)
        buf.clear()
        if kind == "fixed":
            if text:
                segments.append(Segment("fixed", text, start))
        elif kind == "pinned":
            if not text:
                raise MarkupError("empty pinned span {{}}", start)
            segments.append(Segment("pinned", text, start))
        else:
            segments.append(_edit_segment(text, start))

    for match in _TOKEN.finditer(markup):
        tok = match.group()
        buf.append(markup[pos : match.start()])
        pos = match.end()
        if tok in _ESCAPES:
            buf.append(_ESCAPES[tok])
            continue
        if tok in ("[[", "{{"):
            if open_kind is not None:
                raise MarkupError(f"'{tok}' inside the span opened at character {open_at}: spans cannot be nested",
                                  match.start())
            flush("fixed", buf_start)
            open_kind, open_at = tok, match.start()
            continue
        expected = "]]" if open_kind == "[[" else "}}" if open_kind == "{{" else None
        if expected is None:
            raise MarkupError(f"'{tok}' closes nothing", match.start())
        if tok != expected:
            raise MarkupError(f"'{tok}' does not match the '{open_kind}' opened at character {open_at}",
                              match.start())
        flush("rewrite" if open_kind == "[[" else "pinned", open_at)
        open_kind = None
        buf_start = pos
    if open_kind is not None:
        raise MarkupError(f"'{open_kind}' is never closed", open_at)
    buf.append(markup[pos:])
    flush("fixed", buf_start)
    return segments


def _edit_segment(body: str, start: int) -> Segment:
    if m := _LENGTH.match(body):
        n = int(m.group(1))
        if not 1 <= n <= MAX_SPAN_TOKENS:
            raise MarkupError(f"insertion length {n} is out of range 1..{MAX_SPAN_TOKENS}", start)
        return Segment("insert", "", start, length=n)
    if m := _SPEC.match(body):
        text = m.group("body")
        if not text.strip():
            raise MarkupError("a length spec needs text to rewrite, e.g. [[old words|5]]", start)
        if m.group("auto"):
            return Segment("rewrite", text, start, auto=True)
        if m.group("pct"):
            pct = float(m.group("pct"))
            if not 0 < pct <= MAX_LENGTH_PERCENT:
                raise MarkupError(f"length {pct}% is out of range (0, {MAX_LENGTH_PERCENT:g}]", start)
            return Segment("rewrite", text, start, ratio=pct / 100.0)
        n = int(m.group("n"))
        if not 1 <= n <= MAX_SPAN_TOKENS:
            raise MarkupError(f"rewrite length {n} is out of range 1..{MAX_SPAN_TOKENS}", start)
        return Segment("rewrite", text, start, length=n)
    if m := _BAD_SPEC.match(body):
        spec = m.group("spec").strip()
        said = f"'{spec}' is not a length" if spec else "the length after '|' is missing"
        raise MarkupError(f"{said}: write [[words|N]] with N in 1..{MAX_SPAN_TOKENS}, [[words|P%]] with P in "
                          f"(0, {MAX_LENGTH_PERCENT:g}], or [[words|auto]]", start)
    if not body.strip():
        raise MarkupError("empty edit span [[]]: write words to rewrite or a token count such as [[8]]", start)
    return Segment("rewrite", body, start)


def render_markup(segments: list[Segment]) -> str:
    """Inverse of :func:`parse` (up to escapes and spacing inside length specs)."""
    out = []
    for seg in segments:
        text = seg.text
        for raw, lit in _ESCAPES.items():
            text = text.replace(lit, raw)
        if seg.kind == "fixed":
            out.append(text)
        elif seg.kind == "pinned":
            out.append("{{" + text + "}}")
        elif seg.kind == "insert":
            out.append(f"[[{seg.length}]]")
        else:
            spec = "|auto" if seg.auto else f"|{seg.length}" if seg.length else (
                f"|{seg.ratio * 100:g}%" if seg.ratio else "")
            out.append("[[" + text + spec + "]]")
    return "".join(out)


def has_auto_length(markup: str) -> bool:
    """Whether ``markup`` has a ``[[words|auto]]`` span (False for markup that does not parse: running it says why)."""
    try:
        return any(seg.auto for seg in parse(markup))
    except MarkupError:
        return False


def plain_text(segments: list[Segment]) -> str:
    """The draft without markup (what the user would see before the edit)."""
    return "".join(seg.text for seg in segments)
