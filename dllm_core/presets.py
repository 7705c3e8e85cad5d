"""Named sampler settings for writers: what the web app's actions and ``--preset`` use.

``FLUENT`` is the span-rewrite preset for models with a causal reading (the SmolLM2 diffusion model): the span is
written left to right, one token per step, each token scored by the denoiser (which sees both sides) plus the
causal reading (which keeps the words flowing from the left), with a look-ahead at the span's last slot into the
text after it (:class:`~dllm_core.hooks.CausalFluency`); 4 beams ride in the batch (:class:`~dllm_core.hooks
.BeamSearch`) for each span length from 2 tokens shorter to 2 longer, and the causal reading ranks the finished
candidates. On held-out prose it raised the share of 6-word span rewrites a blind reader accepted (bench/RESULTS.md,
"Writer eval"); it costs about 3 forward passes per written token per beam row. Models without a causal reading
(MiniLM) ignore the fluency weight and the length slack and run the beams on their own scores.
"""

from __future__ import annotations

from dataclasses import replace

from .config import SamplerConfig
from .limits import MAX_STEPS

FLUENT = dict(steps=MAX_STEPS, block_length=1, fluency=1.0, beams=4, length_slack=2, threshold=None,
              temperature=0.0)

PRESETS = {"fluent": FLUENT}


def apply_preset(config: SamplerConfig, name: str) -> SamplerConfig:
    """``config`` with the named preset's settings (a ValueError naming the known presets otherwise)."""
    if name not in PRESETS:
        raise ValueError(f"preset: must be one of {', '.join(PRESETS)}, got {name!r}")
    return replace(config, **PRESETS[name])
