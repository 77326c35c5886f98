"""The shard stages (ingest, signatures, claims) and the task runners they run on.

A shard stage writes its inputs as Parquet slices under the run's staging folder, submits one
task per slice to the runner (threads in the flow process, processes on this machine, or a Dask
cluster) and gathers the results in shard order (`flows/io/shards.py`).
"""

from __future__ import annotations

import logging
import os
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from prefect.context import FlowRunContext
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows import tasks
from flows.core.schema import QUARANTINE, empty
from flows.core.settings import RunnerConfig, Settings
from flows.io import workers
from flows.io.ingest import file_sizes, file_uri
from flows.io.ingest.shard import ready as ingest_ready
from flows.io.location import is_local, local_path
from flows.io.progress import StageProgress
from flows.io.shard_jobs import ready as claims_ready
from flows.io.shards import Gathered, ShardStats, sized_slices, write_slices
from flows.io.workers import process_workers, usable_cpus


def _use_api(api_url: str | None) -> None:
    """Point this worker process at the flow's Prefect API."""
    if api_url:
        os.environ["PREFECT_API_URL"] = api_url


def shard_runner(config: RunnerConfig, scratch: Path, api_url: str | None) -> TaskRunner[Any]:
    """Return the (not yet started) task runner for the shard stages of a run.

    Parameters
    ----------
    config
        `[runner]` settings: threads, a Dask scheduler's address, or a LocalCluster's size.
    scratch
        A folder for a LocalCluster's worker files (the run's staging folder: removed with it).
    api_url
        The Prefect API the flow reports to, given to LocalCluster workers so that they report
        their task runs there (without it each worker process would start a server of its own
        when the flow runs on Prefect's temporary one). Workers of a cluster at `dask_address`
        need PREFECT_API_URL in their own environment.
    """
    if config.kind == "threads":
        # One thread a usable core, not Prefect's one a task: the ingest shards' nine threads
        # of the 34,173-page inbox queued for the GIL after every read (stage alone: 3.5-3.6 s
        # against 2.5-2.65 s on two threads, `bench/ingest_speed.py --workers`).
        return ThreadPoolTaskRunner(max_workers=config.max_workers or usable_cpus())
    if config.kind == "processes":
        # Like a LocalCluster's workers, each process must report to the flow's API (the
        # temporary server's too), or it would start a server of its own.
        return ProcessPoolTaskRunner(
            max_workers=config.max_workers or None,
            initializer=_use_api,
            initargs=(api_url,),
        )
    from prefect_dask import DaskTaskRunner

    if config.dask_address:
        return DaskTaskRunner(address=config.dask_address)
    env = {"PREFECT_API_URL": api_url} if api_url else {}
    # The cluster lives for one run: its start-up and shut-down chatter (INFO lines of the
    # scheduler and nannies, which run in this process) is not the run's news.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": config.n_workers,
            "threads_per_worker": config.threads_per_worker,
            "processes": True,
            # The scheduler's HTTP server always starts; a free port, not a taken 8787.
            "dashboard_address": "127.0.0.1:0",
            "local_directory": str(scratch),
            "env": env,
        },
    )


# --- the shard stages: tasks exchange Parquet paths under the run's staging folder ----------


def api_url() -> str | None:
    """Return the Prefect API this flow run reports to (the temporary server's too)."""
    context = FlowRunContext.get()
    client = getattr(context, "client", None)
    url = getattr(client, "api_url", None)
    return str(url) if url else None


@dataclass(frozen=True)
class ShardPool:
    """Where a run's shard stages run: the started task runner, the staging folder, the bars."""

    runner: TaskRunner[Any]
    staging: Path  # absolute: shard tasks may run in processes with another working folder
    bars: StageProgress


def run_shards(
    pool: ShardPool, shard_task: Any, parameters: list[dict[str, Any]], name: str
) -> list[Any]:
    """Submit one task per shard; return the results in shard order (not completion order)."""
    with pool.bars.stage(name, total=len(parameters), unit="shards") as advance:
        futures = [pool.runner.submit(shard_task, parameters=p) for p in parameters]
        for future in futures:
            future.wait()
            advance()
        return [future.result() for future in futures]


@dataclass(frozen=True)
class IngestPlan:
    """The inbox's input files in shards, listed before the ingest stage: the list stage's result.

    Listed first so that the flow knows how many shards there are, and opens the ingest
    workers (`ingest_workers`) before it reads the history and sets the task runner up.
    """

    inbox: str
    shards: list[list[str]]  # inbox-relative names, sorted, in contiguous slices

    @property
    def quarantine(self) -> pl.DataFrame:
        """Return no rows: listing quarantines nothing."""
        return empty(QUARANTINE)

    @property
    def stats(self) -> ShardStats:
        """Return the shard count (not noted: the ingest stage notes it)."""
        return ShardStats(len(self.shards))


def plan_ingest(inbox: str, settings: Settings) -> IngestPlan:
    """List the inbox and cut its files into shards by bytes and count (`[runner]`)."""
    names = tasks.list_inbox(inbox, settings).names
    runner = settings.runner
    sizes = file_sizes(inbox, names)
    return IngestPlan(
        inbox, sized_slices(names, sizes, runner.shard_bytes, runner.shard_files) or [[]]
    )


def ingest_workers(settings: Settings, plan: IngestPlan) -> AbstractContextManager[int]:
    """Open the ingest stage's worker processes for the shards of `plan`.

    Reading, decoding and normalising a file is Python that holds the GIL for much of its
    work, so the shard threads used about one core. The flow opens the pool as soon as the
    inbox is listed: the processes start and import (about 1 s each) while it reads the
    history and sets the task runner up, and `ingest` then uses them.
    """
    return workers.worker_processes(
        process_workers(settings.runner), len(plan.shards), ingest_ready
    )


def ingest(
    pool: ShardPool, plan: IngestPlan, settings: Settings, history: tasks.History
) -> tasks.Ingested:
    """Read and normalise the inbox's files in the shards of `plan`; return them gathered."""
    inbox = plan.inbox
    seen = history.files
    where = str(local_path(inbox).absolute()) if is_local(inbox) else inbox
    parameters = [
        {
            "inbox": where,
            # quoted: Prefect would visit every name of every shard as a possible input of
            # another task (0.74 s of the 34,173-page inbox's ingest stage) and again when it
            # resolves the parameters; the task gets the list itself. Not on Dask, whose
            # serialisation takes the quote (a named tuple) apart.
            "names": shard if settings.runner.kind == "dask" else quote(shard),
            "config": settings.ingest,
            # each shard gets the ledger rows of its own files only
            "seen": None
            if seen is None
            else seen.filter(pl.col("source_uri").is_in([file_uri(n) for n in shard])),
            "dest": str(pool.staging / "ingest" / f"{i:05d}"),
        }
        for i, shard in enumerate(plan.shards)
    ]
    with ingest_workers(settings, plan):  # the pool the flow opened, or one opened here
        results = run_shards(pool, tasks.ingest_shard, parameters, "ingest")
    return tasks.gather_ingest(results)


def signatures(pool: ShardPool, docs: pl.DataFrame, settings: Settings) -> Gathered:
    """Compute the documents' MinHash signatures in shards of texts."""
    paths = sharded(
        pool,
        tasks.signatures_shard,
        tasks.signature_inputs(docs),
        settings.runner.shard_docs,
        {"minhash": settings.minhash, "short_tokens": settings.dedup.short_tokens},
        "signatures",
    )
    return Gathered(tasks.gather_signatures(paths), ShardStats(len(paths)))


def claims(pool: ShardPool, documents: pl.DataFrame, settings: Settings, run_id: str) -> Gathered:
    """Extract the claims of the canonical articles in shards of articles.

    Under the threads runner the shards run in worker processes (`flows/io/workers.py`): the
    rule extractor is Python that holds the GIL, so threads alone use one core.
    """
    articles = tasks.claim_inputs(documents)
    with claims_workers(settings, articles.height):
        paths = sharded(
            pool,
            tasks.claims_shard,
            articles,
            settings.runner.shard_articles,
            {"extractor": settings.claims.extractor, "run_id": run_id},
            "claims",
        )
    return Gathered(tasks.gather_claims(paths), ShardStats(len(paths)))


def claims_workers(settings: Settings, articles: int) -> AbstractContextManager[int]:
    """Open the claims stage's worker processes for up to `articles` articles.

    The flow opens them before the dedup stage, which keeps about one core busy, counting
    every document as an article (an upper bound): the processes start and import beside
    dedup instead of at the start of the claims stage, and `claims` then uses them.
    """
    shards = -(-articles // settings.runner.shard_articles)
    return workers.worker_processes(process_workers(settings.runner), shards, claims_ready)


def checkpoint_worker(settings: Settings, shards: int) -> bool:
    """Return whether the validate stage's checkpoint should run in a worker process.

    For an inbox of two ingest shards or more, under the threads runner on two cores or
    more: great-expectations' import (about 4 s of Python) then runs beside the stages that
    leave a core idle instead of holding the flow process's GIL.
    """
    return shards >= 2 and process_workers(settings.runner) >= 2


def early_checkpoint(settings: Settings, plan: IngestPlan) -> bool:
    """Return whether the checkpoint's worker process starts before the ingest stage.

    For an inbox of two ingest shards or more and up to `[runner] early_checkpoint_documents`
    files, under the threads runner on two cores or more (`checkpoint_worker`): its
    great-expectations import then runs at the lowest priority on the CPU the stages leave
    idle. A larger inbox starts it after the boilerplate stage.
    """
    files = sum(len(shard) for shard in plan.shards)
    return (
        checkpoint_worker(settings, len(plan.shards))
        and files <= settings.runner.early_checkpoint_documents
    )


def stage_ahead(settings: Settings, checker: workers.StandingWorker, documents: int) -> bool:
    """Return whether the run's tables are written while its checkpoint runs in the worker.

    Only when the checkpoint has a worker process (else it has run already), and for up to
    `[runner] early_checkpoint_documents` documents: writing the tables needs memory beside
    the worker's.
    """
    return checker.started and documents <= settings.runner.early_checkpoint_documents


def sharded(
    pool: ShardPool,
    shard_task: Any,
    rows: pl.DataFrame,
    shard_size: int,
    options: dict[str, Any],
    name: str,
) -> list[Any]:
    """Write `rows` as Parquet slices under the staging folder's `name`; run a task on each."""
    dest = pool.staging / name
    inputs = write_slices(rows, dest, shard_size)
    parameters = [
        {"src": src, "dest": str(dest / f"{i:05d}"), **options} for i, src in enumerate(inputs)
    ]
    return run_shards(pool, shard_task, parameters, name)
