"""A remote output: an fsspec URL (`s3://bucket/news`, ...) published through a local working copy.

Layout under the URL (append-only: every file is written once, nothing is renamed or linked,
which is what object stores offer)::

    <table>/<run_id>/part-0.parquet     each table of each run, `index/...` tables included
    runs/<run_id>/                      summary.json, report.html, data_docs/
    _rejected/<run_id>/                 the report of a run that validation blocked
    manifest.json                       the committed runs; written last: the commit point
    .lock                               advisory: the run publishing, its host, since when

The paths are those inside a local snapshot (`flows/io/store.py`), and `manifest.json` is the
local snapshot's. A run's files that `manifest.json` does not list (a crash mid-upload) are not
part of the output: readers ignore them, and the next run from the same working copy removes
them.

A run works on a local output folder, the working copy (`[output] cache_dir`): before the run
`sync_down` makes its current snapshot hold exactly the remote's committed runs, downloading
only the runs it lacks (a run's files never change, so the cost follows new runs, not
history); the run publishes there as to any local output; then `upload` copies the new run's
files and, last, the manifest, unless another machine committed a run in the meantime.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flows.core.errors import NewsdqError, OutputError, OutputLockedError, PublishError
from flows.core.settings import OutputConfig
from flows.io.faults import crash_point
from flows.io.location import is_local, local_path, remote_fs
from flows.io.store import Store, link_tree

MANIFEST = "manifest.json"
LOCK = ".lock"
EMPTY_MANIFEST: dict[str, Any] = {"format": 1, "runs": [], "tables": {}}
_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

# Remote outputs whose lock this process holds, with how many holders (the CLI and the flow
# both take it, as with the local lock).
_HELD: dict[str, int] = {}
# Names this process in the lock files it writes: the CLI and the flow open the output each.
_TOKEN = secrets.token_hex(8)


def default_cache(url: str) -> Path:
    """Return the default working copy of a remote output: one folder per URL."""
    digest = hashlib.sha1(url.rstrip("/").encode("utf-8")).hexdigest()
    return Path(".newsdq-cache") / digest


def open_output(out: str, config: OutputConfig) -> tuple[Path, RemoteOutput | None]:
    """Return the local folder a run publishes to and, for a remote URL, the output behind it."""
    if is_local(out):
        return local_path(out), None
    fs, root = remote_fs(out, OutputError)
    # Absolute: shard tasks may run in processes (Dask workers) with another working folder.
    cache = (Path(config.cache_dir) if config.cache_dir else default_cache(out)).absolute()
    return cache, RemoteOutput(out, fs, root, cache, timedelta(hours=config.lock_ttl_hours))


@dataclass
class RemoteOutput:
    """An output on an fsspec file system, mirrored by a local working copy."""

    url: str
    fs: Any
    root: str
    cache: Path
    lock_ttl: timedelta
    # The remote manifest as read by `sync_down` (None: there was none): `upload` commits only
    # if it is still the same, so a run never replaces a commit it has not seen.
    synced: bytes | None = None
    token: str = _TOKEN

    def path(self, rel: str) -> str:
        """Return the file system path of a file of the output."""
        return f"{self.root}/{rel}" if self.root else rel

    def show(self, rel: str) -> str:
        """Return the URL of a file of the output, for people."""
        return f"{self.url.rstrip('/')}/{rel}"

    def read(self, rel: str) -> bytes | None:
        """Return a file's bytes, or None when it does not exist."""
        try:
            data: bytes = self.fs.cat_file(self.path(rel))
        except FileNotFoundError:
            return None
        return data

    def manifest(self) -> dict[str, Any]:
        """Return the committed manifest (empty before the first run)."""
        raw = self.read(MANIFEST)
        if raw is None:
            return json.loads(json.dumps(EMPTY_MANIFEST))  # a fresh copy
        data: dict[str, Any] = json.loads(raw)
        return data

    # --- the advisory lock -------------------------------------------------------------------

    def acquire(self, run_id: str | None) -> None:
        """Write the lock file, or raise OutputLockedError while another live run holds it."""
        held = self._read_lock()
        if held is not None and not self._stale(held):
            raise OutputLockedError(
                f"another newsdq run ({held.get('run_id') or 'starting'} on {held.get('host')}, "
                f"since {held.get('since')}) is publishing to {self.url}; try again when it has "
                f"finished, or remove {self.show(LOCK)} if that run is dead (it is taken over "
                f"{self.lock_ttl.total_seconds() / 3600:g} h after it was written)"
            )
        self.write_lock(run_id)
        # Two machines that found no lock at once both wrote one: the one read back wins.
        # Narrower than the race, not a cure: object stores offer no exclusive create here.
        mine = self._read_lock()
        if mine is None or mine.get("token") != self.token:
            raise OutputLockedError(f"another newsdq run took the lock of {self.url} just now")

    def write_lock(self, run_id: str | None) -> None:
        """Write (or rewrite, once the run id is known) this process's lock file."""
        body = {
            "run_id": run_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "cache": str(self.cache),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
            "token": self.token,
        }
        self._put_bytes(LOCK, json.dumps(body).encode("utf-8"))

    def release(self) -> None:
        """Remove the lock file if it is still this process's."""
        with contextlib.suppress(OSError, ValueError):
            held = self._read_lock()
            if held is not None and held.get("token") == self.token:
                self.fs.rm_file(self.path(LOCK))

    def _read_lock(self) -> dict[str, Any] | None:
        raw = self.read(LOCK)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return {}  # unreadable: stale, below
        return data if isinstance(data, dict) else {}

    def _stale(self, held: dict[str, Any]) -> bool:
        try:
            since = datetime.fromisoformat(str(held["since"]))
        except (KeyError, ValueError):
            return True  # not a lock this code wrote whole
        if held.get("host") == socket.gethostname() and held.get("cache") == str(self.cache):
            # Its writer used this working copy, whose flock this process holds now: it is dead.
            return True
        return datetime.now(UTC) - since >= self.lock_ttl

    # --- down: the working copy follows the committed runs -----------------------------------

    def sync_down(self, store: Store) -> dict[str, int]:
        """Make the working copy's current snapshot hold exactly the remote's committed runs."""
        self.synced = self.read(MANIFEST)
        remote = json.loads(self.synced) if self.synced is not None else EMPTY_MANIFEST
        local = store.manifest()
        remote_ids = [r["run_id"] for r in remote["runs"]]
        # Runs this copy committed whose upload did not commit (a crash, a refusal): their
        # files on the remote are garbage, and only this copy knows their names.
        lost = [r for r in local["runs"] if r["run_id"] not in set(remote_ids)]
        for entry in lost:
            self._remove_run(entry)
        report = {"runs": len(remote_ids), "downloaded_runs": 0, "dropped_runs": len(lost)}
        if remote_ids == [r["run_id"] for r in local["runs"]]:
            return report

        def fill(snapshot: Path, current: Path | None) -> None:
            for entry in remote["runs"]:
                if current is not None and _has_run(current, entry):
                    for rel in _table_paths(entry):
                        (snapshot / rel).parent.mkdir(parents=True, exist_ok=True)
                        os.link(current / rel, snapshot / rel)
                    run = Path("runs") / entry["run_id"]
                    link_tree(current / run, snapshot / run, skip=set())
                    continue
                for rel in [*_table_paths(entry), *self._remote_run_folder(entry["run_id"])]:
                    (snapshot / rel).parent.mkdir(parents=True, exist_ok=True)
                    self.fs.get_file(self.path(rel), str(snapshot / rel))
                report["downloaded_runs"] += 1

        store.adopt("sync", remote, fill)
        return report

    def _remote_run_folder(self, run_id: str) -> list[str]:
        """Return the files of a run's `runs/<run_id>/` folder on the remote, output-relative."""
        found = self.fs.find(self.path(f"runs/{run_id}"), withdirs=False)
        return [self._relative(str(p)) for p in found]

    def _relative(self, path: str) -> str:
        path = path.lstrip("/")
        root = self.root.lstrip("/")
        return path[len(root) :].lstrip("/") if root and path.startswith(root) else path

    # --- up: a run committed in the working copy is committed on the remote -----------------

    def upload(self, snapshot: Path, run_id: str) -> None:
        """Upload the run's files, then the manifest that commits them."""
        manifest = (snapshot / MANIFEST).read_bytes()
        entry = json.loads(manifest)["runs"][-1]
        if entry["run_id"] != run_id:
            raise PublishError(f"snapshot {snapshot} does not end with run {run_id}")
        files = self._run_files(snapshot, entry)
        for rel in files:
            self._put_file(snapshot / rel, rel)
        crash_point("publish:remote-upload")
        if self.read(MANIFEST) != self.synced:
            self._remove_run(entry)
            raise OutputLockedError(
                f"another run committed to {self.url} while run {run_id} ran (its lock was "
                f"ignored or taken over); run {run_id} is not published there, and the next run "
                f"reads the inputs again"
            )
        # One PUT: an object store replaces the object whole, so readers see the old or the
        # new manifest, never part of one.
        self._put_bytes(MANIFEST, manifest)
        self.synced = manifest

    def upload_folder(self, folder: Path, rel: str) -> None:
        """Upload a local folder's files under `rel` (a blocked run's report)."""
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                self._put_file(path, f"{rel}/{path.relative_to(folder).as_posix()}")

    def _run_files(self, snapshot: Path | None, entry: dict[str, Any]) -> list[str]:
        """Return a run's files in a local snapshot, output-relative (tables first)."""
        files = _table_paths(entry)
        if snapshot is not None and (snapshot / "runs" / entry["run_id"]).is_dir():
            run = snapshot / "runs" / entry["run_id"]
            files += [p.relative_to(snapshot).as_posix() for p in sorted(run.rglob("*"))]
        return [f for f in files if snapshot is None or (snapshot / f).is_file()]

    def _put_file(self, local: Path, rel: str) -> None:
        self._makedirs(rel)
        self.fs.put_file(str(local), self.path(rel))

    def _put_bytes(self, rel: str, data: bytes) -> None:
        self._makedirs(rel)
        self.fs.pipe_file(self.path(rel), data)

    def _makedirs(self, rel: str) -> None:
        # A local-backed file system (dir::file://) needs the folders; object stores ignore it.
        parent = rel.rpartition("/")[0]
        if parent:
            self.fs.makedirs(self.path(parent), exist_ok=True)

    def _remove_run(self, entry: dict[str, Any]) -> None:
        """Delete the folders of a run that no manifest lists (best effort: garbage either way)."""
        run_id = entry["run_id"]
        folders = {p.rpartition("/")[0] for p in _table_paths(entry)} | {f"runs/{run_id}"}
        for rel in sorted(folders):
            if rel.endswith(f"/{run_id}"):  # a run's own folder, never anything else
                with contextlib.suppress(OSError):
                    self.fs.rm(self.path(rel), recursive=True)


@contextlib.contextmanager
def remote_lock(remote: RemoteOutput | None, run_id: str | None = None) -> Iterator[None]:
    """Hold the advisory lock of a remote output (nothing for a local one); re-entrant."""
    if remote is None:
        yield
        return
    try:
        if remote.url in _HELD:
            if run_id:
                remote.write_lock(run_id)  # the CLI took it before the run id was known
            _HELD[remote.url] += 1
            try:
                yield
            finally:
                _HELD[remote.url] -= 1
            return
        remote.acquire(run_id)
    except OSError as exc:
        raise OutputError(f"cannot write to output {remote.url}: {exc}") from exc
    _HELD[remote.url] = 1
    try:
        yield
    finally:
        del _HELD[remote.url]
        remote.release()


def find_remote_run(url: str, run: str = "latest") -> tuple[dict[str, Any], str]:
    """Return the summary of a committed or blocked run of a remote output, and its report URL."""
    fs, root = remote_fs(url, OutputError)
    remote = RemoteOutput(url, fs, root, Path(), timedelta(0))
    committed = {r["run_id"] for r in remote.manifest()["runs"]}
    if run == "latest":
        rejected = [remote._relative(str(p)) for p in _listing(fs, remote.path("_rejected"))]
        found = [f"runs/{r}" for r in committed] + rejected
        if not found:
            raise NewsdqError(f"no runs under {url}")
        folder = max(found, key=lambda f: f.rsplit("/", 1)[-1])
    elif not _RUN_NAME.fullmatch(run):  # a name, never a path
        raise NewsdqError(f"no run {run} under {url}")
    elif run in committed:
        folder = f"runs/{run}"
    else:
        folder = f"_rejected/{run}"
    raw = remote.read(f"{folder}/summary.json")
    if raw is None:
        raise NewsdqError(f"no run {run} under {url}")
    summary: dict[str, Any] = json.loads(raw)
    return summary, remote.show(f"{folder}/report.html")


def _listing(fs: Any, path: str) -> list[str]:
    try:
        return [str(p) for p in fs.ls(path, detail=False)]
    except FileNotFoundError:
        return []


def _table_paths(entry: dict[str, Any]) -> list[str]:
    return [str(t["path"]) for _name, t in sorted(entry["tables"].items())]


def _has_run(snapshot: Path, entry: dict[str, Any]) -> bool:
    """Tell whether a local snapshot holds a run's files (written once, so the same ones)."""
    if not (snapshot / "runs" / entry["run_id"]).is_dir():
        return False
    return all((snapshot / rel).is_file() for rel in _table_paths(entry))
