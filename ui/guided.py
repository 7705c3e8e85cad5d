"""Everything the page knows about the guidance package (required / banned words, attributes, CFG, auto length).
The package lands separately: when it is not importable, its controls are disabled and a run that asks for it gets
a message."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from dllm_core import EditError, Editor, SamplerConfig
from dllm_core.markup import has_auto_length

try:
    import guidance
except ImportError:
    guidance = None

NO_ATTRIBUTE = "none"
log = logging.getLogger("dllm_app")


def guidance_available() -> bool:
    return guidance is not None and hasattr(guidance, "guided_stream")


def guidance_attributes() -> list[str]:
    """Dropdown choices "name=target" from the shipped classifiers, e.g. "sentiment=positive"."""
    if not guidance_available():
        return [NO_ATTRIBUTE]
    try:
        table = guidance.available_attributes()
    except Exception:  # a broken classifier directory must not take the page down
        log.exception("listing guidance attributes failed")
        table = {}
    return [NO_ATTRIBUTE, *(f"{name}={target}" for name, targets in table.items() for target in targets)]


def default_attribute_strength() -> float:
    """The strength an attribute starts at when picked (the guidance package's default for exact rescoring)."""
    from guidance.options import default_strength  # noqa: PLC0415 (only called when guidance is available)

    return default_strength()


def parse_words(text: str) -> list[str]:
    """Comma- or newline-separated words and phrases."""
    return [w.strip() for w in re.split(r"[,\n]", text or "") if w.strip()]


def guidance_wanted(draft: str, required: str = "", banned: str = "", attribute: str = NO_ATTRIBUTE,
                    attribute_strength: float = 0.0, cfg_scale: float = 0.0) -> bool:
    """Whether the guidance controls (or an [[...|auto]] span in the draft) ask for a guided run."""
    target = (attribute or NO_ATTRIBUTE).partition("=")[2]
    return bool(parse_words(required) or parse_words(banned) or (target and attribute_strength) or cfg_scale
                or has_auto_length(draft or ""))


def edit_stream(editor: Editor, draft: str, config: SamplerConfig, required: str = "", banned: str = "",
                attribute: str = NO_ATTRIBUTE, attribute_strength: float = 0.0, cfg_scale: float = 0.0,
                length_target: float = 1.0) -> Iterator:
    """StepEvents then the EditResult, guided when any guidance control is set (``result.guidance`` = report)."""
    if not guidance_wanted(draft, required, banned, attribute, attribute_strength, cfg_scale):
        return editor.stream(draft, config)
    require, ban = parse_words(required), parse_words(banned)
    name, _, target = (attribute or NO_ATTRIBUTE).partition("=")
    if not guidance_available():
        raise EditError("guidance is not installed in this build: clear the guidance fields (and |auto) to run")
    options = guidance.GuidanceOptions(require=require, ban=ban, attribute=name if target else None,
                                       target=target or None, strength=float(attribute_strength or 0.0),
                                       cfg=float(cfg_scale or 0.0), length_target=float(length_target))
    return guidance.guided_stream(editor, draft, config, options)


def guidance_summary(report: dict | None) -> str:
    """One line from the guidance report: which constraints hold, the attribute score, chosen lengths."""
    if not report:
        return ""
    parts = [f"“{r['word']}” {'included' if r['holds'] else 'MISSING'}" for r in report.get("require", [])]
    parts += [f"“{r['word']}” {'avoided' if r['holds'] else 'PRESENT'}" for r in report.get("ban", [])]
    attr = report.get("attribute") or {}
    if attr.get("score") is not None:
        parts.append(f"{attr.get('name')}={attr.get('target')}: {attr['score']:.2f}")
    return "guidance: " + "; ".join(parts) if parts else ""
