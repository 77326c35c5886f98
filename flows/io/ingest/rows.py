"""Collect the doc and quarantine rows of an inbox's records, and name why one is refused."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flows.core.settings import IngestConfig
from flows.io.charsets import mend

STAGE = "ingest"


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


RECORD_MAX_CHARS = 2_000  # offending record text kept in quarantine.record
PREVIEW_CHARS = 200  # preview of a whole file that failed


Row = dict[str, str | None]


class _Unreadable(Exception):
    """Signal that a file cannot be split into records."""

    def __init__(self, reason: str, detail: str, record: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.record = record


_DOC_COLUMNS = (
    "source_uri",
    "source_format",
    "raw_text",
    "title_hint",
    "page_title",
    "date_hint",
    "url",
    "source",
    "file_sha256",
    "replaced_bytes",
)
_HINTS = (("title_hint", "title"), ("page_title", "page_title"), ("date_hint", "date"))
_HINTS += (("url", "url"), ("source", "source"))


def _doc_columns() -> dict[str, list[Any]]:
    """Return empty doc columns (RAW_DOCS order)."""
    return {name: [] for name in _DOC_COLUMNS}


@dataclass
class _Rows:
    """Collect doc rows as columns (RAW_DOCS order) and quarantine rows as plain dicts."""

    config: IngestConfig
    # Columns, not a dict a row: building the frame from 34k dicts took a tenth of reading.
    docs: dict[str, list[Any]] = field(default_factory=_doc_columns)
    quarantine: list[Row] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.docs["source_uri"]) + len(self.quarantine)

    def doc(
        self,
        uri: str,
        fmt: str,
        text: str,
        sha: str,
        hints: Mapping[str, str | None],
        replaced: int = 0,
        valid: bool = False,
    ) -> None:
        """Add a readable record (a text that is not valid Unicode is quarantined instead).

        `replaced` counts the record's input bytes that decoding replaced with U+FFFD; `valid`
        says that `text` is known to be valid Unicode (strictly decoded UTF-8), not checked again.
        """
        bad = None if valid else surrogate_at(text)
        if bad is not None:
            detail = f"text holds a lone surrogate U+{ord(text[bad]):04X} at character {bad}"
            self.reject(uri, UNDECODABLE, detail, _clip(text))
            return
        docs = self.docs
        docs["source_uri"].append(uri)
        docs["source_format"].append(fmt)
        docs["raw_text"].append(text)
        for column, hint in _HINTS:
            docs[column].append(_utf8_safe(hints.get(hint)) if hints else None)
        docs["file_sha256"].append(sha)
        docs["replaced_bytes"].append(replaced)

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


def surrogate_at(text: str) -> int | None:
    """Return the index of the first lone surrogate in text (not encodable as UTF-8), or None."""
    if text.isascii():  # known in constant time: no encoding pass over the text
        return None
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


def _clip(text: str, limit: int = RECORD_MAX_CHARS) -> str:
    """Truncate text for the quarantine record column."""
    return text if len(text) <= limit else text[:limit]
