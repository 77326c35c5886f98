"""Turn one parsed record (a JSON object, a Parquet row) into a doc or a quarantine row."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from flows.io.charsets import mend
from flows.io.ingest.rows import MALFORMED_JSON, MISSING_TEXT, _clip, _Rows

# Record fields, first match wins.
TEXT_FIELDS = ("text", "body", "content")
TITLE_FIELDS = ("title",)
DATE_FIELDS = ("date", "published_date", "published")
URL_FIELDS = ("url",)
SOURCE_FIELDS = ("source",)


_JSON_TYPES: dict[type, str] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


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
