"""Step-level batching across requests (dllm_core.batching): requests running in threads share forward passes and
still give what they give alone with the same seed; one that is stopped or fails leaves the others running.

Tiny random models (the BERT of conftest.py and a Llama behind the shifted causal adapter), fp32 and int8. A long
``wait_s`` makes the batcher wait for every open request each step, so passes are shared whatever the machine's
load: the tests assert properties (same trajectories, fewer passes), never times.
"""

from __future__ import annotations

import math
import threading

import pytest
import torch
from conftest import make_tiny_adapter

from dllm_core import EditResult, Editor, SamplerConfig
from dllm_core.adapter import ModelAdapter
from dllm_core.batching import serving_concurrency
from dllm_core.hooks import SamplerHook

HARBOUR = "The old harbour [[was quiet in the grey morning light and nobody came]] to see the boats."
SHORT = "It was a [[3]] morning."
INSERT = "Once upon a time [[12]]"
PINS = "Dear {{Anna}}, the [[quick brown]] fox [[4]] jumps over the lazy dog."
LONG = ("The village lay at the end of a long road. " * 4 + "[[Nobody remembered who built the old mill]] "
        + "and the river ran past it every day of the year. " * 4 + "In spring [[6]] came back.")

JOBS = [  # markup, settings, candidates: different lengths, windows, sampling, candidates
    (HARBOUR, dict(steps=8), 1),
    (SHORT, dict(steps=3, temperature=1.0, seed=5), 1),
    (INSERT, dict(steps=10, temperature=0.8, top_p=0.9, seed=2), 2),
    (PINS, dict(steps=6, remask=0.5, seed=9), 1),
    (LONG, dict(steps=8, context=24), 1),
]


def batched(adapter: ModelAdapter) -> Editor:
    # a long wait: every step waits for every open request, so sharing does not depend on timing; every pass
    # through the worker, also while a request is alone (else it would run its passes in its own thread)
    adapter.enable_step_batching(wait_s=30.0, direct=False)
    return Editor(adapter)


@pytest.fixture(scope="module")
def solo(tokenizer) -> Editor:
    return Editor(make_tiny_adapter(tokenizer))


@pytest.fixture
def shared(tokenizer):
    editor = batched(make_tiny_adapter(tokenizer))
    yield editor
    editor.adapter.disable_step_batching()


def run_all(editor: Editor, jobs, hooks=None) -> list:
    """Each job in its own thread, all started together; an EditResult (or the exception) per job."""
    results: list = [None] * len(jobs)
    start = threading.Barrier(len(jobs))

    def work(i, markup, settings, n):
        start.wait()
        try:
            results[i] = editor.edit(markup, SamplerConfig(**settings), n=n, hooks=(hooks or {}).get(i, ()))
        except Exception as exc:  # noqa: BLE001 (checked by the test)
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i, *job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request hung"
    return results


def assert_same(batched_result: EditResult, solo_result: EditResult) -> None:
    """Same text, candidates and trajectory (ids, states, commits, remasks); confidences equal to the 4 decimals
    recorded, give or take one unit (padding changes float rounding in attention by ~1e-7)."""
    assert batched_result.text == solo_result.text
    assert batched_result.candidates == solo_result.candidates
    assert len(batched_result.trajectory) == len(solo_result.trajectory)
    for got, want in zip(batched_result.trajectory, solo_result.trajectory):
        assert (got.ids, got.states, got.committed, got.remasked) == (want.ids, want.states, want.committed,
                                                                      want.remasked)
        for a, b in zip(got.confidence, want.confidence):
            assert (a is None) == (b is None)
            assert a is None or math.isclose(a, b, abs_tol=2e-4)
    assert batched_result.stats.forward_passes == solo_result.stats.forward_passes  # the passes it rode in
    assert batched_result.stats.steps == solo_result.stats.steps


def solo_results(editor: Editor, jobs) -> tuple[list[EditResult], int]:
    before = editor.adapter.forward_passes
    results = [editor.edit(markup, SamplerConfig(**settings), n=n) for markup, settings, n in jobs]
    return results, editor.adapter.forward_passes - before


def test_sessions_in_shared_passes_give_their_solo_results(solo, shared):
    alone, solo_passes = solo_results(solo, JOBS)
    before = shared.adapter.forward_passes
    together = run_all(shared, JOBS)
    for got, want in zip(together, alone):
        assert isinstance(got, EditResult), got
        assert_same(got, want)
    passes = shared.adapter.forward_passes - before
    stats = shared.adapter.batcher.stats
    assert passes < solo_passes and stats.shared > 0 and stats.most >= 2
    assert stats.passes == passes and stats.calls == solo_passes  # every step call answered, in fewer passes
    assert shared.adapter.batcher.active == 0  # every session left


def test_shifted_causal_adapter_batches_the_same(bpe_adapters):
    solo_adapter, shared_adapter = bpe_adapters
    jobs = [(HARBOUR, dict(steps=6), 1), (SHORT, dict(steps=3, temperature=1.0, seed=3), 1),
            (INSERT, dict(steps=8, seed=1, temperature=0.7), 2)]
    alone, solo_passes = solo_results(Editor(solo_adapter), jobs)
    editor = batched(shared_adapter)
    try:
        together = run_all(editor, jobs)
        for got, want in zip(together, alone):
            assert_same(got, want)
        assert shared_adapter.batcher.stats.shared > 0
        assert shared_adapter.forward_passes < solo_passes
    finally:
        shared_adapter.disable_step_batching()


@pytest.fixture(scope="module")
def bpe_adapters():
    from test_bpe_shifted import tiny_llama  # the same tiny random Llama as the BPE tests
    from transformers import AutoTokenizer

    from dllm_core.basemodel import ensure_base
    from dllm_core.shifted import ShiftedDiffusionLM

    tok = AutoTokenizer.from_pretrained(ensure_base(quiet=True))
    tok.add_special_tokens({"mask_token": "<|mask|>"})
    return [ModelAdapter(ShiftedDiffusionLM(tiny_llama(49152)), tok, "tiny-shifted-llama", kind="shifted-causal",
                         start_token="<|endoftext|>") for _ in range(2)]


def test_int8_requests_are_quantised_on_their_own(tokenizer):
    """Dynamic int8 quantises activations per tensor: in a shared pass each request's rows get their own scale,
    so its results are its solo ones (with one scale for the whole pass they would change)."""
    alone, _ = solo_results(Editor(make_tiny_adapter(tokenizer).quantized_if("int8")), JOBS)
    adapter = make_tiny_adapter(tokenizer).quantized_if("int8")
    editor = batched(adapter)
    try:
        for got, want in zip(run_all(editor, JOBS), alone):
            assert_same(got, want)
        assert adapter.batcher.stats.shared > 0
    finally:
        adapter.disable_step_batching()
    assert all("forward" not in m.__dict__ for m in adapter.model.modules())  # the layers as they were


def test_padding_keeps_a_window_its_logits(tiny_adapter):
    """stack_framed pads as frame does: a window's logits in a mixed batch match its own batch's."""
    g = torch.Generator().manual_seed(0)
    seqs = [torch.randint(1000, 5000, (n,), generator=g) for n in (7, 19, 3)]
    parts = [tiny_adapter.frame([s]) for s in seqs]
    ids, attention, starts = tiny_adapter.stack_framed([(i, a) for i, a, _ in parts])
    assert ids.shape == (3, 21) and starts == [0, 1, 2]
    assert torch.equal(ids[0, 9:], torch.full((12,), tiny_adapter.pad_id)) and not attention[0, 9:].any()
    together, _, _ = tiny_adapter.frame(seqs)
    assert torch.equal(ids, together)  # exactly what framing them together gives
    for r, s in enumerate(seqs):
        cols = torch.arange(len(s)) + 1
        alone = tiny_adapter.logits_at(*parts[r][:2], torch.zeros_like(cols), cols)
        mixed = tiny_adapter.logits_at(ids, attention, torch.full_like(cols, r), cols)
        torch.testing.assert_close(mixed, alone, atol=1e-5, rtol=1e-5)


def test_a_short_request_finishes_while_a_long_one_runs(shared):
    """Both open together; the short one's result arrives while the long one still has steps to go."""
    long_gen = shared.stream(INSERT.replace("12", "40"), SamplerConfig(steps=40, threshold=None))
    first = next(long_gen)  # the long run has its session open now
    short_done = threading.Event()
    box = {}

    def short():
        box["result"] = shared.edit(SHORT, SamplerConfig(steps=3, threshold=None))
        short_done.set()

    t = threading.Thread(target=short)
    t.start()
    for item in long_gen:  # every long step shares a pass with the short one until it leaves
        if short_done.is_set():
            break
    t.join(timeout=60)
    assert short_done.is_set() and box["result"].stats.steps == 3
    assert not isinstance(item, EditResult) and item.step < first.steps - 1  # the long run was not over
    long_gen.close()
    assert shared.adapter.batcher.active == 0


def test_stop_of_one_leaves_the_other_running(solo, shared):
    """Closing one request's generator (Stop) removes only its session; the other finishes with its solo result."""
    want = solo.edit(HARBOUR, SamplerConfig(steps=8))
    stop_gen = shared.stream(INSERT, SamplerConfig(steps=12, threshold=None))
    next(stop_gen)  # open, and parked: the other request's steps wait for it until it goes
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("result", shared.edit(HARBOUR, SamplerConfig(steps=8))))
    t.start()
    next(stop_gen)  # a shared step or two, then Stop
    stop_gen.close()
    t.join(timeout=60)
    assert not t.is_alive()
    assert_same(box["result"], want)
    assert shared.adapter.batcher.active == 0


class Explodes(SamplerHook):
    def adjust_logits(self, state, logits):
        if state.step == 1:
            raise RuntimeError("hook failed")
        return logits


def test_a_failing_request_does_not_hang_or_change_the_others(solo, shared):
    jobs = JOBS[:3]
    alone, _ = solo_results(solo, jobs)
    results = run_all(shared, jobs, hooks={1: [Explodes()]})
    assert isinstance(results[1], RuntimeError) and "hook failed" in str(results[1])
    assert_same(results[0], alone[0])
    assert_same(results[2], alone[2])
    assert shared.adapter.batcher.active == 0


def test_a_pass_that_fails_is_retried_call_by_call(solo, shared, monkeypatch):
    """A forward pass that raises for one request's windows fails that request only."""
    jobs = [JOBS[0], JOBS[1], JOBS[3]]  # only the first holds "harbour"
    alone, _ = solo_results(solo, jobs)
    adapter = shared.adapter
    poison = shared.tokenizer.convert_tokens_to_ids("harbour")
    real = adapter.logits_at
    seen = []

    def picky(input_ids, *args):
        # from the poisoned request's second step on: by then every request has opened its session, so the pass
        # that fails is a shared one whatever the machine's load (its first step may run before the others start)
        if (input_ids == poison).any():
            seen.append(1)
            if len(seen) >= 2:
                raise ValueError("bad window")
        return real(input_ids, *args)

    monkeypatch.setattr(adapter, "logits_at", picky)  # the batcher calls the adapter's attribute
    results = run_all(shared, jobs)
    assert isinstance(results[0], ValueError)
    assert_same(results[1], alone[1])
    assert_same(results[2], alone[2])
    assert adapter.batcher.stats.retried >= 1


def test_serving_concurrency_and_turning_batching_off(tokenizer):
    adapter = make_tiny_adapter(tokenizer)
    assert serving_concurrency(adapter) == 1  # unbatched CPU: one request at a time, as before
    batcher = adapter.enable_step_batching()
    assert adapter.enable_step_batching() is batcher
    assert serving_concurrency(adapter) > 1
    result = Editor(adapter).edit(SHORT, SamplerConfig(steps=3))  # alone: in its own thread, nothing waits
    assert result.stats.forward_passes == 3 and batcher.stats.calls == 3 and batcher.stats.waited_s == 0
    adapter.disable_step_batching()
    assert adapter.batcher is None and serving_concurrency(adapter) == 1
    assert Editor(adapter).edit(SHORT, SamplerConfig(steps=3)).text == result.text
