"""Named sampler settings for writers: what the web app's actions and ``--preset`` use.

``FLUENT`` is the span-rewrite preset for models with a causal reading (the SmolLM2 diffusion model): the span is
written left to right, one token per step, each token scored by the denoiser (which sees both sides) plus the
causal reading (which keeps the words flowing from the left), with a look-ahead at the span's last slot into the
text after it (:class:`~dllm_core.hooks.CausalFluency`); 4 beams ride in the batch (:class:`~dllm_core.hooks
.BeamSearch`) for each span length from 2 tokens shorter to 2 longer, and the causal reading ranks the finished
candidates. On held-out prose it raised the share of 6-word span rewrites a blind reader accepted (bench/RESULTS.md,
"Writer eval"); it costs about 3 forward passes per written token per beam row. Models without a causal reading
(MiniLM) ignore the fluency weight and the length slack and run the beams on their own scores.

``FAST`` is the default ("auto") on such models: FLUENT with one beam per span length, and draft and verify
(``SamplerConfig.speculate``): each step the denoiser's pass drafts the rest of the span and the causal reading
checks the draft in one pass, so several tokens commit per step. About 4-5x faster than FLUENT per 6-word edit
(1-2 s on two CPU cores); in three blind reads of the same 120 spans it was accepted in 14 % of cases against
FLUENT's 18 % (not significant; one beam without the draft read the same as FAST, so the beams are what the
difference is; bench/RESULTS.md, "Fluent path at parallel speed: blind reads").
"""

from __future__ import annotations

from dataclasses import replace

from .config import SamplerConfig
from .limits import MAX_STEPS

FLUENT = dict(steps=MAX_STEPS, block_length=1, fluency=1.0, beams=4, length_slack=2, threshold=None,
              temperature=0.0)

# FLUENT at parallel speed: one beam per span length, and each step commits every token of the denoiser's draft that
# the causal reading agrees with (draft and verify, ``SamplerConfig.speculate``)
FAST = dict(FLUENT, beams=1, speculate=True)

PRESETS = {"fluent": FLUENT, "fast": FAST}


def apply_preset(config: SamplerConfig, name: str) -> SamplerConfig:
    """``config`` with the named preset's settings (a ValueError naming the known presets otherwise)."""
    if name not in PRESETS:
        raise ValueError(f"preset: must be one of {', '.join(PRESETS)}, got {name!r}")
    return replace(config, **PRESETS[name])


WRITING_MODES = ("auto", "fast", "fluent", "parallel")
# "auto" writes fluently (FAST) up to this many tokens: fluent decoding takes a step per token or few, so a long
# insertion ([[256]]) stays parallel
FLUENT_AUTO_MAX_TOKENS = 64


def writing_settings(config: SamplerConfig, mode: str | None, *, can_score: bool, tokens_to_write: int,
                     guided: bool) -> SamplerConfig:
    """The sampler settings for a writing mode. "fluent" / "fast": the FLUENT / FAST preset (the seed kept).
    "parallel": ``config`` as it is. "auto" (or None): FAST on models with a causal reading, for at most
    FLUENT_AUTO_MAX_TOKENS tokens to write, without guidance and without re-noising the draft (those were tuned and
    measured in parallel mode)."""
    mode = mode or "auto"
    if mode not in WRITING_MODES:
        raise ValueError(f"writing: must be one of {', '.join(WRITING_MODES)}, got {mode!r}")
    if mode == "parallel":
        return config
    if mode == "auto" and (not can_score or guided or config.strength > 0
                           or not 0 < tokens_to_write <= FLUENT_AUTO_MAX_TOKENS):
        return config
    return apply_preset(config, "fluent" if mode == "fluent" else "fast")
