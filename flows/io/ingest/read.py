"""Read the files of an inbox into docs, quarantine rows and the file ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from flows.core.schema import QUARANTINE, RAW_DOCS
from flows.core.settings import IngestConfig
from flows.io.ingest.ledger import FILES_LEDGER, _ledger_row, _seen_index, _stamp_index
from flows.io.ingest.listing import file_uri, inbox_files
from flows.io.ingest.loading import _loader, suffix
from flows.io.ingest.readers import _read_file
from flows.io.ingest.rows import _Rows


@dataclass(frozen=True)
class IngestResult:
    """Hold the frames produced by reading an inbox.

    Attributes
    ----------
    docs : pl.DataFrame
        One row per readable record, schema RAW_DOCS.
    quarantine : pl.DataFrame
        One row per unreadable record or file, schema QUARANTINE (stage "ingest", run_id null).
    files : pl.DataFrame
        One row per input file, schema FILES_LEDGER.
    already_seen_records : int
        Records of the files skipped because their (source_uri, file_sha256) was in `seen`.
    """

    docs: pl.DataFrame
    quarantine: pl.DataFrame
    files: pl.DataFrame
    already_seen_records: int


def read_inbox(
    inbox: Path | str, config: IngestConfig, seen: pl.DataFrame | None = None
) -> IngestResult:
    """Read every input file of an inbox into RAW_DOCS and QUARANTINE frames.

    Parameters
    ----------
    inbox : Path or str
        The inbox folder (see `list_inbox` for what is read): a local path, a `file://` URL or
        another fsspec URL (`flows/io/location.py`).
    config : IngestConfig
        Size limit and accepted extensions.
    seen : pl.DataFrame, optional
        A previous ledger (columns source_uri, file_sha256, n_records). Files whose
        (source_uri, file_sha256) pair is in it are not read again.

    Returns
    -------
    IngestResult
        Docs, quarantine rows, the file ledger and the count of records skipped as seen.

    Raises
    ------
    InboxError
        When the inbox is missing or cannot be listed.
    ValueError
        When `seen` lacks one of the ledger columns.
    """
    return read_files(inbox, inbox_files(inbox, config), config, seen)


def read_files(
    inbox: Path | str,
    names: Sequence[str],
    config: IngestConfig,
    seen: pl.DataFrame | None = None,
) -> IngestResult:
    """Read some input files of an inbox (names from `inbox_files`), as `read_inbox` does.

    The files of an inbox can be read in shards, by separate processes: the shards' frames,
    concatenated in the order of the names, are those of reading all the names at once.
    """
    seen_counts = _seen_index(seen)
    stamps = _stamp_index(seen) if config.trust_file_stamps else {}
    extensions = {ext.lower() for ext in config.extensions}
    rows = _Rows(config)
    ledger: list[dict[str, Any]] = []
    already_seen = 0
    load = _loader(inbox, config, extensions)

    for name in names:
        uri = file_uri(name)
        loaded = load(name, stamps.get(uri, {}))
        if loaded.sha is not None and (uri, loaded.sha) in seen_counts:
            n_records = seen_counts[(uri, loaded.sha)]
            already_seen += n_records
            ledger.append(_ledger_row(uri, loaded.sha, n_records, "skipped_seen", loaded.stamp))
            continue
        before = len(rows)
        if loaded.failure is not None:
            failure = loaded.failure
            rows.reject(uri, failure.reason, failure.detail, failure.record)
        else:
            assert loaded.data is not None and loaded.sha is not None
            _read_file(uri, suffix(name), loaded.data, loaded.sha, rows)
        ledger.append(_ledger_row(uri, loaded.sha, len(rows) - before, "read", loaded.stamp))

    return IngestResult(
        docs=pl.DataFrame(rows.docs, schema=RAW_DOCS, orient="col"),
        quarantine=pl.DataFrame(rows.quarantine, schema=QUARANTINE),
        files=pl.DataFrame(ledger, schema=FILES_LEDGER),
        already_seen_records=already_seen,
    )
