"""The page: layout and event wiring. Built around the writer's text: the draft with the writing actions (Shorten,
Rephrase, Tone) and their few options under it, and the result beside it on a wide screen, right after the actions on
a phone (the alternatives with their tracked changes and fact checks, Accept / Reject / Undo). Everything else (marking
words to rewrite or keep, Run and the step-by-step view of the model, the charts, the examples and the sampler
settings) is complete but folded into one "Under the hood" section, closed at first.

:func:`build_ui` builds the Blocks, collects the components the handlers update in a :class:`Page` and binds it to
the :class:`~ui.handlers.Studio` (``studio.page``), whose handlers return dicts keyed by those components.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import gradio as gr

from dllm_core import SamplerConfig
from dllm_core.config import ORDERS, SCHEDULES
from dllm_core.limits import MAX_SPAN_TOKENS

from .guided import NO_ATTRIBUTE, guidance_attributes, guidance_available
from .handlers import (
    CHANGE_CHOICES, DEFAULT_CHANGE, DEFAULT_TONE, EXAMPLES, LENGTH_MODES, TONES, WRITING_CHOICES, Studio,
    model_labels,
)
from .render import CANVAS_LEGEND, DIFF_PLACEHOLDER, SUGGESTIONS_JS, canvas_html

CSS_PATH = Path(__file__).resolve().parents[1] / "assets" / "style.css"
SYSTEM_FONTS = ["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MODEL_POLL_S = 5.0  # while the default model is prepared, a page asks this often whether it is ready
THEME = gr.themes.Soft(font=SYSTEM_FONTS, font_mono=["ui-monospace", "Consolas", "monospace"])  # no font downloads

# Reads the textarea's selection (in code points, as Python counts) into the two numbers that follow the draft.
SELECTION_JS = """
(...args) => {
  const ta = document.querySelector('#draft textarea');
  if (ta) {
    args[1] = Array.from(ta.value.slice(0, ta.selectionStart)).length;
    args[2] = Array.from(ta.value.slice(0, ta.selectionEnd)).length;
  }
  return args;
}
"""
# After an action: where the alternatives and Accept are not on the screen (a phone, where they follow the actions),
# bring them into view. (After the list is drawn: the update lands before the next frame.)
REVIEW_INTO_VIEW_JS = """
() => {
  setTimeout(() => {
    const decide = document.querySelector('#decide');
    const list = document.querySelector('#suggestions');
    const first = list && list.offsetParent !== null ? list : decide;
    if (!decide || !first) return;
    const top = first.getBoundingClientRect().top, bottom = decide.getBoundingClientRect().bottom;
    if (top < 0 || bottom > window.innerHeight) first.scrollIntoView({block: 'start'});
  }, 80);
}
"""


@dataclass(eq=False)
class Page:
    """The components that handlers read or update, by name."""

    demo: gr.Blocks
    session: gr.State
    undo_stack: gr.State
    draft: gr.Textbox
    plan: gr.HTML
    message: gr.HTML
    notice: gr.HTML  # the default model's preparation (while it runs, or when it failed)
    timer: gr.Timer  # ticks while the default model is prepared
    suggestions: gr.HTML
    alternatives: gr.Radio
    result: gr.Textbox
    diff: gr.HTML
    download: gr.DownloadButton
    run_btn: gr.Button
    status: gr.Markdown
    canvas: gr.HTML
    replay: gr.Slider
    heatmap: gr.Plot
    progress: gr.Plot
    steps: gr.Slider
    schedule: gr.Dropdown
    order: gr.Dropdown
    strength: gr.Slider
    seed: gr.Number
    block_length: gr.Slider
    temperature: gr.Slider
    top_p: gr.Slider
    remask: gr.Slider
    threshold: gr.Slider
    editing: gr.Slider
    required: gr.Textbox
    banned: gr.Textbox
    attribute: gr.Dropdown
    attribute_strength: gr.Slider
    cfg_scale: gr.Slider
    # inputs only
    sel_start: gr.Number
    sel_end: gr.Number
    shorten_to: gr.Textbox
    change: gr.Dropdown
    tone_choice: gr.Dropdown
    n_alternatives: gr.Dropdown
    length_mode: gr.Radio
    n_tokens: gr.Number
    percent: gr.Slider
    model_choice: gr.Dropdown
    writing: gr.Radio
    shorten_btn: gr.Button
    rephrase_btn: gr.Button
    tone_btn: gr.Button
    rewrite_btn: gr.Button
    fill_btn: gr.Button
    action_stop_btn: gr.Button  # Stop beside the actions (clickable while one runs)
    tone_demo_btn: gr.Button
    under_the_hood: gr.Accordion
    mask_btn: gr.Button
    pin_btn: gr.Button
    insert_btn: gr.Button
    clear_btn: gr.Button
    accept_btn: gr.Button
    reject_btn: gr.Button
    undo_btn: gr.Button
    stop_btn: gr.Button
    example_buttons: list[gr.Button]

    def named(self, update: dict) -> dict[str, Any]:
        """A handler's update keyed by component names instead of components (for tests and logs); ``gr.skip()``
        (nothing changes) is an empty dict."""
        if update == gr.skip():
            return {}
        names = {id(getattr(self, f.name)): f.name for f in fields(self) if f.name != "example_buttons"}
        return {names[id(component)]: value for component, value in update.items()}


def build_ui(studio: Studio, concurrency: int = 1) -> gr.Blocks:
    """The page on ``studio`` (``concurrency``: runs and actions at once on the model; queued beyond that)."""
    if studio.page is not None:
        raise ValueError("this Studio already serves a page: make one Studio per page")
    default = SamplerConfig()  # the settings start at the engine's defaults
    on = guidance_available()
    with gr.Blocks(title="Diffusion text editor") as demo:
        session = gr.State({})
        undo_stack = gr.State([])
        gr.Markdown("# Diffusion text editor\n<span class='lead'>Select a sentence of your draft and **Shorten** "
                    "it, **Rephrase** it or change its **Tone**; select a few words to **Rewrite** them (the same "
                    "meaning in other words) or **Fill** their place with new ones. Each comes back as a few alternatives with their "
                    "changes marked and checked against your facts; nothing goes into the draft until you "
                    "**Accept** it.</span>", elem_id="intro")
        notice = gr.HTML(studio.notice_html(), visible=bool(studio.notice_html()), elem_id="model-notice")
        timer = gr.Timer(MODEL_POLL_S, active=studio.preparing is not None)
        with gr.Row(equal_height=False, elem_id="workspace"):
            with gr.Column(scale=3, min_width=300, elem_id="compose"):  # the text and what to do with it
                draft = gr.Textbox(label="Draft", lines=6, max_lines=20, elem_id="draft",
                                   placeholder="Paste a draft, select a sentence, then press Shorten.")
                sel_start = gr.Number(value=0, precision=0, visible=False)
                sel_end = gr.Number(value=0, precision=0, visible=False)
                with gr.Row(elem_classes="toolbar", elem_id="actions"):  # writing actions: the selection or all
                    shorten_btn = gr.Button("Shorten", min_width=70, elem_id="shorten-btn")
                    rephrase_btn = gr.Button("Rephrase", min_width=70, elem_id="rephrase-btn")
                    tone_btn = gr.Button("Tone", min_width=70, elem_id="tone-btn")
                    # on the selected words only: the same meaning in other words, or new words in their place
                    rewrite_btn = gr.Button("Rewrite", min_width=70, elem_id="rewrite-btn")
                    fill_btn = gr.Button("Fill", min_width=70, elem_id="fill-btn")
                    # the writer's Stop: the Stop under the hood is out of sight while an action runs
                    action_stop_btn = gr.Button("Stop", variant="stop", min_width=70, elem_id="action-stop-btn",
                                                interactive=False)
                with gr.Row(elem_classes="toolbar", elem_id="action-options"):  # each action's own settings
                    shorten_to = gr.Textbox("70%", label="Shorten to", min_width=80, scale=1, elem_id="shorten-to",
                                            max_length=20)
                    change = gr.Dropdown(CHANGE_CHOICES, value=DEFAULT_CHANGE, label="How much to change",
                                         min_width=110, scale=2, elem_id="change")
                    tone_choice = gr.Dropdown([(label, key) for key, label in TONES.items()], value=DEFAULT_TONE,
                                              label="Tone", min_width=130, scale=2, elem_id="tone-choice")
                    n_alternatives = gr.Dropdown([1, 2, 3, 4], value=3, label="Alternatives", min_width=80, scale=1,
                                                 elem_id="n-alternatives")
                message = gr.HTML("", elem_id="message")
            with gr.Column(scale=2, min_width=300, elem_id="review"):  # the result, next to the draft
                # an action's alternatives, each with its tracked changes and fact check; a click on one previews it
                suggestions = gr.HTML("", visible=False, elem_id="suggestions", js_on_load=SUGGESTIONS_JS)
                with gr.Row(elem_classes="toolbar", elem_id="decide"):
                    accept_btn = gr.Button("Accept", variant="primary", size="sm", min_width=70,
                                           elem_id="accept-btn", interactive=False)
                    reject_btn = gr.Button("Reject", size="sm", min_width=70, elem_id="reject-btn",
                                           interactive=False)
                    undo_btn = gr.Button("Undo", size="sm", min_width=70, elem_id="undo-btn")
                result = gr.Textbox(label="Result", lines=3, max_lines=12, interactive=False, elem_id="result")
                alternatives = gr.Radio([], label="Preview alternative", visible=False, elem_id="alternatives")
                download = gr.DownloadButton("Download trajectory (JSON)", visible=False, size="sm")
                gr.Markdown("**Changes** (your draft → the result)", elem_id="changes-label")
                diff = gr.HTML(DIFF_PLACEHOLDER, elem_id="diff")
        # everything else, complete but folded away: marking, Run and the model at work, charts, examples, settings
        with gr.Accordion("Under the hood", open=False, elem_id="under-the-hood") as under_the_hood:
            gr.Markdown("Mark the words to rewrite and the words to keep, then **Run** and watch the model fill "
                        "the masked slots step by step. `[[words]]` rewrites, `[[words|5]]` as 5 tokens, "
                        "`[[words|70%]]` at 70 % of the length, `[[N]]` inserts N tokens, `{{words}}` keeps them "
                        "exactly.", elem_classes="muted")
            with gr.Row(elem_classes="toolbar", elem_id="marking"):
                mask_btn = gr.Button("Mask selection", size="sm", min_width=80, elem_id="mask-btn")
                pin_btn = gr.Button("Pin selection", size="sm", min_width=80, elem_id="pin-btn")
                insert_btn = gr.Button("Insert [[N]] at cursor", size="sm", min_width=80, elem_id="insert-btn")
                clear_btn = gr.Button("Clear marks", size="sm", min_width=80, elem_id="clear-btn")
            with gr.Row(elem_classes="toolbar"):
                length_mode = gr.Radio(list(LENGTH_MODES) if on else list(LENGTH_MODES[:-1]), value="keep length",
                                       label="Masked length", scale=3)
                n_tokens = gr.Number(value=8, precision=0, minimum=1, maximum=MAX_SPAN_TOKENS, label="N tokens",
                                     scale=1)
                percent = gr.Slider(25, 300, value=70, step=5, label="Length % (also auto target)", scale=2)
            plan = gr.HTML(studio.plan(""), elem_id="plan")
            with gr.Row():
                run_btn = gr.Button("Run", variant="primary", elem_id="run-btn")
                stop_btn = gr.Button("Stop", variant="stop", elem_id="stop-btn")
            strength = gr.Slider(0.0, 1.0, value=default.strength, step=0.05, elem_id="strength",
                                 label="Strength: rewrite this share of the unpinned draft too (0 = only the masked "
                                       "spans)")
            status = gr.Markdown(studio.model_line(), elem_id="status")
            canvas = gr.HTML(canvas_html(None, []), elem_id="canvas")
            gr.HTML(CANVAS_LEGEND, elem_id="legend")
            replay = gr.Slider(1, 2, value=1, step=1, label="Replay a step", visible=False, elem_id="replay")
            with gr.Row():
                heatmap = gr.Plot(label="Confidence heatmap", elem_id="heatmap")
                progress = gr.Plot(label="Progress", elem_id="progress")
            gr.Markdown("**Examples**")
            with gr.Row(elem_classes="examples"):
                example_buttons = [gr.Button(e["name"], size="sm", min_width=120) for e in EXAMPLES]
            with gr.Row(equal_height=False):
                with gr.Column():
                    with gr.Accordion("Settings", open=True):
                        choices = studio.model_choices()
                        model_choice = gr.Dropdown(
                            model_labels(choices), value=studio.model_name if studio.model_name in choices else None,
                            label="Model (loaded on first use)", elem_id="model")
                        writing = gr.Radio(WRITING_CHOICES, value="auto", label="Writing", elem_id="writing",
                                           info="Fast writes spans left to right with the model's own reading, "
                                                "several words a step where it agrees with its draft: about 2 s a "
                                                "span on a small CPU. Fluent adds 4 beams: a little better wording, "
                                                "about 10 s. Parallel fills every position at once and shows the "
                                                "denoising. Fast and Fluent set the steps, variety and threshold "
                                                "themselves. Auto: Fast for spans on the SmolLM2 model without "
                                                "guidance. The writing actions use it too.")
                        with gr.Row():
                            steps = gr.Slider(1, 256, value=default.steps, step=1, label="Steps", elem_id="steps")
                            seed = gr.Number(value=default.seed, precision=0, minimum=0, label="Seed",
                                             elem_id="seed")
                        temperature = gr.Slider(0.0, 2.0, value=default.temperature, step=0.05,
                                                label="Variety (temperature; 0 = always the same result)")
                    with gr.Accordion("Advanced", open=False, elem_id="advanced"):
                        with gr.Row():
                            schedule = gr.Dropdown(list(SCHEDULES), value=default.schedule, label="Schedule")
                            order = gr.Dropdown(list(ORDERS), value=default.order, label="Unmasking order")
                        with gr.Row():
                            top_p = gr.Slider(0.05, 1.0, value=default.top_p, step=0.05, label="Top-p")
                            block_length = gr.Slider(0, 128, value=default.block_length, step=1,
                                                     label="Block length (0 = off)")
                        with gr.Row():
                            threshold = gr.Slider(0.0, 1.0, value=default.threshold or 0.0, step=0.05,
                                                  label="Confidence threshold (0 = off)")
                            remask = gr.Slider(0.0, 1.0, value=default.remask, step=0.05,
                                               label="Self-correction (remask share)")
                        editing = gr.Slider(0.0, 1.0, value=0.0, step=0.05, elem_id="editing",
                                            label="Token editing threshold (0 = off)",
                                            info="Once the spans are written, up to two more passes replace a "
                                                 "written token where the model is surer than this of another "
                                                 "(outlined on the canvas). Never the text you keep or pin.")
                        attribute_strength = gr.Slider(0.0, 10.0, value=0.0, step=0.5,
                                                       label="Attribute strength γ (8 is a good start)",
                                                       interactive=on)
                        cfg_scale = gr.Slider(0.0, 5.0, value=0.0, step=0.25,
                                              label="Classifier-free guidance (0 = off)", interactive=on)
                with gr.Column():
                    with gr.Accordion("Guidance", open=on):
                        if not on:
                            gr.Markdown("*The guidance package is not installed in this build; these controls are "
                                        "disabled.*", elem_classes="muted")
                        required = gr.Textbox(label="Required words (comma separated)", interactive=on)
                        banned = gr.Textbox(label="Banned words (comma separated)", interactive=on)
                        attribute = gr.Dropdown(guidance_attributes(), value=NO_ATTRIBUTE, label="Attribute",
                                                interactive=on, elem_id="attribute")
                        # the Tone action steered by a trained classifier (e.g. sentiment=positive): the demo of
                        # classifier guidance on the writing actions; Run uses the attribute as guidance instead
                        tone_demo_btn = gr.Button("Tone toward this attribute (classifier demo)", size="sm",
                                                  interactive=on and len(guidance_attributes()) > 1,
                                                  elem_id="tone-demo-btn")

        page = Page(demo=demo, session=session, undo_stack=undo_stack, draft=draft, plan=plan, message=message,
                    notice=notice, timer=timer,
                    suggestions=suggestions, alternatives=alternatives, result=result, diff=diff, download=download,
                    run_btn=run_btn, status=status, canvas=canvas, replay=replay, heatmap=heatmap, progress=progress,
                    steps=steps, schedule=schedule, order=order, strength=strength, seed=seed,
                    block_length=block_length, temperature=temperature, top_p=top_p, remask=remask,
                    threshold=threshold, editing=editing, required=required, banned=banned, attribute=attribute,
                    attribute_strength=attribute_strength, cfg_scale=cfg_scale, sel_start=sel_start,
                    sel_end=sel_end, shorten_to=shorten_to, change=change, tone_choice=tone_choice,
                    n_alternatives=n_alternatives,
                    length_mode=length_mode, n_tokens=n_tokens, percent=percent, model_choice=model_choice,
                    writing=writing,
                    shorten_btn=shorten_btn, rephrase_btn=rephrase_btn, tone_btn=tone_btn,
                    rewrite_btn=rewrite_btn, fill_btn=fill_btn, action_stop_btn=action_stop_btn,
                    tone_demo_btn=tone_demo_btn, under_the_hood=under_the_hood, mask_btn=mask_btn,
                    pin_btn=pin_btn, insert_btn=insert_btn, clear_btn=clear_btn, accept_btn=accept_btn,
                    reject_btn=reject_btn, undo_btn=undo_btn, stop_btn=stop_btn, example_buttons=example_buttons)
        studio.page = page
        wire(studio, page, concurrency)
    return demo


def action_handlers(studio: Studio, name: str) -> tuple:
    """The handlers of action ``name``'s button: pressed, and the action. Each takes the request (Gradio hands a
    handler its gr.Request by the annotation: not through a lambda or a partial), whose session Stop stops."""

    def started(draft, start, end, model, request: gr.Request):
        return studio.action_started(name, draft, start, end, model, request=request)

    def act(draft, start, end, target, change, tone_choice, k, seed, session, model, writing, request: gr.Request):
        return studio.act(name, draft, start, end, target, change, tone_choice, k, seed, session, model, writing,
                          request=request)

    return started, act


def wire(studio: Studio, p: Page, concurrency: int) -> None:
    """The events of the page."""
    # preprocess=False: the handlers check raw values themselves (a message, no server traceback)
    draft_ops = dict(outputs=[p.draft, p.undo_stack, p.message], show_progress="hidden", preprocess=False)
    sel = [p.draft, p.sel_start, p.sel_end]
    p.mask_btn.click(studio.mask_selection, [*sel, p.length_mode, p.n_tokens, p.percent, p.undo_stack],
                        js=SELECTION_JS, api_name="mask_selection", **draft_ops)
    p.pin_btn.click(studio.pin_selection, [*sel, p.undo_stack], js=SELECTION_JS, api_name="pin_selection",
                       **draft_ops)
    p.insert_btn.click(studio.insert_at_cursor, [*sel, p.n_tokens, p.undo_stack], js=SELECTION_JS,
                          api_name="insert_at_cursor", **draft_ops)
    p.clear_btn.click(studio.clear_marks, [p.draft, p.undo_stack], api_name="clear_marks", **draft_ops)
    # the list of alternatives is a view of the session, and so are Accept and Reject: redrawn after Accept, Undo,
    # Reject, a preview and an action (chained, so the named API endpoints keep their outputs)
    show = dict(fn=studio.show_alternatives, inputs=p.session, outputs=[p.suggestions, p.accept_btn, p.reject_btn],
                api_visibility="private", show_progress="hidden")
    p.undo_btn.click(studio.undo, [p.draft, p.undo_stack, p.session], api_name="undo",
                     **{**draft_ops, "outputs": [*draft_ops["outputs"], p.session]}).then(**show)
    p.accept_btn.click(studio.accept, [p.draft, p.session, p.undo_stack], api_name="accept",
                       **{**draft_ops, "outputs": [*draft_ops["outputs"], p.session]}).then(**show)
    p.reject_btn.click(studio.reject, p.session, [p.alternatives, p.suggestions, p.result, p.diff, p.session,
                                                  p.message], api_name="reject", show_progress="hidden").then(**show)
    p.draft.change(studio.preview, p.draft, p.plan, show_progress="hidden", api_name="preview",
                   trigger_mode="always_last")
    example_outputs = [p.draft, p.steps, p.schedule, p.order, p.strength, p.seed, p.block_length, p.temperature,
                       p.top_p, p.remask, p.threshold, p.required, p.banned, p.attribute, p.attribute_strength,
                       p.cfg_scale, p.message]
    for button, example in zip(p.example_buttons, EXAMPLES):
        button.click(lambda name=example["name"]: studio.load_example(name), None, example_outputs,
                     api_visibility="private", show_progress="hidden")
    p.attribute.input(studio.attribute_picked, [p.attribute, p.attribute_strength], [p.attribute_strength, p.message],
                      api_visibility="private", show_progress="hidden")

    run_inputs = [p.draft, p.steps, p.schedule, p.order, p.temperature, p.top_p, p.block_length, p.remask,
                  p.threshold, p.strength, p.seed, p.required, p.banned, p.attribute, p.attribute_strength,
                  p.cfg_scale, p.percent, p.session, p.model_choice, p.writing, p.editing]
    run_outputs = [p.canvas, p.heatmap, p.progress, p.result, p.diff, p.status, p.message, p.replay, p.download,
                   p.session]
    # Run is not clickable while a run streams. The button is disabled *before* the run is queued (one chain),
    # so a fast run can never re-enable it before the disabling update lands (a race CI once lost)
    run_event = p.run_btn.click(studio.run_clicked, None, [p.run_btn, p.alternatives, p.suggestions, p.accept_btn,
                                                           p.reject_btn], queue=False,
                                api_visibility="private", show_progress="hidden").then(
        studio.run, run_inputs, run_outputs, api_name="run", concurrency_limit=concurrency,
        concurrency_id="model", show_progress="minimal", show_progress_on=[p.canvas], preprocess=False)
    run_event.then(studio.run_ended, p.session, [p.run_btn, p.suggestions, p.accept_btn, p.reject_btn],
                   api_visibility="private", show_progress="hidden")
    # Stop asks the run to end before its next step; the run then reports where it got and ends as usual. (Not
    # Gradio's cancels=: cancelling a streaming event let the page's status tracker show a red "Error" on the
    # canvas about one Stop in four: issue 14, bug 4)
    p.stop_btn.click(studio.stop, None, [p.message, p.run_btn], api_name="stop", queue=False,
                        show_progress="hidden")

    # Writing actions. Pressing one first disables the action buttons, Accept and Reject (before the action is
    # queued: one chain, as for Run) and says what is under way and about how long it takes; the action's end
    # (alternatives or a message) enables them again and, where the result is off the screen (a phone), brings it
    # into view. preprocess=False: the handler checks every raw value (a tone or an amount the page does not offer
    # is a message on the page, not a Gradio error)
    action_inputs = [p.draft, p.sel_start, p.sel_end, p.shorten_to, p.change, p.tone_choice,
                     p.n_alternatives, p.seed, p.session, p.model_choice, p.writing]
    action_outputs = [p.alternatives, p.result, p.diff, p.message, p.session]
    buttons = [p.shorten_btn, p.rephrase_btn, p.tone_btn, p.rewrite_btn, p.fill_btn]
    busy_outputs = [*buttons, p.action_stop_btn, p.accept_btn, p.reject_btn, p.message]
    ended_outputs = [*buttons, p.action_stop_btn, p.suggestions, p.accept_btn, p.reject_btn]
    # the Stop beside the actions stops the session's action as Stop does (its run too, if one streams)
    p.action_stop_btn.click(studio.stop, None, [p.message, p.run_btn], queue=False, api_visibility="private",
                            show_progress="hidden")
    demo_inputs = [p.attribute if c is p.tone_choice else c for c in action_inputs]  # Tone by a classifier
    for button, name, inputs, api in ((p.shorten_btn, "shorten", action_inputs, "shorten"),
                                      (p.rephrase_btn, "rephrase", action_inputs, "rephrase"),
                                      (p.tone_btn, "tone", action_inputs, "tone"),
                                      (p.rewrite_btn, "rewrite", action_inputs, "rewrite"),
                                      (p.fill_btn, "fill", action_inputs, "fill"),
                                      (p.tone_demo_btn, "tone", demo_inputs, None)):
        visibility = dict(api_name=api) if api else dict(api_visibility="private")
        started, act = action_handlers(studio, name)
        button.click(started, [*sel, p.model_choice], busy_outputs, js=SELECTION_JS, queue=False,
                     api_visibility="private", show_progress="hidden", preprocess=False).then(
            act, inputs, action_outputs, js=SELECTION_JS,
            concurrency_limit=concurrency, concurrency_id="model", show_progress="minimal",
            show_progress_on=[p.result], preprocess=False, **visibility).then(
            studio.action_ended, p.session, ended_outputs, api_visibility="private", show_progress="hidden").then(
            None, None, None, js=REVIEW_INTO_VIEW_JS, api_visibility="private", show_progress="hidden")
    p.alternatives.input(studio.choose_alternative, [p.alternatives, p.session],
                         [p.result, p.diff, p.session, p.suggestions, p.accept_btn, p.reject_btn],
                         api_visibility="private", show_progress="hidden")
    p.replay.release(studio.replay, [p.replay, p.session], [p.canvas, p.heatmap, p.progress], api_name="replay",
                     show_progress="hidden", preprocess=False)
    p.replay.input(studio.replay, [p.replay, p.session], [p.canvas, p.heatmap, p.progress],
                   api_visibility="private", show_progress="hidden", trigger_mode="always_last", preprocess=False)
    p.demo.unload(studio.end_session)  # the tab closed: its download goes
    # the default model: a page opens on the model state of now (the page was built at the start), and while the
    # default model is prepared (a first start) it asks every MODEL_POLL_S whether it is ready
    model_outputs = [p.status, p.notice, p.model_choice, p.timer]
    p.demo.load(studio.page_opened, None, model_outputs, queue=False, api_visibility="private",
                show_progress="hidden")
    p.timer.tick(studio.model_tick, p.model_choice, model_outputs, queue=False, api_visibility="private",
                 show_progress="hidden", preprocess=False)
