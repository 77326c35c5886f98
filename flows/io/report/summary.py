"""Read a run's summary into the rows its report, artifacts and terminal output share."""

from __future__ import annotations

from typing import Any

from flows.core.settings import ReportConfig, settings_from_dict
from flows.io.report_data import expectation_key

# What each stage's figure counts, for the per-stage table: (where in the summary, label).
_STAGE_FIGURES: dict[str, tuple[tuple[str, str], str]] = {
    "ingest": (("counts", "ingested"), "records ingested"),
    "external_claims": (("notes", "external_claim_rows"), "external claim rows"),
    "normalise": (("tables", "documents"), "documents"),
    "boilerplate": (("notes", "boilerplate_passages"), "boilerplate passages"),
    "dedup": (("counts", "duplicates"), "duplicates"),
    "claims": (("tables", "claims"), "claims"),
}


def _report_config(summary: dict[str, Any]) -> ReportConfig:
    """Return the run's report settings (the defaults for summaries written before they existed)."""
    section = summary.get("settings", {}).get("report")
    return settings_from_dict({"report": section}).report if section else ReportConfig()


def stage_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Return one row per stage: seconds, its main figure, and records it quarantined."""
    by_stage = dict(summary.get("quarantine_by_stage", {}))
    failed = sum(1 for e in summary.get("expectations", []) if not e["success"])
    rows = []
    stages = summary.get("stages_seconds", {})
    # the checkpoint's row (the validate stage's, in summaries from before it had its own)
    checked = "checkpoint" if "checkpoint" in stages else "validate"
    for stage, seconds in stages.items():
        (section, key), what = _STAGE_FIGURES.get(stage, (("", ""), ""))
        figure = summary.get(section, {}).get(key) if section else None
        if stage == checked:
            figure, what = failed, "failed expectations"
        rows.append(
            {
                "stage": stage,
                "seconds": seconds,
                "records": figure if figure is not None else "",
                "what": what,
                "quarantined": by_stage.pop(stage, 0),
            }
        )
    # Quarantine from stages without a timing of their own (e.g. claims grounding at validate).
    for stage, n in by_stage.items():
        rows.append({"stage": stage, "seconds": "", "records": "", "what": "", "quarantined": n})
    return rows


def failed_checks(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the failed expectations, errors first, with their config key and counts."""
    failed = [e for e in summary.get("expectations", []) if not e["success"]]
    failed.sort(key=lambda e: (e["severity"] != "error", expectation_key(e)))
    return [
        {
            "check": expectation_key(e),
            "severity": e["severity"],
            "unexpected": e.get("unexpected_count"),
        }
        for e in failed
    ]
