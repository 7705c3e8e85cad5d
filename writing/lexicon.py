"""Synonyms that mean the same, from WordNet: where Rephrase and Tone take the words they may swap in.

A word may only be replaced by another member of one of its own WordNet synsets (the same meaning, by the
lexicographers' judgement), never by a hypernym, a sibling or an antonym, so "month" can never become "week",
"education" never "housing". Within that, three filters keep the swaps ordinary and in the word's usual sense:

- a sense is used only when it is among the word's common senses (tag count at least ``SENSE_SHARE`` of its most
  frequent sense's, at most ``MAX_SENSES`` of them): "position" as a job, not as a posture;
- a synonym is offered only if it was itself seen in that sense in WordNet's sense-tagged corpus (its tag count
  there is above zero): "kid" for "child", never "nipper" or "tyke"; and only if that sense is the synonym's own
  commonest one ("buy" -> "purchase", but not "prices" -> "costs" or "chairman" -> "president", whose commonest
  senses are other meanings: a blind reader judged those swaps as changing what was said);
- words that carry facts (:mod:`writing.facts`: numbers, units, dates, directions, comparisons, time words,
  quantifiers, negations), function words and terms of business and finance (:data:`TERMS`: "outstanding stock",
  "agency obligations") are never swapped, nor swapped in.

Verb phrases of two or three words ("take part", "put off") map to the one-word verbs that say them
(:meth:`Lexicon.phrase_synonyms`, used by Rewrite and Rephrase), where the phrase has one dominant sense.

Which of the remaining senses the sentence means is for the caller to decide (:mod:`writing.substitute` asks the
denoiser which sense's words fit the place). The data is built once by ``scripts/build_lexicon.py`` from Debian's
``wordnet-base`` and shipped in ``assets/lexicon/`` with WordNet's licence notice.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dllm_core.function_words import FUNCTION_WORDS

from .facts import is_fact_word

LEXICON_PATH = Path(__file__).resolve().parents[1] / "assets" / "lexicon" / "wordnet.json.gz"
SENSE_SHARE = 0.3  # a sense counts when it is tagged at least this share as often as the word's commonest
MAX_SENSES = 2
VOWELS = "aeiou"
# light verbs: their sense lives in the words around them ("let them do it", "make sure", "get ahead"); a synonym
# swapped in or out breaks the construction ("allow them do it"), so they are never swapped, nor swapped in
LIGHT_VERBS = frozenset("""be have do make let get go take give put set keep come see say tell ask seem become
bring turn run hold help""".split())  # "help" takes a bare verb ("help people overcome"), "assist" does not

# terms of business and finance: in newswire they carry a technical sense that WordNet's commonest sense is not
# ("outstanding stock" is issued stock, not "prominent"; "agency obligations" are debts, not "duties"; "grades of
# crude" are not "rates"), so they are never swapped, nor swapped in
TERMS = frozenset("""outstanding obligation obligations grade grades security securities interest interests share
shares stock stocks issue issues bond bonds yield yields return returns balance balances position positions stake
stakes principal note notes bill bills capital charge charges account accounts future futures option options offer
offers bid bids tender tenders record records ceiling ceilings output crude margin margins premium premiums dividend
dividends equity equities asset assets liability liabilities holding holdings facility facilities instrument
instruments quotation quotations posted deficit deficits surplus surpluses split splits warrant warrants hedge hedges
hedged hedging""".split())
# commodities are traded by their names ("cocoa" is not "chocolate"), the world is not "the universe", a veto is no
# prohibition, a podium no pulpit (read blind, seeds 18-20): never swapped, nor swapped in
NEVER_SWAPPED = frozenset("""cocoa coffee sugar wheat corn grain grains gold silver copper tin zinc rubber cotton
soybeans oil gas world universe globe earth veto vetoes vetoed podium""".split())

# verbs whose past is spelled as their base: "put off" may be present or past, so a one-word verb cannot say it
SAME_PAST = frozenset("""put set cut let hit cost shut quit spread hurt bet burst cast read split thrust upset
broadcast forecast shed spit""".split())

# WordNet's detachment rules (morphy): an inflected form's ending -> the base's ending, and the form it was
NOUN_RULES = (("ies", "y", "pl"), ("ses", "s", "pl"), ("xes", "x", "pl"), ("zes", "z", "pl"), ("ches", "ch", "pl"),
              ("shes", "sh", "pl"), ("men", "man", "pl"), ("s", "", "pl"))
VERB_RULES = (("ies", "y", "s"), ("es", "e", "s"), ("es", "", "s"), ("s", "", "s"), ("ied", "y", "ed"),
              ("ed", "e", "ed"), ("ed", "", "ed"), ("ing", "e", "ing"), ("ing", "", "ing"))


@dataclass(frozen=True)
class Analysis:
    pos: str  # n, v, a, r
    base: str  # the lemma
    form: str  # base, pl (noun plural), s (verb 3rd person), ed (past / participle), ing


@dataclass(frozen=True)
class Synonym:
    word: str  # the synonym, inflected like the original
    lemma: str
    sense: str  # the synset id
    sense_rank: int  # 0: the original word's commonest sense
    sense_count: int  # the original word's tag count in that sense
    count: int  # the synonym's tag count in that sense


class Lexicon:
    def __init__(self, data: dict):
        self.synsets: dict[str, list] = data["synsets"]
        self.index: dict[str, dict[str, list]] = data["index"]
        self.antonyms: dict[str, list[str]] = data["antonyms"]
        self.exceptions: dict[str, dict[str, list[str]]] = data["exceptions"]
        self.phrases: dict[str, list[str]] = data.get("phrases", {})  # "take part" -> ["participate"]
        self._past: dict[str, list[str]] = {}  # verb base -> irregular past forms (not -ing, not -s)
        self._plural: dict[str, list[str]] = {}
        for form, bases in self.exceptions.get("v", {}).items():
            if not form.endswith(("ing", "s")):
                for b in bases:
                    self._past.setdefault(b, []).append(form)
        for form, bases in self.exceptions.get("n", {}).items():
            for b in bases:
                self._plural.setdefault(b, []).append(form)

    @classmethod
    @lru_cache(maxsize=1)
    def load(cls, path: Path = LEXICON_PATH) -> Lexicon:
        with gzip.open(path, "rt") as fh:
            return cls(json.load(fh))

    # ------------------------------------------------------------------------------------------- morphology
    def analyses(self, word: str) -> list[Analysis]:
        """Ways to read ``word`` (lower case) as an inflection of a WordNet lemma."""
        out = []
        for pos in ("n", "v", "a", "r"):
            if pos in self.index.get(word, {}):
                out.append(Analysis(pos, word, "base"))
            for base in self.exceptions.get(pos, {}).get(word, []):
                if pos in self.index.get(base, {}) and pos in "nv":
                    form = "pl" if pos == "n" else ("ing" if word.endswith("ing") else "s" if word.endswith("s")
                                                    else "ed")
                    out.append(Analysis(pos, base, form))
        for pos, rules in (("n", NOUN_RULES), ("v", VERB_RULES)):
            for suffix, ending, form in rules:
                if word.endswith(suffix) and len(word) > len(suffix) + 1:
                    stem = word[: -len(suffix)]
                    for base in {stem + ending, *([stem[:-1]] if form in ("ed", "ing") and len(stem) > 2
                                                  and stem[-1] == stem[-2] else [])}:
                        if pos in self.index.get(base, {}) and Analysis(pos, base, form) not in out:
                            out.append(Analysis(pos, base, form))
        return out

    def inflect(self, base: str, pos: str, form: str) -> list[str]:
        """``base`` in ``form``: irregular forms from WordNet's exception lists, else the regular spelling rules."""
        if form == "base":
            return [base]
        if form == "pl":
            return self._plural.get(base) or [_regular_s(base)]
        if form == "s":
            return [_regular_s(base)]
        if form == "ed":
            return self._past.get(base) or [_regular_ed(base)]
        if form == "ing":
            stem = base[:-2] + "y" if base.endswith("ie") else (
                base[:-1] if base.endswith("e") and not base.endswith(("ee", "ye", "oe")) else base)
            return [(_double(stem) if stem == base else stem) + "ing"]
        return []

    # ------------------------------------------------------------------------------------------- synonyms
    def sense_rank(self, lemma: str, pos: str, sense: str) -> int | None:
        """Where ``sense`` is in ``lemma``'s senses, commonest first (None: not one of its senses)."""
        for i, (sid, _) in enumerate(self.index.get(lemma, {}).get(pos, [])):
            if sid == sense:
                return i
        return None

    def common_senses(self, base: str, pos: str) -> list[tuple[str, int]]:
        senses = self.index.get(base, {}).get(pos, [])
        if not senses:
            return []
        top = max(c for _, c in senses)
        if top == 0:
            return [tuple(senses[0])]  # nothing tagged: the first listed sense only
        return [tuple(s) for s in senses if s[1] >= SENSE_SHARE * top][:MAX_SENSES]

    def phrase_synonyms(self, words: list[str]) -> list[str]:
        """One-word verbs that say a verb phrase as written, inflected like its verb ("took part" ->
        "participated", "carries out" -> "accomplishes"); none when the phrase has no dominant sense or is not one."""
        rest = " ".join(w.lower() for w in words[1:])
        readings = [a for a in self.analyses(words[0].lower()) if a.pos == "v" and f"{a.base} {rest}" in self.phrases]
        if len({a.form for a in readings}) != 1:
            return []  # not a phrase, or its tense is not knowable
        a = readings[0]
        if a.form == "base" and a.base in SAME_PAST:
            return []  # "they put off the meeting": present or past
        return [new for v in self.phrases[f"{a.base} {rest}"] if v not in LIGHT_VERBS
                for new in self.inflect(v, "v", a.form)]

    def synonyms(self, word: str) -> list[Synonym]:
        """Swaps for ``word`` (as written, lower case): members of its common senses, seen in that sense, inflected
        like it; never the word itself, another form of it, an antonym, a function word or a fact word."""
        lower = word.lower()
        if (lower in FUNCTION_WORDS or lower in TERMS or lower in NEVER_SWAPPED or is_fact_word(lower)
                or not lower.isalpha()):
            return []
        out: dict[str, Synonym] = {}
        for a in self.analyses(lower):
            if (a.pos == "a" and a.form != "base") or (a.pos == "v" and a.base in LIGHT_VERBS):
                continue
            banned = set(self.antonyms.get(a.base, ())) | {a.base, lower}
            for rank, (sid, sense_count) in enumerate(self.common_senses(a.base, a.pos)):
                for lemma, count in self.synsets.get(sid, []):
                    if (count <= 0 or lemma in banned or lemma[:4] == a.base[:4] or lemma in FUNCTION_WORDS
                            or lemma in TERMS or lemma in NEVER_SWAPPED or (a.pos == "v" and lemma in LIGHT_VERBS)):
                        continue
                    if self.sense_rank(lemma, a.pos, sid) != 0:  # "prices" -> "costs": not cost's own first sense
                        continue
                    for new in self.inflect(lemma, a.pos, a.form):
                        if is_fact_word(new) or new in out:
                            continue
                        if a.pos == "n" and a.form == "base" and not lower.endswith("s") and new.endswith("s"):
                            continue  # a plural-only noun for a singular one: "a net profit" -> "a net earnings"
                        if (a.pos == "n" and lower.endswith("s") and not lower.endswith(("ss", "us", "is"))
                                and not new.endswith("s")):
                            continue  # and the other way: "its talks with" -> "its negotiation with"
                        out[new] = Synonym(new, lemma, sid, rank, sense_count, count)
        return list(out.values())


def _regular_s(base: str) -> str:
    if base.endswith(("s", "x", "z", "ch", "sh")):
        return base + "es"
    if base.endswith("y") and len(base) > 1 and base[-2] not in VOWELS:
        return base[:-1] + "ies"
    return base + "s"


def _double(base: str) -> str:
    """'stop' -> 'stopp' (before -ed/-ing): one short syllable ending consonant-vowel-consonant."""
    if (len(base) <= 4 and len(base) >= 3 and base[-1] not in VOWELS + "wxy" and base[-2] in VOWELS
            and base[-3] not in VOWELS and sum(c in VOWELS for c in base) == 1):
        return base + base[-1]
    return base


def _regular_ed(base: str) -> str:
    if base.endswith("e"):
        return base + "d"
    if base.endswith("y") and len(base) > 1 and base[-2] not in VOWELS:
        return base[:-1] + "ied"
    return _double(base) + "ed"


def available() -> bool:
    return LEXICON_PATH.exists()
