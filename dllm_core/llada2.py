"""LLaDA2.x (inclusionAI/LLaDA2.0-mini, LLaDA2.1-mini): block diffusion with a block-causal attention mask, run as
the repository's own code (``modeling_llada2_moe.py``, ``LLaDA2MoeConfig``, Apache-2.0) behind the adapter.

What the family is (from its ``generate``, diffusers' ``LLaDA2Pipeline`` and ``BlockRefinementScheduler``):
- the sequence is cut into blocks of ``block_length`` tokens (32) counted from its first token; a token attends to
  every token of its own block (bidirectional) and of the blocks before it (causal across blocks), never to a later
  block. The model's own ``generate`` builds that as a (1, 1, L, L) float mask, ``log`` of the 0/1 block pattern
  (0 where allowed, -inf elsewhere), with ``position_ids`` 0..L-1, and writes the blocks left to right.
- the logits of position i predict the token at position i (no logit shift; ``forward`` is ``lm_head(norm(h))``).
- mask id 156895 (``<|mask|>``), end of text / padding 156892 (``<|endoftext|>``); vocabulary 157184.
- token-to-token editing (LLaDA2.1's T2T, diffusers' ``editing_threshold``): at every step of a block, tokens it
  already wrote are replaced where the model proposes another above the threshold (while masks remain, and for up
  to ``max_post_steps`` passes after the last one); the prompt never is. The engine's
  ``SamplerConfig.editing_threshold`` edits only GENERATED positions (fixed text and pins never): once a canvas has
  no masks left (up to ``limits.EDIT_PASSES`` passes), and with ``edit_while_masked`` also at every step before,
  among the written tokens of the semi-autoregressive block being written (``block_length``; all spans when 0).
- its ``generate`` recomputes the whole prefix at every step (no KV cache); diffusers' pipeline does the same.

How the engine runs it (:func:`block_causal_logits`): each window (start token, draft context, spans, draft
context, end token) is one sequence, its blocks counted from the start token; one forward pass with the block-causal
mask (and the padding of shorter windows masked as keys). So a span sees all the text before it and the text after
it up to the end of its own block, not beyond: the model was trained so. Everything after the last block the
sampler asks about cannot change what it asks about, so it is cut before the pass. The forward calls the model's own
layers (embeddings, rotary embedding, decoder layers, norm, LM head) with that mask, not its top-level ``forward``:
copies of the remote code differ in how ``forward`` converts a 4-D mask (an additive or boolean one passed to SDPA,
a 0/1 one inverted on the eager path), while the layers all take the additive one; and only the positions asked
about go through the 157k-token LM head. tests/test_llada2.py checks it against the model's own ``forward``.

Load-time fixes (:func:`load_model`): the remote code was written for transformers 4.5x. transformers 5 dropped
``transformers.utils.import_utils.is_torch_fx_available`` (imported at module level) and the ``"default"`` entry of
``ROPE_INIT_FUNCTIONS`` (the plain RoPE the model uses): both are put back, only when absent
(:func:`patch_transformers_for_remote_code`). And transformers 5 reads ``_tied_weights_keys`` as a dict (tied weight
-> its source), where the code declares the 4.x list ``["lm_head.weight"]`` (loading fails on ``.keys()``): the
model class is fetched from the repository first and given the dict it means, ``lm_head.weight`` tied to the input
embedding, which transformers ties only when the configuration says ``tie_word_embeddings`` (LLaDA2-mini: false).
"""

from __future__ import annotations

import torch

from .families import default_rope

BLOCK_LENGTH = 32  # LLaDA2.x's block size (generate's and the pipeline's default; the size it was trained with)
MASK_ID = 156895
EOS_ID = 156892  # <|endoftext|>, also the padding id


def block_length_of(model) -> int:
    """The block size: ``config.block_length`` when the configuration names one, else :data:`BLOCK_LENGTH`."""
    return int(getattr(model.config, "block_length", None) or BLOCK_LENGTH)


def block_causal_mask(attention_mask: torch.Tensor, block_length: int, dtype: torch.dtype) -> torch.Tensor:
    """The (B, 1, L, L) additive mask (0 where a query may attend, the dtype's lowest value elsewhere) for (B, L)
    ``attention_mask`` (1 = a real token, 0 = padding): key k is seen from query q when k's block is not after q's
    (blocks of ``block_length`` counted from column 0) and k is not padding."""
    length = attention_mask.shape[1]
    block = torch.arange(length, device=attention_mask.device) // block_length
    allowed = (block[None, :] <= block[:, None])[None] & attention_mask.bool()[:, None, :]
    bias = torch.zeros(allowed.shape, dtype=dtype, device=attention_mask.device)
    return bias.masked_fill(~allowed, torch.finfo(dtype).min)[:, None]


def hidden_states(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, block_length: int) -> torch.Tensor:
    """The final hidden states (after the last norm) of ``LLaDA2MoeModelLM`` for (B, L) ``input_ids`` read with the
    block-causal mask, through the model's own modules."""
    body = model.model
    for part in ("word_embeddings", "rotary_emb", "layers", "norm"):
        if not hasattr(body, part):
            raise TypeError(f"{type(model).__name__} is not an LLaDA2 MoE model: its backbone has no {part!r}")
    hidden = body.word_embeddings(input_ids)
    positions = torch.arange(input_ids.shape[1], device=input_ids.device)[None].expand(input_ids.shape[0], -1)
    rotary = body.rotary_emb(hidden, positions)
    mask = block_causal_mask(attention_mask, block_length, hidden.dtype)
    for layer in body.layers:
        out = layer(hidden, attention_mask=mask, position_ids=positions, position_embeddings=rotary)
        hidden = out[0] if isinstance(out, tuple) else out
    return body.norm(hidden)


@torch.no_grad()
def block_causal_logits(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, rows: torch.Tensor,
                        cols: torch.Tensor) -> torch.Tensor:
    """Logits (float32) at ``(rows[k], cols[k])`` of framed windows (right-padded, ``attention_mask`` 1 on real
    tokens): one pass with the block-causal mask over the columns up to the end of the last block asked about."""
    if cols.numel() == 0:
        return torch.empty((0, model.lm_head.out_features), device=input_ids.device)
    block = block_length_of(model)
    end = min(input_ids.shape[1], (int(cols.max()) // block + 1) * block)
    hidden = hidden_states(model, input_ids[:, :end], attention_mask[:, :end], block)
    return model.lm_head(hidden[rows, cols]).float()


def patch_transformers_for_remote_code() -> list[str]:
    """Put back what LLaDA2's remote code imports from transformers 4.x and transformers 5 removed (only where it is
    missing; nothing else changes). Returns the names put back."""
    import transformers.utils.import_utils as import_utils  # noqa: PLC0415
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS  # noqa: PLC0415

    added = []
    if not hasattr(import_utils, "is_torch_fx_available"):
        import_utils.is_torch_fx_available = lambda: False  # the code then skips its torch.fx wrapping
        added.append("transformers.utils.import_utils.is_torch_fx_available")
    if "default" not in ROPE_INIT_FUNCTIONS:
        ROPE_INIT_FUNCTIONS["default"] = default_rope
        added.append("ROPE_INIT_FUNCTIONS['default']")
    return added


def fix_remote_class(model_class) -> None:
    """Give a 4.x-style model class what transformers 5 expects of it: ``_tied_weights_keys`` as a dict."""
    tied = getattr(model_class, "_tied_weights_keys", None)
    if isinstance(tied, (list, tuple)):
        model_class._tied_weights_keys = {key: "model.word_embeddings.weight" for key in tied}


def load_model(path, *, dtype: torch.dtype, **kwargs):
    """``LLaDA2MoeModelLM`` from ``path`` (a hub id or folder; ``kwargs``: ``local_files_only``,
    ``trust_remote_code``), its own code run with the load-time fixes above."""
    from transformers import AutoConfig, AutoModelForCausalLM  # noqa: PLC0415
    from transformers.dynamic_module_utils import get_class_from_dynamic_module  # noqa: PLC0415

    patch_transformers_for_remote_code()
    config = AutoConfig.from_pretrained(path, **kwargs)
    reference = (getattr(config, "auto_map", None) or {}).get("AutoModelForCausalLM")
    if not (reference and kwargs.get("trust_remote_code")):
        return AutoModelForCausalLM.from_pretrained(path, config=config, dtype=dtype, **kwargs)
    model_class = get_class_from_dynamic_module(reference, path, local_files_only=kwargs.get("local_files_only", False))
    fix_remote_class(model_class)
    return model_class.from_pretrained(path, config=config, dtype=dtype,
                                       local_files_only=kwargs.get("local_files_only", False))


def align_mask_token(tokenizer, mask_id: int) -> None:
    """Make the tokenizer's mask token the model's mask id (the engine writes ``tokenizer.mask_token_id`` into a
    canvas): nothing to do when they agree; the token at ``mask_id`` becomes the mask token when the tokenizer has it;
    else ValueError."""
    if tokenizer.mask_token_id == mask_id:
        return
    token = tokenizer.convert_ids_to_tokens(mask_id) if mask_id < len(tokenizer) else None
    if not token:
        raise ValueError(f"the tokenizer has no token with the mask id {mask_id}")
    tokenizer.mask_token = token
