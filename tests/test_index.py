"""The persistent near-duplicate index across runs."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import polars as pl

from flows.core.boilerplate import (
    PASSAGE_INDEX,
    find_boilerplate,
    passage_banding,
    passage_buckets,
    passage_index_rows,
    passage_signatures,
)
from flows.core.dedup import (
    dedup_banding,
    deduplicate,
    doc_buckets,
    doc_signatures,
    searchable,
)
from flows.core.dedup_stage import (
    DedupHistory,
    DedupResult,
    dedup_stage,
    frame_index,
    index_rows,
)
from flows.core.passages import PASSAGES
from flows.core.settings import Settings
from flows.io.index import (
    legacy_passages_table,
    match_history,
    passage_history,
    passages_table,
    signatures_table,
    snapshot_dedup_history,
    snapshot_history,
)
from flows.io.store import Store
from flows.tasks import index_tables
from tests.test_boilerplate import _per_band
from tests.test_dedup import OTHER, STORY, _docs

S = Settings()


def _publish_run(store: Store, run_id: str, docs: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    result = _dedup(store, docs, settings)
    run_dir = store.staging_dir(run_id) / "run"
    run_dir.mkdir()
    tables = index_tables(result.documents, result.signatures, _no_passages(settings), settings)
    store.publish(run_id, tables, run_dir)
    return result.documents


def _no_passages(settings: Settings) -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            **PASSAGES,
            "figures": pl.String,
            "support": pl.Int64,
            "known_support": pl.Int64,
            "is_boilerplate": pl.Boolean,
            "signal": pl.String,
        }
    )


def _dedup(store: Store, docs: pl.DataFrame, settings: Settings) -> DedupResult:
    """Run the dedup stage as the flow does, against the store's published snapshot."""
    mh, dd = settings.minhash, settings.dedup
    sigs = doc_signatures(docs, mh, dd.short_tokens)
    history = snapshot_dedup_history(store.current, mh, dd)
    return dedup_stage(docs, sigs, mh, dd, settings.containment, history)


def test_a_near_copy_of_last_weeks_article_points_at_it(tmp_path: Path) -> None:
    store = Store(tmp_path)
    first = _publish_run(
        store, "r1", _docs([STORY, OTHER], [dt.date(2025, 3, 1), None], ids=["a", "o"]), S
    )
    _publish_run(store, "r2", _docs([OTHER.replace("fourth", "fifth") + " More."], ids=["p"]), S)
    edited = _docs(
        [STORY.replace("overnight", "during the night")], [dt.date(2025, 3, 8)], ids=["n"]
    )
    result = _dedup(store, edited, S)
    out = result.documents
    assert out["duplicate_of"].to_list() == ["a"]
    assert out["cluster_id"].to_list() == [first.filter(pl.col("doc_id") == "a")["cluster_id"][0]]
    # only the matching history document was read, not the whole index
    assert result.stats.history_matches == 1 and result.stats.index_rebuilt == 0
    banding = dedup_banding(S.minhash, S.dedup)
    sigs = doc_signatures(edited, S.minhash)
    match = match_history(store.current, banding, doc_buckets(sigs, banding), S.minhash)
    assert match.documents["doc_id"].to_list() == ["a"]


def test_the_in_memory_index_answers_as_the_stored_one(tmp_path: Path) -> None:
    store = Store(tmp_path)
    first = _dedup(store, _docs([STORY, OTHER, BRIEF], ids=["a", "o", "b"]), S)
    run_dir = store.staging_dir("r1") / "run"
    run_dir.mkdir()
    tables = index_tables(first.documents, first.signatures, _no_passages(S), S)
    store.publish("r1", tables, run_dir)
    new = _docs([STORY.replace("Tuesday", "Monday"), BRIEF.replace("Leyton", "Lyeton")])
    sigs = doc_signatures(new, S.minhash, S.dedup.short_tokens)
    keys = doc_buckets(searchable(sigs, S.dedup), dedup_banding(S.minhash, S.dedup))
    ask = snapshot_dedup_history(store.current, S.minhash, S.dedup).matches
    assert ask is not None
    stored = ask(keys)
    rows = index_rows(first.documents, first.signatures)
    in_memory = frame_index(rows, S.minhash, S.dedup)(keys)
    assert sorted(in_memory.documents["doc_id"]) == ["a", "b"]
    # the stored lookup attaches the published texts (none were published here)
    assert in_memory.documents.equals(stored.documents.drop("clean_text"))
    assert in_memory.buckets.sort(pl.all()).equals(stored.buckets.sort(pl.all()))


def test_a_changed_banding_rebuilds_buckets_from_stored_signatures(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _publish_run(store, "r1", _docs([STORY], ids=["a"]), S)
    other = dataclasses.replace(S, dedup=dataclasses.replace(S.dedup, bands=16, rows=8))
    out = _dedup(store, _docs([STORY.replace("Tuesday", "Monday")], ids=["n"]), other).documents
    assert out["duplicate_of"].to_list() == ["a"]


def test_an_empty_history_matches_nothing(tmp_path: Path) -> None:
    assert snapshot_dedup_history(None, S.minhash, S.dedup).matches is None  # nothing to ask
    result = _dedup(Store(tmp_path), _docs([STORY], ids=["a"]), S)
    assert result.documents["is_canonical"].to_list() == [True]
    assert result.stats.history_matches == 0
    # an index with no document of this run answers as no index at all
    docs = _docs([STORY, OTHER], ids=["a", "o"])
    sigs = doc_signatures(docs, S.minhash, S.dedup.short_tokens)
    alone = dedup_stage(docs, sigs, S.minhash, S.dedup, S.containment)
    empty = index_rows(alone.documents, alone.signatures).clear()
    history = DedupHistory(frame_index(empty, S.minhash, S.dedup))
    asked = dedup_stage(docs, sigs, S.minhash, S.dedup, S.containment, history)
    assert asked.documents.equals(alone.documents) and asked.pairs.equals(alone.pairs)
    assert asked.stats == alone.stats


BRIEF = (
    "Mansfeld lost at home to Leyton Orient on Saturday after a second-half goal from Andy "
    "Colbert left the club without a win in nine league games."
)


def test_a_retyped_brief_matches_a_published_brief_through_the_character_bands(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path)
    _publish_run(store, "r1", _docs([BRIEF, STORY], ids=["b", "s"]), S)
    retyped = BRIEF.replace("Leyton", "Lyeton").replace("second-half", "secnod-half")
    out = _dedup(store, _docs([retyped.replace("league", "")], ids=["n"]), S).documents
    assert out["duplicate_of"].to_list() == ["b"]
    # word 5-grams alone miss it (word 3-grams might not: the point is the character bands)
    words_only = dataclasses.replace(
        S,
        dedup=dataclasses.replace(S.dedup, short_tokens=0),
        minhash=dataclasses.replace(S.minhash, ngram=5),
    )
    out = _dedup(store, _docs([retyped.replace("league", "")], ids=["n"]), words_only).documents
    assert out["duplicate_of"].to_list() == [None]


def test_an_index_written_before_character_signatures_is_still_read(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _publish_run(store, "r1", _docs([STORY], ids=["a"]), S)
    # rewrite the published signature file as an older version wrote it
    (old,) = sorted((store.current / signatures_table(S.minhash)).glob("*/*.parquet"))
    frame = pl.read_parquet(old).drop("char_signature", "char_numbers", "numbers")
    old.unlink()
    frame.write_parquet(old)
    out = _dedup(store, _docs([STORY.replace("Tuesday", "Monday")], ids=["n"]), S).documents
    assert out["duplicate_of"].to_list() == ["a"]


def test_the_passage_index_returns_earlier_passages_sharing_a_bucket(tmp_path: Path) -> None:
    kit = "Support independent reporting from the river towns and the capital, every day."
    store = Store(tmp_path)
    mh, bp = S.minhash, S.boilerplate
    banding = passage_banding(mh, bp)
    for r in range(3):
        texts = [
            f"{kit}\n\nStory number {r}-{i} about the harbour, the council and the vote."
            for i in range(2)
        ]
        docs = pl.DataFrame(
            {"doc_id": [f"r{r}d{i}" for i in range(2)], "text": texts, "title_hint": [None] * 2},
            schema_overrides={"title_hint": pl.String},
        )
        if r == 2:
            break
        out, passages = find_boilerplate(docs, mh, bp)
        documents = out.with_columns(cluster_id=pl.col("doc_id"))
        run_dir = store.staging_dir(f"r{r}") / "run"
        run_dir.mkdir()
        rows = passage_index_rows(passages, documents, mh, bp)
        store.publish(f"r{r}", {passages_table(banding): rows}, run_dir)
    _, passages = find_boilerplate(docs, mh, bp)
    keys = passage_buckets(
        passage_signatures(passages.filter(pl.col("passage") == 0)["text"], mh), banding
    )
    rows = passage_history(store.current, banding, keys, cap=64, documents=10_000)
    # the kit of all four earlier pages, no story passage (their texts differ)
    assert sorted(rows["doc_id"].unique()) == ["r0d0", "r0d1", "r1d0", "r1d1"]
    assert (rows["passage"] == 0).all()
    capped = passage_history(store.current, banding, keys, cap=2, documents=10_000)
    assert sorted(capped["doc_id"].unique()) == ["r0d0", "r0d1"]  # first documents by id
    assert passage_history(None, banding, keys, cap=64, documents=10_000).height == 0
    # the window: the newest run alone holds 2 documents; 3 need the run before it too
    recent = passage_history(store.current, banding, keys, cap=64, documents=2)
    assert sorted(recent["doc_id"].unique()) == ["r1d0", "r1d1"]
    both = passage_history(store.current, banding, keys, cap=64, documents=3)
    assert sorted(both["doc_id"].unique()) == ["r0d0", "r0d1", "r1d0", "r1d1"]
    assert passage_history(store.current, banding, keys, cap=64, documents=0).height == 0
    # the stage's history over the snapshot: the same lookup with the configured cap and window
    history = snapshot_history(store.current, mh, bp)
    assert history.known is None  # no index/boilerplate was published here
    expected = passage_history(
        store.current, banding, keys, bp.history_bucket_cap, bp.history_documents
    )
    assert history.passages is not None
    assert history.passages(keys).equals(expected) and expected.height > 0
    # nothing to look up before any run, nor in an index of another banding: no lookup
    assert snapshot_history(None, mh, bp).passages is None
    other = dataclasses.replace(bp, passage_threshold=0.8)
    assert passage_banding(mh, other) != banding
    assert snapshot_history(store.current, mh, other).passages is None


def test_a_passage_index_of_the_legacy_layout_is_still_read(tmp_path: Path) -> None:
    # outputs written before the passage index held a row per passage kept a row per
    # (passage, band) in index/passages-<b>x<r>: their runs still count towards support
    kit = "Support independent reporting from the river towns and the capital, every day."
    store = Store(tmp_path)
    mh, bp = S.minhash, S.boilerplate
    banding = passage_banding(mh, bp)
    for r in range(2):
        docs = pl.DataFrame(
            {
                "doc_id": [f"r{r}d{i}" for i in range(2)],
                "text": [f"{kit}\n\nStory {r}-{i} about the harbour vote." for i in range(2)],
                "title_hint": [None] * 2,
            },
            schema_overrides={"title_hint": pl.String},
        )
        out, passages = find_boilerplate(docs, mh, bp)
        rows = passage_index_rows(passages, out.with_columns(cluster_id="doc_id"), mh, bp)
        if r == 0:  # the old layout: the same passages, a row per band
            rows = _per_band(rows, banding.bands)
        table = legacy_passages_table(banding) if r == 0 else passages_table(banding)
        run_dir = store.staging_dir(f"r{r}") / "run"
        run_dir.mkdir()
        store.publish(f"r{r}", {table: rows}, run_dir)
        if r == 0:  # an output holding the legacy table alone has a passage history
            assert snapshot_history(store.current, mh, bp).passages is not None
    keys = passage_buckets(
        passage_signatures(passages.filter(pl.col("passage") == 0)["text"], mh), banding
    )
    both = passage_history(store.current, banding, keys, cap=64, documents=10_000)
    assert sorted(both["doc_id"].unique()) == ["r0d0", "r0d1", "r1d0", "r1d1"]
    assert both.schema == PASSAGE_INDEX and (both["passage"] == 0).all()
    # the same rows per document from either layout
    per_doc = both.group_by("doc_id").agg(pl.len())["len"]
    assert per_doc.n_unique() == 1 and per_doc[0] > 0
    # the window counts the newest runs first: the current layout's, then the legacy ones
    newest = passage_history(store.current, banding, keys, cap=64, documents=2)
    assert sorted(newest["doc_id"].unique()) == ["r1d0", "r1d1"]


def test_an_index_of_other_shingles_is_rebuilt_from_the_published_documents(
    tmp_path: Path,
) -> None:
    from flows.io.index import rebuild_index

    store = Store(tmp_path)
    old = dataclasses.replace(S, minhash=dataclasses.replace(S.minhash, ngram=5))
    first = _dedup(store, _docs([STORY, OTHER], ids=["a", "o"]), old)
    documents = first.documents
    run_dir = store.staging_dir("r1") / "run"
    run_dir.mkdir()
    tables = index_tables(documents, first.signatures, _no_passages(old), old)
    store.publish("r1", tables | {"documents": documents}, run_dir)
    assert signatures_table(old.minhash) in tables and signatures_table(S.minhash) not in tables
    # the word 5-gram index is never compared with word 3-gram signatures ...
    edited = _docs([STORY.replace("overnight", "during the night")], ids=["n"])
    banding = dedup_banding(S.minhash, S.dedup)
    sigs = doc_signatures(edited, S.minhash, S.dedup.short_tokens)
    match = match_history(store.current, banding, doc_buckets(sigs, banding), S.minhash)
    assert match.documents.height == 0
    # ... the published documents are signed again instead, and written with the next run
    rebuilt = rebuild_index(store.current, S.minhash, S.dedup.short_tokens)
    assert sorted(rebuilt["doc_id"]) == ["a", "o"]
    result = _dedup(store, edited, S)
    assert result.documents["duplicate_of"].to_list() == ["a"]
    assert result.stats.index_rebuilt == 2 and result.stats.history_matches is None
    assert "history_matches" not in result.stats.notes()
    assert result.rebuilt.equals(rebuilt)
    rows = index_tables(result.documents, result.signatures, _no_passages(S), S, result.rebuilt)
    assert sorted(rows[signatures_table(S.minhash)]["doc_id"]) == ["a", "n", "o"]
    run_dir = store.staging_dir("r2") / "run"
    run_dir.mkdir()
    store.publish("r2", rows, run_dir)
    assert rebuild_index(store.current, S.minhash, S.dedup.short_tokens).height == 0


def test_history_texts_let_aligned_words_find_a_copy_published_earlier(tmp_path: Path) -> None:
    from tests.test_dedup import _edit, _random_words

    aligned = dataclasses.replace(S, dedup=dataclasses.replace(S.dedup, aligned_coverage=0.6))
    words = _random_words(8, 60)
    first, later = " ".join(_edit(words, 1, 0.2)), " ".join(_edit(words, 2, 0.2))
    store = Store(tmp_path)
    published = _publish_run(store, "r1", _docs([first, STORY], ids=["a", "s"]), aligned)
    run_dir = store.staging_dir("r2") / "run"
    run_dir.mkdir()
    tables = index_tables(published, doc_signatures(published, S.minhash), _no_passages(S), S)
    store.publish("r2", {**tables, "documents": published}, run_dir)
    banding = dedup_banding(S.minhash, S.dedup)
    docs = _docs([later], ids=["b"])
    sigs = doc_signatures(docs, S.minhash, S.dedup.short_tokens)
    match = match_history(store.current, banding, doc_buckets(sigs, banding), S.minhash, texts=True)
    assert match.documents.filter(pl.col("doc_id") == "a")["clean_text"].to_list() == [first]
    out, _, _ = deduplicate(docs, S.minhash, aligned.dedup, match.documents, match.buckets, sigs)
    assert out["duplicate_of"].to_list() == ["a"]
    # without the history's text the pair is judged on its n-grams alone: no copy
    blind = match.documents.drop("clean_text")
    out, _, _ = deduplicate(docs, S.minhash, aligned.dedup, blind, match.buckets, sigs)
    assert out["duplicate_of"].to_list() == [None]
