"""LLaDA 1.x and Dream through the engine's adapter (issue 26), offline: tiny random checkpoints built from each
family's own configuration and modeling code (vendored in tests/fixtures/<family>/, see SOURCE.md there), laid out
as the hub cache holds an allowlisted model, so that ``ModelAdapter.load`` takes its real path (allowlist,
``trust_remote_code``, no download). The tokenizer is SmolLM2's byte-level BPE with each family's special tokens
at their ids (the rest up to them unused), since neither family's tokenizer is available here."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
import torch
from remote_code import opt_in
from test_bpe_shifted import base_dir  # noqa: F401 (fixture)

from dllm_core import Editor, SamplerConfig
from dllm_core.adapter import ALLOWED_MODELS, ModelAdapter, ModelLoadError
from dllm_core.canvas import TokenState
from dllm_core.families import DREAM, FAMILIES, LLADA, fix_config, remote_class
from dllm_core.families import load as load_family

FIXTURES = Path(__file__).resolve().parent / "fixtures"
COMMIT = "0123456789abcdef0123456789abcdef01234567"  # the snapshot's name in the fake hub cache

# each family's special tokens (id: token); LLaDA's tokenizer does not declare its mask token, Dream's does
SPECIALS = {
    "llada": {126080: "<|startoftext|>", 126081: "<|endoftext|>", 126336: "<|mdm_mask|>",
              126346: "<|start_header_id|>", 126347: "<|end_header_id|>", 126348: "<|eot_id|>"},
    "dream": {151643: "<|endoftext|>", 151644: "<|im_start|>", 151645: "<|im_end|>", 151665: "<|beginoftext|>",
              151666: "<|mask|>"},
}
ROLES = {
    "llada": dict(bos_token="<|startoftext|>", eos_token="<|endoftext|>"),
    "dream": dict(bos_token="<|beginoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                  mask_token="<|mask|>"),
}
HUB_IDS = {"llada": "GSAI-ML/LLaDA-8B-Instruct", "dream": "Dream-org/Dream-v0-Instruct-7B"}

CONFIGS = {  # the real vocabularies (126464 and 151936 rows), everything else tiny
    "llada": dict(model_type="llada", architectures=["LLaDAModelLM"],
                  auto_map={"AutoConfig": "configuration_llada.LLaDAConfig",
                            "AutoModel": "modeling_llada.LLaDAModelLM"},
                  d_model=32, n_heads=4, n_kv_heads=4, n_layers=2, mlp_hidden_size=64, mlp_ratio=2,
                  vocab_size=126464, embedding_size=126464, max_sequence_length=256, rope=True, rope_theta=10000.0,
                  block_type="llama", activation_type="silu", layer_norm_type="rms", rms_norm_eps=1e-5,
                  include_bias=False, include_qkv_bias=False, weight_tying=False, init_device="cpu",
                  attention_layer_norm=False, scale_logits=False, input_emb_norm=False, alibi=False,
                  flash_attention=False, mask_token_id=126336, eos_token_id=126081, pad_token_id=126081),
    "dream": dict(model_type="Dream", architectures=["DreamModel"],
                  auto_map={"AutoConfig": "configuration_dream.DreamConfig", "AutoModel": "modeling_dream.DreamModel"},
                  vocab_size=151936, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=256, rope_theta=10000.0, mask_token_id=151666,
                  pad_token_id=151643, bos_token_id=151665, eos_token_id=151643),
}


def family_tokenizer(base: Path, family: str):
    """SmolLM2's BPE (its own special tokens renamed unused) plus the family's special tokens at their ids, the ids
    between unused: ``<|reserved_special_token_N|>``, which the adapter never samples."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    spec = json.loads((base / "tokenizer.json").read_text())
    vocab = spec["model"]["vocab"]
    for token in [t["content"] for t in spec["added_tokens"]]:
        i = vocab.pop(token)
        vocab[f"<|reserved_special_token_{i}|>"] = i
    specials = SPECIALS[family]
    for i in range(len(vocab), max(specials) + 1):
        vocab[specials.get(i, f"<|reserved_special_token_{i}|>")] = i
    spec["added_tokens"] = [dict(id=i, content=t, single_word=False, lstrip=False, rstrip=False, normalized=False,
                                 special=True) for i, t in specials.items()]
    spec["post_processor"] = None
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(json.dumps(spec)), **ROLES[family])
    assert all(tokenizer.convert_tokens_to_ids(t) == i for i, t in specials.items())
    return tokenizer


@pytest.fixture(scope="module")
def hub(base_dir, tmp_path_factory):  # noqa: F811
    """A hub cache holding a tiny checkpoint of each family under its allowlisted id, and the reference models (the
    family's class, built from its configuration, the weights that were saved)."""
    import huggingface_hub.constants

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: one thread is enough, and the machine is shared
    cache = tmp_path_factory.mktemp("hub")
    references = {}
    for family, hub_id in HUB_IDS.items():
        repo = cache / f"models--{hub_id.replace('/', '--')}"
        (repo / "refs").mkdir(parents=True)
        (repo / "refs" / "main").write_text(COMMIT)
        folder = repo / "snapshots" / COMMIT
        shutil.copytree(FIXTURES / family, folder, ignore=shutil.ignore_patterns("*.md", "__pycache__"))
        (folder / "config.json").write_text(json.dumps(CONFIGS[family]))
        from transformers.dynamic_module_utils import get_class_from_dynamic_module

        # the test builds the reference model from this project's vendored fixture code (tests/fixtures/, see
        # SOURCE.md there), never from a downloaded repository: its configuration class named, not any code a
        # folder offers (no trust_remote_code)
        config_class = get_class_from_dynamic_module(CONFIGS[family]["auto_map"]["AutoConfig"], str(folder),
                                                     local_files_only=True)
        config = config_class.from_pretrained(folder, local_files_only=True)
        fix_config(config)
        torch.manual_seed(0)
        model = remote_class(config, folder, local=True)(config).eval()
        model.save_pretrained(folder)
        family_tokenizer(base_dir, family).save_pretrained(folder)
        references[family] = model
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
        yield cache, references
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def adapters(hub):
    return {family: ModelAdapter.load(hub_id, device="cpu", trust_remote_code=opt_in(hub_id), quantize="none")
            for family, hub_id in HUB_IDS.items()}


@pytest.mark.parametrize("hub_id", [k for k, v in ALLOWED_MODELS.items() if v.family])
def test_the_allowlist_states_each_family(hub_id):
    spec = ALLOWED_MODELS[hub_id]
    family = FAMILIES[spec.family]
    assert family is (LLADA if hub_id.startswith("GSAI-ML/LLaDA-8B") else DREAM)
    assert spec.needs_remote_code and spec.loader == "auto"
    assert (spec.mask_id, spec.logit_shift) == (family.mask_id, family.logit_shift)
    assert not family.block_causal and not family.prompt_canvas_split and not family.kv_cache
    assert {s.family for s in ALLOWED_MODELS.values()} == {"", "llada", "dream"}


def test_the_families_facts():
    assert (LLADA.mask_id, LLADA.logit_shift, LLADA.mask_token) == (126336, 0, "<|mdm_mask|>")
    assert (DREAM.mask_id, DREAM.logit_shift, DREAM.mask_token) == (151666, 1, "<|mask|>")


@pytest.mark.parametrize("family", ["llada", "dream"])
def test_the_loaded_adapter_carries_the_family(adapters, family):
    adapter = adapters[family]
    expected = FAMILIES[family]
    assert adapter.family is expected and adapter.custom_code and adapter.kind == "masked-lm"
    assert adapter.mask_id == expected.mask_id == adapter.tokenizer.mask_token_id  # LLaDA's: declared on load
    assert adapter.logit_shift == expected.logit_shift
    assert adapter.max_length == 256 and adapter.vocab_size == CONFIGS[family]["vocab_size"]
    banned = set(adapter.banned_ids.tolist())
    assert set(range(len(adapter.tokenizer), adapter.vocab_size)) <= banned  # rows that no token spells
    assert set(SPECIALS[family]) <= banned and adapter.tokenizer.convert_tokens_to_ids("Ġthe") not in banned
    assert adapter.cls_id == adapter.tokenizer.bos_token_id and adapter.sep_id == adapter.tokenizer.eos_token_id


def reference_logits(model, family: str, input_ids: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """The family's own forward as its generation code calls it: LLaDA ``model(x).logits`` read at the masked
    positions; Dream ``model(x, attention_mask="full")``, read one position to the left (its logit shift)."""
    with torch.no_grad():
        if family == "llada":
            return model(input_ids).logits[0, cols].float()
        return model(input_ids, attention_mask="full").logits[0, cols - 1].float()


@pytest.mark.parametrize("family", ["llada", "dream"])
def test_logits_at_masked_positions_are_the_family_s_own_forward(hub, adapters, family):
    adapter, model = adapters[family], hub[1][family]
    g = torch.Generator().manual_seed(1)
    window = torch.randint(300, 40000, (20,), generator=g)
    window[8:12] = adapter.mask_id  # a span in the middle
    input_ids, attention, offset = adapter.frame([window])
    cols = torch.arange(8, 12) + offset
    ours = adapter.logits_at(input_ids, attention, torch.zeros(4, dtype=torch.long), cols)
    reference = reference_logits(model, family, input_ids, cols)
    assert ours.shape == (4, adapter.vocab_size)
    assert torch.allclose(ours, reference, atol=1e-5)
    if family == "dream":  # the shift matters: unshifted, the logits are another position's
        with torch.no_grad():
            unshifted = model(input_ids, attention_mask="full").logits[0, cols].float()
        assert not torch.allclose(ours, unshifted, atol=1e-3)
    # both sides are read (bidirectional): a change to the right of the span changes the span's logits
    other = window.clone()
    other[16] = 123
    ids2, att2, _ = adapter.frame([other])
    assert not torch.allclose(ours, adapter.logits_at(ids2, att2, torch.zeros(4, dtype=torch.long), cols), atol=1e-4)
    # in a batch with a longer window (padding), each window reads as it does alone
    longer = torch.cat([other, torch.randint(300, 40000, (7,), generator=g)])
    both, att, _ = adapter.frame([window, longer])
    rows = torch.tensor([0] * 4 + [1] * 4)
    batched = adapter.logits_at(both, att, rows, torch.cat([cols, cols]))
    alone = reference_logits(model, family, adapter.frame([longer])[0], cols)
    assert torch.allclose(batched[:4], ours, atol=1e-5) and torch.allclose(batched[4:], alone, atol=1e-5)


@pytest.mark.parametrize("family", ["llada", "dream"])
def test_an_edit_keeps_fixed_text_holds_pins_and_records_every_step(adapters, family):
    editor = Editor(adapters[family])
    markup = "The harbour was [[quiet and calm]] {{that}} [[morning|3]], and the boats came in late."
    result = editor.edit(markup, SamplerConfig(steps=5, seed=2))
    assert result.text.startswith("The harbour was ")
    assert " that " in result.text and result.text.endswith(", and the boats came in late.")
    assert len(result.trajectory) == result.stats.steps == 5  # the step count is honoured, every step recorded
    masked = [sum(1 for s in r.states if s == TokenState.MASKED) for r in result.trajectory]
    assert masked[-1] == 0 and masked == sorted(masked, reverse=True) and all(r.committed for r in result.trajectory)
    committed = sum(len(r.committed) for r in result.trajectory)
    assert committed == sum(1 for s in result.trajectory[-1].states if s == TokenState.GENERATED)
    pinned = [i for i, s in enumerate(result.trajectory[0].states) if s == TokenState.PINNED]
    assert pinned and all(r.ids[i] == result.trajectory[0].ids[i] for r in result.trajectory for i in pinned)
    last = result.trajectory[-1]
    generated = {t for t, s in zip(last.ids, last.states) if s == TokenState.GENERATED}
    assert generated and not generated & set(adapters[family].banned_ids.tolist())  # no unused row, no special
    again = editor.edit(markup, SamplerConfig(steps=5, seed=2))
    assert again.text == result.text  # a fixed seed gives the same edit


def test_remote_code_needs_the_allowlist_and_the_flag(hub):
    cache, _ = hub
    for family, hub_id in HUB_IDS.items():
        with pytest.raises(ModelLoadError, match="trust-remote-code"):  # cached, allowlisted, but not asked for
            ModelAdapter.load(hub_id, device="cpu")
        folder = cache / f"models--{hub_id.replace('/', '--')}" / "snapshots" / COMMIT
        for trust in (False, True):  # the same checkpoint as a local directory: its code never runs
            with pytest.raises(ModelLoadError, match="own modeling code"):
                ModelAdapter.load(str(folder), device="cpu", trust_remote_code=trust)
    with pytest.raises(ModelLoadError, match="not allowed"):  # off the allowlist: refused even when a user asks
        ModelAdapter.load("someone/LLaDA-8B-Instruct", device="cpu", trust_remote_code=True)
    for family, hub_id in HUB_IDS.items():  # the families' own loader, called without the flag, runs nothing either
        with pytest.raises(ValueError, match="trust_remote_code"):
            load_family(FAMILIES[family], hub_id, dtype=torch.float32, device=torch.device("cpu"),
                        local_files_only=True, trust_remote_code=False)


def test_nothing_downloads_without_allow_download(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))  # an empty cache
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # online, as a user's machine is
    tried = []

    def refuse(*args, **kwargs):  # any look-up or connection is recorded and fails at once
        tried.append(args)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    for hub_id in HUB_IDS.values():
        with pytest.raises(ModelLoadError, match="allow-download"):
            ModelAdapter.load(hub_id, device="cpu", trust_remote_code=opt_in(hub_id))
    assert not tried  # not one look-up or connection was tried
