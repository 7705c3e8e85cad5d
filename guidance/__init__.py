"""Guidance for the masked-diffusion editor: constraints, attribute (classifier) guidance, classifier-free guidance
and automatic span length. Used by the CLI (``python -m dllm_core edit ... --require X``) and the web app.

Public API (everything a surface needs)::

    from dllm_core import Editor, SamplerConfig
    from guidance import GuidanceOptions, guided_edit, guided_stream

    editor = Editor.load()
    options = GuidanceOptions(require=["harbour"], ban=["storm"], attribute="sentiment", target="positive",
                              strength=4.0, cfg=0.0, length_target=0.7)
    result, report = guided_edit(editor, "The [[old pier was battered by the sea|auto]].", SamplerConfig(), options)
    result.text             # the edited text
    report["require"]       # [{"word": "harbour", "holds": True, "how": "placed"}]  (how: placed/model/forced)
    report["ban"]           # [{"word": "storm", "holds": True}]
    report["attribute"]     # {"name": "sentiment", "target": "positive", "score": 0.83, ...}  (classifier p(target))
    report["lengths"]       # auto spans: candidate lengths, their scores, the chosen one

    for item in guided_stream(editor, markup, config, options):   # StepEvent after each step, EditResult last
        ...  # item.records[b].signals holds per-step guidance values to chart:
             #   "attribute_p" (classifier p(target) of the canvas), "gamma" (current strength),
             #   "cfg_shift" (mean change of the distribution made by CFG), "placed" (required words placed),
             #   "ban_repairs" (positions repaired)

- ``GuidanceOptions()`` (all defaults) is the unguided engine exactly: ``guided_edit`` then returns the same
  result as ``editor.edit(markup, config, n=n)``.
- Bad options and impossible constraints raise :class:`dllm_core.EditError` (a subclass of ValueError) with a
  user-facing message *before* any denoising, e.g. when the spans have no room for the required words.
- ``available_attributes()`` lists the shipped classifiers and their classes (for a dropdown).
- ``build_hooks(editor, options)`` gives the sampler hooks, for callers that drive ``Editor.stream`` themselves
  (auto lengths then come from ``prepare``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from dllm_core.api import EditError, Editor, EditResult
from dllm_core.canvas import TokenState
from dllm_core.config import SamplerConfig
from dllm_core.sampler import SamplerHook, StepEvent

from .cfg import ClassifierFreeGuidance
from .classifier import CLASSIFIER_DIR, AttributeClassifier, ClassifierGuidance, available_classifiers, \
    load_classifier
from .common import PieceTable
from .constraints import BanWords, ConstraintError, RequireWords, check_room, normalise_words
from .length import LengthChoice, choose_lengths

__all__ = [
    "GuidanceOptions", "guided_edit", "guided_stream", "build_hooks", "prepare", "check_result",
    "available_attributes", "get_classifier", "ConstraintError", "RequireWords", "BanWords", "ClassifierGuidance",
    "ClassifierFreeGuidance", "choose_lengths",
]

MAX_WORDS = 16


@dataclass
class GuidanceOptions:
    require: list[str] = field(default_factory=list)  # words/phrases that must appear in the edited spans
    ban: list[str] = field(default_factory=list)  # words/phrases that must never be generated
    attribute: str | None = None  # classifier name, e.g. "sentiment" (see available_attributes())
    target: str | None = None  # class to steer toward, e.g. "positive"
    strength: float = 0.0  # classifier guidance strength γ (0: off; ~3 gradient, ~8 exact)
    # top-k rescoring (default: it is what moved an outside judge in bench/GUIDANCE.md); False = the gradient term
    exact: bool = True
    top_k: int = 16  # candidates rescored per position in exact mode
    cfg: float = 0.0  # classifier-free guidance scale w (0: off)
    length_target: float = 1.0  # [[...|auto]] spans: target length as a fraction of the original
    length_spread: float = 0.2  # ... candidates from target - spread to target + spread
    length_candidates: int = 5  # ... how many candidate lengths

    @property
    def active(self) -> bool:
        return bool(self.require or self.ban or (self.attribute and self.strength > 0) or self.cfg > 0)

    def validate(self) -> GuidanceOptions:
        self.require, self.ban = normalise_words(self.require), normalise_words(self.ban)
        for name, words in (("require", self.require), ("ban", self.ban)):
            if len(words) > MAX_WORDS:
                raise EditError(f"{name}: at most {MAX_WORDS} words, got {len(words)}")
            for w in words:
                if len(w) > 64 or not re.search(r"\w", w):
                    raise EditError(f"{name}: {w!r} is not a word or short phrase")
        if not 0.0 <= self.strength <= 100.0:
            raise EditError(f"guidance strength must be in [0, 100], got {self.strength}")
        if not 0.0 <= self.cfg <= 20.0:
            raise EditError(f"cfg scale must be in [0, 20], got {self.cfg}")
        if not 1 <= self.top_k <= 64:
            raise EditError(f"top_k must be in 1..64, got {self.top_k}")
        if self.strength > 0 and not (self.attribute and self.target):
            raise EditError("guidance strength needs an attribute and a target, e.g. sentiment=positive")
        if self.attribute and self.attribute not in available_classifiers():
            raise EditError(f"unknown attribute {self.attribute!r}; available: "
                            f"{', '.join(available_classifiers()) or 'none'}")
        if not 0 < self.length_target <= 4 or not 0 <= self.length_spread < self.length_target:
            raise EditError("length target must be in (0, 4] and its spread in [0, target)")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


def available_attributes() -> dict[str, list[str]]:
    """Shipped attribute classifiers and their classes, e.g. ``{"sentiment": ["negative", "positive"]}``."""
    out = {}
    for name in available_classifiers():
        meta = json.loads((CLASSIFIER_DIR / f"{name}.json").read_text())
        out[name] = list(meta["classes"])
    return out


_CLASSIFIERS: dict[tuple[str, int], AttributeClassifier] = {}


def get_classifier(editor: Editor, name: str) -> AttributeClassifier:
    """The classifier ``name`` bound to ``editor``'s embeddings (cached per editor)."""
    key = (name, id(editor.adapter))
    if key not in _CLASSIFIERS:
        _CLASSIFIERS[key] = load_classifier(name, editor.adapter)
    return _CLASSIFIERS[key]


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
            ) -> tuple[list, dict[int, int], list[LengthChoice]]:
    """Parse, pick auto lengths and check that the constraints can hold; raise EditError before any denoising."""
    options.validate()
    segments = editor.parse(markup)
    lengths, choices = {}, []
    if any(s.kind == "rewrite" and s.auto for s in segments):
        lengths, choices = choose_lengths(editor.adapter, segments, config, target=options.length_target,
                                          spread=options.length_spread, count=options.length_candidates)
    if options.require or options.ban:
        canvas = editor.canvas(segments, config, lengths)
        if config.strength > 0:  # re-noised draft positions become editable too (as the sampler will do)
            import random  # noqa: PLC0415

            canvas = canvas.copy()
            canvas.renoise(config.strength, random.Random(config.seed * 7919))
        try:
            check_room(canvas, editor.tokenizer, options.require, options.ban)
        except ConstraintError as exc:
            raise EditError(str(exc)) from exc
    return segments, lengths, choices


def guided_stream(editor: Editor, markup: str, config: SamplerConfig | None = None,
                  options: GuidanceOptions | None = None, n: int = 1
                  ) -> Iterator[StepEvent | EditResult]:
    """Like ``Editor.stream``: a StepEvent after every step, then the EditResult (its ``guidance`` attribute holds
    the report of :func:`check_result`)."""
    config = config or SamplerConfig()
    options = (options or GuidanceOptions()).validate()
    if not options.active and not _has_auto(markup):
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
    """Run to completion; return the result and the guidance report (see the module docstring)."""
    options = options or GuidanceOptions()
    result = None
    for item in guided_stream(editor, markup, config, options, n):
        result = item
    assert isinstance(result, EditResult)
    report = getattr(result, "guidance", None) or check_result(editor, result, options, [])
    return result, report


def _has_auto(markup: str) -> bool:
    return isinstance(markup, str) and "auto" in markup and re.search(r"\|\s*auto\s*\]\]", markup) is not None


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
