"""Worker processes for shard work that holds the GIL, under the threads runner.

The threads runner runs shard tasks as threads of the flow process. numba and polars release
the GIL for their heavy parts, but the rule-based claim extractor is Python from end to end:
a second thread only queued for the GIL, and the claims stage used one core of two (8.6 s of
a 28 s run on the 34,173-page syndication inbox), and so did the ingest shards' reading and
decoding of files. `worker_processes` opens a pool of spawned processes (the flow opens the
claims pool before the dedup stage, so that it starts beside it); a shard task's body (a
plain function of paths, `flows/io/shard_jobs.py`, `flows/io/ingest/shard.py`) runs
there through `run`, and in the calling thread when no pool is open: a stage of one shard, a
one-core machine, `[runner] worker_processes = 1`, and the processes and Dask runners, whose
tasks are processes already. `StandingWorker` is one process that a run starts when it
chooses and gives work to later (the great-expectations checkpoint). `started_ahead` starts a
stage's pool before the flow does, for `worker_processes` to take when the stage opens it:
`newsdq run` starts the ingest workers before it imports Prefect, so that they import on the
core that Prefect's import leaves idle.

Spawned, not forked: the flow process runs threads (Prefect's, polars'), and a fork copies
their locks in whatever state they are. A spawned worker imports only what its job needs
(polars and `flows.core`, not Prefect; pandera for the ingest shards), about 0.3 s (claims)
or 1.1 s (ingest), once for the stage. It does not run the
parent's `__main__` again, as multiprocessing's spawn does by default (so that functions
defined there can be unpickled): the jobs live in `flows`, and a user's script that calls
the flow without an `if __name__ == "__main__":` guard would otherwise run again in every
worker (`_SpawnContext`).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from contextvars import ContextVar
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import ParamSpec, TypeVar

from flows.core.errors import WorkerError
from flows.core.settings import RunnerConfig

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


# The open pool of the stage running in this context, and its size (Prefect's thread runner
# copies the context into each task's thread, so the stage's shard tasks see it).
_POOL: ContextVar[tuple[ProcessPoolExecutor, int] | None] = ContextVar(
    "newsdq_worker_pool", default=None
)


# Pools started before their stage (`started_ahead`), by the module of the stage's warm-up
# job, with their sizes.
_AHEAD: dict[str, tuple[ProcessPoolExecutor, int]] = {}


def ready() -> None:
    """Do nothing: a warm-up job (a job's module is imported in the worker to unpickle it)."""


def usable_cpus() -> int:
    """Return the CPUs this process may run on (its affinity, where the platform tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def process_workers(config: RunnerConfig) -> int:
    """Return the worker processes a shard stage may open for its GIL-bound work.

    Only under the threads runner (the other runners' tasks are processes already):
    `worker_processes`, or one a usable core when it is 0.
    """
    if config.kind != "threads":
        return 0
    return config.worker_processes or usable_cpus()


def _started(size: int, warm: Callable[..., object], *args: object) -> ProcessPoolExecutor:
    """Start a pool of `size` spawned processes, each running `warm(*args)` at once."""
    pool = ProcessPoolExecutor(size, mp_context=_SpawnContext())
    # one job each, submitted before any waits: the pool starts a process per job it cannot
    # give to an idle one, so all `size` start now
    for _ in range(size):
        pool.submit(warm, *args)
    return pool


@contextmanager
def started_ahead(workers: int, module: str) -> Iterator[None]:
    """Start `workers` processes importing `module` now, for the stage inside that opens them.

    `worker_processes(..., warm)` inside the block, with a `warm` job of that module, takes
    the pool instead of starting one (and stops it when its stage ends); a pool no stage took
    is stopped when the block ends. Nothing is started for fewer than two workers. By the
    module's name, so that the caller need not import it: the point is to import it on
    another core while this process does other things.
    """
    if workers < 2:
        yield
        return
    _AHEAD[module] = (_started(workers, importlib.import_module, module), workers)
    try:
        yield
    finally:
        left = _AHEAD.pop(module, None)
        if left is not None:
            left[0].shutdown(wait=True, cancel_futures=True)


@contextmanager
def worker_processes(
    workers: int, shards: int, warm: Callable[[], object] = ready
) -> Iterator[int]:
    """Open a pool of `min(workers, shards)` spawned processes for the shard tasks run inside.

    Yields the number of processes opened: 0 when fewer than two would work at once (one
    worker would only add its start-up to work the calling thread can do). Each worker runs
    `warm` (a module-level function: its module is imported to unpickle it) as soon as it
    starts, while the stage writes its shards. Leaving the block stops them, after their
    running jobs (queued ones are cancelled when the stage failed). Inside a block that
    opened a pool already (the flow opens the claims pool before the dedup stage, so that
    its processes start meanwhile), nothing is opened and that pool's size is yielded. A
    pool `started_ahead` with the same `warm` is taken instead of starting one.
    """
    outer = _POOL.get()
    if outer is not None:
        yield outer[1]
        return
    size = min(workers, shards)
    ahead = _AHEAD.pop(warm.__module__, None)
    if size < 2:
        if ahead is not None:  # the stage has one shard: its work is done here
            ahead[0].shutdown(wait=False, cancel_futures=True)
        yield 0
        return
    pool, size = ahead if ahead is not None else (_started(size, warm), size)
    token = _POOL.set((pool, size))
    failed = True
    try:
        yield size
        failed = False
    finally:
        _POOL.reset(token)
        _stop(pool, failed)


def _stop(pool: ProcessPoolExecutor, failed: bool) -> None:
    """Stop `pool`'s processes; wait for them to end only after a failure.

    A spawned process ends with its interpreter's teardown, which frees its heap object by
    object: 0.24 s for the ingest workers and 0.54 s for the checkpoint's worker (280 MB of
    great-expectations) at the end of their stages of a 34,173-page run, which the flow
    waited for. After a stage that worked, they end while the next one runs (jobs are all
    done by then); after a failure, queued jobs are cancelled and the flow waits, so that no
    worker outlives the run's error.
    """
    pool.shutdown(wait=failed, cancel_futures=failed)


def run(job: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `job` in the open pool's next free worker and return its result, or run it here.

    `job`, its arguments and its result are pickled across: module-level functions and plain
    data (paths, frames, dataclasses). An exception the job raises is raised here; a worker
    that died (killed, out of memory) raises `WorkerError`.
    """
    opened = _POOL.get()
    if opened is None:
        return job(*args, **kwargs)
    return _run_in(opened[0], job, *args, **kwargs)


def _run_in(pool: ProcessPoolExecutor, job: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `job` in a worker of `pool`; return its result (see `run`)."""
    return _submit_to(pool, job, *args, **kwargs).result()


def _died(job: Callable[..., object], exc: BrokenProcessPool) -> WorkerError:
    error = WorkerError(
        f"a worker process died while running {job.__qualname__} (killed, or out of "
        "memory?); set [runner] worker_processes = 1 to run that work in the flow process"
    )
    error.__cause__ = exc
    return error


def _submit_to(
    pool: ProcessPoolExecutor, job: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> Future[T]:
    """Start `job` in a worker of `pool`; a worker that dies fails the future with WorkerError."""
    outcome: Future[T] = Future()
    outcome.set_running_or_notify_cancel()
    try:
        running = pool.submit(job, *args, **kwargs)
    except BrokenProcessPool as exc:
        outcome.set_exception(_died(job, exc))
        return outcome

    def relay(done: Future[T]) -> None:
        exc = done.exception()
        if exc is None:
            outcome.set_result(done.result())
        else:
            outcome.set_exception(_died(job, exc) if isinstance(exc, BrokenProcessPool) else exc)

    running.add_done_callback(relay)
    return outcome


def finished(job: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
    """Run `job` here, now; return a done future of its result (or of the exception it raised)."""
    outcome: Future[T] = Future()
    outcome.set_running_or_notify_cancel()
    try:
        outcome.set_result(job(*args, **kwargs))
    except Exception as exc:  # the future carries it to whoever asks for the result
        outcome.set_exception(exc)
    return outcome


def in_background(job: Callable[[], object], name: str) -> threading.Thread:
    """Run `job` on a new daemon thread of the lowest CPU priority (nice 19); return the thread.

    For work a process does ahead of need: it then takes only the CPU that the run leaves
    idle. On Linux a thread's nice value is its own (setpriority on its thread id); elsewhere
    the job runs at normal priority.
    """

    def quietly() -> None:
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        job()

    thread = threading.Thread(target=quietly, name=name, daemon=True)
    thread.start()
    return thread


def checkpoint_ready() -> None:
    """Start importing great-expectations in the background: the checkpoint worker's warm-up.

    The import (about 3.5 s of CPU, 280 MB) runs `in_background` in the worker, which a run
    starts before its ingest stage, so that it takes only the CPU the stages leave idle
    instead of slowing the ones it overlaps (34,173-page inbox: signatures and dedup 1.0-1.1
    s and 2.3-2.5 s with it, 1.3-1.7 s and 2.9-3.5 s with the import at normal priority). A
    job that imports great-expectations meanwhile waits for this import (Python's import
    locks), which by then has had most of a run's idle CPU.
    """

    def load() -> None:
        importlib.import_module("checks.expectations").import_great_expectations()

    in_background(load, "newsdq-gx-import")


class StandingWorker:
    """One worker process that a run may start early and give work to later.

    The great-expectations checkpoint of the validate stage runs in one: its import is about
    4 s of Python (280 MB) that, in the flow process, held the GIL against the boilerplate
    stage; the worker imports it at the lowest CPU priority, on the CPU the stages leave idle
    (`checkpoint_ready`). Until `start` is called
    (and after the block) `run` and `submit` run the job in the calling thread.
    """

    def __init__(self, warm: Callable[[], object] = ready) -> None:
        self._warm = warm
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> StandingWorker:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            _stop(pool, failed=kind is not None)

    @property
    def started(self) -> bool:
        """Return whether the worker process was started."""
        return self._pool is not None

    def start(self) -> None:
        """Start the worker (once): it runs `warm` at once."""
        if self._pool is None:
            self._pool = _started(1, self._warm)

    def run(self, job: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `job` in the worker when it was started, else here; return its result."""
        return self.submit(job, *args, **kwargs).result()

    def submit(self, job: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Start `job` in the worker when it was started, else run it here; return its future.

        The caller goes on while the worker runs the job; the future's `result()` waits for
        it (a worker that died raises WorkerError). Leaving the block stops the worker after
        the jobs it runs, so their futures still complete.
        """
        if self._pool is None:
            return finished(job, *args, **kwargs)
        return _submit_to(self._pool, job, *args, **kwargs)
