"""Worker processes for GIL-bound shard work (`flows/io/workers.py`)."""

from __future__ import annotations

import errno
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from flows.core.errors import DiskFullError, WorkerError
from flows.core.schema import CLAIMS
from flows.core.settings import RunnerConfig, settings_from_dict
from flows.io import workers
from flows.io.shard_jobs import claims_job
from flows.runners import process_workers

ROOT = Path(__file__).resolve().parents[1]

# The jobs below are functions of the standard library: a job of this module would make each
# worker import it, and Prefect with it (seconds).


def test_run_without_a_pool_runs_here() -> None:
    assert workers.run(os.getpid) == os.getpid()


def test_file_system_errors_survive_pickling() -> None:
    error = DiskFullError("disk full: /out/x.parquet", errno=errno.ENOSPC, path="/out/x.parquet")
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is DiskFullError and str(back) == str(error)
    assert (back.errno, back.path) == (errno.ENOSPC, "/out/x.parquet")


def test_one_shard_or_one_worker_opens_no_pool() -> None:
    for size, shards in ((1, 5), (4, 1), (0, 3)):
        with workers.worker_processes(size, shards) as opened:
            assert opened == 0
            assert workers.run(os.getpid) == os.getpid()


def test_a_pool_that_worked_is_stopped_and_its_processes_end_on_their_own() -> None:
    import multiprocessing

    earlier = set(multiprocessing.active_children())
    with workers.worker_processes(2, 10) as opened:
        assert opened == 2
        pids = {workers.run(os.getpid) for _ in range(4)}
        mine = {p for p in multiprocessing.active_children() if p.pid in pids} - earlier
    assert workers.run(os.getpid) == os.getpid()  # closed with the block
    for process in mine:
        # The pool's own thread reaps its processes too: a `join` that loses that race finds
        # no child to wait for and returns early, so wait for the exit code to be known.
        deadline = time.monotonic() + 30
        while process.exitcode is None and time.monotonic() < deadline:
            process.join(0.1)
        assert process.exitcode == 0  # ended on its own, not killed


def test_jobs_run_in_worker_processes_and_errors_come_back_whole() -> None:
    with workers.worker_processes(2, 10) as opened:
        assert opened == 2
        pids = {workers.run(os.getpid) for _ in range(4)}
        assert os.getpid() not in pids and 1 <= len(pids) <= 2
        # an OSError keeps its errno and file across the process boundary (`errno_of` reads
        # them to name a full or read-only disk)
        with pytest.raises(FileNotFoundError) as caught:
            workers.run(os.stat, "/no/such/file")
        assert caught.value.errno == errno.ENOENT and caught.value.filename == "/no/such/file"
    assert workers.run(os.getpid) == os.getpid()  # closed with the block


def test_a_worker_that_dies_is_a_clear_error() -> None:
    with (
        pytest.raises(WorkerError, match="worker process died while running _exit"),
        workers.worker_processes(2, 2),
    ):
        workers.run(os._exit, 3)


def test_claims_job_in_a_worker_equals_the_job_here(tmp_path: Path) -> None:
    articles = pl.DataFrame(
        {
            "doc_id": ["a", "b"],
            "clean_text": [
                "Police said 3,000 people marched through the city on Sunday.",
                "The ministry said about 120 schools would close next week.",
            ],
        }
    )
    src = tmp_path / "in.parquet"
    articles.write_parquet(src)
    here = pl.read_parquet(claims_job(str(src), str(tmp_path / "here"), "rules-v1", "r1"))
    with workers.worker_processes(2, 2):
        path = workers.run(claims_job, str(src), str(tmp_path / "there"), "rules-v1", "r1")
    there = pl.read_parquet(path)
    assert there.schema == CLAIMS and there.height == 2
    assert there.equals(here)


def test_process_workers_follow_the_runner() -> None:
    assert process_workers(RunnerConfig(worker_processes=3)) == 3
    assert process_workers(RunnerConfig()) == len(os.sched_getaffinity(0))
    assert process_workers(RunnerConfig(kind="processes", worker_processes=3)) == 0
    with pytest.raises(Exception, match="worker_processes must be >= 0"):
        settings_from_dict({"runner": {"worker_processes": -1}})


def test_workers_do_not_run_the_parents_main_script_again(tmp_path: Path) -> None:
    # multiprocessing's spawn runs the parent's script again in each child (as __mp_main__):
    # a user's script without an `if __name__ == "__main__":` guard would run once per worker
    marks = tmp_path / "marks.txt"
    script = tmp_path / "no_guard.py"
    script.write_text(
        "import os\n"
        "from flows.io import workers\n"
        f"with open({str(marks)!r}, 'a') as f:\n"
        "    f.write('ran\\n')\n"
        "with workers.worker_processes(2, 2):\n"
        "    pids = {workers.run(os.getpid) for _ in range(4)}\n"
        "assert os.getpid() not in pids\n",
        "utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert marks.read_text("utf-8") == "ran\n"


def test_a_standing_worker_runs_jobs_here_until_started() -> None:
    with workers.StandingWorker() as worker:
        assert not worker.started and worker.run(os.getpid) == os.getpid()
        worker.start()
        worker.start()  # once
        assert worker.started
        first = worker.run(os.getpid)
        assert first != os.getpid() and worker.run(os.getpid) == first  # one process
    assert not worker.started and worker.run(os.getpid) == os.getpid()


def test_a_standing_worker_runs_a_submitted_job_while_the_caller_goes_on(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    with workers.StandingWorker() as worker:
        # not started: the job runs here, at once, and its future is done
        here = worker.submit(os.getpid)
        assert here.done() and here.result() == os.getpid()
        failed = worker.submit(os.stat, str(gate))
        assert failed.done() and isinstance(failed.exception(), FileNotFoundError)
        worker.start()
        # the job waits in the worker for a file the caller writes after submitting it
        waiting = worker.submit(
            subprocess.run, [sys.executable, "-c", WAIT_FOR, str(gate)], timeout=60, check=True
        )
        assert not waiting.done()
        gate.write_text("go", "utf-8")
        assert waiting.result(timeout=60).returncode == 0
        died = worker.submit(os._exit, 3)
        with pytest.raises(WorkerError, match="worker process died while running _exit"):
            died.result(timeout=60)


# A job that ends when the file named by its argument appears (the test's gate).
WAIT_FOR = "import os, sys, time\nwhile not os.path.exists(sys.argv[1]):\n    time.sleep(0.02)\n"


def test_a_stage_inside_an_open_pool_uses_it() -> None:
    # the flow opens the claims pool before the dedup stage; the claims stage's own block
    # then opens nothing and its jobs go to those processes
    with workers.worker_processes(2, 10) as outer:
        first = {workers.run(os.getpid) for _ in range(4)}
        with workers.worker_processes(2, 1) as inner:  # one shard: alone it opens none
            assert inner == outer == 2
            again = {workers.run(os.getpid) for _ in range(4)}
        assert os.getpid() not in again and os.getpid() not in first
        assert workers.run(os.getpid) != os.getpid()  # the outer pool is still open


def test_a_pool_started_ahead_is_taken_by_the_stage_of_its_module() -> None:
    # `newsdq run` starts the ingest workers before it imports Prefect; the ingest stage's
    # block takes those processes instead of starting its own
    import multiprocessing

    earlier = set(multiprocessing.active_children())  # the pools above end in the background
    with workers.started_ahead(2, "flows.io.workers"):
        ahead = set(multiprocessing.active_children()) - earlier
        assert len(ahead) == 2
        with workers.worker_processes(2, 10, workers.ready) as opened:
            assert opened == 2
            pids = {workers.run(os.getpid) for _ in range(6)}
            assert pids <= {p.pid for p in ahead}  # no process of its own
        assert workers.run(os.getpid) == os.getpid()  # stopped with the stage
        assert not workers._AHEAD  # taken once
        with workers.worker_processes(2, 10, workers.ready):  # a later stage starts its own
            assert not {workers.run(os.getpid) for _ in range(2)} & {p.pid for p in ahead}


def test_a_pool_started_ahead_and_not_taken_is_stopped() -> None:
    import multiprocessing

    with workers.started_ahead(2, "flows.io.workers"):
        with workers.worker_processes(2, 1, workers.ready) as opened:  # one shard: no pool
            assert opened == 0
        with workers.started_ahead(2, "polars"):
            pass  # no stage of that module
    for process in multiprocessing.active_children():
        process.join(10)
    assert not multiprocessing.active_children()
    with workers.started_ahead(1, "flows.io.workers"):  # fewer than two: nothing started
        assert not workers._AHEAD


def test_estimated_shards_stops_at_most(tmp_path: Path) -> None:
    from flows.io.ingest import estimated_shards

    (tmp_path / ".hidden").write_bytes(b"x" * 5000)
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "c.csv").write_bytes(b"x" * 5000)  # not an input: not counted
    (tmp_path / "a").mkdir()
    for i in range(5):
        (tmp_path / "a" / f"{i}.txt").write_bytes(b"x" * 1000)
    (tmp_path / "link").symlink_to(tmp_path / "a")  # not entered, as the listing does not
    assert estimated_shards(tmp_path, 10_000, 100, 8) == 1
    assert estimated_shards(tmp_path, 2_000, 100, 8) == 3  # 5,000 bytes
    assert estimated_shards(tmp_path, 10_000, 2, 8) == 3  # 5 files
    assert estimated_shards(tmp_path, 100, 100, 2) == 2  # stops at `most`
    assert estimated_shards(tmp_path / "missing", 100, 100, 2) == 0


def test_the_cli_starts_the_ingest_workers_that_the_ingest_stage_takes(tmp_path: Path) -> None:
    from flows.cli import _ingest_workers_ahead
    from flows.runners import IngestPlan, ingest_workers

    for i in range(4):
        (tmp_path / f"{i}.txt").write_text("words " * 100, "utf-8")
    settings = settings_from_dict({"runner": {"shard_bytes": 1000, "worker_processes": 2}})
    with _ingest_workers_ahead(str(tmp_path), settings):
        assert len(workers._AHEAD) == 1
        plan = IngestPlan(str(tmp_path), [["0.txt", "1.txt"], ["2.txt", "3.txt"]])
        with ingest_workers(settings, plan) as opened:
            assert opened == 2 and not workers._AHEAD  # taken, not started again
    small = settings_from_dict({"runner": {"worker_processes": 2}})  # one shard of 2.4 kB
    with _ingest_workers_ahead(str(tmp_path), small):
        assert not workers._AHEAD


def test_finish_waits_for_threads_runs_exit_handlers_and_flushes(tmp_path: Path) -> None:
    """`flows.cli.finish` ends the process as a normal exit does, minus the teardown."""
    script = f"""
import atexit, sys, threading, time
from pathlib import Path
from flows.cli import finish
out = Path({str(tmp_path)!r})
def late() -> None:
    time.sleep(0.3)
    (out / "thread").write_text("joined")
threading.Thread(target=late).start()  # not a daemon: a normal exit waits for it
atexit.register(lambda: (out / "atexit").write_text("ran"))
sys.stdout.write("buffered line")  # a pipe: block-buffered until flushed
finish(7)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 7, done.stderr
    assert done.stdout == "buffered line"
    assert (tmp_path / "thread").read_text() == "joined"
    assert (tmp_path / "atexit").read_text() == "ran"


@pytest.mark.skipif(sys.platform != "linux", reason="a thread's own nice value is Linux's")
def test_the_checkpoint_worker_imports_great_expectations_at_the_lowest_priority() -> None:
    # in a fresh interpreter, where nothing imported it yet
    code = (
        "import os, sys, time\n"
        "import threading\n"
        "from flows.io.workers import checkpoint_ready\n"
        "checkpoint_ready()\n"
        "thread = next(t for t in threading.enumerate() if t.name == 'newsdq-gx-import')\n"
        "niceness = []\n"
        "for _ in range(400):\n"
        "    try:\n"
        "        niceness.append(os.getpriority(os.PRIO_PROCESS, thread.native_id))\n"
        "    except OSError:\n"
        "        break\n"
        "    if niceness[-1] == 19 or not thread.is_alive():\n"
        "        break\n"
        "    time.sleep(0.005)\n"
        "mine = os.getpriority(os.PRIO_PROCESS, 0)\n"
        "thread.join(120)\n"
        "print(niceness[-1], mine, 'great_expectations.expectations' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    niceness, mine, imported = done.stdout.split()
    assert (int(niceness), imported) == (19, "True")
    assert int(mine) == os.getpriority(os.PRIO_PROCESS, 0)  # the caller's own is unchanged
