"""Blind reads of span rewrites (issue 23): the outputs of a ``bench/writer_eval.py`` run turned into the two reads
of ``bench/actions_blind.py`` (read A: each text alone, acceptable or not, mixed with the originals; read B: each
edit beside its original, meaning kept and fact changed), so that span rewrites are reported as the writing
actions are: **usable = accepted and meaning kept, of all cases** (a declined span counts as not usable).

    python bench/writer_eval.py --source outside --seed 7 --n-spans 60 --n-infill 0 --no-speed --quantize int8 \\
        --tag spans --models smollm2-dlm+rewrite smollm2-dlm+fill                 # the outputs
    python bench/span_blind.py bench/results/writer_eval_outside_s7_spans        # packets A and B, and the key
    python bench/actions_blind.py --score KEY JUDGEMENTS_A JUDGEMENTS_B            # the table, into RESULTS.md
    python bench/span_blind.py STEM --to-writer-eval JUDGEMENTS_A                  # read A as writer_eval verdicts
    python bench/writer_eval.py --score STEM_key.json STEM_judgements.json          # the gate's precision

Each writer_eval model variant becomes an "action" named by its preset (``smollm2-dlm+rewrite`` -> ``rewrite``);
the texts come from the run's packet and key (``STEM_packet.json``, ``STEM_key.json``), a failed or declined edit
is a declined case. The cases file is written as ``bench/results/actions_cases_outside_s{seed}_{tag}.json``, and the
packets as ``actions_blind_outside_s{seed}_{tag}_*``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from actions_blind import RESULTS, write_reads


def cases_from_writer_eval(stem: Path) -> dict:
    """An actions cases file (bench/actions.py's format) from a writer_eval run's packet and key."""
    key = json.loads(Path(f"{stem}_key.json").read_text())
    packet = json.loads(Path(f"{stem}_packet.json").read_text())
    text_of = {item["id"]: item["text"] for item in packet["items"]}
    cases = key["cases"]
    outputs: dict[str, list[str | None]] = {m: [None] * len(cases) for m in key["models"]}
    for item_id, roles in key["items"].items():
        for role in roles:
            if role["kind"] == "rewrite":
                outputs[role["model"]][role["case"]] = text_of[item_id]
    runs: dict[str, dict] = {}
    for model, texts in outputs.items():
        name, _, preset = model.partition("+")
        action = preset or "rewrite"
        run = runs.setdefault(name, {"model": name, "cases": {}})
        run["cases"][action] = [{"alternatives": [t] if t is not None else [], "declined": t is None,
                                 "genre": cases[c]["source"]} for c, t in enumerate(texts)]
    tag = stem.name.split(f"_s{key['seed']}_", 1)[-1] if f"_s{key['seed']}_" in stem.name else "spans"
    return {"source": key.get("source", "outside"), "source_label": f"6-word span rewrites, {key.get('source')}",
            "seed": key["seed"], "prefix": f"actions_blind_{key.get('source', 'outside')}_s{key['seed']}_{tag}",
            "section": f"Span rewrites on {'unseen genres' if key.get('source') == 'outside' else 'in-domain text'}: "
                       f"blind reads ({tag})",
            "describe": f"first alternative of each variant of `{stem.name}`: " + ", ".join(key["models"])
                        + "; a declined span counts as not usable",
            "settings": {"writer_eval": stem.name, "models": key["models"]},
            "items": [{"genre": c["source"], "text": c["sentence"]} for c in cases], "runs": list(runs.values())}


def writer_eval_verdicts(stem: Path, judgements_a: dict, results: Path = RESULTS) -> dict[str, bool | None]:
    """Read A's verdicts by text, as ``{writer_eval packet id: acceptable}`` (for writer_eval's ``--score``, which
    reports the gate's precision: of the rewrites the gate lets through, the share accepted)."""
    data = cases_from_writer_eval(stem)
    key = json.loads((results / f"{data['prefix']}_key.json").read_text())
    by_text = {}
    for item_id, roles in key["A"].items():
        role = roles[0]
        text = (key["originals"][role["case"]]["text"] if role["kind"] == "original"
                else key["outputs"][role["output"]]["text"])
        by_text[text.strip()] = judgements_a.get(item_id, {}).get("acceptable")
    packet = json.loads(Path(f"{stem}_packet.json").read_text())
    return {item["id"]: by_text.get(item["text"].strip()) for item in packet["items"]}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("stem", type=Path, help="a writer_eval run's files without _key.json / _packet.json")
    p.add_argument("--to-writer-eval", type=Path, metavar="JUDGEMENTS_A",
                   help="write read A's verdicts as STEM_judgements.json for writer_eval's --score, and exit")
    args = p.parse_args(argv)
    if args.to_writer_eval:
        out = Path(f"{args.stem}_judgements.json")
        out.write_text(json.dumps(writer_eval_verdicts(args.stem, json.loads(args.to_writer_eval.read_text())),
                                  indent=1) + "\n")
        print(f"verdicts: {out}")
        return
    data = cases_from_writer_eval(args.stem)
    path = RESULTS / f"actions_cases_{data['prefix'].removeprefix('actions_blind_')}.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    print(f"cases: {path}")
    write_reads(path, data["seed"])


if __name__ == "__main__":
    main()
