"""Rephrase at a ``strength`` in (0, 1]: say the selection with other words.

**swap** (models with a causal reading) swaps that share of the places that have a synonym in context for one that
means the same and reads as well (:mod:`writing.substitute`). Before the swaps it offers, first, what keeps every
fact by construction (:mod:`writing.restructure`): a whole sentence in another order ("Traders said X." -> "X,
traders said.") or a set phrase in its equivalent ("due to" -> "because of"), when the judge reads it about as well
as the writer's sentence. On unseen newswire and speeches, strict readers judged a third of the synonym swaps to shift
the meaning ("purpose" -> "intent"); a new order keeps every word. When neither finds anything, it offers the
sentence in its register's other wording (:mod:`writing.register`: "said the" -> "said that the", "we're" -> "we
are") and says that this is only a small rewording. **renoise** masks that share of the selection's
non-content words (SDEdit on the span; each candidate its own random share) and lets the sampler re-write them, the
content words pinned; the original word at a masked position is made less likely (``change``), so that rewriting
means changing.
"""

from __future__ import annotations

import random

from dllm_core.api import EditError, Editor
from dllm_core.config import SamplerConfig
from dllm_core.function_words import FUNCTION_WORDS
from dllm_core.ranking import rank

from . import style
from .alternatives import (
    ActionResult, Alternative, AvoidOriginal, check_k, check_selection, check_strength, default_config,
    fact_checked, run_markups, span_originals,
)
from .cuts import may_cut
from .scoring import predictability
from .words import Word, build_markup, count_words, runs, words_of

REPHRASE_METHODS = ("auto", "swap", "renoise")


def may_change(word: Word) -> bool:
    """Whether a rephrase may swap this word: not a name, number, word to keep, negation or function word."""
    return may_cut(word) and word.text.lower() not in FUNCTION_WORDS


def rephrase(editor: Editor, text: str, strength: float = 0.5, *, selection: tuple[int, int] | None = None,
             k: int = 1, config: SamplerConfig | None = None, keep: tuple[str, ...] = (), change: float = 2.0,
             key_share: float = 0.3, seed: int = 0, hooks=(), method: str = "auto", attribute=None,
             attribute_weight: float = 0.0, check_facts: bool = True) -> ActionResult:
    """Re-write ``strength`` of the selection's words that may change; k alternatives.

    ``method`` "swap" swaps single words for ones that fit the place and mean the same (:mod:`writing.substitute`;
    needs a causal reading), every other word kept; "renoise" masks that share of the non-content words and lets
    the sampler re-write them (content words pinned); "auto" swaps where the model can score."""
    start, end = check_selection(text, selection)
    k = check_k(k)
    strength = check_strength(strength, "rephrase")
    if method not in REPHRASE_METHODS:
        raise EditError(f"rephrase method: must be one of {', '.join(REPHRASE_METHODS)}, got {method!r}")
    words = words_of(text, start, end, keep)
    if method == "swap" or (method == "auto" and editor.adapter.can_score and not hooks):
        if not editor.adapter.can_score:
            raise EditError(f"rephrase by swapping words needs a model with a causal reading; {editor.adapter.name} "
                            "has none (use method 'renoise')")
        return fact_checked(rephrase_by_swapping(editor, text, (start, end), words, strength, k, seed, attribute,
                                                 attribute_weight), text, check_facts)
    config = default_config(config, k, editor)
    # key words: the least predictable ``key_share`` of the other non-function words carry the meaning; kept too
    others = [i for i, w in enumerate(words) if not w.content and w.text.lower() not in FUNCTION_WORDS]
    if others and key_share > 0:
        scores = predictability(editor, text, words)
        for i in sorted(others, key=lambda i: scores[i])[: round(key_share * len(others))]:
            words[i].content = True
    free = [i for i, w in enumerate(words) if not w.content]
    if not free:
        raise EditError("nothing to rephrase: every selected word is a name, number or word to keep")
    n = max(1, round(strength * len(free)))
    rng = random.Random(seed)
    markups = []
    for _ in range(k):
        chosen = sorted(rng.sample(free, n))
        pieces = [(words[r[0]].start, words[r[-1]].end, "rewrite") for r in runs(chosen)]
        pieces += [(w.start, w.end, "pin") for w in words if w.content]
        markups.append(build_markup(text, pieces))

    def hooks_for(canvases):
        return [*hooks, AvoidOriginal([span_originals(editor, c) for c in canvases], change)]

    alternatives = run_markups(editor, text, (start, end), markups, config, hooks_for)
    note = "" if len(alternatives) == k else f"{k - len(alternatives)} alternatives came out the same"
    return fact_checked(ActionResult("rephrase", alternatives[0].text, alternatives, (start, end), len(words), None,
                                     [w.text for w in words if w.content], note), text, check_facts)


def restated(editor: Editor, text: str, words: list[Word], start: int, end: int) -> list[str]:
    """The selection said otherwise with every fact kept by construction (:mod:`writing.restructure`): a whole
    sentence put in another order, or a set phrase said in its equivalent ("due to" -> "because of", "in order to"
    -> "to", "took part in" -> "participated in"); those that read about as well as the writer's (``restructure.MAX_DROP``) and repeat nothing new, best
    read first; of two that differ only in a capital letter ("..., Esselte said" / "..., esselte said"), the better
    read."""
    from dllm_core.gate import new_repeat, reading_drops  # noqa: PLC0415

    from . import restructure  # noqa: PLC0415

    candidates = restructure.variants(text, start, end) + restructure.phrase_variants(text, words, start, end,
                                                                                       contractions=False,
                                                                                       phrasal=True)
    candidates = [t for t in dict.fromkeys(candidates) if not new_repeat(text, t)]
    if not candidates:
        return []
    best: dict[str, tuple[float, str]] = {}
    for drop, t in zip(reading_drops(editor.adapter, text, candidates), candidates):
        if drop <= restructure.MAX_DROP and (t.lower() not in best or drop < best[t.lower()][0]):
            best[t.lower()] = (drop, t)
    return [t for _, t in sorted(best.values())]


def rephrase_by_swapping(editor: Editor, text: str, selection: tuple[int, int], words: list[Word], strength: float,
                          k: int, seed: int, attribute=None, attribute_weight: float = 0.0,
                          min_gain: float | None = None, rules=None, action: str = "rephrase") -> ActionResult:
    """Swap synonyms (:mod:`writing.substitute`); ``rules`` (a function of the selected text giving character
    edits, :mod:`writing.style`) are made first, in every alternative."""
    from .substitute import apply_all, combine, propose_synonyms, read_swaps  # noqa: PLC0415

    start, end = selection
    words_before = len(words)  # the writer's words (the rule edits below may add some: "said that")
    ruled = [(a + start, b + start, new) for a, b, new in (rules(text[start:end]) if rules else [])]
    base = style.apply(text, ruled)
    if ruled:  # the words of the text after the rule edits (the swaps read and change that text)
        end += len(base) - len(text)
        words = words_of(base, start, end, tuple(w.text for w in words if w.content))
    may = [may_change(w) for w in words]
    present = {w.text.lower() for w in words_of(base)}  # a swap never repeats a word of the text
    swaps = [s for s in propose_synonyms(editor, base, words, may) if s.new.lower() not in present]
    swaps = read_swaps(editor, base, swaps, attribute, attribute_weight, min_gain=min_gain)
    places = len({s.word for s in swaps})
    # a rephrase (not a tone) also says whole sentences in another order, or a set phrase in its equivalent: first,
    # as it keeps the writer's facts by construction (writing.restructure)
    moved = restated(editor, base, words, start, end) if attribute is None and not ruled else []
    from .substitute import RISKY  # noqa: PLC0415

    if not moved and not ruled and attribute is None and swaps and all(s.risk < RISKY for s in swaps):
        # only risky swaps: the register's other wording (kept by readers 9 times in 10) comes first
        moved = register_first = _register_rewordings(text, selection)
    else:
        register_first = []
    if not places and not ruled and not moved and attribute is None:
        reworded = _register_rewordings(text, selection)
        if reworded:
            outside = count_words(text[: selection[0]]) + count_words(text[selection[1] :])
            alternatives = [Alternative(t, count_words(t) - outside, None, "rules") for t in reworded[:k]]
            return ActionResult(action, alternatives[0].text, alternatives, selection, words_before, None,
                                [w.text for w, m in zip(words, may) if not m and w.content],
                                "only a small rewording: no word here has a synonym that means the same and reads "
                                "as well, and no sentence can be put in another order")
    if not places and not ruled and not moved:
        what = "moves the tone and reads as well" if attribute is not None else "means the same and reads as well"
        raise EditError(f"no word of this text has a synonym that {what}"
                        + ("" if attribute is not None else ", and no sentence can be put in another order")
                        + "; try another selection")
    sets = combine(swaps, max(1, round(strength * places)), k, seed) if places else []
    texts = [apply_all(base, chosen) for chosen in sets] or ([] if moved else [base])
    texts = [t for t in texts if t not in moved and t != base]
    if ruled:  # the rule edits alone come first: they keep every word's meaning by construction, a swap may not
        moved = [base, *moved]
    ordered, scores = rank(editor.adapter, texts) if len(texts) > 1 else (texts, None)
    outside = count_words(text[: selection[0]]) + count_words(text[selection[1] :])
    alternatives = [Alternative(t, count_words(t) - outside, None,
                                "rules" if t == base and ruled or t in register_first else "restated")
                    for t in moved]
    alternatives += [Alternative(t, count_words(t) - outside, None if scores is None else scores[i],
                                 "swap")
                     for i, t in enumerate(ordered)]
    alternatives = alternatives[:k]
    note = "" if len(alternatives) == k else (
        f"only {len(alternatives)} different version{'s' * (len(alternatives) > 1)}: no other word here has a synonym "
        f"that {'moves the tone, ' if attribute is not None else ''}means the same and reads as well")
    return ActionResult(action, alternatives[0].text, alternatives, selection, words_before, None,
                        [w.text for w, m in zip(words, may) if not m and w.content], note)


def _register_rewordings(text: str, selection: tuple[int, int]) -> list[str]:
    """The selection said in its more formal and its more casual wording by rule (:mod:`writing.register`: "said
    the" -> "said that the", "mln dlrs" -> "million dollars", "we're" <-> "we are"): every word's meaning kept by
    construction; what Rephrase offers when it finds no synonym and no other order."""
    from . import register  # noqa: PLC0415

    start, end = selection
    out = []
    for rules in (register.more_formal, register.more_casual):
        edits = [(a + start, b + start, new) for a, b, new in rules(text[start:end])]
        new = style.apply(text, edits)
        if edits and new != text and new not in out:
            out.append(new)
    return out


# Tones a writer asks for: the label the page shows, the rule edits, and the classifier (attribute, class) whose
