"""Lexical constraints during denoising: words that must appear in the edited spans, and words that must not.

Required words (:class:`RequireWords`). At every step each unplaced word (its full token sequence, multi-token words
and phrases included) is scored at every run of still-masked positions that can hold it, by the sum of the model's
log-probabilities of its tokens there. The best run is committed as soon as the word's mean token probability there
reaches ``confidence``, or at the latest once ``place_by`` of the steps have passed, so the rest of the span forms
around it. A word the model writes by itself is accepted where it stands. Placed words are locked (never remasked,
never changed by other hooks). Should the commits of a step leave too little masked room for the words still
unplaced, or the run end early, they are written over generated tokens at their best-scoring positions: when the
spans have room, every required word appears. When they have not, :func:`check_room` says so before anything runs.

Banned words (:class:`BanWords`). Every single-token spelling (any case) is removed from the logits at every
position; a word piece that would complete a banned word after an already committed prefix is removed too; and after
every commit the canvas is scanned word by word (pieces joined, lower-cased), so any other subword spelling, or a
banned phrase, that still forms is repaired at once by replacing its least likely generated token with the best
alternative that forms no banned word. Banned words therefore never appear in generated text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from dllm_core.canvas import Canvas, TokenState
from dllm_core.hooks import SamplerHook
from dllm_core.state import SamplerState

from .common import PieceTable, editable_runs


class ConstraintError(ValueError):
    """Constraints that cannot be met (no room for the required words, a word both required and banned...)."""


def normalise_words(words) -> list[str]:
    out = []
    for w in words or ():
        w = " ".join(str(w).split())
        if w and w.lower() not in (o.lower() for o in out):
            out.append(w)
    return out


def packs(sizes: list[int], runs: list[int]) -> bool:
    """Whether items of ``sizes`` fit without overlap into runs of the given lengths (exact, small inputs)."""
    sizes = sorted(sizes, reverse=True)
    free = sorted(runs, reverse=True)

    def place(i: int) -> bool:
        if i == len(sizes):
            return True
        tried = set()
        for j, room in enumerate(free):
            if room >= sizes[i] and room not in tried:
                tried.add(room)
                free[j] -= sizes[i]
                if place(i + 1):
                    free[j] += sizes[i]
                    return True
                free[j] += sizes[i]
        return False

    return place(0)


def check_room(canvas: Canvas, tokenizer, require, ban=()) -> None:
    """Raise :class:`ConstraintError` (a user-facing message) when the constraints cannot all hold on ``canvas``."""
    require, ban = normalise_words(require), normalise_words(ban)
    table = PieceTable(tokenizer)
    banned = {b.lower() for b in ban}
    for word in require:
        lowered = word.lower()
        if lowered in banned or any(re.search(rf"\b{re.escape(b)}\b", lowered) for b in banned):
            raise ConstraintError(f"{word!r} is both required and banned")
    sizes = [len(table.encode_word(w)) for w in require]
    editable = torch.tensor([s == TokenState.MASKED for s in canvas.states])
    runs = [len(r) for r in editable_runs(editable)]
    if sizes and not packs(sizes, runs):
        need = ", ".join(f"{w!r} ({n} token{'s' * (n > 1)})" for w, n in zip(require, sizes))
        have = " + ".join(str(r) for r in runs) or "0"
        raise ConstraintError(f"the edited spans have no room for the required words: they need {need}, the spans "
                              f"hold {have} tokens; make a span longer (e.g. [[words|N]]) or require fewer words")


@dataclass
class _Word:
    text: str
    ids: list[int]


class RequireWords(SamplerHook):
    """Make every word of ``words`` appear in the edited spans (see the module docstring)."""

    def __init__(self, tokenizer, words, *, confidence: float = 0.3, place_by: float = 0.35,
                 table: PieceTable | None = None):
        self.table = table or PieceTable(tokenizer)
        self.words = [_Word(w, self.table.encode_word(w)) for w in normalise_words(words)]
        self.confidence = confidence
        self.place_by = place_by

    # ------------------------------------------------------------------------------------------------ state
    def start(self, state: SamplerState) -> None:
        self.placed: list[dict[int, list[int]]] = [{} for _ in state.canvases]  # word index -> positions
        self.locked: list[dict[int, int]] = state.locked  # placed words: position -> token id, shared with hooks
        sizes = [len(w.ids) for w in self.words]
        for b in range(len(state.canvases)):
            runs = [len(r) for r in editable_runs(state.editable[b])]
            if sizes and not packs(sizes, runs):
                raise ConstraintError("the edited spans have no room for the required words "
                                      f"({', '.join(w.text for w in self.words)})")

    def _lock(self, state: SamplerState, b: int, k: int, start: int, how: str) -> None:
        word = self.words[k]
        positions = list(range(start, start + len(word.ids)))
        for p, tok in zip(positions, word.ids):
            state.tokens[b, p] = tok
            state.states[b, p] = TokenState.GENERATED
            self.locked[b][p] = tok
        self.placed[b][k] = positions
        state.step_signals(b).setdefault("placed", []).append({"word": word.text, "position": start, "how": how})

    def _free_runs(self, state: SamplerState, b: int, masked_only: bool) -> list[list[int]]:
        ok = state.editable[b].clone()
        for p in self.locked[b]:
            ok[p] = False
        if masked_only:
            ok &= state.states[b] == TokenState.MASKED
        return editable_runs(ok)

    def _unplaced(self, b: int) -> list[int]:
        return [k for k in range(len(self.words)) if k not in self.placed[b]]

    def _best(self, state, b, k, logp, row_of, runs, others: list[int]) -> tuple[float, int] | None:
        """Best (mean log-prob, start) for word k inside ``runs`` leaving room for the words ``others``."""
        ids = self.words[k].ids
        n = len(ids)
        best = None
        other_sizes = [len(self.words[o].ids) for o in others]
        lengths = [len(r) for r in runs]
        for r_index, run in enumerate(runs):
            for i in range(len(run) - n + 1):
                after = run[i + n - 1] + 1
                if after < state.tokens.shape[1] and state.tokens[b, after] >= 0 and \
                        state.states[b, after] != TokenState.MASKED and not self.table.starts[int(state.tokens[b, after])]:
                    continue  # the next token continues a word: placing here would glue the two
                rows = [row_of.get(p) for p in run[i : i + n]]
                if any(r is None for r in rows):
                    continue
                score = float(sum(logp[r, t] for r, t in zip(rows, ids))) / n
                if best is not None and score <= best[0]:
                    continue
                rest = lengths[:r_index] + [i, len(run) - i - n] + lengths[r_index + 1 :]
                if other_sizes and not packs(other_sizes, rest):
                    continue
                best = (score, run[i])
        return best

    # ------------------------------------------------------------------------------------------------ hooks
    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        if not self.words:
            return logits
        row_of = [{} for _ in state.canvases]
        for r, (b, p) in enumerate(zip(state.query_rows.tolist(), state.query_pos.tolist())):
            row_of[b][p] = r
        logp = torch.log_softmax(logits, dim=-1)
        for b in range(len(state.canvases)):
            todo = self._unplaced(b)
            while todo:
                runs = self._free_runs(state, b, masked_only=True)
                options = []
                for k in todo:
                    best = self._best(state, b, k, logp, row_of[b], runs, [o for o in todo if o != k])
                    if best is not None:
                        options.append((best[0], k, best[1]))
                if not options:
                    break  # no masked room left this step: adjust_tokens writes over generated tokens
                score, k, start = max(options)
                if score < torch.log(torch.tensor(self.confidence)) and state.progress < self.place_by:
                    break
                self._lock(state, b, k, start, "placed")
                todo.remove(k)
        self._enforce(state, logits, row_of)
        return logits

    def _enforce(self, state: SamplerState, logits: torch.Tensor, row_of) -> None:
        """Locked positions propose their own token with certainty; the position after a word cannot continue it."""
        for b in range(len(state.canvases)):
            for p, tok in self.locked[b].items():
                r = row_of[b].get(p)
                if r is not None:
                    logits[r] = float("-inf")
                    logits[r, tok] = 0.0
            for positions in self.placed[b].values():
                r = row_of[b].get(positions[-1] + 1)
                if r is not None and positions[-1] + 1 not in self.locked[b]:
                    logits[r, self.table.continuation_ids] = float("-inf")

    def adjust_tokens(self, state: SamplerState) -> None:
        if not self.words:
            return
        for b in range(len(state.canvases)):
            for p, tok in self.locked[b].items():  # self-correction must not undo a placement
                state.tokens[b, p] = tok
                state.states[b, p] = TokenState.GENERATED
            self._accept_natural(state, b)
            todo = self._unplaced(b)
            if not todo:
                continue
            masked_runs = self._free_runs(state, b, masked_only=True)
            sizes = [len(self.words[k].ids) for k in todo]
            out_of_time = state.step >= state.steps - 1 or not any(masked_runs)
            if out_of_time or not packs(sizes, [len(r) for r in masked_runs]):
                self._force(state, b, todo, masked_runs)

    def _accept_natural(self, state: SamplerState, b: int) -> None:
        """A required word the model wrote by itself, in generated positions, counts: lock it where it stands."""
        n = int((state.tokens[b] >= 0).sum())
        ids = state.tokens[b, :n].tolist()
        gen = (state.states[b, :n] == TokenState.GENERATED) & state.editable[b, :n]
        for k in self._unplaced(b):
            word = self.words[k].ids
            m = len(word)
            for i in range(n - m + 1):
                if ids[i : i + m] != word or not bool(gen[i : i + m].all()):
                    continue
                if any(p in self.locked[b] for p in range(i, i + m)):
                    continue
                if i + m < n and not self.table.starts[ids[i + m]] and state.states[b, i + m] != TokenState.MASKED:
                    continue
                self._lock(state, b, k, i, "model")
                break

    def _force(self, state: SamplerState, b: int, todo: list[int], masked_runs) -> None:
        """Place the remaining words now, preferring masked room, else writing over generated tokens."""
        row_of = {p: r for r, (bb, p) in enumerate(zip(state.query_rows.tolist(), state.query_pos.tolist()))
                  if bb == b}
        logp = torch.log(state.probs.clamp_min(1e-30))
        for k in sorted(todo, key=lambda k: -len(self.words[k].ids)):
            rest = [o for o in self._unplaced(b) if o != k]
            best = self._best(state, b, k, logp, row_of, self._free_runs(state, b, masked_only=True), rest)
            if best is None:
                best = self._best(state, b, k, logp, row_of, self._free_runs(state, b, masked_only=False), rest)
            if best is None:  # only a position followed by a word piece is left: take it and fix the piece
                best = self._best_any(state, b, k, logp, row_of)
            start = best[1]
            self._lock(state, b, k, start, "forced")
            self._fix_after(state, b, start + len(self.words[k].ids), logp, row_of)

    def _best_any(self, state, b, k, logp, row_of):
        n = len(self.words[k].ids)
        best = None
        for run in self._free_runs(state, b, masked_only=False):
            for i in range(len(run) - n + 1):
                score = float(sum(logp[row_of[p], t] for p, t in zip(run[i : i + n], self.words[k].ids))) / n
                if best is None or score > best[0]:
                    best = (score, run[i])
        if best is None:
            raise ConstraintError(f"no room left for the required word {self.words[k].text!r}")
        return best

    def _fix_after(self, state, b, p, logp, row_of) -> None:
        """If the token after a placed word is a generated word piece, replace it by the best word start."""
        if p >= state.tokens.shape[1] or state.tokens[b, p] < 0 or p in self.locked[b]:
            return
        if state.states[b, p] != TokenState.GENERATED or self.table.starts[int(state.tokens[b, p])]:
            return
        scores = logp[row_of[p]].clone()
        scores[self.table.continuation_ids] = float("-inf")
        state.tokens[b, p] = int(scores.argmax())


class BanWords(SamplerHook):
    """Never let any word of ``words`` (or phrase) form in generated text, in any spelling or case."""

    def __init__(self, tokenizer, words, *, table: PieceTable | None = None):
        self.table = table or PieceTable(tokenizer)
        self.tokenizer = tokenizer
        self.phrases = [tuple(w.lower().split()) for w in normalise_words(words)]
        self.single_words = {p[0] for p in self.phrases if len(p) == 1}
        self.first_words = {p[0] for p in self.phrases}
        # a banned word as one piece: with its word marker, and (byte-level BPE) without it, as it is written
        # straight after a quote or bracket ('"' + 'The'); the bare piece is then banned everywhere, which only
        # keeps a few other words from ending in it
        ids = [i for i, text in enumerate(self.table.text) if text in self.single_words
               and (self.table.starts[i] or self.table.split_after_punctuation)]
        self.single_ids = torch.tensor(ids, dtype=torch.long)
        # word piece id by text, to stop a piece that would complete a banned word after a committed prefix
        self.piece_id = {text: i for i, text in enumerate(self.table.text) if not self.table.starts[i] and text}

    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        if not self.phrases:
            return logits
        if len(self.single_ids):
            logits[:, self.single_ids] = float("-inf")
        masked = state.states[state.query_rows, state.query_pos] == TokenState.MASKED
        for r in masked.nonzero().flatten().tolist():
            b, p = int(state.query_rows[r]), int(state.query_pos[r])
            prefix = self._prefix_before(state, b, p)
            if not prefix:
                continue
            for word in self.single_words:
                if word.startswith(prefix) and len(word) > len(prefix):
                    piece = self.piece_id.get(word[len(prefix) :])
                    if piece is not None:
                        logits[r, piece] = float("-inf")
        return logits

    def _prefix_before(self, state, b, p) -> str:
        """Text of the committed word that ends just before position ``p`` (empty if p starts a word)."""
        parts = []
        q = p - 1
        while q >= 0 and state.states[b, q] != TokenState.MASKED:
            tok = int(state.tokens[b, q])
            parts.append(self.table.text[tok])
            if self.table.starts[tok]:
                return "".join(reversed(parts))
            q -= 1
        return ""

    def violations(self, ids: list[int]) -> list[tuple[int, int]]:
        """Token index ranges [start, end) of banned words or phrases in ``ids``."""
        words = self.table.words(ids)
        out = []
        for w, (start, _, text) in enumerate(words):
            if text not in self.first_words:
                continue
            for phrase in self.phrases:
                if tuple(x[2] for x in words[w : w + len(phrase)]) == phrase:
                    out.append((start, words[w + len(phrase) - 1][1]))
        return out

    def adjust_tokens(self, state: SamplerState) -> None:
        if not self.phrases:
            return
        locked = state.locked
        row_of = {(b, p): r for r, (b, p) in enumerate(zip(state.query_rows.tolist(), state.query_pos.tolist()))}
        for b in range(len(state.canvases)):
            for _ in range(64):  # each repair removes one violation; a few rounds at most in practice
                n = int((state.tokens[b] >= 0).sum())
                ids = [t if s != TokenState.MASKED else -2 for t, s in
                       zip(state.tokens[b, :n].tolist(), state.states[b, :n].tolist())]
                found = [v for v in self._visible(ids) if self._repairable(state, b, v, locked[b])]
                if not found:
                    break
                self._repair(state, b, found[0], locked[b], row_of)

    def _visible(self, ids: list[int]) -> list[tuple[int, int]]:
        """Violations among committed tokens (masked positions split the sequence)."""
        out, start = [], 0
        for i in range(len(ids) + 1):
            if i == len(ids) or ids[i] == -2:
                out += [(s + start, e + start) for s, e in self.violations(ids[start:i])]
                start = i + 1
        return out

    @staticmethod
    def _repairable(state, b, v, locked_b) -> bool:
        return any(state.states[b, p] == TokenState.GENERATED and p not in locked_b for p in range(*v))

    def _repair(self, state, b, v, locked_b, row_of) -> None:
        positions = [p for p in range(*v) if state.states[b, p] == TokenState.GENERATED and p not in locked_b]
        probs = state.probs
        conf = [float(probs[row_of[(b, p)], state.tokens[b, p]]) if (b, p) in row_of else 0.0 for p in positions]
        p = positions[min(range(len(positions)), key=conf.__getitem__)]
        old = int(state.tokens[b, p])
        scores = probs[row_of[(b, p)]].clone() if (b, p) in row_of else torch.zeros(probs.shape[1])
        scores[old] = -1.0
        if len(self.single_ids):
            scores[self.single_ids] = -1.0
        lo, hi = max(0, v[0] - 3), min(int((state.tokens[b] >= 0).sum()), v[1] + 3)
        for cand in scores.topk(64).indices.tolist():
            state.tokens[b, p] = cand
            window = [t if s != TokenState.MASKED else -2 for t, s in
                      zip(state.tokens[b, lo:hi].tolist(), state.states[b, lo:hi].tolist())]
            if not self._visible(window) and cand not in self.table.tokenizer.all_special_ids:
                state.step_signals(b).setdefault("ban_repairs", []).append(p)
                return
        state.tokens[b, p] = old  # pragma: no cover - 64 alternatives all forming a banned word
