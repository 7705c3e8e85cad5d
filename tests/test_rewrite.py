"""Rewrite (say the selected words differently, keeping their meaning) and Fill (new words in their place):
writing.rewrite. Mechanics on a tiny random Llama with SmolLM2's tokenizer (a model with a causal reading), so the
properties hold for any weights; the reading limits are opened or closed to make the model's taste irrelevant."""

from __future__ import annotations

import math

import pytest
from test_bpe_shifted import base_dir, bpe_editor, bpe_tokenizer, tiny_llama  # noqa: F401 (fixtures)

from dllm_core import EditError
from writing.actions import ACTIONS, run_action
from writing.facts import check
from writing.lexicon import Lexicon
from writing.rewrite import COMPRESSIONS, FILL_MESSAGE, fill, rewrite

TEXT = ("Over the past year, more than four hundred children across six neighborhoods quickly bought "
        "difficult books in order to help their teachers.")
PUNCT = str.maketrans("", "", ".,;:!?\"'")


def selection_of(text: str, words: str) -> tuple[int, int]:
    start = text.index(words)
    return start, start + len(words)


def test_rewrite_changes_only_the_selection_with_synonyms_or_shorter_phrases(bpe_editor):  # noqa: F811
    lexicon = Lexicon.load()
    start, end = selection_of(TEXT, "quickly bought difficult books in order to help")
    result = rewrite(bpe_editor, TEXT, selection=(start, end), k=3, max_drop=math.inf)
    assert result.action == "rewrite" and 1 <= len(result.alternatives) <= 3
    assert len({a.text for a in result.alternatives}) == len(result.alternatives)
    for alt in result.alternatives:
        assert alt.text != TEXT
        assert alt.text.startswith(TEXT[:start]) and alt.text.endswith(TEXT[end:])  # the rest as it was
        assert alt.markup in ("swap", "phrase")
        assert check(TEXT, alt.text).ok and alt.facts["ok"]
        if alt.markup == "phrase":
            assert any(long in TEXT and short in alt.text for long, short in COMPRESSIONS.items())
        else:  # word for word, each change a synonym the lexicon offers for that word
            old_words, new_words = TEXT.split(), alt.text.split()
            assert len(old_words) == len(new_words)
            for old, new in zip(old_words, new_words):
                if old != new:
                    offered = {s.word for s in lexicon.synonyms(old.translate(PUNCT).lower())}
                    assert new.translate(PUNCT) in offered, (old, new)


def test_rewrite_finds_the_short_form_of_a_wordy_phrase(bpe_editor):  # noqa: F811
    text = "They met in order to plan the move."
    result = rewrite(bpe_editor, text, selection=selection_of(text, "in order to plan"), k=8, max_drop=math.inf)
    assert "They met to plan the move." in [a.text for a in result.alternatives]


def test_rewrite_declines_with_a_reason_rather_than_offer_a_worse_text(bpe_editor):  # noqa: F811
    with pytest.raises(EditError, match="no rewrite that keeps the meaning.*no word here has a synonym"):
        rewrite(bpe_editor, "On 4 May 1987 Exxon paid 300 dlrs.", selection=(0, 30))
    with pytest.raises(EditError, match="read worse than the original"):  # a limit nothing can meet
        rewrite(bpe_editor, TEXT, selection=selection_of(TEXT, "quickly bought difficult books"), max_drop=-math.inf)


def test_rewrite_needs_a_causal_reading_and_checks_its_input(editor, bpe_editor):  # noqa: F811
    with pytest.raises(EditError, match="Fill"):
        rewrite(editor, TEXT, selection=(0, 20))
    with pytest.raises(EditError, match="empty"):
        rewrite(bpe_editor, "  ", selection=None)
    with pytest.raises(EditError, match="outside"):
        rewrite(bpe_editor, TEXT, selection=(5, 10_000))
    with pytest.raises(EditError, match="alternatives"):
        rewrite(bpe_editor, TEXT, selection=(0, 20), k=0)


def test_fill_writes_new_words_only_in_the_selection(bpe_editor):  # noqa: F811
    start, end = selection_of(TEXT, "quickly bought difficult books")
    result = fill(bpe_editor, TEXT, selection=(start, end), k=2, gate=False)
    assert result.action == "fill" and 1 <= len(result.alternatives) <= 2
    for alt in result.alternatives:
        assert alt.text.startswith(TEXT[:start].rstrip()) and alt.text.endswith(TEXT[end:].lstrip())
        assert alt.facts is not None and alt.gate is None  # facts reported, never withheld; not gated
    assert not result.withheld


def test_fill_offers_only_what_the_gate_lets_through(bpe_editor):  # noqa: F811
    sel = selection_of(TEXT, "quickly bought difficult books")
    with pytest.raises(EditError, match=FILL_MESSAGE.split(";")[0]):  # a gate nothing passes: say so, offer nothing
        fill(bpe_editor, TEXT, selection=sel, k=2, max_drop=-math.inf)
    result = fill(bpe_editor, TEXT, selection=sel, k=2, max_drop=math.inf)
    assert result.alternatives
    for alt in result.alternatives:
        assert alt.gate is not None and alt.gate["reads_well"]
    for alt in result.withheld:  # only a new repetition can fail an open gate
        assert not alt.gate["reads_well"] and "which the original does not" in alt.gate["why"]


def test_both_are_actions_by_name(bpe_editor):  # noqa: F811
    assert {"rewrite", "fill"} <= set(ACTIONS)
    sel = selection_of(TEXT, "quickly bought difficult books")
    assert run_action(bpe_editor, "fill", TEXT, selection=sel, k=1, gate=False).action == "fill"
    assert run_action(bpe_editor, "rewrite", TEXT, selection=sel, k=1, max_drop=math.inf).action == "rewrite"
    with pytest.raises(EditError, match="nothing to fill"):
        fill(bpe_editor, TEXT, selection=(TEXT.index(" "), TEXT.index(" ") + 1))


def test_rewrite_and_fill_on_the_command_line(capsys):
    import json

    from cli.main import main

    text = "The committee approved the new budget on Tuesday after a long debate."
    # the embedded model (no causal reading) can fill, not rewrite; each says why in one line
    assert main(["action", "fill", text, "--span", "the new budget", "--json", "-k", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["action"] == "fill" and out["selection"] == [text.index("the new"), text.index(" on Tuesday")]
    assert all(a["text"].startswith("The committee approved") and a["text"].endswith("after a long debate.")
               for a in out["alternatives"])
    assert main(["action", "rewrite", text, "--span", "the new budget"]) == 2
    assert "Fill" in capsys.readouterr().err
    assert main(["action", "fill", text, "--span", "the old budget"]) == 2
    assert "--span: the text does not contain 'the old budget'" in capsys.readouterr().err
    assert main(["action", "fill", text, "--span", "budget", "--selection", "0:3"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["action", "rewrite", text, "--span", "budget", "--method", "cut"]) == 2
    assert "does not apply to rewrite" in capsys.readouterr().err


@pytest.mark.parametrize("text,words,expected", [
    ("Trading stopped due to the storm.", "stopped due to the storm", "Trading stopped because of the storm."),
    ("We can't stop now, she said.", "We can't stop now", "We cannot stop now, she said."),
    ("They do not agree with it.", "They do not agree", "They don't agree with it."),
    ("In spite of the rain, we went.", "In spite of the rain", "Despite the rain, we went."),
    ("It is our duty and our privilege to serve.", "our duty and our privilege", "It is our duty and privilege to serve."),
    ("Over 400 children took part in the program.", "took part in", "Over 400 children participated in the program."),
])
def test_rewrite_says_phrases_and_contractions_the_other_way(bpe_editor, text, words, expected):  # noqa: F811
    result = rewrite(bpe_editor, text, selection=selection_of(text, words), k=8, max_drop=math.inf)
    assert expected in [a.text for a in result.alternatives]


def test_a_phrase_only_partly_selected_is_left_alone(bpe_editor):  # noqa: F811
    from writing.restructure import phrase_variants as _phrase_texts
    from writing.actions import words_of

    text = "Trading stopped due to the storm."
    start, end = selection_of(text, "stopped due")
    assert _phrase_texts(text, words_of(text, start, end), start, end) == []


def test_a_reduction_is_offered_only_inside_the_selection_and_only_to_rewrite():
    from writing.actions import words_of
    from writing.restructure import phrase_variants

    text = "It is our duty and our privilege to serve all of the people."
    start, end = selection_of(text, "our duty and our privilege")
    words = words_of(text, start, end)
    assert phrase_variants(text, words, start, end, reductions=True) == [
        "It is our duty and privilege to serve all of the people."]  # "all [of] the" is outside the selection
    assert phrase_variants(text, words, start, end) == []  # Rephrase's call: no reductions
