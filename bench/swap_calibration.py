"""Which single-word swaps do blind readers keep? Calibrates ``writing.substitute.RISKY`` on the reads of issue 22.

Every Rephrase or Tone output of the blind reads (``bench/results/actions_blind_outside_s*_key.json`` with both
judgement files) that differs from its original in exactly one word, other than a newswire abbreviation written out,
is a swap. For each, the judge reads the window around it (as :func:`writing.substitute.read_swaps` does): how much
less it expects the new word than the writer's ("own") and how much worse the words after it read ("drop"). The
table gives, per band of ``own + min(0, drop)``, how many of those swaps readers kept (accepted in read A and meaning
kept in read B). A swap read in several seeds counts once per read.

    python bench/swap_calibration.py            # prints the table and writes its section of bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from common import ROOT, write_section

RESULTS_DIR = ROOT / "bench" / "results"
SPELLED = frozenset("pct mln bln dlrs dlr cts bpd".split())  # More formal writes these out: rules, not swaps
BANDS = ((-99.0, -5.0), (-5.0, -3.0), (-3.0, -2.0), (-2.0, -1.0), (-1.0, 0.0), (0.0, 99.0))


def read_swaps_of(seed_key: Path) -> list[dict]:
    """The one-word swaps of one blind read, with the readers' verdicts."""
    stem = seed_key.name.replace("_key.json", "")
    a_path, b_path = seed_key.with_name(stem + "_A_judgements.json"), seed_key.with_name(stem + "_B_judgements.json")
    if not (a_path.exists() and b_path.exists()):
        return []
    key = json.loads(seed_key.read_text())
    a, b = json.loads(a_path.read_text()), json.loads(b_path.read_text())
    cases = json.loads((ROOT / key["cases"]).read_text())["items"] if "cases" in key else None
    if cases is None:
        return []
    accepted = {e["output"]: a.get(aid, {}).get("acceptable") for aid, entries in key["A"].items()
                for e in entries if e["kind"] == "output"}
    kept = {o: b.get(bid, {}).get("meaning_kept") for bid, outs in key["B"].items() for o in outs}
    out = []
    for i, o in enumerate(key["outputs"]):
        if o["action"] not in ("rephrase", "tone") or o["declined"] or not o["text"]:
            continue
        original = cases[o["case"]]["text"]
        old_words, new_words = list(re.finditer(r"\S+", original)), list(re.finditer(r"\S+", o["text"]))
        if len(old_words) != len(new_words):
            continue
        diffs = [(p, q) for p, q in zip(old_words, new_words) if p.group() != q.group()]
        if len(diffs) != 1:
            continue
        old = re.match(r"[A-Za-z]+", diffs[0][0].group())
        new = re.match(r"[A-Za-z]+", diffs[0][1].group())
        if not old or not new or old.group().lower() in SPELLED:
            continue
        start = diffs[0][0].start()
        out.append({"read": stem, "text": original, "start": start, "end": start + len(old.group()),
                    "old": old.group(), "new": new.group(),
                    "kept": bool(accepted.get(i) and kept.get(i))})
    return out


def measure(rows: list[dict]) -> None:
    """Adds "own" and "drop" to each row: the judge's reading of the swap's window."""
    from dllm_core.api import Editor
    from writing.scoring import judged_totals, word_window
    from writing.substitute import CONTEXT_AFTER, CONTEXT_BEFORE

    adapter = Editor.load("smollm2-dlm").adapter
    texts = []
    for r in rows:
        lo, hi = word_window(r["text"], r["start"], r["end"], CONTEXT_BEFORE, CONTEXT_AFTER)
        before, after = r["text"][lo : r["start"]], r["text"][r["end"] : hi]
        texts += [before + r["old"] + after, before + r["new"] + after, before + r["old"], before + r["new"]]
    totals = judged_totals(adapter, texts, 32)
    for n, r in enumerate(rows):
        whole_old, whole_new, upto_old, upto_new = totals[4 * n : 4 * n + 4]
        r["own"] = round(upto_new - upto_old, 3)
        r["drop"] = round((whole_new - upto_new) - (whole_old - upto_old), 3)


def table(rows: list[dict], risky: float) -> str:
    lines = ["| own + min(0, drop), nats | swaps | kept by readers % |", "|---|---:|---:|"]
    for lo, hi in BANDS:
        band = [r for r in rows if lo <= r["own"] + min(0.0, r["drop"]) < hi]
        share = 100 * sum(r["kept"] for r in band) / len(band) if band else 0.0
        lines.append(f"| {lo:g} to {hi:g} | {len(band)} | {share:.0f} |")
    below = [r for r in rows if r["own"] + min(0.0, r["drop"]) < risky]
    above = [r for r in rows if r["own"] + min(0.0, r["drop"]) >= risky]
    for name, part in ((f"below RISKY ({risky:g})", below), ("the others", above)):
        share = 100 * sum(r["kept"] for r in part) / len(part) if part else 0.0
        lines.append(f"| **{name}** | {len(part)} | **{share:.0f}** |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--no-write", action="store_true", help="print only")
    args = p.parse_args()
    from writing.substitute import RISKY

    keys = sorted(RESULTS_DIR.glob("actions_blind_outside_s*_key.json"))
    rows = [r for key in keys for r in read_swaps_of(key)]
    measure(rows)
    reads = sorted({r["read"] for r in rows})
    body = (f"{len(rows)} one-word swaps of Rephrase and Tone in {len(reads)} blind reads on unseen genres "
            f"({', '.join(reads)}); kept = accepted in read A and meaning kept in read B. The judge reads each as "
            "writing.substitute.read_swaps does. Rephrase puts the register's other wording first when every swap "
            "it found is below RISKY (writing/rephrase.py).\n\n" + table(rows, RISKY))
    (RESULTS_DIR / "swap_calibration.json").write_text(json.dumps(rows, indent=1))
    print(body)
    if not args.no_write:
        write_section("Which swaps readers keep", "python bench/swap_calibration.py", body)


if __name__ == "__main__":
    main()
