"""Batch jobs (cli.batch): shared runs equal one-at-a-time runs, JSONL in and out, bad lines, resume, the
command, and the same job on a local Ray instance with 2 actors, one of which dies mid-job."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from cli.batch import BatchWorker, JobError, LineDefaults, LineError, WorkerSpec, parse_line, run_job
from cli.main import main
from conftest import make_tiny_adapter
from dllm_core.api import EditError
from dllm_core.config import SamplerConfig

DRAFTS = [
    "The [[3]] sat on the mat.",
    "It was a {{cold}} morning and [[everyone in the village stayed at home]].",
    "Once upon a time [[12]]",
    "The harbour was [[6]] when the ferry came in, and the gulls [[2]] over the pier.",
    "[[5]] is the capital of France.",
    "She [[walked slowly]] to the market, where the [[old man]] sold apples and pears every Sunday.",
]


@pytest.fixture
def one_thread():
    """One torch thread for in-process runs (the test machine's 2 cores are shared with other work)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory, tokenizer) -> str:
    """The tiny test model as a checkpoint folder, so that workers load it by the ordinary loading rules."""
    folder = tmp_path_factory.mktemp("tiny-model")
    adapter = make_tiny_adapter(tokenizer)
    adapter.model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def spec_for(tiny_dir: str, **kwargs) -> WorkerSpec:
    # fp32: results independent of the batch; one thread: the test machine's 2 cores are shared with other work
    return WorkerSpec(model=tiny_dir, device="cpu", quantize="none", **{"threads": 1, **kwargs})


def write_lines(path: Path, items) -> Path:
    with open(path, "wb") as f:
        for item in items:
            f.write((item if isinstance(item, bytes) else json.dumps(item).encode()) + b"\n")
    return path


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def by_id(recs: list[dict]) -> dict:
    return {json.dumps(r["id"]): r for r in recs}


def without_timing(record: dict) -> dict:
    out = dict(record)
    if "stats" in out:
        out["stats"] = {k: v for k, v in out["stats"].items() if k not in ("seconds", "tokens_per_second")}
    return out


def corpus(n: int = 24) -> list[dict]:
    """Plain greedy edits (they share runs), sampled ones with their own seeds, candidates, one guided edit."""
    lines = []
    for i in range(n):
        line = {"id": f"line-{i}", "text": DRAFTS[i % len(DRAFTS)]}
        if i % 4 == 1:
            line.update(temperature=0.8, seed=i)
        if i % 6 == 2:
            line.update(candidates=2, temperature=0.7, seed=100 + i)
        if i % 5 == 3:
            line["steps"] = 4
        lines.append(line)
    lines.append({"id": 999, "text": "The harbour was [[4]] and calm.", "guidance": {"require": ["ferry"]}})
    return lines


# ---------------------------------------------------------------------------------------------------- edit_many
def test_edit_many_equals_one_at_a_time_and_shares_passes(tiny_editor, one_thread):
    configs = [SamplerConfig(steps=s, seed=seed) for s, seed in [(8, 0), (8, 5), (3, 0), (8, 1), (3, 2), (8, 9)]]
    configs += [SamplerConfig(steps=6, temperature=0.9, seed=4), SamplerConfig(steps=5, order="random", seed=1)]
    drafts = DRAFTS + DRAFTS[:2]
    ns = [1, 1, 1, 2, 1, 1, 3, 1]
    adapter = tiny_editor.adapter
    before = adapter.forward_passes
    many = tiny_editor.edit_many(drafts, configs, ns)
    shared_passes = adapter.forward_passes - before
    alone = [tiny_editor.edit(d, c, n=n) for d, c, n in zip(drafts, configs, ns)]
    assert shared_passes < sum(r.stats.forward_passes for r in alone)  # some lines rode in the same passes
    for m, a, c in zip(many, alone, configs):
        assert m.text == a.text and m.candidates == a.candidates
        assert m.config == c and m.seed == c.seed
        assert [(r.ids, r.states, r.confidence, r.committed) for r in m.trajectory] == \
               [(r.ids, r.states, r.confidence, r.committed) for r in a.trajectory]
        assert m.stats.steps == a.stats.steps == len(m.trajectory)


def test_edit_many_returns_or_raises_a_drafts_own_error(tiny_editor, one_thread):
    drafts = ["The [[3]] sat.", "no markup at all", "The [[2]] ran."]
    with pytest.raises(EditError, match="nothing to edit"):
        tiny_editor.edit_many(drafts, SamplerConfig(steps=2))
    out = tiny_editor.edit_many(drafts, SamplerConfig(steps=2), return_errors=True)
    assert isinstance(out[1], EditError) and out[0].text.startswith("The ") and out[2].text.endswith(" ran.")
    before = tiny_editor.adapter.forward_passes
    small = tiny_editor.edit_many(["The [[2]] sat.", "A [[2]] ran."] * 3, SamplerConfig(steps=2), max_shared=4)
    assert tiny_editor.adapter.forward_passes - before == 2 * 2  # 6 drafts, runs of at most 4: two runs of 2 steps
    assert [r.text for r in small] == [tiny_editor.edit(d, SamplerConfig(steps=2)).text
                                       for d in ["The [[2]] sat.", "A [[2]] ran."] * 3]


# ---------------------------------------------------------------------------------------------------- lines
@pytest.mark.parametrize("raw, words", [
    (b'{"id": 1, "text": "a [[2]]"', "not a JSON object"),
    (b'[1, 2]', "expected a JSON object"),
    (b'{"text": "a [[2]]"}', '"id" must be'),
    (b'{"id": true, "text": "a [[2]]"}', '"id" must be'),
    (b'{"id": 1.5, "text": "a [[2]]"}', '"id" must be'),
    (b'{"id": 1, "text": "a [[2]]", "steps": NaN}', "not a number JSON allows"),
    (b'{"id": 1, "text": "a [[2]]", "steps": 2.5}', "steps: must be an integer"),
    (b'{"id": 1, "text": "a [[2]]", "steps": 0}', "steps: must be an integer in 1..1024"),
    (b'{"id": 1, "text": "a [[2]]", "temperature": "hot"}', "temperature: must be a number"),
    (b'{"id": 1, "text": "a [[2]]", "candidates": 99}', "candidates: must be in 1..16"),
    (b'{"id": 1, "text": "a [[2]]", "colour": "red"}', "unknown key 'colour'"),
    (b'{"id": 1, "text": "a [[2|-5]]"}', "is not a length"),
    (b'{"id": 1, "text": "a [[2]] \\ud800"}', "not valid text"),
    (b'{"id": 1, "text": "   "}', "empty"),
    (b'{"id": 1, "text": 7}', '"text" must be a string'),
    (b'{"id": 1, "text": "\xff [[2]]"}', "not valid UTF-8: byte 0xff"),
    (b'{"id": 1, "text": "one two three", "action": "shorten", "target": 9}', "shorten target"),
    (b'{"id": 1, "text": "one two three", "action": "explode"}', "action: must be one of"),
    (b'{"id": 1, "text": "one two", "action": "tone", "attribute": "sarcastic"}', "tone needs"),
    (b'{"id": 1, "text": "a [[2]]", "guidance": {"ban": 3}}', "guidance ban"),
    (b'{"id": 1, "text": "a [[2]]", "guidance": {"cfg": 99}}', "cfg scale"),
    (b'{"id": 1, "text": "one two three", "action": "shorten", "strength": 0.5}', "not of shorten"),
    (b'{"id": "\\udc80", "text": "a [[2]]"}', "the id is not valid text"),
])
def test_a_bad_line_is_named(raw, words):
    with pytest.raises(LineError, match=words.replace("[", r"\[").replace("|", r"\|")):
        parse_line(raw, 3)


def test_a_line_takes_the_job_defaults_and_overrides_them():
    defaults = LineDefaults(config=SamplerConfig(steps=9, seed=4), candidates=2, temperature=0.5)
    task = parse_line(b'{"id": "x", "text": "a [[2]]", "seed": 7}', 1, defaults)
    assert (task.config.steps, task.config.seed, task.config.temperature, task.n) == (9, 7, 0.5, 2)
    action = parse_line(b'{"id": "y", "text": "one two three four", "action": "rephrase"}', 2, defaults)
    assert action.action_args["strength"] == 0.5 and action.config.temperature == 0.5
    assert parse_line(b"   ", 3, defaults) is None


# ---------------------------------------------------------------------------------------------------- local jobs
def test_local_job_writes_every_id_once_with_the_one_at_a_time_results(tmp_path, tiny_dir, tiny_editor, one_thread):
    lines = corpus()
    src = write_lines(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    summary = run_job(src, out, spec=spec_for(tiny_dir, trajectory=True), batch_size=8, progress=False)
    got = records(out)
    assert summary.written == len(got) == len(lines) and summary.errors == 0
    assert sorted(json.dumps(r["id"]) for r in got) == sorted(json.dumps(x["id"]) for x in lines)
    found = by_id(got)
    for line in lines[:12]:  # the job's results are those of one-line edits with the same settings
        config = SamplerConfig(steps=line.get("steps", 16), seed=line.get("seed", 0),
                               temperature=line.get("temperature", 0.0))
        alone = tiny_editor.edit(line["text"], config, n=line.get("candidates", 1))
        record = found[json.dumps(line["id"])]
        assert record["text"] == alone.text and record["candidates"] == alone.candidates
        assert [s["tokens"] for s in record["trajectory"]] == \
               [s["tokens"] for s in (r.to_json(tiny_editor.tokenizer) for r in alone.trajectory)]
    guided = found["999"]
    assert "ferry" in guided["text"] and guided["guidance"]["satisfied"]


def test_bad_lines_become_error_records_and_the_rest_goes_on(tmp_path, tiny_dir):
    items = [
        {"id": "ok-1", "text": "The [[3]] sat on the mat."},
        b'{"id": "broken", "text": ',
        {"id": "ok-2", "text": "It was [[2]] outside."},
        b'{"id": "bytes", "text": "caf\xe9 [[2]]"}',
        {"id": "ok-1", "text": "a repeated [[2]] id"},
        b"",
        {"id": "nothing", "text": "no markup here"},
        {"id": "short", "text": "the quiet old cat slept there", "action": "shorten", "target": 4, "steps": 2},
        {"id": "budget", "text": "Once [[200]]", "steps": 200},
        b'{"id": "half\\ud800", "text": "a [[2]]"}',
    ]
    src = write_lines(tmp_path / "in.jsonl", items)
    out = tmp_path / "out.jsonl"
    summary = run_job(src, out, spec=spec_for(tiny_dir, max_work=20_000), batch_size=4, progress=False)
    got = records(out)
    errors = {r["line"]: r for r in got if "error" in r}
    assert set(errors) == {2, 4, 5, 7, 9, 10} and summary.errors == 6
    assert errors[2]["id"] is None and "not a JSON object" in errors[2]["error"]
    # a line that is not UTF-8 is never parsed, so its id is not known: the record names the line and the byte
    assert errors[4]["id"] is None and errors[4]["error"] == "not valid UTF-8: byte 0xe9 at byte 28"
    assert errors[5]["id"] is None and "repeated (first on line 1)" in errors[5]["error"]
    assert errors[7]["id"] == "nothing" and "nothing to edit" in errors[7]["error"]
    assert errors[9]["id"] == "budget" and "too much work" in errors[9]["error"]
    assert errors[10]["id"] is None and "the id is not valid text" in errors[10]["error"]
    done = {r["id"]: r for r in got if "error" not in r}
    assert set(done) == {"ok-1", "ok-2", "short"} and done["short"]["action"] == "shorten"
    assert all("\n" not in r["error"] for r in errors.values())


def test_an_interrupted_job_resumes_without_losing_or_repeating_a_line(tmp_path, tiny_dir):
    lines = corpus(20)
    src = write_lines(tmp_path / "in.jsonl", lines + [b"not json"])
    whole = tmp_path / "whole.jsonl"
    run_job(src, whole, spec=spec_for(tiny_dir), batch_size=4, progress=False)

    out = tmp_path / "out.jsonl"
    seen = []

    def stop_after_two(batch):
        seen.append(batch)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_job(src, out, spec=spec_for(tiny_dir), batch_size=4, progress=False, callback=stop_after_two)
    first = out.read_text(encoding="utf-8")
    assert 0 < len(first.splitlines()) < len(lines)
    with open(out, "a", encoding="utf-8") as f:  # as if killed while writing a record
        f.write('{"id": "line-19", "text": "The')
    summary = run_job(src, out, spec=spec_for(tiny_dir), batch_size=4, progress=False)
    assert out.read_text(encoding="utf-8").startswith(first)  # what was written is kept as it was
    got = records(out)
    assert summary.skipped == len(first.splitlines()) and summary.written == len(got) - summary.skipped
    ids = [json.dumps(r["id"]) for r in got]
    assert len(ids) == len(set(ids[:-1])) + 1 and ids.count("null") == 1  # every id once, the bad line once
    assert {k: without_timing(v) for k, v in by_id(got).items() if k != "null"} == \
           {k: without_timing(v) for k, v in by_id(records(whole)).items() if k != "null"}
    again = run_job(src, out, spec=spec_for(tiny_dir), batch_size=4, progress=False)
    assert again.written == 0 and len(records(out)) == len(got)


def test_job_problems_are_job_errors(tmp_path, tiny_dir):
    src = write_lines(tmp_path / "in.jsonl", [{"id": 1, "text": "a [[2]]"}])
    with pytest.raises(JobError, match="no such file"):
        run_job(tmp_path / "missing.jsonl", tmp_path / "out.jsonl", spec=spec_for(tiny_dir))
    (tmp_path / "junk.jsonl").write_text("this is not a batch output\n")
    with pytest.raises(JobError, match="not a record of a batch job"):
        run_job(src, tmp_path / "junk.jsonl", spec=spec_for(tiny_dir))
    with pytest.raises(JobError, match="OUT is the input file"):
        run_job(src, src, spec=spec_for(tiny_dir))
    with pytest.raises(JobError, match="batch size"):
        run_job(src, tmp_path / "o.jsonl", spec=spec_for(tiny_dir), batch_size=0)


def test_the_batch_command(tmp_path, tiny_dir, capsys):
    src = write_lines(tmp_path / "in.jsonl", corpus(6) + [b"{oops"])
    out = tmp_path / "out.jsonl"
    code = main(["batch", str(src), str(out), "--model", tiny_dir, "--quantize", "none", "--steps", "6",
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 0 and "8 lines, 1 with errors" in err and "lines/s" in err
    got = records(out)
    assert len(got) == 8 and all(r["config"]["steps"] in (4, 6) for r in got if "error" not in r)
    code = main(["batch", str(src), str(out), "--model", tiny_dir, "--quantize", "none", "--no-progress"])
    assert code == 0 and "0 lines, 8 already in" in capsys.readouterr().err


@pytest.mark.parametrize("args, code, words", [
    (["--steps", "0"], 2, "steps: must be an integer in 1..1024"),
    (["--batch-size", "0"], 2, "batch size"),
    (["--candidates", "40"], 2, "the job-wide options: candidates"),
    (["--action", "shorten", "--target", "150%"], 2, "below 100 %"),
    (["--workers", "2"], 2, "are for Ray jobs"),
    (["--require", "\udcff"], 2, "not valid text"),
    (["--model", "no/such-model"], 3, "is not allowed"),
])
def test_the_batch_command_refuses_bad_flags_in_one_line(tmp_path, capsys, args, code, words):
    src = write_lines(tmp_path / "in.jsonl", [{"id": 1, "text": "a [[2]]"}])
    assert main(["batch", str(src), str(tmp_path / "out.jsonl"), *args]) == code
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and err.startswith("error: ")


def test_the_batch_command_refuses_a_missing_input_and_shows_progress(tmp_path, tiny_dir, capsys):
    assert main(["batch", str(tmp_path / "nope.jsonl"), str(tmp_path / "out.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    src = write_lines(tmp_path / "in.jsonl", corpus(4))
    assert main(["batch", str(src), str(tmp_path / "out.jsonl"), "--model", tiny_dir, "--progress"]) == 0
    err = capsys.readouterr().err
    assert "line/s" in err and "5/5" in err  # the bar: count, rate (and ETA while it runs)


# ---------------------------------------------------------------------------------------------------- Ray
class CrashOnce(BatchWorker):
    """A worker whose process dies the first time it is given the line with id "crash" (a marker file remembers)."""

    marker = ""

    def run(self, tasks):
        if any(t.id == "crash" for t in tasks) and not os.path.exists(self.marker):
            Path(self.marker).write_text("crashed")
            os._exit(1)
        return super().run(tasks)


@pytest.fixture(scope="module")
def ray_instance():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # CrashOnce travels to the workers
    yield ray
    ray.shutdown()


def test_ray_with_two_actors_writes_what_a_local_job_writes(tmp_path, tiny_dir, ray_instance):
    src = write_lines(tmp_path / "in.jsonl", corpus(24) + [b'{"id": "bad", "text": "[[oops"}'])
    local, on_ray = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    run_job(src, local, spec=spec_for(tiny_dir), batch_size=4, progress=False)
    summary = run_job(src, on_ray, spec=spec_for(tiny_dir), ray="local", workers=2, batch_size=4, progress=False)
    assert "2 Ray workers" in summary.runner and summary.written == 26 and summary.errors == 1
    got = records(on_ray)
    assert len({json.dumps(r["id"]) for r in got}) == len(got) == 26
    assert {k: without_timing(v) for k, v in by_id(got).items()} == \
           {k: without_timing(v) for k, v in by_id(records(local)).items()}


def test_ray_job_survives_a_killed_actor_with_every_id_once(tmp_path, tiny_dir, ray_instance):
    lines = corpus(30)
    lines[13] = {"id": "crash", "text": "The [[4]] was late again."}
    src = write_lines(tmp_path / "in.jsonl", lines)
    CrashOnce.marker = str(tmp_path / "crashed")
    out = tmp_path / "out.jsonl"
    summary = run_job(src, out, spec=spec_for(tiny_dir), ray="local", workers=2, batch_size=3, progress=False,
                      worker_class=CrashOnce)
    assert Path(CrashOnce.marker).exists()  # a worker did die mid-job
    assert summary.retried >= 1 and summary.errors == 0
    got = records(out)
    assert sorted(json.dumps(r["id"]) for r in got) == sorted(json.dumps(x["id"]) for x in lines)
    assert by_id(got)['"crash"']["text"].startswith("The ")


def test_the_batch_command_on_ray(tmp_path, tiny_dir, ray_instance, capsys):
    src = write_lines(tmp_path / "in.jsonl", corpus(8))
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(src), str(out), "--model", tiny_dir, "--quantize", "none", "--ray", "local",
                 "--workers", "2", "--no-progress"]) == 0
    assert "2 Ray workers" in capsys.readouterr().err and len(records(out)) == 9
    assert main(["batch", str(src), str(tmp_path / "o.jsonl"), "--model", tiny_dir, "--ray", "local",
                 "--workers", "5"]) == 2
    assert "do not fit the cluster" in capsys.readouterr().err
