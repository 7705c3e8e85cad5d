"""Guidance for the masked-diffusion editor: constraints, attribute (classifier) guidance, classifier-free guidance
and automatic span length. Used by the CLI (``python -m dllm_core edit ... --require X``) and the web app.

Public API (everything a surface needs)::

    from dllm_core import Editor, SamplerConfig
    from guidance import GuidanceOptions, guided_edit, guided_stream

    editor = Editor.load()
    options = GuidanceOptions(require=["harbour"], ban=["storm"], attribute="sentiment", target="positive",
                              strength=4.0, cfg=0.0, length_target=0.7)
    result, report = guided_edit(editor, "The [[old pier was battered by the sea|auto]].", SamplerConfig(), options)
    result.text             # the edited text (result.guidance is the report too)
    report["require"]       # [{"word": "harbour", "holds": True, "how": "placed"}]  (how: placed/model/forced)
    report["ban"]           # [{"word": "storm", "holds": True}]
    report["attribute"]     # {"name": "sentiment", "target": "positive", "score": 0.83, ...}  (classifier p(target))
    report["lengths"]       # auto spans: candidate lengths, their scores, the chosen one

    for item in guided_stream(editor, markup, config, options):   # StepEvent after each step, EditResult last
        ...  # item.records[b].signals holds per-step guidance values to chart:
             #   "attribute_p" (classifier p(target) of the canvas), "gamma" (current strength),
             #   "cfg_shift" (mean change of the distribution made by CFG), "placed" (required words placed),
             #   "ban_repairs" (positions repaired)

- ``GuidanceOptions()`` (all defaults) is the unguided engine exactly: ``guided_edit`` then returns the same
  result as ``editor.edit(markup, config, n=n)``.
- Bad options and impossible constraints raise :class:`dllm_core.EditError` (a subclass of ValueError) with a
  user-facing message *before* any denoising, e.g. when the spans have no room for the required words.
- ``available_attributes()`` lists the shipped classifiers and their classes (for a dropdown).
- ``build_hooks(editor, options)`` gives the sampler hooks, for callers that drive ``Editor.stream`` themselves
  (auto lengths then come from ``prepare``).

Modules: ``options`` (what a guided edit asks for), ``edit`` (running it and reporting what held), ``constraints``
(required and banned words), ``classifier`` (attribute guidance), ``cfg`` (classifier-free guidance), ``length``
(auto span length), ``common`` (words made of token pieces), ``limits`` (bounds of the settings), ``cli`` (flags).
"""

from __future__ import annotations

from .cfg import ClassifierFreeGuidance
from .classifier import ClassifierGuidance, available_attributes, get_classifier
from .constraints import BanWords, ConstraintError, RequireWords
from .edit import build_hooks, check_result, guided_edit, guided_stream, prepare
from .length import choose_lengths
from .options import GuidanceOptions

__all__ = [
    "GuidanceOptions", "guided_edit", "guided_stream", "build_hooks", "prepare", "check_result",
    "available_attributes", "get_classifier", "ConstraintError", "RequireWords", "BanWords", "ClassifierGuidance",
    "ClassifierFreeGuidance", "choose_lengths",
]
