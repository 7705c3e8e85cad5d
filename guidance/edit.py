"""Guided edits: options -> checks before running -> hooks -> :meth:`Editor.stream` -> a report of what held."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dllm_core.api import EditError, Editor, EditResult
from dllm_core.canvas import TokenState
from dllm_core.config import SamplerConfig
from dllm_core.hooks import SamplerHook
from dllm_core.markup import Segment, has_auto_length
from dllm_core.sampler import StepEvent
from dllm_core.scheduler import add_noise

from .cfg import ClassifierFreeGuidance
from .classifier import ClassifierGuidance, get_classifier
from .common import PieceTable
from .constraints import BanWords, ConstraintError, RequireWords, check_room
from .length import LengthChoice, choose_lengths
from .options import GuidanceOptions


def build_hooks(editor: Editor, options: GuidanceOptions) -> list[SamplerHook]:
    """Sampler hooks for ``options``, in the order they must run (CFG, attribute, required, banned)."""
    hooks: list[SamplerHook] = []
    table = PieceTable(editor.tokenizer) if options.require or options.ban else None
    if options.cfg > 0:
        hooks.append(ClassifierFreeGuidance(editor.adapter, options.cfg))
    if options.attribute and options.strength > 0:
        classifier = get_classifier(editor, options.attribute)
        try:
            hooks.append(ClassifierGuidance(classifier, options.target, options.strength,
                                            mode="exact" if options.exact else "gradient", top_k=options.top_k))
        except ValueError as exc:
            raise EditError(str(exc)) from exc
    if options.require:
        hooks.append(RequireWords(editor.tokenizer, options.require, table=table))
    if options.ban:
        hooks.append(BanWords(editor.tokenizer, options.ban, table=table))
    return hooks


def prepare(editor: Editor, markup: str, config: SamplerConfig, options: GuidanceOptions
            ) -> tuple[list[Segment], dict[int, int], list[LengthChoice]]:
    """Parse, pick auto lengths and check that the constraints can hold; raise EditError before any denoising."""
    options.validate()
    segments = editor.parse(markup)
    lengths, choices = {}, []
    if any(s.kind == "rewrite" and s.auto for s in segments):
        lengths, choices = choose_lengths(editor, segments, config, target=options.length_target,
                                          spread=options.length_spread, count=options.length_candidates)
    if options.require or options.ban:
        canvas = editor.canvas(segments, config, lengths).copy()
        add_noise(canvas, config)  # re-noised draft positions become editable too, as the sampler will make them
        try:
            check_room(canvas, editor.tokenizer, options.require, options.ban)
        except ConstraintError as exc:
            raise EditError(str(exc)) from exc
    return segments, lengths, choices


def guided_stream(editor: Editor, markup: str, config: SamplerConfig | None = None,
                  options: GuidanceOptions | None = None, n: int = 1
                  ) -> Iterator[StepEvent | EditResult]:
    """Like ``Editor.stream``: a StepEvent after every step, then the EditResult, whose ``guidance`` holds the
    report of :func:`check_result` when anything was guided."""
    config = config or SamplerConfig()
    options = (options or GuidanceOptions()).validate()
    if not options.active and not has_auto_length(markup):
        yield from editor.stream(markup, config, n=n)
        return
    segments, lengths, choices = prepare(editor, markup, config, options)
    hooks = build_hooks(editor, options)
    try:
        for item in editor.stream(segments, config, hooks, n=n, lengths=lengths or None):
            if isinstance(item, EditResult):
                item.markup = markup
                item.guidance = check_result(editor, item, options, choices)
            yield item
    except ConstraintError as exc:  # a re-noised candidate left no room (checked per canvas as it starts)
        raise EditError(str(exc)) from exc


def guided_edit(editor: Editor, markup: str, config: SamplerConfig | None = None,
                options: GuidanceOptions | None = None, n: int = 1) -> tuple[EditResult, dict]:
    """Run to completion; return the result and the guidance report (see the package docstring)."""
    options = options or GuidanceOptions()
    result = None
    for item in guided_stream(editor, markup, config, options, n):
        result = item
    assert isinstance(result, EditResult)
    if result.guidance is None:
        result.guidance = check_result(editor, result, options, [])
    return result, result.guidance


def _word_regex(word: str) -> re.Pattern:
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(p) for p in word.split()) + r"(?!\w)", re.IGNORECASE)


def check_result(editor: Editor, result: EditResult, options: GuidanceOptions,
                 choices: list[LengthChoice] = ()) -> dict:
    """Whether each constraint holds in ``result`` (first candidate), the attribute score, the chosen lengths."""
    canvas = result.canvas
    table = PieceTable(editor.tokenizer) if options.require or options.ban else None
    generated = [s == TokenState.GENERATED for s in canvas.states]
    draft = "".join(s.text for s in canvas.segments if s.kind in ("fixed", "pinned"))
    placements = {}
    for record in result.trajectory:
        for p in record.signals.get("placed", []):
            placements[p["word"]] = p["how"]
    report: dict = {"options": options.to_dict(), "require": [], "ban": []}
    for word in options.require:
        ids = table.encode_word(word)
        in_span = any(canvas.ids[i : i + len(ids)] == ids and all(generated[i : i + len(ids)])
                      for i in range(len(canvas.ids) - len(ids) + 1))
        holds = in_span and _word_regex(word).search(result.text) is not None
        report["require"].append({"word": word, "holds": holds, "how": placements.get(word)})
    if options.ban:
        banner = BanWords(editor.tokenizer, options.ban, table=table)
        bad = banner.violations(canvas.ids)
        for word in options.ban:
            phrase = tuple(word.lower().split())
            hits = [v for v in bad if any(generated[v[0] : v[1]]) and
                    tuple(w[2] for w in table.words(canvas.ids[v[0] : v[1]])) == phrase]
            in_draft = _word_regex(word).search(draft) is not None
            in_text = _word_regex(word).search(result.text) is not None
            report["ban"].append({"word": word, "holds": not hits and (in_draft or not in_text),
                                  **({"in_draft": True} if in_draft else {})})
    if options.attribute:
        classifier = get_classifier(editor, options.attribute)
        target = options.target or classifier.classes[-1]
        report["attribute"] = {"name": options.attribute, "target": target, "strength": options.strength,
                               "mode": "exact" if options.exact else "gradient",
                               "score": round(classifier.score(result.text, target), 4),
                               "judge": "the guidance classifier itself: p(target | text)"}
    if options.cfg:
        report["cfg"] = options.cfg
    if choices:
        report["lengths"] = [c.to_json() for c in choices]
    report["satisfied"] = all(r["holds"] for r in report["require"] + report["ban"])
    return report
