"""Assemble the claims of each sentence and document into the claims table."""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

import polars as pl

from flows.core.claims.attribution import (
    _Attribution,
    _choose_attribution,
    _may_attribute,
    _sentence_attributions,
)
from flows.core.claims.qualifiers import _qualifier
from flows.core.claims.quantities import (
    _QUANTITY_RE,
    _find_numbers,
    _may_hold_numbers,
    _number_patterns,
)
from flows.core.claims.sentences import (
    _LINE_RE,
    MAX_SENTENCE_CHARS,
    _line_sentences,
    _quote_regions,
    _region_containing,
)
from flows.core.claims.skips import (
    _NUMERIC_DATE_RE,
    _STRONG_AFTER_RE,
    _context_skip_reason,
    _skip_reason,
    _unit_skip_reason,
)
from flows.core.claims.units import (
    _PARTITIVE_RE,
    _copula_subject,
    _may_borrow_unit,
    _parse_unit,
    _without_outcome,
)
from flows.core.claims.vocabulary import _WINDOW
from flows.core.schema import CLAIMS, empty

_RANGE_CONNECTOR_RE = re.compile(r"\s*(–|—|-|‑|to|and|or)\s*")
_BETWEEN_BEFORE_RE = re.compile(r"(?i:\bbetween\s*)$")
_FROM_BEFORE_RE = re.compile(r"(?i:\bfrom\s*)$")


# How many sentences back an elliptical count ("A couple of thousand more were heading there")
# looks for the unit it borrows.
_CONTEXT_SENTENCES = 2


class _Claim(NamedTuple):
    offset: int  # of the quantity within the sentence
    quantity: float
    quantity_text: str
    qualifier: str
    unit: str | None
    source: str | None
    verb: str | None


def _sentence_claims(
    sentence: str,
    context_unit: str | None = None,
    pattern: re.Pattern[str] = _QUANTITY_RE,
    may_attribute: bool = True,
) -> list[_Claim]:
    """The claims of one sentence; `context_unit` is the unit of the last claim just before it.

    `pattern` and `may_attribute` are the sentence's `_number_patterns` and `_may_attribute`
    entries, when known.
    """
    numbers = _find_numbers(sentence, pattern)
    if not numbers:
        return []
    # Only a digit can be in a numeric date, and only numbers of digits are looked up in them.
    dates = []
    if any(num.kind == "digits" for num in numbers):
        dates = [m.span() for m in _NUMERIC_DATE_RE.finditer(sentence)]
    # The quotations and attributions are found once a number is known to be a count (most
    # numbers are not).
    regions: list[tuple[int, int]] | None = None
    found: list[_Attribution] | None = None

    # Units and ranges: "3,000-5,000 troops", "between 1,500 and 12,000 troops".
    units: list[str | None] = []
    for num in numbers:
        pos = num.end
        strong = _STRONG_AFTER_RE.match(sentence, pos)
        if strong is not None:
            pos = strong.end()
        units.append(_parse_unit(sentence, pos))
    range_end = [num.end for num in numbers]
    range_qualifier: dict[int, str] = {}
    for i in range(len(numbers) - 1):
        left, right = numbers[i], numbers[i + 1]
        conn = _RANGE_CONNECTOR_RE.match(sentence, left.end)
        if conn is None or conn.end() != right.start or left.kind == "vague":
            continue
        word = conn.group(1)
        if units[i] is None:
            units[i] = units[i + 1]
        range_end[i] = right.end
        window = max(0, left.start - _WINDOW)
        between = _BETWEEN_BEFORE_RE.search(sentence, window, left.start) is not None
        if (
            (word == "and" and between)
            or word in ("–", "—", "-", "‑")
            or (word == "to" and _FROM_BEFORE_RE.search(sentence, window, left.start) is None)
        ):
            range_qualifier[i] = "at_least"
            range_qualifier[i + 1] = "up_to"
    # Numbers whose unit is the subject before a copula: that search waits until the unit is
    # read, which most numbers (years, money, percentages) never reach.
    copula: set[int] = set()
    for i, num in enumerate(numbers):
        if num.kind == "vague":
            continue
        part = _PARTITIVE_RE.match(sentence, num.end)
        if (
            part is not None
            and i + 1 < len(numbers)
            and units[i + 1] is not None
            and not sentence[part.end() : numbers[i + 1].start].strip()
        ):
            units[i] = units[i + 1]  # "97 of the 200 seats"
        elif units[i] is None and (num.kind != "words" or (num.value or 0) >= 100):
            # "losses were upwards of 500,000" (not "the debate was one for politicians")
            copula.add(i)

    def unit_of(i: int) -> str | None:
        if i in copula:
            copula.discard(i)
            units[i] = _copula_subject(sentence, numbers[i].start)
        return units[i]

    claims: list[_Claim] = []
    for i, num in enumerate(numbers):
        if _context_skip_reason(sentence, num, range_end[i], dates) is not None:
            continue
        unit = unit_of(i)
        if _unit_skip_reason(sentence, num, unit) is not None:
            continue
        if regions is None:
            regions = _quote_regions(sentence)
        if found is None:
            found = _sentence_attributions(sentence, regions) if may_attribute else []
        if any(a.source_span[0] <= num.start < a.source_span[1] for a in found):
            continue  # "One official said ...": the number counts the sources, not a claim
        # The second of two joined numbers shares the first's context ("October 27–28",
        # "$3-5 million", "aged 54 to 60").
        if i > 0 and range_end[i - 1] == num.end:
            reason = _skip_reason(sentence, numbers[i - 1], unit_of(i - 1), range_end[i - 1], dates)
            if reason not in (None, "no_unit", "vague", "anaphoric", "pronoun"):
                continue
        assert num.value is not None
        qualifier = _qualifier(sentence[max(0, num.start - _WINDOW) : num.start])
        if range_qualifier.get(i) == "up_to" or (
            range_qualifier.get(i) == "at_least" and qualifier == "exact"
        ):
            qualifier = range_qualifier[i]
        if num.kind == "couple" and qualifier == "exact":
            qualifier = "approximate"  # "a couple of thousand" is a round figure
        if unit is None and _may_borrow_unit(sentence, num):
            # An elliptical count borrows the unit of the count before it: "141 votes to 52",
            # "up to 350 prisoners. Ostrel says it holds fewer than 200."
            previous = next((c.unit for c in reversed(claims) if c.unit), context_unit)
            unit = _without_outcome(previous) if previous else None
        region = _region_containing(regions, num.start)
        attribution = _choose_attribution(sentence, found, num.start, region)
        claims.append(
            _Claim(
                offset=num.start,
                quantity=num.value,
                quantity_text=num.text,
                qualifier=qualifier,
                unit=unit,
                source=attribution.source if attribution else None,
                verb=attribution.verb if attribution else None,
            )
        )
    return claims


def _claim_id(doc_id: str, start: int, offset: int) -> str:
    return hashlib.sha256(f"{doc_id}\x1f{start}\x1f{offset}".encode()).hexdigest()[:16]


def extract_claims(
    docs: pl.DataFrame,
    *,
    extractor: str = "rules-v1",
    run_id: str | None = None,
    max_sentence_chars: int = MAX_SENTENCE_CHARS,
) -> pl.DataFrame:
    """Extract numeric attributed claims from `docs` (`doc_id`, `clean_text`; other columns are
    ignored) into a frame with the CLAIMS schema, one row per counted quantity.

    `start`/`end` are the sentence's span in `clean_text`; `claim_id` hashes the doc_id, the
    sentence start and the quantity's offset in `clean_text`, so it is stable across runs.
    Rows are ordered by doc_id, start and the quantity's offset. Rows with a null `doc_id` or
    `clean_text` yield nothing; repeated (doc_id, clean_text) rows are read once.
    """
    missing = [c for c in ("doc_id", "clean_text") if c not in docs.columns]
    if missing:
        raise ValueError(f"extract_claims needs columns {missing}; got {docs.columns}")
    rows = (
        docs.select(pl.col("doc_id").cast(pl.String), pl.col("clean_text").cast(pl.String))
        .drop_nulls()
        .unique(maintain_order=True)
    )
    data: dict[str, list[object]] = {name: [] for name in CLAIMS.names()}
    offsets: list[int] = []
    texts: list[str] = rows["clean_text"].to_list()
    if texts and max_sentence_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_sentence_chars}")
    lines = [[(m.start(), m.group()) for m in _LINE_RE.finditer(text)] for text in texts]
    # Only the lines that may hold a number are split into sentences (one polars test of all).
    hinted = _may_hold_numbers([line for own in lines for _, line in own])
    line_spans: list[list[tuple[int, int]] | None] = []
    sentences: list[str] = []
    for text, own in zip(texts, lines, strict=True):
        for base, line in own:
            if hinted[len(line_spans)]:
                found_spans = _line_sentences(line, base, max_sentence_chars)
                sentences.extend(text[a:b] for a, b in found_spans)
                line_spans.append(found_spans)
            else:
                line_spans.append(None)
    patterns = _number_patterns(sentences)
    may_attribute = _may_attribute(sentences)
    j = -1  # index of the line in `line_spans`
    k = -1  # index of the sentence in `sentences`
    for doc_id, own in zip(rows["doc_id"].to_list(), lines, strict=True):
        last_unit: tuple[int, str] | None = None  # (sentence index, unit) of the last claim
        index = -1  # of the sentence in the document; see below
        for base, line in own:
            j += 1
            spans = line_spans[j]
            if spans is None:
                # A line without a number yields no claim; its sentences count only when a
                # sentence after it might borrow the last unit. Otherwise `index` falls behind,
                # which changes nothing: that unit is out of reach for good, and indexes after
                # this line are compared only with each other.
                if last_unit is not None and index + 1 - last_unit[0] <= _CONTEXT_SENTENCES:
                    index += len(_line_sentences(line, base, max_sentence_chars))
                continue
            for start, end in spans:
                index += 1
                k += 1
                pattern = patterns[k]
                if pattern is None:
                    continue  # no number: no claim, and no unit for the sentences after it
                sentence = sentences[k]
                context = None
                if last_unit is not None and index - last_unit[0] <= _CONTEXT_SENTENCES:
                    context = last_unit[1]
                found = _sentence_claims(sentence, context, pattern, may_attribute[k])
                for claim in found:
                    if claim.unit:
                        last_unit = (index, claim.unit)
                    offset = start + claim.offset
                    offsets.append(offset)
                    data["claim_id"].append(_claim_id(doc_id, start, offset))
                    data["doc_id"].append(doc_id)
                    data["sentence"].append(sentence)
                    data["start"].append(start)
                    data["end"].append(end)
                    data["quantity"].append(claim.quantity)
                    data["quantity_text"].append(claim.quantity_text)
                    data["qualifier"].append(claim.qualifier)
                    data["unit"].append(claim.unit)
                    data["source"].append(claim.source)
                    data["verb"].append(claim.verb)
                    data["extractor"].append(extractor)
                    data["run_id"].append(run_id)
    if not offsets:
        return empty(CLAIMS)
    frame = pl.DataFrame(data, schema=CLAIMS).with_columns(
        pl.Series("_offset", offsets, dtype=pl.Int64)
    )
    return frame.sort(["doc_id", "start", "_offset"]).drop("_offset")
