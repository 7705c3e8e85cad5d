"""Plotly figures of a denoising trajectory: a step x position confidence heatmap and a per-step progress chart.

Both take the trajectory as a list of step dicts in the shape of :meth:`StepRecord.to_json` (``tokens``,
``confidence``, ``states``, ``masked``, ``mean_confidence``, ``signals``), so they work as well on a live run as on
a downloaded trajectory file. A frame may hold a slice of the canvas: then ``positions`` gives the canvas index of
each entry (used for axis labels). Plotly only: no Gradio here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache

import plotly.graph_objects as go
import plotly.io as pio

MAX_COLUMNS = 400  # heatmap columns (edited positions) drawn; a longer canvas shows its first MAX_COLUMNS
EDITED_STATES = ("masked", "generated")
TEMPLATE = "plotly_white"
LAYOUT = dict(margin=dict(l=50, r=20, t=40, b=40), height=300, font=dict(size=12), hovermode="closest")
MARKER = dict(color="#e4572e", width=2)  # the replayed step


@lru_cache(maxsize=1)
def _template_json() -> str:
    return json.dumps(pio.templates[TEMPLATE].to_plotly_json())


def _figure(data: list[dict], layout: dict) -> go.Figure:
    """A figure from plain dicts, unvalidated: plotly's validation and ``update_layout`` deep copies cost ~25 ms a
    pair of charts (most of a small edit's server CPU besides the model: bench/RESULTS.md, "Serving load"). The
    template is expanded here as plotly's validation would (the browser's plotly.js knows no template names), and
    keys set to None are left out, as plotly leaves them out."""
    layout = {**_pruned(layout), "template": json.loads(_template_json())}  # a fresh copy per figure
    return go.Figure({"data": [_pruned(trace) for trace in data], "layout": layout}, _validate=False)


def _pruned(value):
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    return value


def edited_positions(frames: Sequence[dict]) -> list[int]:
    """Positions that the sampler touched at some step (masked or generated), in canvas order."""
    touched: set[int] = set()
    for frame in frames:
        touched.update(i for i, s in enumerate(frame["states"]) if s in EDITED_STATES)
    return sorted(touched)


def confidence_heatmap(frames: Sequence[dict], current: int | None = None) -> go.Figure:
    """Confidence of every edited position (x) at every step (y); hover shows the token there at that step.

    ``current`` (a step index) draws a marker line on that row, for replay.
    """
    columns = edited_positions(frames)
    shown = columns[:MAX_COLUMNS]
    title = "Confidence per position and step"
    if len(columns) > len(shown):
        title += f" (first {len(shown)} of {len(columns)} edited positions)"
    data, shapes = [], []
    if frames and shown:
        z, text = [], []
        for frame in frames:
            confidence, tokens, states = frame["confidence"], frame["tokens"], frame["states"]
            z.append([confidence[p] for p in shown])
            edited = set(frame.get("edited", ()))
            text.append([f"{tokens[p]} ({states[p]}{', edited' if p in edited else ''})" for p in shown])
        steps = [frame["step"] + 1 for frame in frames]
        index = frames[0].get("positions")  # a display frame holds a slice of the canvas: label real positions
        data.append(dict(
            type="heatmap", z=z, x=[str(index[p] if index else p) for p in shown], y=steps, text=text,
            zmin=0.0, zmax=1.0, colorscale=_colorscale("Viridis"), colorbar=dict(title=dict(text="conf."), thickness=12),
            hovertemplate="step %{y}, position %{x}<br>%{text}<br>confidence %{z:.3f}<extra></extra>",
        ))
        edits = [(str(index[p] if index else p), frame["step"] + 1) for frame in frames
                 for p in frame.get("edited", ()) if p in shown]
        if edits:  # token editing: the cells where a written token was replaced, marked as their own state
            data.append(dict(type="scatter", mode="markers", x=[e[0] for e in edits], y=[e[1] for e in edits],
                             name="edited", marker=dict(symbol="x", size=9, color="#b7791f"),
                             hovertemplate="step %{y}, position %{x}: edited<extra></extra>"))
        if current is not None and 0 <= current < len(frames):
            y = frames[current]["step"] + 1
            shapes.append(dict(type="line", line=MARKER, x0=0, x1=1, xref="x domain", y0=y, y1=y, yref="y"))
    return _figure(data, dict(
        title=dict(text=title, x=0.01), **LAYOUT, shapes=shapes or None,
        xaxis=dict(title=dict(text="edited position (canvas index)"), type="category", showgrid=False),
        yaxis=dict(title=dict(text="step"), autorange="reversed", showgrid=False,
                   dtick=1 if len(frames) <= 12 else None)))


def progress_chart(frames: Sequence[dict], current: int | None = None) -> go.Figure:
    """Masked positions and mean confidence of committed tokens per step, plus any numeric guidance signals."""
    steps = [frame["step"] + 1 for frame in frames]
    data = [dict(type="scatter", x=steps, y=[frame["masked"] for frame in frames], name="masked",
                 mode="lines+markers", line=dict(color="#6c757d")),
            dict(type="scatter", x=steps, y=[frame["mean_confidence"] for frame in frames], name="mean confidence",
                 mode="lines+markers", yaxis="y2", line=dict(color="#2a9d8f"))]
    names = signal_names(frames)
    for name in names:
        values = [_number(frame.get("signals", {}).get(name)) for frame in frames]
        data.append(dict(type="scatter", x=steps, y=values, name=name, mode="lines", yaxis="y2",
                         line=dict(dash="dot")))
    shapes = []
    if current is not None and 0 <= current < len(frames):
        x = frames[current]["step"] + 1
        shapes.append(dict(type="line", line=MARKER, x0=x, x1=x, xref="x", y0=0, y1=1, yref="y domain"))
    return _figure(data, dict(
        title=dict(text="Progress per step", x=0.01), **LAYOUT, shapes=shapes or None,
        xaxis=dict(title=dict(text="step"), dtick=1 if len(frames) <= 12 else None),
        yaxis=dict(title=dict(text="masked"), rangemode="tozero"),
        yaxis2=dict(title=dict(text="confidence / signal" if names else "confidence"), overlaying="y", side="right",
                    range=None if names else [0, 1.05], showgrid=False),
        legend=dict(orientation="h", y=-0.25),
    ))


@lru_cache(maxsize=4)
def _colorscale(name: str) -> tuple:
    """A named colour scale as plotly's validation expands it ([[fraction, colour], ...])."""
    return tuple(tuple(pair) for pair in go.Heatmap(colorscale=name).colorscale)


def signal_names(frames: Sequence[dict]) -> list[str]:
    """Names of the numeric guidance signals recorded in any step, in first-seen order."""
    names: dict[str, None] = {}
    for frame in frames:
        for key, value in (frame.get("signals") or {}).items():
            if _number(value) is not None:
                names.setdefault(key, None)
    return list(names)


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
