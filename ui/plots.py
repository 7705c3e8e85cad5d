"""Plotly figures of a denoising trajectory: a step x position confidence heatmap and a per-step progress chart.

Both take the trajectory as a list of step dicts in the shape of :meth:`StepRecord.to_json` (``tokens``,
``confidence``, ``states``, ``masked``, ``mean_confidence``, ``signals``), so they work as well on a live run as on
a downloaded trajectory file. A frame may hold a slice of the canvas: then ``positions`` gives the canvas index of
each entry (used for axis labels). Plotly only: no Gradio here.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

MAX_COLUMNS = 400  # heatmap columns (edited positions) drawn; a longer canvas shows its first MAX_COLUMNS
EDITED_STATES = ("masked", "generated")
LAYOUT = dict(template="plotly_white", margin=dict(l=50, r=20, t=40, b=40), height=300,
              font=dict(size=12), hovermode="closest")


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
    fig = go.Figure()
    columns = edited_positions(frames)
    shown = columns[:MAX_COLUMNS]
    title = "Confidence per position and step"
    if len(columns) > len(shown):
        title += f" (first {len(shown)} of {len(columns)} edited positions)"
    if frames and shown:
        z, text = [], []
        for frame in frames:
            z.append([frame["confidence"][p] for p in shown])
            text.append([f"{frame['tokens'][p]} ({frame['states'][p]})" for p in shown])
        steps = [frame["step"] + 1 for frame in frames]
        index = frames[0].get("positions")  # a display frame holds a slice of the canvas: label real positions
        fig.add_trace(go.Heatmap(
            z=z, x=[str(index[p] if index else p) for p in shown], y=steps, text=text,
            zmin=0.0, zmax=1.0, colorscale="Viridis", colorbar=dict(title="conf.", thickness=12),
            hovertemplate="step %{y}, position %{x}<br>%{text}<br>confidence %{z:.3f}<extra></extra>",
        ))
        if current is not None and 0 <= current < len(frames):
            fig.add_hline(y=frames[current]["step"] + 1, line=dict(color="#e4572e", width=2))
    fig.update_layout(title=dict(text=title, x=0.01), **LAYOUT)
    fig.update_xaxes(title_text="edited position (canvas index)", type="category", showgrid=False)
    fig.update_yaxes(title_text="step", autorange="reversed", showgrid=False, dtick=1 if len(frames) <= 12 else None)
    return fig


def progress_chart(frames: Sequence[dict], current: int | None = None) -> go.Figure:
    """Masked positions and mean confidence of committed tokens per step, plus any numeric guidance signals."""
    fig = go.Figure()
    steps = [frame["step"] + 1 for frame in frames]
    fig.add_trace(go.Scatter(x=steps, y=[frame["masked"] for frame in frames], name="masked", mode="lines+markers",
                             line=dict(color="#6c757d")))
    fig.add_trace(go.Scatter(x=steps, y=[frame["mean_confidence"] for frame in frames], name="mean confidence",
                             mode="lines+markers", yaxis="y2", line=dict(color="#2a9d8f")))
    names = signal_names(frames)
    for name in names:
        values = [_number(frame.get("signals", {}).get(name)) for frame in frames]
        fig.add_trace(go.Scatter(x=steps, y=values, name=name, mode="lines", yaxis="y2", line=dict(dash="dot")))
    if current is not None and 0 <= current < len(frames):
        fig.add_vline(x=frames[current]["step"] + 1, line=dict(color="#e4572e", width=2))
    fig.update_layout(
        title=dict(text="Progress per step", x=0.01), **LAYOUT,
        xaxis=dict(title="step", dtick=1 if len(frames) <= 12 else None),
        yaxis=dict(title="masked", rangemode="tozero"),
        yaxis2=dict(title="confidence / signal" if names else "confidence", overlaying="y", side="right",
                    range=None if names else [0, 1.05], showgrid=False),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


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
