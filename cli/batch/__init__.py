"""Batch editing of a corpus: JSONL in, JSONL out, in this process by default, on a Ray cluster when one machine is
not enough. ``python -m dllm_core batch IN.jsonl OUT.jsonl`` and :func:`run_job` are the same thing.

Each input line is ``{"id": ..., "text": markup}`` with optional per-line options (:data:`~cli.batch.lines.LINE_KEYS`);
job-wide defaults come from :class:`~cli.batch.lines.LineDefaults` (the command's flags). Each output line is one
record: the result (text, candidates, stats, the trajectory when asked for) or, for a line that cannot be done,
``{"id", "line", "error"}``. A job resumes: ids already in OUT are skipped, and a partial last record (a job killed
mid-write) is dropped.

How the work is cut up (the same plan locally and on Ray, so both write the same results):

1. The driver reads the input in windows of lines, checks every line without a model (as the ``edit`` command does),
   sorts each window by what can share a forward pass and by length, and cuts it into batches of ``batch_size``
   (:mod:`cli.batch.job`).
2. A worker (this process, or one Ray actor per model replica, each loading the model once) runs a batch with
   :func:`~cli.batch.runners.run_tasks`: plain edits that can share a denoising run go through
   :meth:`dllm_core.api.Editor.edit_many` (one forward pass per step for all of them; which lines share a run, and
   why, is said there); guided edits and writing actions run one line at a time (each already batches its own
   candidates or alternatives).
3. The driver writes each batch's records as they come back, and only then counts those ids as done.

In float32 a shared run gives exactly the one-line results; with int8 dynamic quantisation (the CPU default) the
job is still reproducible (the same input and flags give the same batches and results, locally and on Ray), and
``quantize="none"`` makes every line's result independent of its batch.

Modules: ``lines`` (the input line schema, checked without a model), ``runners`` (the workers, in this process or
on Ray), ``job`` (reading, planning, writing and resuming: :func:`run_job`), ``command`` (the ``batch`` command).
"""

from dllm_core.api import MAX_SHARED, share_key

from .job import DEFAULT_BATCH_SIZE, JobSummary, plan, run_job
from .lines import JobError, LineDefaults, LineError, Task, parse_line
from .runners import BatchWorker, LocalRunner, RayRunner, WorkerSpec, run_tasks

__all__ = ["DEFAULT_BATCH_SIZE", "MAX_SHARED", "BatchWorker", "JobError", "JobSummary", "LineDefaults", "LineError",
           "LocalRunner", "RayRunner", "Task", "WorkerSpec", "parse_line", "plan", "run_job", "run_tasks",
           "share_key"]
