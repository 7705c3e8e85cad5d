"""The shipped model end to end: Python API, CLI with JSON, error exits."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dllm_core import SamplerConfig, TokenState

ROOT = Path(__file__).resolve().parents[1]
DRAFT = "My friend {{Anna}} said the weather in Paris was [[quite nice]] yesterday, so we [[5]] by the river."


def cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "dllm_core", *args], cwd=ROOT, capture_output=True, text=True,
                          input=stdin, timeout=300, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "DLLM_MODEL": "embedded"})


def test_shipped_model_is_small_and_fp16():
    weights = ROOT / "assets" / "model" / "model.safetensors"
    assert weights.stat().st_size < 50 * 2**20
    from safetensors import safe_open

    with safe_open(weights, "pt") as fh:
        assert all(fh.get_slice(k).get_dtype() == "F16" for k in fh.keys())


def test_shipped_model_predicts_common_words(editor):
    """Far above chance (1 in 30k): obvious words in plain sentences are among the model's top 5."""
    cases = [("the cat sat on [MASK] mat.", "the"), ("she opened the door [MASK] walked into the room.", "and"),
             ("it was one of the best days [MASK] my life.", "of"), ("he [MASK] not want to go home.", "did"),
             ("there are many ways [MASK] solve this problem.", "to"), ("i would like a cup [MASK] tea.", "of"),
             ("the results were published [MASK] the journal in 2010.", "in"),
             ("we [MASK] going to the beach tomorrow.", "are")]
    tok, ad = editor.tokenizer, editor.adapter
    hits = 0
    for text, want in cases:
        ids = tok(text, return_tensors="pt").input_ids
        pos = (ids[0] == tok.mask_token_id).nonzero().item()
        logits = ad.logits_at(ids, torch.ones_like(ids), torch.tensor([0]), torch.tensor([pos]))
        hits += want in tok.convert_ids_to_tokens(logits[0].topk(5).indices.tolist())
    assert hits >= 6


def test_edit_keeps_everything_outside_spans(editor):
    result = editor.edit(DRAFT, SamplerConfig(steps=6, seed=4))
    text = result.text
    assert text.startswith("My friend Anna said the weather in Paris was ")
    assert " yesterday, so we " in text and text.endswith(" by the river.")
    generated = [editor.tokenizer.convert_ids_to_tokens(result.canvas.ids[p])
                 for p in result.canvas.positions(TokenState.GENERATED)]
    assert len(generated) == 2 + 5 and "[MASK]" not in text


def test_cli_json_output():
    proc = cli("edit", DRAFT, "--steps", "4", "--seed", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"text", "trajectory", "stats", "model", "seed"} <= out.keys()
    assert out["model"] == "embedded" and out["seed"] == 3
    assert len(out["trajectory"]) == 4
    first, last = out["trajectory"][0], out["trajectory"][-1]
    assert len(first["tokens"]) == len(first["confidence"]) == len(last["tokens"])
    assert first["tokens"].count("[MASK]") > last["tokens"].count("[MASK]") == 0
    pinned = [c for c, s in zip(last["confidence"], last["states"]) if s in ("fixed", "pinned")]
    assert pinned and all(c is None for c in pinned)
    assert all(0.0 <= c <= 1.0 for c, s in zip(last["confidence"], last["states"]) if s == "generated")
    assert out["stats"]["forward_passes"] == 4 and out["stats"]["generated_tokens"] == 7
    assert out["stats"]["seconds"] > 0
    # same seed, same result; plain mode prints just the text
    again = cli("edit", DRAFT, "--steps", "4", "--seed", "3")
    assert again.stdout.strip() == out["text"]


@pytest.mark.parametrize("args,code,words", [
    (["edit", "an [[unclosed span"], 2, "never closed"),
    (["edit", "   "], 2, "empty"),
    (["edit", "a [[2]] b", "--steps", "100000"], 2, "steps"),
    (["edit", "a [[2]] b", "--model", "evil/model"], 3, "not allowed"),
])
def test_cli_bad_input_exits_with_one_line(args, code, words):
    proc = cli(*args)
    assert proc.returncode == code
    assert words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_cli_reads_stdin():
    proc = cli("edit", "-", "--steps", "2", stdin="Hello [[2]] world.")
    assert proc.returncode == 0 and proc.stdout.startswith("Hello ") and proc.stdout.strip().endswith(" world.")
