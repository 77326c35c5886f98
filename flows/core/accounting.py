"""The run summary's accounting of every input record."""

from __future__ import annotations

from typing import Any

import polars as pl

from flows.core.errors import AccountingError

# Stages whose quarantine rows are whole input records (claims are parts of a document).
DOCUMENT_STAGES = ("ingest", "normalise", "boilerplate", "validate")


def account(
    *,
    records_read: int,
    skipped_records: int,
    known_docs: int,
    documents: pl.DataFrame,
    quarantine: pl.DataFrame,
) -> dict[str, int]:
    """Count the outcome of every input record of a run.

    Parameters
    ----------
    records_read
        Records found in the files read this run (documents and unreadable records).
    skipped_records
        Records of files skipped unread because an earlier run took the same file.
    known_docs
        Records read that an earlier run already published or quarantined.
    documents
        This run's documents rows (`status`: published or duplicate).
    quarantine
        This run's quarantine rows (all stages).

    Returns
    -------
    dict[str, int]
        `inputs`, `already_ingested`, `ingested`, `published`, `duplicates`, `quarantined`,
        `boilerplate_heavy`, `claims_quarantined`, `replaced_bytes` (input bytes of the
        documents that decoding replaced with U+FFFD) and `documents_with_replaced_bytes`
        (documents rows with any). `check_identity` verifies that
        `ingested == published + duplicates + quarantined`.
    """
    published = documents.filter(pl.col("status") == "published").height
    duplicates = documents.filter(pl.col("status") == "duplicate").height
    doc_quarantine = quarantine.filter(pl.col("stage").is_in(DOCUMENT_STAGES)).height
    replaced = documents.get_column("replaced_bytes", default=pl.Series([], dtype=pl.Int64))
    return {
        "inputs": records_read + skipped_records,
        "already_ingested": skipped_records + known_docs,
        "ingested": records_read - known_docs,
        "published": published,
        "duplicates": duplicates,
        "quarantined": doc_quarantine,
        "boilerplate_heavy": documents.filter(
            pl.col("is_boilerplate_heavy") & (pl.col("status") == "published")
        ).height,
        "claims_quarantined": quarantine.height - doc_quarantine,
        "replaced_bytes": int(replaced.sum()),
        "documents_with_replaced_bytes": int((replaced > 0).sum()),
    }


def quarantine_by_reason(quarantine: pl.DataFrame) -> dict[str, int]:
    """Count quarantine rows per reason, most frequent first."""
    if quarantine.height == 0:
        return {}
    counts = quarantine.group_by("reason").len().sort(["len", "reason"], descending=[True, False])
    return {str(r): int(n) for r, n in counts.iter_rows()}


def check_identity(counts: dict[str, Any]) -> None:
    """Raise AccountingError when the accounting identity does not hold (a bug, never data)."""
    lhs = counts["ingested"]
    rhs = counts["published"] + counts["duplicates"] + counts["quarantined"]
    if lhs != rhs:
        raise AccountingError(
            f"records unaccounted for: ingested {lhs} != published {counts['published']} + "
            f"duplicates {counts['duplicates']} + quarantined {counts['quarantined']}; "
            "nothing was published"
        )
