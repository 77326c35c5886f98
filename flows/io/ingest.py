"""Read the files of an inbox folder into RAW_DOCS rows, and unreadable inputs into QUARANTINE rows.

Accounting: each input record (a text/HTML file, a JSONL line, a JSON array item, a Parquet row,
or a whole file that cannot be split into records) lands in exactly one of the two frames. Source
files are opened read-only and never modified, moved or deleted.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import io
import json
import os
import re
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from html import unescape
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import polars as pl
import trafilatura
from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio
from polars.exceptions import PanicException

from flows.core.errors import InboxError
from flows.core.schema import QUARANTINE, RAW_DOCS
from flows.core.settings import IngestConfig
from flows.io.charsets import codec_for_label, decode_marked, marked_bytes, mend
from flows.io.location import is_local, local_path, remote_fs

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

STAGE = "ingest"
RACY_NS = 2_000_000_000
# Top-level folders of the inbox that hold no articles (external claim tables live in claims/).
RESERVED_DIRS = frozenset({"claims"})

# Quarantine reasons of this stage.
UNSUPPORTED = "unreadable:unsupported_format"
TOO_LARGE = "unreadable:too_large"
EMPTY = "unreadable:empty"
BINARY = "unreadable:binary"
UNDECODABLE = "unreadable:undecodable"
MALFORMED_JSON = "unreadable:malformed_json"
MISSING_TEXT = "unreadable:missing_text"
NO_MAIN_TEXT = "unreadable:no_main_text"
HTML_PARSE_ERROR = "unreadable:html_parse_error"
BAD_PARQUET = "unreadable:bad_parquet"
IO_ERROR = "unreadable:io_error"
NOT_A_FILE = "unreadable:not_a_file"
SYMLINK_OUTSIDE = "unreadable:symlink_outside_inbox"

# Record fields, first match wins.
TEXT_FIELDS = ("text", "body", "content")
TITLE_FIELDS = ("title",)
DATE_FIELDS = ("date", "published_date", "published")
URL_FIELDS = ("url",)
SOURCE_FIELDS = ("source",)

RECORD_MAX_CHARS = 2_000  # offending record text kept in quarantine.record
PREVIEW_CHARS = 200  # preview of a whole file that failed
_HASH_CHUNK = 1 << 20

# Byte-order marks that identify UTF-32/UTF-16 (UTF-32 first: its LE mark starts with UTF-16's).
_UTF_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Western European legacy text: charset-normalizer often ranks cp1250 first on English or
# French text whose decoding is identical or equally clean in cp1252 ("crème" -> "crčme").
_PREFERRED_LEGACY = "cp1252"
# C0 control bytes other than whitespace and ESC: text in any 8-bit encoding has almost none,
# binary data has ~11%. Non-UTF-8 bytes with more than this share are binary, not text.
_CONTROL_BYTES = bytes(b for b in range(0x20) if b not in b"\t\n\v\f\r\x1b") + b"\x7f"
_MAX_CONTROL_SHARE = 0.01
# A page's own declaration of its encoding (HTML prescan, XML declaration).
# A page's <title>, looked for in its first characters (a <head> rarely runs longer).
_TITLE_ELEMENT = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.S | re.I)
_TITLE_SCAN_CHARS = 65_536
_TAG = re.compile(r"<[^>]*>")
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_META_CHARSET = re.compile(r"<meta\b[^>]*?\bcharset\s*=\s*[\"']?\s*([^\s\"'/;>]+)", re.I)
_XML_ENCODING = re.compile(r"\s*<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([^\"']+)[\"']", re.I)

_JSON_TYPES: dict[type, str] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}

Row = dict[str, str | None]


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


class _Unreadable(Exception):
    """Signal that a file cannot be split into records."""

    def __init__(self, reason: str, detail: str, record: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.record = record


@dataclass
class _Rows:
    """Collect doc and quarantine rows as plain dicts."""

    config: IngestConfig
    docs: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[Row] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.docs) + len(self.quarantine)

    def doc(
        self,
        uri: str,
        fmt: str,
        text: str,
        sha: str,
        hints: Mapping[str, str | None],
        replaced: int = 0,
    ) -> None:
        """Add a readable record (a text that is not valid Unicode is quarantined instead).

        `replaced` counts the record's input bytes that decoding replaced with U+FFFD.
        """
        bad = surrogate_at(text)
        if bad is not None:
            detail = f"text holds a lone surrogate U+{ord(text[bad]):04X} at character {bad}"
            self.reject(uri, UNDECODABLE, detail, _clip(text))
            return
        self.docs.append(
            {
                "source_uri": uri,
                "source_format": fmt,
                "raw_text": text,
                "title_hint": _utf8_safe(hints.get("title")),
                "page_title": _utf8_safe(hints.get("page_title")),
                "date_hint": _utf8_safe(hints.get("date")),
                "url": _utf8_safe(hints.get("url")),
                "source": _utf8_safe(hints.get("source")),
                "file_sha256": sha,
                "replaced_bytes": replaced,
            }
        )

    def reject(self, uri: str, reason: str, detail: str, record: str | None = None) -> None:
        """Add a quarantine row."""
        self.quarantine.append(
            {
                "source_uri": uri,
                "stage": STAGE,
                "reason": reason,
                "detail": _utf8_safe(detail),
                "record": _utf8_safe(None if record is None else mend(record)[0]),
                "run_id": None,
            }
        )


@dataclass(frozen=True)
class _Loaded:
    """Hold a file's hash and bytes, or why it cannot be read."""

    sha: str | None
    data: bytes | None = None
    failure: _Unreadable | None = None
    stamp: str | None = None  # FILES_LEDGER `file_stamp` of a local file


def list_inbox(inbox: Path, config: IngestConfig) -> list[Path]:
    """List the input files of an inbox, sorted by their inbox-relative path.

    Walks the folder recursively. Hidden files and folders (name starting with ".") and the
    top-level ``claims/`` folder are skipped. Files of every extension are listed: those not in
    ``config.extensions`` are quarantined by `read_inbox`, so that nothing is silently dropped.
    Symbolic links to folders are not followed.

    Parameters
    ----------
    inbox : Path
        The inbox folder.
    config : IngestConfig
        Ingest limits; the listing itself does not depend on them.

    Returns
    -------
    list[Path]
        Paths under `inbox`, sorted by inbox-relative POSIX path.

    Raises
    ------
    InboxError
        When `inbox` is missing, is not a folder, or a folder in it cannot be listed.
    """
    del config  # same signature as read_inbox; listing is extension-agnostic
    if not inbox.exists():
        raise InboxError(f"inbox folder not found: {inbox}")
    if not inbox.is_dir():
        raise InboxError(f"inbox is not a folder: {inbox}")

    def fail(exc: OSError) -> None:
        raise InboxError(f"cannot list inbox folder {exc.filename}: {exc.strerror or exc}") from exc

    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(inbox, onerror=fail):
        here = Path(dirpath)
        at_top = here == inbox
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and not (at_top and d in RESERVED_DIRS)
        )
        found.extend(here / name for name in filenames if not name.startswith("."))
    return sorted(found, key=lambda p: p.relative_to(inbox).as_posix())


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


def inbox_files(inbox: Path | str, config: IngestConfig) -> list[str]:
    """List an inbox's input files as inbox-relative POSIX paths, sorted (see `list_inbox`).

    The names are those to give `read_files` (a non-UTF-8 local name keeps its surrogate
    escapes; `inbox_uri` makes the published `source_uri` of it).
    """
    if is_local(inbox):
        folder = local_path(inbox)
        return [p.relative_to(folder).as_posix() for p in list_inbox(folder, config)]
    return _list_remote(str(inbox))


def file_sizes(inbox: Path | str, names: Sequence[str]) -> list[int | None]:
    """Return the size in bytes of each inbox file (None where unknown: remote, or gone)."""
    if not is_local(inbox):
        return [None] * len(names)
    folder = local_path(inbox)
    out: list[int | None] = []
    for name in names:
        try:
            out.append((folder / name).stat().st_size)
        except OSError:  # reading it will say what is wrong
            out.append(None)
    return out


def file_uri(name: str) -> str:
    """Return the `source_uri` of an inbox-relative name from `inbox_files` (valid UTF-8)."""
    if surrogate_at(name) is None:
        return name
    return os.fsencode(name).decode("utf-8", "backslashreplace")


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
            _read_file(uri, PurePosixPath(name).suffix.lower(), loaded.data, loaded.sha, rows)
        ledger.append(_ledger_row(uri, loaded.sha, len(rows) - before, "read", loaded.stamp))

    return IngestResult(
        docs=pl.DataFrame(rows.docs, schema=RAW_DOCS),
        quarantine=pl.DataFrame(rows.quarantine, schema=QUARANTINE),
        files=pl.DataFrame(ledger, schema=FILES_LEDGER),
        already_seen_records=already_seen,
    )


def _loader(
    inbox: Path | str, config: IngestConfig, extensions: set[str]
) -> Callable[[str, dict[str, str]], _Loaded]:
    """Return a function loading one inbox-relative name, from the local disk or fsspec."""
    if is_local(inbox):
        folder = local_path(inbox)
        real = folder.resolve()
        inside = _folder_check(folder, real)
        return lambda name, known: _load(
            folder / name, config, extensions, real, known, inside(name.rpartition("/")[0])
        )
    fs, root = remote_fs(str(inbox))
    # fsspec stores report modification times in their own ways (or not): always hash
    return lambda name, known: _load_remote(fs, f"{root}/{name}", config, extensions)


def _list_remote(inbox: str) -> list[str]:
    """List an fsspec inbox as `list_inbox` lists a local one (hidden names, claims/ skipped)."""
    fs, root = remote_fs(inbox)
    try:
        if not fs.exists(root):
            raise InboxError(f"inbox folder not found: {inbox}")
        if not fs.isdir(root):
            raise InboxError(f"inbox is not a folder: {inbox}")
        found = fs.find(root, withdirs=False)
    except OSError as exc:
        raise InboxError(f"cannot list inbox folder {inbox}: {exc.strerror or exc}") from exc
    names = []
    for full in found:
        name = str(full)[len(root) :].lstrip("/")
        parts = name.split("/")
        if any(p.startswith(".") for p in parts):
            continue
        if len(parts) > 1 and parts[0] in RESERVED_DIRS:
            continue
        names.append(name)
    return sorted(names)


# --- files -------------------------------------------------------------------------------------


def inbox_uri(path: Path, inbox: Path) -> str:
    """Return a file's inbox-relative POSIX path as valid UTF-8.

    A file name that is not UTF-8 comes from the OS with lone surrogates ("surrogateescape"),
    which no polars/Parquet string can hold: its undecodable bytes are written as \\xNN.
    """
    return file_uri(path.relative_to(inbox).as_posix())


def surrogate_at(text: str) -> int | None:
    """Return the index of the first lone surrogate in text (not encodable as UTF-8), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def _utf8_safe(text: str | None) -> str | None:
    """Write lone surrogates (JSON allows "\\ud800") as escapes, so that polars can store text."""
    if text is None or surrogate_at(text) is None:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


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


def _folder_check(folder: Path, root: Path) -> Callable[[str], bool]:
    """Return a cached test of whether a sub-folder of `folder` resolves inside `root`.

    The test takes the sub-folder's inbox-relative POSIX name ("" for `folder` itself).
    """

    @functools.cache
    def inside(relative: str) -> bool:
        try:
            return (folder / relative).resolve().is_relative_to(root)
        except (OSError, RuntimeError):  # `outside_inbox` says why
            return False

    return inside


def _load(
    path: Path,
    config: IngestConfig,
    extensions: set[str],
    root: Path,
    known: dict[str, str] | None = None,
    in_inbox_folder: bool = False,
) -> _Loaded:
    """Stat, hash and (when it is small enough and supported) read a local file under `root`.

    `known` maps the stamps earlier runs' ledgers recorded for the file to its sha256 then; a
    file whose stamp is among them is not opened, and that sha256 is returned.
    `in_inbox_folder` says that the file's folder resolves inside `root` (`_folder_check`): a
    file there that is no link is not resolved (resolving every file was 29% of ingest).
    """
    try:
        info = path.lstat()
        linked = stat.S_ISLNK(info.st_mode)
        if linked:
            info = path.stat()
    except OSError as exc:
        return _Loaded(None, failure=_Unreadable(IO_ERROR, f"cannot stat the file: {_os_why(exc)}"))
    if linked or not in_inbox_folder:
        target = outside_inbox(path, root)
        if target is not None:  # not opened: its content is not the inbox's to publish
            return _Loaded(None, failure=_Unreadable(SYMLINK_OUTSIDE, target))
    if not stat.S_ISREG(info.st_mode):
        return _Loaded(
            None, failure=_Unreadable(NOT_A_FILE, "not a regular file (a FIFO, socket or device)")
        )
    stamp = None
    if time.time_ns() - info.st_mtime_ns >= RACY_NS:
        stamp = ":".join(
            str(v)
            for v in (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_dev, info.st_ino)
        )
    if stamp is not None and known and stamp in known:
        return _Loaded(known[stamp], stamp=stamp)
    loaded = _load_bytes(
        path.suffix.lower(), info.st_size, lambda: path.open("rb"), config, extensions
    )
    return replace(loaded, stamp=stamp)


def _load_remote(fs: Any, path: str, config: IngestConfig, extensions: set[str]) -> _Loaded:
    """Look up, hash and (when small enough and supported) read a file of an fsspec store."""
    try:
        info = fs.info(path)
    except OSError as exc:
        return _Loaded(None, failure=_Unreadable(IO_ERROR, f"cannot stat the file: {_os_why(exc)}"))
    if info.get("type") != "file":
        return _Loaded(None, failure=_Unreadable(NOT_A_FILE, f"not a file ({info.get('type')})"))
    size = int(info.get("size") or 0)  # a store that does not tell is caught by the read below
    return _load_bytes(
        PurePosixPath(path).suffix.lower(), size, lambda: fs.open(path, "rb"), config, extensions
    )


def _load_bytes(
    ext: str,
    size: int,
    open_file: Callable[[], BinaryIO],
    config: IngestConfig,
    extensions: set[str],
) -> _Loaded:
    """Hash and (when it is small enough and supported) read a file of `size` bytes."""
    limit = config.max_file_bytes
    try:
        if ext not in extensions or ext not in _READERS:
            why = "no extension" if not ext else f"extension {ext!r}"
            detail = f"{why} is not one of the accepted {sorted(extensions & set(_READERS))}"
            return _Loaded(hash_file(open_file), failure=_Unreadable(UNSUPPORTED, detail))
        if size > limit:
            return _Loaded(hash_file(open_file), failure=_too_large(size, limit))
        with open_file() as handle:
            # Read what stat promised plus one byte, not `limit + 1`: a buffer of the limit for
            # every small file cost 2 of 3 s of reading the 34,173-page syndication inbox.
            data = handle.read(size + 1)
            if len(data) > size:  # grew after stat: read on, up to the limit
                data += handle.read(limit + 1 - len(data))
        if len(data) > limit:  # grew after stat
            return _Loaded(hash_file(open_file), failure=_too_large(len(data), limit))
    except OSError as exc:
        return _Loaded(None, failure=_Unreadable(IO_ERROR, f"cannot read the file: {_os_why(exc)}"))
    return _Loaded(hashlib.sha256(data).hexdigest(), data=data)


def outside_inbox(path: Path, root: Path) -> str | None:
    """Say where `path` points when a symbolic link takes it outside `root` (a resolved folder).

    Returns None for a path that stays inside `root` (a link to another inbox file included).
    """
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a link loop (Python < 3.13)
        return f"symbolic link that cannot be resolved: {exc}"
    if resolved.is_relative_to(root):
        return None
    where = os.fsencode(resolved).decode("utf-8", "backslashreplace")  # keep it valid UTF-8
    return f"symbolic link to {where}, outside the inbox folder"


def hash_file(open_file: Callable[[], BinaryIO]) -> str:
    """Hash a file in chunks, without holding it in memory."""
    digest = hashlib.sha256()
    with open_file() as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _too_large(size: int, limit: int) -> _Unreadable:
    """Describe a file above the size limit."""
    return _Unreadable(TOO_LARGE, too_large_detail(size, limit))


def too_large_detail(size: int, limit: int) -> str:
    """Name the size of a file above the limit, and the limit."""
    return f"file is {size:,} bytes, above the {limit:,}-byte limit (max_file_bytes)"


def _os_why(exc: OSError) -> str:
    """Return the operating system's reason for an error."""
    return exc.strerror or str(exc)


def _read_file(uri: str, ext: str, data: bytes, sha: str, rows: _Rows) -> None:
    """Read one supported file into rows, quarantining it as a whole when it cannot be split."""
    try:
        if not data:
            raise _Unreadable(EMPTY, "file is empty (0 bytes)")
        _READERS[ext](uri, data, sha, rows)
    except _Unreadable as failure:
        rows.reject(uri, failure.reason, failure.detail, failure.record)


# --- decoding ----------------------------------------------------------------------------------


def _decode(data: bytes, config: IngestConfig, markup: bool = False) -> str:
    """Decode bytes to text as a browser would, with markers for replaced bytes (see `mend`).

    In order: a UTF-16/32 byte-order mark (strict, as the mark leaves no doubt); a UTF-8 one;
    UTF-8 when the bytes decode; for markup, a `<meta charset>` / http-equiv or XML
    declaration in the first `config.declaration_bytes` (WHATWG labels); UTF-8 when the bytes
    decode but for a few corrupt sequences among valid non-ASCII ones; else
    charset-normalizer's guess. Invalid sequences
    are replaced (one marker each) when at most `config.max_replaced_share` of the bytes are.

    Binary: NUL bytes (outside UTF-16/32), or non-UTF-8 bytes with many control codes.
    Undecodable: a BOM contradicted by the bytes, or text that no encoding decodes with few
    enough replaced bytes.
    """
    for bom, encoding in _UTF_BOMS:
        if data.startswith(bom):
            text = _strict_decode(data, encoding, f"{encoding.upper()} byte-order mark")
            if "\x00" in text:
                raise _Unreadable(BINARY, f"{encoding.upper()} text holds NUL characters: binary")
            return text
    nul = data.find(b"\x00")
    if nul >= 0:
        raise _Unreadable(BINARY, f"NUL byte at offset {nul}: binary data, not text")
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    body = data[bom:]
    try:
        strict: str | None = body.decode("utf-8")
        not_utf8 = ""
    except UnicodeDecodeError as exc:
        strict = None
        not_utf8 = f"not UTF-8 (invalid byte at offset {bom + exc.start})"
        controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
        if controls > _MAX_CONTROL_SHARE * len(data):
            raise _Unreadable(
                BINARY, f"{not_utf8} and {controls} control bytes: binary data, not text"
            ) from None
    if bom:
        if strict is not None:
            return strict
        return _lenient(body, "utf-8", config, f"UTF-8 byte-order mark, but {not_utf8}")
    if strict is not None:
        # Before any declaration: pages saved again as UTF-8 keep their old `<meta charset>`
        # (23 of the 451 pages of ../shared's news corpora declare iso-8859-1 and are valid
        # UTF-8), while legacy text with non-ASCII bytes is practically never valid UTF-8.
        return strict
    declared = _declared_codec(data, config.declaration_bytes) if markup else None
    if declared is not None:
        codec, label = declared
        text = _within_limit(body, codec, config)
        if text is not None:
            return text
        not_utf8 += f"; declared {label!r} leaves too many invalid bytes"
    valid_non_ascii, invalid = _utf8_tally(body)
    if valid_non_ascii > invalid:  # UTF-8 with corrupt bytes: a legacy guess would be mojibake
        return _lenient(
            body, "utf-8", config, f"{not_utf8}: UTF-8 text with {invalid} invalid byte sequence(s)"
        )
    guessed = _guess_encoding(data, config.legacy_chaos_margin)
    if guessed is None:
        raise _Unreadable(
            UNDECODABLE,
            f"{not_utf8}, and no other encoding gives plausible text",
            _preview(body, "utf-8"),
        )
    return _lenient(data, guessed, config, f"{not_utf8}; guessed encoding {guessed}")


def _within_limit(data: bytes, codec: str, config: IngestConfig) -> str | None:
    """Decode with replacement markers, or None when too many bytes are replaced."""
    try:
        text = decode_marked(data, codec)
    except LookupError:
        return None
    if marked_bytes(text) > config.max_replaced_share * len(data):
        return None
    return text


def _lenient(data: bytes, codec: str, config: IngestConfig, why: str) -> str:
    """Decode with replacement markers; quarantine when too many bytes are replaced."""
    text = _within_limit(data, codec, config)
    if text is None:
        replaced = marked_bytes(decode_marked(data, codec))
        raise _Unreadable(
            UNDECODABLE,
            f"{why}: {replaced} of {len(data)} bytes would be replaced, above the "
            f"{config.max_replaced_share:.1%} limit (max_replaced_share)",
            _preview(data, codec),
        )
    return text


def _preview(data: bytes, codec: str) -> str:
    """Return the start of bytes decoded with replacement, for a quarantine record."""
    return mend(decode_marked(data[: PREVIEW_CHARS * 4], codec))[0][:PREVIEW_CHARS]


def _declared_codec(data: bytes, limit: int) -> tuple[str, str] | None:
    """Return the codec and label that a page's first bytes declare, if a known one.

    A `<meta charset>` or `<meta http-equiv="Content-Type" content="...; charset=...">` outside
    comments first, as the WHATWG prescan finds it; else an XML declaration's encoding.
    """
    head = data[:limit].decode("latin-1")
    found = _META_CHARSET.search(_COMMENT.sub("", head))
    if found is None:
        found = _XML_ENCODING.match(head)
    if found is None:
        return None
    label = found.group(1)
    codec = codec_for_label(label)
    return None if codec is None else (codec, label)


def _utf8_tally(data: bytes) -> tuple[int, int]:
    """Count valid non-ASCII characters and invalid sequences when reading bytes as UTF-8."""
    text = data.decode("utf-8", "replace")
    invalid = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return non_ascii - invalid, invalid


def _strict_decode(data: bytes, encoding: str, why: str) -> str:
    """Decode with one encoding, quarantining on the first invalid byte."""
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        where = f" at byte {exc.start}" if isinstance(exc, UnicodeDecodeError) else ""
        try:
            preview: str | None = data[: PREVIEW_CHARS * 4].decode(encoding, "replace")
        except LookupError:
            preview = None
        raise _Unreadable(
            UNDECODABLE,
            f"{why}, but decoding fails{where}: {exc}",
            preview[:PREVIEW_CHARS] if preview is not None else None,
        ) from exc


def _guess_encoding(data: bytes, margin: float = 0.0) -> str | None:
    """Return charset-normalizer's best encoding, preferring cp1252 among equally clean ones.

    cp1252 as a browser decodes it (C1 gaps filled) also wins when its decoding is within
    `margin` of the best one's chaos.
    """
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        if match.chaos <= best.chaos and _PREFERRED_LEGACY in match.could_be_from_charset:
            return _PREFERRED_LEGACY
    if margin > 0 and best.encoding != _PREFERRED_LEGACY:
        western = decode_marked(data, _PREFERRED_LEGACY)
        if not marked_bytes(western) and mess_ratio(western, 1.0) <= best.chaos + margin:
            return _PREFERRED_LEGACY
    return best.encoding


def _decode_nonblank(data: bytes, config: IngestConfig, markup: bool = False) -> str:
    """Decode a file (markers kept) and reject it when it holds only whitespace."""
    text = _decode(data, config, markup)
    if not text.strip():
        raise _Unreadable(EMPTY, "file holds only whitespace")
    return text


def _clip(text: str, limit: int = RECORD_MAX_CHARS) -> str:
    """Truncate text for the quarantine record column."""
    return text if len(text) <= limit else text[:limit]


# --- records -----------------------------------------------------------------------------------


def _json_type(value: object) -> str:
    """Name a parsed value's JSON type."""
    return _JSON_TYPES.get(type(value), f"a {type(value).__name__}")


def _dump(value: object) -> str | None:
    """Serialise a record for the quarantine record column."""
    try:
        return _clip(json.dumps(value, ensure_ascii=False, default=str))
    except (TypeError, ValueError, RecursionError):
        return None


def _hint(value: object) -> str | None:
    """Turn a metadata value into hint text, or null when it is not a scalar."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _first_hint(record: Mapping[str, Any], names: Sequence[str]) -> str | None:
    """Return the first usable hint among the named fields."""
    for name in names:
        hint = _hint(record.get(name))
        if hint is not None:
            return hint
    return None


def _pick_text(record: Mapping[str, Any]) -> tuple[str | None, str]:
    """Return the record's text, or null and why there is none."""
    present = [name for name in TEXT_FIELDS if record.get(name) is not None]
    for name in present:
        value = record[name]
        if isinstance(value, str) and value.strip():
            return value, ""
    if not present:
        return None, f"no text field (looked for {', '.join(TEXT_FIELDS)})"
    name = present[0]
    value = record[name]
    if isinstance(value, str):
        return None, f"field {name!r} is empty"
    return None, f"field {name!r} is {_json_type(value)}, not a string"


def _mend_value(value: Any) -> tuple[Any, int]:
    """Return a parsed JSON value with decoding markers turned into U+FFFD, and their bytes."""
    if isinstance(value, str):
        return mend(value)
    if isinstance(value, list):
        items = [_mend_value(v) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    if isinstance(value, dict):
        total, out = 0, {}
        for key, item in value.items():
            (k, n_key), (v, n_value) = mend(key), _mend_value(item)
            out[k] = v
            total += n_key + n_value
        return out, total
    return value, 0


def _add_record(
    rows: _Rows,
    uri: str,
    fmt: str,
    value: object,
    sha: str,
    where: str,
    record: str | None,
    replaced: int = 0,
) -> None:
    """Add one JSON/Parquet record as a doc or a quarantine row."""
    if not isinstance(value, dict):
        rows.reject(uri, MALFORMED_JSON, f"{where}: {_json_type(value)}, not an object", record)
        return
    text, why = _pick_text(value)
    if text is None:
        rows.reject(uri, MISSING_TEXT, f"{where}: {why}", record)
        return
    hints = {
        "title": _first_hint(value, TITLE_FIELDS),
        "date": _first_hint(value, DATE_FIELDS),
        "url": _first_hint(value, URL_FIELDS),
        "source": _first_hint(value, SOURCE_FIELDS),
    }
    rows.doc(uri, fmt, text, sha, hints, replaced)


def _json_error(exc: ValueError | RecursionError) -> str:
    """Describe why JSON text does not parse."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "nesting too deep to parse"
    return str(exc)


# --- readers -----------------------------------------------------------------------------------


def _read_text(uri: str, data: bytes, sha: str, rows: _Rows, fmt: str) -> None:
    """Read a plain-text or Markdown file as one document, text as decoded."""
    text, replaced = mend(_decode_nonblank(data, rows.config))
    rows.doc(uri, fmt, text, sha, {}, replaced)


def _read_jsonl(uri: str, data: bytes, sha: str, rows: _Rows) -> None:
    """Read one JSON object per line; bad lines are quarantined, blank lines skipped."""
    text = _decode_nonblank(data, rows.config)
    for number, raw_line in enumerate(text.split("\n"), start=1):
        line, replaced = mend(raw_line.removesuffix("\r"))
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            value = json.loads(line)
        except (ValueError, RecursionError) as exc:
            if isinstance(exc, json.JSONDecodeError):
                why = f"{exc.msg} at column {exc.colno}"
            else:
                why = _json_error(exc)
            rows.reject(f"{uri}#{number}", MALFORMED_JSON, f"{where}: {why}", _clip(line))
            continue
        _add_record(rows, f"{uri}#{number}", "jsonl", value, sha, where, _clip(line), replaced)


def _read_json(uri: str, data: bytes, sha: str, rows: _Rows) -> None:
    """Read a JSON object (one document) or an array of objects (one per item)."""
    # Markers stay in the parsed strings until each record's own replaced bytes are counted
    # (a JSON escape of a lone surrogate U+DC01..U+DCFF in a file with replaced bytes would be
    # counted as one too).
    text = _decode_nonblank(data, rows.config)
    marked = marked_bytes(text) > 0
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _Unreadable(MALFORMED_JSON, _json_error(exc), _clip(text)) from exc
    if isinstance(value, dict):
        value, replaced = _mend_value(value) if marked else (value, 0)
        _add_record(rows, uri, "json", value, sha, "top-level object", _clip(text), replaced)
    elif isinstance(value, list):
        if not value:
            raise _Unreadable(EMPTY, "JSON array holds no records")
        for index, raw_item in enumerate(value, start=1):
            item, replaced = _mend_value(raw_item) if marked else (raw_item, 0)
            where = f"item {index}"
            _add_record(rows, f"{uri}#{index}", "json", item, sha, where, _dump(item), replaced)
    else:
        raise _Unreadable(
            MALFORMED_JSON,
            f"top-level value is {_json_type(value)}; expected an object or an array of objects",
            _clip(text),
        )


def _read_html(uri: str, data: bytes, sha: str, rows: _Rows) -> None:
    """Read the main text and metadata of an HTML page with trafilatura."""
    html, replaced = mend(_decode_nonblank(data, rows.config, markup=True))
    preview = html[:PREVIEW_CHARS]
    try:
        page = _extract_html(html)
    except Exception as exc:  # trafilatura/lxml may raise anything on hostile markup
        detail = f"HTML parser failed: {type(exc).__name__}: {exc}".splitlines()[0]
        raise _Unreadable(HTML_PARSE_ERROR, detail, preview) from exc
    text = None if page is None else page.get("text")
    if page is None or not isinstance(text, str) or not text.strip():
        raise _Unreadable(NO_MAIN_TEXT, "trafilatura found no main text in the page", preview)
    hints = {
        "title": _hint(page.get("title")),
        "date": _hint(page.get("date")),
        "url": _hint(page.get("url")),
        "source": _hint(page.get("sitename")),
        "page_title": _page_title(html),
    }
    rows.doc(uri, "html", text, sha, hints, replaced)


def _page_title(html: str) -> str | None:
    """Return the text of a page's `<title>` element (entities resolved), or None."""
    found = _TITLE_ELEMENT.search(html, 0, _TITLE_SCAN_CHARS)
    if found is None:
        return None
    title = " ".join(unescape(_TAG.sub(" ", found.group(1))).split())
    return title or None


def _extract_html(html: str) -> dict[str, Any] | None:
    """Run trafilatura; retry a bare fragment wrapped in a page (trafilatura rejects fragments)."""
    page = _bare_extraction(html)
    if page is None and "<html" not in html[:4096].lower():
        page = _bare_extraction(f"<html><body>{html}</body></html>")
    return page


def _bare_extraction(html: str) -> dict[str, Any] | None:
    """Return trafilatura's main text and metadata fields, or None when it finds nothing."""
    result = trafilatura.bare_extraction(
        html, with_metadata=True, include_comments=False, deduplicate=False
    )
    if result is None:
        return None
    if isinstance(result, dict):
        return result
    return {
        name: getattr(result, name, None) for name in ("text", "title", "date", "url", "sitename")
    }


def _read_parquet(uri: str, data: bytes, sha: str, rows: _Rows) -> None:
    """Read a Parquet file, one document per row."""
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except (Exception, PanicException) as exc:  # PanicException is a BaseException
        detail = f"not a readable Parquet file: {exc}".splitlines()[0]
        raise _Unreadable(BAD_PARQUET, detail) from exc
    if not any(name in frame.columns for name in TEXT_FIELDS):
        raise _Unreadable(
            MISSING_TEXT,
            f"no text column (looked for {', '.join(TEXT_FIELDS)}); columns: {frame.columns}",
        )
    if frame.height == 0:
        raise _Unreadable(EMPTY, "Parquet file has no rows")
    for number, row in enumerate(frame.iter_rows(named=True), start=1):
        _add_record(rows, f"{uri}#{number}", "parquet", row, sha, f"row {number}", _dump(row))


_READERS: dict[str, Callable[[str, bytes, str, _Rows], None]] = {
    ".txt": lambda uri, data, sha, rows: _read_text(uri, data, sha, rows, "txt"),
    ".md": lambda uri, data, sha, rows: _read_text(uri, data, sha, rows, "md"),
    ".jsonl": _read_jsonl,
    ".json": _read_json,
    ".html": _read_html,
    ".htm": _read_html,
    ".parquet": _read_parquet,
}
