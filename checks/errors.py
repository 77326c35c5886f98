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


class PipelineInvariantError(NewsdqError):
    """Raise when a check of a column the pipeline derives fails (`checks.models.INVARIANTS`).

    No input can break such a check, so the failure is a bug of the pipeline. Raised only when
    `[validation] invariants = "raise"` (the test suite); runs otherwise repair the rows and
    count them. `check` names the first broken check, `count` its rows, `doc_ids` a few of them.
    """

    exit_code = 10

    def __init__(
        self, message: str, *, check: str, count: int, doc_ids: tuple[str | None, ...]
    ) -> None:
        super().__init__(message)
        self.check = check
        self.count = count
        self.doc_ids = doc_ids
