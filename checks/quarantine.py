"""Split a frame into the rows that satisfy a pandera model and quarantine rows with reasons.

Row-level failures of the input's checks (a failing value, a broken group rule) move the
offending rows into a frame with the QUARANTINE columns; schema-level failures (missing or extra
column, wrong dtype) reject the whole batch with `SchemaContractError`. A failing pipeline
invariant (`checks.models.INVARIANTS`, a check of a column the pipeline derives) is a bug: it
raises `PipelineInvariantError`, or, when the caller asks to repair, the row is repaired and
kept, and the split reports it (`Split.broken`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandera.polars as pa
import polars as pl
from pandera.config import ValidationDepth, config_context
from pandera.errors import SchemaErrors

from checks.errors import PipelineInvariantError, SchemaContractError
from checks.models import CHECK_COLUMNS, INVARIANTS, invariant_key
from flows.core.schema import QUARANTINE

# pandera's names for its own checks that read better under a shorter name.
_REASON_ALIASES = {
    "field_uniqueness": "unique",
    "multiple_fields_uniqueness": "unique",
}
# Schema-level checks that describe the structure of the frame (as opposed to a check that
# crashed): when present, they alone make the error message.
_STRUCTURAL = ("dtype", "column_in_dataframe", "column_in_schema", "column_ordered")
_MAX_VALUE_CHARS = 80
_MAX_MESSAGE_CHARS = 400
# A row is repaired at most this often: a repair can break a group invariant of another row
# (two canonicals for one cluster id), whose repair is then a round later; a row still broken
# after that many is quarantined, as a last resort, and counted with the others.
MAX_REPAIRS = 3
SAMPLE_IDS = 5  # doc_ids named per broken invariant (error message, run summary)

# repair(frame, reset) -> frame: same columns, dtypes and rows; `reset` maps each derived
# column to a boolean mask of the rows to set it again on (`flows.core.repair`).
Repair = Callable[[pl.DataFrame, Mapping[str, pl.Series]], pl.DataFrame]
InvariantMode = Literal["raise", "repair"]


@dataclass(frozen=True)
class _Failure:
    reason: str  # snake_case check name
    check: str  # pandera's identifier, e.g. "in_range(0, 1)"
    columns: tuple[str, ...]
    round: int  # 0 on the first validation, >0 when found after removing other rows
    invariant: str | None = None  # its `INVARIANTS` key when it is a pipeline invariant


@dataclass(frozen=True)
class BrokenInvariant:
    """The rows of one validated frame that broke one pipeline invariant."""

    table: str  # the model's name (documents, articles, claims, boilerplate)
    stage: str
    check: str  # the `INVARIANTS` key
    rows: int
    repaired: int  # kept, repaired
    quarantined: int  # quarantined (an input check failed too, or no repair was possible)
    doc_ids: tuple[str | None, ...]  # the first few rows' doc_id

    def as_dict(self) -> dict[str, Any]:
        """The summary's form (`summary.json` "pipeline_invariants")."""
        return {
            "table": self.table,
            "stage": self.stage,
            "check": self.check,
            "rows": self.rows,
            "repaired": self.repaired,
            "quarantined": self.quarantined,
            "doc_ids": list(self.doc_ids),
        }


@dataclass(frozen=True)
class Split:
    """What `split_rows` made of a frame."""

    valid: pl.DataFrame  # rows that pass the model (repaired ones included), in input order
    quarantine: pl.DataFrame  # QUARANTINE rows
    broken: tuple[BrokenInvariant, ...]  # pipeline invariants that failed, most rows first
    repaired: int = 0  # rows in `valid` that a repair set right


def split_valid(
    df: pl.DataFrame,
    model: type[pa.DataFrameModel],
    *,
    stage: str,
    run_id: str | None = None,
    uri_column: str = "source_uri",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Validate `df` against `model`; return (valid rows, quarantine rows).

    A broken pipeline invariant raises `PipelineInvariantError` (`split_rows` with
    `invariants="raise"`).
    """
    split = split_rows(df, model, stage=stage, run_id=run_id, uri_column=uri_column)
    return split.valid, split.quarantine


def split_rows(
    df: pl.DataFrame,
    model: type[pa.DataFrameModel],
    *,
    stage: str,
    run_id: str | None = None,
    uri_column: str = "source_uri",
    invariants: InvariantMode = "raise",
    repair: Repair | None = None,
) -> Split:
    """Validate `df` against `model`; return the valid rows, quarantine rows, broken invariants.

    The valid frame keeps the input's columns, dtypes and row order. The quarantine frame has
    the QUARANTINE schema, one row per rejected input row: `reason` is `schema:<check>` for the
    first failing check, `detail` lists every failing check with the column values involved,
    `record` is the row as JSON text.

    Removing rows can break a dataframe-level invariant for rows that passed, so validation
    repeats on the remaining rows until they pass (usually one extra round); rows caught in a
    later round say so in `detail`. The valid frame therefore always satisfies `model`.

    Pipeline invariants: with `invariants="raise"` the first round that finds one broken
    raises `PipelineInvariantError` (naming the check, its row count and a few doc_ids).
    With `"repair"`, a row that broke only invariants goes to `repair` with the derived columns
    the broken checks vouch for (`INVARIANTS`), is validated again with the others, and stays
    (at most `MAX_REPAIRS` times; then, or without a `repair`, it is quarantined as any row);
    a row that also failed an input check is quarantined. `Split.broken` counts them all.

    Raises SchemaContractError when the frame breaks the column contract (missing or extra
    column, wrong dtype) or a check cannot run: the whole batch is rejected.
    """
    if invariants not in ("raise", "repair"):
        raise ValueError(f"invariants = {invariants!r}: use 'raise' or 'repair'")
    table = model.to_schema().name or model.__name__
    unique_columns = _unique_columns(model)
    failures: dict[int, list[_Failure]] = {}  # quarantined rows (by position in df)
    broken: dict[str, set[int]] = {}  # invariant key -> positions in df
    repairs: dict[int, int] = {}
    positions = pl.Series("position", range(df.height), dtype=pl.Int64)
    current = df
    round_no = 0
    while True:
        failure_cases = _failure_cases(current, model)
        if failure_cases is None:
            break
        schema_level = failure_cases.filter(pl.col("index").is_null())
        if schema_level.height:
            raise SchemaContractError(
                _contract_message(schema_level, model, stage),
                failures=tuple(
                    (row["column"], row["check"], row["failure_case"])
                    for row in schema_level.iter_rows(named=True)
                ),
            )
        found: dict[int, list[_Failure]] = {}
        for row in failure_cases.iter_rows(named=True):
            failure = _to_failure(row, unique_columns, round_no, table)
            found.setdefault(int(row["index"]), []).append(failure)
        original = positions.to_list()
        for local, found_here in found.items():
            for failure in found_here:
                if failure.invariant is not None:
                    broken.setdefault(failure.invariant, set()).add(original[local])
        if broken and invariants == "raise":
            raise _invariant_error(df, broken, table, stage)
        bad_local: set[int] = set()
        resets: dict[str, np.ndarray] = {}
        for local, found_here in found.items():
            position = original[local]
            fixable = (
                repair is not None
                and repairs.get(position, 0) < MAX_REPAIRS
                and all(f.invariant is not None for f in found_here)
            )
            if not fixable:
                bad_local.add(local)
                failures.setdefault(position, []).extend(found_here)
                continue
            repairs[position] = repairs.get(position, 0) + 1
            for failure in found_here:
                for column in INVARIANTS[table][str(failure.invariant)]:
                    resets.setdefault(column, np.zeros(current.height, dtype=bool))[local] = True
        keep = _mask_without(current.height, bad_local)
        current = current.filter(keep)
        positions = positions.filter(keep)
        if repair is not None and resets:
            mask = keep.to_numpy()
            reset = {column: pl.Series(column, rows[mask]) for column, rows in resets.items()}
            current = _repaired(current, repair(current, reset))
        round_no += 1

    broken_rows = _broken(df, broken, failures, table, stage)
    repaired = sum(p not in failures for p in repairs)
    if not failures:
        return Split(current, pl.DataFrame(schema=QUARANTINE), broken_rows, repaired)
    quarantine = _quarantine_frame(df, failures, stage=stage, run_id=run_id, uri_column=uri_column)
    return Split(current, quarantine, broken_rows, repaired)


def _repaired(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """Check that a repair kept the frame's shape; return its result."""
    if after.height != before.height or after.schema != before.schema:
        raise TypeError(
            f"a repair changed the frame: {before.height} rows {dict(before.schema)} became "
            f"{after.height} rows {dict(after.schema)}"
        )
    return after


def _sample_ids(df: pl.DataFrame, positions: Iterable[int]) -> tuple[str | None, ...]:
    if "doc_id" not in df.columns:
        return ()
    picked = sorted(positions)[:SAMPLE_IDS]
    return tuple(df["doc_id"].gather(picked).cast(pl.String).to_list())


def _broken(
    df: pl.DataFrame,
    broken: Mapping[str, set[int]],
    quarantined: Mapping[int, object],
    table: str,
    stage: str,
) -> tuple[BrokenInvariant, ...]:
    rows = []
    for check, positions in sorted(broken.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lost = sum(p in quarantined for p in positions)
        rows.append(
            BrokenInvariant(
                table=table,
                stage=stage,
                check=check,
                rows=len(positions),
                repaired=len(positions) - lost,
                quarantined=lost,
                doc_ids=_sample_ids(df, positions),
            )
        )
    return tuple(rows)


def _invariant_error(
    df: pl.DataFrame, broken: Mapping[str, set[int]], table: str, stage: str
) -> PipelineInvariantError:
    found = _broken(df, broken, {}, table, stage)
    first = found[0]
    ids = ", ".join(str(i) for i in first.doc_ids)
    others = "".join(f"; {b.check}: {b.rows} row(s)" for b in found[1:])
    return PipelineInvariantError(
        f"pipeline invariant {table}.{first.check} broken at stage {stage!r}: "
        f"{first.rows} row(s), doc_id {ids or '(none)'}{others}. A check of a column the "
        "pipeline derives failed: a bug of the pipeline, not of the input",
        check=first.check,
        count=first.rows,
        doc_ids=first.doc_ids,
    )


def _failure_cases(df: pl.DataFrame, model: type[pa.DataFrameModel]) -> pl.DataFrame | None:
    """Validate lazily with data checks forced on; return pandera's failure cases, or None."""
    with config_context(validation_enabled=True, validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        try:
            model.validate(df, lazy=True)
        except SchemaErrors as exc:
            cases = exc.failure_cases
            assert isinstance(cases, pl.DataFrame)
            return cases
    return None


def _mask_without(height: int, drop: Iterable[int]) -> pl.Series:
    """A boolean mask of `height` rows, False at the positions in `drop`."""
    mask = np.ones(height, dtype=bool)
    mask[np.fromiter(drop, dtype=np.int64)] = False
    return pl.Series("keep", mask)


def _unique_columns(model: type[pa.DataFrameModel]) -> tuple[str, ...]:
    """Columns of the model's dataframe-level `unique` setting, flattened."""
    unique = model.to_schema().unique
    if not unique:
        return ()
    if isinstance(unique, str):
        return (unique,)
    flat: list[str] = []
    for item in unique:
        flat.extend([item] if isinstance(item, str) else item)
    return tuple(dict.fromkeys(flat))


def reason_name(check: str) -> str:
    """The snake_case reason for a pandera check identifier, e.g. `in_range(0, 1)` -> `in_range`."""
    match = re.match(r"[A-Za-z_][A-Za-z0-9_]*", check or "")
    name = match.group(0) if match else "check"
    name = _REASON_ALIASES.get(name, name)
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _to_failure(
    row: Mapping[str, Any], unique_columns: tuple[str, ...], round_no: int, table: str
) -> _Failure:
    check = str(row["check"])
    reason = reason_name(check)
    check = _REASON_ALIASES.get(check, check)
    column: str | None = None
    if row["schema_context"] == "Column":
        column = str(row["column"])
        columns: tuple[str, ...] = (column,)
    elif reason == "unique" and unique_columns:
        columns = unique_columns
    else:
        columns = CHECK_COLUMNS.get(check, ())
    invariant = invariant_key(table, reason, column)
    return _Failure(reason, check, columns, round_no, invariant)


def _quarantine_frame(
    df: pl.DataFrame,
    failures: dict[int, list[_Failure]],
    *,
    stage: str,
    run_id: str | None,
    uri_column: str,
) -> pl.DataFrame:
    order = sorted(failures)
    picked = df.select(pl.all().gather(order))
    uris: list[str | None] = (
        picked[uri_column].cast(pl.String).to_list()
        if uri_column in picked.columns
        else [None] * picked.height
    )
    details = [
        _detail(failures[position], picked.row(n, named=True)) for n, position in enumerate(order)
    ]
    return pl.DataFrame(
        {
            "source_uri": uris,
            "stage": [stage] * picked.height,
            "reason": [f"schema:{failures[position][0].reason}" for position in order],
            "detail": details,
            "record": records_json(picked),
            "run_id": [run_id] * picked.height,
        },
        schema=QUARANTINE,
    )


def records_json(frame: pl.DataFrame) -> list[str]:
    """Each row as JSON text, encoded like `flows.core.drops` (polars: dates ISO, NaN null).

    Falls back to `record_json` per row for dtypes polars cannot encode.
    """
    try:
        return frame.select(pl.struct(pl.all()).struct.json_encode()).to_series().to_list()
    except pl.exceptions.PolarsError:
        return [record_json(row) for row in frame.iter_rows(named=True)]


def _detail(found: Iterable[_Failure], record: Mapping[str, Any]) -> str:
    parts = []
    for failure in found:
        values = ", ".join(
            f"{column}={_short(_json_value(record.get(column)))}" for column in failure.columns
        )
        part = f"{failure.check}: {values}" if values else failure.check
        if failure.round:
            part += " (after quarantining other rows)"
        parts.append(part)
    return "; ".join(dict.fromkeys(parts))


def record_json(record: Mapping[str, Any]) -> str:
    """A row as JSON text: dates ISO, non-finite floats null, anything else via str()."""
    return json.dumps(
        {str(k): _jsonable(v) for k, v in record.items()},
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _json_value(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # nan, inf, -inf: unquoted in the detail
    return json.dumps(_jsonable(value), ensure_ascii=False, default=str)


def _short(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= _MAX_VALUE_CHARS:
        return text
    return text[: _MAX_VALUE_CHARS - 1] + "…"


def _contract_message(
    schema_level: pl.DataFrame, model: type[pa.DataFrameModel], stage: str
) -> str:
    rows = list(schema_level.iter_rows(named=True))
    structural = [r for r in rows if reason_name(str(r["check"])).startswith(_STRUCTURAL)]
    parts = []
    for row in structural or rows:
        check = str(row["check"])
        case = " ".join(str(row["failure_case"]).split())
        if check == "column_in_dataframe":
            parts.append(f"missing column {case!r}")
        elif check == "column_in_schema":
            parts.append(f"unexpected column {case!r}")
        elif check.startswith("dtype("):
            expected = check[len("dtype(") : -1].strip("'\"")
            parts.append(f"column {row['column']!r} is {case}, expected {expected}")
        else:
            parts.append(f"{row['column']}: {check} failed ({_short(case)})")
    name = model.to_schema().name or model.__name__
    message = f"{name} contract broken at stage {stage!r}: " + "; ".join(dict.fromkeys(parts))
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[: _MAX_MESSAGE_CHARS - 1] + "…"
    return message
