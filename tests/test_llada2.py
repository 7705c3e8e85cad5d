"""LLaDA2.x through the engine (issue 26), on a tiny random configuration of the family's own code: the
configuration and modeling files of inclusionAI's LLaDA2 MoE (Apache-2.0, vendored in tests/fixtures/llada2, see
SOURCE.md), laid out as a snapshot of ``inclusionAI/LLaDA2.1-mini`` in a temporary Hugging Face cache and loaded the
way the app loads the real one: ``ModelAdapter.load(id, trust_remote_code=True)`` offline, transformers running the
remote code. SmolLM2's tokenizer stands in for LLaDA2's (not available offline), grown to LLaDA2's vocabulary
(157184 ids: reserved tokens past SmolLM2's own, ``<|mask|>`` at LLaDA2's mask id 156895). The block size is cut to
8 so that short windows span several blocks."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from remote_code import opt_in
from test_bpe_shifted import base_dir  # noqa: F401 (fixture)

from dllm_core import Editor, SamplerConfig
from dllm_core.adapter import ALLOWED_MODELS, ModelAdapter, ModelLoadError
from dllm_core.canvas import TokenState
from dllm_core.families import default_rope
from dllm_core.llada2 import (BLOCK_LENGTH, EOS_ID, MASK_ID, block_causal_mask,
                              fix_remote_class, patch_transformers_for_remote_code)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "llada2"
HUB_ID = "inclusionAI/LLaDA2.1-mini"
BLOCK = 8
COMMIT = "0123456789abcdef0123456789abcdef01234567"
TINY = dict(vocab_size=157184, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, head_dim=8, max_position_embeddings=512, rope_theta=600000.0, num_experts=4,
            num_shared_experts=1, num_experts_per_tok=2, n_group=2, topk_group=1, moe_intermediate_size=16,
            first_k_dense_replace=1, partial_rotary_factor=0.5, use_qkv_bias=False, use_bias=False,
            pad_token_id=EOS_ID, attention_dropout=0.0, embedding_dropout=0.0, output_dropout=0.0, rms_norm_eps=1e-6,
            block_length=BLOCK)


def family_modules():
    """The vendored configuration and modeling files as the package ``llada2_fixture`` (its relative import)."""
    import importlib.util

    if "llada2_fixture" not in sys.modules:
        spec = importlib.util.spec_from_file_location("llada2_fixture", FIXTURE / "__init__.py",
                                                      submodule_search_locations=[str(FIXTURE)])
        package = importlib.util.module_from_spec(spec)
        sys.modules["llada2_fixture"] = package
        spec.loader.exec_module(package)
    patch_transformers_for_remote_code()
    from llada2_fixture.configuration_llada2_moe import LLaDA2MoeConfig
    from llada2_fixture.modeling_llada2_moe import LLaDA2MoeModelLM

    fix_remote_class(LLaDA2MoeModelLM)
    return LLaDA2MoeConfig, LLaDA2MoeModelLM


def llada2_sized_tokenizer(base: Path):
    """SmolLM2's byte-level BPE with LLaDA2's vocabulary size: ids past its own are reserved tokens (never written by
    the sampler), and ``<|mask|>`` is id 156895 as in LLaDA2's tokenizer."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    spec = json.loads((Path(base) / "tokenizer.json").read_text())
    vocab = spec["model"]["vocab"]
    for i in range(len(vocab), TINY["vocab_size"]):
        vocab["<|mask|>" if i == MASK_ID else f"<|reserved_special_token_{i}|>"] = i
    spec["added_tokens"].append({"id": MASK_ID, "content": "<|mask|>", "single_word": False, "lstrip": False,
                                 "rstrip": False, "normalized": False, "special": True})
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(json.dumps(spec)), bos_token="<|endoftext|>",
                                   eos_token="<|endoftext|>", mask_token="<|mask|>")


def write_snapshot(root: Path, tokenizer, sentinel: Path | None = None) -> Path:
    """A hub cache under ``root`` holding a snapshot of HUB_ID: config.json with the family's ``auto_map``, its two
    code files, random weights (seed 0), the tokenizer. Returns the snapshot folder."""
    config_cls, model_cls = family_modules()
    snapshot = root / f"models--{HUB_ID.replace('/', '--')}" / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text(COMMIT)
    torch.manual_seed(0)
    model = model_cls(config_cls(**TINY)).eval()
    model.save_pretrained(snapshot)
    tokenizer.save_pretrained(snapshot)
    for name in ("configuration_llada2_moe.py", "modeling_llada2_moe.py"):
        shutil.copy(FIXTURE / name, snapshot / name)
    if sentinel is not None:  # the code, if it ever runs, leaves a file behind
        with (snapshot / "modeling_llada2_moe.py").open("a") as f:
            f.write(f"\nopen({str(sentinel)!r}, 'w').close()\n")
    config = json.loads((snapshot / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "configuration_llada2_moe.LLaDA2MoeConfig",
                          "AutoModel": "modeling_llada2_moe.LLaDA2MoeModel",
                          "AutoModelForCausalLM": "modeling_llada2_moe.LLaDA2MoeModelLM"}
    config["architectures"] = ["LLaDA2MoeModelLM"]
    (snapshot / "config.json").write_text(json.dumps(config))
    return snapshot


def no_network(monkeypatch):
    """Any attempt to reach the hub fails the test."""
    import huggingface_hub.file_download as fd

    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")

    for name in ("http_get", "get_hf_file_metadata"):
        if hasattr(fd, name):
            monkeypatch.setattr(fd, name, refuse)


@pytest.fixture(scope="module")
def llada2_tokenizer(base_dir):  # noqa: F811
    return llada2_sized_tokenizer(base_dir)


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory, llada2_tokenizer):
    root = tmp_path_factory.mktemp("hub")
    write_snapshot(root, llada2_tokenizer)
    return root


@pytest.fixture
def use_cache(monkeypatch, tmp_path):
    """Point the hub cache and transformers' folder of remote modules at temporary folders; no network."""
    import huggingface_hub.constants as constants
    import transformers.dynamic_module_utils as dynamic

    def point(root: Path):
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(root))
        monkeypatch.setattr(dynamic, "HF_MODULES_CACHE", str(tmp_path / "modules"))
        monkeypatch.setattr(sys, "path", list(sys.path))
        no_network(monkeypatch)

    return point


@pytest.fixture(scope="module")
def llada2(hub_cache) -> Editor:
    import huggingface_hub.constants as constants
    import transformers.dynamic_module_utils as dynamic

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(constants, "HF_HUB_CACHE", str(hub_cache))
        mp.setattr(dynamic, "HF_MODULES_CACHE", str(hub_cache / "modules"))
        mp.setattr(sys, "path", list(sys.path))
        adapter = ModelAdapter.load(HUB_ID, device="cpu", trust_remote_code=opt_in(HUB_ID), quantize="none")
    return Editor(adapter)


def family_forward(model, input_ids: torch.Tensor) -> torch.Tensor:
    """The model's own ``forward`` with the attention mask its own ``generate`` builds: ``log`` of the 0/1
    block-lower-triangular pattern, positions 0..L-1."""
    length = input_ids.shape[1]
    blocks = (length + BLOCK - 1) // BLOCK
    pattern = torch.tril(torch.ones(blocks, blocks)).repeat_interleave(BLOCK, 0).repeat_interleave(BLOCK, 1)
    mask = pattern[:length, :length][None, None].log()
    with torch.no_grad():
        return model(input_ids, attention_mask=mask, position_ids=torch.arange(length)[None]).logits[0].float()


# ------------------------------------------------------------------------------------------------ facts
def test_the_family_s_facts_are_on_the_allowlist():
    for hub_id in ("inclusionAI/LLaDA2.0-mini", "inclusionAI/LLaDA2.1-mini"):
        spec = ALLOWED_MODELS[hub_id]
        assert spec.loader == "block-causal" and spec.needs_remote_code
        assert spec.mask_id == MASK_ID == 156895 and spec.logit_shift == 0
    assert BLOCK_LENGTH == 32 and EOS_ID == 156892
    # the mask: bidirectional within a block, causal across blocks, padding never seen
    mask = block_causal_mask(torch.tensor([[1, 1, 1, 1, 1, 0]]), 2, torch.float32)[0, 0] == 0
    assert mask.tolist() == [[True, True, False, False, False, False],
                             [True, True, False, False, False, False],
                             [True, True, True, True, False, False],
                             [True, True, True, True, False, False],
                             [True, True, True, True, True, False],
                             [True, True, True, True, True, False]]


def test_the_load_time_fixes_only_fill_what_transformers_5_lacks():
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    before = dict(ROPE_INIT_FUNCTIONS)
    patch_transformers_for_remote_code()
    assert patch_transformers_for_remote_code() == []  # once in place, nothing more
    assert all(ROPE_INIT_FUNCTIONS[k] is v for k, v in before.items())
    config_cls, _ = family_modules()
    inv_freq, scale = default_rope(config_cls(**TINY))
    assert scale == 1.0 and inv_freq.shape == (2,)  # half of head_dim 8 rotates: 4 dims, 2 frequencies
    assert torch.allclose(inv_freq, torch.tensor([1.0, 600000.0 ** -0.5]))


# ------------------------------------------------------------------------------------------------ forward
def test_logits_at_masked_positions_are_the_family_s_own_forward(llada2):
    adapter = llada2.adapter
    assert adapter.kind == "block-causal" and adapter.custom_code and adapter.mask_id == MASK_ID
    assert adapter.tokenizer.mask_token_id == MASK_ID and MASK_ID in adapter.banned_ids.tolist()
    assert type(adapter.model).__name__ == "LLaDA2MoeModelLM" and "transformers_modules" in type(adapter.model).__module__
    # the weights are the snapshot's (seed 0), the LM head its own (not tied: tie_word_embeddings is false)
    config_cls, model_cls = family_modules()
    torch.manual_seed(0)
    saved = model_cls(config_cls(**TINY)).state_dict()
    loaded = adapter.model.state_dict()
    assert saved.keys() == loaded.keys() and all(torch.equal(saved[k], loaded[k]) for k in saved)
    assert adapter.model.lm_head.weight.data_ptr() != adapter.model.model.word_embeddings.weight.data_ptr()
    g = torch.Generator().manual_seed(1)
    window = torch.randint(100, 40000, (30,), generator=g)
    window[9:14] = MASK_ID  # a span across the boundary of the second and third block (columns 10-14)
    input_ids, attention, offset = adapter.frame([window])
    cols = torch.arange(9, 14) + offset
    ours = adapter.logits_at(input_ids, attention, torch.zeros(5, dtype=torch.long), cols)
    reference = family_forward(adapter.model, input_ids)[cols]
    assert torch.allclose(ours, reference, atol=1e-5)
    # the mask matters: a bidirectional reading differs
    with torch.no_grad():
        bidirectional = adapter.model(input_ids).logits[0].float()[cols]
    assert not torch.allclose(ours, bidirectional, atol=1e-3)
    # block-causal: a token in a later block changes nothing; one in the span's own block does
    later, same = input_ids.clone(), input_ids.clone()
    later[0, 20] = 123  # block 2 (columns 16-23): after the span's last block (column 14: block 1)
    same[0, 15] = 123  # block 1, right of the span
    assert torch.equal(adapter.logits_at(later, attention, torch.zeros(5, dtype=torch.long), cols), ours)
    assert not torch.allclose(adapter.logits_at(same, attention, torch.zeros(5, dtype=torch.long), cols), ours)
    # two windows of different lengths in one call: each reads as it does alone (padding is never seen)
    short = window[:20].clone()
    both, att, _ = adapter.frame([window, short])
    rows = torch.tensor([0] * 5 + [1] * 5)
    together = adapter.logits_at(both, att, rows, torch.cat([cols, cols]))
    alone = adapter.logits_at(*adapter.frame([short])[:2], torch.zeros(5, dtype=torch.long), cols)
    assert torch.allclose(together[:5], ours, atol=1e-5) and torch.allclose(together[5:], alone, atol=1e-5)


# ------------------------------------------------------------------------------------------------ editing
DRAFT = "The harbour was [[quiet and calm]] {{that}} [[morning|3]], and the boats came in late."


def test_an_edit_keeps_fixed_text_holds_pins_and_records_every_step(llada2):
    result = llada2.edit(DRAFT, SamplerConfig(steps=4, seed=2))
    assert result.text.startswith("The harbour was ")
    assert " that " in result.text and result.text.endswith(", and the boats came in late.")
    masked = [sum(1 for s in r.states if s == TokenState.MASKED) for r in result.trajectory]
    assert len(result.trajectory) == result.stats.steps and masked[-1] == 0
    assert masked == sorted(masked, reverse=True) and result.trajectory[0].committed
    committed = sum(len(r.committed) for r in result.trajectory)
    assert committed == sum(1 for s in result.trajectory[-1].states if s == TokenState.GENERATED)
    again = llada2.edit(DRAFT, SamplerConfig(steps=4, seed=2))
    assert again.text == result.text  # a fixed seed, the same text
    assert not llada2.adapter.can_score


def test_token_editing_edits_only_generated_tokens(llada2, monkeypatch):
    adapter = llada2.adapter
    favour = int(adapter.tokenizer.convert_tokens_to_ids("Ġriver"))
    real = adapter.logits_at

    def logits_at(input_ids, attention, rows, cols):  # sure of `favour` wherever a written token is read
        logits = real(input_ids, attention, rows, cols)
        written = input_ids[rows, cols].to(logits.device) != adapter.mask_id
        logits[written, favour] = logits.max() + 100.0
        return logits

    monkeypatch.setattr(adapter, "logits_at", logits_at)
    config = SamplerConfig(steps=4, seed=1, threshold=None)
    plain = llada2.edit(DRAFT, config)
    edited = llada2.edit(DRAFT, replace(config, editing_threshold=0.5))
    last, before = edited.trajectory[-1], plain.trajectory[-1]
    spots = [p for p, s in enumerate(last.states) if s == TokenState.GENERATED]
    assert spots and all(last.ids[p] == favour for p in spots)
    assert any(before.ids[p] != favour for p in spots)  # decoding alone did not write them all
    assert sum(len(r.edited) for r in edited.trajectory) > 0
    for record in edited.trajectory:  # edits touch generated positions only
        assert all(record.states[p] == TokenState.GENERATED for p in record.edited)
    for p, s in enumerate(last.states):  # fixed text and pins never change
        if s in (TokenState.FIXED, TokenState.PINNED):
            assert last.ids[p] == before.ids[p] != favour
    assert " that " in edited.text and edited.text.startswith("The harbour was ")
    assert edited.text.endswith(", and the boats came in late.")


def test_editing_while_masks_remain_as_llada2_1_does(llada2, monkeypatch):
    """``edit_while_masked``: the generated tokens of the block being written are edited at every step, as LLaDA2.1's
    own loop does; without it, edits come only after the last mask. Never fixed text or pins either way."""
    adapter = llada2.adapter
    favour = int(adapter.tokenizer.convert_tokens_to_ids("Ġriver"))
    real = adapter.logits_at

    def logits_at(input_ids, attention, rows, cols):
        logits = real(input_ids, attention, rows, cols)
        written = input_ids[rows, cols].to(logits.device) != adapter.mask_id
        logits[written, favour] = logits.max() + 100.0
        return logits

    monkeypatch.setattr(adapter, "logits_at", logits_at)

    def masked(record):
        return sum(1 for s in record.states if s == TokenState.MASKED)

    base = SamplerConfig(steps=6, seed=1, threshold=None, editing_threshold=0.5, block_length=3)
    after = llada2.edit(DRAFT, base)
    during = llada2.edit(DRAFT, replace(base, edit_while_masked=True))
    assert all(masked(r) == 0 for r in after.trajectory if r.edited)  # only after the last mask
    early = [r for r in during.trajectory if r.edited and masked(r) > 0]
    assert early  # edits while masks remained
    fixed = [p for p, s in enumerate(during.trajectory[-1].states) if s in (TokenState.FIXED, TokenState.PINNED)]
    for record in during.trajectory:
        assert all(record.states[p] == TokenState.GENERATED for p in record.edited)
        assert all(record.ids[p] == after.trajectory[-1].ids[p] for p in fixed)
    # with blocks of 3, an edit while masks remain stays in the block being written (where that step committed)
    spans = [p for p, s in enumerate(during.trajectory[-1].states) if s == TokenState.GENERATED]
    blocks = [set(spans[i : i + 3]) for i in range(0, len(spans), 3)]
    for record in early:
        block = next(b for b in blocks if record.committed[0] in b)
        assert set(record.edited) <= block
    assert " that " in during.text and during.text.endswith(", and the boats came in late.")


# ------------------------------------------------------------------------------------------------ loading rules
def test_remote_code_runs_only_for_the_allowlisted_id_and_when_asked(tmp_path, use_cache, llada2_tokenizer):
    sentinel = tmp_path / "remote-code-ran"
    snapshot = write_snapshot(tmp_path / "hub", llada2_tokenizer, sentinel=sentinel)
    use_cache(tmp_path / "hub")
    with pytest.raises(ModelLoadError, match="trust-remote-code"):  # allowlisted and cached, but not asked
        ModelAdapter.load(HUB_ID, device="cpu")
    with pytest.raises(ModelLoadError, match="not allowed"):  # asked, but not on the allowlist
        ModelAdapter.load("inclusionAI/LLaDA2.0-flash", device="cpu", trust_remote_code=True)
    with pytest.raises(ModelLoadError):  # a local folder holding the code: never run, even when asked
        ModelAdapter.load(str(snapshot), device="cpu", trust_remote_code=True)
    assert not sentinel.exists()
    adapter = ModelAdapter.load(HUB_ID, device="cpu", trust_remote_code=opt_in(HUB_ID), quantize="none")
    assert sentinel.exists() and adapter.custom_code and adapter.kind == "block-causal"


def test_nothing_downloads_without_allow_download(tmp_path, use_cache):
    use_cache(tmp_path / "empty")
    for hub_id in ("inclusionAI/LLaDA2.0-mini", "inclusionAI/LLaDA2.1-mini"):
        with pytest.raises(ModelLoadError, match="allow-download"):
            ModelAdapter.load(hub_id, device="cpu", trust_remote_code=opt_in(hub_id))
    assert not (tmp_path / "empty").exists() or not any((tmp_path / "empty").iterdir())


def test_the_gpu_check_runs_the_tiny_family_and_reports_it():
    """bench/gpu_check.py's LLaDA2 check, smoke-tested on the CPU (on a GPU it runs in bf16)."""
    from types import SimpleNamespace

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import gpu_check
    from transformers import AutoTokenizer

    from dllm_core.basemodel import ensure_base

    tok = AutoTokenizer.from_pretrained(ensure_base(quiet=True))
    tok.add_special_tokens({"mask_token": "<|mask|>"})
    out = gpu_check.tiny_llada2(SimpleNamespace(device="cpu"), tok)
    # a vocabulary padded past the tokenizer: those ids are never written
    wide = ModelAdapter(family_modules()[1](family_modules()[0](**TINY)).eval(), tok, "wide", kind="block-causal")
    assert set(range(len(tok), TINY["vocab_size"])) <= set(wide.banned_ids.tolist())
    assert out["logits_max_abs_diff"] < 1e-4 and out["dtype"] == "float32"
    assert out["fixed_text_kept"] and out["no_mask_left"] and out["steps_recorded"] and out["edits_only_written"]


def test_the_cli_passes_edit_while_masked(llada2, monkeypatch, capsys):
    from cli.main import main
    from dllm_core.sampler import Sampler

    seen = []
    real = Sampler.__init__

    def init(self, adapter, config=None, hooks=()):
        seen.append(config)
        real(self, adapter, config, hooks)

    monkeypatch.setattr(Editor, "load", classmethod(lambda cls, *a, **k: llada2))
    monkeypatch.setattr(Sampler, "__init__", init)
    args = ["edit", DRAFT, "--writing", "parallel", "--steps", "4", "--seed", "1", "--editing-threshold", "0.9"]
    assert main([*args, "--edit-while-masked", "--json"]) == 0
    assert seen and all(c.edit_while_masked and c.editing_threshold == 0.9 for c in seen)
    assert json.loads(capsys.readouterr().out)["text"].endswith(", and the boats came in late.")
    assert not SamplerConfig().edit_while_masked  # off unless asked
