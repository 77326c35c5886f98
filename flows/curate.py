"""The `curate-news` flow: inbox -> clean, validated, deduplicated Parquet dataset and a report."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from prefect import flow

from checks.expectations import preload as preload_expectations
from flows import endings, runners, tasks
from flows.core.errors import (
    ConfigError,
    FileSystemError,
    NewsdqError,
    ValidationBlockedError,
    file_system_error,
)
from flows.core.run import RunState, StageResult
from flows.core.settings import Settings, settings_to_dict, with_runner
from flows.io import workers
from flows.io.config import load_settings
from flows.io.faults import crash_point
from flows.io.memory import release_memory
from flows.io.progress import StageProgress, stderr_is_terminal
from flows.io.remote import RemoteOutput, open_output, remote_lock
from flows.io.shards import spill
from flows.io.store import Store, output_lock

# A stage's result type (`StageResult`: its frames, quarantine rows and figures).
R = TypeVar("R", bound=StageResult)


def new_run_id() -> str:
    """Return a sortable, unique run id: UTC time plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


@flow(name="curate-news", log_prints=True)
def curate_news(
    inbox: str = "data/inbox",
    out: str = "data/published",
    config: str | None = None,
    runner: str | None = None,
    dask_address: str | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Curate one inbox into the published dataset; return the run summary.

    `inbox` is a folder or an fsspec URL, `out` a local folder or an fsspec URL published
    through a local working copy (`flows/io/location.py`, `flows/io/remote.py`).
    `runner` ("threads", "processes" or "dask") and `dask_address` override the config's
    `[runner]`, which runs the shard stages (ingest, signatures, claims); `progress` shows
    stage progress bars on stderr (default: when stderr is a terminal).
    """
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    settings = with_runner(load_settings(Path(config) if config else None), runner, dask_address)
    if str(inbox).startswith("memory://") and settings.runner.kind != "threads":
        # spawned workers start with an empty in-memory file system of their own
        raise ConfigError(
            f"a memory:// inbox lives in this process only: use the threads runner, not "
            f"{settings.runner.kind}"
        )
    local, remote = open_output(out, settings.output)
    store = Store(local)
    store.check_writable()
    run_id = new_run_id()
    state = RunState(run_id=run_id)
    bars = StageProgress(stderr_is_terminal() if progress is None else progress)
    with output_lock(store.root), remote_lock(remote, run_id), bars:
        try:
            summary = _curate(store, remote, state, settings, inbox, out, bars, started, started_at)
        except BaseException as exc:
            # A failed run removes what it staged, whatever failed, before it reports.
            left = store.discard(run_id)
            failure = _file_system_failure(exc, store, run_id, left)
            if failure is None:
                raise
            raise failure from exc
    endings.artifacts(summary)
    return summary


def _file_system_failure(
    exc: BaseException, store: Store, run_id: str, left: list[Path]
) -> FileSystemError | None:
    """Return the one-line error of a run that a full, read-only or forbidden disk stopped.

    None for any other failure, and for an error newsdq already reported in its own words
    (a failed upload, a refused lock): those are raised as they are.
    """
    if isinstance(exc, FileSystemError):
        return exc  # raised where the failing step was known, with its own words
    if isinstance(exc, NewsdqError):
        return None
    if left:
        cleanup = "its staged files could not all be removed: " + ", ".join(map(str, left))
    else:
        cleanup = "its staged files were removed"
    outcome = f"run {run_id} published nothing and the published data is unchanged; {cleanup}"
    return file_system_error(exc, f"below the output folder {store.root}", outcome)


def _curate(
    store: Store,
    remote: RemoteOutput | None,
    state: RunState,
    settings: Settings,
    inbox: str,
    out: str,
    bars: StageProgress,
    started: float,
    started_at: str,
) -> dict[str, Any]:
    """Run the stages and publish, holding the output's lock; return the run summary."""
    run_id = state.run_id
    state.notes["recovered"] = store.recover()
    if remote is not None:
        state.notes["remote_sync"] = endings.sync(store, remote)
    run_dir = store.staging_dir(run_id) / "run"
    # Absolute: shard tasks may run in processes (Dask workers) with another working folder.
    staging = store.staging_dir(run_id).absolute()
    plan = _stage(state, "list", runners.plan_ingest, inbox, settings)
    with ExitStack() as ingest_workers:
        # open now: the processes import while the history is read and the runner set up;
        # closed after the ingest stage, so that they hold no memory through the later ones
        ingest_workers.enter_context(runners.ingest_workers(settings, plan))
        history = tasks.read_history(store)
        runner = runners.shard_runner(settings.runner, staging / "workers", runners.api_url())
        # the great-expectations checkpoint's worker process: started now, its import taking
        # the CPU the stages leave idle, or after the boilerplate stage for a large inbox
        with workers.StandingWorker(workers.checkpoint_ready) as checker:
            if runners.early_checkpoint(settings, plan):
                checker.start()
            with runner:
                pool = runners.ShardPool(runner, staging, bars)
                ingested = _stage(state, "ingest", runners.ingest, pool, plan, settings, history)
                ingest_workers.close()
                large = runners.checkpoint_worker(settings, ingested.stats.shards)
                if not large:
                    preload_expectations()  # in a thread of this process
                external = _stage(
                    state, "external_claims", tasks.external_claims, inbox, settings, history
                )
                crash_point("stage:ingest")
                fresh = _stage(state, "normalise", tasks.normalise, ingested, history)
                # A stage's documents are dropped once the next stage has made its own (`del`,
                # `without_documents`), so that a copy of the texts lives only while a stage
                # reads it.
                ingested = ingested.without_documents()
                with bars.stage("boilerplate"):
                    cleaned = _stage(
                        state,
                        "boilerplate",
                        tasks.boilerplate,
                        fresh.documents,
                        settings,
                        history,
                        run_id,
                    )
                del fresh
                crash_point("stage:boilerplate")
                if large:
                    # (when not started yet) after the boilerplate stage, the run's memory peak:
                    # the worker's 280 MB of imports stay off it
                    checker.start()
                # Validation and publishing read the passages again; until then they wait on disk.
                passages = spill(cleaned.passages, staging / "passages.parquet")
                cleaned = cleaned.without_passages()
                signed = _stage(
                    state, "signatures", runners.signatures, pool, cleaned.documents, settings
                )
                with runners.claims_workers(settings, cleaned.documents.height):
                    with bars.stage("dedup"):
                        deduped = _stage(
                            state,
                            "dedup",
                            tasks.dedup,
                            cleaned.documents,
                            signed.frame,
                            settings,
                            history,
                            run_id,
                        )
                    del cleaned, signed
                    crash_point("stage:dedup")
                    found = _stage(
                        state, "claims", runners.claims, pool, deduped.documents, settings, run_id
                    ).frame
                crash_point("stage:claims")
            with bars.stage("validate"):
                validated = _stage(
                    state,
                    "validate",
                    tasks.validate,
                    deduped.documents,
                    found,
                    external,
                    passages,
                    run_dir,
                    history,
                    settings,
                    run_id,
                    checker,
                )
            del found
            crash_point("stage:validate")
            # The checkpoint runs on in its worker while the tables are written to the staging
            # folder; the commit waits for its verdict (a blocked run's staging is removed).
            staged = None
            if runners.stage_ahead(settings, checker, deduped.documents.height):
                staged = endings.stage_tables(
                    store,
                    run_id,
                    validated,
                    deduped,
                    passages,
                    ingested,
                    external,
                    history,
                    settings,
                )
            _stage(state, "checkpoint", tasks.checkpoint, validated)
    deduped = deduped.without_documents()  # the validated `documents` table replaces them
    context = {
        "inbox": str(inbox),
        "out": str(out),
        "started_at": started_at,
        "settings": settings_to_dict(settings),
    }
    run = tasks.summarise(state, history, ingested, validated, context)
    run.summary["duration_seconds"] = round(time.perf_counter() - started, 3)
    if run.blocked:
        raise ValidationBlockedError(
            endings.reject(store, remote, run, validated, deduped.pairs, run_dir)
        )
    with bars.stage("publish"):
        if staged is None:
            staged = endings.stage_tables(
                store, run_id, validated, deduped, passages, ingested, external, history, settings
            )
        return endings.publish(store, remote, run, validated, deduped.pairs, staged, run_dir)


def _stage(state: RunState, name: str, stage_task: Callable[..., R], *args: Any) -> R:
    """Run a stage's task and record its seconds, figures and quarantine rows in `state`."""
    started = time.perf_counter()
    result = stage_task(*args)
    state.record(name, result, time.perf_counter() - started)
    release_memory()
    return result
