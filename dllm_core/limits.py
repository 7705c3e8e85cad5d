"""Every limit the engine enforces, in one place. The markup parser, the sampler settings, the Python API, the CLI
and the web app import these (and word their messages with them), so a limit changes here and nowhere else.

Defaults of the sampler settings live on :class:`dllm_core.config.SamplerConfig`; guidance limits on
:class:`guidance.options.GuidanceOptions`.
"""

from __future__ import annotations

# ------------------------------------------------------------------------------------------------ input
MAX_DRAFT_CHARS = 50_000  # characters of markup
MAX_DRAFT_BYTES = 4 * MAX_DRAFT_CHARS  # UTF-8 bytes: no draft within the character limit is longer (files, JSONL)
MAX_CANVAS_TOKENS = 16_384  # tokens of the draft plus every edited span
MAX_SPAN_TOKENS = 1024  # [[N]] and [[words|N]]: N in 1..MAX_SPAN_TOKENS
MAX_LENGTH_PERCENT = 400.0  # [[words|P%]]: P in (0, MAX_LENGTH_PERCENT]
MAX_CANDIDATES = 16  # results sampled in one batch

# ------------------------------------------------------------------------------------------------ sampler settings
MAX_STEPS = 1024
MAX_TEMPERATURE = 10.0
MAX_BLOCK_LENGTH = 4096
MAX_REPETITION_PENALTY = 5.0
MAX_FLUENCY = 4.0  # weight of the causal reading in fluency guidance
MAX_BEAMS = 8  # beams per span length
MAX_LENGTH_SLACK = 3  # tokens shorter / longer tried for a rewrite span
MAX_CONTEXT = 8192  # tokens of draft context each side of the edited positions
# token editing (SamplerConfig.editing_threshold): passes after a canvas's last mask in which generated tokens may
# still be replaced; the run stops earlier when a pass edits nothing
EDIT_PASSES = 2

# ------------------------------------------------------------------------------------------------ work per request
# A request's work is counted in token-steps: the tokens the model reads per step (every window of every canvas of the
# batch, and every extra variant a hook adds, such as classifier-free guidance's) times the steps it takes. With the
# embedded model (int8) on 2 CPU cores one token-step costs 0.3-0.6 ms (issue 15: `Once upon a time [[1024]]` at 256
# steps reads 1,670 tokens a step, 427 k token-steps, and took 248 s), so the CPU budget holds one request to well
# under a minute there; it allows [[1024]] at 32 steps or [[256]] at 192. The web app and the CLI apply these budgets
# (Editor(max_work=...)); the Python API has none unless asked.
MAX_WORK_CPU = 65_536
MAX_WORK_GPU = 1_048_576
# Memory: positions whose vocabulary logits one reading holds at a time (x the vocabulary, float32: 1,024 x 49,152 is
# 200 MB; dllm_core.adapter.target_log_probs). The judge's reading of a batch never holds the logits of every position
# at once (issue 24: Shorten and Rephrase of a 10,000-character draft passed 9 GB).
LOGIT_CHUNK = 1024


def work_limit(device_type: str) -> int:
    """The work budget of one request on a device of this type ("cpu", "cuda", "mps", ...)."""
    return MAX_WORK_CPU if device_type == "cpu" else MAX_WORK_GPU


# ------------------------------------------------------------------------------------------------ serving
# Step batching (dllm_core.batching): the requests running on one model share one forward pass per step. A pass
# holds at most this many padded tokens (rows x length); a request's step over BATCH_BULK_TOKENS (a long generation,
# many candidates) runs on a second worker so that small edits do not wait for it. A server lets this many requests
# run at once on a batched model; its queue holds the rest. On a CPU few: the model is not what limits a burst of
# small edits there, the page's per-step streaming is, and it grows with the runs streaming at once (bench/RESULTS.md,
# "Serving load"); 4 lets small edits run beside a long one. The GPU figure is not measured yet.
BATCH_PASS_TOKENS_CPU = 4_096
BATCH_PASS_TOKENS_GPU = 65_536
BATCH_BULK_TOKENS = 1_024
SERVING_CONCURRENCY_CPU = 4
SERVING_CONCURRENCY_GPU = 16
# A run on a server ends after this many seconds of its own (queueing not counted), as Stop ends it: what it wrote so
# far is shown and the draft is kept. The work budget bounds a request's size; this bounds its time on a machine that
# a burst of other requests has slowed down.
RUN_SECONDS_CPU = 180
RUN_SECONDS_GPU = 60


def run_seconds(device_type: str) -> int:
    """The wall-clock limit of one run on a server, on a device of this type."""
    return RUN_SECONDS_CPU if device_type == "cpu" else RUN_SECONDS_GPU
