"""Rephrase by substituting words: swap some of the writer's words for synonyms that mean the same in this sentence,
keeping every other word, so that the sentence stays grammatical and keeps its facts (lexical substitution, as in
McCarthy & Navigli's task, with WordNet for the candidates and the models here to choose among them).

1. **Candidates** (:func:`propose_synonyms`) come only from the word's own WordNet synsets (:mod:`writing.lexicon`),
   so a swap cannot be an antonym, a sibling ("month" -> "week") or a looser word; words that carry facts, names,
   function words and the writer's kept words are never candidates nor replaced.
2. **The sense** is the one whose synonyms the denoiser finds likeliest with the word masked (it sees both sides).
3. **The grammar**: each single swap is read by the judge (SmolLM2's own causal LM, :func:`dllm_core.ranking.
   judged_totals`) in a window around it; a swap after which the following words read more than ``max_drop``
   nats worse is dropped (the new word's own probability, mostly its frequency, only weighs in the ranking). An optional
   ``attribute`` scorer (Tone: a classifier's log p(target)) adds a term, and ``min_gain`` can require that the swap
   move it.
4. **Alternatives** combine the best swaps at places that are not next to each other (each alternative a different
   set), ordered by the causal reading.

The earlier candidate source, the denoiser's whole vocabulary, changed facts in about 9 of 10 edits on unseen text
("four" -> "nine", "lowest" -> "highest"): fitting the place is not meaning the same.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

import torch

from dllm_core.canvas import Canvas
from dllm_core.markup import Segment

from .cuts import DETERMINERS

# a word after one of these is its verb ("it noted", "they split")
SUBJECT_PRONOUNS = frozenset("i we you he she it they".split())
from .scoring import (SPARSE_STRIDE, grouped_readings, judged_totals, masked_windows, read_window, word_tokens,
                      word_window)


CONTEXT_BEFORE = 160  # characters around a swap that the judge reads
CONTEXT_AFTER = 80
# a swap whose word the judge expects this much less than the writer's (its own log-probability plus any drop in
# how the words after it read, nats) is risky: of 744 single-word swaps read blind on unseen genres (17 reads),
# readers kept 53 % of those below -3 and 69 % of the others (`python bench/swap_calibration.py`)
RISKY = -3.0


@dataclass(frozen=True)
class Swap:
    word: int  # index into the selection's words
    start: int  # character range of the word in the text
    end: int
    new: str  # the replacement word, cased like the original
    score: float  # fit + sameness + reading (+ attribute), nats
    # how much less the judge expects the new word than the writer's, plus how much worse the words after it read
    # (nats, 0 until read_swaps reads it); below RISKY, readers kept fewer than half of such swaps
    risk: float = 0.0

    def apply(self, text: str) -> str:
        return text[: self.start] + self.new + text[self.end :]


def _recase(new: str, old: str) -> str:
    if old[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


def synonyms_in_place(lexicon, text: str, w) -> list:
    """The lexicon's synonyms of word ``w`` of ``text`` that can stand where it stands: the senses its neighbours
    allow (a noun or adjective after a determiner, a verb after a subject pronoun, no adverb before a noun), never a
    light verb or a verb with its particle."""
    from .lexicon import LIGHT_VERBS  # noqa: PLC0415

    syns = lexicon.synonyms(w.text)
    before = re.findall(r"[A-Za-z]+", text[: w.start])[-1:]
    if before and before[0].lower() in DETERMINERS - {"that"}:  # "the breach": a noun or adjective, no verb
        syns = [s for s in syns if s.sense[:1] not in ("v", "r")]
    elif any(a.pos == "v" and a.base in LIGHT_VERBS for a in lexicon.analyses(w.text.lower())):
        syns = []  # "help people overcome": a light verb here, whatever its noun senses offer ("assist")
    if re.match(r" (?:away|up|out|down|off|back|over|along|around|through|forward|apart|aside)\b",
                text[w.end:]):
        syns = []  # a verb with its particle says one thing: "move away" is not "travel away"
    if before and before[0].lower() in SUBJECT_PRONOUNS:
        syns = [s for s in syns if s.sense[:1] == "v"]  # "it noted" is a verb: not "it famous"
    after = re.match(r" ([a-z]+)\b", text[w.end :])
    if after and any(a.pos == "n" for a in lexicon.analyses(after.group(1))) and any(
            a.pos == "a" for a in lexicon.analyses(w.text.lower())):
        syns = [s for s in syns if s.sense[:1] != "r"]  # "an overseas embargo" is no "abroad embargo"
    if after and after.group(1) == "of" and before and before[0].lower() in ("in", "on", "by", "at"):
        syns = []  # a set phrase: "in view of" is no "in regard of", "on behalf of", "by means of"
    if after and after.group(1) == "to":
        syns = [s for s in syns if s.word != "used"]  # "applied to start" -> "used to start" is a habit
    return syns


@torch.no_grad()
def propose_synonyms(editor, text: str, words, may: list[bool], per_place: int = 3,
                     min_fit: float = -5.0, stride: int = SPARSE_STRIDE) -> list[Swap]:
    """Candidate swaps from the lexicon (:mod:`writing.lexicon`: members of the word's own common WordNet
    senses, inflected like it), scored by batched denoiser passes with each place masked (one reading per place in a
    text of up to one reading window; in a longer one, places of a window at least ``stride`` words apart masked in the
    same reading, as :func:`writing.scoring.predictability` reads words):

    - **which sense**: the sentence's sense of the word is the one whose synonyms the denoiser finds likeliest at the
      masked place (log of their summed first-token probability, plus half the log of the sense's tag count);
      only that sense's synonyms are kept ("positions" in "four new positions" as posts, not as views);
    - **fits the place**: each synonym's first-token log-probability minus the original word's (``min_fit``: at
      most that much less likely, in nats, or it is dropped).
    """
    from .lexicon import Lexicon  # noqa: PLC0415

    lexicon = Lexicon.load()
    adapter, tokenizer = editor.adapter, editor.tokenizer
    canvas = Canvas.from_segments([Segment("fixed", text, 0)], tokenizer)
    ids = torch.tensor(canvas.ids)
    token_words = word_tokens(canvas, words)
    place_syns: dict[int, list] = {}  # word index -> synonyms
    for k, w in enumerate(words):
        if not may[k] or not w.text.islower() or not token_words[k]:
            continue
        syns = synonyms_in_place(lexicon, text, w)
        if syns:
            place_syns[k] = syns
    if not place_syns:
        return []
    # the place and the text around it: bounded, whatever the text's length; in a text longer than one window, places
    # at least stride words apart are masked in the same reading (scoring.grouped_readings)
    body = read_window(adapter)
    readings = grouped_readings(len(ids), token_words, body, stride, read=list(place_syns))
    swaps: list[Swap] = []
    chunks: list[list[tuple[int, list[int]]]] = [[]]
    masked = 0
    for reading in readings:  # a pass: 32 readings, 64 masked places at most
        if chunks[-1] and (len(chunks[-1]) == 32 or masked + len(reading[1]) > 64):
            chunks.append([])
            masked = 0
        chunks[-1].append(reading)
        masked += len(reading[1])
    for chunk in chunks:
        seqs, masked = masked_windows(ids, chunk, token_words, body, adapter.mask_id)
        first = {k: (r, c) for r, c, k, _ in reversed(masked)}  # each place is read at its first token
        part = [(k, token_words[k], place_syns[k]) for _, ks in chunk for k in ks if k in first]
        logp = adapter.masked_log_probs(seqs, [first[k][0] for k, _, _ in part],
                                        [first[k][1] for k, _, _ in part]).float().cpu()
        for r, (k, toks, syns) in enumerate(part):
            w = words[k]
            spaced = " " if w.start > 0 and text[w.start - 1].isspace() else ""
            original = float(logp[r, int(ids[toks[0]])])
            fit = {}
            for s in syns:
                first = tokenizer(spaced + s.word, add_special_tokens=False)["input_ids"][:1]
                if first:
                    fit[s] = float(logp[r, first[0]]) - original
            by_sense: dict[str, list] = {}
            for s, f in fit.items():
                by_sense.setdefault(s.sense, []).append((s, f))
            if not by_sense:
                continue
            def sense_score(item):
                members = item[1]
                mass = torch.logsumexp(torch.tensor([f for _, f in members]), 0).item()
                return mass + 0.5 * math.log1p(members[0][0].sense_count)
            _, members = max(by_sense.items(), key=sense_score)
            members = sorted((m for m in members if m[1] >= min_fit), key=lambda m: -m[1])[:per_place]
            for s, f in members:
                swaps.append(Swap(k, w.start, w.end, s.word, f))
    return sorted(swaps, key=lambda s: s.word)  # in the text's order, as the places are (stable: best first in each)


def read_swaps(editor, text: str, swaps: list[Swap], attribute=None, attribute_weight: float = 0.0,
               max_drop: float = 3.0, own_weight: float = 0.3, max_rarer: float = 7.0,
               min_gain: float | None = None,
               batch: int = 48) -> list[Swap]:
    """The swaps that keep the text readable, each scored by the judge in a window around it (and the attribute,
    when given; ``min_gain``: keep only swaps that raise it by more than that).

    What must not get worse is how the words *after* the swap read (``max_drop`` nats): that is where a wrong
    word class or sense shows. The swapped word's own log-probability mostly says how common it is ("nation" is
    rarer than "country" in any sentence), so it only counts with ``own_weight`` in the score, as the cuts leave
    out the cut words' own reading (:mod:`writing.cuts`); a word more than ``max_rarer`` nats less likely than
    the writer's is too rare to offer ("results" -> "upshots")."""
    if not swaps:
        return []
    texts: list[str] = []
    index: dict[str, int] = {}

    def at(t: str) -> int:
        if t not in index:
            index[t] = len(texts)
            texts.append(t)
        return index[t]

    rows = []
    for s in swaps:
        lo, hi = word_window(text, s.start, s.end, CONTEXT_BEFORE, CONTEXT_AFTER)
        before, old, new, after = text[lo : s.start], text[s.start : s.end], s.new, text[s.end : hi]
        rows.append((at(before + old + after), at(before + new + after), at(before + old), at(before + new),
                     at(before) if before else None))
    totals = judged_totals(editor.adapter, texts, batch)
    attr = attribute(texts) if attribute is not None else [0.0] * len(texts)
    out = []
    for s, (whole_old, whole_new, upto_old, upto_new, start) in zip(swaps, rows):
        after_old = totals[whole_old] - totals[upto_old]
        after_new = totals[whole_new] - totals[upto_new]
        head = totals[start] if start is not None else 0.0
        own = (totals[upto_new] - head) - (totals[upto_old] - head)
        drop, gain = after_new - after_old, attr[whole_new] - attr[whole_old]
        if drop < -max_drop or own < -max_rarer or (min_gain is not None and gain <= min_gain):
            continue
        out.append(Swap(s.word, s.start, s.end, s.new, s.score + min(0.0, drop) + own_weight * own
                        + attribute_weight * gain, own + min(0.0, drop)))
    return sorted(out, key=lambda s: -s.score)


def combine(swaps: list[Swap], n: int, k: int, seed: int = 0) -> list[list[Swap]]:
    """``k`` different sets of up to ``n`` swaps at places not next to each other: the first takes the best, the
    others a Gumbel-perturbed choice."""
    rng = random.Random(seed)
    sets: list[list[Swap]] = []
    seen = set()
    for j in range(4 * k):
        noisy = sorted(swaps, key=lambda s: -(s.score + (0 if j == 0 else 2.0 * -math.log(-math.log(rng.random() or 1e-12)))))
        chosen: list[Swap] = []
        for s in noisy:
            if len(chosen) == n:
                break
            if all(abs(s.word - c.word) > 1 for c in chosen):
                chosen.append(s)
        key = tuple(sorted((c.word, c.new) for c in chosen))
        if chosen and key not in seen:
            seen.add(key)
            sets.append(sorted(chosen, key=lambda s: s.start))
        if len(sets) == k:
            break
    return sets


def apply_all(text: str, swaps: list[Swap]) -> str:
    for s in sorted(swaps, key=lambda s: -s.start):
        text = s.apply(text)
    return text
