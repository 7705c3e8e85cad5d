"""Seconds the server keeps computing for a client that went away (issue 24): the app is served in this process as
``python app.py`` serves it (``app.create_app``: step batching on), a raw HTTP client joins the queue for Run or
Shorten, reads the event stream until its request is computing, and drops the connection. Every forward pass of the
model is timed (its start and end, on the adapter); what ran after the drop is reported.

    python bench/disconnect.py --model embedded [--repeats 2]
    python bench/disconnect.py --model smollm2-dlm

Run: a long free generation (``[[N]]`` at N steps); Shorten: a long draft to 50 %, 4 alternatives.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.common import machine  # noqa: E402

PARAGRAPH = ("The committee met on Tuesday morning to discuss the new budget, which had been delayed for several "
             "weeks because of a disagreement between the two largest departments about how the money for the "
             "coming year should be divided. After a long and at times rather heated debate, the members agreed to "
             "postpone the final vote until the following week, so that both departments could present revised "
             "figures and answer the questions that had been raised by the finance office. ")


class PassClock:
    """Times every forward pass of an adapter (start, end), by wrapping its pass methods on the instance."""

    METHODS = ("logits_at", "causal_logits_at", "token_log_probs", "judge_log_probs", "continuations_log_likelihood")

    def __init__(self, adapter):
        self.adapter, self.passes, self.lock = adapter, [], threading.Lock()
        self.running = 0  # passes under way
        for name in self.METHODS:
            inner = getattr(adapter, name, None)
            if inner is not None:
                setattr(adapter, name, self._timed(inner))

    def _timed(self, inner):
        def timed(*args, **kwargs):
            began = time.monotonic()
            with self.lock:
                self.running += 1
            try:
                return inner(*args, **kwargs)
            finally:
                with self.lock:
                    self.running -= 1
                    self.passes.append((began, time.monotonic()))
        return timed

    def after(self, t: float) -> tuple[int, float]:
        """Passes that started after ``t``, and seconds from ``t`` to the end of the last pass (0: none ran)."""
        with self.lock:
            started = sum(1 for b, _ in self.passes if b > t)
            last_end = max((e for _, e in self.passes), default=t)
        return started, max(0.0, last_end - t)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_index(demo, name: str) -> int:
    return next(i for i, fn in demo.fns.items() if fn.api_name == name)


def drop_mid_request(url: str, fn_index: int, data: list, computing_s: float) -> float:
    """Join the queue and read the event stream (a client that reads slowly holds the server's stream back) until
    the request has computed for ``computing_s``; then close the connection. Returns the time of the drop."""
    import httpx  # noqa: PLC0415

    session = uuid.uuid4().hex[:11]
    httpx.post(f"{url}gradio_api/queue/join", json={"data": data, "fn_index": fn_index, "session_hash": session,
                                                    "event_data": None}, timeout=60).raise_for_status()
    parts = urllib.parse.urlsplit(url)
    path = f"{parts.path}gradio_api/queue/data?session_hash={session}"
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n\r\n".encode())
        sock.settimeout(0.05)
        seen, started = b"", None
        while started is None or time.monotonic() - started < computing_s:
            try:
                chunk = sock.recv(1 << 16)
            except TimeoutError:
                continue
            if not chunk:
                raise RuntimeError("the server closed the stream before the drop")
            seen = (seen + chunk)[-4096:]
            if os.environ.get("DISCONNECT_DEBUG"):
                print(chunk[:200], file=sys.stderr)
            if started is None and b'"process_starts"' in seen:
                started = time.monotonic()
            if b'"process_completed"' in seen:
                raise RuntimeError("the request ended before the drop")
        dropped = time.monotonic()
    return dropped  # (the socket is closed: the client is gone)


def run_inputs(n: int) -> list:
    # draft, steps, schedule, order, temperature, top_p, block_length, remask, threshold, strength, seed, required,
    # banned, attribute, attribute_strength, cfg_scale, percent, session, model, writing, editing
    return [f"[[{n}]]", n, "cosine", "confidence", 0.0, 1.0, 0, 0.0, 0.0, 0.0, 1, "", "", "none", 0.0, 0.0, 70, None,
            None, "parallel", None]


def shorten_inputs(words: int) -> list:
    draft = " ".join((PARAGRAPH * (words // 70 + 1)).split()[:words])
    # draft, sel_start, sel_end, shorten_to, change, tone_choice, n_alternatives, seed, session, model, writing
    return [draft, 0, 0, "50%", 0.5, "formal", 4, 0, None, None, "auto"]


def measure(model: str, repeats: int, run_tokens: int, shorten_words: int, computing_s: float) -> list[dict]:
    import app as web  # noqa: PLC0415

    demo, studio = web.create_app(model)
    clock = PassClock(studio.editor.adapter)
    kwargs = {**web.launch_kwargs(studio), "server_name": "127.0.0.1", "server_port": free_port()}
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, **kwargs)
    url = url.rstrip("/") + "/"
    rows = []
    try:
        for what, fn, data in (("Run", "run", run_inputs(run_tokens)),
                               ("Shorten", "shorten", shorten_inputs(shorten_words))):
            for _ in range(repeats):
                before = len(clock.passes)
                began = time.monotonic()
                dropped = drop_mid_request(url, api_index(demo, fn), data, computing_s)
                # wait until no pass has run for 3 s (or 240 s in all)
                while time.monotonic() - began < 240:
                    time.sleep(0.5)
                    with clock.lock:
                        last = max((e for _, e in clock.passes), default=0.0)
                        running = clock.running
                    if not running and time.monotonic() - last > 3:
                        break
                passes, seconds = clock.after(dropped)
                rows.append({"what": what, "computed_before_s": round(dropped - began, 2),
                             "passes_before": sum(1 for b, _ in clock.passes[before:] if b <= dropped),
                             "passes_after": passes, "computing_after_s": round(seconds, 2),
                             "longest_pass_s": round(max((e - b for b, e in clock.passes[before:]), default=0), 2)})
                print(rows[-1], flush=True)
    finally:
        demo.close()
        studio.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--run-tokens", type=int, default=160)
    ap.add_argument("--shorten-words", type=int, default=240)
    ap.add_argument("--computing-s", type=float, default=2.0, help="seconds the request computes before the drop")
    args = ap.parse_args()
    rows = measure(args.model, args.repeats, args.run_tokens, args.shorten_words, args.computing_s)
    table = ["| model | request | computed before the drop, s | passes after | computing after the drop, s | "
             "longest pass, s |", "|---|---|---:|---:|---:|---:|"]
    table += [f"| `{args.model}` | {r['what']} | {r['computed_before_s']} | {r['passes_after']} | "
              f"{r['computing_after_s']} | {r['longest_pass_s']} |" for r in rows]
    print("\n".join(table))
    print(machine())


if __name__ == "__main__":
    main()
