"""Two ways to rewrite the words a writer selected (issue 23, part 3): **Rewrite** says them differently and keeps
their meaning; **Fill** writes new words in their place (the classic infill). Both return an
:class:`~writing.alternatives.ActionResult` with up to ``k`` alternatives, best first, and both say so instead of
offering text that does not read well.

**Rewrite** gathers candidates that stay close to the original by construction, then checks each one:

1. *synonym swaps* of the selected words (:mod:`writing.substitute`: WordNet synonyms in the word's own sense,
   chosen by the denoiser, read by the judge), every swappable place at once first, then smaller sets;
2. *wordy phrases* said shortly ("in order to" -> "to", :data:`writing.rewordings.COMPRESSIONS`), a word the phrase
   says twice said once ("our duty and [our] privilege", "shares [that are] held by": Shorten's lossless
   reductions), a verb phrase said in one verb ("took part in" -> "participated in", WordNet's phrases with one
   dominant sense) and a few phrases that mean the same (:data:`writing.restructure.EQUIVALENTS`: "due to" ->
   "because of");
3. *contractions* written out or made (:mod:`writing.style`: "can't" -> "cannot", "do not" -> "don't").

Every candidate then passes the fact check against the draft (:mod:`writing.facts`; all fact kinds, nothing may
go) and a reading check: the gate's repetition check (:func:`dllm_core.gate.new_repeat`), and it must not read worse
than the original by more than ``SWAP_MAX_DROP`` nats per token under the base LM. (The gate's own margin, "must
read more likely than the original", was calibrated on model-written spans, whose wording reads likelier than a
writer's; a swap keeps the writer's wording but one word, so it does not apply.) What passes is ordered by the
judge's reading (:func:`dllm_core.ranking.rank`). When nothing passes, Rewrite declines and says so.

Not used: re-noising a run of the selected words and letting the model write them again (with the original token
made less likely). Tried on "The company said it would cut four hundred jobs over the next two years ...", it
offered "would create / raise / increase four hundred jobs": words that fit the place are not words that mean the
same, which is how Rephrase changed a fact in 9 edits of 10 before it took its words from WordNet.

**Fill** masks the selection as one ``[[words]]`` span and lets the model write it (the command line's default
path: fluent on a model with a causal reading), ``k`` candidates; on a model that reads causally, candidates the gate
rejects are withheld, and when none reads well that is an :class:`~dllm_core.api.EditError` with the gate's message.
Fill writes new content, so its fact check is reported on every alternative but withholds nothing.
"""

from __future__ import annotations

from dllm_core.api import EditError, Editor
from dllm_core.config import SamplerConfig
from dllm_core.gate import check_rewrites, new_repeat, reading_drops
from dllm_core.ranking import rank

from .alternatives import ActionResult, Alternative, check_k, check_selection, fact_checked
from .rewordings import COMPRESSIONS
from .rephrase import may_change
from .restructure import phrase_variants
from .words import count_words, escape, words_of

FILL_MESSAGE = "no new words that read well here; try a shorter selection, or Rewrite to keep the meaning"
SWAP_MAX_DROP = 0.5  # nats per token a swap or phrase compression may read worse than the original


def _swap_texts(editor: Editor, text: str, words, k: int, seed: int) -> list[str]:
    from .substitute import apply_all, combine, propose_synonyms, read_swaps  # noqa: PLC0415

    may = [may_change(w) for w in words]
    present = {w.text.lower() for w in words_of(text)}
    swaps = [s for s in propose_synonyms(editor, text, words, may) if s.new.lower() not in present]
    swaps = read_swaps(editor, text, swaps)
    places = len({s.word for s in swaps})
    texts = []
    for n in range(places, 0, -1):  # every place swapped first, then fewer
        texts += [apply_all(text, chosen) for chosen in combine(swaps, n, k, seed)]
    return list(dict.fromkeys(texts))


def rewrite(editor: Editor, text: str, *, selection: tuple[int, int] | None = None, k: int = 3, seed: int = 0,
            keep: tuple[str, ...] = (), check_facts: bool = True, max_drop: float = SWAP_MAX_DROP) -> ActionResult:
    """Say the selected words differently and keep what they say (see the module docstring); k alternatives.
    ``max_drop``: how much worse than the original (nats per token) a candidate may read."""
    start, end = check_selection(text, selection)
    k = check_k(k)
    words = words_of(text, start, end, keep)
    if not words:
        raise EditError("nothing to rewrite: the selection has no words")
    if not editor.adapter.can_score:
        raise EditError(f"Rewrite checks each candidate with a causal reading, which {editor.adapter.name} does not "
                        "have; use Fill, or the SmolLM2 model")
    swapped = _swap_texts(editor, text, words, k, seed)
    compressed = [t for t in phrase_variants(text, words, start, end, reductions=True, phrasal=True)
                  if t not in swapped]
    unrepeated = [t for t in swapped + compressed if not new_repeat(text, t)]
    drops = reading_drops(editor.adapter, text, unrepeated)
    passing = [t for t, drop in zip(unrepeated, drops) if drop <= max_drop]
    failed = len(swapped) + len(compressed) - len(passing)  # a new repetition, or it reads worse
    if not passing:
        raise EditError("no rewrite that keeps the meaning and reads well: "
                        + ("no word here has a synonym that means the same in this sentence"
                           if not (swapped or compressed) else "the synonyms here read worse than the original")
                        + "; select more words, or use Fill for new words")
    ordered, scores = rank(editor.adapter, passing)
    outside = count_words(text[:start]) + count_words(text[end:])
    how = {**{t: "swap" for t in swapped}, **{t: "phrase" for t in compressed}}
    alternatives = [Alternative(t, count_words(t) - outside, None if scores is None else scores[i], how[t])
                    for i, t in enumerate(ordered)]
    result = fact_checked(ActionResult("rewrite", alternatives[0].text, alternatives, (start, end), len(words), None,
                                   [w.text for w in words if w.content]), text, check_facts)
    if len(result.alternatives) > k:
        result.alternatives = result.alternatives[:k]
    elif len(result.alternatives) < k:
        note = (f"only {len(result.alternatives)} way{'s' * (len(result.alternatives) > 1)} of saying this "
                f"differently read well and kept the facts"
                + (f" ({failed} other{'s' * (failed != 1)} did not read well)" if failed else ""))
        result.note = f"{note}; {result.note}" if result.note else note
    return result


def fill(editor: Editor, text: str, *, selection: tuple[int, int] | None = None, k: int = 3, seed: int = 0,
         config: SamplerConfig | None = None, hooks=(), gate: bool = True, max_drop: float | None = None
         ) -> ActionResult:
    """New words in place of the selection (the classic infill, on the command line's default writing path); k
    candidates, the ones the gate rejects withheld (``gate=False``: none judged, all offered); ``max_drop``: the
    gate's limit (default :data:`dllm_core.gate.MAX_DROP`)."""
    from dllm_core.presets import writing_settings  # noqa: PLC0415

    start, end = check_selection(text, selection)
    k = check_k(k)
    if not text[start:end].strip():
        raise EditError("nothing to fill: select the words to replace")
    markup = escape(text[:start]) + "[[" + escape(text[start:end]) + "]]" + escape(text[end:])
    base = config if config is not None else SamplerConfig(seed=seed)
    segments = editor.parse(markup)
    n_tokens = sum(len(editor.tokenizer(s.text, add_special_tokens=False)["input_ids"]) for s in segments
                   if s.kind == "rewrite")
    config = writing_settings(base, None, can_score=editor.adapter.can_score, tokens_to_write=n_tokens,
                              guided=bool(hooks)) if config is None else config
    result = editor.edit(segments, config, hooks, n=k)
    texts = list(dict.fromkeys(result.candidates or [result.text]))[: 2 * k]  # beams x lengths: the best 2k
    outside = count_words(text[:start]) + count_words(text[end:])
    scores = result.scores or [None] * len(texts)
    alternatives = [Alternative(t, count_words(t) - outside, s, "fill") for t, s in zip(texts, scores)]
    out = fact_checked(ActionResult("fill", alternatives[0].text, alternatives, (start, end),
                                    count_words(text[start:end])), text, check_facts=False)
    if not (gate and editor.adapter.can_score):
        out.alternatives = out.alternatives[:k]
        return out
    offered, withheld = [], []
    # the judge reads every candidate in one batch (the sampler's own verdict on its winner is reused)
    unread = [a.text for a in out.alternatives if not (a.text == result.text and result.gate and max_drop is None)]
    verdicts = dict(zip(unread, check_rewrites(editor.adapter, text, unread, max_drop)))
    for alt in out.alternatives:
        if len(offered) == k:
            break
        alt.gate = verdicts.get(alt.text, result.gate)
        (offered if alt.gate["reads_well"] else withheld).append(alt)
    if not offered:
        raise EditError(f"{FILL_MESSAGE} ({withheld[0].gate['why']})")
    out.alternatives, out.withheld, out.text = offered, withheld, offered[0].text
    if withheld:
        out.note = f"{len(withheld)} candidate{'s' * (len(withheld) > 1)} not shown: not reading well"
    return out


__all__ = ["rewrite", "fill", "COMPRESSIONS"]
