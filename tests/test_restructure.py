"""Rephrase by putting a sentence in another order (writing.restructure): every word kept, only order and case
move; the guards that keep the meaning; and how Rephrase offers it (first, checked by the judge's reading)."""

from __future__ import annotations

import math
import re

import pytest
from test_bpe_shifted import base_dir, bpe_editor, bpe_tokenizer, tiny_llama  # noqa: F401 (fixtures)

from writing import restructure
from writing.facts import check
from writing.rephrase import rephrase
from writing.restructure import clause_first, clause_last, report_first, report_last, sentences, variants


def bag(text: str) -> list[str]:
    return sorted(re.findall(r"[\w']+", text.lower()))


@pytest.mark.parametrize("sentence,expected", [
    ("The company said Penn Traffic is expected to hold a meeting later this month.",
     "Penn Traffic is expected to hold a meeting later this month, the company said."),
    ("A Viacom spokesman said that the offer continues to include a 20 pct interest.",
     "The offer continues to include a 20 pct interest, a Viacom spokesman said."),
    ("An Italian press report today said Montedison has agreed to acquire Antibioticos.",  # the time moves too
     "Montedison has agreed to acquire Antibioticos, an Italian press report said today."),
    ("They said they may buy more stock or sell some of their stake.",
     "They may buy more stock or sell some of their stake, they said."),
])
def test_report_last_moves_the_reporting_clause_to_the_end(sentence, expected):
    assert report_last(sentence) == [expected]


def test_a_pronoun_and_its_name_trade_places_rather_than_the_pronoun_coming_first():
    # "It still needs the approval, Suffield said" would put the pronoun before what it stands for
    assert report_last("Suffield said it still needs the approval of the superintendent.") == [
        "Suffield still needs the approval of the superintendent, it said."]
    assert report_last("Traders said they were reluctant to take out new positions.") == [
        "Traders were reluctant to take out new positions, they said."]


def test_report_last_offers_both_cases_when_the_first_word_may_be_a_name():
    out = report_last("Esselte said the unit manufactures scales and label printers.")
    assert out == ["The unit manufactures scales and label printers, esselte said.",
                   "The unit manufactures scales and label printers, Esselte said."]
    # a name of several capitalised words, or one with a capital inside, keeps its case
    assert report_last("Standard Oil Co said the venture will manage the borrowing of both.")[0].endswith(
        ", Standard Oil Co said.")
    assert report_last("BankAmerica said the approval is taking longer than expected.") == [
        "The approval is taking longer than expected, BankAmerica said."]


@pytest.mark.parametrize("sentence", [
    "The company said it will sell it soon to a buyer.",  # a second "it": which one is the company?
    "Esselte said its unit makes scales and printers.",  # not a subject pronoun
    "He said \"we will win this fight\" to the crowd.",  # quoted speech
    "Analysts said the firm said it would sell its stake soon.",  # two reporting verbs
    "Officials said to wait for the results of the vote.",  # not a clause
    "The man who said hello to everyone left early on Monday.",  # a long subject with a clause in it
])
def test_report_last_declines_where_the_meaning_or_grammar_could_move(sentence):
    assert report_last(sentence) == []


def test_report_first_moves_it_back_and_reads_inverted_reports():
    assert report_first("The throughput fell slightly in February, the sources said.") == [
        "The sources said the throughput fell slightly in February."]
    assert report_first("The company will buy back its shares in March, said a company spokesman.") == [
        "A company spokesman said the company will buy back its shares in March."]
    # the reported clause keeps a name's capital; a common first word gives both forms for the judge
    assert report_first("CMP earned 11 mln dlrs in 1986, Consolidated TVX said.") == [
        "Consolidated TVX said CMP earned 11 mln dlrs in 1986."]
    assert len(report_first("Successful completion of the offer would raise its stake, it said.")) == 2


def test_subordinate_clauses_move_both_ways_and_only_when_safe():
    assert clause_last("When America serves others in this way, we show the strength of our country.") == [
        "We show the strength of our country when America serves others in this way."]
    assert clause_first("Millions of Americans can now save money because they can get a hearing aid.") == [
        "Because they can get a hearing aid, millions of Americans can now save money.",
        "Because they can get a hearing aid, Millions of Americans can now save money."]
    # "analysts said X because Y" fronted would make the clause explain the saying
    assert clause_first("Some analysts said the firm may sell part of Shearson because its stock is low.") == []
    # more than one comma: where the clause ends is not certain
    assert clause_last("If prices rise, as they did in May, the bank will act.") == []
    # "asked if" is a question, not a condition: "if" never moves from the middle
    assert clause_first("The minister asked if the banks would lend more money to farmers.") == []


def test_sentences_do_not_end_at_decimals_initials_or_titles():
    text = ("CMP earned 160 U.S. dlrs an ounce, Consolidated TVX said. Mr. Smith said the U.S. Treasury would act. "
            "It fell to 1.2 mln.")
    assert [text[a:b] for a, b in sentences(text)] == [
        "CMP earned 160 U.S. dlrs an ounce, Consolidated TVX said.",
        "Mr. Smith said the U.S. Treasury would act.", "It fell to 1.2 mln."]
    assert [text[a:b] for a, b in sentences(text, 10)] == ["Mr. Smith said the U.S. Treasury would act.",
                                                          "It fell to 1.2 mln."]  # only whole sentences


def test_every_variant_keeps_every_word_and_every_fact():
    text = ("The city council voted on Monday to raise parking fees by 15 percent. Officials said the extra money "
            "would repair roads. Because accidents had risen, the council acted quickly.")
    out = variants(text)
    assert len(out) >= 2
    for new in out:
        assert new != text and bag(new) == bag(text)
        assert check(text, new).ok, new
        changed = [s for s in sentences(new) if new[s[0]:s[1]] not in text]
        assert len(changed) == 1  # one sentence moved per variant


def test_rephrase_offers_a_reordering_first_when_it_reads_well(bpe_editor, monkeypatch):  # noqa: F811
    text = "The company said Penn Traffic is expected to hold a special meeting later this month."
    monkeypatch.setattr(restructure, "MAX_DROP", math.inf)
    result = rephrase(bpe_editor, text, 0.5, k=3, method="swap")
    first = result.alternatives[0]
    assert first.markup == "restated"
    assert first.text == "Penn Traffic is expected to hold a special meeting later this month, the company said."
    assert first.facts["ok"] and first.words == result.words_before
    # read worse than the writer's by any margin: not offered
    monkeypatch.setattr(restructure, "MAX_DROP", -math.inf)
    try:
        result = rephrase(bpe_editor, text, 0.5, k=3, method="swap")
    except Exception as exc:  # the tiny model may find no synonym either: then it declines, and says why
        assert "another order" in str(exc)
    else:
        assert all(a.markup != "restated" for a in result.alternatives)


def test_according_to_moves_both_ways_and_about_a_number_is_a_set_phrase():
    from writing.restructure import according_first, according_last, phrase_variants
    from writing.words import words_of

    text = "The commission approved the rule change in February, according to a CFTC spokeswoman."
    front = "According to a CFTC spokeswoman, the commission approved the rule change in February."
    assert according_first(text) == [front] and according_last(front) == [text]
    assert according_first("Prices rose, traders said, according to a report.") == []  # two commas
    text = "It paid about 21 mln dlrs for the unit."
    assert phrase_variants(text, words_of(text), 0, len(text), contractions=False) == [
        "It paid approximately 21 mln dlrs for the unit."]
    assert check(text, "It paid approximately 21 mln dlrs for the unit.").ok


def test_rephrase_says_a_verb_phrase_in_one_verb(bpe_editor, monkeypatch):  # noqa: F811
    text = "More than four hundred children took part in the reading program."
    monkeypatch.setattr(restructure, "MAX_DROP", math.inf)
    result = rephrase(bpe_editor, text, 0.5, k=3, method="swap")
    assert "More than four hundred children participated in the reading program." in [
        a.text for a in result.alternatives]
    assert all(a.facts["ok"] for a in result.alternatives)


# ----------------------------------------------------------------------- adverbials and coordinations move too
@pytest.mark.parametrize("rule,sentence,expected", [
    (restructure.time_first, "This should put an extra $10 billion into the economy in the next 6 months.",
     "In the next 6 months, this should put an extra $10 billion into the economy."),
    (restructure.time_first, "The grade of crude was reduced to 16.85 dlrs a bbl last week.",
     "Last week, the grade of crude was reduced to 16.85 dlrs a bbl."),
    (restructure.time_last, "Last year, the company earned 11 mln Canadian dlrs.",
     "The company earned 11 mln Canadian dlrs last year."),
    (restructure.by_first, "Congress has already taken a stand on this issue by passing the Act, signed in 1996.",
     "By passing the Act, signed in 1996, Congress has already taken a stand on this issue."),
    (restructure.adverb_inside, "Now we must be as vigilant with our rivers as we are with our lands.",
     "We must now be as vigilant with our rivers as we are with our lands."),
    (restructure.coordination_swap, "Traders and analysts in oil markets estimate OPEC is producing more.",
     "Analysts and traders in oil markets estimate OPEC is producing more."),
    (restructure.coordination_swap, "They unite us in a stewardship of peace and freedom.",
     "They unite us in a stewardship of freedom and peace."),
    (restructure.phrase_last, "Under the agreement, Husky will become a private company.",
     "Husky will become a private company under the agreement."),
    (restructure.passive_active, "The sale was sanctioned by the Public Service Commission in January.",
     "The Public Service Commission sanctioned the sale in January."),
    (restructure.passive_active, "The offer was rejected by the board of directors.",
     "The board of directors rejected the offer."),
])
def test_adverbials_and_coordinations_move_with_every_word_kept(rule, sentence, expected):
    out = rule(sentence)
    assert expected in out
    for new in out:
        dropped = {"was", "were", "by"} if rule is restructure.passive_active else set()  # the passive's own words
        assert [w for w in bag(new) if w not in dropped] == [w for w in bag(sentence) if w not in dropped]
        assert check(sentence, new).ok


@pytest.mark.parametrize("rule,sentence", [
    # the time phrase could belong to a part of the sentence: "agreed in Geneva last December", "plans to open"
    (restructure.time_first, "OPEC is producing above a ceiling agreed in Geneva last December."),
    (restructure.time_first, "The company plans to open a plant in 1988."),
    (restructure.time_first, "Officials said the talks would resume next week."),
    (restructure.time_first, "It sold the unit and bought a mill last year."),
    (restructure.time_last, "Last year, the firm said profits would rise."),
    # "oil markets and analysts": "oil" belongs to "markets"; a range; a name mid-sentence
    (restructure.coordination_swap, "Traders in oil markets and analysts agree."),
    (restructure.coordination_swap, "Prices rose between four and five pct."),
    (restructure.coordination_swap, "It sold Esso and Mobil stations."),
    (restructure.coordination_swap, "Health and education care costs rose."),
    (restructure.coordination_swap, "Ladies and gentlemen, it is still within our power."),  # a set order
    # a shared subject would change hands ("the Commission ... became effective"); a relative clause; a perfect
    (restructure.passive_active, "The sale was sanctioned by the Commission in January and became effective."),
    (restructure.passive_active, "The plan was rejected by voters who wanted more."),
    (restructure.passive_active, "The plan has been approved by the board."),
    (restructure.passive_active, "The plan was not approved by the board."),
    (restructure.phrase_last, "In Jamaica, the minister said the group planned to stick with the pact."),
    (restructure.coordination_swap, "More and more people came to supply and demand talks."),
])
def test_adverbials_and_coordinations_stay_where_moving_them_could_change_the_meaning(rule, sentence):
    assert rule(sentence) == []


def test_a_report_does_not_move_across_a_preposition_a_passive_or_another_report():
    assert report_last("Kuwait's oil minister said in an interview that there were no plans for a meeting.") == []
    assert report_last("Three sets of measures have been announced since last May, which broadened trade.") == []
    assert report_first("Bally said it completed the acquisition of the hotel, it noted.") == []
    # a possessive name keeps its capital when it moves
    assert report_last("Kuwait's oil minister said there were no plans for an emergency meeting.") == [
        "There were no plans for an emergency meeting, Kuwait's oil minister said."]


def test_a_swap_after_a_determiner_is_never_a_verb(bpe_editor):  # noqa: F811
    from writing.lexicon import Lexicon, available
    from writing.rephrase import may_change
    from writing.substitute import propose_synonyms
    from writing.words import words_of

    if not available():
        pytest.skip("no lexicon")
    verbs = {s.word for s in Lexicon.load().synonyms("breach") if s.sense.startswith("v")}
    assert verbs  # "breach" has verb senses ("transgress")
    for text in ("We must all be repairers of the breach.", "It was a breach of the rules."):
        words = words_of(text)
        swaps = propose_synonyms(bpe_editor, text, words, [may_change(w) for w in words], min_fit=-1e9)
        offered = {s.new for s in swaps if words[s.word].text == "breach"}
        assert not offered & verbs, offered
    # a light verb is never swapped, whatever its noun senses offer: "help people overcome" -> "assist people"
    assert {s.word for s in Lexicon.load().synonyms("help")} & {"assist", "aid", "assistance"}
    text = "Research can help people overcome disabilities."
    words = words_of(text)
    swaps = propose_synonyms(bpe_editor, text, words, [may_change(w) for w in words], min_fit=-1e9)
    assert not [s for s in swaps if words[s.word].text == "help"]
    # nor a verb with its particle: "move away" is not "travel away"
    text = "You wonder whether your children can get ahead without having to move away from home."
    words = words_of(text)
    swaps = propose_synonyms(bpe_editor, text, words, [may_change(w) for w in words], min_fit=-1e9)
    assert not [s for s in swaps if words[s.word].text == "move"]
    assert Lexicon.load().synonyms("move")  # it has synonyms elsewhere


def test_a_name_with_an_aside_trades_places_with_its_pronoun_and_a_clause_is_never_taken_for_the_speaker():
    assert report_last("Industrial Equity Ltd, a Hong Kong investment firm, said it raised its stake to 11.3 pct.") == [
        "Industrial Equity Ltd, a Hong Kong investment firm, raised its stake to 11.3 pct, it said."]
    # "said it will sell it soon" is what was said: never "It will sell it soon said Esselte, the Swedish group."
    assert report_first("Esselte, the Swedish group, said it will sell it soon.") == []
    assert report_last("Esselte, the Swedish group, said it will sell it soon.") == []  # "it" twice


def test_the_seed_15_read_s_broken_reorderings_are_refused():
    # the adverb belongs to "said"; a month keeps its capital; a fronted "by" phrase would dangle before a passive
    assert report_last("It said instead that such moves would help to guard against the risks of imports.") == []
    assert report_first("January 1987 output totalled 1.15 billion cubic metres, the company added.") == [
        "The company added January 1987 output totalled 1.15 billion cubic metres."]
    assert restructure.by_first("Our trade position can also be improved by making our ports more efficient.") == []


def test_a_verb_phrase_before_its_preposition_is_not_said_in_one_verb():
    from writing.lexicon import available
    from writing.words import words_of

    if not available():
        pytest.skip("no lexicon")
    text = "Every year, the press has a field day making fun of outrageous examples."
    out = restructure.phrase_variants(text, words_of(text), 0, len(text), contractions=False, phrasal=True)
    assert not [t for t in out if " of outrageous" in t and "making fun" not in t]  # never "ridiculing of"
    text = "Thousands of children took part in the reading program."
    out = restructure.phrase_variants(text, words_of(text), 0, len(text), contractions=False, phrasal=True)
    assert "Thousands of children participated in the reading program." in out


def test_two_coordinated_words_trade_places_only_when_they_are_of_one_kind():
    from writing.restructure import coordination_swap

    assert coordination_swap("Traders and analysts in oil markets said so.") == [
        "Analysts and traders in oil markets said so."]
    # "citizens and strengthen" only sit side by side: the "and" joins two verb phrases
    assert coordination_swap("We must protect our citizens and strengthen our Nation against the threat.") == []

