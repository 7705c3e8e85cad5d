"""More formal by rule, in the words a sentence already has: what formal prose writes out that plain prose leaves out.

Each function takes a text and returns character edits (:mod:`writing.style`); :func:`writing.register.more_formal`
makes them with its own. None trades a word for another: each writes out what the text abbreviates or leaves
implicit, so the facts stay the same by construction (the fact check reads "mln" and "million" as one word:
:data:`writing.facts.ABBREVIATIONS`).

- :func:`spelled_out`: newswire's abbreviations written out ("11 mln dlrs" -> "11 million dollars", "43 pct" ->
  "43 percent");
- :func:`that_clauses`: the "that" of a reported clause written out ("Analysts said the deal is ..." ->
  "Analysts said that the deal is ..."), only where a clause with its own verb follows;
- :func:`so_that`: a clause of purpose ("... so we can grow" -> "... so that we can grow");
- :func:`however_comma`: "However the sources said" -> "However, the sources said";
- :func:`must`: "we have to meet" -> "we must meet" (present tense, after a subject pronoun, never in a question or
  after a negation, where the two differ: "you don't have to" is not "you mustn't").

Quotations (someone's words) are left as they are.
"""

from __future__ import annotations

import re

from .facts import ABBREVIATION_RE, ABBREVIATIONS, fact_kind
from .style import Edit

# verbs whose clause may drop its "that" in plain prose ("said the deal is"), and keep it in formal prose; not verbs
# that as often take a person or a thing as their object ("told", "warned", "announced the deal")
SAYING = frozenset("""said says say believe believes believed think thinks thought estimate estimates estimated
speculated argue argues argued fear fears feared hope hopes hoped predicted predicts expect expects expected claimed
claims agreed""".split())
_CLAUSE_STARTS = frozenset("the a an this these those its their his her our my your some such most it they he she we "
                           "i you there".split())
_FINITE = frozenset("""am is are was were will would could should can may might must has have had does did do
""".split())
_SUBJECT_PRONOUNS = frozenset("it they he she we i you".split())
_NOT_BEFORE_VERB = frozenset("the a an this that these those its their his her our my your of to in on at for by "
                             "with from".split())
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|[^\sA-Za-z]")


def _quoted(text: str, at: int) -> bool:
    return text[:at].count('"') % 2 == 1 or text[:at].count("“") > text[:at].count("”")


def spelled_out(text: str) -> list[Edit]:
    """Newswire's abbreviations (lower case, as the wire writes them) written out."""
    return [(m.start(), m.end(), ABBREVIATIONS[m.group()]) for m in ABBREVIATION_RE.finditer(text)
            if not _quoted(text, m.start())
            # "barrels of crude daily (bpd)" names the abbreviation: written out, it would say the words twice
            and not (text[m.start() - 1 : m.start()] == "(" and text[m.end() : m.end() + 1] == ")")]


def _has_own_verb(tokens: list[str]) -> bool:
    """Whether the words up to the next punctuation mark hold a finite verb of their own, and no relative word
    before it (so the words after "said" are a clause, not its object: "announced the acquisition of a firm that
    was ...")."""
    for i, token in enumerate(tokens[:10]):
        low = token.lower()
        if not token[:1].isalnum() or low in ("that", "which", "who", "whom", "whose", "to"):
            return False
        if low in _FINITE or low.endswith("n't"):
            return True
        if i and low.endswith("ed") and tokens[i - 1].lower() not in _NOT_BEFORE_VERB:
            return True
    return False


def that_clauses(text: str) -> list[Edit]:
    """"X said the deal is ..." -> "X said that the deal is ...": after a verb of saying or thinking that is not
    an adjective ("the said company"), when a subject (a determiner, a pronoun, a name) and a verb follow."""
    edits = []
    tokens = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]
    for i, (word, start, end) in enumerate(tokens[:-2]):
        if word.lower() not in SAYING or _quoted(text, start):
            continue
        prev = tokens[i - 1][0].lower() if i else ""
        nxt = tokens[i + 1][0]
        if prev in _NOT_BEFORE_VERB or fact_kind(nxt) in ("date", "time", "number") or not (
                nxt.lower() in _CLAUSE_STARTS or nxt[:1].isupper()):  # "said Monday the talks ...": a time
            continue
        if text[end:tokens[i + 1][1]] != " " or not _has_own_verb([t for t, _, _ in tokens[i + 1:]]):
            continue
        if edits and not re.search(r"[.!?]", text[edits[-1][0] : start]):
            continue  # one per sentence: "said that they expect that the debt ..." says "that" twice over
        edits.append((end, end, " that"))
    return edits


def so_that(text: str) -> list[Edit]:
    """"..., so we can grow" -> "..., so that we can grow": "so" inside a sentence before a subject pronoun and
    a modal says a purpose."""
    return [(m.start(1), m.end(1), "so that") for m in
            re.finditer(r"(?<=[a-z,] )(so) (?=(?:we|I|you|they|he|she|it|people) (?:can|could|will|would|may|might)\b)",
                        text) if not _quoted(text, m.start())]


def must(text: str) -> list[Edit]:
    """"we have to meet" -> "we must meet", "it has to be" -> "it must be": a subject pronoun right before, a verb
    right after, not in a question and not after an auxiliary ("Do we have to", "will have to" differ)."""
    edits = []
    for m in re.finditer(r"\b(?:((?i:we|you|they)|I) have|((?i:he|she|it)) has) to (?=[a-z]+\b)", text):
        sentence_end = re.search(r"[.!?]", text[m.end():])
        before = re.findall(r"[A-Za-z']+", text[: m.start()])[-1:]
        if (sentence_end and sentence_end.group() == "?" or _quoted(text, m.start())
                or before and before[0].lower() in _FINITE | {"not", "never", "also", "'ll", "why", "what", "how"}
                or before and fact_kind(before[0]) == "comparison"):
            continue  # "the longer they have to show results" is the time they have, not a duty
        who = m.group(1) or m.group(2)
        edits.append((m.start(), m.end(), f"{who} must "))
    return edits


def however_comma(text: str) -> list[Edit]:
    """"However the sources said ..." -> "However, the sources said ...": a sentence's opening "However" that
    means "but" takes its comma (not "However hard they try", where an adjective or adverb follows, nor "However it
    happens, ...")."""
    edits = []
    for m in re.finditer(r"(?:^|(?<=[.!?]\s))However(?= (?:the|a|an|this|that|these|those|it|we|they|he|she|i|you|"
                         r"there|its|their|our|his|her|[A-Z][a-z]+)\b)", text):
        if not _quoted(text, m.start()) and not re.match(r"(?: [\w'’]+){1,4},", text[m.end():]):
            edits.append((m.end(), m.end(), ","))  # "However it happens, we win" is "in whatever way"
    return edits


RULES = (spelled_out, that_clauses, so_that, must, however_comma)


def edits(text: str) -> list[Edit]:
    """All of this module's formal edits of ``text`` (may overlap none of each other: each touches its own words)."""
    return [e for rule in RULES for e in rule(text)]
