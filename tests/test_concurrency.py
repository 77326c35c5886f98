"""Two `newsdq run` processes on one output: one publishes, the other is refused cleanly.

The lock itself is unit-tested in tests/test_store.py (in one process); these tests go through
the real command, a real Prefect server and real processes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from flows.core.errors import OutputLockedError
from flows.io.store import COMMITTED, output_lock
from tests.conftest import ROOT, SAMPLE_INBOX, CliResult

pytestmark = pytest.mark.e2e

LOCKED_MESSAGE = "another newsdq run is publishing to"


def _command(inbox: Path, out: Path) -> list[str]:
    # the same executable the `newsdq` fixture runs
    exe = shutil.which("newsdq", path=str(Path(sys.executable).parent)) or "newsdq"
    return [exe, "run", "--inbox", str(inbox), "--out", str(out)]


def _env(prefect_api_url: str, home: Path) -> dict[str, str]:
    # the same environment the `newsdq` fixture gives its runs
    return {
        **os.environ,
        "PREFECT_API_URL": prefect_api_url,
        "PREFECT_HOME": str(home),
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }


def _last_line(stderr: str) -> str:
    return stderr.rstrip("\n").rsplit("\n", 1)[-1]


def _check_committed(out: Path) -> str | None:
    """Assert that `_current`, when present, is a committed snapshot of whole runs."""
    try:
        snapshot = (out / "_current").resolve(strict=True)
    except (FileNotFoundError, RuntimeError):
        return None  # no run committed yet
    assert (snapshot / COMMITTED).is_file(), snapshot
    manifest = json.loads((snapshot / "manifest.json").read_text("utf-8"))
    for run in manifest["runs"]:
        for name, info in run["tables"].items():
            assert (snapshot / info["path"]).is_file(), (run["run_id"], name)
        assert (snapshot / "runs" / run["run_id"] / "summary.json").is_file()
    return snapshot.name


@pytest.fixture(scope="module")
def refused(newsdq, tmp_path_factory: pytest.TempPathFactory) -> tuple[CliResult, Path]:
    """A run on an output whose lock this test process holds (flock is per open file)."""
    out = tmp_path_factory.mktemp("locked") / "out"
    with output_lock(out):
        return newsdq("run", "--inbox", str(SAMPLE_INBOX), "--out", str(out)), out


def test_a_run_on_a_locked_output_exits_5_and_writes_nothing(refused) -> None:
    result, out = refused
    assert result.code == OutputLockedError.exit_code == 5
    assert result.stdout == ""
    assert _last_line(result.stderr).startswith(f"newsdq: error: {LOCKED_MESSAGE}"), result.stderr
    assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing staged, nothing linked


# The README promises errors as one line on stderr: the CLI takes the lock before the flow
# starts (the flow takes it again, re-entrantly), so Prefect logs no failed flow run first.
def test_a_locked_output_is_reported_in_one_line(refused) -> None:
    result, _ = refused
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr


def test_two_runs_started_at_once_publish_exactly_once(
    newsdq, prefect_api_url: str, sample_inbox: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    env = _env(prefect_api_url, tmp_path / "prefect-home")
    procs = [
        subprocess.Popen(
            _command(sample_inbox, out),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    # While they run, a reader must only ever see a committed snapshot (or none yet).
    seen: set[str | None] = set()
    deadline = time.monotonic() + 300
    while any(p.poll() is None for p in procs):
        assert time.monotonic() < deadline, "runs did not finish"
        seen.add(_check_committed(out))
        time.sleep(0.02)
    results = [(p.returncode, *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 5]), results

    winners = [stdout for code, stdout, _ in results if code == 0]
    published = []
    for stdout in winners:
        run_id = stdout.split("run ", 1)[1].split(":", 1)[0]
        summary = json.loads((out / "runs" / run_id / "summary.json").read_text("utf-8"))
        published.append((run_id, summary["counts"]))
    if codes == [0, 5]:
        # the loser says why in one line and leaves no trace
        loser = next(stderr for code, _, stderr in results if code == 5)
        assert _last_line(loser).startswith(f"newsdq: error: {LOCKED_MESSAGE}"), loser
    else:
        # both ran one after the other: the later one found everything already ingested
        assert sorted(c["ingested"] for _, c in published)[0] == 0, published

    writers = [(run_id, c) for run_id, c in published if c["ingested"] > 0]
    assert len(writers) == 1, published
    run_id, counts = writers[0]
    final = _check_committed(out)
    assert final is not None and final.endswith(run_id)
    assert seen <= {None, final}  # never a half-written or other snapshot
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    with_rows = [r["run_id"] for r in manifest["runs"] if r["tables"]["documents"]["rows"] > 0]
    assert with_rows == [run_id]
    documents = pl.read_parquet(f"{out}/documents/**/*.parquet")
    assert documents["run_id"].unique().to_list() == [run_id]
    assert documents.height == counts["published"] + counts["duplicates"]
    # nothing published twice (documents keeps exact copies, so count source records there)
    assert documents["source_uri"].is_unique().all()
    assert pl.read_parquet(f"{out}/articles/**/*.parquet")["doc_id"].is_unique().all()
    assert not list(out.glob("_staging/*")) and not list(out.glob("_current.*.tmp"))
