"""Shared bits of the benchmarks: timing statistics, peak-memory sampling, the naive reference loop, results file.

torch loads only in the functions that need it, so that scorers of blind reads (and their tests) start fast."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "RESULTS.md"


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def pct(x, digits: int = 0) -> str:
    """A figure for a table: "–" when there is none."""
    return "–" if x is None else f"{x:.{digits}f}"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakMemory:
    """Peak resident memory above the level at entry, sampled every 2 ms in a thread (MiB)."""

    def __enter__(self):
        self.base = rss_mb()
        self.peak = self.base
        self._stop = False
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self):
        while not self._stop:
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.002)

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join()
        self.peak = max(self.peak, rss_mb())

    @property
    def delta(self) -> float:
        return self.peak - self.base


def naive_loop(adapter, ids: list[int], masked: list[int], tokens_per_step: int = 1) -> tuple[list[int], dict]:
    """The reference loop of the LLaDA paper's generate(): the whole canvas through the model every step, logits on
    every position, a fixed number of tokens committed per step by confidence. No windows, no early exit."""
    import torch  # noqa: PLC0415

    with torch.no_grad():
        return _naive_loop(torch, adapter, ids, masked, tokens_per_step)


def _naive_loop(torch, adapter, ids, masked, tokens_per_step):
    tokens = torch.tensor([[adapter.cls_id, *ids, adapter.sep_id]], device=adapter.device)
    mask_pos = torch.tensor([p + 1 for p in masked], device=adapter.device)
    tokens[0, mask_pos] = adapter.mask_id
    step_times, passes = [], 0
    remaining = mask_pos.clone()
    while len(remaining):
        t0 = time.perf_counter()
        out = adapter.model(input_ids=tokens, attention_mask=torch.ones_like(tokens))
        logits = getattr(out, "logits", out)[0].float()  # a transformers output, or a shifted model's logits
        passes += 1
        banned = adapter.banned_ids
        logits[:, banned[banned < logits.shape[-1]]] = float("-inf")  # a shifted model has no row for its mask
        probs = logits[remaining].softmax(-1)
        conf, cand = probs.max(-1)
        take = conf.argsort(descending=True)[:tokens_per_step]
        tokens[0, remaining[take]] = cand[take]
        keep = torch.ones(len(remaining), dtype=torch.bool, device=remaining.device)
        keep[take] = False
        remaining = remaining[keep]
        step_times.append(time.perf_counter() - t0)
    return tokens[0, 1:-1].tolist(), {"forward_passes": passes, "step_times": step_times}


def machine() -> str:
    import torch  # noqa: PLC0415

    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"{os.cpu_count()} cores, {cpu}"
    return f"{platform.system()} {platform.machine()}, {dev}, torch {torch.__version__}, {torch.get_num_threads()} threads"


def write_section(name: str, command: str, body: str, where: str | None = None) -> None:
    """Replace (or add) the section ``## name`` of bench/RESULTS.md (``where``: the machine, if not this one)."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = f"## {name}\n\n- date: {stamp}\n- machine: {where or machine()}\n- command: `{command}`\n\n{body.strip()}\n\n"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\nEach section is rewritten by its command.\n\n"
    start = text.find(f"## {name}\n")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)
