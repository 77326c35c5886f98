"""The dedup stage as the flow, the tests and the benchmarks call it: history in, typed result out."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from flows.core.dedup import deduplicate, doc_signatures
from flows.core.dedup_stage import (
    NO_HISTORY,
    DedupHistory,
    DedupResult,
    IndexMatch,
    dedup_stage,
    frame_index,
    index_rows,
)
from flows.core.drops import set_aside_known
from flows.core.run import RunState
from flows.core.schema import QUARANTINE
from flows.core.settings import Settings
from tests.test_containment import _filler
from tests.test_dedup import OTHER, STORY, _docs

S = Settings()
MH, DD, CT = S.minhash, S.dedup, S.containment


def _stage(docs: pl.DataFrame, history: DedupHistory = NO_HISTORY) -> DedupResult:
    sigs = doc_signatures(docs, MH, DD.short_tokens)
    return dedup_stage(docs, sigs, MH, DD, CT, history)


def _in_memory(*runs: DedupResult) -> DedupHistory:
    """The history of earlier runs held in memory: their index rows, with their texts."""
    rows = [
        index_rows(r.documents, r.signatures).join(
            r.documents.select("doc_id", "clean_text").unique("doc_id"), on="doc_id"
        )
        for r in runs
    ]
    return DedupHistory(frame_index(pl.concat(rows), MH, DD))


def test_an_earlier_runs_article_is_the_canonical_of_a_new_near_copy() -> None:
    first = _stage(_docs([STORY, OTHER], [dt.date(2025, 3, 1), None], ids=["a", "o"]))
    edited = STORY.replace("overnight", "during the night")
    later = _stage(_docs([edited], [dt.date(2025, 3, 8)], ids=["n"]), _in_memory(first))
    row = later.documents.row(0, named=True)
    assert (row["duplicate_of"], row["duplicate_kind"], row["status"]) == ("a", "near", "duplicate")
    assert row["cluster_id"] == first.documents.filter(pl.col("doc_id") == "a")["cluster_id"][0]
    assert not row["is_canonical"] and row["similarity"] > DD.threshold
    # only the matching earlier article was looked up, not the whole index
    assert later.stats.history_matches == 1 and later.stats.index_rebuilt == 0
    assert later.pairs.select("left", "right").rows() == [("n", "a")]
    # alone, the same page is its own canonical
    alone = _stage(_docs([edited], [dt.date(2025, 3, 8)], ids=["n"]))
    assert alone.documents["status"].to_list() == ["published"]
    assert alone.stats.history_matches == 0 and alone.pairs.height == 0


def test_the_stats_match_the_frames() -> None:
    blog = "\n\n".join([_filler(1), STORY, _filler(2), _filler(3), _filler(5)])
    brief = STORY.split(". ")[0] + "."
    docs = _docs(
        [blog, STORY, STORY.replace("Tuesday", "Monday"), STORY, OTHER, brief],
        ids=["blog", "s", "s2", "s", "o", "b"],
    )
    result = _stage(docs)
    documents, stats = result.documents, result.stats
    assert documents["doc_id"].to_list() == docs["doc_id"].to_list()  # the input's order
    assert stats.verified_pairs == result.pairs.height > 0
    assert stats.contained_in == documents["contained_in"].is_not_null().sum() > 0
    assert len(stats.candidate_similarity) == 20
    assert sum(stats.candidate_similarity) >= stats.verified_pairs
    assert (documents["status"] == "published").to_list() == documents["is_canonical"].to_list()
    assert documents["run_id"].is_null().all()
    assert result.quarantine.height == 0 and result.quarantine.schema == QUARANTINE
    assert list(stats.notes()) == [
        "index_rebuilt",
        "history_matches",
        "candidate_similarity",
        "contained_in",
        "verified_pairs",
    ]


def test_the_stage_clusters_as_deduplicate_does() -> None:
    docs = _docs(
        [STORY, STORY.replace("Tuesday", "Monday"), OTHER, STORY], ids=["a", "b", "o", "a"]
    )
    sigs = doc_signatures(docs, MH, DD.short_tokens)
    clustered, _, pairs = deduplicate(docs, MH, DD, sig_frame=sigs)
    result = dedup_stage(docs, sigs, MH, DD, CT)
    columns = ["doc_id", "cluster_id", "is_canonical", "duplicate_of", "duplicate_kind"]
    assert result.documents.select(columns).equals(clustered.select(columns))
    assert result.pairs.equals(pairs)


def test_a_rebuilt_index_stands_for_all_of_history() -> None:
    first = _stage(_docs([STORY, OTHER], ids=["a", "o"]))
    rebuilt = index_rows(first.documents, first.signatures)

    def never(buckets: pl.DataFrame) -> IndexMatch:
        raise AssertionError("the index is not asked when it was rebuilt")

    later = _stage(
        _docs([STORY.replace("Tuesday", "Monday")], ids=["n"]), DedupHistory(never, rebuilt)
    )
    assert later.documents["duplicate_of"].to_list() == ["a"]
    assert later.stats.index_rebuilt == 2 and later.stats.history_matches is None
    assert "history_matches" not in later.stats.notes()
    assert later.rebuilt.equals(rebuilt)  # written with this run's index rows


def test_an_in_memory_index_without_matches_returns_none() -> None:
    first = _stage(_docs([OTHER], ids=["o"]))
    later = _stage(_docs([STORY], ids=["n"]), _in_memory(first))
    assert later.stats.history_matches == 0
    assert later.documents["is_canonical"].to_list() == [True]


@pytest.mark.parametrize("known", [[], ["a"]])
def test_run_state_records_a_stage_in_one_place(known: list[str]) -> None:
    state = RunState(run_id="r")
    fresh = set_aside_known(
        _docs([STORY, OTHER], ids=["a", "o"]), pl.Series(known, dtype=pl.String)
    )
    state.record("normalise", fresh, 0.12345)
    result = _stage(fresh.documents)
    state.record("dedup", result, 1.5)
    assert state.timings == {"normalise": 0.123, "dedup": 1.5}
    assert state.notes == {"known_docs": len(known), **result.stats.notes()}
    assert fresh.documents["doc_id"].to_list() == [d for d in ["a", "o"] if d not in known]
    assert state.quarantined().height == 0 and state.quarantined()["run_id"].dtype == pl.String
