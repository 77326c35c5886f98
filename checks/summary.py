"""The run summary: counts per outcome, quarantine reasons, validation outcomes, the verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from checks.validate import ValidateResult
from flows.core import accounting
from flows.core.drops import forget_repeats
from flows.core.run import RunState


@dataclass(frozen=True)
class RunSummary:
    """The run summary and the quarantine rows the run publishes."""

    summary: dict[str, Any]  # `summary.json` (before the duration and the report's additions)
    # this run's quarantine rows, stamped with its id, without those an earlier run quarantined
    quarantine: pl.DataFrame

    @property
    def blocked(self) -> bool:
        """Return whether an expectation of severity error failed: nothing is published."""
        return bool(self.summary["verdict"] == "blocked")


def run_summary(
    state: RunState,
    earlier_quarantine: pl.DataFrame | None,
    records_read: int,
    skipped_records: int,
    validated: ValidateResult,
    context: dict[str, Any],
) -> RunSummary:
    """Build the run summary from the stages recorded in `state` and the validate stage's result.

    Records quarantined by an earlier run (`earlier_quarantine`) are counted as already
    ingested, not again, and left out of the quarantine rows returned. `records_read` and
    `skipped_records` are the ingest stage's records of files read and of files skipped as
    read before; `context` holds the summary's keys that come after `run_id` (inbox, output,
    start time, settings).
    """
    quarantine, repeats = forget_repeats(state.quarantined(), earlier_quarantine)
    again = repeats.filter(pl.col("stage").is_in(accounting.DOCUMENT_STAGES)).height
    tables = validated.tables
    counts = accounting.account(
        records_read=records_read,
        skipped_records=skipped_records,
        known_docs=int(state.notes.get("known_docs", 0)) + again,
        documents=tables["documents"],
        quarantine=quarantine,
    )
    accounting.check_identity(counts)
    # documents rows kept by a repair (published or duplicate): the pipeline misbehaved on them
    counts["invariant_repairs"] = validated.repaired
    outcomes = validated.checkpoint.outcomes
    failed = [o for o in outcomes if not o.success]
    blocking = [o for o in failed if o.severity == "error"]
    warned = failed or validated.broken
    verdict = "blocked" if blocking else ("passed_with_warnings" if warned else "passed")
    summary = {
        "run_id": state.run_id,
        **context,
        "verdict": verdict,
        "counts": counts,
        "quarantine_by_reason": accounting.quarantine_by_reason(quarantine),
        # checks of columns the pipeline derives that failed (checks/models.py INVARIANTS)
        "pipeline_invariants": [b.as_dict() for b in validated.broken],
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
            for o in outcomes
        ],
        "stages_seconds": state.timings,
        "notes": state.notes,
    }
    return RunSummary(summary, quarantine)
