"""The sample inbox through the real CLI: hand-made labels and a golden summary of the output."""

from __future__ import annotations

import json
import os
import shutil

import polars as pl
import pytest

from tests.conftest import ROOT, SAMPLE_INBOX

LABELS = json.loads((ROOT / "tests" / "fixtures" / "inbox_labels.json").read_text("utf-8"))
GOLDEN = ROOT / "tests" / "fixtures" / "golden_sample.json"


@pytest.fixture(scope="module")
def published(newsdq, tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    inbox = tmp_path_factory.mktemp("sample") / "inbox"
    shutil.copytree(SAMPLE_INBOX, inbox)
    out = inbox.parent / "out"
    result = newsdq("run", "--inbox", str(inbox), "--out", str(out))
    assert result.code == 0, result.stderr
    return {
        t: pl.read_parquet(f"{out}/{t}/**/*.parquet")
        for t in ("documents", "articles", "claims", "claim_timeline")
    }


def _by_uri(documents: pl.DataFrame, column: str) -> dict[str, object]:
    return dict(zip(documents["source_uri"], documents[column], strict=True))


def test_publisher_boilerplate_does_not_survive(published) -> None:
    clean = _by_uri(published["documents"], "clean_text")
    left = [
        (f, snippet)
        for outlet in LABELS["outlets"].values()
        for f in outlet["files"]
        for snippet in outlet["boilerplate_snippets"]
        if snippet in clean[f]
    ]
    assert left == []


def test_article_content_survives(published) -> None:
    clean = _by_uri(published["documents"], "clean_text")
    lost = [
        (f, s) for f, sents in LABELS["must_survive"].items() for s in sents if s not in clean[f]
    ]
    assert lost == []


def test_duplicate_groups_match_labels(published) -> None:
    docs = published["documents"]
    cluster = _by_uri(docs, "cluster_id")
    labelled = [sorted(g) for g in LABELS["near_duplicate_groups"]]
    for group in labelled:
        assert len({cluster[f] for f in group}) == 1, group
    found = (
        docs.group_by("cluster_id")
        .agg(pl.col("source_uri").sort())
        .filter(pl.col("source_uri").list.len() > 1)
    )
    assert sorted(found["source_uri"].to_list()) == sorted(labelled)
    for a, b in LABELS["distinct_same_outlet_pairs"]:
        assert cluster[a] != cluster[b]
    kinds = _by_uri(docs, "duplicate_kind")
    for a, b in LABELS["exact_duplicates"]:
        assert {kinds[a], kinds[b]} == {None, "exact"}


def test_contained_in_matches_labels(published) -> None:
    docs = published["documents"]
    doc_of = _by_uri(docs, "doc_id")
    found = {
        uri: container
        for uri, container in zip(docs["source_uri"], docs["contained_in"], strict=True)
        if container is not None
    }
    assert found == {f: doc_of[c] for f, c in LABELS["contained_in"].items()}
    # a contained report stays published: it is not a copy of the live blog
    assert all(_by_uri(docs, "is_canonical")[f] for f in LABELS["contained_in"])


def test_claim_timeline_covers_the_claims_with_a_counted_thing(published) -> None:
    claims, timeline = published["claims"], published["claim_timeline"]
    with_unit = claims.filter(pl.col("unit").is_not_null())["claim_id"].sort().to_list()
    assert timeline["claim_id"].sort().to_list() == with_unit
    assert (timeline["conflict"] == (timeline["n_conflicting"] > 0)).all()
    # a conflict is symmetric within a run: every flagged row has a flagged partner that day
    flagged = timeline.filter(pl.col("conflict"))
    per_day = flagged.group_by("topic", "published_date").len()
    assert (per_day["len"] >= 2).all()


def test_titles_and_dates_match_labels(published) -> None:
    docs = published["documents"]
    titles, dates = _by_uri(docs, "title"), _by_uri(docs, "published_date")
    assert {f: titles[f] for f in LABELS["titles"]} == LABELS["titles"]
    assert {f: (d.isoformat() if (d := dates[f]) else None) for f in LABELS["dates"]} == LABELS[
        "dates"
    ]


def _golden_view(published) -> dict:
    docs = published["documents"].sort("source_uri")
    canon = _by_uri(docs, "source_uri")
    by_doc = dict(zip(docs["doc_id"], docs["source_uri"], strict=True))
    return {
        "documents": [
            {
                "source_uri": r["source_uri"],
                "title": r["title"],
                "canonical": r["is_canonical"],
                "duplicate_of": by_doc.get(r["duplicate_of"]) if r["duplicate_of"] else None,
                "contained_in": by_doc.get(r["contained_in"]) if r["contained_in"] else None,
                "boilerplate_heavy": r["is_boilerplate_heavy"],
                "boilerplate_ratio": round(r["boilerplate_ratio"], 2),
            }
            for r in docs.iter_rows(named=True)
        ],
        "articles": published["articles"].height,
        "claims": published["claims"].height,
        "n_sources": len(canon),
    }


def test_golden_output(published) -> None:
    view = _golden_view(published)
    if os.environ.get("NEWSDQ_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(view, indent=2, ensure_ascii=False) + "\n", "utf-8")
    assert view == json.loads(GOLDEN.read_text("utf-8"))


def test_flow_run_carries_summary_artifacts(published, prefect_api_url: str) -> None:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def read() -> list:
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=["curate-news-summary", "curate-news-counts"])
                )
            )

    artifacts = asyncio.run(read())
    kinds = {a.key: a for a in artifacts}
    assert {"curate-news-summary", "curate-news-counts"} <= set(kinds)
    summary = kinds["curate-news-summary"]
    assert summary.flow_run_id is not None
    assert "verdict" in summary.data and "| published |" in summary.data
