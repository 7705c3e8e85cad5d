"""The web app: write a draft, mark what to rewrite or keep, and watch a masked-diffusion model refine it.

``python app.py`` serves it on the embedded model (GRADIO_SERVER_NAME, default 127.0.0.1; GRADIO_SERVER_PORT, default
7860). It holds no sampling logic: :class:`Studio` turns the page's inputs into edit markup and a
:class:`SamplerConfig`, streams :meth:`Editor.stream`, and renders the trajectory (HTML canvas, Plotly charts, diff).
Every handler is a plain method, so tests call them without a browser.
"""

from __future__ import annotations

import difflib
import html
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from dllm_core import EditError, Editor, EditResult, ModelLoadError, SamplerConfig, TokenState, parse
from dllm_core.adapter import LOCAL_MODELS
from dllm_core.config import ORDERS, SCHEDULES, is_number, threshold_setting, whole_number
from dllm_core.limits import MAX_DRAFT_CHARS, MAX_LENGTH_PERCENT, MAX_SPAN_TOKENS, work_limit
from dllm_core.markup import check_text, has_auto_length, plain_text
from dllm_core.plots import confidence_heatmap, progress_chart

from app_files import SessionFiles

try:  # guidance lands separately; its controls light up when the package is importable
    import guidance
except ImportError:
    guidance = None

ROOT = Path(__file__).resolve().parent
EXAMPLES = json.loads((ROOT / "assets" / "examples.json").read_text(encoding="utf-8"))
CSS_PATH = ROOT / "assets" / "style.css"
log = logging.getLogger("dllm_app")

MAX_UNDO = 50
VIEW_CONTEXT = 40  # canvas view: tokens shown on each side of the edited positions
MAX_VIEW_TOKENS = 1500
CHART_INTERVAL_S = 0.5  # while streaming, redraw the charts at most this often
LENGTH_MODES = ("keep length", "tokens", "percent", "auto")  # auto: the guidance package picks the length
MASK_GLYPH = "▒"
SYSTEM_FONTS = ["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
THEME = gr.themes.Soft(font=SYSTEM_FONTS, font_mono=["ui-monospace", "Consolas", "monospace"])  # no font downloads

# Reads the textarea's selection (in code points, as Python counts) into the two numbers that follow the draft.
SELECTION_JS = """
(...args) => {
  const ta = document.querySelector('#draft textarea');
  if (ta) {
    args[1] = Array.from(ta.value.slice(0, ta.selectionStart)).length;
    args[2] = Array.from(ta.value.slice(0, ta.selectionEnd)).length;
  }
  return args;
}
"""


CANVAS_LEGEND = ('<div class="canvas-step">Canvas: <span class="tok masked">▒</span> still masked · '
                 '<span class="tok generated" style="background:hsl(0, 75%, 82%)">unsure</span> → '
                 '<span class="tok generated" style="background:hsl(120, 75%, 82%)">sure</span> written by the model '
                 '(colour = confidence) · <span class="tok generated new">outlined</span> written this step · '
                 '<span class="tok pinned">pinned</span> kept exactly · plain: your text</div>')


# ------------------------------------------------------------------------------------------------ guidance wiring
# Everything the app knows about the guidance package is in this section.
NO_ATTRIBUTE = "none"


def guidance_available() -> bool:
    return guidance is not None and hasattr(guidance, "guided_stream")


def guidance_attributes() -> list[str]:
    """Dropdown choices "name=target" from the shipped classifiers, e.g. "sentiment=positive"."""
    if not guidance_available():
        return [NO_ATTRIBUTE]
    try:
        table = guidance.available_attributes()
    except Exception:  # a broken classifier directory must not take the page down
        log.exception("listing guidance attributes failed")
        table = {}
    return [NO_ATTRIBUTE, *(f"{name}={target}" for name, targets in table.items() for target in targets)]


def parse_words(text: str) -> list[str]:
    """Comma- or newline-separated words and phrases."""
    return [w.strip() for w in re.split(r"[,\n]", text or "") if w.strip()]


def edit_stream(editor: Editor, draft: str, config: SamplerConfig, required: str = "", banned: str = "",
                attribute: str = NO_ATTRIBUTE, attribute_strength: float = 0.0, cfg_scale: float = 0.0,
                length_target: float = 1.0) -> Iterator:
    """StepEvents then the EditResult, guided when any guidance control is set (``result.guidance`` = report)."""
    require, ban = parse_words(required), parse_words(banned)
    name, _, target = (attribute or NO_ATTRIBUTE).partition("=")
    wanted = bool(require or ban or (target and attribute_strength) or cfg_scale or has_auto_length(draft or ""))
    if not wanted:
        return editor.stream(draft, config)
    if not guidance_available():
        raise EditError("guidance is not installed in this build: clear the guidance fields (and |auto) to run")
    options = guidance.GuidanceOptions(require=require, ban=ban, attribute=name if target else None,
                                       target=target or None, strength=float(attribute_strength or 0.0),
                                       cfg=float(cfg_scale or 0.0), length_target=float(length_target))
    return guidance.guided_stream(editor, draft, config, options)


def guidance_summary(report: dict | None) -> str:
    """One line from the guidance report: which constraints hold, the attribute score, chosen lengths."""
    if not report:
        return ""
    parts = [f"“{r['word']}” {'included' if r['holds'] else 'MISSING'}" for r in report.get("require", [])]
    parts += [f"“{r['word']}” {'avoided' if r['holds'] else 'PRESENT'}" for r in report.get("ban", [])]
    attr = report.get("attribute") or {}
    if attr.get("score") is not None:
        parts.append(f"{attr.get('name')}={attr.get('target')}: {attr['score']:.2f}")
    return "guidance: " + "; ".join(parts) if parts else ""


# ------------------------------------------------------------------------------------------------ markup helpers
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


def check_selection(draft: str, start, end) -> tuple[int, int]:
    """A snapped selection that lies in plain text, or an :class:`EditError` saying what is wrong."""
    if not isinstance(draft, str) or not draft.strip():
        raise EditError("the draft is empty: type or paste some text first")
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


# ------------------------------------------------------------------------------------------------ rendering
def confidence_colour(conf: float | None) -> str:
    """Red (unsure) to green (sure), light enough to read dark text on."""
    c = 0.0 if conf is None else max(0.0, min(1.0, float(conf)))
    return f"hsl({round(c * 120)}, 75%, 82%)"


def _token_html(frame: dict, surface: list[str | None], i: int) -> str:
    state, token, conf = frame["states"][i], frame["tokens"][i], frame["confidence"][i]
    original = surface[i] if i < len(surface) else None
    if original is not None and state in ("fixed", "pinned"):
        lead = "<br>" * min(2, original.count("\n")) if "\n" in original else (" " if original[:1].isspace() else "")
        word = original.strip()
    elif not token[:1].isspace() and token[:1].isalnum():  # a word piece: glued to a generated neighbour
        glued = i > 0 and frame["states"][i - 1] in ("masked", "generated")
        lead, word = ("" if glued else " "), token
    else:  # the token's own leading space (a word start), or punctuation that attaches to the word before
        lead, word = (" " if token[:1].isspace() else ""), token.strip() or token
    classes = ["tok", state]
    style = ""
    title = state
    if state == "masked":
        word = MASK_GLYPH
        title = "masked" + (f" · best guess {conf:.2f}" if conf is not None else "")
    elif state == "generated":
        style = f' style="background:{confidence_colour(conf)}"'
        title = f"generated · confidence {conf:.2f}" if conf is not None else "generated"
    if i in frame["committed"]:
        classes.append("new")
    if i in frame["remasked"]:
        classes.append("remasked")
        title += " · remasked (self-correction)"
    return f'{lead}<span class="{" ".join(classes)}"{style} title="{html.escape(title)}">{html.escape(word)}</span>'


def view_positions(states: list[int]) -> list[int]:
    """Canvas positions worth showing: the edited ones and VIEW_CONTEXT tokens around them (at most
    MAX_VIEW_TOKENS). Only these are kept per step, so a long draft does not fill the session's memory."""
    n = len(states)
    edited = [i for i, s in enumerate(states) if s in (TokenState.MASKED, TokenState.GENERATED)]
    keep = [not edited] * n
    for p in edited:
        lo, hi = max(0, p - VIEW_CONTEXT), min(n, p + VIEW_CONTEXT + 1)
        keep[lo:hi] = [True] * (hi - lo)
    return [i for i in range(n) if keep[i]][:MAX_VIEW_TOKENS]


def canvas_html(frame: dict | None, surface: list[str | None]) -> str:
    """The canvas at one step: masked slots visible, generated tokens coloured by confidence, pinned marked.

    Gaps in ``frame["positions"]`` (draft text far from any edit) show as an ellipsis.
    """
    if frame is None:
        return '<div class="canvas empty">The canvas appears here when you run an edit.</div>'
    positions = frame.get("positions") or list(range(len(frame["states"])))
    length = frame.get("length", len(positions))
    parts = []
    for k, p in enumerate(positions):
        if p > (positions[k - 1] + 1 if k else 0):
            parts.append(" <span class=\"elided\">…</span>")
        parts.append(_token_html(frame, surface, k))
    if positions and positions[-1] < length - 1:
        parts.append(" <span class=\"elided\">…</span>")
    step = f'<div class="canvas-step">step {frame["step"] + 1} · {frame["masked"]} masked</div>'
    return f'{step}<div class="canvas">{"".join(parts).strip()}</div>'


def diff_html(original: str, result: str, keep: frozenset[str] | set[str] = frozenset()) -> str:
    """Word-level diff: removed words struck through in red, new words in green. A run of one or two unchanged
    words between two changes joins the change, so a rewritten span reads as one block, not a word salad; unless
    it holds a pinned word (``keep``): that never shows as deleted and re-inserted."""
    def words(text: str) -> list[str]:  # each word keeps the white space after it
        return re.findall(r"\s+|\S+\s*", text)

    a, b = words(original), words(result)
    blocks: list[list] = []  # [changed?, old words, new words]
    opcodes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for k, (op, i1, i2, j1, j2) in enumerate(opcodes):
        between_changes = (0 < k < len(opcodes) - 1 and i2 - i1 <= 2
                           and not any(w.strip(" \t\n.,;:!?\"'()") in keep for w in a[i1:i2]))
        if op != "equal" or between_changes:
            if blocks and blocks[-1][0]:
                blocks[-1][1] += a[i1:i2]
                blocks[-1][2] += b[j1:j2]
            else:
                blocks.append([True, a[i1:i2], b[j1:j2]])
        else:
            blocks.append([False, a[i1:i2], b[j1:j2]])
    out = []
    for changed, old, new in blocks:
        removed, added = "".join(old), "".join(new)
        if not changed:
            out.append(html.escape(removed))
            continue
        if removed:
            out.append(f"<del>{html.escape(removed.rstrip())}</del>{' ' if added else removed[len(removed.rstrip()):]}")
        if added:
            out.append(f"<ins>{html.escape(added.rstrip())}</ins>{html.escape(added[len(added.rstrip()):])}")
    return f'<div class="diff">{"".join(out)}</div>'


DIFF_PLACEHOLDER = '<div class="diff muted">The diff appears after a run.</div>'


def message_html(text: str, kind: str = "info") -> str:
    return f'<div class="msg {kind}">{html.escape(text)}</div>' if text else ""


# ------------------------------------------------------------------------------------------------ the handlers
class Studio:
    """Event handlers of the page, bound to one loaded :class:`Editor` (shared; per-user data lives in gr.State)."""

    def __init__(self, editor: Editor | None, load_error: str = "", model_name: str = "embedded"):
        self.editor = editor
        self.load_error = load_error
        self.model_name = model_name
        # every request gets the work budget of dllm_core.limits for its device, so none holds the worker for minutes
        self.editors: dict[str, Editor] = {model_name: with_budget(editor)} if editor is not None else {}
        self.load_lock = threading.Lock()
        self.downloads = SessionFiles()  # trajectory files: one per session, removed with it (app_files)

    # ------------------------------------------------------------------ models
    def editor_for(self, name: str | None) -> Editor:
        """The editor of the model picked in the page, loaded on first use (then kept); the model the app started
        with when nothing is picked. A model that cannot load is a user-facing error; the draft stays as it is."""
        name = name or self.model_name
        if name in self.editors:
            return self.editors[name]
        if name not in LOCAL_MODELS:
            raise EditError(f"model {name!r} is not offered here; choose one of: {', '.join(LOCAL_MODELS)}")
        with self.load_lock:
            if name not in self.editors:
                try:
                    self.editors[name] = with_budget(Editor.load(name))
                except ModelLoadError as exc:
                    raise EditError(f"could not load {name!r}: {exc}") from exc
        return self.editors[name]

    # ------------------------------------------------------------------ status
    def model_line(self) -> str:
        if self.editor is None:
            return f"No model loaded: {self.load_error}"
        return f"Model: {self.editor.adapter.describe()}"

    # ------------------------------------------------------------------ marking the draft
    def preview(self, draft: str) -> str:
        """What the markup asks for, in words (or what is wrong with it)."""
        if not draft or not draft.strip():
            return message_html("Type or paste a draft. Select words, then mask or pin them.", "hint")
        if len(draft) > MAX_DRAFT_CHARS:
            return message_html(f"The draft is {len(draft):,} characters; the limit is {MAX_DRAFT_CHARS:,}: "
                                "shorten it before running.", "error")
        try:
            segments = parse(draft)
        except ValueError as exc:
            return message_html(f"Markup problem: {exc}", "error")
        items = []
        tokenizer = self.editor.tokenizer if self.editor else None
        for seg in segments:
            if seg.kind == "insert":
                items.append(f"<li>insert <b>{seg.length}</b> new tokens</li>")
            elif seg.kind == "pinned":
                items.append(f"<li>keep <span class='pin'>{html.escape(seg.text)}</span> exactly</li>")
            elif seg.kind == "rewrite":
                n = len(tokenizer(seg.text, add_special_tokens=False)["input_ids"]) if tokenizer else None
                target = "auto" if seg.auto else seg.length or (max(1, round(n * seg.ratio)) if seg.ratio and n else n)
                words = len(re.findall(r"\w+(?:['’-]\w+)*", seg.text))  # writers count words
                size = (f" ({words} word{'' if words == 1 else 's'}; {n} → {target} tokens)" if n is not None
                        else f" ({words} word{'' if words == 1 else 's'})")
                items.append(f"<li>rewrite “{html.escape(_short(seg.text))}”{size}</li>")
        if not items:
            return message_html("No marks yet: select words and press Mask or Pin, or set a strength > 0 to "
                                "rewrite the whole draft.", "hint")
        return f'<ul class="plan">{"".join(items)}</ul>'

    def mask_selection(self, draft: str, start, end, mode: str, n_tokens, percent, undo):
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
                if not guidance_available():
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
            return draft, undo, message_html(str(exc), "error")
        new = f"{draft[:start]}[[{draft[start:end]}{spec}]]{draft[end:]}"
        return new, push_undo(undo, draft), message_html(f"masked “{_short(draft[start:end])}”", "ok")

    def pin_selection(self, draft: str, start, end, undo):
        try:
            start, end = check_selection(draft, start, end)
        except EditError as exc:
            return draft, undo, message_html(str(exc), "error")
        new = f"{draft[:start]}{{{{{draft[start:end]}}}}}{draft[end:]}"
        return new, push_undo(undo, draft), message_html(f"pinned “{_short(draft[start:end])}”", "ok")

    def insert_at_cursor(self, draft: str, start, end, n_tokens, undo):
        """Insert [[N]] at the cursor (the end of the selection), with a space on each side where needed."""
        draft = draft or ""
        try:
            n = whole_number(n_tokens, "insert length")
            cursor = max(0, min(int(end if end is not None else len(draft)), len(draft)))
            if not 1 <= n <= MAX_SPAN_TOKENS:
                raise EditError(f"insert length must be 1..{MAX_SPAN_TOKENS} tokens, got {n}")
            ranges = fixed_ranges(draft) if draft else [(0, 0)]
        except (TypeError, ValueError, OverflowError) as exc:
            return draft, undo, message_html(str(exc) if isinstance(exc, EditError) else
                                             f"cannot insert here: {exc}", "error")
        if draft and not any(lo <= cursor <= hi for lo, hi in ranges):
            return draft, undo, message_html("the cursor is inside a marked span: move it to plain text", "error")
        left, right = draft[:cursor], draft[cursor:]
        mark = f"[[{n}]]"
        if left and not left[-1].isspace():
            mark = " " + mark
        if right and right[0].isalnum():
            mark += " "
        return left + mark + right, push_undo(undo, draft), message_html(f"inserted {n} tokens at the cursor", "ok")

    def clear_marks(self, draft: str, undo):
        try:
            plain = plain_text(parse(draft or ""))
        except ValueError as exc:
            return draft, undo, message_html(f"cannot clear marks: {exc}", "error")
        if plain == draft:
            return draft, undo, message_html("no marks to clear", "hint")
        return plain, push_undo(undo, draft), message_html("marks cleared", "ok")

    def undo(self, draft: str, undo):
        if not undo:
            return draft, undo, message_html("nothing to undo", "hint")
        return undo[-1], undo[:-1], message_html("undone", "ok")

    def accept(self, draft: str, session: dict | None, undo):
        result = (session or {}).get("result")
        if not result:
            return draft, undo, message_html("run an edit first, then accept its result", "hint")
        return result, push_undo(undo, draft), message_html("result accepted into the draft", "ok")

    def load_example(self, name: str):
        """Draft, sampler settings and guidance fields of an example (guidance only where installed)."""
        example = next((e for e in EXAMPLES if e["name"] == name), None)
        if example is None:
            return (gr.skip(),) * 16 + (message_html(f"unknown example {name!r}", "error"),)
        s = {**SamplerConfig().to_dict(), **example.get("settings", {})}
        guided = guidance_available() and bool(example.get("guidance"))
        g = example.get("guidance", {}) if guided else {}
        draft = example["draft"] if guided or "draft_unguided" not in example else example["draft_unguided"]
        attribute = g.get("attribute", NO_ATTRIBUTE)
        if attribute not in guidance_attributes():  # that classifier is not shipped: leave the attribute off
            attribute = NO_ATTRIBUTE
        strength = g.get("attribute_strength", 0.0) if attribute != NO_ATTRIBUTE else 0.0
        # every setting the example does not name goes back to its default: nothing of the last task lingers
        return (draft, s["steps"], s["schedule"], s["order"], s["strength"], s["seed"], s["block_length"],
                s["temperature"], s["top_p"], s["remask"], s["threshold"] or 0.0, g.get("required", ""),
                g.get("banned", ""), attribute, strength, g.get("cfg", 0.0),
                message_html(example.get("help", ""), "hint"))

    def attribute_picked(self, attribute: str, strength):
        """Choosing an attribute at strength 0 would do nothing: start it at 8 and say so."""
        if not attribute or attribute == NO_ATTRIBUTE:
            return gr.skip(), ""
        if float(strength or 0) > 0:
            return gr.skip(), ""
        return 8.0, message_html(f"{attribute}: attribute strength set to 8 (at 0 the attribute does nothing)", "hint")

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

    def run(self, draft, steps, schedule, order, temperature, top_p, block_length, remask, threshold, strength,
            seed, required, banned, attribute, attribute_strength, cfg_scale, percent, session, model=None,
            request: gr.Request | None = None) -> Iterator[tuple]:
        """Stream the edit: (canvas, heatmap, progress, result, diff, status, message, replay, download, session).

        ``percent`` is the length target of [[...|auto]] spans. Closing the generator (the Stop button) stops the
        sampler before its next forward pass.
        """
        skip = gr.skip()
        try:
            if self.editor is None and not model:
                raise EditError(f"no model is loaded: {self.load_error}")
            editor = self.editor_for(model)
            config = self.make_config(steps, schedule, order, temperature, top_p, block_length, remask, threshold,
                                      strength, seed)
            for words, what in ((required, "a required word"), (banned, "a banned word")):
                try:
                    check_text(words if isinstance(words, str) else "", what)
                except ValueError as exc:
                    raise EditError(str(exc)) from None
            stream = edit_stream(editor, draft, config, required, banned, attribute, attribute_strength,
                                 cfg_scale, float(percent or 100) / 100)
            frames: list[dict] = []
            surface: list[str | None] = []
            last_chart = 0.0
            for item in stream:
                if isinstance(item, EditResult):
                    yield self._finish(draft, item, frames, surface, session, editor,
                                       getattr(request, "session_hash", None))
                    return
                if not frames:
                    view = view_positions(item.records[0].states)
                    everything = item.surface_texts()
                    surface = [everything[p] for p in view]
                frames.append(item.records[0].to_json(editor.tokenizer, positions=view))
                html_now = canvas_html(frames[-1], surface)
                now = time.perf_counter()
                charts = (skip, skip)
                if now - last_chart >= CHART_INTERVAL_S:
                    charts, last_chart = (confidence_heatmap(frames), progress_chart(frames)), now
                note = message_html(f"step {item.step + 1} of {item.steps}…", "info")
                partial = {"partial": partial_text(item, editor), "step": item.step + 1, "steps": item.steps}
                if len(frames) == 1:  # the previous run's result must not outlive this one (Stop, Accept)
                    yield (html_now, *charts, "", DIFF_PLACEHOLDER, skip, note, gr.Slider(visible=False),
                           gr.DownloadButton(visible=False), partial)
                    continue
                yield (html_now, *charts, skip, skip, skip, note, skip, skip, partial)
        except EditError as exc:
            yield (skip,) * 6 + (message_html(str(exc), "error"), skip, skip, skip)
        except Exception as exc:  # never lose the page over a bug: say what happened, keep the draft
            log.exception("edit failed")
            yield (skip,) * 6 + (message_html(f"internal error ({type(exc).__name__}): {exc}", "error"),
                                 skip, skip, skip)

    def _finish(self, draft: str, result: EditResult, frames: list[dict], surface: list, session,
                editor: Editor, session_id: str | None = None) -> tuple:
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
        # one file per session, replaced by its next run, removed when its tab closes (app_files.SessionFiles)
        key = session_id or (session or {}).get("files") or os.urandom(8).hex()
        path = self.downloads.write(key, f"trajectory-seed{result.seed}.json",
                                    json.dumps(data, ensure_ascii=False).encode("utf-8"))
        session = {"frames": frames, "surface": surface, "original": original, "result": result.text, "files": key}
        last = len(frames) - 1
        replay = (gr.Slider(minimum=1, maximum=len(frames), value=len(frames), step=1, interactive=True, visible=True)
                  if len(frames) > 1 else gr.Slider(visible=False))  # one step: nothing to replay
        return (canvas_html(frames[last] if frames else None, surface), confidence_heatmap(frames, last),
                progress_chart(frames, last), result.text,
                diff_html(original, result.text, pinned_words(result)), status,
                message_html(" · ".join(filter(None, ["done: accept the result into the draft to keep editing",
                                                      guidance_summary(result.guidance)])), "ok"),
                replay,
                gr.DownloadButton(value=str(path), visible=True), session)

    def stopped(self):
        return message_html("stopped: the model stops before its next step; your draft is unchanged", "hint")

    def stopped_partial(self, session) -> tuple:
        """After Stop: the message, and the canvas as far as it got in the Result box (not for Accept: its
        unwritten slots show as ▒)."""
        partial = (session or {}).get("partial")
        if not partial:
            return self.stopped(), gr.skip()
        return (message_html(f"stopped at step {session['step']} of {session['steps']}: the result so far is shown "
                             f"({MASK_GLYPH} = not written yet); your draft is unchanged", "hint"), partial)

    def stop(self) -> None:
        """The Stop button's server side: nothing (the page cancels the run); /stop over the API answers, too."""

    def end_session(self, request: gr.Request | None = None) -> None:
        """The tab closed: remove the session's download."""
        self.downloads.drop(getattr(request, "session_hash", None))

    def close(self) -> None:
        """The app shuts down: remove every download (also done when the process exits)."""
        self.downloads.close()

    # ------------------------------------------------------------------ writing actions
    def act(self, action: str, draft: str, start, end, target, rephrase_strength, tone_choice, k, seed,
            session, model=None) -> tuple:
        """Shorten / Rephrase / Tone on the selection (or the whole draft when nothing is selected): k alternatives
        to choose from. Returns (alternatives, result, diff, message, session)."""
        skip = gr.skip()
        try:
            if self.editor is None and not model:
                raise EditError(f"no model is loaded: {self.load_error}")
            editor = self.editor_for(model)
            if not draft or not draft.strip():
                raise EditError("the draft is empty: type or paste some text first")
            try:
                marked = any(seg.kind != "fixed" for seg in parse(draft))
            except ValueError as exc:
                raise EditError(f"the draft's markup is broken: {exc}") from exc
            if marked:
                raise EditError("actions work on plain text: clear the marks first (Clear marks)")
            start, end = snap_selection(draft, whole_number(start or 0, "selection start"),
                                        whole_number(end or 0, "selection end"))
            selection = (start, end) if end > start else None
            k = whole_number(k or 1, "alternatives")
            seed = whole_number(seed or 0, "seed")
            config = SamplerConfig(steps=16, temperature=0.7 if k > 1 else 0.0, seed=seed)
            kwargs: dict = {"selection": selection, "k": k, "config": config, "seed": seed}
            if action == "shorten":
                kwargs["target"] = str(target or "70%")
            elif action in ("rephrase", "tone"):
                strength = rephrase_strength if rephrase_strength is not None else 0.5
                if not is_number(strength) or not 0.0 < float(strength) <= 1.0:
                    raise EditError(f"rephrase strength: must be in (0, 1], got {rephrase_strength!r}")
                kwargs["strength"] = float(strength)
            if action == "tone":
                name, _, goal = (tone_choice or "").partition("=")
                if not goal:
                    raise EditError("choose a tone first (e.g. sentiment=positive)")
                kwargs["attribute"], kwargs["target"] = name, goal
            from dllm_core.actions import run_action  # noqa: PLC0415

            out = run_action(editor, action, draft, **kwargs)
        except (EditError, ValueError) as exc:  # a user's input: a message, the draft kept, no traceback logged
            return skip, skip, skip, message_html(str(exc), "error"), skip
        except Exception as exc:  # never lose the page over a bug
            log.exception("action failed")
            return skip, skip, skip, message_html(f"internal error ({type(exc).__name__}): {exc}", "error"), skip
        texts = [a.text for a in out.alternatives]
        where = "the selection" if out.selection != (0, len(draft)) else "the draft"
        size = (f"{out.words_before} → {out.words_after} words (target {out.target_words})"
                if out.target_words is not None else f"{out.words_before} → {out.words_after} words")
        ranked = ("best first by the model's reading" if out.alternatives[0].score is not None else
                  "in the sampler's order (this model cannot rank them)")
        kept = f" · kept: {', '.join(out.kept[:8])}" if out.kept else ""
        note = f" · {out.note}" if out.note else ""
        msg = message_html(f"{action}: {where}, {size}{kept} · {plural(len(texts), 'alternative')}, {ranked}{note}"
                           " · pick one, then Accept into draft", "ok")
        new_session = {"result": texts[0], "original": draft, "alternatives": texts}
        return (gr.Radio(choices=texts, value=texts[0], visible=True), texts[0], diff_html(draft, texts[0]), msg,
                new_session)

    def choose_alternative(self, choice: str, session) -> tuple:
        """Show the picked alternative as the result (and make it what Accept takes)."""
        session = dict(session or {})
        if not choice or choice not in session.get("alternatives", []):
            return gr.skip(), gr.skip(), gr.skip()
        session["result"] = choice
        return choice, diff_html(session.get("original", ""), choice), session

    def replay(self, step, session):
        """Show step ``step`` (1-based) of the last run on the canvas and the charts."""
        frames = (session or {}).get("frames") or []
        if not frames:
            return gr.skip(), gr.skip(), gr.skip()
        try:
            k = max(0, min(whole_number(step or len(frames), "step") - 1, len(frames) - 1))
        except (ValueError, OverflowError):
            return gr.skip(), gr.skip(), gr.skip()
        return (canvas_html(frames[k], session.get("surface", [])), confidence_heatmap(frames, k),
                progress_chart(frames, k))


def with_budget(editor: Editor) -> Editor:
    """``editor``'s model with the work budget of one request on its device (dllm_core.limits)."""
    return Editor(editor.adapter, max_work=work_limit(editor.adapter.device.type))


def partial_text(event, editor: Editor) -> str:
    """The text of the first canvas as it stands after a step (masks still to fill as ▒)."""
    canvas = event.state.canvases[0].copy()
    record = event.records[0]
    canvas.ids = list(record.ids)
    canvas.states = [TokenState(int(s)) for s in record.states]
    return canvas.render(editor.tokenizer, MASK_GLYPH)


def pinned_words(result: EditResult) -> set[str]:
    """The words of the draft's pinned spans."""
    return {w.strip(".,;:!?\"'()") for seg in result.canvas.segments if seg.kind == "pinned" for w in seg.text.split()}


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _short(text: str, n: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# ------------------------------------------------------------------------------------------------ the page
def build_ui(studio: Studio, concurrency: int = 1) -> gr.Blocks:
    default = SamplerConfig()  # the settings start at the engine's defaults
    with gr.Blocks(title="Diffusion text editor") as demo:
        session = gr.State({})
        undo_stack = gr.State([])
        gr.Markdown("# Diffusion text editor\nWrite a draft, **select words** and mask them to be rewritten or pin "
                    "them to keep them, then **Run** and watch the model fill the masked slots step by step.",
                    elem_id="intro")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):  # the text and what to do with it
                draft = gr.Textbox(label="Draft (edit markup: [[rewrite]], [[words|5]], [[words|70%]], [[N]] "
                                   "insert, {{pin}})", lines=7, max_lines=20, elem_id="draft",
                                   placeholder="Paste a draft, select a few words, then press Mask selection.")
                sel_start = gr.Number(value=0, precision=0, visible=False)
                sel_end = gr.Number(value=0, precision=0, visible=False)
                with gr.Row(elem_classes="toolbar", elem_id="actions"):  # writing actions: selection or all
                    shorten_btn = gr.Button("Shorten", size="sm", min_width=80, elem_id="shorten-btn")
                    shorten_to = gr.Textbox("70%", label="shorten to", min_width=110, scale=1,
                                            elem_id="shorten-to")
                    rephrase_btn = gr.Button("Rephrase", size="sm", min_width=80, elem_id="rephrase-btn")
                    tones = [t for t in guidance_attributes() if t != NO_ATTRIBUTE]
                    tone_btn = gr.Button("Tone", size="sm", min_width=80, elem_id="tone-btn",
                                         interactive=bool(tones))
                    tone_choice = gr.Dropdown(tones, value=tones[0] if tones else None, label="tone",
                                              min_width=170, scale=2, elem_id="tone-choice")
                    n_alternatives = gr.Dropdown([1, 2, 3, 4], value=3, label="alternatives", min_width=110, scale=1)
                with gr.Row(elem_classes="toolbar"):
                    mask_btn = gr.Button("Mask selection", size="sm", min_width=80, elem_id="mask-btn")
                    pin_btn = gr.Button("Pin selection", size="sm", min_width=80, elem_id="pin-btn")
                    insert_btn = gr.Button("Insert [[N]] at cursor", size="sm", min_width=80, elem_id="insert-btn")
                    clear_btn = gr.Button("Clear marks", size="sm", min_width=80)
                    undo_btn = gr.Button("Undo", size="sm", min_width=80, elem_id="undo-btn")
                with gr.Row(elem_classes="toolbar"):
                    length_mode = gr.Radio(list(LENGTH_MODES) if guidance_available() else list(LENGTH_MODES[:-1]),
                                           value="keep length", label="Masked length",
                                           scale=3)
                    n_tokens = gr.Number(value=8, precision=0, minimum=1, maximum=MAX_SPAN_TOKENS, label="N tokens",
                                         scale=1)
                    percent = gr.Slider(25, 300, value=70, step=5, label="Length % (also auto target)",
                                        scale=2)
                plan = gr.HTML(studio.preview(""), elem_id="plan")
                message = gr.HTML("", elem_id="message")
                with gr.Row():
                    run_btn = gr.Button("Run", variant="primary", elem_id="run-btn")
                    stop_btn = gr.Button("Stop", variant="stop", elem_id="stop-btn")
                strength = gr.Slider(0.0, 1.0, value=default.strength, step=0.05,
                                     label="Strength: rewrite this share of the "
                                     "unpinned draft too (0 = only the masked spans; Rephrase uses it too)")
            with gr.Column(scale=2):  # the result, next to the draft
                alternatives = gr.Radio([], label="Alternatives (click one to choose)", visible=False,
                                        elem_id="alternatives")
                result = gr.Textbox(label="Result", lines=5, interactive=False, elem_id="result",
                                    buttons=["copy"])
                with gr.Row():
                    accept_btn = gr.Button("Accept into draft", elem_id="accept-btn")
                    download = gr.DownloadButton("Download trajectory (JSON)", visible=False)
                gr.Markdown("**Changes** (original → result)")
                diff = gr.HTML(DIFF_PLACEHOLDER, elem_id="diff")
        status = gr.Markdown(studio.model_line(), elem_id="status")
        canvas = gr.HTML(canvas_html(None, []), elem_id="canvas")
        gr.HTML(CANVAS_LEGEND, elem_id="legend")
        replay = gr.Slider(1, 2, value=1, step=1, label="Replay a step", visible=False, elem_id="replay")
        with gr.Row():
            heatmap = gr.Plot(label="Confidence heatmap", elem_id="heatmap")
            progress = gr.Plot(label="Progress", elem_id="progress")
        gr.Markdown("**Examples**")
        with gr.Row(elem_classes="examples"):
            example_buttons = [gr.Button(e["name"], size="sm", min_width=120) for e in EXAMPLES]
        with gr.Row(equal_height=False):
            with gr.Column():
                with gr.Accordion("Settings", open=True):
                    model_choice = gr.Dropdown(
                        [(f"{name}: {note}", name) for name, note in LOCAL_MODELS.items() if name != "minilm"]
                        if studio.model_name in LOCAL_MODELS else [studio.model_name],
                        value=studio.model_name, label="Model (loaded on first use)", elem_id="model")
                    with gr.Row():
                        steps = gr.Slider(1, 256, value=default.steps, step=1, label="Steps", elem_id="steps")
                        seed = gr.Number(value=default.seed, precision=0, minimum=0, label="Seed")
                    temperature = gr.Slider(0.0, 2.0, value=default.temperature, step=0.05,
                                            label="Variety (temperature; 0 = always the same result)")
                with gr.Accordion("Advanced", open=False, elem_id="advanced"):
                    with gr.Row():
                        schedule = gr.Dropdown(list(SCHEDULES), value=default.schedule, label="Schedule")
                        order = gr.Dropdown(list(ORDERS), value=default.order, label="Unmasking order")
                    with gr.Row():
                        top_p = gr.Slider(0.05, 1.0, value=default.top_p, step=0.05, label="Top-p")
                        block_length = gr.Slider(0, 128, value=default.block_length, step=1,
                                                 label="Block length (0 = off)")
                    with gr.Row():
                        threshold = gr.Slider(0.0, 1.0, value=default.threshold or 0.0, step=0.05,
                                              label="Confidence threshold (0 = off)")
                        remask = gr.Slider(0.0, 1.0, value=default.remask, step=0.05,
                                           label="Self-correction (remask share)")
                    on = guidance_available()
                    attribute_strength = gr.Slider(0.0, 10.0, value=0.0, step=0.5,
                                                   label="Attribute strength γ (8 is a good start)", interactive=on)
                    cfg_scale = gr.Slider(0.0, 5.0, value=0.0, step=0.25, label="Classifier-free guidance (0 = off)",
                                          interactive=on)
            with gr.Column():
                with gr.Accordion("Guidance", open=guidance_available()):
                    if not guidance_available():
                        gr.Markdown("*The guidance package is not installed in this build; these controls are "
                                    "disabled.*", elem_classes="muted")
                    required = gr.Textbox(label="Required words (comma separated)", interactive=on)
                    banned = gr.Textbox(label="Banned words (comma separated)", interactive=on)
                    attribute = gr.Dropdown(guidance_attributes(), value=NO_ATTRIBUTE, label="Attribute",
                                            interactive=on)

        # -------------------------------------------------------------- wiring
        # preprocess=False: the handlers check raw values themselves (a message, no server traceback)
        draft_ops = dict(outputs=[draft, undo_stack, message], show_progress="hidden", preprocess=False)
        mask_btn.click(studio.mask_selection, [draft, sel_start, sel_end, length_mode, n_tokens, percent,
                                               undo_stack], js=SELECTION_JS, api_name="mask_selection", **draft_ops)
        pin_btn.click(studio.pin_selection, [draft, sel_start, sel_end, undo_stack], js=SELECTION_JS,
                      api_name="pin_selection", **draft_ops)
        insert_btn.click(studio.insert_at_cursor, [draft, sel_start, sel_end, n_tokens, undo_stack], js=SELECTION_JS,
                         api_name="insert_at_cursor", **draft_ops)
        clear_btn.click(studio.clear_marks, [draft, undo_stack], api_name="clear_marks", **draft_ops)
        undo_btn.click(studio.undo, [draft, undo_stack], api_name="undo", **draft_ops)
        accept_btn.click(studio.accept, [draft, session, undo_stack], api_name="accept", **draft_ops)
        draft.change(studio.preview, draft, plan, show_progress="hidden", api_name="preview",
                     trigger_mode="always_last")
        for button, example in zip(example_buttons, EXAMPLES):
            button.click(lambda name=example["name"]: studio.load_example(name), None,
                         [draft, steps, schedule, order, strength, seed, block_length, temperature, top_p, remask,
                          threshold, required, banned, attribute, attribute_strength, cfg_scale, message],
                         api_visibility="private", show_progress="hidden")
        attribute.input(studio.attribute_picked, [attribute, attribute_strength], [attribute_strength, message],
                        api_visibility="private", show_progress="hidden")

        run_inputs = [draft, steps, schedule, order, temperature, top_p, block_length, remask, threshold, strength,
                      seed, required, banned, attribute, attribute_strength, cfg_scale, percent, session, model_choice]
        run_outputs = [canvas, heatmap, progress, result, diff, status, message, replay, download, session]
        # Run is not clickable while a run streams. The button is disabled *before* the run is queued (one chain),
        # so a fast run can never re-enable it before the disabling update lands (a race CI once lost)
        run_event = run_btn.click(lambda: gr.Button(interactive=False), None, run_btn, queue=False,
                                  api_visibility="private", show_progress="hidden").then(
            studio.run, run_inputs, run_outputs, api_name="run", concurrency_limit=concurrency,
            concurrency_id="model", show_progress="minimal", show_progress_on=[canvas], preprocess=False)
        run_event.then(lambda: gr.Button(interactive=True), None, run_btn, api_visibility="private",
                       show_progress="hidden")
        stop_btn.click(studio.stop, None, None, cancels=[run_event], api_name="stop", queue=False).then(
            studio.stopped_partial, session, [message, result], show_progress="hidden",
            api_visibility="private").then(
            lambda: gr.Button(interactive=True), None, run_btn, api_visibility="private", show_progress="hidden")
        action_inputs = [draft, sel_start, sel_end, shorten_to, strength, tone_choice, n_alternatives, seed, session,
                         model_choice]
        action_outputs = [alternatives, result, diff, message, session]
        for button, name in ((shorten_btn, "shorten"), (rephrase_btn, "rephrase"), (tone_btn, "tone")):
            button.click(lambda *args, name=name: studio.act(name, *args), action_inputs, action_outputs,
                         js=SELECTION_JS, api_name=name, concurrency_limit=concurrency, concurrency_id="model",
                         show_progress="minimal", show_progress_on=[result])
        alternatives.input(studio.choose_alternative, [alternatives, session], [result, diff, session],
                           api_visibility="private", show_progress="hidden")
        run_btn.click(lambda: gr.Radio(visible=False), None, alternatives, queue=False, api_visibility="private",
                      show_progress="hidden")
        replay.release(studio.replay, [replay, session], [canvas, heatmap, progress], api_name="replay",
                       show_progress="hidden", preprocess=False)
        replay.input(studio.replay, [replay, session], [canvas, heatmap, progress], api_visibility="private",
                     show_progress="hidden", trigger_mode="always_last", preprocess=False)
        demo.unload(studio.end_session)  # the tab closed: its download goes
    return demo


def create_app(model: str | None = None) -> tuple[gr.Blocks, Studio]:
    """Load the model (a failure leaves a page that says why) and build the page."""
    try:
        name = model or os.environ.get("DLLM_MODEL") or "embedded"
        editor, error = Editor.load(name), ""
    except ModelLoadError as exc:  # missing weights, a model that is not allowed: the page says why
        log.error("model load failed: %s", exc)
        editor, error = None, str(exc)
    except Exception as exc:  # out of memory, a broken checkpoint: show it rather than die (one line in the log)
        first = (str(exc).strip().splitlines() or [""])[0]
        log.error("model load failed: %s: %s", type(exc).__name__, first)
        editor, error = None, f"{type(exc).__name__}: {first}"
    studio = Studio(editor, error, name)
    on_gpu = editor is not None and editor.adapter.device.type == "cuda"
    demo = build_ui(studio, concurrency=4 if on_gpu else 1)
    demo.queue(max_size=32, default_concurrency_limit=8)
    return demo, studio


def launch_kwargs() -> dict:
    return dict(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                css_paths=[CSS_PATH], theme=THEME, footer_links=["api"])


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a stopped container still removes its downloads
    app, _ = create_app()
    app.launch(**launch_kwargs())
