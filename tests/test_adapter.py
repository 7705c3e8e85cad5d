import pytest
import torch
from transformers import DistilBertConfig, DistilBertForMaskedLM

from dllm_core import Editor, ModelAdapter, ModelLoadError, SamplerConfig, TokenState
from dllm_core.adapter import ALLOWED_MODELS


def test_logits_at_matches_full_forward(tiny_adapter):
    ids = torch.tensor([[101, 7592, 103, 2088, 102], [101, 103, 103, 102, 0]])
    att = (ids != 0).long()
    rows, cols = torch.tensor([0, 1, 1]), torch.tensor([2, 1, 2])
    part = tiny_adapter.logits_at(ids, att, rows, cols)
    full = tiny_adapter.model(input_ids=ids, attention_mask=att).logits
    assert part.shape == (3, tiny_adapter.vocab_size)
    assert torch.allclose(part, full[rows, cols].float(), atol=1e-5)


def test_logit_shift_reads_previous_position(tiny_adapter, tokenizer):
    shifted = ModelAdapter(tiny_adapter.model, tokenizer, "shifted", logit_shift=1)
    ids = torch.tensor([[101, 7592, 103, 2088, 102]])
    att = torch.ones_like(ids)
    a = shifted.logits_at(ids, att, torch.tensor([0]), torch.tensor([3]))
    b = tiny_adapter.logits_at(ids, att, torch.tensor([0]), torch.tensor([2]))
    assert torch.allclose(a, b)


def test_special_and_unused_tokens_never_generated(tiny_adapter, tokenizer):
    banned = set(tiny_adapter.banned_ids.tolist())
    assert {tokenizer.mask_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id} <= banned
    assert tokenizer.convert_tokens_to_ids("[unused5]") in banned
    assert tokenizer.convert_tokens_to_ids("the") not in banned


def test_any_masked_lm_directory_loads(tmp_path, tokenizer):
    """A non-BERT architecture (DistilBERT: no .bert/.cls) goes through the generic path."""
    torch.manual_seed(0)
    cfg = DistilBertConfig(vocab_size=tokenizer.vocab_size, dim=32, n_layers=1, n_heads=2, hidden_dim=64)
    DistilBertForMaskedLM(cfg).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    editor = Editor.load(str(tmp_path), device="cpu")
    result = editor.edit("one [[3]] two {{three}}", SamplerConfig(steps=3))
    assert result.canvas.n_masked == 0 and result.text.startswith("one ") and result.text.endswith(" two three")
    assert result.stats.forward_passes == 3
    assert len(result.canvas.positions(TokenState.GENERATED)) == 3


def test_model_ids_outside_the_allowlist_are_refused():
    with pytest.raises(ModelLoadError, match="not allowed"):
        ModelAdapter.load("someone/evil-model")


def test_remote_code_needs_explicit_consent():
    llada = next(k for k, v in ALLOWED_MODELS.items() if v.needs_remote_code)
    with pytest.raises(ModelLoadError, match="trust-remote-code"):
        ModelAdapter.load(llada)


def test_allowed_hub_model_does_not_download_without_permission():
    bert = next(k for k, v in ALLOWED_MODELS.items() if not v.needs_remote_code)
    with pytest.raises(ModelLoadError, match="allow-download"):
        ModelAdapter.load(bert)


def test_int8_quantisation_keeps_predictions_close(tmp_path, tokenizer):
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=128)
    BertForMaskedLM(cfg).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    fp32 = ModelAdapter.load(str(tmp_path), device="cpu", quantize="none")
    int8 = ModelAdapter.load(str(tmp_path), device="cpu", quantize="int8")
    assert ModelAdapter.load(str(tmp_path), device="cpu").quantized  # auto: int8 on a CPU
    assert int8.quantized and "int8" in int8.describe() and not fp32.quantized
    assert any("quantized" in type(m).__module__ for m in int8.model.modules())
    ids = torch.tensor([[101, 7592, 103, 2088, 103, 102]])
    rows, cols = torch.tensor([0, 0]), torch.tensor([2, 4])
    a = fp32.logits_at(ids, torch.ones_like(ids), rows, cols)
    b = int8.logits_at(ids, torch.ones_like(ids), rows, cols)
    assert not torch.equal(a, b)  # really a different computation ...
    assert torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1] > 0.99  # ... giving nearly the same logits
    with pytest.raises(ModelLoadError, match="quantize"):
        ModelAdapter.load(str(tmp_path), quantize="int4")
