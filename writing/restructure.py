"""Say a sentence in another order, with every word kept: the rephrasings that cannot change a fact.

A synonym swap keeps the meaning only when the synonym means the same in that sentence, which a strict reader
often doubts ("purpose" -> "intent", "change" -> "alteration"). Moving a whole clause keeps every word the writer
chose, so it keeps what they said by construction; only the order and the capital letters change. Each function
here takes one sentence and returns the sentences it can become (possibly none):

- :func:`report_last` / :func:`report_first`, the reporting clause of news prose: "Traders said OPEC is producing
  above its ceiling." <-> "OPEC is producing above its ceiling, traders said.";
- :func:`clause_last` / :func:`clause_first`, a fronted subordinate clause: "Because the rules changed, the firm
  sold its stake." <-> "The firm sold its stake because the rules changed.";
- :func:`according_first` / :func:`according_last`: "X, according to a spokeswoman." <-> "According to a
  spokeswoman, X.";
- :func:`time_first` / :func:`time_last`, a time phrase of a one-clause sentence ("... in the next 6 months." <->
  "In the next 6 months, ..."), :func:`phrase_last` (a fronted prepositional phrase last), :func:`by_first` ("By
  passing the Act, Congress ..."), :func:`adverb_inside` ("Now we must" -> "We must now"),
  :func:`coordination_swap` ("traders and analysts" -> "analysts and traders") and :func:`passive_active` ("was
  sanctioned by the Commission" -> "the Commission sanctioned", which drops only "was" and "by"). Each refuses a
  sentence where the moved part could belong to a piece of it instead of the whole ("a ceiling agreed in Geneva
  last December").

Where the case of a moved first word is not certain ("Traders" is a common word, "Esselte" a name, "Swedish" both
a common word and capitalised), both forms are returned and the reading check of :func:`writing.rephrase`
chooses. :func:`variants` applies them to every whole sentence of a selection.

:func:`phrase_variants` says a set phrase in other words that mean the same ("due to" <-> "because of", "in order
to" -> "to", "about 400" <-> "approximately 400"); Rewrite and Rephrase both use it.
"""

from __future__ import annotations

import re

from dllm_core.function_words import FUNCTION_WORDS

from .facts import fact_kind

REPORT_VERBS = ("said", "says", "added", "reported", "estimated", "noted", "announced", "told reporters")
# a time after the verb travels with it: "X said on Monday Y" -> "Y, X said on Monday"
_WHEN = r"(?: (?:today|yesterday|on (?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)|last week))?"
_VERB = "(?:" + "|".join(re.escape(v) for v in REPORT_VERBS) + ")"
_REPORT_FIRST = re.compile(r"^(?P<who>[^,;:\"“”()]{2,60}?) (?P<verb>" + _VERB + r")(?P<when>" + _WHEN
                           + r")(?: that)? (?P<what>[^\"“”]{12,}?)(?P<end>[.!?])$")
_REPORT_LAST = re.compile(r"^(?P<what>[^\"“”]{12,}?), (?P<who>[^,;:\"“”()]{2,60}?) (?P<verb>" + _VERB
                          + r")(?P<when>" + _WHEN + r")(?P<end>[.!?])$")
_REPORT_INVERTED = re.compile(r"^(?P<what>[^\"“”]{12,}?), (?P<verb>said|says|added) (?P<who>[^,;:\"“”()]{2,60}?)"
                              r"(?P<end>[.!?])$")  # "..., said a company spokesman."
# subordinators that lead a clause which may stand before or after the main one with the same meaning
FRONTED = ("because", "although", "though", "even though", "while", "if", "when", "unless", "since", "after",
           "before", "once", "as long as", "whenever")
# mid-sentence, only these are surely subordinators of a clause ("asked if", "know when" are questions)
MOVABLE = ("because", "although", "even though", "unless")
_SUBJECT_STARTS = frozenset("""the a an this that these those it its he she they we i you his her their our my your
some many most several each every one two three four five there officials analysts traders sources""".split())
MAX_WHO_WORDS = 8
RELATIVES = ("who", "whom", "whose", "which", "that", "what", "where", "whether")  # "the man who said hello ..."
SUBJECT_PRONOUNS = frozenset("it they he she".split())
PRONOUNS = frozenset("it its he his him she her they their them we our us i my".split())
# how much worse (nats per token, by the judge: dllm_core.gate.reading_drop) a re-ordered sentence may read than the
# writer's; on the 19 sentences of the development set (seed 2) that a rule applied to, the awkward ones read 0.5-1.4
# worse ("We show the strength ... when America serves others"), the natural ones -0.4 to +0.5
MAX_DROP = 0.5


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+(?:['’][^\W_]+)*", text)


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_forms(text: str) -> list[str]:
    """``text`` as it reads after other words: the first word lowered when it is a function word ("The" ->
    "the"), kept when it is "I" or looks like a name or an acronym; both forms when either could be right."""
    first = _words(text)[:1]
    if not first:
        return [text]
    word = first[0]
    if (word == "I" or word.isupper() and len(word) > 1 or not word[:1].isupper() or re.search(r"['’]s$", word)
            or fact_kind(word) == "date"):
        return [text]  # "I", "OPEC", "Kuwait's", "January": as written
    lowered = word[:1].lower() + word[1:]
    if word.lower() in FUNCTION_WORDS or word.lower() in _SUBJECT_STARTS:
        return [text.replace(word, lowered, 1)]
    second = _words(text)[1:2]
    if any(c.isupper() for c in word[1:]) or second and second[0][:1].isupper():  # "BankAmerica", "Standard Oil"
        return [text]
    return [text.replace(word, lowered, 1), text]


_NOT_FIRST = frozenset("""and or but to of for as than in on at by with from into since after before during until
over under about through without within among between against instead also again further then however""".split())


def _starts_clause(text: str) -> bool:
    """A reported clause must read as a clause: it has a word after its first one, and does not begin with a word
    that joins it to what came before ("and", "to", "but") or a preposition ("said in an interview that ...")."""
    words = _words(text)
    return len(words) >= 4 and words[0].lower() not in _NOT_FIRST


# "Industrial Equity Ltd, a Hong Kong investment firm, said it raised its stake ...": a name with an aside
_REPORT_APPOSITIVE = re.compile(r"^(?P<who>[A-Z][^,;:\"“”()]{1,40}?, (?:a|an|the) [^,;:\"“”()]{2,60}?,) (?P<verb>said|says)"
                                r"(?: that)? (?P<pronoun>it|they) (?P<what>[^\"“”]{12,}?)(?P<end>[.!?])$")


def _report_appositive(sentence: str) -> list[str]:
    """"Equity Ltd, a Hong Kong firm, said it raised its stake." -> "Equity Ltd, a Hong Kong firm, raised its
    stake, it said." (only with the pronoun that stands for the name, once in the clause)."""
    m = _REPORT_APPOSITIVE.match(sentence)
    if not m or re.search(_VERB, m.group("what")) or len(re.findall(rf"\b{m.group('pronoun')}\b", m.group("what"))):
        return []
    return [f"{m.group('who')} {m.group('what')}, {m.group('pronoun')} {m.group('verb')}{m.group('end')}"]


def report_last(sentence: str) -> list[str]:
    """"Traders said (that) OPEC is producing more." -> "OPEC is producing more, traders said." """
    m = _REPORT_FIRST.match(sentence)
    if not m:
        return _report_appositive(sentence)
    who, what = m.group("who"), m.group("what")
    first_what, first_who = _words(what)[0].lower(), _words(who)[0].lower()
    pronoun = None
    if first_what in PRONOUNS and first_who not in PRONOUNS:
        # "Suffield said it still needs approval": "It still needs approval, Suffield said" would put the pronoun
        # before what it stands for; the two trade places instead ("Suffield still needs approval, it said"), as
        # newswire writes it. Only a subject pronoun, and only once in the clause (no other "it" to mix up)
        if first_what not in SUBJECT_PRONOUNS or len(re.findall(rf"\b{first_what}\b", what, re.IGNORECASE)) > 1:
            return []
        pronoun = first_what
    if (len(_words(who)) > MAX_WHO_WORDS or not _starts_clause(what) or re.search(_VERB, what)
            or _words(who)[-1].lower() in ("been", "be", "being", "was", "were", "is", "are", "has", "have", "had")
            or re.search(r"\b(?:" + "|".join(FRONTED + RELATIVES) + r")\b", who, re.IGNORECASE)):
        return []
    when = m.group("when")
    moved = re.search(r" (today|yesterday)$", who)  # "a press report today said" -> "a press report said today"
    if moved and not when:
        who, when = who[: moved.start()], moved.group()
    tail = f" {m.group('verb')}{when}{m.group('end')}"
    if pronoun:
        return [f"{_upper_first(who)}{what[len(pronoun):]}, {pronoun}{tail}"]
    return [f"{_upper_first(what)}, {form}{tail}" for form in _lower_forms(who)]


def report_first(sentence: str) -> list[str]:
    """"OPEC is producing more, traders said." / "..., said a spokesman." -> "Traders said OPEC is producing
    more." """
    m = _REPORT_LAST.match(sentence) or _REPORT_INVERTED.match(sentence)
    if not m:
        return []
    who, what = m.group("who"), m.group("what")
    if len(_words(who)) > MAX_WHO_WORDS or not _starts_clause(what) or re.search(_VERB, who) or re.search(
            _VERB, what):  # "It noted X said ...": a report inside a report
        return []
    if _words(who)[0].lower() in PRONOUNS and len(_words(who)) > 1 or re.search(
            r"\b(?:is|are|was|were|will|would|can|could|has|have|had|should|may|might|must)\b", who):
        return []  # "Esselte, the group, said it will sell": what follows "said" is a clause, not who said it
    when = m.groupdict().get("when") or ""
    head = f"{_upper_first(who)} {m.group('verb')}{when}"
    return [f"{head} {form}{m.group('end')}" for form in _lower_forms(what)]


def clause_last(sentence: str) -> list[str]:
    """"Because the rules changed, the firm sold its stake." -> "The firm sold its stake because the rules
    changed." Only with one comma in the sentence, the one that ends the clause."""
    pattern = r"^(?P<sub>" + "|".join(re.escape(s) for s in sorted(FRONTED, key=len, reverse=True)) + r") "
    m = re.match(pattern + r"(?P<clause>[^,;:\"“”]+), (?P<main>[^,;:\"“”]+)(?P<end>[.!?])$", sentence,
                 re.IGNORECASE)
    if not m or len(_words(m.group("clause"))) < 2 or not _starts_clause(m.group("main")):
        return []
    sub = m.group("sub").lower()
    return [f"{_upper_first(m.group('main'))} {sub} {m.group('clause')}{m.group('end')}"]


def clause_first(sentence: str) -> list[str]:
    """"The firm sold its stake because the rules changed." -> "Because the rules changed, the firm sold its
    stake." Only without commas, with at least three words on each side."""
    if re.search(r"[,;:\"“”()]", sentence):
        return []
    pattern = r"^(?P<main>.+?) (?P<sub>" + "|".join(re.escape(s) for s in MOVABLE) + r") (?P<clause>.+?)(?P<end>[.!?])$"
    m = re.match(pattern, sentence)
    if m and re.search(_VERB, m.group("main")):
        return []  # "analysts said X because Y": fronted, the clause would explain the saying
    if not m or len(_words(m.group("main"))) < 3 or len(_words(m.group("clause"))) < 3:
        return []
    sub = _upper_first(m.group("sub"))
    return [f"{sub} {m.group('clause')}, {main}{m.group('end')}" for main in _lower_forms(m.group("main"))]


def according_first(sentence: str) -> list[str]:
    """"The CFTC approved the change, according to a spokeswoman." -> "According to a spokeswoman, the CFTC approved
    the change." (one comma: the one before "according to")."""
    m = re.match(r"^(?P<what>[^,;:\"“”]{12,}), according to (?P<who>[^,;:\"“”()]{2,60}?)(?P<end>[.!?])$", sentence)
    if not m or not _starts_clause(m.group("what")):
        return []
    return [f"According to {m.group('who')}, {form}{m.group('end')}" for form in _lower_forms(m.group("what"))]


def according_last(sentence: str) -> list[str]:
    """"According to a spokeswoman, the CFTC approved the change." -> "The CFTC approved the change, according to a
    spokeswoman." """
    m = re.match(r"^According to (?P<who>[^,;:\"“”()]{2,60}?), (?P<what>[^,;:\"“”]{12,})(?P<end>[.!?])$", sentence)
    if not m or not _starts_clause(m.group("what")):
        return []
    return [f"{_upper_first(m.group('what'))}, according to {m.group('who')}{m.group('end')}"]


# ------------------------------------------------------------------------------ adverbials, coordinations
_MONTH = "January|February|March|April|May|June|July|August|September|October|November|December"
_DAY = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_UNIT = r"(?:years?|months?|weeks?|days?|decades?|quarters?|hours?|century|half)"
_COUNT = r"(?:(?:few|couple of|several|\d+|two|three|four|five|six|seven|eight|nine|ten|twelve) )?"
# a phrase that says when, and nothing else: it may stand first or last in a one-clause sentence
TIME_PHRASE = ("(?:"
               rf"(?:in|during|over|within|for) the (?:next|past|last|coming|previous|first) {_COUNT}{_UNIT}"
               rf"|(?:in|during) (?:(?:early|late|mid-?)?(?:{_MONTH})(?: (?:19|20)\d\d)?|(?:19|20)\d\d)"
               rf"|(?:last|next|this) (?:year|month|week|spring|summer|autumn|fall|winter|{_MONTH}|{_DAY})"
               rf"|on (?:{_DAY})|by the end of (?:the |this |next )?(?:year|month|week|decade|{_MONTH})"
               "|(?:today|tonight|tomorrow|yesterday|this year|next year|last year))")
# a clause a time phrase may move across: the phrase could belong to a part of it instead of the whole sentence
# ("a ceiling agreed in Geneva last December": last December is when it was agreed, not when OPEC is producing)
_ATTACHING = re.compile(r"\b(?:that|which|who|whom|whose|where|when|while|because|if|since|until|before|after|as|"
                        r"and|or|but|to(?= [a-z])(?! (?:the|a|an|its|their|his|her|our|this|these|those|my|your)\b)|than|said|says|say|told|estimate[sd]?|believe[sd]?|think|thinks|thought|"
                        r"expect(?:s|ed)?|hope[sd]?|plan(?:s|ned)?|announced)\b", re.IGNORECASE)
_AUXILIARY_BEFORE = frozenset("is are was were be been being has have had am get gets got".split())


def _one_clause(text: str) -> bool:
    """Whether ``text`` reads as one plain clause that a time phrase can stand before or after: no punctuation
    inside, no word that starts another clause or an infinitive, and no participle other than the one of its
    verb ("was reduced", not "a ceiling agreed")."""
    if re.search(r"[,;:\"“”()]", text) or _ATTACHING.search(text) or len(_words(text)) < 4:
        return False
    words, verb_seen = _words(text), False
    for prev, word in zip([""] + words, words):
        low = word.lower()
        if low in _AUXILIARY_BEFORE or low in ("will", "would", "can", "could", "should", "must", "may", "might"):
            verb_seen = True
        elif (low.endswith("ed") or low.endswith("ing") and len(low) > 5) and low not in FUNCTION_WORDS:
            if prev.lower() in _AUXILIARY_BEFORE or not verb_seen and low.endswith("ed") and prev:
                verb_seen = True  # the clause's own verb: "was reduced", "the company earned"
            else:
                return False  # a participle of a phrase inside it: "a ceiling agreed in Geneva"
    return True


def time_first(sentence: str) -> list[str]:
    """"This should put $10 billion into the economy in the next 6 months." -> "In the next 6 months, this should
    put $10 billion into the economy." Only from a one-clause sentence, where the time phrase can belong to nothing
    but the whole of it."""
    m = re.match(rf"^(?P<main>[^,;:\"“”]+?) (?P<when>{TIME_PHRASE})(?P<end>[.!?])$", sentence)
    if not m or not _one_clause(m.group("main")) or _words(m.group("main"))[0].lower() in ("and", "but", "so", "or"):
        return []
    when = _upper_first(m.group("when"))
    return [f"{when}, {form}{m.group('end')}" for form in _lower_forms(m.group("main"))]


def time_last(sentence: str) -> list[str]:
    """"Last year, the company earned 11 mln dlrs." -> "The company earned 11 mln dlrs last year." (one clause)."""
    m = re.match(rf"^(?P<when>{TIME_PHRASE}), (?P<main>[^,;:\"“”]+?)(?P<end>[.!?])$", sentence, re.IGNORECASE)
    if not m or not _one_clause(m.group("main")):
        return []
    when = m.group("when")
    when = when[:1].lower() + when[1:] if when.split()[0].lower() not in _MONTH.lower().split("|") else when
    return [f"{_upper_first(m.group('main'))} {when}{m.group('end')}"]


def by_first(sentence: str) -> list[str]:
    """"Congress has taken a stand by passing the Act." -> "By passing the Act, Congress has taken a stand." The
    "by ..." phrase says how the whole clause before it was done; that clause has no comma and no clause of its
    own."""
    m = re.match(r"^(?P<main>[^,;:\"“”]+?) by (?P<how>[a-z]+ing [^\"“”]+?)(?P<end>[.!?])$", sentence)
    if not m or not _one_clause(m.group("main")) or m.group("how").split()[0] in ("being", "nothing", "something"):
        return []
    if re.search(r"\b(?:be|been|being|is|are|was|were)\b \w+ed\b", m.group("main")):
        return []  # "By making ports efficient, our trade position can be improved": the phrase would dangle
    return [f"By {m.group('how')}, {form}{m.group('end')}" for form in _lower_forms(m.group("main"))]


def adverb_inside(sentence: str) -> list[str]:
    """"Now we must be as vigilant ..." -> "We must now be as vigilant ..." (a sentence adverb moves after the
    first auxiliary of a pronoun subject)."""
    m = re.match(r"^(?P<adverb>Now|Also),? (?P<who>we|I|you|they|he|she|it) (?P<aux>must|will|can|should|would|could|"
                 r"may|might|shall|are|is|am|was|were|have|has|had) (?P<rest>[a-z][^\"“”]*[.!?])$", sentence)
    if not m:
        return []
    who = m.group("who") if m.group("who") == "I" else _upper_first(m.group("who"))
    return [f"{who} {m.group('aux')} {m.group('adverb').lower()} {m.group('rest')}"]


# pairs whose order is part of the phrase: "gentlemen and ladies" is no English, "development and research" no field
_FROZEN = {tuple(p.split()) for p in """ladies gentlemen|law order|rock roll|bread butter|pros cons|trial error|salt
pepper|black white|research development|mergers acquisitions|checks balances|supply demand|profit loss|safe sound|sick
tired|loud clear|null void|first foremost|odds ends|wear tear|give take|peace quiet|husband wife|arts crafts|nuts
bolts|pots pans|fish chips|cause effect|sooner later|men women|boys girls|young old|rich poor|old new""".replace(
    "\n", " ").split("|")}


def _same_kind(a: str, b: str) -> bool:
    """Whether two words can be the same part of speech in the same form, by the lexicon (nouns both plural, verbs
    both past, ...). The lexicon holds only words with synonyms: two words it does not know may be of a kind, one
    it knows and one it does not are taken to be of two. Without the lexicon, any two words."""
    from .lexicon import Lexicon, available  # noqa: PLC0415

    if not available():
        return True
    lexicon = Lexicon.load()

    def kinds(word: str) -> set[tuple[str, str]]:
        return {(an.pos.replace("s", "a"), an.form) for an in lexicon.analyses(word) if an.base in lexicon.index}

    ka, kb = kinds(a), kinds(b)
    return bool(ka & kb) or not ka and not kb


def coordination_swap(sentence: str) -> list[str]:
    """"Traders and analysts in oil markets ..." -> "Analysts and traders in oil markets ...": two single words
    joined by "and", each a whole phrase (a function word or punctuation on both sides: never "oil markets and
    analysts", whose "oil" belongs to "markets"), trade places. Names, numbers and ranges ("between 4 and 5") stay."""
    out = []
    for m in re.finditer(r"(?<![\w'’-])(?P<a>[A-Za-z]{3,}) and (?P<b>[a-z]{3,})(?![\w'’-])", sentence):
        before, after = sentence[: m.start()], sentence[m.end():]
        prev = _words(before)[-1:] if before.strip() else []
        nxt = _words(after)[:1]
        start = not before.strip()
        a, b = m.group("a"), m.group("b")
        if (a[:1].isupper() and not start or {a.lower(), b.lower()} & FUNCTION_WORDS or a.lower() == b
                or (a.lower(), b) in _FROZEN or not _same_kind(a.lower(), b)):
            continue  # a name mid-sentence; "this and that"; "more and more"; "ladies and gentlemen"; "protect
            # our citizens and strengthen our Nation" joins two phrases, not the two words
        if prev and (prev[0].lower() not in FUNCTION_WORDS or prev[0].lower() in ("between", "both")
                     or not re.search(r"\s$", before)):
            continue
        if nxt and not re.match(r"^\s*[,.;:!?)]", after) and (nxt[0].lower() not in FUNCTION_WORDS
                                                               or nxt[0].lower() == "respectively"):
            continue
        if start:
            firsts = [_upper_first(b) + " and " + form for form in _lower_forms(a)]
        else:
            firsts = [f"{b} and {a}"]
        out += [before + first + after for first in firsts]
    return out


_PREPOSITION_FIRST = ("In|Under|With|Through|During|After|Before|Since|Despite|Across|At|On|By|From|Among|Within|"
                      "Without|Over|Throughout|Following|Beyond")


def phrase_last(sentence: str) -> list[str]:
    """"Under the new arrangement, neither party has to hold a position." -> "Neither party has to hold a position
    under the new arrangement.": a fronted phrase of a preposition moves to the end of a one-clause sentence."""
    m = re.match(rf"^(?P<pp>(?:{_PREPOSITION_FIRST}) [^,;:\"“”]{{2,50}}), (?P<main>[^,;:\"“”]+?)(?P<end>[.!?])$",
                 sentence)
    if not m or not _one_clause(m.group("main")) or re.match(r"\w+ \w+ing\b", m.group("pp")):
        return []  # "After selling the unit, ...": whose act it was is clearest first
    pp = m.group("pp")
    return [f"{_upper_first(m.group('main'))} {pp[:1].lower() + pp[1:]}{m.group('end')}"]


def passive_active(sentence: str) -> list[str]:
    """"The sale was sanctioned by the Commission in January." -> "The Commission sanctioned the sale in January.":
    a passive with a regular past participle and its agent, in a one-clause sentence, said in the active (the same
    tense: "was sanctioned" -> "sanctioned"). Drops only "was"/"were" and "by"."""
    m = re.match(r"^(?P<subj>[^,;:\"“”]{3,60}?) (?:was|were) (?P<verb>[a-z]{3,}ed) by (?P<agent>(?:the |a |an )?"
                 r"[A-Z][^,;:\"“”]{1,60}?|the [a-z][^,;:\"“”]{1,40}?)"
                 r"(?P<rest>(?: (?:in|on|at|during|last|this|early|late) [^,;:\"“”]{1,30})?)(?P<end>[.!?])$",
                 sentence)
    if not m or len(m.group("verb")) < 5 or m.group("verb").endswith("eed"):  # "fed", "led", "agreed"
        return []
    subj, agent, rest = m.group("subj"), m.group("agent"), m.group("rest")
    if (re.search(r"\b(?:that|which|who|whom|whose|where|when|while|because|if|and|or|but|than|to)\b",
                  subj + " " + agent + rest, re.IGNORECASE) or re.search(r"\b\w+(?:ed|ing)\b", subj)
            or re.search(r"\b(?:is|are|was|were|has|have|had|will|would|can|could|should|may|might|must)\b",
                         subj + " " + agent + rest, re.IGNORECASE)):
        return []
    return [f"{_upper_first(agent)} {m.group('verb')} {form}{rest}{m.group('end')}" for form in _lower_forms(subj)]


RULES = (report_last, report_first, clause_last, clause_first, according_first, according_last, time_first,
         time_last, by_first, adverb_inside, coordination_swap, phrase_last, passive_active)
# words a rule may drop: the passive's auxiliary and "by"
_DROPPABLE = frozenset(("was", "were", "by"))
_BOUNDARY = re.compile(r"[.!?]+[\"”’)]*\s+(?=[\"“A-Z0-9])")
# words before a full stop that is not a sentence end ("Mr. Smith", "U.S. Treasury", "Inc. said")
_ABBREVIATIONS = frozenset("mr mrs ms dr prof st jr sr inc co corp ltd bros gen gov sen rep vs no jan feb mar apr jun "
                           "jul aug sep sept oct nov dec".split())


def sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Character spans of the whole sentences inside ``text[start:end]`` (without the space around them)."""
    end = len(text) if end is None else end
    cuts = [0]
    for m in _BOUNDARY.finditer(text):
        before = re.search(r"([^\W_]+)\W*$", text[: m.start() + 1])
        word = before.group(1) if before else ""
        if len(word) == 1 and word.isupper() or word.lower() in _ABBREVIATIONS:
            continue
        cuts.append(m.end())
    cuts.append(len(text))
    out = []
    for lo, hi in zip(cuts, cuts[1:]):
        piece = text[lo:hi]
        lo += len(piece) - len(piece.lstrip())
        hi = lo + len(piece.strip())
        if lo < hi and lo >= start and hi <= end:
            out.append((lo, hi))
    return out


def _same_words(new: str, old: str, may_drop: bool) -> bool:
    """Every word of ``old`` is in ``new`` and nothing else (with ``may_drop``, but for :data:`_DROPPABLE`)."""
    a, b = _words(new.lower()), _words(old.lower())
    if may_drop:
        a, b = [w for w in a if w not in _DROPPABLE], [w for w in b if w not in _DROPPABLE]
    return sorted(a) == sorted(b)


def variants(text: str, start: int = 0, end: int | None = None) -> list[str]:
    """Whole-text candidates with one sentence of ``text[start:end]`` re-ordered (every way each rule gives),
    sentences that move first in reading order."""
    out = []
    for lo, hi in sentences(text, start, end):
        sentence = text[lo:hi]
        for rule in RULES:
            for new in rule(sentence):
                if new != sentence and _same_words(new, sentence, rule is passive_active):
                    out.append(text[:lo] + new + text[hi:])
    return list(dict.fromkeys(out))


# ------------------------------------------------------------------------------------------------ set phrases
# phrases that say the same in other words (the first two both ways round); only where the whole phrase is selected
EQUIVALENTS = {"due to": "because of", "because of": "due to", "in spite of": "despite", "despite": "in spite of",
               "at present": "now", "at the moment": "now", "a great deal of": "much"}
_EQUIVALENT_RE = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(EQUIVALENTS, key=len, reverse=True))
                            + r")\b", re.IGNORECASE)


_PREPOSITIONS_AFTER = frozenset(("of", "at"))  # "took part in" -> "participated in" keeps its "in"


def _one_verb(text: str, words) -> list[str]:
    """Texts with one verb phrase of ``words`` said in a single verb, the longest phrase first at each place."""
    from .lexicon import Lexicon, available  # noqa: PLC0415

    if not available():
        return []
    lexicon, out = Lexicon.load(), []
    for i, first in enumerate(words):
        if not first.text.islower():
            continue
        for n in (3, 2):
            run = words[i : i + n]
            if len(run) < n or any(text[a.end : b.start] != " " for a, b in zip(run, run[1:])):
                continue
            after = words[i + n].text.lower() if i + n < len(words) else ""
            if after in _PREPOSITIONS_AFTER and text[run[-1].end : words[i + n].start] == " ":
                continue  # "making fun of": the one verb would need the preposition gone too
            verbs = lexicon.phrase_synonyms([w.text for w in run])
            out += [text[: first.start] + v + text[run[-1].end :] for v in verbs]
            if verbs:
                break
    return out


def phrase_variants(text: str, words, start: int, end: int, contractions: bool = True,
                    reductions: bool = False, phrasal: bool = False) -> list[str]:
    """Whole-text candidates with one phrase of the selection said otherwise: a wordy phrase said shortly
    (:data:`writing.rewordings.COMPRESSIONS`: "in order to" -> "to"), a phrase said in its equivalent
    (:data:`EQUIVALENTS`), or (``contractions``) its contractions written out / made, each alone; with
    ``reductions``, also a word the phrase says twice said once (Shorten's lossless reductions: "our duty and [our]
    privilege", "all [of] the", "shares [that are] held by"); with ``phrasal``, a verb phrase said in one verb
    ("took part in" -> "participated in", :meth:`writing.lexicon.Lexicon.phrase_synonyms`)."""
    from . import style  # noqa: PLC0415
    from .cuts import may_cut  # noqa: PLC0415
    from . import rewordings  # noqa: PLC0415

    may = [may_cut(w) or w.text.lower() in FUNCTION_WORDS for w in words]
    options = rewordings.compressions(text, words, may) + (rewordings.reductions(text, words, may) if reductions
                                                           else [])
    out = [text[:lo] + short + text[hi:] for lo, hi, short, _ in options]
    if phrasal:
        out += _one_verb(text, words)
    for m in _EQUIVALENT_RE.finditer(text, start, end):
        new = EQUIVALENTS[m.group().lower()]
        new = new[:1].upper() + new[1:] if m.group()[:1].isupper() else new
        out.append(text[: m.start()] + new + text[m.end() :])
    from .register import approximations  # noqa: PLC0415

    selected = text[start:end]
    for formal in (True, False):  # "about 400" <-> "approximately 400"
        edits = [(a + start, b + start, new) for a, b, new in approximations(selected, formal)]
        if edits:
            out.append(style.apply(text, edits))
    for rule in (style.expand_contractions, style.make_contractions) if contractions else ():
        edits = [(a + start, b + start, new) for a, b, new in rule(selected)]
        if edits:
            out.append(style.apply(text, edits))
    return list(dict.fromkeys(t for t in out if t != text))
