"""The output store: atomic snapshots, recovery and the run lock."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from flows.core.errors import PublishError
from flows.io.shards import Chunked
from flows.io.store import Store, output_lock


def _publish(store: Store, run_id: str, rows: int) -> None:
    run_dir = store.staging_dir(run_id) / "run"
    run_dir.mkdir()
    (run_dir / "summary.json").write_text("{}")
    store.publish(
        run_id,
        {"documents": pl.DataFrame({"doc_id": [f"{run_id}-{i}" for i in range(rows)]})},
        run_dir,
    )


def test_snapshots_accumulate_and_readers_see_whole_runs(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _publish(store, "r1", 2)
    _publish(store, "r2", 3)
    assert pl.read_parquet(f"{tmp_path}/documents/**/*.parquet").height == 5
    assert [r["run_id"] for r in store.manifest()["runs"]] == ["r1", "r2"]
    assert (tmp_path / "runs" / "r2" / "summary.json").exists()
    assert not (tmp_path / "_staging" / "r2").exists()


def test_staged_tables_are_moved_into_the_snapshot_that_commits_them(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _publish(store, "r1", 2)
    docs = pl.DataFrame({"doc_id": ["r2-0", "r2-1", "r2-2"]})
    chunked = Chunked(
        pl.Schema({"k": pl.UInt64}),
        lambda: iter([pl.DataFrame({"k": [1, 2]}, schema={"k": pl.UInt64})]),
    )
    staged = store.stage_tables(
        "r2", {"documents": docs, "index/keys": chunked, "articles": docs.clear()}
    )
    assert {name: s.rows for name, s in staged.items()} == {
        "documents": 3,
        "index/keys": 2,
        "articles": 0,
    }
    assert all(s.path.is_relative_to(tmp_path / "_staging" / "r2") for s in staged.values())
    # staged, nothing is visible yet
    assert pl.read_parquet(f"{tmp_path}/documents/**/*.parquet").height == 2
    run_dir = store.staging_dir("r2") / "run"
    run_dir.mkdir()
    snapshot = store.publish("r2", {**staged, "quarantine": docs.clear()}, run_dir)
    assert pl.read_parquet(f"{tmp_path}/documents/**/*.parquet").height == 5
    assert pl.read_parquet(snapshot / "index/keys/r2/part-0.parquet")["k"].to_list() == [1, 2]
    # a new table's empty file fixes its schema; an existing table's empty rows add no file
    assert (snapshot / "articles" / "r2" / "part-0.parquet").exists()
    runs = {r["run_id"]: r["tables"] for r in store.manifest()["runs"]}
    assert runs["r2"]["documents"]["rows"] == 3 and runs["r2"]["index/keys"]["rows"] == 2
    assert store.manifest()["tables"]["documents"]["rows"] == 5
    assert not (tmp_path / "_staging").exists()


def test_a_staged_table_left_by_a_failed_run_is_never_published(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _publish(store, "r1", 1)
    store.stage_tables("r2", {"documents": pl.DataFrame({"doc_id": ["x"]})})
    assert store.discard("r2") == []
    assert not (tmp_path / "_staging").exists()
    store.stage_tables("r3", {"documents": pl.DataFrame({"doc_id": ["y"]})})
    assert store.recover() == ["_staging"]  # the next run's start, after a crash
    assert pl.read_parquet(f"{tmp_path}/documents/**/*.parquet")["doc_id"].to_list() == ["r1-0"]


def test_recover_removes_an_unfinished_snapshot(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _publish(store, "r1", 1)
    broken = tmp_path / "_versions" / "000002-r2"
    (broken / "documents" / "r2").mkdir(parents=True)
    assert store.recover() == ["000002-r2"]
    assert not broken.exists()
    assert pl.read_parquet(f"{tmp_path}/documents/**/*.parquet").height == 1


def _lock_in_another_process(out: Path) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys; from pathlib import Path; from flows.io.store import output_lock\n"
        "from flows.core.errors import OutputLockedError\n"
        "try:\n    with output_lock(Path(sys.argv[1])): print('locked')\n"
        "except OutputLockedError as e: print(e); sys.exit(5)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=60
    )


def test_second_run_on_same_output_is_refused(tmp_path: Path) -> None:
    with output_lock(tmp_path):
        refused = _lock_in_another_process(tmp_path)
        assert refused.returncode == 5 and "another newsdq run" in refused.stdout
        with output_lock(tmp_path):  # the same process (CLI, then its flow) goes through
            pass
        assert _lock_in_another_process(tmp_path).returncode == 5  # still held by the outer
    assert _lock_in_another_process(tmp_path).stdout.strip() == "locked"  # released


def test_recover_restores_links_lost_by_a_crash_right_after_the_first_swap(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _publish(store, "r1", 2)
    for name in ("documents", "runs", "manifest.json"):
        (tmp_path / name).unlink()  # as if the process died between the swap and the links
    store.recover()
    assert pl.read_parquet(f"{tmp_path}/documents/**/*.parquet").height == 2


def test_snapshot_named_by_current_is_never_removed(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _publish(store, "r1", 1)
    assert store.current is not None
    (store.current / "_COMMITTED").unlink()  # a marker lost in a power cut
    store.recover()
    assert pl.read_parquet(f"{tmp_path}/documents/**/*.parquet").height == 1
    (tmp_path / "_versions" / "stray-folder").mkdir()
    _publish(store, "r2", 1)
    assert pl.read_parquet(f"{tmp_path}/documents/**/*.parquet").height == 2


def test_a_foreign_folder_in_the_way_is_refused_before_anything_is_committed(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path)
    (tmp_path / "runs").mkdir()
    with pytest.raises(PublishError, match="not newsdq's link"):
        _publish(store, "r1", 1)
    assert store.current is None


def test_a_table_read_with_a_schema_fills_columns_older_runs_lacked(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for run_id, frame in (
        ("r1", pl.DataFrame({"source_uri": ["a.txt"], "run_id": ["r1"]})),
        ("r2", pl.DataFrame({"source_uri": ["b.txt"], "file_size": [7], "run_id": ["r2"]})),
    ):
        run_dir = store.staging_dir(run_id) / "run"
        run_dir.mkdir()
        store.publish(run_id, {"index/files": frame}, run_dir)
    schema = pl.Schema({"source_uri": pl.String, "file_size": pl.Int64})
    read = store.scan("index/files", schema=schema)
    assert read is not None and read.schema == schema
    assert read.sort("source_uri").rows() == [("a.txt", None), ("b.txt", 7)]


def test_history_readers_take_runs_from_before_a_new_column(tmp_path: Path) -> None:
    from flows.io.claim_tables import history_articles

    store = Store(tmp_path)
    old = {"doc_id": ["d1"], "source_uri": ["a.txt"], "clean_text": ["A."]}
    new = {"doc_id": ["d2"], "source_uri": ["b.txt"], "clean_text": ["B."], "replaced_bytes": [2]}
    for run_id, columns in (("r1", old), ("r2", new)):
        frame = pl.DataFrame(columns).with_columns(published_date=pl.lit(None, pl.Date))
        run_dir = store.staging_dir(run_id) / "run"
        run_dir.mkdir()
        store.publish(run_id, {"documents": frame, "articles": frame}, run_dir)
    read = store.scan("documents", columns=["doc_id"])
    assert read is not None and sorted(read["doc_id"]) == ["d1", "d2"]
    found = history_articles(store.current, pl.Series(["d1", "d2"]), pl.Series([], dtype=pl.String))
    assert sorted(found["doc_id"]) == ["d1", "d2"]


def test_a_chunked_table_is_written_a_frame_at_a_time(tmp_path: Path) -> None:
    store = Store(tmp_path)
    schema = pl.Schema({"doc_id": pl.String, "band": pl.UInt16, "band_hash": pl.UInt64})
    frames = [
        pl.DataFrame({"doc_id": [f"d{i}"] * 3, "band": [0, 1, 2], "band_hash": [i, 2 * i, 7]}).cast(
            schema
        )
        for i in range(4)
    ]
    made: list[int] = []

    def chunks() -> list[pl.DataFrame]:
        made.append(1)
        return [frames[0], frames[1].clear(), *frames[1:]]

    def publish(run_id: str, table: Chunked) -> None:
        run_dir = store.staging_dir(run_id) / "run"
        run_dir.mkdir()
        store.publish(run_id, {"index/t": table, "documents": pl.DataFrame({"a": [1]})}, run_dir)

    publish("r1", Chunked(schema, chunks))
    assert made == [1]  # built once, while written
    path = tmp_path / "index" / "t" / "r1" / "part-0.parquet"
    assert pl.read_parquet(path).equals(pl.concat(frames))  # the rows in order
    assert pq.ParquetFile(path).metadata.num_row_groups == 4  # one per non-empty frame
    manifest = store.manifest()
    assert manifest["runs"][-1]["tables"]["index/t"]["rows"] == 12
    assert manifest["tables"]["index/t"]["schema"] == {
        "doc_id": "String",
        "band": "UInt16",
        "band_hash": "UInt64",
    }
    # a run with no rows adds no file once the table has one, as for a frame ...
    publish("r2", Chunked(schema, lambda: iter(())))
    assert not (tmp_path / "index" / "t" / "r2").exists()
    assert "index/t" not in store.manifest()["runs"][-1]["tables"]
    # ... and a new table's first, empty, file fixes its schema
    store = Store(tmp_path / "new")
    publish("r3", Chunked(schema, list))
    empty = pl.read_parquet(tmp_path / "new" / "index" / "t" / "r3" / "part-0.parquet")
    assert empty.height == 0 and empty.schema == schema
    assert store.manifest()["runs"][-1]["tables"]["index/t"]["rows"] == 0


def test_chunks_made_ahead_come_in_order_one_ahead_and_raise_where_made() -> None:
    from flows.io.shards import made_ahead

    made: list[int] = []

    def chunks() -> Iterator[int]:
        for i in range(5):
            made.append(i)
            yield i

    seen = []
    for item in made_ahead(chunks()):
        seen.append(item)
        assert len(made) <= len(seen) + 1  # never more than one made ahead
    assert seen == [0, 1, 2, 3, 4]
    assert list(made_ahead([])) == []

    def broken() -> Iterator[int]:
        yield 1
        raise RuntimeError("chunk 2 failed")

    got = made_ahead(broken())
    assert next(got) == 1
    with pytest.raises(RuntimeError, match="chunk 2 failed"):
        next(got)


def test_a_spilled_frame_reads_back_whole_and_by_columns(tmp_path: Path) -> None:
    from flows.io.shards import spill

    frame = pl.DataFrame({"a": [3, 1, 2], "b": ["x", None, "zz"], "c": [True, False, True]})
    scan = spill(frame, tmp_path / "staging" / "passages.parquet")
    assert isinstance(scan, pl.LazyFrame)
    assert scan.collect().equals(frame)
    assert scan.filter("c").select("b").collect()["b"].to_list() == ["x", "zz"]
    assert (tmp_path / "staging" / "passages.parquet").is_file()
