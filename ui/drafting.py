"""Turning a selection in the draft into edit markup: snap it to whole words, check it lies in plain text, keep an
undo stack. No Gradio here."""

from __future__ import annotations

import re

from dllm_core import EditError, parse
from dllm_core.limits import MAX_DRAFT_CHARS

MAX_UNDO = 50


def snap_selection(text: str, start: int, end: int) -> tuple[int, int]:
    """Grow a selection to whole words and drop surrounding white space."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    if start > end:
        start, end = end, start
    while start > 0 and start < len(text) and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while 0 < end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def fixed_ranges(draft: str) -> list[tuple[int, int]]:
    """Character ranges of the draft's markup where new marks may go: the plain text (outside every [[...]] and
    {{...}}), and the empty gaps at the edges of marked spans."""
    segments = parse(draft)
    ranges = []
    for k, seg in enumerate(segments):
        end = segments[k + 1].start if k + 1 < len(segments) else len(draft)
        ranges.append((seg.start, end) if seg.kind == "fixed" else (seg.start, seg.start))
    return [*ranges, (len(draft), len(draft))]


def check_length(draft) -> None:
    """An :class:`EditError` for a draft over the limit (MAX_DRAFT_CHARS): nothing works on it, nothing keeps it."""
    if isinstance(draft, str) and len(draft) > MAX_DRAFT_CHARS:
        raise EditError(f"the draft is {len(draft):,} characters; the limit is {MAX_DRAFT_CHARS:,}: shorten it, "
                        "or select a part and work on that")


def check_selection(draft: str, start, end) -> tuple[int, int]:
    """A snapped selection that lies in plain text, or an :class:`EditError` saying what is wrong."""
    if not isinstance(draft, str) or not draft.strip():
        raise EditError("the draft is empty: type or paste some text first")
    check_length(draft)
    try:
        start, end = int(start or 0), int(end or 0)
    except (TypeError, ValueError, OverflowError) as exc:
        raise EditError("the selection could not be read: select the words again") from exc
    start, end = snap_selection(draft, start, end)
    if start == end:
        raise EditError("select some words in the draft first")
    try:
        ranges = fixed_ranges(draft)
    except ValueError as exc:
        raise EditError(f"the draft's markup is broken: {exc}") from exc
    if not any(lo <= start and end <= hi for lo, hi in ranges):
        raise EditError("the selection overlaps text that is already marked: clear the marks or select plain text")
    if re.search(r"\\?(\[\[|\]\]|\{\{|\}\})", draft[start:end]):
        raise EditError("the selection contains markup brackets")
    return start, end


def push_undo(undo: list[str] | None, draft: str) -> list[str]:
    return ([*(undo or []), draft])[-MAX_UNDO:]
