"""Fault injection: kill the process at a named point when NEWSDQ_CRASH_AT names it."""

from __future__ import annotations

import os

ENV = "NEWSDQ_CRASH_AT"
# Exit code of a simulated crash (distinct from every NewsdqError exit code).
CRASH_EXIT_CODE = 86


def crash_point(name: str) -> None:
    """Exit the process at once, without cleanup, if NEWSDQ_CRASH_AT lists `name`."""
    wanted = {p.strip() for p in os.environ.get(ENV, "").split(",") if p.strip()}
    if name in wanted:
        os._exit(CRASH_EXIT_CODE)
