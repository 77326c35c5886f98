"""Column contracts of the frames that pass between stages and of the published tables."""

from __future__ import annotations

import polars as pl

# Output of ingest adapters (flows/io/ingest/): one row per readable input record.
# `raw_text` is decoded but not normalised; hints come from metadata (JSON fields, HTML meta,
# a ` date YYYY-MM-DD ` first line) and may be null.
RAW_DOCS = pl.Schema(
    {
        "source_uri": pl.String,  # input path, or "path#record" for JSONL/JSON/Parquet rows
        "source_format": pl.String,  # txt, md, jsonl, json, html, parquet
        "raw_text": pl.String,
        "title_hint": pl.String,  # from metadata; null for plain text
        "page_title": pl.String,  # an HTML page's <title> text (site name and all); else null
        "date_hint": pl.String,  # ISO date text from metadata or the date prefix; may be null
        "url": pl.String,
        "source": pl.String,  # the outlet, when known
        "file_sha256": pl.String,  # hash of the input file's bytes (ledger of seen files)
        # input bytes of the record that decoding replaced with U+FFFD (0 for clean input)
        "replaced_bytes": pl.Int64,
    }
)

# Quarantine rows (published table `quarantine`). Every rejected input record or row lands here.
QUARANTINE = pl.Schema(
    {
        "source_uri": pl.String,
        "stage": pl.String,  # ingest, normalise, boilerplate, dedup, claims, validate
        "reason": pl.String,  # snake_case: unreadable:<why>, empty_after_cleaning, schema:<check>
        "detail": pl.String,  # human-readable explanation with the failing values
        "record": pl.String,  # the offending record (JSON text or a preview), null if none
        "run_id": pl.String,
    }
)

# Published table `documents`: one row per ingested document, duplicates included.
DOCUMENTS = pl.Schema(
    {
        "doc_id": pl.String,
        "source_uri": pl.String,
        "source_format": pl.String,
        "source": pl.String,
        "url": pl.String,
        "title": pl.String,
        "published_date": pl.Date,
        "text": pl.String,  # normalised text, boilerplate included
        "clean_text": pl.String,  # boilerplate removed
        "n_chars": pl.Int64,
        # bytes of the input that decoding replaced with U+FFFD (invalid in its encoding)
        "replaced_bytes": pl.Int64,
        "boilerplate_ratio": pl.Float64,
        "is_boilerplate_heavy": pl.Boolean,
        "cluster_id": pl.String,
        "is_canonical": pl.Boolean,
        "duplicate_of": pl.String,
        "duplicate_kind": pl.String,  # exact, near, or null for canonicals
        "similarity": pl.Float64,  # estimated Jaccard to the canonical; null for canonicals
        # a much longer published text of the run holding >= containment.threshold of this
        # one's word 5-grams (an article inside a live blog); null when none
        "contained_in": pl.String,
        "containment": pl.Float64,  # that share; null with contained_in
        "status": pl.String,  # published (in `articles`) or duplicate
        "run_id": pl.String,
    }
)

# Published table `claims`.
CLAIMS = pl.Schema(
    {
        "claim_id": pl.String,
        "doc_id": pl.String,
        "sentence": pl.String,
        "start": pl.Int64,  # character span of the sentence in the document's clean_text
        "end": pl.Int64,
        "quantity": pl.Float64,
        "quantity_text": pl.String,
        "qualifier": pl.String,  # exact, approximate, at_least, more_than, at_most, up_to, nearly
        "unit": pl.String,
        "source": pl.String,  # who the claim is attributed to; null when the article asserts it
        "verb": pl.String,  # attribution verb (said, claimed, according to, ...)
        "extractor": pl.String,
        "run_id": pl.String,
    }
)
# Claim rows before grounding: CLAIMS plus where each row came from (external claim tables).
EXTERNAL = pl.Schema([*CLAIMS.items(), ("source_uri", pl.String), ("article_uri", pl.String)])

# Published table `boilerplate`: passages removed from documents.
BOILERPLATE = pl.Schema(
    {
        "doc_id": pl.String,
        "start": pl.Int64,
        "end": pl.Int64,
        "text": pl.String,
        "support": pl.Int64,  # number of distinct documents sharing a near-duplicate passage
        "signal": pl.String,  # what removed it: recurrence, or the single-page classifier
        "run_id": pl.String,
    }
)


def empty(schema: pl.Schema) -> pl.DataFrame:
    """Return an empty frame with the given schema."""
    return pl.DataFrame(schema=schema)
