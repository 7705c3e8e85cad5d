"""Guidance options of ``python -m dllm_core edit`` and ``batch`` (the command line, :mod:`cli`, imports this module
when it is installed)."""

from __future__ import annotations

import argparse

from dllm_core.api import EditError

from .classifier import available_attributes
from .edit import guided_edit
from .options import GuidanceOptions, default_strength

DEFAULTS = GuidanceOptions()


def _ratio(text: str) -> float:
    """``0.7``, ``70%`` -> 0.7"""
    text = text.strip()
    try:
        return float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a fraction such as 0.7 or 70%, got {text!r}") from exc


def add_guidance_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("guidance")
    group.add_argument("--require", action="append", default=[], metavar="WORD",
                       help="a word or phrase that must appear in the edited spans (repeatable)")
    group.add_argument("--ban", action="append", default=[], metavar="WORD",
                       help="a word or phrase never to generate, in any spelling or case (repeatable)")
    group.add_argument("--attribute", default=None, metavar="NAME=TARGET",
                       help="steer toward an attribute class, e.g. sentiment=positive")
    group.add_argument("--guidance-strength", type=float, default=None, metavar="G",
                       help=f"classifier guidance strength (default with --attribute: {default_strength():g}, or "
                            f"{default_strength(exact=False):g} with --gradient-guidance; 0: off)")
    group.add_argument("--exact-guidance", action="store_true",
                       help="rescore the top-k candidates with the classifier (the default mode; kept for scripts)")
    group.add_argument("--gradient-guidance", action="store_true",
                       help="use the first-order gradient term instead of exact rescoring (cheaper, weaker: "
                            "see bench/GUIDANCE.md)")
    group.add_argument("--guidance-top-k", type=int, default=DEFAULTS.top_k, metavar="K",
                       help="candidates for --exact-guidance")
    group.add_argument("--cfg", type=float, default=DEFAULTS.cfg, metavar="W",
                       help="classifier-free guidance scale: follow the fixed text (prompt) harder (0: off)")
    group.add_argument("--length-target", type=_ratio, default=DEFAULTS.length_target, metavar="R",
                       help="[[...|auto]] spans: target length, as a fraction or percent of the original "
                            "(e.g. 70%% to shorten by about 30%%)")
    group.add_argument("--length-spread", type=_ratio, default=DEFAULTS.length_spread, metavar="S",
                       help="[[...|auto]] spans: try lengths from target - S to target + S")
    group.add_argument("--length-candidates", type=int, default=DEFAULTS.length_candidates, metavar="K",
                       help="[[...|auto]] spans: how many candidate lengths to score")


def options_from_args(args: argparse.Namespace) -> GuidanceOptions:
    attribute = target = None
    if args.attribute:
        if "=" not in args.attribute:
            known = "; ".join(f"{k}={'|'.join(v)}" for k, v in available_attributes().items()) or "none installed"
            raise EditError(f"--attribute needs NAME=TARGET (available: {known})")
        attribute, target = (x.strip() for x in args.attribute.split("=", 1))
    strength = args.guidance_strength
    if strength is None:
        strength = default_strength(exact=not args.gradient_guidance) if attribute else 0.0
    return GuidanceOptions(require=list(args.require), ban=list(args.ban), attribute=attribute, target=target,
                           strength=strength, exact=not args.gradient_guidance, top_k=args.guidance_top_k, cfg=args.cfg,
                           length_target=args.length_target, length_spread=args.length_spread,
                           length_candidates=args.length_candidates)


def run_guided(editor, text: str, config, args: argparse.Namespace):
    """Edit with the guidance flags; returns (EditResult, report dict for the JSON output).

    Without any guidance flag (and no ``|auto`` span) this is exactly ``editor.edit(text, config, n=candidates)``.
    """
    options = options_from_args(args)
    return guided_edit(editor, text, config, options, n=args.candidates)
