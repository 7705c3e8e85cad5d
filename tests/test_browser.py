"""A real browser (Debian's Chromium driven by Playwright) writes a draft, masks a span, runs it and sees the
result and the Plotly charts. The screenshot lands in test-artifacts/app.png."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app_server import serve

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent: "
                                "apt-get install chromium chromium-driver to run the browser test")
sync_api = pytest.importorskip("playwright.sync_api")

DRAFT = "The old cat slept all afternoon on the soft blue rug next to the warm kitchen stove."


@pytest.fixture(scope="module")
def page(tiny_editor):
    with serve(tiny_editor) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.wait_for_selector("#draft textarea", timeout=30_000)
        yield page
        browser.close()


def test_mask_a_selection_run_and_see_the_result_and_chart(page):
    draft = page.locator("#draft textarea")
    draft.fill(DRAFT)
    start = DRAFT.index("soft blue rug")
    page.evaluate("([a, b]) => { const t = document.querySelector('#draft textarea'); t.focus();"
                  " t.setSelectionRange(a, b); }", [start, start + len("soft blue rug")])
    page.click("#mask-btn")
    page.wait_for_function("() => document.querySelector('#draft textarea').value.includes('[[')")
    assert draft.input_value() == DRAFT.replace("soft blue rug", "[[soft blue rug]]")
    assert "rewrite" in page.locator("#plan").inner_text()

    page.click("#run-btn")
    page.wait_for_function("() => document.querySelector('#result textarea').value.length > 0", timeout=60_000)
    result = page.locator("#result textarea").input_value()
    assert result.startswith("The old cat slept all afternoon on the ")
    assert result.endswith(" next to the warm kitchen stove.")
    page.wait_for_selector("#heatmap .js-plotly-plot .heatmaplayer", timeout=30_000)
    page.wait_for_selector("#progress .js-plotly-plot .scatterlayer .trace", timeout=30_000)
    assert page.locator("#canvas .tok.generated").count() == 3
    assert page.locator("#diff del").first.inner_text() != ""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=True)
    assert (ARTIFACTS / "app.png").stat().st_size > 10_000


def test_pin_by_clicking_in_a_word_then_undo(page):
    draft = page.locator("#draft textarea")
    draft.fill("Dear Elizabeth, thank you.")
    page.evaluate("() => { const t = document.querySelector('#draft textarea'); t.focus();"
                  " t.setSelectionRange(8, 8); }")  # a click inside "Elizabeth"
    page.click("#pin-btn")
    page.wait_for_function("() => document.querySelector('#draft textarea').value.includes('{{')")
    assert draft.input_value() == "Dear {{Elizabeth}}, thank you."
    page.click("#undo-btn")
    page.wait_for_function("() => !document.querySelector('#draft textarea').value.includes('{{')")
    assert draft.input_value() == "Dear Elizabeth, thank you."


def test_an_empty_draft_shows_a_message(page):
    page.locator("#draft textarea").fill("")
    page.click("#run-btn")
    page.wait_for_selector("#message .msg.error", timeout=30_000)
    assert "empty" in page.locator("#message").inner_text()


def test_stop_frees_the_model_at_the_next_step(page, tiny_editor):
    adapter = tiny_editor.adapter
    page.locator("#draft textarea").fill("Once upon a time [[240]]")  # within the work budget of one request
    steps = page.locator("#steps input[type=number]")
    steps.fill("256")
    steps.press("Enter")
    before = adapter.forward_passes
    page.click("#run-btn")
    page.wait_for_function("() => /step ([3-9]|\\d\\d+) of 240/.test(document.querySelector('#message').innerText)",
                           timeout=30_000)
    page.click("#stop-btn")
    page.wait_for_selector("#message .msg.hint", timeout=10_000)
    assert "stopped" in page.locator("#message").inner_text()
    page.wait_for_timeout(500)
    stopped_at = adapter.forward_passes
    page.wait_for_timeout(1500)
    assert adapter.forward_passes == stopped_at  # no more forward passes after Stop
    assert 3 <= stopped_at - before < 240
