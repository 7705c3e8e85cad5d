"""Masked-token accuracy on the reserved news texts: the Reuters-21578 articles shipped in Debian's r-cran-tm.

    python bench/reuters_eval.py [--baseline MODEL_DIR]   # writes the "Reserved news" section of bench/RESULTS.md

These articles are reserved for evaluation: scripts/build_corpus.py refuses to download that package, so no model
trained by this project has seen them. They are 1987 newswire (oil prices, acquisitions): a register that the
training corpus (modern documentation, Wikipedia, books) covers poorly, so these figures are the honest ones for
"news text never seen". Protocol as for the held-out slices: rows of 64 tokens, every masked position predicted in
one pass, masks fixed by seed 1234.
"""

from __future__ import annotations

import argparse
import html
import re
import subprocess
import sys
from pathlib import Path

from common import ROOT, write_section

# torch, the editor and the training tools load in the functions that measure: bench/outside.py reads the articles
# from here without them
sys.path.insert(0, str(ROOT / "scripts"))

EVAL_RAW = ROOT / "data" / "eval"


def tm_texts_dir() -> Path:
    """Fetch and unpack r-cran-tm once (apt-get download + dpkg -x, into data/eval/, apart from training data)."""
    target = EVAL_RAW / "r-cran-tm"
    texts = target / "usr/lib/R/site-library/tm/texts"
    if not texts.exists():
        EVAL_RAW.mkdir(parents=True, exist_ok=True)
        debs = sorted(EVAL_RAW.glob("r-cran-tm_*.deb"))
        if not debs:
            subprocess.run(["apt-get", "download", "r-cran-tm"], cwd=EVAL_RAW, check=True, stderr=subprocess.DEVNULL)
            debs = sorted(EVAL_RAW.glob("r-cran-tm_*.deb"))
        subprocess.run(["dpkg", "-x", str(debs[-1]), str(target)], check=True)
    return texts


def reuters_articles() -> list[str]:
    """Article bodies of texts/crude, texts/acq and texts/reuters-21578.xml, whitespace-normalised, deduplicated."""
    texts = tm_texts_dir()
    raw = "".join(p.read_text(encoding="utf-8", errors="replace")
                  for p in sorted(texts.glob("crude/*.xml")) + sorted(texts.glob("acq/*.xml")))
    raw += (texts / "reuters-21578.xml").read_text(encoding="utf-8", errors="replace")
    bodies = []
    for body in re.findall(r"<BODY>(.*?)</BODY>", raw, re.S):
        text = " ".join(html.unescape(body).split())
        text = re.sub(r"\s*Reuter\s*$", "", text)
        if len(text.split()) >= 20 and text not in bodies:
            bodies.append(text)
    return bodies


def reuters_rows(tokenizer, seq_len: int = 64) -> torch.Tensor:  # noqa: F821 (torch loads with td)
    import train_denoiser as td  # noqa: PLC0415

    path = EVAL_RAW / "reuters_bodies.txt"
    path.write_text("\n".join(reuters_articles()) + "\n", encoding="utf-8")
    return td.tokenize_file(path, tokenizer, seq_len)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--baseline", default=None, help="another model directory to measure in the same process")
    args = p.parse_args()
    import train_denoiser as td  # noqa: PLC0415

    from dllm_core import Editor  # noqa: PLC0415

    models = {"embedded (fp32)": Editor.load("embedded", device="cpu", quantize="none"),
              "embedded (int8, CPU default)": Editor.load("embedded", device="cpu", quantize="int8")}
    if args.baseline:
        models[f"baseline `{args.baseline}`"] = Editor.load(args.baseline, device="cpu", quantize="none")
    first = next(iter(models.values()))
    rows = reuters_rows(first.tokenizer)
    n_articles = len(reuters_articles())
    lines = ["| model | 15 % | 50 % | 90 % |", "|---|---:|---:|---:|"]
    for name, ed in models.items():
        acc = td.evaluate(ed.adapter.model, rows, ed.adapter.mask_id)
        lines.append(f"| {name} | {acc['15']:.1f} | {acc['50']:.1f} | {acc['90']:.1f} |")
        print(lines[-1], flush=True)
    body = (f"Top-1 accuracy on masked tokens, {n_articles} Reuters-21578 articles from r-cran-tm (texts/crude, "
            f"texts/acq, texts/reuters-21578.xml), {len(rows)} rows of 64 tokens, one pass.\n\n" + "\n".join(lines))
    write_section("Reserved news (Reuters-21578, never trained on)", "python bench/reuters_eval.py"
                  + (f" --baseline {args.baseline}" if args.baseline else ""), body)


if __name__ == "__main__":
    main()
