"""The fluent path's look-ahead reads its shared left context once (ModelAdapter.continuations_log_likelihood, a KV
cache): the same reading as scoring every whole sequence, and the same fluent edits (issue 24). On a tiny random
Llama with SmolLM2's tokenizer, fp32."""

from __future__ import annotations

import copy

import pytest
import torch
from test_bpe_shifted import base_dir, bpe_editor, bpe_tokenizer, tiny_llama  # noqa: F401 (fixtures)

from dllm_core import SamplerConfig
from dllm_core.hooks import CausalFluency
from dllm_core.presets import apply_preset


@pytest.mark.parametrize("reader", ["adapted", "base"])
def test_continuations_read_like_whole_sequences(bpe_editor, reader):  # noqa: F811
    adapter = bpe_editor.adapter
    if reader == "base":  # a judge: another tiny Llama standing in for the base LM
        adapter = copy.copy(adapter)
        judge = tiny_llama(49152, seed=5)
        adapter.judge_loader, adapter._judge, adapter.causal_reader = (lambda: judge), None, "base"
    g = torch.Generator().manual_seed(0)
    prefix = torch.randint(0, 49000, (40,), generator=g)
    right = torch.randint(0, 49000, (9,), generator=g)
    continuations = [torch.cat([torch.tensor([t]), right]) for t in (5, 77, 4000, 48000)]
    for skip in (0, 1, 3):
        fast = adapter.continuations_log_likelihood(prefix, continuations, skip=skip)
        slow = adapter.sequence_log_likelihood([torch.cat([prefix, c]) for c in continuations],
                                               start=[len(prefix) + skip] * len(continuations))
        assert torch.allclose(fast, slow, atol=1e-4), (skip, fast, slow)
    # unequal lengths fall back to whole sequences
    mixed = [continuations[0], continuations[1][:4]]
    fast = adapter.continuations_log_likelihood(prefix, mixed, skip=1)
    slow = adapter.sequence_log_likelihood([torch.cat([prefix, c]) for c in mixed], start=[len(prefix) + 1] * 2)
    assert torch.allclose(fast, slow, atol=1e-4)


def test_fluent_edits_are_the_same_with_the_cache(bpe_editor, monkeypatch):  # noqa: F811
    config = apply_preset(SamplerConfig(seed=3), "fluent")
    markup = "The harbour was [[quiet and calm that]] morning, and the boats came in late."
    outputs = {}
    for cached in (True, False):
        monkeypatch.setattr(CausalFluency, "cached", cached)
        passes = bpe_editor.adapter.forward_passes
        result = bpe_editor.edit(markup, config)
        outputs[cached] = (result.text, result.candidates, bpe_editor.adapter.forward_passes - passes)
    assert outputs[True][:2] == outputs[False][:2]
    assert outputs[True][2] > outputs[False][2]  # two passes (prefix, continuations) where there was one
