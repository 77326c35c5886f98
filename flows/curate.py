"""The `curate-news` flow: inbox -> clean, validated, deduplicated Parquet dataset and a report."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows import tasks
from flows.core.errors import ValidationBlockedError
from flows.core.settings import settings_to_dict
from flows.io.claim_tables import CLAIM_FILES
from flows.io.config import load_settings
from flows.io.faults import crash_point
from flows.io.report import write_run_files
from flows.io.store import Store, output_lock


def new_run_id() -> str:
    """Return a sortable, unique run id: UTC time plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


@task(name="publish", cache_policy=NO_CACHE)
def publish(store: Store, run_id: str, tables: dict[str, Any], run_dir: Path) -> str:
    """Commit the run's tables and run folder atomically."""
    return str(store.publish(run_id, tables, run_dir))


@task(name="artifacts", cache_policy=NO_CACHE)
def artifacts(summary: dict[str, Any]) -> None:
    """Attach the run summary to the flow run as markdown and table artifacts."""
    c = summary["counts"]
    reasons = (
        "\n".join(f"- `{r}`: {n}" for r, n in summary["quarantine_by_reason"].items()) or "- none"
    )
    create_markdown_artifact(
        key="curate-news-summary",
        markdown=(
            f"# newsdq run {summary['run_id']}\n\n**verdict: {summary['verdict']}**\n\n"
            f"| outcome | records |\n|---|---|\n"
            + "".join(f"| {k} | {v} |\n" for k, v in c.items())
            + f"\n## Quarantine reasons\n{reasons}\n"
        ),
        description="newsdq run summary",
    )
    create_table_artifact(
        key="curate-news-counts",
        table=[{"outcome": k, "records": v} for k, v in c.items()],
        description="records per outcome",
    )


@flow(name="curate-news", log_prints=True)
def curate_news(
    inbox: str = "data/inbox", out: str = "data/published", config: str | None = None
) -> dict[str, Any]:
    """Curate one inbox into the published dataset; return the run summary."""
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    settings = load_settings(Path(config) if config else None)
    store = Store(Path(out))
    store.check_writable()
    run_id = new_run_id()
    state = tasks.RunState(run_id=run_id)
    with output_lock(store.root):
        state.notes["recovered"] = store.recover()
        run_dir = store.staging_dir(run_id) / "run"
        history = tasks.read_history(store)
        ingested = tasks.ingest(Path(inbox), settings, history, state)
        external = tasks.external_claims(Path(inbox), history, state)
        crash_point("stage:ingest")
        docs = tasks.normalise(ingested.docs, history, state)
        docs, passages = tasks.boilerplate(docs, settings, history, state)
        crash_point("stage:boilerplate")
        documents, sigs, _pairs = tasks.dedup(docs, settings, history, state)
        crash_point("stage:dedup")
        found = tasks.claims(documents, settings, state)
        crash_point("stage:claims")
        tables, checkpoint = tasks.validate(
            documents, found, external, passages, run_dir, history, settings, state
        )
        crash_point("stage:validate")
        context = {
            "inbox": str(inbox),
            "out": str(out),
            "started_at": started_at,
            "settings": settings_to_dict(settings),
        }
        summary = tasks.summarise(state, history, ingested, tables, checkpoint, context)
        quarantine = state.quarantined()
        summary["duration_seconds"] = round(time.perf_counter() - started, 3)
        if summary["verdict"] == "blocked":
            # Reviewers still get the report of a blocked run, outside the published snapshot.
            rejected = store.root / "_rejected" / run_id
            write_run_files(rejected, summary, tables | {"quarantine": quarantine}, quarantine)
            failed = [e["expectation"] for e in summary["expectations"] if not e["success"]]
            raise ValidationBlockedError(
                f"run {run_id} blocked by failed expectations {failed}; the previous data stays "
                f"current; report: {rejected / 'report.html'}"
            )
        tables["quarantine"] = quarantine
        tables |= tasks.index_tables(tables["documents"], sigs, passages, settings)
        tables["index/files"] = ingested.files.filter(pl.col("outcome") == "read").with_columns(
            run_id=pl.lit(run_id)
        )
        tables[CLAIM_FILES] = external.files.with_columns(run_id=pl.lit(run_id))
        write_run_files(run_dir, summary, tables, quarantine)
        crash_point("stage:publish")
        publish(store, run_id, tables, run_dir)
    artifacts(summary)
    return summary
