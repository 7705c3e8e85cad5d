"""Masked-diffusion text editing: markup -> canvas -> sampler (with guidance hooks) -> trajectory.

Modules: ``markup`` (the edit language), ``canvas`` (tokens with their states and draft offsets), ``adapter`` (the
model: mask id, framing, logits), ``windows`` (what the model reads each step), ``scheduler`` (which masks become
tokens when), ``hooks`` (the way in for guidance, and the default rules), ``state`` (what hooks share), ``sampler``
(the loop), ``trajectory`` (what a run leaves), ``api`` (:class:`Editor`), ``config`` and ``limits`` (settings and
their bounds).
"""

from .adapter import ALLOWED_MODELS, ModelAdapter, ModelLoadError
from .api import EditError, Editor, EditResult
from .canvas import Canvas, TokenState
from .config import SamplerConfig
from .markup import MarkupError, Segment, parse
from .hooks import SamplerHook
from .sampler import Sampler, StepEvent
from .scheduler import UnmaskingScheduler
from .state import SamplerState

__all__ = [
    "ALLOWED_MODELS", "Canvas", "EditError", "EditResult", "Editor", "MarkupError", "ModelAdapter", "ModelLoadError",
    "SamplerConfig", "Sampler", "SamplerHook", "SamplerState", "Segment", "StepEvent", "TokenState",
    "UnmaskingScheduler", "parse",
]
