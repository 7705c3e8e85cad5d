"""The writing actions on the page (:class:`Writer`, a part of :class:`ui.handlers.Studio`): Shorten, Rephrase,
Tone, Rewrite and Fill on the selection (:func:`writing.actions.run_action`), their inputs checked here, the estimate
of their time while one runs, the list of alternatives with tracked changes and fact checks, and picking or
rejecting one (Accept and Undo are :mod:`ui.marking`)."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

import gradio as gr

from dllm_core import EditError, parse
from dllm_core import cancel
from dllm_core.config import is_number, whole_number
from dllm_core.limits import MAX_DRAFT_CHARS
from dllm_core.markup import check_text
from writing import actions as core_actions
from writing.actions import action_config

from . import guided
from .drafting import snap_selection
from .models import canonical_model
from .render import DIFF_PLACEHOLDER, diff_html, message_html, plural, short, suggestions_html, withheld_text

if TYPE_CHECKING:
    from dllm_core import Editor

    from .layout import Page

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
# with one (SmolLM2), on 2 CPU cores (2026-12-04: a 46-word draft took 2-4 s to shorten, 3.5 s to rephrase, 3 s for
# tone; Fill on 6 words, written Fast, 1.9 s: bench/fast_path.py), with room for a busier server
FIRST_GUESS_S_PER_WORD_JUDGED = {"shorten": 0.12, "rephrase": 0.12, "tone": 0.1, "rewrite": 0.1, "fill": 0.5}
TIMINGS_KEPT = 8
SHORTEN_TARGET = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*")
log = logging.getLogger("dllm_app")


class Writer:
    """The writing-action handlers of :class:`ui.handlers.Studio`, which provides the state they use (the editors,
    the default model's name, the timings) and ``editor_for``, ``ui`` and ``error``."""

    editors: dict[str, Editor]
    model_name: str
    timings: dict[tuple[str, str], deque]
    timings_lock: threading.Lock
    action_stops: dict[str, threading.Event]  # Stop and a client gone set the session's (ui.handlers.Studio.stop)
    stops_lock: threading.Lock
    ui: Page

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

    def action_started(self, action: str, draft, start, end, model=None, request: gr.Request | None = None) -> dict:
        """An action's button pressed (before it is queued): the action buttons, Accept and Reject are disabled
        until it ends, the message says what is under way and about how long it takes ("Shortening… about
        4 s"), and Stop from now on stops this action, even while it still waits in the queue."""
        p = self.ui
        key = getattr(request, "session_hash", None)
        if key is not None:
            with self.stops_lock:
                self.action_stops[key] = threading.Event()
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
                p.action_stop_btn: gr.Button(interactive=True), p.message: message_html(note, "info busy")}

    def action_buttons(self) -> list:
        p = self.ui
        return [p.shorten_btn, p.rephrase_btn, p.tone_btn, p.rewrite_btn, p.fill_btn]

    def action_ended(self, session) -> dict:
        """The action ended (with alternatives or a message): its buttons are clickable again, the list shows."""
        on = gr.Button(interactive=True)
        return {**{b: on for b in self.action_buttons()}, self.ui.action_stop_btn: gr.Button(interactive=False),
                **self.show_alternatives(session)}

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
            session, model=None, writing=None, request: gr.Request | None = None) -> dict:
        """Shorten / Rephrase / Tone on the selection (or the whole draft when nothing is selected): k alternatives
        from one batched run, listed with their tracked changes and fact checks; the first is previewed in the
        Result box. ``change``: how much Rephrase and Tone change (a share in (0, 1]); ``tone_choice``: a writer's
        tone (:data:`TONES`) or a classifier's ``name=target``. Every input is checked here: a wrong one is a
        message, the draft and the last result stay. Stop and a client gone (:meth:`ui.handlers.Studio.stop`,
        ``client_gone``) end it before its next forward pass, with a message."""
        p = self.ui
        key = getattr(request, "session_hash", None)
        stop = self._stop_event(key, self.action_stops)
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
            with cancel.scope(stop):
                cancel.check()  # Stop pressed while it waited in the queue
                out = core_actions.run_action(editor, action, draft, **kwargs)
            self.timed(action, model, time.perf_counter() - began,
                       core_actions.count_words(draft[start:end] if selection else draft))
        except cancel.Cancelled:
            return {p.message: message_html(f"{BUSY_WORDS[action]} stopped; your draft is unchanged", "hint")}
        except (EditError, ValueError, OverflowError) as exc:  # a user's input: a message, the draft kept
            return self.error(str(exc))
        except Exception as exc:  # never lose the page over a bug
            log.exception("action failed")
            return self.error(f"internal error ({type(exc).__name__}): {exc}")
        finally:
            self._run_done(key, stop, self.action_stops)
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
        # (Rephrase's new sentence order comes first by design and carries no score: unranked only where the
        # model has no causal reading to rank with)
        ranked = ("" if len(alternatives) == 1 else " (best first)" if out.alternatives[0].score is not None else
                  "" if editor.adapter.can_score else " (unranked: this model cannot rank them)")
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

