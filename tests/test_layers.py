"""The layers import downward only: the engine (dllm_core) knows nothing of the writing actions, the command line and
batch jobs, guidance, the web app, Gradio, Plotly or Ray; the writing actions know nothing of the surfaces above
them. And no module of the product is over MAX_LINES lines."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ABOVE_ENGINE = {"writing", "cli", "guidance", "ui", "app", "gradio", "plotly", "ray"}
ABOVE_WRITING = {"cli", "ui", "app", "gradio", "plotly", "ray"}
MAX_LINES = 600
PRODUCT = ("dllm_core", "writing", "cli", "guidance", "ui")


def imported_packages(path: Path) -> dict[str, int]:
    """Top-level package of every absolute import in ``path`` (at any depth: lazy imports count) -> its line."""
    out: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.setdefault(alias.name.split(".")[0], node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.setdefault(node.module.split(".")[0], node.lineno)
    return out


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", modules("dllm_core"), ids=lambda p: p.name)
def test_the_engine_imports_nothing_from_above(path):
    found = imported_packages(path)
    if path.name == "__main__.py":  # `python -m dllm_core`: a launcher of the cli package, never imported
        assert set(found) & ABOVE_ENGINE == {"cli"}, found
        return
    bad = {name: line for name, line in found.items() if name in ABOVE_ENGINE}
    assert not bad, f"{path.relative_to(ROOT)} imports {bad} (line numbers); the engine must not"


@pytest.mark.parametrize("path", modules("writing"), ids=lambda p: p.name)
def test_the_writing_actions_import_nothing_from_the_surfaces(path):
    bad = {name: line for name, line in imported_packages(path).items() if name in ABOVE_WRITING}
    assert not bad, f"{path.relative_to(ROOT)} imports {bad} (line numbers)"


def test_importing_every_engine_module_loads_no_layer_above():
    code = ("import pkgutil, importlib, sys, dllm_core\n"
            "for m in pkgutil.iter_modules(dllm_core.__path__):\n"
            "    if m.name != '__main__':\n"
            "        importlib.import_module('dllm_core.' + m.name)\n"
            f"print(sorted(n for n in sys.modules if n.split('.')[0] in {sorted(ABOVE_ENGINE)!r}))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_no_module_of_the_product_is_too_long():
    long = {}
    for path in [ROOT / "app.py", *(p for package in PRODUCT for p in modules(package))]:
        name = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            long[name] = lines
    assert not long, f"over {MAX_LINES} lines: {long}"
