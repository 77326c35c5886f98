"""pandera (polars) models of the frames between stages and of the published tables.

Every check has a snake_case name: `checks.quarantine.split_valid` turns a failing check into the
quarantine reason `schema:<name>`. Dataframe-level checks return one boolean per row, so the rows
that break a group invariant (not the whole batch) are quarantined. `CHECK_COLUMNS` names the
columns each dataframe-level check reads, for the quarantine `detail`.

Custom checks take their name from the method name, never from `name=`: pandera 0.35 pops the
`name` keyword when it first builds a model, so a subclass (ArticleModel) would silently get the
method name instead.

Dataframe-level checks use `ignore_na=False`: a null comparison fails instead of passing.
Dtypes are strict (no coercion): a wrong dtype or a missing column rejects the whole batch.

Two kinds of checks. Most test what the input brought (a text, a date, a headline, a claim
file's row): a failing row is the input's fault and is quarantined. `INVARIANTS` names the
others, the pipeline invariants: checks of columns the pipeline derives itself (clusters,
canonicals, containment, boilerplate ratios, spans), which no input can break, so a failure is
a bug of the pipeline. `checks.quarantine.split_rows` raises `PipelineInvariantError` on one
when `[validation] invariants = "raise"` (the test suite runs so: tests/conftest.py), and
otherwise hands the row to a repair instead of quarantining it (`flows.core.repair`), so a bug
never costs a user an article; the run counts every such row.
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

# The derived columns of a documents row that a repair sets again in groups (the dedup fields,
# containment); the others one by one (`flows.core.repair.repair_documents`).
from flows.core.repair import CONTAINMENT_COLUMNS, DEDUP_COLUMNS

DOC_ID_PATTERN = r"^[0-9a-f]{16}$"
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)
MAX_TITLE_CHARS = 500
DUPLICATE_KINDS = ("exact", "near")
STATUSES = ("published", "duplicate")  # published rows are the `articles`
QUALIFIERS = ("exact", "approximate", "at_least", "more_than", "at_most", "up_to", "nearly")
SNAKE_CASE = r"^[a-z][a-z0-9_]*$"  # stage names (ingest, normalise, ..., validate)
# `unreadable:<why>`, `empty_after_cleaning`, `schema:<check>`: a snake_case kind, then any detail.
REASON_PATTERN = r"^[a-z][a-z0-9_]*(:\S+)?$"

# Columns read by each dataframe-level check (the quarantine detail shows their values).
CHECK_COLUMNS: dict[str, tuple[str, ...]] = {
    "one_canonical_per_cluster": ("cluster_id", "is_canonical", "duplicate_of"),
    "one_canonical_per_doc_id": ("doc_id", "cluster_id", "is_canonical"),
    "contained_in_only_on_published_rows": ("is_canonical", "contained_in", "containment"),
    "duplicate_of_null_iff_canonical": ("is_canonical", "duplicate_of"),
    "duplicate_of_is_cluster_canonical": ("cluster_id", "is_canonical", "duplicate_of"),
    "duplicate_kind_null_iff_canonical": ("is_canonical", "duplicate_kind"),
    "status_matches_canonical": ("is_canonical", "status"),
    "end_after_start": ("start", "end"),
}


# --- pipeline invariants ---------------------------------------------------------------------
# Per model (its Config.name): each pipeline-invariant check and the derived columns it
# vouches for, which a repair resets when it fails. A key is a dataframe-level check's name,
# or a column's name (every column-level check of that column), or `<column>.<check>` (one
# check of a column the input also feeds). Checks not listed test the input.
_DOCUMENT_INVARIANTS: dict[str, tuple[str, ...]] = {
    # clustering (flows/core/dedup/clusters.py) and the status derived from it
    "one_canonical_per_cluster": DEDUP_COLUMNS,
    "one_canonical_per_doc_id": DEDUP_COLUMNS,
    "duplicate_of_null_iff_canonical": DEDUP_COLUMNS,
    "duplicate_of_is_cluster_canonical": DEDUP_COLUMNS,
    "duplicate_kind_null_iff_canonical": DEDUP_COLUMNS,
    "status_matches_canonical": DEDUP_COLUMNS,
    **{column: DEDUP_COLUMNS for column in DEDUP_COLUMNS},
    "similarity": ("similarity",),
    # containment (flows/core/containment.py)
    "contained_in_only_on_published_rows": CONTAINMENT_COLUMNS,
    **{column: CONTAINMENT_COLUMNS for column in CONTAINMENT_COLUMNS},
    # boilerplate removal (flows/core/boilerplate/): no document is left without clean text
    "clean_text": ("clean_text",),
    "n_chars": ("n_chars",),
    "boilerplate_ratio": ("boilerplate_ratio",),
    "is_boilerplate_heavy": ("is_boilerplate_heavy",),
    # decoding counts what it replaced (flows/io/charsets.py)
    "replaced_bytes": ("replaced_bytes",),
}
INVARIANTS: dict[str, dict[str, tuple[str, ...]]] = {
    "documents": _DOCUMENT_INVARIANTS,
    # `articles` are the published rows of `documents`: what documents' invariants let through
    # breaks none of these (one canonical per doc_id, status, clean text).
    "articles": {
        **_DOCUMENT_INVARIANTS,  # `canonical_only` is a check of is_canonical
        "doc_id.unique": DEDUP_COLUMNS,
    },
    # Every claim was grounded first (checks/grounding.py: its sentence is the article's text at
    # [start, end)), so an empty span is the pipeline's.
    "claims": {"end_after_start": ()},
    # The boilerplate table is derived entirely from the run's own passages.
    "boilerplate": {
        "end_after_start": (),
        "start": (),
        "support": (),
        "signal": (),
    },
}


def invariant_key(model_name: str, check: str, column: str | None) -> str | None:
    """The `INVARIANTS` key of a failing check of `model_name`, or None when it tests input.

    `check` is the snake_case check name (`checks.quarantine.reason_name`); `column` names
    the column of a column-level check (None for a dataframe-level one).
    """
    declared = INVARIANTS.get(model_name, {})
    if column is None:
        return check if check in declared else None
    for key in (f"{column}.{check}", column):
        if key in declared:
            return key
    return None


def _non_empty() -> dict[str, int]:
    return {"min_value": 1}


class NormalisedDocModel(pa.DataFrameModel):
    """Documents after ingest and normalisation, before boilerplate removal and dedup."""

    doc_id: str = pa.Field(str_matches=DOC_ID_PATTERN)
    source_uri: str = pa.Field(str_length=_non_empty())
    text: str = pa.Field(str_length=_non_empty())
    published_date: dt.date = pa.Field(
        nullable=True, in_range={"min_value": MIN_DATE, "max_value": MAX_DATE}
    )
    title: str = pa.Field(nullable=True, str_length={"max_value": MAX_TITLE_CHARS})

    class Config:
        name = "normalised_documents"
        strict = False  # stage frames may carry extra columns
        coerce = False


class DocumentModel(NormalisedDocModel):
    """The published `documents` table (flows.core.schema.DOCUMENTS), duplicates included."""

    source_format: str
    source: str = pa.Field(nullable=True)
    url: str = pa.Field(nullable=True)
    # the boilerplate stage quarantines documents left empty (`empty_after_cleaning`)
    clean_text: str = pa.Field(str_length=_non_empty())
    n_chars: int = pa.Field(ge=0)
    replaced_bytes: int = pa.Field(ge=0)
    boilerplate_ratio: float = pa.Field(in_range={"min_value": 0.0, "max_value": 1.0})
    is_boilerplate_heavy: bool
    cluster_id: str = pa.Field(str_length=_non_empty())
    is_canonical: bool
    duplicate_of: str = pa.Field(nullable=True)
    duplicate_kind: str = pa.Field(nullable=True, isin=list(DUPLICATE_KINDS))
    similarity: float = pa.Field(nullable=True, in_range={"min_value": 0.0, "max_value": 1.0})
    contained_in: str = pa.Field(nullable=True)
    containment: float = pa.Field(nullable=True, in_range={"min_value": 0.0, "max_value": 1.0})
    status: str = pa.Field(isin=list(STATUSES))
    run_id: str = pa.Field(nullable=True)

    class Config:
        name = "documents"
        strict = True
        coerce = False
        unique = ("doc_id", "source_uri")

    @pa.dataframe_check(ignore_na=False)
    def one_canonical_per_cluster(cls, data: PolarsData) -> pl.LazyFrame:
        """Each cluster has exactly one canonical row, or none when an earlier run holds it.

        A cluster that touches the history index keeps history's canonical, so this run's frame
        has no canonical for it: such a cluster passes when every row is a duplicate of one and
        the same doc_id. Every row of a failing cluster fails.
        """
        n_canonical = pl.col("is_canonical").cast(pl.Int64).sum().over("cluster_id")
        anchored_earlier = (
            (n_canonical == 0)
            & pl.col("duplicate_of").is_not_null().all().over("cluster_id")
            & (pl.col("duplicate_of").n_unique().over("cluster_id") == 1)
        )
        ok = (n_canonical == 1) | anchored_earlier
        return data.lazyframe.select(ok.alias("one_canonical_per_cluster"))

    @pa.dataframe_check(ignore_na=False)
    def one_canonical_per_doc_id(cls, data: PolarsData) -> pl.LazyFrame:
        """At most one canonical row per doc_id: exact copies share a doc_id and one cluster.

        Every row of a doc_id with two canonicals fails (two articles of one text).
        """
        n_canonical = pl.col("is_canonical").cast(pl.Int64).sum().over("doc_id")
        return data.lazyframe.select((n_canonical <= 1).alias("one_canonical_per_doc_id"))

    @pa.dataframe_check(ignore_na=False)
    def duplicate_of_null_iff_canonical(cls, data: PolarsData) -> pl.LazyFrame:
        """duplicate_of is null exactly on canonical rows."""
        expr = pl.col("duplicate_of").is_null() == pl.col("is_canonical")
        return data.lazyframe.select(expr.alias("duplicate_of_null_iff_canonical"))

    @pa.dataframe_check(ignore_na=False)
    def duplicate_of_is_cluster_canonical(cls, data: PolarsData) -> pl.LazyFrame:
        """A duplicate points at the canonical doc_id of its cluster (when it is in the frame)."""
        canonical_id = pl.col("doc_id").filter(pl.col("is_canonical")).first().over("cluster_id")
        expr = (
            pl.col("is_canonical")
            | canonical_id.is_null()
            | (pl.col("duplicate_of") == canonical_id)
        )
        return data.lazyframe.select(expr.alias("duplicate_of_is_cluster_canonical"))

    @pa.dataframe_check(ignore_na=False)
    def duplicate_kind_null_iff_canonical(cls, data: PolarsData) -> pl.LazyFrame:
        """duplicate_kind is null exactly on canonical rows."""
        expr = pl.col("duplicate_kind").is_null() == pl.col("is_canonical")
        return data.lazyframe.select(expr.alias("duplicate_kind_null_iff_canonical"))

    @pa.dataframe_check(ignore_na=False)
    def contained_in_only_on_published_rows(cls, data: PolarsData) -> pl.LazyFrame:
        """contained_in is set only on canonical rows, never to itself, with its share."""
        set_ = pl.col("contained_in").is_not_null()
        expr = ~set_ | (
            pl.col("is_canonical")
            & (pl.col("contained_in") != pl.col("doc_id"))
            & pl.col("containment").is_not_null()
        )
        return data.lazyframe.select(expr.alias("contained_in_only_on_published_rows"))

    @pa.dataframe_check(ignore_na=False)
    def status_matches_canonical(cls, data: PolarsData) -> pl.LazyFrame:
        """status is "published" exactly on canonical rows."""
        expr = (pl.col("status") == "published") == pl.col("is_canonical")
        return data.lazyframe.select(expr.alias("status_matches_canonical"))


class ArticleModel(DocumentModel):
    """Canonical documents only (same columns as `documents`): one row per distinct article."""

    doc_id: str = pa.Field(str_matches=DOC_ID_PATTERN, unique=True)
    status: str = pa.Field(isin=["published"])

    class Config:
        name = "articles"

    @pa.check("is_canonical")
    def canonical_only(cls, data: PolarsData) -> pl.LazyFrame:
        """Every article is the canonical of its cluster."""
        return data.lazyframe.select(pl.col(data.key))


class ClaimModel(pa.DataFrameModel):
    """The published `claims` table (flows.core.schema.CLAIMS)."""

    claim_id: str = pa.Field(unique=True, str_length=_non_empty())
    doc_id: str = pa.Field(str_matches=DOC_ID_PATTERN)
    sentence: str = pa.Field(str_length=_non_empty())
    start: int = pa.Field(ge=0)
    end: int
    quantity: float = pa.Field(ge=0.0)
    quantity_text: str
    qualifier: str = pa.Field(isin=list(QUALIFIERS))
    unit: str = pa.Field(nullable=True)
    source: str = pa.Field(nullable=True)
    verb: str = pa.Field(nullable=True)
    extractor: str = pa.Field(str_length=_non_empty())
    run_id: str = pa.Field(nullable=True)

    class Config:
        name = "claims"
        strict = True
        coerce = False

    @pa.check("quantity")
    def finite(cls, data: PolarsData) -> pl.LazyFrame:
        """quantity is neither infinite nor NaN."""
        return data.lazyframe.select(pl.col(data.key).is_finite())

    @pa.dataframe_check(ignore_na=False)
    def end_after_start(cls, data: PolarsData) -> pl.LazyFrame:
        """The span is non-empty: end > start."""
        return data.lazyframe.select((pl.col("end") > pl.col("start")).alias("end_after_start"))


class ClaimRowModel(ClaimModel):
    """Claims being validated, with where each row came from (dropped before publishing)."""

    source_uri: str = pa.Field(nullable=True)  # claims/<file>#<n> for external rows
    article_uri: str = pa.Field(nullable=True)  # the article an external row names by path

    class Config:
        name = "claims"


class QuarantineModel(pa.DataFrameModel):
    """The published `quarantine` table (flows.core.schema.QUARANTINE)."""

    source_uri: str = pa.Field(nullable=True)
    stage: str = pa.Field(str_matches=SNAKE_CASE)
    reason: str = pa.Field(str_matches=REASON_PATTERN)
    detail: str = pa.Field(nullable=True)
    record: str = pa.Field(nullable=True)
    run_id: str = pa.Field(nullable=True)

    class Config:
        name = "quarantine"
        strict = True
        coerce = False


class BoilerplateModel(pa.DataFrameModel):
    """The published `boilerplate` table (flows.core.schema.BOILERPLATE)."""

    doc_id: str = pa.Field(str_matches=DOC_ID_PATTERN)
    start: int = pa.Field(ge=0)
    end: int
    text: str
    support: int = pa.Field(ge=1)
    signal: str = pa.Field(isin=["recurrence", "classifier"])
    run_id: str = pa.Field(nullable=True)

    class Config:
        name = "boilerplate"
        strict = True
        coerce = False

    @pa.dataframe_check(ignore_na=False)
    def end_after_start(cls, data: PolarsData) -> pl.LazyFrame:
        """The span is non-empty: end > start."""
        return data.lazyframe.select((pl.col("end") > pl.col("start")).alias("end_after_start"))
