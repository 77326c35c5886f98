"""Read the records of a text, Markdown, JSON lines, JSON, HTML or Parquet file."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from html import unescape
from typing import Any

import polars as pl
from polars.exceptions import PanicException

from flows.io.charsets import marked_bytes, mend
from flows.io.ingest.decoding import _decode_nonblank, _decode_valid_nonblank
from flows.io.ingest.records import (
    TEXT_FIELDS,
    _add_record,
    _dump,
    _hint,
    _json_error,
    _json_type,
    _mend_value,
)
from flows.io.ingest.rows import (
    BAD_PARQUET,
    EMPTY,
    HTML_PARSE_ERROR,
    MALFORMED_JSON,
    MISSING_TEXT,
    NO_MAIN_TEXT,
    PREVIEW_CHARS,
    _clip,
    _Rows,
    _Unreadable,
)

# A page's <title>, looked for in its first characters (a <head> rarely runs longer).
_TITLE_ELEMENT = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.S | re.I)
_TITLE_SCAN_CHARS = 65_536
_TAG = re.compile(r"<[^>]*>")


def _read_file(uri: str, ext: str, data: bytes, sha: str, rows: _Rows) -> None:
    """Read one supported file into rows, quarantining it as a whole when it cannot be split."""
    try:
        if not data:
            raise _Unreadable(EMPTY, "file is empty (0 bytes)")
        _READERS[ext](uri, data, sha, rows)
    except _Unreadable as failure:
        rows.reject(uri, failure.reason, failure.detail, failure.record)


def _read_text(uri: str, data: bytes, sha: str, rows: _Rows, fmt: str) -> None:
    """Read a plain-text or Markdown file as one document, text as decoded."""
    text, valid = _decode_valid_nonblank(data, rows.config)
    if valid:  # no markers to mend, no lone surrogate
        rows.doc(uri, fmt, text, sha, {}, valid=True)
        return
    text, replaced = mend(text)
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
    # imported on the first page, not with the module: the flow process imports the readers
    # (claim tables, the inbox listing) but reads no page when the ingest workers do (0.2 s)
    import trafilatura

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
