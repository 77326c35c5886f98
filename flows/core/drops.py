"""Drops are data: rows removed by a stage become quarantine rows with a snake_case reason."""

from __future__ import annotations

import polars as pl

from flows.core.schema import QUARANTINE


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
