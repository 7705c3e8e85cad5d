"""The writing actions, by name: shorten, rephrase, tone (:mod:`writing.shorten`, :mod:`writing.rephrase`,
:mod:`writing.tone`), rewrite and fill (:mod:`writing.rewrite`). Each returns an :class:`ActionResult` with ``k``
alternatives, drafted in one batched sampler run where the sampler writes, and ordered best first by
:func:`dllm_core.ranking.rank` (the model's causal reading where it has one; the sampler's order otherwise); every
alternative is fact-checked against the draft (:mod:`writing.facts`). :func:`run_action` dispatches by name (the
web app, the command line and batch jobs call it).

An action turns the draft (or a selection of it, given as character offsets) into edit markup per candidate and lets
the sampler do the writing, or edits the writer's words directly (cuts, synonym swaps, rule edits) and lets the
model read the results. Lengths are counted in words (what a writer counts), not tokens.
"""

from __future__ import annotations

from dllm_core.api import EditError, Editor
from dllm_core.function_words import FUNCTION_WORDS

from .alternatives import MAX_ALTERNATIVES, ActionResult, Alternative, action_config, sampling_temperature
from .rephrase import rephrase
from .rewrite import fill, rewrite
from .shorten import shorten
from .tone import TONES, tone
from .words import Word, build_markup, count_words, escape, parse_target, words_of

ACTIONS = ("shorten", "rephrase", "tone", "rewrite", "fill")


def run_action(editor: Editor, action: str, text: str, **kwargs) -> ActionResult:
    """Dispatch by name: ``shorten`` (target=...), ``rephrase`` (strength=...), ``tone`` (attribute=, target=),
    ``rewrite`` and ``fill`` (a selection; :mod:`writing.rewrite`)."""
    if action not in ACTIONS:
        raise EditError(f"unknown action {action!r}; choose one of {', '.join(ACTIONS)}")
    return {"shorten": shorten, "rephrase": rephrase, "tone": tone, "rewrite": rewrite,
            "fill": fill}[action](editor, text, **kwargs)


__all__ = ["ACTIONS", "FUNCTION_WORDS", "MAX_ALTERNATIVES", "TONES", "ActionResult", "Alternative", "Word",
           "action_config", "build_markup", "count_words", "escape", "fill", "parse_target", "rephrase", "rewrite",
           "run_action", "sampling_temperature", "shorten", "tone", "words_of"]
