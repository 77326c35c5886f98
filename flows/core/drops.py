"""Drops are data: rows removed by a stage become quarantine rows with a snake_case reason."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from flows.core.run import FieldNotes
from flows.core.schema import QUARANTINE, empty


def drop_where(
    frame: pl.DataFrame, condition: pl.Expr, *, stage: str, reason: str, detail: pl.Expr
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split off the rows matching `condition` as quarantine rows.

    Parameters
    ----------
    frame
        Rows with at least `source_uri`.
    condition
        Boolean expression selecting the rows to drop.
    stage, reason
        Written to each quarantine row; `reason` is snake_case.
    detail
        String expression explaining each dropped row.

    Returns
    -------
    tuple[pl.DataFrame, pl.DataFrame]
        The kept rows and the `QUARANTINE` rows (run_id null, record = the row as JSON).
    """
    flagged = frame.with_columns(_drop=condition.fill_null(False))
    dropped = flagged.filter(pl.col("_drop")).drop("_drop")
    quarantine = dropped.select(
        pl.col("source_uri"),
        stage=pl.lit(stage),
        reason=pl.lit(reason),
        detail=detail,
        record=pl.struct(pl.all()).struct.json_encode(),
        run_id=pl.lit(None, pl.String),
    ).cast(QUARANTINE)
    return flagged.filter(~pl.col("_drop")).drop("_drop"), quarantine


def _repeat_key() -> pl.Expr:
    """Key of a quarantined record across runs: its file, stage, reason and content."""
    return pl.concat_str(
        pl.col("source_uri").fill_null("").str.replace(r"#\d+$", ""),
        pl.col("stage"),
        pl.col("reason"),
        pl.col("record").fill_null(""),
        separator="\x1f",
    )


def forget_repeats(
    quarantine: pl.DataFrame, earlier: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split off quarantine rows that an earlier run already quarantined.

    A file that changes (a JSONL feed that grows) is read again, and so are records that cannot
    be fingerprinted (an unreadable path); their old failures must not pile up run after run.
    The key ignores a record's line number, which shifts when lines are added.

    Returns
    -------
    tuple[pl.DataFrame, pl.DataFrame]
        The new quarantine rows and the repeats.
    """
    if earlier is None or earlier.height == 0 or quarantine.height == 0:
        return quarantine, quarantine.clear()
    seen = earlier.select(_key=_repeat_key()).unique()
    keyed = quarantine.with_columns(_key=_repeat_key())
    repeat = pl.col("_key").is_in(seen["_key"].implode())
    return keyed.filter(~repeat).drop("_key"), keyed.filter(repeat).drop("_key")


@dataclass(frozen=True)
class KnownStats(FieldNotes):
    """The figures of setting aside documents published before, as the run summary names them."""

    known_docs: int  # rows whose doc_id an earlier run published


@dataclass(frozen=True)
class KnownResult:
    """The documents not published before, no quarantine rows (a known text is no fault)."""

    documents: pl.DataFrame
    quarantine: pl.DataFrame
    stats: KnownStats


def set_aside_known(docs: pl.DataFrame, published: pl.Series) -> KnownResult:
    """Set aside documents that an earlier run published (same `doc_id`).

    Parameters
    ----------
    docs
        Normalised documents (`doc_id`).
    published
        The `doc_id`s of the published `documents` table.

    Returns
    -------
    KnownResult
        The rows of `docs` whose `doc_id` is new, in order; their count set aside.
    """
    known = docs["doc_id"].is_in(published.implode())
    return KnownResult(docs.filter(~known), empty(QUARANTINE), KnownStats(int(known.sum())))
