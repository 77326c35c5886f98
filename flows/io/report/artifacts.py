"""Build a run's Prefect artifacts and read the flow run it belongs to."""

from __future__ import annotations

import re
from typing import Any

from flows.io.report.summary import failed_checks


def artifact_prefix(deployment: str | None) -> str:
    """Return the artifact key prefix: one per deployment, so each keeps its own history."""
    name = "curate-news" + (f"-{deployment}" if deployment else "")
    # Prefect keys allow lowercase letters, digits and dashes only.
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", name.lower())).strip("-")


def artifact_markdown(summary: dict[str, Any]) -> str:
    """Return the markdown summary of a run: verdict and why, counts, top issues."""
    c = summary["counts"]
    reasons = "\n".join(f"- {r}" for r in summary.get("verdict_reasons", [])) or "- (none given)"
    quarantine = sorted(summary["quarantine_by_reason"].items(), key=lambda kv: (-kv[1], kv[0]))
    issues = [
        f"- pipeline invariant `{b['table']}.{b['check']}` broken on {b['rows']} row(s), "
        f"{b['repaired']} repaired"
        for b in summary.get("pipeline_invariants", [])
    ]
    issues += [f"- quarantined `{r}`: {n}" for r, n in quarantine[:5]]
    issues += [
        f"- failed {f['severity']} expectation `{f['check']}`"
        + (f": {f['unexpected']} unexpected" if f["unexpected"] else "")
        for f in failed_checks(summary)[:5]
    ]
    issues += [f"- drift: {d}" for d in summary.get("drift", [])]
    return (
        f"# newsdq run {summary['run_id']}\n\n**verdict: {summary['verdict']}**\n\n{reasons}\n\n"
        "| outcome | records |\n|---|---|\n"
        + "".join(f"| {k} | {v} |\n" for k, v in c.items())
        + "\n## Top issues\n"
        + ("\n".join(issues) or "- none")
        + "\n"
    )


def flow_run_info() -> dict[str, str | None]:
    """Return this flow run's id, deployment and UI address (None without a known server)."""
    from prefect.runtime import deployment, flow_run
    from prefect.settings import get_current_settings

    run_id = flow_run.id
    # Without PREFECT_API_URL the run is on a temporary server that is gone when it ends, and
    # Prefect leaves ui_url unset: a link would point nowhere.
    ui = get_current_settings().ui_url
    url = f"{ui.rstrip('/')}/runs/flow-run/{run_id}" if ui and run_id else None
    return {"id": run_id, "deployment": deployment.name, "url": url}
