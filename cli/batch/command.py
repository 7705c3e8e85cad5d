"""``python -m dllm_core batch IN.jsonl OUT.jsonl``: the command of a batch job (its flags, then
:func:`~cli.batch.job.run_job`)."""

from __future__ import annotations

import argparse
import json
import sys

from dllm_core.adapter import ModelLoadError
from dllm_core.config import ORDERS, SCHEDULES, SamplerConfig, device_setting, is_number, threshold_setting
from writing.actions import sampling_temperature

from ..main import check_arguments, fail
from .job import DEFAULT_BATCH_SIZE, run_job
from .lines import MODES, JobError, LineDefaults, LineError, parse_line
from .runners import WorkerSpec


def add_batch_parser(sub) -> None:
    default = SamplerConfig()
    p = sub.add_parser(
        "batch", help="edit every line of a JSONL file (locally, or on Ray with --ray)",
        description="Each input line is {\"id\": ..., \"text\": markup} with optional per-line steps, seed, "
                    "candidates, temperature, strength, guidance {...}, action (shorten/rephrase/tone) with its "
                    "target, attribute and keep. Flags set the job-wide defaults. Each output line is a result "
                    "or {\"id\", \"line\", \"error\"}; ids already in OUT are skipped (resume).")
    p.add_argument("input", metavar="IN", help="JSONL input ('-' reads standard input)")
    p.add_argument("output", metavar="OUT", help="JSONL output (appended to; ids in it are skipped)")
    p.add_argument("--action", choices=MODES, default="edit", help="what to do with each line (default: edit)")
    p.add_argument("--steps", type=int, default=default.steps)
    p.add_argument("--seed", type=int, default=default.seed)
    p.add_argument("--strategy", "--order", dest="order", choices=ORDERS, default=default.order)
    p.add_argument("--schedule", choices=SCHEDULES, default=default.schedule)
    p.add_argument("--temperature", type=float, default=None,
                   help=f"default 0 (actions with several alternatives: {sampling_temperature(2):g})")
    p.add_argument("--top-p", type=float, default=default.top_p)
    p.add_argument("--block-length", type=int, default=default.block_length)
    p.add_argument("--remask", type=float, default=default.remask)
    p.add_argument("--threshold", type=float, default=default.threshold or 0.0)
    p.add_argument("--repetition-penalty", type=float, default=default.repetition_penalty)
    p.add_argument("--strength", type=float, default=None,
                   help="edits: re-noise this share of the draft (default 0); rephrase/tone: share of the words "
                        "re-written (default 0.5)")
    p.add_argument("--candidates", "-k", type=int, default=1, help="candidates per edit, alternatives per action")
    p.add_argument("--target", default="70%", help="shorten: words (12) or a share (70%%)")
    p.add_argument("--keep", action="append", default=[], metavar="WORD", help="actions: a word to keep")
    p.add_argument("--trajectory", action="store_true", help="write each edit's trajectory too")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N",
                   help=f"lines per batch (default {DEFAULT_BATCH_SIZE})")
    p.add_argument("--overwrite", action="store_true", help="start again: empty OUT instead of resuming")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="a progress bar on stderr (default: when stderr is a terminal)")
    p.add_argument("--max-work", type=int, default=None, metavar="N",
                   help="the most token-steps one line may take (default: the device's budget; 0: no limit)")
    p.add_argument("--model", default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--quantize", choices=("auto", "none", "int8"), default="auto",
                   help="int8 on a CPU by default; 'none' makes each line's result independent of its batch")
    p.add_argument("--allow-download", action="store_true")
    p.add_argument("--trust-remote-code", action="store_true")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="torch threads per model replica (Ray: also the CPUs each worker reserves; default 1: to use "
                        "more cores, run more replicas with --ray local)")
    p.add_argument("--ray", nargs="?", const="auto", default=None, metavar="ADDRESS",
                   help="run on Ray: 'local' starts an instance here, no value joins the running cluster")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="Ray workers, one model replica each (default: as many as the cluster's CPUs allow)")
    p.add_argument("--gpus-per-worker", type=float, default=None, metavar="G",
                   help="Ray: GPUs per worker (default 1 with --device cuda, else 0)")
    try:
        from guidance.cli import add_guidance_arguments  # noqa: PLC0415 (optional package)
    except ImportError:
        p.add_argument("--attribute", default=None, metavar="NAME=TARGET", help="tone: e.g. sentiment=positive")
    else:
        add_guidance_arguments(p)  # its --attribute also sets tone's target


def run_batch_command(args) -> int:
    """``python -m dllm_core batch``: 0 when the job ran (bad lines are error records in OUT), 2 for bad flags or
    files, 3 when the model cannot be loaded."""
    try:
        check_arguments(args)
        config = SamplerConfig(steps=args.steps, schedule=args.schedule, order=args.order, top_p=args.top_p,
                               block_length=args.block_length, remask=args.remask,
                               threshold=threshold_setting(args.threshold), seed=args.seed,
                               repetition_penalty=args.repetition_penalty,
                               temperature=args.temperature or 0.0, strength=0.0)
        config.validate()
        for name in ("temperature", "strength"):
            value = getattr(args, name)
            if value is not None and not is_number(value):
                raise ValueError(f"--{name}: must be a number, got {value!r}")
        if args.max_work is not None and args.max_work < 0:
            raise ValueError(f"--max-work must be 0 (no limit) or more, got {args.max_work}")
        if args.threads is not None and args.threads < 1:
            raise ValueError(f"--threads must be 1 or more, got {args.threads}")
        if args.gpus_per_worker is not None and not (is_number(args.gpus_per_worker) and args.gpus_per_worker >= 0):
            raise ValueError(f"--gpus-per-worker must be 0 or more, got {args.gpus_per_worker}")
        if args.ray is None and (args.workers is not None or args.gpus_per_worker is not None):
            raise ValueError("--workers and --gpus-per-worker are for Ray jobs (add --ray)")
        if args.ray is None:
            device = device_setting(args.device)
        else:  # the workers' machines, not this one, must have it (a worker that lacks it cannot load: status 3)
            device = _device_name(args.device)
        guidance: dict = {}
        if hasattr(args, "require"):
            from guidance.cli import options_from_args  # noqa: PLC0415

            if args.action == "edit":
                options = options_from_args(args).validate()
                guidance = {k: v for k, v in options.to_dict().items() if v != getattr(_guidance_defaults(), k)}
        defaults = LineDefaults(config=config, candidates=args.candidates, action=args.action,
                                temperature=args.temperature, strength=args.strength, target=args.target,
                                attribute=args.attribute, keep=tuple(args.keep), guidance=guidance)
        # the job-wide defaults are checked as a line is: a bad flag is one message, not an error on every line
        probe = {"id": 0, "text": "The [[3]] sat on the mat." if args.action == "edit" else " ".join(["word"] * 9000)}
        if args.action == "tone" and not args.attribute:  # lines may each name their own
            probe["attribute"] = "sentiment=positive"
        parse_line(json.dumps(probe), 0, defaults)
        spec = WorkerSpec(model=args.model, device=device, quantize=args.quantize, allow_download=args.allow_download,
                          trust_remote_code=args.trust_remote_code,
                          max_work="device" if args.max_work is None else args.max_work, threads=args.threads,
                          trajectory=args.trajectory)
    except LineError as exc:
        return fail(f"the job-wide options: {exc}")
    except ValueError as exc:  # EditError, MarkupError and the settings' messages are ValueErrors
        return fail(str(exc))
    try:
        summary = run_job(args.input, args.output, defaults, spec, ray=args.ray, workers=args.workers,
                          gpus=args.gpus_per_worker, batch_size=args.batch_size, overwrite=args.overwrite,
                          progress=args.progress)
    except JobError as exc:
        return fail(str(exc))
    except ModelLoadError as exc:
        return fail(str(exc), 3)
    except KeyboardInterrupt:
        print("stopped: what was written is kept; run the same command again to resume", file=sys.stderr)
        return 130
    note = f", {summary.errors} with errors" if summary.errors else ""
    skipped = f", {summary.skipped} already in {args.output}" if summary.skipped else ""
    print(f"{summary.written} lines{note}{skipped} in {summary.seconds:.1f} s ({summary.lines_per_second:.2f} "
          f"lines/s; {summary.runner})", file=sys.stderr)
    return 0


def _device_name(device: str | None) -> str | None:
    if not device:
        return None
    import torch  # noqa: PLC0415

    try:
        return str(torch.device(device))
    except (RuntimeError, TypeError):
        raise ValueError(f"device: {device!r} is not a device name; use cpu, cuda, cuda:N or mps") from None


def _guidance_defaults():
    from guidance import GuidanceOptions  # noqa: PLC0415

    return GuidanceOptions()
