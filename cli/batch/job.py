"""A batch job from end to end (:func:`run_job`): read the input lines, skip those OUT already holds (resume), plan
the batches (:func:`plan`: the same plan locally and on Ray), hand them to a runner and write each batch's records as
they come back."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path

from dllm_core.config import is_integer

from .lines import JobError, LineDefaults, LineError, Task, error_record, parse_line
from .runners import BatchWorker, LocalRunner, RayRunner, WorkerSpec

DEFAULT_BATCH_SIZE = 32  # lines per batch (one worker call; plain edits among them share forward passes)
PLAN_WINDOW = 64  # batches' worth of lines read, sorted and cut at a time (bounds the driver's memory)


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
