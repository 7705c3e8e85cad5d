"""Rewordings that lose no meaning by construction, for Shorten (:mod:`writing.cuts`, which tries them first and
charges them nothing) and Rewrite (:mod:`writing.rewrite`, through :func:`writing.restructure.phrase_variants`):

- :func:`compressions`: a wordy phrase said shortly ("in order to" -> "to", :data:`COMPRESSIONS`);
- :func:`fillers`: an opener ("[And] I know"), an intensifier ("[very] large"), a "that" after a verb of saying;
- :func:`reductions`: a word the sentence says twice said once ("our duty and [our] privilege", "all [of] the",
  "shares [that are] held by").

Each returns options as (start, end, replacement, indices of the words that go) over the words it is given and
their ``may`` flags (whether each may go).
"""

from __future__ import annotations

import re

from dllm_core.function_words import FUNCTION_WORDS

from .cuts import DETERMINERS, FUNCTION_WORDS_AFTER_CUT, PHRASE_STARTERS

# wordy phrases and the shorter ones that say the same; none adds a fact word (writing.facts), so the fact check
# passes them ("a large number of" -> "many" would add a quantity, and is not here)
COMPRESSIONS = {
    "in order to": "to", "in order for": "for", "so as to": "to", "in an effort to": "to", "in an attempt to": "to",
    "due to the fact that": "because", "owing to the fact that": "because", "in light of the fact that": "because",
    "for the reason that": "because", "despite the fact that": "although", "in spite of the fact that": "although",
    "in the event that": "if", "with regard to": "about", "with respect to": "about", "in regard to": "about",
    "prior to": "before", "subsequent to": "after", "in the course of": "during", "during the course of": "during",
    "until such time as": "until", "whether or not": "whether", "with the exception of": "except",
    "is able to": "can", "are able to": "can", "was able to": "could", "were able to": "could",
    "in addition to": "besides", "for the purpose of": "for", "take into consideration": "consider",
    "in close proximity to": "near", "each and every": "every", "first and foremost": "first",
    "it is important to note that": "", "it should be noted that": "",
}
_COMPRESSION = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(COMPRESSIONS, key=len, reverse=True))
                          + r")\b", re.IGNORECASE)


# words that say nothing a sentence needs: an opener at a sentence's start ("[And] I know ...", "[After all,] they're
# ...") and intensifiers ("[very] large", "how you'll [actually] pay"); a "that" after a verb of saying ("said
# [that] the plan")
OPENERS = ("and", "after all", "in fact", "indeed", "of course", "well", "additionally", "in addition", "moreover",
           "furthermore", "folks", "my friends", "you know", "as I said", "as I have said", "as I mentioned",
           "as I mentioned earlier", "as I mentioned before", "as I noted", "as I noted earlier", "as you know",
           "as we all know", "make no mistake about it:", "make no mistake:", "let me be clear:")
# the same words as an aside after a sentence's first word ("And[ in fact,] this week"; "It is[, of course,] true")
# and words said to the listener, not about the matter ("And[, folks,] ban", "because[, as I said,] we have")
VOCATIVES = ("folks", "my friends", "my fellow Americans", "ladies and gentlemen")
ASIDE_FILLERS = ("in fact", "indeed", "of course", "additionally", "moreover", "furthermore", "as I said", "you know",
                 "as I have said", "as I've said", "as you know", "as you all know", "as we all know",
                 "as I mentioned", "as I mentioned earlier", "as I noted") + VOCATIVES
_ASIDE_FILLER = re.compile(r"(?<=\w)(,?\s+(?:" + "|".join(re.escape(f) for f in ASIDE_FILLERS) + r"),)(?=\s)",
                           re.IGNORECASE)
# and a vocative that ends its sentence ("..., my fellow Americans.")
_VOCATIVE_LAST = re.compile(r"(?<=\w)(,\s+(?:" + "|".join(re.escape(v) for v in VOCATIVES) + r"))(?=[.!?])",
                            re.IGNORECASE)
# where a text says what a source said in: "It said[ in a statement] the offer" (less detail, the same report)
_SAID_IN = re.compile(r"\b(?:said|says|added|announced|noted|stated|reported)(\s+in\s+(?:a|an|its)\s+(?:"
                      r"(?:brief|short|prepared|written|joint|separate)\s+)?(?:statement|press release|news release"
                      r"|release|letter|interview))(?=\s+[a-z])", re.IGNORECASE)
# "14.6 pct[ of the total]," : a share of the whole says "of the total" already
_OF_THE_TOTAL = re.compile(r"\b(?:pct|percent|per cent)(\s+of\s+the\s+total)(?=[,.;])", re.IGNORECASE)
# "also" before a verb says that this is one more thing; the sentence says the thing without it ("The rumor[ also]
# was", "Bally[ also] acquired"); never "but also" or "not only ... also"
_ALSO = re.compile(r"(?<=\w)(\s+also)(?=\s+[a-z])")
# "help" takes its verb with or without "to": "would help[ to] guard against" (never "help to the poor")
_HELP_TO = re.compile(r"\bhelp(?:s|ed|ing)?(?:\s+(?:them|us|you|him|her|me|others|people|families|workers))?(\s+to)"
                      r"(?=\s+(?!the\b|a\b|an\b|this\b|that\b|these\b|those\b|its\b"
                      r"|their\b|our\b|his\b|her\b|my\b|your\b)[a-z]+\b)")
INTENSIFIERS = frozenset("very really actually simply truly certainly clearly indeed basically literally exactly"
                         .split())
SAYING = frozenset("said says say added noted stated announced reported believes believe believed think thinks "
                   "thought know knows knew".split())
# an opener that ends in a colon ("Make no mistake about it:") ends there; a word ends at a word boundary
OPENER_AT = re.compile(r"(?:^|(?<=[.!?]\s))(" + "|".join(re.escape(o) for o in sorted(OPENERS, key=len, reverse=True))
                       + r")(?:(?<=:)|\b,?)\s+(?=\w)", re.IGNORECASE)


def fillers(text: str, words, may: list[bool]) -> list:
    """Options that drop an opener, an intensifier or a "that" after a verb of saying (see :data:`OPENERS`), as
    (start, end, replacement, indices of the words that go)."""
    out = []
    starts = {w.start: n for n, w in enumerate(words)}
    for m in OPENER_AT.finditer(text):
        i = starts.get(m.start(1))
        n_old = len(m.group(1).split())
        # a capitalised word that starts a sentence counts as a possible name (writing.words): an opener is none
        if i is None or i + n_old >= len(words) or not all(may[n] or not getattr(words[n], "keep", False)
                                                            for n in range(i, i + n_old)):
            continue
        nxt = words[i + n_old]
        if nxt.text.lower() in FUNCTION_WORDS_AFTER_CUT:
            continue  # "And of all our accomplishments" would start with "Of"
        first = text[nxt.start].upper() if m.group(1)[0].isupper() else text[nxt.start]
        out.append((m.start(1), nxt.start + 1, first, tuple(range(i, i + n_old))))
    for n, w in enumerate(words):
        lower = w.text.lower()
        prev = words[n - 1].text.lower() if n else ""
        nxt = words[n + 1] if n + 1 < len(words) else None
        if nxt is None or not may[n] or text[w.end : nxt.start] != " ":
            continue
        if lower in INTENSIFIERS and n and text[words[n - 1].end : w.start] == " ":
            out.append((words[n - 1].end, w.end, "", (n,)))
        elif lower == "that" and prev in SAYING and text[words[n - 1].end : w.start] == " ":
            out.append((words[n - 1].end, w.end, "", (n,)))
    for pattern in (_ASIDE_FILLER, _VOCATIVE_LAST, _SAID_IN, _OF_THE_TOTAL, _ALSO, _HELP_TO):
        for m in pattern.finditer(text):
            gone = [n for n, w in enumerate(words) if m.start(1) <= w.start and w.end <= m.end(1)]
            fixed = pattern in (_ASIDE_FILLER, _VOCATIVE_LAST)  # its words are known: "I" or "Americans" is no name to keep here
            if not gone or gone[0] == 0 or not all(may[n] or fixed and not getattr(words[n], "keep", False)
                                                   for n in gone):
                continue
            if pattern is _HELP_TO and not _verb_base(text[m.end(1):].split(None, 1)[0]):
                continue  # "help them to safety": "to" leads a place, not a verb
            if pattern is _ALSO and (words[gone[0] - 1].text.lower() in ("but", "not", "only")
                                     or "only" in (w.text.lower() for w in words[max(0, gone[0] - 6) : gone[0]])):
                continue  # "not only X but also Y": "also" answers "only"
            out.append((m.start(1), m.end(1), "", tuple(gone)))
    return out


def _verb_base(word: str) -> bool:
    """Whether ``word`` reads as a verb's base form (WordNet; without the lexicon, whatever is lower case)."""
    from . import lexicon  # noqa: PLC0415  (the lexicon loads its data on first use)

    if not lexicon.available():
        return word.islower()
    return any(a.pos == "v" and a.form == "base" for a in lexicon.Lexicon.load().analyses(word.lower()))


# words a coordination may say once for both sides: "our duty and [our] privilege", "to our citizens and [to] our
# country", "in March and [in] April"
SHARED_BEFORE_AND = frozenset("the our their his her its my your these those to for in on at by with from".split())
# a relative pronoun with its "be" before a participle or a place phrase says nothing the participle does not
# ("the shares [that are] held by", "the company[, which is] based in")
_RELATIVE_BE = re.compile(r"\b(?:that|which|who)\s+(?:is|are|was|were)\s+(?=\w)", re.IGNORECASE)
PLACE_WORDS = frozenset("in on at from near".split())
AFTER_RELATIVE_BE = frozenset("""held made paid sold built bought brought given taken known seen set led left kept found
told sent spent""".split())


def reductions(text: str, words, may: list[bool]) -> list:
    """Options that drop a word the sentence does not need to say, keeping every other word: "both" before "X and
    Y"; a word an "and" repeats ("our duty and [our] privilege", after one to three words that are not function
    words but for determiners: not "the price of oil and [the] price"); the "of" of "all
    [of] the"; a relative pronoun and its "be" before a place phrase or a participle with its phrase ("shares [that are] held
    by"). As
    (start, end, replacement, indices of the words that go)."""
    lower = [w.text.lower() for w in words]

    def tight(n: int) -> bool:  # words n and n + 1 are in one phrase: only a space between them
        return 0 <= n and n + 1 < len(words) and text[words[n].end : words[n + 1].start] == " "

    out = []
    for n, word in enumerate(lower):
        if not may[n] or not tight(n) or not tight(n - 1):
            continue
        if word == "both" and lower[n + 1] != "of":
            for m in range(n + 2, min(len(words), n + 8)):
                if not tight(m - 1):
                    break
                if lower[m] == "and":
                    out.append((words[n - 1].end, words[n].end, "", (n,)))
                    break
        elif word in SHARED_BEFORE_AND and n >= 3 and lower[n - 1] in ("and", "or"):
            for m in range(n - 3, max(-1, n - 6), -1):
                between = lower[m + 1 : n - 1]
                if not all(tight(x) for x in range(m, n - 1)) or any(b in FUNCTION_WORDS and b not in DETERMINERS for b in between):
                    break
                if lower[m] == word:
                    out.append((words[n - 1].end, words[n].end, "", (n,)))
                    break
        elif (word == "of" and lower[n - 1] in ("all", "both") and lower[n + 1] in DETERMINERS - {"a", "an", "no"}
              and (n < 2 or lower[n - 2] not in ("or", "and"))):  # "some or all [of] their stake": "some" needs it
            out.append((words[n - 1].end, words[n].end, "", (n,)))
    starts = {w.start: n for n, w in enumerate(words)}
    for m in _RELATIVE_BE.finditer(text):
        i = starts.get(m.start())
        if i is None or i == 0 or i + 2 >= len(words) or not (may[i] and may[i + 1]):
            continue
        before, after = words[i - 1].text, lower[i + 2]
        if not before[:1].islower() or before.lower() in FUNCTION_WORDS or after == "going":
            continue  # "what [that is]", "who are [going to]"
        participle = after in AFTER_RELATIVE_BE or (len(after) > 4 and after.endswith(("ed", "en", "ing")))
        if after in PLACE_WORDS or (participle and i + 3 < len(words) and lower[i + 3] in PHRASE_STARTERS):
            # a participle only with its phrase: "measures [that are] determined, successful" reads as another claim
            out.append((m.start(), m.end(), "", (i, i + 1)))
    return out


def rewordings(text: str, words, may: list[bool]) -> list:
    """The options that lose no meaning by construction: wordy phrases said short, fillers, reductions."""
    return compressions(text, words, may) + fillers(text, words, may) + reductions(text, words, may)


def compressions(text: str, words, may: list[bool]) -> list:
    """Options that replace a wordy phrase with its short form (``COMPRESSIONS``), as (start, end, replacement,
    the indices of the words that go: the phrase's first words, as many as it loses)."""
    out = []
    starts = {w.start: n for n, w in enumerate(words)}
    for m in _COMPRESSION.finditer(text):
        i = starts.get(m.start())
        n_old = len(m.group().split())
        short = COMPRESSIONS[m.group().lower()]
        if i is None or i + n_old > len(words) or not all(may[i : i + n_old]):
            continue
        if m.group()[0].isupper():
            short = short[:1].upper() + short[1:]
        lo, hi = m.start(), m.end()
        if not short:  # the phrase goes with the space after it; the next word takes its capital
            hi = words[i + n_old].start if i + n_old < len(words) else hi
            if m.group()[0].isupper() and i + n_old < len(words):
                short, hi = text[hi].upper(), hi + 1
        out.append((lo, hi, short, tuple(range(i, i + n_old - len(COMPRESSIONS[m.group().lower()].split())))))
    return out


__all__ = ["COMPRESSIONS", "OPENER_AT", "compressions", "fillers", "reductions", "rewordings"]
