"""What the model reads each step: slices ("windows") of the canvases around the edited positions, so that the cost
follows the edited spans and not the document, and one batched forward pass over all of them.

The framing of a window (special tokens around it, padding) belongs to the model and is done by
:meth:`dllm_core.adapter.ModelAdapter.frame`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .adapter import ModelAdapter


@dataclass
class Window:
    canvas: int
    start: int  # slice of the canvas the model sees
    end: int
    core_start: int  # positions whose logits are read from this window
    core_end: int


def window_budget(adapter: ModelAdapter) -> int:
    """The most canvas tokens one window may hold: the model's context less what its framing adds."""
    framed, _, _ = adapter.frame([torch.zeros(0, dtype=torch.long)])
    return adapter.max_length - framed.shape[1]


def plan_windows(canvas_index: int, n: int, editable: list[int], body: int, context: int) -> list[Window]:
    """Slices of at most ``body`` tokens covering every editable position with up to ``context`` tokens each side."""
    if not editable:
        return []
    context = min(context, max(0, (body - 1) // 4))
    lo, hi = max(0, editable[0] - context), min(n, editable[-1] + 1 + context)
    if hi - lo <= body:
        return [Window(canvas_index, lo, hi, lo, hi)]
    core = body - 2 * context
    windows, i = [], 0
    while i < len(editable):
        c0 = editable[i]
        c1 = min(n, c0 + core)
        w0 = max(0, c0 - context)
        w1 = min(n, w0 + body)
        windows.append(Window(canvas_index, w0, w1, c0, min(c1, w1)))
        while i < len(editable) and editable[i] < windows[-1].core_end:
            i += 1
    return windows


def windowed_logits(adapter: ModelAdapter, windows: list[Window], variants: list[torch.Tensor],
                    editable: torch.Tensor, keep_on_device: bool = False, session=None
                    ) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """One forward pass over every window of every (B, N) token variant; logits at the editable positions of each
    window's core. Returns one (E, V) float tensor per variant (special and unused tokens at -inf; on the host
    unless ``keep_on_device``), and the canvas index and position of each of the E rows (the same order for every
    variant). With a step-batching ``session`` (:mod:`dllm_core.batching`) the pass is shared with other requests."""
    seqs, rows, cols, q_rows, q_pos = [], [], [], [], []
    for tokens in variants:
        for w in windows:
            core = editable[w.canvas, w.core_start : w.core_end].nonzero().flatten() + w.core_start
            rows.append(torch.full_like(core, len(seqs)))
            cols.append(core - w.start)
            if tokens is variants[0]:
                q_rows.append(torch.full_like(core, w.canvas))
                q_pos.append(core)
            seqs.append(tokens[w.canvas, w.start : w.end])
    input_ids, attention, offset = adapter.frame(seqs)
    forward = adapter.logits_at if session is None else session.logits_at
    logits = forward(input_ids, attention, torch.cat(rows), torch.cat(cols) + offset).float()
    if not keep_on_device:
        logits = logits.cpu()
    logits[:, adapter.banned_ids] = float("-inf")
    return list(logits.chunk(len(variants))), torch.cat(q_rows), torch.cat(q_pos)
