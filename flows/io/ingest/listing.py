"""List the input files of an inbox folder, local or on an fsspec store."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from flows.core.errors import InboxError
from flows.core.settings import IngestConfig
from flows.io.ingest.rows import surrogate_at
from flows.io.location import is_local, local_path, remote_fs

# Top-level folders of the inbox that hold no articles (external claim tables live in claims/).
RESERVED_DIRS = frozenset({"claims"})


def list_inbox(inbox: Path, config: IngestConfig) -> list[Path]:
    """List the input files of an inbox, sorted by their inbox-relative path.

    Walks the folder recursively. Hidden files and folders (name starting with ".") and the
    top-level ``claims/`` folder are skipped. Files of every extension are listed: those not in
    ``config.extensions`` are quarantined by `read_inbox`, so that nothing is silently dropped.
    Symbolic links to folders are not followed.

    Parameters
    ----------
    inbox : Path
        The inbox folder.
    config : IngestConfig
        Ingest limits; the listing itself does not depend on them.

    Returns
    -------
    list[Path]
        Paths under `inbox`, sorted by inbox-relative POSIX path.

    Raises
    ------
    InboxError
        When `inbox` is missing, is not a folder, or a folder in it cannot be listed.
    """
    del config  # same signature as read_inbox; listing is extension-agnostic
    return [inbox / name for name in _local_names(inbox)]


def _local_names(inbox: Path) -> list[str]:
    """List a local inbox's input files as sorted inbox-relative POSIX names (`list_inbox`)."""
    if not inbox.exists():
        raise InboxError(f"inbox folder not found: {inbox}")
    if not inbox.is_dir():
        raise InboxError(f"inbox is not a folder: {inbox}")

    def fail(exc: OSError) -> None:
        raise InboxError(f"cannot list inbox folder {exc.filename}: {exc.strerror or exc}") from exc

    # Names as strings: a pathlib.Path a file, made relative again to sort, was most of the
    # listing's time (0.5 s on 34,173 files).
    top = os.fspath(inbox)
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(top, onerror=fail):
        at_top = dirpath == top
        dirnames[:] = sorted(d for d in dirnames if _listed(d, at_top, folder=True))
        prefix = "" if at_top else Path(dirpath).relative_to(inbox).as_posix() + "/"
        found.extend(prefix + name for name in filenames if _listed(name, at_top, folder=False))
    found.sort()
    return found


def _listed(name: str, at_top: bool, *, folder: bool) -> bool:
    """Return whether a listing goes into (a folder) or lists (a file) an entry of the inbox.

    Hidden names are skipped, and so are the reserved folders at the inbox's top.
    """
    if name.startswith("."):
        return False
    return not (folder and at_top and name in RESERVED_DIRS)


def estimated_shards(inbox: Path, shard_bytes: int, shard_files: int, most: int) -> int:
    """Estimate the ingest shards of a local inbox, up to `most`, by a walk that stops there.

    Counts the files `list_inbox` would list and their bytes: a shard holds up to
    `shard_bytes` bytes or `shard_files` files (`[runner]`). For deciding early whether worker
    processes will have work (`newsdq run` starts them before Prefect's import): the flow cuts
    the real shards from its own listing. 0 for a folder that cannot be read.
    """
    files = size = 0

    def shards() -> int:
        return max(-(-size // shard_bytes), -(-files // shard_files))

    def walk(folder: str, at_top: bool) -> bool:
        nonlocal files, size
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return False
        for entry in entries:
            try:
                # as os.walk in `list_inbox`: a link to a folder is neither listed nor entered
                if entry.is_dir():
                    if (
                        not entry.is_symlink()
                        and _listed(entry.name, at_top, folder=True)
                        and walk(entry.path, False)
                    ):
                        return True
                    continue
                if not _listed(entry.name, at_top, folder=False):
                    continue
                files += 1
                size += entry.stat().st_size
            except OSError:  # gone or unreadable: reading it will say so
                continue
            if shards() >= most:
                return True
        return False

    walk(os.fspath(inbox), True)
    return min(shards(), most)


def inbox_files(inbox: Path | str, config: IngestConfig) -> list[str]:
    """List an inbox's input files as inbox-relative POSIX paths, sorted (see `list_inbox`).

    The names are those to give `read_files` (a non-UTF-8 local name keeps its surrogate
    escapes; `inbox_uri` makes the published `source_uri` of it).
    """
    del config  # listing is extension-agnostic
    if is_local(inbox):
        return _local_names(local_path(inbox))
    return _list_remote(str(inbox))


def file_sizes(inbox: Path | str, names: Sequence[str]) -> list[int | None]:
    """Return the size in bytes of each inbox file (None where unknown: remote, or gone)."""
    if not is_local(inbox):
        return [None] * len(names)
    base = os.path.join(os.fspath(local_path(inbox)), "")
    out: list[int | None] = []
    for name in names:
        try:
            out.append(os.stat(base + name).st_size)
        except OSError:  # reading it will say what is wrong
            out.append(None)
    return out


def file_uri(name: str) -> str:
    """Return the `source_uri` of an inbox-relative name from `inbox_files` (valid UTF-8)."""
    if surrogate_at(name) is None:
        return name
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _list_remote(inbox: str) -> list[str]:
    """List an fsspec inbox as `list_inbox` lists a local one (hidden names, claims/ skipped)."""
    fs, root = remote_fs(inbox)
    try:
        if not fs.exists(root):
            raise InboxError(f"inbox folder not found: {inbox}")
        if not fs.isdir(root):
            raise InboxError(f"inbox is not a folder: {inbox}")
        found = fs.find(root, withdirs=False)
    except OSError as exc:
        raise InboxError(f"cannot list inbox folder {inbox}: {exc.strerror or exc}") from exc
    names = []
    for full in found:
        name = str(full)[len(root) :].lstrip("/")
        parts = name.split("/")
        if any(p.startswith(".") for p in parts):
            continue
        if len(parts) > 1 and parts[0] in RESERVED_DIRS:
            continue
        names.append(name)
    return sorted(names)


def inbox_uri(path: Path, inbox: Path) -> str:
    """Return a file's inbox-relative POSIX path as valid UTF-8.

    A file name that is not UTF-8 comes from the OS with lone surrogates ("surrogateescape"),
    which no polars/Parquet string can hold: its undecodable bytes are written as \\xNN.
    """
    return file_uri(path.relative_to(inbox).as_posix())
