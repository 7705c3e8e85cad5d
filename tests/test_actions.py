"""Writing actions (writing.actions): lengths reached, content words kept, k distinct alternatives, clear errors."""

from __future__ import annotations

import pytest

from cli.action import add_action_parser, run_action_command
from dllm_core import EditError, SamplerConfig
from dllm_core.markup import parse
from writing.actions import (
    build_markup, count_words, parse_target, rephrase, run_action, shorten, tone, words_of,
)

# held-out sentences (data/corpus/*.heldout.txt), not training text
NEWS = ("Peru has entered two days of official mourning for the more than 220 people killed in a fire that's "
        "destroyed part of downtown Lima.")
WIKI = ("Following World War II, Alabama experienced growth as the economy of the state changed from one primarily "
        "based on agriculture to one with diversified interests.")


def test_words_and_content():
    words = words_of(NEWS)
    assert count_words(NEWS) == len(words) == 24
    content = [w.text for w in words if w.content]
    assert "Lima" in content and "220" in content and "Peru" in content  # a name at the sentence start too
    assert "the" not in content and "killed" not in content
    assert [w.text for w in words_of("It was a cold morning, said Anna.", keep=("cold",)) if w.content] == ["cold", "Anna"]


def test_a_number_with_points_or_commas_and_an_initialism_are_one_word_each():
    text = "Repairs cost about 1.2 million pounds, up 3.5% on 1,200 homes in the U.S. last year. Item 4. Next, 5,6."
    words = words_of(text)
    assert [w.text for w in words][:9] == ["Repairs", "cost", "about", "1.2", "million", "pounds", "up", "3.5", "on"]
    assert "1,200" in [w.text for w in words] and "U.S" in [w.text for w in words]
    assert all(w.content for w in words if w.text in ("1.2", "3.5", "1,200", "U.S"))
    assert all(text[w.start:w.end] == w.text for w in words)
    # a sentence's closing point is not part of a number; a list with spaces is several words
    assert [w.text for w in words][-4:] == ["Item", "4", "Next", "5,6"]
    assert count_words("1, 2 and 3") == 4 and count_words("pages 10-12 and 2.5.1") == 4


def test_parse_target():
    assert parse_target("70%", 20) == 14
    assert parse_target(0.5, 20) == 10
    assert parse_target(12, 20) == 12
    assert parse_target("12", 20) == 12
    for bad in ("120%", 25, "many", 0):
        with pytest.raises(EditError):
            parse_target(bad, 20)


def test_build_markup_escapes_and_round_trips():
    text = "Keep [[this]] and {{that}} word."
    markup = build_markup(text, [(0, 4, "pin"), (27, 31, "rewrite")])
    kinds = [(s.kind, s.text) for s in parse(markup)]
    assert kinds[0] == ("pinned", "Keep") and ("rewrite", "word") in kinds
    assert "".join(s.text for s in parse(markup)) == text


@pytest.mark.parametrize("sentence,target", [(NEWS, "70%"), (WIKI, 15), (WIKI, "50%")])
def test_shorten_reaches_the_target_and_keeps_content(editor, sentence, target):
    # the mechanics of the re-writing path (MiniLM); its fact check is tested in tests/test_facts.py
    result = shorten(editor, sentence, target, k=3, config=SamplerConfig(steps=8, temperature=0.7, seed=1),
                     check_facts=False)
    assert result.target_words == parse_target(target, count_words(sentence))
    assert len({a.text for a in result.alternatives}) == len(result.alternatives) == 3
    for alt in result.alternatives:
        assert abs(alt.words - result.target_words) <= 1, (alt.text, alt.words, result.target_words)
        for word in result.kept:
            assert word in alt.text
    assert result.to_json()["words_after"] == result.alternatives[0].words


def test_shorten_greedy_is_deterministic_and_selection_only(editor):
    selection = (NEWS.index("for the"), len(NEWS))
    a = shorten(editor, NEWS, "60%", selection=selection, config=SamplerConfig(steps=8))
    b = shorten(editor, NEWS, "60%", selection=selection, config=SamplerConfig(steps=8))
    assert a.text == b.text
    assert a.text.startswith(NEWS[: selection[0]].rstrip())  # text before the selection stays
    assert a.words_before == count_words(NEWS[selection[0]:])
    assert abs(a.words_after - a.target_words) <= 1


def test_shorten_refuses_what_it_cannot_do(editor):
    with pytest.raises(EditError, match="names, numbers"):
        shorten(editor, "Anna met Boris in Paris in 1999.", 2)
    with pytest.raises(EditError, match="at least two words"):
        shorten(editor, "Hello.", "50%")
    with pytest.raises(EditError, match="alternatives"):
        shorten(editor, NEWS, "50%", k=0)


def test_rephrase_keeps_content_changes_words_and_gives_k(editor):
    result = rephrase(editor, NEWS, 0.5, k=3, keep=("mourning",), config=SamplerConfig(steps=8, temperature=0.7),
                      check_facts=False)
    assert len({a.text for a in result.alternatives}) == 3
    assert {"Peru", "220", "Lima", "mourning"} <= set(result.kept)
    for alt in result.alternatives:
        for word in result.kept:
            assert word in alt.text, (word, alt.text)
        assert alt.text != NEWS
        assert "[[" in alt.markup and "{{Lima}}" in alt.markup
    # greedy: words do change (the draft's own word is made less likely where it is rewritten)
    greedy = rephrase(editor, WIKI, 0.5, config=SamplerConfig(steps=8), check_facts=False)
    changed = set(greedy.text.lower().split()) ^ set(WIKI.lower().split())
    assert changed


def test_tone_on_minilm_and_a_clear_error_without_a_classifier(editor, tiny_editor):
    result = tone(editor, "The food was cold and the waiter was rude to us all evening.", "sentiment", "positive",
                  k=2, config=SamplerConfig(steps=8, temperature=0.5), check_facts=False)
    assert result.action == "tone" and len(result.alternatives) == 2
    with pytest.raises(EditError, match="classifier"):
        tone(tiny_editor, "The food was cold.", "sentiment", "positive")
    with pytest.raises(EditError, match="unknown tone 'colour'"):
        tone(editor, "The food was cold.", "colour", "red")
    with pytest.raises(EditError, match="no class"):
        tone(editor, "The food was cold.", "sentiment", "angry")


def test_run_action_and_tiny_model(tiny_editor):
    result = run_action(tiny_editor, "shorten", WIKI, target=10, config=SamplerConfig(steps=4))
    assert abs(result.words_after - 10) <= 2
    with pytest.raises(EditError, match="unknown action"):
        run_action(tiny_editor, "explode", WIKI)


def test_action_cli(capsys, monkeypatch):
    import argparse

    parser = argparse.ArgumentParser()
    add_action_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["action", "shorten", WIKI, "--target", "70%", "--json", "--steps", "4"])
    assert run_action_command(args) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert out["action"] == "shorten" and out["target_words"] == round(0.7 * count_words(WIKI))
    args = parser.parse_args(["action", "tone", WIKI, "--attribute", "sarcastic"])
    assert run_action_command(args) == 2
    assert "--attribute: choose a tone (formal, casual" in capsys.readouterr().err
    # every alternative in the JSON carries its fact check
    args = parser.parse_args(["action", "shorten", WIKI, "--target", "70%", "--json", "--steps", "4", "--all-facts"])
    assert run_action_command(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert all(set(a["facts"]) == {"ok", "says", "changes"} for a in out["alternatives"])


def test_cli_has_the_action_subcommand(capsys):
    from cli.main import main

    assert main(["action", "rephrase", WIKI, "--steps", "4", "-k", "2"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
    assert main(["action", "shorten", WIKI, "--target", "200%"]) == 2


def test_a_deletion_with_nothing_to_repair_still_gives_a_result(tiny_editor):
    text = "Anna and Boris met Carl in Paris."
    result = shorten(tiny_editor, text, 5, config=SamplerConfig(steps=2))
    assert "Anna" in result.text and "Paris" in result.text and result.words_after <= 6


def test_action_cli_method(capsys):
    from cli.main import main

    # the embedded model (no causal reading) cannot cut: a clear message, exit 2
    assert main(["action", "shorten", WIKI, "--method", "cut"]) == 2
    assert "causal reading" in capsys.readouterr().err
    assert main(["action", "shorten", WIKI, "--method", "swap"]) == 2
    assert "does not apply to shorten" in capsys.readouterr().err
    assert main(["action", "shorten", WIKI, "--method", "repair", "--steps", "4", "--json"]) == 0
    assert '"action": "shorten"' in capsys.readouterr().out
