"""Find the quantities of a sentence and parse their values."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

import polars as pl

_SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_SUFFIX_SCALES = {"k": 10**3, "K": 10**3, "m": 10**6, "mn": 10**6, "bn": 10**9}

_NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    "hundred", "thousand", "million", "billion", "trillion", "dozen",
)  # fmt: skip
_NUMBER_WORD = "(?:" + "|".join(_NUMBER_WORDS) + ")"
_SCALE_WORD = r"(?:dozen|hundred|thousand|million|billion|trillion)"
_DIGITS = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?"
_DIGITS_ALTERNATIVE = (
    r"(?P<digits>(?<![\w.,:/])(?P<num>" + _DIGITS + r")"
    r"(?:\s*(?P<word_scale>(?i:hundred|thousand|million|billion|trillion))\b"
    r"|(?P<suffix>k|K|m|mn|bn)\b)?(?![\w/]))"
)
_QUANTITY = (
    r"(?P<vague>(?i:\b(?:tens|hundreds)\s+of\s+(?:thousands|millions)\b"
    r"|\b(?:a\s+few|several|many|some)\s+" + _SCALE_WORD + r"\b"
    r"|\b(?:dozens|scores|hundreds|thousands|millions|billions)\b))"
    r"|(?P<couple>(?i:\ba\s+couple\s+(?:of\s+)?(?P<couple_scale>" + _SCALE_WORD + r")\b))"
    r"|(?P<half>(?i:\bhalf\s+an?\s+(?P<half_scale>" + _SCALE_WORD + r")\b))"
    r"|(?P<single>(?i:\ban?\s+(?P<single_scale>"
    + _SCALE_WORD
    + r")\b))"
    + r"|"
    + _DIGITS_ALTERNATIVE
    + r"|(?P<words>(?i:\b"
    + _NUMBER_WORD
    + r"(?:(?:\s+|-)"
    + _NUMBER_WORD
    + r")*\b))"
)
# Where a match of _QUANTITY can start: a digit, or a word boundary before the first letter of
# "tens", "hundreds", "a few", "several", "many", "some", "dozens", "scores", "thousands",
# "millions", "billions", "a couple", "half", "a"/"an" or a number word. Testing this first
# spares the regex engine its many case-insensitive alternatives at most positions (the
# matches are the same: tests/test_claims_shortcuts.py).
_QUANTITY_START = r"(?=[0-9]|\b(?i:[abdefhmnostz]))"
_QUANTITY_RE = re.compile(_QUANTITY_START + "(?:" + _QUANTITY + ")")

# The digits alternative of _QUANTITY_RE alone: in a sentence where no other alternative can
# match, it finds the same matches, with the same groups, and skips the rest at every position.
_DIGITS_RE = re.compile(r"(?=[0-9])" + _DIGITS_ALTERNATIVE)

# Every match of _QUANTITY_RE holds a digit or, in any case, one of these words between two
# characters that are no word characters (or the ends of the sentence): the words alternative
# holds a number word, the others a scale word or a vague plural. The same tests in polars
# (Rust's regex engine), for many sentences at once. Rust's `\b` knows other word characters
# than Python's, so the edges are spelled out as anything but an ASCII letter, digit or "_"
# (every character Python counts as no word character is one). Python's case-insensitive "i"
# also matches "İ" and "ı", which Rust's case folding does not, so "i" is spelled out (for
# every other letter Rust matches at least what Python does: tests/test_claims_shortcuts.py
# checks every code point).
_HINT_WORDS = (
    *_NUMBER_WORDS, "tens", "hundreds", "dozens", "scores", "thousands", "millions", "billions",
)  # fmt: skip
_DIGIT_HINT = r"[0-9]"
_WORD_HINT = (
    r"(?:^|[^A-Za-z0-9_])(?i:"
    + "|".join(_HINT_WORDS).replace("i", "[iİı]")
    + r")(?:$|[^A-Za-z0-9_])"
)


# Whether a line may hold a sentence with a match of _QUANTITY_RE: a digit or a number word (or
# "scores") anywhere, edges aside, so that every sentence of a line without one has neither a
# digit nor a word of _WORD_HINT (each of which holds a number word or is "scores").
_LINE_HINT = r"[0-9]|(?i:" + "|".join((*_NUMBER_WORDS, "scores")).replace("i", "[iİı]") + ")"


def _may_hold_numbers(lines: list[str]) -> list[bool]:
    """For each line (or any text), False when no part of it holds a number for
    `_find_numbers`; True does not promise one."""
    return pl.Series(lines, dtype=pl.String).str.contains(_LINE_HINT).to_list()


def _number_patterns(sentences: list[str]) -> list[re.Pattern[str] | None]:
    """For each sentence, the pattern whose matches are those of `_QUANTITY_RE` in it: None when
    there surely are none (then the sentence yields no claim and lends no unit to the sentences
    after it), `_DIGITS_RE` when only digits can match, else `_QUANTITY_RE`."""
    hints = pl.DataFrame({"s": sentences}, schema={"s": pl.String}).select(
        pl.col("s").str.contains(_DIGIT_HINT).alias("digit"),
        pl.col("s").str.contains(_WORD_HINT).alias("word"),
    )
    return [
        _QUANTITY_RE if word else (_DIGITS_RE if digit else None)
        for digit, word in zip(hints["digit"].to_list(), hints["word"].to_list(), strict=True)
    ]


def _scale_value(word: str) -> int | None:
    word = word.lower()
    if word == "dozen":
        return 12
    if word == "hundred":
        return 100
    return _SCALES.get(word)


def _words_value(text: str) -> float | None:
    """Value of a spelled-out number ("twenty-five thousand", "two dozen"); None if malformed."""
    words = re.split(r"[\s-]+", text.lower())
    if not words or _scale_value(words[0]) is not None:
        return None
    total = 0
    current = 0
    last = ""  # kind of the previous word: small, tens, hundred, scale
    for word in words:
        if word in _SMALL:
            if last == "small" or (last == "tens" and _SMALL[word] >= 10):
                return None
            current += _SMALL[word]
            last = "small"
        elif word in _TENS:
            if last in ("small", "tens"):
                return None
            current += _TENS[word]
            last = "tens"
        elif word in ("hundred", "dozen"):
            if last not in ("small", "tens") or current == 0:
                return None
            current *= 100 if word == "hundred" else 12
            last = "hundred"
        elif word in _SCALES:
            if last == "scale" or current == 0:
                return None
            total += current * _SCALES[word]
            current = 0
            last = "scale"
        else:
            return None
    return float(total + current)


def parse_quantity(text: str) -> float | None:
    """Return the value of a quantity text ("10,000", "1.5 million", "11k", "a dozen",
    "a couple of thousand", "twenty-five"), or None when it is vague or not a number."""
    match = _QUANTITY_RE.fullmatch(text.strip())
    if match is None:
        return None
    return _match_value(match)


def _match_value(m: re.Match[str]) -> float | None:
    # Each top-level alternative of _QUANTITY_RE (and _DIGITS_RE) is one named group that
    # closes last, so the match's last group names the alternative that matched.
    kind = m.lastgroup
    try:
        if kind == "digits":
            value = Decimal(m.group("num").replace(",", ""))
            if m.group("word_scale"):
                scale = _scale_value(m.group("word_scale"))
                if scale is None:
                    return None
                value *= scale
            elif m.group("suffix"):
                value *= _SUFFIX_SCALES[m.group("suffix")]
            result = float(value)
            return result if math.isfinite(result) else None
        if kind == "words":
            return _words_value(m.group("words"))
        if kind == "couple":
            scale = _scale_value(m.group("couple_scale"))
            return None if scale is None else 2.0 * scale
        if kind == "half":
            scale = _scale_value(m.group("half_scale"))
            return None if scale is None else 0.5 * scale
        if kind == "single":
            scale = _scale_value(m.group("single_scale"))
            return None if scale is None else float(scale)
    except (InvalidOperation, ValueError, OverflowError):
        return None
    return None  # vague


_KINDS = ("vague", "couple", "half", "single", "digits", "words")


class _Number(NamedTuple):
    start: int
    end: int
    text: str
    value: float | None
    kind: str  # one of _KINDS
    plain_int: bool  # digits without comma, decimal or scale


def _find_numbers(sentence: str, pattern: re.Pattern[str] = _QUANTITY_RE) -> list[_Number]:
    """The quantities of `sentence`; `pattern` is its `_number_patterns` entry, if known."""
    numbers = []
    for m in pattern.finditer(sentence):
        kind = m.lastgroup
        assert kind in _KINDS
        text = m.group()
        plain = kind == "digits" and text.isascii() and text.isdigit()
        numbers.append(_Number(m.start(), m.end(), text, _match_value(m), kind, plain_int=plain))
    return numbers
