"""The `curate-news` flow: inbox -> clean, validated, deduplicated Parquet dataset and a report."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
from prefect import flow
from prefect.context import FlowRunContext
from prefect.task_runners import TaskRunner

from checks.expectations import preload as preload_expectations
from flows import endings, tasks
from flows.core.errors import (
    ConfigError,
    FileSystemError,
    NewsdqError,
    ValidationBlockedError,
    file_system_error,
)
from flows.core.run import RunState, StageResult
from flows.core.settings import Settings, settings_to_dict, with_runner
from flows.io.config import load_settings
from flows.io.faults import crash_point
from flows.io.ingest import file_sizes, file_uri
from flows.io.location import is_local, local_path
from flows.io.progress import StageProgress, stderr_is_terminal
from flows.io.remote import RemoteOutput, open_output, remote_lock
from flows.io.shards import Gathered, ShardStats, sized_slices, write_slices
from flows.io.store import Store, output_lock
from flows.runners import shard_runner

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
    history = tasks.read_history(store)
    pool = shard_runner(settings.runner, staging / "workers", _api_url())
    with pool:
        ingested = _stage(
            state, "ingest", _ingest, pool, inbox, settings, history, staging / "ingest", bars
        )
        preload_expectations()
        external = _stage(state, "external_claims", tasks.external_claims, inbox, settings, history)
        crash_point("stage:ingest")
        fresh = _stage(state, "normalise", tasks.normalise, ingested, history)
        with bars.stage("boilerplate"):
            cleaned = _stage(
                state, "boilerplate", tasks.boilerplate, fresh.documents, settings, history, run_id
            )
        crash_point("stage:boilerplate")
        docs, passages = cleaned.documents, cleaned.passages
        signed = _stage(
            state, "signatures", _signatures, pool, docs, settings, staging / "signatures", bars
        )
        with bars.stage("dedup"):
            deduped = _stage(
                state, "dedup", tasks.dedup, docs, signed.frame, settings, history, run_id
            )
        crash_point("stage:dedup")
        documents = deduped.documents
        found = _stage(
            state, "claims", _claims, pool, documents, settings, staging / "claims", run_id, bars
        ).frame
        crash_point("stage:claims")
    with bars.stage("validate"):
        validated = _stage(
            state,
            "validate",
            tasks.validate,
            documents,
            found,
            external,
            passages,
            run_dir,
            history,
            settings,
            run_id,
        )
    crash_point("stage:validate")
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
        return endings.publish(
            store,
            remote,
            run,
            validated,
            deduped,
            passages,
            ingested,
            external,
            history,
            settings,
            run_dir,
        )


def _stage(state: RunState, name: str, stage_task: Callable[..., R], *args: Any) -> R:
    """Run a stage's task and record its seconds, figures and quarantine rows in `state`."""
    started = time.perf_counter()
    result = stage_task(*args)
    state.record(name, result, time.perf_counter() - started)
    return result


# --- shard stages: tasks exchange Parquet paths under the run's staging folder --------------


def _api_url() -> str | None:
    """Return the Prefect API this flow run reports to (the temporary server's too)."""
    context = FlowRunContext.get()
    client = getattr(context, "client", None)
    url = getattr(client, "api_url", None)
    return str(url) if url else None


def _run_shards(
    pool: TaskRunner[Any],
    shard_task: Any,
    parameters: list[dict[str, Any]],
    bars: StageProgress,
    name: str,
) -> list[Any]:
    """Submit one task per shard; return the results in shard order (not completion order)."""
    with bars.stage(name, total=len(parameters), unit="shards") as advance:
        futures = [pool.submit(shard_task, parameters=p) for p in parameters]
        for future in futures:
            future.wait()
            advance()
        return [future.result() for future in futures]


def _ingest(
    pool: TaskRunner[Any],
    inbox: str,
    settings: Settings,
    history: tasks.History,
    dest: Path,
    bars: StageProgress,
) -> tasks.Ingested:
    """Read and normalise the inbox in shards of files; return them gathered."""
    names = tasks.list_inbox(inbox, settings)
    runner = settings.runner
    sizes = file_sizes(inbox, names)
    shards = sized_slices(names, sizes, runner.shard_bytes, runner.shard_files) or [[]]
    seen = history.files
    where = str(local_path(inbox).absolute()) if is_local(inbox) else inbox
    parameters = [
        {
            "inbox": where,
            "names": shard,
            "config": settings.ingest,
            # each shard gets the ledger rows of its own files only
            "seen": None
            if seen is None
            else seen.filter(pl.col("source_uri").is_in([file_uri(n) for n in shard])),
            "dest": str(dest / f"{i:05d}"),
        }
        for i, shard in enumerate(shards)
    ]
    results = _run_shards(pool, tasks.ingest_shard, parameters, bars, "ingest")
    return tasks.gather_ingest(results)


def _signatures(
    pool: TaskRunner[Any],
    docs: pl.DataFrame,
    settings: Settings,
    dest: Path,
    bars: StageProgress,
) -> Gathered:
    """Compute the documents' MinHash signatures in shards of texts."""
    paths = _sharded(
        pool,
        tasks.signatures_shard,
        tasks.signature_inputs(docs),
        settings.runner.shard_docs,
        {"minhash": settings.minhash, "short_tokens": settings.dedup.short_tokens},
        dest,
        bars,
        "signatures",
    )
    return Gathered(tasks.gather_signatures(paths), ShardStats(len(paths)))


def _claims(
    pool: TaskRunner[Any],
    documents: pl.DataFrame,
    settings: Settings,
    dest: Path,
    run_id: str,
    bars: StageProgress,
) -> Gathered:
    """Extract the claims of the canonical articles in shards of articles."""
    paths = _sharded(
        pool,
        tasks.claims_shard,
        tasks.claim_inputs(documents),
        settings.runner.shard_articles,
        {"extractor": settings.claims.extractor, "run_id": run_id},
        dest,
        bars,
        "claims",
    )
    return Gathered(tasks.gather_claims(paths), ShardStats(len(paths)))


def _sharded(
    pool: TaskRunner[Any],
    shard_task: Any,
    rows: pl.DataFrame,
    shard_size: int,
    options: dict[str, Any],
    dest: Path,
    bars: StageProgress,
    name: str,
) -> list[Any]:
    """Write `rows` as Parquet slices under `dest` and run `shard_task` on each."""
    inputs = write_slices(rows, dest, shard_size)
    parameters = [
        {"src": src, "dest": str(dest / f"{i:05d}"), **options} for i, src in enumerate(inputs)
    ]
    return _run_shards(pool, shard_task, parameters, bars, name)
