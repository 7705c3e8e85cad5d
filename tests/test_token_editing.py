"""Token editing (token-to-token, SamplerConfig.editing_threshold; issue 26): once a canvas has no masks left, a few
more passes replace a generated token where the model's choice there is another token above the threshold. Fixed and
pinned text is never edited; every edit is recorded in its step. On the tiny random BERT of the tests."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dllm_core import SamplerConfig
from dllm_core.canvas import TokenState
from dllm_core.limits import EDIT_PASSES

DRAFT = "The harbour was [[quiet and calm]] {{that}} [[morning]] when the boats came in."


@pytest.fixture
def favouring(tiny_editor, monkeypatch):
    """The model, changed: wherever the token it reads is not a mask (a written token), it is sure of ``favour``."""
    adapter = tiny_editor.adapter
    favour = int(adapter.tokenizer.convert_tokens_to_ids("river"))
    real = adapter.logits_at

    def logits_at(input_ids, attention, rows, cols):
        logits = real(input_ids, attention, rows, cols)
        written = input_ids[rows, cols] != adapter.mask_id
        logits[written, favour] = logits.max() + 100.0
        return logits

    monkeypatch.setattr(adapter, "logits_at", logits_at)
    return favour


def generated(record):
    return [p for p, s in enumerate(record.states) if s == TokenState.GENERATED]


def test_confident_edits_replace_generated_tokens_and_are_recorded(tiny_editor, favouring):
    config = SamplerConfig(steps=4, seed=1, threshold=None)
    plain = tiny_editor.edit(DRAFT, config)
    edited = tiny_editor.edit(DRAFT, replace(config, editing_threshold=0.9))
    last = edited.trajectory[-1]
    spots = generated(last)
    assert spots and all(last.ids[p] == favouring for p in spots)  # every generated token edited to the sure one
    assert any(plain.trajectory[-1].ids[p] != favouring for p in spots)  # ... which decoding alone did not write
    edits = [r for r in edited.trajectory if r.edited]
    assert len(edits) == 1 and sorted(edits[0].edited) == [p for p in spots if plain.trajectory[-1].ids[p] != favouring]
    # one pass that edits, one that finds nothing more to edit, then the run stops
    assert len(edited.trajectory) == len(plain.trajectory) + 2 <= len(plain.trajectory) + EDIT_PASSES
    # fixed and pinned text are never edited
    for p, s in enumerate(last.states):
        if s in (TokenState.FIXED, TokenState.PINNED):
            assert last.ids[p] == plain.trajectory[-1].ids[p]
    assert " that " in edited.text and edited.text.endswith(" when the boats came in.")
    assert edited.to_json(tiny_editor.tokenizer)["trajectory"][len(plain.trajectory)]["edited"]


def test_a_threshold_nothing_reaches_changes_nothing(tiny_editor):
    config = SamplerConfig(steps=4, seed=1, threshold=None)
    plain = tiny_editor.edit(DRAFT, config)
    never = tiny_editor.edit(DRAFT, replace(config, editing_threshold=1.0))  # a probability is never above 1
    assert never.text == plain.text
    assert len(never.trajectory) == len(plain.trajectory) + 1  # one pass looked and found nothing
    assert not any(r.edited for r in never.trajectory)


def test_editing_counts_in_the_work_and_validates(tiny_editor):
    canvas = tiny_editor.canvas(DRAFT, SamplerConfig())
    _, _, steps = tiny_editor.work([canvas], SamplerConfig(steps=4))
    _, _, more = tiny_editor.work([canvas], SamplerConfig(steps=4, editing_threshold=0.9))
    assert more == steps + EDIT_PASSES
    for bad in (0.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="editing_threshold"):
            SamplerConfig(editing_threshold=bad).validate()


def test_shared_runs_edit_as_a_run_alone_would(tiny_editor, favouring):
    config = SamplerConfig(steps=4, seed=1, threshold=None, editing_threshold=0.9)
    drafts = [DRAFT, "A [[short]] one.", "Another [[much longer span of words here]] for the run."]
    alone = [tiny_editor.edit(d, config).text for d in drafts]
    assert [r.text for r in tiny_editor.edit_many(drafts, config)] == alone


def test_the_page_and_the_command_line_take_the_threshold(tiny_editor, favouring, monkeypatch, capsys):
    import json

    from cli.main import main
    from dllm_core import Editor
    from test_app import DEFAULTS, new_studio
    from ui.plots import confidence_heatmap
    from ui.render import canvas_html

    studio = new_studio(tiny_editor)
    final = [studio.page.named(u) for u in studio.run(DRAFT, **{**DEFAULTS, "steps": 4}, editing=0.9)][-1]
    frames = final["session"]["frames"]
    edited_frame = next(f for f in frames if f["edited"])
    assert " edited" in canvas_html(edited_frame, [None] * len(edited_frame["states"]))  # outlined on the canvas
    assert any(trace.name == "edited" for trace in confidence_heatmap(frames).data)  # and marked on the heatmap
    bad = [studio.page.named(u) for u in studio.run(DRAFT, **{**DEFAULTS, "steps": 4}, editing="lots")][-1]
    assert "editing threshold" in bad["message"]  # one line; nothing ran
    studio.close()

    monkeypatch.setattr(Editor, "load", classmethod(lambda cls, *a, **k: Editor(tiny_editor.adapter)))
    args = ["edit", DRAFT, "--writing", "parallel", "--steps", "4", "--threshold", "0", "--seed", "1"]
    assert main([*args, "--editing-threshold", "0.9", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert any(step["edited"] for step in out["trajectory"])
    assert main([*args, "--editing-threshold", "1.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert "editing_threshold" in err and len(err.splitlines()) == 1
