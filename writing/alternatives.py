"""What every writing action shares: its result (:class:`ActionResult`, its :class:`Alternative` s), the checks of
its arguments, its sampler settings, the batched run of its drafts (:func:`run_markups`, ranked best first by
:func:`dllm_core.ranking.rank`), the hook that makes the draft's own words less likely (:class:`AvoidOriginal`) and the
fact check of every alternative against the draft (:func:`fact_checked`)."""

from __future__ import annotations

import re

from dataclasses import asdict, dataclass, field, replace

import torch

from dllm_core.api import EditError, Editor, check_draft_length
from dllm_core.canvas import Canvas
from dllm_core.config import SamplerConfig
from dllm_core.hooks import SamplerHook
from dllm_core.markup import parse, plain_text
from dllm_core.presets import WRITING_MODES, apply_preset
from dllm_core.ranking import rank
from dllm_core.spelling import Spelling
from dllm_core.state import SamplerState

from .words import count_words

MAX_ALTERNATIVES = 8
ALTERNATIVES_TEMPERATURE = 0.7  # parallel writing samples at this temperature when there are several alternatives


def sampling_temperature(k: int) -> float:
    """The temperature of parallel writing for ``k`` alternatives: sampled when there are several, greedy for one
    (the action command, batch jobs and :func:`action_config` all ask here)."""
    return ALTERNATIVES_TEMPERATURE if k > 1 else 0.0


@dataclass
class Alternative:
    text: str
    words: int  # words in the selection's place after the action
    score: float | None = None  # the ranking score (None: the model cannot score)
    markup: str = ""  # what the sampler was given
    facts: dict | None = None  # the fact check against the draft (writing.facts.FactCheck.to_json())
    gate: dict | None = None  # Fill: the gate's verdict (dllm_core.gate.check_rewrite)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class ActionResult:
    action: str
    text: str  # the best alternative
    alternatives: list[Alternative]
    selection: tuple[int, int]
    words_before: int
    target_words: int | None = None  # shorten: the target
    kept: list[str] = field(default_factory=list)  # content words every alternative keeps
    note: str = ""  # e.g. why there are fewer alternatives than asked for
    withheld: list[Alternative] = field(default_factory=list)  # failed the fact check: not offered (check_facts)

    @property
    def words_after(self) -> int:
        return self.alternatives[0].words

    def to_json(self) -> dict:
        return {"action": self.action, "text": self.text, "selection": list(self.selection),
                "words_before": self.words_before, "target_words": self.target_words,
                "words_after": self.words_after, "kept": self.kept, "note": self.note,
                "alternatives": [a.to_json() for a in self.alternatives],
                "withheld": [a.to_json() for a in self.withheld]}


# ---------------------------------------------------------------------------------------------------- hooks
class AvoidOriginal(SamplerHook):
    """Make the draft's own token less likely at each re-written position (by ``penalty`` logits), so that a
    rephrase changes words rather than guessing them back."""

    def __init__(self, originals: list[dict[int, int]], penalty: float):
        self.originals = originals  # per canvas: position -> the token the draft had there
        self.penalty = float(penalty)

    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        if self.penalty == 0:  # negative: a bonus, the draft's token is preferred
            return logits
        rows, toks = [], []
        for e, (b, p) in enumerate(zip(state.query_rows.tolist(), state.query_pos.tolist())):
            tok = self.originals[b].get(p) if b < len(self.originals) else None
            if tok is not None:
                rows.append(e)
                toks.append(tok)
        if rows:
            logits[torch.tensor(rows, device=logits.device), torch.tensor(toks, device=logits.device)] -= self.penalty
        return logits


def span_originals(editor: Editor, canvas: Canvas) -> dict[int, int]:
    """Position -> the draft's token there, for rewrite spans that kept their token count."""
    spelling = Spelling.of(editor.tokenizer)
    out: dict[int, int] = {}
    for index, seg in enumerate(canvas.segments):
        if seg.kind != "rewrite":
            continue
        positions = [p for p, s in enumerate(canvas.segment_of) if s == index]
        before = canvas.segments[index - 1].text if index else ""
        text = (" " if not spelling.word_pieces and before[-1:].isspace() and seg.text[:1].isalnum() else "") + seg.text
        ids = editor.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) == len(positions):
            out.update(zip(positions, ids))
    return out


# ---------------------------------------------------------------------------------------------------- running
def check_selection(text: str, selection: tuple[int, int] | None) -> tuple[int, int]:
    """The selection's character offsets (the whole text when None); an EditError for an empty text, a text over the
    draft limit (:data:`dllm_core.limits.MAX_DRAFT_CHARS`) or a selection outside it."""
    if not isinstance(text, str) or not text.strip():
        raise EditError("the draft is empty: type or paste some text first")
    check_draft_length(text)  # before any model work: an action's cost grows with the draft
    start, end = selection if selection else (0, len(text))
    if not 0 <= start < end <= len(text):
        raise EditError(f"the selection {start}..{end} is outside the {len(text)}-character draft")
    return start, end


def action_config(editor: Editor, k: int = 1, seed: int = 0, writing: str | None = "auto") -> SamplerConfig:
    """The sampler settings an action runs with. Parallel: 16 steps, sampled when there are several alternatives,
    greedy for one (:func:`sampling_temperature`). Fast (``writing`` "fast", or "auto" on a model with a causal
    reading): the FAST preset (draft and verify) without length slack (the action sets every span's length); fluent:
    the FLUENT preset with 2 beams per draft. Their alternatives differ by the drafts the action builds (other words
    dropped or re-noised), not by sampling."""
    parallel = SamplerConfig(steps=16, temperature=sampling_temperature(k), seed=seed)
    if writing == "parallel" or (writing in (None, "auto") and not editor.adapter.can_score):
        return parallel
    if writing not in WRITING_MODES:
        raise EditError(f"writing: must be one of {', '.join(WRITING_MODES)}, got {writing!r}")
    if writing == "fluent":
        return replace(apply_preset(parallel, "fluent"), beams=2, length_slack=0)
    return replace(apply_preset(parallel, "fast"), length_slack=0)


def default_config(config: SamplerConfig | None, k: int, editor: Editor) -> SamplerConfig:
    """``config``, or the action's own settings (:func:`action_config`) when none is given."""
    return config if config is not None else action_config(editor, k)


def check_k(k: int) -> int:
    if not isinstance(k, int) or not 1 <= k <= MAX_ALTERNATIVES:
        raise EditError(f"alternatives must be in 1..{MAX_ALTERNATIVES}, got {k!r}")
    return k


def run_markups(editor: Editor, text: str, selection: tuple[int, int], markups: list[str], config: SamplerConfig,
                hooks_for=None) -> list[Alternative]:
    """Denoise one canvas per markup in one batched run; distinct results, best first."""
    texts: list[str | None] = [None] * len(markups)
    canvases, owners = [], []
    for j, m in enumerate(markups):
        segments = parse(m)
        if any(seg.editable for seg in segments):
            canvas = editor.canvas(segments, config)
            for _ in range(config.beams):  # beams of one draft ride in the batch (dllm_core.hooks.BeamSearch)
                canvases.append(canvas.copy())
                owners.append(j)
        else:  # e.g. a deletion between two kept names: nothing to repair
            texts[j] = plain_text(segments)
    if canvases:
        hooks = list(hooks_for(canvases)) if hooks_for else []
        editor.denoise(canvases, config, hooks)
        for j, c in zip(owners, canvases):  # the first beam of each draft is its best
            if texts[j] is None:
                texts[j] = c.render(editor.tokenizer)
    if not text[-1:].isspace():
        texts = [t.rstrip() for t in texts]
    seen: dict[str, str] = {}
    for t, m in zip(texts, markups):
        seen.setdefault(t, m)
    ordered, scores = rank(editor.adapter, list(seen))
    outside = count_words(text[: selection[0]]) + count_words(text[selection[1] :])
    return [Alternative(t, count_words(t) - outside, None if scores is None else scores[i], seen[t])
            for i, t in enumerate(ordered)]


def check_strength(strength, what: str) -> float:
    try:
        value = float(strength)
    except (TypeError, ValueError):
        raise EditError(f"{what} strength: must be a number in (0, 1], got {strength!r}") from None
    if not 0 < value <= 1:  # NaN fails too
        raise EditError(f"{what} strength: must be in (0, 1], got {strength}")
    return value


def fact_checked(result: ActionResult, text: str, check_facts: bool = True,
             drops_allowed: tuple[str, ...] = ()) -> ActionResult:
    """Fact-check every alternative against the draft (:mod:`writing.facts`); with ``check_facts``, the ones
    that fail are withheld (``result.withheld``) and the note says so. When all fail, that is an error."""
    from .facts import check  # noqa: PLC0415

    offered, withheld = [], []
    for alt in result.alternatives:
        verdict = check(text, alt.text, drops_allowed)
        alt.facts = verdict.to_json()
        (offered if verdict.ok or not check_facts else withheld).append(alt)
    if withheld:
        result.withheld = withheld
        says = "; ".join(dict.fromkeys(a.facts["says"] for a in withheld))
        extra = f"{len(withheld)} alternative{'s' * (len(withheld) > 1)} not shown: {says}"
        result.note = f"{result.note}; {extra}" if result.note else extra
    if not offered:
        raise EditError(f"every alternative changed a fact ({withheld[0].facts['says']}); nothing is offered")
    result.alternatives = offered
    result.text = offered[0].text
    # the words to keep that every alternative still says ("[my fellow Americans]" may go as a filler, "cts" be
    # written out as "cents")
    result.kept = [w for w in result.kept
                   if all(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", a.text) for a in offered)]
    return result
