"""A client that goes away mid-request has its work stopped within a second (issue 24), and Stop stops an action.

The app is served on a tiny random model with step batching (as app.py serves), each of its layers slowed to a
known pace so that a request computes long enough to be dropped mid-way. A raw HTTP client joins the queue, reads
the session's event stream until its request computes, and closes the connection; the engine's own counter of
forward passes (``ModelAdapter.forward_passes``, counted as a pass starts) then shows at most one more pass, and the
last one starting within a second of the drop.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.parse
import uuid

import pytest
from conftest import make_tiny_adapter

from app_server import serve
from dllm_core import Editor, SamplerConfig, batching, cancel

httpx = pytest.importorskip("httpx")
gradio_client = pytest.importorskip("gradio_client")

LAYER_S = 0.04  # each layer's pace: a pass of the tiny model (2 layers) takes about 0.1 s
LONG = ("The committee met on Tuesday morning to discuss the new budget, which had been delayed for several weeks "
        "because of a disagreement between the two largest departments about how the money should be divided. ") * 3


class PassLog:
    """When each forward pass started, by the adapter's own counter (polled every few milliseconds)."""

    def __init__(self, adapter):
        self.adapter, self.starts, self.done = adapter, [], False
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self):
        seen = self.adapter.forward_passes
        while not self.done:
            now = self.adapter.forward_passes
            if now != seen:
                self.starts += [time.monotonic()] * (now - seen)
                seen = now
            time.sleep(0.003)

    def after(self, t: float) -> list[float]:
        return [s - t for s in self.starts if s > t]


@pytest.fixture(scope="module")
def served(tokenizer):
    adapter = make_tiny_adapter(tokenizer, seed=3)
    for layer in adapter.model.bert.encoder.layer:  # a slower model: requests last long enough to drop mid-way
        layer.register_forward_pre_hook(lambda *_: time.sleep(LAYER_S))
    editor = Editor(adapter)
    adapter.enable_step_batching()
    log = PassLog(adapter)
    with serve(editor, concurrency=4) as url:
        yield url, editor.adapter, log
    log.done = True
    adapter.disable_step_batching()


def api_index(url: str, name: str) -> int:
    config = httpx.get(f"{url}config", timeout=30).json()
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == name)


def run_data(n: int, steps: int) -> list:
    # draft, steps, schedule, order, temperature, top_p, block_length, remask, threshold, strength, seed, required,
    # banned, attribute, attribute_strength, cfg_scale, percent, session, model, writing, editing
    return [f"The harbour was [[{n}]] when the ferry came in.", steps, "linear", "confidence", 0.0, 1.0, 0, 0.0, 0.0,
            0.0, 1, "", "", "none", 0.0, 0.0, 70, None, None, "parallel", None]


def shorten_data() -> list:
    # draft, sel_start, sel_end, shorten_to, change, tone_choice, n_alternatives, seed, session, model, writing
    return [LONG, 0, 0, "50%", 0.5, "formal", 2, 0, None, None, None]


def join(url: str, api: str, data: list) -> str:
    """Queue a request as the page and the Python client do; the path of its session's event stream."""
    session = uuid.uuid4().hex[:11]
    httpx.post(f"{url}gradio_api/queue/join", json={"data": data, "fn_index": api_index(url, api),
                                                    "session_hash": session, "event_data": None},
               timeout=30).raise_for_status()
    return f"gradio_api/queue/data?session_hash={session}"


def call(url: str, api: str, data: list) -> str:
    """Queue a request as curl does (the HTTP API); the path of its event stream."""
    r = httpx.post(f"{url}gradio_api/call/{api}", json={"data": data}, timeout=30)
    r.raise_for_status()
    return f"gradio_api/call/{api}/{r.json()['event_id']}"


def stream_then_drop(url: str, path: str, log: PassLog, computing_s: float, until=lambda: True) -> float:
    """Read the request's event stream until it has computed ``computing_s`` (from its first forward pass; and
    ``until()``), then close the connection (as a closed tab or a killed client does). Returns when it dropped."""
    parts = urllib.parse.urlsplit(url)
    passes = len(log.starts)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(f"GET {parts.path}{path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                     "Accept: text/event-stream\r\n\r\n".encode())
        sock.settimeout(0.02)
        seen, started, deadline = b"", None, time.monotonic() + 20
        while started is None or time.monotonic() - started < computing_s or not until():
            assert time.monotonic() < deadline, "the request never started"
            if started is None and len(log.starts) > passes:
                started = log.starts[passes]
            try:
                chunk = sock.recv(1 << 16)
            except TimeoutError:
                continue
            assert chunk, "the server closed the stream"
            seen = (seen + chunk)[-8192:]
            assert b"complete" not in seen, "the request ended before the drop: make it longer"
        return time.monotonic()


def settle(log: PassLog, quiet_s: float = 1.5, limit_s: float = 8.0) -> None:
    """Wait until no pass has started for ``quiet_s``."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        last = log.starts[-1] if log.starts else 0.0
        if time.monotonic() - last > quiet_s:
            return
        time.sleep(0.1)


@pytest.mark.parametrize("what, how", [("run", join), ("shorten", join), ("shorten", call)])
def test_a_dropped_client_has_its_work_stopped_within_a_second(served, what, how):
    url, adapter, log = served
    path = how(url, what, run_data(48, 48) if what == "run" else shorten_data())
    dropped = stream_then_drop(url, path, log, 0.6)
    settle(log)
    late = log.after(dropped)
    assert len(late) <= 1, f"{len(late)} passes started after the drop: {late}"
    assert all(t < 1.0 for t in late), late


def test_a_cancelled_request_does_not_cancel_the_pass_it_shares(tokenizer):
    """The engine's side, made certain: one request's token is set during a pass it shares with another."""
    adapter = make_tiny_adapter(tokenizer, seed=3)
    editor = Editor(adapter)
    other_draft, config = "The ferry [[10]] in the harbour.", SamplerConfig(steps=10, seed=1)
    solo = editor.edit(other_draft, config).text
    stop, outcome = threading.Event(), []

    def cancel_in_a_shared_pass(module, args):  # (the first layer; only the batcher's shared passes set a layout)
        if getattr(batching._scope, "layout", None) is not None:
            time.sleep(0.05)  # (the cancelled request's next check comes while this pass still runs)
            stop.set()

    adapter.model.bert.encoder.layer[0].register_forward_pre_hook(cancel_in_a_shared_pass)
    adapter.enable_step_batching(wait_s=30.0, direct=False)  # every step waits for every open request
    try:
        def cancelled() -> None:
            with cancel.scope(stop):
                try:
                    editor.edit("The harbour was [[20]] when the ferry came in.", SamplerConfig(steps=20, seed=2))
                    outcome.append("finished")
                except cancel.Cancelled:
                    outcome.append("cancelled")

        thread = threading.Thread(target=cancelled)
        thread.start()
        while adapter.batcher.stats.calls == 0:  # (its first step alone: it started the batcher's worker)
            time.sleep(0.005)
        other = editor.edit(other_draft, config)  # alongside it, in this thread (no cancel scope)
        thread.join(30)
        stats = adapter.batcher.stats
        assert outcome == ["cancelled"] and stop.is_set() and stats.shared >= 1 and stats.retried == 0, (outcome, stats)
        assert other.text == solo  # the pass it shared with the cancelled request ran to its end for it
    finally:
        adapter.disable_step_batching()


def test_a_dropped_client_does_not_stop_the_others_batched_with_it(served):
    url, adapter, log = served
    client = gradio_client.Client(url, verbose=False)
    path = join(url, "run", run_data(40, 40))
    other = client.submit(*run_data(16, 16)[:17], "embedded", "parallel", api_name="/run")
    stream_then_drop(url, path, log, 0.8)
    out = other.result(timeout=60)
    assert "done" in out[6] and "▒" not in out[3], out[6]  # its whole result, not a stopped one


def shorten_computing(served):
    """(client, job) of a Shorten sent by gradio_client, once it has computed for a moment."""
    url, _, log = served
    client = gradio_client.Client(url, verbose=False)
    seen = len(log.starts)
    job = client.submit(*shorten_data()[:8], "embedded", "auto", api_name="/shorten")
    deadline = time.monotonic() + 20
    while len(log.starts) == seen:  # until the action computes
        assert time.monotonic() < deadline, "the action never started"
        time.sleep(0.01)
    time.sleep(0.3)
    return client, job


def test_stop_stops_a_running_action(served):
    log = served[2]
    client, job = shorten_computing(served)
    client.predict(api_name="/stop")  # the client's session: its action
    stopped = time.monotonic()
    message = job.result(timeout=30)[3]
    assert "Shortening stopped" in message and "unchanged" in message, message
    settle(log)
    assert len(log.after(stopped)) <= 1


def test_the_python_clients_cancel_stops_a_running_action(served):
    """gradio_client's ``job.cancel()`` (Gradio's ``POST .../cancel``): Gradio drops the event, and the action's
    worker thread stops before its next pass too."""
    log = served[2]
    client, job = shorten_computing(served)
    job.cancel()
    cancelled = time.monotonic()
    settle(log)
    late = log.after(cancelled)
    assert len(late) <= 1 and all(t < 1.0 for t in late), late

def test_the_stop_beside_the_actions_stops_a_shorten_in_the_browser(served):
    """A writer's path: Shorten pressed on a fresh page, then the Stop beside the actions (the one under the hood is
    folded away): the action ends with its message, no more passes, and the buttons come back."""
    import os  # noqa: PLC0415

    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("/usr/bin/chromium is absent")
    sync_api = pytest.importorskip("playwright.sync_api")
    url, adapter, log = served
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(url)
            page.wait_for_selector("#draft textarea", timeout=30_000)
            assert page.locator("#action-stop-btn").is_disabled()  # nothing to stop on a fresh page
            page.locator("#draft textarea").fill(LONG)
            seen = len(log.starts)
            page.click("#shorten-btn")
            deadline = time.monotonic() + 20
            while len(log.starts) == seen:  # until the action computes
                assert time.monotonic() < deadline, "the action never started"
                time.sleep(0.01)
            page.wait_for_function("() => !document.querySelector('#action-stop-btn').disabled", timeout=10_000)
            page.click("#action-stop-btn")
            stopped = time.monotonic()
            page.wait_for_function("() => document.querySelector('#message').innerText.includes('stopped')",
                                   timeout=30_000)
            assert "unchanged" in page.locator("#message").inner_text()
            page.wait_for_function("() => !document.querySelector('#shorten-btn').disabled", timeout=10_000)
            assert page.locator("#action-stop-btn").is_disabled()
            assert page.locator("#draft textarea").input_value() == LONG  # nothing the writer typed is lost
        finally:
            browser.close()
    settle(log)
    assert len(log.after(stopped)) <= 1
