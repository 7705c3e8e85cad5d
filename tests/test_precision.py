"""The judge's number format (dllm_core.precision): bfloat16 on a CPU with AMX, float32 elsewhere, the environment
variable over both; and a bfloat16 judge reads like the float32 one within bfloat16's precision."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from test_bpe_shifted import base_dir, bpe_tokenizer, tiny_llama  # noqa: F401 (fixtures)

from dllm_core import precision
from dllm_core.adapter import ModelAdapter
from dllm_core.shifted import ShiftedDiffusionLM

CPU, GPU = torch.device("cpu"), torch.device("cuda")


@pytest.fixture
def amx(monkeypatch):
    """Pretend the CPU has (True) or lacks (False) AMX tiles; the variable unset."""
    monkeypatch.delenv("DLLM_JUDGE_DTYPE", raising=False)

    def set_to(value: bool) -> None:
        monkeypatch.setattr(precision, "cpu_has_amx", lambda: value)
    return set_to


def test_bfloat16_only_for_a_float32_model_on_a_cpu_with_amx(amx):
    amx(True)
    assert precision.judge_dtype(CPU, torch.float32) == torch.bfloat16
    assert precision.judge_dtype(GPU, torch.float32) == torch.float32  # a GPU keeps the model's format
    assert precision.judge_dtype(GPU, torch.bfloat16) == torch.bfloat16
    assert precision.judge_dtype(CPU, torch.float16) == torch.float16  # only float32 is lowered
    amx(False)
    assert precision.judge_dtype(CPU, torch.float32) == torch.float32


def test_the_variable_overrides_and_is_checked(amx, monkeypatch):
    amx(True)
    monkeypatch.setenv("DLLM_JUDGE_DTYPE", "float32")
    assert precision.judge_dtype(CPU, torch.float32) == torch.float32
    amx(False)
    monkeypatch.setenv("DLLM_JUDGE_DTYPE", "bfloat16")
    assert precision.judge_dtype(CPU, torch.float32) == torch.bfloat16
    monkeypatch.setenv("DLLM_JUDGE_DTYPE", "int8")
    with pytest.raises(ValueError, match="DLLM_JUDGE_DTYPE"):
        precision.judge_dtype(CPU, torch.float32)


def test_amx_probe_agrees_with_the_cpu_flags():
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("no /proc/cpuinfo to compare with")
    flags = {f for line in cpuinfo.read_text().splitlines() if line.startswith("flags") for f in line.split()}
    assert precision.cpu_has_amx() is ("amx_tile" in flags)


def test_a_bfloat16_judge_loads_as_such_and_reads_close_to_float32(amx, bpe_tokenizer):  # noqa: F811
    causal = tiny_llama(49152, seed=3)
    adapter = ModelAdapter(ShiftedDiffusionLM(causal), bpe_tokenizer, "tiny", kind="shifted-causal",
                           start_token="<|endoftext|>")
    adapter.judge_loader = lambda: copy.deepcopy(causal)
    seqs = [torch.tensor([10, 20, 30, 40, 50, 60]), torch.tensor([7, 8, 9])]
    amx(False)
    full = adapter.judge_log_probs(seqs)
    assert next(adapter.judge().parameters()).dtype == torch.float32
    adapter._judge = None
    amx(True)
    half = adapter.judge_log_probs(seqs)
    assert next(adapter.judge().parameters()).dtype == torch.bfloat16
    for a, b in zip(full, half):
        assert b.dtype == torch.float32 and a.shape == b.shape
        assert not torch.equal(a, b)  # it did read in another format
        torch.testing.assert_close(a, b, atol=0.1, rtol=0.02)  # per token, within bfloat16's precision
