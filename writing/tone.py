"""Tone: say the text in another tone, never another thing.

The writer's tones (:data:`TONES`: formal, casual, friendly, confident) are rule edits plus, where the model has a
causal reading and a classifier of the tone, synonym swaps that move the classifier. The rules of formal and casual
are :mod:`writing.register`'s (contractions, the phrases of the other register, sentence-initial And/But/So:
"And we need to buy ..." -> "We need to purchase ..."), of friendly and confident :mod:`writing.style`'s. A
classifier attribute with a class (``sentiment=positive``) is classifier guidance, the demo of the guidance package:
only models with a trained classifier can do it (the ones ``guidance.classifier.available_attributes`` lists);
for others it is an :class:`~dllm_core.api.EditError` that says so.
"""

from __future__ import annotations

from dllm_core.api import EditError, Editor
from dllm_core.config import SamplerConfig

from . import register, style
from .alternatives import ActionResult, Alternative, check_k, check_selection, check_strength, fact_checked
from .rephrase import rephrase, rephrase_by_swapping
from .words import count_words, words_of

# (tone(attribute="sentiment", target="positive")).
TONES = {"formal": "More formal", "casual": "More casual", "friendly": "Friendlier", "confident": "More confident"}
_TONE_RULES = {"formal": (register.more_formal, ("formality", "formal")),
               "casual": (register.more_casual, ("formality", "informal")),
               "friendly": (style.make_contractions, ("sentiment", "positive")),
               "confident": (style.drop_hedges, None)}


def tone(editor: Editor, text: str, attribute: str = "formal", target: str | None = None, *, strength: float = 0.5,
         guidance: float = 8.0, selection: tuple[int, int] | None = None, k: int = 1,
         config: SamplerConfig | None = None, keep: tuple[str, ...] = (), seed: int = 0,
         check_facts: bool = True) -> ActionResult:
    """Say the text in another tone, never another thing. ``attribute`` is one of :data:`TONES` ("formal",
    "casual", "friendly", "confident"; ``target`` unused), or a classifier attribute with a class
    (``"sentiment", "positive"``: classifier guidance, the demo of the guidance package)."""
    if attribute in TONES:
        return _writer_tone(editor, text, attribute, strength, guidance, selection, k, keep, seed, check_facts)
    from guidance import GuidanceOptions  # noqa: PLC0415 (the guidance package builds on this one)
    from guidance.classifier import available_attributes, get_classifier  # noqa: PLC0415
    from guidance.edit import build_hooks  # noqa: PLC0415

    attributes = available_attributes(editor.adapter)  # the classifiers trained on this model's embeddings
    if attribute not in attributes:
        raise EditError(f"unknown tone {attribute!r}: choose one of {', '.join(TONES)}, or a classifier attribute "
                        f"of {editor.adapter.name} ({', '.join(attributes) or 'none'})")
    try:
        get_classifier(editor, attribute)
    except ValueError as exc:
        raise EditError(f"tone: {exc}") from exc
    if target not in attributes[attribute]:
        raise EditError(f"{attribute} has no class {target!r}; choose one of {', '.join(attributes[attribute])}")
    options = GuidanceOptions(attribute=attribute, target=target, strength=guidance).validate()
    classifier = get_classifier(editor, attribute)
    if editor.adapter.can_score:  # swap synonyms, choosing swaps that read well and move the classifier
        result = rephrase(editor, text, strength, selection=selection, k=k, keep=keep, seed=seed, method="swap",
                          attribute=_reading_toward(classifier, target), attribute_weight=guidance / 2,
                          check_facts=check_facts)
        result.alternatives = sorted(result.alternatives, key=lambda a: -classifier.score(a.text, target))
        result.text = result.alternatives[0].text
        result.action = "tone"
        return result
    result = rephrase(editor, text, strength, selection=selection, k=k, config=config, keep=keep, seed=seed,
                      hooks=build_hooks(editor, options), method="renoise", check_facts=check_facts)
    scored = sorted(result.alternatives, key=lambda a: -classifier.score(a.text, target))
    if result.alternatives and result.alternatives[0].score is None:  # no causal reading: order by the classifier
        result.alternatives = scored
        result.text = scored[0].text
    result.action = "tone"
    return result


def _writer_tone(editor: Editor, text: str, name: str, strength: float, guidance: float,
                 selection: tuple[int, int] | None, k: int, keep: tuple[str, ...], seed: int,
                 check_facts: bool) -> ActionResult:
    start, end = check_selection(text, selection)
    k = check_k(k)
    check_strength(strength, "tone")
    rules, classifier_of = _TONE_RULES[name]
    toward = None
    if classifier_of is not None and editor.adapter.can_score:
        from guidance.classifier import available_attributes, get_classifier  # noqa: PLC0415

        attribute, target = classifier_of
        if target in available_attributes(editor.adapter).get(attribute, ()):
            toward = _reading_toward(get_classifier(editor, attribute), target)
    words = words_of(text, start, end, keep)
    if toward is None:  # rules only (confident; or a model without a judge or classifier)
        edits = [(a + start, b + start, new) for a, b, new in rules(text[start:end])]
        if not edits:
            raise EditError({"confident": "nothing to make more confident: no hedging words (perhaps, I think, "
                                          "somewhat ...) in the selection",
                             "formal": "nothing to make more formal here: no contractions, informal phrases or "
                                       "sentence-initial And/But/So",
                             "casual": "nothing to make more casual here: nothing to contract and no formal words "
                                       "(purchase, require, However, ...)",
                             }.get(name, f"nothing to change for {TONES[name].lower()} with this model"))
        new = style.apply(text, edits)
        outside = count_words(text[:start]) + count_words(text[end:])
        result = ActionResult("tone", new, [Alternative(new, count_words(new) - outside, None, "rules")],
                              (start, end), len(words), None, [w.text for w in words if w.content],
                              "" if k == 1 else "only 1 way to do this: the rule edits")
    else:
        result = rephrase_by_swapping(editor, text, (start, end), words, strength, k, seed, toward, guidance / 2,
                                      min_gain=0.0, rules=rules, action="tone")
    return fact_checked(result, text, check_facts)


def _reading_toward(classifier, target: str):
    """texts -> the classifier's log p(target) of each: the attribute term of a tone's swaps."""
    column = classifier.class_index(target)

    def toward(texts: list[str]) -> list[float]:
        return classifier.score_texts(texts)[:, column].clamp_min(1e-9).log().tolist()

    return toward
