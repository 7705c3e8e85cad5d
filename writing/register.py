"""Register: the same thing said more formally or more casually, by rule, for Tone's "More formal" and "More casual".

:func:`more_formal` expands contractions (:func:`writing.style.expand_contractions`), puts a formal word for an
informal phrase that means the same in (nearly) every context ("found out" -> "discovered", "bought" ->
"purchased", "kids" -> "children") and mends a sentence that begins with a conjunction ("And this year, we ..." ->
"This year, we ..."; "But ..." -> "However, ..."; "So we ..." -> "Therefore, we ..."). :func:`more_casual` makes
contractions (:func:`writing.style.make_contractions`) and goes the other way where the way back is as safe
("purchased" -> "bought", "However, ..." -> "But ...").

The pairs (:data:`PAIRS`) write every inflected form out; no tagger and no inflection library. A verb form is
changed only where the words around it say it is that form of that verb, and a guard (documented with each pair)
keeps it to the contexts where the two phrasings mean the same: a base form ("buy") only after "to", a modal, "do"
or a subject pronoun ("we buy", "will buy": never "a good buy"); an "-s" form ("shows") not after a determiner, a
preposition or a number (never "the shows", "three tries"), and for words that are plural nouns as often as verbs
("talks", "finds") only after he/she/it/who or a name; a past form after its subject, a past participle after
"have" (and after "be" where the passive reads the same: "was purchased"); where one spelling is two forms ("cut",
"put", "come") and the context allows both, nothing is changed. A capitalised match inside a sentence is a name or a
title ("Big Ben") and is left alone; so is anything inside quotation marks (someone's words), except that
contractions follow :mod:`writing.style` as before.

No pair trades a fact word (:mod:`writing.facts`) for one of another kind or sense: phrases with "up" or "down"
become a word of the same direction ("prices went up" -> "prices rose") or are left out ("put up with", "come up
with"), and words of quantity, time or degree are never exchanged ("whole"/"entire", "enough"/"sufficient",
"right now"/"currently", "a lot of" stay as they are ("about" -> "approximately" only before a number, which the fact
check counts as the same approximation); "point(s) out" stays, "point" being
a unit there: only "pointed/pointing out that" -> "noted/noting that"). Left out as unsafe in some common context:
"set up" (a tent), "carry out" (orders), "think about" ("what do you think about it?"), "turn down" (the volume),
"come up with" (the money), "fix" (a date), "get" (anything), "big" -> "large" before anything but amounts, groups
and places ("a big mistake").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from . import formal_rules
from .facts import NUMBER_WORDS
from .style import Edit, disjoint, expand_contractions, make_contractions

_TOKEN = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|\S")
_ENDS = frozenset(".!?")
BASE, S, PAST, PP, ING = range(5)  # the slots of a verb's forms

MODALS = frozenset("will would shall should can could may might must cannot".split())
DO = frozenset("do does did".split())
HAVE = frozenset("have has had having".split())
BE = frozenset("am is are was were be been being".split())
GET = frozenset("get gets got gotten getting".split())  # a participle after them is passive: "getting started"
SUBJECTS = frozenset("i we you they".split())  # a base form (or a past one) follows them
SUBJECTS_3SG = frozenset("he she it who which that this one someone everyone somebody everybody".split())
OBJECTS = frozenset("me us them him".split())  # "let us buy", "help them start"
PERSONAL = frozenset("me you him her us them it myself yourself himself herself ourselves themselves itself".split())
BETWEEN = frozenset("""not also just still even never always often really then now all both only actually usually
simply ever first already soon certainly probably sometimes rarely finally eventually""".split())
DETERMINERS = frozenset("a an the this that these those my your his her its our their some any each every another "
                        "no".split())
PREPOSITIONS = frozenset("of for in on at with by from to into about over under without between among through "
                         "and or".split())
WH = frozenset("how what why whether if where who when which".split())
NOT_GERUNDS = frozenset("""thing things something anything everything nothing king kings ring rings spring springs
string strings evening evenings morning mornings building buildings meeting meetings ceiling wedding weddings
clothing during bring sing sting swing wing wings sibling siblings pudding""".split())
# what may follow "need"/"require" as its object (never "need to", "need not", "need only", "I need you")
NEED_OBJECTS = DETERMINERS - {"that"} | frozenset("more further additional extra new several both all".split())
THAT_VERBS = MODALS | DO | HAVE | BE  # "shows that are ..." is a plural noun with a relative clause
START_NEXT = frozenset("""to at in on with after before when as again from during around shortly immediately soon
today tomorrow yesterday . , ; ! ?""".split())
# objects with which the phrase and the word mean the same
PROBLEMS = frozenset("""problem problems issue issues crisis crises concern concerns complaint complaints threat
threats challenge challenges question questions matter matters shortage shortages backlog backlogs situation""".split())
INQUIRIES = PROBLEMS | frozenset("""case cases claim claims allegation allegations report reports cause causes incident
incidents death deaths accident accidents crash crashes possibility possibilities options reasons""".split())
DELAYABLE = frozenset("""meeting meetings decision decisions vote votes trip trips visit visits wedding weddings
talks launch plan plans announcement announcements election elections hearing hearings trial trials payment payments
release match game games event events""".split())
TOPICS = frozenset("""issue issues subject subjects topic topics question questions matter matters point points
concern concerns idea possibility case""".split())
SIZES = frozenset("""amount amounts number numbers part parts portion portions share shares sum sums quantity
quantities group groups majority city cities company companies firm firms area areas room rooms building buildings
population populations organisation organisations organization organizations proportion scale""".split())
BIG = frozenset("""part parts share shares group groups city cities company companies firm firms area areas room rooms
building buildings""".split())  # "a large number" is idiom, "a big number" is not: back to "big" only before these
# what is hard, not hardy: "a tough job" is "a difficult job", "a tough guy" is not a difficult one
HARD_THINGS = frozenset("""job jobs task tasks decision decisions choice choices question questions time times year
years challenge challenges problem problems fight road issue issues situation negotiations talks""".split())
# verbs before "like" that compare ("looks like", "feels like"): "like" there is no "such as"
_LIKE_VERBS = frozenset("looks feels sounds seems acts tastes smells is was does has".split())
_NOT_AFTER_LIKE = frozenset("that this these those it them him her me us you that's".split())
MOVERS = frozenset("""price prices cost costs rate rates sales tax taxes rent rents wage wages salary salaries
inflation unemployment profit profits revenue revenues number numbers figure figures temperature temperatures value
values spending demand stock stocks index output fee fees fare fares bill bills premium premiums level levels income
incomes earnings debt yield yields""".split())
AUXILIARIES = MODALS | DO | HAVE | BE | BETWEEN | frozenset("to going".split())


@dataclass(frozen=True)
class Context:
    before: tuple[str, ...]  # the sentence's tokens before the match, as written, nearest first
    after: tuple[str, ...]  # the sentence's tokens after it (words and punctuation), as written, in order
    at_start: bool  # the match begins its sentence (after at most a sentence-initial And/But/So)
    form: str  # the matched form, lower case

    def next(self, i: int = 0) -> str:
        return self.after[i].lower().replace("’", "'") if i < len(self.after) else ""

    def prev(self, i: int = 0) -> str:
        return self.before[i].lower().replace("’", "'") if i < len(self.before) else ""


Guard = Callable[[Context], bool]


@dataclass(frozen=True)
class Pair:
    """An informal and a formal phrasing: the five verb forms (base, -s, past, past participle, -ing; "" for one
    not used) or, with ``word``, the forms of a word that is no verb. ``to_formal`` and ``to_casual`` are the
    guards of each direction (None: that direction is not safe)."""
    casual: tuple[str, ...]
    formal: tuple[str, ...]
    to_formal: Guard | None
    to_casual: Guard | None = None
    imperative: bool = False  # the base form may begin a sentence ("Make sure the door is locked.")
    passive: bool = False  # the past participle may follow "be" ("was bought" -> "was purchased")
    strict_s: bool = False  # the -s form is as often a plural noun ("talks", "finds"): only after he/she/it/who/a name
    word: bool = False  # no verb: the forms are matched as they are, with no context of form


def v(base: str, s: str, past: str, pp: str, ing: str, tail: str = "") -> tuple[str, ...]:
    """A verb's five forms, written out, with the words that follow each (the particle of a phrasal verb)."""
    return tuple(f"{form} {tail}" if form and tail else form for form in (base, s, past, pp, ing))


# ------------------------------------------------------------------------------------------------------ guards
def _word(token: str) -> bool:
    return bool(token) and token[0].isalpha()


def _any(ctx: Context) -> bool:
    return True


def _next_word(*not_these: str) -> Guard:
    """An object follows (a word, not punctuation), and not one of ``not_these``."""
    return lambda ctx: _word(ctx.next()) and ctx.next() not in not_these


def _next_in(*words: frozenset | str) -> Guard:
    allowed = frozenset().union(*({w} if isinstance(w, str) else w for w in words))
    return lambda ctx: ctx.next() in allowed


def _gerund(ctx: Context) -> bool:
    word = ctx.next()
    return word.isalpha() and len(word) > 4 and word.endswith("ing") and word not in NOT_GERUNDS


def _object(nouns: frozenset) -> Guard:
    """The object is one of ``nouns``, after at most a determiner and one modifier ("the growing problem")."""
    def guard(ctx: Context) -> bool:
        i = 1 if ctx.next() in DETERMINERS else 0
        if ctx.next(i) in nouns:
            return True
        return _word(ctx.next(i)) and ctx.next(i) not in PREPOSITIONS and ctx.next(i + 1) in nouns
    return guard


def _thing(ctx: Context) -> bool:
    """An object that is a thing: a word, no personal pronoun, no name ("get rid of him", "ask for John" stay)."""
    return _word(ctx.next()) and ctx.next() not in PERSONAL and not ctx.after[0][:1].isupper()


def _that_clause(ctx: Context) -> bool:
    """"that" and a clause's subject ("shows that prices ..."), not a relative clause ("shows that are ...")."""
    return ctx.next() in ("that", "whether") and _word(ctx.next(1)) and ctx.next(1) not in THAT_VERBS


def _after_subject(nouns: frozenset) -> Guard:
    """The subject, past the auxiliaries, is one of ``nouns`` ("prices have gone up", not "she went up")."""
    def guard(ctx: Context) -> bool:
        for i in range(len(ctx.before)):
            word = ctx.prev(i)
            if word not in AUXILIARIES and not word.endswith(("n't", "'ll")):
                return word in nouns
        return False
    return guard


def _all(*guards: Guard) -> Guard:
    return lambda ctx: all(g(ctx) for g in guards)


def _help(ctx: Context) -> bool:
    """"help with ..." and "help them (with ...)": never "help them do", "help to", where "assist" does not fit."""
    if ctx.next() == "with":
        return True
    return ctx.next() in OBJECTS | {"you", "her"} and (ctx.next(1) in ("with", "in", "") or not _word(ctx.next(1)))


def _examples(ctx: Context) -> bool:
    """"like" / "such as" between a plural noun and its examples (a word, not a pronoun)."""
    prev = ctx.prev()
    return (len(prev) > 3 and prev.endswith("s") and not prev.endswith(("ss", "us", "is")) and prev not in _LIKE_VERBS
            and prev not in PERSONAL and _word(ctx.next()) and ctx.next() not in _NOT_AFTER_LIKE)


def _look_for(ctx: Context) -> bool:
    """A thing, and no "to" after it ("look for prices to rise" means expect)."""
    return _thing(ctx) and "to" not in [ctx.next(i) for i in range(3)]


def _not_as_it_happens(ctx: Context) -> bool:
    """Not "happen to" / "occur to" (another sense: "it occurred to me"), not "as it happens"."""
    return ctx.next() != "to" and not (ctx.prev() == "it" and ctx.prev(1) == "as")


# ------------------------------------------------------------------------------------------------------ pairs
_OBJECT = _next_word()
PAIRS: tuple[Pair, ...] = (
    # phrasal verbs
    Pair(v("find", "finds", "found", "found", "finding", "out"),  # "find out about" stays
         v("discover", "discovers", "discovered", "discovered", "discovering"), _next_word("about"),
         imperative=True, strict_s=True),
    Pair(v("figure", "figures", "figured", "figured", "figuring", "out"),  # a question or a thing: "how", "the cause"
         v("determine", "determines", "determined", "determined", "determining"), _next_in(WH, DETERMINERS),
         imperative=True, strict_s=True),
    Pair(v("make", "makes", "made", "made", "making", "sure"),  # never "make sure of"; back only before "that"
         v("ensure", "ensures", "ensured", "ensured", "ensuring"), _next_word("of"), _next_in("that"),
         imperative=True),
    Pair(v("talk", "talks", "talked", "talked", "talking", "about"),  # with an object ("what are you talking about?"),
         v("discuss", "discusses", "discussed", "discussed", "discussing"),  # a topic, not "talk about yourself"
         _next_word(*PERSONAL - {"it", "them"}),
         _next_word(*PREPOSITIONS, "that"), strict_s=True),  # not "discuss with them"
    Pair(v("", "", "pointed", "pointed", "pointing", "out"),  # "pointed out that" = "noted that"; "point(s)" is
         v("", "", "noted", "noted", "noting"), _next_in("that")),  # a unit to the fact check: those forms stay
    Pair(v("ask", "asks", "asked", "asked", "asking", "for"),  # things asked for, not people ("asked for John")
         v("request", "requests", "requested", "requested", "requesting"), _all(_thing, _next_word("trouble")),
         _all(_thing, _next_word("that"),  # not "requested that we ...", "requested the board to ..."
              lambda ctx: "to" not in [ctx.next(i) for i in range(5)])),
    Pair(v("ask", "asks", "asked", "asked", "asking", "about"),
         v("inquire about", "inquires about", "inquired about", "inquired about", "inquiring about"), _OBJECT, _OBJECT),
    Pair(v("look", "looks", "looked", "looked", "looking", "for"),
         v("seek", "seeks", "sought", "sought", "seeking"), _look_for, strict_s=True),
    Pair(v("look", "looks", "looked", "looked", "looking", "into"),  # a matter or a question, not "into my eyes"
         v("investigate", "investigates", "investigated", "investigated", "investigating"),
         lambda ctx: ctx.next() in WH or _object(INQUIRIES)(ctx)),
    Pair(v("deal", "deals", "dealt", "dealt", "dealing", "with"),  # problems, not people ("deal with customers")
         v("address", "addresses", "addressed", "addressed", "addressing"), _object(PROBLEMS)),
    Pair(v("get", "gets", "got", "got", "getting", "rid of"),  # never a person ("get rid of him")
         v("eliminate", "eliminates", "eliminated", "eliminated", "eliminating"), _thing, imperative=True),
    Pair(v("", "", "", "gotten", "", "rid of"), v("", "", "", "eliminated", ""), _thing),
    Pair(v("get", "gets", "got", "got", "getting", "in touch with"),
         v("contact", "contacts", "contacted", "contacted", "contacting"), _OBJECT, imperative=True),
    Pair(v("", "", "", "gotten", "", "in touch with"), v("", "", "", "contacted", ""), _OBJECT),
    Pair(v("come", "comes", "came", "come", "coming", "back"),
         v("return", "returns", "returned", "returned", "returning"),  # not "come back together", "coming back down"
         lambda ctx: ctx.next() not in ("together", "up", "down", "around", "round")),
    Pair(v("cut", "cuts", "cut", "cut", "cutting", "back on"),  # "cut" (down) -> "reduce" (down): the same direction
         v("reduce", "reduces", "reduced", "reduced", "reducing"), _OBJECT, strict_s=True),
    Pair(v("put", "puts", "put", "put", "putting", "off"),  # an event or an act, not "put off by", "put off buyers"
         v("postpone", "postpones", "postponed", "postponed", "postponing"),
         lambda ctx: _gerund(ctx) or _object(DELAYABLE)(ctx), _any, passive=True, strict_s=True),
    Pair(v("bring", "brings", "brought", "brought", "bringing", "up"),  # a topic: "up" -> "raise", both upward
         v("raise", "raises", "raised", "raised", "raising"), _object(TOPICS)),
    Pair(v("hand", "", "handed", "handed", "handing", "in"),  # "hands in" is as often "his hands in his pockets"
         v("submit", "", "submitted", "submitted", "submitting"), _next_word("hand"), passive=True),
    Pair(v("keep", "keeps", "kept", "kept", "keeping", "on"), v("continue", "continues", "continued", "continued",
                                                              "continuing"), _gerund),
    Pair(v("keep", "keeps", "kept", "kept", "keeping"),  # only before an -ing form: "kept working"
         v("continue", "continues", "continued", "continued", "continuing"), _gerund, _gerund),
    Pair(v("go", "goes", "went", "gone", "going", "on"),  # "went on talking", not "went on to win"
         v("continue", "continues", "continued", "continued", "continuing"), _gerund),
    Pair(v("stop", "stops", "stopped", "stopped", "stopping"),  # "stopped working", not "stopped to look"
         v("cease", "ceases", "ceased", "ceased", "ceasing"), _gerund, _gerund),
    Pair(v("go", "goes", "went", "gone", "going", "up"),  # of prices, rates, figures: not "went up the stairs"
         v("rise", "rises", "rose", "risen", "rising"), _after_subject(MOVERS)),
    Pair(v("go", "goes", "went", "gone", "going", "down"),
         v("fall", "falls", "fell", "fallen", "falling"), _after_subject(MOVERS)),
    # single verbs
    Pair(v("buy", "buys", "bought", "bought", "buying"),  # not "buy it" (believe), "buy time", "buy into", "buy off"
         v("purchase", "purchases", "purchased", "purchased", "purchasing"),
         _next_word(*PERSONAL, "into", "that", "this", "time", "off", "out", "up", "back"), _OBJECT,
         passive=True, strict_s=True),
    Pair(v("need", "needs", "needed", "needed", "needing"),  # a determiner next: never "need to", "need not"
         v("require", "requires", "required", "required", "requiring"), _next_in(NEED_OBJECTS), _next_in(NEED_OBJECTS),
         strict_s=True),  # "present-day needs more ..."
    Pair(v("help", "helps", "helped", "helped", "helping"),
         v("assist", "assists", "assisted", "assisted", "assisting"), _help, _OBJECT, passive=True),
    Pair(v("try", "tries", "tried", "tried", "trying"),  # "try to": not "try the cake"
         v("attempt", "attempts", "attempted", "attempted", "attempting"), _next_in("to"), _next_in("to")),
    Pair(v("start", "starts", "started", "started", "starting"),  # "start to", "started at noon"; not "start a car"
         v("begin", "begins", "began", "begun", "beginning"),
         lambda ctx: ctx.next() in START_NEXT or _gerund(ctx), strict_s=True),  # "new starts on ..."
    Pair(v("show", "shows", "showed", "shown", "showing"),  # "shows that ...": not "a show", "shows that are ..."
         v("demonstrate", "demonstrates", "demonstrated", "demonstrated", "demonstrating"), _that_clause, _that_clause),
    Pair(v("check", "", "checked", "checked", "checking"),  # "checks" is as often the noun
         v("verify", "", "verified", "verified", "verifying"), _that_clause, _that_clause),
    Pair(v("happen", "happens", "happened", "happened", "happening"),
         v("occur", "occurs", "occurred", "occurred", "occurring"), _not_as_it_happens,
         _all(_not_as_it_happens, lambda ctx: not ctx.form.endswith("ing"))),  # not "naturally occurring"
    # words that are no verbs
    Pair(("kids",), ("children",), lambda ctx: ctx.prev() not in ("he", "she", "who", "it"), _any,  # not "he kids"
         word=True),
    Pair(("kids'",), ("children's",), _any, _any, word=True),
    Pair(("big",), ("large",), _next_in(SIZES), _all(_next_in(BIG), lambda ctx: ctx.prev() != "at"), word=True),
    Pair(("maybe",), ("perhaps",), _any, _any, word=True),
    Pair(("tough",), ("difficult",), _next_in(HARD_THINGS), _next_in(HARD_THINGS), word=True),
    # a plural noun's examples: "priorities like education" -> "priorities such as education"; not "looks like"
    Pair(("like",), ("such as",), lambda ctx: _examples(ctx), lambda ctx: _examples(ctx), word=True),
    Pair(("right away",), ("immediately",), _any, None, word=True),  # "immediately after" is no "right away after"
    # casual only: there is no formal pair for "start" but "begin" (above)
    Pair(v("start", "starts", "started", "started", "starting"),
         v("commence", "commences", "commenced", "commenced", "commencing"), None, _any),
)


# ------------------------------------------------------------------------------------------------------ matching
def quoted_spans(text: str) -> list[tuple[int, int]]:
    """Spans inside quotation marks (“...” or "..."); a quotation never closed runs to the end of the text."""
    spans, opened = [], None
    for m in re.finditer(r"[“”\"]", text):
        mark = m.group()
        if opened is None and mark != "”":
            opened = m.start()
        elif opened is not None and mark != "“":
            spans.append((opened, m.end()))
            opened = None
    if opened is not None:
        spans.append((opened, len(text)))
    return spans


def _inside(spans: list[tuple[int, int]], start: int) -> bool:
    return any(a <= start < b for a, b in spans)


def sentence_start(text: str, pos: int) -> bool:
    """``pos`` begins a sentence: the text's start, or after . ! ? (and a closing straight quote). As the fact check
    (:mod:`writing.facts`) reads it: a capital after a line break or a bracket counts there as a name, so an "And"
    there stays."""
    head = text[:pos].rstrip()
    return not head or head.removesuffix('"').endswith((".", "!", "?"))


def _context(text: str, start: int, end: int, form: str) -> Context:
    before = []
    for tok in reversed(_TOKEN.findall(text[max(0, start - 200):start])):
        if tok in _ENDS:
            break
        before.append(tok)
    after = []
    for tok in _TOKEN.findall(text[end:end + 200]):
        after.append(tok)
        if tok in _ENDS:
            break
    lead = [t for t in before if t != ","]
    at_start = sentence_start(text, start)
    if not at_start and len(lead) == 1 and lead[0] in ("And", "But", "So"):  # "And make sure ..." -> "Ensure ..."
        at_start = sentence_start(text, len(text[:start].rstrip().rstrip(",").rstrip()) - len(lead[0]))
    return Context(tuple(before), tuple(after), at_start, form)


def _kind_before(ctx: Context) -> str:
    """What the nearest word before a verb form (past not, never, also ...) says of that form: "base" (to, a modal,
    do, 'll), "subject" (I/we/you/they: base or past), "have", "be", "either" ('d: would or had), "have-be" ('s),
    "start" (nothing before), "word" (another word: a noun subject) or "other" (punctuation)."""
    if ctx.at_start:  # nothing before, or only a sentence-initial And/But/So
        return "start"
    for i in range(len(ctx.before)):
        word = ctx.prev(i)
        if word in BETWEEN:
            continue
        if word in MODALS or word in DO or word in ("to", "let's", "please") or word in OBJECTS:
            return "base"
        if word.endswith("n't"):
            stem = word[:-3]
            return "have" if stem in HAVE else "be" if stem in BE or stem in ("is", "are", "was", "were") else "base"
        for ending, kind in (("'ll", "base"), ("'d", "either"), ("'ve", "have"), ("'re", "be"), ("'m", "be"),
                             ("'s", "have-be")):
            if word.endswith(ending):
                return kind
        if word in SUBJECTS:
            return "subject"
        if word in HAVE:
            return "have"
        if word in BE or word in GET:
            return "be"
        return "word" if _word(word) else "other"
    return "start"


def _s_form_allowed(ctx: Context, strict: bool) -> bool:
    prev = ctx.prev()
    if strict:
        return prev in SUBJECTS_3SG or (bool(ctx.before) and ctx.before[0][:1].isupper() and len(ctx.before) > 1)
    return _word(prev) and prev not in DETERMINERS - {"this", "that"} and prev not in PREPOSITIONS and \
        prev not in NUMBER_WORDS


def _slot_allowed(slot: int, pair: Pair, ctx: Context) -> bool:
    kind = _kind_before(ctx)
    if slot == BASE:
        return kind in ("base", "subject", "either") or (kind == "start" and pair.imperative)
    if slot == S:
        return _s_form_allowed(ctx, pair.strict_s)
    if slot == PAST:
        return kind in ("subject", "word")
    if slot == PP:
        return kind in ("have", "either", "have-be") or (kind == "be" and pair.passive)
    return True  # -ing


def _cased(new: str, old: str) -> str:
    """``new`` in the case (and with the apostrophe) of ``old``: "Buy" -> "Purchase", "KIDS" -> "CHILDREN"."""
    if "’" in old:
        new = new.replace("'", "’")
    if len(old) > 1 and old.isupper():
        return new.upper()
    return new[:1].upper() + new[1:] if old[:1].isupper() else new


@lru_cache(maxsize=2)
def _forms(formal: bool) -> tuple[re.Pattern, dict[str, list[Pair]]]:
    """The pattern of every form one direction changes (longest first: "keep on" before "keep"), and the pairs of
    each form."""
    by_form: dict[str, list[Pair]] = {}
    for pair in PAIRS:
        source, guard = (pair.casual, pair.to_formal) if formal else (pair.formal, pair.to_casual)
        if guard is not None:
            for form in filter(None, source):
                by_form.setdefault(form, [])
                if pair not in by_form[form]:
                    by_form[form].append(pair)
    alternation = "|".join(r"\s+".join(re.escape(w).replace("'", "['’]") for w in form.split())
                           for form in sorted(by_form, key=len, reverse=True))
    return re.compile(r"(?<![\w'’-])(?:" + alternation + r")(?![\w'’-])", re.IGNORECASE), by_form


def _phrase_edits(text: str, formal: bool) -> list[Edit]:
    """The pair edits of one direction (``formal``: informal -> formal)."""
    pattern, by_form = _forms(formal)
    spans = quoted_spans(text)
    edits = []
    for m in pattern.finditer(text):
        old = m.group()
        form = re.sub(r"\s+", " ", old.lower().replace("’", "'"))
        ctx = _context(text, m.start(), m.end(), form)
        if _inside(spans, m.start()) or (old[:1].isupper() and not ctx.at_start):
            continue  # a quotation, or a name or title ("Big Ben")
        for pair in by_form.get(form, ()):
            source, target, guard = ((pair.casual, pair.formal, pair.to_formal) if formal else
                                     (pair.formal, pair.casual, pair.to_casual))
            news = {target[slot] for slot, f in enumerate(source)
                    if f == form and target[slot] and (pair.word or _slot_allowed(slot, pair, ctx))}
            if len(news) == 1 and guard(ctx):
                edits.append((m.start(), m.end(), _cased(news.pop(), old)))
                break
    return edits


# ------------------------------------------------------------------------------------------------------ sentence starts
SO_NEXT = frozenset("i we you they he she it this that there these those the a an our my his her their its "
                    "your".split())
BUT_KEPT = frozenset("for then also not no rather instead still yes oh wait".split())  # "But for the rain, ..."


def _sentence(text: str, end: int) -> str:
    m = re.search(r"[.!?]", text[end:])
    return text[end:end + m.end()] if m else text[end:]


def _formal_starts(text: str) -> tuple[list[Edit], dict[Edit, int]]:
    """"And ..." dropped, "But ..." -> "However, ...", "So we ..." -> "Therefore, we ...", at sentence starts
    outside quotations; no question ("But why?") is touched. Returns the edits and, for each dropped "And", where
    the word that now begins the sentence starts (to be capitalised)."""
    spans, edits, recase = quoted_spans(text), [], {}
    for m in re.finditer(r"\b(And|But|So)(,?)[ \t]+(?=(\S+))", text):
        if not sentence_start(text, m.start()) or _inside(spans, m.start()):
            continue
        word, following = m.group(1), m.group(3).lower().strip(",;:")
        if not following[:1].isalnum() or _sentence(text, m.end()).endswith("?"):
            continue
        if word == "And" and not re.match(r"so (?:on|forth)\b", text[m.end():]):  # "And so on."
            edit = (m.start(), m.end(), "")
            recase[edit] = m.end()
        elif word == "But" and following not in BUT_KEPT:
            edit = (m.start(), m.end(), "However, ")
        elif word == "So" and following in SO_NEXT:  # a clause follows: not "So far", "So many", "So what?"
            edit = (m.start(), m.end(), "Therefore, ")
        else:
            continue
        edits.append(edit)
    return edits, recase


def _casual_starts(text: str) -> list[Edit]:
    """"However, ..." -> "But ...", "Therefore, ..." -> "So ..." at sentence starts outside quotations ("However
    much ..." has no comma and stays)."""
    spans = quoted_spans(text)
    return [(m.start(), m.end(), "But " if m.group(1) else "So ")
            for m in re.finditer(r"\b(?:(However),|Therefore,?)[ \t]+(?=\w)", text)
            if sentence_start(text, m.start()) and not _inside(spans, m.start())]


# ------------------------------------------------------------------------------------------------------ the two rules
# "about 400" and "approximately 400" say the same (writing.facts counts them as one approximation)
_APPROX_NUMBER = r"(?=\s+(?:\$|US\$)?(?:\d|(?:{})\b))".format("|".join(sorted(NUMBER_WORDS)))


_BEFORE_APPROX = frozenset("""for of to at by from with in on and or is are was were be been being cost costs paid pays
pay worth totaling totalling totaled totalled reached reach rose fell employs employed has have had""".split())


def approximations(text: str, formal: bool) -> list[Edit]:
    """"about 400" -> "approximately 400" (formal) and back (casual), only before a number; case kept, quotes
    left alone."""
    old, new = ("about", "approximately") if formal else ("approximately", "about")
    edits = []
    for m in re.finditer(rf"\b{old}\b" + _APPROX_NUMBER, text, re.IGNORECASE):
        if text[: m.start()].count('"') % 2:
            continue  # inside quotation marks: someone's words
        before = re.search(r"([A-Za-z]+)\W*$", text[: m.start()])
        if before and before.group(1).lower() not in _BEFORE_APPROX and not text[: m.start()].rstrip().endswith(","):
            continue  # "talked about five things": a topic, not an approximation
        edits.append((m.start(), m.end(), new.capitalize() if m.group()[0].isupper() else new))
    return edits


def more_formal(text: str) -> list[Edit]:
    """Contractions expanded, informal phrases made formal, sentence-initial And/But/So mended: disjoint edits."""
    starts, recase = _formal_starts(text)
    edits = disjoint(expand_contractions(text) + _phrase_edits(text, formal=True) + starts
                     + approximations(text, formal=True) + formal_rules.edits(text))
    kept = set(edits)
    for drop, at in recase.items():
        if drop not in kept:
            continue
        hit = next((e for e in edits if e[0] == at), None)
        if hit is not None:  # the new first word was edited too: capitalise its replacement
            edits[edits.index(hit)] = (hit[0], hit[1], hit[2][:1].upper() + hit[2][1:])
        elif text[at:at + 1].islower():
            edits.append((at, at + 1, text[at].upper()))
    return sorted(edits)


def more_casual(text: str) -> list[Edit]:
    """Contractions made, formal words made plain, sentence-initial However/Therefore -> But/So: disjoint edits."""
    return disjoint(make_contractions(text) + _phrase_edits(text, formal=False) + _casual_starts(text)
                    + approximations(text, formal=False))
