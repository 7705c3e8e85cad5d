"""Writer eval: side-by-side quality and speed of denoisers, tokenizer-independent (issue "A denoiser that writes").

    python bench/writer_eval.py --models minilm smollm2-dlm                # n=200 infills, 30 spans per model
    python bench/writer_eval.py --models minilm --model runs/smollm/interim --quick --threads 1   # smoke test
    python bench/writer_eval.py --score bench/results/writer_eval_key.json judgements.json

Every case is chosen and scored on *words of the text*, never on tokens, so models with different tokenizers
(uncased WordPiece MiniLM, cased byte-level BPE SmolLM2) see the same cases and are scored the same way. A masked
span is written as ``[[original words]]``: each model rewrites it with as many tokens as the editor counts for the
original words in *its own* tokenizer. Both that slot count and the tokens the words take inside their sentence are
reported: the editor counts a span without its leading space, which gives a byte-level BPE model an extra slot for
many one-token words ("York" -> "Y", "ork"), so infill is also scored on the cases where the two agree.
Inputs are single sentences of held-out modern prose (data/corpus/{wiki,news,gnome_help,debian_handbook,austen}
.heldout.txt; never the reserved Reuters texts), the same cases for every model, chosen with ``--seed``; cases are
spread evenly over the sources.

1. Single content-word infill: one sentence per passage, one alphabetic word of >= 4 letters (not a function
   word, not an acronym, not part of a hyphenated/dotted/apostrophe word) masked as ``[[word]]``; greedy
   (temperature 0), default steps. Exact match of the filled text to the word, case-insensitive, punctuation
   stripped. ``--n-infill`` cases per model.
2. Span rewrites: a 6-word span inside a sentence (at least one word on each side) masked as ``[[six words]]``;
   greedy, default steps. (a) repeated-bigram rate of the rewritten sentences vs the originals: the share of word
   bigrams that repeat an earlier bigram of the same sentence or repeat one word twice ("the the"), pooled over
   sentences; (b) SmolLM2-135M-Instruct perplexity (bench/ar_model.py) of rewrite / original, median over cases
   (NB: smollm2-dlm is adapted from this same judge, which favours its own wording); (c) a blind-read packet
   under bench/results/ (``writer_eval_packet.{json,md}``): every model's rewrites mixed with the originals,
   shuffled with the seed, ids only; the key (``writer_eval_key.json``) maps ids to (model, original/rewrite).
   A text written identically by several sources (e.g. a rewrite equal to its original) appears once and its
   verdict counts for each. ``--score KEY JUDGEMENTS`` takes ``{id: true/false}`` (acceptable or not) and prints
   the % acceptable per model's rewrites and for the originals.
3. Step time on a 128-token window (48 tokens of held-out prose, ~32 inserted masks, the rest prose, in each
   model's own tokens), fp32 and int8: ``adapter.logits_at`` timed inside real sampler runs (16 steps, no
   threshold: 16 forward passes per edit) after one warm-up edit each; fp32 and int8 edits take turns so that
   drift in the machine's load falls on both; medians over ``--repeats`` edits, in ms per forward pass and per
   sampler step.

Quality runs on fp32 weights unless ``--quantize int8``. All figures of one run come from one process. The table
is printed and written to bench/RESULTS.md (section "Writer eval", with the command; a ``--quick`` run says so in
bold there, and writes ``writer_eval_quick_*`` files so that it never overwrites a packet being read). Per-case
outputs (fills, rewrites, slot counts, perplexity ratios) go to ``bench/results/writer_eval_cases.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from pathlib import Path

from common import ROOT, median, percentile, write_section

CORPUS = ROOT / "data" / "corpus"
RESULTS_DIR = ROOT / "bench" / "results"
SOURCES = ("wiki", "news", "gnome_help", "debian_handbook", "austen")
RESERVED = ("reuters",)  # r-cran-tm's Reuters-21578: evaluation only, never read here
DEFAULT_MODELS = ("minilm", "smollm2-dlm")
SPAN_WORDS = 6
WINDOW_TOKENS = 128

# function words of >= 4 letters: not "content" words, never masked for the infill measure
FUNCTION_WORDS = frozenset("""
about above across after again against along also although among amongst another around because been before
behind being below beside besides between beyond both cannot could does doing down during each either else
enough even ever every from further have having hence here hers herself himself however into itself just less
many might more most much must myself near neither never none nothing once only onto other others otherwise
ought ours ourselves over same shall should since some something still such than that their theirs them
themselves then there therefore these they this those though through throughout thus till toward towards under
unless until upon very were what whatever when whenever where whereas wherever whether which while whom whose
will with within without would your yours yourself yourselves
""".split())

ABBREVIATIONS = frozenset("mr mrs ms dr st mt jr sr vs etc e.g i.e cf no fig approx dept est inc ltd co".split())

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# an alphabetic word of >= 4 letters standing on its own: not glued to letters, digits, apostrophes, hyphens,
# slashes, @, a dot that continues a name ("file.txt", ".html", "e.g.") or a URL scheme ("http://")
_CONTENT = re.compile(r"(?<![\w'’\-./@:\\])[A-Za-z]{4,}(?![\w'’\-/@]|\.\w|:/)")
_SENT_END = re.compile(r"[.!?][\"”’')\]]*\s+")
_TERMINAL = re.compile(r"[.!?][\"”’')\]]*$")


# ----------------------------------------------------------------------------------------------- text (pure)
def split_sentences(text: str) -> list[str]:
    """Sentences of a passage: split after . ! ? (plus closing quotes) and white space, before a capital, digit or
    opening quote; not after common abbreviations ("Mrs.", "e.g.") or single initials ("J.")."""
    out, start = [], 0
    for m in _SENT_END.finditer(text):
        nxt = text[m.end() : m.end() + 1]
        if not nxt or not (nxt.isupper() or nxt.isdigit() or nxt in "\"“‘'("):
            continue
        before = text[start : m.start() + 1].split()
        last = before[-1].rstrip(".").lower() if before else ""
        if text[m.start()] == "." and (last in ABBREVIATIONS or (len(last) == 1 and last.isalpha())):
            continue
        out.append(text[start : m.end()].strip())
        start = m.end()
    if text[start:].strip():
        out.append(text[start:].strip())
    return out


def words_of(text: str) -> list[str]:
    """Lower-cased words (letters/digits, inner apostrophes kept); punctuation dropped."""
    return _WORD.findall(text.lower())


def repeat_counts(text: str) -> tuple[int, int]:
    """(repeated, total) word bigrams of ``text``: a bigram counts as repeated if the same bigram occurred earlier
    in the text or if it is one word twice ("the the")."""
    words = words_of(text)
    seen: set[tuple[str, str]] = set()
    repeated = 0
    bigrams = list(zip(words, words[1:]))
    for bigram in bigrams:
        if bigram in seen or bigram[0] == bigram[1]:
            repeated += 1
        seen.add(bigram)
    return repeated, len(bigrams)


def repeated_bigram_rate(texts: list[str]) -> float:
    """Repeated bigrams as a % of all bigrams, pooled over ``texts``."""
    counts = [repeat_counts(t) for t in texts]
    total = sum(n for _, n in counts)
    return 100.0 * sum(r for r, _ in counts) / total if total else float("nan")


def share_with_repeat(texts: list[str]) -> float:
    return 100.0 * sum(repeat_counts(t)[0] > 0 for t in texts) / len(texts) if texts else float("nan")


def usable_sentence(sentence: str, min_words: int = 8, max_words: int = 40) -> bool:
    """A complete sentence of ordinary length, with no characters that markup would read as brackets."""
    n = len(sentence.split())
    return (min_words <= n <= max_words and not any(c in sentence for c in "[]{}\\")
            and bool(_TERMINAL.search(sentence)) and sum(c.isalpha() for c in sentence) >= 0.6 * len(sentence))


def content_words(sentence: str) -> list[tuple[int, int]]:
    """Character spans of the words that may be masked for the infill measure."""
    out = []
    for m in _CONTENT.finditer(sentence):
        word = m.group()
        if word.lower() in FUNCTION_WORDS or word.isupper():
            continue
        out.append((m.start(), m.end()))
    return out


def choose_word(sentence: str, rng: random.Random) -> tuple[int, int] | None:
    spans = content_words(sentence)
    return rng.choice(spans) if spans else None


def choose_span(sentence: str, rng: random.Random, n_words: int = SPAN_WORDS) -> tuple[int, int] | None:
    """Character span of ``n_words`` consecutive white-space words with at least one word on each side and no
    bracket or double quote inside."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", sentence)]
    starts = [i for i in range(1, len(words) - n_words)  # no bracket or quote cut in half by the span
              if not any(c in sentence[words[i][0] : words[i + n_words - 1][1]] for c in "()\"“”")]
    if not starts:
        return None
    i = rng.choice(starts)
    return words[i][0], words[i + n_words - 1][1]


def to_markup(sentence: str, start: int, end: int) -> str:
    return f"{sentence[:start]}[[{sentence[start:end]}]]{sentence[end:]}"


def filled_text(sentence: str, start: int, end: int, result: str) -> str:
    """What the model wrote in place of ``sentence[start:end]``: the result minus the draft text around the span
    (which the editor returns verbatim; a common prefix/suffix is used if it did not)."""
    prefix, suffix = sentence[:start], sentence[end:]
    if result.startswith(prefix) and result.endswith(suffix) and len(result) >= len(prefix) + len(suffix):
        return result[len(prefix) : len(result) - len(suffix)].strip()
    i = 0
    while i < min(len(prefix), len(result)) and prefix[i] == result[i]:
        i += 1
    j = 0
    while j < min(len(suffix), len(result) - i) and suffix[-1 - j] == result[-1 - j]:
        j += 1
    return result[i : len(result) - j].strip()


def normalise_word(text: str) -> str:
    return re.sub(r"^[\W_]+|[\W_]+$", "", text.strip()).lower()


def exact_match(filled: str, word: str) -> bool:
    return normalise_word(filled) == normalise_word(word)


# ----------------------------------------------------------------------------------------------- cases
def load_passages(sources=SOURCES, corpus: Path = CORPUS) -> dict[str, list[str]]:
    if any(r in s.lower() for s in sources for r in RESERVED):
        raise SystemExit("the Reuters texts are reserved for bench/reuters_eval.py")
    out = {}
    for name in sources:
        path = corpus / f"{name}.heldout.txt"
        if not path.exists():
            raise SystemExit(f"{path} is missing: run python scripts/build_corpus.py")
        out[name] = [line.strip() for line in path.open(encoding="utf-8") if line.strip()]
    return out


def quotas(n: int, sources) -> dict[str, int]:
    base, extra = divmod(n, len(sources))
    return {s: base + (k < extra) for k, s in enumerate(sources)}


def pick_cases(passages: dict[str, list[str]], n: int, seed: int, task: str, chooser) -> list[dict]:
    """``n`` cases spread evenly over the sources: per source, passages in a seeded order, one usable sentence per
    passage, and in it the span ``chooser(sentence, rng)`` returns (passages with none are skipped)."""
    cases = []
    for source, want in quotas(n, list(passages)).items():
        rng = random.Random(f"{seed}:{task}:{source}")
        order = list(range(len(passages[source])))
        rng.shuffle(order)
        got = 0
        for p in order:
            if got == want:
                break
            sentences = [s for s in split_sentences(passages[source][p]) if usable_sentence(s)]
            if not sentences:
                continue
            sentence = rng.choice(sentences)
            span = chooser(sentence, rng)
            if span is None:
                continue
            cases.append({"source": source, "passage": p, "sentence": sentence, "start": span[0], "end": span[1],
                          "target": sentence[span[0] : span[1]]})
            got += 1
    return cases


# ----------------------------------------------------------------------------------------------- packet (pure)
def build_packet(originals: list[str], rewrites: dict[str, list[str | None]], seed: int) -> tuple[list[dict], dict]:
    """Mix the originals with every model's rewrites, shuffled with ``seed``: ``(items, key)`` where items are
    ``{"id", "text"}`` and ``key[id]`` lists the roles of that text: ``{"kind": "original"|"rewrite", "model",
    "case"}``. Identical texts are shown once (a rewrite equal to its original is not a giveaway); None = failed."""
    by_text: dict[str, list[dict]] = {}
    for case, text in enumerate(originals):
        by_text.setdefault(text.strip(), []).append({"kind": "original", "model": None, "case": case})
    for model, texts in rewrites.items():
        for case, text in enumerate(texts):
            if text is not None:
                by_text.setdefault(text.strip(), []).append({"kind": "rewrite", "model": model, "case": case})
    texts = list(by_text)
    random.Random(seed).shuffle(texts)
    width = max(3, len(str(len(texts))))
    items = [{"id": f"s{k + 1:0{width}d}", "text": t} for k, t in enumerate(texts)]
    return items, {item["id"]: by_text[item["text"]] for item in items}


def score_judgements(key: dict[str, list[dict]], judgements: dict[str, bool | None]) -> dict[str, dict]:
    """Per label ("original", or the model of the rewrites): acceptable, judged and total counts and % acceptable
    of the judged. Verdicts must be true/false; null or a missing id is unjudged; unknown ids are an error."""
    unknown = sorted(set(judgements) - set(key))
    if unknown:
        raise ValueError(f"judgements for ids not in the key: {', '.join(unknown[:5])}")
    tally: dict[str, dict] = {}
    for item_id, roles in key.items():
        verdict = judgements.get(item_id)
        if verdict is not None and not isinstance(verdict, bool):
            raise ValueError(f"{item_id}: the verdict must be true, false or null, got {verdict!r}")
        for role in roles:
            label = "original" if role["kind"] == "original" else role["model"]
            t = tally.setdefault(label, {"acceptable": 0, "judged": 0, "total": 0})
            t["total"] += 1
            if verdict is not None:
                t["judged"] += 1
                t["acceptable"] += int(verdict)
    for t in tally.values():
        t["percent"] = 100.0 * t["acceptable"] / t["judged"] if t["judged"] else float("nan")
    return tally


def score_table(tally: dict[str, dict]) -> str:
    lines = ["| texts | acceptable % | acceptable / judged | unjudged |", "|---|---:|---:|---:|"]
    order = sorted(tally, key=lambda k: (k != "original", k))
    for label in order:
        t = tally[label]
        name = "originals" if label == "original" else f"rewrites by `{label}`"
        lines.append(f"| {name} | {t['percent']:.1f} | {t['acceptable']} / {t['judged']} | "
                     f"{t['total'] - t['judged']} |")
    return "\n".join(lines)


PACKET_INSTRUCTIONS = (
    "Read each sentence on its own. Mark it true if it is acceptable English prose (grammatical, makes sense in "
    "itself, no odd repetition or garbled words), false if not. Some sentences were partly rewritten by a model; "
    "the same sentence may appear in several versions. Write the verdicts as a JSON object {id: true/false}.")


def packet_markdown(items: list[dict]) -> str:
    lines = ["# Blind read", "", PACKET_INSTRUCTIONS, ""]
    lines += [f"- **{item['id']}** {item['text']}" for item in items]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------- models
# A model may carry a preset after "+": "smollm2-dlm+best6" samples 6 candidates (temperature 0.8, top-p 0.9) and
# keeps the one the model's causal reading ranks first (dllm_core.ranking); no suffix: greedy, one candidate.
# "+b4best6": the same in semi-autoregressive blocks of 4 tokens, left to right. "+fluent": the writer preset
# (dllm_core.presets.FLUENT: left to right with fluency guidance, 4 beams, span lengths +-2, ranked by the reading).
PRESETS = {"": (1, dict(temperature=0.0)), "best6": (6, dict(temperature=0.8, top_p=0.9)),
           "best4": (4, dict(temperature=0.8, top_p=0.9)),
           "b4best6": (6, dict(temperature=0.8, top_p=0.9, block_length=4)), "fluent": (1, "FLUENT")}


def split_variant(name: str) -> tuple[str, int, dict]:
    """(model, candidates, SamplerConfig settings) of a model name with its preset."""
    model, _, preset = name.partition("+")
    if preset not in PRESETS:
        raise SystemExit(f"unknown preset {preset!r} (known: {', '.join(p for p in PRESETS if p)})")
    n, settings = PRESETS[preset]
    if settings == "FLUENT":
        from dllm_core.presets import FLUENT  # noqa: PLC0415

        settings = dict(FLUENT)
    return model, n, settings


def load_editor(name: str, quantize: str):
    from dllm_core import Editor  # noqa: PLC0415

    return Editor.load(split_variant(name)[0], device="cpu", quantize=quantize)


def edit_text(editor, markup: str, seed: int, candidates: int, settings: dict):
    """The text of one edit (the best-ranked candidate when there are several) and its EditResult."""
    from dllm_core import SamplerConfig  # noqa: PLC0415

    result = editor.edit(markup, SamplerConfig(**settings, seed=seed), n=candidates)  # best first (dllm_core.ranking)
    return result.text, result


def span_tokens(editor, case: dict, config) -> tuple[int, int]:
    """(masked slots the editor gives ``[[target]]``, tokens the target takes inside its sentence in this model's
    tokenizer). They differ where the engine counts a span's tokens apart from its context (a BPE word's leading
    space), which hands the model more or fewer slots than the original wording had."""
    markup = to_markup(case["sentence"], case["start"], case["end"])
    slots = editor.canvas(markup, config).n_masked
    enc = editor.tokenizer(case["sentence"], add_special_tokens=False, return_offsets_mapping=True)
    own = sum(1 for a, b in enc["offset_mapping"] if a < case["end"] and b > case["start"] and b > a)
    return slots, own


def run_infill(editor, cases: list[dict], seed: int, candidates: int = 1, settings: dict | None = None) -> dict:
    from dllm_core import EditError, SamplerConfig  # noqa: PLC0415

    config = SamplerConfig(temperature=0.0, seed=seed)
    fills, hits, slots, own, errors = [], 0, [], [], 0
    for case in cases:
        markup = to_markup(case["sentence"], case["start"], case["end"])
        n_slots, n_own = span_tokens(editor, case, config)
        slots.append(n_slots)
        own.append(n_own)
        try:
            text, _ = edit_text(editor, markup, seed, candidates, settings or {})
            fill = filled_text(case["sentence"], case["start"], case["end"], text)
        except EditError:
            errors += 1
            fill = ""
        fills.append(fill)
        hits += exact_match(fill, case["target"])
    by_source: dict[str, list[int]] = {}
    fitting = []  # cases where the editor gave as many slots as the word has tokens in context
    for case, fill, a, b in zip(cases, fills, slots, own):
        by_source.setdefault(case["source"], []).append(exact_match(fill, case["target"]))
        if a == b:
            fitting.append(exact_match(fill, case["target"]))
    return {"fills": fills, "exact": 100.0 * hits / len(cases), "n": len(cases), "errors": errors,
            "fitting": (100.0 * sum(fitting) / len(fitting) if fitting else float("nan"), len(fitting)),
            "slot_list": slots, "own_list": own,
            "slots": sum(slots) / len(slots), "own_tokens": sum(own) / len(own),
            "by_source": {s: 100.0 * sum(v) / len(v) for s, v in by_source.items()}}


def run_spans(editor, cases: list[dict], seed: int, candidates: int = 1, settings: dict | None = None) -> dict:
    from dllm_core import EditError, SamplerConfig  # noqa: PLC0415

    config = SamplerConfig(temperature=0.0, seed=seed)
    texts, spans, secs, passes, slots, own = [], [], [], [], [], []
    for case in cases:
        markup = to_markup(case["sentence"], case["start"], case["end"])
        n_slots, n_own = span_tokens(editor, case, config)
        slots.append(n_slots)
        own.append(n_own)
        t0 = time.perf_counter()
        try:
            text, result = edit_text(editor, markup, seed, candidates, settings or {})
        except EditError:
            texts.append(None)
            spans.append(None)
            continue
        secs.append(time.perf_counter() - t0)
        passes.append(result.stats.forward_passes)
        texts.append(text)
        spans.append(filled_text(case["sentence"], case["start"], case["end"], text))
    return {"texts": texts, "spans": spans, "seconds": median(secs), "passes": sum(passes) / max(len(passes), 1),
            "slots": sum(slots) / len(slots), "own_tokens": sum(own) / len(own)}


def window_markup(editor, passage: str, total: int = WINDOW_TOKENS, left: int = 48, masks: int = 32) -> str:
    """``prefix [[N]] suffix`` from ``passage`` whose canvas is exactly ``total`` tokens of this model: a prefix of
    at least ``left`` tokens, then words of suffix until the canvas reaches ``total`` with ``masks`` inserted
    tokens, then N lowered by any overshoot."""
    from dllm_core import SamplerConfig  # noqa: PLC0415

    config = SamplerConfig()
    words = passage.split()

    def size(markup: str) -> int:
        return len(editor.canvas(markup, config))

    k = 1
    while size(" ".join(words[:k]) + " [[1]]") - 1 < left:
        k += 1
    prefix, j = " ".join(words[:k]), k + 1
    while size(f"{prefix} [[{masks}]] {' '.join(words[k:j])}") < total:
        j += 1
        if j > len(words):
            raise ValueError("the passage is too short for the window")
    suffix = " ".join(words[k:j])
    n = masks - (size(f"{prefix} [[{masks}]] {suffix}") - total)
    markup = f"{prefix} [[{n}]] {suffix}"
    assert size(markup) == total, (size(markup), total)
    return markup


def step_time(editors: dict[str, object], passage: str, repeats: int) -> dict[str, dict]:
    """Per editor (e.g. fp32 and int8 of one model): median ms per forward pass (``adapter.logits_at``) and per
    sampler step on a 128-token window. The editors take turns edit by edit, so a change in the machine's load
    during the run falls on all of them alike."""
    from dllm_core import SamplerConfig  # noqa: PLC0415
    from dllm_core.sampler import StepEvent  # noqa: PLC0415

    config = SamplerConfig(steps=16, threshold=None)
    runs = {}
    for label, editor in editors.items():
        adapter = editor.adapter
        run = runs[label] = {"markup": window_markup(editor, passage), "forward": [], "widths": [], "steps": [],
                             "passes": []}

        def timed(input_ids, *args, _inner=adapter.logits_at, _run=run, **kwargs):
            t0 = time.perf_counter()
            out = _inner(input_ids, *args, **kwargs)
            _run["forward"].append(time.perf_counter() - t0)
            _run["widths"].append(int(input_ids.shape[1]) - 2)  # the window, framed by one token each side
            return out

        adapter.logits_at = timed  # an instance attribute: the sampler calls it instead of the method
    try:
        for label, editor in editors.items():  # warm-up
            editor.edit(runs[label]["markup"], config)
            runs[label]["forward"].clear()
        for _ in range(repeats):
            for label, editor in editors.items():
                run = runs[label]
                last = time.perf_counter()
                for item in editor.stream(run["markup"], config):
                    now = time.perf_counter()
                    if isinstance(item, StepEvent):
                        run["steps"].append(now - last)
                    last = now
                run["passes"].append(item.stats.forward_passes)
    finally:
        for editor in editors.values():
            del editor.adapter.logits_at  # back to the class method
    return {label: {"forward_ms": 1000 * median(r["forward"]), "forward_p90_ms": 1000 * percentile(r["forward"], 0.9),
                    "step_ms": 1000 * median(r["steps"]), "passes": r["passes"][0], "window": max(r["widths"]),
                    "runs": repeats} for label, r in runs.items()}


def window_passage(passages: dict[str, list[str]], min_words: int = 200) -> str:
    """Held-out wiki passages in file order, joined until there are ``min_words`` words: enough prose for a
    128-token window in any tokenizer."""
    words: list[str] = []
    for line in passages.get("wiki") or next(iter(passages.values())):
        if not any(c in line for c in "[]{}\\"):
            words += line.split()
        if len(words) >= min_words:
            return " ".join(words)
    raise SystemExit("not enough held-out prose for the step-time window")


# ----------------------------------------------------------------------------------------------- judge
def perplexities(texts: list[str]) -> list[float]:
    """SmolLM2-135M-Instruct perplexities via bench/ar_model.py (the cached smollm2-dlm base, no delta)."""
    import ar_model  # noqa: PLC0415

    return ar_model.perplexity(texts)


# ----------------------------------------------------------------------------------------------- report
def fmt(x: float, digits: int = 1) -> str:
    return "–" if x != x else f"{x:.{digits}f}"


def quality_table(models: list[str], res: dict, orig_rep: tuple[float, float], orig_ppl: float | None) -> str:
    lines = ["| model | infill exact match % (n) | slots per masked word (its tokens in context) | slots per "
             "span (its tokens in context) | span rewrites identical to "
             "the original % | repeated bigrams % (originals " + fmt(orig_rep[0]) + ") | sentences with a repeat % "
             "(originals " + fmt(orig_rep[1]) + ") | SmolLM2 ppl rewrite / original, median [p25, p75]"
             + (f" (originals' median ppl {fmt(orig_ppl)})" if orig_ppl is not None else "") + " | s per span edit "
             "(passes) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in models:
        r = res[m]
        ratio = r.get("ppl_ratio")
        ratio_s = "–" if ratio is None else f"{fmt(ratio[0], 2)} [{fmt(ratio[1], 2)}, {fmt(ratio[2], 2)}]"
        lines.append(f"| `{m}` | {fmt(r['infill']['exact'])} ({r['infill']['n']}) | "
                     f"{fmt(r['infill']['slots'], 2)} ({fmt(r['infill']['own_tokens'], 2)}) | "
                     f"{fmt(r['spans']['slots'], 2)} ({fmt(r['spans']['own_tokens'], 2)}) | "
                     f"{fmt(r['identical'])} | {fmt(r['rep_rate'])} | "
                     f"{fmt(r['rep_share'])} | {ratio_s} | {r['spans']['seconds']:.2f} ({r['spans']['passes']:.1f}) |")
    return "\n".join(lines)


def speed_table(models: list[str], res: dict) -> str:
    lines = ["| model | window tokens | fp32 ms / forward (p90) | fp32 ms / step | int8 ms / forward (p90) | "
             "int8 ms / step | int8 speed-up |", "|---|---:|---:|---:|---:|---:|---:|"]
    for m in models:
        f, q = res[m].get("speed_fp32"), res[m].get("speed_int8")
        if not f:
            continue
        qs = (f"{q['forward_ms']:.1f} ({q['forward_p90_ms']:.1f}) | {q['step_ms']:.1f} | "
              f"{f['forward_ms'] / q['forward_ms']:.2f}×") if q else "– | – | –"
        lines.append(f"| `{m}` | {f['window']} | {f['forward_ms']:.1f} ({f['forward_p90_ms']:.1f}) | "
                     f"{f['step_ms']:.1f} | {qs} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------- main
def score_main(key_path: Path, judgements_path: Path) -> None:
    key = json.loads(key_path.read_text())
    judgements = json.loads(judgements_path.read_text())
    if isinstance(judgements, dict) and isinstance(judgements.get("judgements"), dict):
        judgements = judgements["judgements"]
    try:
        tally = score_judgements(key["items"], judgements)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from exc
    print(score_table(tally))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=None,
                   help="model names or delta directories (default: minilm smollm2-dlm, the latter if shipped)")
    p.add_argument("--model", action="append", default=[], help="one more model (name or directory); repeatable")
    p.add_argument("--n-infill", type=int, default=200)
    p.add_argument("--n-spans", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=5, help="timed edits per model and precision (16 passes each)")
    p.add_argument("--quantize", choices=("none", "int8"), default="none", help="weights for the quality measures")
    p.add_argument("--quick", action="store_true", help="n-infill 20, n-spans 5, repeats 2; writes *_quick files")
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (default: torch's choice); 1 while another job uses the cores: on 2 "
                        "shared cores, 2 threads made a SmolLM2 forward pass 10-80x slower than 1 thread")
    p.add_argument("--no-judge", action="store_true", help="skip the SmolLM2 perplexity judge")
    p.add_argument("--no-speed", action="store_true")
    p.add_argument("--score", nargs=2, type=Path, metavar=("KEYFILE", "JUDGEMENTS"),
                   help="score a blind read and exit")
    args = p.parse_args(argv)
    if args.score:
        score_main(*args.score)
        return
    if args.quick:
        args.n_infill, args.n_spans, args.repeats = min(args.n_infill, 20), min(args.n_spans, 5), min(args.repeats, 2)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch  # noqa: PLC0415

    from dllm_core.adapter import SMOLLM_DELTA_DIR  # noqa: PLC0415

    if args.threads:
        torch.set_num_threads(args.threads)
    load_start = os.getloadavg()[0]
    if load_start >= 0.5 * (os.cpu_count() or 1) and not args.threads:
        print(f"note: load average {load_start:.1f} on {os.cpu_count()} cores: step times will be inflated; "
              "--threads 1 avoids the worst of it", flush=True)

    models = list(args.models or [])
    if not models and not args.model:
        models = [m for m in DEFAULT_MODELS if m != "smollm2-dlm" or (SMOLLM_DELTA_DIR / "config.json").exists()]
        if "smollm2-dlm" not in models:
            print(f"note: {SMOLLM_DELTA_DIR} is not there yet: smollm2-dlm skipped", flush=True)
    models += args.model

    passages = load_passages()
    infill_cases = pick_cases(passages, args.n_infill, args.seed, "infill", choose_word)
    span_cases = pick_cases(passages, args.n_spans, args.seed, "span", choose_span)
    originals = [c["sentence"] for c in span_cases]
    window_text = window_passage(passages)
    res: dict[str, dict] = {}
    for name in models:
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        editor = load_editor(name, args.quantize)
        r = res[name] = {"describe": editor.adapter.describe()}
        _, n_cand, settings = split_variant(name)
        r["infill"] = run_infill(editor, infill_cases, args.seed, n_cand, settings)
        print(f"   infill exact match {r['infill']['exact']:.1f} % of {r['infill']['n']}", flush=True)
        r["spans"] = run_spans(editor, span_cases, args.seed, n_cand, settings)
        done = [(o, t) for o, t in zip(originals, r["spans"]["texts"]) if t is not None]
        r["identical"] = 100.0 * sum(o.strip() == t.strip() for o, t in done) / max(len(done), 1)
        r["rep_rate"] = repeated_bigram_rate([t for _, t in done])
        r["rep_share"] = share_with_repeat([t for _, t in done])
        print(f"   spans: repeated bigrams {r['rep_rate']:.1f} %, identical {r['identical']:.0f} %", flush=True)
        if not args.no_speed and "+" not in name:
            other = "int8" if args.quantize == "none" else "none"
            pair = {args.quantize: editor, other: load_editor(name, other)}
            times = step_time(pair, window_text, args.repeats)
            r["speed_fp32"], r["speed_int8"] = times["none"], times["int8"]
            print(f"   {r['speed_fp32']['forward_ms']:.1f} ms / forward fp32, {r['speed_int8']['forward_ms']:.1f} int8",
                  flush=True)
            del pair
        del editor
        r["wall_s"] = time.perf_counter() - t0

    orig_ppl = None
    if not args.no_judge:
        print("== SmolLM2 judge", flush=True)
        base = perplexities(originals)
        orig_ppl = median(base)
        for name in models:
            texts = res[name]["spans"]["texts"]
            pairs = [(i, t) for i, t in enumerate(texts) if t is not None]
            ppl = perplexities([t for _, t in pairs])
            ratios = [q / base[i] for (i, _), q in zip(pairs, ppl)]
            res[name]["ppl"] = ppl
            res[name]["ppl_ratio"] = (median(ratios), percentile(ratios, 0.25), percentile(ratios, 0.75))

    quick = "_quick" if args.quick else ""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    items, key = build_packet(originals, {m: res[m]["spans"]["texts"] for m in models}, args.seed)
    packet_json = RESULTS_DIR / f"writer_eval{quick}_packet.json"
    key_json = RESULTS_DIR / f"writer_eval{quick}_key.json"
    packet_json.write_text(json.dumps({"instructions": PACKET_INSTRUCTIONS, "items": items}, indent=1,
                                      ensure_ascii=False) + "\n")
    (RESULTS_DIR / f"writer_eval{quick}_packet.md").write_text(packet_markdown(items))
    (RESULTS_DIR / f"writer_eval{quick}_judgements_template.json").write_text(
        json.dumps({item["id"]: None for item in items}, indent=1) + "\n")
    key_json.write_text(json.dumps({"seed": args.seed, "models": models, "items": key,
                                    "cases": [{k: c[k] for k in ("source", "passage", "sentence", "target")}
                                              for c in span_cases]}, indent=1, ensure_ascii=False) + "\n")
    per_case = {
        "seed": args.seed,
        "models": {m: res[m]["describe"] for m in models},
        "infill": [{**c, "fills": {m: res[m]["infill"]["fills"][i] for m in models},
                    "slots": {m: [res[m]["infill"]["slot_list"][i], res[m]["infill"]["own_list"][i]] for m in models}}
                   for i, c in enumerate(infill_cases)],
        "spans": [{**c, "rewrites": {m: res[m]["spans"]["spans"][i] for m in models}, "ppl_ratio": {}}
                  for i, c in enumerate(span_cases)],
    }
    if not args.no_judge:  # ppl lists skip failed edits: re-index by case
        for m in models:
            idx = [i for i, t in enumerate(res[m]["spans"]["texts"]) if t is not None]
            for i, q in zip(idx, res[m]["ppl"]):
                per_case["spans"][i]["ppl_ratio"][m] = round(q / base[i], 3)
    (RESULTS_DIR / f"writer_eval{quick}_cases.json").write_text(json.dumps(per_case, indent=1, ensure_ascii=False)
                                                                + "\n")

    orig_rep = (repeated_bigram_rate(originals), share_with_repeat(originals))
    qual = quality_table(models, res, orig_rep, orig_ppl)
    speed = speed_table(models, res)
    by_source = ["| model | " + " | ".join(SOURCES) + " | all | only where slots = the word's tokens (n) |",
                 "|---|" + "---:|" * (len(SOURCES) + 2)]
    for m in models:
        r = res[m]["infill"]
        by_source.append(f"| `{m}` | " + " | ".join(fmt(r["by_source"].get(s, float("nan"))) for s in SOURCES)
                         + f" | {fmt(r['exact'])} | {fmt(r['fitting'][0])} ({r['fitting'][1]}) |")
    load = os.getloadavg()
    cores = os.cpu_count() or 1
    busy = max(load_start, load[0]) >= 0.5 * cores
    precision = "fp32" if args.quantize == "none" else "int8"
    body = (f"Models: {'; '.join(res[m]['describe'] for m in models)} (quality with {precision} weights). "
            f"Same cases for every model: {len(infill_cases)} single-word infills and {len(span_cases)} "
            f"{SPAN_WORDS}-word span rewrites, sentences of held-out {', '.join(SOURCES)} (seed {args.seed}); greedy, "
            "default steps (16, threshold 0.9). Perplexity judge: SmolLM2-135M-Instruct, the base smollm2-dlm was "
            "adapted from (it favours that model's wording)."
            + (" **Quick run: small n, for testing only.**" if args.quick else "") +
            f"\n\n### Quality\n\n{qual}\n\nSlots: the masked positions the editor gave ``[[words]]`` (\"the same "
            "token count\"); in brackets, the tokens those words take inside their sentence in the model's own "
            "tokenizer. Where the two differ the model cannot write the original wording."
            "\n\n### Single-word infill exact match % by source\n\n" + "\n".join(by_source)
            + ("" if args.no_speed else
               f"\n\n### Step time, {WINDOW_TOKENS}-token window (16 forward passes per edit, fp32 and int8 edits "
               f"taking turns, median of {args.repeats} edits each after a warm-up)\n\n{speed}")
            + f"\n\n1-minute load average at the start / end of the run: {load_start:.1f} / {load[0]:.1f} on {cores} "
            "cores." + (" **The CPU was busy with other work during this run: timings are inflated and noisy; rerun "
                        "on an idle machine before quoting them.**" if busy else "")
            + f"\n\nBlind-read packet: `{packet_json.relative_to(ROOT)}` ({len(items)} texts), key "
            f"`{key_json.relative_to(ROOT)}`; score with `python bench/writer_eval.py --score "
            f"{key_json.relative_to(ROOT)} JUDGEMENTS.json`.")
    print("\n" + body.split("\n\n", 1)[1], flush=True)
    command = "python bench/writer_eval.py " + " ".join(sys.argv[1:] if argv is None else argv)
    write_section("Writer eval", command.strip(), body)


if __name__ == "__main__":
    main()
