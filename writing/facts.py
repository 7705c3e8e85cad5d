"""Fact check: which fact-bearing words differ between a draft and an edit of it, deterministically.

A writing action may say a thing differently; it may not say a different thing. The words that carry the facts of a
sentence are listed here, by kind, once for the whole project: the actions never swap them (Rephrase, Tone) and
never cut them (Shorten, except time words, whose loss is less detail rather than another fact), and every
alternative is compared with its draft before it is offered.

Kinds (``KINDS``): numbers (digits and number words), names (capitalised words that are not merely the first word
of a sentence), dates (months, days), units and currencies (with newswire's "mln", "dlrs", "pct"), negations,
qualifiers ("former", "alleged", "often", "fiscal": without them a sentence claims another thing), directions (of place, and of change: a rise
and a fall are opposite facts even when both are "a change"), comparisons (comparatives and superlatives),
time words ("later", "ago", "next", "past", "last", units of time) and quantifiers ("all", "few", "nearly").

:func:`check` compares the multisets of each kind. Direction words are compared by their sense (up or down, north
or south ...), so "rose" for "climbed" passes and "rose" for "fell" does not. The result says what changed in a
line a writer reads: "changes a number: four → nine".
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from dllm_core.function_words import FUNCTION_WORDS

KINDS = ("number", "name", "date", "unit", "negation", "qualifier", "direction", "comparison", "time", "quantity")

NUMBER_WORDS = frozenset("""zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds
thousand thousands million millions billion billions trillion trillions dozen dozens half halves quarter quarters
third thirds first second fourth fifth sixth seventh eighth ninth tenth twentieth hundredth thousandth once twice
thrice single double triple quadruple twofold threefold tenfold hundredfold couple pair""".split())
DATE_WORDS = frozenset("""january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday
mon tue tues wed thu thur thurs fri sat sun christmas easter""".split())
# "may" and "march" are dates only when capitalised (see _kind)
LOWERCASE_NOT_DATE = frozenset({"may", "march", "sun", "sat", "wed", "mar", "jan", "dec", "sept", "second"})
UNIT_WORDS = frozenset("""dollar dollars cent cents penny pennies pound pounds euro euros yen yuan franc francs
mark marks peso pesos rupee rupees ruble rubles rouble roubles lira dinar dinars riyal riyals shilling shillings
barrel barrels ton tons tonne tonnes kilo kilos kilogram kilograms gram grams ounce ounces mile miles kilometre
kilometres kilometer kilometers metre metres meter meters foot feet inch inches yard yards acre acres hectare
hectares gallon gallons litre litres liter liters bushel bushels percent percentage points point bps basis
mln bln dlr dlrs ct cts pct bpd mt yr yrs mths degree degrees calorie calories watt watts megawatt megawatts kilowatt kilowatts volt volts byte bytes
second seconds minute minutes hour hours day days week weeks fortnight month months year years decade decades century
centuries""".split())  # units of time too: "thousands of [hours]", "nine [months]"
# newswire's abbreviations and the words they stand for: Tone's "More formal" writes them out
# (writing.formal_rules.spelled_out), and the fact check reads both the same
ABBREVIATIONS = {"mln": "million", "bln": "billion", "dlr": "dollar", "dlrs": "dollars", "ct": "cent", "cts": "cents",
                 "pct": "percent", "bpd": "barrels per day", "bbl": "barrel", "bbls": "barrels", "yr": "year",
                 "yrs": "years", "mths": "months", "shr": "share", "shrs": "shares", "qtr": "quarter"}
ABBREVIATION_RE = re.compile(r"(?<![\w'’.-])(" + "|".join(ABBREVIATIONS) + r")(?![\w'’-])")
NEGATION_WORDS = frozenset("""not no never nor none nothing nobody neither cannot without nowhere""".split())
# direction words by sense: an edit may trade one for another of the same sense, never of another
DIRECTION_SENSES = {
    "up": """up upward upwards rise rises rose risen rising increase increases increased increasing climb climbs
        climbed climbing gain gains gained gaining grow grows grew grown growing raise raises raised raising jump
        jumps jumped jumping soar soars soared soaring surge surges surged surging boost boosts boosted above
        ascend ascended""",
    "down": """down downward downwards fall falls fell fallen falling decrease decreases decreased decreasing drop
        drops dropped dropping decline declines declined declining lose loses lost losing shrink shrinks shrank
        shrunk shrinking cut cuts cutting reduce reduces reduced reducing plunge plunges plunged plunging slump
        slumps slumped sink sinks sank sunk below descend
        descended""",
    "north": "north northern northward northwards northerly",
    "south": "south southern southward southwards southerly",
    "east": "east eastern eastward eastwards easterly",
    "west": "west western westward westwards westerly",
    "northeast": "northeast northeastern", "northwest": "northwest northwestern",
    "southeast": "southeast southeastern", "southwest": "southwest southwestern",
    "in": "inside inner inward interior", "out": "outside outer outward exterior",
    "before": "before earlier prior previous previously preceding",
    "after": "after later subsequent subsequently following afterwards afterward",
    "left": "leftward", "right": "rightward",
}
DIRECTION_OF = {w: sense for sense, words in DIRECTION_SENSES.items() for w in words.split()}
COMPARISON_WORDS = frozenset("""more most less least fewer fewest better best worse worst greater greatest larger
largest smaller smallest bigger biggest higher highest lower lowest longer longest shorter shortest older oldest
younger youngest newer newest earlier earliest latest faster fastest slower slowest richer richest poorer poorest
stronger strongest weaker weakest cheaper cheapest dearer harder hardest easier easiest further furthest farther
farthest nearer nearest wider widest deeper deepest heavier heaviest lighter lightest""".split())
TIME_WORDS = frozenset("""ago later next past last previous recent recently soon sooner early late lately now then
today tonight yesterday tomorrow currently formerly future once already still yet annual annually daily weekly
monthly yearly quarterly morning mornings afternoon evening evenings night nights weekend weekends season seasons spring
summer autumn fall winter period""".split())
QUANTITY_WORDS = frozenset("""all some many much most few several every each any both either enough numerous
various countless only almost nearly about approximately roughly around over under just exactly precisely
entire entirely whole partly partially mostly largely majority minority plenty lots""".split())
# qualifiers that change what a sentence claims when they go: a "former" member is not a member, an "alleged" fraud
# is not a fraud, "often" is not "always"
QUALIFIER_WORDS = frozenset("""former ex acting interim deputy vice alleged allegedly reportedly apparently
possibly probably likely unlikely often usually sometimes rarely seldom always occasionally frequently generally
mainly partly fiscal net gross pretax provisional preliminary estimated projected proposed planned expected
negative positive adverse favorable favourable unfavorable unfavourable main chief primary principal sole
key""".split())

QUANTITY_BEFORE_NUMBERS = frozenset("about around over under just".split())  # quantities only before a number
APPROXIMATE = frozenset("about approximately roughly around".split())  # before a number: one approximation
_WORD = re.compile(r"\$?\d[\d,.]*%?|[^\W\d_](?:[\w'’.-]*[^\W_])?")
_SENTENCE_END = re.compile(r"[.!?:;\"“]\s*$")


@dataclass(frozen=True)
class FactChange:
    kind: str
    removed: tuple[str, ...]  # in the draft, not in the edit
    added: tuple[str, ...]  # in the edit, not in the draft

    def describe(self) -> str:
        label = {"quantity": "quantity", "comparison": "comparison", "time": "time word"}.get(self.kind, self.kind)
        if self.removed and self.added:
            return f"changes a {label}: {', '.join(self.removed)} → {', '.join(self.added)}"
        if self.added:
            return f"adds a {label}: {', '.join(self.added)}"
        return f"drops a {label}: {', '.join(self.removed)}"

    def to_json(self) -> dict:
        return {"kind": self.kind, "removed": list(self.removed), "added": list(self.added), "says": self.describe()}


@dataclass
class FactCheck:
    changes: list[FactChange] = field(default_factory=list)
    drops_allowed: tuple[str, ...] = ()  # kinds whose words may go without a replacement (shorten: time)

    @property
    def ok(self) -> bool:
        """No fact added or replaced, and no fact dropped except of the allowed kinds."""
        return not any(c.added or (c.removed and c.kind not in self.drops_allowed) for c in self.changes)

    @property
    def says(self) -> str:
        return "; ".join(c.describe() for c in self.changes)

    def to_json(self) -> dict:
        return {"ok": self.ok, "says": self.says, "changes": [c.to_json() for c in self.changes]}


def _normal_number(token: str) -> str:
    return token.replace(",", "").rstrip(".")


def fact_kind(word: str, sentence_start: bool = False) -> str | None:
    """The kind of fact ``word`` carries (one of ``KINDS``), or None. ``sentence_start``: the word begins a
    sentence, so its capital says nothing about it being a name."""
    lower = word.lower().strip("'’")
    if any(c.isdigit() for c in word):
        return "number"
    if lower in NUMBER_WORDS:
        return "number"
    if lower in DATE_WORDS and (lower not in LOWERCASE_NOT_DATE or word[:1].isupper()) and not (
            sentence_start and lower in LOWERCASE_NOT_DATE):
        return "date"
    if lower in NEGATION_WORDS or lower.endswith(("n't", "n’t")):
        return "negation"
    if lower in UNIT_WORDS:
        return "unit"
    if lower in QUALIFIER_WORDS:
        return "qualifier"
    if lower in DIRECTION_OF:
        return "direction"
    if lower in COMPARISON_WORDS:
        return "comparison"
    if lower in TIME_WORDS:
        return "time"
    if lower in QUANTITY_WORDS:
        return "quantity"
    if word[:1].isupper() and re.split(r"['’]", word)[0] != "I" and not (sentence_start and _common_start(lower)):
        return "name"
    return None


def _common_start(lower: str) -> bool:
    """A word that begins a sentence without being a name: a function word, a contraction of one ("Let's",
    "I'm", "It's"), or a word of the dictionary (the swap lexicon's lemmas)."""
    core = re.split(r"['’]", lower)[0]
    if lower in FUNCTION_WORDS or core in FUNCTION_WORDS or core in ("let", "i"):
        return True
    from .lexicon import Lexicon, available  # noqa: PLC0415 (the lexicon reads this module's word lists)

    if not available():
        return False
    lexicon = Lexicon.load()
    return any(a.base in lexicon.index for a in lexicon.analyses(lower))


_CORRELATIVE_BOTH = re.compile(r"(?: (?!of\b)[\w'’-]+){1,6} and\b")  # "both X and Y": up to six words, no punctuation


# set phrases that hold a fact-looking word but state no fact: the speaker's own asides ("As I mentioned
# [earlier]", "Make [no] mistake about it"); their words are not read as facts, so a Shorten that drops the aside
# drops nothing a reader relies on
_DISCOURSE = re.compile(r"\b(?:as (?:I|we) (?:mentioned|noted|said|have said) (?:earlier|before|previously)"
                        r"|make no mistake)\b", re.IGNORECASE)


def fact_words(text: str) -> dict[str, Counter]:
    """Per kind, the multiset of fact words in ``text`` (numbers normalised). A capitalised word at a sentence start
    counts as a name unless it is a function word; :func:`check` forgives one that is the other text's own word
    in lower case (a cut that makes "officials" begin the sentence)."""
    out: dict[str, Counter] = {k: Counter() for k in KINDS}
    text = ABBREVIATION_RE.sub(lambda m: ABBREVIATIONS[m.group()], text)  # "11 mln dlrs" = "11 million dollars"
    text = _DISCOURSE.sub(lambda m: " " * len(m.group()), text)
    for m in _WORD.finditer(text):
        w = m.group()
        before = text[: m.start()]
        start = not before.strip() or bool(_SENTENCE_END.search(before))
        kind = fact_kind(w, start)
        before_number = False
        if kind == "quantity":
            nxt = _WORD.match(text, m.end() + len(text[m.end():]) - len(text[m.end():].lstrip()))
            before_number = bool(nxt) and fact_kind(nxt.group()) == "number"
        if kind == "quantity" and w.lower() in QUANTITY_BEFORE_NUMBERS and not before_number:
            kind = None  # "talked about it", not "about 400"
        if kind == "quantity" and w.lower() == "both" and _CORRELATIVE_BOTH.match(text, m.end()):
            kind = None  # "both our duty and our privilege" says "and", no quantity
        if kind is None:
            continue
        if kind == "number":
            key = _normal_number(w.lower())
        elif kind == "negation":  # "do not" and "don't" say the same
            key = "not" if w.lower().endswith(("n't", "n’t")) or w.lower() == "cannot" else w.lower()
        elif kind == "direction":
            key = w.lower()
        elif kind == "quantity" and before_number and w.lower() in APPROXIMATE:
            key = "about"  # "about 400" = "approximately 400" = "roughly 400"
        elif kind == "name":
            key = w
        else:
            key = w.lower()
        out[kind][key] += 1
    return out


def _direction_changes(a: Counter, b: Counter) -> tuple[list[str], list[str]]:
    sa, sb = Counter(), Counter()
    for w, n in a.items():
        sa[DIRECTION_OF[w]] += n
    for w, n in b.items():
        sb[DIRECTION_OF[w]] += n
    removed = [w for w in a if (sa - sb)[DIRECTION_OF[w]]]
    added = [w for w in b if (sb - sa)[DIRECTION_OF[w]]]
    return removed, added


def check(draft: str, edit: str, drops_allowed: tuple[str, ...] = ()) -> FactCheck:
    """Compare the fact words of ``draft`` and ``edit``. ``drops_allowed``: kinds that may be dropped without
    failing the check (they are still reported)."""
    a, b = fact_words(draft), fact_words(edit)
    lower_a = {w.lower() for w in _WORD.findall(draft)}
    lower_b = {w.lower() for w in _WORD.findall(edit)}
    changes = []
    for kind in KINDS:
        if kind == "direction":
            removed, added = _direction_changes(a[kind], b[kind])
        else:
            removed, added = list((a[kind] - b[kind]).elements()), list((b[kind] - a[kind]).elements())
        if kind == "name":  # recased at a sentence start, not another name
            removed = [w for w in removed if w.lower() not in lower_b or w.lower() == w]
            added = [w for w in added if w.lower() not in lower_a or w.lower() == w]
        if removed or added:
            changes.append(FactChange(kind, tuple(dict.fromkeys(removed)), tuple(dict.fromkeys(added))))
    return FactCheck(changes, tuple(drops_allowed))


def is_fact_word(word: str, sentence_start: bool = False) -> bool:
    return fact_kind(word, sentence_start) is not None
