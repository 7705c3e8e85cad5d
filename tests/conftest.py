"""Shared fixtures: a tiny randomly initialised BERT (fast, deterministic) and the shipped model."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# tests that name no model run on MiniLM (fast, and what their expectations were written for); the default model
# itself is tested where it is chosen (tests/test_fluency.py)
os.environ.setdefault("DLLM_MODEL", "embedded")

from dllm_core.adapter import EMBEDDED_DIR, ModelAdapter  # noqa: E402
from dllm_core.api import Editor  # noqa: E402


@pytest.fixture(scope="session")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(EMBEDDED_DIR)


def make_tiny_adapter(tokenizer, seed: int = 0, max_positions: int = 512) -> ModelAdapter:
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=max_positions)
    return ModelAdapter(BertForMaskedLM(config).eval(), tokenizer, "tiny-random-bert")


def make_tiny_classifier(editor: Editor):
    """A random two-class attribute head on the editor's token embeddings (for guidance mechanics, not quality)."""
    from guidance.classifier import AttributeClassifier, AttributeHead

    torch.manual_seed(0)
    emb = editor.adapter.input_embeddings().weight.detach()
    head = AttributeHead(emb.shape[1], 2, hidden=16).eval()
    for p in head.parameters():
        p.requires_grad_(False)
    return AttributeClassifier("tiny", ["negative", "positive"], head, emb, editor.tokenizer)


@pytest.fixture(scope="session")
def tiny_adapter(tokenizer) -> ModelAdapter:
    return make_tiny_adapter(tokenizer)


@pytest.fixture(scope="session")
def tiny_editor(tiny_adapter) -> Editor:
    return Editor(tiny_adapter)


@pytest.fixture(scope="session")
def editor() -> Editor:
    """The shipped embedded model."""
    return Editor.load("embedded", device="cpu")
