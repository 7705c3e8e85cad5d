"""The page's event handlers (:class:`Studio`). They hold no sampling logic: they turn the page's inputs into edit
markup and a :class:`SamplerConfig`, stream :meth:`Editor.stream` or run a writing action, and render what comes
back. Each returns (or, for a run, yields) *named updates*: a dict keyed by the page's components (``self.page``,
built by :func:`ui.layout.build_ui`) holding only what changes; a component that is not in the dict keeps its value.
A handler with nothing to change returns ``gr.skip()`` (an empty dict would read as one value). Every handler is a
plain method, so tests call it without a server or a browser.

This module is the core of :class:`Studio`: its state, the Run button (streaming an edit, Stop, the replay), the
examples and the messages. Its other handlers are in three parts it inherits: :class:`ui.models.ModelChoice` (which
model serves, its preparation), :class:`ui.marking.Marking` (marks, Undo, Accept) and :class:`ui.writer.Writer`
(Shorten, Rephrase, Tone, Rewrite, Fill and their alternatives). The names the page, the app and the tests import
from here keep working (``__all__``); each is defined once, in the module it is imported from."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from dataclasses import replace
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from .session_files import SessionFiles
from dllm_core import EditError, Editor, EditResult, SamplerConfig
from dllm_core.api import check_draft
from dllm_core import cancel
from dllm_core.adapter import LOCAL_MODELS
from dllm_core.config import is_number, threshold_setting, whole_number
from dllm_core.limits import MAX_LENGTH_PERCENT, run_seconds
from dllm_core.markup import check_text, plain_text
from dllm_core.presets import writing_settings

from . import guided
from .marking import LENGTH_MODES, Marking
from .models import MODEL_ALIASES, ModelChoice, canonical_model, model_labels, with_budget
from .plots import confidence_heatmap, progress_chart
from .render import (
    DIFF_PLACEHOLDER, MASK_GLYPH, MAX_MESSAGE_CHARS, canvas_html, diff_html, message_html, one_line, plural, short,
    view_positions,
)
from .writer import (
    BUSY_WORDS, CHANGE_CHOICES, DEFAULT_CHANGE, DEFAULT_TONE, FIRST_GUESS_S_PER_WORD, FIRST_GUESS_S_PER_WORD_JUDGED,
    MAX_ALTERNATIVES, SPAN_ACTIONS, TIMINGS_KEPT, TONES, Writer, alternative_json,
)

if TYPE_CHECKING:
    from .layout import Page

__all__ = [
    "BUSY_WORDS", "CHANGE_CHOICES", "CHART_INTERVAL_S", "CHART_REDRAWS", "DEFAULT_CHANGE", "DEFAULT_TONE", "EXAMPLES",
    "FIRST_GUESS_S_PER_WORD", "FIRST_GUESS_S_PER_WORD_JUDGED", "FRAME_INTERVAL_MAX_S", "FRAME_INTERVAL_S",
    "LENGTH_MODES", "MAX_ALTERNATIVES", "MAX_MESSAGE_CHARS", "MODEL_ALIASES", "SPAN_ACTIONS", "TIMINGS_KEPT", "TONES",
    "WRITING_CHOICES", "Studio", "alternative_json", "canonical_model", "model_labels", "number_field", "one_line",
    "partial_text", "pinned_words", "progress", "with_budget", "words_field",
]

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
WRITING_CHOICES = [("Auto (fast where the model reads left to right)", "auto"), ("Fast", "fast"),
                   ("Fluent (4 beams)", "fluent"), ("Parallel", "parallel")]
log = logging.getLogger("dllm_app")


class Studio(ModelChoice, Marking, Writer):
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
        # Stop: one event per session whose run is queued or streaming, and one per session whose writing action is
        # queued or computing; the work runs in its cancel scope (dllm_core.cancel): it stops before its next
        # forward pass or layer once the event is set (Stop, the client gone: client_gone)
        self.stops: dict[str, threading.Event] = {}
        self.action_stops: dict[str, threading.Event] = {}
        self.stops_lock = threading.Lock()
        self.streaming = 0  # runs streaming now (all models): frames are coalesced while there are several
        # (model, action) -> the last TIMINGS_KEPT (seconds, words of the selection) of that action: the estimate
        # the page shows while one runs
        self.timings: dict[tuple[str, str], deque] = {}
        self.timings_lock = threading.Lock()
        self.max_run_seconds: int | None = None  # a run's wall-clock limit; None: dllm_core.limits.run_seconds

    def frame_interval(self) -> float:
        """Seconds a run waits between the step frames it sends: 0 alone, longer the more runs stream at once."""
        with self.stops_lock:
            others = self.streaming - 1
        return min(FRAME_INTERVAL_MAX_S, FRAME_INTERVAL_S * max(others, 0))


    @property
    def ui(self) -> Page:
        if self.page is None:
            raise RuntimeError("the page is not built: call ui.build_ui(studio) first")
        return self.page

    def error(self, text: str) -> dict:
        """A message and nothing else: the draft, the settings and the last result stay as they are. One line, at
        most MAX_MESSAGE_CHARS characters, whatever input it quotes."""
        return {self.ui.message: message_html(one_line(text), "error")}


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
        """Stop: the session's run ends before its next forward pass (its last whole step shows) and says where it
        got, and its writing action ends with a message; either, still in the queue, ends before it starts. The
        work itself reports, so nothing is updated here while some is on; with none, Run is made clickable again
        and the message says so."""
        if self._cancel(getattr(request, "session_hash", None)):
            return gr.skip()
        return {self.ui.message: message_html("nothing is running", "hint"), self.ui.run_btn: gr.Button(interactive=True)}

    def client_gone(self, key: str | None) -> None:
        """The session's client went away (its page closed, its connection dropped: app.StreamWatch, and the tab's
        unload): its run and its action stop before their next forward pass, and no one else's work does."""
        if self._cancel(key):
            log.info("a client went away: its work stops")

    def _cancel(self, key: str | None) -> bool:
        """Set the session's stop events (its run's, its action's); whether there was one."""
        with self.stops_lock:
            events = [table[key] for table in (self.stops, self.action_stops) if key is not None and key in table]
        for event in events:
            event.set()
        return bool(events)

    def _stop_event(self, key: str | None, table: dict | None = None) -> threading.Event:
        """The stop event of the session's run (``table``: ``self.action_stops``, of its action)."""
        if key is None:
            return threading.Event()  # a direct call: stopped by closing the generator
        with self.stops_lock:
            return (self.stops if table is None else table).setdefault(key, threading.Event())

    def _run_done(self, key: str | None, event: threading.Event, table: dict | None = None) -> None:
        if key is not None:
            table = self.stops if table is None else table
            with self.stops_lock:
                if table.get(key) is event:
                    del table[key]

    def run(self, draft, steps, schedule, order, temperature, top_p, block_length, remask, threshold, strength,
            seed, required, banned, attribute, attribute_strength, cfg_scale, percent, session, model=None,
            writing=None, editing=None, request: gr.Request | None = None) -> Iterator[dict]:
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
        timed_out = False
        frames: list[dict] = []
        last = None  # the last step
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
            if editing not in (None, "", 0, 0.0):
                try:
                    config = replace(config, editing_threshold=threshold_setting(editing, "editing threshold"))
                    config.validate()
                except (TypeError, ValueError) as exc:
                    raise EditError(f"settings: {exc}") from None
            stream = guided.edit_stream(editor, draft, config, required, banned, attribute, attribute_strength,
                                        cfg_scale, percent / 100)
            surface: list[str | None] = []
            last_chart = sent = 0.0
            deadline = time.perf_counter() + self.run_seconds(editor)
            with self.stops_lock:
                self.streaming += 1
                counted = True
            while True:
                with cancel.scope(stop):  # Stop, the time limit, the client gone: no further forward pass
                    item = next(stream, None)
                if item is None:
                    return
                if isinstance(item, EditResult):
                    if item.trajectory:  # the steps of the canvas that won (a length variant may beat the first)
                        view = view_positions(item.trajectory[0].states)
                        everything = item.canvas.surface_texts()
                        surface = [everything[i] for i in view]
                        frames = [r.to_json(editor.tokenizer, positions=view) for r in item.trajectory]
                    yield self._finish(draft, item, frames, surface, session, editor, key)
                    return
                if not frames:
                    view = view_positions(item.records[0].states)
                    everything = item.surface_texts()
                    surface = [everything[i] for i in view]
                frames.append(item.records[0].to_json(editor.tokenizer, positions=view))
                last = item
                now = time.perf_counter()
                if now > deadline and not stop.is_set():  # the time limit: it ends as Stop ends a run
                    stop.set()
                    timed_out = True
                if len(frames) > 1 and now - sent < self.frame_interval():  # busy: this step's frame is skipped
                    if stop.is_set():
                        yield self._stopped(frames, progress(item, editor), timed_out)
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
                    yield self._stopped(frames, partial, timed_out)
                    return
        except cancel.Cancelled:  # (stopped within a step: the steps before it show)
            yield (self._stopped(frames, progress(last, editor), timed_out) if last is not None else
                   {p.message: message_html("stopped before the first step; your draft is unchanged", "hint")})
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

    def _stopped(self, frames: list[dict], partial: dict, timed_out: bool = False) -> dict:
        """After Stop (or the time limit): the canvas as far as it got in the Result box (shown, not for Accept: its
        unwritten slots show as ▒), the charts of every step so far, and the message."""
        p = self.ui
        last = len(frames) - 1
        why = (f"the time limit of one run ({self.run_seconds(None)} s) was reached: " if timed_out else "")
        return {p.result: partial["partial"], p.heatmap: confidence_heatmap(frames, last),
                p.progress: progress_chart(frames, last),
                p.message: message_html(f"{why}stopped at step {partial['step']} of {partial['steps']}: the result so "
                                        f"far is shown ({MASK_GLYPH} = not written yet); your draft is unchanged; "
                                        f"{'try fewer steps or a shorter span' if timed_out else ''}".rstrip("; "),
                                        "hint")}

    def run_seconds(self, editor) -> int:
        """The wall-clock limit of one run (dllm_core.limits.run_seconds for the model's device; the server's own
        ``max_run_seconds`` when it sets one)."""
        if self.max_run_seconds is not None:
            return self.max_run_seconds
        device = getattr(getattr(editor, "adapter", None), "device", None) if editor is not None else None
        return run_seconds(getattr(device, "type", str(device or "cpu")))

    def _finish(self, draft: str, result: EditResult, frames: list[dict], surface: list, session,
                editor: Editor, session_id: str | None = None) -> dict:
        p = self.ui
        original = plain_text(result.canvas.segments)
        stats = result.stats
        seconds = max(stats.seconds, 1e-9)
        if result.config.fluency > 0 and result.config.block_length == 1:  # the writing mode set the steps
            capped = (" (fluent writing sets its own steps: left to right" + (
                ", several tokens a step where the model's reading agrees with its draft)" if result.config.speculate
                and result.config.beams == 1 else ", one token a step)"))
        else:
            capped = (f" (of {result.config.steps} asked: at most one step per token to write, fewer when the "
                      f"confidence threshold commits several at once)" if stats.steps < result.config.steps else "")
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
        """The tab closed (Gradio's unload): its run and action stop (:meth:`client_gone`), its download goes."""
        key = getattr(request, "session_hash", None)
        self.client_gone(key)
        self.downloads.drop(key)

    def close(self) -> None:
        """The app shuts down: remove every download (also done when the process exits)."""
        self.downloads.close()


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



def progress(event, editor: Editor) -> dict:
    """The session state while a run streams: the text so far (what Stop shows) and the step."""
    return {"partial": partial_text(event, editor), "step": event.step + 1, "steps": event.steps}


def partial_text(event, editor: Editor) -> str:
    """The text of the first canvas as it stands after a step (masks still to fill as ▒)."""
    return event.text(editor.tokenizer, MASK_GLYPH)


def pinned_words(result: EditResult) -> set[str]:
    """The words of the draft's pinned spans."""
    return {w.strip(".,;:!?\"'()") for seg in result.canvas.segments if seg.kind == "pinned" for w in seg.text.split()}
