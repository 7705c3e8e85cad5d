"""Small helpers shared by the guidance hooks: words made of token pieces, and runs of editable positions."""

from __future__ import annotations

import torch

from dllm_core.spelling import WORD_MARKERS, Spelling


JOINERS = ("-", "'", "’")  # punctuation that stays inside a word


class PieceTable:
    """For every vocabulary id: its text without markers (lower-cased) and whether it starts a new word.

    WordPiece (``##ing`` continues a word), byte-level BPE (``Ġword`` starts one) and SentencePiece (``▁word``) are
    handled; special tokens count as word starts with empty text.
    """

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        vocab = tokenizer.get_vocab()
        size = max(vocab.values()) + 1
        self.text = [""] * size
        self.starts = [True] * size
        spelling = Spelling.of(tokenizer)
        marker_style = any(tok.startswith(WORD_MARKERS) for tok in list(vocab)[:5000])
        special = set(tokenizer.all_special_ids)
        # byte-level BPE writes a word straight after an opening quote or bracket without its space marker
        # ('"' + 'The'): there a piece starts a word when the text before it ends in punctuation
        self.split_after_punctuation = marker_style and not spelling.word_pieces
        for tok, i in vocab.items():
            if i in special:
                continue
            if spelling.word_pieces:  # the spelling knows which pieces continue a word, and their text
                self.text[i], self.starts[i] = spelling.piece(i).strip().lower(), not spelling.continues_word(i)
            elif marker_style:
                starts = tok.startswith(WORD_MARKERS)
                self.text[i], self.starts[i] = tok.lstrip("".join(WORD_MARKERS)).lower(), starts
            else:
                self.text[i] = tok.lower()
        self.continuation_ids = torch.tensor([i for i in range(size) if not self.starts[i]], dtype=torch.long)

    def encode_word(self, word: str) -> list[int]:
        """Token ids of ``word`` (or phrase) as the tokenizer spells it mid-sentence."""
        ids = self.tokenizer(" " + word.strip(), add_special_tokens=False)["input_ids"]
        if not ids:
            raise ValueError(f"{word!r} has no tokens")
        return ids

    def joins(self, before: str, tok: int) -> bool:
        """Whether piece ``tok`` continues the word whose text so far is ``before``. Byte-level BPE glues
        punctuation and the word after an opening quote or bracket without a space marker ('song' + ',', '"' +
        'The'): there punctuation is a word of its own and a piece after it starts a word, except hyphens and
        apostrophes ("what-not", "don't")."""
        if self.starts[tok]:
            return False
        piece = self.text[tok]
        if not self.split_after_punctuation or not piece or not before:
            return True
        if not any(c.isalnum() for c in piece):
            return piece in JOINERS
        return before[-1].isalnum() or before[-1] in JOINERS

    def words(self, ids: list[int]) -> list[tuple[int, int, str]]:
        """Split a token sequence into words: (first index, end index, lower-cased text)."""
        out: list[tuple[int, int, str]] = []
        for i, tok in enumerate(ids):
            if tok < 0:
                break
            if out and self.joins(out[-1][2], tok):
                s, _, text = out[-1]
                out[-1] = (s, i + 1, text + self.text[tok])
            else:
                out.append((i, i + 1, self.text[tok]))
        return out


def editable_runs(editable_row: torch.Tensor) -> list[list[int]]:
    """Contiguous runs of editable positions of one canvas."""
    runs: list[list[int]] = []
    for p in editable_row.nonzero().flatten().tolist():
        if runs and runs[-1][-1] == p - 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs
