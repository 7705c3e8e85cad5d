"""One adapter hides what differs between masked-diffusion models: mask id, special tokens, logit shift, device,
dtype, context length, and how to get logits for just the positions the sampler needs.

Loading rules (see :data:`ALLOWED_MODELS`):
- ``"embedded"`` (default): the model shipped in ``assets/model``, always offline.
- a local directory holding any ``AutoModelForMaskedLM`` checkpoint: loaded offline, never with remote code.
- a hub id: only ids on the allowlist; downloaded only when the caller passes ``allow_download=True``, and custom
  code runs only when the entry needs it *and* the caller explicitly sets ``trust_remote_code``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch

UNUSED_TOKEN = re.compile(r"^(\[unused\d+\]|<extra_id_\d+>|<\|reserved_special_token_\d+\|>)$")
ASSETS = Path(__file__).resolve().parents[1] / "assets"
EMBEDDED_DIR = ASSETS / "model"


class ModelLoadError(RuntimeError):
    pass


@dataclass(frozen=True)
class ModelSpec:
    """What we must know about a hub model family that its config does not say."""

    hub_id: str
    loader: str = "masked-lm"  # "masked-lm" (AutoModelForMaskedLM) or "auto" (AutoModel with an LM head)
    needs_remote_code: bool = False
    mask_id: int | None = None  # None: the tokenizer's mask token
    logit_shift: int = 0  # Dream predicts position i from output i-1
    note: str = ""


ALLOWED_MODELS: dict[str, ModelSpec] = {
    spec.hub_id: spec
    for spec in (
        ModelSpec("GSAI-ML/LLaDA-8B-Instruct", "auto", True, 126336, 0, "LLaDA 8B instruct, ~16 GB bf16, GPU"),
        ModelSpec("GSAI-ML/LLaDA-8B-Base", "auto", True, 126336, 0, "LLaDA 8B base, ~16 GB bf16, GPU"),
        ModelSpec("Dream-org/Dream-v0-Instruct-7B", "auto", True, 151666, 1, "Dream 7B instruct, logits shifted"),
        ModelSpec("Dream-org/Dream-v0-Base-7B", "auto", True, 151666, 1, "Dream 7B base, logits shifted"),
        ModelSpec("answerdotai/ModernBERT-base", "masked-lm", False, None, 0, "encoder MLM, 8k context"),
        ModelSpec("answerdotai/ModernBERT-large", "masked-lm", False, None, 0, "encoder MLM, 8k context"),
        ModelSpec("google-bert/bert-base-uncased", "masked-lm", False, None, 0, "BERT base MLM"),
        ModelSpec("distilbert/distilroberta-base", "masked-lm", False, None, 0, "DistilRoBERTa MLM"),
    )
}


CLOSING_PUNCTUATION = {",", ".", ";", ":", "!", "?", ")", "]", "}", "%", "'", "’", "”"}


def pick_device(device: str | None = None) -> torch.device:
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class ModelAdapter:
    """A masked LM plus everything the sampler needs to drive it."""

    def __init__(self, model, tokenizer, name: str, *, mask_id: int | None = None, logit_shift: int = 0):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.mask_id = int(mask_id if mask_id is not None else tokenizer.mask_token_id)
        self.logit_shift = logit_shift
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        config = model.config
        self.vocab_size = int(getattr(config, "vocab_size", len(tokenizer)))
        limit = getattr(config, "max_position_embeddings", None) or tokenizer.model_max_length or 512
        self.max_length = int(min(limit, 8192))
        self.cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
        self.sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.mask_id
        # ids the sampler must never write into a canvas
        never = set(tokenizer.all_special_ids) | {self.mask_id}
        never |= {i for tok, i in tokenizer.get_vocab().items() if UNUSED_TOKEN.match(tok)}  # [unused12], <extra_id_3>
        self.banned_ids = torch.tensor(sorted(i for i in never if i is not None and 0 <= i < self.vocab_size),
                                       dtype=torch.long)
        # tokens that attach to the word before them: never the first thing written after a space of the draft
        closing = {tok: i for tok, i in tokenizer.get_vocab().items() if tok in CLOSING_PUNCTUATION and i < self.vocab_size}
        self.closing_ids = torch.tensor(sorted(closing.values()), dtype=torch.long)
        self.forward_passes = 0
        self.quantized = False  # set by load(quantize="int8")

    # ------------------------------------------------------------------------------------------------ loading
    @classmethod
    def load(cls, model_id: str | None = None, *, device: str | None = None, dtype: torch.dtype | None = None,
             allow_download: bool = False, trust_remote_code: bool = False, quantize: str = "auto"
             ) -> ModelAdapter:
        """``quantize``: "int8" = dynamic int8 quantisation of the linear layers on a CPU; "auto" (default) = int8
        on a CPU, none on a GPU; "none" = full precision. On the embedded model int8 is ~2.5x faster per step on
        2 cores for under a point of masked-token accuracy (bench/RESULTS.md)."""
        from transformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer  # noqa: PLC0415 (slow import)
        from transformers.utils import logging as hf_logging  # noqa: PLC0415

        hf_logging.disable_progress_bar()  # no progress bars on stderr: the CLI promises one-line errors
        hf_logging.set_verbosity_error()

        model_id = model_id or "embedded"
        if quantize not in ("auto", "none", "int8"):
            raise ModelLoadError(f"quantize must be auto, none or int8, got {quantize!r}")
        dev = pick_device(device)
        if dtype is None:
            dtype = torch.float32 if dev.type == "cpu" else torch.bfloat16
        spec: ModelSpec | None = None
        if model_id == "embedded":
            path, local = EMBEDDED_DIR, True
            if not (path / "config.json").exists():
                raise ModelLoadError(f"the embedded model is missing from {path}; see assets/MODEL_CARD.md")
        elif Path(model_id).expanduser().is_dir():
            path, local = Path(model_id).expanduser(), True
        elif model_id in ALLOWED_MODELS:
            spec, path, local = ALLOWED_MODELS[model_id], model_id, not allow_download
            if spec.needs_remote_code and not trust_remote_code:
                raise ModelLoadError(f"{model_id} runs custom code from its repository; pass --trust-remote-code "
                                     "(the trust_remote_code argument) to allow it for this allowlisted model")
        else:
            allowed = ", ".join(sorted(ALLOWED_MODELS))
            raise ModelLoadError(f"model id {model_id!r} is not allowed: use 'embedded', a local directory, "
                                 f"or one of: {allowed}")
        remote = bool(spec and spec.needs_remote_code and trust_remote_code)
        kwargs = dict(local_files_only=local, trust_remote_code=remote)
        if local:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
            auto = AutoModel if spec is not None and spec.loader == "auto" else AutoModelForMaskedLM
            model = auto.from_pretrained(path, dtype=dtype, **kwargs).to(dev)
        except OSError as exc:  # not cached and downloads not allowed, or a broken directory
            hint = "" if allow_download or spec is None else " (pass --allow-download to fetch it from the hub)"
            raise ModelLoadError(f"could not load {model_id!r}: {str(exc).splitlines()[0]}{hint}") from exc
        adapter = cls(model, tokenizer, model_id, mask_id=spec.mask_id if spec else None,
                      logit_shift=spec.logit_shift if spec else 0)
        if quantize in ("int8", "auto") and dev.type == "cpu" and dtype == torch.float32:
            adapter.model = quantize_int8(model)
            adapter.quantized = True
        return adapter

    # ------------------------------------------------------------------------------------------------ forward
    @torch.no_grad()  # not inference_mode: hooks edit the returned logits in place
    def logits_at(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, rows: torch.Tensor,
                  cols: torch.Tensor) -> torch.Tensor:
        """Logits (float32) at ``(rows[k], cols[k])`` of a padded batch; one forward pass."""
        self.forward_passes += 1
        input_ids = input_ids.to(self.device)
        attention_mask = attention_mask.to(self.device)
        cols = (cols - self.logit_shift).clamp(min=0).to(self.device)
        rows = rows.to(self.device)
        head = getattr(self.model, "cls", None)
        body = getattr(self.model, "bert", None)
        if head is not None and body is not None:  # BERT family: project only the positions asked for
            hidden = body(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return head(hidden[rows, cols]).float()
        # without padding, pass no mask: custom-code dLLMs (LLaDA, Dream) expect their own mask formats
        mask = None if bool(attention_mask.all()) else attention_mask
        return self.model(input_ids=input_ids, attention_mask=mask).logits[rows, cols].float()

    def input_embeddings(self) -> torch.nn.Embedding:
        return self.model.get_input_embeddings()

    def describe(self) -> str:
        kind = "int8" if self.quantized else str(self.dtype).replace("torch.", "")
        return f"{self.name} on {self.device.type} ({kind})"


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 quantisation of every nn.Linear (weights int8 with one scale per output channel, activations
    quantised per batch) for CPUs. Per-channel scales keep masked-token accuracy within 0.9 point of fp32 on the
    embedded model, where one scale per tensor lost 1.2 points, at the same speed (bench/RESULTS.md).

    torch.ao's eager API is deprecated in favour of torchao, but it is in the pinned torch and needs no extra
    package; the embeddings stay fp32, so guidance that reads them is unaffected."""
    import warnings  # noqa: PLC0415

    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
