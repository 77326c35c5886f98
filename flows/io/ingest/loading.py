"""Stat, hash and read the bytes of one inbox file, on the local disk or an fsspec store."""

from __future__ import annotations

import functools
import hashlib
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from flows.core.settings import IngestConfig
from flows.io.ingest.readers import _READERS
from flows.io.ingest.rows import (
    IO_ERROR,
    NOT_A_FILE,
    SYMLINK_OUTSIDE,
    TOO_LARGE,
    UNSUPPORTED,
    _Unreadable,
)
from flows.io.location import is_local, local_path, remote_fs

RACY_NS = 2_000_000_000


_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class _Loaded:
    """Hold a file's hash and bytes, or why it cannot be read."""

    sha: str | None
    data: bytes | None = None
    failure: _Unreadable | None = None
    stamp: str | None = None  # FILES_LEDGER `file_stamp` of a local file


def _loader(
    inbox: Path | str, config: IngestConfig, extensions: set[str]
) -> Callable[[str, dict[str, str]], _Loaded]:
    """Return a function loading one inbox-relative name, from the local disk or fsspec."""
    if is_local(inbox):
        folder = local_path(inbox)
        real = folder.resolve()
        inside = _folder_check(folder, real)
        # Paths as strings: a pathlib.Path for each file cost a fifth of reading a small one.
        base = os.path.join(os.fspath(folder), "")
        return lambda name, known: _load(
            base + name, config, extensions, real, known, inside(name.rpartition("/")[0])
        )
    fs, root = remote_fs(str(inbox))
    # fsspec stores report modification times in their own ways (or not): always hash
    return lambda name, known: _load_remote(fs, f"{root}/{name}", config, extensions)


def _folder_check(folder: Path, root: Path) -> Callable[[str], bool]:
    """Return a cached test of whether a sub-folder of `folder` resolves inside `root`.

    The test takes the sub-folder's inbox-relative POSIX name ("" for `folder` itself).
    """

    @functools.cache
    def inside(relative: str) -> bool:
        try:
            return (folder / relative).resolve().is_relative_to(root)
        except (OSError, RuntimeError):  # `outside_inbox` says why
            return False

    return inside


def _load(
    path: str,
    config: IngestConfig,
    extensions: set[str],
    root: Path,
    known: dict[str, str] | None = None,
    in_inbox_folder: bool = False,
) -> _Loaded:
    """Stat, hash and (when it is small enough and supported) read a local file under `root`.

    `known` maps the stamps earlier runs' ledgers recorded for the file to its sha256 then; a
    file whose stamp is among them is not opened, and that sha256 is returned.
    `in_inbox_folder` says that the file's folder resolves inside `root` (`_folder_check`): a
    file there that is no link is not resolved (resolving every file was 29% of ingest).
    """
    try:
        info = os.lstat(path)
        linked = stat.S_ISLNK(info.st_mode)
        if linked:
            info = os.stat(path)
    except OSError as exc:
        return _Loaded(None, failure=_Unreadable(IO_ERROR, f"cannot stat the file: {_os_why(exc)}"))
    if linked or not in_inbox_folder:
        target = outside_inbox(Path(path), root)
        if target is not None:  # not opened: its content is not the inbox's to publish
            return _Loaded(None, failure=_Unreadable(SYMLINK_OUTSIDE, target))
    if not stat.S_ISREG(info.st_mode):
        return _Loaded(
            None, failure=_Unreadable(NOT_A_FILE, "not a regular file (a FIFO, socket or device)")
        )
    stamp = None
    if time.time_ns() - info.st_mtime_ns >= RACY_NS:
        stamp = f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_dev}:{info.st_ino}"
    if stamp is not None and known and stamp in known:
        return _Loaded(known[stamp], stamp=stamp)
    # Unbuffered: the file is read in one call of its size, which a buffer would only copy.
    return _load_bytes(
        suffix(path), info.st_size, lambda: open(path, "rb", buffering=0), config, extensions, stamp
    )


def _load_remote(fs: Any, path: str, config: IngestConfig, extensions: set[str]) -> _Loaded:
    """Look up, hash and (when small enough and supported) read a file of an fsspec store."""
    try:
        info = fs.info(path)
    except OSError as exc:
        return _Loaded(None, failure=_Unreadable(IO_ERROR, f"cannot stat the file: {_os_why(exc)}"))
    if info.get("type") != "file":
        return _Loaded(None, failure=_Unreadable(NOT_A_FILE, f"not a file ({info.get('type')})"))
    size = int(info.get("size") or 0)  # a store that does not tell is caught by the read below
    return _load_bytes(
        PurePosixPath(path).suffix.lower(), size, lambda: fs.open(path, "rb"), config, extensions
    )


def _load_bytes(
    ext: str,
    size: int,
    open_file: Callable[[], BinaryIO],
    config: IngestConfig,
    extensions: set[str],
    stamp: str | None = None,
) -> _Loaded:
    """Hash and (when it is small enough and supported) read a file of `size` bytes.

    `stamp` is the file's ledger stamp, kept in the result.
    """
    limit = config.max_file_bytes
    try:
        if ext not in extensions or ext not in _READERS:
            why = "no extension" if not ext else f"extension {ext!r}"
            detail = f"{why} is not one of the accepted {sorted(extensions & set(_READERS))}"
            failure = _Unreadable(UNSUPPORTED, detail)
            return _Loaded(hash_file(open_file), failure=failure, stamp=stamp)
        if size > limit:
            return _Loaded(hash_file(open_file), failure=_too_large(size, limit), stamp=stamp)
        with open_file() as handle:
            # Read what stat promised plus one byte, not `limit + 1`: a buffer of the limit for
            # every small file cost 2 of 3 s of reading the 34,173-page syndication inbox.
            data = _read_up_to(handle, size + 1)
            if len(data) > size:  # grew after stat: read on, up to the limit
                data += _read_up_to(handle, limit + 1 - len(data))
        if len(data) > limit:  # grew after stat
            failure = _too_large(len(data), limit)
            return _Loaded(hash_file(open_file), failure=failure, stamp=stamp)
    except OSError as exc:
        failure = _Unreadable(IO_ERROR, f"cannot read the file: {_os_why(exc)}")
        return _Loaded(None, failure=failure, stamp=stamp)
    return _Loaded(hashlib.sha256(data).hexdigest(), data=data, stamp=stamp)


def _read_up_to(handle: BinaryIO, n: int) -> bytes:
    """Read `n` bytes, or up to the end of the file (an unbuffered read may return fewer)."""
    data = handle.read(n)
    while 0 < len(data) < n:
        more = handle.read(n - len(data))
        if not more:
            break
        data += more
    return data


def suffix(name: str) -> str:
    """Return the lower-cased extension of a path's last part, as `PurePath.suffix` reads it."""
    last = name.rpartition("/")[2]
    dot = last.rfind(".")
    return last[dot:].lower() if 0 < dot < len(last) - 1 else ""


def outside_inbox(path: Path, root: Path) -> str | None:
    """Say where `path` points when a symbolic link takes it outside `root` (a resolved folder).

    Returns None for a path that stays inside `root` (a link to another inbox file included).
    """
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a link loop (Python < 3.13)
        return f"symbolic link that cannot be resolved: {exc}"
    if resolved.is_relative_to(root):
        return None
    where = os.fsencode(resolved).decode("utf-8", "backslashreplace")  # keep it valid UTF-8
    return f"symbolic link to {where}, outside the inbox folder"


def hash_file(open_file: Callable[[], BinaryIO]) -> str:
    """Hash a file in chunks, without holding it in memory."""
    digest = hashlib.sha256()
    with open_file() as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _too_large(size: int, limit: int) -> _Unreadable:
    """Describe a file above the size limit."""
    return _Unreadable(TOO_LARGE, too_large_detail(size, limit))


def too_large_detail(size: int, limit: int) -> str:
    """Name the size of a file above the limit, and the limit."""
    return f"file is {size:,} bytes, above the {limit:,}-byte limit (max_file_bytes)"


def _os_why(exc: OSError) -> str:
    """Return the operating system's reason for an error."""
    return exc.strerror or str(exc)
