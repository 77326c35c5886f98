"""Find runs in the output folder, and write a run's summary.json and report.html."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from flows.io.report.artifacts import flow_run_info
from flows.io.report.page import canonicals_of, render_report
from flows.io.report.summary import _report_config
from flows.io.report_data import trends, verdict_reasons
from flows.io.store import Store


def load_history(out: Path, run_id: str, limit: int) -> list[dict[str, Any]]:
    """Return the summaries of up to `limit` runs before `run_id`, published or blocked."""
    if limit <= 0:
        return []
    dirs = [
        d
        for parent in (out / "runs", out / "_rejected")
        if parent.is_dir()
        for d in parent.iterdir()
        if d.name < run_id  # run ids start with their UTC start time
    ]
    summaries: list[dict[str, Any]] = []
    for d in sorted(dirs, key=lambda d: d.name, reverse=True):
        try:
            summaries.append(json.loads((d / "summary.json").read_text("utf-8")))
        except (OSError, ValueError):
            continue  # a run folder without a readable summary has nothing to plot
        if len(summaries) == limit:
            break
    return summaries[::-1]


def find_run(out: Path, run: str = "latest") -> Path:
    """Return the folder of a published or blocked run (`latest`: the newest of either)."""
    parents = (out / "runs", out / "_rejected")
    if run != "latest":
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", run):  # a name, never a path
            raise FileNotFoundError(f"no run {run} under {out}")
        for parent in parents:
            if (parent / run / "summary.json").is_file():
                return parent / run
        raise FileNotFoundError(f"no run {run} under {out}")
    found = [d for parent in parents if parent.is_dir() for d in parent.iterdir() if d.is_dir()]
    found = [d for d in found if (d / "summary.json").is_file()]
    if not found:
        raise FileNotFoundError(f"no runs under {out}")
    return max(found, key=lambda d: d.name)


def write_run_files(
    run_dir: Path,
    summary: dict[str, Any],
    tables: dict[str, pl.DataFrame],
    quarantine: pl.DataFrame,
    *,
    pairs: pl.DataFrame | None = None,
    data_docs: Path | None = None,
    out: Path | None = None,
    history: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Write summary.json and report.html into a run's (staged) folder; return the summary.

    The summary written (and returned) adds the flow run (`flow_run`), the metrics that left
    the band of earlier runs (`drift`) and the verdict's reasons (`verdict_reasons`). `pairs`
    are the verified candidate pairs (`similarity`), `data_docs` a Data Docs folder to copy in
    (a blocked run's report is written outside its staging folder), and `history` the earlier
    runs' summaries (default: read from the output folder `out`, none without it).
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    if data_docs is not None and data_docs.is_dir() and data_docs != run_dir / "data_docs":
        shutil.copytree(data_docs, run_dir / "data_docs", dirs_exist_ok=True)
    config = _report_config(summary)
    if history is None:
        history = load_history(out, summary["run_id"], config.history_runs) if out else []
    drifted = [t for t in trends(summary, list(history), config) if t.drifted]
    summary = {
        **summary,
        "flow_run": summary.get("flow_run") or flow_run_info(),
        "drift": [t.label for t in drifted],
        "verdict_reasons": verdict_reasons(summary, drifted),
    }
    (run_dir / "summary.json").write_text(
        json.dumps(summary, indent=2, default=str, ensure_ascii=False), "utf-8"
    )
    docs_index = run_dir / "data_docs" / "index.html"
    html = render_report(
        summary,
        tables,
        quarantine,
        pairs,
        history,
        data_docs="data_docs/index.html" if docs_index.is_file() else None,
        earlier=canonicals_of(tables["documents"], Store(out).current if out else None),
    )
    (run_dir / "report.html").write_text(html, "utf-8")
    return summary
