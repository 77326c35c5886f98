"""Find who a sentence attributes its numbers to and which attribution governs each number."""

from __future__ import annotations

import re
from typing import NamedTuple

import polars as pl

from flows.core.claims.sentences import _ABBREVIATIONS, _region_containing
from flows.core.claims.vocabulary import (
    _ATTRIBUTION_VERBS,
    _BY_VERBS,
    _DETERMINERS,
    _ED_ADJECTIVES,
    _FUNCTION_WORDS,
    _LY_WORDS,
    _OBJECT_PRONOUNS,
    _PARTICIPLE_VERBS,
    _PRONOUNS,
    _SOURCE_HEADS,
    _TIME_NOUNS,
)

_TOKEN_RE = re.compile(r"\w+(?:[’'\-.&]\w+)*|\S")


class _Token(NamedTuple):
    start: int
    end: int
    text: str
    lower: str  # text.lower()
    is_word: bool  # starts with a word character
    capitalised: bool  # starts with an upper-case letter


def _tokens(sentence: str) -> list[_Token]:
    tokens = []
    for m in _TOKEN_RE.finditer(sentence):
        text = m.group()
        first = text[0]
        is_word = first.isalnum() or first == "_"
        tokens.append(_Token(m.start(), m.end(), text, text.lower(), is_word, first.isupper()))
    return tokens


class _Attribution(NamedTuple):
    start: int  # start of the verb (or of "according")
    end: int  # end of the verb phrase
    source: str
    verb: str
    source_span: tuple[int, int]  # of the source noun phrase in the sentence
    # An aside between source and verb ("The party, which won 14 seats, said"): numbers in it
    # are the writer's, not the source's.
    aside: tuple[int, int] | None = None


_NP_TRIM = frozenset({"and", "&", "of", "in", "on", "at", "from", "for"})
_ATTRIBUTION_BLOCKERS = frozenset(
    {
        "been", "be", "being", "was", "were", "is", "are", "am", "to", "an", "a", "the", "if",
        "not", "will", "would", "could", "can", "may", "might", "should", "must", "shall",
        "as", "when", "once", "unless", "who", "which", "that",
    }
)  # fmt: skip
_TERMINAL_RE = re.compile(
    r"\s*(?:(?:on|last|this|earlier|late|early)\s+\w+\s*|today\s*|yesterday\s*|tonight\s*)?"
    r"(?:[,.;:!?)\]”\"’…—–]|$)"
)


def _is_pronoun(tok: _Token) -> bool:
    """A personal pronoun; "US" and "IT" in capitals are names, "I" is a pronoun."""
    lw = tok.lower
    if lw not in _PRONOUNS and lw not in _OBJECT_PRONOUNS:
        return False
    return tok.text == "I" or not tok.text.isupper()


def _np_word_ok(tok: _Token) -> bool:
    lw = tok.lower
    if _is_pronoun(tok):
        return False
    if tok.text.isupper() and len(tok.text) > 1:
        return True  # acronyms: US, UN, NIS
    if lw in _FUNCTION_WORDS and lw not in _DETERMINERS:
        return False
    if tok.text.isdigit():
        return False
    if not tok.capitalised:
        if lw.endswith("ing") and len(lw) > 4:
            return False
        if lw.endswith("ed") and len(lw) > 3 and lw not in _ED_ADJECTIVES:
            return False
        if lw.endswith("ly") and len(lw) > 3 and lw not in _LY_WORDS:
            return False
    return True


def _is_abbreviation_dot(tokens: list[_Token], k: int) -> bool:
    if tokens[k].text != "." or k == 0:
        return False
    prev = tokens[k - 1]
    return prev.is_word and (
        prev.lower in _ABBREVIATIONS or (len(prev.text) == 1 and prev.capitalised)
    )


def _np_backward(tokens: list[_Token], j: int, inside: list[bool]) -> list[int]:
    """Token indexes of the noun phrase ending at token j (scanning leftwards)."""
    np: list[int] = []
    k = j
    while k >= 0 and len(np) < 12:
        tok = tokens[k]
        if inside[k]:
            break
        if not tok.is_word:
            if np and _is_abbreviation_dot(tokens, k):
                np.append(k)
                k -= 1
                continue
            break
        lw = tok.lower
        if _is_pronoun(tok) and lw != "her":
            if not np and lw in _PRONOUNS:
                np.append(k)
            break
        prev = tokens[k - 1] if k > 0 else None
        if lw == "of":
            if np and prev is not None and prev.is_word and _np_word_ok(prev):
                np.append(k)
                k -= 1
                continue
            break
        if lw in ("in", "on", "at", "from", "for"):
            if np and prev is not None and prev.lower in _SOURCE_HEADS:
                np.append(k)
                k -= 1
                continue
            break
        if lw in ("and", "&"):
            if np and prev is not None and prev.is_word and prev.capitalised:
                np.append(k)
                k -= 1
                continue
            break
        if not _np_word_ok(tok):
            break
        np.append(k)
        k -= 1
    np.reverse()
    while np and tokens[np[0]].lower in _NP_TRIM:
        np.pop(0)
    return np


def _np_forward(tokens: list[_Token], k: int, inside: list[bool]) -> list[int]:
    """Token indexes of the noun phrase starting at token k (scanning rightwards)."""
    np: list[int] = []
    n = len(tokens)
    while k < n and len(np) < 12:
        tok = tokens[k]
        if inside[k]:
            break
        if not tok.is_word:
            if np and _is_abbreviation_dot(tokens, k):
                np.append(k)
                k += 1
                continue
            break
        lw = tok.lower
        if _is_pronoun(tok):
            if not np:
                np.append(k)
            break
        nxt = tokens[k + 1] if k + 1 < n else None
        if lw == "of":
            if np:
                np.append(k)
                k += 1
                continue
            break
        if lw in ("in", "on", "at", "from", "for"):
            if np and tokens[k - 1].lower in _SOURCE_HEADS:
                np.append(k)
                k += 1
                continue
            break
        if lw in ("and", "&"):
            if (
                np
                and tokens[k - 1].capitalised
                and nxt is not None
                and nxt.is_word
                and (nxt.capitalised or nxt.lower in _DETERMINERS)
            ):
                np.append(k)
                k += 1
                continue
            break
        if not _np_word_ok(tok):
            break
        np.append(k)
        k += 1
    while np and tokens[np[-1]].lower in _NP_TRIM | _DETERMINERS:
        np.pop()
    return np


def _valid_source(tokens: list[_Token], np: list[int]) -> bool:
    if not np:
        return False
    words = [tokens[i] for i in np if tokens[i].is_word]
    if not words or all(t.lower in _DETERMINERS for t in words):
        return False
    last = tokens[np[-1]].lower
    # "Russia’s claim", "their reports": a possessive before the verb makes it a noun.
    return not last.endswith(("’s", "'s"))


def _span_text(sentence: str, tokens: list[_Token], np: list[int]) -> str:
    return " ".join(sentence[tokens[np[0]].start : tokens[np[-1]].end].split())


def _attribution(
    sentence: str,
    tokens: list[_Token],
    np: list[int],
    verb: tuple[int, int, str],
    aside: tuple[int, int] | None = None,
) -> _Attribution:
    start, end, lemma = verb
    span = (tokens[np[0]].start, tokens[np[-1]].end)
    return _Attribution(start, end, _span_text(sentence, tokens, np), lemma, span, aside)


_AUDIENCE_VERBS = frozenset({"told", "tells"})
_AUDIENCE_RE = re.compile(
    r"\s+(?i:a|an|the|his|her|their|its)\s+(?:[\w’'\-]+\s+){0,3}?(?i:of|with)\s+"
    r"(?:(?i:some|about|around|roughly|nearly|almost|more\s+than|over|at\s+least)\s+)?"
)

# Words allowed between a source and its verb ("the Pentagon has already said").
_SUBJECT_VERB_GAP = frozenset(
    {
        "has", "have", "had", "also", "previously", "repeatedly", "already", "reportedly",
        "later", "earlier", "again", "separately", "initially", "recently", "publicly",
        "privately", "officially", "then", "today", "yesterday", "tonight", "now", "still",
        "too", "first", "originally", "subsequently", "further",
    }
)  # fmt: skip


def _skip_adverbials_backward(tokens: list[_Token], j: int) -> int:
    """Step left over adverbs and time phrases between a subject and its verb."""
    while j >= 0:
        tok = tokens[j]
        lw = tok.lower
        if lw in _SUBJECT_VERB_GAP:
            j -= 1
            continue
        if (
            lw in _TIME_NOUNS
            and j > 0
            and tokens[j - 1].lower in ("on", "last", "this", "earlier", "late", "early", "that")
        ):
            j -= 2
            continue
        break
    return j


def _attributions(sentence: str, tokens: list[_Token], inside: list[bool]) -> list[_Attribution]:
    found: list[_Attribution] = []
    n = len(tokens)
    for v, tok in enumerate(tokens):
        if inside[v] or not tok.is_word:
            continue
        lw = tok.lower
        if lw == "according" and v + 1 < n and tokens[v + 1].lower == "to":
            np = _np_forward(tokens, v + 2, inside)
            if _valid_source(tokens, np):
                verb = (tok.start, tokens[v + 1].end, "according to")
                found.append(_attribution(sentence, tokens, np, verb))
            continue
        if lw in _PARTICIPLE_VERBS and v > 0 and tokens[v - 1].text == ",":
            # "The authority put the figure lower, saying roughly 3,100 workers ...": the
            # participle reports for the subject that opens the sentence, or for the source of
            # an attribution just before it ("..., he said, adding that ...").
            if found and found[-1].end <= tok.start:
                prior = found[-1]
                found.append(_Attribution(tok.start, tok.end, prior.source, lw, prior.source_span))
                continue
            np = _np_forward(tokens, 0, inside)
            if (
                _valid_source(tokens, np)
                and np[-1] + 1 < v
                and tokens[np[-1] + 1].is_word
                and tokens[np[0]].lower not in _OBJECT_PRONOUNS
            ):
                found.append(_attribution(sentence, tokens, np, (tok.start, tok.end, lw)))
            continue
        if tok.text not in _ATTRIBUTION_VERBS:
            continue
        # "as reported by CNN", "was confirmed by the ministry"
        if lw in _BY_VERBS and v + 1 < n and tokens[v + 1].lower == "by":
            np = _np_forward(tokens, v + 2, inside)
            if _valid_source(tokens, np):
                found.append(_attribution(sentence, tokens, np, (tok.start, tok.end, lw)))
            continue
        prev = tokens[v - 1] if v > 0 else None
        # Inverted: "..., said Andrei Lankov, director of ..." / "...,” said the minister."
        if v == 0 or (prev is not None and prev.text in (",", "”", '"', "’", ":", "—", "–")):
            np = _np_forward(tokens, v + 1, inside)
            if (
                _valid_source(tokens, np)
                and tokens[np[0]].lower not in _OBJECT_PRONOUNS
                and tokens[np[0]].lower != "that"  # "..., said that prices fell."
                and _TERMINAL_RE.match(sentence, tokens[np[-1]].end) is not None
            ):
                found.append(_attribution(sentence, tokens, np, (tok.start, tok.end, lw)))
                continue
        j = _skip_adverbials_backward(tokens, v - 1)
        if j < 0 or tokens[j].lower in _ATTRIBUTION_BLOCKERS:
            continue
        aside = None
        if tokens[j].text == ",":
            # Appositive: "The Wall Street Journal, citing unnamed sources, reported ..."
            k = j - 1
            while k >= 0 and tokens[k].text not in (",", ".", "“", "”", '"') and j - k < 14:
                k -= 1
            if k < 0 or tokens[k].text != ",":
                continue
            aside = (tokens[k].start, tokens[j].end)
            j = k - 1
            if j < 0:
                continue
        np = _np_backward(tokens, j, inside)
        if _valid_source(tokens, np):
            found.append(_attribution(sentence, tokens, np, (tok.start, tok.end, lw), aside))
    return found


def _sentence_attributions(sentence: str, regions: list[tuple[int, int]]) -> list[_Attribution]:
    """The attributions of `sentence`, whose quotations are `regions`."""
    tokens = _tokens(sentence)
    inside = [_region_containing(regions, t.start) is not None for t in tokens]
    return _attributions(sentence, tokens, inside)


# Every attribution holds a token that is an attribution verb, "according" or a participle of
# _PARTICIPLE_VERBS in any case, and a token's neighbours are no word characters to Python. The
# same test in polars for many sentences at once, with those neighbours spelled out as anything
# but an ASCII letter, digit or "_" (as in quantities._WORD_HINT), and Rust's case folding, which
# matches every letter that the token's lower() maps onto these words' letters (A-Z and the
# Kelvin sign; tests/test_claims_shortcuts.py).
_ATTRIBUTION_HINT = (
    r"(?:^|[^A-Za-z0-9_])(?:"
    + "|".join(sorted(_ATTRIBUTION_VERBS))
    + "|(?i:according|"
    + "|".join(sorted(_PARTICIPLE_VERBS))
    + r"))(?:$|[^A-Za-z0-9_])"
)


def _may_attribute(sentences: list[str]) -> list[bool]:
    """For each sentence, False when `_sentence_attributions` of it is surely empty."""
    return pl.Series(sentences, dtype=pl.String).str.contains(_ATTRIBUTION_HINT).to_list()


def _governs(sentence: str, a: _Attribution, pos: int) -> bool:
    """Whether attribution `a` may govern the number at `pos` at all."""
    if a.aside is not None and a.aside[0] <= pos < a.aside[1]:
        return False
    # "she told a rally of some 20,000 supporters": the number sizes the audience.
    return not (
        a.verb in _AUDIENCE_VERBS
        and a.end <= pos
        and _AUDIENCE_RE.fullmatch(sentence, a.end, pos) is not None
    )


def _choose_attribution(
    sentence: str, found: list[_Attribution], pos: int, region: tuple[int, int] | None
) -> _Attribution | None:
    """The attribution that governs the number at `pos` (inside quotation `region`, if any)."""
    found = [a for a in found if _governs(sentence, a, pos)]
    if not found:
        return None
    if region is not None:
        o, c = region
        after = [a for a in found if a.start > c]
        if after:
            return min(after, key=lambda a: a.start)
        before = [a for a in found if a.end <= o]
        return max(before, key=lambda a: a.start) if before else None
    before = [a for a in found if a.end <= pos]
    if before:
        return max(before, key=lambda a: a.start)
    after = [a for a in found if a.start >= pos]
    return min(after, key=lambda a: a.start) if after else None
