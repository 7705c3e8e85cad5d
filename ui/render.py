"""HTML of the page: the canvas at one step, tracked changes (a word diff), the plan of the markup, messages and the
list of alternatives. Pure functions of their arguments (no Gradio here), so tests read their output directly."""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Sequence

from dllm_core import TokenState, parse

VIEW_CONTEXT = 40  # canvas view: tokens shown on each side of the edited positions
MAX_VIEW_TOKENS = 1500
MASK_GLYPH = "▒"
SUGGESTION_CONTEXT = 6  # words of unchanged text kept around each change in the list of alternatives

CANVAS_LEGEND = ('<div class="canvas-step">Canvas: <span class="tok masked">▒</span> still masked · '
                 '<span class="tok generated" style="background:hsl(0, 75%, 82%)">unsure</span> → '
                 '<span class="tok generated" style="background:hsl(120, 75%, 82%)">sure</span> written by the model '
                 '(colour = confidence) · <span class="tok generated new">outlined</span> written this step · '
                 '<span class="tok generated edited">gold</span> edited (token editing) · '
                 '<span class="tok pinned">pinned</span> kept exactly · plain: your text</div>')
CANVAS_PLACEHOLDER = '<div class="canvas empty">The canvas appears here when you run an edit.</div>'
DIFF_PLACEHOLDER = '<div class="diff muted">The changes to your draft appear here.</div>'
MAX_MESSAGE_CHARS = 400  # an error message is one line of at most this many characters (it may quote an input)


def message_html(text: str, kind: str = "info") -> str:
    return f'<div class="msg {kind}">{html.escape(text)}</div>' if text else ""


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def short(text: str, n: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# ------------------------------------------------------------------------------------------------ the canvas
def one_line(text, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` as one line of at most ``limit`` characters (white space runs as one space)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"



def confidence_colour(conf: float | None) -> str:
    """Red (unsure) to green (sure), light enough to read dark text on."""
    c = 0.0 if conf is None else max(0.0, min(1.0, float(conf)))
    return f"hsl({round(c * 120)}, 75%, 82%)"


def _token_html(frame: dict, surface: list[str | None], i: int) -> str:
    state, token, conf = frame["states"][i], frame["tokens"][i], frame["confidence"][i]
    original = surface[i] if i < len(surface) else None
    if original is not None and state in ("fixed", "pinned"):
        lead = "<br>" * min(2, original.count("\n")) if "\n" in original else (" " if original[:1].isspace() else "")
        word = original.strip()
    elif not token[:1].isspace() and token[:1].isalnum():  # a word piece: glued to a generated neighbour
        glued = i > 0 and frame["states"][i - 1] in ("masked", "generated")
        lead, word = ("" if glued else " "), token
    else:  # the token's own leading space (a word start), or punctuation that attaches to the word before
        lead, word = (" " if token[:1].isspace() else ""), token.strip() or token
    classes = ["tok", state]
    style = ""
    title = state
    if state == "masked":
        word = MASK_GLYPH
        title = "masked" + (f" · best guess {conf:.2f}" if conf is not None else "")
    elif state == "generated":
        style = f' style="background:{confidence_colour(conf)}"'
        title = f"generated · confidence {conf:.2f}" if conf is not None else "generated"
    if i in frame["committed"]:
        classes.append("new")
    if i in frame["remasked"]:
        classes.append("remasked")
        title += " · remasked (self-correction)"
    if i in frame.get("edited", ()):
        classes.append("edited")
        title += " · edited (token editing)"
    return f'{lead}<span class="{" ".join(classes)}"{style} title="{html.escape(title)}">{html.escape(word)}</span>'


def view_positions(states: list[int]) -> list[int]:
    """Canvas positions worth showing: the edited ones and VIEW_CONTEXT tokens around them (at most
    MAX_VIEW_TOKENS). Only these are kept per step, so a long draft does not fill the session's memory."""
    n = len(states)
    edited = [i for i, s in enumerate(states) if s in (TokenState.MASKED, TokenState.GENERATED)]
    keep = [not edited] * n
    for p in edited:
        lo, hi = max(0, p - VIEW_CONTEXT), min(n, p + VIEW_CONTEXT + 1)
        keep[lo:hi] = [True] * (hi - lo)
    return [i for i in range(n) if keep[i]][:MAX_VIEW_TOKENS]


def canvas_html(frame: dict | None, surface: list[str | None]) -> str:
    """The canvas at one step: masked slots visible, generated tokens coloured by confidence, pinned marked.

    Gaps in ``frame["positions"]`` (draft text far from any edit) show as an ellipsis.
    """
    if frame is None:
        return CANVAS_PLACEHOLDER
    positions = frame.get("positions") or list(range(len(frame["states"])))
    length = frame.get("length", len(positions))
    parts = []
    for k, p in enumerate(positions):
        if p > (positions[k - 1] + 1 if k else 0):
            parts.append(" <span class=\"elided\">…</span>")
        parts.append(_token_html(frame, surface, k))
    if positions and positions[-1] < length - 1:
        parts.append(" <span class=\"elided\">…</span>")
    step = f'<div class="canvas-step">step {frame["step"] + 1} · {frame["masked"]} masked</div>'
    return f'{step}<div class="canvas">{"".join(parts).strip()}</div>'


# ------------------------------------------------------------------------------------------------ tracked changes
LCS_CELLS = 250_000  # word pairs the exact alignment may compare; a longer changed middle falls back to difflib


_TRAILING = re.compile(r"^(.*?[^\W_])([.,;:!?]+)(\s*)$", re.DOTALL)


def _words(text: str) -> list[str]:
    """Words, each keeping the white space after it; punctuation at a word's end is a word of its own, so a cut
    that ends a sentence strikes only the words that went ("spring [because demand grew]." not "spring." for
    "spring because demand grew."), and "Monday," -> "Tuesday," changes one word."""
    out = []
    for token in re.findall(r"\s+|\S+\s*", text):
        m = _TRAILING.match(token)
        out += [m.group(1), m.group(2) + m.group(3)] if m else [token]
    return out


def _lcs_opcodes(a: Sequence[str], b: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
    """difflib-style opcodes of a longest common subsequence of ``a`` and ``b``. The common head and tail are
    matched first; the middle is aligned exactly (dynamic programming) when it is small enough, by
    ``difflib.SequenceMatcher`` (autojunk off) otherwise."""
    n, m = len(a), len(b)
    head = 0
    while head < n and head < m and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < n - head and tail < m - head and a[n - 1 - tail] == b[m - 1 - tail]:
        tail += 1
    mid_a, mid_b = a[head:n - tail], b[head:m - tail]
    pairs: list[tuple[int, int]] = [(i, i) for i in range(head)]  # matched (i in a, j in b)
    if mid_a and mid_b and len(mid_a) * len(mid_b) <= LCS_CELLS:
        rows, cols = len(mid_a), len(mid_b)
        # suffix table: best[i][j] = LCS length of mid_a[i:] and mid_b[j:]
        best = [[0] * (cols + 1) for _ in range(rows + 1)]
        for i in range(rows - 1, -1, -1):
            row, below, word = best[i], best[i + 1], mid_a[i]
            for j in range(cols - 1, -1, -1):
                row[j] = below[j + 1] + 1 if word == mid_b[j] else max(below[j], row[j + 1])
        i = j = 0
        while i < rows and j < cols:
            if mid_a[i] == mid_b[j] and best[i][j] == best[i + 1][j + 1] + 1:
                pairs.append((head + i, head + j))
                i, j = i + 1, j + 1
            elif best[i + 1][j] >= best[i][j + 1]:
                i += 1
            else:
                j += 1
    elif mid_a and mid_b:
        matcher = difflib.SequenceMatcher(None, mid_a, mid_b, autojunk=False)
        for block in matcher.get_matching_blocks():
            pairs += [(head + block.a + k, head + block.b + k) for k in range(block.size)]
    pairs += [(n - tail + k, m - tail + k) for k in range(tail)]
    ops: list[tuple[str, int, int, int, int]] = []
    i = j = 0
    for pa, pb in [*pairs, (n, m)]:
        if pa > i or pb > j:
            op = "replace" if pa > i and pb > j else ("delete" if pa > i else "insert")
            ops.append((op, i, pa, j, pb))
        if pa < n and pb < m:
            if ops and ops[-1][0] == "equal" and ops[-1][2] == pa:
                ops[-1] = ("equal", ops[-1][1], pa + 1, ops[-1][3], pb + 1)
            else:
                ops.append(("equal", pa, pa + 1, pb, pb + 1))
        i, j = pa + 1, pb + 1
    return ops


def change_blocks(original: str, result: str, keep: frozenset[str] | set[str] = frozenset()) -> list[list]:
    """[changed?, old words, new words] blocks of a word-level diff: the words are aligned by a longest common
    subsequence (white space and line breaks do not count), so a deletion strikes only the words that went and
    an insertion highlights only the words that came. A run of one or two unchanged words between two rewritten
    stretches (words replaced on both sides) joins them, so a rewritten span reads as one block, not a word salad;
    never between pure deletions or insertions, and never a run holding a pinned word (``keep``)."""
    a, b = _words(original), _words(result)
    opcodes = _lcs_opcodes([w.strip() for w in a], [w.strip() for w in b])
    blocks: list[list] = []
    for k, (op, i1, i2, j1, j2) in enumerate(opcodes):
        between_rewrites = (0 < k < len(opcodes) - 1 and i2 - i1 <= 2
                            and opcodes[k - 1][0] == "replace" and opcodes[k + 1][0] == "replace"
                            and not any(w.strip(" \t\n.,;:!?\"'()") in keep for w in a[i1:i2]))
        if op != "equal" or between_rewrites:
            if blocks and blocks[-1][0]:
                blocks[-1][1] += a[i1:i2]
                blocks[-1][2] += b[j1:j2]
            else:
                blocks.append([True, a[i1:i2], b[j1:j2]])
        else:
            blocks.append([False, a[i1:i2], b[j1:j2]])
    return blocks


def diff_html(original: str, result: str, keep: frozenset[str] | set[str] = frozenset(),
              context: int | None = None) -> str:
    """Tracked changes: removed words struck through in red, new words in green (see :func:`change_blocks`).

    ``context``: unchanged stretches keep at most this many words next to each change (the rest is an ellipsis),
    so a one-sentence change in a long draft reads in two lines."""
    blocks = change_blocks(original, result, keep)
    out = []
    for k, (changed, old, new) in enumerate(blocks):
        removed, added = "".join(old), "".join(new)
        if not changed:  # the words as they now read (the white space between them may have changed)
            if context is not None:
                out.append(_elide(new, context, first=k == 0, last=k == len(blocks) - 1))
            else:
                out.append(html.escape(added))
            continue
        if removed:
            if out and not out[-1][-1:].isspace() and removed[:1].isalnum():
                out.append(" ")  # the kept word before lost its space to the punctuation after the cut: "spring [...]."
            out.append(f"<del>{html.escape(removed.rstrip())}</del>{' ' if added else removed[len(removed.rstrip()):]}")
        if added:
            out.append(f"<ins>{html.escape(added.rstrip())}</ins>{html.escape(added[len(added.rstrip()):])}")
    return f'<div class="diff">{"".join(out)}</div>'


def _elide(words: list[str], context: int, first: bool, last: bool) -> str:
    """Unchanged words next to changes: at most ``context`` on each side that touches a change."""
    text_words = [w for w in words if w.strip()]
    keep_before = 0 if first else context  # words after the change before this stretch
    keep_after = 0 if last else context  # words before the next change
    if len(text_words) <= keep_before + keep_after + 1:
        return html.escape("".join(words))
    head = "".join(words[:keep_before]) if keep_before else ""
    tail = "".join(words[len(words) - keep_after:]) if keep_after else ""
    return f'{html.escape(head)}<span class="elided">… </span>{html.escape(tail)}'


FACTS_OK = "✓ keeps the facts (numbers, names, dates…)"
FACT_LABELS = {"time": "time word"}  # kinds of writing.facts as a writer reads them


def facts_html(facts: dict | None) -> str:
    """One line under an alternative's tracked changes: its fact check against the draft (``facts``: the
    ``Alternative.facts`` of :mod:`writing.actions`, ``{"ok", "says", "changes"}``); nothing when unchecked."""
    if not facts:
        return ""
    says = str(facts.get("says") or "")
    if facts.get("ok"):
        extra = f"; {says}" if says else ""
        return f'<div class="facts ok">{html.escape(FACTS_OK + extra)}</div>'
    return (f'<div class="facts warn" title="check these words before you accept">⚠ '
            f'{html.escape(says or "changes a fact of the draft")}</div>')


def fact_reasons(facts: dict | None) -> list[str]:
    """Why an alternative failed the fact check, in the past tense ("changed a number", "dropped a name")."""
    reasons = []
    for change in (facts or {}).get("changes") or []:
        kind = str(change.get("kind") or "fact")
        label = FACT_LABELS.get(kind, kind)
        verb = ("changed" if change.get("removed") and change.get("added") else
                "added" if change.get("added") else "dropped")
        reasons.append(f"{verb} {'an' if label[:1] in 'aeiou' else 'a'} {label}")
    return reasons or ["failed the fact check"]


def withheld_text(withheld: Sequence[dict]) -> str:
    """"1 alternative not shown: it changed a number" for the alternatives held back by the fact check."""
    if not withheld:
        return ""
    reasons = list(dict.fromkeys(r for alt in withheld for r in fact_reasons(alt.get("facts"))))
    listed = ", ".join(reasons[:-1]) + (" or " if len(reasons) > 1 else "") + reasons[-1]
    return f"{plural(len(withheld), 'alternative')} not shown: {'it' if len(withheld) == 1 else 'they'} {listed}"


def suggestions_html(original: str, alternatives: Sequence[dict], chosen: int | None = 0,
                     accepted: int | None = None, undone: int | None = None,
                     withheld: Sequence[dict] = ()) -> str:
    """The alternatives of an action as a numbered list, each with its tracked changes against ``original`` (only
    the changed part with a few words around it) and its fact check. ``alternatives``: dicts with ``text``,
    ``words`` and ``facts`` (optional); ``chosen``: the one previewed in the Result box; ``accepted``: the one
    taken into the draft; ``undone``: one accepted and then undone (it cannot be accepted again);
    ``withheld``: alternatives the fact check held back (counted under the list, with why)."""
    if not alternatives and not withheld:
        return ""
    items = []
    for i, alt in enumerate(alternatives):
        classes = (["suggestion"] + (["chosen"] if i == chosen else []) + (["accepted"] if i == accepted else [])
                   + (["undone"] if i == undone and i != accepted else []))
        state = (" · accepted" if i == accepted else " · undone" if i == undone else
                 " · previewed" if i == chosen else "")
        changes = diff_html(original, alt["text"], context=SUGGESTION_CONTEXT)
        if alt["text"] == original:
            changes = '<div class="diff muted">no change</div>'
        items.append(f'<li class="{" ".join(classes)}" data-index="{i}" title="preview this alternative" '
                     f'tabindex="0" role="button" aria-pressed="{str(i == chosen).lower()}">'
                     f'<div class="suggestion-head"><b>{i + 1}</b> · {plural(alt["words"], "word")}{state}</div>'
                     f'{changes}{facts_html(alt.get("facts"))}</li>')
    note = withheld_text(withheld)
    footer = f'<div class="withheld">{html.escape(note)}</div>' if note else ""
    return f'<ol class="suggestions">{"".join(items)}</ol>{footer}'


# Clicking a card in the list (or Enter / Space on it) previews it: that selects the matching choice of the
# alternatives picker (hidden on the page: the cards are the picker), whose own event does the rest, so the mouse,
# the keyboard and the API all go through one handler.
SUGGESTIONS_JS = """
const pick = (card) => {
  const inputs = document.querySelectorAll('#alternatives input[type=radio]');
  const input = inputs[Number(card.dataset.index)];
  if (input && !input.checked) input.click();
};
element.addEventListener('click', (event) => {
  const card = event.target.closest('li.suggestion');
  if (card) pick(card);
});
element.addEventListener('keydown', (event) => {
  const card = event.target.closest('li.suggestion');
  if (card && (event.key === 'Enter' || event.key === ' ')) {
    event.preventDefault();
    pick(card);
  }
});
"""


# ------------------------------------------------------------------------------------------------ the plan
def plan_html(draft: str, tokenizer=None, max_chars: int | None = None) -> str:
    """What the markup asks for, in words (or what is wrong with it)."""
    if not isinstance(draft, str) or not draft.strip():
        return message_html("Type or paste a draft. Select words, then mask or pin them.", "hint")
    if max_chars is not None and len(draft) > max_chars:
        return message_html(f"The draft is {len(draft):,} characters; the limit is {max_chars:,}: "
                            "shorten it before running.", "error")
    try:
        segments = parse(draft)
    except ValueError as exc:
        return message_html(f"Markup problem: {exc}", "error")
    items = []
    for seg in segments:
        if seg.kind == "insert":
            items.append(f"<li>insert <b>{seg.length}</b> new tokens</li>")
        elif seg.kind == "pinned":
            items.append(f"<li>keep <span class='pin'>{html.escape(seg.text)}</span> exactly</li>")
        elif seg.kind == "rewrite":
            n = len(tokenizer(seg.text, add_special_tokens=False)["input_ids"]) if tokenizer else None
            target = "auto" if seg.auto else seg.length or (max(1, round(n * seg.ratio)) if seg.ratio and n else n)
            words = len(re.findall(r"\w+(?:['’-]\w+)*", seg.text))  # writers count words
            size = (f" ({plural(words, 'word')}; {n} → {target} tokens)" if n is not None
                    else f" ({plural(words, 'word')})")
            items.append(f"<li>rewrite “{html.escape(short(seg.text))}”{size}</li>")
    if not items:
        return message_html("No marks yet: select words and press Mask or Pin, or set a strength > 0 to "
                            "rewrite the whole draft.", "hint")
    return f'<ul class="plan">{"".join(items)}</ul>'
