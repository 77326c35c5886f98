"""The published output folder: versioned snapshots swapped in atomically, history, and the lock.

Layout under the output folder::

    _versions/<seq>-<run_id>/      a complete snapshot (files hard-linked from the previous one)
        documents/<run_id>/part-0.parquet, articles/..., claims/..., quarantine/..., boilerplate/...
        index/signatures/<run_id>/part-0.parquet, index/files/<run_id>/part-0.parquet
        runs/<run_id>/summary.json, report.html, data_docs/
        manifest.json, _COMMITTED
    _current -> _versions/<latest committed>      (one symlink, replaced atomically)
    documents -> _current/documents, ... manifest.json -> _current/manifest.json
    .lock

A reader of `out/<table>/**/*.parquet` resolves `_current` and always sees whole committed runs
(to read several tables of one snapshot, resolve `out/_current` once and read below it): a
crash before the symlink swap leaves the previous snapshot current, and
the next run removes the unfinished snapshot and does the work again.

A remote output (`flows/io/remote.py`) publishes through one of these, its working copy:
`Store.adopt` commits the snapshot its sync builds from the remote's committed runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from flows.core.errors import (
    NewsdqError,
    OutputError,
    OutputLockedError,
    PublishError,
    file_system_error,
)
from flows.io.faults import crash_point
from flows.io.shards import Chunked, write_parquet, write_parquet_chunks

TABLES = ("documents", "articles", "claims", "claim_timeline", "quarantine", "boilerplate")
LINKED = (*TABLES, "index", "runs", "manifest.json")
COMMITTED = "_COMMITTED"
KEEP_VERSIONS = 3


def unwritable(out: Path, exc: OSError) -> NewsdqError:
    """Return the error for an output folder that cannot be written (full, read-only, ...)."""
    outcome = f"cannot write to output folder {out}"
    found = file_system_error(exc, f"in output folder {out}", outcome)
    return found or OutputError(f"cannot write to output folder {out}: {exc.strerror or exc}")


def remove_quietly(path: Path) -> bool:
    """Remove a file or folder tree, never raising (a full or read-only disk); True if gone."""
    try:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
    except OSError:
        pass
    return not (path.exists() or path.is_symlink())


# Output folders whose lock this process holds, with how many holders: the CLI takes the lock
# before it starts the flow (so a refusal is one line, not a failed flow run with a traceback),
# and the flow, which also runs from deployments without the CLI, takes it again.
_HELD: dict[Path, int] = {}


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder; fail at once if another run holds it.

    Re-entrant within one process: a nested `output_lock` on a folder this process already
    holds goes through.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
        key = out.resolve()
    except OSError as exc:
        raise unwritable(out, exc) from exc
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    try:
        handle = (out / ".lock").open("a+")
    except OSError as exc:
        raise unwritable(out, exc) from exc
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise OutputLockedError(
                f"another newsdq run is publishing to {out}; try again when it has finished"
            ) from exc
        _HELD[key] = 1
        try:
            yield
        finally:
            del _HELD[key]
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


@dataclass(frozen=True)
class Staged:
    """A table's rows of one run, written ahead to a Parquet file in the run's staging folder.

    `Store.publish` moves the file into the snapshot instead of writing the rows then.
    """

    path: Path
    rows: int
    schema: pl.Schema


@dataclass
class Store:
    """The output folder of published runs."""

    root: Path

    @property
    def current(self) -> Path | None:
        """Return the committed snapshot readers see now, or None before the first run."""
        link = self.root / "_current"
        if not link.is_symlink():
            return None
        # The swap happens only after the snapshot is committed and flushed, so whatever
        # `_current` names is committed, even if a crash lost the marker file itself.
        target = (self.root / os.readlink(link)).resolve()
        return target if target.is_dir() else None

    def check_writable(self) -> None:
        """Raise OutputError unless the output folder can be created and written."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise unwritable(self.root, exc) from exc

    def recover(self) -> list[str]:
        """Remove snapshots and staging left by a crashed run; return what was removed."""
        removed = []
        current = self.current
        versions = self.root / "_versions"
        if versions.is_dir():
            for v in sorted(versions.iterdir()):
                if v.resolve() != current and not (v / COMMITTED).exists():
                    shutil.rmtree(v, ignore_errors=True)
                    removed.append(v.name)
        for tmp in self.root.glob("_current.*.tmp"):
            tmp.unlink(missing_ok=True)
            removed.append(tmp.name)
        if current is not None:
            self._ensure_links()  # a crash right after the first swap left them missing
        staging = self.root / "_staging"
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
            removed.append("_staging")
        return removed

    def discard(self, run_id: str) -> list[Path]:
        """Remove what a failed run staged: its staging folder and its unfinished snapshot.

        Never raises (the disk may be full or read-only); returns what could not be removed.
        The current snapshot stays: a run whose swap happened is published even if finishing
        it failed.
        """
        left = []
        staging = self.root / "_staging"
        if not remove_quietly(staging / run_id):
            left.append(staging / run_id)
        with contextlib.suppress(OSError):
            staging.rmdir()  # only when no other staging is left
        with contextlib.suppress(OSError):
            for v in (self.root / "_versions").glob(f"*-{run_id}"):
                if not self._abandon(v):
                    left.append(v)
        tmp = self.root / f"_current.{os.getpid()}.tmp"
        if not remove_quietly(tmp):
            left.append(tmp)
        return left

    def _abandon(self, snapshot: Path) -> bool:
        """Remove a snapshot unless it is current; True unless it stays behind.

        A snapshot that `_current` does not name is not published, even when its marker was
        written before the swap failed.
        """
        try:
            if snapshot.resolve() == self.current:
                return True
        except OSError:
            return False
        return remove_quietly(snapshot)

    def staging_dir(self, run_id: str) -> Path:
        """Return (and create) the private folder where a run prepares its files."""
        path = self.root / "_staging" / run_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def scan(
        self, table: str, columns: list[str] | None = None, schema: pl.Schema | None = None
    ) -> pl.DataFrame | None:
        """Read a published table of the current snapshot, or None when it has no rows yet.

        With `schema`, files written before a column existed give nulls for it, and columns
        not in it are left out.
        """
        files = table_files(self.current, table)
        if not files:
            return None
        if schema is None:
            # runs written before a column was added lack it; later ones carry columns that
            # earlier ones do not (documents.replaced_bytes)
            scan = pl.scan_parquet(files, missing_columns="insert", extra_columns="ignore")
            return (scan if columns is None else scan.select(columns)).collect()
        frame = pl.scan_parquet(
            files, schema=schema, missing_columns="insert", extra_columns="ignore"
        )
        return frame.select(columns or list(schema)).collect()

    def manifest(self) -> dict[str, Any]:
        """Return the current manifest (empty before the first run)."""
        current = self.current
        if current is None or not (current / "manifest.json").exists():
            return {"format": 1, "runs": [], "tables": {}}
        data: dict[str, Any] = json.loads((current / "manifest.json").read_text("utf-8"))
        return data

    def stage_tables(
        self, run_id: str, tables: dict[str, pl.DataFrame | Chunked]
    ) -> dict[str, Staged]:
        """Write a run's tables to its staging folder, for `publish` to move into its snapshot.

        Nothing becomes visible: the files wait under `_staging/<run_id>/tables/` (removed
        with the rest of the staging when the run fails, or by the next run's `recover`). A
        failed write raises the OSError naming its file, as a stage's staged writes do.
        """
        staged = {}
        root = self.staging_dir(run_id) / "tables"
        for name, frame in tables.items():
            part = root / name
            part.mkdir(parents=True, exist_ok=True)
            path = part / "part-0.parquet"
            staged[name] = Staged(path, _write(frame, path), frame.schema)
        return staged

    def publish(
        self, run_id: str, tables: dict[str, pl.DataFrame | Chunked | Staged], run_dir: Path
    ) -> Path:
        """Commit a run: its tables and run folder become visible together, or not at all.

        Parameters
        ----------
        run_id
            The run's id; names the partition folder of each table.
        tables
            Table name (a folder path under the snapshot) to this run's rows: a frame,
            `Chunked` frames written one at a time (the passage index), or a file
            `stage_tables` wrote, moved in.
        run_dir
            The staged `runs/<run_id>` folder (summary, report, data docs), moved in.

        Returns
        -------
        Path
            The new snapshot folder.
        """
        self._check_links()
        try:
            return self._publish(run_id, tables, run_dir)
        except OSError as exc:
            if self.current is not None and self.current.name.endswith(f"-{run_id}"):
                raise PublishError(
                    f"run {run_id} was committed, but finishing the output folder failed: {exc}"
                ) from exc
            self.discard(run_id)
            outcome = f"publishing run {run_id} failed; the previous run stays current"
            found = file_system_error(exc, f"in output folder {self.root}", outcome)
            raise found or PublishError(
                f"publishing run {run_id} failed ({exc}); the previous run stays current"
            ) from exc

    def adopt(
        self, label: str, manifest: dict[str, Any], fill: Callable[[Path, Path | None], None]
    ) -> Path:
        """Commit a snapshot that `fill(new, current)` writes, with `manifest` (a remote's sync).

        `fill` gets the new snapshot folder and the current one (None before any), to link the
        files they share instead of copying them.
        """
        self._check_links()
        snapshot = self._new_snapshot(label)
        try:
            fill(snapshot, self.current)
            (snapshot / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")
            self._commit(snapshot, label)
        except BaseException:
            self._abandon(snapshot)
            raise
        self._collect_garbage(keep=snapshot)
        return snapshot

    def _new_snapshot(self, label: str) -> Path:
        versions = self.root / "_versions"
        versions.mkdir(parents=True, exist_ok=True)
        numbers = [v.name.split("-", 1)[0] for v in versions.iterdir()]
        seq = 1 + max((int(n) for n in numbers if n.isdigit()), default=0)
        snapshot = versions / f"{seq:06d}-{label}"
        snapshot.mkdir()
        return snapshot

    def _commit(self, snapshot: Path, label: str) -> None:
        """Flush a finished snapshot, mark it committed and make it current."""
        _fsync_tree(snapshot)
        (snapshot / COMMITTED).write_text(label, "utf-8")
        _fsync(snapshot / COMMITTED)
        _fsync(snapshot)
        _fsync(snapshot.parent)
        # The table links point through `_current`: made before the swap (dangling until the
        # first one), they resolve the moment a run commits, even if the process dies right
        # after it.
        self._ensure_links()
        self._swap_current(snapshot)

    def _publish(
        self, run_id: str, tables: dict[str, pl.DataFrame | Chunked | Staged], run_dir: Path
    ) -> Path:
        previous = self.current
        snapshot = self._new_snapshot(run_id)
        if previous is not None:
            link_tree(previous, snapshot, skip={COMMITTED, "manifest.json"})
        manifest = self.manifest()
        entry: dict[str, Any] = {
            "run_id": run_id,
            "committed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "tables": {},
        }
        for i, (name, frame) in enumerate(sorted(tables.items())):
            # nothing new: an empty file is written only to fix a new table's schema
            earlier = any((snapshot / name).glob("*/*.parquet"))
            if isinstance(frame, pl.DataFrame | Staged) and _rows(frame) == 0 and earlier:
                continue
            part = snapshot / name / run_id
            part.mkdir(parents=True, exist_ok=True)
            path = part / "part-0.parquet"
            if isinstance(frame, Staged):
                os.replace(frame.path, path)  # both under the output folder: a rename
                rows = frame.rows
            else:
                rows = _write(frame, path)
                if rows == 0 and earlier:  # a chunked table found empty once written
                    path.unlink()
                    part.rmdir()
                    continue
            entry["tables"][name] = {
                "rows": rows,
                "path": f"{name}/{run_id}/part-0.parquet",
            }
            info = manifest["tables"].setdefault(name, {"rows": 0})
            info["rows"] = int(info["rows"]) + rows
            info["schema"] = {c: str(t) for c, t in frame.schema.items()}
            if i == 0:
                crash_point("publish:tables")
        shutil.move(str(run_dir), str(snapshot / "runs" / run_id))
        shutil.rmtree(run_dir.parent, ignore_errors=True)  # the run's staging folder
        with contextlib.suppress(OSError):
            (self.root / "_staging").rmdir()  # only when no other staging is left
        manifest["runs"].append(entry)
        manifest["current_version"] = snapshot.name
        (snapshot / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")
        crash_point("publish:before_commit")
        self._commit(snapshot, run_id)
        crash_point("publish:after_commit")
        self._collect_garbage(keep=snapshot)
        return snapshot

    def _swap_current(self, snapshot: Path) -> None:
        tmp = self.root / f"_current.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(Path("_versions") / snapshot.name)
        os.replace(tmp, self.root / "_current")
        _fsync(self.root)

    def _check_links(self) -> None:
        """Refuse to publish when a table path is taken by something that is not our link."""
        for name in LINKED:
            link = self.root / name
            if link.exists() and not link.is_symlink():
                raise PublishError(f"{link} exists and is not newsdq's link; move it away")

    def _ensure_links(self) -> None:
        self._check_links()
        for name in LINKED:
            link = self.root / name
            if not link.is_symlink():
                link.symlink_to(Path("_current") / name)

    def _collect_garbage(self, keep: Path) -> None:
        versions = sorted((self.root / "_versions").iterdir())
        committed = [v for v in versions if (v / COMMITTED).exists()]
        for old in committed[:-KEEP_VERSIONS]:
            if old != keep:
                shutil.rmtree(old, ignore_errors=True)


def _write(frame: pl.DataFrame | Chunked, path: Path) -> int:
    """Write a table's rows of one run to `path`; return how many there are."""
    if isinstance(frame, Chunked):  # written a frame at a time, never concatenated
        return write_parquet_chunks(frame, frame.schema, path)
    write_parquet(frame, path)
    return frame.height


def _rows(frame: pl.DataFrame | Staged) -> int:
    return frame.rows if isinstance(frame, Staged) else frame.height


def table_files(snapshot: Path | None, table: str) -> list[Path]:
    """Return the Parquet files of a table in a snapshot, one per run (none before any)."""
    if snapshot is None:
        return []
    return sorted((snapshot / table).glob("*/*.parquet"))


def lookup(
    files: list[Path], keys: pl.DataFrame, on: list[str], schema: pl.Schema | None = None
) -> pl.LazyFrame:
    """Scan a table's files for the rows whose `on` columns equal those of a row of `keys`.

    The first `on` column is matched first with `is_in`, a predicate the Parquet reader applies
    before decoding the other columns, then the rows are semi-joined on all of `on`. A plain
    semi-join decodes every column of every row it scans first. With `schema`, files written
    before a column existed read it as nulls. Collect with `engine="streaming"`.
    """
    wanted = keys.select(on).unique()
    first = wanted.get_column(on[0]).unique()
    return (
        (
            pl.scan_parquet(files)
            if schema is None
            else pl.scan_parquet(files, schema=schema, missing_columns="insert")
        )
        .filter(pl.col(on[0]).is_in(first.implode()))
        .join(wanted.lazy(), on=on, how="semi")
    )


def link_tree(src: Path, dst: Path, skip: set[str]) -> None:
    """Recreate src's tree under dst with hard links to its files (no data copied)."""
    for dirpath, _dirnames, filenames in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in filenames:
            if rel == Path(".") and name in skip:
                continue
            os.link(Path(dirpath) / name, dst / rel / name)


def _fsync(path: Path) -> None:
    """Flush a file, or a folder's entries, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """Flush a snapshot's new files and folders to disk before it is committed."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            _fsync(Path(dirpath) / name)
        _fsync(Path(dirpath))
