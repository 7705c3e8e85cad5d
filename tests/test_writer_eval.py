"""The pure parts of bench/writer_eval.py: repetition rate, word/span choice, fill extraction, packet and scoring."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import writer_eval as we  # noqa: E402


def test_repeat_counts_bigrams_and_doubled_words():
    assert we.repeat_counts("The cat sat on the mat.") == (0, 5)
    # 11 words, 10 bigrams: "the end", "end of", "of the" come back
    assert we.repeat_counts("The end of the road and the end of the day.") == (3, 10)
    assert we.repeat_counts("It was the the best.") == (1, 4)  # adjacent repeat
    assert we.repeat_counts("Yes, yes, yes") == (2, 2)  # "yes yes" twice: doubled word and repeated bigram
    assert we.repeat_counts("Hello") == (0, 0)
    # punctuation and case do not make a bigram new
    assert we.repeat_counts("Go home. go HOME!")[0] == 1


def test_repeated_bigram_rate_is_pooled():
    texts = ["The cat sat on the mat.", "It was the the best."]  # 0/5 and 1/4
    assert we.repeated_bigram_rate(texts) == pytest.approx(100 / 9)
    assert we.share_with_repeat(texts) == pytest.approx(50.0)
    assert we.repeated_bigram_rate([]) != we.repeated_bigram_rate([])  # nan


def test_content_words_skip_function_words_acronyms_and_glued_words():
    sentence = "Install the well-known package from http://example.org with APT, don't edit file.txt today."
    words = [sentence[a:b] for a, b in we.content_words(sentence)]
    assert words == ["Install", "package", "edit", "today"]
    assert we.choose_word("It is on the way to it.", random.Random(0)) is None  # no word of 4+ content letters


def test_choose_word_is_seeded_and_returns_a_content_word():
    sentence = "The harbour was quiet when the ferry finally arrived from the island."
    picks = {we.choose_word(sentence, random.Random(s)) for s in range(40)}
    texts = {sentence[a:b] for a, b in picks}
    assert texts <= {"harbour", "quiet", "ferry", "finally", "arrived", "island"}
    assert len(texts) > 1
    assert we.choose_word(sentence, random.Random(3)) == we.choose_word(sentence, random.Random(3))


def test_choose_span_keeps_words_on_both_sides():
    sentence = "one two three four five six seven eight nine"
    for s in range(30):
        a, b = we.choose_span(sentence, random.Random(s))
        inner = sentence[a:b].split()
        assert len(inner) == 6
        assert sentence[:a].strip() and sentence[b:].strip()
    assert we.choose_span("one two three four five six seven", random.Random(0)) is None
    # a span never cuts a bracket or quote: only "a b c d e f" (between the brackets' words) is left
    assert we.choose_span("(x) a b c d e f \"g\"", random.Random(0)) == (4, 15)


def test_markup_and_filled_text():
    sentence = "The ferry arrived late."
    a, b = sentence.index("ferry"), sentence.index("ferry") + 5
    assert we.to_markup(sentence, a, b) == "The [[ferry]] arrived late."
    assert we.filled_text(sentence, a, b, "The boat arrived late.") == "boat"
    assert we.filled_text(sentence, a, b, "The big boat arrived late.") == "big boat"
    # a result that does not keep the draft verbatim: the common prefix/suffix is cut instead
    assert we.filled_text(sentence, a, b, "the Boat arrived late.") == "the Boat"
    assert we.exact_match(" Ferry,", "ferry")
    assert not we.exact_match("ferries", "ferry")


def test_sentences_and_usable():
    text = 'Poor Mrs. Bates had a cold. "Yes!" she said. It was J. Smith who came at 5 p.m. to see.'
    assert we.split_sentences(text) == ["Poor Mrs. Bates had a cold.", '"Yes!" she said.',
                                        "It was J. Smith who came at 5 p.m. to see."]
    assert we.usable_sentence("The harbour was quiet when the ferry came in.")
    assert not we.usable_sentence("The harbour was quiet when the ferry came in")  # no full stop: a heading
    assert not we.usable_sentence("Use [[this]] when the ferry came in late.")  # markup characters
    assert not we.usable_sentence("Too short here.")


def test_pick_cases_is_balanced_and_seeded():
    passages = {"a": [f"The harbour number {i} was quiet when the ferry came in." for i in range(10)],
                "b": ["No sentence here", "The gulls were loud over the market this morning."] * 3}
    cases = we.pick_cases(passages, 5, 7, "infill", we.choose_word)
    assert [c["source"] for c in cases] == ["a", "a", "a", "b", "b"]
    assert cases == we.pick_cases(passages, 5, 7, "infill", we.choose_word)
    assert all(c["sentence"][c["start"] : c["end"]] == c["target"] for c in cases)
    with pytest.raises(SystemExit):
        we.load_passages(("wiki", "reuters"))


def test_packet_shuffles_merges_identical_texts_and_scores():
    originals = ["Orig zero.", "Orig one.", "Orig two."]
    rewrites = {"m1": ["Rew zero by m1.", "Orig one.", None], "m2": ["Rew zero by m2.", "Rew one by m2.",
                                                                    "Rew two by m2."]}
    items, key = we.build_packet(originals, rewrites, seed=3)
    texts = [i["text"] for i in items]
    assert len(texts) == len(set(texts)) == 7  # 3 originals + 4 distinct rewrites ("Orig one." once, None dropped)
    assert [i["id"] for i in items] == [f"s{k:03d}" for k in range(1, 8)]
    assert items == we.build_packet(originals, rewrites, seed=3)[0]
    assert items != we.build_packet(originals, rewrites, seed=4)[0]  # the seed decides the order
    shared = next(i["id"] for i in items if i["text"] == "Orig one.")
    assert {(r["kind"], r["model"]) for r in key[shared]} == {("original", None), ("rewrite", "m1")}
    # judge: every original fine; m1's distinct rewrite bad; m2: two of three fine; one id unjudged
    verdicts = {}
    for item in items:
        roles = key[item["id"]]
        if item["text"] == "Rew two by m2.":
            verdicts[item["id"]] = None
        elif any(r["kind"] == "original" for r in roles):
            verdicts[item["id"]] = True
        else:
            verdicts[item["id"]] = roles[0]["model"] == "m2"
    tally = we.score_judgements(key, verdicts)
    assert tally["original"] == {"acceptable": 3, "judged": 3, "total": 3, "percent": 100.0}
    assert tally["m1"]["acceptable"] == 1 and tally["m1"]["judged"] == 2  # the copy counts as acceptable
    assert tally["m1"]["percent"] == pytest.approx(50.0)
    assert tally["m2"]["judged"] == 2 and tally["m2"]["total"] == 3 and tally["m2"]["percent"] == 100.0
    table = we.score_table(tally)
    assert table.splitlines()[2].startswith("| originals | 100.0 |")
    with pytest.raises(ValueError):
        we.score_judgements(key, {"s999": True})
    with pytest.raises(ValueError):
        we.score_judgements(key, {items[0]["id"]: "yes"})


def test_score_mode_reads_files(tmp_path, capsys):
    items, key = we.build_packet(["A b c."], {"m": ["A d c."]}, seed=0)
    (tmp_path / "key.json").write_text(json.dumps({"items": key}))
    (tmp_path / "j.json").write_text(json.dumps({i["id"]: i["text"] == "A b c." for i in items}))
    we.main(["--score", str(tmp_path / "key.json"), str(tmp_path / "j.json")])
    out = capsys.readouterr().out
    assert "| originals | 100.0 | 1 / 1 | 0 |" in out
    assert "| rewrites by `m` | 0.0 | 0 / 1 | 0 |" in out


def test_packet_key_carries_the_gate_and_score_reports_its_precision(tmp_path, capsys):
    originals = ["Orig zero.", "Orig one.", "Orig two.", "Orig three."]
    rewrites = {"m": ["Rew zero.", "Rew one.", "Rew two.", None], "n": ["Other zero.", "Orig one.", "Other two.",
                                                                          "Other three."]}
    gates = {"m": [True, True, False, None], "n": [False, True, True, True]}
    items, key = we.build_packet(originals, rewrites, seed=1, gates=gates)
    by_text = {i["text"]: i["id"] for i in items}
    assert {r.get("gate") for r in key[by_text["Rew zero."]]} == {True}
    assert [r["kind"] for r in key[by_text["Orig two."]]] == ["original"] and "gate" not in key[by_text["Orig two."]][0]
    ok = {"Rew zero.", "Orig one.", "Orig two.", "Orig zero.", "Orig three.", "Other three.", "Rew two."}
    verdicts = {i["id"]: i["text"] in ok for i in items}
    tally = we.score_judgements(key, verdicts)
    # m: 3 rewrites, 2 accepted; the gate lets 2 through ("Rew zero." accepted, "Rew one." not): precision 50 %
    assert tally["m"]["acceptable"] == 2 and tally["m"]["judged"] == 3
    assert (tally["m"]["gate_through"], tally["m"]["gate_judged"], tally["m"]["gate_acceptable"]) == (2, 2, 1)
    assert tally["m"]["gate_percent"] == pytest.approx(50.0)
    # n: the copy of the original and "Other three." accepted and let through; "Other two." let through, rejected
    assert (tally["n"]["gate_through"], tally["n"]["gate_acceptable"]) == (3, 2)
    assert "gate_known" not in tally["original"]
    (tmp_path / "key.json").write_text(json.dumps({"items": key}))
    (tmp_path / "j.json").write_text(json.dumps({"judgements": verdicts}))
    we.main(["--score", str(tmp_path / "key.json"), str(tmp_path / "j.json")])
    out = capsys.readouterr().out
    assert "accepted of those %" in out
    assert "| rewrites by `m` | 66.7 | 2 / 3 | 0 | 2 (3) | 50.0 | 1 / 2 |" in out
    assert "| originals | 100.0 | 4 / 4 | 0 | – | – | – |" in out
    # a key without the gate's verdicts scores as before
    plain_key = we.build_packet(originals, rewrites, seed=1)[1]  # the same ids, no verdicts of the gate
    assert "gate" not in we.score_table(we.score_judgements(plain_key, verdicts))


def test_variant_names_carry_a_preset_and_a_causal_reader():
    assert we.split_reader("smollm2-dlm+auto@base") == ("smollm2-dlm+auto", "base")
    assert we.split_reader("smollm2-dlm+fluent") == ("smollm2-dlm+fluent", "adapted")
    assert we.split_reader("runs/a@b/delta+fluent") == ("runs/a@b/delta+fluent", "adapted")  # "@" in a folder
    assert we.split_variant("smollm2-dlm+auto@base") == ("smollm2-dlm", 1, "AUTO")
    assert we.split_variant("minilm") == ("minilm", 1, {"temperature": 0.0})
    with pytest.raises(SystemExit):
        we.split_reader("smollm2-dlm+auto@blurred")
    with pytest.raises(SystemExit):
        we.split_variant("smollm2-dlm+nonsense")


def test_auto_config_is_the_command_lines_default_path(tiny_editor):
    from dllm_core import SamplerConfig
    from dllm_core.presets import FAST

    markup = "The harbour was [[quiet in the grey morning]] when it came."
    assert we.edit_config(tiny_editor, markup, 3, "AUTO") == SamplerConfig(seed=3)  # no causal reading: defaults

    class Scoring:  # what writing_settings reads of a model that can read causally
        adapter = type("A", (), {"can_score": True})()

        def canvas(self, markup, config):
            return tiny_editor.canvas(markup, config)

    config = we.edit_config(Scoring(), markup, 3, "AUTO")
    assert config.seed == 3 and all(getattr(config, k) == v for k, v in FAST.items())
    assert we.edit_config(tiny_editor, markup, 5, {"temperature": 0.0}) == SamplerConfig(temperature=0.0, seed=5)


def test_outside_cases_are_balanced_seeded_and_inside_sentences(monkeypatch):
    import outside

    fake = {g: [(f"{g}-{k}", f"The {g} text number {k} says that the council will meet again next spring to discuss "
                              f"the harbour.") for k in range(40)] for g in outside.GENRES}
    monkeypatch.setattr(outside, "documents", lambda genre: fake[genre])
    cases = we.outside_cases(7, 2, "span", we.choose_span)
    assert [c["source"] for c in cases] == ["reuters", "sotu"] * 3 + ["reuters"]
    assert cases == we.outside_cases(7, 2, "span", we.choose_span)
    assert cases != we.outside_cases(7, 3, "span", we.choose_span)
    for c in cases:
        assert c["sentence"][c["start"] : c["end"]] == c["target"] and len(c["target"].split()) == we.SPAN_WORDS
        assert c["sentence"][: c["start"]].strip() and c["sentence"][c["end"] :].strip()
    assert we.outside_cases(0, 2, "span", we.choose_span) == []
    words = we.outside_cases(4, 2, "infill", we.choose_word)
    assert all(we.normalise_word(c["target"]) == c["target"].lower() for c in words)


def test_gate_calibration_table_counts_precision_and_recall():
    rows = [{"accepted": True, "drop": 0.1, "repeat": None}, {"accepted": False, "drop": 0.3, "repeat": None},
            {"accepted": True, "drop": 0.8, "repeat": None}, {"accepted": False, "drop": 2.0, "repeat": None},
            {"accepted": False, "drop": 0.0, "repeat": 'repeats "a b"'}]
    table, summary = we.calibration_table(rows, thresholds=(0.0, 0.5, 1.0, float("inf")))
    assert [s["through"] for s in summary] == [0, 2, 3, 4]
    assert summary[1]["precision"] == pytest.approx(50.0) and summary[1]["recall"] == pytest.approx(50.0)
    assert summary[2]["precision"] == pytest.approx(200 / 3) and summary[2]["recall"] == pytest.approx(100.0)
    assert summary[0]["precision"] is None and "| 0 | 0 | – |" in table
    assert we.auc([0.1, 0.8], [0.3, 2.0]) == pytest.approx(0.75)


def test_action_variants_are_told_apart_from_sampler_settings():
    import writer_eval as we

    for name, action in (("smollm2-dlm+rewrite", True), ("smollm2-dlm+fill@base", True), ("smollm2-dlm", False),
                         ("minilm+best6", False), ("smollm2-dlm+auto", False), ("smollm2-dlm+fluent", False)):
        assert we.is_action(we.split_variant(name)[2]) is action, name
