"""How a tokenizer spells text: the one place that knows WordPiece's ``##``, byte-level BPE's ``Ġ`` and
SentencePiece's ``▁``.

Two families:
- **word pieces** (WordPiece, uncased BERT vocabularies): tokens carry no spaces; ``##x`` continues a word. Generated
  runs are joined by :func:`dllm_core.detok.detokenize` (punctuation spacing, quotes) and, when the tokenizer lower-
  cases, get sentence capitals, "I" and the draft's own capitals back.
- **decoders** (byte-level BPE as in SmolLM2, LLaDA, Dream; SentencePiece): tokens carry their own leading space, so
  generated text is the tokenizer's own decoding of the run and the model's spacing and casing are kept as written.
"""

from __future__ import annotations

from .detok import NO_SPACE_BEFORE, apply_case, detokenize

# characters that attach to the word before them: "word," not "word ,"
ATTACHES_LEFT = frozenset(",.;:!?)]}%'’”")
WORD_MARKERS = ("Ġ", "▁")  # byte-level BPE and SentencePiece mark a word start; WordPiece marks a continuation
_CACHE: dict[int, Spelling] = {}


class Spelling:
    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        backend = getattr(tokenizer, "backend_tokenizer", None)
        model = type(backend.model).__name__ if backend is not None else ""
        self.word_pieces = model == "WordPiece" or (not backend and "##" in "".join(list(tokenizer.get_vocab())[:2000]))
        normalizer = str(getattr(backend, "normalizer", "")) if backend is not None else ""
        self.uncased = "lowercase=True" in normalizer or bool(getattr(tokenizer, "do_lower_case", False))

    @classmethod
    def of(cls, tokenizer) -> Spelling:
        key = id(tokenizer)
        found = _CACHE.get(key)
        if found is None or found.tokenizer is not tokenizer:
            found = _CACHE[key] = cls(tokenizer)
        return found

    # --------------------------------------------------------------------------------------------- tokens
    def piece(self, token_id: int) -> str:
        """One token as display text, with a leading space when it starts a new word: ``##ing`` -> ``ing``,
        ``cat`` (WordPiece) -> `` cat``, ``,`` -> ``,``, ``Ġsat`` -> `` sat``, ``▁sat`` -> `` sat``."""
        if self.word_pieces:
            tok = self.tokenizer.convert_ids_to_tokens(int(token_id))
            if tok.startswith("##"):
                return tok[2:]
            return tok if tok in NO_SPACE_BEFORE else " " + tok
        return self.tokenizer.decode([int(token_id)], clean_up_tokenization_spaces=False)

    def pieces(self, ids: list[int]) -> list[str]:
        return [self.piece(i) for i in ids]

    def line_break_ids(self) -> list[int]:
        """Ids of tokens that write a line break (byte-level ``Ċ``, SentencePiece ``<0x0A>``, a literal newline)."""
        return sorted(i for tok, i in self.tokenizer.get_vocab().items()
                      if "Ċ" in tok or "\n" in tok or tok == "<0x0A>")

    def continues_word(self, token_id: int) -> bool:
        """Whether the token glues onto the word before it (``##ing``; a BPE token without a leading space that
        starts with a letter or digit)."""
        if self.word_pieces:
            return self.tokenizer.convert_ids_to_tokens(int(token_id)).startswith("##")
        text = self.piece(token_id)
        return bool(text) and not text[0].isspace() and text[0].isalnum()

    # --------------------------------------------------------------------------------------------- runs
    def join(self, ids: list[int], *, left: str, right: str, cases: dict[str, str] | None = None,
             sentence_start: bool = False) -> str:
        """Text for a run of generated tokens written between ``left`` and ``right`` (the draft around it),
        without the white space that the draft itself already has on either side."""
        if self.word_pieces:
            tokens = [self.tokenizer.convert_ids_to_tokens(int(i)) for i in ids]
            return detokenize(tokens, sentence_start=sentence_start and self.uncased,
                              cases=cases if self.uncased else {})
        text = self.tokenizer.decode([int(i) for i in ids], clean_up_tokenization_spaces=False)
        if not left or left[-1].isspace():
            text = text.lstrip(" ")
        if right[:1].isspace() or not right:
            text = text.rstrip(" ")
        return text

    def respell(self, token_id: int, old: str, *, before: str, after: str, next_continues: bool,
                cases: dict[str, str]) -> str:
        """Text for one draft token that strength re-noising replaced; ``old`` is the draft's text there."""
        if not self.word_pieces:  # the token carries its own space, and the draft's offsets include it
            new = self.piece(token_id)
            if (not before or before[-1].isspace()) and new[:1] == " ":
                new = new[1:]
            return new
        new = self.piece(token_id).lstrip(" ")
        glued = self.continues_word(token_id)
        if new[:1].isalnum() and not glued:
            if before[-1:].isalnum():
                new = " " + new  # a whole word replacing a word piece or punctuation: separate it
            if after[:1].isalnum() and not next_continues:
                new = new + " "
        if self.uncased:
            if new.strip() and old[:1].isupper():
                stripped = new.lstrip()
                new = new[: len(new) - len(stripped)] + stripped[:1].upper() + stripped[1:]
            elif new.strip()[:1].isalpha():
                stripped = new.strip()
                new = new.replace(stripped, apply_case(stripped, False, cases))
        return new
