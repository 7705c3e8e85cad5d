"""Rule edits of register that never touch what a sentence says: contractions made or expanded, hedges dropped.

Tone (:func:`writing.tone.tone`) uses them beside its word swaps: "More formal" expands contractions ("don't" ->
"do not"), "More casual" and "Friendlier" make them ("it is" -> "it's", never at the end of a clause: "that is
what it is."), "More confident" drops hedging words ("perhaps", "I think that", "somewhat"); :mod:`writing.register`
adds the phrases of each register to the first two ("bought" <-> "purchased"). Each rule returns
character edits (start, end, replacement) of the original text, so that they compose with swaps and tracked
changes show exactly what moved. Ambiguous forms are left alone: "'d" (had / would), "'s" after a noun
(possessive), "we have" as a main verb.
"""

from __future__ import annotations

import re

Edit = tuple[int, int, str]  # start, end, replacement

# contraction <-> full form, in lower case; "'s" forms only after pronouns
CONTRACTIONS = {
    "don't": "do not", "doesn't": "does not", "didn't": "did not", "isn't": "is not", "aren't": "are not",
    "wasn't": "was not", "weren't": "were not", "can't": "cannot", "couldn't": "could not", "won't": "will not",
    "wouldn't": "would not", "shouldn't": "should not", "haven't": "have not", "hasn't": "has not",
    "hadn't": "had not", "mustn't": "must not", "i'm": "i am", "you're": "you are", "we're": "we are",
    "they're": "they are", "i've": "i have", "we've": "we have", "they've": "they have", "you've": "you have",
    "i'll": "i will", "we'll": "we will", "they'll": "they will", "you'll": "you will", "he'll": "he will",
    "she'll": "she will", "let's": "let us", "it's": "it is", "that's": "that is", "there's": "there is",
    "what's": "what is", "he's": "he is", "she's": "she is",
}
# which full forms may be contracted: "we have" only before "not" (as "haven't"), never "I have two ..."
CONTRACTABLE = {full: short for short, full in CONTRACTIONS.items()
                if not full.endswith(("have", "us")) and short not in ("mustn't",)}
HEDGES = ("i think that", "i think", "i believe that", "i believe", "i feel that", "i guess", "in my opinion",
          "it seems that", "it appears that", "i would say that", "perhaps", "maybe", "possibly", "somewhat",
          "fairly", "rather", "quite", "a bit", "kind of", "sort of", "basically", "arguably", "hopefully")
_APOSTROPHES = "'’"


def _cased(new: str, old: str) -> str:
    if old[:1].isupper():
        new = new[:1].upper() + new[1:]
    return re.sub(r"\bi\b", "I", new)


def expand_contractions(text: str) -> list[Edit]:
    """"don't" -> "do not" ... ("it's been" -> "it has been")."""
    edits = []
    for m in re.finditer(r"\b[A-Za-z]+[’'][a-z]+\b", text):
        word = m.group()
        key = word.lower().replace("’", "'")
        full = CONTRACTIONS.get(key)
        if full is None:
            continue
        if key.endswith("'s") and re.match(r"\s+been\b", text[m.end():]):
            full = full[:-2] + "has"
        edits.append((m.start(), m.end(), _cased(full, word)))
    return edits


def make_contractions(text: str) -> list[Edit]:
    """"do not" -> "don't", "it is" -> "it's" ... never before punctuation or at the end ("that is what it is.")."""
    edits = []
    pattern = r"\b(" + "|".join(re.escape(f) for f in sorted(CONTRACTABLE, key=len, reverse=True)) + r")\b"
    for m in re.finditer(pattern, text, flags=re.IGNORECASE):
        after = text[m.end():]
        if not re.match(r"\s+[A-Za-z]", after):  # "... it is." / "it is, ..." stay
            continue
        full = m.group().lower()
        if full.endswith(" is") and re.match(r"\s+(?:not\b|that\b)", after):
            continue  # "it is not" -> "it isn't" is the "is not" rule's; "that is that" stays
        edits.append((m.start(), m.end(), _cased(CONTRACTABLE[full], m.group())))
    return disjoint(edits)


def drop_hedges(text: str) -> list[Edit]:
    """Hedging words out, with the comma or space that went with them; a sentence start is re-capitalised."""
    edits = []
    pattern = r"\b(" + "|".join(re.escape(h) for h in HEDGES) + r")\b"
    for m in re.finditer(pattern, text, flags=re.IGNORECASE):
        start, end = m.start(), m.end()
        tail = re.match(r",?\s*", text[end:]).group()
        head = text[:start]
        at_start = not head.strip() or head.rstrip()[-1:] in ".!?\"“"
        if re.search(r",\s*$", head) and tail.startswith(","):
            start = len(head.rstrip()) - 1  # "we will, perhaps, win" -> "we will win"
            end += len(tail) - len(tail.lstrip(","))
            edits.append((start, end, ""))
            continue
        end += len(tail)
        if at_start:
            nxt = text[end:end + 1]
            edits.append((start, end + 1 if nxt else end, nxt.upper()))
        else:
            start = len(head.rstrip()) if head.endswith(" ") else start
            edits.append((start, end - len(tail) + (len(tail) - len(tail.lstrip(","))) , ""))
    return disjoint(edits)


def disjoint(edits: list[Edit]) -> list[Edit]:
    """The edits that overlap none before them, in order of their start (of two at one place, the shorter)."""
    out: list[Edit] = []
    for e in sorted(edits):
        if not out or e[0] >= out[-1][1]:
            out.append(e)
    return out


def apply(text: str, edits: list[Edit]) -> str:
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text
