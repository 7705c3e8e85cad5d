"""The workers of a batch job: :func:`run_tasks` runs one batch of tasks on a loaded :class:`~dllm_core.api.Editor`
(:class:`BatchWorker`: one model replica), in this process (:class:`LocalRunner`) or on Ray actors
(:class:`RayRunner`)."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from dllm_core.adapter import ModelLoadError
from dllm_core.api import Editor, EditResult
from dllm_core.limits import work_limit

from writing import actions

from .lines import JobError, Task, error_record

MAX_ATTEMPTS = 3  # tries of a batch whose worker died; then its lines one by one, each with as many tries


def run_tasks(editor: Editor, tasks: Sequence[Task], trajectory: bool = False) -> list[dict]:
    """One record per task, in order: plain edits that can share a run through :meth:`Editor.edit_many`, the others one
    by one. A line's own problem (EditError) is its error record; the rest of the batch goes on."""
    records: list[dict | None] = [None] * len(tasks)
    plain = [j for j, t in enumerate(tasks) if t.action == "edit" and t.guidance is None]
    if plain:
        try:
            results = editor.edit_many([tasks[j].text for j in plain], [tasks[j].config for j in plain],
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
            return actions.run_action(editor, task.action, task.text, **task.action_args)
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


class LocalRunner:
    """Runs batches in this process, one model replica (``spec.threads`` applies until :meth:`close`)."""

    def __init__(self, spec: WorkerSpec, worker_class: type[BatchWorker] = BatchWorker):
        import torch  # noqa: PLC0415

        self.threads = torch.get_num_threads()
        self.worker = worker_class(spec)
        ok, self.description = self.worker.ready()
        if not ok:
            self.close()
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
        root = str(Path(__file__).resolve().parents[2])  # the repository: cli/batch/runners.py
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
            raise ModelLoadError(f"a Ray worker died while loading the model: {_first_line(exc)}") from None
        for ok, what in answers:
            if not ok:
                self.close()
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
