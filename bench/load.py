"""Serving load: concurrent web-app sessions (gradio_client over loopback) with step batching on and off.

    python bench/load.py                                  # writes the "Serving load" section of bench/RESULTS.md
    python bench/load.py --levels 1 5 --modes on --no-long --no-write   # a quick look

For each mode (step batching on, then off) the web app is served by a child process on 127.0.0.1 (the page of
``app.py``, built with the mode's concurrency and the app's queue, ``max_size`` 32), and this process drives it with
gradio_client sessions, each a small edit of 16 steps (``[[16]]`` inserted in one of eight sentences, threshold off
so that every run takes 16 steps, greedy so that each sentence has one right answer):

- solo latency: the median of ``--repeats`` single requests, measured first on the same server;
- 1, 5, 20, 40 (``--levels``) sessions sending at once: p50 / p95 latency and their ratio to solo, small-edit
  tokens/s over the burst, requests the queue turned away, results equal to the greedy result of a solo run;
- the same while one long request runs (``--long``: ``Once upon a time [[1024]]`` at 32 steps = 64 k token-steps,
  the CPU work budget of dllm_core.limits, restarted whenever it ends and stopped through the API afterwards);
- peak RSS of the server process.

``--bound`` measures instead what no serving overhead could beat: the forward passes alone, in this process (16
passes of ``n`` sessions' windows, shared the way the step batcher shares them, against the 16 passes of one),
and prints them without writing.

Bounded: at most ``--max-seconds`` in all (the scenarios left are skipped and say so), every request times out
after ``--timeout`` seconds. Latency is measured in this process from submit to the last streamed update.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

from common import ROOT, median, percentile, write_section

SMALL = [
    "The old harbour was [[16]] when the ferry came in.",
    "She opened the letter and [[16]] before anyone saw her.",
    "In the morning the village [[16]] and the bells rang.",
    "The train was late again, so [[16]] at the station.",
    "My grandfather kept bees, and [[16]] every summer.",
    "After the storm the beach [[16]] for the first time.",
    "The market square was full of [[16]] on Saturday.",
    "He painted the fence white because [[16]] last year.",
]
STEPS = 16
LONG = "Once upon a time [[1024]]"
LONG_STEPS = 32
RUN_ARGS = dict(steps=STEPS, schedule="cosine", order="confidence", temperature=0.0, top_p=1.0, block_length=0,
                remask=0.0, threshold=0.0, strength=0.0, seed=0, required="", banned="", attribute="none",
                attribute_strength=0.0, cfg_scale=0.0, percent=100)


# ------------------------------------------------------------------------------------------------ server (child)
def serve(batching: bool, concurrency: int, quantize: str, model: str = "embedded") -> None:
    """The app on a free loopback port; prints the URL, serves until stdin closes, then prints its peak RSS."""
    sys.path.insert(0, str(ROOT / "tests"))
    import app as web
    from app_server import free_port

    from dllm_core import Editor
    from dllm_core.batching import serving_concurrency

    editor = Editor.load(model, device="cpu", quantize=quantize, batching=batching)
    studio = web.Studio(editor)
    concurrency = concurrency or serving_concurrency(editor.adapter)
    demo = web.build_ui(studio, concurrency=concurrency)
    demo.queue(max_size=32, default_concurrency_limit=8)  # as app.create_app: the queue stays the outer limit
    kwargs = {**web.launch_kwargs(), "server_name": "127.0.0.1", "server_port": free_port()}
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, **kwargs)
    print("URL", url, flush=True)
    sys.stdin.read()  # the parent closes it when done
    demo.close()
    studio.close()
    batcher = editor.adapter.batcher
    print("STATS", f"{concurrency} runs at once" + (f"; {describe(batcher.stats)}" if batcher else ""), flush=True)
    print("PEAK", peak_rss_mb(), flush=True)
    os._exit(0)  # a stopped run may still be in a forward pass in a worker thread: no teardown noise


def describe(stats) -> str:
    """A batcher's counters in words."""
    return (f"{stats.passes} passes for {stats.calls} step calls ({stats.shared} shared, at most {stats.most} calls "
            f"in one), {stats.busy_s:.1f} s in passes")


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU seconds of a process so far (all its threads)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: str = "self") -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ------------------------------------------------------------------------------------------------ clients
class Server:
    def __init__(self, batching: bool, concurrency: int, quantize: str, model: str = "embedded"):
        cmd = [sys.executable, __file__, "--serve", "on" if batching else "off", "--concurrency", str(concurrency),
               "--quantize", quantize, "--model", model]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
                                     env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
        line = self.proc.stdout.readline()
        if not line.startswith("URL "):
            raise RuntimeError(f"the server did not start: {line!r}")
        self.url = line.split()[1].rstrip("/") + "/"

    def close(self) -> tuple[str, float]:
        self.proc.stdin.close()
        stats, peak = "-", float("nan")
        for line in self.proc.stdout:
            if line.startswith("STATS "):
                stats = line[6:].strip()
            if line.startswith("PEAK "):
                peak = float(line.split()[1])
        self.proc.wait(timeout=60)
        return stats, peak


def clients(url: str, n: int) -> list:
    from gradio_client import Client

    return [Client(url, verbose=False) for _ in range(n)]


def timed_run(client, draft: str, timeout: float, args: dict | None = None) -> tuple[float, str | None, str]:
    """(seconds, result text or None, error) of one /run request."""
    started = time.perf_counter()
    try:
        job = client.submit(draft, *(args or RUN_ARGS).values(), api_name="/run")
        out = job.result(timeout=timeout)
        seconds = time.perf_counter() - started
        result, message = out[3], out[6]
        return seconds, result or None, "" if result else str(message)[:120]
    except Exception as exc:  # noqa: BLE001 (queue full, time-out: counted)
        return time.perf_counter() - started, None, f"{type(exc).__name__}: {str(exc)[:100]}"


def burst(pool: list, n: int, timeout: float) -> tuple[list, float]:
    """``n`` sessions send a small edit at the same moment; (seconds, result, error, draft) each."""
    out: list = [None] * n
    gate = threading.Barrier(n)

    def one(i):
        draft = SMALL[i % len(SMALL)]
        gate.wait()
        out[i] = (*timed_run(pool[i], draft, timeout), draft)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return out, wall


class LongRunner:
    """Keeps one long request running (restarted when it ends) until stopped; then cancels it (Stop)."""

    def __init__(self, client, timeout: float):
        self.client, self.timeout = client, timeout
        self.stop_flag = threading.Event()
        self.started = threading.Event()
        self.finished = 0
        self.job = None
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        args = {**RUN_ARGS, "steps": LONG_STEPS}
        while not self.stop_flag.is_set():
            self.job = self.client.submit(LONG, *args.values(), api_name="/run")
            while not self.stop_flag.is_set() and not self.job.done():
                if len(self.job.outputs()) >= 1:  # streaming: the long run is stepping
                    self.started.set()
                time.sleep(0.05)
            if self.job.done() and not self.stop_flag.is_set():
                self.finished += 1

    def close(self):
        self.stop_flag.set()
        if self.job is not None and not self.job.done():
            self.job.cancel()
        self.thread.join(timeout=30)


# ------------------------------------------------------------------------------------------------ driver
def mode_run(batching: bool, args, references: dict[str, str], deadline: float) -> dict:
    server = Server(batching, args.concurrency, args.quantize, args.model)
    report: dict = {"mode": "on" if batching else "off", "levels": {}, "long": {}, "skipped": []}
    try:
        pool = clients(server.url, max(args.levels) + 1)
        for draft in SMALL[:2]:  # warm-up
            timed_run(pool[0], draft, args.timeout)
        solo = [timed_run(pool[0], SMALL[i % len(SMALL)], args.timeout)[0] for i in range(args.repeats)]
        report["solo"] = median(solo)
        for phase in (["plain", "long"] if args.long else ["plain"]):
            runner = None
            if phase == "long":
                runner = LongRunner(pool[-1], args.timeout)
                if not runner.started.wait(timeout=120):
                    report["skipped"].append("long: did not start")
                    runner.close()
                    continue
            for n in args.levels:
                if time.monotonic() > deadline:
                    report["skipped"].append(f"{phase} {n}")
                    continue
                cpu0 = cpu_seconds(server.proc.pid), time.process_time()
                results, wall = burst(pool, n, args.timeout)
                summary = summarise(results, wall, report["solo"], references)
                summary["cpu"] = ((cpu_seconds(server.proc.pid) - cpu0[0]) / n, (time.process_time() - cpu0[1]) / n)
                report["long" if phase == "long" else "levels"][n] = summary
                print(report["mode"], phase, n, report["long" if phase == "long" else "levels"][n], flush=True)
            if runner is not None:
                runner.close()
                report["long_finished"] = runner.finished
    finally:
        report["batch_stats"], report["peak_rss"] = server.close()
    return report


def summarise(results, wall: float, solo: float, references: dict[str, str]) -> dict:
    ok = [(s, text, draft) for s, text, err, draft in results if text is not None]
    lat = [s for s, _, _ in ok]
    p50, p95 = percentile(lat, 0.5), percentile(lat, 0.95)
    return {"n": len(results), "ok": len(ok), "errors": sorted({err for _, text, err, _ in results if text is None}),
            "p50": p50, "p95": p95, "p50x": p50 / solo, "p95x": p95 / solo, "tok_s": len(ok) * STEPS / wall,
            "same": sum(text == references.get(draft) for _, text, draft in ok)}


def in_thread(fn, *args):
    """``fn(*args)`` in a fresh thread, as a server runs requests (on this machine torch ran much slower in the main
    thread than in others while the cores were busy)."""
    box = []
    t = threading.Thread(target=lambda: box.append(fn(*args)))
    t.start()
    t.join()
    return box[0]


def small_edit_config(editor, draft: str):
    """The settings of a small edit as the app runs it: RUN_ARGS's, through the default writing mode (``auto``:
    parallel on MiniLM, the FAST preset on a model with a causal reading)."""
    from dllm_core import SamplerConfig
    from dllm_core.presets import writing_settings

    config = SamplerConfig(steps=STEPS, threshold=None, seed=0)
    return writing_settings(config, "auto", can_score=editor.adapter.can_score,
                            tokens_to_write=editor.canvas(draft, config).n_masked, guided=False)


def solo_references(editor) -> dict[str, str]:
    """Each small draft's greedy result from a solo run of the same model (no server)."""
    return {d: in_thread(lambda d=d: editor.edit(d, small_edit_config(editor, d)).text) for d in SMALL}


def engine_run(editor, levels: list[int], references: dict[str, str], repeats: int) -> list[dict]:
    """The engine alone, no web server: each session a thread streaming Editor.stream, batching off then on."""
    def one(draft: str) -> tuple[float, str]:
        started = time.perf_counter()
        *_, result = editor.stream(draft, small_edit_config(editor, draft))
        return time.perf_counter() - started, result.text

    reports = []
    for batching in (False, True):
        if batching:
            editor.adapter.enable_step_batching()
        solo = median([in_thread(one, SMALL[i % len(SMALL)])[0] for i in range(repeats)])
        report = {"mode": "on" if batching else "off", "levels": {}}
        for n in levels:
            out: list = [None] * n
            gate = threading.Barrier(n)

            def work(i):
                gate.wait()
                out[i] = (*one(SMALL[i % len(SMALL)]), "", SMALL[i % len(SMALL)])

            threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            results = [(s, text, err, d) for s, text, err, d in out]
            report["levels"][n] = summarise(results, time.perf_counter() - started, solo, references)
        report["solo"] = solo
        report["batch_stats"] = describe(editor.adapter.batcher.stats) if batching else "unbatched"
        editor.adapter.disable_step_batching()
        reports.append(report)
        print("engine", report, flush=True)
    return reports


def pass_bound(levels: list[int], quantize: str, repeats: int) -> list[str]:
    """Lines: for each level n, the seconds of the STEPS forward passes of n small edits run as the step batcher
    runs them (one shared pass a step, int8 quantised per request) against those of one edit alone: the ratio a
    burst of n would reach if nothing but the model cost anything (no sampler, no page, no clients)."""
    from dllm_core import Editor, SamplerConfig
    from dllm_core.batching import StepBatcher, _Call

    editor = Editor.load("embedded", device="cpu", quantize=quantize)
    adapter = editor.adapter
    recorded: list[list[tuple]] = []

    class Recorder:  # stands in for the batcher while each draft runs alone: keeps its step calls
        def open(self):
            session = SimpleNamespace(batcher=self, calls=0, log=[])
            session.logits_at = lambda *a: (session.log.append(a), adapter.logits_at(*a))[1]
            recorded.append(session.log)
            return session

        def leave(self, session):
            pass

        def park(self, session, parked):
            pass

    adapter.batcher = Recorder()
    config = SamplerConfig(steps=STEPS, threshold=None, seed=0)
    for draft in SMALL:
        in_thread(editor.edit, draft, config)
    adapter.batcher = None
    batcher = StepBatcher(adapter)
    session = batcher.open()

    def passes(n: int) -> float:
        started = time.perf_counter()
        for step in range(STEPS):
            if n == 1:
                adapter.logits_at(*recorded[0][step])
                continue
            calls = [_Call(session, *recorded[i % len(SMALL)][step], 0) for i in range(n)]
            for group in batcher._groups(calls):
                batcher._run(group)
        return time.perf_counter() - started

    def measure() -> dict[int, float]:
        return {n: min(passes(n) for _ in range(repeats)) for n in [1, *levels]}

    best = in_thread(measure)
    batcher.leave(session)
    batcher.close()
    lines = [f"{STEPS} forward passes of one small edit alone: {best[1] * 1000:.0f} ms ({quantize})"]
    for n in levels:
        lines.append(f"{STEPS} shared passes of {n} small edits: {best[n] * 1000:.0f} ms = {best[n] / best[1]:.1f}× "
                     f"(their {n * STEPS} passes one by one: {n * best[1] * 1000:.0f} ms)")
    return lines


def table(reports: list[dict], key: str) -> str:
    cpu = any("cpu" in s for r in reports for s in r[key].values())
    rows = ["| batching | sessions | p50 s | p95 s | p50 / solo | p95 / solo | small-edit tokens/s | done | "
            "same text as solo |" + (" CPU s per request: server / clients |" if cpu else ""),
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if cpu else "")]
    for r in reports:
        for n, s in sorted(r[key].items()):
            errors = f" ({'; '.join(s['errors'])})" if s["errors"] else ""
            rows.append(f"| {r['mode']} | {n} | {s['p50']:.2f} | {s['p95']:.2f} | {s['p50x']:.1f}× | "
                        f"{s['p95x']:.1f}× | {s['tok_s']:.0f} | {s['ok']}/{s['n']}{errors} | {s['same']}/{s['ok']} |"
                        + (f" {s['cpu'][0]:.2f} / {s['cpu'][1]:.2f} |" if cpu else ""))
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 5, 20, 40])
    ap.add_argument("--modes", nargs="+", choices=["on", "off"], default=["on", "off"])
    ap.add_argument("--repeats", type=int, default=5, help="single requests for the solo latency")
    ap.add_argument("--no-long", dest="long", action="store_false", help="skip the runs beside a long request")
    ap.add_argument("--no-engine", dest="engine", action="store_false", help="skip the engine-only runs")
    ap.add_argument("--concurrency", type=int, default=0,
                    help="requests the page runs at once (0: dllm_core.batching.serving_concurrency)")
    ap.add_argument("--quantize", choices=["auto", "none", "int8"], default="auto")
    ap.add_argument("--model", default="embedded", help="the model served (smollm2-dlm: the default writing path, FAST)")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds per request")
    ap.add_argument("--max-seconds", type=float, default=600.0, help="the whole benchmark")
    ap.add_argument("--no-write", dest="write", action="store_false")
    ap.add_argument("--bound", action="store_true",
                    help="only the forward passes of --levels sessions shared vs one alone (no server); prints them")
    ap.add_argument("--serve", choices=["on", "off"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve == "on", args.concurrency, args.quantize, args.model)
        return
    if args.bound:
        print("\n".join(pass_bound([n for n in args.levels if n > 1], args.quantize, args.repeats)))
        return
    started = time.monotonic()
    deadline = started + args.max_seconds
    from dllm_core import Editor

    load_before = os.getloadavg()[0]
    editor = Editor.load(args.model, device="cpu", quantize=args.quantize)
    references = solo_references(editor)
    settings = small_edit_config(editor, SMALL[0])
    how = ("the FAST preset of the default writing mode: left to right, several tokens a step where the causal "
           "reading agrees with the draft" if settings.speculate else f"{STEPS} steps, threshold off, greedy")
    engine = engine_run(editor, args.levels, references, args.repeats) if args.engine else []
    del editor
    reports = [mode_run(mode == "on", args, references, deadline) for mode in args.modes]
    total = time.monotonic() - started
    busy = max(load_before, os.getloadavg()[0]) > 0.5 * (os.cpu_count() or 1)
    body = [f"Web app served on 127.0.0.1 by a child process ({args.model} model, {args.quantize} → "
            f"{'int8' if args.quantize != 'none' else 'fp32'}), driven by gradio_client sessions from this process; "
            f"each request a small edit (`[[16]]` in a sentence; {how}). "
            f"Ratios are to the solo latency measured on the same server at the start of its run. "
            + (f"**The cores were busy with other work (1-minute load {load_before:.1f} at the start)**: absolute "
               f"times are noisy, the ratios less so. " if busy else "")
            + f"Total {total:.0f} s."]
    for r in reports:
        body.append(f"- batching {r['mode']}: {r['batch_stats']}; solo {r.get('solo', float('nan')):.2f} s; server "
                    f"peak RSS {r['peak_rss']:.0f} MiB"
                    + (f"; long requests completed {r['long_finished']}" if "long_finished" in r else "")
                    + (f"; skipped (time bound): {', '.join(r['skipped'])}" if r["skipped"] else ""))
    body.append("\n### Small edits sent together (web app)\n\n" + table(reports, "levels"))
    if args.long:
        body.append(f"\n### The same while one long request runs (`{LONG}` at {LONG_STEPS} steps, threshold off: "
                    f"the CPU work budget)\n\n" + table(reports, "long"))
    if engine:
        body.append("\n### The engine alone (threads streaming `Editor.stream`, no web server, same process)\n\n"
                    + "\n".join(f"- batching {r['mode']}: solo {r['solo']:.2f} s; {r['batch_stats']}"
                                 for r in engine) + "\n\n" + table(engine, "levels"))
    text = "\n".join(body)
    print(text)
    if args.write:
        argv = " ".join(sys.argv[1:])
        name = "Serving load" if args.model == "embedded" else f"Serving load ({args.model})"
        write_section(name, f"python bench/load.py{' ' + argv if argv else ''}", text)


if __name__ == "__main__":
    main()
