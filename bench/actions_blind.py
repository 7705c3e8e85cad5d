"""Blind reads of the writing actions (issues 14, 22): what a careful reader keeps, and whether the meaning survived.

    python bench/actions.py --models smollm2-dlm --n 60 --k 3 --threads 1        # the outputs (bench/actions.py)
    python bench/actions_blind.py --cases bench/results/actions_cases_outside_s0.json   # packets A and B
    python bench/actions_blind.py --score KEY JUDGEMENTS_A JUDGEMENTS_B           # the table, into RESULTS.md
    python bench/actions_blind.py --single                                        # issue 14's one-read packet

Two reads of the first alternative of every model and action in the cases file (written by bench/actions.py),
each a packet of texts with ids only (nothing says which action made a text, nor whether it is an original),
shuffled with ``--seed`` (default: the cases' sentence seed, which names the files):

- **Read A, acceptability**: every first alternative and every original sentence, one by one. Per id:
  ``acceptable`` (would a careful writer keep this sentence as written: grammatical, natural, makes sense) and
  ``fluency`` 1-5. A text made by several sources (e.g. an output equal to its original) is shown once and its
  verdict counts for each.
- **Read B, meaning**: every (original, edited) pair. Per id: ``meaning_kept`` (the edit says the same thing; for
  a shorter text: no statement changed or added, only less detail, nothing essential lost), ``fact_changed`` (a
  number, name, date, quantity, direction, time, polarity or other fact differs or is added) and a ``note`` naming
  the changed fact.

Files, under bench/results/, ``PREFIX = actions_blind_{source}[_quick]_s{seed}``: ``PREFIX_A_packet.md``,
``PREFIX_A_template.json``, ``PREFIX_B_packet.md``, ``PREFIX_B_template.json`` (the readers see these), and
``PREFIX_key.json`` (they must not: which text is whose, declined sentences, the deterministic figures).

Scoring, per model and action, overall and per genre: n; declined (the action refused the sentence, gave no
alternative, or raised: nothing to read, and not usable); accepted %, fluency, meaning kept %, fact changed % of
the outputs read; **usable %: accepted and meaning kept, of n** (a declined sentence counts as not usable; a
sentence not judged in either read is left out), and the same of the sentences not declined; the originals'
acceptance; shorten's length hit (within one word of the target) among sentences not declined and the mean meaning
similarity from bench/actions.py. Where the outputs carry a fact check (``facts`` with ``ok``), how it agrees with
the reader's ``fact_changed``. Written to bench/RESULTS.md, section "Writing actions on unseen genres: blind reads"
(an in-domain cases file: "Writing actions, in-domain: two blind reads").
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from pathlib import Path

from common import ROOT, pct, write_section
from writer_eval import build_packet, packet_markdown

RESULTS = ROOT / "bench" / "results"
DEFAULT_CASES = RESULTS / "actions_cases_outside_s0.json"
SECTIONS = {"outside": "Writing actions on unseen genres: blind reads",
            "heldout": "Writing actions, in-domain: two blind reads"}

INSTRUCTIONS_A = (
    "Read each sentence on its own; the sentences are unrelated to each other. Some were edited by a program, some "
    "were not; the same sentence may appear in more than one version. For every id give:\n\n"
    "- `acceptable`: true if a careful writer would keep this sentence exactly as written (grammatical, natural, "
    "makes sense), false if not;\n"
    "- `fluency`: 1 (broken) to 5 (reads perfectly naturally).\n\n"
    "Fill in the JSON template: `{id: {\"acceptable\": true/false, \"fluency\": 1-5}}`.")

INSTRUCTIONS_B = (
    "Each item shows an original sentence and an edited version of it (shortened, reworded, or changed in tone). "
    "Compare the two. For every id give:\n\n"
    "- `meaning_kept`: true if the edited version says the same thing as the original; for a shorter version: no "
    "statement changed or added, only less detail, and nothing essential lost. False otherwise.\n"
    "- `fact_changed`: true if any number, name, date, quantity, direction (rise/fall, to/from), time, polarity "
    "(a negation, yes/no) or other fact differs from the original or is added; false otherwise. Details that are "
    "only left out are not a changed fact.\n"
    "- `note`: when a fact changed, a few words saying which (e.g. \"'years later' -> 'years ago'\"); else \"\".\n\n"
    "Fill in the JSON template: `{id: {\"meaning_kept\": true/false, \"fact_changed\": true/false, \"note\": "
    "\"...\"}}`.")


# ------------------------------------------------------------------------------------------------ packets (pure)
def collect(data: dict) -> tuple[list[dict], list[dict]]:
    """The originals ``[{"case", "genre", "text"}]`` and the outputs ``[{"label", "model", "action", "case",
    "genre", "text" (None when declined), "declined", ...}]`` of a cases file (bench/actions.py)."""
    items = data.get("items") or [{"genre": "in-domain", "text": t} for t in data["sentences"]]
    originals = [{"case": c, "genre": it["genre"], "text": it["text"]} for c, it in enumerate(items)]
    outputs = []
    for run in data["runs"]:
        for action, cases in run["cases"].items():
            for c, case in enumerate(cases):
                alternatives = case.get("alternatives") or []
                declined = bool(case.get("declined")) or not alternatives
                first = (case.get("alternatives_json") or [{}])[0]
                outputs.append({
                    "label": f"{run['model']} {action}", "model": run["model"], "action": action, "case": c,
                    "genre": case.get("genre", originals[c]["genre"]),
                    "text": None if declined else alternatives[0], "declined": declined,
                    "declined_why": case.get("declined_why") or (None if not declined else "no alternative"),
                    "error": case.get("error"), "length_hit": None if declined else case.get("length_hit"),
                    "target_words": case.get("target_words"), "words_before": case.get("words_before"),
                    "words_after": None if declined else case.get("words_after"),
                    "similarity": None if declined else case.get("similarity"),
                    "facts": first.get("facts") if isinstance(first, dict) else None})
    return originals, outputs


def build_reads(originals: list[dict], outputs: list[dict], seed: int) -> tuple[list[dict], list[dict], dict]:
    """(items of read A ``{"id", "text"}``, items of read B ``{"id", "original", "edited"}``, key). Key: ``A[id]``:
    roles ``{"kind": "original", "case"}`` / ``{"kind": "output", "output": index}``; ``B[id]``: output indices."""
    rewrites: dict[str, list[str | None]] = {}
    for k, out in enumerate(outputs):  # one "model" per output so that every role is its own
        rewrites[str(k)] = [None] * len(originals)
        rewrites[str(k)][out["case"]] = out["text"]
    items_a, key_a = build_packet([o["text"] for o in originals], rewrites, seed)
    a_ids = {}
    for item in items_a:
        new = "a" + item["id"][1:]
        a_ids[item["id"]] = new
        item["id"] = new
    roles_a = {a_ids[i]: [{"kind": "original", "case": r["case"]} if r["kind"] == "original"
                          else {"kind": "output", "output": int(r["model"])} for r in roles]
               for i, roles in key_a.items()}
    pairs: dict[tuple[str, str], list[int]] = {}
    for k, out in enumerate(outputs):
        if out["text"] is not None:
            pairs.setdefault((originals[out["case"]]["text"].strip(), out["text"].strip()), []).append(k)
    order = list(pairs)
    random.Random(f"read B {seed}").shuffle(order)
    width = max(3, len(str(len(order))))
    items_b = [{"id": f"b{k + 1:0{width}d}", "original": o, "edited": e} for k, (o, e) in enumerate(order)]
    roles_b = {item["id"]: pairs[(item["original"], item["edited"])] for item in items_b}
    return items_a, items_b, {"A": roles_a, "B": roles_b}


def markdown_a(items: list[dict]) -> str:
    lines = ["# Read A: is each sentence acceptable?", "", INSTRUCTIONS_A, ""]
    lines += [f"- **{item['id']}** {item['text']}" for item in items]
    return "\n".join(lines) + "\n"


def markdown_b(items: list[dict]) -> str:
    lines = ["# Read B: does the edit keep the meaning and the facts?", "", INSTRUCTIONS_B, ""]
    for item in items:
        lines += [f"## {item['id']}", "", f"- original: {item['original']}", f"- edited: {item['edited']}", ""]
    return "\n".join(lines)


def template_a(items: list[dict]) -> dict:
    return {item["id"]: {"acceptable": None, "fluency": None} for item in items}


def template_b(items: list[dict]) -> dict:
    return {item["id"]: {"meaning_kept": None, "fact_changed": None, "note": ""} for item in items}


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def prefix_of(data: dict, cases_path: Path, seed: int) -> str:
    if data.get("prefix"):  # a cases file that names its packets (bench/span_blind.py)
        return data["prefix"]
    quick = "_quick" if cases_path.stem.endswith("_quick") else ""
    return f"actions_blind_{data.get('source', 'heldout')}{quick}_s{seed}"


def write_reads(cases_path: Path, seed: int | None = None, out_dir: Path = RESULTS) -> dict[str, Path]:
    data = json.loads(cases_path.read_text())
    seed = data.get("seed", 0) if seed is None else seed
    originals, outputs = collect(data)
    items_a, items_b, key = build_reads(originals, outputs, seed)
    prefix = prefix_of(data, cases_path, seed)
    files = {name: out_dir / f"{prefix}_{name}" for name in
             ("A_packet.md", "A_template.json", "B_packet.md", "B_template.json", "key.json")}
    out_dir.mkdir(parents=True, exist_ok=True)
    files["A_packet.md"].write_text(markdown_a(items_a))
    files["B_packet.md"].write_text(markdown_b(items_b))
    files["A_template.json"].write_text(json.dumps(template_a(items_a), indent=1) + "\n")
    files["B_template.json"].write_text(json.dumps(template_b(items_b), indent=1) + "\n")
    cases_name = rel(cases_path)
    files["key.json"].write_text(json.dumps(
        {"version": 2, "cases": cases_name, "seed": seed, "sentence_seed": data.get("seed"),
         "source": data.get("source", "heldout"), "source_label": data.get("source_label", "in-domain"),
         "settings": data.get("settings", {}), "originals": originals, "outputs": outputs,
         **{k: data[k] for k in ("section", "describe") if k in data}, **key},
        indent=1, ensure_ascii=False) + "\n")
    print(f"read A: {len(items_a)} texts -> {rel(files['A_packet.md'])}, {rel(files['A_template.json'])}")
    print(f"read B: {len(items_b)} pairs -> {rel(files['B_packet.md'])}, {rel(files['B_template.json'])}")
    print(f"key (not for the readers): {rel(files['key.json'])}")
    return files


# ------------------------------------------------------------------------------------------------ scoring (pure)
def _unwrap(judgements: dict) -> dict:
    if isinstance(judgements, dict) and isinstance(judgements.get("judgements"), dict):
        return judgements["judgements"]
    return judgements


def _bool(item_id: str, field: str, value) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"{item_id}: {field} must be true, false or null, got {value!r}")
    return value


def read_a(judgements: dict, ids) -> dict[str, tuple[bool | None, int | None]]:
    """``{id: (acceptable, fluency)}`` from ``{id: {"acceptable", "fluency"}}`` (or ``{id: true/false}``)."""
    judgements = _unwrap(judgements)
    unknown = sorted(set(judgements) - set(ids))
    if unknown:
        raise ValueError(f"read A: judgements for ids not in the key: {', '.join(unknown[:5])}")
    out = {}
    for item_id, v in judgements.items():
        if isinstance(v, dict):
            acceptable, fluency = _bool(item_id, "acceptable", v.get("acceptable")), v.get("fluency")
        else:
            acceptable, fluency = _bool(item_id, "acceptable", v), None
        if fluency is not None and (isinstance(fluency, bool) or fluency not in (1, 2, 3, 4, 5)):
            raise ValueError(f"{item_id}: fluency must be 1-5 or null, got {fluency!r}")
        out[item_id] = (acceptable, fluency)
    return out


def read_b(judgements: dict, ids) -> dict[str, tuple[bool | None, bool | None, str]]:
    """``{id: (meaning_kept, fact_changed, note)}``."""
    judgements = _unwrap(judgements)
    unknown = sorted(set(judgements) - set(ids))
    if unknown:
        raise ValueError(f"read B: judgements for ids not in the key: {', '.join(unknown[:5])}")
    out = {}
    for item_id, v in judgements.items():
        if not isinstance(v, dict):
            raise ValueError(f"{item_id}: read B wants {{\"meaning_kept\", \"fact_changed\", \"note\"}}, got {v!r}")
        out[item_id] = (_bool(item_id, "meaning_kept", v.get("meaning_kept")),
                        _bool(item_id, "fact_changed", v.get("fact_changed")), str(v.get("note") or ""))
    return out


def _new_tally() -> dict:
    return {"n": 0, "declined": 0, "errors": 0, "read": 0, "judged_a": 0, "accepted": 0, "fluency": [],
            "judged_meaning": 0, "meaning_kept": 0, "judged_fact": 0, "fact_changed": 0, "judged_both": 0,
            "usable": 0, "length_answered": 0, "length_hit": 0, "similarity": [], "notes": [],
            "checker": {"both": 0, "reader_only": 0, "checker_only": 0, "neither": 0}}


def _finish(t: dict) -> dict:
    def pc(a, b):
        return 100.0 * a / b if b else None

    t["accepted_pct"] = pc(t["accepted"], t["judged_a"])
    t["meaning_kept_pct"] = pc(t["meaning_kept"], t["judged_meaning"])
    t["fact_changed_pct"] = pc(t["fact_changed"], t["judged_fact"])
    t["usable_denominator"] = t["declined"] + t["judged_both"]
    t["usable_pct"] = pc(t["usable"], t["usable_denominator"])
    t["usable_answered_pct"] = pc(t["usable"], t["judged_both"])
    t["length_hit_pct"] = pc(t["length_hit"], t["length_answered"])
    t["fluency_mean"] = statistics.mean(t["fluency"]) if t["fluency"] else None
    t["similarity_mean"] = statistics.mean(t["similarity"]) if t["similarity"] else None
    return t


def unseen_key(key: dict, earlier: list[dict]) -> dict:
    """``key`` with only the cases whose sentence is in none of the ``earlier`` keys' originals (the sentences of
    earlier reads, looked at while the code was changed): outputs and originals of the others left out."""
    seen = {case["text"] for other in earlier for case in other["originals"]}
    keep = {case["case"] for case in key["originals"] if case["text"] not in seen}
    outputs = [dict(out, genre="_seen") if out["case"] not in keep else out for out in key["outputs"]]
    return {**key, "originals": [c for c in key["originals"] if c["case"] in keep],
            "outputs": outputs, "skip_genre": "_seen"}


def score(key: dict, judgements_a: dict, judgements_b: dict) -> dict:
    """Tallies ``{"actions": {label: tally}, "genres": {(label, genre): tally}, "originals": {genre|"all":
    {...}}}`` of both reads (see the module's doc for what counts)."""
    verdict_a = read_a(judgements_a, key["A"])
    verdict_b = read_b(judgements_b, key["B"])
    a_of_output: dict[int, str] = {}
    a_of_original: dict[int, str] = {}
    for item_id, roles in key["A"].items():
        for role in roles:
            if role["kind"] == "original":
                a_of_original[role["case"]] = item_id
            else:
                a_of_output[role["output"]] = item_id
    b_of_output = {k: item_id for item_id, outs in key["B"].items() for k in outs}

    actions: dict[str, dict] = {}
    genres: dict[tuple[str, str], dict] = {}
    for k, out in enumerate(key["outputs"]):
        if out["genre"] == key.get("skip_genre"):
            continue  # unseen_key: a sentence of an earlier read
        for t in (actions.setdefault(out["label"], _new_tally()),
                  genres.setdefault((out["label"], out["genre"]), _new_tally())):
            t["n"] += 1
            if out["declined"]:
                t["declined"] += 1
                t["errors"] += out.get("error") is not None
                continue
            t["read"] += 1
            if out.get("length_hit") is not None:
                t["length_answered"] += 1
                t["length_hit"] += bool(out["length_hit"])
            if out.get("similarity") is not None:
                t["similarity"].append(out["similarity"])
            acceptable, fluency = verdict_a.get(a_of_output.get(k), (None, None))
            kept, changed, note = verdict_b.get(b_of_output.get(k), (None, None, ""))
            if acceptable is not None:
                t["judged_a"] += 1
                t["accepted"] += acceptable
            if fluency is not None:
                t["fluency"].append(fluency)
            if kept is not None:
                t["judged_meaning"] += 1
                t["meaning_kept"] += kept
            if changed is not None:
                t["judged_fact"] += 1
                t["fact_changed"] += changed
                if changed and note:
                    t["notes"].append(note)
                facts = out.get("facts")
                if isinstance(facts, dict) and isinstance(facts.get("ok"), bool):
                    flagged = not facts["ok"]
                    t["checker"][{(True, True): "both", (True, False): "reader_only", (False, True): "checker_only",
                                  (False, False): "neither"}[(changed, flagged)]] += 1
            if acceptable is not None and kept is not None:
                t["judged_both"] += 1
                t["usable"] += acceptable and kept
    originals: dict[str, dict] = {}
    for case in key["originals"]:
        acceptable, fluency = verdict_a.get(a_of_original.get(case["case"]), (None, None))
        for g in ("all", case["genre"]):
            t = originals.setdefault(g, {"n": 0, "judged": 0, "accepted": 0, "fluency": []})
            t["n"] += 1
            if acceptable is not None:
                t["judged"] += 1
                t["accepted"] += acceptable
            if fluency is not None:
                t["fluency"].append(fluency)
    for t in originals.values():
        t["accepted_pct"] = 100.0 * t["accepted"] / t["judged"] if t["judged"] else None
        t["fluency_mean"] = statistics.mean(t["fluency"]) if t["fluency"] else None
    return {"actions": {k: _finish(v) for k, v in actions.items()},
            "genres": {k: _finish(v) for k, v in genres.items()}, "originals": originals}


TABLE_HEAD = ["| {what} | n | declined | accepted % | fluency (1-5) | meaning kept % | fact changed % | "
              "**usable %** (of n) | usable % of not declined | length hit % (not declined) | "
              "meaning similarity |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]


def _line(name: str, t: dict) -> str:
    declined = f"{t['declined']}" + (f" ({t['errors']} errors)" if t["errors"] else "")
    usable = f"**{pct(t['usable_pct'])}** ({t['usable']} / {t['usable_denominator']})"
    return (f"| {name} | {t['n']} | {declined} | {pct(t['accepted_pct'])} | {pct(t['fluency_mean'], 1)} | "
            f"{pct(t['meaning_kept_pct'])} | {pct(t['fact_changed_pct'])} | {usable} | "
            f"{pct(t['usable_answered_pct'])} | {pct(t['length_hit_pct'])} | "
            f"{pct(t['similarity_mean'], 2)} |")


def score_tables(tally: dict) -> str:
    o = tally["originals"]
    out = [TABLE_HEAD[0].format(what="model, action"), TABLE_HEAD[1]]
    out += [_line(label.replace(" ", ", ", 1), t) for label, t in tally["actions"].items()]
    orig = o.get("all", {"n": 0, "judged": 0, "accepted": 0, "accepted_pct": None, "fluency_mean": None})
    out += ["", f"Originals: {pct(orig['accepted_pct'])} % accepted ({orig['accepted']} / {orig['judged']} judged "
            f"of {orig['n']}), fluency {pct(orig['fluency_mean'], 1)}."]
    genres = sorted({g for _, g in tally["genres"]})
    if len(genres) > 1 or genres and genres[0] != "in-domain":
        out += ["", "Per genre:", "", TABLE_HEAD[0].format(what="model, action, genre"), TABLE_HEAD[1]]
        for label in tally["actions"]:
            for g in genres:
                if (label, g) in tally["genres"]:
                    out.append(_line(f"{label.replace(' ', ', ', 1)}, {g}", tally["genres"][(label, g)]))
        out += ["", "Originals per genre: " + "; ".join(
            f"{g} {pct(o[g]['accepted_pct'])} % accepted ({o[g]['accepted']} / {o[g]['judged']}), fluency "
            f"{pct(o[g]['fluency_mean'], 1)}" for g in genres if g in o) + "."]
    checker = [(label, t["checker"]) for label, t in tally["actions"].items() if sum(t["checker"].values())]
    if checker:
        out += ["", "The outputs' fact check (`facts.ok` false = flagged) against the reader's `fact_changed`:", "",
                "| model, action | both flag | reader only | fact check only | neither |", "|---|---:|---:|---:|---:|"]
        out += [f"| {label.replace(' ', ', ', 1)} | {c['both']} | {c['reader_only']} | {c['checker_only']} | "
                f"{c['neither']} |" for label, c in checker]
    notes = [(label, t["notes"]) for label, t in tally["actions"].items() if t["notes"]]
    if notes:
        out += ["", "Changed facts as the reader noted them (up to 8 per action):", ""]
        for label, ns in notes:
            out.append(f"- {label}: " + "; ".join(ns[:8]) + (f" (and {len(ns) - 8} more)" if len(ns) > 8 else ""))
    return "\n".join(out)


EXPLAIN = ("Accepted % (read A: would a careful writer keep the sentence as written), meaning kept % and fact "
           "changed % (read B: the pair original / edited) are of the outputs read, not declined. **Usable** = "
           "accepted and meaning kept; its % is of n, a declined sentence counting as not usable (in brackets: usable "
           "/ (declined + outputs judged in both reads)); the next column is of the sentences not declined. "
           "Length hit, among sentences not declined: shorten within one word of its target, rephrase and tone "
           "within max(1, 10 %) words of the original length; meaning similarity: "
           "all-MiniLM-L6-v2 cosine, from bench/actions.py.")


def score_main(key_path: Path, a_path: Path, b_path: Path, write: bool = True, unseen_after: list[Path] = ()) -> str:
    key = json.loads(key_path.read_text())
    if unseen_after:  # only the sentences no earlier read had: printed, not written
        key = unseen_key(key, [json.loads(p.read_text()) for p in unseen_after])
        write = False
        print(f"(only the {len(key['originals'])} sentences that none of {', '.join(p.name for p in unseen_after)} "
              "had)")
    if key.get("version") != 2:
        raise SystemExit("error: not a two-read key (for issue 14's one-read key: python bench/writer_eval.py --score)")
    try:
        tally = score(key, json.loads(a_path.read_text()), json.loads(b_path.read_text()))
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from exc
    settings = key.get("settings", {})
    if key.get("section"):  # a cases file that is not bench/actions.py's (bench/span_blind.py): it says what it is
        setup = (f"Cases: {key.get('source_label')}, seed {key['seed']} (`{key['cases']}`; "
                 f"{key.get('describe', '')}). Reads: `{a_path.name}` (A, {len(key['A'])} texts), `{b_path.name}` "
                 f"(B, {len(key['B'])} pairs), blind: ids only, shuffled, no action named, originals mixed in A.")
        return _report(key, key_path, a_path, b_path, tally, setup, key["section"], write)
    tone = settings.get("tone_attribute", "?") + (f"={settings['tone_target']}" if settings.get("tone_target") else "")
    setup = (f"Sentences: {key.get('source_label', key.get('source'))}, sentence seed {key.get('sentence_seed')}, "
             f"packet seed {key['seed']} (`{key['cases']}`); first alternative of k = {settings.get('k', '?')}; "
             f"shorten to {settings.get('target', '?')}, rephrase / tone at strength {settings.get('strength', '?')}, "
             f"tone toward {tone}. "
             f"Reads: `{a_path.name}` (A, {len(key['A'])} texts), `{b_path.name}` (B, {len(key['B'])} pairs), "
             "blind: ids only, shuffled, no action named, originals mixed in A.")
    return _report(key, key_path, a_path, b_path, tally, setup, SECTIONS.get(key.get("source"), SECTIONS["heldout"]),
                   write)


def _report(key: dict, key_path: Path, a_path: Path, b_path: Path, tally: dict, setup: str, section: str,
            write: bool) -> str:
    body = "\n\n".join([setup, score_tables(tally), EXPLAIN])
    if "_quick" in str(key.get("cases", "")):
        body = "**Quick run (smoke test), not for quoting.**\n\n" + body
    print(body)
    if write:
        write_section(section, f"python bench/actions_blind.py --score {rel(key_path)} {rel(a_path)} {rel(b_path)}",
                      body)
    return body


# ------------------------------------------------------------------------------------------------ issue 14's read
def single_read(cases: Path, seed: int, prefix: str) -> None:
    """One packet, acceptable or not (scored by bench/writer_eval.py --score), as issue 14 read it."""
    data = json.loads(cases.read_text())
    originals = data["sentences"]
    rewrites: dict[str, list[str | None]] = {}
    for run in data["runs"]:
        for action, rows in run["cases"].items():
            rewrites[f"{run['model']} {action}"] = [(case.get("alternatives") or [None])[0] for case in rows]
    items, key = build_packet(originals, rewrites, seed)
    (RESULTS / f"{prefix}_packet.md").write_text(packet_markdown(items))
    (RESULTS / f"{prefix}_key.json").write_text(json.dumps({"items": key, "cases": str(cases)}, indent=1) + "\n")
    print(f"{len(items)} texts -> {RESULTS / (prefix + '_packet.md')}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=Path, default=None,
                   help=f"bench/actions.py's cases file (default {DEFAULT_CASES.relative_to(ROOT)}; "
                        "--single: bench/results/actions_cases.json)")
    p.add_argument("--seed", type=int, default=None, help="shuffle seed (default: the cases' seed; --single: 14)")
    p.add_argument("--score", nargs=3, type=Path, metavar=("KEY", "JUDGEMENTS_A", "JUDGEMENTS_B"),
                   help="score both reads, print, write bench/RESULTS.md, exit")
    p.add_argument("--no-write", action="store_true", help="--score: print only")
    p.add_argument("--unseen-after", nargs="+", type=Path, default=(), metavar="EARLIER_KEY",
                   help="--score: only the sentences none of these earlier keys had (print only)")
    p.add_argument("--single", action="store_true", help="issue 14's one-read packet (acceptable or not)")
    p.add_argument("--prefix", default="actions_blind", help="--single: file prefix")
    args = p.parse_args(argv)
    if args.score:
        score_main(*args.score, write=not args.no_write, unseen_after=args.unseen_after)
    elif args.single:
        single_read(args.cases or RESULTS / "actions_cases.json", 14 if args.seed is None else args.seed, args.prefix)
    else:
        write_reads(args.cases or DEFAULT_CASES, args.seed)


if __name__ == "__main__":
    main()
