"""Full, read-only and forbidden disks: one line on stderr, an exit code, no staging left behind.

The end-to-end test mounts a small tmpfs as the output folder (as root: `mount -t tmpfs`).
Where this process cannot mount one (not root, or a container without CAP_SYS_ADMIN), the tests
run again under `unshare -rm` (a user and mount namespace of their own, where mounting a tmpfs
is allowed); where neither works they are skipped with the reason.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest

from flows.cli import _ReportedFailures
from flows.core.errors import (
    DiskFullError,
    PermissionDeniedError,
    ReadOnlyFileSystemError,
    errno_of,
    file_system_error,
)
from flows.io.shards import Chunked, write_parquet, write_parquet_chunks
from flows.io.store import Store
from tests.conftest import ROOT

IN_NAMESPACE = "NEWSDQ_TEST_MOUNT_NAMESPACE"
TABLES = ("documents", "articles", "claims", "quarantine", "index/files")


# --- the classification (no disk needed) ---------------------------------------------------


def test_a_polars_error_is_classified_by_the_number_in_its_text() -> None:
    error = pl.exceptions.ComputeError(
        "parquet: File out of specification: underlying IO error: No space left on device "
        "(os error 28)"
    )
    assert errno_of(error) == (errno.ENOSPC, None)
    found = file_system_error(error, "below the output folder /out", "run r published nothing")
    assert isinstance(found, DiskFullError) and found.exit_code == 11
    assert str(found) == (
        "disk full (no space left on device) below the output folder /out; run r published nothing"
    )


def test_the_cause_and_context_chain_and_groups_are_walked() -> None:
    def wrapped(inner: BaseException) -> BaseException:
        try:
            try:
                raise inner
            except OSError as exc:
                raise RuntimeError("a task crashed") from exc
        except RuntimeError as outer:
            try:
                raise ValueError("while reporting") from None
            except ValueError as last:
                last.__context__ = outer
                return last

    readonly = wrapped(OSError(errno.EROFS, "Read-only file system", "/out/x.parquet"))
    assert errno_of(readonly) == (errno.EROFS, "/out/x.parquet")
    found = file_system_error(readonly, "anywhere")
    assert isinstance(found, ReadOnlyFileSystemError) and found.exit_code == 13
    assert str(found) == "read-only file system: /out/x.parquet"

    group = BaseExceptionGroup("tasks", [KeyError("k"), PermissionError(errno.EACCES, "x", "/o")])
    found = file_system_error(group, "anywhere")
    assert isinstance(found, PermissionDeniedError) and found.exit_code == 12
    assert str(found) == "permission denied: /o"
    quota = file_system_error(OSError(errno.EDQUOT, "Disk quota exceeded", "/q"), "x")
    assert isinstance(quota, DiskFullError) and str(quota) == "disk full (disk quota exceeded): /q"


def test_other_failures_are_not_file_system_failures() -> None:
    assert errno_of(FileNotFoundError(errno.ENOENT, "No such file", "/x")) is None
    assert errno_of(ValueError("bad value (os error 2)")) is None
    assert file_system_error(RuntimeError("boom"), "anywhere") is None


def test_a_failed_parquet_write_names_its_file_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "part-0.parquet"

    def full(self: pl.DataFrame, file: Path, **options: object) -> None:
        Path(file).write_bytes(b"PAR1 half a file")
        raise pl.exceptions.ComputeError(
            "underlying IO error: No space left on device (os error 28)"
        )

    monkeypatch.setattr(pl.DataFrame, "write_parquet", full)
    with pytest.raises(OSError) as caught:
        write_parquet(pl.DataFrame({"a": [1]}), path)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(path)
    assert not path.exists()


def test_a_failed_chunked_parquet_write_names_its_file_and_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "part-0.parquet"
    schema = pl.Schema({"a": pl.Int64})

    def frames() -> Iterator[pl.DataFrame]:
        yield pl.DataFrame({"a": [1, 2]})
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as caught:
        write_parquet_chunks(frames(), schema, path)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(path)
    assert not path.exists()
    # a chunk of another schema is a bug, not a disk failure: raised as it is
    with pytest.raises(ValueError, match="schema"):
        write_parquet_chunks([pl.DataFrame({"a": ["x"]})], schema, path)
    assert not path.exists()


def test_prefect_console_lines_of_a_reported_failure_are_held_back() -> None:
    quiet = _ReportedFailures()

    def record(name: str, message: str, exc: BaseException | None, run: str) -> logging.LogRecord:
        exc_info = (type(exc), exc, None) if exc is not None else None
        made = logging.LogRecord(name, logging.ERROR, __file__, 1, message, (), exc_info)
        made.task_run_id = run
        return made

    full = OSError(errno.ENOSPC, "No space left on device")
    assert not quiet.filter(record("prefect.task_runs", "Task run failed", full, "t1"))
    assert not quiet.filter(record("prefect.task_runs", "Finished in state Failed()", None, "t1"))
    # a task that is not retried logs its failed state only, the error in the text
    failed = "Finished in state Failed('Task run encountered an exception OSError: [Errno 30] ...')"
    assert not quiet.filter(record("prefect.task_runs", failed, None, "t4"))
    # other runs, other failures and other loggers still print
    assert quiet.filter(record("prefect.task_runs", "Finished in state Failed()", None, "t2"))
    assert quiet.filter(record("prefect.task_runs", "Task run failed", KeyError("k"), "t3"))
    assert quiet.filter(record("newsdq", "Finished in state Failed()", full, "t1"))


# --- real small file systems ---------------------------------------------------------------


def _mount_tmpfs(point: Path, size: str) -> str | None:
    """Mount a tmpfs of `size` at `point`; return None, or why it cannot be mounted."""
    if os.geteuid() != 0:
        return f"mounting a tmpfs needs root (uid {os.geteuid()})"
    if shutil.which("mount") is None:
        return "no mount command"
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        return (proc.stderr or proc.stdout).strip() or f"mount exited {proc.returncode}"
    return None


@functools.cache
def _direct_mount_refused() -> str | None:
    """Return why this process cannot mount a tmpfs, or None when it can."""
    with tempfile.TemporaryDirectory() as point:
        why = _mount_tmpfs(Path(point), "1m")
        if why is None:
            subprocess.run(["umount", point], capture_output=True)
        return why


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Return a function that mounts a tmpfs of a given size under tmp_path (skip if it can't)."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"fs-{len(mounted)}"
        point.mkdir()
        why = _mount_tmpfs(point, size)
        if why is not None:
            pytest.skip(
                f"cannot mount a tmpfs here ({why}); "
                "test_the_disk_tests_run_in_a_mount_namespace tries them under `unshare -rm`"
            )
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def _fill(fs: Path, leave: int) -> Path:
    """Take all free space of `fs` but `leave` bytes with one file; return it."""
    ballast = fs / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.posix_fallocate(fd, 0, shutil.disk_usage(fs).free - leave)
    finally:
        os.close(fd)
    return ballast


def _bulk_inbox(dest: Path, files: int, words: int = 60_000) -> Path:
    """Write an inbox of long articles of random words (they compress badly: ~450 KB each)."""
    dest.mkdir(parents=True)
    rng = random.Random(13)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rng.choices(letters, k=rng.randint(3, 10))) for _ in range(50_000)]
    for i in range(files):
        drawn = rng.choices(vocab, k=words)
        lines = [" ".join(drawn[j : j + 15]).capitalize() + "." for j in range(0, words, 15)]
        body = "\n\n".join(" ".join(lines[k : k + 6]) for k in range(0, len(lines), 6))
        (dest / f"bulk-{i:03d}.txt").write_text(f"Bulk story {i}\n\n{body}\n", "utf-8")
    return dest


def _tables(out: Path) -> dict[str, pl.DataFrame]:
    return {t: pl.read_parquet(f"{out}/{t}/**/*.parquet") for t in TABLES}


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.e2e
def test_a_full_or_read_only_output_fails_in_one_line_and_keeps_the_previous_state(
    newsdq, small_fs, sample_inbox: Path, tmp_path: Path
) -> None:
    fs = small_fs("16m")
    out = fs / "out"
    first = newsdq("run", "--inbox", str(sample_inbox), "--out", str(out))
    assert first.code == 0, first.stderr
    current = (out / "_current").resolve()
    before = _tables(out)
    manifest = (out / "manifest.json").read_text("utf-8")

    # A second run whose inbox (16 articles, ~7 MB) fills the 3 MB left while it stages.
    ballast = _fill(fs, leave=3 * 1024 * 1024)
    big = _bulk_inbox(tmp_path / "big", files=16)
    free = shutil.disk_usage(fs).free
    full = newsdq("run", "--inbox", str(big), "--out", str(out))
    line = _one_line(full.stderr)
    assert full.code == DiskFullError.exit_code == 11, full.stderr
    assert line.startswith(f"newsdq: error: disk full (no space left on device): {out}/_staging/")
    assert "published nothing and the published data is unchanged" in line
    assert "its staged files were removed" in line
    # what it staged is gone: the space is free again and only the first snapshot is left
    assert not (out / "_staging").exists()
    assert [v.name for v in (out / "_versions").iterdir()] == [current.name]
    assert shutil.disk_usage(fs).free >= free - 64 * 1024
    # the previous state is current and whole
    assert (out / "_current").resolve() == current
    assert (out / "manifest.json").read_text("utf-8") == manifest
    for table, frame in _tables(out).items():
        assert frame.equals(before[table]), table

    # A read-only output is refused in one line before the run starts.
    subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
    (sample_inbox / "late.txt").write_text(
        "Ferry service resumes\n\nAbout 300 passengers crossed to Kessmouth on the first "
        "ferry since the strike, the operator said on Friday, and 40 cars followed.\n",
        "utf-8",
    )
    readonly = newsdq("run", "--inbox", str(sample_inbox), "--out", str(out))
    line = _one_line(readonly.stderr)
    assert readonly.code == ReadOnlyFileSystemError.exit_code == 13, readonly.stderr
    assert line.startswith(f"newsdq: error: read-only file system: {out}/")
    assert f"cannot write to output folder {out}" in line
    assert (out / "_current").resolve() == current
    for table, frame in _tables(out).items():
        assert frame.equals(before[table]), table

    # With the disk writable and room again, the next run publishes the new article.
    subprocess.run(["mount", "-o", "remount,rw", str(fs)], check=True)
    ballast.unlink()
    again = newsdq("run", "--inbox", str(sample_inbox), "--out", str(out))
    assert again.code == 0, again.stderr
    documents = pl.read_parquet(f"{out}/documents/**/*.parquet")
    assert documents.height == before["documents"].height + 1
    assert "late.txt" in documents["source_uri"].to_list()


def test_a_disk_that_fills_while_publishing_removes_the_new_snapshot(small_fs) -> None:
    fs = small_fs("4m")
    store = Store(fs / "out")

    def publish(run_id: str, doc_ids: list[str]) -> None:
        run_dir = store.staging_dir(run_id) / "run"
        run_dir.mkdir()
        (run_dir / "summary.json").write_text("{}")
        store.publish(run_id, {"documents": pl.DataFrame({"doc_id": doc_ids})}, run_dir)

    publish("r1", ["a", "b", "c"])
    current = store.current
    _fill(fs, leave=256 * 1024)
    rng = random.Random(5)
    with pytest.raises(DiskFullError) as caught:
        publish("r2", [f"{rng.getrandbits(128):032x}" for _ in range(100_000)])  # ~1.7 MB
    message = str(caught.value)
    assert message.startswith(f"disk full (no space left on device): {store.root}/_versions/")
    assert message.endswith("publishing run r2 failed; the previous run stays current")
    assert caught.value.exit_code == 11 and isinstance(caught.value.__cause__, OSError)
    assert store.current == current
    assert not list((store.root / "_versions").glob("*-r2"))
    assert not (store.root / "_staging").exists()
    assert pl.read_parquet(f"{store.root}/documents/**/*.parquet")["doc_id"].to_list() == [
        "a",
        "b",
        "c",
    ]
    assert [
        r["run_id"] for r in json.loads((store.root / "manifest.json").read_text())["runs"]
    ] == ["r1"]


def test_a_disk_that_fills_while_a_chunked_table_is_written_removes_the_new_snapshot(
    small_fs,
) -> None:
    fs = small_fs("4m")
    store = Store(fs / "out")
    schema = pl.Schema({"doc_id": pl.String})
    rng = random.Random(7)

    def chunks() -> Iterator[pl.DataFrame]:
        for _ in range(20):  # ~3.4 MB of random ids, 20 row groups
            yield pl.DataFrame({"doc_id": [f"{rng.getrandbits(128):032x}" for _ in range(5_000)]})

    def publish(run_id: str, table: pl.DataFrame | Chunked) -> None:
        run_dir = store.staging_dir(run_id) / "run"
        run_dir.mkdir()
        (run_dir / "summary.json").write_text("{}")
        store.publish(run_id, {"index/passages": table}, run_dir)

    publish("r1", pl.DataFrame({"doc_id": ["a"]}))
    current = store.current
    _fill(fs, leave=1024 * 1024)
    with pytest.raises(DiskFullError) as caught:
        publish("r2", Chunked(schema, chunks))
    message = str(caught.value)
    assert message.startswith(f"disk full (no space left on device): {store.root}/_versions/"), (
        message
    )
    assert "/index/passages/r2/part-0.parquet" in message
    assert store.current == current
    assert not list((store.root / "_versions").glob("*-r2"))
    assert pl.read_parquet(f"{store.root}/index/passages/**/*.parquet")["doc_id"].to_list() == ["a"]


def test_a_read_only_output_is_refused_before_the_run(small_fs) -> None:
    fs = small_fs("1m")
    store = Store(fs / "out")
    store.check_writable()
    subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
    with pytest.raises(ReadOnlyFileSystemError) as caught:
        store.check_writable()
    assert str(caught.value).startswith(f"read-only file system: {store.root}/.probe-")
    assert str(caught.value).endswith(f"; cannot write to output folder {store.root}")


# --- not root: the same tests in a user and mount namespace --------------------------------


@pytest.mark.e2e
def test_the_disk_tests_run_in_a_mount_namespace() -> None:
    if os.environ.get(IN_NAMESPACE):
        pytest.skip("already inside the mount namespace")
    refused = _direct_mount_refused()
    if refused is None:
        pytest.skip("the tests above mount their tmpfs directly")
    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare or "unshare", "-rm", "true"], capture_output=True, text=True)
    if unshare is None or probe.returncode != 0:
        pytest.skip(
            f"no tmpfs can be mounted: {refused}, and `unshare -rm` failed "
            f"({(probe.stderr or 'unshare not found').strip()})"
        )
    proc = subprocess.run(
        [
            unshare,
            "-rm",
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            f"{Path(__file__).relative_to(ROOT)}",
            "-k",
            "not mount_namespace",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, IN_NAMESPACE: "1"},
        timeout=900,
    )
    tail = proc.stdout[-3000:]
    assert proc.returncode == 0, tail + proc.stderr[-2000:]
    skipped = [line for line in tail.splitlines() if line.startswith("SKIPPED")]
    if skipped:
        pytest.skip(f"the disk tests skipped in the mount namespace: {' | '.join(skipped)}")
