"""Exception classes, one per failure kind; the CLI maps each to a message and an exit code."""

from __future__ import annotations

import errno as _errno
import re
from collections.abc import Iterator


class NewsdqError(Exception):
    """Base class for every error newsdq reports to a user."""

    exit_code: int = 1


class ConfigError(NewsdqError):
    """Raise when a configuration file or option is invalid."""

    exit_code = 2


class InboxError(NewsdqError):
    """Raise when the inbox is missing or cannot be listed."""

    exit_code = 3


class OutputError(NewsdqError):
    """Raise when the output folder cannot be written."""

    exit_code = 4


class OutputLockedError(OutputError):
    """Raise when another run holds the lock on the output folder."""

    exit_code = 5


class ValidationBlockedError(NewsdqError):
    """Raise when a validation of severity `error` blocks publishing of a run."""

    exit_code = 6


class PublishError(NewsdqError):
    """Raise when publishing a run fails; the previous published state stays current."""

    exit_code = 7


class AccountingError(NewsdqError):
    """Raise when a run's outcome counts do not add up (a bug: the run is not published)."""

    exit_code = 8


class ServeError(NewsdqError):
    """A piece of the local stack of `newsdq serve` (server, pool, deployments, worker) failed."""

    exit_code = 9


class WorkerError(NewsdqError):
    """Raise when a worker process running shard work died (killed, out of memory)."""

    exit_code = 14


class FileSystemError(NewsdqError):
    """Base of the file-system failures below: the kind is named first in the message.

    `errno` is the error number found in the failure, `path` the file it names (when known).
    """

    kind = "I/O error"

    def __init__(self, message: str, *, errno: int, path: str | None = None) -> None:
        super().__init__(message)
        self.errno = errno
        self.path = path

    def __reduce__(self) -> tuple[object, ...]:
        # keyword-only arguments: the default pickling (`cls(*args)`) would lose them, and a
        # failure raised in a worker process comes back to the flow pickled
        return (_rebuild, (type(self), str(self), self.errno, self.path))


def _rebuild(
    cls: type[FileSystemError], message: str, errno: int, path: str | None
) -> FileSystemError:
    """Return a `FileSystemError` unpickled (see `FileSystemError.__reduce__`)."""
    return cls(message, errno=errno, path=path)


class DiskFullError(FileSystemError):
    """Raise when a write failed for want of space (ENOSPC) or quota (EDQUOT)."""

    exit_code = 11
    kind = "disk full"


class PermissionDeniedError(FileSystemError):
    """Raise when the file system refused an operation on a path (EACCES, EPERM)."""

    exit_code = 12
    kind = "permission denied"


class ReadOnlyFileSystemError(FileSystemError):
    """Raise when a write hit a file system mounted read-only (EROFS)."""

    exit_code = 13
    kind = "read-only file system"


# errno -> (class, reason): the failures a run reports as one line instead of a traceback.
_KINDS: dict[int, tuple[type[FileSystemError], str]] = {
    _errno.ENOSPC: (DiskFullError, " (no space left on device)"),
    _errno.EDQUOT: (DiskFullError, " (disk quota exceeded)"),
    _errno.EACCES: (PermissionDeniedError, ""),
    _errno.EPERM: (PermissionDeniedError, " (operation not permitted)"),
    _errno.EROFS: (ReadOnlyFileSystemError, ""),
}
# How libraries that keep only the text of an OSError spell its number: polars/Rust
# ("... (os error 28)") and Python's str() of an OSError ("[Errno 28] ..."), e.g. in the
# message of a failed Prefect state.
_ERRNO_IN_TEXT = re.compile(r"\(os error (\d+)\)|\[Errno (\d+)\]")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """Yield `exc`, then what it wraps (causes, contexts, members of groups), each once."""
    todo, seen = [exc], set()
    while todo:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        if isinstance(e, BaseExceptionGroup):
            todo.extend(e.exceptions)
        todo.extend(x for x in (e.__cause__, e.__context__) if x is not None)


def errno_of(exc: BaseException) -> tuple[int, str | None] | None:
    """Return the (errno, path) of the first file-system failure in `exc`'s chain, or None.

    Only the kinds of `_KINDS` count. An OSError gives its own number and file name; an
    exception that kept only the text of one (polars' ComputeError, a Prefect crash) gives
    the number written in its message and no path.
    """
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno in _KINDS:
            name = e.filename if isinstance(e.filename, str) else None
            return e.errno, name
    for e in _chain(exc):
        number = errno_in_text(str(e))
        if number is not None:
            return number, None
    return None


def errno_in_text(text: str) -> int | None:
    """Return the number of a file-system failure of `_KINDS` written in `text`, or None."""
    for match in _ERRNO_IN_TEXT.finditer(text):
        number = int(match.group(1) or match.group(2))
        if number in _KINDS:
            return number
    return None


def file_system_error(exc: BaseException, where: str, outcome: str = "") -> FileSystemError | None:
    """Return the FileSystemError that `exc` amounts to, or None when it is no such failure.

    The message names the kind and the file (or, when the failure does not name one, `where`,
    e.g. "below the output folder /out"), then `outcome` (what became of the run), e.g.
    ``disk full (no space left on device): /out/_staging/r/ingest/00000/docs.parquet; run r
    published nothing``.
    """
    if isinstance(exc, FileSystemError):
        return exc
    found = errno_of(exc)
    if found is None:
        return None
    number, path = found
    cls, reason = _KINDS[number]
    message = f"{cls.kind}{reason}: {path}" if path else f"{cls.kind}{reason} {where}"
    return cls(message + (f"; {outcome}" if outcome else ""), errno=number, path=path)
