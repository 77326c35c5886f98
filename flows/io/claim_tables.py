"""External claim tables dropped into the inbox's `claims/` folder (CSV, JSON lines, Parquet).

Claims extracted elsewhere (by a language model, by hand) join the built-in ones and pass the
same validation. A row names its article by `doc_id` or by `source_uri` (the article's inbox
path, as in `documents.source_uri`) and carries at least `sentence` and `quantity`; `start`,
`end`, `quantity_text`, `qualifier` (default `exact`), `unit`, `source`, `verb`, `claim_id`
and `extractor` (default `external:<file name>`) are optional. A file is read once: its
(path, sha256) goes to the `index/claim_files` ledger. A file above the size limit
(`IngestConfig.max_file_bytes`) or a symbolic link leading outside the inbox is refused whole,
unread, and also goes to the ledger (a link with a null sha256), so that it is refused once.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import polars as pl

from flows.core.run import FieldNotes
from flows.core.schema import EXTERNAL, QUARANTINE
from flows.core.settings import IngestConfig
from flows.core.timeline import history_counts
from flows.io.ingest import (
    SYMLINK_OUTSIDE,
    TOO_LARGE,
    hash_file,
    inbox_uri,
    outside_inbox,
    surrogate_at,
    too_large_detail,
)
from flows.io.location import is_local, local_path, remote_fs
from flows.io.store import lookup, table_files

CLAIMS_DIR = "claims"
CLAIM_FILES = "index/claim_files"  # the ledger table of claim files read
STAGE = "external_claims"
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
LEDGER = pl.Schema({"source_uri": pl.String, "file_sha256": pl.String, "n_records": pl.Int64})
_INTS = ("start", "end")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_STRINGS = ("doc_id", "sentence", "quantity_text", "qualifier", "unit", "source", "verb",
            "claim_id", "extractor")  # fmt: skip


@dataclass(frozen=True)
class ExternalClaims:
    """Rows read from the claim tables, rows refused while reading, and the file ledger."""

    rows: pl.DataFrame  # EXTERNAL
    quarantine: pl.DataFrame  # QUARANTINE
    files: pl.DataFrame  # LEDGER rows of the files read this run
    already_read: int  # records of files read by an earlier run

    @property
    def stats(self) -> ExternalClaimStats:
        """Return the figures of the read, as the run summary names them."""
        return ExternalClaimStats(self.rows.height + self.quarantine.height, self.already_read)


@dataclass(frozen=True)
class ExternalClaimStats(FieldNotes):
    """The figures of reading the claim tables, as the run summary names them."""

    external_claim_rows: int  # rows read this run: kept and quarantined
    external_claim_rows_already_read: int  # records of files read by an earlier run


class _Refused(Exception):
    """Signal a claim file refused whole without being read: reason, detail, its sha256."""

    def __init__(self, reason: str, detail: str, sha: str | None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.sha = sha


def read_claim_tables(
    inbox: Path | str,
    seen: pl.DataFrame | None = None,
    max_file_bytes: int = IngestConfig().max_file_bytes,
) -> ExternalClaims:
    """Read every claim table under `inbox/claims/` not already in the `seen` ledger.

    `inbox` is a local path, a `file://` URL or another fsspec URL (`flows/io/location.py`).
    A file above `max_file_bytes` is refused unread, as an inbox document is (`read_inbox`).
    """
    if not is_local(inbox):
        return _read_remote_claim_tables(str(inbox), seen, max_file_bytes)
    base = local_path(inbox)
    folder = base / CLAIMS_DIR
    paths = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    real = base.resolve()
    # a non-UTF-8 file name shows its bytes as \xNN
    files = [
        (inbox_uri(p, base), p.name, partial(_read_local, p, real, max_file_bytes)) for p in paths
    ]
    return _read_files(files, _known(seen))


def _read_local(path: Path, root: Path, limit: int) -> bytes:
    """Read a local claim file, refusing a link outside the (resolved) inbox `root`."""
    target = outside_inbox(path, root)
    if target is not None:  # not opened: its content is not the inbox's
        raise _Refused(SYMLINK_OUTSIDE, target, None)
    return _read_limited(partial(path.open, "rb"), path.stat().st_size, limit)


def _read_limited(open_file: Callable[[], BinaryIO], size: int, limit: int) -> bytes:
    """Read a file of `size` bytes, refusing it (hashed in chunks, never held) above `limit`."""
    if size > limit:
        raise _Refused(TOO_LARGE, too_large_detail(size, limit), hash_file(open_file))
    with open_file() as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:  # grew after the size was looked up
        raise _Refused(TOO_LARGE, too_large_detail(len(data), limit), hash_file(open_file))
    return data


def _read_remote_claim_tables(
    inbox: str, seen: pl.DataFrame | None, max_file_bytes: int
) -> ExternalClaims:
    """Read the claim tables of an fsspec inbox."""
    fs, root = remote_fs(inbox)
    folder = f"{root}/{CLAIMS_DIR}"
    paths = sorted(str(p) for p in fs.find(folder, withdirs=False)) if fs.isdir(folder) else []

    def read(path: str) -> bytes:
        size = int(fs.info(path).get("size") or 0)  # a store that does not tell: read caps it
        return _read_limited(partial(fs.open, path, "rb"), size, max_file_bytes)

    files = [(p[len(root) :].lstrip("/"), PurePosixPath(p).name, partial(read, p)) for p in paths]
    return _read_files(files, _known(seen))


def _known(seen: pl.DataFrame | None) -> dict[tuple[str, str | None], int]:
    """Map (source_uri, file_sha256) of the ledger to its record count (null: a refused link)."""
    if seen is None:
        return {}
    return {
        (u, s): n for u, s, n in seen.select("source_uri", "file_sha256", "n_records").iter_rows()
    }


def _read_files(
    files: Sequence[tuple[str, str, Callable[[], bytes]]],
    known: dict[tuple[str, str | None], int],
) -> ExternalClaims:
    """Read claim files given as (inbox-relative uri, file name, read its bytes)."""
    rows: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    ledger: list[tuple[str, str | None, int]] = []
    already = 0
    for uri, name, read in files:
        try:
            data = read()
        except _Refused as refused_file:  # one record: the file, refused whole
            if (uri, refused_file.sha) in known:
                already += known[(uri, refused_file.sha)]
                continue
            ledger.append((uri, refused_file.sha, 1))
            bad.append(_refusal(uri, refused_file.reason, refused_file.detail, None))
            continue
        except OSError as exc:
            bad.append(_refusal(uri, "unreadable:io_error", exc.strerror or str(exc), None))
            continue
        sha = hashlib.sha256(data).hexdigest()
        if (uri, sha) in known:
            already += known[(uri, sha)]
            continue
        records, refused = _records(uri, PurePosixPath(name).suffix.lower(), data)
        ledger.append((uri, sha, len(records) + len(refused)))
        for n, record in records:
            row, why = _claim_row(record, f"{uri}#{n}", name)
            if why is None:
                rows.append(row)
            else:
                refused.append(_refusal(f"{uri}#{n}", why[0], why[1], record))
        bad += refused
    return ExternalClaims(
        rows=pl.DataFrame(rows, schema=EXTERNAL),
        quarantine=pl.DataFrame(bad, schema=QUARANTINE),
        files=pl.DataFrame(ledger, schema=LEDGER, orient="row"),
        already_read=already,
    )


def _records(uri: str, ext: str, data: bytes) -> tuple[list[tuple[int, dict]], list[dict]]:
    """Parse a file into numbered records; a file or line that cannot be read is refused."""
    fmt = FORMATS.get(ext)
    if fmt is None:
        return [], [_refusal(uri, "unreadable:unsupported_format", f"extension {ext!r}", None)]
    try:
        if fmt == "csv":
            frame = pl.read_csv(io.BytesIO(data), infer_schema=False)
            return list(enumerate(frame.to_dicts(), 1)), []
        if fmt == "parquet":
            return list(enumerate(pl.read_parquet(io.BytesIO(data)).to_dicts(), 1)), []
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        return [], [_refusal(uri, f"unreadable:bad_{fmt}", str(exc)[:300], None)]
    records, refused = [], []
    for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            refused.append(_refusal(f"{uri}#{n}", "unreadable:malformed_json", str(exc), None))
            continue
        if isinstance(value, dict):
            records.append((n, value))
        else:
            refused.append(
                _refusal(f"{uri}#{n}", "unreadable:not_an_object", type(value).__name__, None)
            )
    return records, refused


def _claim_row(
    record: dict[str, Any], uri: str, file_name: str
) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """Type one record as an EXTERNAL row, or say why it cannot be (reason, detail)."""
    row: dict[str, Any] = {"source_uri": uri}
    for key in ("article_uri", *_STRINGS):  # article_uri: the row's own source_uri field
        row[key] = _text(record.get("source_uri" if key == "article_uri" else key))
        if row[key] is not None and surrogate_at(row[key]) is not None:
            # JSON allows a lone surrogate ("\ud800"); no polars/Parquet string can hold one.
            row[key] = None
            return row, ("schema:dtype", f"{key} holds a lone surrogate: not valid Unicode")
    for key in _INTS:
        value = record.get(key)
        try:
            row[key] = None if _blank(value) else int(str(value).strip())
        except ValueError:
            return row, ("schema:dtype", f"{key}={value!r} is not an integer")
        if row[key] is not None and not _INT64_MIN <= row[key] <= _INT64_MAX:
            row[key] = None  # the column is Int64: a larger value would fail the whole frame
            return row, ("schema:dtype", f"{key}={value!r} is out of the 64-bit integer range")
    value = record.get("quantity")
    try:
        row["quantity"] = None if _blank(value) else float(str(value).replace(",", ""))
    except ValueError:
        return row, ("schema:dtype", f"quantity={value!r} is not a number")
    if row["quantity"] is None or not math.isfinite(row["quantity"]):
        return row, ("schema:not_nullable", f"quantity={value!r}: a finite number is required")
    if not row["sentence"]:
        return row, ("schema:not_nullable", "sentence is missing")
    if row["doc_id"] is None and row["article_uri"] is None:
        return row, ("schema:not_nullable", "neither doc_id nor source_uri names the article")
    row["qualifier"] = row["qualifier"] or "exact"
    row["extractor"] = row["extractor"] or f"external:{file_name}"
    row["run_id"] = None
    return row, None


def history_articles(snapshot: Path | None, doc_ids: pl.Series, uris: pl.Series) -> pl.DataFrame:
    """Return the published articles that external rows name, with their text and date."""
    columns = {
        "doc_id": pl.String,
        "source_uri": pl.String,
        "clean_text": pl.String,
        "published_date": pl.Date,
    }
    files = table_files(snapshot, "articles")
    if not files or (doc_ids.len() == 0 and uris.len() == 0):
        return pl.DataFrame(schema=columns)
    wanted = pl.col("doc_id").is_in(doc_ids.implode()) | pl.col("source_uri").is_in(uris.implode())
    # articles of later runs have columns the earliest lack (replaced_bytes): ignore them
    scan = pl.scan_parquet(files, missing_columns="insert", extra_columns="ignore")
    return scan.select(list(columns)).filter(wanted).collect(engine="streaming")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str | None:
    return None if _blank(value) else str(value).strip()


def _refusal(uri: str, reason: str, detail: str, record: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "source_uri": uri,
        "stage": STAGE,
        "reason": reason,
        "detail": detail,
        "record": None if record is None else json.dumps(record, default=str)[:2000],
        "run_id": None,
    }


def history_timeline(
    snapshot: Path | None, days: pl.DataFrame, claim_ids: pl.Series
) -> pl.DataFrame | None:
    """Return the counts (`history_counts`) of earlier `claim_timeline` rows on these days.

    `days` holds this run's (`topic`, `published_date`) pairs; rows of `claim_ids` (this run's
    claims) are not counted.
    """
    files = table_files(snapshot, "claim_timeline")
    if not files or days.height == 0:
        return None
    rows = lookup(files, days, ["topic", "published_date"])
    return history_counts(rows, claim_ids).collect(engine="streaming")
