"""Tell why a number is no count: a year, date, age, amount of money, label or measure."""

from __future__ import annotations

import re

from flows.core.claims.quantities import _Number
from flows.core.claims.sentences import _region_before
from flows.core.claims.units import _is_plural
from flows.core.claims.vocabulary import (
    _DURATIONS,
    _LABEL_WORDS,
    _MEASURES,
    _MONTHS,
    _NOT_UNIT_AFTER_RE,
    _WINDOW,
)

# Contexts (regexes over the sentence before / after the number) that make a number no count.
_MONEY_BEFORE_RE = re.compile(r"(?:[$£€¥₹₽₴]|\b(?:US|A|C|NZ|HK)\$|\b(?:USD|EUR|GBP|Rs)\.?)\s*$")
_MONEY_LAST = frozenset("$£€¥₹₽₴DRPs.")  # the characters a match of _MONEY_BEFORE_RE can end with
_MONEY_AFTER_RE = re.compile(
    r"^\s*(?:(?i:dollars?|euros?|pounds?|sterling|pence|cents?|roubles?|rubles?|yuan|yen"
    r"|hryvnias?|rupees?|francs?|bucks)|USD|EUR|GBP)\b"
)
_PERCENT_AFTER_RE = re.compile(r"^\s*(?:%|(?i:per\s?cent|percent|percentage\s+points?|pc|pct)\b)")
_TIME_AFTER_RE = re.compile(
    r"^(?::[0-9]|\.[0-9]{2}\s*(?i:am|pm|a\.m\.|p\.m\.)"
    r"|\s*(?:(?i:am|pm|a\.m\.|p\.m\.|hrs|o[’']clock)|GMT|BST|UTC|CET|CEST|EST|EDT|PST|PDT)\b)"
)
_DATE_BEFORE_RE = re.compile(
    r"\b" + _MONTHS + r"\.?\s+(?:the\s+)?"
    r"(?:[0-9]{1,2}(?:st|nd|rd|th)?\s*(?:–|—|-|to|and|or|&)\s*)?$"
)
# Every month name and abbreviation of _MONTHS starts with one of these (case as written), so a
# text without one holds no match of _DATE_BEFORE_RE; testing them is cheaper than the search.
_MONTH_STEMS = tuple(sorted({month[:3] for month in _MONTHS[3:-1].split("|")}))
_DATE_AFTER_RE = re.compile(
    r"^(?:st|nd|rd|th)?\s*(?:(?:–|—|-|to|and|or|&)\s*[0-9]{1,2}(?:st|nd|rd|th)?\s*)?"
    r"(?:of\s+)?" + _MONTHS + r"\b"
)


def _words_at_end(words: str) -> tuple[re.Pattern[str], int]:
    """A pattern for one of the |-separated `words` (any case) at the end of a text, white space
    aside, and how far before that end its matches start (the reach of `_search_end`)."""
    pattern = re.compile(r"(?i:\b(?:" + words + r")\s*)$")
    return pattern, max(len(word) for word in words.split("|"))


_YEAR_CONTEXT_RE, _YEAR_CONTEXT_REACH = _words_at_end(
    "in|since|by|of|from|until|till|to|before|after|during|early|late|mid|circa"
    "|the|this|that|last|next|its|their|his|her|year|fiscal|spring|summer|autumn|fall"
    "|winter|and|or"
)
_AGE_BEFORE_RE, _AGE_BEFORE_REACH = _words_at_end("aged|age|ages")
_AGE_AFTER_RE = re.compile(r"^\s*(?i:years?|yrs)[\s-]+old\b")


_DECIMAL_RE = re.compile(r"[0-9,]+\.[0-9]+")
_AGE_PRONOUN_BEFORE_RE = re.compile(
    r"(?i:\b(?:he|she|I|they|we)\s+(?:was|were|is|turned|turns|had\s+turned)\s*"
    r"|\b(?:people|voters|those|men|women|adults|workers|anyone|everyone)\s+(?:over|under"
    r"|above|below)\s+(?:the\s+age\s+of\s+)?)$"
)
_APPOSITIVE_AGE_RE = re.compile(r"[A-Z][\w’'-]+,\s*$")
# (Each match starts with "#" or at the start of a word: testing that first spares the engine
# the label words elsewhere.)
_LABEL_BEFORE_RE = re.compile(
    r"(?=#|\b\w)(?:\b(?i:" + _LABEL_WORDS + r")\.?|\bNo\.|\bNos\.?|#)\s*$"
)
# The longest X of _LABEL_BEFORE_RE (a label word and its full stop), for `_search_end`.
_LABEL_REACH = max(len(word) for word in _LABEL_WORDS.split("|")) + 1
_NAME_BEFORE_RE = re.compile(r"[^\W\d_][-‑]$")
_NAME_LAST = frozenset("-‑")  # the characters a match of _NAME_BEFORE_RE can end with
_HYPHEN_AFTER_RE = re.compile(r"[-‑][^\W\d_]")
_STRONG_AFTER_RE = re.compile(r"[-‑]strong\b")


_SMALL_DETERMINER_BEFORE_RE, _SMALL_DETERMINER_REACH = _words_at_end(
    "the|these|those|its|their|his|her|our|my|your|all|both|every|each"
)
_ONE_PRONOUN_AFTER_RE = re.compile(r"^\s+(?i:of|another|by|or|who|that|which|else)\b|^\s*$")
_ONE_PRONOUN_BEFORE_RE, _ONE_PRONOUN_REACH = _words_at_end(
    "no|any|every|the|this|that|which|each|at|in|on|for|with|from|by|to|only"
)
_CLOSE_AFTER_RE = re.compile(r"^\s*[,)]")
_LIST_MARKER_AFTER_RE = re.compile(r"[.)](?:\s|$)")
# Numeric dates: 2024-10-29, 29/10/2024, 29.10.24.
_NUMERIC_DATE_RE = re.compile(
    r"(?=[0-9])(?<![\w.,/-])(?:[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}|[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{2,4})"
    r"(?![\w/-])"
)


def _search_end(pattern: re.Pattern[str], text: str, reach: int) -> re.Match[str] | None:
    r"""`pattern.search(text)` for a `pattern` of the form `X\s*$`, where X matches at most `reach`
    characters and ends with one that is no white space.

    X then ends where the white space at the end of `text` starts, so a match starts at most
    `reach` characters before that; searching from there finds the same match without trying
    every position of `text` (`\b` and look-behinds still see the characters before).
    """
    return pattern.search(text, max(0, len(text.rstrip()) - reach))


def _skip_reason(
    sentence: str, num: _Number, unit: str | None, range_end: int, dates: list[tuple[int, int]]
) -> str | None:
    """Why the number is not a count (None when it is one); `dates` are numeric-date spans."""
    return _context_skip_reason(sentence, num, range_end, dates) or _unit_skip_reason(
        sentence, num, unit
    )


def _context_skip_reason(
    sentence: str, num: _Number, range_end: int, dates: list[tuple[int, int]]
) -> str | None:
    """The first reasons of `_skip_reason`, those that do not depend on the unit."""
    before = sentence[max(0, num.start - _WINDOW) : num.start]
    after = sentence[num.end : num.end + _WINDOW]
    after_range = sentence[range_end : range_end + _WINDOW]
    if num.kind == "vague":
        return "vague"
    if num.value is None:
        return "unparsed"
    date = _region_before(dates, num.start + 1)
    if date is not None and num.start < date[1]:
        return "date"
    if _STRONG_AFTER_RE.match(after) is None and _HYPHEN_AFTER_RE.match(after):
        return "compound"  # three-year, 54-year-old, one-third
    # A match of a context before the number ends with the last character that is no white
    # space (see `_search_end`); the name and money contexts end with one of a few.
    last = before.rstrip()[-1:]
    if (last in _NAME_LAST and _search_end(_NAME_BEFORE_RE, before, 2)) or _search_end(
        _LABEL_BEFORE_RE, before, _LABEL_REACH
    ):
        return "name"
    if (last in _MONEY_LAST and _search_end(_MONEY_BEFORE_RE, before, 4)) or _MONEY_AFTER_RE.match(
        after_range
    ):
        return "money"
    if _PERCENT_AFTER_RE.match(after_range):
        return "percent"
    if _TIME_AFTER_RE.match(after):
        return "time"
    if (
        any(stem in before for stem in _MONTH_STEMS) and _DATE_BEFORE_RE.search(before)
    ) or _DATE_AFTER_RE.match(after):
        return "date"
    if num.kind == "digits":
        if _search_end(_AGE_BEFORE_RE, before, _AGE_BEFORE_REACH) or _AGE_AFTER_RE.match(after):
            return "age"
        if _CLOSE_AFTER_RE.match(after) and _APPOSITIVE_AGE_RE.search(before):
            return "age"
        if before.rstrip().endswith("(") and after.lstrip().startswith(")"):
            return "age"
    return None


def _unit_skip_reason(sentence: str, num: _Number, unit: str | None) -> str | None:
    """The remaining reasons of `_skip_reason`, read once `_context_skip_reason` found none."""
    before = sentence[max(0, num.start - _WINDOW) : num.start]
    after = sentence[num.end : num.end + _WINDOW]
    if num.kind == "digits":
        if num.plain_int and 1900 <= int(num.text) <= 2100:
            head = unit.split()[-1] if unit else ""
            year_context = _search_end(_YEAR_CONTEXT_RE, before, _YEAR_CONTEXT_REACH)
            if year_context or not unit or not _is_plural(head):
                return "year"
        if num.plain_int and 1000 <= int(num.text) < 1900 and not unit:
            return "year"  # "until 1857": counts of a thousand or more are written with commas
        if not unit and _DECIMAL_RE.fullmatch(num.text):
            return "decimal"  # "closed at 10,385.48", "rose to 61.5": an index, not a count
        if not before.strip() and _LIST_MARKER_AFTER_RE.match(after):
            return "list_marker"
        if unit is None and _AGE_PRONOUN_BEFORE_RE.search(before):
            return "age"  # "since he was 19"
    if unit is not None:
        head = unit.split()[0].lower().rstrip("’'")
        if head in _DURATIONS:
            return "duration"
        if head in _MEASURES:
            return "measure"
    if _NOT_UNIT_AFTER_RE.match(after):
        return "not_a_unit"
    if num.kind == "words":
        if num.text.lower() == "one" and (
            _ONE_PRONOUN_AFTER_RE.match(after)
            or _search_end(_ONE_PRONOUN_BEFORE_RE, before, _ONE_PRONOUN_REACH)
        ):
            return "pronoun"
        if (
            num.value is not None
            and num.value < 10
            and _search_end(_SMALL_DETERMINER_BEFORE_RE, before, _SMALL_DETERMINER_REACH)
        ):
            return "anaphoric"  # "the two leaders"
    if num.kind != "digits" and unit is None and (num.value or 0) < 1000:
        return "no_unit"
    return None
