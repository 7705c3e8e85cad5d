"""Batch editing of a corpus: JSONL in, JSONL out, in this process by default, on a Ray cluster when one machine is
not enough. ``python -m dllm_core batch IN.jsonl OUT.jsonl`` and :func:`run_job` are the same thing.

Each input line is ``{"id": ..., "text": markup}`` with optional per-line options (:data:`LINE_KEYS`); job-wide
defaults come from :class:`LineDefaults` (the command's flags). Each output line is one record: the result (text,
candidates, stats, the trajectory when asked for) or, for a line that cannot be done, ``{"id", "line", "error"}``.
A job resumes: ids already in OUT are skipped, and a partial last record (a job killed mid-write) is dropped.

How the work is cut up (the same plan locally and on Ray, so both write the same results):

1. The driver reads the input in windows of lines, checks every line without a model (as the ``edit`` command does),
   sorts each window by what can share a forward pass and by length, and cuts it into batches of ``batch_size``.
2. A worker (this process, or one Ray actor per model replica, each loading the model once) runs a batch with
   :func:`run_tasks`: plain edits that can share a denoising run go through :func:`edit_many` (one forward pass per
   step for all of them); guided edits and writing actions run one line at a time (each already batches its own
   candidates or alternatives).
3. The driver writes each batch's records as they come back, and only then counts those ids as done.

Which lines share a run (:func:`edit_many`): the point is that a line's result must not depend on its neighbours,
or local and Ray runs, resumed jobs and other batch sizes would disagree. The sampler draws its random numbers from
one generator per run and clamps the step count to the run's longest span, so lines share a run only when their
sampling is deterministic (temperature 0, an order other than random, no remasking, no re-noising strength; the
seed then plays no part) and their settings and clamped step counts are equal. Other lines run alone. In float32
a shared run gives exactly the one-line results; with int8 dynamic quantisation (the CPU default) the activation
scale is computed over the whole batch, so a token can come out differently than in a one-line run: the job is
still reproducible (the same input and flags give the same batches and results, locally and on Ray), and
``quantize="none"`` makes every line's result independent of its batch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from .api import EditError, Editor, EditResult, check_draft, checked
from .canvas import TokenState
from .config import SamplerConfig, is_integer, is_number
from .limits import MAX_CANDIDATES, MAX_DRAFT_CHARS
from .markup import MarkupError, check_text, has_auto_length

LINE_KEYS = ("id", "text", "steps", "seed", "candidates", "temperature", "strength", "guidance", "action", "target",
             "attribute", "keep")
GUIDANCE_KEYS = ("require", "ban", "attribute", "target", "strength", "exact", "top_k", "cfg", "length_target",
                 "length_spread", "length_candidates")
MODES = ("edit", "shorten", "rephrase", "tone")
DEFAULT_BATCH_SIZE = 32  # lines per batch (one worker call; plain edits among them share forward passes)
PLAN_WINDOW = 64  # batches' worth of lines read, sorted and cut at a time (bounds the driver's memory)
MAX_SHARED = 256  # canvases in one shared denoising run (edit_many)
MAX_ATTEMPTS = 3  # tries of a batch whose worker died; then its lines one by one, each with as many tries
MAX_ID_CHARS = 1000
MAX_LINE_BYTES = 4 * MAX_DRAFT_CHARS + 64 * 1024  # UTF-8 of the longest draft plus room for the options


class JobError(ValueError):
    """A problem with the job itself (files, flags, the cluster), worded for the user; the CLI's status 2."""


# ---------------------------------------------------------------------------------------------------- shared runs
def deterministic(config: SamplerConfig) -> bool:
    """Whether a run with ``config`` draws no random numbers (so its seed plays no part)."""
    return (config.temperature == 0 and config.order != "random" and config.remask == 0 and config.strength == 0)


def share_key(config: SamplerConfig) -> tuple | None:
    """What lines must have in common to share a denoising run (besides the clamped step count); None: run alone."""
    if not deterministic(config):
        return None
    return tuple(sorted(asdict(replace(config, seed=0)).items()))


def _clamped_steps(config: SamplerConfig, masked: int) -> int:
    """The steps the sampler will take for a canvas with ``masked`` positions to write (as the scheduler clamps)."""
    return config.steps if config.remask > 0 else max(1, min(config.steps, masked))


def edit_many(editor: Editor, drafts: Sequence[str], configs: SamplerConfig | Sequence[SamplerConfig] | None = None,
              n: int | Sequence[int] = 1, *, return_errors: bool = False, max_shared: int = MAX_SHARED
              ) -> list[EditResult | EditError]:
    """Edit several drafts, sharing forward passes where that leaves each result as it would be alone.

    ``configs`` and ``n`` (candidates) are one for all or one per draft. Returns one :class:`EditResult` per draft,
    in order, equal (in float32) to ``editor.edit(draft, config, n=n)`` but for the timing stats; a bad draft raises
    its :class:`EditError`, or with ``return_errors`` takes its place in the list. Drafts share a run when their
    sampling is deterministic and their settings and clamped step counts are equal (see the module docstring);
    the others run alone; a run holds at most ``max_shared`` canvases. ``editor.max_work`` applies to each draft.
    ``stats.forward_passes`` is the passes the draft took part in; ``stats.seconds`` the wall time of the run it
    shared."""
    from .ranking import rank_order  # noqa: PLC0415
    from .sampler import Sampler  # noqa: PLC0415

    k = len(drafts)
    configs = [configs or SamplerConfig()] * k if not isinstance(configs, (list, tuple)) else list(configs)
    ns = [n] * k if not isinstance(n, (list, tuple)) else list(n)
    if len(configs) != k or len(ns) != k:
        raise ValueError("edit_many: give one config and one n for all drafts, or one per draft")
    out: list[EditResult | EditError | None] = [None] * k
    runs: dict[object, list[tuple[int, list]]] = {}
    for i, (draft, config, m) in enumerate(zip(drafts, configs, ns)):
        try:
            config = configs[i] = checked(config)
            if not is_integer(m) or not 1 <= m <= MAX_CANDIDATES:
                raise EditError(f"candidates must be in 1..{MAX_CANDIDATES}, got {m!r}")
            base = editor.canvas(draft, config)
            canvases = [base.copy() for _ in range(m)]
            editor.check_work(canvases, config)
        except EditError as exc:
            if not return_errors:
                raise
            out[i] = exc
            continue
        key = share_key(config)
        key = ("alone", i) if key is None else (key, _clamped_steps(config, len(base.positions(TokenState.MASKED))))
        while sum(len(c) for _, c in runs.get(key, [])) + len(canvases) > max_shared and key in runs:
            key = (key, "more")  # this run is full: the next one with the same settings
        runs.setdefault(key, []).append((i, canvases))
    for members in runs.values():
        config = configs[members[0][0]]
        canvases = [c for _, group in members for c in group]
        sampler = Sampler(editor.adapter, config)
        trajectories = sampler.sample(canvases)
        at = 0
        for i, group in members:
            trajs = [_until_written(t) for t in trajectories[at : at + len(group)]]
            at += len(group)
            texts = [c.render(editor.tokenizer) for c in group]
            order, scores = rank_order(editor.adapter, texts)
            texts, group, trajs = ([x[j] for j in order] for x in (texts, group, trajs))
            steps = max(len(t) for t in trajs)
            stats = replace(sampler.stats, forward_passes=steps, steps=steps,
                            generated_tokens=sum(len(c.positions(TokenState.GENERATED)) for c in group))
            out[i] = EditResult(texts[0], drafts[i], trajs[0], group[0], stats, editor.adapter.name, configs[i],
                                texts, scores=scores)
    return out  # type: ignore[return-value]


def _until_written(trajectory: list) -> list:
    """A canvas's records up to the step that wrote its last mask: a one-canvas run stops there, a shared run goes
    on while other canvases still have masks (and, without remasking, changes nothing in this one)."""
    for s, record in enumerate(trajectory):
        if TokenState.MASKED not in record.states:
            return trajectory[: s + 1]
    return trajectory


# ---------------------------------------------------------------------------------------------------- lines
@dataclass
class LineDefaults:
    """Job-wide defaults of the per-line options (the flags of ``python -m dllm_core batch``).

    ``strength`` is what it is in the matching command: the re-noised share of the draft for edits (default 0), the
    re-written share of the words for rephrase and tone (default 0.5). ``temperature`` None: 0 for edits, and for
    actions 0.7 with several alternatives, 0 for one (as ``action``). ``guidance``: GuidanceOptions fields
    (see :data:`GUIDANCE_KEYS`) for edits."""

    config: SamplerConfig = field(default_factory=SamplerConfig)
    candidates: int = 1
    action: str = "edit"  # or shorten, rephrase, tone
    temperature: float | None = None
    strength: float | None = None
    target: str | int | float = "70%"  # shorten: words or a share
    attribute: str | None = None  # tone: NAME=TARGET
    keep: tuple[str, ...] = ()  # actions: words every alternative keeps
    guidance: dict = field(default_factory=dict)


@dataclass
class Task:
    """One checked input line, ready for a worker."""

    line: int  # 1-based line number in the input
    id: str | int
    text: str
    config: SamplerConfig
    n: int = 1  # candidates (alternatives for actions)
    action: str = "edit"
    action_args: dict = field(default_factory=dict)
    guidance: object | None = None  # guidance.GuidanceOptions for a guided edit

    @property
    def shares(self) -> bool:
        return self.action == "edit" and self.guidance is None and share_key(self.config) is not None

    def sort_key(self) -> tuple:
        """Lines that can share a run together, then by length (similar canvases pad little)."""
        group = repr(share_key(self.config)) if self.shares else f"~{self.action}"
        return (group, len(self.text), self.line)


class LineError(ValueError):
    def __init__(self, message: str, id_: str | int | None = None):
        super().__init__(message)
        self.id = id_


def error_record(line: int, id_: str | int | None, message: str) -> dict:
    return {"id": id_, "line": line, "error": message}


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def parse_line(data: bytes | str, line: int, defaults: LineDefaults | None = None) -> Task | None:
    """Check one input line without a model, as the ``edit`` command checks its input; None for a blank line. A
    :class:`LineError` (with the id when the line has a usable one) says what is wrong."""
    defaults = defaults or LineDefaults()
    if isinstance(data, bytes):
        if len(data) > MAX_LINE_BYTES:
            raise LineError(f"the line is {len(data):,} bytes; the limit is {MAX_LINE_BYTES:,}")
        try:
            text = data.decode("utf-8-sig" if line == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise LineError(f"not valid UTF-8: byte 0x{data[exc.start]:02x} at byte {exc.start}") from None
    else:
        text = data
    if not text.strip():
        return None
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise LineError(f"not a JSON object: {str(exc).splitlines()[0]}") from None
    if not isinstance(obj, dict):
        raise LineError(f"expected a JSON object with \"id\" and \"text\", got {type(obj).__name__}")
    id_ = obj.get("id")
    if not (is_integer(id_) or isinstance(id_, str) and 0 < len(id_) <= MAX_ID_CHARS):
        raise LineError(f"\"id\" must be a string of 1..{MAX_ID_CHARS} characters or an integer, got {id_!r:.60}")
    if isinstance(id_, str):
        try:
            check_text(id_, "the id")
        except MarkupError as exc:
            raise LineError(str(exc)) from None
    try:
        return _task(obj, line, id_, defaults)
    except (ValueError, TypeError) as exc:  # EditError, MarkupError, the settings' ValueErrors
        raise LineError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, id_) from None


def _task(obj: dict, line: int, id_: str | int, defaults: LineDefaults) -> Task:
    from .actions import MAX_ALTERNATIVES, count_words, parse_target  # noqa: PLC0415

    unknown = sorted(set(obj) - set(LINE_KEYS))
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}; a line may have {', '.join(LINE_KEYS)}")
    if "text" not in obj:
        raise ValueError("the line has no \"text\"")
    text = obj["text"]
    if not isinstance(text, str):
        raise ValueError(f"\"text\" must be a string, got {type(text).__name__}")
    action = obj.get("action", defaults.action)
    if action is None:
        action = "edit"
    if action not in MODES:
        raise ValueError(f"action: must be one of {', '.join(MODES)}, got {action!r:.60}")
    for key in ("steps", "seed", "candidates"):
        if key in obj and not is_integer(obj[key]):
            raise ValueError(f"{key}: must be an integer, got {obj[key]!r:.60}")
    for key in ("temperature", "strength"):
        if key in obj and not is_number(obj[key]):
            raise ValueError(f"{key}: must be a number, got {obj[key]!r:.60}")
    n = obj.get("candidates", defaults.candidates)
    temperature = obj.get("temperature", defaults.temperature)
    strength = obj.get("strength", defaults.strength)
    config = replace(defaults.config, steps=obj.get("steps", defaults.config.steps),
                     seed=obj.get("seed", defaults.config.seed))
    if action == "edit":
        check_draft(text)
        if temperature is not None:
            config = replace(config, temperature=temperature)
        if strength is not None:
            config = replace(config, strength=strength)
        config.validate()
        if not 1 <= n <= MAX_CANDIDATES:
            raise ValueError(f"candidates: must be in 1..{MAX_CANDIDATES}, got {n}")
        for key in ("target", "attribute", "keep"):
            if key in obj:
                raise ValueError(f"{key!r} is an option of the actions; this line is an edit (set \"action\")")
        guidance = _guidance(obj.get("guidance"), defaults.guidance, text)
        return Task(line, id_, text, config, n, guidance=guidance)
    # a writing action: plain text in, alternatives out
    check_text(text, "the text")
    if not text.strip():
        raise ValueError("the text is empty")
    if len(text) > MAX_DRAFT_CHARS:
        raise ValueError(f"the text is {len(text):,} characters; the limit is {MAX_DRAFT_CHARS:,}")
    if "guidance" in obj:
        raise ValueError("\"guidance\" is an option of edits; tone steers with \"attribute\"")
    if not 1 <= n <= MAX_ALTERNATIVES:
        raise ValueError(f"candidates: an action gives 1..{MAX_ALTERNATIVES} alternatives, got {n}")
    config = replace(config, strength=0.0,
                     temperature=temperature if temperature is not None else (0.7 if n > 1 else 0.0))
    config.validate()
    args: dict = {"k": n, "config": config, "seed": config.seed, "keep": tuple(_words(obj.get("keep", defaults.keep),
                                                                                        "keep"))}
    if action == "shorten":
        target = obj.get("target", defaults.target)
        if not (isinstance(target, str) or is_number(target)):
            raise ValueError(f"target: words (12) or a share (0.7, \"70%\"), got {target!r:.60}")
        parse_target(target, count_words(text))  # a target out of range is refused here, before any model
        args["target"] = target
        if "strength" in obj:
            raise ValueError("\"strength\" is an option of edits, rephrase and tone, not of shorten")
    else:
        share = 0.5 if strength is None else strength
        if not 0 < share <= 1:
            raise ValueError(f"strength: the share of words to re-write must be in (0, 1], got {share}")
        args["strength"] = share
    if action == "tone":
        from .actions import TONES  # noqa: PLC0415

        attribute = obj.get("attribute", defaults.attribute) or "formal"
        if not isinstance(attribute, str) or ("=" not in attribute and attribute not in TONES):
            raise ValueError(f"tone needs \"attribute\": one of {', '.join(TONES)}, or \"NAME=TARGET\" of a "
                             "classifier, e.g. sentiment=positive")
        check_text(attribute, "attribute")
        if "=" in attribute:
            args["attribute"], args["target"] = (x.strip() for x in attribute.split("=", 1))
        else:
            args["attribute"] = attribute
    elif "attribute" in obj:
        raise ValueError(f"\"attribute\" is an option of tone, not of {action}")
    if action != "shorten" and "target" in obj:
        raise ValueError(f"\"target\" is an option of shorten, not of {action}")
    return Task(line, id_, text, config, n, action, args)


def _words(value, name: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(w, str) for w in items):
        raise ValueError(f"{name}: a word or a list of words, got {value!r:.60}")
    for w in items:
        check_text(w, name)
    return list(items)


def _guidance(line_options, defaults: dict, text: str):
    """GuidanceOptions for a guided edit (job defaults, then the line's own), or None for a plain edit."""
    if line_options is not None and not isinstance(line_options, dict):
        raise ValueError(f"guidance: a JSON object of {', '.join(GUIDANCE_KEYS)}, got {type(line_options).__name__}")
    merged = {**defaults, **(line_options or {})}
    if not merged and not has_auto_length(text):
        return None
    try:
        from guidance import GuidanceOptions  # noqa: PLC0415 (optional package)
    except ImportError:
        raise ValueError("guidance and [[...|auto]] spans need the guidance package, which is not installed") from None
    unknown = sorted(set(merged) - set(GUIDANCE_KEYS))
    if unknown:
        raise ValueError(f"guidance: unknown option {unknown[0]!r}; use {', '.join(GUIDANCE_KEYS)}")
    for key in ("require", "ban"):
        if key in merged:
            merged[key] = _words(merged[key], f"guidance {key}")
    for key in ("attribute", "target"):
        if key in merged and merged[key] is not None:
            if not isinstance(merged[key], str):
                raise ValueError(f"guidance {key}: must be text, got {merged[key]!r:.60}")
            check_text(merged[key], f"guidance {key}")
    if isinstance(merged.get("attribute"), str) and "=" in merged["attribute"]:
        merged["attribute"], merged["target"] = (x.strip() for x in merged["attribute"].split("=", 1))
    for key in ("strength", "cfg", "length_target", "length_spread"):
        if key in merged and not is_number(merged[key]):
            raise ValueError(f"guidance {key}: must be a number, got {merged[key]!r:.60}")
    for key in ("top_k", "length_candidates"):
        if key in merged and not is_integer(merged[key]):
            raise ValueError(f"guidance {key}: must be an integer, got {merged[key]!r:.60}")
    if "exact" in merged and not isinstance(merged["exact"], bool):
        raise ValueError(f"guidance exact: must be true or false, got {merged['exact']!r:.60}")
    if merged.get("attribute") and "strength" not in merged:  # as the edit command: 8 (exact), 3 (gradient)
        merged["strength"] = 8.0 if merged.get("exact", True) else 3.0
    options = GuidanceOptions(**merged).validate()
    return options if options.active or has_auto_length(text) else None


# ---------------------------------------------------------------------------------------------------- worker
def run_tasks(editor: Editor, tasks: Sequence[Task], trajectory: bool = False) -> list[dict]:
    """One record per task, in order: plain edits that can share a run through :func:`edit_many`, the others one
    by one. A line's own problem (EditError) is its error record; the rest of the batch goes on."""
    records: list[dict | None] = [None] * len(tasks)
    plain = [j for j, t in enumerate(tasks) if t.action == "edit" and t.guidance is None]
    if plain:
        try:
            results = edit_many(editor, [tasks[j].text for j in plain], [tasks[j].config for j in plain],
                                [tasks[j].n for j in plain], return_errors=True)
        except Exception:  # noqa: BLE001 (an unexpected fault in a shared run: give every line its own)
            results = [_alone(editor, tasks[j]) for j in plain]
        for j, result in zip(plain, results):
            records[j] = _record(editor, tasks[j], result, trajectory)
    for j, task in enumerate(tasks):
        if records[j] is None:
            records[j] = _record(editor, task, _alone(editor, task), trajectory)
    return records  # type: ignore[return-value]


def _alone(editor: Editor, task: Task):
    """Run one task by itself; its result, or the exception that stopped it."""
    try:
        if task.action != "edit":
            from .actions import run_action  # noqa: PLC0415

            return run_action(editor, task.action, task.text, **task.action_args)
        if task.guidance is not None:
            from guidance import guided_edit  # noqa: PLC0415

            return guided_edit(editor, task.text, task.config, task.guidance, n=task.n)[0]
        return editor.edit(task.text, task.config, n=task.n)
    except Exception as exc:  # noqa: BLE001 (one line's fault never stops the job)
        return exc


def _record(editor: Editor, task: Task, result, trajectory: bool) -> dict:
    if isinstance(result, BaseException):
        message = str(result).strip().splitlines()[0] if str(result).strip() else ""
        if not isinstance(result, ValueError):  # not the user's input: say what broke
            message = f"{type(result).__name__}: {message}"
        return error_record(task.line, task.id, message)
    if isinstance(result, EditResult):
        out = result.to_json(editor.tokenizer, include_trajectory=trajectory)
        out.pop("markup", None)
        if not trajectory:
            out.pop("trajectory", None)
        if out.get("guidance") is None:
            out.pop("guidance", None)
        return {"id": task.id, "line": task.line, **out}
    out = result.to_json()  # an ActionResult
    return {"id": task.id, "line": task.line, **out, "candidates": [a["text"] for a in out["alternatives"]],
            "model": editor.adapter.name, "seed": task.config.seed}


@dataclass
class WorkerSpec:
    """How a worker loads its model replica (the loading rules of :meth:`Editor.load`; never remote code unless
    asked for an allowlisted model) and what it writes."""

    model: str | None = None
    device: str | None = None
    quantize: str = "auto"
    allow_download: bool = False
    trust_remote_code: bool = False
    max_work: int | str | None = None  # token-steps per line; "device": the device's budget (dllm_core.limits)
    # torch threads per replica. 1 by default: the short windows of an edit gain little from intra-op threads (on the
    # project's shared 2-core machine two threads ran 8x slower), and more cores are better used as more replicas
    # (--ray local); None: torch's default (the machine's cores)
    threads: int | None = 1
    trajectory: bool = False


def load_editor(spec: WorkerSpec) -> Editor:
    import torch  # noqa: PLC0415

    from .limits import work_limit  # noqa: PLC0415

    if spec.threads:
        torch.set_num_threads(spec.threads)
    editor = Editor.load(spec.model, device=spec.device, allow_download=spec.allow_download,
                         trust_remote_code=spec.trust_remote_code, quantize=spec.quantize)
    budget = work_limit(editor.adapter.device.type) if spec.max_work == "device" else spec.max_work
    editor.max_work = budget or None
    return editor


class BatchWorker:
    """One model replica: loads the model once, then runs batches of tasks. In this process for a local job, as a
    Ray actor for a distributed one (a subclass may add per-worker setup)."""

    def __init__(self, spec: WorkerSpec):
        from .adapter import ModelLoadError  # noqa: PLC0415

        self.spec = spec
        self.problem: str | None = None
        self.cpu_seconds = 0.0  # CPU time spent running batches (all threads of this process)
        try:
            self.editor = load_editor(spec)
        except ModelLoadError as exc:
            self.problem = str(exc)
        except Exception as exc:  # noqa: BLE001 (a broken checkpoint, out of memory: still one line)
            self.problem = f"could not load {spec.model or 'embedded'!r}: {type(exc).__name__}: {_first_line(exc)}"

    def ready(self) -> tuple[bool, str]:
        """(loaded, a description of the model or why it did not load)."""
        return (False, self.problem) if self.problem else (True, self.editor.adapter.describe())

    def run(self, tasks: list[Task]) -> list[dict]:
        if self.problem:
            raise RuntimeError(self.problem)
        started = time.process_time()
        try:
            return run_tasks(self.editor, tasks, self.spec.trajectory)
        finally:
            self.cpu_seconds += time.process_time() - started

    def cpu(self) -> float:
        return self.cpu_seconds


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


# ---------------------------------------------------------------------------------------------------- files
def read_done(out_path: Path) -> tuple[set[str], set[int]]:
    """What OUT already holds: the ids (as JSON) and the line numbers of error records without an id. A partial last
    record (a job killed mid-write) is cut off the file; any other line that is not a record is a JobError."""
    ids: set[str] = set()
    lines: set[int] = set()
    if not out_path.exists():
        return ids, lines
    if out_path.is_dir():
        raise JobError(f"{out_path} is a folder; OUT must be a file")
    with open(out_path, "rb+") as f:
        data = f.read()
        if data and not data.endswith(b"\n"):  # the job was killed while writing its last record
            cut = data.rfind(b"\n") + 1
            f.truncate(cut)
            data = data[:cut]
            print(f"note: dropped a partial last record from {out_path} (the job was stopped while writing it)",
                  file=sys.stderr)
    for number, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            if not isinstance(record, dict) or "id" not in record:
                raise ValueError
        except ValueError:
            raise JobError(f"{out_path} line {number} is not a record of a batch job; not resuming into it "
                           "(use --overwrite to start again)") from None
        if record["id"] is None:
            if is_integer(record.get("line")):
                lines.add(record["line"])
        else:
            ids.add(json.dumps(record["id"]))
    return ids, lines


def read_lines(in_path: str | Path) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of every input line; '-' reads standard input."""
    f = sys.stdin.buffer if str(in_path) == "-" else open(in_path, "rb")  # noqa: SIM115
    try:
        for number, raw in enumerate(f, 1):
            yield number, raw.rstrip(b"\r\n")
    finally:
        if f is not sys.stdin.buffer:
            f.close()


def count_lines(in_path: str | Path) -> int | None:
    if str(in_path) == "-":
        return None
    with open(in_path, "rb") as f:
        return sum(1 for raw in f if raw.strip())


def plan(lines: Iterable[tuple[int, bytes]], defaults: LineDefaults, batch_size: int,
         done_ids: set[str] = frozenset(), done_lines: set[int] = frozenset(), window: int = PLAN_WINDOW
         ) -> Iterator[list[Task] | list[dict]]:
    """Batches of tasks (lists of :class:`Task`) and ready error records (lists of dicts), from the input lines:
    lines whose ids are done are skipped, a repeated id is an error, and each window of ``window`` batches' worth
    of lines is sorted (what can share a run, then length) and cut into batches. Deterministic: the same input
    and settings give the same batches."""
    seen: dict[str, int] = {}
    pending: list[Task] = []
    for number, raw in lines:
        try:
            task = parse_line(raw, number, defaults)
        except LineError as exc:
            key = json.dumps(exc.id) if exc.id is not None else None
            if key is not None and key in seen:
                exc = LineError(f"the id {exc.id!r:.60} is repeated (first on line {seen[key]})")
                key = None
            if (key in done_ids) if key is not None else (number in done_lines):
                continue
            if key is not None:
                seen[key] = number
            yield [error_record(number, exc.id if key is not None else None, str(exc))]
            continue
        if task is None:
            continue
        key = json.dumps(task.id)
        if key in seen:
            if number not in done_lines:
                yield [error_record(number, None, f"the id {task.id!r:.60} is repeated (first on line {seen[key]})")]
            continue
        seen[key] = number
        if key in done_ids:
            continue
        pending.append(task)
        if len(pending) >= batch_size * window:
            yield from _cut(pending, batch_size)
            pending = []
    yield from _cut(pending, batch_size)


def _cut(tasks: list[Task], batch_size: int) -> Iterator[list[Task]]:
    tasks = sorted(tasks, key=Task.sort_key)
    for start in range(0, len(tasks), batch_size):
        yield tasks[start : start + batch_size]


# ---------------------------------------------------------------------------------------------------- runners
class LocalRunner:
    """Runs batches in this process, one model replica (``spec.threads`` applies until :meth:`close`)."""

    def __init__(self, spec: WorkerSpec, worker_class: type[BatchWorker] = BatchWorker):
        import torch  # noqa: PLC0415

        self.threads = torch.get_num_threads()
        self.worker = worker_class(spec)
        ok, self.description = self.worker.ready()
        if not ok:
            self.close()
            from .adapter import ModelLoadError  # noqa: PLC0415

            raise ModelLoadError(self.description)

    def run(self, batches: Iterable[list[Task]]) -> Iterator[list[dict]]:
        for batch in batches:
            yield self.worker.run(batch)

    def cpu_seconds(self) -> float:
        return self.worker.cpu_seconds

    def close(self) -> None:
        import torch  # noqa: PLC0415

        torch.set_num_threads(self.threads)


class RayRunner:
    """Runs batches on Ray actors, one per model replica (each loads the model once).

    Ray Core actors rather than Ray Data's ``map_batches``: the driver already plans the batches (so that local and
    Ray runs share them), must write one JSONL file in which every id appears exactly once, and must resume from it;
    with actors it owns all three. A batch goes back to the queue when its actor dies (the actor is replaced), is
    split into single lines after :data:`MAX_ATTEMPTS` tries, and a line that keeps killing workers becomes an error
    record; records are written only when a batch comes back whole, so nothing is lost or written twice.

    ``address``: "local" starts a Ray instance on this machine (stopped at the end); None or "auto" joins the running
    cluster (RAY_ADDRESS, or the one started with ``ray start``); anything else is passed to ``ray.init``. A Ray
    already initialised in this process is used as it is. ``workers``: actors (default: the cluster's CPUs, or GPUs
    with a CUDA device, divided by what one needs). ``threads``: CPUs each actor reserves and torch threads it uses
    (default 1)."""

    IN_FLIGHT = 2  # batches queued per actor, so that it never waits for the driver

    def __init__(self, spec: WorkerSpec, address: str | None = "local", workers: int | None = None,
                 gpus: float | None = None, worker_class: type[BatchWorker] = BatchWorker):
        try:
            import ray  # noqa: PLC0415
        except ImportError:
            raise JobError("--ray needs the ray package: pip install -r requirements-dev.txt (or pip install ray)"
                           ) from None
        self.ray = ray
        self.started = False
        threads = spec.threads or 1
        self.spec = replace(spec, threads=threads)
        if not ray.is_initialized():
            kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            try:
                if address == "local":
                    ray.init(num_cpus=max(os.cpu_count() or 1, threads * (workers or 1)), **kwargs)
                else:
                    ray.init(address=address or "auto", **kwargs)
            except ConnectionError:
                if address in (None, "auto"):
                    raise JobError("no running Ray cluster found: start one (ray start --head), set RAY_ADDRESS, "
                                   "give its address (--ray HOST:PORT) or use --ray local") from None
                raise JobError(f"could not reach Ray at {address!r}") from None
            except Exception as exc:  # noqa: BLE001 (a bad address, a version mismatch: one line)
                raise JobError(f"could not start or reach Ray at {address or 'auto'!r}: {_first_line(exc)}") from None
            self.started = True
        resources = ray.cluster_resources()
        on_gpu = bool(spec.device and spec.device.startswith("cuda"))
        gpus = (1.0 if on_gpu else 0.0) if gpus is None else gpus
        fit = int(resources.get("CPU", 1) // threads)
        if gpus > 0:
            fit = min(fit, int(resources.get("GPU", 0) // gpus))
        self.workers = workers or max(1, fit)
        if self.workers > fit:
            self.close()
            raise JobError(f"{self.workers} worker(s) with {threads} CPU(s){f' and {gpus:g} GPU(s)' if gpus else ''} "
                           f"each do not fit the cluster ({resources.get('CPU', 0):g} CPUs, "
                           f"{resources.get('GPU', 0):g} GPUs): at most {fit}")
        root = str(Path(__file__).resolve().parents[1])
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
        self.remote_class = ray.remote(worker_class).options(
            num_cpus=threads, num_gpus=gpus, max_restarts=0, max_task_retries=0,
            runtime_env={"env_vars": {"PYTHONPATH": path}})
        self.actors = [self.remote_class.remote(self.spec) for _ in range(self.workers)]
        self.generation = [0] * self.workers
        try:
            answers = ray.get([a.ready.remote() for a in self.actors])
        except Exception as exc:  # noqa: BLE001 (an actor that died while loading)
            self.close()
            from .adapter import ModelLoadError  # noqa: PLC0415

            raise ModelLoadError(f"a Ray worker died while loading the model: {_first_line(exc)}") from None
        for ok, what in answers:
            if not ok:
                self.close()
                from .adapter import ModelLoadError  # noqa: PLC0415

                raise ModelLoadError(what)
        self.description = f"{answers[0][1]}, {self.workers} Ray workers"
        self.retried = 0  # batches given out again after their actor died

    def _replace(self, slot: int) -> None:
        try:
            self.ray.kill(self.actors[slot], no_restart=True)
        except Exception:  # noqa: BLE001 (already gone)
            pass
        self.actors[slot] = self.remote_class.remote(self.spec)
        self.generation[slot] += 1

    def run(self, batches: Iterable[list[Task]]) -> Iterator[list[dict]]:
        ray = self.ray
        from ray.exceptions import RayActorError, RayTaskError  # noqa: PLC0415

        source = iter(batches)
        retry: deque[tuple[list[Task], int]] = deque()
        inflight: dict = {}  # object ref -> (slot, generation, batch, attempts)
        load = [0] * self.workers
        exhausted = False
        while True:
            for slot in range(self.workers):
                while load[slot] < self.IN_FLIGHT:
                    if retry:
                        batch, attempts = retry.popleft()
                    elif not exhausted:
                        batch, attempts = next(source, None), 0
                        if batch is None:
                            exhausted = True
                            break
                    else:
                        break
                    ref = self.actors[slot].run.remote(batch)
                    inflight[ref] = (slot, self.generation[slot], batch, attempts)
                    load[slot] += 1
            if not inflight:
                return
            ready, _ = ray.wait(list(inflight), num_returns=1)
            slot, generation, batch, attempts = inflight.pop(ready[0])
            load[slot] -= 1
            try:
                records = ray.get(ready[0])
            except RayTaskError as exc:  # the worker raised (not a line's own error: those are records)
                cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else exc
                yield [error_record(t.line, t.id, f"worker error: {type(cause).__name__}: {_first_line(cause)}")
                       for t in batch]
                continue
            except (RayActorError, ray.exceptions.WorkerCrashedError, ray.exceptions.ObjectLostError) as exc:
                if generation == self.generation[slot]:  # its actor died: a new one takes the slot
                    self._replace(slot)
                attempts += 1
                self.retried += 1
                if attempts < MAX_ATTEMPTS:
                    retry.appendleft((batch, attempts))
                elif len(batch) > 1:  # find the line that kills workers: the batch's lines one by one
                    retry.extend(([t], 0) for t in batch)
                else:
                    task = batch[0]
                    yield [error_record(task.line, task.id, f"a worker died {attempts} times on this line "
                                                            f"({type(exc).__name__})")]
                continue
            yield records

    def cpu_seconds(self) -> float:
        """CPU time the workers spent on batches (those alive now: a replaced actor's is lost)."""
        try:
            return float(sum(self.ray.get([a.cpu.remote() for a in self.actors], timeout=30)))
        except Exception:  # noqa: BLE001 (a worker gone: the figure is only informative)
            return float("nan")

    def close(self) -> None:
        for actor in getattr(self, "actors", []):
            try:
                self.ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001
                pass
        if self.started:
            self.ray.shutdown()
            self.started = False


# ---------------------------------------------------------------------------------------------------- the job
@dataclass
class JobSummary:
    written: int = 0  # records written by this run (results and errors)
    errors: int = 0  # of them, error records
    skipped: int = 0  # lines already in OUT
    seconds: float = 0.0  # from the first batch to the last (model loading not included)
    setup_seconds: float = 0.0  # starting workers and loading the model
    retried: int = 0  # batches run again because their worker died
    worker_cpu_seconds: float = 0.0  # CPU time the workers spent on batches (every thread, every worker)
    runner: str = ""

    @property
    def lines_per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict:
        return {**{f.name: getattr(self, f.name) for f in fields(self)},
                "lines_per_second": round(self.lines_per_second, 3)}


def run_job(in_path: str | Path, out_path: str | Path, defaults: LineDefaults | None = None,
            spec: WorkerSpec | None = None, *, ray: str | None = None, workers: int | None = None,
            gpus: float | None = None, batch_size: int = DEFAULT_BATCH_SIZE, overwrite: bool = False,
            progress: bool | None = None, callback: Callable[[list[dict]], None] | None = None,
            worker_class: type[BatchWorker] = BatchWorker) -> JobSummary:
    """Edit every line of ``in_path`` (JSONL; '-' for standard input) into ``out_path`` (appended to: ids already
    there are skipped, unless ``overwrite``). ``ray``: None runs in this process; "local", "auto" or an address
    runs on Ray (see :class:`RayRunner`). ``progress``: a bar on stderr (None: when stderr is a terminal).
    ``callback`` sees every batch of records after they are written. Bad lines become error records; a problem
    with the job itself is a :class:`JobError`, a model that cannot load a ModelLoadError, both before any line
    is written."""
    defaults = defaults or LineDefaults()
    spec = spec or WorkerSpec()
    if not is_integer(batch_size) or batch_size < 1:
        raise JobError(f"batch size must be a whole number of lines, 1 or more, got {batch_size!r}")
    if workers is not None and (not is_integer(workers) or workers < 1):
        raise JobError(f"workers must be a whole number, 1 or more, got {workers!r}")
    in_path, out_path = str(in_path), Path(out_path)
    if in_path != "-" and not Path(in_path).is_file():
        raise JobError(f"cannot read {in_path}: {'it is a folder' if Path(in_path).is_dir() else 'no such file'}")
    if in_path != "-" and out_path.exists() and out_path.resolve() == Path(in_path).resolve():
        raise JobError("OUT is the input file; write the results to another file")
    if overwrite and out_path.is_file():
        out_path.unlink()
    done_ids, done_lines = read_done(out_path)
    try:
        out = open(out_path, "a", encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise JobError(f"cannot write {out_path}: {exc.strerror or exc}") from None
    summary = JobSummary(skipped=len(done_ids) + len(done_lines))
    started = time.perf_counter()
    runner = None
    bar = None
    try:
        runner = (LocalRunner(spec, worker_class) if ray is None
                  else RayRunner(spec, ray, workers, gpus, worker_class))
        summary.runner = runner.description
        summary.setup_seconds = time.perf_counter() - started
        total = count_lines(in_path)
        if total is not None:
            total = max(0, total - summary.skipped)
        show = sys.stderr.isatty() if progress is None else progress
        if show:
            from tqdm import tqdm  # noqa: PLC0415 (a dependency of transformers)

            bar = tqdm(total=total, unit="line", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
        t0 = time.perf_counter()
        errors: list[dict] = []  # error records found while planning go out with the next batch

        def batches() -> Iterator[list[Task]]:
            for item in plan(read_lines(in_path), defaults, batch_size, done_ids, done_lines):
                if item and isinstance(item[0], dict):
                    errors.extend(item)
                else:
                    yield item  # type: ignore[misc]

        def write(records: list[dict]) -> None:
            fresh = []
            for record in records:
                key = json.dumps(record["id"]) if record["id"] is not None else None
                if key is not None and key in done_ids or key is None and record["line"] in done_lines:
                    continue  # never twice (a defence: the runners give each line once)
                if key is None:
                    done_lines.add(record["line"])
                else:
                    done_ids.add(key)
                fresh.append(record)
            if not fresh:
                return
            out.write("".join(_json_line(r) for r in fresh))
            out.flush()
            summary.written += len(fresh)
            summary.errors += sum("error" in r for r in fresh)
            summary.seconds = time.perf_counter() - t0
            if bar is not None:
                bar.update(len(fresh))
                if summary.errors:
                    bar.set_postfix(errors=summary.errors, refresh=False)
            if callback is not None:
                callback(fresh)

        for records in runner.run(batches()):
            if errors:
                write(errors[:])
                errors.clear()
            write(records)
        write(errors)
        summary.seconds = time.perf_counter() - t0
        summary.retried = getattr(runner, "retried", 0)
        summary.worker_cpu_seconds = round(runner.cpu_seconds(), 3)
    finally:
        if bar is not None:
            bar.close()
        out.close()
        if runner is not None:
            runner.close()
    return summary


def _json_line(record: dict) -> str:
    line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate quoted in a message: escaped, so that OUT stays UTF-8
        line = json.dumps(record)
    return line + "\n"


# ---------------------------------------------------------------------------------------------------- command
def add_batch_parser(sub) -> None:
    from .config import ORDERS, SCHEDULES  # noqa: PLC0415

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
                   help="default 0 (actions with several alternatives: 0.7)")
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
    from .adapter import ModelLoadError  # noqa: PLC0415
    from .cli import check_arguments, fail  # noqa: PLC0415
    from .config import device_setting, threshold_setting  # noqa: PLC0415

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


__all__ = ["BatchWorker", "JobError", "JobSummary", "LineDefaults", "LocalRunner", "RayRunner", "Task", "WorkerSpec",
           "edit_many", "parse_line", "plan", "run_job", "run_tasks"]
