"""Worker processes for shard work that holds the GIL, under the threads runner.

The threads runner runs shard tasks as threads of the flow process. numba and polars release
the GIL for their heavy parts, but the rule-based claim extractor is Python from end to end:
a second thread only queued for the GIL, and the claims stage used one core of two (8.6 s of
a 28 s run on the 34,173-page syndication inbox). `worker_processes` opens a pool of spawned
processes for the length of one stage; a shard task's body (a plain function of Parquet paths,
`flows/io/shard_jobs.py`) runs there through `run`, and in the calling thread when no pool is
open: a stage of one shard, a one-core machine, `[runner] worker_processes = 1`, and the
processes and Dask runners, whose tasks are processes already.

Spawned, not forked: the flow process runs threads (Prefect's, polars'), and a fork copies
their locks in whatever state they are. A spawned worker imports only what its job needs
(polars and `flows.core`, not Prefect), about 0.4 s, once for the stage. It does not run the
parent's `__main__` again, as multiprocessing's spawn does by default (so that functions
defined there can be unpickled): the jobs live in `flows`, and a user's script that calls
the flow without an `if __name__ == "__main__":` guard would otherwise run again in every
worker (`_SpawnContext`).
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from contextvars import ContextVar
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import ParamSpec, TypeVar

from flows.core.errors import WorkerError

P = ParamSpec("P")
T = TypeVar("T")

@contextmanager
def _main_left_alone() -> Iterator[None]:
    """Start processes as if `__main__` were blank: spawn then imports nothing for it.

    multiprocessing reads `sys.modules["__main__"]` (its `__spec__`, `__file__`) while it starts
    a process, to import the same main module in the child. The swap lasts that start.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class _SpawnProcess(SpawnProcess):
    """A spawned process that does not import the parent's `__main__`."""

    def start(self) -> None:
        with _main_left_alone():
            super().start()


class _SpawnContext(SpawnContext):
    """The spawn context, with processes that leave the parent's `__main__` alone."""

    Process = _SpawnProcess


# The open pool of the stage running in this context (Prefect's thread runner copies the
# context into each task's thread, so the stage's shard tasks see it).
_POOL: ContextVar[ProcessPoolExecutor | None] = ContextVar("newsdq_worker_pool", default=None)


def _import(modules: tuple[str, ...]) -> None:
    """Import `modules` in a worker, so that its first job does not wait for them."""
    for name in modules:
        importlib.import_module(name)


@contextmanager
def worker_processes(workers: int, shards: int, warm: tuple[str, ...] = ()) -> Iterator[int]:
    """Open a pool of `min(workers, shards)` spawned processes for the shard tasks run inside.

    Yields the number of processes opened: 0 when fewer than two would work at once (one
    worker would only add its start-up to work the calling thread can do). The workers import
    `warm` as soon as they start, while the stage writes its shards. Leaving the block stops
    them, after their running jobs (queued ones are cancelled when the stage failed).
    """
    size = min(workers, shards)
    if size < 2:
        yield 0
        return
    pool = ProcessPoolExecutor(size, mp_context=_SpawnContext())
    # one job each, submitted before any waits: the pool starts a process per job it cannot
    # give to an idle one, so all `size` start now
    for _ in range(size):
        pool.submit(_import, warm)
    token = _POOL.set(pool)
    failed = True
    try:
        yield size
        failed = False
    finally:
        _POOL.reset(token)
        pool.shutdown(wait=True, cancel_futures=failed)


def run(job: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `job` in the open pool's next free worker and return its result, or run it here.

    `job`, its arguments and its result are pickled across: module-level functions and plain
    data (paths, frames, dataclasses). An exception the job raises is raised here; a worker
    that died (killed, out of memory) raises `WorkerError`.
    """
    pool = _POOL.get()
    if pool is None:
        return job(*args, **kwargs)
    try:
        return pool.submit(job, *args, **kwargs).result()
    except BrokenProcessPool as exc:
        raise WorkerError(
            f"a worker process died while running {job.__qualname__} (killed, or out of "
            "memory?); set [runner] worker_processes = 1 to run shard work in the flow process"
        ) from exc
