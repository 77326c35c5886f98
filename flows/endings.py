"""How a run ends: published atomically, or blocked with its report set aside; the artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from checks.summary import RunSummary
from checks.validate import ValidateResult
from flows import tasks
from flows.core.dedup_stage import DedupResult
from flows.core.errors import OutputError, PublishError, file_system_error
from flows.core.settings import Settings
from flows.io.claim_tables import CLAIM_FILES, ExternalClaims
from flows.io.faults import crash_point
from flows.io.ingest import ledger_updates
from flows.io.remote import RemoteOutput
from flows.io.report import (
    artifact_markdown,
    artifact_prefix,
    failed_checks,
    stage_rows,
    write_run_files,
)
from flows.io.store import Staged, Store, remove_quietly


@task(name="stage-tables", cache_policy=NO_CACHE)
def stage_tables(
    store: Store,
    run_id: str,
    validated: ValidateResult,
    deduped: DedupResult,
    passages: pl.DataFrame | pl.LazyFrame,
    ingested: tasks.Ingested,
    external: ExternalClaims,
    history: tasks.History,
    settings: Settings,
) -> dict[str, Staged]:
    """Write the run's checked tables and index rows to its staging folder; return them.

    Nothing is visible until `publish` commits them: a run blocked by its checkpoint, or
    that fails, leaves them to be removed with its staging. The quarantine table, which the
    summary completes, is written by `publish`.
    """
    stamp = pl.lit(run_id)
    tables: dict[str, Any] = dict(validated.tables)
    tables |= tasks.index_tables(
        tables["documents"], deduped.signatures, passages, settings, deduped.rebuilt
    )
    tables["index/files"] = ledger_updates(ingested.files, history.files).with_columns(run_id=stamp)
    tables[CLAIM_FILES] = external.files.with_columns(run_id=stamp)
    return store.stage_tables(run_id, tables)


@task(name="publish", cache_policy=NO_CACHE)
def publish(
    store: Store,
    remote: RemoteOutput | None,
    run: RunSummary,
    validated: ValidateResult,
    pairs: pl.DataFrame,
    staged: dict[str, Staged],
    run_dir: Path,
) -> dict[str, Any]:
    """Write the run folder, and commit it with the staged tables and the quarantine table.

    The snapshot is then uploaded to the remote output, if any. Returns the summary as
    written (with the report's additions).
    """
    run_id = run.summary["run_id"]
    summary = write_run_files(
        run_dir,
        run.summary,
        {**validated.tables, "quarantine": run.quarantine},
        run.quarantine,
        pairs=pairs,
        out=store.root,
    )
    crash_point("stage:publish")
    tables: dict[str, Any] = {**staged, "quarantine": run.quarantine}
    snapshot = store.publish(run_id, tables, run_dir)
    if remote is not None:
        try:
            remote.upload(snapshot, run_id)
        except OSError as exc:
            outcome = (
                f"uploading run {run_id} to {remote.url} failed; the runs committed there stay "
                f"as they were, and the next run reads the inputs again"
            )
            raise file_system_error(exc, f"at {remote.url}", outcome) or PublishError(
                f"uploading run {run_id} to {remote.url} failed ({exc}); the runs committed "
                f"there stay as they were, and the next run reads the inputs again"
            ) from exc
    return summary


@task(name="reject", cache_policy=NO_CACHE)
def reject(
    store: Store,
    remote: RemoteOutput | None,
    run: RunSummary,
    validated: ValidateResult,
    pairs: pl.DataFrame,
    run_dir: Path,
) -> str:
    """Set a blocked run's report aside in `_rejected/<run_id>/`; publish nothing.

    Reviewers still get the report and the artifacts of a blocked run, outside the published
    snapshot. Returns the message of the `ValidationBlockedError` the flow ends with.
    """
    run_id = run.summary["run_id"]
    rejected = store.root / "_rejected" / run_id
    try:
        summary = write_run_files(
            rejected,
            run.summary,
            validated.tables | {"quarantine": run.quarantine},
            run.quarantine,
            pairs=pairs,
            data_docs=run_dir / "data_docs",
            out=store.root,
        )
    except BaseException:
        remove_quietly(rejected)  # half a report helps no reviewer
        raise
    report = str(rejected / "report.html")
    if remote is not None:
        remote.upload_folder(rejected, f"_rejected/{run_id}")
        report = remote.show(f"_rejected/{run_id}/report.html")
    attach_artifacts(summary)
    failed = [e["expectation"] for e in summary["expectations"] if not e["success"]]
    return (
        f"run {run_id} blocked by failed expectations {failed}; the previous data stays "
        f"current; report: {report}"
    )


def sync(store: Store, remote: RemoteOutput) -> dict[str, int]:
    """Bring the local working copy in step with the remote output's committed runs."""
    # Not a task: it records on `remote` the manifest it synced, which the publish task checks,
    # and task parameters are not guaranteed to be the caller's objects.
    try:
        return remote.sync_down(store)
    except (OSError, ValueError, KeyError) as exc:
        outcome = f"cannot copy the committed runs of {remote.url} to {store.root}"
        found = file_system_error(exc, f"in {store.root}", outcome)
        raise found or OutputError(
            f"cannot read the committed runs of {remote.url}: {exc}"
        ) from exc


@task(name="artifacts", cache_policy=NO_CACHE)
def artifacts(summary: dict[str, Any]) -> None:
    """Attach the run summary to the flow run as markdown and table artifacts."""
    attach_artifacts(summary)


def attach_artifacts(summary: dict[str, Any]) -> None:
    """Create the run summary's markdown and table artifacts (in a flow or task run)."""
    # One key per deployment: Prefect keeps every version of a key, so each deployment's
    # artifacts line up as its own history (artifact keys are not per flow run).
    prefix = artifact_prefix((summary.get("flow_run") or {}).get("deployment"))
    create_markdown_artifact(
        key=f"{prefix}-summary",
        markdown=artifact_markdown(summary),
        description=f"newsdq run {summary['run_id']}: {summary['verdict']}",
    )
    create_table_artifact(
        key=f"{prefix}-counts",
        table=[{"outcome": k, "records": v} for k, v in summary["counts"].items()],
        description="records per outcome",
    )
    create_table_artifact(
        key=f"{prefix}-stages",
        table=stage_rows(summary),
        description="per stage: seconds, main figure, records quarantined",
    )
    create_table_artifact(
        key=f"{prefix}-failed-checks",
        # Failing sample values stay in the HTML report: they are article text.
        table=failed_checks(summary) or [{"check": "(none)", "severity": "", "unexpected": 0}],
        description="failed great-expectations checks",
    )
