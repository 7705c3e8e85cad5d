"""The page's event handlers (:class:`Studio`). They hold no sampling logic: they turn the page's inputs into edit
markup and a :class:`SamplerConfig`, stream :meth:`Editor.stream` or run a writing action, and render what comes
back. Each returns (or, for a run, yields) *named updates*: a dict keyed by the page's components (``self.page``,
built by :func:`ui.layout.build_ui`) holding only what changes; a component that is not in the dict keeps its value.
A handler with nothing to change returns ``gr.skip()`` (an empty dict would read as one value). Every handler is a
plain method, so tests call it without a server or a browser."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from .session_files import SessionFiles
from dllm_core import EditError, Editor, EditResult, ModelLoadError, SamplerConfig, parse
from dllm_core.api import check_draft
from dllm_core.adapter import LOCAL_MODELS
from dllm_core.config import is_number, threshold_setting, whole_number
from dllm_core.limits import MAX_DRAFT_CHARS, MAX_LENGTH_PERCENT, MAX_SPAN_TOKENS, work_limit
from dllm_core.markup import check_text, plain_text
from writing import actions as core_actions
from writing.actions import action_config
from dllm_core.presets import writing_settings

from . import guided
from .drafting import check_length, check_selection, fixed_ranges, push_undo, snap_selection
from .plots import confidence_heatmap, progress_chart
from .render import (
    DIFF_PLACEHOLDER, MASK_GLYPH, canvas_html, diff_html, message_html, plan_html, plural, short, suggestions_html,
    view_positions, withheld_text,
)

if TYPE_CHECKING:
    from .layout import Page

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = json.loads((ROOT / "assets" / "examples.json").read_text(encoding="utf-8"))
CHART_INTERVAL_S = 0.5  # while streaming, redraw the charts at most this often ...
CHART_REDRAWS = 8  # ... and at most this many times a run (every 1/8 of its steps): under load a redraw per
#                    0.5 s made slow runs redraw more and slower still (bench/RESULTS.md, "Serving load")
FRAME_INTERVAL_S = 0.15  # while other runs stream too, a run sends a step's frame at most every this many seconds
FRAME_INTERVAL_MAX_S = 1.0  # per other run streaming (capped here); alone, every step. The first frame and the
#                    result always go. Every frame costs the server and each client a message (canvas HTML,
#                    Gradio's postprocessing and its SSE event), serial under the GIL: in a burst of 20 small edits
#                    sending every step cost ~20 % of the p95 (bench/RESULTS.md, "Serving load")
WRITING_CHOICES = [("Auto (fluent where the model reads left to right)", "auto"), ("Fluent", "fluent"),
                   ("Parallel", "parallel")]
LENGTH_MODES = ("keep length", "tokens", "percent", "auto")  # auto: the guidance package picks the length
# the writer's tones of the Tone action (writing.actions.TONES): key -> what the page says
TONES: dict[str, str] = getattr(core_actions, "TONES", None) or {
    "formal": "More formal", "casual": "More casual", "friendly": "Friendlier", "confident": "More confident"}
DEFAULT_TONE = "formal" if "formal" in TONES else next(iter(TONES))
# "How much to change" of Rephrase and Tone: the share of the words that may change which do
CHANGE_CHOICES = [("A little", 0.25), ("Some", 0.5), ("A lot", 0.8)]
DEFAULT_CHANGE = 0.5
MAX_ALTERNATIVES = getattr(core_actions, "MAX_ALTERNATIVES", 8)
BUSY_WORDS = {"shorten": "Shortening", "rephrase": "Rephrasing", "tone": "Changing the tone", "rewrite": "Rewriting",
              "fill": "Filling"}
SPAN_ACTIONS = ("rewrite", "fill")  # actions on the selected words only (writing.rewrite)
# the first guess of an action's time before this server has timed one, in seconds per word of the selection, on
# 2 CPU cores (a 30-word sentence: SmolLM2, whose actions read every candidate with the causal judge, took 25-55 s
# to shorten, 8-16 s to rephrase, 13 s for a tone; MiniLM a few seconds); a GPU is taken to be four times faster
# (not measured yet). Then: the measured time of the last TIMINGS_KEPT actions of that kind on that model, per word
FIRST_GUESS_S_PER_WORD = {"shorten": 0.2, "rephrase": 0.15, "tone": 0.2, "rewrite": 0.2, "fill": 0.3}  # no causal reading
# with one (SmolLM2); Fill writes fluently, one token per step (about 15-25 s for 6 words on one busy core)
FIRST_GUESS_S_PER_WORD_JUDGED = {"shorten": 1.5, "rephrase": 0.4, "tone": 0.5, "rewrite": 0.3, "fill": 3.0}
TIMINGS_KEPT = 8
MODEL_ALIASES = {"minilm": "embedded"}  # names of one model: loaded once, offered once
MAX_MESSAGE_CHARS = 400  # an error message is one line of at most this many characters (it may quote an input)
SHORTEN_TARGET = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*")
log = logging.getLogger("dllm_app")


class Studio:
    """Event handlers of one page, bound to one loaded :class:`Editor` (shared by every session; per-user data lives
    in the page's ``gr.State``). :func:`ui.layout.build_ui` builds the page and binds it (``self.page``)."""

    def __init__(self, editor: Editor | None, load_error: str = "", model_name: str = "embedded",
                 offered: list[str] | None = None):
        self.editor = editor
        self.load_error = load_error
        self.model_name = canonical_model(model_name)
        # the models this server offers and loads (the operator's choice: app.offered_models); by default the
        # model it started with and the local ones
        self.offered = list(dict.fromkeys(canonical_model(n) for n in (offered or [
            self.model_name, *(n for n in LOCAL_MODELS if n != "minilm")])))
        # a model of the offer that cannot serve yet (the default model being prepared on a first start) or at all
        # (its preparation failed) -> why, in one line; the page neither offers nor loads it
        self.unavailable: dict[str, str] = {}
        self.preparing: str | None = None  # the model a background preparation makes ready (app.py)
        self.interim: str | None = None  # the model that serves meanwhile
        self.prepare_error = ""  # one line: the preparation failed, the model that served meanwhile serves on
        self.preparation: threading.Thread | None = None  # that preparation's thread (set by app.create_app)
        # every request gets the work budget of dllm_core.limits for its device, so none holds the worker for minutes
        self.editors: dict[str, Editor] = {self.model_name: with_budget(editor)} if editor is not None else {}
        self.load_lock = threading.Lock()
        self.downloads = SessionFiles()  # trajectory files: one per session, removed with it (ui.session_files)
        self.page: Page | None = None
        # Stop: one event per session whose run is queued or streaming; the run checks it before every step
        self.stops: dict[str, threading.Event] = {}
        self.stops_lock = threading.Lock()
        self.streaming = 0  # runs streaming now (all models): frames are coalesced while there are several
        # (model, action) -> the last TIMINGS_KEPT (seconds, words of the selection) of that action: the estimate
        # the page shows while one runs
        self.timings: dict[tuple[str, str], deque] = {}
        self.timings_lock = threading.Lock()

    def frame_interval(self) -> float:
        """Seconds a run waits between the step frames it sends: 0 alone, longer the more runs stream at once."""
        with self.stops_lock:
            others = self.streaming - 1
        return min(FRAME_INTERVAL_MAX_S, FRAME_INTERVAL_S * max(others, 0))

    # ------------------------------------------------------------------ models
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

    @property
    def ui(self) -> Page:
        if self.page is None:
            raise RuntimeError("the page is not built: call ui.build_ui(studio) first")
        return self.page

    def error(self, text: str) -> dict:
        """A message and nothing else: the draft, the settings and the last result stay as they are. One line, at
        most MAX_MESSAGE_CHARS characters, whatever input it quotes."""
        return {self.ui.message: message_html(one_line(text), "error")}

    # ------------------------------------------------------------------ marking the draft
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

    def load_example(self, name: str) -> dict:
        """Draft, sampler settings and guidance fields of an example (guidance only where installed)."""
        example = next((e for e in EXAMPLES if e["name"] == name), None)
        if example is None:
            return self.error(f"unknown example {name!r}")
        s = {**SamplerConfig().to_dict(), **example.get("settings", {})}
        is_guided = guided.guidance_available() and bool(example.get("guidance"))
        g = example.get("guidance", {}) if is_guided else {}
        draft = example["draft"] if is_guided or "draft_unguided" not in example else example["draft_unguided"]
        attribute = g.get("attribute", guided.NO_ATTRIBUTE)
        if attribute not in guided.guidance_attributes():  # that classifier is not shipped: leave the attribute off
            attribute = guided.NO_ATTRIBUTE
        strength = g.get("attribute_strength", 0.0) if attribute != guided.NO_ATTRIBUTE else 0.0
        p = self.ui
        # every setting the example does not name goes back to its default: nothing of the last task lingers
        return {p.draft: draft, p.steps: s["steps"], p.schedule: s["schedule"], p.order: s["order"],
                p.strength: s["strength"], p.seed: s["seed"], p.block_length: s["block_length"],
                p.temperature: s["temperature"], p.top_p: s["top_p"], p.remask: s["remask"],
                p.threshold: s["threshold"] or 0.0, p.required: g.get("required", ""), p.banned: g.get("banned", ""),
                p.attribute: attribute, p.attribute_strength: strength, p.cfg_scale: g.get("cfg", 0.0),
                p.message: message_html(example.get("help", ""), "hint")}

    def attribute_picked(self, attribute: str, strength) -> dict:
        """Choosing an attribute at strength 0 would do nothing: start it at 8 and say so."""
        if not attribute or attribute == guided.NO_ATTRIBUTE or float(strength or 0) > 0:
            return gr.skip()  # nothing changes (an empty dict would read as one value)
        strength = guided.default_attribute_strength()
        return {self.ui.attribute_strength: strength,
                self.ui.message: message_html(f"{attribute}: attribute strength set to {strength:g} (at 0 the "
                                              "attribute does nothing)", "hint")}

    # ------------------------------------------------------------------ running
    def make_config(self, steps, schedule, order, temperature, top_p, block_length, remask, threshold, strength,
                    seed) -> SamplerConfig:
        try:
            config = SamplerConfig(
                steps=whole_number(steps, "steps"), schedule=str(schedule), order=str(order),
                temperature=float(temperature), top_p=float(top_p),
                block_length=whole_number(block_length, "block_length"), remask=float(remask),
                threshold=threshold_setting(threshold),
                strength=float(strength), seed=whole_number(seed, "seed"))
            return config.validate()
        except (TypeError, ValueError, OverflowError) as exc:
            raise EditError(f"settings: {exc}") from exc

    @staticmethod
    def writing_config(editor: Editor, draft: str, config: SamplerConfig, writing, required, banned, attribute,
                       attribute_strength, cfg_scale) -> SamplerConfig:
        """``config`` for the Writing choice (:func:`dllm_core.presets.writing_settings`)."""
        try:
            n = editor.canvas(draft, config).n_masked if isinstance(draft, str) else 0
        except (EditError, ValueError):
            n = 0  # the run reports what is wrong with the draft
        is_guided = guided.guidance_wanted(draft, required, banned, attribute, attribute_strength, cfg_scale)
        try:
            return writing_settings(config, writing, can_score=editor.adapter.can_score, tokens_to_write=n,
                                    guided=is_guided)
        except ValueError as exc:
            raise EditError(str(exc)) from None

    def run_clicked(self, request: gr.Request | None = None) -> dict:
        """Run pressed (before the run is queued): Run is disabled until the run ends, the last action's
        alternatives go, and a Stop from now on stops this run, even while it still waits in the queue."""
        key = getattr(request, "session_hash", None)
        if key is not None:
            with self.stops_lock:
                self.stops[key] = threading.Event()
        off = gr.Button(interactive=False)
        return {self.ui.run_btn: off, self.ui.alternatives: gr.Radio(visible=False),
                self.ui.suggestions: gr.HTML(visible=False), self.ui.accept_btn: off, self.ui.reject_btn: off}

    def run_ended(self, session=None) -> dict:
        """The run ended: Run is clickable again, and Accept where there is a result to take."""
        return {self.ui.run_btn: gr.Button(interactive=True), **self.show_alternatives(session)}

    def stop(self, request: gr.Request | None = None) -> dict:
        """Stop: the session's run ends before its next step (the step under way finishes) and says where it got;
        a run still in the queue ends before it starts. The run itself reports, so nothing is updated here while
        one is on; with none, Run is made clickable again and the message says so."""
        key = getattr(request, "session_hash", None)
        with self.stops_lock:
            event = self.stops.get(key) if key is not None else None
        if event is not None:
            event.set()
            return gr.skip()
        return {self.ui.message: message_html("nothing is running", "hint"), self.ui.run_btn: gr.Button(interactive=True)}

    def _stop_event(self, key: str | None) -> threading.Event:
        if key is None:
            return threading.Event()  # a direct call: stopped by closing the generator
        with self.stops_lock:
            return self.stops.setdefault(key, threading.Event())

    def _run_done(self, key: str | None, event: threading.Event) -> None:
        if key is not None:
            with self.stops_lock:
                if self.stops.get(key) is event:
                    del self.stops[key]

    def run(self, draft, steps, schedule, order, temperature, top_p, block_length, remask, threshold, strength,
            seed, required, banned, attribute, attribute_strength, cfg_scale, percent, session, model=None,
            writing=None, request: gr.Request | None = None) -> Iterator[dict]:
        """Stream the edit: the canvas, the charts (at most every CHART_INTERVAL_S), the progress message, then the
        result, its diff, the status line, the replay slider and the trajectory download. Alone a run sends every
        step; while other runs stream it sends a step at most every :meth:`frame_interval` (the first step and the
        result always).

        ``percent`` is the length target of [[...|auto]] spans. Stop (:meth:`stop`) or closing the generator stops
        the sampler before its next forward pass.
        """
        p = self.ui
        key = getattr(request, "session_hash", None)
        stop = self._stop_event(key)
        stream = None
        counted = False
        try:
            if stop.is_set():
                yield {p.message: message_html("stopped before the run started; your draft is unchanged", "hint")}
                return
            check_draft(draft)  # the draft's limits first: no model loads or works for a draft over them
            required, banned = words_field(required, "required words"), words_field(banned, "banned words")
            for words, what in ((required, "a required word"), (banned, "a banned word")):
                try:
                    check_text(words, what)
                except ValueError as exc:
                    raise EditError(str(exc)) from None
            if attribute not in (None, "", guided.NO_ATTRIBUTE) and (
                    not isinstance(attribute, str) or "=" not in attribute or len(attribute) > 100):
                raise EditError(f"attribute: give a name=target, such as sentiment=positive, or "
                                f"{guided.NO_ATTRIBUTE}; got {short(repr(attribute))}")
            attribute_strength = number_field(attribute_strength, "attribute strength")
            cfg_scale = number_field(cfg_scale, "classifier-free guidance")
            percent = number_field(percent, "length %") or 100.0
            if not 0 < percent <= MAX_LENGTH_PERCENT:
                raise EditError(f"length %: must be in (0, {MAX_LENGTH_PERCENT:g}], got {percent:g}")
            editor = self.editor_for(model)
            config = self.make_config(steps, schedule, order, temperature, top_p, block_length, remask, threshold,
                                      strength, seed)
            config = self.writing_config(editor, draft, config, writing, required, banned, attribute,
                                         attribute_strength, cfg_scale)
            stream = guided.edit_stream(editor, draft, config, required, banned, attribute, attribute_strength,
                                        cfg_scale, percent / 100)
            frames: list[dict] = []
            surface: list[str | None] = []
            last_chart = sent = 0.0
            with self.stops_lock:
                self.streaming += 1
                counted = True
            for item in stream:
                if isinstance(item, EditResult):
                    yield self._finish(draft, item, frames, surface, session, editor, key)
                    return
                if not frames:
                    view = view_positions(item.records[0].states)
                    everything = item.surface_texts()
                    surface = [everything[i] for i in view]
                frames.append(item.records[0].to_json(editor.tokenizer, positions=view))
                now = time.perf_counter()
                if len(frames) > 1 and now - sent < self.frame_interval():  # busy: this step's frame is skipped
                    if stop.is_set():
                        yield self._stopped(frames, progress(item, editor))
                        return
                    continue
                sent = now
                update = {p.canvas: canvas_html(frames[-1], surface),
                          p.message: message_html(f"step {item.step + 1} of {item.steps}…", "info")}
                due = (item.step + 1) * CHART_REDRAWS // item.steps > item.step * CHART_REDRAWS // item.steps
                if due and now - last_chart >= CHART_INTERVAL_S:
                    update[p.heatmap], update[p.progress] = confidence_heatmap(frames), progress_chart(frames)
                    last_chart = now
                partial = progress(item, editor)
                update[p.session] = partial
                if len(frames) == 1:  # the previous run's result must not outlive this one (Stop, Accept)
                    update.update({p.result: "", p.diff: DIFF_PLACEHOLDER, p.replay: gr.Slider(visible=False),
                                   p.download: gr.DownloadButton(visible=False)})
                yield update
                if stop.is_set():  # Stop was pressed while this step ran or was on its way to the page
                    yield self._stopped(frames, partial)
                    return
        except EditError as exc:
            yield self.error(str(exc))
        except Exception as exc:  # never lose the page over a bug: say what happened, keep the draft
            log.exception("edit failed")
            yield self.error(f"internal error ({type(exc).__name__}): {exc}")
        finally:
            if stream is not None and hasattr(stream, "close"):
                stream.close()  # the sampler stops before its next forward pass
            if counted:
                with self.stops_lock:
                    self.streaming -= 1
            self._run_done(key, stop)

    def _stopped(self, frames: list[dict], partial: dict) -> dict:
        """After Stop: the canvas as far as it got in the Result box (shown, not for Accept: its unwritten slots
        show as ▒), the charts of every step so far, and the message."""
        p = self.ui
        last = len(frames) - 1
        return {p.result: partial["partial"], p.heatmap: confidence_heatmap(frames, last),
                p.progress: progress_chart(frames, last),
                p.message: message_html(f"stopped at step {partial['step']} of {partial['steps']}: the result so far "
                                        f"is shown ({MASK_GLYPH} = not written yet); your draft is unchanged", "hint")}

    def _finish(self, draft: str, result: EditResult, frames: list[dict], surface: list, session,
                editor: Editor, session_id: str | None = None) -> dict:
        p = self.ui
        original = plain_text(result.canvas.segments)
        stats = result.stats
        seconds = max(stats.seconds, 1e-9)
        capped = (f" (of {result.config.steps} asked: at most one step per token to write, fewer when the confidence "
                  f"threshold commits several at once)" if stats.steps < result.config.steps else "")
        status = (f"Model: {editor.adapter.describe()} · last run: {plural(stats.steps, 'step')}{capped}, "
                  f"{plural(stats.generated_tokens, 'token')} in "
                  f"{stats.seconds:.2f} s · {stats.steps / seconds:.1f} steps/s · "
                  f"{stats.generated_tokens / seconds:.1f} tokens/s · seed {result.seed}")
        data = result.to_json(editor.tokenizer)
        data["draft"] = draft
        # one file per session, replaced by its next run, removed when its tab closes (ui.session_files.SessionFiles)
        key = session_id or (session or {}).get("files") or os.urandom(8).hex()
        path = self.downloads.write(key, f"trajectory-seed{result.seed}.json",
                                    json.dumps(data, ensure_ascii=False).encode("utf-8"))
        last = len(frames) - 1
        replay = (gr.Slider(minimum=1, maximum=len(frames), value=len(frames), step=1, interactive=True, visible=True)
                  if len(frames) > 1 else gr.Slider(visible=False))  # one step: nothing to replay
        gate = result.gate or {}
        if gate and not gate.get("reads_well", True):  # dllm_core.gate: the best rewrite still reads badly
            note = " · ".join(filter(None, [f"no rewrite that reads well ({gate.get('why', '')}); try a shorter span "
                                            "or Fill (insert [[N]] new words)", guided.guidance_summary(result.guidance)]))
            kind = "error"
        else:
            note = " · ".join(filter(None, ["done: accept the result into the draft to keep editing",
                                            guided.guidance_summary(result.guidance)]))
            kind = "ok"
        return {p.canvas: canvas_html(frames[last] if frames else None, surface),
                p.heatmap: confidence_heatmap(frames, last), p.progress: progress_chart(frames, last),
                p.result: result.text, p.diff: diff_html(original, result.text, pinned_words(result)),
                p.status: status, p.message: message_html(note, kind), p.replay: replay,
                p.download: gr.DownloadButton(value=str(path), visible=True),
                p.session: {"frames": frames, "surface": surface, "original": original, "result": result.text,
                            "files": key}}

    def end_session(self, request: gr.Request | None = None) -> None:
        """The tab closed: remove the session's download (and stop its run, if one is on)."""
        key = getattr(request, "session_hash", None)
        with self.stops_lock:
            event = self.stops.pop(key, None) if key is not None else None
        if event is not None:
            event.set()
        self.downloads.drop(key)

    def close(self) -> None:
        """The app shuts down: remove every download (also done when the process exits)."""
        self.downloads.close()

    # ------------------------------------------------------------------ writing actions
    def estimate(self, action: str, words: int, model: str | None = None) -> float:
        """Seconds ``action`` on ``words`` words of selection should take: the measured time of the last actions of
        that kind on that model in this server, per word; a first guess per word before any."""
        model = canonical_model(model if isinstance(model, str) else None) or self.model_name
        with self.timings_lock:
            seen = list(self.timings.get((model, action), ()))
        if seen:
            per_word = sum(t for t, _ in seen) / max(1, sum(n for _, n in seen))
        else:
            editor = self.editors.get(model)
            judged = editor is not None and editor.adapter.can_score
            per_word = (FIRST_GUESS_S_PER_WORD_JUDGED if judged else FIRST_GUESS_S_PER_WORD).get(action, 0.5)
            if editor is not None and editor.adapter.device.type != "cpu":
                per_word /= 4
        return max(1.0, per_word * max(1, words))

    def timed(self, action: str, model: str | None, seconds: float, words: int) -> None:
        """Remember how long an action took (for the next estimate)."""
        with self.timings_lock:
            key = canonical_model(model if isinstance(model, str) else None) or self.model_name
            self.timings.setdefault((key, action), deque(maxlen=TIMINGS_KEPT)).append(
                (float(seconds), max(1, int(words))))

    def action_started(self, action: str, draft, start, end, model=None) -> dict:
        """An action's button pressed (before it is queued): the action buttons, Accept and Reject are disabled
        until it ends, and the message says what is under way and about how long it takes ("Shortening… about
        4 s")."""
        p = self.ui
        try:
            text = draft if isinstance(draft, str) and len(draft) <= MAX_DRAFT_CHARS else ""
            lo, hi = snap_selection(text, whole_number(start or 0, "start"), whole_number(end or 0, "end"))
            words = core_actions.count_words(text[lo:hi] if hi > lo else text)
            seconds = self.estimate(action, words, model if isinstance(model, str) else None)
            about = f"about {round(seconds)} s" if seconds < 90 else f"about {round(seconds / 60)} min"
            note = f"{BUSY_WORDS.get(action, 'Working')}… {about}"
        except Exception:  # the action itself says what is wrong with its input
            note = f"{BUSY_WORDS.get(action, 'Working')}…"
        off = gr.Button(interactive=False)
        return {**{b: off for b in self.action_buttons()}, p.accept_btn: off, p.reject_btn: off,
                p.message: message_html(note, "info busy")}

    def action_buttons(self) -> list:
        p = self.ui
        return [p.shorten_btn, p.rephrase_btn, p.tone_btn, p.rewrite_btn, p.fill_btn]

    def action_ended(self, session) -> dict:
        """The action ended (with alternatives or a message): its buttons are clickable again, the list shows."""
        on = gr.Button(interactive=True)
        return {**{b: on for b in self.action_buttons()}, **self.show_alternatives(session)}

    def tone_of(self, choice) -> dict:
        """The Tone action's arguments for a tone picked on the page or sent to /tone: a writer's tone (its key or
        its label: "formal", "More formal") or a shipped classifier's ``name=target`` (the guidance demo)."""
        if not isinstance(choice, str) or not choice.strip():
            raise EditError(f"choose a tone first: {', '.join(TONES.values())}")
        choice = choice.strip()
        by_label = {label.lower(): key for key, label in TONES.items()}
        if choice.lower() in TONES or choice.lower() in by_label:
            return {"attribute": by_label.get(choice.lower(), choice.lower())}
        name, _, goal = choice.partition("=")
        if goal and choice in guided.guidance_attributes():
            return {"attribute": name, "target": goal}
        raise EditError(f"unknown tone {short(choice, 30)!r}: choose one of {', '.join(TONES.values())}")

    @staticmethod
    def change_amount(value) -> float:
        """How much Rephrase and Tone change, in (0, 1]; a message for anything else (NaN, inf, text)."""
        try:
            amount = float(value) if isinstance(value, str) else value
        except ValueError:
            amount = None
        if not is_number(amount) or not 0.0 < float(amount) <= 1.0:
            raise EditError(f"how much to change: must be a share in (0, 1], such as 0.5, got {short(repr(value))}")
        return float(amount)

    @staticmethod
    def shorten_target(value) -> str:
        """The Shorten target as typed: a number of words ("12") or a share ("70%")."""
        if value is None or value == "":
            return "70%"
        text = str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else ""
        m = SHORTEN_TARGET.fullmatch(text) if len(text) <= 20 else None
        if m is None or float(m.group(1)) <= 0:
            raise EditError(f"shorten to: give a number of words (12) or a share of them (70%), got "
                            f"{short(repr(value))}")
        return text.strip()

    def act(self, action: str, draft: str, start, end, target, change, tone_choice, k, seed,
            session, model=None, writing=None) -> dict:
        """Shorten / Rephrase / Tone on the selection (or the whole draft when nothing is selected): k alternatives
        from one batched run, listed with their tracked changes and fact checks; the first is previewed in the
        Result box. ``change``: how much Rephrase and Tone change (a share in (0, 1]); ``tone_choice``: a writer's
        tone (:data:`TONES`) or a classifier's ``name=target``. Every input is checked here: a wrong one is a
        message, the draft and the last result stay."""
        p = self.ui
        try:
            if action not in BUSY_WORDS:
                raise EditError(f"unknown action {action!r}")
            if draft is not None and not isinstance(draft, str):
                raise EditError("the draft must be text")
            if not draft or not draft.strip():
                raise EditError("the draft is empty: type or paste some text first")
            if len(draft) > MAX_DRAFT_CHARS:
                raise EditError(f"the draft is {len(draft):,} characters; the limit is {MAX_DRAFT_CHARS:,}: "
                                "shorten it, or select a part and work on that")
            try:
                check_text(draft)
            except ValueError as exc:
                raise EditError(str(exc)) from None
            try:
                marked = any(seg.kind != "fixed" for seg in parse(draft))
            except ValueError as exc:
                raise EditError(f"the draft's markup is broken: {exc}") from exc
            if marked:
                raise EditError("actions work on plain text: clear the marks first (Clear marks, under the hood)")
            start, end = snap_selection(draft, whole_number(0 if start is None else start, "selection start"),
                                        whole_number(0 if end is None else end, "selection end"))
            selection = (start, end) if end > start else None
            if action in SPAN_ACTIONS and selection is None:
                raise EditError(f"select the words to {action} first (Rewrite says them differently, Fill writes new "
                                "words in their place)")
            k = whole_number(1 if k is None else k, "alternatives")
            if not 1 <= k <= MAX_ALTERNATIVES:
                raise EditError(f"alternatives: must be 1..{MAX_ALTERNATIVES}, got {k}")
            seed = whole_number(0 if seed is None else seed, "seed")
            if not 0 <= seed < 2**63:
                raise EditError(f"seed: must be a non-negative integer, got {seed}")
            kwargs: dict = {"selection": selection, "k": k, "seed": seed}
            if action == "shorten":
                kwargs["target"] = self.shorten_target(target)
            elif action not in SPAN_ACTIONS:
                kwargs["strength"] = self.change_amount(change)
            if action == "tone":
                kwargs.update(self.tone_of(tone_choice))
            editor = self.editor_for(model)
            if action not in SPAN_ACTIONS:  # (Fill writes on the default path, Rewrite swaps words: no sampler)
                kwargs["config"] = action_config(editor, k, seed, writing)
            began = time.perf_counter()
            out = core_actions.run_action(editor, action, draft, **kwargs)
            self.timed(action, model, time.perf_counter() - began,
                       core_actions.count_words(draft[start:end] if selection else draft))
        except (EditError, ValueError, OverflowError) as exc:  # a user's input: a message, the draft kept
            return self.error(str(exc))
        except Exception as exc:  # never lose the page over a bug
            log.exception("action failed")
            return self.error(f"internal error ({type(exc).__name__}): {exc}")
        alternatives = [alternative_json(draft, a) for a in out.alternatives]
        # withheld by the fact check (Fill's are withheld by the gate, and its note says so)
        withheld = [alternative_json(draft, a) for a in getattr(out, "withheld", None) or []] if action != "fill" else []
        held = withheld_text(withheld)
        note = f" · {out.note}" if out.note else ""
        if not alternatives:
            return self.error(f"no alternative kept the facts of your draft{f': {held}' if held else ''}{note}; "
                              "try another selection, or change less")
        where = "the selection" if out.selection != (0, len(draft)) else "the draft"
        words_after = alternatives[0]["words"]
        size = (f"{out.words_before} → {words_after} words (target {out.target_words})"
                if out.target_words is not None else f"{out.words_before} → {words_after} words")
        ranked = ("" if len(alternatives) == 1 else " (best first)" if out.alternatives[0].score is not None else
                  " (unranked: this model cannot rank them)")
        names = list(dict.fromkeys(out.kept))
        kept = f" · kept: {', '.join(names[:8])}{', …' if len(names) > 8 else ''}" if names else ""
        shown = f" · {held}" if held and "not shown" not in out.note else ""  # (the action's note may say it)
        done = {"shorten": "Shortened", "rephrase": "Rephrased", "tone": "Tone changed in", "rewrite": "Rewrote",
                "fill": "Filled"}[action]
        msg = message_html(f"{done} {where}: {size} · {plural(len(alternatives), 'alternative')}{ranked}"
                           f"{shown}{note}{kept}", "ok")
        new_session = {"result": alternatives[0]["text"], "original": draft, "alternatives": alternatives,
                       "chosen": 0, "withheld": withheld, "action": action}
        # (the list with tracked changes follows from the session: show_alternatives, chained after this)
        return {p.alternatives: gr.Radio(choices=self.choice_labels(alternatives), value="0", visible=True),
                p.result: alternatives[0]["text"], p.diff: diff_html(draft, alternatives[0]["text"]), p.message: msg,
                p.session: new_session}

    def show_alternatives(self, session) -> dict:
        """The list of the session's alternatives, each with its tracked changes against the draft they came from
        and its fact check (the previewed, the accepted and an undone one marked, the withheld counted), and what
        Accept and Reject can do now: Accept takes a result that is not in the draft yet and was not undone."""
        session = session or {}
        alternatives = session.get("alternatives") or []
        p = self.ui
        chosen = session.get("chosen", 0)
        can_accept = bool(session.get("result")) and (not alternatives or chosen not in (
            session.get("accepted"), session.get("undone")))
        buttons = {p.accept_btn: gr.Button(interactive=can_accept),
                   p.reject_btn: gr.Button(interactive=bool(alternatives))}
        if not alternatives:
            return {p.suggestions: gr.HTML("", visible=False), **buttons}
        listed = suggestions_html(session.get("original", ""), alternatives, chosen, session.get("accepted"),
                                  session.get("undone"), session.get("withheld") or [])
        return {p.suggestions: gr.HTML(listed, visible=True), **buttons}

    @staticmethod
    def choice_labels(alternatives: list[dict]) -> list[tuple[str, str]]:
        return [(f"{i + 1} · {plural(a['words'], 'word')}", str(i)) for i, a in enumerate(alternatives)]

    def choose_alternative(self, choice, session) -> dict:
        """Preview the picked alternative: it fills the Result box, its diff shows, and it is what Accept takes."""
        session = dict(session or {})
        alternatives = session.get("alternatives") or []
        try:
            i = whole_number(choice, "alternative")
        except (TypeError, ValueError, OverflowError):
            return gr.skip()
        if not 0 <= i < len(alternatives):
            return gr.skip()
        text = alternatives[i]["text"]
        session.update(result=text, chosen=i)
        p = self.ui
        return {p.result: text, p.diff: diff_html(session.get("original", ""), text), p.session: session,
                **self.show_alternatives(session)}

    def reject(self, session) -> dict:
        """Reject the alternatives: the list goes, the Result box empties, the draft stays as it is."""
        session = dict(session or {})
        if not session.get("alternatives"):
            return {self.ui.message: message_html("no alternatives to reject", "hint")}
        p = self.ui
        return {p.alternatives: gr.Radio(choices=[], value=None, visible=False), p.suggestions: gr.HTML("", visible=False),
                p.result: "", p.diff: DIFF_PLACEHOLDER, p.session: {},
                p.message: message_html("alternatives rejected; your draft is unchanged", "ok")}

    def replay(self, step, session) -> dict:
        """Show step ``step`` (1-based) of the last run on the canvas and the charts."""
        frames = (session or {}).get("frames") or []
        if not frames:
            return gr.skip()
        try:
            k = max(0, min(whole_number(step or len(frames), "step") - 1, len(frames) - 1))
        except (ValueError, OverflowError):
            return gr.skip()
        p = self.ui
        return {p.canvas: canvas_html(frames[k], session.get("surface", [])), p.heatmap: confidence_heatmap(frames, k),
                p.progress: progress_chart(frames, k)}


def alternative_json(draft: str, alternative) -> dict:
    """What the session keeps of an action's alternative: its text, words and fact check (checked here with
    :func:`writing.facts.check` when the action did not check it)."""
    facts = getattr(alternative, "facts", None)
    if facts is None:
        try:
            from writing.facts import check  # noqa: PLC0415

            facts = check(draft, alternative.text).to_json()
        except Exception:  # no checker in this build: the list shows no fact line
            log.exception("fact check failed")
            facts = None
    return {"text": alternative.text, "words": alternative.words, "facts": facts}


def canonical_model(name: str | None) -> str:
    """A model's name as the server keys it ('minilm' is 'embedded')."""
    name = (name or "").strip()
    return MODEL_ALIASES.get(name, name)


def model_labels(names: list[str]) -> list[tuple[str, str]]:
    """The picker's choices: each local model with what it is."""
    return [(f"{name}: {LOCAL_MODELS[name]}" if name in LOCAL_MODELS else name, name) for name in names]


def words_field(value, name: str) -> str:
    """A words field (required, banned) as text: nothing is ''; anything but text is a message."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise EditError(f"{name}: give words separated by commas")
    return value


def number_field(value, name: str) -> float:
    """A number field of the page as a float (nothing is 0); NaN, inf, text and the like are a message."""
    if value is None or value == "":
        return 0.0
    try:
        number = float(value) if isinstance(value, str) and len(value) <= 40 else value
    except ValueError:
        number = None
    if not is_number(number):
        raise EditError(f"{name}: must be a number, got {short(repr(value))}")
    return float(number)


def one_line(text, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` as one line of at most ``limit`` characters (white space runs as one space)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def with_budget(editor: Editor) -> Editor:
    """``editor``'s model with the work budget of one request on its device (dllm_core.limits)."""
    return Editor(editor.adapter, max_work=work_limit(editor.adapter.device.type))


def progress(event, editor: Editor) -> dict:
    """The session state while a run streams: the text so far (what Stop shows) and the step."""
    return {"partial": partial_text(event, editor), "step": event.step + 1, "steps": event.steps}


def partial_text(event, editor: Editor) -> str:
    """The text of the first canvas as it stands after a step (masks still to fill as ▒)."""
    return event.text(editor.tokenizer, MASK_GLYPH)


def pinned_words(result: EditResult) -> set[str]:
    """The words of the draft's pinned spans."""
    return {w.strip(".,;:!?\"'()") for seg in result.canvas.segments if seg.kind == "pinned" for w in seg.text.split()}
