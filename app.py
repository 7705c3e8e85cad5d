"""The web app: write a draft, act on it (shorten, rephrase, tone) or mark what to rewrite and keep, and watch a
masked-diffusion model refine it.

``python app.py`` serves it on the default model (the SmolLM2 diffusion model once ``python -m dllm_core setup`` has
run, MiniLM until then; GRADIO_SERVER_NAME, default 127.0.0.1; GRADIO_SERVER_PORT, default 7860; DLLM_MODEL picks
another model), and a Hugging Face Space runs this file. The page itself (layout, handlers,
HTML, Plotly figures) is the ``ui`` package; this file loads the model and launches.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

import gradio as gr

from dllm_core import Editor, ModelLoadError
from dllm_core.adapter import default_model
from dllm_core.batching import serving_concurrency
from ui import CSS_PATH, THEME, Studio, build_ui

log = logging.getLogger("dllm_app")


def create_app(model: str | None = None) -> tuple[gr.Blocks, Studio]:
    """Load the model (a failure leaves a page that says why) and build the page."""
    try:
        name = model or default_model()
        editor, error = Editor.load(name, batching=True), ""  # requests share forward passes
    except ModelLoadError as exc:  # missing weights, a model that is not allowed: the page says why
        log.error("model load failed: %s", exc)
        editor, error = None, str(exc)
    except Exception as exc:  # out of memory, a broken checkpoint: show it rather than die (one line in the log)
        first = (str(exc).strip().splitlines() or [""])[0]
        log.error("model load failed: %s: %s", type(exc).__name__, first)
        editor, error = None, f"{type(exc).__name__}: {first}"
    studio = Studio(editor, error, name)
    # with step-level batching several runs step together in shared forward passes (dllm_core.batching)
    demo = build_ui(studio, concurrency=serving_concurrency(editor.adapter) if editor is not None else 1)
    demo.queue(max_size=32, default_concurrency_limit=8)
    return demo, studio


def launch_kwargs() -> dict:
    return dict(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                css_paths=[CSS_PATH], theme=THEME, footer_links=["api"])


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a stopped container still removes its downloads
    app, _ = create_app()
    app.launch(**launch_kwargs())
