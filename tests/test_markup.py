import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dllm_core.markup import MarkupError, parse, plain_text, render_markup

# text that contains no markup brackets or backslashes, including odd unicode
plain = st.text(st.characters(blacklist_characters="[]{}\\", blacklist_categories=("Cs",)), max_size=40)


def test_kinds_and_lengths():
    segs = parse("Hi [[old words]] and [[12]] then {{Pinned}} [[x y|3]] [[a b c d|50%]] [[z|auto]].")
    kinds = [(s.kind, s.text) for s in segs]
    assert kinds == [("fixed", "Hi "), ("rewrite", "old words"), ("fixed", " and "), ("insert", ""),
                     ("fixed", " then "), ("pinned", "Pinned"), ("fixed", " "), ("rewrite", "x y"), ("fixed", " "),
                     ("rewrite", "a b c d"), ("fixed", " "), ("rewrite", "z"), ("fixed", ".")]
    assert segs[3].length == 12
    assert segs[7].length == 3
    assert segs[9].ratio == 0.5
    assert segs[11].auto


@pytest.mark.parametrize("markup,pos,words", [
    ("abc [[def", 4, "never closed"),
    ("abc ]] def", 4, "closes nothing"),
    ("a {{b [[c]] d}}", 6, "nested"),
    ("a [[b}} c", 5, "does not match"),
    ("a [[]] b", 2, "empty edit span"),
    ("a {{}} b", 2, "empty pinned"),
    ("a [[0]] b", 2, "out of range"),
    ("a [[99999]] b", 2, "out of range"),
])
def test_errors_name_the_position(markup, pos, words):
    with pytest.raises(MarkupError) as err:
        parse(markup)
    assert err.value.position == pos
    assert words in str(err.value)
    assert f"character {pos}" in str(err.value)


def test_escapes_are_literal():
    segs = parse(r"use \[[ and \]] or \{{x\}} [[2]]")
    assert segs[0].kind == "fixed" and segs[0].text == "use [[ and ]] or {{x}} "


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["fixed", "pinned", "rewrite", "insert"]), plain,
                          st.integers(1, 50)), max_size=8))
def test_fixed_text_always_preserved(parts):
    """Whatever the mix of spans, every fixed and pinned character comes back in order."""
    markup = ""
    expected_fixed = []
    for kind, text, n in parts:
        if kind == "fixed":
            markup += text
            expected_fixed.append(text)
        elif kind == "pinned":
            if text:
                markup += "{{" + text + "}}"
                expected_fixed.append(text)
        elif kind == "rewrite":
            if text.strip() and not text.strip().isdigit() and "|" not in text:
                markup += "[[" + text + "]]"
        else:
            markup += f"[[{n}]]"
    segs = parse(markup)
    kept = "".join(s.text for s in segs if s.kind in ("fixed", "pinned"))
    assert kept == "".join(expected_fixed)
    assert render_markup(segs) == markup or parse(render_markup(segs)) == segs
    assert plain_text(segs) == "".join(s.text for s in segs)
