"""Serve the web app in this process on a free 127.0.0.1 port (used by the API and browser tests)."""

from __future__ import annotations

import socket
from contextlib import contextmanager

import app as web
import ui


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(editor, concurrency: int = 1):
    """Yield the URL of the app on ``editor`` (``concurrency``: requests computing at once); close the server
    afterwards."""
    studio = ui.Studio(editor)
    demo = ui.build_ui(studio, concurrency=concurrency)
    demo.queue(max_size=16)
    kwargs = {**web.launch_kwargs(studio), "server_name": "127.0.0.1", "server_port": free_port()}
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, **kwargs)
    try:
        yield url.rstrip("/") + "/"
    finally:
        demo.close()
        studio.close()
