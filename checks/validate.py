"""The validate stage: every table the run publishes checked; failing rows quarantined, not dropped.

Documents and articles against their pandera models (a broken pipeline invariant repaired or
raised, `[validation] invariants`), built-in and external claims grounded in their articles
and checked, boilerplate spans checked; then the great-expectations checkpoint over the
documents and claims, and this run's claim timeline. The flow's task, the tests and the
benchmarks call `validate_stage` alike; the published articles and timeline rows that claims
of this run refer to are the injected `ClaimHistory`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from checks.expectations import (
    DOCUMENTS_EXPECTATIONS,
    CheckpointResult,
    CheckpointRunner,
    Suite,
    claims_expectations,
    run_checkpoint,
    slim_suites,
    with_severities,
)
from checks.grounding import claim_id, ground_claims, resolve_doc_ids
from checks.models import ArticleModel, BoilerplateModel, ClaimRowModel, DocumentModel
from checks.quarantine import BrokenInvariant, InvariantMode, split_rows
from flows.core.errors import ConfigError
from flows.core.repair import repair_documents
from flows.core.run import FieldNotes
from flows.core.schema import BOILERPLATE, CLAIMS, EXTERNAL, QUARANTINE, empty
from flows.core.settings import ValidationConfig
from flows.core.timeline import claim_timeline, topic_of

# the published articles external claim rows name, by `doc_id` or by `source_uri`
ARTICLE_COLUMNS = pl.Schema(
    {
        "doc_id": pl.String,
        "source_uri": pl.String,
        "clean_text": pl.String,
        "published_date": pl.Date,
    }
)


def no_articles(doc_ids: pl.Series, uris: pl.Series) -> pl.DataFrame:
    """Return no earlier articles: a first run, or claims checked against this run's alone."""
    del doc_ids, uris
    return empty(ARTICLE_COLUMNS)


def no_timeline(days: pl.DataFrame, claim_ids: pl.Series) -> pl.DataFrame | None:
    """Return no earlier timeline rows."""
    del days, claim_ids
    return None


@dataclass(frozen=True)
class ClaimHistory:
    """What earlier runs published that this run's claims refer to; none by default.

    Attributes
    ----------
    articles
        `(doc_ids, source_uris) -> ARTICLE_COLUMNS rows`: the published articles that
        external claim rows name (`flows/io/claim_tables.history_articles`).
    timeline
        `(days, claim_ids) -> counts or None`: earlier timeline rows' `history_counts` on
        this run's (`topic`, `published_date`) days, this run's claims left out
        (`flows/io/claim_tables.history_timeline`).
    """

    articles: Callable[[pl.Series, pl.Series], pl.DataFrame] = no_articles
    timeline: Callable[[pl.DataFrame, pl.Series], pl.DataFrame | None] = no_timeline


NO_CLAIM_HISTORY = ClaimHistory()


@dataclass(frozen=True)
class ValidateStats(FieldNotes):
    """The validate stage's figures, as the run summary names them."""

    claims_external_published: int  # external claim rows that passed grounding and checks
    claim_conflicts: int  # timeline rows in conflict with another source's figure


@dataclass(frozen=True)
class ValidateResult:
    """What the validate stage produces.

    Attributes
    ----------
    tables : dict[str, pl.DataFrame]
        The checked tables to publish: `documents`, `articles`, `claims`, `claim_timeline`
        (stamped with the run id) and `boilerplate`.
    pending : Future[CheckpointResult]
        The great-expectations checkpoint, which may still run in its worker process when
        the stage returns (`checkpoint` waits for it).
    quarantine : pl.DataFrame
        `QUARANTINE` rows: documents, articles, claims (ungrounded, then invalid) and
        boilerplate spans that failed, in that order.
    broken : tuple[BrokenInvariant, ...]
        The pipeline invariants that failed (repaired rows, or quarantined ones).
    repaired : int
        `documents` rows kept by a repair (published or duplicate).
    stats : ValidateStats
        The figures the summary notes.
    """

    tables: dict[str, pl.DataFrame]
    pending: Future[CheckpointResult]
    quarantine: pl.DataFrame
    broken: tuple[BrokenInvariant, ...]
    repaired: int
    stats: ValidateStats

    @property
    def checkpoint(self) -> CheckpointResult:
        """Return the great-expectations outcomes (and the Data Docs written), once known."""
        return self.pending.result()


@dataclass(frozen=True)
class CheckpointStats(FieldNotes):
    """No figures of its own: the checkpoint's outcomes are the summary's `expectations`."""


@dataclass(frozen=True)
class CheckpointStage:
    """The great-expectations checkpoint's outcome, as a stage of the run records it."""

    outcome: CheckpointResult
    quarantine: pl.DataFrame = field(default_factory=lambda: empty(QUARANTINE))
    stats: CheckpointStats = field(default_factory=CheckpointStats)


def validate_stage(
    documents: pl.DataFrame,
    claims_found: pl.DataFrame,
    external: pl.DataFrame,
    passages: pl.DataFrame | pl.LazyFrame,
    config: ValidationConfig,
    data_docs: Path,
    run_id: str,
    history: ClaimHistory = NO_CLAIM_HISTORY,
    checkpoint: CheckpointRunner = run_checkpoint,
) -> ValidateResult:
    """Validate every table the run publishes; failing rows are quarantined, not dropped.

    Parameters
    ----------
    documents
        The dedup stage's documents table (stamped with `run_id`).
    claims_found
        The built-in extractor's claims (`CLAIMS`).
    external
        The rows of the inbox's claim tables (`EXTERNAL`).
    passages
        The boilerplate stage's passages (`is_boilerplate` marks the removed ones), or a scan
        of them (`flows/io/shards.spill`): only the removed ones are read.
    config
        `[validation]`: invariant mode, severities, claims per article.
    data_docs
        The folder the checkpoint writes its Data Docs site to.
    run_id
        Stamped on external claim rows and on the timeline.
    history
        The published articles and timeline rows this run's claims refer to; none by default.
    checkpoint
        Runs the great-expectations suites (`run_checkpoint`, by default here); it is given
        only the columns they read (`slim_suites`). It may return a future (the checkpoint
        running in a worker process): the stage builds the timeline meanwhile and returns
        without waiting for it (`ValidateResult.checkpoint` does).
    """
    mode: InvariantMode = "raise" if config.invariants == "raise" else "repair"
    checked = split_rows(
        documents, DocumentModel, stage="validate", invariants=mode, repair=repair_documents
    )
    documents, bad_docs = checked.valid, checked.quarantine
    # Documents that pass their invariants make valid articles (one canonical per doc_id,
    # status, clean text); a canonical failing the article contract is quarantined all the same.
    split = split_rows(
        documents.filter(pl.col("status") == "published"),
        ArticleModel,
        stage="validate",
        invariants=mode,
    )
    articles, bad_articles = split.valid, split.quarantine
    # A canonical that fails the article contract is quarantined, never published.
    rejected = bad_articles.select(doc_id=pl.col("record").str.json_path_match("$.doc_id"))
    documents = documents.filter(
        ~((pl.col("status") == "published") & pl.col("doc_id").is_in(rejected["doc_id"].implode()))
    )
    claims = _validate_claims(documents, articles, claims_found, external, history, run_id, mode)
    spans = split_rows(
        passages.lazy().filter(pl.col("is_boilerplate")).select(list(BOILERPLATE)).collect(),
        BoilerplateModel,
        stage="boilerplate_table",
        uri_column="doc_id",
        invariants=mode,
    )
    suites = [
        Suite("documents", documents, DOCUMENTS_EXPECTATIONS),
        Suite(
            "claims",
            claims.valid,
            claims_expectations(articles.height, config.max_claims_per_article),
        ),
    ]
    try:
        suites = with_severities(suites, config.warn, config.block)
    except ValueError as exc:
        raise ConfigError(f"[validation] {exc}") from exc
    outcome = checkpoint(slim_suites(suites), data_docs)
    if not isinstance(outcome, Future):
        outcome = _done(outcome)
    days = (
        claims.valid.join(claims.dates, on="doc_id", how="left")
        .select(topic=topic_of(pl.col("unit")), published_date="published_date")
        .drop_nulls()
    )
    # earlier rows of claims this run publishes again count once, as this run's
    again = claims.valid.filter(topic_of(pl.col("unit")).str.len_chars() > 0)["claim_id"]
    timeline = claim_timeline(claims.valid, claims.dates, history.timeline(days, again))
    tables = {
        "documents": documents,
        "articles": articles,
        "claims": claims.valid,
        "claim_timeline": timeline.with_columns(run_id=pl.lit(run_id)),
        "boilerplate": spans.valid,
    }
    failed = [bad_docs, bad_articles, claims.quarantine, spans.quarantine]
    return ValidateResult(
        tables=tables,
        pending=outcome,
        quarantine=pl.concat([empty(QUARANTINE), *(q.cast(QUARANTINE) for q in failed)]),
        broken=checked.broken + split.broken + claims.broken + spans.broken,
        repaired=checked.repaired,
        stats=ValidateStats(
            claims_external_published=claims.external_published,
            claim_conflicts=int(timeline["conflict"].sum()),
        ),
    )


def _done(outcome: CheckpointResult) -> Future[CheckpointResult]:
    done: Future[CheckpointResult] = Future()
    done.set_result(outcome)
    return done


@dataclass(frozen=True)
class _Claims:
    """The claims that passed grounding and their contract, and what failed."""

    valid: pl.DataFrame  # CLAIMS
    quarantine: pl.DataFrame  # ungrounded rows, then invalid ones
    dates: pl.DataFrame  # `doc_id`, `published_date` of the articles claims may refer to
    broken: tuple[BrokenInvariant, ...]
    external_published: int


def _validate_claims(
    documents: pl.DataFrame,
    articles: pl.DataFrame,
    claims_found: pl.DataFrame,
    external: pl.DataFrame,
    history: ClaimHistory,
    run_id: str,
    mode: InvariantMode,
) -> _Claims:
    """Ground built-in and external claims in their articles, then check the claims contract."""
    referenced = history.articles(
        external["doc_id"].drop_nulls(), external["article_uri"].drop_nulls()
    )
    known = pl.concat(
        [articles.select("doc_id", "source_uri", "clean_text", "published_date"), referenced]
    ).unique("doc_id", keep="first", maintain_order=True)
    # An article named by path resolves to its canonical: a claim about a copy is a claim about
    # the article that is published (grounding then checks the sentence is in that text).
    paths = pl.concat(
        [
            documents.select("source_uri", doc_id=pl.coalesce("duplicate_of", "doc_id")),
            referenced.select("source_uri", "doc_id"),
        ]
    )
    rows = resolve_doc_ids(external, paths).with_columns(claim_id=claim_id(), run_id=pl.lit(run_id))
    built_in = claims_found.with_columns(
        source_uri=pl.col("doc_id"), article_uri=pl.lit(None, dtype=pl.String)
    )
    both = pl.concat([built_in.select(list(EXTERNAL)), rows.select(list(EXTERNAL))])
    grounded, ungrounded = ground_claims(both, known.select("doc_id", "clean_text"))
    split = split_rows(grounded, ClaimRowModel, stage="claims", invariants=mode)
    return _Claims(
        valid=split.valid.select(list(CLAIMS)),
        quarantine=pl.concat([ungrounded, split.quarantine]),
        dates=known.select("doc_id", "published_date"),
        broken=split.broken,
        external_published=int(split.valid["extractor"].str.starts_with("external:").sum()),
    )
