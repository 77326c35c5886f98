"""Prefect tasks: thin wrappers that call core functions and adapters, one per pipeline stage."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError

from checks.expectations import CheckpointResult, Suite, run_checkpoint
from checks.summary import RunSummary, run_summary
from checks.validate import CheckpointStage, ClaimHistory, ValidateResult, validate_stage
from flows.core.boilerplate import (
    BoilerplateResult,
    boilerplate_stage,
    passage_banding,
    passage_index_chunks,
    passage_keys_schema,
)
from flows.core.dedup import (
    BUCKET_ROWS,
    dedup_banding,
    doc_bucket_chunks,
    doc_signatures,
    searchable,
)
from flows.core.dedup_stage import DedupResult, dedup_stage, index_rows
from flows.core.drops import KnownResult, set_aside_known
from flows.core.errors import NewsdqError, errno_of
from flows.core.run import RunState
from flows.core.schema import CLAIMS, QUARANTINE
from flows.core.settings import IngestConfig, MinHashConfig, Settings
from flows.io import workers
from flows.io.claim_tables import (
    CLAIM_FILES,
    ExternalClaims,
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
from flows.io.ingest import FILES_LEDGER, inbox_files
from flows.io.ingest.shard import IngestShard, ingest_job
from flows.io.page_model import page_model_for
from flows.io.shard_jobs import claims_job
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


@dataclass(frozen=True)
class Listing:
    """The inbox's input files: the list-inbox task's result.

    A dataclass, not the list itself: Prefect links each element of a task's list result to
    its task run (34,173 names: 0.26 s of the list stage), and a dataclass by its fields.
    """

    names: list[str]  # inbox-relative, sorted


@task(name="list-inbox", **READS)
def list_inbox(inbox: str, settings: Settings) -> Listing:
    """List the inbox's input files (inbox-relative names, sorted)."""
    return Listing(inbox_files(inbox, settings.ingest))


@task(name="ingest-shard", **READS)
def ingest_shard(
    inbox: str,
    names: list[str],
    config: IngestConfig,
    seen: pl.DataFrame | None,
    dest: str,
) -> IngestShard:
    """Read and normalise one shard of the inbox's files (in a worker process when the stage
    opened a pool); write the frames under `dest`.
    """
    return workers.run(ingest_job, inbox, names, config, seen, dest)


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

    def without_documents(self) -> Ingested:
        """Return the result with no document rows (same columns), for a run done with them."""
        return replace(self, docs=self.docs.clear())


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
    """Extract the claims of one shard of articles (in a worker process when the stage opened
    a pool); return the Parquet path written.
    """
    return workers.run(claims_job, src, dest, extractor, run_id)


def gather_claims(paths: list[str]) -> pl.DataFrame:
    """Read the claim shards back in shard order."""
    return read_shards(paths, CLAIMS).select(list(CLAIMS))


@task(name="validate", **STAGE)
def validate(
    documents: pl.DataFrame,
    claims_found: pl.DataFrame,
    external: ExternalClaims,
    passages: pl.DataFrame | pl.LazyFrame,
    run_dir: Path,
    history: History,
    settings: Settings,
    run_id: str,
    checker: workers.StandingWorker | None = None,
) -> ValidateResult:
    """Validate every published table; failing rows are quarantined, not dropped.

    The great-expectations checkpoint runs in `checker`'s worker process when it was started,
    and may still run when this returns: `checkpoint` waits for it.
    """

    def checkpoint(
        suites: Sequence[Suite], docs_dir: Path
    ) -> CheckpointResult | Future[CheckpointResult]:
        if checker is None:
            return run_checkpoint(suites, docs_dir)
        return checker.submit(run_checkpoint, suites, docs_dir)

    return warn_broken(
        validate_stage(
            documents,
            claims_found,
            external.rows,
            passages,
            settings.validation,
            run_dir / "data_docs",
            run_id,
            ClaimHistory(
                partial(history_articles, history.snapshot),
                partial(history_timeline, history.snapshot),
            ),
            checkpoint,
        )
    )


@task(name="checkpoint", **STAGE)
def checkpoint(validated: ValidateResult) -> CheckpointStage:
    """Wait for the validate stage's great-expectations checkpoint; return its outcome."""
    return CheckpointStage(validated.checkpoint)


def warn_broken(result: ValidateResult) -> ValidateResult:
    """Log a warning per broken pipeline invariant of `result`: the pipeline misbehaved."""
    if not result.broken:
        return result
    try:
        logger: Any = get_run_logger()
    except MissingContextError:
        logger = logging.getLogger(__name__)
    for b in result.broken:
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
    return result


def index_tables(
    documents: pl.DataFrame,
    sigs: pl.DataFrame,
    passages: pl.DataFrame | pl.LazyFrame,
    settings: Settings,
    rebuilt: pl.DataFrame | None = None,
) -> dict[str, pl.DataFrame | Chunked]:
    """Return this run's rows of the index: signatures, band hashes, boilerplate variants.

    `rebuilt` holds earlier runs' documents signed again (`rebuild_index`), written with
    this run's rows so that the next run finds them. The band table and the passage index are
    `Chunked`: their rows are built a chunk at a time while `Store.publish` writes them.
    """
    rows = index_rows(documents, sigs)
    if rebuilt is not None and rebuilt.height:
        rows = pl.concat([rebuilt.select(rows.columns), rows]).unique(
            "doc_id", keep="last", maintain_order=True
        )
    banding = dedup_banding(settings.minhash, settings.dedup)
    passage_bands = passage_banding(settings.minhash, settings.boilerplate)
    return {
        signatures_table(settings.minhash): rows,
        # a row per band of each document (7.7M on the 100,000-page inbox): built and written
        # a block of bands at a time
        bands_table(banding, settings.minhash): Chunked(
            BUCKET_ROWS, lambda: doc_bucket_chunks(searchable(rows, settings.dedup), banding)
        ),
        # Only recurring kits become known variants: a classifier's verdict on one page is not
        # evidence that a near-copy elsewhere is boilerplate.
        BOILERPLATE_INDEX: boilerplate_rows(
            passages, settings.minhash, pl.col("signal") == "recurrence"
        ),
        # a row per passage and its 25 band hashes (571k on the 34,173-page inbox): built and
        # written by chunks
        passages_table(passage_bands): Chunked(
            passage_keys_schema(passage_bands.bands),
            lambda: passage_index_chunks(
                passages, documents, settings.minhash, settings.boilerplate
            ),
        ),
    }


@task(name="summarise", **STAGE)
def summarise(
    state: RunState,
    history: History,
    ingested: Ingested,
    validated: ValidateResult,
    context: dict[str, Any],
) -> RunSummary:
    """Build the run summary: counts per outcome, reasons, validation outcomes, timings.

    Records quarantined by an earlier run are counted as already ingested, not again.
    """
    return run_summary(
        state,
        history.quarantine,
        ingested.records_read,
        ingested.already_seen_records,
        validated,
        context,
    )
