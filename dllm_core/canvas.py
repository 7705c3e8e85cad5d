"""The canvas: a tokenised draft in which every position is fixed, pinned, masked or generated.

A canvas keeps, for every token that came from the draft, which segment it came from and its character span there,
so that rendering reproduces all text outside the edited spans, and every pinned word, character for character;
only positions the sampler changed are re-spelled.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import IntEnum

from .detok import apply_case, at_sentence_start, case_map, detokenize
from .markup import Segment, parse, plain_text


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
        """``lengths`` overrides the token count of edit spans by segment index (used by auto length)."""
        lengths = lengths or {}
        ids: list[int] = []
        states: list[TokenState] = []
        segment_of: list[int] = []
        spans: list[tuple[int, int] | None] = []
        originals: list[int | None] = []
        for index, seg in enumerate(segments):
            if seg.kind in ("fixed", "pinned"):
                enc = tokenizer(seg.text, add_special_tokens=False, return_offsets_mapping=True)
                state = TokenState.FIXED if seg.kind == "fixed" else TokenState.PINNED
                for tok, span in zip(enc["input_ids"], enc["offset_mapping"]):
                    ids.append(tok)
                    states.append(state)
                    segment_of.append(index)
                    spans.append(tuple(span))
                    originals.append(tok)
                continue
            n = lengths.get(index) or span_length(seg, tokenizer)
            ids.extend([tokenizer.mask_token_id] * n)
            states.extend([TokenState.MASKED] * n)
            segment_of.extend([index] * n)
            spans.extend([None] * n)
            originals.extend([None] * n)
        return cls(segments, ids, states, segment_of, spans, originals, tokenizer.mask_token_id,
                   case_map(plain_text(segments)))

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
            else:
                out.append(self._edit_text(positions, tokenizer, left, right, mask_text))
        return "".join(out)

    def _text_after(self, index: int) -> str:
        for seg in self.segments[index + 1 :]:
            if seg.text:
                return seg.text
        return ""

    def _token_text(self, i: int, tokenizer, mask_text: str) -> str:
        if self.states[i] == TokenState.MASKED:
            return mask_text
        return tokenizer.convert_ids_to_tokens(self.ids[i])

    def _splice(self, text: str, positions: list[int], tokenizer, left: str, mask_text: str) -> str:
        """Original text with the character spans of changed tokens replaced by the new tokens."""
        out: list[str] = []
        cursor = 0
        for k, i in enumerate(positions):
            if self.ids[i] == self.original_ids[i]:
                continue
            start, end = self.spans[i]
            out.append(text[cursor:start])
            old = text[start:end]
            new = self._token_text(i, tokenizer, mask_text)
            glued = new.startswith("##")
            new = new[2:] if glued else new
            if new[:1].isalnum() and not glued:
                before = "".join(out)[-1:] or left[-1:]
                if before.isalnum():
                    new = " " + new  # a whole word replacing a word piece or punctuation: separate it
                nxt = positions[k + 1] if k + 1 < len(positions) else None
                next_is_piece = nxt is not None and tokenizer.convert_ids_to_tokens(self.ids[nxt]).startswith("##")
                if text[end : end + 1].isalnum() and not next_is_piece:
                    new = new + " "
            if new.strip() and old[:1].isupper():
                stripped = new.lstrip()
                new = new[: len(new) - len(stripped)] + stripped[:1].upper() + stripped[1:]
            elif new.strip()[:1].isalpha():
                stripped = new.strip()
                new = new.replace(stripped, apply_case(stripped, False, self.cases))
            out.append(new)
            cursor = end
        out.append(text[cursor:])
        return "".join(out)

    def _edit_text(self, positions: list[int], tokenizer, left: str, right: str, mask_text: str) -> str:
        tokens = [self._token_text(i, tokenizer, mask_text) for i in positions]
        text = detokenize(tokens, sentence_start=at_sentence_start(left), cases=self.cases)
        if not text:
            return ""
        first, last = text[0], text[-1]
        if left and not left[-1].isspace() and left[-1] not in "([{\"“'‘/-" and (first.isalnum() or first == mask_text):
            text = " " + text
        if right and not right[0].isspace() and right[0] not in ".,;:!?)]}\"”'’/-" and last not in "([{\"“/-":
            text = text + " "
        return text

    def after_space(self) -> list[bool]:
        """Per position: would its text be written straight after white space of the draft that stays? True for
        the first position of an edit span whose left text ends in white space, and for draft tokens (re-noised
        by strength) that have white space in front of them. A comma generated there renders as "word , next"."""
        out = [False] * len(self.ids)
        for i, span in enumerate(self.spans):
            index = self.segment_of[i]
            if span is not None and span[0] > 0:  # a draft token inside its segment
                out[i] = self.segments[index].text[: span[0]][-1:].isspace()
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


def span_length(seg: Segment, tokenizer) -> int:
    """Token count of an edit span: insert length, explicit length, ratio of the original, or the original's."""
    if seg.kind == "insert":
        return int(seg.length)
    if seg.length:
        return int(seg.length)
    n = max(1, len(tokenizer(seg.text, add_special_tokens=False)["input_ids"]))
    if seg.ratio:
        return max(1, round(n * seg.ratio))
    return n
