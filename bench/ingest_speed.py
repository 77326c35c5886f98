"""Time the ingest stage alone on an inbox: its shard tasks on threads, as a run has them.

    .venv/bin/python bench/ingest_speed.py --inbox INBOX [--workers N] [--processes P] [--out DIR]

Lists the inbox, shards it as `flows/runners.ingest` does and runs each shard's task function
(`flows/tasks.ingest_shard`, without Prefect: no task runs reported) on a thread pool of one
thread a shard (Prefect's ThreadPoolTaskRunner without `max_workers`), then gathers the
shards. `--processes P` runs the shards' bodies in P worker processes, as a run does under the
threads runner (`[runner] worker_processes`; 0, the default, as the run's default: one a usable
core; 1: none), their start included in the time. Prints wall and CPU seconds (user + sys of
the process, all threads, and of the worker processes) and the load
average at start and end; `--out` writes the gathered frames (docs, files, quarantine,
rejected) as Parquet, to compare two commits row for row.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from flows import tasks
from flows.core.settings import Settings
from flows.io import workers
from flows.io.ingest import file_sizes
from flows.io.ingest.shard import ready
from flows.io.shards import sized_slices


def _cpu() -> float:
    """Return the CPU seconds (user + sys) this process has used."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)  # the worker processes, once stopped
    return own.ru_utime + own.ru_stime + ended.ru_utime + ended.ru_stime


def main() -> None:
    """Time one ingest of the inbox and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inbox", required=True)
    parser.add_argument("--workers", type=int, default=0, help="threads (0: one a shard)")
    parser.add_argument(
        "--processes", type=int, default=0, help="worker processes (0: one a core; 1: none)"
    )
    parser.add_argument("--out", type=Path, help="write the gathered frames here")
    args = parser.parse_args()
    settings = Settings()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="ingest-speed-") as staging:
        started, cpu = time.perf_counter(), _cpu()
        names = tasks.list_inbox.fn(args.inbox, settings).names
        sizes = file_sizes(args.inbox, names)
        runner = settings.runner
        shards = sized_slices(names, sizes, runner.shard_bytes, runner.shard_files) or [[]]
        shard = tasks.ingest_shard.fn
        processes = args.processes or len(os.sched_getaffinity(0))
        with (
            workers.worker_processes(processes, len(shards), ready),
            ThreadPoolExecutor(max_workers=args.workers or len(shards)) as pool,
        ):
            futures = [
                pool.submit(shard, args.inbox, part, settings.ingest, None, f"{staging}/{i:05d}")
                for i, part in enumerate(shards)
            ]
            ingested = tasks.gather_ingest([f.result() for f in futures])
        wall, cpu = time.perf_counter() - started, _cpu() - cpu
    n = ingested.docs.height
    print(
        f"ingest: {len(names)} files, {n} documents, {len(shards)} shards: wall {wall:.2f} s, "
        f"CPU {cpu:.2f} s ({n / cpu:,.0f} documents per CPU second); "
        f"load average {load:.2f} -> {os.getloadavg()[0]:.2f}"
    )
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name in ("docs", "files", "quarantine", "rejected"):
            getattr(ingested, name).write_parquet(args.out / f"{name}.parquet")


if __name__ == "__main__":
    main()
