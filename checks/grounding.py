"""Grounding of claim rows in their articles: the claim must be where it says it is.

A claim row (built-in or from an external claim table) is grounded when its `doc_id` is a
published article, its `sentence` is that article's clean text at `[start, end)` (or, for a row
without a span, occurs in it once white space is normalised; the span is then filled in), and
its `quantity` is written in the sentence (`quantity_text` is found there, or, without one, a
number of the sentence parses to the quantity). Rows that fail are quarantined with
`grounding:<check>` and the failing values; nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import math
import re

import polars as pl

from checks.quarantine import records_json
from flows.core.claims import parse_quantity
from flows.core.schema import QUARANTINE

UNKNOWN_DOC = "grounding:unknown_doc_id"
NOT_AT_SPAN = "grounding:sentence_not_at_span"
NOT_IN_TEXT = "grounding:sentence_not_in_text"
QUANTITY_MISSING = "grounding:quantity_not_in_sentence"

# Written numbers a sentence may carry: digits with separators and suffixes ("12,000", "1.5",
# "11k"), and runs of number words ("one million", "a couple of thousand").
_NUMBER_WORDS = (
    r"a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    r"eighty|ninety|hundred|thousand|million|billion|couple|dozen|few|of|and"
)
_NUMBER_RE = re.compile(
    r"\d[\d,.]*\s*(?:k|m|bn|million|billion|thousand)?\b"
    rf"|\b(?:{_NUMBER_WORDS})(?:[\s-]+(?:{_NUMBER_WORDS}))*\b",
    re.IGNORECASE,
)
_SPACE_RE = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip()


def _same_quantity(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def quantity_text_in(sentence: str, quantity: float) -> str | None:
    """Return the text of the first number in `sentence` that parses to `quantity`, if any."""
    for m in _NUMBER_RE.finditer(sentence):
        words = m.group(0).strip(" ,.-")
        # Longest prefix first: "12,000 troops" and "a couple of thousand" parse whole, while a
        # run of number words may carry a trailing "and" or "of".
        parts = words.split()
        for k in range(len(parts), 0, -1):
            candidate = " ".join(parts[:k]).strip(" ,.-")
            if candidate and _same_quantity(parse_quantity(candidate), quantity):
                return candidate
    return None


def _locate(text: str, sentence: str) -> tuple[int, int] | None:
    """Return the span of `sentence` in `text`, allowing any white space between its words."""
    exact = text.find(sentence)
    if exact >= 0:
        return exact, exact + len(sentence)
    words = sentence.split()
    if not words:
        return None
    m = re.search(r"\s+".join(map(re.escape, words)), text)
    return (m.start(), m.end()) if m else None


def resolve_doc_ids(rows: pl.DataFrame, paths: pl.DataFrame) -> pl.DataFrame:
    """Fill `doc_id` from `article_uri` for rows that name their article by path.

    `paths` maps an inbox path (`source_uri`) to the `doc_id` a claim about it belongs to.
    """
    by_uri = paths.select(article_uri="source_uri", _doc="doc_id").unique(
        "article_uri", keep="first"
    )
    return (
        rows.join(by_uri, on="article_uri", how="left", maintain_order="left")
        .with_columns(doc_id=pl.coalesce("doc_id", "_doc"))
        .drop("_doc")
    )


def ground_claims(
    claims: pl.DataFrame, articles: pl.DataFrame, *, stage: str = "claims"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Check that each claim row is written in its article; return (grounded, quarantine).

    Parameters
    ----------
    claims
        Claim rows with the CLAIMS columns; `start`, `end` and `quantity_text` may be null
        (external rows), and a `source_uri` column, when present, names the row's origin in
        quarantine rows.
    articles
        Published articles the claims may refer to: `doc_id`, `clean_text`.
    stage
        The quarantine `stage` of rejected rows.

    Returns
    -------
    tuple
        The grounded rows (same columns; spans and `quantity_text` filled in where they were
        null) and QUARANTINE rows for the others, with the first failing check as `reason`.
    """
    texts = dict(zip(articles["doc_id"].to_list(), articles["clean_text"].to_list(), strict=True))
    keep: list[bool] = []
    reasons: list[str | None] = []
    details: list[str | None] = []
    starts: list[int | None] = []
    ends: list[int | None] = []
    quantity_texts: list[str | None] = []
    for row in claims.iter_rows(named=True):
        reason, detail, span, qtext = _check(row, texts)
        keep.append(reason is None)
        reasons.append(reason)
        details.append(detail)
        starts.append(span[0] if span else row["start"])
        ends.append(span[1] if span else row["end"])
        quantity_texts.append(qtext if qtext is not None else row["quantity_text"])
    filled = claims.with_columns(
        start=pl.Series(starts, dtype=claims.schema["start"]),
        end=pl.Series(ends, dtype=claims.schema["end"]),
        quantity_text=pl.Series(quantity_texts, dtype=pl.String),
    )
    mask = pl.Series(keep, dtype=pl.Boolean)
    bad = claims.filter(~mask)
    uri = bad["source_uri"] if "source_uri" in bad.columns else bad["doc_id"]
    quarantine = pl.DataFrame(
        {
            "source_uri": uri.cast(pl.String),
            "stage": [stage] * bad.height,
            "reason": [r for r, k in zip(reasons, keep, strict=True) if not k],
            "detail": [d for d, k in zip(details, keep, strict=True) if not k],
            "record": records_json(bad) if bad.height else [],
            "run_id": bad["run_id"] if "run_id" in bad.columns else [None] * bad.height,
        },
        schema=QUARANTINE,
    )
    return filled.filter(mask), quarantine


def _check(
    row: dict, texts: dict[str, str]
) -> tuple[str | None, str | None, tuple[int, int] | None, str | None]:
    """Return (reason, detail, span found, quantity text found) for one claim row."""
    doc_id, sentence = row["doc_id"], row["sentence"] or ""
    text = texts.get(doc_id) if doc_id is not None else None
    if text is None:
        return UNKNOWN_DOC, f"doc_id={doc_id!r} is not a published article", None, None
    span = None
    start, end = row["start"], row["end"]
    if start is not None and end is not None:
        piece = text[start:end]
        # equal strings need no squashing (most rows: the extractor copies its sentence)
        if not sentence.strip() or (piece != sentence and _squash(piece) != _squash(sentence)):
            return (
                NOT_AT_SPAN,
                f"text[{start}:{end}]={_clip(piece)!r} is not sentence={_clip(sentence)!r}",
                None,
                None,
            )
    else:
        span = _locate(text, sentence) if sentence.strip() else None
        if span is None:
            return NOT_IN_TEXT, f"sentence={_clip(sentence)!r} not in doc_id={doc_id}", None, None
    quantity, qtext = row["quantity"], row["quantity_text"]
    if qtext:
        ok = qtext in sentence and _same_quantity(parse_quantity(qtext), quantity)
        found = qtext if ok else None
    else:
        found = quantity_text_in(sentence, quantity) if quantity is not None else None
    if found is None:
        return (
            QUANTITY_MISSING,
            f"quantity={quantity!r} (quantity_text={qtext!r}) not written in "
            f"sentence={_clip(sentence)!r}",
            None,
            None,
        )
    return None, None, span, found if not qtext else None


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def claim_id() -> pl.Expr:
    """Return the given claim_id, else a stable id from the article, sentence, quantity, source."""
    parts = [pl.col(c).cast(pl.String).fill_null("") for c in ("doc_id", "sentence", "quantity")]
    key = pl.concat_str([*parts, pl.col("source").fill_null("")], separator="\x1f")
    derived = key.map_elements(
        lambda k: "x" + hashlib.blake2b(k.encode(), digest_size=8).hexdigest(),
        return_dtype=pl.String,
    )
    return pl.coalesce(pl.col("claim_id"), derived)
