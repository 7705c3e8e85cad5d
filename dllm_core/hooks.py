"""Hooks: the one way into the denoising loop (guidance, constraints, and the engine's own default rules).

A hook sees the :class:`~dllm_core.state.SamplerState` and may change the logits before the scheduler chooses
tokens (:meth:`SamplerHook.adjust_logits`), and the tokens after it has committed (:meth:`SamplerHook.adjust_tokens`).
Every run also has the default hooks of :func:`default_hooks`: the repetition penalty (when configured) before the
caller's hooks, and after them the writing rules (:class:`NoAdjacentRepeat`, :class:`NoLineBreakInSentence`;
``SamplerConfig.writing_rules``, on by default) and the formatting rule :class:`NoClosingAfterSpace`.
"""

from __future__ import annotations

import torch
from transformers import RepetitionPenaltyLogitsProcessor

from .adapter import ModelAdapter
from .canvas import TokenState
from .config import SamplerConfig
from .spelling import Spelling
from .state import SamplerState


class SamplerHook:
    """Base class for guidance. Override what you need; every method is called once per step for the batch."""

    #: True when :meth:`adjust_logits` works on logits wherever the model put them (e.g. on a GPU); hooks that
    #: index them with host tensors keep the default, and then the sampler hands every hook host tensors
    on_device: bool = False

    def start(self, state: SamplerState) -> None:
        """Called once before the first step (after re-noising)."""

    def extra_tokens(self, state: SamplerState) -> torch.Tensor | None:
        """(B, N) variants of ``state.tokens`` that need logits at the same positions (e.g. classifier-free
        guidance's unconditional canvases). They go through the model in the same forward pass as the canvases;
        their (E, V) logits are in ``state.extra_logits[self]`` when :meth:`adjust_logits` runs."""
        return None

    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        """``logits`` is (E, V) for ``state.query_rows`` / ``state.query_pos``; return the adjusted tensor."""
        return logits

    def adjust_tokens(self, state: SamplerState) -> None:
        """May change ``state.tokens`` / ``state.states`` after the commit (never PINNED or FIXED positions)."""


class RepetitionPenalty(SamplerHook):
    """CTRL-style repetition penalty: tokens already generated in a canvas's edited positions become less likely
    there (positive logits divided by ``penalty``, negative ones multiplied). Weak models otherwise tend to fill
    parallel slots with the same frequent words ("the area of the area").

    The arithmetic is transformers' ``RepetitionPenaltyLogitsProcessor``; what counts as "already generated" is
    ours: a diffusion canvas has no prefix of earlier tokens, so every logits row is penalised by the tokens
    generated so far anywhere in the edited positions of its own canvas (never the draft's fixed or pinned text).
    """

    def __init__(self, penalty: float):
        self.processor = RepetitionPenaltyLogitsProcessor(float(penalty))

    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        vocab = logits.shape[1]
        generated = state.states == TokenState.GENERATED
        per_canvas = [state.tokens[b][generated[b]] for b in range(len(state.tokens))]
        width = max(1, max(len(ids) for ids in per_canvas))
        # rows padded with the id one past the vocabulary, which the processor ignores
        seen = torch.full((len(per_canvas), width), vocab, dtype=torch.long)
        for b, ids in enumerate(per_canvas):
            seen[b, : len(ids)] = ids
        return self.processor(seen[state.query_rows].to(logits.device), logits)


class NoClosingAfterSpace(SamplerHook):
    """No comma, full stop or closing bracket straight after white space that the draft keeps: the renderer keeps
    the draft's characters, so it would come out as "Meanwhile , the". Runs after every other hook."""

    on_device = True

    def __init__(self, adapter: ModelAdapter):
        self.closing = adapter.closing_ids
        self.spaces_in_tokens = not Spelling.of(adapter.tokenizer).word_pieces

    def start(self, state: SamplerState) -> None:
        self.after_space = torch.zeros(state.tokens.shape, dtype=torch.bool)  # (B, N)
        for b, canvas in enumerate(state.canvases):
            self.after_space[b, : len(canvas)] = torch.tensor(canvas.after_space(self.spaces_in_tokens), dtype=torch.bool)

    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        rows = self.after_space[state.query_rows, state.query_pos].nonzero().flatten()
        if len(rows) and len(self.closing):
            logits[rows.to(logits.device)[:, None], self.closing.to(logits.device)[None, :]] = float("-inf")
        return logits


class NoAdjacentRepeat(SamplerHook):
    """A generated token never repeats the token right before or after it ("the the", ",,", "programs programs").
    Parallel decoding fills neighbouring slots from nearly the same context, so small denoisers otherwise stutter;
    real prose almost never repeats a token in place."""

    on_device = True

    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        rows, pos = state.query_rows, state.query_pos
        n = state.tokens.shape[1]
        for step in (-1, 1):
            near = (pos + step).clamp(0, n - 1)
            token = state.tokens[rows, near]
            decided = ((pos + step >= 0) & (pos + step < n) & (token >= 0)
                       & (state.states[rows, near] != TokenState.MASKED))
            hit = decided.nonzero().flatten()
            if len(hit):
                logits[hit.to(logits.device), token[hit].to(logits.device)] = float("-inf")
        return logits


class NoLineBreakInSentence(SamplerHook):
    """A span rewritten or inserted inside a paragraph gets no line breaks unless the text it replaces had one;
    text generated at the very end of the draft (free generation) may break lines."""

    on_device = True

    def __init__(self, line_break_ids: torch.Tensor):
        self.line_break_ids = line_break_ids
        self.allowed: torch.Tensor | None = None

    def start(self, state: SamplerState) -> None:
        """Per position to write: may a line break go there?"""
        self.allowed = torch.ones(state.tokens.shape, dtype=torch.bool)
        for b, canvas in enumerate(state.canvases):
            # spans from the last segment with text on are free generation at the end of the draft
            tail = max((k for k, seg in enumerate(canvas.segments) if seg.text.strip()), default=-1)
            surface = None
            for i in (state.states[b] == TokenState.MASKED).nonzero().flatten().tolist():
                index = canvas.segment_of[i]
                seg = canvas.segments[index]
                if seg.editable:
                    self.allowed[b, i] = index >= tail or "\n" in seg.text
                else:  # a draft token re-noised by strength: only where the draft had a break
                    surface = surface or canvas.surface_texts()
                    self.allowed[b, i] = "\n" in (surface[i] or "")

    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        if self.allowed is None or not len(self.line_break_ids):
            return logits
        banned = (~self.allowed[state.query_rows, state.query_pos]).nonzero().flatten()
        if len(banned):
            ids = self.line_break_ids.to(logits.device)
            logits[banned.to(logits.device)[:, None], ids[None, :]] = float("-inf")
        return logits


class CausalFluency(SamplerHook):
    """Fluency guidance from the model's own causal reading (models with one: :attr:`ModelAdapter.can_score`).

    At every masked position whose left neighbour is already written, the denoiser's log-probabilities (both sides
    of the span) are added to ``weight`` times the causal reading's (the text to the left only): a product of
    experts in which the causal LM keeps the words flowing from the left and the denoiser keeps them heading for
    the text on the right. At a span's last slot (its right neighbour is already written) the choice is further
    limited to the ``look_ahead`` best tokens of the mixture and of the denoiser alone, each scored by how well the
    causal reading then continues into the next ``right`` tokens of the draft: that is where spans otherwise fail, ending in words that do not lead into
    the text after them. Decoding left to right (``block_length`` 1, one step per token) uses it at every step;
    in confidence order it sharpens whichever positions border written text.

    With ``speculate`` (draft and verify, the preset FAST) the step does more at the canvas's first masked position:
    the denoiser's own choices at the masked positions after it (all from this step's one pass) are a draft, the
    causal reading reads the draft in the same single pass, and position by position the mixture is checked
    against the draft; every drafted token it agrees with, and its own choice at the first disagreement, are
    committed in this step (:meth:`adjust_tokens`). The denoiser's term there is read with the earlier drafted
    slots still masked (the pass that drafted them), which is the approximation; where the first check fails the
    step is exactly a step without a draft. Self-speculative decoding for diffusion LMs (SSD, arXiv 2510.04147)
    verifies with the same model's causal reading; here the verifier is the product of experts itself.

    The training-free idea follows guided decoding with an autoregressive judge; the beam-free look-ahead at the
    seam is ours. Measured in bench/RESULTS.md ("Writer eval", "Fluent path at parallel speed")."""

    #: the look-ahead reads its shared left context once (a KV cache); False: every time (bench/look_ahead.py)
    cached: bool = True

    def __init__(self, adapter: ModelAdapter, weight: float, context: int = 96, look_ahead: int = 8,
                 right: int = 16, speculate: bool = False):
        self.adapter, self.weight = adapter, float(weight)
        self.context, self.look_ahead, self.right = context, look_ahead, right
        self.speculate = speculate
        # canvas -> (position, token) verified this step: the scheduler's position first, then those to commit after it
        self.verified: dict[int, list[tuple[int, int]]] = {}

    def _frontier(self, state: SamplerState) -> list[int]:
        """Logits rows whose position is masked, has written text on its left and is not locked by a hook."""
        rows, pos = state.query_rows, state.query_pos
        left = (pos - 1).clamp(min=0)
        ok = ((state.states[rows, pos] == TokenState.MASKED) & (pos > 0)
              & (state.states[rows, left] != TokenState.MASKED) & (state.tokens[rows, left] >= 0))
        return [k for k in ok.nonzero().flatten().tolist()
                if int(pos[k]) not in state.locked[int(rows[k])]]

    def _right_text(self, state: SamplerState, b: int, p: int) -> torch.Tensor:
        """The written tokens right after position ``p`` (up to ``right`` of them, stopping at a mask)."""
        ahead = state.tokens[b, p + 1 : p + 1 + self.right]
        stop = ((ahead < 0) | (state.states[b, p + 1 : p + 1 + self.right] == TokenState.MASKED)).nonzero()
        return ahead[: int(stop[0]) if len(stop) else len(ahead)]

    def _draft(self, state: SamplerState, logits: torch.Tensor, k: int) -> list[tuple[int, int]]:
        """(logits row, drafted token) for the frontier row ``k`` and the masked positions right after it: the
        denoiser's own choice at each, all from this step's one pass (the canvas's first masked position only, the
        one the scheduler commits now; else just ``k`` with its mask)."""
        b, p = int(state.query_rows[k]), int(state.query_pos[k])
        first = (state.states[b] == TokenState.MASKED).nonzero()
        if not self.speculate or int(first[0]) != p:
            return [(k, int(state.tokens[b, p]))]
        row_of = {int(state.query_pos[r]): r for r in (state.query_rows == b).nonzero().flatten().tolist()}
        run, j = [], p
        while j in row_of and state.states[b, j] == TokenState.MASKED and j not in state.locked[b]:
            run.append((row_of[j], int(logits[row_of[j]].argmax())))
            j += 1
        return run

    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        self.verified = {}
        front = self._frontier(state)
        if not front:
            return logits
        rows, pos = state.query_rows, state.query_pos
        drafts = [self._draft(state, logits, k) for k in front]
        starts = [max(0, int(pos[k]) - self.context) for k in front]
        seqs = [torch.cat([state.tokens[int(rows[k]), s : int(pos[k])], torch.tensor([t for _, t in d])])
                for k, s, d in zip(front, starts, drafts)]
        ids, attention, offset = self.adapter.frame(seqs)
        which = torch.tensor([r for r, d in enumerate(drafts) for _ in d])
        cols = torch.tensor([int(pos[k]) - s + i + offset for k, s, d in zip(front, starts, drafts)
                             for i in range(len(d))])
        causal = self.adapter.causal_logits_at(ids, attention, which, cols).cpu()
        causal[:, self.adapter.banned_ids] = float("-inf")
        at = 0
        for k, seq, draft in zip(front, seqs, drafts):
            guides, at = causal[at : at + len(draft)], at + len(draft)
            b, p = int(rows[k]), int(pos[k])
            context = len(seq) - len(draft)
            for i, ((row, drafted), guide) in enumerate(zip(draft, guides)):
                own = logits[row]
                if not torch.isfinite(own).any() or not torch.isfinite(guide).any():
                    break
                mixed = torch.log_softmax(own.float(), -1) + self.weight * torch.log_softmax(guide, -1)
                if i and state.config.writing_rules:  # the rule NoAdjacentRepeat applied with this draft written
                    mixed[draft[i - 1][1]] = float("-inf")
                right = self._right_text(state, b, p + i)
                if len(right) and self.look_ahead > 0:
                    mixed = self._look_ahead(mixed, own.float(), seq[: context + i], right)
                logits[row] = mixed.to(logits.dtype)
                choice = int(mixed.argmax())
                self.verified.setdefault(b, []).append((p + i, choice))
                if choice != drafted or len(draft) == 1:
                    break
        return logits

    def adjust_tokens(self, state: SamplerState) -> None:
        """Commits the verified drafts after the position the scheduler committed (when it took the verified
        token there)."""
        for b, ((p, token), *verified) in self.verified.items():
            if state.states[b, p] != TokenState.GENERATED or int(state.tokens[b, p]) != token:
                continue
            for j, token in verified:
                if state.states[b, j] != TokenState.MASKED:
                    break
                state.tokens[b, j], state.states[b, j] = token, TokenState.GENERATED

    def _look_ahead(self, mixed: torch.Tensor, own: torch.Tensor, left: torch.Tensor, right: torch.Tensor
                    ) -> torch.Tensor:
        """Keep the ``look_ahead`` best tokens of ``mixed`` and the ``look_ahead`` best of the denoiser alone
        (``own``: it sees the text on the right, so it proposes the connecting words the causal reading does not
        expect), each scored by ``mixed`` plus the causal log-likelihood of ``right`` after it."""
        finite = min(int(torch.isfinite(mixed).sum()), int(torch.isfinite(own).sum()))
        k = min(self.look_ahead, finite)
        top = torch.cat([mixed.topk(k).indices, own.topk(k).indices]).unique()
        top = top[torch.isfinite(mixed[top])]
        if self.cached:
            reads = self.adapter.continuations_log_likelihood(left, [torch.cat([t.view(1), right]) for t in top],
                                                              skip=1)
        else:
            seqs = [torch.cat([left, t.view(1), right]) for t in top]
            reads = self.adapter.sequence_log_likelihood(seqs, start=[len(left) + 1] * len(seqs))
        out = torch.full_like(mixed, float("-inf"))
        out[top] = mixed[top] + reads.to(mixed.dtype)
        return out


class BeamSearch(SamplerHook):
    """Beam search over identical canvases of a batch, decoding left to right (``block_length`` 1).

    Canvases that start the same (same length, tokens and states) form a group of beams. At every step each beam's
    next position is scored by the logits the other hooks left (with :class:`CausalFluency` on: the denoiser plus the
    causal reading, and at a span's last slot the look-ahead into the text after it); the ``len(group)`` best
    continuations over the whole group replace the group's rows, and the scheduler commits the chosen token in each.
    Beams ride in the batch like candidates, so a group of K beams costs one forward pass per step with K rows. A
    beam's score is the sum of its tokens' scores; duplicates are dropped while other continuations remain.

    Order: after every step a group's rows hold its beams best first (the first canvas of the group holds the
    best-scored beam; ties keep the order of the rows they grew from, the sort being stable). Callers that keep one
    canvas per draft take the group's first (the writing actions' ``run_markups``); the Editor renders them all and
    ranks the distinct texts (:mod:`dllm_core.ranking`)."""

    def __init__(self, log_probabilities: bool = False):
        # True when CausalFluency runs just before and hands over log-probabilities; else they are made here
        self.normalise = not log_probabilities

    def start(self, state: SamplerState) -> None:
        keys: dict[tuple, int] = {}
        self.group = [keys.setdefault((len(c), tuple(state.tokens[b].tolist()), tuple(state.states[b].tolist())),
                                      len(keys)) for b, c in enumerate(state.canvases)]
        self.score = torch.zeros(len(state.canvases), dtype=torch.float64)

    def _next(self, state: SamplerState) -> dict[int, int]:
        """Canvas -> logits row of its first masked position (the one left-to-right decoding commits now)."""
        rows, pos = state.query_rows.tolist(), state.query_pos.tolist()
        masked = (state.states[state.query_rows, state.query_pos] == TokenState.MASKED).tolist()
        best: dict[int, int] = {}
        for k, (b, p, m) in enumerate(zip(rows, pos, masked)):
            if m and (b not in best or p < pos[best[b]]):
                best[b] = k
        return best

    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        nxt = self._next(state)
        groups: dict[int, list[int]] = {}
        for b in nxt:
            groups.setdefault(self.group[b], []).append(b)
        for members in groups.values():
            if len(members) < 2:
                continue
            options, seen = [], set()
            for b in members:
                scores = logits[nxt[b]].float()
                if self.normalise:
                    scores = torch.log_softmax(scores, -1)
                if not torch.isfinite(scores).any():
                    continue
                prefix = tuple(state.tokens[b][state.editable[b]].tolist())
                top = scores.topk(min(len(members), int(torch.isfinite(scores).sum())))
                for value, token in zip(top.values.tolist(), top.indices.tolist()):
                    if (prefix, token) not in seen:
                        seen.add((prefix, token))
                        options.append((float(self.score[b]) + value, b, token))
            if not options:
                continue
            options.sort(key=lambda o: -o[0])
            chosen = [options[i % len(options)] for i in range(len(members))]
            parents = {b: (state.tokens[b].clone(), state.states[b].clone(), state.confidence[b].clone())
                       for _, b, _ in chosen}
            for b, (value, parent, token) in zip(members, chosen):
                tokens, states, confidence = parents[parent]
                state.tokens[b], state.states[b], state.confidence[b] = tokens, states, confidence
                self.score[b] = value
                row = logits[nxt[b]]
                keep = row[token].clone()
                row.fill_(float("-inf"))
                row[token] = keep if torch.isfinite(keep) else 0.0
        return logits


def default_hooks(adapter: ModelAdapter, config: SamplerConfig) -> tuple[list[SamplerHook], list[SamplerHook]]:
    """The engine's own hooks: (those that run before the caller's hooks, those that run after them)."""
    before: list[SamplerHook] = []
    if config.repetition_penalty != 1.0:
        before.append(RepetitionPenalty(config.repetition_penalty))
    after: list[SamplerHook] = []
    if config.writing_rules:
        after += [NoAdjacentRepeat(), NoLineBreakInSentence(adapter.line_break_ids)]
    after.append(NoClosingAfterSpace(adapter))
    fluent = config.fluency > 0 and adapter.can_score
    if fluent:  # last: it picks among what every other hook still allows
        after.append(CausalFluency(adapter, config.fluency, context=config.context,
                                   speculate=config.speculate and config.beams == 1 and config.temperature == 0))
    if config.beams > 1:
        after.append(BeamSearch(log_probabilities=fluent))
    return before, after
