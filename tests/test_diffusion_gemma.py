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
