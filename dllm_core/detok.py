"""Turn generated WordPiece tokens back into readable text, with sensible capitalisation.

The embedded model is uncased, so text generated into a span gets: a capital at a sentence start, "I" for the
pronoun, and the draft's own spelling for words the draft writes with capitals (names such as "Elizabeth").
"""

from __future__ import annotations

import re

NO_SPACE_BEFORE = set(".,;:!?%)]}…") | {"'s", "n't"}
NO_SPACE_AFTER = set("([{$#@")
JOINERS = set("-/'’")  # attach to both neighbours: well-known, and/or, don't
SENTENCE_END = set(".!?")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def case_map(text: str) -> dict[str, str]:
    """Words the draft capitalises other than at a sentence start: lower-case form -> the draft's spelling."""
    out: dict[str, str] = {}
    for m in _WORD.finditer(text):
        word = m.group()
        if word.islower():
            continue
        before = text[: m.start()].rstrip()
        if not before or before[-1] in SENTENCE_END or before[-1] in "\"“'‘:\n":
            continue  # sentence-initial capital says nothing about the word
        out.setdefault(word.lower(), word)
    out.setdefault("i", "I")
    return out


def at_sentence_start(left: str) -> bool:
    """Whether text appended after ``left`` starts a sentence."""
    stripped = left.rstrip(" \t\"“'‘([")
    return not stripped or stripped[-1] in SENTENCE_END or left.endswith("\n\n")


def words_from_tokens(tokens: list[str]) -> list[tuple[str, bool]]:
    """Merge WordPiece tokens into (word, space_before) pairs."""
    words: list[tuple[str, bool]] = []
    glue_next = False
    open_quote = False
    for tok in tokens:
        if tok.startswith("##") and words:
            text, space = words[-1]
            words[-1] = (text + tok[2:], space)
            continue
        tok = tok[2:] if tok.startswith("##") else tok
        space = bool(words) and not glue_next
        glue_next = False
        if tok in NO_SPACE_BEFORE:
            space = False
        elif tok in JOINERS and words:
            space = False
            glue_next = True
        elif tok == '"':
            if open_quote:
                space = False
            else:
                glue_next = True
            open_quote = not open_quote
        if tok in NO_SPACE_AFTER:
            glue_next = True
        words.append((tok, space))
    return words


def apply_case(word: str, sentence_start: bool, cases: dict[str, str]) -> str:
    if not word[:1].isalpha():
        return word
    mapped = cases.get(word.lower())
    if mapped is not None:
        word = mapped
    if sentence_start:
        word = word[:1].upper() + word[1:]
    return word


def detokenize(tokens: list[str], *, sentence_start: bool = False, cases: dict[str, str] | None = None) -> str:
    """Readable text for a run of generated tokens (no leading/trailing space)."""
    cases = cases if cases is not None else {"i": "I"}
    out: list[str] = []
    start = sentence_start
    prev = ""
    for word, space in words_from_tokens(tokens):
        if prev in JOINERS and prev in "'’" and word.lower() in {"s", "t", "re", "ve", "ll", "d", "m"}:
            cased = word  # contraction after an apostrophe: never capitalised
        else:
            cased = apply_case(word, start, cases)
        out.append((" " if space else "") + cased)
        if word in SENTENCE_END:
            start = True
        elif word[:1].isalnum():
            start = False
        prev = word
    return "".join(out)
