"""The forward pass of prompt + canvas models (DiffusionGemma): a causal encoder reads the prompt, a bidirectional
decoder denoises a canvas conditioned on the prompt's keys and values (transformers' native
``DiffusionGemmaForBlockDiffusion``; diffusers' ``DiffusionGemmaPipeline`` runs its own block loop, which is why the
engine calls the model, not the pipeline).

The engine's windows are one sequence each (draft context, spans, draft context). Such a model sees a window as:
the prompt = the window up to its first position the sampler asks about (the text on the left, framed with the
start token), the canvas = the rest of the window (the spans' slots and, between and after them, the draft's own
words as clean canvas tokens, which the bidirectional decoder reads like any committed token). So a span in the
middle of a draft is written with both sides in view, as with the masked LMs. The canvas logits predict their own
positions (no shift). No self-conditioning is passed: each pass reads the canvas as it stands, as the other
families do; the model's own block loop feeds back its previous logits, which the engine does not.
"""

from __future__ import annotations

import torch


@torch.no_grad()
def prompt_canvas_logits(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, rows: torch.Tensor,
                         cols: torch.Tensor) -> torch.Tensor:
    """Logits (float32) at ``(rows[k], cols[k])`` of framed windows (start token, window, end token, padding): per
    window one call of the model with the window split into prompt and canvas at the first column asked about; the
    end token and the padding are left out of the canvas."""
    out = None  # (len(rows), vocabulary), made at the first window's logits
    for r in rows.unique().tolist():
        asked = (rows == r).nonzero().flatten()
        start = int(cols[asked].min())
        end = int(attention_mask[r].sum()) - 1  # the end token's column
        prompt, canvas = input_ids[r, :start][None], input_ids[r, start:end][None]
        logits = model(input_ids=prompt, decoder_input_ids=canvas).logits[0].float()
        if out is None:
            out = logits.new_empty((len(rows), logits.shape[-1]))
        out[asked.to(logits.device)] = logits[(cols[asked] - start).to(logits.device)]
    return out
