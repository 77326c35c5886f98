"""Write a run's summary.json and self-contained report.html; build its Prefect artifacts."""

from flows.io.report.artifacts import artifact_markdown, artifact_prefix, flow_run_info
from flows.io.report.page import ARTICLE_COLUMNS, canonicals_of, render_report
from flows.io.report.runs import find_run, load_history, write_run_files
from flows.io.report.summary import failed_checks, stage_rows
from flows.io.report.terminal import print_summary

__all__ = [
    "ARTICLE_COLUMNS",
    "artifact_markdown",
    "artifact_prefix",
    "canonicals_of",
    "failed_checks",
    "find_run",
    "flow_run_info",
    "load_history",
    "print_summary",
    "render_report",
    "stage_rows",
    "write_run_files",
]
