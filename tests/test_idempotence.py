"""Idempotence: the same inbox once, twice, or in two halves gives the same published data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import SAMPLE_INBOX

pytestmark = pytest.mark.e2e


def _table(out: Path, name: str) -> pl.DataFrame:
    # One resolution of `_current`, so all tables come from one snapshot.
    return pl.read_parquet(f"{(out / '_current').resolve()}/{name}/**/*.parquet")


def _run(newsdq, inbox: Path, out: Path) -> dict:
    result = newsdq("run", "--inbox", str(inbox), "--out", str(out))
    assert result.code == 0, result.stderr
    run_id = result.stdout.split("run ", 1)[1].split(":", 1)[0]
    summary = json.loads((out / "runs" / run_id / "summary.json").read_text("utf-8"))
    c = summary["counts"]
    assert c["inputs"] == c["ingested"] + c["already_ingested"]
    assert c["ingested"] == c["published"] + c["duplicates"] + c["quarantined"]
    return c


def _clusters(documents: pl.DataFrame) -> set[tuple[str, frozenset[str]]]:
    """Each cluster as (canonical source_uri, member source_uris): cluster ids are run-made."""
    groups = documents.group_by("cluster_id").agg(
        canonical=pl.col("source_uri").filter(pl.col("is_canonical")).first(),
        members=pl.col("source_uri"),
    )
    return {(c, frozenset(m)) for c, m in groups.select("canonical", "members").iter_rows()}


@pytest.fixture(scope="module")
def once(newsdq, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample inbox processed by one run."""
    out = tmp_path_factory.mktemp("once") / "out"
    _run(newsdq, SAMPLE_INBOX, out)
    return out


def test_a_second_run_of_the_same_inbox_adds_nothing(newsdq, once: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(once, out, symlinks=True)
    first = {t: _table(out, t) for t in ("documents", "articles", "claims", "quarantine")}
    again = _run(newsdq, SAMPLE_INBOX, out)
    assert again["ingested"] == 0 and again["published"] == 0
    assert again["already_ingested"] == again["inputs"] > 0
    for name, before in first.items():
        after = _table(out, name)
        assert after.equals(before), name  # same rows, ids and run ids: nothing re-published


@pytest.fixture(scope="module")
def halves(newsdq, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample inbox in two runs into one output: the first half of its files, then all."""
    inbox = tmp_path_factory.mktemp("halves") / "inbox"
    out = inbox.parent / "out"
    inbox.mkdir()
    files = sorted(SAMPLE_INBOX.iterdir())
    half = len(files) // 2
    for path in files[:half]:
        shutil.copy2(path, inbox / path.name)
    first = _run(newsdq, inbox, out)
    for path in files[half:]:
        shutil.copy2(path, inbox / path.name)
    second = _run(newsdq, inbox, out)
    # the second run reads only the files of the second half
    assert first["inputs"] > 0 and second["already_ingested"] == first["inputs"]
    return out


def _tables(out: Path) -> dict[str, pl.DataFrame]:
    return {t: _table(out, t) for t in ("documents", "articles", "claims")}


def test_two_halves_find_the_same_documents_clusters_and_claims(once: Path, halves: Path) -> None:
    split, whole = _tables(halves), _tables(once)
    assert sorted(split["documents"]["doc_id"]) == sorted(whole["documents"]["doc_id"])
    assert split["articles"].height == whole["articles"].height  # one article per cluster
    members = {m for _, m in _clusters(split["documents"])}
    assert members == {m for _, m in _clusters(whole["documents"])}
    # Claims come from canonical articles: where both runs chose the same canonical, the claims
    # (ids, counts, spans) are the same. Where they chose differently, see the xfail below.
    same = set(split["articles"]["doc_id"]) & set(whole["articles"]["doc_id"])
    assert len(same) >= split["articles"].height - 2  # the two clusters named below at most
    columns = ["claim_id", "doc_id", "sentence", "start", "end", "quantity", "unit", "source"]

    def claims_of(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter(pl.col("doc_id").is_in(list(same))).select(columns).sort(columns)

    assert claims_of(split["claims"]).height > 0
    assert claims_of(split["claims"]).equals(claims_of(whole["claims"]))


# Found by this test (2026-11-22): history rules make the outcome depend on the order of arrival.
# (1) A published article is never demoted: a later near-copy points at it with duplicate_of even
# when it would win the canonical rules (earliest date, then least boilerplate, ...) in one run.
# In the sample, courier-2025-03-16-port-strike (first half) stays canonical over
# post-2025-03-16-port-strike (same date, less boilerplate), and gazette-2025-03-18-lessar-flood
# over wire-feed.jsonl#2; the articles, cluster_ids and the claims of those two stories differ.
# (2) was: boilerplate support was counted within one run, so a gazette passage on 4 pages split
# 2+2 over the runs ("We use your address only to send the newsletters you choose.") stayed in
# all four. Support now counts the passage index of earlier runs (test below).
CANONICAL_BY_ARRIVAL = (
    "a published canonical is not re-elected when a better copy arrives in a later run (1)"
)


@pytest.mark.xfail(strict=True, reason=CANONICAL_BY_ARRIVAL)
def test_two_halves_choose_the_same_canonicals_and_claims(once: Path, halves: Path) -> None:
    split, whole = _tables(halves), _tables(once)
    assert _clusters(split["documents"]) == _clusters(whole["documents"])
    assert sorted(split["articles"]["doc_id"]) == sorted(whole["articles"]["doc_id"])
    assert split["claims"].height == whole["claims"].height
    assert set(split["claims"]["claim_id"]) == set(whole["claims"]["claim_id"])


def test_two_halves_remove_the_same_boilerplate(once: Path, halves: Path) -> None:
    columns = ["doc_id", "clean_text", "n_chars", "boilerplate_ratio"]
    split, whole = _tables(halves), _tables(once)
    second = split["documents"]["run_id"].max()
    later = split["documents"].filter(pl.col("run_id") == second)
    assert later.height > 0
    # The second run counts support over the first run's passages too: what it publishes is
    # cleaned exactly as one run of the whole inbox cleans it.
    expected = whole["documents"].filter(pl.col("doc_id").is_in(later["doc_id"].implode()))
    assert later.select(columns).sort("doc_id").equals(expected.select(columns).sort("doc_id"))
    # Published data is not rewritten: a first-half page keeps a passage that recurred on too
    # few pages in its own run, and loses nothing that one run keeps.
    whole_text = dict(whole["documents"].select("doc_id", "clean_text").iter_rows())
    earlier = split["documents"].filter(pl.col("run_id") != second)
    for doc_id, clean in earlier.select("doc_id", "clean_text").iter_rows():
        assert set(whole_text[doc_id].splitlines()) <= set(clean.splitlines()), doc_id
