"""The custom-code dLLM families the adapter runs (issue 26): LLaDA 1.x (``GSAI-ML/LLaDA-8B-*``) and Dream
(``Dream-org/Dream-v0-*-7B``). Both ship their modeling code in their hub repositories, so they load only through
:meth:`dllm_core.adapter.ModelAdapter.load` with an allowlisted id and ``trust_remote_code``; this module says what
the engine must know about each and makes their code load under the installed transformers (5.x).

What each family is, for the engine (:class:`Family`):
- mask id: LLaDA 126336 (``<|mdm_mask|>``, which its tokenizer does not declare as its mask token: declared here);
  Dream 151666 (``<|mask|>``).
- logit shift: LLaDA 0 (position i is read from output i); Dream 1 (position i from output i-1, as the causal LM it
  was adapted from; the window's start token is always there to read the first position from).
- block semantics: none in the attention. Both attend bidirectionally over the whole sequence; LLaDA's
  semi-autoregressive blocks are a sampling schedule (the engine's ``block_length``), not block-causal attention.
- prompt/canvas split: none. Prompt and canvas are one sequence (unlike DiffusionGemma's encoder and decoder,
  :mod:`dllm_core.block_diffusion`); the engine's windows go in as they are.
- caching: none. Every step re-reads the whole window (neither family's code keeps keys and values across denoising
  steps; the engine batches steps instead).
- padding: LLaDA's code ignores the attention mask (every position attends to every other, padding included), so
  windows of different lengths go through in groups of one length, never padded; Dream takes a boolean mask over
  keys (``"full"`` when nothing is padded).

Load-time fixes for code written for transformers 4.4x (applied to the classes the hub code defines, never to
transformers itself, and idempotent):
- Dream looks up a ``"default"`` RoPE initialiser that transformers 5 no longer lists: its module gets its own copy of
  the table with one.
- Dream lists ``_tied_weights_keys``; transformers 5 wants a mapping (target -> source).
- Dream's generation config's ``validate`` takes no keyword arguments; transformers 5 passes some.
- transformers 5 builds a model on the meta device and leaves non-persistent buffers to ``_init_weights``, which
  Dream's does not fill: its rotary frequencies are recomputed after loading.
- LLaDA's model never calls ``post_init`` (transformers 5 needs what it sets), its ``tie_weights`` takes no keyword
  arguments, and its configuration loses ``use_cache`` (its forward reads it).
"""

from __future__ import annotations

import inspect
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class Family:
    """A custom-code dLLM family as the engine sees it (see the module docstring)."""

    name: str
    mask_id: int
    mask_token: str  # the token the mask id spells in the family's tokenizer
    logit_shift: int
    attention: str = "bidirectional over the whole window"
    block_causal: bool = False  # semi-autoregressive blocks are the sampler's schedule, not the attention's
    prompt_canvas_split: bool = False  # prompt and canvas are one sequence
    kv_cache: bool = False  # every step re-reads the window
    mask_format: str = "none"  # "none": the code ignores attention masks; "bool-keys": a boolean mask over keys

    @torch.no_grad()
    def logits_at(self, model, input_ids: torch.Tensor, attention_mask: torch.Tensor, rows: torch.Tensor,
                  cols: torch.Tensor) -> torch.Tensor:
        """Logits (float32) for the tokens at ``(rows[k], cols[k])`` of a right-padded batch, read the family's way
        (its logit shift applied: ``cols`` are the positions predicted)."""
        cols = (cols - self.logit_shift).clamp(min=0)
        if self.mask_format == "bool-keys":
            return _bool_keys_logits(model, input_ids, attention_mask, rows, cols)
        return _unpadded_logits(model, input_ids, attention_mask, rows, cols)


LLADA = Family("llada", 126336, "<|mdm_mask|>", 0, mask_format="none")
DREAM = Family("dream", 151666, "<|mask|>", 1, mask_format="bool-keys")
FAMILIES = {family.name: family for family in (LLADA, DREAM)}


def _unpadded_logits(model, input_ids, attention_mask, rows, cols):
    """One forward pass per window length, each window cut to its length: no padding for code that attends to it."""
    lengths = attention_mask.sum(1)
    out = None
    for length in lengths[rows].unique().tolist():
        asked = (lengths[rows] == length).nonzero().flatten()  # the requests on windows of this length
        windows = rows[asked].unique()  # sorted
        logits = model(input_ids=input_ids[windows, :length]).logits
        picked = logits[torch.searchsorted(windows, rows[asked]), cols[asked]].float()
        if out is None:
            out = picked.new_empty((len(rows), picked.shape[-1]))
        out[asked] = picked
    return out


def _bool_keys_logits(model, input_ids, attention_mask, rows, cols):
    """Dream: "full" attention without padding, else a boolean mask over keys (every query, padding included,
    reads the real tokens only: no row is all masked). Only the positions asked for go through the vocabulary
    projection where the model exposes its body and head."""
    mask = "full" if bool(attention_mask.all()) else attention_mask.bool()[:, None, None, :]
    body, head = getattr(model, "model", None), getattr(model, "lm_head", None)
    if body is None or head is None:
        return model(input_ids=input_ids, attention_mask=mask).logits[rows, cols].float()
    hidden = body(input_ids=input_ids, attention_mask=mask, return_dict=True).last_hidden_state
    return head(hidden[rows, cols]).float()


# ------------------------------------------------------------------------------------------------ loading
def default_rope(config, device=None, seq_len=None, **_):
    """transformers 4.x's ``_compute_default_rope_parameters``, what it listed as "default" (Dream's and LLaDA2's
    code look it up): plain RoPE on ``partial_rotary_factor`` of the head dimension, base ``rope_theta``, no
    attention scaling."""
    base = getattr(config, "rope_theta", None)
    if base is None:
        base = (getattr(config, "rope_parameters", None) or {}).get("rope_theta", 10000.0)
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    dim = int(head_dim * getattr(config, "partial_rotary_factor", 1.0))
    inv_freq = 1.0 / (float(base) ** (torch.arange(0, dim, 2, dtype=torch.int64).to(device=device,
                                                                                   dtype=torch.float) / dim))
    return inv_freq, 1.0


def _takes_keywords(function) -> bool:
    return any(p.kind == p.VAR_KEYWORD for p in inspect.signature(function).parameters.values())


def fix_config(config) -> None:
    """Configuration fixes (LLaDA's ``use_cache``), in place."""
    if "use_cache" not in config.__dict__:
        config.use_cache = False


def fix_class(cls: type) -> type:
    """Make a hub model class (and the classes of its module) load under transformers 5; returns ``cls``."""
    if getattr(cls, "_dllm_fixed", False):
        return cls
    from transformers import GenerationConfig  # noqa: PLC0415

    module = sys.modules[cls.__module__]
    table = getattr(module, "ROPE_INIT_FUNCTIONS", None)
    if isinstance(table, dict) and "default" not in table:
        module.ROPE_INIT_FUNCTIONS = {**table, "default": default_rope}
    keys = cls.__dict__.get("_tied_weights_keys")
    if isinstance(keys, (list, tuple)):  # transformers 5: {tied parameter: the parameter it is tied to}
        if set(keys) - {"lm_head.weight"}:
            raise ValueError(f"{cls.__name__} ties {keys}: not a layout this adapter knows")
        cls._tied_weights_keys = {key: "model.embed_tokens.weight" for key in keys}  # Dream's (Qwen2's) layout
    for name in dir(module):  # the generation config classes its module defines or imports
        obj = getattr(module, name)
        if inspect.isclass(obj) and issubclass(obj, GenerationConfig) and obj is not GenerationConfig:
            validate = obj.__dict__.get("validate")
            if validate is not None and not _takes_keywords(validate):
                obj.validate = lambda self, *args, _validate=validate, **kwargs: _validate(self)
    tie = cls.__dict__.get("tie_weights")
    if tie is not None and not _takes_keywords(tie):
        cls.tie_weights = lambda self, *args, _tie=tie, **kwargs: _tie(self)
    init = cls.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if not hasattr(self, "all_tied_weights_keys"):  # never called post_init
            self.post_init()

    cls.__init__ = __init__
    cls._dllm_fixed = True
    return cls


def restore_buffers(model: torch.nn.Module) -> None:
    """Recompute rotary frequencies that a meta-device load left unset (HF-style rotary modules)."""
    for module in model.modules():
        if hasattr(module, "rope_init_fn") and isinstance(getattr(module, "inv_freq", None), torch.Tensor):
            inv_freq, scaling = module.rope_init_fn(module.config, module.inv_freq.device,
                                                    **getattr(module, "rope_kwargs", {}))
            module.register_buffer("inv_freq", inv_freq, persistent=False)
            module.original_inv_freq = inv_freq
            module.attention_scaling = scaling


def remote_class(config, path, *, local: bool) -> type:
    """The model class a hub repository's configuration names for ``AutoModel`` (its own code), fixed."""
    from transformers.dynamic_module_utils import get_class_from_dynamic_module  # noqa: PLC0415

    reference = (getattr(config, "auto_map", None) or {}).get("AutoModel")
    if not reference:
        raise ValueError(f"{path} names no AutoModel class in its configuration (auto_map)")
    return fix_class(get_class_from_dynamic_module(reference, str(path), local_files_only=local))


def declare_mask_token(tokenizer, family: Family) -> None:
    """Make the tokenizer's mask token the family's mask id (LLaDA's tokenizer has the token but does not declare
    it). A tokenizer without that token is refused."""
    if tokenizer.mask_token_id == family.mask_id:
        return
    token = tokenizer.convert_ids_to_tokens(family.mask_id)
    if token is None or tokenizer.convert_tokens_to_ids(token) != family.mask_id:
        raise ValueError(f"the tokenizer has no token with the {family.name} mask id {family.mask_id}")
    tokenizer.add_special_tokens({"mask_token": token})
    if tokenizer.mask_token_id != family.mask_id:
        raise ValueError(f"could not declare {token!r} ({family.mask_id}) as the tokenizer's mask token")


def load(family: Family, path, *, dtype: torch.dtype, device: torch.device, local_files_only: bool,
         trust_remote_code: bool):
    """``(model, tokenizer)`` of a family's checkpoint (a hub id, from the cache when ``local_files_only``), its code
    run only with ``trust_remote_code``: the adapter sets it for an allowlisted id whose user asked for it
    (:meth:`dllm_core.adapter.ModelAdapter.load`), and without it nothing of the checkpoint's code is imported."""
    from transformers import AutoConfig, AutoTokenizer  # noqa: PLC0415

    if not trust_remote_code:
        raise ValueError(f"{family.name} runs its repository's own code: it needs trust_remote_code")
    local = local_files_only
    kwargs = dict(local_files_only=local, trust_remote_code=trust_remote_code)
    tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
    declare_mask_token(tokenizer, family)
    config = AutoConfig.from_pretrained(path, **kwargs)
    fix_config(config)
    model = remote_class(config, path, local=local).from_pretrained(path, config=config, dtype=dtype,
                                                                    local_files_only=local)
    restore_buffers(model)
    return model.to(device).eval(), tokenizer


@contextmanager
def hub_offline(offline: bool):
    """Hold huggingface_hub in offline mode while a model loads without permission to download. Files then come only
    from the cache, and nothing else is asked of the hub either: with ``local_files_only`` alone, the installed
    huggingface_hub still fetched a registry (``/api/agent-harnesses``) for its user-agent header. The
    ``HF_HUB_OFFLINE`` variable is read once, when huggingface_hub is imported, hence the module's flag (process-wide
    while it is held: a download-allowed load in another thread at that moment would find the hub offline)."""
    import huggingface_hub.constants as hub  # noqa: PLC0415

    before = hub.HF_HUB_OFFLINE
    hub.HF_HUB_OFFLINE = before or offline
    try:
        yield
    finally:
        hub.HF_HUB_OFFLINE = before


def needs_own_code(path: Path) -> bool:
    """Whether a checkpoint directory's configuration names modeling code of its own (``auto_map``)."""
    try:
        import json  # noqa: PLC0415

        return bool(json.loads((path / "config.json").read_text()).get("auto_map"))
    except (OSError, ValueError, AttributeError):
        return False
