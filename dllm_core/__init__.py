"""The engine of masked-diffusion text editing: markup -> canvas -> sampler (with hooks) -> trajectory -> result.

Modules: ``markup`` (the edit language), ``canvas`` (tokens with their states and draft offsets), ``spelling`` and
``detok`` (how a tokenizer spells text, and readable text back from tokens), ``adapter`` (the model: mask id,
framing, logits, its causal reading), ``shifted`` and ``basemodel`` (a causal LM made a diffusion LM, and the SmolLM2
base weights), ``windows`` (what the model reads each step), ``scheduler`` (which masks become tokens when),
``hooks`` (the way in for guidance, and the default rules), ``state`` (what hooks share), ``sampler`` (the loop),
``batching`` (one forward pass per step for concurrent requests), ``trajectory`` (what a run leaves), ``ranking``
(candidates best first by the causal reading), ``gate`` (does a span rewrite read well), ``function_words``,
``api`` (:class:`Editor`: canvases before the loop, ranking after it), ``presets``, ``config`` and ``limits``
(settings and their bounds).

The engine imports nothing from the layers built on it: the writing actions (``writing``), the command line and
batch jobs (``cli``; ``python -m dllm_core`` only launches it), ``guidance`` and the web app (``ui``, ``app.py``).
"""

from importlib import import_module

# Names load on first use (PEP 562), so that a script needing one light module (``dllm_core.basemodel`` in a bare
# training image, say) does not import the whole engine and its settings' dependencies (pydantic).
_HOMES = {
    "ALLOWED_MODELS": "adapter", "ModelAdapter": "adapter", "ModelLoadError": "adapter",
    "EditError": "api", "Editor": "api", "EditResult": "api", "Canvas": "canvas", "TokenState": "canvas",
    "SamplerConfig": "config", "MarkupError": "markup", "Segment": "markup", "parse": "markup",
    "SamplerHook": "hooks", "Sampler": "sampler", "StepEvent": "sampler", "UnmaskingScheduler": "scheduler",
    "SamplerState": "state",
}


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "ALLOWED_MODELS", "Canvas", "EditError", "EditResult", "Editor", "MarkupError", "ModelAdapter", "ModelLoadError",
    "SamplerConfig", "Sampler", "SamplerHook", "SamplerState", "Segment", "StepEvent", "TokenState",
    "UnmaskingScheduler", "parse",
]
assert set(__all__) == set(_HOMES)
