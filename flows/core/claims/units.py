"""Find what a quantity counts: the words after it, an outcome, or a subject before it."""

from __future__ import annotations

import re

from flows.core.claims.qualifiers import _QUALIFIER_PATTERNS
from flows.core.claims.quantities import _Number
from flows.core.claims.vocabulary import (
    _DAYS,
    _ED_ADJECTIVES,
    _FUNCTION_WORDS,
    _IRREGULAR_PLURALS,
    _LY_WORDS,
    _MONTH_NAMES,
    _OUTCOMES,
    _WINDOW,
)

_LABEL_NAME_BEFORE_RE = re.compile(r"(?<=\S)\s+[A-Z][\w’'\-]*\s+$|(?i:\bthe\s+)$")
_NUMBER_AFTER_RE = re.compile(r"[\s,\-–]*[0-9]")


# "Russian casualties and losses are “upwards of 500,000”": the subject names what is counted.
_COPULA_SUBJECT_RE = re.compile(
    r"(?<![\w’'])(?P<subject>(?:[A-Za-z]+\s+)?[A-Za-z]+(?:\s+and\s+[A-Za-z]+)?)\s+"
    r"(?:are|were|is|was|stood\s+at|stands\s+at|totalled|totaled|totals|numbered|numbers)"
    r"[\s“\"(]*(?i:(?:" + "|".join(pattern for _, pattern in _QUALIFIER_PATTERNS) + r")\b)?"
    r"[\s“\"(]*$"
)

_UNIT_WORD_RE = re.compile(r"[ \t\u00a0]+([^\W\d_][\w’'\-]*)")
_FILLER_RE = re.compile(r"[ \t\u00a0]+(?i:more|additional|extra|other|further|new|fresh)\b")
# "40 of the hostages", "two of them", "5,000 of Hallin's", "two of the port's": the count is of
# what follows (a second number there lends its unit: "97 of the 200 seats").
_PARTITIVE_RE = re.compile(
    r"[ \t\u00a0]+of[ \t\u00a0]+(?:(?:the|these|those|its|their|his|her|our|them|us)\b"
    r"(?:[ \t\u00a0]+[^\W\d_][\w\-]*[’']s\b)?|[^\W\d_][\w\-]*[’']s\b)(?=[ \t\u00a0])"
)
_OUTCOME_TAIL_RE = re.compile(
    r"[ \t\u00a0]+(?:(?:had|have|has)\s+been\s+|were\s+|was\s+|are\s+|is\s+|been\s+|being\s+)?"
    r"(?:[a-z]+ly\s+)?(" + "|".join(sorted(_OUTCOMES)) + r")\b"
)


def _is_plural(word: str) -> bool:
    lw = word.lower()
    return lw in _IRREGULAR_PLURALS or (lw.endswith("s") and not lw.endswith("ss") and len(lw) > 2)


def _unit_word_ok(word: str, following: str | None, after_plural: bool) -> str:
    """Classify a word after a number: "ok" (part of the unit), "outcome", or "stop"."""
    lw = word.lower()
    if word[0].isupper():
        return "stop" if word in _DAYS or word in _MONTH_NAMES or lw in _FUNCTION_WORDS else "ok"
    if lw in _OUTCOMES:
        # "500,000 wounded since ..." is an outcome; "500 wounded soldiers" an adjective.
        f = following.lower() if following is not None else None
        if after_plural or lw not in _ED_ADJECTIVES or f is None or f in _FUNCTION_WORDS:
            return "outcome"
        return "ok"
    if lw in _FUNCTION_WORDS and lw not in _ED_ADJECTIVES:
        return "stop"  # ("confirmed", "reported" are attribution verbs and adjectives)
    verbish = (
        (lw.endswith("ed") and len(lw) > 3 and lw not in _ED_ADJECTIVES)
        or (lw.endswith("ing") and len(lw) > 4)
        or (lw.endswith("ly") and len(lw) > 3 and lw not in _LY_WORDS)
    )
    if lw in _ED_ADJECTIVES or verbish:
        # A participle or gerund modifies a following noun ("military training sites",
        # "armed men") but ends the phrase after a plural head ("containers filled with").
        if after_plural or following is None:
            return "stop"
        f = following.lower()
        if f in _FUNCTION_WORDS or (not f.isalpha() and "-" not in f):
            return "stop"
        return "stop" if verbish and lw.endswith("ly") else "ok"
    return "ok"


def _parse_unit(sentence: str, pos: int) -> str | None:
    """The counted noun phrase starting after the number at `pos` (whitespace normalised)."""
    filler = _FILLER_RE.match(sentence, pos)
    if filler is not None:
        pos = filler.end()
    partitive = _PARTITIVE_RE.match(sentence, pos)
    if partitive is not None:
        pos = partitive.end()
        if partitive.group().split()[-1].lower() in ("them", "us"):
            # "two of them were shot down": a verb follows, never a noun.
            tail = _OUTCOME_TAIL_RE.match(sentence, pos)
            return tail.group(1) if tail is not None else None
    matches = []
    cursor = pos
    while True:
        m = _UNIT_WORD_RE.match(sentence, cursor)
        if m is None:
            break
        matches.append(m)
        cursor = m.end()
        if len(matches) > 6:
            break
    words: list[str] = []
    end = pos
    for i, m in enumerate(matches):
        if len(words) >= 4:
            break
        word = m.group(1)
        following = matches[i + 1].group(1) if i + 1 < len(matches) else None
        lw = word.lower()
        if lw in ("and", "&") and words and words[-1][0].isupper():
            # "Ukrainians and Russians": coordination of capitalised nouns only.
            if following is not None and following[0].isupper() and len(words) < 3:
                words.append(word)
                end = m.end()
                continue
            break
        after_plural = bool(words) and _is_plural(words[-1])
        if after_plural and lw not in _OUTCOMES and not _is_plural(word):
            break  # a plural head ends the phrase: "troops north", "soldiers home"
        verdict = _unit_word_ok(word, following, after_plural)
        if verdict == "outcome":
            words.append(word)
            return " ".join(words)
        if verdict == "stop":
            break
        words.append(word)
        end = m.end()
    if not words:
        # "27 were injured", "two of them were shot down": the outcome is what was counted.
        tail = _OUTCOME_TAIL_RE.match(sentence, pos)
        return tail.group(1) if tail is not None else None
    if words[-1].lower() in ("and", "&"):
        words.pop()
    tail = _OUTCOME_TAIL_RE.match(sentence, end)
    if tail is not None:
        words.append(tail.group(1))
    return " ".join(words) if words else None


def _copula_subject(sentence: str, pos: int) -> str | None:
    """The plural subject of "<subject> were (upwards of) N" before `pos`, as the unit of N."""
    m = _COPULA_SUBJECT_RE.search(sentence, max(0, pos - _WINDOW), pos)
    if m is None:
        return None
    words = m.group("subject").split()
    while words and words[0].lower() in _FUNCTION_WORDS:
        words.pop(0)
    if not words or any(w.lower() in _FUNCTION_WORDS for w in words if w.lower() != "and"):
        return None
    head = words[-1].lower()
    return " ".join(words) if _is_plural(head) or head in ("toll", "tally") else None


def _may_borrow_unit(sentence: str, num: _Number) -> bool:
    """Whether a count without a unit is elliptical rather than a label ("Radio 4", "the 147,
    156 and 166 models", "10 737-800 planes")."""
    before = sentence[max(0, num.start - _WINDOW) : num.start]
    if _LABEL_NAME_BEFORE_RE.search(before):
        return False
    return _NUMBER_AFTER_RE.match(sentence, num.end) is None


def _without_outcome(unit: str) -> str:
    """`unit` without a trailing outcome ("people killed" -> "people"), to lend it elsewhere."""
    for outcome in _OUTCOMES:
        if unit.endswith(" " + outcome):
            return unit[: -len(outcome) - 1]
    return unit
