"""Prefect tasks: thin wrappers that call core functions and adapters, one per pipeline stage."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import polars as pl
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError

from checks.expectations import (
    DOCUMENTS_EXPECTATIONS,
    CheckpointResult,
    Suite,
    claims_expectations,
    run_checkpoint,
    with_severities,
)
from checks.grounding import ground_claims, resolve_doc_ids
from checks.models import (
    ArticleModel,
    BoilerplateModel,
    ClaimRowModel,
    DocumentModel,
    NormalisedDocModel,
)
from checks.quarantine import BrokenInvariant, InvariantMode, split_rows, split_valid
from flows.core import accounting
from flows.core.boilerplate import (
    PASSAGE_INDEX,
    BoilerplateResult,
    boilerplate_stage,
    passage_banding,
    passage_index_chunks,
)
from flows.core.claims import extract_claims
from flows.core.dedup import dedup_banding, doc_buckets, doc_signatures, searchable
from flows.core.dedup_stage import DedupResult, dedup_stage, index_rows
from flows.core.drops import KnownResult, drop_where, forget_repeats, set_aside_known
from flows.core.errors import ConfigError, NewsdqError, errno_of
from flows.core.repair import repair_documents
from flows.core.schema import BOILERPLATE, CLAIMS, QUARANTINE, empty
from flows.core.settings import IngestConfig, MinHashConfig, Settings
from flows.core.text import normalise_documents
from flows.core.timeline import claim_timeline, topic_of
from flows.core.titles import document_title
from flows.io.claim_tables import (
    CLAIM_FILES,
    EXTERNAL,
    ExternalClaims,
    claim_id,
    history_articles,
    history_timeline,
    read_claim_tables,
)
from flows.io.index import (
    BOILERPLATE as BOILERPLATE_INDEX,
)
from flows.io.index import (
    bands_table,
    boilerplate_rows,
    passages_table,
    signatures_table,
    snapshot_dedup_history,
    snapshot_history,
)
from flows.io.ingest import FILES_LEDGER, inbox_files, read_files
from flows.io.page_model import page_model_for
from flows.io.shards import Chunked, ShardStats, read_shards, write_shard
from flows.io.store import Store

# Frames move between tasks in memory: skip Prefect's input hashing (ECOSYSTEM.md).
STAGE: dict[str, Any] = {"cache_policy": NO_CACHE}


def transient(task: Any, task_run: Any, state: Any) -> bool:
    """Tell Prefect to retry only I/O errors that may pass, never a bad inbox or bad data."""
    del task, task_run
    try:
        state.result()
    except NewsdqError:
        return False  # a missing inbox or a bad config stays missing or bad
    except OSError as exc:
        # A busy disk or a network mount that blinked may pass; a full or read-only disk and
        # a refused permission do not within the seconds of a retry.
        return errno_of(exc) is None
    except Exception:
        return False
    return False


# Stages that only read (the inbox, the published history) retry I/O errors; data stages do
# not, since the same input fails the same way. Publishing does not either: it recovers on the
# next run instead (flows/io/store.py).
READS: dict[str, Any] = {
    **STAGE,
    "retries": 2,
    "retry_delay_seconds": 2,
    "retry_condition_fn": transient,
}


@dataclass
class History:
    """What earlier runs published that this run compares against."""

    files: pl.DataFrame | None
    claim_files: pl.DataFrame | None
    doc_ids: pl.Series
    snapshot: Path | None
    quarantine: pl.DataFrame | None


class StageStats(Protocol):
    """A stage's figures (`BoilerplateStats`, `DedupStats`)."""

    def notes(self) -> dict[str, Any]:
        """Return the figures by their names in the run summary's notes."""
        ...


class StageResult(Protocol):
    """What a stage of `flows/core` returns besides its frames: quarantine rows and figures."""

    @property
    def quarantine(self) -> pl.DataFrame:
        """Return the stage's `QUARANTINE` rows."""
        ...

    @property
    def stats(self) -> StageStats:
        """Return the stage's figures."""
        ...


@dataclass
class RunState:
    """Everything a run produces, accumulated stage by stage."""

    run_id: str
    quarantine: list[pl.DataFrame] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    repeats: pl.DataFrame = field(default_factory=lambda: empty(QUARANTINE))
    # pipeline invariants that failed at validation (repaired rows, or quarantined ones)
    broken: list[BrokenInvariant] = field(default_factory=list)
    repaired: int = 0  # documents rows kept by a repair (published or duplicate)

    def record(self, name: str, result: StageResult, seconds: float) -> None:
        """Keep a stage's seconds, figures and quarantine rows, in the order stages finish.

        The one place a stage's outcome reaches the run state, and from it the summary, the
        report and the Prefect artifacts: the stage's task returns its result and changes
        nothing.
        """
        self.timings[name] = round(seconds, 3)
        self.notes.update(result.stats.notes())
        self.quarantine.append(result.quarantine)

    def quarantined(self) -> pl.DataFrame:
        """Return all quarantine rows so far, stamped with the run id."""
        frames = [q.cast(dict(QUARANTINE)) for q in self.quarantine]
        return pl.concat([empty(QUARANTINE), *frames]).with_columns(run_id=pl.lit(self.run_id))

    def forget_repeats(self, earlier: pl.DataFrame | None) -> None:
        """Set aside quarantine rows that an earlier run already quarantined."""
        fresh, self.repeats = forget_repeats(self.quarantined(), earlier)
        self.quarantine = [fresh]


def _timed(state: RunState, name: str, started: float) -> None:
    state.timings[name] = round(time.perf_counter() - started, 3)


@task(name="read-history", **READS)
def read_history(store: Store) -> History:
    """Load the file ledger, known document ids and quarantine of earlier runs."""
    documents = store.scan("documents", columns=["doc_id"])
    doc_ids = pl.Series([], dtype=pl.String) if documents is None else documents["doc_id"].unique()
    return History(
        files=store.scan("index/files", schema=FILES_LEDGER),
        claim_files=store.scan(CLAIM_FILES),
        doc_ids=doc_ids,
        snapshot=store.current,
        quarantine=store.scan("quarantine"),
    )


@task(name="list-inbox", **READS)
def list_inbox(inbox: str, settings: Settings) -> list[str]:
    """List the inbox's input files (inbox-relative names, sorted)."""
    return inbox_files(inbox, settings.ingest)


@dataclass(frozen=True)
class IngestShard:
    """What one ingest shard task wrote (Parquet paths) and counted."""

    docs: str  # normalised, valid documents (known ones included)
    quarantine: str  # unreadable records (stage ingest)
    empties: str  # records empty after normalisation
    invalid: str  # records failing the normalised-document contract
    files: str  # the FILES_LEDGER rows of the shard's files
    records_read: int  # records of the files read: documents + ingest quarantine
    already_seen_records: int  # records of files skipped as read by an earlier run


@task(name="ingest-shard", **READS)
def ingest_shard(
    inbox: str,
    names: list[str],
    config: IngestConfig,
    seen: pl.DataFrame | None,
    dest: str,
) -> IngestShard:
    """Read and normalise one shard of the inbox's files; write the frames under `dest`."""
    result = read_files(inbox, names, config, seen=seen)
    docs, empties, invalid = normalise_raw(result.docs)
    return IngestShard(
        docs=write_shard(docs, dest, "docs"),
        quarantine=write_shard(result.quarantine, dest, "quarantine"),
        empties=write_shard(empties, dest, "empties"),
        invalid=write_shard(invalid, dest, "invalid"),
        files=write_shard(result.files, dest, "files"),
        records_read=result.docs.height + result.quarantine.height,
        already_seen_records=result.already_seen_records,
    )


def normalise_raw(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Normalise raw documents; return them, those empty after it, and those failing the contract.

    Row by row: a shard's result is the rows of the whole inbox's result.
    """
    # The metadata title stands until the boilerplate stage finds the first real headline.
    docs = normalise_documents(raw.lazy()).collect()
    docs = docs.with_columns(title=document_title(docs.columns))
    docs, empties = drop_where(
        docs,
        pl.col("text").str.len_chars() == 0,
        stage="normalise",
        reason="empty_after_cleaning",
        detail=pl.lit("no text left after unicode and white-space normalisation"),
    )
    docs, invalid = split_valid(docs, NormalisedDocModel, stage="normalise")
    return docs, empties, invalid


@dataclass(frozen=True)
class Ingested:
    """The inbox as the ingest shards read it, gathered in the flow: the ingest stage's result."""

    docs: pl.DataFrame  # normalised documents (known ones included)
    files: pl.DataFrame  # FILES_LEDGER of every file looked at
    records_read: int
    already_seen_records: int
    quarantine: pl.DataFrame  # unreadable records (stage ingest)
    # records that normalisation in the shards dropped (stage normalise): empty after it, then
    # failing the normalised-document contract; the normalise stage reports them
    rejected: pl.DataFrame
    stats: ShardStats


def gather_ingest(shards: list[IngestShard]) -> Ingested:
    """Read the ingest shards back (at least one), in shard order.

    Returns every normalised document (before known ones are set aside), the unreadable
    records, and those normalisation dropped: empty after it, then invalid.
    """
    return Ingested(
        docs=read_shards([s.docs for s in shards]),
        files=read_shards([s.files for s in shards], FILES_LEDGER),
        records_read=sum(s.records_read for s in shards),
        already_seen_records=sum(s.already_seen_records for s in shards),
        quarantine=read_shards([s.quarantine for s in shards], QUARANTINE),
        rejected=read_shards([s.empties for s in shards] + [s.invalid for s in shards], QUARANTINE),
        stats=ShardStats(len(shards), note="ingest_shards"),
    )


@task(name="external-claims", **READS)
def external_claims(inbox: str, settings: Settings, history: History) -> ExternalClaims:
    """Read the claim tables of the inbox's claims/ folder; unreadable rows go to quarantine."""
    limit = settings.ingest.max_file_bytes
    return read_claim_tables(inbox, seen=history.claim_files, max_file_bytes=limit)


@task(name="normalise", **STAGE)
def normalise(ingested: Ingested, history: History) -> KnownResult:
    """Set aside documents that an earlier run published (same `doc_id`).

    The rows that normalisation (in the ingest shards) dropped are this stage's quarantine.
    """
    result = set_aside_known(ingested.docs, history.doc_ids)
    return replace(result, quarantine=ingested.rejected)


@task(name="boilerplate", **STAGE)
def boilerplate(
    docs: pl.DataFrame, settings: Settings, history: History, run_id: str
) -> BoilerplateResult:
    """Remove recurring publisher boilerplate; documents with nothing left are quarantined.

    Returns the stage's result: the documents, all their passages (with signatures and
    `is_boilerplate`, for the boilerplate table and the index; stamped with `run_id`), the
    quarantine rows and the figures. Support counts this run's documents and those of earlier
    runs (the passage index), so a kit seen on two pages an hour is found by the second.
    """
    mh, bp = settings.minhash, settings.boilerplate
    earlier = snapshot_history(history.snapshot, mh, bp)
    result = boilerplate_stage(docs, mh, bp, earlier, page_model_for(bp))
    return replace(result, passages=result.passages.with_columns(run_id=pl.lit(run_id)))


def signature_inputs(docs: pl.DataFrame) -> pl.DataFrame:
    """Return the texts to sign: one row per distinct `doc_id`, in order of first appearance."""
    return docs.select("doc_id", "clean_text").unique("doc_id", keep="first", maintain_order=True)


@task(name="signatures-shard", **STAGE)
def signatures_shard(src: str, dest: str, minhash: MinHashConfig, short_tokens: int) -> str:
    """Compute the MinHash signatures of one shard of texts; return the Parquet path written."""
    texts = pl.read_parquet(src)
    return write_shard(doc_signatures(texts, minhash, short_tokens), dest, "signatures")


def gather_signatures(paths: list[str]) -> pl.DataFrame:
    """Read the signature shards back in shard order (as `doc_signatures` of all texts)."""
    return read_shards(paths).unique("doc_id", keep="first", maintain_order=True)


@task(name="dedup", **STAGE)
def dedup(
    docs: pl.DataFrame, sigs: pl.DataFrame, settings: Settings, history: History, run_id: str
) -> DedupResult:
    """Cluster exact and near-duplicates (signed by the signature shards) against each other
    and the published index, and find contained texts; the documents carry `run_id`.
    """
    mh, dd = settings.minhash, settings.dedup
    earlier = snapshot_dedup_history(history.snapshot, mh, dd)
    result = dedup_stage(docs, sigs, mh, dd, settings.containment, earlier)
    return replace(result, documents=result.documents.with_columns(run_id=pl.lit(run_id)))


def claim_inputs(documents: pl.DataFrame) -> pl.DataFrame:
    """Return the canonical articles' texts, one row per `doc_id`, sorted by it.

    `extract_claims` orders its rows by `doc_id`, so shards of this frame give, concatenated
    in order, the claims of all of it.
    """
    return (
        documents.filter(pl.col("is_canonical"))
        .select("doc_id", "clean_text")
        .drop_nulls()
        .unique("doc_id", keep="first", maintain_order=True)
        .sort("doc_id")
    )


@task(name="claims-shard", **STAGE)
def claims_shard(src: str, dest: str, extractor: str, run_id: str) -> str:
    """Extract the claims of one shard of articles; return the Parquet path written."""
    found = extract_claims(pl.read_parquet(src), extractor=extractor, run_id=run_id)
    return write_shard(found.select(list(CLAIMS)), dest, "claims")


def gather_claims(paths: list[str]) -> pl.DataFrame:
    """Read the claim shards back in shard order."""
    return read_shards(paths, CLAIMS).select(list(CLAIMS))


@task(name="validate", **STAGE)
def validate(
    documents: pl.DataFrame,
    claims_found: pl.DataFrame,
    external: ExternalClaims,
    passages: pl.DataFrame,
    run_dir: Path,
    history: History,
    settings: Settings,
    state: RunState,
) -> tuple[dict[str, pl.DataFrame], CheckpointResult]:
    """Validate every published table; failing rows are quarantined, not dropped."""
    started = time.perf_counter()
    mode = _invariant_mode(settings)
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
    _record_broken(state, checked.broken + split.broken)
    state.repaired += checked.repaired
    # A canonical that fails the article contract is quarantined, never published.
    rejected = bad_articles.select(doc_id=pl.col("record").str.json_path_match("$.doc_id"))
    documents = documents.filter(
        ~((pl.col("status") == "published") & pl.col("doc_id").is_in(rejected["doc_id"].implode()))
    )
    claims_ok, bad_claims, dates = _validate_claims(
        documents, articles, claims_found, external, history, state, mode
    )
    spans = split_rows(
        passages.filter(pl.col("is_boilerplate")).select(list(BOILERPLATE)),
        BoilerplateModel,
        stage="boilerplate_table",
        uri_column="doc_id",
        invariants=mode,
    )
    passages_ok, bad_passages = spans.valid, spans.quarantine
    _record_broken(state, spans.broken)
    state.quarantine += [bad_docs, bad_articles, bad_claims, bad_passages]
    suites = [
        Suite("documents", documents, DOCUMENTS_EXPECTATIONS),
        Suite(
            "claims",
            claims_ok,
            claims_expectations(articles.height, settings.validation.max_claims_per_article),
        ),
    ]
    try:
        suites = with_severities(suites, settings.validation.warn, settings.validation.block)
    except ValueError as exc:
        raise ConfigError(f"[validation] {exc}") from exc
    checkpoint = run_checkpoint(suites, run_dir / "data_docs")
    _timed(state, "validate", started)
    days = (
        claims_ok.join(dates, on="doc_id", how="left")
        .select(topic=topic_of(pl.col("unit")), published_date="published_date")
        .drop_nulls()
    )
    # earlier rows of claims this run publishes again count once, as this run's
    again = claims_ok.filter(topic_of(pl.col("unit")).str.len_chars() > 0)["claim_id"]
    earlier = history_timeline(history.snapshot, days, again)
    timeline = claim_timeline(claims_ok, dates, earlier)
    state.notes["claim_conflicts"] = int(timeline["conflict"].sum())
    tables = {
        "documents": documents,
        "articles": articles,
        "claims": claims_ok,
        "claim_timeline": timeline.with_columns(run_id=pl.lit(state.run_id)),
        "boilerplate": passages_ok,
    }
    return tables, checkpoint


def _invariant_mode(settings: Settings) -> InvariantMode:
    return "raise" if settings.validation.invariants == "raise" else "repair"


def _record_broken(state: RunState, broken: tuple[BrokenInvariant, ...]) -> None:
    """Keep the run's broken pipeline invariants and warn: the pipeline misbehaved."""
    if not broken:
        return
    state.broken += broken
    try:
        logger: Any = get_run_logger()
    except MissingContextError:
        logger = logging.getLogger(__name__)
    for b in broken:
        logger.warning(
            "pipeline invariant %s.%s broken at stage %s on %d row(s) (%d repaired and kept, "
            "%d quarantined), e.g. doc_id %s: a bug of the pipeline, not of the input",
            b.table,
            b.check,
            b.stage,
            b.rows,
            b.repaired,
            b.quarantined,
            ", ".join(str(i) for i in b.doc_ids),
        )


def index_tables(
    documents: pl.DataFrame,
    sigs: pl.DataFrame,
    passages: pl.DataFrame,
    settings: Settings,
    rebuilt: pl.DataFrame | None = None,
) -> dict[str, pl.DataFrame | Chunked]:
    """Return this run's rows of the index: signatures, band hashes, boilerplate variants.

    `rebuilt` holds earlier runs' documents signed again (`rebuild_index`), written with
    this run's rows so that the next run finds them. The passage index is `Chunked`: its rows
    are built a chunk at a time while `Store.publish` writes them.
    """
    rows = index_rows(documents, sigs)
    if rebuilt is not None and rebuilt.height:
        rows = pl.concat([rebuilt.select(rows.columns), rows]).unique(
            "doc_id", keep="last", maintain_order=True
        )
    banding = dedup_banding(settings.minhash, settings.dedup)
    return {
        signatures_table(settings.minhash): rows,
        bands_table(banding, settings.minhash): doc_buckets(
            searchable(rows, settings.dedup), banding
        ).sort("band", "band_hash"),
        # Only recurring kits become known variants: a classifier's verdict on one page is not
        # evidence that a near-copy elsewhere is boilerplate.
        BOILERPLATE_INDEX: boilerplate_rows(passages, pl.col("signal") == "recurrence"),
        # 25 rows per passage (14.3M on the 34,173-page inbox): built and written by chunks
        passages_table(passage_banding(settings.minhash, settings.boilerplate)): Chunked(
            PASSAGE_INDEX,
            lambda: passage_index_chunks(
                passages, documents, settings.minhash, settings.boilerplate
            ),
        ),
    }


def _validate_claims(
    documents: pl.DataFrame,
    articles: pl.DataFrame,
    claims_found: pl.DataFrame,
    external: ExternalClaims,
    history: History,
    state: RunState,
    mode: InvariantMode,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Ground built-in and external claims in their articles, then check the claims contract.

    Returns the valid claims, their quarantine rows, and the dates (`doc_id`,
    `published_date`) of the articles they may refer to.
    """
    rows = external.rows
    referenced = history_articles(
        history.snapshot, rows["doc_id"].drop_nulls(), rows["article_uri"].drop_nulls()
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
    rows = resolve_doc_ids(rows, paths).with_columns(
        claim_id=claim_id(), run_id=pl.lit(state.run_id)
    )
    built_in = claims_found.with_columns(
        source_uri=pl.col("doc_id"), article_uri=pl.lit(None, dtype=pl.String)
    )
    both = pl.concat([built_in.select(list(EXTERNAL)), rows.select(list(EXTERNAL))])
    grounded, ungrounded = ground_claims(both, known.select("doc_id", "clean_text"))
    split = split_rows(grounded, ClaimRowModel, stage="claims", invariants=mode)
    valid, invalid = split.valid, split.quarantine
    _record_broken(state, split.broken)
    state.notes["claims_external_published"] = int(
        valid["extractor"].str.starts_with("external:").sum()
    )
    dates = known.select("doc_id", "published_date")
    return valid.select(list(CLAIMS)), pl.concat([ungrounded, invalid]), dates


@task(name="summarise", **STAGE)
def summarise(
    state: RunState,
    history: History,
    ingest_result: Ingested,
    tables: dict[str, pl.DataFrame],
    checkpoint: CheckpointResult,
    context: dict[str, Any],
) -> dict[str, Any]:
    """Build the run summary: counts per outcome, reasons, validation outcomes, timings.

    Records quarantined by an earlier run are counted as already ingested, not again.
    """
    state.forget_repeats(history.quarantine)
    quarantine = state.quarantined()
    records_read = ingest_result.records_read
    repeats = state.repeats.filter(pl.col("stage").is_in(accounting.DOCUMENT_STAGES)).height
    counts = accounting.account(
        records_read=records_read,
        skipped_records=ingest_result.already_seen_records,
        known_docs=int(state.notes.get("known_docs", 0)) + repeats,
        documents=tables["documents"],
        quarantine=quarantine,
    )
    accounting.check_identity(counts)
    # documents rows kept by a repair (published or duplicate): the pipeline misbehaved on them
    counts["invariant_repairs"] = state.repaired
    failed = [o for o in checkpoint.outcomes if not o.success]
    blocking = [o for o in failed if o.severity == "error"]
    warned = failed or state.broken
    verdict = "blocked" if blocking else ("passed_with_warnings" if warned else "passed")
    return {
        "run_id": state.run_id,
        **context,
        "verdict": verdict,
        "counts": counts,
        "quarantine_by_reason": accounting.quarantine_by_reason(quarantine),
        # checks of columns the pipeline derives that failed (checks/models.py INVARIANTS)
        "pipeline_invariants": [b.as_dict() for b in state.broken],
        # Per stage too, for the report's and the artifacts' per-stage table.
        "quarantine_by_stage": dict(quarantine.group_by("stage").len().sort("stage").iter_rows()),
        "tables": {name: frame.height for name, frame in tables.items()},
        "expectations": [
            {
                "suite": o.suite,
                "expectation": o.expectation,
                "column": o.column,
                "severity": o.severity,
                "success": o.success,
                "unexpected_count": o.unexpected_count,
                "sample": o.sample,
            }
            for o in checkpoint.outcomes
        ],
        "stages_seconds": state.timings,
        "notes": state.notes,
    }
