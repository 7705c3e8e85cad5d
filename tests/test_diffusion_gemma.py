"""DiffusionGemma through the engine (issue 26), on a tiny random configuration of transformers' own
``DiffusionGemmaForBlockDiffusion`` (a prompt encoder and a canvas decoder; no hub, no weights), with SmolLM2's
tokenizer standing in for Gemma's (not available offline) and a mask token added to it."""

from __future__ import annotations

import pytest
import torch
from test_bpe_shifted import base_dir, bpe_tokenizer  # noqa: F401 (fixtures)

from dllm_core import Editor, SamplerConfig
from dllm_core.adapter import ALLOWED_MODELS, ModelAdapter, ModelLoadError
from dllm_core.canvas import TokenState

transformers = pytest.importorskip("transformers")
if not hasattr(transformers, "DiffusionGemmaForBlockDiffusion"):
    pytest.skip("this transformers has no DiffusionGemma", allow_module_level=True)


@pytest.fixture(scope="module")
def gemma(bpe_tokenizer):  # noqa: F811
    from transformers import DiffusionGemmaConfig, DiffusionGemmaForBlockDiffusion

    text = dict(vocab_size=len(bpe_tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=2, num_key_value_heads=1, head_dim=16, sliding_window=64,
                layer_types=["sliding_attention", "full_attention"], per_layer_config={},
                max_position_embeddings=512, num_experts=4, top_k_experts=2, moe_intermediate_size=32)
    vision = dict(hidden_size=16, intermediate_size=16, num_hidden_layers=1, num_attention_heads=1,
                  num_key_value_heads=1, head_dim=16, position_embedding_size=64)
    torch.manual_seed(0)
    config = DiffusionGemmaConfig(text_config=text, vision_config=vision, audio_config=None, canvas_length=16)
    model = DiffusionGemmaForBlockDiffusion(config).eval()
    return Editor(ModelAdapter(model, bpe_tokenizer, "tiny-diffusiongemma", kind="prompt-canvas"))


def test_logits_at_masked_positions_are_the_model_s_own_forward(gemma):
    adapter = gemma.adapter
    g = torch.Generator().manual_seed(1)
    window = torch.randint(100, 40000, (20,), generator=g)
    window[8:12] = adapter.mask_id  # a span in the middle: 8 tokens on the left, 8 on the right
    input_ids, attention, offset = adapter.frame([window])
    cols = torch.arange(8, 12) + offset
    ours = adapter.logits_at(input_ids, attention, torch.zeros(4, dtype=torch.long), cols)
    # the family's reference forward: the text before the span as the prompt (after the start token), the span and
    # the text after it as the canvas
    with torch.no_grad():
        reference = adapter.model(input_ids=input_ids[:, : 8 + offset],
                                  decoder_input_ids=input_ids[:, 8 + offset : 20 + offset]).logits[0, :4].float()
    assert torch.allclose(ours, reference, atol=1e-5)
    # the right context is read: changing it changes the span's logits (the decoder is bidirectional)
    other = window.clone()
    other[15] = 123
    ids2, att2, _ = adapter.frame([other])
    assert not torch.allclose(ours, adapter.logits_at(ids2, att2, torch.zeros(4, dtype=torch.long), cols))
    # two windows in one call give each its own reading
    both, att, _ = adapter.frame([window, other])
    rows = torch.tensor([0] * 4 + [1] * 4)
    assert torch.allclose(adapter.logits_at(both, att, rows, torch.cat([cols, cols]))[:4], ours, atol=1e-5)


def test_an_edit_keeps_fixed_text_holds_pins_and_records_every_step(gemma):
    markup = "The harbour was [[quiet and calm]] {{that}} [[morning|3]], and the boats came in late."
    result = gemma.edit(markup, SamplerConfig(steps=4, seed=2))
    assert result.text.startswith("The harbour was ")
    assert " that " in result.text and result.text.endswith(", and the boats came in late.")
    masked = [sum(1 for s in r.states if s == TokenState.MASKED) for r in result.trajectory]
    assert len(result.trajectory) == result.stats.steps and masked[-1] == 0
    assert masked == sorted(masked, reverse=True) and result.trajectory[0].committed  # the first step wrote
    committed = sum(len(r.committed) for r in result.trajectory)
    assert committed == sum(1 for s in result.trajectory[-1].states if s == TokenState.GENERATED)
    assert not gemma.adapter.can_score  # no causal reading: writing "auto" stays parallel on it


def test_the_hub_model_is_allowlisted_needs_no_remote_code_and_never_downloads_unasked(tmp_path, monkeypatch):
    spec = ALLOWED_MODELS["google/diffusiongemma-26B-A4B-it"]
    assert spec.loader == "block-diffusion" and not spec.needs_remote_code
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # an empty cache: nothing there to load
    with pytest.raises(ModelLoadError, match="allow-download"):
        ModelAdapter.load("google/diffusiongemma-26B-A4B-it", device="cpu")


def test_the_gpu_check_runs_the_tiny_family_and_reports_it(tmp_path, monkeypatch):
    """bench/gpu_check.py's family check, smoke-tested on the CPU (on a GPU it runs in bf16)."""
    import json
    import sys
    from pathlib import Path
    from types import SimpleNamespace

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import gpu_check

    out = gpu_check.tiny_families(SimpleNamespace(device="cpu"))["diffusion_gemma"]
    assert out["logits_max_abs_diff"] < 1e-4 and out["dtype"] == "float32"
    assert out["fixed_text_kept"] and out["no_mask_left"] and out["steps_recorded"]
    saved = {"device": "cpu", "torch": "x", "same_seed_identical": True, "fixed_text_kept": True, "no_mask_left": True,
             "rewrite64_bf16": {"engine_tok_s": 1, "naive_tok_s": 1, "speedup": 1, "engine_ms": 1},
             "rewrite64_fp32": {"engine_tok_s": 1, "naive_tok_s": 1, "speedup": 1, "engine_ms": 1},
             "generate256_bf16": {"tok_s": 1, "ms": 1},
             "candidates16_bf16": {"batched_ms": 1, "sequential_ms": 2, "speedup": 2},
             "default_model": {"dtype": "bf16", "edit_s_median": 0.2, "edit_s_max": 0.3, "concurrent20_s": 1.5,
                               "sequential20_s": 4.0, "concurrent20_speedup": 2.67, "concurrent20_same_text": 20},
             "tiny_families": {"diffusion_gemma": out}}
    path = tmp_path / "gpu.json"
    path.write_text(json.dumps(saved))
    written = {}
    monkeypatch.setattr(gpu_check, "write_section", lambda name, command, body, where=None: written.update(body=body))
    gpu_check.report(str(path))
    assert "20 span edits at once" in written["body"] and "diffusion_gemma" in written["body"]
