"""Writing actions that keep the meaning: shorten, rephrase, tone. Each returns ``k`` alternatives, drafted in one
batched sampler run and ordered best first by :func:`dllm_core.ranking.rank` (the model's causal reading where it
has one; the sampler's order otherwise).

An action turns the draft (or a selection of it, given as character offsets) into edit markup per candidate and
lets the sampler do the writing:

- **shorten** to a target in words (``12``) or as a share of the selection (``0.7`` / ``"70%"``): batched forward
  passes score each word by how predictable it is from the rest (the word masked) plus how well its neighbours
  read without it (the word deleted, each neighbour masked in turn); the best-scored words (never a content word:
  names, numbers, capitalised words) are deleted, the short or function word on each side of every deletion
  becomes a rewrite span of the same token count (the seam, with a bias toward the word it had), and the model
  repairs the grammar there. Alternatives after the first drop a Gumbel-perturbed set; 2k drafts are made and
  those within a word of the target come first.
- **rephrase** at a ``strength`` in (0, 1]: that share of the selection's non-content words is masked (SDEdit on
  the span; each candidate its own random share) and re-written, the content words pinned; the original word at
  a masked position is made less likely (``change``), so that rewriting means changing.
- **tone** (``sentiment=positive``, ``formality=formal`` ...): rephrase plus the attribute classifier's guidance
  (guidance package). Only models with a trained classifier can do this (the embedded MiniLM today); for others
  it is an :class:`~dllm_core.api.EditError` that says so.

Lengths are counted in words (what a writer counts), not tokens.
"""

from __future__ import annotations

import math
import random
import re
import statistics
from dataclasses import asdict, dataclass, field, replace

import torch

from .api import EditError, Editor
from .canvas import Canvas
from .config import SamplerConfig
from .cuts import CutSearch, may_cut
from .facts import FUNCTION_WORDS, fact_kind
from .hooks import SamplerHook
from .markup import Segment, parse, plain_text
from .presets import WRITING_MODES, apply_preset
from .ranking import rank
from .spelling import Spelling
from .state import SamplerState
from .windows import window_budget

ACTIONS = ("shorten", "rephrase", "tone", "rewrite", "fill")  # rewrite, fill: dllm_core.rewrite
LAST_WORD_MARGIN = 10.0  # shorten: a word before sentence punctuation goes last (nats)
SEAM_CHARS = 5  # longer words next to a deletion stay as they are unless they are function words
MAX_ALTERNATIVES = 8
WORD = re.compile(r"[^\W_](?:[\w'’-]*[^\W_])?")  # a word core; punctuation around it is not part of it
SENTENCE_END = re.compile(r"[.!?:;]")
KEPT_FACTS = ("number", "name", "date", "unit", "negation", "qualifier")  # fact words that every action keeps as they are
# FUNCTION_WORDS (from .facts): words that start sentences without being names (a capitalised word at a sentence
# start is kept unless listed)


@dataclass
class Word:
    start: int  # character offsets in the text
    end: int
    text: str
    content: bool  # a name, number, date, unit, negation or other word to keep: kept by every action
    keep: bool = False  # one of the words the writer asked to keep


@dataclass
class Alternative:
    text: str
    words: int  # words in the selection's place after the action
    score: float | None = None  # the ranking score (None: the model cannot score)
    markup: str = ""  # what the sampler was given
    facts: dict | None = None  # the fact check against the draft (dllm_core.facts.FactCheck.to_json())
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


# ---------------------------------------------------------------------------------------------------- words
def count_words(text: str) -> int:
    return len(WORD.findall(text))


def words_of(text: str, start: int = 0, end: int | None = None, keep: tuple[str, ...] = ()) -> list[Word]:
    """The words of ``text[start:end]``, each marked content or not (names, numbers, capitalised words not at a
    sentence start, all-caps words, and the words in ``keep``)."""
    end = len(text) if end is None else end
    keep_lower = {k.lower() for k in keep}
    out = []
    for m in WORD.finditer(text, start, end):
        w = m.group()
        before = text[: m.start()].rstrip()
        sentence_start = not before or bool(SENTENCE_END.search(before[-1:])) or before[-1:] in "\"“"
        content = (any(c.isdigit() for c in w) or (w[0].isupper() and (not sentence_start
                                                                      or w.lower() not in FUNCTION_WORDS))
                   or (len(w) > 1 and w.isupper()) or w.lower() in keep_lower
                   or fact_kind(w, sentence_start) in KEPT_FACTS)
        out.append(Word(m.start(), m.end(), w, content, w.lower() in keep_lower))
    for a, b in zip(out, out[1:]):  # "[nearly] 400": a quantity word before a number goes with it or not at all
        if b.content and fact_kind(b.text) == "number" and fact_kind(a.text) == "quantity":
            a.content = True
    return out


def parse_target(target: int | float | str, n_words: int) -> int:
    """A shorten target as a word count: ``12`` words, ``0.7`` or ``"70%"`` of ``n_words``."""
    if isinstance(target, str):
        t = target.strip()
        try:
            value = float(t[:-1]) / 100 if t.endswith("%") else float(t)
        except ValueError:
            raise EditError(f"shorten target: {target!r} is neither a word count nor a percentage") from None
        if not t.endswith("%") and value == int(value) and value >= 1:
            return parse_target(int(value), n_words)
        return parse_target(value, n_words)
    if isinstance(target, float) and not float(target).is_integer() or isinstance(target, float) and target < 1:
        if not 0 < target < 1:
            raise EditError(f"shorten target must be below 100 %, got {target:.0%}")
        return max(1, round(n_words * target))
    target = int(target)
    if not 1 <= target < n_words:
        raise EditError(f"shorten target must be 1..{n_words - 1} words for this {n_words}-word text, got {target}")
    return target


# ---------------------------------------------------------------------------------------------------- markup
def escape(text: str) -> str:
    """``text`` as fixed markup text (brackets written literally)."""
    for raw, esc in (("[[", "\\[["), ("]]", "\\]]"), ("{{", "\\{{"), ("}}", "\\}}")):
        text = text.replace(raw, esc)
    return text


def build_markup(text: str, pieces: list[tuple[int, int, str]]) -> str:
    """``text`` with the character ranges of ``pieces`` (start, end, kind: 'rewrite', 'pin', 'drop') marked up;
    pieces are sorted and do not overlap."""
    out, cursor = [], 0
    for start, end, kind in sorted(pieces):
        out.append(escape(text[cursor:start]))
        body = escape(text[start:end])
        out.append({"rewrite": f"[[{body}]]", "pin": f"{{{{{body}}}}}", "drop": ""}[kind])
        cursor = end
    out.append(escape(text[cursor:]))
    return "".join(out)


def _runs(indices: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for i in sorted(indices):
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


# ---------------------------------------------------------------------------------------------------- scoring
@torch.no_grad()
def predictability(editor: Editor, text: str, words: list[Word], batch: int = 64) -> list[float]:
    """Per word: the mean log-probability of its tokens with that word masked and the rest of ``text`` visible
    (one batched forward pass per ``batch`` words). High: the rest says it already."""
    adapter = editor.adapter
    canvas = Canvas.from_segments([Segment("fixed", text, 0)], editor.tokenizer)
    ids = torch.tensor(canvas.ids)
    token_words: list[list[int]] = []
    for w in words:
        token_words.append([i for i, span in enumerate(canvas.spans)
                            if span is not None and span[0] < w.end and span[1] > w.start])
    body = window_budget(adapter)
    scores = [0.0] * len(words)
    order = [k for k, toks in enumerate(token_words) if toks]
    for chunk_start in range(0, len(order), batch):
        chunk = order[chunk_start : chunk_start + batch]
        seqs, rows, cols, targets, owner = [], [], [], [], []
        for r, k in enumerate(chunk):
            toks = token_words[k]
            lo = max(0, min(toks[0] - body // 2, len(ids) - body))
            hi = min(len(ids), lo + body)
            seq = ids[lo:hi].clone()
            for p in toks:
                if lo <= p < hi:
                    seq[p - lo] = adapter.mask_id
                    rows.append(r)
                    cols.append(p - lo)
                    targets.append(int(ids[p]))
                    owner.append(k)
            seqs.append(seq)
        input_ids, attention, offset = adapter.frame(seqs)
        logits = adapter.logits_at(input_ids, attention, torch.tensor(rows), torch.tensor(cols) + offset)
        logp = logits.log_softmax(-1).gather(1, torch.tensor(targets).unsqueeze(1).to(logits.device)).flatten()
        sums: dict[int, list[float]] = {}
        for k, lp in zip(owner, logp.tolist()):
            sums.setdefault(k, []).append(lp)
        for k, lps in sums.items():
            scores[k] = sum(lps) / len(lps)
    return scores


@torch.no_grad()
def deletion_fit(editor: Editor, text: str, words: list[Word], batch: int = 64, reach: int = 300) -> list[float]:
    """Per word: how well the text reads without it. The word is deleted (with the white space before it), and
    each neighbouring word is masked in turn (two sequences per word, all in batched passes): the mean
    log-probability of the neighbours' own tokens. High: nothing is missing where the word was."""
    items = []  # (word index, token ids, positions to score)
    for k, w in enumerate(words):
        cut_lo = words[k - 1].end if k > 0 and not text[words[k - 1].end : w.start].strip() else w.start
        lo, hi = max(0, w.start - reach), min(len(text), w.end + reach)
        short = text[lo:cut_lo] + text[w.end : hi]
        shift = w.end - cut_lo
        enc = editor.tokenizer(short, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = enc["input_ids"], enc["offset_mapping"]
        neighbours = []
        if k > 0:
            neighbours.append((words[k - 1].start - lo, words[k - 1].end - lo))
        if k + 1 < len(words):
            neighbours.append((words[k + 1].start - lo - shift, words[k + 1].end - lo - shift))
        for a, b in neighbours:
            toks = [i for i, (s, e) in enumerate(offsets) if s < b and e > a]
            if toks:
                items.append((k, ids, toks))
    body = window_budget(editor.adapter)
    sums: dict[int, list[float]] = {}
    for chunk_start in range(0, len(items), batch):
        seqs, rows, cols, targets, owner = [], [], [], [], []
        for r, (k, ids, toks) in enumerate(items[chunk_start : chunk_start + batch]):
            w_lo = max(0, min(toks[0] - body // 2, len(ids) - body))
            seq = torch.tensor(ids[w_lo : w_lo + body], dtype=torch.long)
            for p in toks:
                if w_lo <= p < w_lo + len(seq):
                    rows.append(r)
                    cols.append(p - w_lo)
                    targets.append(int(seq[p - w_lo]))
                    owner.append(k)
            seq[[c for rr, c in zip(rows, cols) if rr == r]] = editor.adapter.mask_id
            seqs.append(seq)
        input_ids, attention, offset = editor.adapter.frame(seqs)
        logits = editor.adapter.logits_at(input_ids, attention, torch.tensor(rows), torch.tensor(cols) + offset)
        logp = logits.log_softmax(-1).gather(1, torch.tensor(targets).unsqueeze(1).to(logits.device)).flatten()
        for k, lp in zip(owner, logp.tolist()):
            sums.setdefault(k, []).append(lp)
    return [sum(sums[k]) / len(sums[k]) if k in sums else 0.0 for k in range(len(words))]


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


def _span_originals(editor: Editor, canvas: Canvas) -> dict[int, int]:
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
def _selection(text: str, selection: tuple[int, int] | None) -> tuple[int, int]:
    if not isinstance(text, str) or not text.strip():
        raise EditError("the draft is empty: type or paste some text first")
    start, end = selection if selection else (0, len(text))
    if not 0 <= start < end <= len(text):
        raise EditError(f"the selection {start}..{end} is outside the {len(text)}-character draft")
    return start, end


def action_config(editor: Editor, k: int = 1, seed: int = 0, writing: str | None = "auto") -> SamplerConfig:
    """The sampler settings an action runs with. Parallel: 16 steps, sampled at temperature 0.7 when there are
    several alternatives (greedy for one). Fluent (``writing`` "fluent", or "auto" on a model with a causal reading):
    the FLUENT preset with 2 beams per draft and no length slack (the action sets every span's length); its
    alternatives differ by the drafts the action builds (other words dropped or re-noised), not by sampling."""
    parallel = SamplerConfig(steps=16, temperature=0.7 if k > 1 else 0.0, seed=seed)
    if writing == "parallel" or (writing in (None, "auto") and not editor.adapter.can_score):
        return parallel
    if writing not in (None, "auto", "fluent"):
        raise EditError(f"writing: must be one of {', '.join(WRITING_MODES)}, got {writing!r}")
    return replace(apply_preset(parallel, "fluent"), beams=2, length_slack=0)


def _config(config: SamplerConfig | None, k: int, editor: Editor) -> SamplerConfig:
    return config if config is not None else action_config(editor, k)


def _check_k(k: int) -> int:
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


SHORTEN_METHODS = ("auto", "cut", "repair")
# kinds of fact words a shorter text may lose with the phrase they are in (less detail, not another fact; names only
# with a whole aside: dllm_core.cuts.may_go_in_aside); numbers, dates, units and negations it never loses
SHORTEN_MAY_DROP = ("direction", "comparison", "time", "quantity", "name")


def shorten(editor: Editor, text: str, target: int | float | str = 0.7, *, selection: tuple[int, int] | None = None,
            k: int = 1, config: SamplerConfig | None = None, keep: tuple[str, ...] = (), seam: int = 1,
            seam_bias: float = 2.0, tolerance: int = 1, seed: int = 0, method: str = "auto",
            check_facts: bool = True) -> ActionResult:
    """Shorten ``text`` (or ``text[selection]``) to ``target`` words (int) or a share (0.7 / "70%").

    ``method`` "cut" deletes whole words and phrases of the writer's text, chosen by a beam search scored by the
    model (:mod:`dllm_core.cuts`; needs a causal reading); "repair" deletes the most predictable words and lets
    the sampler rewrite the seams; "auto" cuts where the model can score and repairs otherwise."""
    start, end = _selection(text, selection)
    k = _check_k(k)
    if method not in SHORTEN_METHODS:
        raise EditError(f"shorten method: must be one of {', '.join(SHORTEN_METHODS)}, got {method!r}")
    words = words_of(text, start, end, keep)
    if len(words) < 2:
        raise EditError("select at least two words to shorten")
    goal = parse_target(target, len(words))
    n_drop = len(words) - goal
    droppable = [i for i, w in enumerate(words) if not w.content]
    if n_drop > len(droppable):
        raise EditError(f"cannot reach {goal} words: {len(words) - len(droppable)} of the {len(words)} words are "
                        "names, numbers or other words to keep")
    if method == "cut" or (method == "auto" and editor.adapter.can_score):
        if not editor.adapter.can_score:
            raise EditError(f"shorten by cutting needs a model with a causal reading; {editor.adapter.name} has "
                            "none (use method 'repair')")
        return _checked(_shorten_by_cutting(editor, text, (start, end), words, goal, k, tolerance, seed), text,
                        check_facts, SHORTEN_MAY_DROP)
    config = _config(config, k, editor)
    scores = [p + f for p, f in zip(predictability(editor, text, words), deletion_fit(editor, text, words))]
    spread = max(0.5, statistics.pstdev([scores[i] for i in droppable])) if droppable else 1.0
    for i, w in enumerate(words):  # a sentence's last word holds it together ("were not officially confirmed.")
        if SENTENCE_END.match(text[w.end : w.end + 1]):
            scores[i] -= LAST_WORD_MARGIN
    rng = random.Random(seed)
    markups = []
    # 2k drafts in the batch (a seam can come out a word longer or shorter than it was); those within a word of
    # the target come first. The first drops the best-scored words, the others a Gumbel-perturbed choice
    for j in range(2 * k):
        noisy = {i: scores[i] + (0.0 if j == 0 else -spread * math.log(-math.log(rng.random() or 1e-9)))
                 for i in droppable}
        drop = set(sorted(droppable, key=lambda i: -noisy[i])[:n_drop])
        markups.append(build_markup(text, _shorten_pieces(text, words, drop, seam)))
    def hooks_for(canvases):  # a seam word stays unless the grammar around the deletion asks for another
        return [AvoidOriginal([_span_originals(editor, c) for c in canvases], -seam_bias)]

    drafts = run_markups(editor, text, (start, end), markups, config, hooks_for)
    alternatives = sorted(drafts, key=lambda a: abs(a.words - goal) > tolerance)[:k]  # stable: ranking kept
    note = "" if len(alternatives) == k else f"{k - len(alternatives)} alternatives came out the same"
    return _checked(ActionResult("shorten", alternatives[0].text, alternatives, (start, end), len(words), goal,
                                 [w.text for w in words if w.content], note), text, check_facts, SHORTEN_MAY_DROP)


def _shorten_by_cutting(editor: Editor, text: str, selection: tuple[int, int], words: list[Word], goal: int, k: int,
                        tolerance: int, seed: int = 0) -> ActionResult:
    info = predictability(editor, text, words)
    search = CutSearch(editor.adapter, text, selection, words, info, goal, beams=max(2, k),
                       tolerance=tolerance, function_words=FUNCTION_WORDS,
                       words_of=words_of, seed=seed)
    drafts = search.run()
    outside = count_words(text[: selection[0]]) + count_words(text[selection[1] :])
    alternatives = [Alternative(d.text, count_words(d.text) - outside, round(-d.cost, 3),
                                "cut: " + " | ".join(c.strip() for c in d.cuts)) for d in drafts[:k]]
    if not alternatives:
        raise EditError("found nothing to cut in this text that leaves its sentences whole (names, numbers, "
                        "negations and the words that hold a sentence together stay)")
    notes = []
    if alternatives[0].words > goal + tolerance:
        notes.append(f"cut to {alternatives[0].words} words, not {goal}: cutting more would break a sentence")
    if len(alternatives) < k:
        notes.append(f"only {len(alternatives)} different cut{'s' * (len(alternatives) > 1)}: other cuts would break a "
                     "sentence or drop a fact")
    note = "; ".join(notes)
    return ActionResult("shorten", alternatives[0].text, alternatives, selection, len(words), goal,
                        [w.text for w in words if w.content], note)


def _shorten_pieces(text: str, words: list[Word], drop: set[int], seam: int) -> list[tuple[int, int, str]]:
    pieces: list[tuple[int, int, str]] = []
    seams: set[int] = set()
    for run in _runs(list(drop)):
        a, b = run[0], run[-1]
        # delete the words with the gap before them (or after, at the start); sentence punctuation stays
        lo = words[a].start
        hi = words[b].end
        tail = re.match(r"[^\s\w]*", text[hi:]).group()
        if tail and not SENTENCE_END.search(tail) and (a > 0 and not text[words[a - 1].end : lo].strip()):
            hi += len(tail)
        if a > 0 and (a - 1) not in drop:
            lo = words[a - 1].end + len(re.match(r"[^\s\w]*", text[words[a - 1].end :]).group())
        elif a == 0:
            hi += len(re.match(r"\s*", text[hi:]).group())
        pieces.append((lo, hi, "drop"))
        for s in range(1, seam + 1):
            seams.update({a - s, b + s})
    # a seam is a short word (function words, mostly): re-writing a long word at a seam loses meaning, and a
    # word of several word pieces can come back glued to its neighbour ("thechemists")
    seam_words = sorted(i for i in seams if 0 <= i < len(words) and i not in drop and not words[i].content
                        and (words[i].text.lower() in FUNCTION_WORDS or len(words[i].text) <= SEAM_CHARS))
    for run in _runs(seam_words):
        pieces.append((words[run[0]].start, words[run[-1]].end, "rewrite"))
    return _no_overlap(pieces)


def _no_overlap(pieces: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    for lo, hi, kind in sorted(pieces):
        if out and lo < out[-1][1]:
            if kind == "drop" or out[-1][2] != "drop":
                continue
            lo = out[-1][1]
            if lo >= hi:
                continue
        out.append((lo, hi, kind))
    return out


REPHRASE_METHODS = ("auto", "swap", "renoise")


def may_change(word: Word) -> bool:
    """Whether a rephrase may swap this word: not a name, number, word to keep, negation or function word."""
    return may_cut(word) and word.text.lower() not in FUNCTION_WORDS


def rephrase(editor: Editor, text: str, strength: float = 0.5, *, selection: tuple[int, int] | None = None,
             k: int = 1, config: SamplerConfig | None = None, keep: tuple[str, ...] = (), change: float = 2.0,
             key_share: float = 0.3, seed: int = 0, hooks=(), method: str = "auto", attribute=None,
             attribute_weight: float = 0.0, check_facts: bool = True) -> ActionResult:
    """Re-write ``strength`` of the selection's words that may change; k alternatives.

    ``method`` "swap" swaps single words for ones that fit the place and mean the same (:mod:`dllm_core.substitute`;
    needs a causal reading), every other word kept; "renoise" masks that share of the non-content words and lets
    the sampler re-write them (content words pinned); "auto" swaps where the model can score."""
    start, end = _selection(text, selection)
    k = _check_k(k)
    strength = _check_strength(strength, "rephrase")
    if method not in REPHRASE_METHODS:
        raise EditError(f"rephrase method: must be one of {', '.join(REPHRASE_METHODS)}, got {method!r}")
    words = words_of(text, start, end, keep)
    if method == "swap" or (method == "auto" and editor.adapter.can_score and not hooks):
        if not editor.adapter.can_score:
            raise EditError(f"rephrase by swapping words needs a model with a causal reading; {editor.adapter.name} "
                            "has none (use method 'renoise')")
        return _checked(_rephrase_by_swapping(editor, text, (start, end), words, strength, k, seed, attribute,
                                              attribute_weight), text, check_facts)
    config = _config(config, k, editor)
    # key words: the least predictable ``key_share`` of the other non-function words carry the meaning; kept too
    others = [i for i, w in enumerate(words) if not w.content and w.text.lower() not in FUNCTION_WORDS]
    if others and key_share > 0:
        scores = predictability(editor, text, words)
        for i in sorted(others, key=lambda i: scores[i])[: round(key_share * len(others))]:
            words[i].content = True
    free = [i for i, w in enumerate(words) if not w.content]
    if not free:
        raise EditError("nothing to rephrase: every selected word is a name, number or word to keep")
    n = max(1, round(strength * len(free)))
    rng = random.Random(seed)
    markups = []
    for _ in range(k):
        chosen = sorted(rng.sample(free, n))
        pieces = [(words[r[0]].start, words[r[-1]].end, "rewrite") for r in _runs(chosen)]
        pieces += [(w.start, w.end, "pin") for w in words if w.content]
        markups.append(build_markup(text, pieces))

    def hooks_for(canvases):
        return [*hooks, AvoidOriginal([_span_originals(editor, c) for c in canvases], change)]

    alternatives = run_markups(editor, text, (start, end), markups, config, hooks_for)
    note = "" if len(alternatives) == k else f"{k - len(alternatives)} alternatives came out the same"
    return _checked(ActionResult("rephrase", alternatives[0].text, alternatives, (start, end), len(words), None,
                                 [w.text for w in words if w.content], note), text, check_facts)


def _rephrase_by_swapping(editor: Editor, text: str, selection: tuple[int, int], words: list[Word], strength: float,
                          k: int, seed: int, attribute=None, attribute_weight: float = 0.0,
                          min_gain: float | None = None, rules=None, action: str = "rephrase") -> ActionResult:
    """Swap synonyms (:mod:`dllm_core.substitute`); ``rules`` (a function of the selected text giving character
    edits, :mod:`dllm_core.style`) are made first, in every alternative."""
    from . import style  # noqa: PLC0415
    from .substitute import apply_all, combine, propose_synonyms, read_swaps  # noqa: PLC0415

    start, end = selection
    ruled = [(a + start, b + start, new) for a, b, new in (rules(text[start:end]) if rules else [])]
    base = style.apply(text, ruled)
    if ruled:  # the words of the text after the rule edits (the swaps read and change that text)
        end += len(base) - len(text)
        words = words_of(base, start, end, tuple(w.text for w in words if w.content))
    may = [may_change(w) for w in words]
    present = {w.text.lower() for w in words_of(base)}  # a swap never repeats a word of the text
    swaps = [s for s in propose_synonyms(editor, base, words, may) if s.new.lower() not in present]
    swaps = read_swaps(editor, base, swaps, attribute, attribute_weight, min_gain=min_gain)
    places = len({s.word for s in swaps})
    if not places and not ruled:
        what = "moves the tone and reads as well" if attribute is not None else "means the same and reads as well"
        raise EditError(f"no word of this text has a synonym that {what}; try another selection")
    sets = combine(swaps, max(1, round(strength * places)), k, seed) if places else []
    texts = [apply_all(base, chosen) for chosen in sets] or [base]
    if ruled and base not in texts and len(texts) < k:
        texts.append(base)  # the rule edits alone are an alternative too
    ordered, scores = rank(editor.adapter, texts) if len(texts) > 1 else (texts, None)
    outside = count_words(text[: selection[0]]) + count_words(text[selection[1] :])
    alternatives = [Alternative(t, count_words(t) - outside, None if scores is None else scores[i],
                                "swap" if t != base or not ruled else "rules")
                    for i, t in enumerate(ordered)]
    note = "" if len(alternatives) == k else (
        f"only {len(alternatives)} different version{'s' * (len(alternatives) > 1)}: no other word here has a synonym "
        f"that {'moves the tone, ' if attribute is not None else ''}means the same and reads as well")
    return ActionResult(action, alternatives[0].text, alternatives, selection, len(words), None,
                        [w.text for w, m in zip(words, may) if not m and w.content], note)


# Tones a writer asks for: the label the page shows, the rule edits, and the classifier (attribute, class) whose
# score a swap must raise (None: the rule edits alone). Sentiment stays available as the classifier-guidance demo
# (tone(attribute="sentiment", target="positive")).
TONES = {"formal": "More formal", "casual": "More casual", "friendly": "Friendlier", "confident": "More confident"}
_TONE_RULES = {"formal": ("expand_contractions", ("formality", "formal")),
               "casual": ("make_contractions", ("formality", "informal")),
               "friendly": ("make_contractions", ("sentiment", "positive")),
               "confident": ("drop_hedges", None)}


def tone(editor: Editor, text: str, attribute: str = "formal", target: str | None = None, *, strength: float = 0.5,
         guidance: float = 8.0, selection: tuple[int, int] | None = None, k: int = 1,
         config: SamplerConfig | None = None, keep: tuple[str, ...] = (), seed: int = 0,
         check_facts: bool = True) -> ActionResult:
    """Say the text in another tone, never another thing. ``attribute`` is one of :data:`TONES` ("formal",
    "casual", "friendly", "confident"; ``target`` unused), or a classifier attribute with a class
    (``"sentiment", "positive"``: classifier guidance, the demo of the guidance package)."""
    if attribute in TONES:
        return _writer_tone(editor, text, attribute, strength, guidance, selection, k, keep, seed, check_facts)
    from guidance import GuidanceOptions  # noqa: PLC0415 (the guidance package builds on this one)
    from guidance.classifier import available_attributes, get_classifier  # noqa: PLC0415
    from guidance.edit import build_hooks  # noqa: PLC0415

    attributes = available_attributes(editor.adapter)  # the classifiers trained on this model's embeddings
    if attribute not in attributes:
        raise EditError(f"unknown tone {attribute!r}: choose one of {', '.join(TONES)}, or a classifier attribute "
                        f"of {editor.adapter.name} ({', '.join(attributes) or 'none'})")
    try:
        get_classifier(editor, attribute)
    except ValueError as exc:
        raise EditError(f"tone: {exc}") from exc
    if target not in attributes[attribute]:
        raise EditError(f"{attribute} has no class {target!r}; choose one of {', '.join(attributes[attribute])}")
    options = GuidanceOptions(attribute=attribute, target=target, strength=guidance).validate()
    classifier = get_classifier(editor, attribute)
    if editor.adapter.can_score:  # swap synonyms, choosing swaps that read well and move the classifier
        result = rephrase(editor, text, strength, selection=selection, k=k, keep=keep, seed=seed, method="swap",
                          attribute=_reading_toward(classifier, target), attribute_weight=guidance / 2,
                          check_facts=check_facts)
        result.alternatives = sorted(result.alternatives, key=lambda a: -classifier.score(a.text, target))
        result.text = result.alternatives[0].text
        result.action = "tone"
        return result
    result = rephrase(editor, text, strength, selection=selection, k=k, config=config, keep=keep, seed=seed,
                      hooks=build_hooks(editor, options), method="renoise", check_facts=check_facts)
    scored = sorted(result.alternatives, key=lambda a: -classifier.score(a.text, target))
    if result.alternatives and result.alternatives[0].score is None:  # no causal reading: order by the classifier
        result.alternatives = scored
        result.text = scored[0].text
    result.action = "tone"
    return result


def _writer_tone(editor: Editor, text: str, name: str, strength: float, guidance: float,
                 selection: tuple[int, int] | None, k: int, keep: tuple[str, ...], seed: int,
                 check_facts: bool) -> ActionResult:
    from . import style  # noqa: PLC0415

    start, end = _selection(text, selection)
    k = _check_k(k)
    _check_strength(strength, "tone")
    rule_name, classifier_of = _TONE_RULES[name]
    rules = getattr(style, rule_name)
    toward = None
    if classifier_of is not None and editor.adapter.can_score:
        from guidance.classifier import available_attributes, get_classifier  # noqa: PLC0415

        attribute, target = classifier_of
        if target in available_attributes(editor.adapter).get(attribute, ()):
            toward = _reading_toward(get_classifier(editor, attribute), target)
    words = words_of(text, start, end, keep)
    if toward is None:  # rules only (confident; or a model without a judge or classifier)
        edits = [(a + start, b + start, new) for a, b, new in rules(text[start:end])]
        if not edits:
            raise EditError({"confident": "nothing to make more confident: no hedging words (perhaps, I think, "
                                          "somewhat ...) in the selection",
                             "formal": "no contractions to expand here, and this model has no formality reading",
                             }.get(name, f"nothing to change for {TONES[name].lower()} with this model"))
        new = style.apply(text, edits)
        outside = count_words(text[:start]) + count_words(text[end:])
        result = ActionResult("tone", new, [Alternative(new, count_words(new) - outside, None, "rules")],
                              (start, end), len(words), None, [w.text for w in words if w.content],
                              "" if k == 1 else "only 1 way to do this: the rule edits")
    else:
        result = _rephrase_by_swapping(editor, text, (start, end), words, strength, k, seed, toward, guidance / 2,
                                       min_gain=0.0, rules=rules, action="tone")
    return _checked(result, text, check_facts)


def _reading_toward(classifier, target: str):
    """texts -> the classifier's log p(target) of each: the attribute term of a tone's swaps."""
    column = classifier.class_index(target)

    def toward(texts: list[str]) -> list[float]:
        return classifier.score_texts(texts)[:, column].clamp_min(1e-9).log().tolist()

    return toward


def _check_strength(strength, what: str) -> float:
    try:
        value = float(strength)
    except (TypeError, ValueError):
        raise EditError(f"{what} strength: must be a number in (0, 1], got {strength!r}") from None
    if not 0 < value <= 1:  # NaN fails too
        raise EditError(f"{what} strength: must be in (0, 1], got {strength}")
    return value


def _checked(result: ActionResult, text: str, check_facts: bool = True,
             drops_allowed: tuple[str, ...] = ()) -> ActionResult:
    """Fact-check every alternative against the draft (:mod:`dllm_core.facts`); with ``check_facts``, the ones
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
    return result


def run_action(editor: Editor, action: str, text: str, **kwargs) -> ActionResult:
    """Dispatch by name: ``shorten`` (target=...), ``rephrase`` (strength=...), ``tone`` (attribute=, target=),
    ``rewrite`` and ``fill`` (a selection; :mod:`dllm_core.rewrite`)."""
    if action not in ACTIONS:
        raise EditError(f"unknown action {action!r}; choose one of {', '.join(ACTIONS)}")
    from .rewrite import fill, rewrite  # noqa: PLC0415 (built on this module)

    return {"shorten": shorten, "rephrase": rephrase, "tone": tone, "rewrite": rewrite,
            "fill": fill}[action](editor, text, **kwargs)
