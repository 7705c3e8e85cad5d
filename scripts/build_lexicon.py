"""Build the synonym lexicon that Rephrase and Tone swap words from (``assets/lexicon/wordnet.json.gz``).

Source: WordNet 3.0 as Debian ships it (package ``wordnet-base``: ``data.*``, ``index.*``, the exception lists and
``cntlist.rev``, the sense-tagged corpus counts). Run once; the result is committed, so neither the app nor a
Space needs Debian's package at run time:

    python scripts/build_lexicon.py                      # apt-get download wordnet-base into a temp dir, unpack, build
    python scripts/build_lexicon.py --wordnet /usr/share/wordnet

What is kept (lower-case lemmas; names are never swap candidates):

- ``synsets``: synset id -> [[lemma, tag count of that lemma in that sense], ...], for synsets of two or more
  such lemmas (a synset of one word offers no synonym);
- ``index``: lemma -> part of speech -> [[synset id, tag count], ...] in WordNet's sense order (most frequent
  first), for lemmas of those synsets;
- ``antonyms``: lemma -> its antonyms in any sense (a check: synset members are never antonyms, but a swap
  candidate that is one is refused all the same);
- ``exceptions``: part of speech -> irregular form -> base forms (``verb.exc`` ...), for lemmatising and
  inflecting;
- ``phrases``: a verb phrase of two or three words ("take part", "carry out") -> the one-word verbs that say it
  ("participate"), only where the phrase has a dominant tagged sense (at least ``PHRASE_SHARE`` of its tag counts)
  and the verb is tagged in that sense and has it as its own commonest sense (as for single-word synonyms).

The WordNet 3.0 licence asks that its notice travel with every copy: ``assets/lexicon/LICENSE-WordNet``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "assets" / "lexicon" / "wordnet.json.gz"
POS = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}
SS_TYPE = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "a"}


def fetch_wordnet() -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="wordnet-"))
    subprocess.run(["apt-get", "download", "wordnet-base"], cwd=tmp, check=True)
    deb = next(tmp.glob("wordnet-base_*.deb"))
    subprocess.run(["dpkg", "-x", str(deb), str(tmp / "x")], check=True)
    return tmp / "x" / "usr" / "share" / "wordnet"


PHRASE_SHARE = 0.45


def single(lemma: str) -> bool:
    return lemma.isalpha() and lemma.islower() and len(lemma) > 1


def verb_phrase(lemma: str) -> bool:
    parts = lemma.split("_")
    return 2 <= len(parts) <= 3 and all(single(p) or p in ("a", "i") for p in parts)


def build(wordnet: Path) -> dict:
    counts: dict[tuple[str, str, int], int] = {}  # (lemma, pos, sense number) -> tag count
    for line in (wordnet / "cntlist.rev").read_text().splitlines():
        key, number, count = line.split()
        lemma, _, rest = key.partition("%")
        counts[(lemma, SS_TYPE[rest[0]], int(number))] = int(count)
    index: dict[str, dict[str, list]] = {}
    phrase_senses: dict[str, list] = {}  # verb phrase -> its senses, as in index
    for name, pos in POS.items():
        for line in (wordnet / f"index.{name}").read_text().splitlines():
            if line.startswith(" "):
                continue
            fields = line.split()
            lemma, n_synsets, n_ptrs = fields[0], int(fields[2]), int(fields[3])
            offsets = fields[4 + n_ptrs + 2 :][:n_synsets]
            senses = [[f"{pos}{o}", counts.get((lemma, pos, s + 1), 0)] for s, o in enumerate(offsets)]
            if single(lemma):
                index.setdefault(lemma, {})[pos] = senses
            elif pos == "v" and verb_phrase(lemma):
                phrase_senses[lemma.replace("_", " ")] = senses
    sense_count = {(lemma, sid): c for lemma, by_pos in index.items() for senses in by_pos.values()
                   for sid, c in senses}
    synsets: dict[str, list] = {}
    all_members: dict[str, list[str]] = {}  # every synset's words, phrases too
    antonyms: dict[str, set] = {}
    for name, pos in POS.items():
        lines = [x for x in (wordnet / f"data.{name}").read_text().splitlines() if not x.startswith(" ")]
        words_of: dict[str, list[str]] = {}
        parsed = []
        for line in lines:
            head = line.split(" | ")[0].split()
            offset, n_words = head[0], int(head[3], 16)
            words = [head[4 + 2 * i] for i in range(n_words)]
            words_of[offset] = words
            at = 4 + 2 * n_words
            n_ptrs = int(head[at])
            ptrs = [head[at + 1 + 4 * i : at + 5 + 4 * i] for i in range(n_ptrs)]
            parsed.append((offset, words, ptrs))
        for offset, words, ptrs in parsed:
            sid = f"{pos}{offset}"
            all_members[sid] = [w.split("(")[0] for w in words]
            members = [w for w in dict.fromkeys(w.split("(")[0] for w in words) if single(w)]
            if len(members) >= 2:
                synsets[sid] = [[w, sense_count.get((w, sid), 0)] for w in members]
            for symbol, target, target_pos, st in ptrs:
                if symbol != "!":
                    continue
                src, dst = int(st[:2], 16), int(st[2:], 16)
                if target_pos.replace("s", "a") != pos or not src or not dst:
                    continue
                target_words = words_of.get(target)
                if target_words is None or src > len(words) or dst > len(target_words):
                    continue
                a, b = words[src - 1].split("(")[0].lower(), target_words[dst - 1].split("(")[0].lower()
                antonyms.setdefault(a, set()).add(b)
                antonyms.setdefault(b, set()).add(a)
    phrases: dict[str, list[str]] = {}
    for phrase, senses in phrase_senses.items():
        total = sum(c for _, c in senses)
        sid, top = max(senses, key=lambda s: s[1])
        if top == 0 or top < PHRASE_SHARE * total:
            continue  # untagged, or no sense dominates: which one a sentence means is not knowable here
        verbs = [w for w in dict.fromkeys(all_members.get(sid, [])) if single(w)
                 and sense_count.get((w, sid), 0) > 0 and index.get(w, {}).get("v", [[None]])[0][0] == sid]
        if verbs:
            phrases[phrase] = verbs
    members = {w for ms in synsets.values() for w, _ in ms}
    index = {lemma: by_pos for lemma, by_pos in index.items() if lemma in members}
    exceptions: dict[str, dict[str, list[str]]] = {}
    for name, pos in POS.items():
        exc: dict[str, list[str]] = {}
        for line in (wordnet / f"{name}.exc").read_text().splitlines():
            form, *bases = line.split()
            if single(form) and all(single(b) for b in bases):
                exc[form] = bases
        exceptions[pos] = exc
    return {"source": "WordNet 3.0 (Debian wordnet-base)", "synsets": synsets, "index": index, "phrases": phrases,
            "antonyms": {k: sorted(v) for k, v in sorted(antonyms.items()) if single(k)}, "exceptions": exceptions}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wordnet", type=Path, help="a folder with WordNet's data.* files (default: fetch Debian's)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    data = build(args.wordnet or fetch_wordnet())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    with gzip.GzipFile(args.out, "wb", mtime=0) as fh:  # mtime 0: the same input gives the same bytes
        fh.write(raw)
    print(f"{args.out}: {len(data['synsets'])} synsets, {len(data['index'])} lemmas, "
          f"{args.out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
