"""Which model serves a request (:class:`ModelChoice`, a part of :class:`ui.handlers.Studio`): the models the
server offers, each loaded on first use with the work budget of one request, the default model's preparation in the
background (the model that serves meanwhile, the status line, the notice and the picker while it runs or after it
failed). Also the model names as the server keys them (:func:`canonical_model`) and the picker's labels."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr

from dllm_core import EditError, Editor, ModelLoadError
from dllm_core.adapter import LOCAL_MODELS
from dllm_core.limits import work_limit

from .render import message_html, one_line, short

if TYPE_CHECKING:
    import threading

    from .layout import Page

MODEL_ALIASES = {"minilm": "embedded"}  # names of one model: loaded once, offered once


class ModelChoice:
    """The model handlers of :class:`ui.handlers.Studio`, which holds the state they use (set in its
    ``__init__``): the default model and its editor, the offer, the loaded editors and the preparation."""

    editor: Editor | None
    load_error: str
    model_name: str
    offered: list[str]
    unavailable: dict[str, str]
    preparing: str | None
    interim: str | None
    prepare_error: str
    editors: dict[str, Editor]
    load_lock: threading.Lock
    ui: Page

    def model_choices(self) -> list[str]:
        """The models the picker offers now: the operator's offer less those that cannot serve (yet)."""
        return [name for name in self.offered if name not in self.unavailable]

    def editor_for(self, name: str | None) -> Editor:
        """The editor of the model picked in the page, loaded on first use (then kept); the server's default model
        when nothing is picked. A model the server does not offer, one still being prepared and one that cannot
        load are user-facing errors (one line); the draft stays as it is."""
        if name is not None and not isinstance(name, str):
            raise EditError("model: give a model's name, such as 'embedded'")
        name = canonical_model(name or self.model_name)
        if name not in self.offered:
            raise EditError(f"model {short(repr(name))} is not offered here; choose one of: "
                            f"{', '.join(self.model_choices()) or 'none yet'}")
        if name in self.unavailable:
            raise EditError(self.unavailable[name])
        if name in self.editors:
            return self.editors[name]
        if name == self.model_name and self.editor is None:
            raise EditError(f"no model is loaded: {self.load_error}")
        with self.load_lock:
            if name not in self.editors:
                try:
                    self.editors[name] = with_budget(Editor.load(name, batching=True))
                except ModelLoadError as exc:
                    raise EditError(f"could not load {name!r}: {exc}") from exc
        return self.editors[name]

    def preparing_started(self, name: str) -> None:
        """``name`` (the default model) is being prepared in the background; the model loaded now serves
        meanwhile (or, with none, requests get a message until it is ready)."""
        with self.load_lock:
            self.preparing, self.interim, self.prepare_error = name, self.model_name, ""
            if self.editor is not None:
                why = f"it is being prepared (first start: a few minutes); {self.model_name} serves meanwhile"
            else:
                why = "it is being prepared (first start: a few minutes): try again shortly"
            self.unavailable[name] = f"the default model ({name}) is not ready yet: {why}"

    def prepared(self, name: str, editor: Editor) -> None:
        """The preparation of ``name`` is done: it becomes the default model, which new requests use (a page picks
        it up on its next tick or load; a request naming another offered model still gets that one)."""
        with self.load_lock:
            self.editors[name] = with_budget(editor)
            self.editor, self.model_name, self.load_error = editor, name, ""
            self.unavailable.pop(name, None)
            self.preparing = None

    def preparation_failed(self, name: str, reason: str) -> None:
        """The preparation of ``name`` failed (no network, a bad hash...): one line on the page; the model that
        served meanwhile serves on, and ``name`` is neither offered nor loaded (a request naming it gets the line)."""
        with self.load_lock:
            self.preparing = None
            serving = f"{self.model_name} serves" if self.editor is not None else "no model serves"
            reason = one_line(reason, 240)
            self.prepare_error = f"the default model ({name}) could not be prepared: {reason}; {serving}"
            self.unavailable[name] = self.prepare_error

    def model_line(self) -> str:
        """The status line: the model that serves, and the default model's preparation while it runs or failed."""
        if self.preparing is not None:
            if self.editor is None:
                return f"No model loaded yet: preparing the default model ({self.preparing})…"
            return (f"Model: {self.editor.adapter.describe()} · Preparing the default model ({self.preparing})… "
                    "the fast model serves meanwhile")
        if self.editor is None:
            return f"No model loaded: {self.load_error}"
        line = f"Model: {self.editor.adapter.describe()}"
        return f"{line} · {self.prepare_error}" if self.prepare_error else line

    def notice_html(self) -> str:
        """The line at the top of the page while the default model is prepared, or when that failed ('' when
        neither)."""
        if self.preparing is not None:
            meanwhile = "the fast model serves meanwhile" if self.editor is not None else "this takes a few minutes"
            return message_html(f"Preparing the default model ({self.preparing})… {meanwhile}", "info")
        if self.prepare_error:
            return message_html(self.prepare_error[:1].upper() + self.prepare_error[1:], "error")
        return ""

    def model_state(self, picked=None) -> dict:
        """The page's model state (on page load and while the default model is prepared, on the timer): the status
        line, the notice, the picker (what it offers now; a page still on the model that served meanwhile moves to
        the default once it is ready) and the timer (on only while preparing)."""
        p = self.ui
        choices = self.model_choices()
        value = canonical_model(picked) if isinstance(picked, str) else None
        if value not in choices or (self.preparing is None and value == self.interim):
            value = self.model_name  # (the page was on the interim model because the default was not ready)
        notice = self.notice_html()
        picker = gr.Dropdown(choices=model_labels(choices), value=value if value in choices else None)
        return {p.status: self.model_line(), p.notice: gr.HTML(notice, visible=bool(notice)), p.model_choice: picker,
                p.timer: gr.Timer(active=self.preparing is not None)}

    def page_opened(self) -> dict:
        """A page opens: its model state as of now (the page itself was built at the start)."""
        return self.model_state(None)

    def model_tick(self, picked) -> dict:
        """The timer while the default model is prepared: nothing changes until the preparation ends."""
        if self.preparing is not None:
            return gr.skip()
        return self.model_state(picked)



def canonical_model(name: str | None) -> str:
    """A model's name as the server keys it ('minilm' is 'embedded')."""
    name = (name or "").strip()
    return MODEL_ALIASES.get(name, name)



def model_labels(names: list[str]) -> list[tuple[str, str]]:
    """The picker's choices: each local model with what it is."""
    return [(f"{name}: {LOCAL_MODELS[name]}" if name in LOCAL_MODELS else name, name) for name in names]



def with_budget(editor: Editor) -> Editor:
    """``editor``'s model with the work budget of one request on its device (dllm_core.limits)."""
    return Editor(editor.adapter, max_work=work_limit(editor.adapter.device.type))

