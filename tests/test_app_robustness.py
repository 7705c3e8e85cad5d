"""Issue 15 in the web app: bad input gives a message (the draft stays, no traceback in the log), one request cannot
hold the worker for minutes, and nothing of a run stays on disk after its session."""

from __future__ import annotations

import html
import json
import logging
import math
import os
import stat
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from dllm_core.limits import MAX_WORK_CPU
import ui
from ui.guided import NO_ATTRIBUTE
from ui.session_files import SessionFiles

DEFAULTS = dict(steps=4, schedule="cosine", order="confidence", temperature=0.0, top_p=1.0, block_length=0, remask=0.0,
                threshold=0.0, strength=0.0, seed=3, required="", banned="", attribute=NO_ATTRIBUTE,
                attribute_strength=0.0, cfg_scale=0.0, percent=70, session={})


@pytest.fixture
def studio(tiny_editor, tmp_path, monkeypatch):
    """A Studio whose Gradio cache is ``tmp_path``: every file a run leaves, a copy made by Gradio included, is there."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    studio = ui.Studio(tiny_editor)
    ui.build_ui(studio)
    studio.downloads.root = tmp_path  # (the default, Gradio's cache, read from the environment)
    yield studio
    studio.close()


def run_all(studio, draft, request=None, **settings):
    return [studio.page.named(update) for update in studio.run(draft, **{**DEFAULTS, **settings}, request=request)]


def files_under(folder: Path) -> list[Path]:
    """Every file below ``folder`` (os.walk: a folder removed while it walks is no error)."""
    return sorted(Path(top) / name for top, _, names in os.walk(folder) for name in names)


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("draft, settings, words", [
    ("The [[cat]] \ud800 sat.", {}, "U+D800"),
    ("The [[cat]] \udcff sat.", {}, "not valid text"),
    ("The [[cat]] sat.", {"required": "dog\ud800"}, "a required word is not valid text"),
    ("The [[cat]] sat.", {"banned": "\udcfe"}, "a banned word is not valid text"),
    ("The [[cat]] sat.", {"seed": math.nan}, "seed: must be a whole number, got nan"),
    ("The [[cat]] sat.", {"seed": 2.5}, "seed: must be a whole number"),
    ("The [[cat]] sat.", {"threshold": math.nan}, "threshold"),
    ("The [[cat]] sat.", {"threshold": "nan"}, "threshold"),
    ("The [[cat]] sat.", {"steps": 2.7}, "steps: must be a whole number, got 2.7"),
    ("The [[cat]] sat.", {"steps": math.inf}, "steps"),
    ("The [[cat]] sat.", {"temperature": math.nan}, "temperature"),
    ("The [[cat]] sat.", {"schedule": "zigzag"}, "schedule"),
    ("The [[abc|-5]] sat.", {}, "'-5' is not a length"),
    (None, {}, "empty"),
    (5, {}, "must be text"),
    ("Once upon a time [[1024]]", {"steps": 256}, f"the limit is {MAX_WORK_CPU:,} per request"),
    ("x " * 100_000, {}, "the draft is 200,000 characters; the limit is 50,000"),  # before any model work
    ("The [[cat]] sat.", {"percent": "abc"}, "length %: must be a number, got 'abc'"),  # was an internal error
    ("The [[cat]] sat.", {"percent": math.nan}, "length %: must be a number"),
    ("The [[cat]] sat.", {"percent": 1e9}, "length %: must be in (0, 400]"),
    ("The [[cat]] sat.", {"attribute_strength": "lots"}, "attribute strength: must be a number"),
    ("The [[cat]] sat.", {"cfg_scale": math.inf}, "classifier-free guidance: must be a number"),
    ("The [[cat]] sat.", {"attribute": "x" * 200_000}, "attribute: give a name=target"),
    ("The [[cat]] sat.", {"required": 5}, "required words: give words separated by commas"),
    ("The [[cat]] sat.", {"steps": "x" * 200_000}, "steps: must be a whole number"),  # quoted, cut to one line
])
def test_bad_input_gives_one_message_keeps_the_page_and_logs_nothing(studio, caplog, draft, settings, words):
    with caplog.at_level(logging.DEBUG, logger="dllm_app"):
        updates = run_all(studio, draft, **settings)
    assert len(updates) == 1
    only = updates[0]
    assert 'class="msg error"' in only["message"] and words in html.unescape(only["message"])
    assert "internal error" not in only["message"]
    assert set(only) == {"message"}  # the draft and old results stay
    assert len(html.unescape(only["message"])) < 500  # one short line, whatever it quotes
    assert not caplog.records  # a user error is not a server error: no traceback, no log line
    json.dumps(only["message"]).encode("utf-8")  # the message itself holds no lone surrogate
    assert files_under(studio.downloads.root) == []


def test_the_budget_message_names_the_work_and_the_limit(studio):
    message = run_all(studio, "Once upon a time [[1024]]", steps=256)[0]["message"]
    assert "× 256 steps" in message and "token-steps" in message and "fewer steps" in message
    assert run_all(studio, "Once upon a time [[1024]]", steps=16)[-1]["result"]  # within it: runs


def test_selection_handlers_refuse_fractions_and_surrogates(studio):
    draft = "The quick brown fox."
    def only_message(update: dict) -> str:  # the draft and the undo stack are not touched
        named = studio.page.named(update)
        assert set(named) == {"message"}
        return named["message"]

    assert "whole number" in only_message(studio.mask_selection(draft, 4, 15, "tokens", 2.7, 70, []))
    assert "masked length must be one of" in only_message(studio.mask_selection(draft, 4, 15, "sideways", 5, 70, []))
    assert "whole number" in only_message(studio.insert_at_cursor(draft, 0, 4, math.nan, []))
    assert "not valid text" in only_message(studio.mask_selection("The qu\ud800ick fox.", 4, 8, "keep length", 5, 70,
                                                                  []))
    assert studio.page.named(studio.replay(math.nan, {"frames": [{}]})) == {}


def test_the_draft_limit_applies_to_every_draft_handler(studio):
    """Marking, clearing and Accept refuse a draft over the limit as the actions and Run do (nothing of it is kept:
    not in the draft, not in the undo stack)."""
    big = "x " * 100_000
    words = "the draft is 200,000 characters; the limit is 50,000"
    session = {"result": "A short result."}
    for update in (studio.mask_selection(big, 0, 5, "keep length", 5, 70, []), studio.pin_selection(big, 0, 5, []),
                   studio.insert_at_cursor(big, 0, 5, 3, []), studio.clear_marks("[[a]]" + big[5:], []),
                   studio.accept(big, session, [])):
        named = studio.page.named(update)
        assert set(named) == {"message"} and words in html.unescape(named["message"])


# ------------------------------------------------------------------------------------------------ nothing on disk
def test_a_session_keeps_one_private_download_and_it_goes_with_the_session(studio):
    session_id = SimpleNamespace(session_hash="tab-1")
    root = studio.downloads.root
    final = run_all(studio, "The [[old stone bridge|4]] at dusk.", request=session_id)[-1]
    path = Path(final["download"].value["path"] if isinstance(final["download"].value, dict)
                else final["download"].value)
    assert files_under(root) == [path] and path.name == "trajectory-seed3.json"  # no PID, no address
    assert str(os.getpid()) not in str(path.relative_to(root))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(studio.downloads.folder.stat().st_mode) == 0o700
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["draft"] == "The [[old stone bridge|4]] at dusk." and data["seed"] == 3

    again = run_all(studio, "The [[old stone bridge|4]] at dusk.", request=session_id, seed=5)[-1]
    newer = Path(again["download"].value["path"] if isinstance(again["download"].value, dict)
                 else again["download"].value)
    assert files_under(root) == [newer] and not path.exists()  # the session's next run replaces its file

    other = run_all(studio, "A [[b]] c.", request=SimpleNamespace(session_hash="tab-2"))[-1]
    assert len(files_under(root)) == 2 and other["session"]["files"] == "tab-2"
    studio.end_session(session_id)  # tab 1 closes
    assert files_under(root) == [Path(other["download"].value["path"] if isinstance(other["download"].value, dict)
                                      else other["download"].value)]
    studio.close()  # the app shuts down
    assert list(root.iterdir()) == []


def test_direct_calls_without_a_request_share_the_session_dict_key(studio):
    first = run_all(studio, "A [[b]] c.")[-1]
    second = run_all(studio, "A [[b]] c.", session=first["session"])[-1]
    assert second["session"]["files"] == first["session"]["files"] and len(files_under(studio.downloads.root)) == 1


def test_old_downloads_are_swept_and_nothing_is_written_outside_the_folder(tmp_path):
    files = SessionFiles(root=tmp_path, max_age_s=0.05)
    before = set(Path(tempfile.gettempdir()).glob("dllm-app-*"))
    old = files.write("api-client", "trajectory-seed0.json", b"{}")
    time.sleep(0.1)
    new = files.write("browser", "trajectory-seed1.json", b"{}")
    assert not old.exists() and new.exists() and files.paths() == [new]
    assert set(Path(tempfile.gettempdir()).glob("dllm-app-*")) == before
    folder = files.folder
    del files  # collected: the folder goes too (the same runs at interpreter exit)
    assert not folder.exists()


def test_concurrent_writes_keep_one_file_per_session(tmp_path):
    files = SessionFiles(root=tmp_path)
    threads = [threading.Thread(target=files.write, args=(f"s{i % 3}", "t.json", b"x")) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(files_under(tmp_path)) == 3
    files.close()
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------------ over HTTP
def call(url: str, api: str, data: list) -> tuple[str, object]:
    """POST /gradio_api/call/<api> with JSON that may hold NaN and \\ud800 escapes (what a raw client can send);
    the last SSE event and its data."""
    import httpx

    body = json.dumps({"data": data}, ensure_ascii=True)
    r = httpx.post(f"{url}gradio_api/call/{api}", content=body, headers={"content-type": "application/json"})
    r.raise_for_status()
    text = httpx.get(f"{url}gradio_api/call/{api}/{r.json()['event_id']}", timeout=120).text
    events = [line[7:] for line in text.splitlines() if line.startswith("event: ")]
    datas = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    return events[-1], json.loads(datas[-1])


def test_over_http_bad_input_stop_and_the_files_of_a_closed_tab(tiny_editor, tmp_path, monkeypatch, capfd):
    httpx = pytest.importorskip("httpx")
    gradio_client = pytest.importorskip("gradio_client")
    from app_server import serve

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))  # Gradio's cache for this server: count every file
    monkeypatch.setenv("GRADIO_HEARTBEAT_INTERVAL", "0.2")
    args = [*DEFAULTS.values()][:-1]
    with serve(tiny_editor) as url:
        for draft, settings, words in [("The [[cat]] \ud800 sat.", {}, "U+D800"),
                                       ("The [[cat]] sat.", {"seed": math.nan}, "seed: must be a whole number"),
                                       ("The [[cat]] sat.", {"threshold": math.nan}, "threshold"),
                                       ("The [[cat]] sat.", {"steps": 2.7}, "steps: must be a whole number"),
                                       ("The [[cat]] sat.", {"steps": 100_000}, "steps: must be an integer in")]:
            values = [{**DEFAULTS, **settings}[k] for k in DEFAULTS if k != "session"]
            event, data = call(url, "run", [draft, *values, None, "embedded", "auto", 0])
            assert event == "complete" and words in html.unescape(data[6]), (settings, data)
        event, data = call(url, "stop", [])
        assert event == "complete"  # not "function has no backend method"

        client = gradio_client.Client(url, verbose=False)  # keeps a heartbeat open, as a browser tab does
        client.predict("The [[old stone bridge|4]] at dusk.", *args, api_name="/run")
        served = files_under(tmp_path)
        assert len(served) == 1 and served[0].name == "trajectory-seed3.json"  # no copy in Gradio's cache
        assert json.loads(served[0].read_text())["draft"] == "The [[old stone bridge|4]] at dusk."
        served_url = f"{url}gradio_api/file={served[0]}"
        assert httpx.get(served_url).json()["seed"] == 3  # Gradio serves it from where it was written
        other = gradio_client.Client(url, verbose=False)
        other.predict("A [[b]] c.", *args, api_name="/run")
        assert len(files_under(tmp_path)) == 2
        client.close()  # the first tab closes: Gradio's unload event removes its file, not the other's
        deadline = time.time() + 10
        while len(files_under(tmp_path)) > 1 and time.time() < deadline:
            time.sleep(0.2)
        remaining = files_under(tmp_path)
        assert len(remaining) == 1 and served[0] not in remaining
        other.close()
        assert httpx.get(served_url).status_code in (403, 404)  # gone
    assert files_under(tmp_path) == [] and [p.name for p in tmp_path.iterdir() if p.name.startswith("dllm-")] == []
    assert "Traceback" not in capfd.readouterr().err  # no user error logged a traceback on the server


# ------------------------------------------------------------------------------------------------ issue 24
KEEP_WRITING = """
import sys, time
from ui.session_files import SessionFiles
files = SessionFiles(root=sys.argv[1])
print(files.write("tab", "trajectory-seed0.json", b"a user's draft"), flush=True)
time.sleep(120)
"""


def test_folders_left_by_a_killed_server_are_removed_at_start(tmp_path):
    """A server killed with SIGKILL runs no clean-up: its private folder (a user's draft inside) stays, until the
    next server starts. A living server's folder stays; so do folders that are not ours."""
    import signal
    import subprocess
    import sys

    from ui.session_files import LEGACY, remove_dead_folders

    root = Path(__file__).resolve().parents[1]

    def server() -> tuple[subprocess.Popen, Path]:
        proc = subprocess.Popen([sys.executable, "-c", KEEP_WRITING, str(tmp_path)], cwd=root,
                                stdout=subprocess.PIPE, text=True)
        return proc, Path(proc.stdout.readline().strip())

    killed, left = server()
    living, kept = server()
    try:
        assert left.read_bytes() == b"a user's draft" and kept.exists() and left.parent.parent != kept.parent.parent
        killed.send_signal(signal.SIGKILL)
        killed.wait(30)
        assert left.exists()  # nothing removed it
        legacy_old = tmp_path / f"{LEGACY}abc12345"  # a folder of a server from before the lock, long unused
        (legacy_old / "f").mkdir(parents=True)
        os.utime(legacy_old / "f", (time.time() - 7200,) * 2)
        os.utime(legacy_old, (time.time() - 7200,) * 2)
        legacy_new = tmp_path / f"{LEGACY}def67890"  # ... and one in use
        legacy_new.mkdir()
        other = tmp_path / "0123abcd"  # Gradio's own cache entries
        other.mkdir()
        files = SessionFiles(root=tmp_path)  # a new server starts
        assert sorted(files.removed_at_start) == sorted([left.parent.parent, legacy_old])
        assert not left.exists() and not legacy_old.exists()
        assert kept.read_bytes() == b"a user's draft" and legacy_new.exists() and other.exists()
        assert remove_dead_folders(tmp_path) == []  # this process's folders and the living server's are held
        mine = files.write("tab", "t.json", b"x")
        assert remove_dead_folders(tmp_path) == [] and mine.exists()
        files.close()
    finally:
        living.kill()
        living.wait(30)
    assert remove_dead_folders(tmp_path) == [kept.parent.parent]  # once it is gone too


def test_a_private_folder_is_locked_from_the_moment_it_has_its_name(tmp_path):
    files = SessionFiles(root=tmp_path)
    path = files.write("tab", "t.json", b"x")
    assert path.parent.parent.name.startswith("dllm-files-") and [p.name for p in tmp_path.iterdir()] == [
        path.parent.parent.name]  # no folder under its making name is left
    assert SessionFiles(root=tmp_path).removed_at_start == [] and path.exists()  # another one in this process
    files.close()
    assert list(tmp_path.iterdir()) == []


BIG = "x " * 100_000  # a 200,000-character paste


def test_a_200k_paste_on_every_endpoint_is_one_line_and_memory_stays_bounded(tiny_editor, tmp_path, monkeypatch,
                                                                              capfd):
    """Every named endpoint over HTTP (gradio_client and raw calls on 127.0.0.1) with the paste as the draft and in
    every other text field: a one-line message (or, where the field is not used, an ordinary answer), no traceback,
    the server's memory grows by little, and it answers as before. A body over 1 MiB is refused before it is read."""
    httpx = pytest.importorskip("httpx")
    gradio_client = pytest.importorskip("gradio_client")
    from app_server import serve

    import app as web

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))

    def rss_mb() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    draft = "The council met four times last year to discuss the new harbour wall."
    act = [draft, 0, 0, "70%", 0.5, "formal", 3, 0, None, "embedded", "auto"]
    run = ["The council met [[four times]] last year.", *[v for k, v in DEFAULTS.items() if k != "session"], None,
           "embedded", "auto", 0]  # the last: token editing off
    on_words = [draft, 4, 11, *act[3:]]  # Rewrite and Fill act on selected words
    endpoints = {"run": (run, 6), "shorten": (act, 3), "rephrase": (act, 3), "tone": (act, 3),
                 "rewrite": (on_words, 3), "fill": (on_words, 3),
                 "mask_selection": ([draft, 4, 11, "tokens", 3, 70], 2), "pin_selection": ([draft, 4, 11], 2),
                 "insert_at_cursor": ([draft, 4, 11, 3], 2), "clear_marks": (["The [[council]] met."], 2),
                 "preview": ([draft], 0), "accept": ([draft], 2), "undo": ([draft], 2), "replay": ([3], None)}
    limit = "the limit is 50,000"
    with serve(tiny_editor) as url:
        for api, (args, _) in endpoints.items():  # warm every path once before measuring
            call(url, api, args)
        before = rss_mb()
        for api, (args, out) in endpoints.items():
            for i, value in enumerate(args):
                if value is None:
                    continue  # the session (state), not a field
                sent = [*args[:i], BIG, *args[i + 1:]]
                event, data = call(url, api, sent)
                assert event == "complete", (api, i, data)
                if out is None:
                    continue  # replay: a step it cannot read changes nothing
                text = html.unescape(data[out] or "")
                assert "\n" not in text and len(text) < 600, (api, i, text[:200])
                assert "internal error" not in text
                if i == 0 and api != "undo":  # (Undo brings back the draft before: nothing reads this one)
                    assert limit in text, (api, text)
        # Accept with a result in the session (a browser tab: gradio_client keeps its session)
        client = gradio_client.Client(url, verbose=False)
        client.predict(*run[:17], "embedded", "auto", api_name="/run")
        draft_update, message = client.predict(BIG, api_name="/accept")
        assert draft_update == {"__type__": "update"} and limit in html.unescape(message)
        grown = rss_mb() - before
        assert grown < 150, f"the server grew by {grown:.0f} MB"
        # a body over the limit: refused before it is read, one line
        body = json.dumps({"data": ["x" * 3_000_000, *act[1:]]})
        r = httpx.post(f"{url}gradio_api/call/shorten", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 413 and "50,000 characters" in r.json()["error"]
        r = httpx.post(f"{url}gradio_api/call/shorten", headers={"content-type": "application/json"},
                       content=(b"x" * 100_000 for _ in range(30)))  # sent in chunks, no length announced
        assert r.status_code == 413
        assert web.MAX_REQUEST_BYTES == 1 << 20
        event, data = call(url, "run", run)  # still up, and as before
        assert event == "complete" and "tokens/s" in data[5]
    assert "Traceback" not in capfd.readouterr().err
