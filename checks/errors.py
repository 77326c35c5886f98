"""Errors raised by the checks package."""

from __future__ import annotations

from flows.core.errors import NewsdqError


class SchemaContractError(NewsdqError):
    """Raise when a frame breaks its column contract (missing column, wrong dtype, extra column).

    Such a failure is not about one row: the whole batch is rejected. `failures` keeps one
    `(column, check, failure_case)` triple per schema-level failure for callers that want more
    than the one-line message.
    """

    def __init__(
        self, message: str, *, failures: tuple[tuple[str | None, str, str | None], ...] = ()
    ) -> None:
        super().__init__(message)
        self.failures = failures
