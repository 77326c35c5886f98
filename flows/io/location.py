"""Where inputs and outputs live: local paths, or fsspec URLs for the inbox.

The inbox may be any fsspec URL (`file:///data/inbox`, `memory://inbox`, `s3://bucket/inbox`
with s3fs installed, ...), so that the workers of a cluster read a shared store. Local paths
and `file://` URLs keep the local reader (`flows/io/ingest.py`) with its safety checks (FIFOs,
dangling links, folder links not followed). The output must be a local folder (or a `file://`
URL): publishing swaps a symlink and holds an `flock`, which object stores do not offer, so a
cluster's workers reach it through a shared POSIX file system (NFS and the like).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.core.errors import ConfigError, InboxError

LOCAL_PROTOCOLS = ("file", "local")


def protocol(location: str) -> str:
    """Return the URL's protocol ("file" for a plain path)."""
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


def output_folder(out: str | Path) -> Path:
    """Return the local output folder, or raise ConfigError for a URL it cannot publish to."""
    if is_local(out):
        return local_path(out)
    raise ConfigError(
        f"output {out}: publishing needs a local folder or a file:// URL (it swaps a symlink "
        f"and locks a file); put the output on a shared file system for a cluster. Inboxes may "
        f"be any fsspec URL."
    )


def remote_fs(location: str) -> tuple[Any, str]:
    """Return the fsspec file system and path of an inbox URL that is not local."""
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(location)
    except (ImportError, ValueError) as exc:  # unknown protocol, or its package is missing
        raise InboxError(f"cannot open inbox {location}: {exc}") from exc
    return fs, str(path).rstrip("/")
