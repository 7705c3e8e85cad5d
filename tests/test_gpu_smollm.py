"""The GPU procedure for SmolLM2 (scripts/gpu_smollm.sh): token pack, GGUF hash check, stash restore."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from dllm_core import basemodel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import train_smollm as ts  # noqa: E402


def test_pack_round_trip_and_vocabulary_check(tmp_path):
    train = np.array([5, 49151, 0, 7], dtype=np.uint16)
    held = np.arange(300, dtype=np.uint16)
    np.savez_compressed(tmp_path / "pack.npz", start_id=np.array(0), **{"train.wiki": train, "heldout.news": held})
    streams, heldout = ts.load_pack(tmp_path / "pack.npz", start_id=0)
    assert list(streams) == ["wiki"] and list(heldout) == ["news"]
    assert streams["wiki"].dtype == torch.int32 and streams["wiki"].tolist() == [5, 49151, 0, 7]
    assert torch.equal(heldout["news"], torch.arange(300, dtype=torch.int32))
    with pytest.raises(SystemExit, match="another vocabulary"):
        ts.load_pack(tmp_path / "pack.npz", start_id=1)


def test_base_from_gguf_refuses_a_wrong_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DLLM_CACHE", str(tmp_path / "cache"))
    gguf = tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    gguf.write_bytes(b"GGUF but not the one")
    with pytest.raises(basemodel.BaseModelError) as err:
        basemodel.base_from_gguf(gguf, quiet=True)
    assert "SHA-256" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "cache").exists()


def test_recorded_gguf_hash_is_the_one_in_basemodel():
    script = (ROOT / "scripts" / "gpu_smollm.sh").read_text()
    assert f"GGUF_SHA256={basemodel.GGUF_SHA256}" in script


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_restore_puts_files_back_and_never_overwrites(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "gpu_smollm.sh", tmp_path / "scripts")
    stashed = tmp_path / "runs/gpu_smollm/stash/assets/model/model.safetensors"
    target = tmp_path / "assets/model/model.safetensors"
    stashed.parent.mkdir(parents=True)
    stashed.write_bytes(b"weights")

    def restore() -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "scripts/gpu_smollm.sh", "restore"], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)

    assert restore().returncode == 0 and target.read_bytes() == b"weights" and not stashed.exists()
    assert restore().returncode == 0  # idempotent
    stashed.parent.mkdir(parents=True)
    stashed.write_bytes(b"older weights")
    proc = restore()
    assert proc.returncode == 1 and "KEPT" in proc.stdout
    assert target.read_bytes() == b"weights" and stashed.read_bytes() == b"older weights"
    stashed.write_bytes(b"weights")  # the same file: the stash copy goes
    assert restore().returncode == 0 and not stashed.exists() and target.read_bytes() == b"weights"
