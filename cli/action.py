"""``python -m dllm_core action shorten|rephrase|tone|rewrite|fill TEXT``: the writing actions (:mod:`writing.actions`)
on the command line. Prints the best alternative (``--alternatives K`` prints K, best first; ``--json`` one
object)."""

from __future__ import annotations

import argparse
import json
import sys

from dllm_core.config import SamplerConfig
from dllm_core.presets import WRITING_MODES
from writing.actions import ACTIONS, MAX_ALTERNATIVES, TONES, sampling_temperature


def add_action_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("action", help="shorten, rephrase, change the tone, rewrite or fill a text or a span of it",
                       description="Writing actions: shorten to a length (--target 12 words or 70%%), rephrase "
                                   "(--strength), tone (--attribute formal|casual|friendly|confident, or "
                                   "sentiment=positive on models with a classifier only): names, numbers and "
                                   "capitalised words are kept. On a span (--span WORDS or --selection START:END): "
                                   "rewrite (the same meaning in other words; declines when it finds none) or fill "
                                   "(new words in its place; declines when none reads well).")
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("text", help="the text ('-' reads standard input)")
    p.add_argument("--target", default="70%", help="shorten: words (12) or a share (70%%, 0.7); default 70%%")
    p.add_argument("--strength", type=float, default=0.5, help="rephrase/tone: share of the words re-written")
    p.add_argument("--attribute", default=None, metavar="TONE",
                   help="tone: formal (default), casual, friendly or confident; or NAME=TARGET of a classifier "
                        "(sentiment=positive: the guidance demo)")
    p.add_argument("--all-facts", action="store_true",
                   help="also offer alternatives that fail the fact check (marked); by default they are withheld")
    p.add_argument("--selection", default=None, metavar="START:END", help="act on these character offsets only")
    p.add_argument("--span", default=None, metavar="WORDS", help="act on the first place the text has these words")
    p.add_argument("--keep", action="append", default=[], metavar="WORD", help="a word every alternative keeps")
    p.add_argument("--alternatives", "-k", type=int, default=1, help=f"how many to return (1..{MAX_ALTERNATIVES})")
    p.add_argument("--method", choices=("auto", "cut", "repair", "swap", "renoise"), default="auto",
                   help="shorten: cut (delete whole words and phrases, keeping the writer's wording) or repair "
                        "(delete words, re-write the seams); rephrase: swap (single words for ones that mean the "
                        "same) or renoise (re-write a share of the words); auto: cut / swap on models with a causal "
                        "reading (smollm2-dlm), repair / renoise otherwise")
    p.add_argument("--writing", choices=WRITING_MODES, default="auto",
                   help="fast: left to right with the model's causal reading, several tokens a step where it agrees "
                        "with the denoiser's draft (auto: on models with one, i.e. smollm2-dlm); fluent: the same "
                        "one token a step with 2 beams per draft; parallel: --steps and --temperature apply")
    p.add_argument("--steps", type=int, default=16, help="parallel writing only")
    p.add_argument("--temperature", type=float, default=None,
                   help=f"parallel writing only; default: 0 for one, {sampling_temperature(2):g} for alternatives")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--max-work", type=int, default=None, metavar="N",
                   help="token-steps one sampler run may ask for (default: the device's budget; 0: no limit)")
    p.add_argument("--json", action="store_true")
    return p


def run_action_command(args) -> int:
    from dllm_core.adapter import ModelLoadError  # noqa: PLC0415
    from dllm_core.api import EditError, Editor  # noqa: PLC0415
    from writing.actions import action_config, run_action  # noqa: PLC0415

    from dllm_core.api import check_draft_length  # noqa: PLC0415
    from dllm_core.limits import MAX_DRAFT_BYTES, MAX_DRAFT_CHARS, work_limit  # noqa: PLC0415

    from .main import decode_draft, fail  # noqa: PLC0415 (main imports this module)

    try:  # the draft's limit before a model loads (standard input is read up to it, not whole)
        if args.text == "-":
            data = sys.stdin.buffer.read(MAX_DRAFT_BYTES + 1)
            if len(data) > MAX_DRAFT_BYTES:
                raise ValueError(f"standard input is over {MAX_DRAFT_BYTES:,} bytes; the limit is "
                                 f"{MAX_DRAFT_CHARS:,} characters")
            text = decode_draft(data, "standard input")
        else:
            text = args.text
        check_draft_length(text)
        if args.max_work is not None and args.max_work < 0:
            raise ValueError(f"--max-work must be 0 (no limit) or more, got {args.max_work}")
    except ValueError as exc:  # EditError is a ValueError
        return fail(str(exc))
    temperature = args.temperature if args.temperature is not None else sampling_temperature(args.alternatives)
    config = SamplerConfig(steps=args.steps, temperature=temperature, seed=args.seed)
    try:
        config.validate()
    except ValueError as exc:
        return fail(str(exc))
    kwargs: dict = {"k": args.alternatives, "seed": args.seed}
    if args.action != "fill":
        kwargs["keep"] = tuple(args.keep)
    if args.action not in ("rewrite", "fill"):
        kwargs["config"] = config
    if args.selection and args.span:
        return fail("give --selection or --span, not both")
    if args.selection:
        try:
            a, b = (int(x) for x in args.selection.split(":"))
        except ValueError:
            return fail(f"--selection: expected START:END character offsets, got {args.selection!r}")
        kwargs["selection"] = (a, b)
    if args.span:
        where = text.find(args.span)
        if where < 0 or not args.span.strip():
            return fail(f"--span: the text does not contain {args.span!r}")
        kwargs["selection"] = (where, where + len(args.span))
    methods = {"shorten": ("auto", "cut", "repair"), "rephrase": ("auto", "swap", "renoise"), "tone": ("auto",),
               "rewrite": ("auto",), "fill": ("auto",)}
    if args.method not in methods[args.action]:
        return fail(f"--method {args.method} does not apply to {args.action}; choose one of "
                    f"{', '.join(methods[args.action])}")
    if args.action in ("shorten", "rephrase"):
        kwargs["method"] = args.method
    if args.action == "shorten":
        kwargs["target"] = args.target
    elif args.action in ("rephrase", "tone"):
        kwargs["strength"] = args.strength
    if args.action == "tone":
        if args.attribute and "=" in args.attribute:  # a classifier's class: the guidance demo
            kwargs["attribute"], kwargs["target"] = (x.strip() for x in args.attribute.split("=", 1))
        else:
            kwargs["attribute"] = args.attribute or "formal"
            if kwargs["attribute"] not in TONES:
                return fail(f"--attribute: choose a tone ({', '.join(TONES)}) or NAME=TARGET of a classifier, "
                            f"got {args.attribute!r}")
    if args.all_facts and args.action != "fill":  # fill reports the fact check and withholds nothing for it
        kwargs["check_facts"] = False
    try:
        editor = Editor.load(args.model, device=args.device)
    except ModelLoadError as exc:
        return fail(str(exc), 3)
    budget = work_limit(editor.adapter.device.type) if args.max_work is None else args.max_work
    editor.max_work = budget or None  # the sampler's work budget, as `edit` applies it
    try:
        if args.writing != "parallel" and "config" in kwargs:
            kwargs["config"] = action_config(editor, args.alternatives, args.seed, args.writing)
        result = run_action(editor, args.action, text, **kwargs)
    except EditError as exc:
        return fail(str(exc))
    if args.json:
        json.dump({**result.to_json(), "model": editor.adapter.name}, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for alt in result.alternatives:
            print(alt.text)
            if alt.facts and alt.facts["says"]:  # what the fact check found (shorten may drop some detail)
                print(f"  ({'!' if not alt.facts['ok'] else ''}{alt.facts['says']})", file=sys.stderr)
            if alt.gate:  # fill: why the gate let it through
                print(f"  ({alt.gate['why']})", file=sys.stderr)
        if result.target_words is not None:
            print(f"({result.words_before} -> {result.words_after} words; target {result.target_words})",
                  file=sys.stderr)
        if result.note:  # e.g. why shorten stopped short of the target
            print(f"({result.note})", file=sys.stderr)
    return 0
