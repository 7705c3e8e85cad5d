"""The tests' one way of asking for a model's own code to run (the user's ``--trust-remote-code``)."""

from __future__ import annotations

from dllm_core.adapter import ALLOWED_MODELS


def opt_in(hub_id: str) -> bool:
    """The user's explicit choice to run a model's own code, made only where the allowlist says the model needs it:
    an id off the allowlist raises KeyError before anything loads. (The tests that check a refusal pass the flag
    themselves: the loader must refuse even when it is asked.)"""
    return ALLOWED_MODELS[hub_id].needs_remote_code
