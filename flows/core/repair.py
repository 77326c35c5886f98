"""Repairs of documents rows whose pipeline-derived columns broke an invariant.

Such a failure (`checks.models.INVARIANTS`) is a bug of the pipeline, never the input's fault,
so the document is published in a safe state instead of being quarantined: what a reader of
`documents` and `articles` would want from a pipeline that got confused about one text is the
text, marked plainly, rather than nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

# Columns reset together. The dedup fields: the row becomes the canonical of its own cluster
# (`cluster_id` = its doc_id, as the dedup stage names clusters), unless another canonical row
# holds its doc_id, of which it then becomes an exact copy (exact copies share a doc_id).
DEDUP_COLUMNS = ("cluster_id", "is_canonical", "duplicate_of", "duplicate_kind", "status")
# Containment: cleared (the document stays published; it is just not said to be inside another).
CONTAINMENT_COLUMNS = ("contained_in", "containment")

_NULL_STRING = pl.lit(None, dtype=pl.String)
_NULL_FLOAT = pl.lit(None, dtype=pl.Float64)


def _any(reset: Mapping[str, pl.Series], columns: tuple[str, ...], height: int) -> pl.Series:
    mask = pl.Series("mask", [False] * height, dtype=pl.Boolean)
    for column in columns:
        if column in reset:
            mask = mask | reset[column]
    return mask


def _outside_unit(column: str) -> pl.Expr:
    value = pl.col(column)
    return value.is_null() | value.is_nan() | ~value.is_between(0.0, 1.0)


def repair_documents(documents: pl.DataFrame, reset: Mapping[str, pl.Series]) -> pl.DataFrame:
    """Set the derived columns named in `reset` again on the rows it marks.

    Parameters
    ----------
    documents
        Rows with the DOCUMENTS columns, in any order.
    reset
        Column name -> boolean mask (one value per row) of the rows whose column broke an
        invariant. Dedup and containment columns are reset as groups (`DEDUP_COLUMNS`,
        `CONTAINMENT_COLUMNS`; a dedup reset clears containment too); `clean_text` falls back
        to `text` when empty or null, `n_chars` is counted again, `boilerplate_ratio` outside
        [0, 1] is estimated from the lengths, a null `is_boilerplate_heavy` becomes false, a
        negative or null `replaced_bytes` 0, and a `similarity` outside [0, 1] null.

    Returns
    -------
    pl.DataFrame
        `documents` with the same columns, dtypes and row order.
    """
    n = documents.height
    dedup = _any(reset, DEDUP_COLUMNS, n)
    contain = _any(reset, CONTAINMENT_COLUMNS, n) | dedup

    def marked(column: str) -> pl.Series:
        return _any(reset, (column,), n)

    text_chars = pl.col("text").str.len_chars()
    empty_clean = pl.col("clean_text").is_null() | (pl.col("clean_text").str.len_chars() == 0)
    estimated_ratio = (1.0 - pl.col("clean_text").str.len_chars() / text_chars).clip(0.0, 1.0)
    out = documents.with_columns(
        clean_text=pl.when(marked("clean_text") & empty_clean)
        .then(pl.col("text"))
        .otherwise(pl.col("clean_text"))
    ).with_columns(
        n_chars=pl.when(marked("n_chars") | marked("clean_text"))
        .then(pl.col("clean_text").str.len_chars().cast(pl.Int64))
        .otherwise(pl.col("n_chars")),
        boilerplate_ratio=pl.when(marked("boilerplate_ratio") & _outside_unit("boilerplate_ratio"))
        .then(pl.when(text_chars > 0).then(estimated_ratio).otherwise(0.0))
        .otherwise(pl.col("boilerplate_ratio")),
        is_boilerplate_heavy=pl.when(marked("is_boilerplate_heavy"))
        .then(pl.col("is_boilerplate_heavy").fill_null(False))
        .otherwise(pl.col("is_boilerplate_heavy")),
        replaced_bytes=pl.when(marked("replaced_bytes"))
        .then(pl.col("replaced_bytes").fill_null(0).clip(lower_bound=0))
        .otherwise(pl.col("replaced_bytes")),
        similarity=pl.when(marked("similarity") & _outside_unit("similarity"))
        .then(_NULL_FLOAT)
        .otherwise(pl.col("similarity")),
        contained_in=pl.when(contain).then(_NULL_STRING).otherwise(pl.col("contained_in")),
        containment=pl.when(contain).then(_NULL_FLOAT).otherwise(pl.col("containment")),
    )
    if not dedup.any():
        return out
    return _own_canonicals(out, dedup).select(documents.columns)


def _own_canonicals(documents: pl.DataFrame, dedup: pl.Series) -> pl.DataFrame:
    """Make the `dedup` rows canonicals of their own clusters, or exact copies of a canonical."""
    holders = (
        documents.filter(pl.col("is_canonical").fill_null(False) & ~dedup)
        .group_by("doc_id", maintain_order=True)
        .agg(_holder=pl.col("cluster_id").first())
    )
    marked = pl.col("_dedup")
    frame = (
        documents.with_columns(_dedup=dedup, _pos=pl.int_range(pl.len(), dtype=pl.Int64))
        .join(holders, on="doc_id", how="left", maintain_order="left")
        .with_columns(
            # the first repaired row of a doc_id that no canonical holds becomes its canonical
            _canonical=marked
            & pl.col("_holder").is_null()
            & (
                pl.col("_pos")
                == pl.col("_pos").filter(marked & pl.col("_holder").is_null()).min().over("doc_id")
            )
        )
    )
    canonical = pl.col("_canonical")
    return frame.with_columns(
        cluster_id=pl.when(marked)
        .then(pl.coalesce("_holder", "doc_id"))
        .otherwise(pl.col("cluster_id")),
        is_canonical=pl.when(marked).then(canonical).otherwise(pl.col("is_canonical")),
        duplicate_of=pl.when(marked)
        .then(pl.when(canonical).then(_NULL_STRING).otherwise(pl.col("doc_id")))
        .otherwise(pl.col("duplicate_of")),
        duplicate_kind=pl.when(marked)
        .then(pl.when(canonical).then(_NULL_STRING).otherwise(pl.lit("exact")))
        .otherwise(pl.col("duplicate_kind")),
        similarity=pl.when(marked)
        .then(pl.when(canonical).then(_NULL_FLOAT).otherwise(pl.lit(1.0)))
        .otherwise(pl.col("similarity")),
        status=pl.when(marked)
        .then(pl.when(canonical).then(pl.lit("published")).otherwise(pl.lit("duplicate")))
        .otherwise(pl.col("status")),
    )
