"""The web app's event handlers, called directly (no server, no browser) on the tiny random model."""

from __future__ import annotations

import json
import re

import gradio as gr
import pytest

import app as web
from dllm_core import SamplerConfig, parse
from dllm_core.plots import confidence_heatmap, edited_positions, progress_chart

SKIP = gr.skip()
OUT = ("canvas", "heatmap", "progress", "result", "diff", "status", "message", "replay", "download", "session")
DEFAULTS = dict(steps=8, schedule="cosine", order="confidence", temperature=0.0, top_p=1.0, block_length=0, remask=0.0,
                threshold=0.0, strength=0.0, seed=0, required="", banned="", attribute=web.NO_ATTRIBUTE,
                attribute_strength=0.0, cfg_scale=0.0, percent=70, session={})


@pytest.fixture(scope="module")
def studio(tiny_editor):
    return web.Studio(tiny_editor)


def run_all(studio, draft, **settings):
    """Every streamed update of a run, as dicts keyed by output name."""
    kwargs = {**DEFAULTS, **settings}
    return [dict(zip(OUT, update, strict=True)) for update in studio.run(draft, **kwargs)]


def read_download(button) -> dict:
    value = button.value
    with open(value["path"] if isinstance(value, dict) else value, encoding="utf-8") as f:
        return json.load(f)


def is_error(html: str) -> bool:
    return 'class="msg error"' in html


# ------------------------------------------------------------------------------------------------ marking the draft
def test_snap_selection_grows_to_whole_words_and_trims_space():
    text = "The quick brown fox"
    assert web.snap_selection(text, 5, 11) == (4, 15)  # "uick br" -> "quick brown"
    assert web.snap_selection(text, 3, 10) == (4, 9)  # " quick " -> "quick"
    assert web.snap_selection(text, 12, 2) == (0, 15)  # reversed selection


@pytest.mark.parametrize("mode, expected", [
    ("keep length", "The [[quick brown]] fox."),
    ("tokens", "The [[quick brown|5]] fox."),
    ("percent", "The [[quick brown|70%]] fox."),
])
def test_mask_selection_writes_markup_and_pushes_undo(studio, mode, expected):
    draft = "The quick brown fox."
    new, undo, msg = studio.mask_selection(draft, 4, 15, mode, 5, 70, [])
    assert new == expected
    assert undo == [draft]
    assert parse(new)[1].kind == "rewrite"
    assert "quick brown" in msg and not is_error(msg)


def test_mask_selection_refuses_overlap_and_empty_selection(studio):
    draft = "The [[quick brown]] fox."
    same, undo, msg = studio.mask_selection(draft, 8, 20, "keep length", 5, 70, ["x"])
    assert (same, undo) == (draft, ["x"]) and is_error(msg) and "already marked" in msg
    same, undo, msg = studio.mask_selection(draft, 19, 19, "keep length", 5, 70, [])  # cursor between words
    assert same == draft and "select some words" in msg
    same, _, msg = studio.mask_selection(draft, 0, 3, "tokens", 0, 70, [])
    assert same == draft and "1..1024" in msg


def test_a_click_in_a_word_pins_that_word(studio):
    new, _, _ = studio.pin_selection("Dear Elizabeth, hello", 8, 8, [])
    assert new == "Dear {{Elizabeth}}, hello"


def test_mask_and_pin_work_with_code_point_offsets_of_odd_unicode(studio):
    draft = "I ☕🙂 love café au lait"
    start = draft.index("café")
    new, _, _ = studio.mask_selection(draft, start, start + 4, "keep length", 5, 70, [])
    assert new == "I ☕🙂 love [[café]] au lait"
    pinned, _, _ = studio.pin_selection(new, 0, 1, [])
    assert pinned == "{{I}} ☕🙂 love [[café]] au lait"


def test_insert_at_cursor_spaces_the_mark_and_refuses_marked_spans(studio):
    new, undo, _ = studio.insert_at_cursor("The cat sat.", 4, 4, 3, [])
    assert new == "The [[3]] cat sat." and undo == ["The cat sat."]
    new, _, _ = studio.insert_at_cursor("Once upon a time", 16, 16, 12, [])
    assert new == "Once upon a time [[12]]"
    same, _, msg = studio.insert_at_cursor("A [[long span]] here", 6, 6, 3, [])
    assert same == "A [[long span]] here" and "inside a marked span" in msg
    new, _, _ = studio.insert_at_cursor("[[whole draft]]", 15, 15, 3, [])
    assert new == "[[whole draft]] [[3]]"


def test_clear_undo_and_accept(studio):
    draft, undo, _ = studio.clear_marks("{{The}} [[cat|3]] sat.", [])
    assert draft == "The cat sat." and undo == ["{{The}} [[cat|3]] sat."]
    back, undo, _ = studio.undo(draft, undo)
    assert back == "{{The}} [[cat|3]] sat." and undo == []
    same, undo, msg = studio.undo(back, undo)
    assert same == back and "nothing to undo" in msg
    accepted, undo, _ = studio.accept("my [[draft]]", {"result": "my edited text"}, [])
    assert accepted == "my edited text" and undo == ["my [[draft]]"]
    same, _, msg = studio.accept("my [[draft]]", {}, [])
    assert same == "my [[draft]]" and "run an edit first" in msg


def test_preview_describes_the_plan_or_the_markup_error(studio):
    plan = studio.preview("{{Anna}} said [[hello there|1]] and [[4]]")
    assert "keep" in plan and "Anna" in plan
    assert "rewrite" in plan and "2 → 1 tokens" in plan and "(2 words;" in plan
    assert "insert <b>4</b>" in plan
    assert is_error(studio.preview("broken [[markup"))
    assert "Type or paste" in studio.preview("   ")
    assert is_error(studio.preview("x" * 60_000)) and "limit" in studio.preview("x" * 60_000)


# ------------------------------------------------------------------------------------------------ running
def test_run_streams_every_step_then_a_reproducible_result(studio, tiny_editor, tmp_path):
    draft = "{{Anna}} walked to the [[old stone bridge|4]] before dinner."
    updates = run_all(studio, draft, steps=4, seed=3)
    steps, final = updates[:-1], updates[-1]
    assert len(steps) == 4
    assert "▒" in steps[0]["canvas"]  # masked slots are visible while the canvas forms
    assert steps[0]["result"] == "" and "result" not in steps[0]["session"]  # the last run's result is cleared
    assert all(u["result"] == SKIP for u in steps[1:])
    expected = tiny_editor.edit(draft, SamplerConfig(steps=4, seed=3)).text
    assert final["result"] == expected
    assert expected.startswith("Anna walked to the ") and expected.endswith(" before dinner.")
    assert "▒" not in final["canvas"] and 'class="tok pinned"' in final["canvas"]
    pinned = run_all(studio, "A ticket to {{London}} and [[back]].", steps=1)[-1]["canvas"]
    assert ' <span class="tok pinned" title="pinned">London</span> <span class="tok fixed"' in pinned
    assert "<del>old stone bridge</del>" in final["diff"]
    assert "steps/s" in final["status"] and "tokens/s" in final["status"]
    assert final["session"]["result"] == expected and len(final["session"]["frames"]) == 4
    data = read_download(final["download"])
    assert data["text"] == expected and data["seed"] == 3 and data["draft"] == draft
    assert len(data["trajectory"]) == 4 and data["trajectory"][-1]["masked"] == 0
    assert final["replay"].maximum == 4


@pytest.mark.parametrize("draft, settings, words", [
    ("", {}, "empty"),
    ("word " * 12_000 + "[[end]]", {}, "limit"),
    ("{{all of this is pinned}}", {"strength": 0.5}, "pinned"),
    ("no marks here", {}, "nothing to edit"),
    ("The [[cat]] sat.", {"steps": 0}, "steps"),
    ("The [[cat]] sat.", {"temperature": -1}, "temperature"),
    ("The [[cat]] sat.", {"seed": "abc"}, "settings"),
    ("The [[cat]] sat.", {"top_p": float("nan")}, "top_p"),
    ("The [[cat sat.", {}, "never closed"),
])
def test_bad_input_gives_a_message_and_changes_nothing_else(studio, draft, settings, words):
    updates = run_all(studio, draft, **settings)
    assert len(updates) == 1
    only = updates[0]
    assert is_error(only["message"]) and words in only["message"]
    assert all(only[name] == SKIP for name in OUT if name != "message")  # the draft and old results stay


def test_closing_the_stream_stops_the_model_at_the_next_step(studio, tiny_editor):
    adapter = tiny_editor.adapter
    stream = studio.run("The [[quick brown fox jumps over|8]] the dog.", **{**DEFAULTS, "steps": 8})
    before = adapter.forward_passes
    next(stream)
    assert adapter.forward_passes - before == 1
    stream.close()  # what Gradio does when Stop cancels the event
    assert adapter.forward_passes - before == 1
    assert "unchanged" in studio.stopped()


def test_replay_shows_the_chosen_step(studio):
    final = run_all(studio, "A [[b c d e f g|6]] h.", steps=6)[-1]
    session = final["session"]
    canvas, heatmap, progress = studio.replay(2, session)
    assert f"step 2 · {session['frames'][1]['masked']} masked" in canvas
    assert session["frames"][1]["masked"] > 0 and canvas.count("▒") == session["frames"][1]["masked"]
    assert heatmap.layout.shapes[0].y0 == 2  # the marker row
    assert progress.layout.shapes[0].x0 == 2
    assert studio.replay(3, {}) == (SKIP, SKIP, SKIP)


def test_guidance_fields_without_the_package_give_a_message(studio, monkeypatch):
    monkeypatch.setattr(web, "guidance", None)
    only = run_all(studio, "The [[cat]] sat.", required="dog")[0]
    assert "guidance is not installed" in only["message"]


def test_guidance_controls_are_passed_to_the_guidance_package(studio, tiny_editor, monkeypatch):
    calls = {}

    class FakeGuidance:
        @staticmethod
        def GuidanceOptions(**kwargs):
            calls["options"] = kwargs
            return kwargs

        @staticmethod
        def guided_stream(editor, draft, config, options):
            for item in tiny_editor.stream(draft, config):
                if not hasattr(item, "records"):
                    item.guidance = {"require": [{"word": "dog", "holds": True}], "ban": []}
                yield item

    monkeypatch.setattr(web, "guidance", FakeGuidance)
    final = run_all(studio, "The [[cat]] sat.", required="dog, big cat", banned="rat", attribute="sentiment=positive",
                    attribute_strength=3.0, percent=60)[-1]
    assert calls["options"] == dict(require=["dog", "big cat"], ban=["rat"], attribute="sentiment", target="positive",
                                    strength=3.0, cfg=0.0, length_target=0.6)
    assert "“dog” included" in final["message"]


# ------------------------------------------------------------------------------------------------ examples
@pytest.mark.parametrize("name", [e["name"] for e in web.EXAMPLES])
def test_every_example_loads_as_valid_markup_and_settings(studio, tiny_editor, name):
    (draft, steps, schedule, order, strength, seed, block_length, temperature, top_p, remask, threshold, required,
     banned, attribute, attr_strength, cfg, msg) = studio.load_example(name)
    config = studio.make_config(steps, schedule, order, temperature, top_p, block_length, remask, threshold, strength,
                                seed)
    default = SamplerConfig()  # what the example does not set is reset, not kept from the last task
    assert (banned, cfg) == ("", 0.0) or web.guidance_available()
    assert schedule in ("cosine", "linear") and order in ("confidence", "margin", "entropy", "random")
    if "schedule" not in next(e for e in web.EXAMPLES if e["name"] == name).get("settings", {}):
        assert schedule == default.schedule
    canvas = tiny_editor.canvas(draft, config)  # raises if the example would not run
    assert len(canvas) > 0 and msg
    if web.guidance_available():
        assert attribute in web.guidance_attributes()
    else:
        assert (required, attribute, attr_strength) == ("", web.NO_ATTRIBUTE, 0.0)


def test_examples_cover_the_tasks_the_issue_names():
    names = " ".join(e["name"].lower() for e in web.EXAMPLES)
    for task in ("shorten", "positive", "include", "fill a gap", "continue"):
        assert task in names


# ------------------------------------------------------------------------------------------------ rendering
def test_canvas_view_elides_far_away_draft_text(studio):
    draft = "filler words here. " * 300 + "The [[cat]] sat. " + "more filler text. " * 300
    final = run_all(studio, draft, steps=1)[-1]
    assert final["canvas"].count('class="tok') <= 2 * web.VIEW_CONTEXT + 1
    assert final["canvas"].count("…") == 2
    frame = final["session"]["frames"][0]  # the session keeps only the shown neighbourhood of each step
    assert len(frame["tokens"]) == len(frame["positions"]) <= 2 * web.VIEW_CONTEXT + 1 < frame["length"]


def test_diff_marks_removed_and_added_words():
    out = web.diff_html("the cat sat on the mat", "the dog sat on the big mat")
    assert "<del>cat</del> <ins>dog</ins>" in out and "<ins>big</ins>" in out
    assert "sat on the" in out
    assert "&lt;b&gt;" in web.diff_html("a", "<b>")  # escaped


def test_plots_chart_the_trajectory(studio):
    frames = run_all(studio, "A [[b c d e|4]] f.", steps=4)[-1]["session"]["frames"]
    frames[1]["signals"] = {"attribute_p": 0.7, "placed": []}
    columns = edited_positions(frames)
    assert len(columns) == 4
    heat = confidence_heatmap(frames)
    assert len(heat.data[0].z) == 4 and len(heat.data[0].z[0]) == 4
    assert frames[0]["tokens"][columns[0]] in heat.data[0].text[0][0]
    prog = progress_chart(frames)
    names = [t.name for t in prog.data]
    assert names == ["masked", "mean confidence", "attribute_p"]
    assert list(prog.data[0].y)[-1] == 0 and list(prog.data[0].y) == sorted(prog.data[0].y, reverse=True)


def test_page_builds_with_the_named_api(studio):
    demo = web.build_ui(studio)
    names = {dep.get("api_name") for dep in demo.config["dependencies"]}
    assert {"run", "stop", "mask_selection", "pin_selection", "insert_at_cursor", "replay", "accept"} <= names


def test_launch_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    kwargs = web.launch_kwargs()
    assert (kwargs["server_name"], kwargs["server_port"]) == ("0.0.0.0", 7999)
    monkeypatch.delenv("GRADIO_SERVER_NAME")
    monkeypatch.delenv("GRADIO_SERVER_PORT")
    assert (web.launch_kwargs()["server_name"], web.launch_kwargs()["server_port"]) == ("127.0.0.1", 7860)


def test_a_missing_model_leaves_a_page_that_says_why(monkeypatch):
    def fail(*args, **kwargs):
        raise web.ModelLoadError("the embedded model is missing")

    monkeypatch.setattr(web.Editor, "load", fail)
    demo, studio = web.create_app()
    assert "missing" in studio.model_line()
    only = run_all(studio, "The [[cat]] sat.")[0]
    assert "no model is loaded" in only["message"]
    assert isinstance(demo, gr.Blocks)


@pytest.mark.skipif(not web.guidance_available(), reason="the guidance package is not installed")
def test_required_and_banned_words_through_the_real_guidance_package(studio):
    final = run_all(studio, "On Sunday morning we [[10]]", required="river", banned="the", steps=10)[-1]
    assert "river" in final["result"].lower()
    assert "“river” included" in final["message"] and "“the” avoided" in final["message"]
    data = read_download(final["download"])
    assert data["guidance"]["require"][0]["holds"] is True


@pytest.mark.skipif(not web.guidance_available(), reason="the guidance package is not installed")
def test_impossible_constraints_are_refused_before_running(studio):
    only = run_all(studio, "A [[1]] b.", required="river, mountain, ocean")
    assert len(only) == 1 and is_error(only[0]["message"])


def test_the_shipped_model_fills_a_gap_on_the_page(editor):
    studio = web.Studio(editor)
    assert studio.model_line().startswith("Model: embedded on ")
    draft = "The old cat slept all afternoon on the [[2]] next to the warm kitchen stove."
    first = run_all(studio, draft, steps=2, seed=0)
    again = run_all(studio, draft, steps=2, seed=0)
    result = first[-1]["result"]
    assert result == again[-1]["result"]  # the seed makes a run reproducible
    assert result.startswith("The old cat slept all afternoon on the ") and result.endswith(" kitchen stove.")
    middle = result[len("The old cat slept all afternoon on the "): -len(" next to the warm kitchen stove.")]
    assert middle.strip() and "▒" not in middle


# ------------------------------------------------------------------------------------------------ issue 14 fixes
def test_a_new_run_clears_the_last_result_so_accept_after_stop_keeps_the_draft(studio):
    final = run_all(studio, "A [[b c d|3]] e.", steps=3)[-1]
    assert final["session"]["result"]
    stream = studio.run("New [[draft words here|4]] now.", **{**DEFAULTS, "steps": 4, "session": final["session"]})
    first = dict(zip(OUT, next(stream), strict=True))
    stream.close()  # Stop
    assert first["result"] == "" and "result" not in first["session"] and first["replay"].visible is False
    assert "appears after a run" in first["diff"] and first["download"].visible is False
    draft, _, msg = studio.accept("New [[draft words here|4]] now.", first["session"], [])
    assert draft == "New [[draft words here|4]] now." and "run an edit first" in msg
    msg, partial = studio.stopped_partial(first["session"])  # Stop keeps the result so far, shown, not accepted
    assert "stopped at step 1 of" in msg and partial.startswith("New ") and "▒" in partial
    assert studio.stopped_partial({})[1] == SKIP


def test_examples_reset_settings_the_user_changed(studio):
    name = web.EXAMPLES[0]["name"]
    out = studio.load_example(name)
    default = SamplerConfig()
    settings = web.EXAMPLES[0].get("settings", {})
    values = dict(zip(("schedule", "order", "remask", "threshold", "banned", "cfg"), (out[2], out[3], out[9],
                                                                                     out[10], out[12], out[15])))
    assert values["banned"] == "" and values["cfg"] == 0.0
    assert values["remask"] == settings.get("remask", default.remask)
    assert values["threshold"] == (settings.get("threshold", default.threshold) or 0.0)
    assert values["order"] == settings.get("order", default.order)


def test_choosing_an_attribute_at_strength_zero_turns_it_on_and_says_so(studio):
    value, msg = studio.attribute_picked("sentiment=positive", 0.0)
    assert value == 8.0 and "strength" in msg
    assert studio.attribute_picked("sentiment=positive", 3.0) == (SKIP, "")
    assert studio.attribute_picked(web.NO_ATTRIBUTE, 0.0) == (SKIP, "")


def test_diff_never_shows_a_pinned_word_as_deleted_and_reinserted():
    before, after = "the old man Anna met the dog", "a young woman Anna saw a cat"
    assert "<del>" in web.diff_html(before, after) and "Anna" in web.diff_html(before, after).split("<ins>")[1]
    out = web.diff_html(before, after, {"Anna"})
    assert "Anna" not in "".join(re.findall(r"<(?:del|ins)>(.*?)</(?:del|ins)>", out))


def test_status_says_when_steps_were_capped_and_counts_in_the_singular(studio):
    final = run_all(studio, "The [[cat]] sat.", steps=16)[-1]
    assert "1 step (of 16 asked" in final["status"] and "1 token in" in final["status"]


# ------------------------------------------------------------------------------------------------ writing actions
SENTENCE = ("Following World War II, Alabama experienced growth as the economy of the state changed from one "
            "primarily based on agriculture to one with diversified interests.")


def test_shorten_button_gives_alternatives_to_choose_and_accept(studio):
    choices, result, diff, msg, session = studio.act("shorten", SENTENCE, 0, 0, "60%", 0.5, "", 3, 1, {})
    assert choices.visible and len(choices.choices) == len(session["alternatives"]) >= 2
    assert result == session["result"] == session["alternatives"][0] and "<del>" in diff
    assert "→" in msg and "words (target 15)" in msg and "Alabama" in msg  # lengths in words; kept names
    other = session["alternatives"][1]
    shown, diff2, session2 = studio.choose_alternative(other, session)
    assert shown == other and session2["result"] == other
    draft, _, _ = studio.accept(SENTENCE, session2, [])
    assert draft == other
    assert studio.choose_alternative("not offered", session) == (SKIP, SKIP, SKIP)


def test_actions_on_a_selection_and_their_errors(studio):
    start = SENTENCE.index("as the economy")
    _, result, _, msg, _ = studio.act("rephrase", SENTENCE, start, len(SENTENCE), "", 0.5, "", 1, 0, {})
    assert result.startswith("Following World War II, Alabama experienced growth") and "the selection" in msg
    for draft, action, tone_choice, words in [("", "shorten", "", "empty"), ("A [[b]] c.", "shorten", "", "marks"),
                                              (SENTENCE, "tone", "", "tone"), (SENTENCE, "shorten", "", None)]:
        out = studio.act(action, draft, 0, 0, "200%" if words is None else "70%", 0.5, tone_choice, 1, 0, {})
        assert is_error(out[3]) and out[:3] == (SKIP, SKIP, SKIP) and out[4] == SKIP
        if words:
            assert words in out[3]


def test_action_settings_that_are_not_numbers_are_messages_not_tracebacks(studio, caplog):
    bad = [dict(k=float("nan")), dict(seed=2.5), dict(start=float("nan")), dict(strength=float("nan")),
           dict(strength=3.0)]
    for case in bad:
        args = {"start": 0, "k": 1, "seed": 0, "strength": 0.5, **case}
        out = studio.act("rephrase", SENTENCE, args["start"], 0, "", args["strength"], "", args["k"], args["seed"],
                         {})
        assert is_error(out[3]) and out[:3] == (SKIP, SKIP, SKIP), case
        assert "internal error" not in out[3], out[3]
    assert not [r for r in caplog.records if r.exc_info], "a user's input logged a traceback"


def test_page_has_the_action_buttons_and_an_advanced_accordion(studio):
    demo = web.build_ui(studio)
    config = demo.get_config_file()
    ids = {c.get("props", {}).get("elem_id") for c in config["components"]}
    assert {"shorten-btn", "rephrase-btn", "tone-btn", "alternatives", "legend", "advanced"} <= ids
    advanced = next(c for c in config["components"] if c.get("props", {}).get("elem_id") == "advanced")
    assert advanced["props"]["open"] is False
    names = {d.get("api_name") for d in config["dependencies"]}
    assert {"shorten", "rephrase", "tone"} <= names
