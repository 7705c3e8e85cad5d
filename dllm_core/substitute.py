"""Rephrase by substituting words: swap some of the writer's words for others that say the same in this sentence,
keeping every other word, so that the sentence stays grammatical and keeps its facts (lexical substitution with a
masked LM, as in Zhou et al. 2019, "BERT-based lexical substitution", here with a diffusion denoiser).

For each word that may change (not a name, number, capitalised word, negation, function word or word to keep; one
token long in the model's vocabulary), two readings of the denoiser give each vocabulary word a score:

- **fits the place**: its log-probability with the word masked and the rest of the text visible;
- **stays close**: its log-probability with the word *visible* (weight ``SAMENESS_WEIGHT``), the idea of Zhou et
  al.'s partly masked target. It is weak evidence here: the denoiser is trained on masked positions only, so its
  reading of a visible word is untrained, and weights of 1.5, 3 and 5 chose nearly the same swaps on 10 sentences.
  Meaning drift is this method's known failure ("years later" -> "years ago", "harbour" -> "sea"); cosine similarity
  of the input embeddings (tried at weights 10 and 20) did not stop it either.

The best few per place (not the word itself, not another form of it) are put into the sentence one at a time and
read by the model's causal reading; a swap that makes the sentence read worse than ``max_drop`` nats is dropped. An
optional ``attribute`` scorer (tone: the attribute classifier's log p(target) of the changed text) is added with a
weight. Alternatives combine the best swaps at places that are not next to each other (each alternative a different
set), and are ordered by the causal reading.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch

from .canvas import Canvas
from .markup import Segment
from .ranking import judged_totals
from .windows import window_budget


SAMENESS_WEIGHT = 1.5  # the visible reading's weight (see above: weak evidence)


@dataclass(frozen=True)
class Swap:
    word: int  # index into the selection's words
    start: int  # character range of the word in the text
    end: int
    new: str  # the replacement word, cased like the original
    score: float  # fit + sameness + reading (+ attribute), nats

    def apply(self, text: str) -> str:
        return text[: self.start] + self.new + text[self.end :]


def _recase(new: str, old: str) -> str:
    if old[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


@torch.no_grad()
def propose(editor, text: str, words, may: list[bool], per_place: int = 4, stop=frozenset()) -> list[Swap]:
    """Candidate swaps, scored by the denoiser's two readings (masked, visible)."""
    adapter, tokenizer = editor.adapter, editor.tokenizer
    canvas = Canvas.from_segments([Segment("fixed", text, 0)], tokenizer)
    ids = torch.tensor(canvas.ids)
    places = []  # (word index, token position)
    for k, w in enumerate(words):
        if not may[k]:
            continue
        toks = [i for i, span in enumerate(canvas.spans) if span is not None and span[0] < w.end and span[1] > w.start]
        if len(toks) == 1:
            places.append((k, toks[0]))
    if not places:
        return []
    body = window_budget(adapter)
    lo = 0 if len(ids) <= body else max(0, min(places[0][1] - body // 4, len(ids) - body))
    window = ids[lo : lo + body]
    places = [(k, p) for k, p in places if lo <= p < lo + len(window)]
    seqs = [window.clone() for _ in places] + [window]
    for r, (_, p) in enumerate(places):
        seqs[r][p - lo] = adapter.mask_id
    input_ids, attention, offset = adapter.frame(seqs)
    cols = torch.tensor([p - lo for _, p in places]) + offset
    masked = adapter.logits_at(input_ids, attention, torch.arange(len(places)), cols).log_softmax(-1)
    visible = adapter.logits_at(input_ids, attention, torch.full((len(places),), len(places)), cols).log_softmax(-1)
    scores = (masked + SAMENESS_WEIGHT * visible).cpu()
    present = {w.text.lower() for w in words}  # a swap never repeats a word of the text ("reactions and reactions")
    swaps = []
    for r, (k, p) in enumerate(places):
        old = words[k].text
        found = 0
        for tok in scores[r].topk(64).indices.tolist():
            piece = tokenizer.decode([tok], clean_up_tokenization_spaces=False)
            new = piece.strip()
            if (not piece.startswith(" ") or not new.isalpha() or new.lower() in stop or new.lower() in present or len(new) < 2
                    or new.lower()[:4] == old.lower()[:4] or tok == int(ids[p])
                    or (new[0].isupper() and not old[0].isupper())):  # "a new [National] coup"
                continue
            swaps.append(Swap(k, words[k].start, words[k].end, _recase(new, old), float(scores[r, tok])))
            found += 1
            if found == per_place:
                break
    return swaps


def read_swaps(editor, text: str, swaps: list[Swap], attribute=None, attribute_weight: float = 0.0,
               max_drop: float = 4.0, batch: int = 48) -> list[Swap]:
    """The swaps that keep the text readable, each scored with how it reads (and the attribute, when given)."""
    if not swaps:
        return []
    texts = [text] + [s.apply(text) for s in swaps]
    totals = judged_totals(editor.adapter, texts, batch)
    attr = attribute(texts) if attribute is not None else [0.0] * len(texts)
    out = []
    for s, total, a in zip(swaps, totals[1:], attr[1:]):
        drop = total - totals[0]
        if drop < -max_drop:
            continue
        out.append(Swap(s.word, s.start, s.end, s.new, s.score + drop + attribute_weight * (a - attr[0])))
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
