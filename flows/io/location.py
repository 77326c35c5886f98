"""Where inputs and outputs live: local paths, or fsspec URLs.

The inbox may be any fsspec URL (`file:///data/inbox`, `memory://inbox`, `s3://bucket/inbox`
with s3fs installed, `dir::file:///shared/inbox`, ...), so that the workers of a cluster read a
shared store. Local paths and `file://` URLs keep the local reader (`flows/io/ingest/`) with
its safety checks (FIFOs, dangling links, folder links not followed). The output may be a local
folder (or a `file://` URL), published in place (`flows/io/store.py`), or any other fsspec URL,
published through a local working copy (`flows/io/remote.py`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flows.core.errors import InboxError, NewsdqError

LOCAL_PROTOCOLS = ("file", "local")


def protocol(location: str) -> str:
    """Return the URL's protocol, the outermost of a chained URL ("file" for a plain path)."""
    # A chained URL (`dir::file:///data/out`, `simplecache::s3://...`) is read through its
    # first file system, whatever the inner ones are.
    head, sep, _rest = location.partition("::")
    if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", head):
        return head.lower()
    head, sep, _rest = location.partition("://")
    return head.lower() if sep and head and "/" not in head else "file"


def is_local(location: str | Path) -> bool:
    """Tell whether a location is a local path or a `file://` URL."""
    return isinstance(location, Path) or protocol(location) in LOCAL_PROTOCOLS


def local_path(location: str | Path) -> Path:
    """Return the local path of a plain path or a `file://` URL."""
    if isinstance(location, Path):
        return location
    if protocol(location) == "file" and "://" not in location:
        return Path(location)
    return Path(location.split("://", 1)[1])


def remote_fs(location: str, error: type[NewsdqError] = InboxError) -> tuple[Any, str]:
    """Return the fsspec file system and path of a URL that is not local."""
    import fsspec
    from fsspec.implementations.dirfs import DirFileSystem

    what = "inbox" if error is InboxError else "output"
    try:
        fs, path = fsspec.core.url_to_fs(location)
    except (ImportError, ValueError) as exc:  # unknown protocol, or its package is missing
        raise error(f"cannot open {what} {location}: {exc}") from exc
    if isinstance(fs, DirFileSystem):
        # url_to_fs returns the folder of `dir::<url>` as the path, but a DirFileSystem's paths
        # are relative to that folder already: its root is "".
        return fs, ""
    return fs, str(path).rstrip("/")
