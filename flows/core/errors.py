"""Exception classes, one per failure kind; the CLI maps each to a message and an exit code."""

from __future__ import annotations


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
