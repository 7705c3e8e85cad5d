"""Issue 15, robustness: bad input is refused with one clear line (CLI status 2, 3 for a model that cannot load), and
one request cannot ask for more work than the budget of dllm_core.limits."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dllm_core import EditError, Editor, ModelLoadError, SamplerConfig, SamplerHook
from dllm_core.config import device_setting, threshold_setting, whole_number
from dllm_core.limits import MAX_WORK_CPU, MAX_WORK_GPU, work_limit
from dllm_core.markup import MarkupError, check_text, parse

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str | bytes, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """The CLI in a subprocess; arguments may be bytes (invalid UTF-8 reaches it as the OS passes it)."""
    return subprocess.run([sys.executable, "-m", "dllm_core", *args], cwd=ROOT, capture_output=True, input=stdin,
                          timeout=300, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8",
                                                   "DLLM_MODEL": "embedded"})


def one_line(proc: subprocess.CompletedProcess) -> str:
    err = proc.stderr.decode("utf-8", "replace").strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    return err


# ------------------------------------------------------------------------------------------------ the CLI
@pytest.mark.parametrize("args, stdin, code, words", [
    (["edit", "a [[2]] b", "--model", "/etc"], None, 3, "holds no model"),
    (["edit", "a [[2]] b", "--device", "bogus"], None, 2, "not a device name"),
    (["edit", "-"], b"a [[2]] \xff b", 2, "standard input is not valid UTF-8: byte 0xff at byte 8"),
    ([b"edit", b"a [[2]] \xff b"], None, 2, "the draft argument is not valid text: it holds the byte 0xff"),
    ([b"edit", b"a [[2]] b", b"--ban", b"\xfe"], None, 2, "--ban is not valid text"),
    (["edit", "The [[abc|-5]] cat."], None, 2, "'-5' is not a length"),
    (["edit", "a [[2]] b", "--threshold", "nan"], None, 2, "threshold"),
    (["edit", "a [[2]] b", "--temperature", "nan"], None, 2, "temperature"),
    (["edit", "a [[2]] b", "--steps", "2.7"], None, 2, "invalid int value: '2.7'"),
    (["edit", "a [[2]] b", "--candidates", "0"], None, 2, "--candidates must be in 1..16"),
    (["edit"], None, 2, "give the draft"),
    (["edit", "a [[2]] b", "--file", "x.txt"], None, 2, "one of them"),
    (["edit", "--file", "/nonexistent/draft.txt"], None, 2, "cannot read /nonexistent/draft.txt"),
    (["edit", "a [[2]] b", "--no-such-flag"], None, 2, "unrecognized arguments"),
])
def test_cli_bad_input_is_one_line_with_its_status(args, stdin, code, words):
    proc = cli(*args, stdin=stdin)
    assert proc.returncode == code and words in one_line(proc)
    assert proc.stdout == b""


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cli_refuses_a_gpu_this_machine_does_not_have():
    proc = cli("edit", "a [[2]] b", "--device", "cuda")
    assert proc.returncode == 2 and "has none" in one_line(proc)


def test_cli_reads_a_file_and_refuses_one_that_is_not_utf8(tmp_path):
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_bytes("\ufeffHello [[2]] world.".encode())  # a byte-order mark is dropped
    bad.write_bytes(b"Hello \xc3\x28 [[2]] world.")
    proc = cli("edit", "--file", str(good), "--steps", "2")
    out = proc.stdout.decode()
    assert proc.returncode == 0 and out.startswith("Hello ") and out.strip().endswith(" world.")
    proc = cli("edit", "--file", str(bad))
    assert proc.returncode == 2 and f"--file {bad} is not valid UTF-8: byte 0xc3 at byte 6" in one_line(proc)


def test_cli_refuses_a_request_over_the_work_budget():
    proc = cli("edit", "Once upon a time [[1024]]", "--steps", "256")
    err = one_line(proc)
    assert proc.returncode == 2
    assert "256 steps" in err and f"the limit is {MAX_WORK_CPU:,} per request" in err and "token-steps" in err


# ------------------------------------------------------------------------------------------------ markup
@pytest.mark.parametrize("markup, words", [
    ("The [[abc|-5]] cat.", "'-5' is not a length"),
    ("The [[abc|2.7]] cat.", "'2.7' is not a length"),
    ("The [[abc|-50%]] cat.", "'-50%' is not a length"),
    ("The [[abc|AUTO]] cat.", "'AUTO' is not a length"),
    ("The [[abc|]] cat.", "the length after '|' is missing"),
])
def test_a_bad_length_spec_is_an_error_not_text_to_rewrite(markup, words):
    with pytest.raises(MarkupError) as err:
        parse(markup)
    assert words in str(err.value) and err.value.position == 4 and "1..1024" in str(err.value)


def test_a_bar_between_words_is_still_text_to_rewrite():
    assert [(s.kind, s.text) for s in parse("a [[yes|no]] b")][1] == ("rewrite", "yes|no")
    assert parse("a [[x|5 %]] b")[1].ratio == 0.05


@pytest.mark.parametrize("text, position, words", [
    ("ab\ud800cd", 2, "U+D800, half of a UTF-16 surrogate pair"),
    ("abc \udcff", 4, "the byte 0xff, which is not UTF-8"),
])
def test_lone_surrogates_are_refused_with_their_position(text, position, words):
    with pytest.raises(MarkupError) as err:
        parse(text + " [[2]]")
    assert err.value.position == position and words in str(err.value)
    check_text("emoji 🙂 and café are fine")


# ------------------------------------------------------------------------------------------------ settings
def test_threshold_setting_refuses_nan_and_keeps_zero_as_off():
    assert threshold_setting(0) is None and threshold_setting("") is None and threshold_setting(None) is None
    assert threshold_setting(0.5) == 0.5
    for bad in (math.nan, "nan", "high", True):
        with pytest.raises(ValueError, match="threshold"):
            threshold_setting(bad)
    with pytest.raises(ValueError, match="threshold"):
        SamplerConfig(threshold=threshold_setting(-0.5)).validate()


@pytest.mark.parametrize("value, expected", [(3, 3), (3.0, 3), ("3", 3), (2.7, None), (math.nan, None),
                                             (math.inf, None), ("abc", None), (None, None), (True, None)])
def test_whole_numbers_are_not_cut(value, expected):
    if expected is None:
        with pytest.raises(ValueError, match="steps: must be a whole number"):
            whole_number(value, "steps")
    else:
        assert whole_number(value, "steps") == expected


@pytest.mark.parametrize("field, value", [("steps", 2.7), ("steps", True), ("temperature", math.nan),
                                          ("top_p", math.inf), ("threshold", math.nan), ("seed", math.nan),
                                          ("strength", "0.5"), ("remask", None), ("block_length", 1.5)])
def test_validate_names_the_setting_for_nan_fractions_and_wrong_types(field, value):
    with pytest.raises(ValueError, match=f"^{field}: "):
        SamplerConfig(**{field: value}).validate()


def test_device_setting_names_what_is_wrong():
    assert device_setting(None) is None and device_setting("cpu") == "cpu"
    with pytest.raises(ValueError, match="not a device name"):
        device_setting("bogus")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="has none"):
            device_setting("cuda")
    with pytest.raises(ModelLoadError, match="not a device name"):
        Editor.load("embedded", device="bogus")
    with pytest.raises(ModelLoadError, match="holds no model"):
        Editor.load("/etc")


# ------------------------------------------------------------------------------------------------ the work budget
def test_the_budget_refuses_big_requests_before_any_forward_pass(tiny_adapter):
    editor = Editor(tiny_adapter, max_work=MAX_WORK_CPU)
    before = tiny_adapter.forward_passes
    with pytest.raises(EditError) as err:
        editor.edit("Once upon a time [[1024]]", SamplerConfig(steps=256))
    message = str(err.value)
    assert "× 256 steps" in message and f"the limit is {MAX_WORK_CPU:,} per request" in message
    with pytest.raises(EditError, match="token-steps"):  # 15 parts: the 34-minute request
        editor.edit(" ".join(f"Part {i}: [[1024]]" for i in range(15)), SamplerConfig(steps=256))
    config = SamplerConfig(steps=64)
    with pytest.raises(EditError, match="token-steps"):  # candidates multiply the work
        editor.edit("The [[400]] end.", config, n=4)
    assert tiny_adapter.forward_passes == before
    editor.check_work([editor.canvas("The [[400]] end.", config)], config)  # one canvas of it fits
    small = SamplerConfig(steps=4)
    with pytest.raises(EditError, match="the limit is 10 per request"):
        Editor(tiny_adapter, max_work=10).edit("The [[4]] end.", small)
    assert Editor(tiny_adapter).edit("The [[4]] end.", small).text  # no budget (the Python API's default): runs


def test_work_counts_windows_steps_canvases_and_extra_variants(tiny_adapter):
    editor = Editor(tiny_adapter)
    config = SamplerConfig(steps=8)
    canvas = editor.canvas("The cat [[4]] on the mat.", config)
    work, read, steps = editor.work([canvas], config)
    assert steps == 4 and read == len(canvas) and work == read * steps  # steps clamp to the tokens to write
    assert editor.work([canvas, canvas.copy()], config)[0] == 2 * work

    class Unconditional(SamplerHook):  # like classifier-free guidance: a second variant in the same pass
        def extra_tokens(self, state):
            return state.tokens

    assert editor.work([canvas], config, [Unconditional(), SamplerHook()])[0] == 2 * work
    assert editor.work([canvas], SamplerConfig(steps=8, remask=0.5))[2] == 8  # remasking uses every step
    assert work_limit("cpu") == MAX_WORK_CPU < work_limit("cuda") == MAX_WORK_GPU


def test_the_api_refuses_text_no_tokenizer_can_read(tiny_editor):
    for draft in ("The [[cat]] \ud800 sat.", "The [[cat]] \udcff sat."):
        with pytest.raises(EditError, match="not valid text"):
            tiny_editor.edit(draft)
    with pytest.raises(EditError, match="must be text"):
        tiny_editor.edit(42)
