"""A causal LM turned into a masked-diffusion LM (DiffuGPT / DiffuLLaMA / Dream recipe), without patching it.

- **Bidirectional attention** through the attention mask: transformers' Llama body takes a 4D additive float mask
  of shape (B, 1, N, N); zeros everywhere lets every position see every other (only padded keys are blocked).
  ``causal=True`` gives the ordinary triangular mask, so the model is again exactly the causal LM.
- **Logit shift**: the hidden state at position i-1 predicts the token at i, as in pre-training, so the pretrained
  head keeps its meaning. Position 0 is therefore never predicted: the adapter frames every window with a start
  token in front.
- **A mask token** that the base vocabulary lacks: its id is one past the base vocabulary and its input embedding
  is a trained vector (``mask_embedding``) substituted into ``inputs_embeds``; the output head keeps the base
  vocabulary, so the mask can never be predicted.
- **LoRA deltas** (trained by ``scripts/train_smollm.py``) are merged into the base weights at load time, so
  inference runs at the base model's speed and int8 quantisation applies as usual.
"""

from __future__ import annotations

import torch
from torch import nn


class ShiftedDiffusionLM(nn.Module):
    """Wraps a ``*ForCausalLM`` (Llama-style body at ``.model``, head at ``.lm_head``)."""

    def __init__(self, causal_lm: nn.Module, mask_embedding: torch.Tensor | None = None):
        super().__init__()
        self.causal = causal_lm
        self.config = causal_lm.config
        base = causal_lm.get_input_embeddings().weight
        self.base_vocab = base.shape[0]
        self.mask_id = self.base_vocab  # one past the base vocabulary
        if mask_embedding is None:  # mean of the input embeddings: a neutral start for training
            mask_embedding = base.detach().float().mean(0)
        self.mask_embedding = nn.Parameter(mask_embedding.to(base.dtype).clone())

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        is_mask = input_ids == self.mask_id
        emb = self.causal.get_input_embeddings()(input_ids.masked_fill(is_mask, 0))
        return torch.where(is_mask[..., None], self.mask_embedding.to(emb.dtype), emb)

    def attention_bias(self, attention_mask: torch.Tensor, causal: bool, dtype: torch.dtype) -> torch.Tensor:
        """(B, 1, N, N) additive mask: padded keys blocked; with ``causal`` also every key after the query."""
        n = attention_mask.shape[1]
        blocked = ~attention_mask.bool()[:, None, None, :].expand(-1, 1, n, n)
        if causal:
            future = torch.ones(n, n, dtype=torch.bool, device=attention_mask.device).triu(1)
            blocked = blocked | future
        return torch.zeros(blocked.shape, dtype=dtype, device=attention_mask.device).masked_fill(
            blocked, torch.finfo(dtype).min)

    def hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
               causal: bool = False) -> torch.Tensor:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        embeds = self.embed(input_ids)
        bias = self.attention_bias(attention_mask, causal, embeds.dtype)
        return self.causal.model(inputs_embeds=embeds, attention_mask=bias).last_hidden_state

    def logits_at(self, hidden: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        """Logits for the tokens at ``(rows, cols)``: read from the hidden state one position to the left."""
        return self.causal.lm_head(hidden[rows, cols - 1])

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                causal: bool = False) -> torch.Tensor:
        """Logits (B, N, V) where row i holds the prediction for token i (row 0: nothing, zeros)."""
        hidden = self.hidden(input_ids, attention_mask, causal)
        logits = self.causal.lm_head(hidden[:, :-1])
        return torch.cat([torch.zeros_like(logits[:, :1]), logits], dim=1)


# the linear layers LoRA adapts: every projection of every block (attention and MLP)
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@torch.no_grad()
def merge_lora(causal_lm: nn.Module, tensors: dict[str, torch.Tensor], scale: float) -> int:
    """Add ``scale * B @ A`` to every adapted weight. ``tensors`` holds ``<module>.lora_A`` (r, in) and
    ``<module>.lora_B`` (out, r) for module names of ``causal_lm``; returns how many layers were merged."""
    modules = dict(causal_lm.named_modules())
    merged = 0
    for key, a in tensors.items():
        if not key.endswith(".lora_A"):
            continue
        name = key[: -len(".lora_A")]
        b = tensors[f"{name}.lora_B"]
        layer = modules.get(name)
        if layer is None:
            raise KeyError(f"LoRA delta for {name!r}, which the base model lacks")
        layer.weight += scale * (b.float() @ a.float()).to(layer.weight.dtype)
        merged += 1
    return merged
