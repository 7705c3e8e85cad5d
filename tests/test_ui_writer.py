"""Issue 22, item 5: the writer's page, at the handler level (ui.handlers.Studio called directly on the tiny random
model; the browser side is in tests/test_browser.py). The writing actions have their own "How much to change"
and writer's tones, show a working state with an estimate, Undo updates the list of alternatives, tracked changes
strike only the words that went, each alternative shows its fact check, and every input of an action is checked in
the handler."""

from __future__ import annotations

import html
import itertools
import logging
import math
import random
import re

import pytest

from dllm_core import EditError
from dllm_core.limits import MAX_DRAFT_CHARS
import ui
from ui import handlers
from ui.render import _lcs_opcodes, change_blocks, diff_html, suggestions_html, withheld_text
from writing import actions as core_actions
from writing.actions import ActionResult, Alternative

SENTENCE = ("Following World War II, Alabama experienced growth as the economy of the state changed from one "
            "primarily based on agriculture to one with diversified interests.")
FOUR = "The council met four times last year to discuss the new harbour wall."


@pytest.fixture(scope="module")
def studio(tiny_editor):
    studio = ui.Studio(tiny_editor)
    ui.build_ui(studio)
    yield studio
    studio.close()


def named(studio, update) -> dict:
    return studio.page.named(update)


def page_defaults(studio) -> dict:
    """The values the action inputs have on a fresh page (what a click sends before the writer changes anything)."""
    p = studio.page
    return dict(start=p.sel_start.value, end=p.sel_end.value, target=p.shorten_to.value, change=p.change.value,
                tone=p.tone_choice.value, k=p.n_alternatives.value, seed=p.seed.value, session={},
                model=p.model_choice.value, writing=p.writing.value)


def act(studio, action, draft, **overrides) -> dict:
    a = {**page_defaults(studio), **overrides}
    return named(studio, studio.act(action, draft, a["start"], a["end"], a["target"], a["change"], a["tone"], a["k"],
                                    a["seed"], a["session"], a["model"], a["writing"]))


def is_error(message: str) -> bool:
    return 'class="msg error"' in message


class FakeActions:
    """Stands in for writing.actions.run_action: records the call and returns a prepared ActionResult."""

    def __init__(self, result: ActionResult | None = None, error: Exception | None = None):
        self.result, self.error, self.calls = result, error, []

    def __call__(self, editor, action, text, **kwargs):
        self.calls.append((action, text, kwargs))
        if self.error is not None:
            raise self.error
        if self.result is not None:
            return self.result
        alt = Alternative(text.replace("four", "4"), core_actions.count_words(text), None)
        return ActionResult(action, alt.text, [alt], (0, len(text)), core_actions.count_words(text))


@pytest.fixture
def fake(monkeypatch):
    fake = FakeActions()
    monkeypatch.setattr(core_actions, "run_action", fake)
    return fake


# ------------------------------------------------------------------------------------------------ 1. how much to change
@pytest.mark.parametrize("action", ["rephrase", "tone"])
def test_rephrase_and_tone_work_with_the_values_of_a_fresh_page(studio, fake, action):
    """Rephrase and Tone once borrowed Run's Strength slider, which starts at 0: on a fresh page they failed with
    "rephrase strength: must be in (0, 1], got 0". They have their own "How much to change", at 0.5."""
    p = studio.page
    assert p.change.value == handlers.DEFAULT_CHANGE == 0.5 and p.change.label == "How much to change"
    assert p.strength.value == 0.0  # Run's own Strength is untouched, and stays Run's
    out = act(studio, action, SENTENCE)
    assert not is_error(out["message"]), out["message"]
    assert fake.calls[-1][2]["strength"] == 0.5


def test_the_action_inputs_are_the_writing_controls_not_runs_strength(studio):
    config = studio.page.demo.get_config_file()
    ids = {c["id"]: c.get("props", {}).get("elem_id") for c in config["components"]}
    for name in ("rephrase", "tone", "shorten"):
        dep = next(d for d in config["dependencies"] if d.get("api_name") == name)
        inputs = [ids[i] for i in dep["inputs"]]
        assert "change" in inputs and "strength" not in inputs, inputs


def test_the_real_rephrase_runs_at_the_page_defaults(studio):
    out = act(studio, "rephrase", SENTENCE, k=1)
    assert not is_error(out["message"]) and out["result"].startswith("Following World War II, Alabama")


# ------------------------------------------------------------------------------------------------ 2. writer's tones
def test_tone_offers_a_writers_tones_and_keeps_the_classifier_demo_under_the_hood(studio, fake):
    p = studio.page
    labels = [label for label, _ in p.tone_choice.choices]
    assert labels == ["More formal", "More casual", "Friendlier", "More confident"]
    assert p.tone_choice.value == "formal" and not any("=" in str(v) for _, v in p.tone_choice.choices)
    act(studio, "tone", SENTENCE, tone="casual", change=0.8)
    action, _, kwargs = fake.calls[-1]
    assert action == "tone" and kwargs["attribute"] == "casual" and "target" not in kwargs
    assert kwargs["strength"] == 0.8
    act(studio, "tone", SENTENCE, tone="Friendlier")  # a label sent to /tone works too
    assert fake.calls[-1][2]["attribute"] == "friendly"
    # the sentiment demo: the Tone action by a trained classifier, from the guidance section under the hood
    config = p.demo.get_config_file()
    assert any(c.get("props", {}).get("elem_id") == "tone-demo-btn" for c in config["components"])
    demo = next((a for a in ui.guided.guidance_attributes() if a.startswith("sentiment=")), None)
    if demo is not None:
        out = act(studio, "tone", SENTENCE, tone=demo)
        assert not is_error(out["message"])
        assert fake.calls[-1][2]["attribute"] == "sentiment" and fake.calls[-1][2]["target"] == demo.split("=")[1]


# ------------------------------------------------------------------------------------------------ 3. busy state
def test_an_action_disables_the_buttons_and_says_how_long_it_should_take(studio, fake):
    studio.timings.clear()
    busy = named(studio, studio.action_started("shorten", SENTENCE, 0, 0))
    for button in ("shorten_btn", "rephrase_btn", "tone_btn", "accept_btn", "reject_btn"):
        assert busy[button].interactive is False, button
    assert busy["action_stop_btn"].interactive is True  # the writer's Stop, beside the actions
    assert studio.page.action_stop_btn.interactive is False  # and not on a fresh page
    text = html.unescape(busy["message"])
    words = core_actions.count_words(SENTENCE)
    first_guess = max(1.0, handlers.FIRST_GUESS_S_PER_WORD["shorten"] * words)
    assert f"Shortening… about {round(first_guess)} s" in text and "busy" in busy["message"]
    assert "Rephrasing…" in named(studio, studio.action_started("rephrase", SENTENCE, 0, 0))["message"]

    # measured: 2 s for 10 words of shorten -> 0.2 s a word; a 25-word selection: about 5 s
    studio.timed("shorten", None, 2.0, 10)
    start = SENTENCE.index("Alabama")
    selected = core_actions.count_words(SENTENCE[start:])
    assert f"about {round(0.2 * selected)} s" in named(studio, studio.action_started("shorten", SENTENCE, start,
                                                                                     len(SENTENCE)))["message"]
    # an action that ran is timed, per word of its selection
    studio.timings.clear()
    act(studio, "shorten", SENTENCE, start=start, end=len(SENTENCE))
    (seconds, counted), = studio.timings[(studio.model_name, "shorten")]
    assert counted == selected and seconds >= 0
    # the estimate never fails the click, whatever the input
    for bad in (None, 5, "x" * (MAX_DRAFT_CHARS + 1)):
        assert "Shortening…" in named(studio, studio.action_started("shorten", bad, math.nan, "z"))["message"]

    done = named(studio, studio.action_ended({}))
    for button in ("shorten_btn", "rephrase_btn", "tone_btn"):
        assert done[button].interactive is True
    assert done["action_stop_btn"].interactive is False
    assert done["accept_btn"].interactive is False  # nothing to accept


def test_the_buttons_come_back_after_an_action_that_failed(studio):
    """The chain on the page: started (buttons off) -> act -> ended (buttons on), whatever act returned."""
    config = studio.page.demo.get_config_file()
    ids = {c["id"]: c.get("props", {}).get("elem_id") for c in config["components"]}
    deps = config["dependencies"]
    act_dep = next(d for d in deps if d.get("api_name") == "shorten")
    started = next(d for d in deps if d["id"] == act_dep["trigger_after"])
    assert started["queue"] is False and ids[started["outputs"][0]] == "shorten-btn"
    ended = next(d for d in deps if d.get("trigger_after") == act_dep["id"])
    assert not ended.get("trigger_only_on_success") and "shorten-btn" in [ids[o] for o in ended["outputs"]]
    out = act(studio, "shorten", "")  # an error: only the message; the chain still re-enables the buttons
    assert set(out) == {"message"} and is_error(out["message"])


# ------------------------------------------------------------------------------------------------ 4. undo and the list
def test_undo_of_an_accept_updates_the_list_and_that_alternative_cannot_be_accepted_again(studio):
    out = act(studio, "shorten", SENTENCE, target="60%")
    session = out["session"]
    assert len(session["alternatives"]) >= 2
    listed = named(studio, studio.show_alternatives(session))
    assert listed["accept_btn"].interactive is True and listed["reject_btn"].interactive is True

    session = named(studio, studio.choose_alternative("1", session))["session"]
    accepted = named(studio, studio.accept(SENTENCE, session, []))
    text = session["alternatives"][1]["text"]
    assert accepted["draft"] == text and "alternative 2 accepted" in accepted["message"]
    after = named(studio, studio.show_alternatives(accepted["session"]))
    assert "· accepted" in after["suggestions"].value
    assert after["accept_btn"].interactive is False  # it is in the draft already
    again = named(studio, studio.accept(text, accepted["session"], accepted["undo_stack"]))
    assert set(again) == {"message"} and "already in the draft" in again["message"]

    undone = named(studio, studio.undo(text, accepted["undo_stack"], accepted["session"]))
    assert undone["draft"] == SENTENCE and undone["undo_stack"] == []
    assert "alternative 2 undone" in undone["message"]
    listed = named(studio, studio.show_alternatives(undone["session"]))
    value = listed["suggestions"].value
    assert "accepted" not in value and "· undone" in value
    assert re.search(r'<li class="suggestion chosen undone" data-index="1"', value)
    assert listed["accept_btn"].interactive is False  # the undone alternative cannot be accepted again
    refused = named(studio, studio.accept(SENTENCE, undone["session"], []))
    assert set(refused) == {"message"} and "was undone" in refused["message"]

    other = named(studio, studio.choose_alternative("0", undone["session"]))  # another one can
    assert other["accept_btn"].interactive is True and "· undone" in other["suggestions"].value
    taken = named(studio, studio.accept(SENTENCE, other["session"], []))
    assert taken["draft"] == session["alternatives"][0]["text"] and taken["undo_stack"] == [SENTENCE]


def test_accepting_another_alternative_swaps_it_in_and_one_undo_brings_the_draft_back(studio):
    session = act(studio, "shorten", SENTENCE, target="60%")["session"]
    first = named(studio, studio.accept(SENTENCE, session, []))
    swap_to = named(studio, studio.choose_alternative("1", first["session"]))["session"]
    second = named(studio, studio.accept(first["draft"], swap_to, first["undo_stack"]))
    assert second["draft"] == session["alternatives"][1]["text"] and second["undo_stack"] == [SENTENCE]
    back = named(studio, studio.undo(second["draft"], second["undo_stack"], second["session"]))
    assert back["draft"] == SENTENCE and back["session"]["undone"] == 1


def test_undo_of_a_mark_leaves_the_list_alone(studio):
    session = act(studio, "shorten", SENTENCE, target="60%")["session"]
    accepted = named(studio, studio.accept(SENTENCE, session, []))
    marked = named(studio, studio.pin_selection(accepted["draft"], 0, 9, accepted["undo_stack"]))
    out = named(studio, studio.undo(marked["draft"], marked["undo_stack"], accepted["session"]))
    assert out["draft"] == accepted["draft"] and "session" not in out  # the accept stands


# ------------------------------------------------------------------------------------------------ 7. tracked changes
def test_a_pure_deletion_strikes_only_the_words_that_went():
    """Shorten cut "considerable" and "local"; the list once showed "considerable debate among local" struck and
    "debate among" inserted again."""
    before = "There was considerable debate among local residents about the new harbour wall."
    after = "There was debate among residents about the new harbour wall."
    out = diff_html(before, after)
    assert "<ins>" not in out
    assert re.findall(r"<del>(.*?)</del>", out) == ["considerable", "local"]
    assert html.unescape(re.sub(r"<del>.*?</del>", "", out).replace('<div class="diff">', "").replace("</div>", "")
                         ).split() == after.split()
    listed = suggestions_html(before, [{"text": after, "words": 9}])
    assert "<ins>" not in listed and listed.count("<del>") == 2


def test_tracked_changes_ignore_white_space_and_punctuation_glued_to_words_is_a_change():
    out = diff_html("One two\nthree four five.", "One two three five.")
    assert "<ins>" not in out and re.findall(r"<del>(.*?)</del>", out) == ["four"]
    out = diff_html("We met on Monday, then left.", "We met on Tuesday, then left.")
    assert re.findall(r"<del>(.*?)</del>", out) == ["Monday"] and re.findall(r"<ins>(.*?)</ins>", out) == ["Tuesday"]
    out = diff_html("We met on Monday, then left.", "We met on Monday; then left.")
    assert re.findall(r"<del>(.*?)</del>", out) == [","] and re.findall(r"<ins>(.*?)</ins>", out) == [";"]


def test_a_cut_at_a_sentence_end_strikes_only_the_words_that_went():
    """Shorten cut "because demand has grown steadily" before the full stop; the list once struck "spring because
    demand has grown steadily." and inserted "spring." again."""
    before = "They plan to add two sites next spring because demand has grown steadily. Costs fell 3.6 pct."
    after = "They plan to add two sites next spring. Costs fell 3.6 pct."
    out = diff_html(before, after)
    assert "<ins>" not in out
    assert re.findall(r"<del>(.*?)</del>", out) == ["because demand has grown steadily"]
    assert "next spring <del>because" in out and "steadily</del>. Costs" in out  # spaced as the draft was
    assert html.unescape(re.sub(r"<del>.*?</del>", "", out).replace('<div class="diff">', "").replace("</div>", "")
                         ).replace(" .", ".").split() == after.split()


def lcs_length(a: list[str], b: list[str]) -> int:
    best = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, j in itertools.product(range(len(a)), range(len(b))):
        best[i + 1][j + 1] = best[i][j] + 1 if a[i] == b[j] else max(best[i][j + 1], best[i + 1][j])
    return best[-1][-1]


def test_the_word_alignment_is_a_longest_common_subsequence():
    rng = random.Random(0)
    vocab = "the a cat dog sat ran on in mat rug and".split()
    for _ in range(300):
        a = [rng.choice(vocab) for _ in range(rng.randint(0, 14))]
        b = [rng.choice(vocab) for _ in range(rng.randint(0, 14))] if rng.random() < 0.5 else \
            [w for w in a if rng.random() < 0.7]  # a deletion-only edit, as Shorten makes
        ops = _lcs_opcodes(a, b)
        equal = sum(i2 - i1 for op, i1, i2, _, _ in ops if op == "equal")
        assert equal == lcs_length(a, b), (a, b, ops)
        # the opcodes cover both sequences in order, and an equal block is equal
        assert [x for op, i1, i2, _, _ in ops for x in a[i1:i2]] == a
        assert [x for op, _, _, j1, j2 in ops for x in b[j1:j2]] == b
        assert all(a[i1:i2] == b[j1:j2] for op, i1, i2, j1, j2 in ops if op == "equal")
        if lcs_length(a, b) == len(b):  # b is a subsequence of a: the tracked changes insert nothing
            blocks = change_blocks(" ".join(a), " ".join(b))
            assert not any(new for changed, _, new in blocks if changed), (a, b)


def test_a_long_changed_middle_falls_back_to_difflib_and_stays_correct():
    a = [f"w{i}" for i in range(700)]
    b = [w for i, w in enumerate(a) if i % 7]
    ops = _lcs_opcodes(["x", *a, "y"], ["z", *b, "y"])
    assert sum(i2 - i1 for op, i1, i2, _, _ in ops if op == "equal") == len(b) + 1


# ------------------------------------------------------------------------------------------------ 8. fact checks
def fact(ok: bool, says: str = "", changes: list | None = None) -> dict:
    return {"ok": ok, "says": says, "changes": changes or []}


CHANGED_NUMBER = fact(False, "changes a number: four → nine", [
    {"kind": "number", "removed": ["four"], "added": ["nine"], "says": "changes a number: four → nine"}])


def test_each_alternative_shows_its_fact_check_and_the_withheld_are_counted(studio, monkeypatch):
    kept = Alternative(FOUR.replace("the new ", "the "), 11, -1.0, facts=fact(True))
    dropped = Alternative(FOUR.replace(" last year", ""), 10, -2.0, facts=fact(True, "drops a time word: last", [
        {"kind": "time", "removed": ["last"], "added": [], "says": "drops a time word: last"}]))
    changed = Alternative(FOUR.replace("four", "nine"), 12, -3.0, facts=CHANGED_NUMBER)
    withheld = Alternative(FOUR.replace("four", "six"), 12, -4.0, facts=fact(False, "changes a number: four → six", [
        {"kind": "number", "removed": ["four"], "added": ["six"], "says": "changes a number: four → six"}]))
    result = ActionResult("rephrase", kept.text, [kept, dropped, changed], (0, len(FOUR)), 12,
                          note="1 alternative failed the fact check")
    result.withheld = [withheld]
    monkeypatch.setattr(core_actions, "run_action", FakeActions(result))
    out = act(studio, "rephrase", FOUR)
    session = out["session"]
    assert [a["facts"]["ok"] for a in session["alternatives"]] == [True, True, False]
    assert "1 alternative not shown: it changed a number" in html.unescape(out["message"])
    value = html.unescape(named(studio, studio.show_alternatives(session))["suggestions"].value)
    cards = value.split("</li>")
    assert "✓ keeps the facts (numbers, names, dates…)" in cards[0]
    assert "✓ keeps the facts (numbers, names, dates…); drops a time word: last" in cards[1]
    assert '<div class="facts warn"' in cards[2] and "⚠ changes a number: four → nine" in cards[2]
    assert "✓" not in cards[2]
    assert '<div class="withheld">1 alternative not shown: it changed a number</div>' in value


def test_the_withheld_line_says_why_in_a_writers_words():
    assert withheld_text([]) == ""
    two = [{"facts": CHANGED_NUMBER},
           {"facts": fact(False, "drops a name: Anna", [{"kind": "name", "removed": ["Anna"], "added": []}])}]
    assert withheld_text(two) == "2 alternatives not shown: they changed a number or dropped a name"
    assert withheld_text([{"facts": None}]) == "1 alternative not shown: it failed the fact check"
    assert withheld_text([{"facts": fact(False, "", [{"kind": "time", "removed": [], "added": ["ago"]}])}]) == \
        "1 alternative not shown: it added a time word"


def test_an_unchecked_alternative_is_checked_on_the_page(studio, monkeypatch):
    """An action that did not check its alternatives (facts None) still gets a fact line: the page checks it."""
    alt = Alternative(FOUR.replace("four", "nine"), 12)
    monkeypatch.setattr(core_actions, "run_action", FakeActions(ActionResult("rephrase", alt.text, [alt],
                                                                             (0, len(FOUR)), 12)))
    session = act(studio, "rephrase", FOUR)["session"]
    assert session["alternatives"][0]["facts"]["ok"] is False
    assert "changes a number: four → nine" in html.unescape(
        named(studio, studio.show_alternatives(session))["suggestions"].value)


def test_when_every_alternative_was_withheld_the_page_says_so(studio, monkeypatch):
    result = ActionResult("shorten", FOUR, [], (0, len(FOUR)), 12, 8)
    result.withheld = [Alternative(FOUR.replace("four", "nine"), 8, facts=CHANGED_NUMBER)]
    monkeypatch.setattr(core_actions, "run_action", FakeActions(result))
    out = act(studio, "shorten", FOUR)
    assert set(out) == {"message"} and is_error(out["message"])
    assert "1 alternative not shown: it changed a number" in html.unescape(out["message"])


# ------------------------------------------------------------------------------------------------ 9. checked inputs
BAD = [
    (dict(k="3"), None),  # a number as text is a number
    (dict(k=99), "alternatives: must be 1..8, got 99"),
    (dict(k=0), "alternatives"),
    (dict(k=math.nan), "alternatives: must be a whole number"),
    (dict(k=[3]), "alternatives"),
    (dict(change=math.inf), "how much to change"),
    (dict(change=math.nan), "how much to change"),
    (dict(change=0), "how much to change"),
    (dict(change="lots"), "how much to change"),
    (dict(change=None), "how much to change"),
    (dict(tone="sarcastic"), "unknown tone 'sarcastic': choose one of More formal, More casual, Friendlier"),
    (dict(tone="sentiment=furious"), "unknown tone"),
    (dict(tone=""), "choose a tone first"),
    (dict(tone={"x": 1}), "choose a tone first"),
    (dict(seed=math.nan), "seed: must be a whole number"),
    (dict(seed=-1), "seed"),
    (dict(seed=2**70), "seed"),
    (dict(start=math.inf), "selection start"),
    (dict(target="inf"), "shorten to"),
    (dict(target="nan%"), "shorten to"),
    (dict(target="-5"), "shorten to"),
    (dict(target="0"), "shorten to"),
    (dict(target=["70%"]), "shorten to"),
    (dict(target="9" * 400), "shorten to"),
]


@pytest.mark.parametrize("overrides, words", BAD)
def test_bad_action_inputs_give_one_message_and_no_traceback(studio, fake, caplog, overrides, words):
    action = "shorten" if "target" in overrides else ("tone" if "tone" in overrides else "rephrase")
    with caplog.at_level(logging.DEBUG, logger="dllm_app"):
        out = act(studio, action, FOUR, **overrides)
    if words is None:
        assert not is_error(out["message"]) and fake.calls[-1][2]["k"] == 3
        return
    assert set(out) == {"message"} and is_error(out["message"]), out  # the draft, the list and the result stay
    assert words in html.unescape(out["message"]) and "internal error" not in out["message"]
    assert "\n" not in html.unescape(out["message"])  # one line
    assert not fake.calls  # nothing ran
    assert not caplog.records


@pytest.mark.parametrize("draft, words", [
    ("x " * 100_000, f"the draft is 200,000 characters; the limit is {MAX_DRAFT_CHARS:,}"),
    ("A draft with a \ud800 in it.", "not valid text"),
    ("The [[old]] cat.", "clear the marks first"),
    (None, "empty"),
    ("   ", "empty"),
    (12, "must be text"),
])
def test_bad_drafts_give_one_message(studio, fake, caplog, draft, words):
    with caplog.at_level(logging.DEBUG, logger="dllm_app"):
        out = act(studio, "shorten", draft)
    assert set(out) == {"message"} and words in html.unescape(out["message"])
    assert not fake.calls and not caplog.records


def test_a_failing_action_is_a_message(studio, monkeypatch, caplog):
    monkeypatch.setattr(core_actions, "run_action", FakeActions(error=EditError("select at least two words")))
    out = act(studio, "shorten", FOUR)
    assert set(out) == {"message"} and "select at least two words" in out["message"] and not caplog.records


def test_over_http_bad_action_inputs_are_messages_and_the_log_stays_clean(tiny_editor, capfd):
    """The named endpoints, as a raw client calls them (NaN and inf in the JSON, values the page never offers)."""
    pytest.importorskip("httpx")
    from app_server import serve
    from test_app_robustness import call

    # draft, start, end, shorten to, how much to change, tone, alternatives, seed, session, model, writing
    ok = ["Dear Anna, the ferry came in four hours late.", 0, 0, "70%", 0.5, "formal", 3, 0, None, "embedded",
          "auto"]
    cases = [("shorten", {0: "x " * 100_000}, "the limit is 50,000"), ("rephrase", {4: math.inf}, "how much"),
             ("rephrase", {4: math.nan}, "how much"), ("tone", {5: "sarcastic"}, "unknown tone"),
             ("shorten", {6: 99}, "alternatives: must be"), ("shorten", {7: math.nan}, "seed"),
             ("shorten", {3: "inf"}, "shorten to")]
    with serve(tiny_editor) as url:
        for api, changes, words in cases:
            data = [changes.get(i, v) for i, v in enumerate(ok)]
            event, out = call(url, api, data)
            message = html.unescape(out[3])
            assert event == "complete" and 'class="msg error"' in message and words in message, (api, changes, out)
            assert out[0] == {"__type__": "update"} and out[1] == {"__type__": "update"}  # the result is kept
        event, out = call(url, "shorten", [*ok[:6], "3", *ok[7:]])  # alternatives as text: a number
        assert event == "complete" and 'class="msg error"' not in out[3], out[3]
    assert "Traceback" not in capfd.readouterr().err


# ------------------------------------------------------------------------------------------------ Rewrite and Fill
def test_rewrite_and_fill_act_on_the_selected_words(studio, fake):
    """Issue 23, part 3: Rewrite (the same meaning in other words) and Fill (new words) are on the page, work on
    the selection only, and take neither Rephrase's amount nor a sampler config (their own paths)."""
    p = studio.page
    assert p.rewrite_btn.value == "Rewrite" and p.fill_btn.value == "Fill"
    start, end = FOUR.index("four times"), FOUR.index(" last")
    for action in ("rewrite", "fill"):
        out = act(studio, action, FOUR)  # nothing selected (a fresh page): a message says what to do
        assert is_error(out["message"]) and f"select the words to {action} first" in html.unescape(out["message"])
        out = act(studio, action, FOUR, start=start, end=end)
        assert not is_error(out["message"]), out["message"]
        called, text, kwargs = fake.calls[-1]
        assert called == action and text == FOUR and kwargs["selection"] == (start, end)
        assert "strength" not in kwargs and "config" not in kwargs
        assert out["message"].count({"rewrite": "Rewrote", "fill": "Filled"}[action]) == 1
    busy = named(studio, studio.action_started("fill", FOUR, start, end))
    assert busy["rewrite_btn"].interactive is False and busy["fill_btn"].interactive is False
    assert "Filling…" in busy["message"]
    config = studio.page.demo.get_config_file()
    assert {"rewrite", "fill"} <= {d.get("api_name") for d in config["dependencies"]}


def test_rewrite_on_a_model_that_cannot_read_causally_says_to_use_fill(studio):
    start, end = FOUR.index("four times"), FOUR.index(" last")
    out = act(studio, "rewrite", FOUR, start=start, end=end)  # the tiny random BERT: no causal reading
    assert is_error(out["message"]) and "Fill" in out["message"]
    out = act(studio, "fill", FOUR, start=start, end=end, k=2)  # the real Fill: new words in the selection only
    assert not is_error(out["message"]), out["message"]
    assert out["result"].startswith("The council met") and out["result"].endswith("the new harbour wall.")


@pytest.mark.parametrize("can_score, said", [(False, True), (True, False)])
def test_unscored_alternatives_are_called_unranked_only_where_the_model_cannot_rank(studio, monkeypatch, can_score,
                                                                                  said):
    """Rephrase's new sentence order comes first unscored by design; on a model with a causal reading that is no
    'cannot rank them'."""
    from dllm_core.adapter import ModelAdapter

    alts = [Alternative(FOUR.replace("four", n), 12, None) for n in ("4", "four (4)")]
    monkeypatch.setattr(core_actions, "run_action", FakeActions(ActionResult("rephrase", alts[0].text, alts,
                                                                             (0, len(FOUR)), 12)))
    monkeypatch.setattr(ModelAdapter, "can_score", property(lambda self: can_score))
    out = act(studio, "rephrase", FOUR)
    assert not is_error(out["message"]) and "2 alternatives" in out["message"]
    assert ("cannot rank them" in out["message"]) is said
