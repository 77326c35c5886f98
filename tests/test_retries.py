"""Retries of the reading stages: I/O errors are retried, bad input is not."""

from __future__ import annotations

import errno

import pytest
from prefect import flow, task

from flows.core.errors import InboxError
from flows.tasks import READS


def _flaky(error: Exception, calls: list[int]):
    @task(name="flaky-read", **{**READS, "retry_delay_seconds": 0})
    def read() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise error
        return "ok"

    @flow(name="retry-probe")
    def probe() -> str:
        return read()

    return probe


def test_an_io_error_is_retried(prefect_api_url: str) -> None:
    calls: list[int] = []
    assert _flaky(OSError("disk busy"), calls)() == "ok"
    assert len(calls) == 2


def test_a_missing_inbox_is_not_retried(prefect_api_url: str) -> None:
    calls: list[int] = []
    with pytest.raises(InboxError):
        _flaky(InboxError("inbox folder not found: x"), calls)()
    assert len(calls) == 1


def test_a_full_or_read_only_disk_is_not_retried(prefect_api_url: str) -> None:
    for number in (errno.ENOSPC, errno.EROFS, errno.EACCES):
        calls: list[int] = []
        with pytest.raises(OSError) as caught:
            _flaky(OSError(number, "refused", "/out/x.parquet"), calls)()
        assert caught.value.errno == number and len(calls) == 1
