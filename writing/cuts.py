"""Shorten by cutting: delete whole words and phrases of the writer's own text, chosen by a small beam search, so
that what is left is still the writer's wording (extractive sentence compression, as in Schumann et al. 2020,
"Discrete optimization for unsupervised sentence summarization with word-level extraction", with the scores below).

Each step of the search tries every cut of 1 to ``max_span`` consecutive words that may go (never a name, a number,
a capitalised word, a negation or a word the writer asked to keep; spans of three or more words only where a phrase
can start or end: at punctuation or a function word), in a few punctuation variants ("X, which ..., Y" can lose the
clause and one comma). A cut is scored by two readings of the model:

- **does the rest still read?** the change in the causal log-likelihood of the words that stay (the text before the
  cut reads the same; the text after it may become hard to predict: "the police do have" after cutting "not" only
  reads well when it is grammatical); the cut words' own log-likelihood is left out, so that cutting a rare word
  gains nothing by itself;
- **is anything lost?** the denoiser's log-probability of the cut words, masked one at a time with the rest of the
  original visible (:func:`writing.scoring.predictability`): a word the rest already says costs nearly nothing.

Beams are ordered by cost per word removed; drafts within ``tolerance`` words of the target are collected and the
cheapest come back first. Nothing is generated, so no seam can come out garbled; the price is that a sentence
whose words all carry weight cannot be cut far without losing something, which the score then says.

Needs a model with a causal reading (``adapter.can_score``); the others shorten by deleting and repairing
(:func:`writing.shorten.shorten`, method "repair").
"""

from __future__ import annotations

import math
import random
import re
import statistics
from dataclasses import dataclass

from .facts import DIRECTION_OF, UNIT_WORDS, fact_kind
from .scoring import judged_totals, word_window

NEGATIONS = frozenset("not no never nor none nothing nobody neither cannot without".split())
PHRASE_PUNCT = ",;:()—–"  # punctuation where a phrase may start or end
FRONTED = frozenset("in at on".split())  # prepositions of a place or a source phrase that may lead a sentence
# words that need a content word after them: a cut right after one must end before such a word
NEEDS_A_WORD = frozenset("""a an the its his her their our my your this that these those is am are was were be been
being has have had will would can could may might must shall should do does did to very""".split())
# a sentence may not start with these after its first words are cut
FUNCTION_WORDS_AFTER_CUT = frozenset("""of in on at by for from with into to and or but nor than as that which who
is are was were""".split())
# words that start a phrase which can go as a whole: prepositions and clause words
PHRASE_STARTERS = frozenset("""of in on at by for from with without into onto over under about after before during
since until through across against among between within toward towards upon like near despite via per around behind
beyond along which who whom whose when where while because although though whereas unless as whether""".split())
# phrases that complete or restrict what comes before them: cutting one changes the claim, not just its detail
# (read blind: "the rest [of the world]", "the value [of its offer] for the shares", "has the right to buy ...
# [under certain circumstances involving change of control]"); a destination completes its verb ("the children they bring [into this world]")
RESTRICTING_STARTERS = frozenset("of if unless until except provided providing than under into onto per as".split())
# ("as" says a role or a comparison: "sharp [as a tack]", "served [as chairman]", read blind, seed 19)
# (read blind, seed 16: "will not end [until their radical vision is fulfilled]" is a claim that it never ends)
# particles that complete a verb of motion or holding: "he can go [on to college]" leaves "he can go"
PARTICLES = frozenset("on up out off down back away over".split())
PARTICLE_VERBS = frozenset("""go goes went gone going come comes came coming move moves moved moving get gets got
getting carry carries carried carrying keep keeps kept keeping hold holds held holding turn turns turned turning set
sets setting put puts putting take takes took taken taking give gives gave given giving bring brings brought
bringing""".split())
# nouns that say little without their "of" phrase ("the rest of the world", "the value of its offer"): after them
# not even an "of" phrase that another one follows may go (after other nouns it may: "the approval [of the
# superintendent] of Maine's banking department")
NEEDS_ITS_OF = frozenset("""rest part parts most some all none one each many few number value kind sort type lack
majority minority half lot lots top end beginning middle side edge center centre use cost price share amount
percent pct form state view sense matter case terms because instead ahead regardless out behalf spite front
outside""".split())  # "because [of these acquisitions]", "keep young people out [of gangs]"
# clause words: a clause they lead goes whole, to the next punctuation mark or the sentence's end, never a part of
# it ("save thousands of dollars [because they can finally get] a hearing aid")
CLAUSE_WORDS = frozenset("""which who whom whose when where while because although though whereas unless whether
if since""".split())
# pairs that say one thing: neither word goes alone ("once [again]" is "formerly")
NEVER_SPLIT = frozenset({("once", "again"), ("at", "least"), ("at", "all"), ("as", "well"), ("so", "far"),
                         ("right", "away"), ("right", "now"), ("per", "capita"),
                         ("even", "so"), ("of", "course"), ("at", "last"), ("at", "once"), ("all", "but"),
                         # titles: "chief [executive] officer" is another post
                         ("chief", "executive"), ("executive", "officer"), ("operating", "officer"),
                         ("financial", "officer"), ("vice", "president"), ("managing", "director"),
                         ("executive", "director"), ("general", "manager"), ("prime", "minister"),
                         ("attorney", "general"), ("secretary", "general"), ("executive", "vice"),
                         ("senior", "vice")})
# a cut that makes the words after it read this much worse (nats, by the judge) breaks the sentence: judged on
# cuts read by hand, bad ones ("have [control] around", "the Angolan [regime] decided") cost 5-13, good ones 0-2
MAX_BREAK = 3.0
MAX_CLAUSE = 16  # words in a clause or aside cut as a whole, between punctuation marks
CONTEXT_BEFORE = 80  # characters before a cut that its reading sees
CONTEXT_AFTER = 40  # and after it


@dataclass(frozen=True)
class Draft:
    text: str  # the whole text with the cuts made so far
    kept: tuple[int, ...]  # indices (into the original selection's words) of the words still there
    cost: float = 0.0  # summed cost of the cuts, nats
    cuts: tuple[str, ...] = ()  # what was cut, for reports


def may_cut(word) -> bool:
    lower = word.text.lower()
    return not word.content and lower not in NEGATIONS and not lower.endswith(("n't", "n’t"))


def may_go_in_aside(word) -> bool:
    """A name may go with the whole aside or clause it is in (less detail, not another fact); a number, date,
    unit, negation or a word the writer asked to keep never."""
    return not getattr(word, "keep", False) and fact_kind(word.text) in (None, "name") and word.text[:1].isupper()


def _cut_texts(text: str, words, i: int, j: int) -> list[tuple[int, int, str]]:
    """Ways to delete words ``i..j`` of ``text``: (start, end, replacement) character edits, with the space before
    the words and, in variants, the punctuation after or before them."""
    lo, hi = words[i].start, words[j].end
    before = text[:lo]
    gap_lo = len(before.rstrip())  # where the white space before the words starts
    after_punct = re.match(r"[,;:]", text[hi:])
    before_punct = before.rstrip()[-1:] in ",;:" if gap_lo else False
    sentence_start = not before.strip() or before.rstrip()[-1:] in ".!?\"“(" or gap_lo == 0
    out = []
    if sentence_start:
        nxt = words[j + 1] if j + 1 < len(words) else None
        if nxt is None:
            return []
        tail = text[hi : nxt.start]
        if re.search(r"[.!?]", tail):
            return []  # the words are a whole sentence: leave them (a cut never removes a sentence's last word)
        if nxt.text.lower() in FUNCTION_WORDS_AFTER_CUT:
            return []  # "[In the beginning] of April" would start the sentence with "Of"
        first = nxt.text[0].upper() if words[i].text[0].isupper() else nxt.text[0]
        out.append((lo, nxt.start + 1, first))
        return out
    out.append((gap_lo, hi, ""))
    if after_punct and before_punct:
        # the comma after the words goes with them only when they sit between punctuation: after a plain phrase it
        # marks the sentence's own structure ("help them [with their homework], pass along the values": dropping it
        # joined "them pass along", read blind as a changed fact)
        out.append((gap_lo, hi + 1, ""))
    if before_punct:
        out.append((gap_lo - 1, hi, ""))
    if before_punct and after_punct and before.rstrip()[-1] == after_punct.group():
        # an aside between two commas goes with both ("the unit[, based in LaPorte, Indiana,] makes scales"); one
        # stays only after a phrase that leads the sentence ("On these issues[, trade and energy,] the House")
        sentence = re.split(r"[.!?]\s+", before[:gap_lo])[-1].strip()
        lead = sentence.split()[0].lower() if sentence.split() else ""
        if lead not in PHRASE_STARTERS and lead not in CLAUSE_WORDS:
            out = [o for o in out if o[:2] not in ((gap_lo, hi + 1), (gap_lo - 1, hi), (gap_lo, hi))]
        out.append((gap_lo - 1, hi + 1, ""))
    return out


def _options(draft_text: str, words, may: list[bool], budget: int, max_span: int, function_words,
             may_aside: list[bool] | None = None) -> list:
    """(start, end, replacement, cut word indices) for every cut of at most ``budget`` words of ``words`` that can
    be a phrase of its own (:func:`_phrase_like`). ``may_aside``: words that may go inside a whole clause or aside
    between punctuation marks (names too: ", chairman of Hutchison," is a detail; numbers never)."""
    options = []
    may_aside = may if may_aside is None else may_aside
    for i in range(len(words)):
        # a clause or an aside after punctuation (", which many residents had described as unfair") may be longer
        before = draft_text[: words[i].start].rstrip()
        after_punct = (i > 0 and before[-1:] in PHRASE_PUNCT
                       # or a place or attribution phrase that leads a sentence ("[In a filing with the SEC,] the
                       # group said"); never a clause ("When ...", "If ...": the rest would claim it unconditionally)
                       or (not before or before[-1] in ".!?") and words[i].text.lower() in FRONTED)
        for j in range(i, min(len(words), i + (MAX_CLAUSE if after_punct else max_span))):
            if not (may_aside if after_punct else may)[j] or j - i + 1 > budget:
                break
            if not _phrase_like(draft_text, words, i, j, function_words):
                continue
            if not all(may[i : j + 1]) and not _whole_aside(draft_text, words, j):
                continue
            for lo, hi, rep in _cut_texts(draft_text, words, i, j):
                options.append((lo, hi, rep, tuple(range(i, j + 1))))
    return options


def _whole_aside(text: str, words, j: int) -> bool:
    """Whether a span ending at word ``j`` ends a whole aside: at the sentence's end, or at punctuation followed by a
    lower-case word (", based in LaPorte, Indiana, manufactures": not after "LaPorte", but after "Indiana")."""
    after = text[words[j].end :]
    if re.match(r"\s*[.!?]", after) or j + 1 == len(words):
        return True
    return bool(re.match(r"\s*[,;:)—–]", after)) and words[j + 1].text[:1].islower()


def _modifiable(word: str) -> bool:
    """Whether ``word`` can be what a cut run of modifiers modified: a noun or an adjective in the lexicon, in lower
    case ("a [good] loser"; not "their [cocoa] held", not a name: "international oil [markets estimate] OPEC").
    Without the lexicon, any lower-case word."""
    from .lexicon import Lexicon, available  # noqa: PLC0415

    if not word[:1].islower():
        return False
    if not available():
        return True
    lexicon = Lexicon.load()
    return any(a.pos in "na" for a in lexicon.analyses(word.lower()) if a.base in lexicon.index)


# a word before an "-ing" word that makes it a verb, not a modifier ("are [giving classroom] demonstrations", "in
# [broking] notes"); and the words after which a noun is surely a modifier, not a subject ("the [price] cuts")
BEFORE_A_VERB = frozenset("""am is are was were be been being of in on at by for from with without about into than
after before""".split())
DETERMINERS = frozenset("a an the this that these those its his her their our my your some any each every no".split())
# words that say the whole of a set: what comes after them says which set ("every nation [in our hemisphere] but one")
SCOPE_WORDS = frozenset("every all each any no none only".split())
# prepositions before a bare plural that name whom or what a thing is for or about: its modifiers say which ones
SCOPE_BEFORE = frozenset("for to of among between from against".split())


def _modifiers(words, i: int, j: int) -> bool:
    """Whether words ``i..j`` (no function words) can be modifiers of the word after them, by the lexicon: not an
    "-ing" verb after "are" or a preposition; every word an adjective or adverb (not only a noun: "certain
    [circumstances] involving change", "crop [insurance] reform"); not part of a unit ("[cubic] metres"); and not a
    noun that is the subject of a verb in "-s" ("Now [history] calls us")."""
    from .lexicon import TERMS, Lexicon, available  # noqa: PLC0415

    lowered = [w.text.lower() for w in words[i : j + 1]]
    before = words[i - 1].text.lower() if i > 0 else ""
    if lowered[0].endswith("ing") and before in BEFORE_A_VERB:
        return False
    if before in SCOPE_WORDS or before in ("most", "least", "more", "less"):
        return False  # it says which ones: "every [new] parent" is not every parent; "the most [sophisticated]"
    if not available() or j + 1 >= len(words):
        return True
    lexicon = Lexicon.load()

    def readings(word: str) -> set[tuple[str, str]]:
        return {(a.pos, a.form) for a in lexicon.analyses(word) if a.base in lexicon.index}

    if before in ("has", "have", "had", "having"):
        return False  # a participle after "has" is the verb: "America has [lost] two patriots" (read blind, seed 18)
    if lowered[0].endswith("ed") and before not in DETERMINERS and not readings(before) & {("a", "base"),
                                                                                          ("r", "base")}:
        return False  # "and [reduced] projected spending": a verb of its own, not a modifier
    for word in lowered:
        forms = readings(word)
        if not forms and "-" not in word or forms and not any(pos in "ar" for pos, _ in forms):
            return False  # a noun modifier names another thing: "crop [insurance] reform", "IC Gas [loan] stock";
            # a word the lexicon does not know may be the head noun: "guaranteed [debentures] due 2002" (a
            # hyphenated one is a compound modifier: "[stone-throwing] youths")
    follows = words[j + 1].text.lower()
    if before in SCOPE_BEFORE and ("n", "pl") in readings(follows) and ("n", "base") not in readings(follows):
        return False  # a class named by a bare plural: "tax cuts for [low-income] workers" is not for all workers
    if follows in UNIT_WORDS:
        return False  # part of the unit: "1.11 billion [cubic] metres"
    if follows in TERMS:
        return False  # it names the instrument: "[common] stock", "net [tangible] assets" (read blind as a changed fact)
    return not (("v", "s") in readings(follows) and before not in DETERMINERS)


# a pronoun and its verb in one word: never a modifier that may go alone
_CONTRACTION = re.compile(r"^(?:\w+['’](?:re|ve|ll|m|d)|(?:it|that|there|he|she|what|here|who|where|how|let)['’]s)$")
# fact kinds whose words change the claim when they go alone (a whole phrase or clause holding one may still go);
# a direction word in a run of modifiers describes ("a [rapidly growing] supplier") and may go with it
CLAIM_WORDS = frozenset({"time", "quantity", "comparison"})
# a point of the compass says which place: "bridges in the [southern] districts" are other districts (a whole phrase
# holding one may still go: "[in the southern districts]")
COMPASS = frozenset("north south east west northeast northwest southeast southwest".split())


# adjectives that say which kind, not what it is like: "our overdependence on [foreign] oil", "[world] oil prices",
# "in [genuine economic] distress" name another thing without them (read blind, seed 19)
CLASSIFYING = frozenset("""foreign domestic international national federal local regional world global public private
military civil civilian nuclear financial economic political social legal medical present former future total net
gross annual monthly daily weekly quarterly exclusive sole joint main chief principal primary""".split())
RELATIVE_AFTER = frozenset("that which who whom whose".split())
# adjectives whose "for" phrase says what they hold for
COMPLETED_BY_FOR = frozenset("available responsible eligible necessary sufficient enough liable ready used".split())
# verbs whose "that" after a phrase starts what was said, not a relative clause ("said [in a statement] that ...")
REPORTING = frozenset("""said says say told tells added noted stated announced reported believes believe believed
think thinks thought know knows knew argued argues expects expected agreed""".split())


# a word after which a phrase that ends there has not ended: its object or complement goes on
ENDS_NO_PHRASE = frozenset("and or plus to of".split())
AUXILIARIES = frozenset("""is are was were has have had will would can could shall should may might must do does
did""".split())
RELATIVES = frozenset("that which who whom whose".split())


def _has_own_verb(lowered: list[str]) -> bool:
    """Whether a run of words led by an article holds a verb of its own (an auxiliary before any relative pronoun):
    then it is a clause ("the American people have rejected it"), not an appositive ("a strategy that's cleaner")."""
    for w in lowered:
        if w in RELATIVES:
            return False
        if w in AUXILIARIES:
            return True
    return False


def _subject_and_verb(text: str, words, i: int, j: int) -> bool:
    """Whether words ``i..j`` hold a subject and its verb, by the lexicon: a noun, then a past or "-s" verb form
    followed by a determiner, a pronoun, punctuation or nothing ("a medic saved his life", "the exchange closes,";
    not the participle of "a firm based in Ohio")."""
    from .lexicon import Lexicon, available  # noqa: PLC0415

    if not available():
        return False
    lexicon = Lexicon.load()

    def kinds(word: str) -> set[tuple[str, str]]:
        return {(a.pos, a.form) for a in lexicon.analyses(word) if a.base in lexicon.index}

    for n in range(i, j):
        noun, verb = words[n].text.lower(), words[n + 1].text.lower()
        if not (("n", "base") in kinds(noun) or ("n", "pl") in kinds(noun)):
            continue
        if not kinds(verb) & {("v", "ed"), ("v", "s")}:
            continue
        after = text[words[n + 1].end :].lstrip()[:1]
        nxt = words[n + 2].text.lower() if n + 2 < len(words) else ""
        if n + 1 == j or not after[:1].isalnum() or nxt in DETERMINERS or nxt in ("him", "her", "them", "us", "it"):
            return True
    return False


def _is_fraction(word: str) -> bool:
    """"one-fifth", "two-thirds": a number that needs its "of" phrase ("one-fifth [of a share] of Arsenal stock")."""
    return any(fact_kind(part) == "number" for part in word.split("-"))


def _phrase_like(text: str, words, i: int, j: int, function_words) -> bool:
    """Whether words ``i..j`` can go as a unit and leave a sentence: never a lone function word and never a span
    that ends in one ("promises of", "the"); a single other word (an adjective, an adverb: "officially"); a run of
    such words ("scholarly philosophical"); a phrase led by a preposition or a clause word that ends where a new
    phrase starts ("of transmutation", "on the alchemists themselves"); or anything between two punctuation marks
    (", when a new coup was under preparation,")."""
    lowered = [w.text.lower() for w in words[i : j + 1]]
    if lowered[-1] in function_words or lowered[-1] in PHRASE_STARTERS:
        return False
    if i > 0 and lowered[0] in PARTICLES and words[i - 1].text.lower() in PARTICLE_VERBS:
        return False  # "he can go [on to college]"
    if "and" in lowered[1:-1] and not (text[: words[i].start].rstrip()[-1:] in PHRASE_PUNCT
                                      and text[words[j].end : words[j].end + 1] in PHRASE_PUNCT + ".!?"):
        return False  # "caught [in a dead-end job and afraid] he can't": "and" joins what comes after
    if i >= 2 and words[i - 2].text.lower() in SCOPE_WORDS and text[words[i - 1].end : words[i].start] == " ":
        return False  # it says which ones of "every nation [in our own hemisphere] but one"
    if (i > 0 and (words[i - 1].text.lower(), lowered[0]) in NEVER_SPLIT
            or j + 1 < len(words) and (lowered[-1], words[j + 1].text.lower()) in NEVER_SPLIT):
        return False
    before_word = words[i - 1].text.lower() if i > 0 else ""
    follows = words[j + 1].text.lower() if j + 1 < len(words) else ""
    if lowered[0] in RESTRICTING_STARTERS and (lowered[0] != "of" or before_word in NEEDS_ITS_OF or follows != "of"
                                               or _is_fraction(before_word)):
        # "the rest [of the world]", "[under certain circumstances]": the claim would change; an "of" phrase
        # completes its noun ("the impact [of violence in the media] on their children", read blind as losing the
        # point) unless another "of" phrase follows to complete it ("the approval [of the superintendent] of the
        # department")
        return False
    before = words[i - 1].text.lower() if i > 0 and not text[words[i - 1].end : words[i].start].strip() else ""
    joined = not text[words[j].end : words[j + 1].start].strip() if follows else False
    if before[:1].isdigit():
        return False  # "160 [years] later"
    if before in ("a", "an") and follows and (before == "an") != (follows[0] in "aeiou"):
        return False  # "an [autonomous] Palestinian area"
    if before in NEEDS_A_WORD and not (joined and follows not in function_words):
        return False  # "its [military mission] from", "160 [years later,] the", "was [under preparation,] the"
    if all(w not in function_words and w not in PHRASE_STARTERS for w in lowered):
        if any(_CONTRACTION.match(w) or fact_kind(w) in CLAIM_WORDS or DIRECTION_OF.get(w) in COMPASS
               or w in CLASSIFYING or any(fact_kind(part) in ("number", "quantity") for part in w.split("-")[1:] or [])
               or "-" in w and fact_kind(w.split("-")[0]) in ("number", "quantity") for w in lowered):
            return False  # "[we're] helping", "some of our [last] troops", "[more] stock": not a modifier's detail;
            # nor a kind ("[foreign] oil") or a count ("[double-digit] inflation")
        # modifiers come before what they modify ("a [good] loser", "never [actually] gives"): a run of such words
        # goes only when a word of the same kind follows it, so a head noun or a verb is not cut ("the
        # Palestinian [police] do not", "a criminal [offence].")
        return (joined and bool(follows) and follows not in function_words and _modifiable(words[j + 1].text)
                and _modifiers(words, i, j))
    if follows in RELATIVE_AFTER and joined and not (follows == "that" and before_word in REPORTING):
        return False  # the noun a relative clause is about: "the pool of capital [for new investments] that need"
    if lowered[0] == "by" and before_word.endswith(("ed", "en")) and len(before_word) > 3:
        return False  # a passive's agent: "no longer undermined [by artificial timelines]"
    if lowered[0] in ("in", "of", "for", "from") and (fact_kind(before_word) in ("number", "unit")
                                                      or before_word in UNIT_WORDS):
        return False  # what an amount is of: "one billion dlrs [in production payment facilities]"
    if i == 0 or re.search(r"[.!?]\s*$", text[: words[i].start]):
        if any(c in PHRASE_PUNCT for c in text[words[i].end : words[j].start]) or (
                lowered[0] in FRONTED and len(lowered) > 1 and lowered[1] not in DETERMINERS):
            return False  # a place that leads the sentence is part of its claim ("[In Iran,] we see a Government",
            # "[In Afghanistan, America,] our allies"); a source says only where it was said ("In a filing with")
    left = text[: words[i].start].rstrip()[-1:]
    right = text[words[j].end : words[j].end + 1]
    ends_phrase = right in PHRASE_PUNCT + ".!?" or not follows or follows in function_words
    if lowered[0] in CLAUSE_WORDS and right not in PHRASE_PUNCT + ".!?":
        return False
    if lowered[0] in ("after", "before", "once", "when") and _subject_and_verb(text, words, i + 1, j):
        return False  # a time clause says when the claim holds: "to initiate[, after the exchange closes,] a trade"
    if lowered[0] == "for" and before_word in COMPLETED_BY_FOR:
        return False  # "no money available [for cash distributions to unitholders]" says for what
    if lowered[0] in PHRASE_STARTERS and ends_phrase:
        # "opened [near a town's new train station] or the new off-ramp": the phrase's object goes on after "or"
        # (and "with [the balance plus interest] to be paid": its noun's infinitive after "to"; "the latest [in a
        # line] of oil companies": its noun's "of" phrase; "come up [with a solution to save] these programs": a
        # determiner starts the object of a verb inside it);
        # a phrase with a comma inside ends at a punctuation mark: ", [in which case, we will outspend all
        # others] by far." would leave "by far" hanging
        inside = any(c in PHRASE_PUNCT for c in text[words[i].end : words[j].start])
        open_end = follows in ENDS_NO_PHRASE and not (follows == "of" == lowered[0])  # "[of X] of Y": see above
        return right in PHRASE_PUNCT + ".!?" or (not open_end and not inside
                                                  and (follows not in DETERMINERS or follows == "that"))
    # a clause or aside between punctuation marks: led by a clause word or preposition, a participle ("including",
    # "led by") or an article (an appositive, ", a former teacher,"); never the main verb's clause (", would create
    # the largest bank.")
    led = (lowered[0] in PHRASE_STARTERS or lowered[0] in ("a", "an", "the", "including", "especially", "mostly")
           or (lowered[0].endswith(("ing", "ed")) and len(lowered[0]) > 4) or left in "(—–")
    if lowered[0] in ("a", "an", "the") and (_has_own_verb(lowered) or _subject_and_verb(text, words, i, j)):
        return False  # ", [the American people have rejected that advice]." is the main clause, not an appositive
    if lowered[0] in ("a", "an", "the"):
        last_part = re.split(r"[,;:(—–]", text[: words[i].start].rstrip()[:-1])[-1].split()
        if last_part and last_part[0].lower() in PHRASE_STARTERS | {"even", "especially", "only"}:
            return False  # after an aside it is the verb's object: "I have seen, even amidst the pain, [the real
            # heart of America]" (read blind, seed 19)
    return led and left in PHRASE_PUNCT and right in PHRASE_PUNCT + ".!?"


def _fronted_source(text: str, a: int, b: int) -> bool:
    """Whether ``text[a:b]`` is a phrase that leads a sentence, up to its comma, led by a preposition of
    :data:`FRONTED` and naming a place or a source (a capitalised word: "In a filing with the SEC,"; not "On some
    issues,", which limits the claim)."""
    cut = text[a:b].split()
    starts = not text[:a].strip() or text[:a].rstrip()[-1] in ".!?"
    return (starts and len(cut) > 2 and cut[0].lower() in FRONTED and bool(re.search(r",\s+\S$", text[a:b]))
            and any(w[:1].isupper() for w in cut[1:-1]))


def _what_went(text: str, a: int, b: int, rep: str) -> str:
    """The words a cut (``text[a:b]`` -> ``rep``) takes away, for reports: "And" of "[And I] -> I", not "And I"."""
    gone = text[a:b]
    if not rep:
        return gone
    if gone[len(gone) - len(rep) :].lower() == rep.lower():
        return gone[: len(gone) - len(rep)]
    return f"{gone} -> {rep}"


class CutSearch:
    """Choose cuts. ``words`` are the selection's words in the original text (``content`` marks the ones to keep),
    ``info`` the denoiser's log-probability of each (masked alone), ``goal`` the target word count.

    Each round scores every possible cut of the current draft once (one batched pass of short windows), then
    picks sets of cuts that are not next to each other, cheapest per word first, until the goal is reached; the
    first set is the greedy one, the others perturbed. A round's sets are the next round's drafts when the cuts
    taken together are not yet enough."""

    def __init__(self, adapter, text: str, selection: tuple[int, int], words, info: list[float],
                 goal: int, *, beams: int = 3, max_span: int = 5, tolerance: int = 1, info_weight: float = 1.0,
                 reads_weight: float = 3.0, max_break: float = MAX_BREAK,
                 function_words=frozenset(), words_of=None, max_rounds: int = 4, batch: int = 64, seed: int = 0):
        self.adapter = adapter
        self.text, self.selection, self.words, self.info = text, selection, words, info
        self.goal, self.beams, self.max_span, self.tolerance = goal, beams, max_span, tolerance
        self.info_weight, self.function_words, self.words_of = info_weight, function_words, words_of
        self.reads_weight, self.max_break = reads_weight, max_break
        self.max_rounds, self.batch = max_rounds, batch
        self.may = [may_cut(w) for w in words]
        self.may_aside = [m or may_go_in_aside(w) for m, w in zip(self.may, words)]
        self._read: dict[str, float] = {}  # text -> the judge's summed log-probability
        self.rng = random.Random(seed)

    # ------------------------------------------------------------------------------------------- reading
    def _costs(self, text: str, options, info: list[float], lossless: frozenset = frozenset(),
               whole: frozenset = frozenset()) -> list[float]:
        """Cost of each cut on its own: how much harder the text after it reads (never a gain: taking away a
        surprising word makes the rest easier to predict too, "a good loser" -> "a loser"), plus what the cut
        words carried (``info``: each word of ``text``'s denoiser log-probability in the original, weighted;
        nothing for the ``lossless`` options, (start, end, replacement) of the rewordings that say the same by
        construction: they come first; ``whole``: those of them that never break a sentence, :func:`fillers`)."""
        from .rewordings import OPENER_AT  # noqa: PLC0415  (rewordings builds on this module's word lists)

        texts, index = [], {}
        rows = []
        for a, b, rep, _ in options:
            lo, hi = word_window(text, a, b, CONTEXT_BEFORE, CONTEXT_AFTER)
            base = text[lo:hi]
            if base not in index:
                index[base] = len(texts)
                texts.append(base)
            texts.append(text[lo:a] + rep + text[b:hi])
            cut_text = text[a:b]
            rows.append((index[base], len(texts) - 1, text[lo:a], cut_text))
        # the cut words' own reading, to leave out of the base: read "before + cut" minus "before"
        extra = list(dict.fromkeys(t for _, _, before, cut_text in rows for t in (before, before + cut_text)
                                   if t not in index))
        todo = [t for t in dict.fromkeys(texts + extra) if t not in self._read]  # drafts share most windows
        self._read.update(zip(todo, judged_totals(self.adapter, todo, self.batch)))
        value = self._read
        totals = [value[t] for t in texts]
        costs = []
        for (a, b, rep, cut), (base_i, cand_i, before, cut_text) in zip(options, rows):
            gone = value[before + cut_text] - value[before] if before else value[before + cut_text]
            reads = min(0.0, totals[cand_i] - (totals[base_i] - gone))
            opener = OPENER_AT.match(text, a)
            if len(rep) == 1 and (opener and b == opener.end() + 1 or _fronted_source(text, a, b)):
                # the opener alone goes, or a place or source phrase that led the sentence up to its comma ("[And] I
                # know ...", "[In a filing with the SEC,] the group said"): what is left is the sentence's own main
                # clause, and at the text's start the judge has no context to read its new first words from (a -6
                # nats artefact)
                reads = 0.0
            if reads < -self.max_break and (a, b, rep) not in whole:
                # it breaks the sentence: never taken, whatever the target (a filler's cut leaves a sentence whole
                # by construction: "Bally[ also] acquired" read 3-4 nats worse only because "also" foretold the
                # verb; the judge's reading of it still orders it)
                costs.append(math.inf)
                continue
            lost = 0.0 if (a, b, rep) in lossless else sum(info[c] for c in cut)
            costs.append(-(self.reads_weight * reads + self.info_weight * lost))
        return costs

    # ------------------------------------------------------------------------------------------- search
    def run(self) -> list[Draft]:
        """Drafts within ``tolerance`` words of the goal, cheapest first."""
        drafts = [Draft(self.text, tuple(range(len(self.words))))]
        done: dict[str, Draft] = {}
        closest: dict[str, Draft] = {}  # every draft made, for when no set of cuts reaches the goal
        for _ in range(self.max_rounds):
            nxt: dict[str, Draft] = {}
            for draft in drafts:
                for child in self._sets(draft):
                    closest.setdefault(child.text, child)
                    target = done if abs(len(child.kept) - self.goal) <= self.tolerance else nxt
                    if len(child.kept) > self.goal or target is done:
                        if child.text not in target or child.cost < target[child.text].cost:
                            target[child.text] = child
            drafts = sorted((d for t, d in nxt.items() if t not in done), key=lambda d: d.cost)[: self.beams]
            if not drafts or len(done) >= self.beams:
                break
        # drafts that reach the goal, cheapest first; then, when there are too few (the cuts that keep every
        # sentence whole do not reach it), the shortest other drafts made
        reached = sorted(done.values(), key=lambda d: d.cost + 0.5 * abs(len(d.kept) - self.goal))
        others = sorted((d for t, d in closest.items() if t not in done),
                        key=lambda d: (abs(len(d.kept) - self.goal), d.cost))
        return reached + others

    def _sets(self, draft: Draft) -> list[Draft]:
        from .rewordings import fillers, rewordings  # noqa: PLC0415  (rewordings builds on this module's word lists)

        sel_end = self.selection[1] - (len(self.text) - len(draft.text))
        words = self.words_of(draft.text, self.selection[0], sel_end)
        if len(words) != len(draft.kept):  # a cut changed how words split: stop this draft here
            return []
        need = len(draft.kept) - self.goal
        # a cut may overshoot the goal by a little (a whole clause is one cut: better a clause too many than none)
        budget = need + max(self.tolerance, 2, need // 2)
        may = [self.may[k] for k in draft.kept]
        reworded = rewordings(draft.text, words, may)
        options = _options(draft.text, words, may, budget, self.max_span, self.function_words,
                           [self.may_aside[k] for k in draft.kept]) + reworded
        if not options:
            return []
        lossless = frozenset(o[:3] for o in reworded)
        # fillers, and the "of" of "all [of] these" (a reduction that cannot break a sentence either)
        whole = frozenset(o[:3] for o in fillers(draft.text, words, may)) | frozenset(
            o[:3] for o in reworded if draft.text[o[0] : o[1]].strip().lower() == "of")
        costs = self._costs(draft.text, options, [self.info[k] for k in draft.kept], lossless, whole)
        options, costs = [o for o, c in zip(options, costs) if c < math.inf], [c for c in costs if c < math.inf]
        if not options:
            return []
        per_word = [c / len(o[3]) for c, o in zip(costs, options)]
        spread = max(0.5, statistics.pstdev(per_word)) if len(per_word) > 1 else 1.0
        out = []
        greedy = sorted(range(len(options)), key=lambda n: per_word[n])
        for j in range(2 * self.beams):
            # the first set is greedy; set j starts from the j-th cheapest cut (so that alternatives differ in
            # what they cut, not only in a detail), then fills greedily with a little noise
            noise = [0.0 if j == 0 else -spread * math.log(-math.log(self.rng.random() or 1e-12)) * 0.25
                     for _ in options]
            order = sorted(range(len(options)), key=lambda n: per_word[n] + noise[n])
            if 0 < j < len(greedy):
                order = [greedy[j]] + [n for n in order if n != greedy[j]]
            taken: list[int] = []
            used: set[int] = set()
            removed = 0
            for n in order:
                cut = options[n][3]
                if removed >= need - self.tolerance and removed >= 1:
                    break
                if removed + len(cut) > budget or any(c in used or c - 1 in used or c + 1 in used for c in cut):
                    continue
                taken.append(n)
                used.update(cut)
                removed += len(cut)
            if not taken:
                continue
            text = draft.text
            for n in sorted(taken, key=lambda n: -options[n][0]):
                a, b, rep, _ = options[n]
                text = text[:a] + rep + text[b:]
            kept = tuple(k for m, k in enumerate(draft.kept) if m not in used)
            cuts = tuple(_what_went(draft.text, *options[n][:3]) for n in sorted(taken, key=lambda n: options[n][0]))
            out.append(Draft(text, kept, draft.cost + sum(costs[n] for n in taken), draft.cuts + cuts))
        return out
