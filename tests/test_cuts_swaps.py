"""Shorten by cutting (writing.cuts) and rephrase by swapping words (writing.substitute): what they may change,
what they must keep, and the judge's reading. Mechanics on a tiny random Llama with SmolLM2's tokenizer (a model
with a causal reading), so the properties hold for any weights."""

from __future__ import annotations

import copy

import pytest
import torch
from test_bpe_shifted import base_dir, bpe_editor, bpe_tokenizer, tiny_llama  # noqa: F401 (fixtures)

from dllm_core import EditError
from dllm_core.adapter import ModelAdapter
from dllm_core.shifted import ShiftedDiffusionLM
from writing.actions import FUNCTION_WORDS, count_words, rephrase, shorten, words_of
from writing.cuts import CutSearch, _phrase_like

NEWS = ("Stone-throwing youths were met with baton charges, but still the Palestinian police do not have control "
        "around the Sheikh's house in 2001.")
WORD_CHARS = str.maketrans("", "", ".,;:!?\"'")


def plain_words(text: str) -> list[str]:
    return [w.translate(WORD_CHARS).lower() for w in text.split()]


def is_subsequence(short: list[str], long: list[str]) -> bool:
    it = iter(long)
    return all(any(w == x for x in it) for w in short)


@pytest.mark.parametrize("text,span,ok", [
    ("A man who is a good loser plays.", "good", True),  # a modifier before its noun
    ("Every parent worries about the impact of violence in the media on children.", "of violence in the media",
     False),  # an "of" phrase completes its noun
    ("We welcomed home some of our last troops.", "last", False),  # a time word never goes alone
    ("And we're helping families save money.", "we're", False),  # a pronoun and its verb
    ("We will outspend all others, in which case, we win by far.", "in which case we win", False),
    ("It will pay the rest, with the balance plus interest to be paid later.", "with the balance", False),
    ("It will pay the rest in cash, with the balance to be paid later.", "in cash", True),
    ("They must care for the children they bring into this world.", "into this world", False),
    ("As for higher taxes, the American people have rejected that advice.", "the American people have rejected that advice", False),  # the main clause
    ("We need a strategy that grows, a strategy that's cleaner and cheaper.", "a strategy that's cleaner and cheaper", True),
    ("Diamond is the latest in a line of oil companies to cut prices.", "in a line", False),  # its noun's "of"
    ("Offer proposals and come up with a solution to save these programs.", "with a solution to save", False),
    ("The company said in a statement that profits rose.", "in a statement", True),
    ("It gives holders one-fifth of a share of Arsenal stock.", "of a share", False),  # a fraction's "of"
    ("It acquired all the common stock of Supermac.", "common", False),  # it names the instrument
    ("I will sign it right away.", "right", False),
    ("It has more churches per capita than any country.", "per capita", False),
    ("We must not ignore the rest of the world today.", "of the world", False),  # completes "the rest"
    ("It still needs the approval of the superintendent of the department.", "of the superintendent", True),
    ("It may buy shares under certain circumstances, it said.", "under certain circumstances", False),  # restricts
    ("A man who is a good loser plays.", "a", False),  # a lone function word
    ("They withdraw its military mission from Bissau.", "military mission", False),  # "its from"
    ("The Palestinian police do not have control.", "police", False),  # a head noun before a function word
    ("It is a criminal offence.", "offence", False),  # the last word of a sentence
    ("In April, when a new coup was planned, they left.", "when a new coup was planned", True),  # a clause
    ("It shifted to a commentary on the alchemists themselves.", "on the alchemists themselves", True),
    ("It forbade the promises of transmutation made.", "promises of", False),  # ends in a function word
    ("More than 160 years later they came.", "years", False),  # after a number
    ("Tanks moved into an autonomous Palestinian area.", "autonomous", False),  # "an Palestinian"
    ("Tanks moved into an old stone area.", "old", False),  # "an stone"
    ("Tanks moved into a new open area.", "new", False),  # "a open"
    ("He planned attacks against Australia today.", "attacks against", False),  # a preposition left hanging
    # read blind as broken (issue 22, development reads):
    ("Traders in international oil markets estimate OPEC is producing more.", "markets estimate", False),  # a name
    ("Farmers have sold a good part of their cocoa held on consignment.", "cocoa", False),  # a verb follows
    ("Americans can save money because they can finally get a hearing aid.", "because they can finally get",
     False),  # part of a clause
    ("Because of these acquisitions, it said, sales will be higher.", "of these acquisitions", False),
    ("They keep young people out of gangs and show them an ideal.", "of gangs", False),  # "out [of gangs]"
    ("Our sons and daughters once again wear their uniforms.", "again", False),  # "once" alone: formerly
    ("Americans can save money because they can get a hearing aid, she said.", "because they can get a hearing aid",
     True),  # the whole clause
    ("It is also involved in broking notes and other instruments.", "broking", False),  # a gerund, not a modifier
    ("Governors are giving classroom demonstrations that work.", "giving classroom", False),  # the verb
    ("It has the right under certain circumstances involving change of control.", "certain circumstances involving",
     False),  # a plural noun inside the run: not modifiers
    ("Businesses opened near a new train station or the new off-ramp.", "near a new train station", False),
    ("Now history calls us to press on.", "history", False),  # the subject of "calls"
    ("It will include crop insurance reform and more.", "insurance", False),  # a noun modifier: another thing
    ("Reserves rose to 1.11 billion cubic metres last year.", "cubic", False),  # part of the unit
    ("He named its chief executive officer on Monday.", "executive", False),  # a title
    ("It supplies new products and disc drive subsystems.", "new", True),
    ("The rapidly growing supplier sells disks.", "rapidly growing", True),
    # read blind as a changed fact (seed 14): the modifier or phrase says which ones
    ("It plans leave so that every new parent can bond with their child.", "new", False),
    ("It expands tax cuts for low-income workers who have no children.", "low-income", False),
    ("It includes every nation in our own hemisphere but one.", "in our own hemisphere", False),
    # seed 16: a condition, a verb's particle, a phrase across "and", a verb taken for a modifier, an unknown head
    ("This war will not end until their radical vision is fulfilled.", "until their radical vision is fulfilled",
     False),
    ("Tell him not to give up; he can go on to college.", "on to college", False),
    ("If you know somebody caught in a dead-end job and afraid he cannot pay, call.",
     "in a dead-end job and afraid", False),
    ("We have reduced expenditures and reduced projected spending again.", "reduced", False),
    ("Shareholders would get guaranteed debentures due 2002.", "debentures", False),
    ("Stone-throwing youths were met with baton charges.", "Stone-throwing", True),  # a compound modifier
    ("This year America has lost two patriots and fine public servants.", "lost", False),  # the verb (seed 18)
    ("It will repair bridges in the southern districts this year.", "southern", False),  # which place
    ("It will repair bridges in the southern districts, the county said.", "in the southern districts", True),
    # seed 19: what a relative clause is about, a delayed object, an agent, a place, a kind, an amount's "in", "as"
    ("We need to expand the pool of capital for new investments that need more jobs.", "for new investments", False),
    ("The company said in a statement that profits rose.", "in a statement", True),  # "that" starts what was said
    ("I have seen, even amidst the pain of recession, the real heart of America.", "the real heart of America",
     False),
    ("Our military is no longer undermined by artificial timelines, and we win.", "by artificial timelines", False),
    ("In Afghanistan, America, our allies, and partners are helping.", "In Afghanistan America", False),
    ("In Iran, we see a Government that represses its people.", "In Iran", False),
    ("Problems caused by our overdependence on foreign oil persist.", "foreign", False),
    ("Leaders know that double-digit inflation is no longer a way of life.", "double-digit", False),
    ("It set up one billion dlrs in production payment facilities on the field.", "in production payment facilities",
     False),
    ("He was a strong man, and he was sharp as a tack.", "as a tack", False),
    # seed 20: a clause taken for an appositive, a time clause, what money is available for, a kind, a superlative
    ("He saved his companions, and in the next instant, a medic saved his life.", "a medic saved his life", False),
    ("The unit, a firm based in Ohio, makes scales.", "a firm based in Ohio", True),  # a participle: an appositive
    ("Traders may initiate, after the exchange closes, a transaction.", "after the exchange closes", False),
    ("There may be no money available for cash distributions to unitholders.", "for cash distributions to unitholders",
     False),
    ("It would continue to be the exclusive licensee of the technology.", "exclusive", False),
    ("It will deploy the most sophisticated technologies at our borders.", "sophisticated", False),
])


def test_which_spans_can_go_as_a_phrase(text, span, ok):
    words = words_of(text)
    first = span.split()[0]
    i = next(n for n, w in enumerate(words) if w.text == first and " ".join(
        x.text for x in words[n : n + len(span.split())]) == span)
    assert _phrase_like(text, words, i, i + len(span.split()) - 1, FUNCTION_WORDS) is ok


def test_an_aside_between_commas_goes_with_both_unless_a_phrase_leads_the_sentence():
    from writing.cuts import _cut_texts

    def cuts(text, span):
        words = words_of(text)
        n = len(span.split())
        i = next(k for k in range(len(words)) if " ".join(w.text for w in words[k : k + n]) == span.replace(",", ""))
        return {text[:a] + rep + text[b:] for a, b, rep in _cut_texts(text, words, i, i + n - 1)}

    assert cuts("Esselte said the unit, based in LaPorte, Indiana, makes scales.", "based in LaPorte, Indiana") == {
        "Esselte said the unit makes scales."}
    assert "On these key issues, the House has acted." in cuts(
        "On these key issues, trade and energy, the House has acted.", "trade and energy")


def test_cutting_only_deletes_and_keeps_names_numbers_negations(bpe_editor):  # noqa: F811
    result = shorten(bpe_editor, NEWS, "75%", k=3, method="cut")
    original = plain_words(NEWS)
    assert result.alternatives and len({a.text for a in result.alternatives}) == len(result.alternatives)
    for alt in result.alternatives:
        assert alt.markup.startswith("cut: ")
        assert is_subsequence(plain_words(alt.text), original), alt.text  # the writer's words, in order
        assert alt.words < result.words_before
        for kept in ("Palestinian", "Sheikh's", "2001", "not", "Stone-throwing"):
            assert kept in alt.text
        assert alt.words >= result.target_words - 1  # never below the target by more than the tolerance
    if result.alternatives[0].words > result.target_words + 1:
        assert "not" in result.note and "break a sentence" in result.note


def test_cutting_a_selection_leaves_the_rest(bpe_editor):  # noqa: F811
    # (in NEWS itself the selection has no cut left: "have [control] around" would cut a head noun)
    text = NEWS.replace("have control", "have full control").replace("the Sheikh's", "the old")
    start = text.index("but still")
    result = shorten(bpe_editor, text, "70%", selection=(start, len(text)), method="cut")
    assert result.text.startswith(text[:start]) and result.text != text
    assert result.words_before == count_words(text[start:])


def test_a_cut_that_breaks_the_reading_is_never_taken(bpe_editor):  # noqa: F811
    words = words_of(NEWS)
    info = [0.0] * len(words)
    # every cut makes the text read at least 0 nats worse, so a negative allowance rules out every cut
    strict = CutSearch(bpe_editor.adapter, NEWS, (0, len(NEWS)), words, info, 12,
                       function_words=FUNCTION_WORDS, words_of=words_of, max_break=-1.0)
    assert strict.run() == []
    loose = CutSearch(bpe_editor.adapter, NEWS, (0, len(NEWS)), words, info, 12,
                      function_words=FUNCTION_WORDS, words_of=words_of, max_break=1e9)
    assert loose.run()


def test_judge_reads_like_the_causal_lm_it_loads(bpe_tokenizer, monkeypatch):  # noqa: F811
    monkeypatch.setenv("DLLM_JUDGE_DTYPE", "float32")  # compared at 1e-4: not in bfloat16 (dllm_core.precision)
    causal = tiny_llama(49152, seed=3)
    judge = copy.deepcopy(causal)
    adapter = ModelAdapter(ShiftedDiffusionLM(causal), bpe_tokenizer, "tiny", kind="shifted-causal",
                           start_token="<|endoftext|>")
    seqs = [torch.tensor([10, 20, 30, 40]), torch.tensor([7, 8])]
    plain = adapter.judge_log_probs(seqs)  # no loader: the causal reading itself
    adapter.judge_loader = lambda: judge
    judged = adapter.judge_log_probs(seqs)
    for a, b, seq in zip(plain, judged, seqs):
        assert a.shape == b.shape == (len(seq),)
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    with torch.no_grad():  # and it is the causal LM's own next-token reading after the start token
        ids = torch.tensor([[bpe_tokenizer.convert_tokens_to_ids("<|endoftext|>"), 10, 20, 30, 40]])
        ref = judge(input_ids=ids).logits.log_softmax(-1)[0, :-1].gather(1, ids[0, 1:, None]).flatten()
    torch.testing.assert_close(judged[0], ref, atol=1e-4, rtol=1e-4)
    adapter.judge_loader = lambda: tiny_llama(49152, seed=4)  # another LM reads differently
    adapter._judge = None
    assert not torch.allclose(adapter.judge_log_probs(seqs)[0], plain[0])


def test_swapping_changes_single_words_and_keeps_the_rest(bpe_editor):  # noqa: F811
    result = rephrase(bpe_editor, NEWS, 0.5, k=3, method="swap")
    original = NEWS.split()
    assert result.alternatives and len({a.text for a in result.alternatives}) == len(result.alternatives)
    for alt in result.alternatives:
        new = alt.text.split()
        assert len(new) == len(original) and alt.words == result.words_before  # word for word
        changed = [(o, n) for o, n in zip(original, new) if o != n]
        assert changed, alt.text
        for old, now in changed:
            core = old.translate(WORD_CHARS).lower()
            assert core not in FUNCTION_WORDS and not old[:1].isupper() and not any(c.isdigit() for c in old)
            assert now.translate(WORD_CHARS).lower() not in plain_words(NEWS)  # never repeats a word of the text
        for i in range(len(original) - 1):  # no two neighbours both changed
            assert original[i] == new[i] or original[i + 1] == new[i + 1]


def test_methods_need_a_causal_reading_and_are_checked(editor, bpe_editor):  # noqa: F811
    with pytest.raises(EditError, match="causal reading"):
        shorten(editor, NEWS, "70%", method="cut")
    with pytest.raises(EditError, match="causal reading"):
        rephrase(editor, NEWS, 0.5, method="swap")
    with pytest.raises(EditError, match="method"):
        shorten(bpe_editor, NEWS, "70%", method="squeeze")
    with pytest.raises(EditError, match="method"):
        rephrase(bpe_editor, NEWS, 0.5, method="shuffle")


def test_every_swap_is_a_synonym_from_the_lexicon_and_keeps_the_facts(bpe_editor):  # noqa: F811
    from writing.facts import check
    from writing.lexicon import Lexicon

    lexicon = Lexicon.load()
    text = ("Over the past year, more than four hundred children across six neighborhoods quickly bought "
            "difficult books and helped their teachers.")
    result = rephrase(bpe_editor, text, 1.0, k=3, method="swap")
    for alt in [*result.alternatives, *result.withheld]:
        for old, new in zip(text.split(), alt.text.split()):
            if old != new:
                offered = {s.word for s in lexicon.synonyms(old.translate(WORD_CHARS).lower())}
                assert new.translate(WORD_CHARS) in offered, (old, new)
        assert alt.facts is not None
    assert all(check(text, a.text).ok for a in result.alternatives)


def test_writer_tones_without_a_classifier_use_their_rules(bpe_editor):  # noqa: F811
    from writing.actions import TONES, tone

    assert set(TONES) == {"formal", "casual", "friendly", "confident"}
    result = tone(bpe_editor, "We don't know yet, and it's late.", "formal")
    assert result.text == "We do not know yet, and it is late." and result.alternatives[0].facts["ok"]
    assert tone(bpe_editor, "I think that the plan is somewhat risky.", "confident").text == "The plan is risky."
    with pytest.raises(EditError, match="no hedging words"):
        tone(bpe_editor, "The plan is risky.", "confident")
    with pytest.raises(EditError, match="unknown tone"):
        tone(bpe_editor, "The plan is risky.", "sarcastic")
    with pytest.raises(EditError, match="strength"):
        tone(bpe_editor, "We don't know.", "formal", strength=float("nan"))


def test_wordy_phrases_shorten_to_what_says_the_same():
    from writing.cuts import may_cut
    from writing.rewordings import compressions
    from writing.facts import check

    text = "It should be noted that we met in order to talk, due to the fact that prices were able to rise."
    words = words_of(text)
    options = compressions(text, words, [may_cut(w) for w in words])
    results = {text[:lo] + rep + text[hi:]: len(cut) for lo, hi, rep, cut in options}
    assert results == {
        "We met in order to talk, due to the fact that prices were able to rise.": 5,
        "It should be noted that we met to talk, due to the fact that prices were able to rise.": 2,
        "It should be noted that we met in order to talk, because prices were able to rise.": 4,
        "It should be noted that we met in order to talk, due to the fact that prices could rise.": 2,
    }
    for short, gone in results.items():
        assert count_words(text) - count_words(short) == gone and check(text, short).ok
    # a kept word inside the phrase rules it out
    kept = words_of(text, keep=("order",))
    assert len(compressions(text, kept, [may_cut(w) for w in kept])) == 3


def test_a_tone_offers_its_rule_edits_alone_first_and_swaps_after(bpe_editor):  # noqa: F811
    # the rule edits keep every word's meaning by construction; a synonym swap may not ("the trust" -> "the
    # reliance", read blind), so a writer sees the rules alone first
    from writing import register, style
    from writing.rephrase import rephrase_by_swapping

    text = "And we need to buy difficult books, so the teachers quickly helped their children."
    expected = style.apply(text, register.more_formal(text))
    assert expected != text
    result = rephrase_by_swapping(bpe_editor, text, (0, len(text)), words_of(text), 1.0, 3, 0,
                                  attribute=lambda texts: [0.0] * len(texts), attribute_weight=1.0,
                                  rules=register.more_formal, action="tone")
    assert result.alternatives[0].text == expected and result.alternatives[0].markup == "rules"
    assert all(a.markup == "swap" and a.text != expected for a in result.alternatives[1:])
    # the counts are the writer's words before and the alternative's after ("said the" -> "said that the": +1)
    text = "Officials said the work will begin soon so we can reopen the bridge."
    result = rephrase_by_swapping(bpe_editor, text, (0, len(text)), words_of(text), 1.0, 1, 0,
                                  attribute=lambda texts: [0.0] * len(texts), attribute_weight=1.0,
                                  rules=register.more_formal, action="tone")
    assert result.words_before == 13 and result.words_after == 15, (result.words_before, result.text)


def test_openers_intensifiers_and_a_that_after_saying_may_go():
    from writing.cuts import may_cut
    from writing.rewordings import fillers

    def options(text):
        words = words_of(text)
        return {text[:a] + rep + text[b:] for a, b, rep, _ in fillers(text, words, [may_cut(w) for w in words])}

    assert options("And I know this Chamber agrees. After all, they're building our economy.") == {
        "I know this Chamber agrees. After all, they're building our economy.",
        "And I know this Chamber agrees. They're building our economy."}
    assert options("It said that the plan is very good and really works.") == {
        "It said the plan is very good and really works.", "It said that the plan is good and really works.",
        "It said that the plan is very good and works."}
    assert options("And of all our accomplishments, none is better.") == set()  # would start with "Of"
    assert options("Very large firms said that.") == set()  # a sentence's first word keeps its capital's place



def test_reductions_drop_only_words_the_sentence_says_twice_or_needs_no_more():
    from writing.cuts import may_cut
    from writing.rewordings import reductions
    from writing.facts import check

    def options(text, keep=()):
        words = words_of(text, keep=keep)
        return {text[:a] + rep + text[b:] for a, b, rep, _ in reductions(text, words, [may_cut(w) for w in words])}

    text = "It is both our duty and our privilege to speak to our citizens and to our allies."
    assert options(text) == {
        "It is our duty and our privilege to speak to our citizens and to our allies.",
        "It is both our duty and privilege to speak to our citizens and to our allies.",
        "It is both our duty and our privilege to speak to our citizens and our allies."}
    assert options("They sold all of the shares that are held by the bank, which is based in Ohio.") == {
        "They sold all the shares that are held by the bank, which is based in Ohio.",
        "They sold all of the shares held by the bank, which is based in Ohio.",
        "They sold all of the shares that are held by the bank, based in Ohio."}
    assert not any("all their" in t for t in options("They may sell some or all of their stake."))  # "some" needs it
    for short in options(text) | options("They sold all of the shares that are held by the bank."):
        assert check(text if "duty" in short else "They sold all of the shares that are held by the bank.", short).ok
    # not across a function word ("the price of oil and [the] price"), not "both of", not a participle read as an
    # adjective ("measures [that are] determined, successful"), not "who are [going to]", not a kept word
    assert options("The price of oil and the price of gas rose for both of them.") == set()
    assert options("It took measures that are determined, successful and lasting.") == set()
    assert options("People who are going to vote came.") == set()
    assert options("It is both our duty and our privilege.", keep=("both",)) == {"It is both our duty and privilege."}


def test_a_cut_reports_the_words_that_went_and_a_fronted_source_may_go():
    from writing.cuts import _fronted_source, _what_went

    assert _what_went("And I know.", 0, 5, "I") == "And "
    assert _what_went("in order to go", 0, 11, "to") == "in order "
    assert _what_went("due to the fact that", 0, 20, "because") == "due to the fact that -> because"
    text = "In a filing with the SEC, the group said it bought shares. On some issues, we differ."
    assert _fronted_source(text, 0, text.index("the group") + 1)
    assert not _fronted_source(text, text.index("On"), text.index("we differ") + 1)  # limits the claim
    inside = "Industrial Equity (Pacific) Ltd, a Hong Kong firm, said it."
    assert not _fronted_source(inside, inside.index("Pacific"), inside.index("said") + 1)  # not a sentence start


def test_a_phrase_before_a_comma_goes_without_the_comma_unless_it_sits_between_punctuation():
    from writing.cuts import _cut_texts

    text = "We read with our kids, help them with their homework, pass along the values."
    words = words_of(text)
    i = [w.text for w in words].index("with", 4)
    cuts = {text[:a] + rep + text[b:] for a, b, rep in _cut_texts(text, words, i, i + 2)}
    assert cuts == {"We read with our kids, help them, pass along the values."}
    text = "The unit, based in LaPorte, makes scales."
    words = words_of(text)
    cuts = {text[:a] + rep + text[b:] for a, b, rep in _cut_texts(text, words, 2, 4)}
    assert cuts == {"The unit makes scales."}


def test_fillers_in_an_aside_a_source_medium_also_and_of_the_total_may_go():
    from writing.cuts import may_cut
    from writing.rewordings import fillers

    def options(text):
        words = words_of(text)
        return {text[:a] + rep + text[b:] for a, b, rep, _ in fillers(text, words, [may_cut(w) for w in words])}

    assert options("And in fact, this week, many will come.") == {"And this week, many will come."}
    assert options("Additionally, over the last 2 years, 10 million Americans applied.") == {
        "Over the last 2 years, 10 million Americans applied."}  # an opener, though capitalised
    assert options("It is, of course, true.") == {"It is true."}
    assert options("It said in a statement the offer was fair.") == {"It said the offer was fair."}
    assert options("It said in a statement yesterday that the offer was fair.") == {
        "It said yesterday that the offer was fair."}  # the day stays
    assert options("It holds 14.6 pct of the total, up from 12.8 pct.") == {"It holds 14.6 pct, up from 12.8 pct."}
    assert options("It holds 14.6 pct of the total shares.") == set()  # says which total
    assert options("The rumor also was accompanied by talk.") == {"The rumor was accompanied by talk."}
    assert options("We must not only cut taxes but also reduce spending.") == set()  # "also" answers "only"
    assert options("Also creating jobs.") == set()
    assert options("This is our duty, my fellow Americans, and we will meet it.") == {
        "This is our duty and we will meet it."}  # words to the listener, capitals and all
    assert options("It grew because, as I said, we have more jobs.") == {"It grew because we have more jobs."}
    assert options("You know, one of my proudest possessions is the flag.") == {
        "One of my proudest possessions is the flag."}
    assert options("Such moves would help to guard against risks.") == {"Such moves would help guard against risks."}
    assert options("They give help to the poor.") == set()
    assert options("We will win, my fellow Americans.") == {"We will win."}
    assert options("As I mentioned earlier, our efforts are to give them a future.") == {
        "Our efforts are to give them a future."}
    assert options("Make no mistake about it: If Congress passes a ban, I will veto it.") == {
        "If Congress passes a ban, I will veto it."}
    assert options("Make no mistake about it") == set()  # no sentence after it
    assert options("We cannot win without helping others to build theirs.") == {
        "We cannot win without helping others build theirs."}
    assert options("They help them to safety.") == set()  # a place, not a verb


def test_a_filler_is_cut_even_where_the_judge_reads_the_next_word_worse(bpe_editor):  # noqa: F811
    text = "The rumor also was accompanied by talk the firm would split its stock."
    words = words_of(text)
    strict = CutSearch(bpe_editor.adapter, text, (0, len(text)), words, [0.0] * len(words), len(words) - 1,
                       function_words=FUNCTION_WORDS, words_of=words_of, max_break=-1.0)
    # no other cut passes a negative allowance; "also" goes whatever the judge reads after it
    assert [d.text for d in strict.run()] == ["The rumor was accompanied by talk the firm would split its stock."]


def test_a_word_is_swapped_only_for_what_can_stand_in_its_place():
    from writing.lexicon import Lexicon
    from writing.substitute import synonyms_in_place

    lexicon = Lexicon.load()

    def offered(text, word):
        return {s.word for s in synonyms_in_place(lexicon, text, next(w for w in words_of(text) if w.text == word))}

    assert {"famous", "remarked"} <= {s.word for s in lexicon.synonyms("noted")}
    assert offered("Bally bought land, it noted.", "noted") == {"remarked"}  # a verb after "it", not "it famous"
    assert "famous" in offered("He is a noted author.", "noted")
    assert "used" not in offered("Americans applied to start businesses.", "applied")  # "used to" is a habit
    assert "used" in offered("They applied the rule.", "applied")
    assert offered("They plan to move away soon.", "move") == set()  # a verb with its particle
    assert offered("In view of the lower quality, farmers sold.", "view") == set()  # a set phrase
    assert offered("The view of the river is fine.", "view")  # a noun of its own


def test_rephrase_offers_the_register_rewording_when_nothing_else_is_found(bpe_editor, monkeypatch):  # noqa: F811
    from writing import rephrase as rephrase_module
    from writing import substitute

    monkeypatch.setattr(substitute, "propose_synonyms", lambda *a, **k: [])
    monkeypatch.setattr(rephrase_module, "restated", lambda *a, **k: [])
    text = "Traders said the crude price rose 64 cts, and we're not surprised."
    result = rephrase(bpe_editor, text, 0.5, k=3)
    assert [a.text for a in result.alternatives] == [
        "Traders said the crude price rose 64 cents, and we are not surprised."]  # the formal wording only:
    # the casual one has nothing to contract further
    assert "only a small rewording" in result.note
    with pytest.raises(EditError, match="no word of this text has a synonym"):
        rephrase(bpe_editor, "Crude rose sharply.", 0.5, k=3)  # no rule applies either


@pytest.mark.parametrize("risk,first", [(-5.0, "rules"), (-1.0, "swap")])
def test_only_risky_swaps_put_the_register_rewording_first(bpe_editor, monkeypatch, risk, first):  # noqa: F811
    from writing import rephrase as rephrase_module
    from writing import substitute

    text = "Traders said the price rose 64 cts, and we're pleased."
    at = text.index("pleased")
    swap = substitute.Swap(0, at, at + len("pleased"), "glad", 0.0, risk)
    monkeypatch.setattr(substitute, "propose_synonyms", lambda *a, **k: [swap])
    monkeypatch.setattr(substitute, "read_swaps", lambda editor, text, swaps, *a, **k: list(swaps))
    monkeypatch.setattr(rephrase_module, "restated", lambda *a, **k: [])
    result = rephrase(bpe_editor, text, 0.5, k=3)
    assert result.alternatives[0].markup == first  # how it was made
    texts = [a.text for a in result.alternatives]
    assert "Traders said the price rose 64 cts, and we're glad." in texts  # the swap is still offered
    assert ("Traders said the price rose 64 cents, and we are pleased." in texts) == (first == "rules")


def test_the_kept_words_are_those_every_alternative_still_says():
    from writing.alternatives import ActionResult, Alternative, fact_checked

    text = "Prices rose 64 cts, my fellow Americans."
    result = ActionResult("shorten", "", [Alternative("Prices rose 64 cts.", 4)], (0, len(text)), 7, 5,
                          ["64", "cts", "Americans"])
    assert fact_checked(result, text, drops_allowed=("name",)).kept == ["64", "cts"]  # the vocative went
