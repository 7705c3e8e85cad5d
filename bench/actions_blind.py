"""Blind-read packet for the writing actions (issue 14): the first alternative of every model and action in
bench/results/actions_cases.json (written by bench/actions.py), mixed with the original sentences and shuffled.

    python bench/actions_blind.py                       # writes bench/results/actions_blind_{packet.md,key.json}
    python bench/writer_eval.py --score bench/results/actions_blind_key.json JUDGEMENTS.json

The reader sees only the packet (the instructions of bench/writer_eval.py: acceptable English prose or not); the key
labels each text "original" or "<model> <action>". A text produced by several sources appears once.
"""

from __future__ import annotations

import argparse
import json

from common import ROOT
from writer_eval import build_packet, packet_markdown

RESULTS = ROOT / "bench" / "results"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", default=str(RESULTS / "actions_cases.json"))
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--prefix", default="actions_blind")
    args = p.parse_args()
    data = json.loads(open(args.cases).read())
    originals = data["sentences"]
    rewrites: dict[str, list[str | None]] = {}
    for run in data["runs"]:
        for action, cases in run["cases"].items():
            rewrites[f"{run['model']} {action}"] = [
                (case.get("alternatives") or [None])[0] for case in cases]
    items, key = build_packet(originals, rewrites, args.seed)
    (RESULTS / f"{args.prefix}_packet.md").write_text(packet_markdown(items))
    (RESULTS / f"{args.prefix}_key.json").write_text(json.dumps({"items": key, "cases": args.cases}, indent=1) + "\n")
    print(f"{len(items)} texts -> {RESULTS / (args.prefix + '_packet.md')}")


if __name__ == "__main__":
    main()
