"""Write a run's summary.json and self-contained report.html."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment, PackageLoader, select_autoescape

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


def _clusters(documents: pl.DataFrame, limit: int = 10) -> list[dict[str, Any]]:
    """Return the largest clusters with members of this run."""
    dups = documents.filter(~pl.col("is_canonical"))
    if dups.height == 0:
        return []
    sizes = (
        documents.group_by("cluster_id")
        .agg(
            size=pl.len(),
            members=pl.format(
                "{} ({})", "source_uri", pl.col("similarity").round(2).fill_null(1.0)
            ),
        )
        .filter(pl.col("size") > 1)
        .sort(["size", "cluster_id"], descending=[True, False])
        .head(limit)
    )
    canon = dict(
        documents.filter(pl.col("is_canonical")).select("cluster_id", "source_uri").iter_rows()
    )
    out = []
    for cluster_id, size, members in sizes.iter_rows():
        out.append(
            {
                "cluster_id": cluster_id,
                "size": size,
                "canonical": canon.get(cluster_id, "(published in an earlier run)"),
                "members": members,
            }
        )
    return out


def _boilerplate(passages: pl.DataFrame, limit: int = 15) -> list[dict[str, Any]]:
    if passages.height == 0:
        return []
    top = (
        passages.group_by("text")
        .agg(support=pl.col("support").max(), docs=pl.col("doc_id").n_unique())
        .sort(["support", "docs", "text"], descending=[True, True, False])
        .head(limit)
    )
    return top.to_dicts()


def render_report(
    summary: dict[str, Any], tables: dict[str, pl.DataFrame], quarantine: pl.DataFrame
) -> str:
    """Render the run report as one self-contained HTML page (all article text escaped)."""
    claims = tables["claims"].head(30).to_dicts() if tables["claims"].height else []
    return _ENV.get_template("report.html.j2").render(
        s=summary,
        quarantine=quarantine.head(200).to_dicts(),
        clusters=_clusters(tables["documents"]),
        boilerplate=_boilerplate(tables["boilerplate"]),
        claims=claims,
        articles=tables["articles"].select(ARTICLE_COLUMNS).head(100).to_dicts(),
    )


def write_run_files(
    run_dir: Path,
    summary: dict[str, Any],
    tables: dict[str, pl.DataFrame],
    quarantine: pl.DataFrame,
) -> None:
    """Write summary.json and report.html into a run's (staged) folder."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "summary.json").write_text(
        json.dumps(summary, indent=2, default=str, ensure_ascii=False), "utf-8"
    )
    (run_dir / "report.html").write_text(render_report(summary, tables, quarantine), "utf-8")
