"""Shorten: to a target in words (``12``) or as a share of the selection (``0.7`` / ``"70%"``).

Two methods. **cut** (models with a causal reading) deletes whole words and phrases of the writer's text, chosen by
a beam search the model scores (:mod:`writing.cuts`). **repair** scores each word by how predictable it is from the
rest (the word masked) plus how well its neighbours read without it (the word deleted, each neighbour masked in
turn); the best-scored words (never a content word: names, numbers, capitalised words) are deleted, the short or
function word on each side of every deletion becomes a rewrite span of the same token count (the seam, with a bias
toward the word it had), and the model repairs the grammar there. Alternatives after the first drop a
Gumbel-perturbed set; 2k drafts are made and those within a word of the target come first.
"""

from __future__ import annotations

import math
import random
import re
import statistics

from dllm_core.api import EditError, Editor
from dllm_core.config import SamplerConfig
from dllm_core.function_words import FUNCTION_WORDS

from .alternatives import (
    ActionResult, Alternative, AvoidOriginal, check_k, default_config, fact_checked, run_markups, span_originals,
    check_selection,
)
from .cuts import CutSearch
from .scoring import deletion_fit, predictability
from .words import SENTENCE_END, Word, build_markup, count_words, parse_target, runs, words_of

LAST_WORD_MARGIN = 10.0  # shorten: a word before sentence punctuation goes last (nats)
SEAM_CHARS = 5  # longer words next to a deletion stay as they are unless they are function words


SHORTEN_METHODS = ("auto", "cut", "repair")
# kinds of fact words a shorter text may lose with the phrase they are in (less detail, not another fact; names only
# with a whole aside: writing.cuts.may_go_in_aside); numbers, dates, units and negations it never loses
SHORTEN_MAY_DROP = ("direction", "comparison", "time", "quantity", "name")


def shorten(editor: Editor, text: str, target: int | float | str = 0.7, *, selection: tuple[int, int] | None = None,
            k: int = 1, config: SamplerConfig | None = None, keep: tuple[str, ...] = (), seam: int = 1,
            seam_bias: float = 2.0, tolerance: int = 1, seed: int = 0, method: str = "auto",
            check_facts: bool = True) -> ActionResult:
    """Shorten ``text`` (or ``text[selection]``) to ``target`` words (int) or a share (0.7 / "70%").

    ``method`` "cut" deletes whole words and phrases of the writer's text, chosen by a beam search scored by the
    model (:mod:`writing.cuts`; needs a causal reading); "repair" deletes the most predictable words and lets
    the sampler rewrite the seams; "auto" cuts where the model can score and repairs otherwise."""
    start, end = check_selection(text, selection)
    k = check_k(k)
    if method not in SHORTEN_METHODS:
        raise EditError(f"shorten method: must be one of {', '.join(SHORTEN_METHODS)}, got {method!r}")
    words = words_of(text, start, end, keep)
    if len(words) < 2:
        raise EditError("select at least two words to shorten")
    goal = parse_target(target, len(words))
    n_drop = len(words) - goal
    droppable = [i for i, w in enumerate(words) if not w.content]
    if n_drop > len(droppable):
        raise EditError(f"cannot reach {goal} words: {len(words) - len(droppable)} of the {len(words)} words are "
                        "names, numbers or other words to keep")
    if method == "cut" or (method == "auto" and editor.adapter.can_score):
        if not editor.adapter.can_score:
            raise EditError(f"shorten by cutting needs a model with a causal reading; {editor.adapter.name} has "
                            "none (use method 'repair')")
        return fact_checked(_shorten_by_cutting(editor, text, (start, end), words, goal, k, tolerance, seed), text,
                            check_facts, SHORTEN_MAY_DROP)
    config = default_config(config, k, editor)
    scores = [p + f for p, f in zip(predictability(editor, text, words), deletion_fit(editor, text, words))]
    spread = max(0.5, statistics.pstdev([scores[i] for i in droppable])) if droppable else 1.0
    for i, w in enumerate(words):  # a sentence's last word holds it together ("were not officially confirmed.")
        if SENTENCE_END.match(text[w.end : w.end + 1]):
            scores[i] -= LAST_WORD_MARGIN
    rng = random.Random(seed)
    markups = []
    # 2k drafts in the batch (a seam can come out a word longer or shorter than it was); those within a word of
    # the target come first. The first drops the best-scored words, the others a Gumbel-perturbed choice
    for j in range(2 * k):
        noisy = {i: scores[i] + (0.0 if j == 0 else -spread * math.log(-math.log(rng.random() or 1e-9)))
                 for i in droppable}
        drop = set(sorted(droppable, key=lambda i: -noisy[i])[:n_drop])
        markups.append(build_markup(text, _shorten_pieces(text, words, drop, seam)))
    def hooks_for(canvases):  # a seam word stays unless the grammar around the deletion asks for another
        return [AvoidOriginal([span_originals(editor, c) for c in canvases], -seam_bias)]

    drafts = run_markups(editor, text, (start, end), markups, config, hooks_for)
    alternatives = sorted(drafts, key=lambda a: abs(a.words - goal) > tolerance)[:k]  # stable: ranking kept
    note = "" if len(alternatives) == k else f"{k - len(alternatives)} alternatives came out the same"
    return fact_checked(ActionResult("shorten", alternatives[0].text, alternatives, (start, end), len(words), goal,
                                     [w.text for w in words if w.content], note), text, check_facts, SHORTEN_MAY_DROP)


def _shorten_by_cutting(editor: Editor, text: str, selection: tuple[int, int], words: list[Word], goal: int, k: int,
                        tolerance: int, seed: int = 0) -> ActionResult:
    info = predictability(editor, text, words)
    search = CutSearch(editor.adapter, text, selection, words, info, goal, beams=max(2, k),
                       tolerance=tolerance, function_words=FUNCTION_WORDS,
                       words_of=words_of, seed=seed)
    drafts = search.run()
    outside = count_words(text[: selection[0]]) + count_words(text[selection[1] :])
    alternatives = [Alternative(d.text, count_words(d.text) - outside, round(-d.cost, 3),
                                "cut: " + " | ".join(c.strip() for c in d.cuts)) for d in drafts[:k]]
    if not alternatives:
        raise EditError("found nothing to cut in this text that leaves its sentences whole (names, numbers, "
                        "negations and the words that hold a sentence together stay)")
    notes = []
    if alternatives[0].words > goal + tolerance:
        notes.append(f"cut to {alternatives[0].words} words, not {goal}: cutting more would break a sentence")
    if len(alternatives) < k:
        notes.append(f"only {len(alternatives)} different cut{'s' * (len(alternatives) > 1)}: other cuts would break a "
                     "sentence or drop a fact")
    note = "; ".join(notes)
    return ActionResult("shorten", alternatives[0].text, alternatives, selection, len(words), goal,
                        [w.text for w in words if w.content], note)


def _shorten_pieces(text: str, words: list[Word], drop: set[int], seam: int) -> list[tuple[int, int, str]]:
    pieces: list[tuple[int, int, str]] = []
    seams: set[int] = set()
    for run in runs(list(drop)):
        a, b = run[0], run[-1]
        # delete the words with the gap before them (or after, at the start); sentence punctuation stays
        lo = words[a].start
        hi = words[b].end
        tail = re.match(r"[^\s\w]*", text[hi:]).group()
        if tail and not SENTENCE_END.search(tail) and (a > 0 and not text[words[a - 1].end : lo].strip()):
            hi += len(tail)
        if a > 0 and (a - 1) not in drop:
            lo = words[a - 1].end + len(re.match(r"[^\s\w]*", text[words[a - 1].end :]).group())
        elif a == 0:
            hi += len(re.match(r"\s*", text[hi:]).group())
        pieces.append((lo, hi, "drop"))
        for s in range(1, seam + 1):
            seams.update({a - s, b + s})
    # a seam is a short word (function words, mostly): re-writing a long word at a seam loses meaning, and a
    # word of several word pieces can come back glued to its neighbour ("thechemists")
    seam_words = sorted(i for i in seams if 0 <= i < len(words) and i not in drop and not words[i].content
                        and (words[i].text.lower() in FUNCTION_WORDS or len(words[i].text) <= SEAM_CHARS))
    for run in runs(seam_words):
        pieces.append((words[run[0]].start, words[run[-1]].end, "rewrite"))
    return _no_overlap(pieces)


def _no_overlap(pieces: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    for lo, hi, kind in sorted(pieces):
        if out and lo < out[-1][1]:
            if kind == "drop" or out[-1][2] != "drop":
                continue
            lo = out[-1][1]
            if lo >= hi:
                continue
        out.append((lo, hi, kind))
    return out
