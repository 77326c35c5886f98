"""Keep the ledger of the files a run looked at, so that later runs skip unchanged ones."""

from __future__ import annotations

from typing import Any

import polars as pl

# Ledger of the files looked at in one run; pass it back as `seen` to skip unchanged files.
FILES_LEDGER = pl.Schema(
    {
        "source_uri": pl.String,  # inbox-relative POSIX path of the file
        "file_sha256": pl.String,  # null only when the file could not be opened at all
        "n_records": pl.Int64,  # docs + quarantine rows that came from the file
        "outcome": pl.String,  # read | skipped_seen
        # "size:mtime_ns:ctime_ns:device:inode" of a local file when it was looked at, as git
        # stamps its index: a later run skips a file with the same stamp unread
        # (`IngestConfig.trust_file_stamps`). Null on fsspec stores, in ledgers written before
        # the column, and for files modified less than `RACY_NS` before they were looked at
        # (a same-size rewrite within one timestamp tick would keep the stamp).
        "file_stamp": pl.String,
    }
)


def _seen_index(seen: pl.DataFrame | None) -> dict[tuple[str, str], int]:
    """Map (source_uri, file_sha256) of a previous ledger to its record count."""
    if seen is None:
        return {}
    needed = ("source_uri", "file_sha256", "n_records")
    missing = [c for c in needed if c not in seen.columns]
    if missing:
        raise ValueError(f"seen ledger lacks column(s) {missing}; expected {list(needed)}")
    index: dict[tuple[str, str], int] = {}
    for uri, sha, n_records in seen.select(needed).iter_rows():
        if uri is not None and sha is not None:
            index[(uri, sha)] = int(n_records or 0)
    return index


def _stamp_index(seen: pl.DataFrame | None) -> dict[str, dict[str, str]]:
    """Map source_uri to {file_stamp: file_sha256} of a previous ledger (unambiguous ones)."""
    columns = ("source_uri", "file_stamp", "file_sha256")
    if seen is None or not set(columns) <= set(seen.columns):
        return {}
    rows = (
        seen.select(columns)
        .drop_nulls()
        .unique()
        .filter(pl.len().over("source_uri", "file_stamp") == 1)
    )
    index: dict[str, dict[str, str]] = {}
    for uri, file_stamp, sha in rows.iter_rows():
        index.setdefault(uri, {})[file_stamp] = sha
    return index


def ledger_updates(files: pl.DataFrame, seen: pl.DataFrame | None) -> pl.DataFrame:
    """Return the ledger rows a run publishes: files it read, and new stamps of files it skipped.

    A file skipped as seen (same bytes) whose stamp changed, e.g. touched or copied again, gets
    its new stamp recorded, so that later runs skip it unread again.
    """
    known = (
        pl.DataFrame(schema={"source_uri": pl.String, "file_stamp": pl.String})
        if seen is None or "file_stamp" not in seen.columns
        else seen.select("source_uri", "file_stamp").drop_nulls()
    )
    restamped = files.filter(
        (pl.col("outcome") == "skipped_seen") & pl.col("file_stamp").is_not_null()
    ).join(known, on=["source_uri", "file_stamp"], how="anti")
    return pl.concat([files.filter(pl.col("outcome") == "read"), restamped])


def _ledger_row(
    uri: str, sha: str | None, n_records: int, outcome: str, stamp: str | None
) -> dict[str, Any]:
    """Build one ledger row."""
    return {
        "source_uri": uri,
        "file_sha256": sha,
        "n_records": n_records,
        "outcome": outcome,
        "file_stamp": stamp,
    }
