"""The shortcuts of flows/core/claims/ change no result: each gives what the longer way gives.

- `_may_hold_numbers` (a polars test of many sentences at once) drops only sentences in which
  `_find_numbers` finds nothing.
- `_search_end` finds what a search of the whole context window finds.
- `_word_run_start` lets the search for the word before a full stop skip no match.
"""

from __future__ import annotations

import re
import sys

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.core import claims
from flows.core.claims import quantities, sentences, skips, vocabulary
from flows.core.claims.quantities import _NUMBER_HINT, _NUMBER_WORDS

# Characters and pieces that exercise the rules at sentence and word edges: number words in any
# case, letters that Python's case-insensitive matching folds onto ASCII ("ſ", "ı", "İ", "K"),
# digits with separators, quotes, white space of several kinds.
_PIECES = [
    *"0123456789 ,.-–:/%$£#()“”\"'«»!?…\n\t\u00a0ıİſKk_",
    *_NUMBER_WORDS,
    "scores", "tens", "Hundreds", "dozens", "a couple of", "half a", "a few", "ONE", "fıve",
    "ſix", "mıllion", "Twenty-five", "someone", "money", "said", "according to", "U.S.", "Mr.",
    "No.", "Flight", "category", "Nos", "US$", "USD", "HK$", "€", "troops", "people killed",
]  # fmt: skip
texts = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)


def test_number_hint_folds_at_least_what_python_folds() -> None:
    """For every code point that Python's case-insensitive regex matches to a letter of a number
    word, the polars pattern's version of that letter matches it too."""
    letters = sorted(set("".join((*_NUMBER_WORDS, "scores"))))
    any_letter = re.compile(f"(?i)[{''.join(letters)}]")
    folded = [chr(c) for c in range(sys.maxunicode + 1) if any_letter.fullmatch(chr(c))]
    assert "ſ" in folded and "ı" in folded  # Python folds these onto "s" and "i"
    for letter in letters:
        own = re.compile(f"(?i){letter}")
        chars = [c for c in folded if own.fullmatch(c)]
        rust = "[iİı]" if letter == "i" else letter
        matched = pl.Series(chars, dtype=pl.String).str.contains(f"^(?i:{rust})$")
        assert matched.all(), (letter, [c for c, m in zip(chars, matched, strict=True) if not m])


@settings(max_examples=400, deadline=None)
@given(texts, st.sampled_from([1500, 9, 3]))
def test_sentences_without_a_hint_hold_no_number(text: str, max_chars: int) -> None:
    spans = claims.split_sentences(text, max_chars=max_chars)
    sentences = [text[a:b] for a, b in spans]
    for sentence, may_hold in zip(sentences, quantities._may_hold_numbers(sentences), strict=True):
        if not may_hold:
            assert quantities._find_numbers(sentence) == [], sentence


def test_number_hint_examples() -> None:
    sentences = ["No figures here.", "Someone lost money.", "Fıve were hurt.", "Scores fled.", "7"]
    assert quantities._may_hold_numbers(sentences) == [False, True, True, True, True]
    assert _NUMBER_HINT.startswith("[0-9]|(?i:zero|one|")


_TAIL_PATTERNS = [
    (skips._NAME_BEFORE_RE, 2),
    (skips._LABEL_BEFORE_RE, skips._LABEL_REACH),
    (skips._MONEY_BEFORE_RE, 4),
]


def _span(match: re.Match[str] | None) -> tuple[int, int] | None:
    return None if match is None else match.span()


@settings(max_examples=400, deadline=None)
@given(texts)
def test_search_end_finds_what_a_full_search_finds(text: str) -> None:
    for pattern, reach in _TAIL_PATTERNS:
        assert _span(skips._search_end(pattern, text, reach)) == _span(pattern.search(text))


def test_search_end_examples() -> None:
    label = skips._LABEL_BEFORE_RE
    for before in ("the Flight ", "PARAGRAPH.  \t", "xparagraph ", "No.", "Nos ", "#  ", "a"):
        got = skips._search_end(label, before, skips._LABEL_REACH)
        assert _span(got) == _span(label.search(before)), before
    assert len("resolution.") == skips._LABEL_REACH


@settings(max_examples=400, deadline=None)
@given(texts, st.integers(0, 200))
def test_word_run_start_skips_no_match(text: str, cut: int) -> None:
    line = text.replace("\n", " ")  # a line of `split_sentences`
    end = min(cut, len(line))
    lo = max(0, end - vocabulary._WINDOW)
    start = sentences._word_run_start(line, lo, end)
    pattern = sentences._WORD_BEFORE_DOT_RE
    assert _span(pattern.search(line, start, end)) == _span(pattern.search(line, lo, end))


_UNGUARDED = re.compile(quantities._QUANTITY)


def _quantities(pattern: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], str | None]]:
    return [(m.span(), m.lastgroup) for m in pattern.finditer(text)]


def test_quantity_start_folds_at_least_what_its_letters_fold() -> None:
    """`(?i:[abdefhmnostz])` matches every character that one of its letters matches alone."""
    letters = "abdefhmnostz"
    start = re.compile(f"(?i)[{letters}]")
    for letter in letters:
        own = re.compile(f"(?i){letter}")
        chars = [chr(c) for c in range(sys.maxunicode + 1) if own.fullmatch(chr(c))]
        assert all(start.fullmatch(c) for c in chars), letter


def test_quantity_start_keeps_every_kind_of_quantity() -> None:
    starts = [
        "tens of thousands", "hundreds of millions", "a few thousand", "several hundred",
        "many thousand", "some million", "dozens", "scores", "thousands", "millions", "billions",
        "a couple of thousand", "half a million", "a hundred", "an hundred", "5", "12,000",
        "3.5 million", "11k", *_NUMBER_WORDS,
    ]  # fmt: skip
    for phrase in starts:
        for variant in (phrase, phrase.upper(), phrase.title(), phrase.replace("s", "ſ")):
            for text in (variant, f"x {variant} people", f"({variant})", f"-{variant}."):
                found = _quantities(quantities._QUANTITY_RE, text)
                assert found == _quantities(_UNGUARDED, text), text
                assert found or not _quantities(_UNGUARDED, text)
    assert _quantities(quantities._QUANTITY_RE, "some 5 of the SEVEN troops")


@settings(max_examples=600, deadline=None)
@given(texts)
def test_quantity_start_changes_no_match(text: str) -> None:
    assert _quantities(quantities._QUANTITY_RE, text) == _quantities(_UNGUARDED, text)


def test_label_start_changes_no_match() -> None:
    """`_LABEL_BEFORE_RE` first tests for "#" or a word start, which its matches begin with: every
    character that its case-insensitive letters match is a word character."""
    assert skips._LABEL_BEFORE_RE.pattern.startswith(r"(?=#|\b\w)")
    unguarded = re.compile(skips._LABEL_BEFORE_RE.pattern.removeprefix(r"(?=#|\b\w)"))
    letter = re.compile("(?i)[a-z]")
    word = re.compile(r"\w")
    assert all(word.match(chr(c)) for c in range(sys.maxunicode + 1) if letter.fullmatch(chr(c)))
    for before in (
        "the Flight ",
        "PARAGRAPH.  \t",
        "xparagraph ",
        "No.",
        "Nos ",
        "#  ",
        "ſection 4",
    ):
        assert _span(skips._LABEL_BEFORE_RE.search(before)) == _span(unguarded.search(before))


@settings(max_examples=400, deadline=None)
@given(texts)
def test_label_start_changes_no_match_on_random_text(text: str) -> None:
    unguarded = re.compile(skips._LABEL_BEFORE_RE.pattern.removeprefix(r"(?=#|\b\w)"))
    assert _span(skips._LABEL_BEFORE_RE.search(text)) == _span(unguarded.search(text))
