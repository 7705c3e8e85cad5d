"""The canvas: a tokenised draft in which every position is fixed, pinned, masked or generated.

A canvas keeps, for every token that came from the draft, which segment it came from and its character span there,
so that rendering reproduces all text outside the edited spans, and every pinned word, character for character;
only positions the sampler changed are re-spelled.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import IntEnum

from .detok import at_sentence_start, case_map
from .markup import Segment, parse, plain_text
from .spelling import ATTACHES_LEFT, Spelling


class TokenState(IntEnum):
    FIXED = 0  # draft text the sampler may only change under strength re-noising
    PINNED = 1  # never changed
    MASKED = 2  # to be generated
    GENERATED = 3  # committed by the sampler (may be remasked by self-correction)


@dataclass
class Canvas:
    segments: list[Segment]
    ids: list[int]
    states: list[TokenState]
    segment_of: list[int]  # segment index of every position
    spans: list[tuple[int, int] | None]  # character span inside that segment's text (None: new position)
    original_ids: list[int | None]
    mask_id: int
    cases: dict[str, str] = field(default_factory=dict)

    # ----------------------------------------------------------------------------------------------- building
    @classmethod
    def from_markup(cls, markup: str, tokenizer, lengths: dict[int, int] | None = None) -> Canvas:
        return cls.from_segments(parse(markup), tokenizer, lengths)

    @classmethod
    def from_segments(cls, segments: list[Segment], tokenizer, lengths: dict[int, int] | None = None) -> Canvas:
        """``lengths`` overrides the token count of edit spans by segment index (used by auto length).

        Draft text is tokenised in runs: consecutive fixed and pinned segments together (so a pinned word keeps the
        token it has in context, e.g. BPE's ``Ġcold``), and white space just before an edit span is left out of the
        tokens (the model writes the space itself, as in training); it stays in the draft text and renders as is."""
        lengths = lengths or {}
        mask_id = tokenizer.mask_token_id
        ids: list[int] = []
        states: list[TokenState] = []
        segment_of: list[int] = []
        spans: list[tuple[int, int] | None] = []
        originals: list[int | None] = []
        index = 0
        while index < len(segments):
            seg = segments[index]
            if seg.editable:
                before = segments[index - 1].text if index else ""
                n = lengths.get(index) or span_length(seg, tokenizer, after_space=before[-1:].isspace())
                ids.extend([mask_id] * n)
                states.extend([TokenState.MASKED] * n)
                segment_of.extend([index] * n)
                spans.extend([None] * n)
                originals.extend([None] * n)
                index += 1
                continue
            end = index
            while end < len(segments) and not segments[end].editable:
                end += 1
            before_span = end < len(segments)
            for tok, seg_index, span in tokenize_run(segments, index, end, tokenizer, before_span):
                ids.append(tok)
                states.append(TokenState.FIXED if segments[seg_index].kind == "fixed" else TokenState.PINNED)
                segment_of.append(seg_index)
                spans.append(span)
                originals.append(tok)
            index = end
        return cls(segments, ids, states, segment_of, spans, originals, mask_id, case_map(plain_text(segments)))

    def copy(self) -> Canvas:
        return Canvas(self.segments, list(self.ids), list(self.states), self.segment_of, self.spans,
                      self.original_ids, self.mask_id, self.cases)

    # ----------------------------------------------------------------------------------------------- queries
    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, *states: TokenState) -> list[int]:
        return [i for i, s in enumerate(self.states) if s in states]

    @property
    def n_masked(self) -> int:
        return sum(1 for s in self.states if s == TokenState.MASKED)

    def renoise(self, strength: float, rng: random.Random) -> int:
        """SDEdit for text: mask ``strength`` of the non-pinned draft tokens (edit spans are masked already)."""
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be in [0, 1], got {strength}")
        candidates = self.positions(TokenState.FIXED)
        chosen = rng.sample(candidates, round(strength * len(candidates))) if candidates else []
        for i in chosen:
            self.ids[i] = self.mask_id
            self.states[i] = TokenState.MASKED
        return len(chosen)

    # ----------------------------------------------------------------------------------------------- rendering
    def render(self, tokenizer, mask_text: str = "▒") -> str:
        """The text of the canvas: untouched draft text verbatim, changed and generated positions spelled out."""
        by_segment: dict[int, list[int]] = {}
        for i, seg_index in enumerate(self.segment_of):
            by_segment.setdefault(seg_index, []).append(i)
        out: list[str] = []
        for index, seg in enumerate(self.segments):
            positions = by_segment.get(index, [])
            left = "".join(out)
            right = self._text_after(index)
            if seg.kind in ("fixed", "pinned"):
                out.append(self._splice(seg.text, positions, tokenizer, left, mask_text))
                continue
            text = self._edit_text(positions, tokenizer, left, right, mask_text)
            if out and text[:1] in ATTACHES_LEFT and not Spelling.of(tokenizer).word_pieces:
                # the model never saw the draft's white space before the span (from_segments leaves it out), and
                # its tokens carry their own spaces: a comma it put first attaches to the word before
                out[-1] = out[-1].rstrip(" \t")
            out.append(text)
        return "".join(out)

    def _text_after(self, index: int) -> str:
        for seg in self.segments[index + 1 :]:
            if seg.text:
                return seg.text
        return ""

    def _splice(self, text: str, positions: list[int], tokenizer, left: str, mask_text: str) -> str:
        """Original text with the character spans of changed tokens replaced by the new tokens."""
        spelling = Spelling.of(tokenizer)
        out: list[str] = []
        cursor = 0
        for k, i in enumerate(positions):
            if self.ids[i] == self.original_ids[i]:
                continue
            start, end = self.spans[i]
            start = max(start, cursor)  # byte-level pieces of one character share its span
            out.append(text[cursor:start])
            if self.states[i] == TokenState.MASKED:
                new = (" " if text[start:end][:1].isspace() else "") + mask_text
            else:
                nxt = positions[k + 1] if k + 1 < len(positions) else None
                new = spelling.respell(self.ids[i], text[start:end], before="".join(out)[-1:] or left[-1:],
                                       after=text[end : end + 1],
                                       next_continues=nxt is not None and spelling.continues_word(self.ids[nxt]),
                                       cases=self.cases)
            out.append(new)
            cursor = max(cursor, end)
        out.append(text[cursor:])
        return "".join(out)

    def _edit_text(self, positions: list[int], tokenizer, left: str, right: str, mask_text: str) -> str:
        spelling = Spelling.of(tokenizer)
        parts: list[str] = []
        run: list[int] = []
        for i in positions:  # generated runs are spelled together; each mask shows as mask_text
            if self.states[i] == TokenState.MASKED:
                if run:
                    parts.append(spelling.join(run, left=left + "".join(parts), right=mask_text,
                                               cases=self.cases, sentence_start=not parts and at_sentence_start(left)))
                    run = []
                parts.append((" " if parts else "") + mask_text)
            else:
                run.append(self.ids[i])
        if run:
            text = spelling.join(run, left=left + "".join(parts), right=right, cases=self.cases,
                                 sentence_start=not parts and at_sentence_start(left))
            parts.append((" " if parts and spelling.word_pieces and text[:1].isalnum() else "") + text)
        text = "".join(parts)
        if not text:
            return ""
        first, last = text[0], text[-1]
        if left and not left[-1].isspace() and left[-1] not in "([{\"“'‘/-" and (first.isalnum() or first == mask_text):
            text = " " + text
        if right and not right[0].isspace() and right[0] not in ".,;:!?)]}\"”'’/-" and last not in "([{\"“/-":
            text = text + " "
        return text

    def after_space(self, spaces_in_tokens: bool = False) -> list[bool]:
        """Per position: would its text be written straight after white space of the draft that stays? True for
        the first position of an edit span whose left text ends in white space, and for draft tokens (re-noised
        by strength) that have white space in front of them. A comma generated there renders as "word , next".

        ``spaces_in_tokens`` (byte-level BPE, SentencePiece): the white space before an edit span is the model's to
        write (the render drops the draft's there when the span starts with punctuation), so a span's first
        position is never marked."""
        out = [False] * len(self.ids)
        for i, span in enumerate(self.spans):
            index = self.segment_of[i]
            if span is not None and span[0] > 0:  # a draft token inside its segment
                out[i] = self.segments[index].text[: span[0]][-1:].isspace()
            elif span is None and spaces_in_tokens:
                continue
            elif span is not None or i == 0 or self.segment_of[i - 1] != index:  # first of a segment or of a span
                out[i] = self._kept_text_before(index)[-1:].isspace()
        return out

    def _kept_text_before(self, index: int) -> str:
        """The draft text that renders just before segment ``index`` ("" when an edit span comes first)."""
        if index == 0 or self.segments[index - 1].editable:
            return ""
        return self.segments[index - 1].text

    def surface_texts(self) -> list[str | None]:
        """Per position, the draft's own spelling (case kept, with the white space before it) for tokens that
        came from the draft; None for new positions."""
        out: list[str | None] = []
        for i, span in enumerate(self.spans):
            if span is None:
                out.append(None)
                continue
            index = self.segment_of[i]
            seg = self.segments[index]
            before = seg.text[: span[0]] if span[0] > 0 or index == 0 else self.segments[index - 1].text
            gap = before[len(before.rstrip()):]  # the white space in front of the token, maybe from the last segment
            out.append(gap + seg.text[span[0] : span[1]])
        return out


def span_length(seg: Segment, tokenizer, after_space: bool = True) -> int:
    """Token count of an edit span: insert length, explicit length, ratio of the original, or the original's.

    The original is counted as it reads in running text: for tokenizers whose tokens carry their leading space
    (byte-level BPE, SentencePiece), a span after white space is counted with that space, as the model will write
    it (" York" is one token where "York" is two)."""
    if seg.kind == "insert":
        return int(seg.length)
    if seg.length:
        return int(seg.length)
    text = seg.text
    if after_space and not Spelling.of(tokenizer).word_pieces and text[:1].isalnum():
        text = " " + text
    n = max(1, len(tokenizer(text, add_special_tokens=False)["input_ids"]))
    if seg.ratio:
        return max(1, round(n * seg.ratio))
    return n


def tokenize_run(segments: list[Segment], start: int, end: int, tokenizer, strip_tail: bool
                 ) -> list[tuple[int, int, tuple[int, int]]]:
    """Tokens of the draft segments ``start..end-1`` (none editable) as ``(id, segment index, character span in
    that segment)``. Tokenised together; a token is assigned to the segment of its last character (a BPE token's
    leading space may sit in the segment before). Where a token would straddle two segments' words (a pin inside a
    word), each segment is tokenised on its own instead."""
    texts = [segments[k].text for k in range(start, end)]
    if strip_tail:
        texts[-1] = texts[-1].rstrip()
    bounds, pos = [], 0
    for text in texts:
        bounds.append((pos, pos + len(text)))
        pos += len(text)
    joined = "".join(texts)
    enc = tokenizer(joined, add_special_tokens=False, return_offsets_mapping=True)
    out = []
    for tok, (a, b) in zip(enc["input_ids"], enc["offset_mapping"]):
        k = next((k for k, (lo, hi) in enumerate(bounds) if lo < b <= hi), None)
        if k is None or (a < bounds[k][0] and joined[a : bounds[k][0]].strip()):
            break  # straddles two segments' words
        lo = bounds[k][0]
        out.append((tok, start + k, (max(a, lo) - lo, b - lo)))
    else:
        return out
    out = []
    for k, text in enumerate(texts):
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        out += [(tok, start + k, tuple(span)) for tok, span in zip(enc["input_ids"], enc["offset_mapping"])]
    return out
