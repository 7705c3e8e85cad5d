"""Step-level batching across requests: one forward pass per step for every request running on a model.

Each request keeps its own :class:`~dllm_core.sampler.Sampler` (settings, hooks, seeded generator, stream) and runs
in its own thread; the only thing requests share is the model's forward pass. While a sampler runs it holds a
:class:`Session` of the adapter's :class:`StepBatcher`; ``windowed_logits`` hands its framed windows to the session
instead of calling :meth:`ModelAdapter.logits_at`, a worker thread gathers the calls of every session, pads them
into one batch the way :meth:`ModelAdapter.stack_framed` says, runs one forward pass, and gives each caller exactly
its rows back. A request joins at its next step and leaves when it ends, is closed (Stop) or fails, so a short edit
finishes while a long one is still running (continuous batching, as in Mercury's serving, here for an editor).

When the worker runs a pass: as soon as every open session has handed in its step call, or ``wait_s`` (20 ms)
after the oldest call came in, whichever is first, so a slow hook or a slow consumer delays the others by at most
that. A session whose consumer holds a yielded step (a web page rendering it, a stopped run whose generator is not
collected yet) is *parked*; ``lockstep=False`` does not wait for parked sessions at all (passes start sooner but
are shared less: in the web app under load, ~25 % more passes for the same steps).

Bounds: one pass holds at most ``max_tokens`` padded tokens (rows × length), and rows of very different lengths go
into different passes (padding waste); a call over the bound runs alone. Calls over ``bulk_tokens`` (a long
generation's step, many candidates) run on a second worker, so a small edit's steps do not queue behind a
second-long pass. A call alone in its pass reaches the adapter exactly as the sampler built it, so a request
alone gives the same bytes as with no batcher (and while it is the only one open, its passes run in its own
thread, without a hand-over). A pass that fails is retried call by call, so one bad request
fails alone.

int8 (a CPU's default): dynamic quantisation computes one activation scale per input tensor, so in one tensor
for the whole pass the other requests would change a request's logits by as much as int8 itself does (up to 4
logits on MiniLM; its text then differs from its solo run). So in a shared pass every quantised linear layer
quantises each request's rows on their own, without the padding (``int8_per_request``, default on): that gave
logits bit-identical to the solo pass in our checks, and costs some of the gain (a pass of 20 small windows took
~80 ms instead of ~45 ms, against ~150 ms for the 20 passes alone, on 2 busy cores). ``int8_per_request=False``
is faster and its results depend on who shares the pass.

Exactness. Padding a window to a longer one changes float rounding in attention (fp32: ~1e-7 on the tiny test
model, ~1e-5 on MiniLM), so a request in a shared pass equals its solo run up to that: the same texts and commits
in every test and benchmark run, but not a bit-for-bit guarantee. Calls made straight to the adapter (writing
actions' scoring, auto-length drafts, candidate ranking) are not batched.

Cancelling (:mod:`dllm_core.cancel`): a cancelled request raises before it hands in its next call; the workers run
outside every request's cancel scope, so a pass the others share is never cancelled with it.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from . import cancel
from .limits import (BATCH_BULK_TOKENS, BATCH_PASS_TOKENS_CPU, BATCH_PASS_TOKENS_GPU, SERVING_CONCURRENCY_CPU,
                     SERVING_CONCURRENCY_GPU)

__all__ = ["BatchStats", "Session", "StepBatcher", "joined", "parked", "serving_concurrency"]

QUICK, BULK = 0, 1  # the two workers: small calls, and calls over bulk_tokens


@dataclass
class _Call:
    session: Session
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor
    lane: int
    submitted: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    result: torch.Tensor | None = None
    error: BaseException | None = None

    @property
    def length(self) -> int:
        return int(self.input_ids.shape[1])

    @property
    def n_rows(self) -> int:
        return int(self.input_ids.shape[0])


@dataclass
class BatchStats:
    passes: int = 0  # forward passes the workers ran
    calls: int = 0  # step calls they answered
    shared: int = 0  # passes that held more than one call
    most: int = 0  # the most calls in one pass
    retried: int = 0  # passes that failed and were rerun call by call
    busy_s: float = 0.0  # seconds the workers spent in forward passes
    waited_s: float = 0.0  # seconds they held calls back waiting for other sessions


class Session:
    """One request's place in the batcher, from its sampler's first step to its end (see :func:`joined`)."""

    def __init__(self, batcher: StepBatcher):
        self.batcher = batcher
        self.parked = False  # its consumer holds a yielded step
        self.call: _Call | None = None  # handed in or being run
        self.lane: int | None = None  # the worker its last call went to
        self.calls = 0  # forward passes this request rode in

    def logits_at(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, rows: torch.Tensor,
                  cols: torch.Tensor) -> torch.Tensor:
        """What :meth:`ModelAdapter.logits_at` returns for these arguments, computed in a shared pass (not handed
        in when this request is cancelled: :mod:`dllm_core.cancel`)."""
        cancel.check()
        return self.batcher._submit(self, input_ids, attention_mask, rows, cols)


class StepBatcher:
    """Runs the step calls of every open :class:`Session` of one adapter in shared forward passes."""

    def __init__(self, adapter, *, max_tokens: int | None = None, bulk_tokens: int | None = BATCH_BULK_TOKENS,
                 wait_s: float = 0.02, lockstep: bool = True, int8_per_request: bool = True,
                 direct: bool = True):
        self.adapter = adapter
        on_cpu = adapter.device.type == "cpu"
        self.max_tokens = int(max_tokens or (BATCH_PASS_TOKENS_CPU if on_cpu else BATCH_PASS_TOKENS_GPU))
        self.bulk_tokens = bulk_tokens  # None: one worker for everything
        self.wait_s = float(wait_s)
        self.lockstep = lockstep
        self.direct = direct  # a lone session's passes run in its own thread (no hand-over to a worker)
        # windows of different lengths may share a pass only where the model takes an attention mask as
        # transformers' encoders do (custom-code dLLMs expect their own formats: there only equal lengths)
        self.pads = not getattr(adapter, "custom_code", False)
        # int8 on a CPU: each request's activations quantised on their own in a shared pass (see _per_request)
        quantized = getattr(adapter, "quantized", False) and int8_per_request
        self._split = _quantized_linears(adapter.model) if quantized else []
        for linear in self._split:
            _per_request(linear)
        self.stats = BatchStats()
        self._cond = threading.Condition()
        self._sessions: set[Session] = set()
        self._pending: tuple[list[_Call], list[_Call]] = ([], [])
        self._workers: list[threading.Thread | None] = [None, None]
        self._closed = False

    # ------------------------------------------------------------------------------------------------ sessions
    def open(self) -> Session:
        session = Session(self)
        with self._cond:
            if self._closed:
                raise RuntimeError("step batching was turned off for this model")
            self._sessions.add(session)
        return session

    def leave(self, session: Session) -> None:
        with self._cond:
            self._sessions.discard(session)
            self._cond.notify_all()

    def park(self, session: Session, parked: bool) -> None:
        with self._cond:
            session.parked = parked
            if parked:
                self._cond.notify_all()

    @property
    def active(self) -> int:
        """Sessions open now (requests whose sampler is running)."""
        with self._cond:
            return len(self._sessions)

    def close(self) -> None:
        """Stop the workers once they are idle; open sessions fall back to unbatched calls."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for worker in self._workers:
            if worker is not None and worker is not threading.current_thread():
                worker.join(timeout=5)
        for linear in self._split:
            linear.__dict__.pop("forward", None)  # the class's forward again
        self._split = []

    # ------------------------------------------------------------------------------------------------ calls
    def _submit(self, session: Session, input_ids, attention_mask, rows, cols) -> torch.Tensor:
        tokens = int(input_ids.shape[0] * input_ids.shape[1])
        lane = BULK if self.bulk_tokens is not None and tokens > self.bulk_tokens else QUICK
        call = _Call(session, input_ids, attention_mask, rows, cols, lane)
        with self._cond:
            # alone (or batching turned off): the pass runs in the caller's thread, as it would unbatched
            direct = self._closed or (self.direct and len(self._sessions) <= 1)
            if not direct:
                session.call, session.lane = call, lane
                self._pending[lane].append(call)
                self._start(lane)
                self._cond.notify_all()
        session.calls += 1
        if direct:
            logits = self.adapter.logits_at(input_ids, attention_mask, rows, cols)
            self._count(1)
            return logits
        call.done.wait()
        if call.error is not None:
            raise call.error
        return call.result

    def _start(self, lane: int) -> None:
        worker = self._workers[lane]
        if worker is None or not worker.is_alive():
            # in a context of its own: a shared pass is in no request's cancel scope (dllm_core.cancel)
            worker = threading.Thread(target=contextvars.Context().run, args=(self._work, lane),
                                      name=f"step-batcher-{lane}", daemon=True)
            self._workers[lane] = worker
            worker.start()

    def _awaited(self, lane: int) -> bool:
        """Whether some open session is expected to hand in a call for ``lane`` soon."""
        for s in self._sessions:
            if s.call is None and s.lane in (None, lane) and (self.lockstep or not s.parked):
                return True
        return False

    def _work(self, lane: int) -> None:
        pending = self._pending[lane]
        while True:
            with self._cond:
                while not pending and not self._closed:
                    self._cond.wait()
                if not pending:
                    return
                deadline = min(c.submitted for c in pending) + self.wait_s
                held = time.monotonic()
                while self._awaited(lane) and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                calls = list(pending)
                pending.clear()
                began = time.monotonic()
                self.stats.waited_s += began - held
            try:
                for group in self._groups(calls):
                    self._run(group)
            except BaseException as exc:  # a bug here must not leave callers waiting for ever
                left = [c for c in calls if not c.done.is_set()]
                for c in left:
                    c.error = c.error or RuntimeError(f"step batching failed: {exc!r}")
                self._deliver(left)
                raise
            with self._cond:
                self.stats.busy_s += time.monotonic() - began

    def _groups(self, calls: list[_Call]) -> list[list[_Call]]:
        """Calls in passes: by length, at most max_tokens padded tokens each, no row padded to over twice its
        length (plus a little), equal lengths only where the model takes no padding mask."""
        groups: list[list[_Call]] = []
        rows = shortest = 0
        for call in sorted(calls, key=lambda c: c.length):
            if groups:
                fits = call.length * (rows + call.n_rows) <= self.max_tokens
                close = call.length <= 2 * shortest + 16 if self.pads else call.length == shortest
                if fits and close:
                    groups[-1].append(call)
                    rows += call.n_rows
                    continue
            groups.append([call])
            rows, shortest = call.n_rows, call.length
        return groups

    def _run(self, group: list[_Call]) -> None:
        if len(group) > 1:
            try:
                input_ids, attention, starts = self.adapter.stack_framed([(c.input_ids, c.attention_mask)
                                                                          for c in group])
                rows = torch.cat([c.rows + start for c, start in zip(group, starts)])
                cols = torch.cat([c.cols for c in group])
                picks = torch.tensor([0, *(len(c.rows) for c in group)]).cumsum(0).tolist()
                _scope.layout = _Layout(int(input_ids.shape[0]),
                                        [(s, s + c.n_rows, c.length) for c, s in zip(group, starts)],
                                        len(rows), list(zip(picks, picks[1:])))
                try:
                    logits = self.adapter.logits_at(input_ids, attention, rows, cols)
                finally:
                    _scope.layout = None
            except Exception:  # noqa: BLE001 (one request's bad input must not fail the others: each alone)
                self.stats.retried += 1
                for c in group:
                    self._run([c])
                return
            for c, part in zip(group, logits.split([len(c.rows) for c in group])):
                c.result = part
            self._count(len(group))
            self._deliver(group)
            return
        c = group[0]
        try:
            c.result = self.adapter.logits_at(c.input_ids, c.attention_mask, c.rows, c.cols)
            self._count(1)
        except Exception as exc:  # noqa: BLE001 (raised in the caller's thread)
            c.error = exc
        finally:
            if c.result is None and c.error is None:
                c.error = RuntimeError("the step batcher stopped during this pass")
            self._deliver(group)

    def _count(self, n: int) -> None:
        with self._cond:  # two workers
            self.stats.passes += 1
            self.stats.calls += n
            self.stats.shared += n > 1
            self.stats.most = max(self.stats.most, n)

    def _deliver(self, group: list[_Call]) -> None:
        with self._cond:
            for c in group:
                if c.session.call is c:
                    c.session.call = None
            self._cond.notify_all()
        for c in group:
            c.done.set()


# ------------------------------------------------------------------------------------------------ int8, per request
_scope = threading.local()  # the request layout of the pass this thread is running (None: not a shared pass)


@dataclass
class _Layout:
    rows: int  # rows of the shared pass
    windows: list[tuple[int, int, int]]  # per request: its first row, end row, own framed length
    queries: int  # rows of logits asked for
    picks: list[tuple[int, int]]  # per request: its range of those


def _per_request(linear: torch.nn.Module) -> None:
    """Make a dynamically quantised linear layer quantise each request's activations on their own in a shared
    pass (its own rows, without the padding the pass added), as they are in the request's solo pass: the scale is
    computed per input tensor, so one tensor for the whole batch would let the other requests change this one's
    logits. Outside a shared pass (and for any other input) it is the layer as it was."""
    inner = linear.forward

    def forward(x: torch.Tensor) -> torch.Tensor:
        layout = getattr(_scope, "layout", None)
        if layout is None:
            return inner(x)
        if x.dim() == 3 and x.shape[0] == layout.rows:  # (rows, length, features) inside the model
            out = x.new_zeros(*x.shape[:2], linear.out_features)
            for r0, r1, n in layout.windows:
                out[r0:r1, :n] = inner(x[r0:r1, :n].contiguous())
            return out
        if x.dim() == 2 and x.shape[0] == layout.queries:  # (queries, features) into the output head
            return torch.cat([inner(x[e0:e1]) for e0, e1 in layout.picks])
        return inner(x)

    linear.forward = forward


def _quantized_linears(model: torch.nn.Module) -> list[torch.nn.Module]:
    from torch.ao.nn.quantized.dynamic import Linear  # noqa: PLC0415

    return [m for m in model.modules() if isinstance(m, Linear)]


# ------------------------------------------------------------------------------------------------ for the sampler
@contextmanager
def joined(adapter) -> Iterator[Session | None]:
    """A session of ``adapter``'s batcher for one sampler run (None when batching is off); left on completion,
    error, and when the run's generator is closed (Stop)."""
    batcher = getattr(adapter, "batcher", None)
    if batcher is None:
        yield None
        return
    session = batcher.open()
    try:
        yield session
    finally:
        batcher.leave(session)


@contextmanager
def parked(session: Session | None) -> Iterator[None]:
    """Around a sampler's ``yield``: the consumer holds the step (the batcher waits for this run at most ``wait_s``,
    and not at all with ``lockstep=False``)."""
    if session is None:
        yield
        return
    session.batcher.park(session, True)
    try:
        yield
    finally:
        session.batcher.park(session, False)


def serving_concurrency(adapter) -> int:
    """How many requests a server should let run on ``adapter`` at once (its queue holds the rest): with step
    batching, many (they share passes; dllm_core.limits); without, 1 on a CPU and 4 on a GPU, as before."""
    on_cpu = adapter.device.type == "cpu"
    if getattr(adapter, "batcher", None) is None:
        return 1 if on_cpu else 4
    return SERVING_CONCURRENCY_CPU if on_cpu else SERVING_CONCURRENCY_GPU
