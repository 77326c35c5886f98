"""Print a run's verdict, accounting and top issues to the terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from flows.io.report.summary import failed_checks
from flows.io.report_data import verdict_reasons

_VERDICT_STYLE = {
    "passed": "bold green",
    "passed_with_warnings": "bold yellow",
    "blocked": "bold red",
}


def print_summary(summary: dict[str, Any], console: Console) -> None:
    """Print a run's verdict, accounting and top issues to the terminal."""
    # Text and tables, never console markup: run ids, reasons and keys are data, and a "[" in
    # them must not be read as a style.
    verdict = summary["verdict"]
    title = Text(f"newsdq run {summary['run_id']}: ")
    title.append(verdict.replace("_", " "), style=_VERDICT_STYLE.get(verdict, "bold"))
    console.print(title)
    for reason in summary.get("verdict_reasons") or verdict_reasons(summary, []):
        console.print(Text(f"  - {reason}"))
    counts = Table(title="accounting of every input", title_justify="left")
    counts.add_column("outcome")
    counts.add_column("records", justify="right")
    for key, value in summary["counts"].items():
        counts.add_row(key.replace("_", " "), str(value))
    console.print(counts)
    if summary.get("quarantine_by_reason"):
        reasons = Table(title="quarantined, by reason", title_justify="left")
        reasons.add_column("reason")
        reasons.add_column("records", justify="right")
        for reason, n in sorted(summary["quarantine_by_reason"].items(), key=lambda kv: -kv[1]):
            reasons.add_row(reason, str(n))
        console.print(reasons)
    if summary.get("pipeline_invariants"):
        broken = Table(title="pipeline invariants broken (a bug)", title_justify="left")
        for column in ("check", "rows", "repaired", "quarantined"):
            broken.add_column(column)
        for b in summary["pipeline_invariants"]:
            figures = (str(b[key]) for key in ("rows", "repaired", "quarantined"))
            broken.add_row(f"{b['table']}.{b['check']}", *figures)
        console.print(broken)
    failed = failed_checks(summary)
    if failed:
        checks = Table(title="failed expectations", title_justify="left")
        for column in ("check", "severity", "unexpected"):
            checks.add_column(column)
        for row in failed:
            checks.add_row(row["check"], row["severity"], str(row["unexpected"] or ""))
        console.print(checks)
    if summary.get("drift"):
        console.print(Text("drift beyond the band of earlier runs: " + ", ".join(summary["drift"])))
    url = (summary.get("flow_run") or {}).get("url")
    if url:
        console.print(Text(f"Prefect flow run: {url}"))
