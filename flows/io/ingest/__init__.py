"""Read the files of an inbox folder into RAW_DOCS rows, and unreadable inputs into QUARANTINE rows.

Accounting: each input record (a text/HTML file, a JSONL line, a JSON array item, a Parquet row,
or a whole file that cannot be split into records) lands in exactly one of the two frames. Source
files are opened read-only and never modified, moved or deleted.
"""

from flows.io.ingest.ledger import FILES_LEDGER, ledger_updates
from flows.io.ingest.listing import (
    RESERVED_DIRS,
    estimated_shards,
    file_sizes,
    file_uri,
    inbox_files,
    inbox_uri,
    list_inbox,
)
from flows.io.ingest.loading import RACY_NS, hash_file, outside_inbox, too_large_detail
from flows.io.ingest.read import IngestResult, read_files, read_inbox
from flows.io.ingest.records import (
    DATE_FIELDS,
    SOURCE_FIELDS,
    TEXT_FIELDS,
    TITLE_FIELDS,
    URL_FIELDS,
)
from flows.io.ingest.rows import (
    BAD_PARQUET,
    BINARY,
    EMPTY,
    HTML_PARSE_ERROR,
    IO_ERROR,
    MALFORMED_JSON,
    MISSING_TEXT,
    NO_MAIN_TEXT,
    NOT_A_FILE,
    PREVIEW_CHARS,
    RECORD_MAX_CHARS,
    STAGE,
    SYMLINK_OUTSIDE,
    TOO_LARGE,
    UNDECODABLE,
    UNSUPPORTED,
    Row,
    surrogate_at,
)

__all__ = [
    "BAD_PARQUET",
    "BINARY",
    "DATE_FIELDS",
    "EMPTY",
    "FILES_LEDGER",
    "HTML_PARSE_ERROR",
    "IO_ERROR",
    "MALFORMED_JSON",
    "MISSING_TEXT",
    "NOT_A_FILE",
    "NO_MAIN_TEXT",
    "PREVIEW_CHARS",
    "RACY_NS",
    "RECORD_MAX_CHARS",
    "RESERVED_DIRS",
    "SOURCE_FIELDS",
    "STAGE",
    "SYMLINK_OUTSIDE",
    "TEXT_FIELDS",
    "TITLE_FIELDS",
    "TOO_LARGE",
    "UNDECODABLE",
    "UNSUPPORTED",
    "URL_FIELDS",
    "IngestResult",
    "Row",
    "estimated_shards",
    "file_sizes",
    "file_uri",
    "hash_file",
    "inbox_files",
    "inbox_uri",
    "ledger_updates",
    "list_inbox",
    "outside_inbox",
    "read_files",
    "read_inbox",
    "surrogate_at",
    "too_large_detail",
]
