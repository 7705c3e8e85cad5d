"""Every limit the engine enforces, in one place. The markup parser, the sampler settings, the Python API, the CLI
and the web app import these (and word their messages with them), so a limit changes here and nowhere else.

Defaults of the sampler settings live on :class:`dllm_core.config.SamplerConfig`; guidance limits on
:class:`guidance.options.GuidanceOptions`.
"""

from __future__ import annotations

# ------------------------------------------------------------------------------------------------ input
MAX_DRAFT_CHARS = 50_000  # characters of markup
MAX_CANVAS_TOKENS = 16_384  # tokens of the draft plus every edited span
MAX_SPAN_TOKENS = 1024  # [[N]] and [[words|N]]: N in 1..MAX_SPAN_TOKENS
MAX_LENGTH_PERCENT = 400.0  # [[words|P%]]: P in (0, MAX_LENGTH_PERCENT]
MAX_CANDIDATES = 16  # results sampled in one batch

# ------------------------------------------------------------------------------------------------ sampler settings
MAX_STEPS = 1024
MAX_TEMPERATURE = 10.0
MAX_BLOCK_LENGTH = 4096
MAX_REPETITION_PENALTY = 5.0
MAX_CONTEXT = 8192  # tokens of draft context each side of the edited positions
