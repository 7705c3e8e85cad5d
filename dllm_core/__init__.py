"""Masked-diffusion text editing: markup -> canvas -> sampler (with guidance hooks) -> trajectory."""

from .adapter import ALLOWED_MODELS, ModelAdapter, ModelLoadError
from .api import EditError, Editor, EditResult
from .canvas import Canvas, TokenState
from .config import SamplerConfig
from .markup import MarkupError, Segment, parse
from .sampler import Sampler, SamplerHook, SamplerState, StepEvent

__all__ = [
    "ALLOWED_MODELS", "Canvas", "EditError", "EditResult", "Editor", "MarkupError", "ModelAdapter", "ModelLoadError",
    "SamplerConfig", "Sampler", "SamplerHook", "SamplerState", "Segment", "StepEvent", "TokenState", "parse",
]
