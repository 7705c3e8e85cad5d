"""Changing the draft by hand (:class:`Marking`, a part of :class:`ui.handlers.Studio`): the plan of its markup,
masking, pinning or inserting at the selection, clearing the marks, and Undo and Accept (a run's result or an
action's alternative into the draft). The selection and undo-stack helpers without Gradio are :mod:`ui.drafting`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dllm_core import EditError, parse
from dllm_core.config import whole_number
from dllm_core.limits import MAX_DRAFT_CHARS, MAX_LENGTH_PERCENT, MAX_SPAN_TOKENS
from dllm_core.markup import plain_text

from . import guided
from .drafting import check_length, check_selection, fixed_ranges, push_undo
from .render import message_html, plan_html, short

if TYPE_CHECKING:
    from dllm_core import Editor

    from .layout import Page

LENGTH_MODES = ("keep length", "tokens", "percent", "auto")  # auto: the guidance package picks the length


class Marking:
    """The draft's handlers of :class:`ui.handlers.Studio` (which provides ``editor``, ``ui`` and ``error``)."""

    editor: Editor | None
    ui: Page

    def preview(self, draft: str) -> dict:
        """What the markup asks for, in words (or what is wrong with it)."""
        return {self.ui.plan: self.plan(draft)}

    def plan(self, draft: str) -> str:
        return plan_html(draft, self.editor.tokenizer if self.editor else None, MAX_DRAFT_CHARS)

    def _marked(self, draft: str, new: str, undo, note: str) -> dict:
        return {self.ui.draft: new, self.ui.undo_stack: push_undo(undo, draft),
                self.ui.message: message_html(note, "ok")}

    def mask_selection(self, draft: str, start, end, mode: str, n_tokens, percent, undo) -> dict:
        """Wrap the selection in [[...]] (keeping its length, or as N tokens, or as a percentage of it)."""
        try:
            start, end = check_selection(draft, start, end)
            spec = ""
            if mode == "tokens":
                n = whole_number(n_tokens, "length")
                if not 1 <= n <= MAX_SPAN_TOKENS:
                    raise EditError(f"length must be 1..{MAX_SPAN_TOKENS} tokens, got {n}")
                spec = f"|{n}"
            elif mode == "auto":
                if not guided.guidance_available():
                    raise EditError("auto length needs the guidance package, which is not installed")
                spec = "|auto"
            elif mode == "percent":
                pct = float(percent)
                if not 0 < pct <= MAX_LENGTH_PERCENT:
                    raise EditError(f"length must be in (0, {MAX_LENGTH_PERCENT:g}] %, got {pct:g}")
                spec = f"|{pct:g}%"
            elif mode != "keep length":
                raise EditError(f"masked length must be one of {', '.join(LENGTH_MODES)}, got {mode!r}")
        except (EditError, TypeError, ValueError) as exc:
            return self.error(str(exc))
        new = f"{draft[:start]}[[{draft[start:end]}{spec}]]{draft[end:]}"
        return self._marked(draft, new, undo, f"masked “{short(draft[start:end])}”")

    def pin_selection(self, draft: str, start, end, undo) -> dict:
        try:
            start, end = check_selection(draft, start, end)
        except EditError as exc:
            return self.error(str(exc))
        new = f"{draft[:start]}{{{{{draft[start:end]}}}}}{draft[end:]}"
        return self._marked(draft, new, undo, f"pinned “{short(draft[start:end])}”")

    def insert_at_cursor(self, draft: str, start, end, n_tokens, undo) -> dict:
        """Insert [[N]] at the cursor (the end of the selection), with a space on each side where needed."""
        draft = draft or ""
        try:
            if not isinstance(draft, str):
                raise EditError("the draft must be text")
            check_length(draft)
            n = whole_number(n_tokens, "insert length")
            cursor = max(0, min(int(end if end is not None else len(draft)), len(draft)))
            if not 1 <= n <= MAX_SPAN_TOKENS:
                raise EditError(f"insert length must be 1..{MAX_SPAN_TOKENS} tokens, got {n}")
            ranges = fixed_ranges(draft) if draft else [(0, 0)]
        except (TypeError, ValueError, OverflowError) as exc:
            return self.error(str(exc) if isinstance(exc, EditError) else f"cannot insert here: {exc}")
        if draft and not any(lo <= cursor <= hi for lo, hi in ranges):
            return self.error("the cursor is inside a marked span: move it to plain text")
        left, right = draft[:cursor], draft[cursor:]
        mark = f"[[{n}]]"
        if left and not left[-1].isspace():
            mark = " " + mark
        if right and right[0].isalnum():
            mark += " "
        return self._marked(draft, left + mark + right, undo, f"inserted {n} tokens at the cursor")

    def clear_marks(self, draft: str, undo) -> dict:
        try:
            if draft is not None and not isinstance(draft, str):
                raise EditError("the draft must be text")
            check_length(draft)
            plain = plain_text(parse(draft or ""))
        except EditError as exc:
            return self.error(str(exc))
        except ValueError as exc:
            return self.error(f"cannot clear marks: {exc}")
        if plain == draft:
            return {self.ui.message: message_html("no marks to clear", "hint")}
        return self._marked(draft, plain, undo, "marks cleared")

    def undo(self, draft: str, undo, session: dict | None = None) -> dict:
        """The draft before the last change (a mark, or an Accept). Undoing the Accept of an alternative puts the
        list back as it was, that alternative marked undone: it is not accepted again (pick another, or act again)."""
        if not undo:
            return {self.ui.message: message_html("nothing to undo", "hint")}
        update = {self.ui.draft: undo[-1], self.ui.undo_stack: undo[:-1],
                  self.ui.message: message_html("undone", "ok")}
        session = session or {}
        accepted = session.get("accepted")
        if accepted is not None and session.get("alternatives") and len(undo) == session.get("accept_depth") \
                and undo[-1] == session.get("before_accept"):  # this Undo takes back the Accept
            update[self.ui.session] = {**session, "accepted": None, "undone": accepted, "accept_depth": None,
                                       "before_accept": None}
            update[self.ui.message] = message_html(f"alternative {accepted + 1} undone: your draft is as it was",
                                                   "ok")
        return update

    def accept(self, draft: str, session: dict | None, undo) -> dict:
        """The result (a run's, or the alternative previewed) becomes the draft; Undo brings the old one back."""
        try:
            if draft is not None and not isinstance(draft, str):
                raise EditError("the draft must be text")
            check_length(draft)  # (Undo would keep it)
        except EditError as exc:
            return self.error(str(exc))
        session = session or {}
        result = session.get("result")
        if not result:
            return {self.ui.message: message_html("run an edit first, then accept its result", "hint")}
        what = "result"
        if session.get("alternatives"):  # the list marks the one taken (show_alternatives, chained after this)
            chosen = session.get("chosen", 0)
            if chosen == session.get("accepted"):
                return {self.ui.message: message_html(f"alternative {chosen + 1} is already in the draft", "hint")}
            if chosen == session.get("undone"):
                return {self.ui.message: message_html(f"alternative {chosen + 1} was undone: pick another "
                                                      "alternative, or run the action again", "hint")}
            accepted = session.get("accepted")
            if (accepted is not None and draft == session["alternatives"][accepted]["text"]
                    and len(undo or []) == session.get("accept_depth") and (undo or [None])[-1] ==
                    session.get("before_accept")):  # another alternative instead of the one accepted: a swap
                before = session["before_accept"]
            else:
                before, undo = draft, push_undo(undo, draft)
            session = {**session, "accepted": chosen, "undone": None, "accept_depth": len(undo),
                       "before_accept": before}
            return {self.ui.draft: result, self.ui.undo_stack: undo, self.ui.session: session,
                    self.ui.message: message_html(f"alternative {chosen + 1} accepted into the draft (Undo brings "
                                                  "the old draft back)", "ok")}
        return {self.ui.draft: result, self.ui.undo_stack: push_undo(undo, draft), self.ui.session: session,
                self.ui.message: message_html(f"{what} accepted into the draft (Undo brings the old draft back)", "ok")}

