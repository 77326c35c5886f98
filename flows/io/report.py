"""Write a run's summary.json and self-contained report.html; build its Prefect artifacts."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment, PackageLoader, select_autoescape
from rich.console import Console
from rich.table import Table
from rich.text import Text

from flows.core.settings import ReportConfig, settings_from_dict
from flows.io import charts
from flows.io.claim_tables import history_articles
from flows.io.report_data import (
    cluster_sizes,
    expectation_key,
    histogram,
    similarity_values,
    top_counts,
    trends,
    verdict_reasons,
    word_diff,
)
from flows.io.store import Store

_ENV = Environment(
    loader=PackageLoader("flows.io", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)

ARTICLE_COLUMNS = (
    "title",
    "source_uri",
    "published_date",
    "boilerplate_ratio",
    "is_boilerplate_heavy",
)

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


def _largest_clusters(documents: pl.DataFrame, limit: int) -> pl.DataFrame:
    """Return (`cluster_id`, `size`, `dups`) of the largest clusters with copies in this run."""
    return (
        documents.group_by("cluster_id")
        .agg(size=pl.len(), dups=(~pl.col("is_canonical")).sum())
        .filter(pl.col("dups") > 0)
        .sort(["size", "cluster_id"], descending=[True, False])
        .head(limit)
    )


def _clusters(
    documents: pl.DataFrame,
    earlier: pl.DataFrame | None = None,
    limit: int = 10,
    diffs: int = 5,
) -> list[dict[str, Any]]:
    """Return the largest clusters of this run, the first `diffs` with a canonical/member diff.

    `earlier` holds the published articles (`doc_id`, `source_uri`, `clean_text`) of earlier
    runs that this run's copies are duplicates of, for the diffs of clusters whose canonical
    this run did not publish.
    """
    multi = _largest_clusters(documents, limit)
    out = []
    for n, (cluster_id, size, _) in enumerate(multi.iter_rows()):
        members = documents.filter(pl.col("cluster_id") == cluster_id).sort(
            ["is_canonical", "similarity", "source_uri"],
            descending=[True, False, False],
            nulls_last=True,
        )
        canon = members.filter(pl.col("is_canonical"))
        copies = members.filter(~pl.col("is_canonical"))
        # The least similar copy shows the most of what dedup tolerated.
        shown = copies.sort("similarity", nulls_last=True).row(0, named=True)
        entry: dict[str, Any] = {
            "cluster_id": cluster_id,
            "size": size,
            "canonical": canon["source_uri"][0] if canon.height else None,
            "duplicate_of": shown["duplicate_of"],
            "members": members.select(
                "source_uri", "similarity", "duplicate_kind", "is_canonical"
            ).to_dicts(),
            "diff": None,
        }
        if not canon.height and earlier is not None:
            canon = earlier.filter(pl.col("doc_id") == shown["duplicate_of"])
            entry["canonical_run"] = "earlier"
        if canon.height and n < diffs:
            left, right = word_diff(canon["clean_text"][0], shown["clean_text"])
            entry["diff"] = {
                "left_uri": canon["source_uri"][0],
                "right_uri": shown["source_uri"],
                "similarity": shown["similarity"],
                "left": left,
                "right": right,
            }
        out.append(entry)
    return out


def _boilerplate(passages: pl.DataFrame, limit: int = 15) -> list[dict[str, Any]]:
    """Return the most supported boilerplate passages with the documents they were cut from."""
    if passages.height == 0:
        return []
    top = (
        passages.group_by("text")
        .agg(support=pl.col("support").max(), docs=pl.col("doc_id").n_unique())
        .sort(["support", "docs", "text"], descending=[True, True, False])
        .head(limit)
    )
    return top.to_dicts()


def _timeline(tables: dict[str, pl.DataFrame], limit: int = 150) -> list[dict[str, Any]]:
    """Return claim-timeline rows (conflicts first, then by topic and day) with sentences."""
    timeline = tables.get("claim_timeline")
    if timeline is None or timeline.height == 0:
        return []
    sentences = tables["claims"].select("claim_id", "sentence").unique("claim_id")
    return (
        timeline.join(sentences, on="claim_id", how="left")
        .sort(
            ["conflict", "topic", "published_date", "claim_id"],
            descending=[True, False, False, False],
            nulls_last=True,
        )
        .head(limit)
        .to_dicts()
    )


def stage_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Return one row per stage: seconds, its main figure, and records it quarantined."""
    by_stage = dict(summary.get("quarantine_by_stage", {}))
    failed = sum(1 for e in summary.get("expectations", []) if not e["success"])
    rows = []
    for stage, seconds in summary.get("stages_seconds", {}).items():
        (section, key), what = _STAGE_FIGURES.get(stage, (("", ""), ""))
        figure = summary.get(section, {}).get(key) if section else None
        if stage == "validate":
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


def render_report(
    summary: dict[str, Any],
    tables: dict[str, pl.DataFrame],
    quarantine: pl.DataFrame,
    pairs: pl.DataFrame | None = None,
    history: Sequence[dict[str, Any]] = (),
    data_docs: str | None = None,
    earlier: pl.DataFrame | None = None,
) -> str:
    """Render the run report as one self-contained HTML page (all article text escaped).

    `earlier`: earlier runs' published articles that this run's copies duplicate
    (`canonicals_of`), so that their clusters get a diff too.
    """
    settings = summary.get("settings", {})
    config = _report_config(summary)
    documents = tables["documents"]
    run_trends = trends(summary, list(history), config)
    drifted = [t for t in run_trends if t.drifted]
    threshold = settings.get("dedup", {}).get("threshold", 0.7)
    heavy = settings.get("boilerplate", {}).get("heavy_ratio", 0.6)
    claims = tables["claims"]
    topics = tables["claim_timeline"]["topic"] if "claim_timeline" in tables else pl.Series([])
    sims = similarity_values(pairs, documents)
    # Every LSH candidate's similarity, accepted or not, when the dedup stage counted them.
    counted = (summary.get("notes") or {}).get("candidate_similarity")
    candidate_counts = list(counted) if counted else histogram(sims, 0.0, 1.0, 20)
    c = summary["counts"]
    figures = {
        "similarity": charts.histogram_svg(
            candidate_counts,
            0.0,
            1.0,
            "estimated Jaccard similarity of candidate pairs"
            if counted
            else "estimated Jaccard similarity of verified candidate pairs",
            marker=threshold,
            marker_label=f"threshold {threshold:g}",
        ),
        "boilerplate": charts.histogram_svg(
            histogram(documents["boilerplate_ratio"], 0.0, 1.0, 20),
            0.0,
            1.0,
            "share of each document's text removed as boilerplate",
            marker=heavy,
            marker_label=f"heavy above {heavy:g}",
        ),
        "clusters": charts.bars_svg(
            [(f"size {size}", n) for size, n in cluster_sizes(documents)],
            "clusters by size",
        ),
        "claims_source": charts.bars_svg(
            top_counts(claims["source"], null_label="(unattributed)"), "claims by source"
        ),
        "claims_topic": charts.bars_svg(top_counts(topics), "claims by counted thing"),
        "accounting": charts.bars_svg(
            [(k, c[k]) for k in ("published", "duplicates", "quarantined", "already_ingested")],
            "outcome of every input",
        ),
        "trends": [charts.trend_svg(t) for t in run_trends],
    }
    failed = [e for e in summary["expectations"] if not e["success"]]
    failed.sort(key=lambda e: (e["severity"] != "error", expectation_key(e)))
    return _ENV.get_template("report.html.j2").render(
        s=summary,
        reasons=summary.get("verdict_reasons") or verdict_reasons(summary, drifted),
        figures=figures,
        n_pairs=sims.len(),
        n_candidates=sum(candidate_counts) if counted else None,
        threshold=threshold,
        trends=run_trends,
        drifted=drifted,
        config=config,
        quarantine=quarantine.head(200).to_dicts(),
        clusters=_clusters(documents, earlier),
        boilerplate=_boilerplate(tables["boilerplate"]),
        failed=failed,
        expectation_key=expectation_key,
        timeline=_timeline(tables),
        articles=tables.get("articles", documents.filter(pl.col("is_canonical")))
        .select(ARTICLE_COLUMNS)
        .head(100)
        .to_dicts(),
        stages=stage_rows(summary),
        data_docs=data_docs,
        flow_run=summary.get("flow_run") or {},
    )


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


def canonicals_of(
    documents: pl.DataFrame, snapshot: Path | None, limit: int = 10, diffs: int = 5
) -> pl.DataFrame | None:
    """Return the earlier runs' articles that the report's diffs compare this run's copies to.

    Only the canonicals of the first `diffs` of the `limit` largest clusters (those `_clusters`
    draws) that this run did not publish are read, however many copies the run has.
    """
    if snapshot is None:
        return None
    top = _largest_clusters(documents, limit).head(diffs)
    members = documents.join(top.select("cluster_id"), on="cluster_id", how="semi")
    # an exact copy shares its canonical's doc_id, so only canonical rows count as this run's
    published = members.filter(pl.col("is_canonical"))["cluster_id"].implode()
    wanted = members.filter(~pl.col("cluster_id").is_in(published))["duplicate_of"]
    wanted = wanted.drop_nulls().unique()
    if wanted.len() == 0:
        return None
    return history_articles(snapshot, wanted, pl.Series([], dtype=pl.String))


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
