"""Render a run's report as one self-contained HTML page."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment, PackageLoader, select_autoescape

from flows.io import charts
from flows.io.claim_tables import history_articles
from flows.io.report.summary import _report_config, stage_rows
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
