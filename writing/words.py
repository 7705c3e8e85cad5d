"""The words of a text as the writing actions see them, and the edit markup they build from a text.

A word is a run of letters and digits (:data:`WORD`; punctuation around it is not part of it, but a number's
points and commas are: "1.2", "1,200") with a flag that says
whether every action must keep it: names, numbers, dates, units, negations and qualifiers (:mod:`writing.facts`),
capitalised words not at a sentence start, all-caps words, and the words the writer asked to keep. Lengths are
counted in words (what a writer counts), not tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dllm_core.api import EditError
from dllm_core.function_words import FUNCTION_WORDS

from .facts import fact_kind

# a word core; punctuation around it is not part of it, except the points and commas inside a number ("1.2",
# "1,200": one word, as a writer counts them and as writing.facts reads them) and the points of an initialism
# ("U.S": the final point may end the sentence)
WORD = re.compile(r"\d+(?:[.,]\d+)+(?:[\w'’-]*[^\W_])?|[^\W\d_](?:\.[^\W\d_])+(?![\w'’-])|[^\W_](?:[\w'’-]*[^\W_])?")
SENTENCE_END = re.compile(r"[.!?:;]")
# fact words that every action keeps as they are
KEPT_FACTS = ("number", "name", "date", "unit", "negation", "qualifier")
# FUNCTION_WORDS (dllm_core.function_words): words that start sentences without being names (a capitalised word at
# a sentence start is kept unless listed)

@dataclass
class Word:
    start: int  # character offsets in the text
    end: int
    text: str
    content: bool  # a name, number, date, unit, negation or other word to keep: kept by every action
    keep: bool = False  # one of the words the writer asked to keep


# ---------------------------------------------------------------------------------------------------- words
def count_words(text: str) -> int:
    return len(WORD.findall(text))


def words_of(text: str, start: int = 0, end: int | None = None, keep: tuple[str, ...] = ()) -> list[Word]:
    """The words of ``text[start:end]``, each marked content or not (names, numbers, capitalised words not at a
    sentence start, all-caps words, and the words in ``keep``)."""
    end = len(text) if end is None else end
    keep_lower = {k.lower() for k in keep}
    out = []
    for m in WORD.finditer(text, start, end):
        w = m.group()
        before = text[: m.start()].rstrip()
        sentence_start = not before or bool(SENTENCE_END.search(before[-1:])) or before[-1:] in "\"“"
        content = (any(c.isdigit() for c in w) or (w[0].isupper() and (not sentence_start
                                                                      or w.lower() not in FUNCTION_WORDS))
                   or (len(w) > 1 and w.isupper()) or w.lower() in keep_lower
                   or fact_kind(w, sentence_start) in KEPT_FACTS)
        out.append(Word(m.start(), m.end(), w, content, w.lower() in keep_lower))
    for a, b in zip(out, out[1:]):  # "[nearly] 400": a quantity word before a number goes with it or not at all
        if b.content and fact_kind(b.text) == "number" and fact_kind(a.text) == "quantity":
            a.content = True
    return out


def parse_target(target: int | float | str, n_words: int) -> int:
    """A shorten target as a word count: ``12`` words, ``0.7`` or ``"70%"`` of ``n_words``."""
    if isinstance(target, str):
        t = target.strip()
        try:
            value = float(t[:-1]) / 100 if t.endswith("%") else float(t)
        except ValueError:
            raise EditError(f"shorten target: {target!r} is neither a word count nor a percentage") from None
        if not t.endswith("%") and value == int(value) and value >= 1:
            return parse_target(int(value), n_words)
        return parse_target(value, n_words)
    if isinstance(target, float) and not float(target).is_integer() or isinstance(target, float) and target < 1:
        if not 0 < target < 1:
            raise EditError(f"shorten target must be below 100 %, got {target:.0%}")
        return max(1, round(n_words * target))
    target = int(target)
    if not 1 <= target < n_words:
        raise EditError(f"shorten target must be 1..{n_words - 1} words for this {n_words}-word text, got {target}")
    return target


# ---------------------------------------------------------------------------------------------------- markup
def escape(text: str) -> str:
    """``text`` as fixed markup text (brackets written literally)."""
    for raw, esc in (("[[", "\\[["), ("]]", "\\]]"), ("{{", "\\{{"), ("}}", "\\}}")):
        text = text.replace(raw, esc)
    return text


def build_markup(text: str, pieces: list[tuple[int, int, str]]) -> str:
    """``text`` with the character ranges of ``pieces`` (start, end, kind: 'rewrite', 'pin', 'drop') marked up;
    pieces are sorted and do not overlap."""
    out, cursor = [], 0
    for start, end, kind in sorted(pieces):
        out.append(escape(text[cursor:start]))
        body = escape(text[start:end])
        out.append({"rewrite": f"[[{body}]]", "pin": f"{{{{{body}}}}}", "drop": ""}[kind])
        cursor = end
    out.append(escape(text[cursor:]))
    return "".join(out)


def runs(indices: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for i in sorted(indices):
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs
