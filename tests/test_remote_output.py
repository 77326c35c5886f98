"""Remote outputs: fsspec URLs published through a local working copy (`flows/io/remote.py`)."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from flows.core.errors import OutputLockedError
from flows.core.settings import OutputConfig
from flows.io.faults import CRASH_EXIT_CODE
from flows.io.location import is_local, protocol, remote_fs
from flows.io.remote import RemoteOutput, find_remote_run, open_output, remote_lock
from flows.io.store import Store

TABLES = ("documents", "articles", "claims", "claim_timeline", "boilerplate", "quarantine")


def read_table(url: str, table: str) -> pl.DataFrame | None:
    """Read a table of a remote output as a reader should: the files the manifest lists."""
    fs, root = remote_fs(url)
    prefix = f"{root}/" if root else ""
    runs = json.loads(fs.cat_file(f"{prefix}manifest.json"))["runs"]
    paths = [r["tables"][table]["path"] for r in runs if table in r["tables"]]
    frames = [pl.read_parquet(io.BytesIO(fs.cat_file(prefix + p))) for p in paths]
    return pl.concat(frames) if frames else None


# --- unit: sync, upload, manifest, lock on an in-process memory:// store --------------------


@pytest.fixture
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"memory://remote-unit/{request.node.name}"
    yield name
    fs, root = remote_fs(name)
    if fs.exists(root):
        fs.rm(root, recursive=True)


def _open(url: str, cache: Path) -> tuple[Store, RemoteOutput]:
    local, remote = open_output(url, OutputConfig(cache_dir=str(cache)))
    assert remote is not None
    return Store(local), remote


def _run(store: Store, remote: RemoteOutput, run_id: str, rows: int) -> dict[str, int]:
    """Do what the flow does around a run: sync down, publish locally, upload."""
    synced = remote.sync_down(store)
    run_dir = store.staging_dir(run_id) / "run"
    (run_dir / "data_docs").mkdir(parents=True)
    (run_dir / "summary.json").write_text(json.dumps({"run_id": run_id}))
    (run_dir / "data_docs" / "index.html").write_text("<p>docs</p>")
    tables = {
        "documents": pl.DataFrame({"doc_id": [f"{run_id}-{i}" for i in range(rows)]}),
        "index/files": pl.DataFrame({"source_uri": [f"{run_id}.txt"]}),
    }
    snapshot = store.publish(run_id, tables, run_dir)
    remote.upload(snapshot, run_id)
    return synced


def _files(remote: RemoteOutput) -> set[str]:
    return {remote._relative(str(p)) for p in remote.fs.find(remote.root, withdirs=False)}


def test_chained_urls_are_remote_and_rooted_at_their_folder(tmp_path: Path) -> None:
    url = f"dir::file://{tmp_path}"
    assert protocol(url) == "dir" and not is_local(url)
    assert protocol("memory://x") == "memory" and is_local("/a::b/c") and is_local("file:///a")
    fs, root = remote_fs(url)
    assert root == ""
    fs.pipe_file("a.txt", b"x")
    assert (tmp_path / "a.txt").read_bytes() == b"x"


def test_runs_upload_in_the_layout_and_the_manifest_lists_them(url: str, tmp_path: Path) -> None:
    store, remote = _open(url, tmp_path / "cache")
    _run(store, remote, "r1", 2)
    _run(store, remote, "r2", 3)
    assert _files(remote) == {
        "manifest.json",
        *(f"{t}/{r}/part-0.parquet" for t in ("documents", "index/files") for r in ("r1", "r2")),
        *(f"runs/{r}/{f}" for r in ("r1", "r2") for f in ("summary.json", "data_docs/index.html")),
    }
    manifest = remote.manifest()
    assert manifest == store.manifest()  # the local snapshot's manifest, as it is
    assert [r["run_id"] for r in manifest["runs"]] == ["r1", "r2"]
    assert read_table(url, "documents")["doc_id"].to_list() == [
        "r1-0",
        "r1-1",
        "r2-0",
        "r2-1",
        "r2-2",
    ]


def test_a_fresh_working_copy_syncs_the_history_and_then_only_new_runs(
    url: str, tmp_path: Path
) -> None:
    first, remote_a = _open(url, tmp_path / "a")
    _run(first, remote_a, "r1", 2)
    _run(first, remote_a, "r2", 1)

    second, remote_b = _open(url, tmp_path / "b")
    assert remote_b.sync_down(second) == {"runs": 2, "downloaded_runs": 2, "dropped_runs": 0}
    assert second.manifest() == first.manifest()
    assert second.scan("documents").height == 3
    assert (second.root / "runs" / "r1" / "data_docs" / "index.html").is_file()
    assert remote_b.sync_down(second)["downloaded_runs"] == 0  # in step: nothing to do
    before = second.current

    _run(first, remote_a, "r3", 4)
    assert remote_b.sync_down(second)["downloaded_runs"] == 1  # the new run only
    assert second.scan("documents").height == 7
    old = "documents/r1/part-0.parquet"
    assert (second.current / old).stat().st_ino == (before / old).stat().st_ino  # linked
    # and the copy publishes on top of it
    _run(second, remote_b, "r4", 1)
    assert [r["run_id"] for r in remote_b.manifest()["runs"]] == ["r1", "r2", "r3", "r4"]
    assert read_table(url, "documents").height == 8


def test_a_run_is_refused_when_another_machine_committed_since_its_sync(
    url: str, tmp_path: Path
) -> None:
    a, remote_a = _open(url, tmp_path / "a")
    b, remote_b = _open(url, tmp_path / "b")
    _run(a, remote_a, "r1", 1)
    remote_b.sync_down(b)
    _run(a, remote_a, "r2", 1)  # committed while b's run was going on
    committed = remote_b.read("manifest.json")
    with pytest.raises(OutputLockedError, match="another run committed"):
        remote_b.upload(_publish_only(b, "rb", 5), "rb")
    assert remote_b.read("manifest.json") == committed
    assert not any("rb" in f for f in _files(remote_b))  # its uploaded files removed
    # b's next run follows the remote again, without its refused run
    assert remote_b.sync_down(b)["dropped_runs"] == 1
    assert [r["run_id"] for r in b.manifest()["runs"]] == ["r1", "r2"]
    assert b.scan("documents").height == 2


def _publish_only(store: Store, run_id: str, rows: int) -> Path:
    run_dir = store.staging_dir(run_id) / "run"
    run_dir.mkdir()
    (run_dir / "summary.json").write_text("{}")
    frame = pl.DataFrame({"doc_id": [f"{run_id}-{i}" for i in range(rows)]})
    return store.publish(run_id, {"documents": frame}, run_dir)


def test_files_of_an_upload_that_did_not_commit_are_ignored_then_removed(
    url: str, tmp_path: Path
) -> None:
    store, remote = _open(url, tmp_path / "cache")
    _run(store, remote, "r1", 2)
    # a crash between the upload and the manifest: committed locally, files on the remote
    snapshot = _publish_only(store, "r2", 3)
    for rel in ("documents/r2/part-0.parquet", "runs/r2/summary.json"):
        remote._put_file(snapshot / rel, rel)
    assert read_table(url, "documents").height == 2  # readers go by the manifest
    assert remote.sync_down(store) == {"runs": 1, "downloaded_runs": 0, "dropped_runs": 1}
    assert store.scan("documents").height == 2
    assert not any("r2" in f for f in _files(remote))
    _run(store, remote, "r3", 1)
    assert read_table(url, "documents").height == 3


def test_the_lock_refuses_a_live_holder_and_takes_over_a_dead_one(url: str, tmp_path: Path) -> None:
    _, a = _open(url, tmp_path / "a")
    _, b = _open(url, tmp_path / "b")
    with remote_lock(a, "run-a"):
        held = json.loads(a.read(".lock"))
        assert held["run_id"] == "run-a" and held["host"] == socket.gethostname()
        with pytest.raises(OutputLockedError, match="run-a"):
            b.acquire("run-b")
        with remote_lock(a, None):  # re-entrant in one process
            pass
        assert a.read(".lock") is not None
    assert a.read(".lock") is None  # released

    # a lock left by a dead run on another host: refused until the TTL has passed
    old = {"run_id": "gone", "host": "elsewhere", "cache": "/x", "token": "t"}
    for age, refused in ((timedelta(hours=1), True), (timedelta(hours=7), False)):
        since = (datetime.now(UTC) - age).isoformat(timespec="seconds")
        a._put_bytes(".lock", json.dumps({**old, "since": since}).encode())
        if refused:
            with pytest.raises(OutputLockedError, match="elsewhere"):
                b.acquire("run-b")
        else:
            b.acquire("run-b")
            b.release()
    # one left by a run of this host and working copy (whose flock this run holds) is dead
    a.write_lock("crashed")
    a.token = "another process"
    with remote_lock(a, "next"):
        assert json.loads(a.read(".lock"))["run_id"] == "next"


def test_the_lock_is_released_when_the_run_fails(url: str, tmp_path: Path) -> None:
    _, remote = _open(url, tmp_path / "a")
    with pytest.raises(RuntimeError), remote_lock(remote, "r1"):
        raise RuntimeError("boom")
    assert remote.read(".lock") is None


def test_report_finds_committed_runs_only(url: str, tmp_path: Path) -> None:
    store, remote = _open(url, tmp_path / "cache")
    _run(store, remote, "r1", 1)
    _run(store, remote, "r2", 1)
    remote._put_bytes("runs/r9/summary.json", b'{"run_id": "r9"}')  # not committed
    summary, report = find_remote_run(url)
    assert summary["run_id"] == "r2" and report == f"{url}/runs/r2/report.html"
    assert find_remote_run(url, "r1")[0]["run_id"] == "r1"
    with pytest.raises(Exception, match="no run r9"):
        find_remote_run(url, "r9")


# --- end to end: the real CLI, a remote another process can see -----------------------------


def _config(tmp_path: Path, cache: str) -> str:
    path = tmp_path / f"{cache}.toml"
    path.write_text(f'[output]\ncache_dir = "{tmp_path / cache}"\n', "utf-8")
    return str(path)


def _run_id(stdout: str) -> str:
    return stdout.split("run ", 1)[1].split(":", 1)[0]


def _remote_tables(url: str) -> dict[str, Any]:
    names = (*TABLES, "index/signatures-w3", "index/files")
    # file stamps say when each file was looked at, not what was published
    return {t: read_table(url, t).drop("run_id", "file_stamp", strict=False) for t in names}


@pytest.mark.e2e
def test_a_remote_output_holds_what_a_local_one_does_and_history_syncs_down(
    newsdq, sample_inbox: Path, tmp_path: Path
) -> None:
    store = tmp_path / "bucket"
    store.mkdir()
    url = f"dir::file://{store}"
    first = newsdq(
        "run", "--inbox", str(sample_inbox), "--out", url, "--config", _config(tmp_path, "c1")
    )
    assert first.code == 0, first.stderr
    run1 = _run_id(first.stdout)
    assert f"report: {url}/runs/{run1}/report.html" in first.stdout
    assert (store / "runs" / run1 / "report.html").is_file()
    assert not (store / ".lock").exists()

    # another machine: a fresh working copy, which must learn every file already read
    second = newsdq(
        "run", "--inbox", str(sample_inbox), "--out", url, "--config", _config(tmp_path, "c2")
    )
    assert second.code == 0, second.stderr
    summary = json.loads((store / "runs" / _run_id(second.stdout) / "summary.json").read_text())
    assert summary["counts"]["ingested"] == 0
    assert summary["counts"]["already_ingested"] == summary["counts"]["inputs"] > 0
    runs = json.loads((store / "manifest.json").read_text())["runs"]
    assert len(runs) == 2 and all(t["rows"] == 0 for t in runs[1]["tables"].values())

    local = tmp_path / "local"
    plain = newsdq("run", "--inbox", str(sample_inbox), "--out", str(local))
    assert plain.code == 0, plain.stderr
    snapshot = (local / "_current").resolve()
    remote = _remote_tables(url)
    for name, frame in remote.items():
        expected = pl.read_parquet(f"{snapshot}/{name}/**/*.parquet")
        expected = expected.drop("run_id", "file_stamp", strict=False)
        assert frame.equals(expected), name

    shown = newsdq("report", "--out", url, "--run", run1)
    assert shown.code == 0, shown.stderr
    assert f"report: {url}/runs/{run1}/report.html" in shown.stdout


@pytest.mark.e2e
def test_a_crash_between_upload_and_manifest_changes_nothing_and_the_next_run_completes(
    newsdq, sample_inbox: Path, tmp_path: Path
) -> None:
    store = tmp_path / "bucket"
    store.mkdir()
    url = f"dir::file://{store}"
    config = _config(tmp_path, "cache")
    late = sample_inbox / "post-2025-03-20-ostrel-election-preview.txt"
    held = tmp_path / late.name
    late.rename(held)
    assert newsdq("run", "--inbox", str(sample_inbox), "--out", url, "--config", config).code == 0
    manifest = (store / "manifest.json").read_bytes()
    before = _remote_tables(url)

    held.rename(late)
    crashed = newsdq(
        "run",
        "--inbox",
        str(sample_inbox),
        "--out",
        url,
        "--config",
        config,
        env={"NEWSDQ_CRASH_AT": "publish:remote-upload"},
    )
    assert crashed.code == CRASH_EXIT_CODE
    assert (store / "manifest.json").read_bytes() == manifest
    assert len(list((store / "runs").iterdir())) == 2  # uploaded, not committed
    for name, frame in before.items():
        assert read_table(url, name).drop("run_id", "file_stamp", strict=False).equals(frame), name

    # the lock the crashed run left names this host and working copy: taken over
    again = newsdq("run", "--inbox", str(sample_inbox), "--out", url, "--config", config)
    assert again.code == 0, again.stderr
    summary = json.loads((store / "runs" / _run_id(again.stdout) / "summary.json").read_text())
    assert summary["counts"]["ingested"] == 1 and summary["counts"]["published"] == 1
    docs = read_table(url, "documents")
    assert docs.height == before["documents"].height + 1
    assert docs.filter(pl.col("source_uri") == late.name).height == 1
    assert docs["source_uri"].n_unique() == docs.height  # no input published twice
    assert len(list((store / "runs").iterdir())) == 2  # the crashed run's files removed
    assert not (store / ".lock").exists()
