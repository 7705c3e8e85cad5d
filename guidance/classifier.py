"""Attribute classifiers on the denoiser's own token embeddings, and classifier guidance during denoising.

The classifier (:class:`AttributeHead`) is small: LayerNorm and a projection of each token embedding, one
convolution for local context, mean + attention pooling, a linear layer to the classes. It reads the token embedding
matrix of the loaded denoiser at load time and stores only its own weights (``assets/classifiers/NAME.safetensors``
plus ``NAME.json``), so it is differentiable with respect to one-hot tokens, and it is trained on partially masked
inputs (the ``[MASK]`` embedding included) so that it can judge a half-formed canvas.

Guidance (:class:`ClassifierGuidance`), two ways:

- ``"gradient"`` (D-CBG, first order): with ``e_i`` the embedding at position ``i``, the change of ``log p(y | x)``
  when the token at ``i`` becomes ``v`` is approximately ``E[v] · ∂ log p(y|x) / ∂e_i`` (the gradient with respect to
  the one-hot token, up to a constant per position that softmax ignores). ``γ_t`` times this is added to the logits
  of every masked position, for the ``support`` tokens the model finds most likely there (default 64): outside the
  model's support a linear term mostly rewards rare tokens whose embeddings happen to point the classifier's way,
  which a weak classifier cannot judge. The term is divided by its standard deviation over that support, so ``γ``
  means the same for any classifier and model (the raw size depends on embedding norms and sequence length);
  γ of 1-3 is a moderate push. ``γ_t = γ · (floor + (1 - floor) · filled)`` grows as the canvas fills, since the
  classifier's judgement of a mostly masked canvas is weak.
- ``"exact"``: for the masked positions most likely to be committed this step, the top-k candidate tokens are each
  put in place and the classifier scores the resulting canvases; the position's distribution becomes
  ``log p_model(v) + γ_t · log p(y | x with v)`` over those k candidates (γ = 1 is the Bayes posterior).

Strength 0 leaves the logits untouched: the sampler then runs exactly as unguided.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from dllm_core.canvas import TokenState
from dllm_core.hooks import SamplerHook
from dllm_core.state import SamplerState

from .limits import MAX_ATTRIBUTE_STRENGTH

CLASSIFIER_DIR = Path(__file__).resolve().parents[1] / "assets" / "classifiers"
MAX_CLASSIFIER_TOKENS = 256


class AttributeHead(nn.Module):
    def __init__(self, dim: int, n_classes: int, hidden: int = 64, kernel: int = 3):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.proj = nn.Linear(dim, hidden)
        self.conv = nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2)
        self.attn = nn.Linear(hidden, 1)
        self.out = nn.Linear(2 * hidden, n_classes)

    def forward(self, emb: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """``emb`` (B, N, D) token embeddings, ``valid`` (B, N) bool -> class logits (B, C)."""
        h = torch.tanh(self.proj(self.norm(emb)))
        h = h + torch.relu(self.conv(h.transpose(1, 2))).transpose(1, 2)
        m = valid.unsqueeze(-1).to(h.dtype)
        mean = (h * m).sum(1) / m.sum(1).clamp_min(1.0)
        a = self.attn(h).squeeze(-1).masked_fill(~valid, float("-inf")).softmax(-1).unsqueeze(-1)
        return self.out(torch.cat([mean, (a * h).sum(1)], dim=-1))


def embedding_fingerprint(weight: torch.Tensor) -> str:
    """A short hash of the embedding matrix (rounded), to notice a classifier trained on other embeddings. The last
    row is left out: a shifted model's added mask vector sits there, and retraining the model changes it."""
    sample = weight.detach()[: weight.shape[0] - 1 : max(1, weight.shape[0] // 512)].float().cpu()
    return hashlib.sha256((sample * 1000).round().to(torch.int32).numpy().tobytes()).hexdigest()[:16]


@dataclass
class AttributeClassifier:
    """A trained head bound to a denoiser's embedding matrix."""

    name: str
    classes: list[str]
    head: AttributeHead
    embeddings: torch.Tensor  # (V, D), the denoiser's input embeddings (not trained, not stored)
    tokenizer: object
    meta: dict = field(default_factory=dict)

    def class_index(self, target: str) -> int:
        if target not in self.classes:
            raise ValueError(f"attribute {self.name!r} has no class {target!r}; choose one of: "
                             f"{', '.join(self.classes)}")
        return self.classes.index(target)

    def logits(self, ids: torch.Tensor, valid: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        if emb is None:
            emb = self.embeddings[ids.clamp_min(0)]
        return self.head(emb, valid)

    @torch.no_grad()
    def score_texts(self, texts: list[str]) -> torch.Tensor:
        """Class probabilities (B, C) of plain texts."""
        enc = self.tokenizer(texts, add_special_tokens=False, truncation=True, max_length=MAX_CLASSIFIER_TOKENS,
                             padding=True, return_tensors="pt")
        return self.logits(enc["input_ids"], enc["attention_mask"].bool()).softmax(-1)

    def score(self, text: str, target: str) -> float:
        return float(self.score_texts([text])[0, self.class_index(target)])


def available_classifiers(directory: Path = CLASSIFIER_DIR, adapter=None) -> list[str]:
    """Names of the shipped classifiers: those in ``directory``, or with ``adapter``, those that can read that
    model's embeddings (see :func:`find_classifier`)."""
    if adapter is not None:
        return sorted({path.stem for path, _ in _fitting(directory, adapter)})
    return sorted(p.stem for p in directory.glob("*.json") if (p.with_suffix(".safetensors")).exists())


def available_attributes(adapter=None) -> dict[str, list[str]]:
    """Shipped attribute classifiers and their classes, e.g. ``{"sentiment": ["negative", "positive"]}``; with
    ``adapter``, only those trained on that model's embeddings."""
    if adapter is None:
        return {name: list(json.loads((CLASSIFIER_DIR / f"{name}.json").read_text())["classes"])
                for name in available_classifiers()}
    out: dict[str, list[str]] = {}
    for path, meta in _fitting(CLASSIFIER_DIR, adapter):  # best fit first
        out.setdefault(path.stem, list(meta["classes"]))
    return dict(sorted(out.items()))


def _shipped(directory: Path) -> list[tuple[Path, dict]]:
    """(NAME.json, its metadata) of every head with its weights in ``directory`` and its per-model sub-folders."""
    found = sorted([*directory.glob("*.json"), *directory.glob("*/*.json")])
    return [(p, json.loads(p.read_text())) for p in found if p.with_suffix(".safetensors").exists()]


def _fitting(directory: Path, adapter, name: str | None = None) -> list[tuple[Path, dict]]:
    """The heads (of ``name``, or all) that read ``adapter``'s embedding size, those trained on exactly its
    embeddings (the fingerprint) first."""
    weight = adapter.input_embeddings().weight
    fingerprint = embedding_fingerprint(weight.detach().float())
    fits = [(p, m) for p, m in _shipped(directory) if m.get("dim") == weight.shape[1] and name in (None, p.stem)]
    return sorted(fits, key=lambda pm: pm[1].get("embedding_fingerprint") != fingerprint)


def find_classifier(name: str, adapter, directory: Path = CLASSIFIER_DIR) -> Path:
    """The NAME.json of the classifier ``name`` for ``adapter``'s model: a head is trained on one model's input
    embeddings, so among the shipped ones (``directory`` and its per-model folders) the one whose embedding
    fingerprint matches comes first, then one of the same embedding size (with a warning at load)."""
    if not any(p.stem == name for p, _ in _shipped(directory)):
        known = ", ".join(available_classifiers(directory)) or "none"
        raise ValueError(f"no attribute classifier {name!r} (available: {known})")
    fitting = _fitting(directory, adapter, name)
    if not fitting:
        raise ValueError(f"no {name!r} classifier for {adapter.name} (its {adapter.input_embeddings().weight.shape[1]}"
                         f"-d embeddings): train one with python scripts/train_classifier.py --attribute {name} "
                         f"--model {adapter.name}")
    return fitting[0][0]


_BOUND: dict[tuple[str, int], AttributeClassifier] = {}


def get_classifier(editor, name: str) -> AttributeClassifier:
    """The classifier ``name`` bound to ``editor``'s embeddings (cached per editor)."""
    key = (name, id(editor.adapter))
    if key not in _BOUND:
        _BOUND[key] = load_classifier(name, editor.adapter)
    return _BOUND[key]


def load_classifier(name: str, adapter, directory: Path | None = None) -> AttributeClassifier:
    """Load the classifier ``name`` made for ``adapter``'s model (:func:`find_classifier`; or a path without
    suffix) onto its token embeddings."""
    from safetensors.torch import load_file  # noqa: PLC0415

    if "/" in name or name.endswith(".json"):
        base = Path(name).with_suffix("")
    else:
        base = find_classifier(name, adapter, directory or CLASSIFIER_DIR).with_suffix("")
    meta_path, weight_path = base.with_suffix(".json"), base.with_suffix(".safetensors")
    if not meta_path.exists() or not weight_path.exists():
        known = ", ".join(available_classifiers(directory or CLASSIFIER_DIR)) or "none"
        raise ValueError(f"no attribute classifier {name!r} (available: {known})")
    meta = json.loads(meta_path.read_text())
    embeddings = adapter.input_embeddings().weight.detach()
    if embeddings.shape[1] != meta["dim"]:
        raise ValueError(f"classifier {name!r} expects {meta['dim']}-d embeddings; the model has "
                         f"{embeddings.shape[1]} (retrain it: python scripts/train_classifier.py)")
    head = AttributeHead(meta["dim"], len(meta["classes"]), meta["hidden"], meta["kernel"])
    head.load_state_dict(load_file(str(weight_path)))
    head = head.to(embeddings.device).eval()
    for p in head.parameters():
        p.requires_grad_(False)
    embeddings = embeddings.float()
    if meta.get("embedding_fingerprint") not in (None, embedding_fingerprint(embeddings)):
        warnings.warn(f"classifier {name!r} was trained on other token embeddings than the loaded model's; "
                      "retrain it with: python scripts/train_classifier.py", stacklevel=2)
    return AttributeClassifier(meta.get("name", base.name), list(meta["classes"]), head, embeddings,
                               adapter.tokenizer, meta)


class ClassifierGuidance(SamplerHook):
    """Steer masked positions toward ``target`` of ``classifier`` with strength ``strength`` (γ)."""

    def __init__(self, classifier: AttributeClassifier, target: str, strength: float, *, mode: str = "gradient",
                 top_k: int = 8, exact_positions: int = 8, ramp_floor: float = 0.3, support: int = 64):
        if mode not in ("gradient", "exact"):
            raise ValueError(f"guidance mode must be 'gradient' or 'exact', got {mode!r}")
        if not 0.0 <= strength <= MAX_ATTRIBUTE_STRENGTH:
            raise ValueError(f"guidance strength must be in [0, {MAX_ATTRIBUTE_STRENGTH:g}], got {strength}")
        self.classifier = classifier
        self.target = classifier.class_index(target)
        self.strength = float(strength)
        self.mode = mode
        self.top_k = top_k
        self.exact_positions = exact_positions
        self.ramp_floor = ramp_floor
        self.support = support

    def start(self, state: SamplerState) -> None:
        self.n_editable = state.editable.sum(1).clamp_min(1)

    # ------------------------------------------------------------------------------------------------ inputs
    def _window(self, state: SamplerState, b: int) -> tuple[int, int]:
        """The slice of canvas ``b`` the classifier reads: the edited positions and context, at most 256 tokens."""
        n = int((state.tokens[b] >= 0).sum())
        pos = state.editable[b].nonzero().flatten()
        if n <= MAX_CLASSIFIER_TOKENS or len(pos) == 0:
            return 0, n
        mid = (int(pos[0]) + int(pos[-1])) // 2
        lo = max(0, min(mid - MAX_CLASSIFIER_TOKENS // 2, n - MAX_CLASSIFIER_TOKENS))
        return lo, lo + MAX_CLASSIFIER_TOKENS

    def _batch(self, state: SamplerState) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        spans = [self._window(state, b) for b in range(len(state.canvases))]
        width = max(hi - lo for lo, hi in spans)
        ids = torch.zeros((len(spans), width), dtype=torch.long)
        valid = torch.zeros((len(spans), width), dtype=torch.bool)
        for b, (lo, hi) in enumerate(spans):
            ids[b, : hi - lo] = state.tokens[b, lo:hi]
            valid[b, : hi - lo] = True
        return ids, valid, [lo for lo, _ in spans]

    def gammas(self, state: SamplerState) -> torch.Tensor:
        masked = (state.states == TokenState.MASKED).sum(1)
        filled = 1.0 - masked.float() / self.n_editable.float()
        return self.strength * (self.ramp_floor + (1.0 - self.ramp_floor) * filled)

    # ------------------------------------------------------------------------------------------------ hook
    def adjust_logits(self, state: SamplerState, logits: torch.Tensor) -> torch.Tensor:
        if self.strength == 0.0:
            return logits
        ids, valid, offsets = self._batch(state)
        device = self.classifier.embeddings.device
        gammas = self.gammas(state)
        rows, pos = state.query_rows, state.query_pos
        masked_rows = (state.states[rows, pos] == TokenState.MASKED).nonzero().flatten()
        emb = self.classifier.embeddings[ids.clamp_min(0).to(device)].detach().requires_grad_(True)
        with torch.enable_grad():
            log_p = self.classifier.logits(ids, valid.to(device), emb).log_softmax(-1)[:, self.target]
            (grad,) = torch.autograd.grad(log_p.sum(), emb)
        log_p = log_p.detach()
        for b in range(len(state.canvases)):
            sig = state.step_signals(b)
            sig["attribute_p"] = round(float(log_p[b].exp()), 4)
            sig["gamma"] = round(float(gammas[b]), 4)
        if len(masked_rows) == 0:
            return logits
        if self.mode == "gradient":
            b_idx = rows[masked_rows]
            local = pos[masked_rows] - torch.tensor(offsets)[b_idx]
            inside = (local >= 0) & (local < ids.shape[1])
            b_idx, local, sel = b_idx[inside], local[inside], masked_rows[inside]
            g = grad[b_idx.to(device), local.to(device)]  # (M, D)
            term = (g @ self.classifier.embeddings.T).cpu()  # (M, V): first-order change of log p(y|x)
            support = logits[sel].topk(min(self.support, logits.shape[1]), dim=-1).indices
            near = term.gather(1, support)
            near = near / near.std(dim=1, keepdim=True).clamp_min(1e-8)  # γ in units of the term's spread
            logits[sel] = logits[sel].scatter_add(1, support, gammas[b_idx].unsqueeze(1) * near)
        else:
            self._exact(state, logits, ids, valid, offsets, masked_rows, gammas)
        return logits

    @torch.no_grad()
    def _exact(self, state, logits, ids, valid, offsets, masked_rows, gammas) -> None:
        rows, pos = state.query_rows, state.query_pos
        conf = logits[masked_rows].softmax(-1).max(-1).values
        device = self.classifier.embeddings.device
        for b in range(len(state.canvases)):
            mine = (rows[masked_rows] == b).nonzero().flatten()
            if len(mine) == 0:
                continue
            pick = mine[conf[mine].argsort(descending=True)[: self.exact_positions]]
            chosen = masked_rows[pick]
            local = pos[chosen] - offsets[b]
            keep = (local >= 0) & (local < ids.shape[1])
            chosen, local = chosen[keep], local[keep]
            if len(chosen) == 0:
                continue
            k = min(self.top_k, logits.shape[1])
            top = logits[chosen].topk(k, dim=-1)
            variants = ids[b].repeat(len(chosen) * k, 1)
            flat = torch.arange(len(chosen) * k)
            variants[flat, local.repeat_interleave(k)] = top.indices.flatten()
            scores = self.classifier.logits(variants.to(device), valid[b].repeat(len(chosen) * k, 1).to(device))
            log_p = scores.log_softmax(-1)[:, self.target].view(len(chosen), k).cpu()
            new = torch.full((len(chosen), logits.shape[1]), float("-inf"))
            new.scatter_(1, top.indices, top.values + gammas[b] * log_p)
            logits[chosen] = new
