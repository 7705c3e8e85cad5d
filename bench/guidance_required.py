"""Required-word satisfaction (and banned-word avoidance) over varied cases on the shipped model (issue 3).

    python bench/guidance_required.py                # 60 cases, writes bench/results/guidance_required.json

Each case: a held-out corpus sentence (never the Reuters evaluation texts) with its middle words marked for
rewriting, 1-3 required words or phrases (single-token, multi-token and multi-word), and one of several sampler
settings. A case holds when every required word appears as a whole word in the output text (checked here with a
regular expression, independently of the guidance report) and the fixed text outside the span is unchanged.

Banned words: for the same cases, up to three words the unguided run generated (and the fixed text does not
contain) are banned, in a mix of cases (``Word``, ``WORD``), and the case is rerun with the same settings; it holds
when none of them appears as a whole word in the output.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dllm_core import Editor, SamplerConfig  # noqa: E402
from guidance import GuidanceOptions, guided_edit  # noqa: E402

WORDS = ["harbour", "music", "garden", "engineer", "winter", "serendipity", "bicycle", "telescope", "new york",
         "ancient", "laughter", "quantum", "river", "philosophy", "kitten", "thunderstorm", "the old king", "coffee",
         "volcano", "silver", "library", "unbelievably", "marmalade", "computer", "ocean liner", "friendship"]
CONFIGS = [
    SamplerConfig(steps=16),
    SamplerConfig(steps=12, temperature=0.8, seed=1),
    SamplerConfig(steps=16, remask=0.5, seed=2),
    SamplerConfig(steps=8, block_length=8, order="margin"),
    SamplerConfig(steps=16, threshold=0.9, order="entropy"),
    SamplerConfig(steps=4),
]
SOURCES = ("wiki", "news", "austen", "dialogue", "fortunes", "python_docs")


def word(w: str) -> re.Pattern:
    return re.compile(r"(?<!\w)" + re.escape(w) + r"(?!\w)", re.I)


def held_out_sentences(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    pool = []
    for src in SOURCES:
        text = (ROOT / "data" / "corpus" / f"{src}.heldout.txt").read_text()
        sents = [s for line in text.splitlines() for s in re.split(r"(?<=[.!?])\s+", line.strip())
                 if 8 <= len(s.split()) <= 28 and "[[" not in s and "{{" not in s and "]]" not in s]
        rng.shuffle(sents)
        pool += sents[: n // len(SOURCES) + 2]
    rng.shuffle(pool)
    return pool[:n]


def make_case(sentence: str, rng: random.Random, tokenizer) -> tuple[str, list[str]]:
    words = sentence.split()
    a = max(1, len(words) // 4)
    b = min(len(words) - 1, a + max(3, len(words) // 2))
    required = rng.sample(WORDS, rng.choice([1, 1, 2, 2, 3]))
    need = sum(len(tokenizer(" " + w, add_special_tokens=False)["input_ids"]) for w in required)
    span = " ".join(words[a:b])
    have = len(tokenizer(span, add_special_tokens=False)["input_ids"])
    spec = f"|{need + 3}" if have < need + 3 else ""
    return " ".join(words[:a]) + " [[" + span + spec + "]] " + " ".join(words[b:]), required


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=int, default=60)
    p.add_argument("--model", default="embedded", help="embedded (MiniLM, the recorded figures) or smollm2-dlm")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "guidance_required.json")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    editor = Editor.load(args.model, device="cpu")
    rng = random.Random(args.seed)
    rows = []
    started = time.time()
    for k, sentence in enumerate(held_out_sentences(args.cases, args.seed)):
        markup, required = make_case(sentence, rng, editor.tokenizer)
        config = CONFIGS[k % len(CONFIGS)]
        t0 = time.time()
        result, report = guided_edit(editor, markup, config, GuidanceOptions(require=required))
        ok_words = all(re.search(r"(?<!\w)" + r"\s+".join(map(re.escape, w.split())) + r"(?!\w)", result.text, re.I)
                       for w in required)
        prefix = markup.split("[[")[0].rstrip()
        suffix = markup.split("]]")[1].strip()
        ok_fixed = result.text.startswith(prefix) and result.text.rstrip().endswith(suffix)
        rows.append({"markup": markup, "required": required, "config": k % len(CONFIGS), "text": result.text,
                     "holds": ok_words and ok_fixed, "report_satisfied": report["satisfied"],
                     "how": [r["how"] for r in report["require"]], "seconds": round(time.time() - t0, 3)})
    bans = []
    for k, row in enumerate(rows):
        config = CONFIGS[k % len(CONFIGS)]
        markup = row["markup"]
        fixed = (markup.split("[[")[0] + " " + markup.split("]]")[1]).lower()
        plain = editor.edit(markup, config).text
        words = [w for w in dict.fromkeys(re.findall(r"[a-z]{3,}", plain.lower())) if not word(w).search(fixed)][:3]
        if not words:
            continue
        ban = [w.upper() if i == 1 else w.capitalize() if i == 2 else w for i, w in enumerate(words)]
        result, report = guided_edit(editor, markup, config, GuidanceOptions(ban=ban))
        bans.append({"markup": markup, "ban": ban, "unguided": plain, "text": result.text,
                     "holds": not any(word(w).search(result.text) for w in words),
                     "report_satisfied": report["satisfied"]})
    n = len(rows)
    hows = [h for r in rows for h in r["how"]]
    summary = {
        "model": editor.adapter.name, "cases": n, "required_words": len(hows),
        "satisfaction_rate": sum(r["holds"] for r in rows) / n,
        "report_agrees": all(r["holds"] == r["report_satisfied"] for r in rows),
        "placed_by": {h: hows.count(h) for h in sorted(set(map(str, hows)))},
        "mean_seconds": round(sum(r["seconds"] for r in rows) / n, 3),
        "ban_cases": len(bans), "banned_words": sum(len(b["ban"]) for b in bans),
        "ban_rate": sum(b["holds"] for b in bans) / max(1, len(bans)),
        "ban_report_agrees": all(b["holds"] == b["report_satisfied"] for b in bans),
        "total_seconds": round(time.time() - started),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "cases": rows, "ban_cases": bans}, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    for r in rows[:5]:
        print(r["required"], "->", r["text"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
