"""`newsdq serve` end to end: a real Prefect server, prefect.yaml deployed, a run through a worker."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import ROOT, SAMPLE_INBOX

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(proc: subprocess.Popen[str], text: str, timeout: float) -> list[str]:
    """Read proc's stdout until a line contains `text`; fail on exit or timeout."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            lines.append(line)
            if text in line:
                return lines
        elif proc.poll() is not None:
            pytest.fail(f"newsdq serve exited {proc.returncode}: {lines} {proc.stderr.read()}")
        else:
            time.sleep(0.2)
    pytest.fail(f"newsdq serve not {text!r} after {timeout} s: {lines}")


async def _run_deployment(api: str, inbox: Path, out: Path) -> dict:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    async with PrefectClient(api=api) as client:
        manual = await client.read_deployment_by_name("curate-news/manual")
        hourly = await client.read_deployment_by_name("curate-news/hourly")
        backfill = await client.read_deployment_by_name("curate-news/backfill")
        run = await client.create_flow_run_from_deployment(
            manual.id, parameters={"inbox": str(inbox), "out": str(out)}
        )
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            run = await client.read_flow_run(run.id)
            if run.state is not None and run.state.is_final():
                break
            await asyncio.sleep(1)
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
        )
        scheduled = []
        for _ in range(60):  # the scheduler service fills the hourly schedule ahead
            scheduled = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[hourly.id])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])
                    )
                ),
            )
            if scheduled:
                break
            await asyncio.sleep(1)
        return {
            "state": run.state.type if run.state else None,
            "artifacts": {a.key for a in artifacts},
            "scheduled": [r.expected_start_time for r in scheduled],
            "backfill_schedules": backfill.schedules,
            "hourly_limit": hourly.global_concurrency_limit,
        }


def test_serve_deploys_prefect_yaml_runs_through_a_worker_and_stops(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE_INBOX, inbox)
    out = tmp_path / "out"
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    env.pop("PREFECT_API_URL", None)  # serve starts its own server
    exe = shutil.which("newsdq", path=str(Path(sys.executable).parent)) or "newsdq"
    proc = subprocess.Popen(
        [exe, "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _wait_for(proc, "ready", timeout=240)
        assert f"http://127.0.0.1:{port}" in "".join(lines)
        got = asyncio.run(_run_deployment(f"http://127.0.0.1:{port}/api", inbox, out))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0, proc.stderr.read() if proc.stderr else ""
    assert got["state"] is not None and got["state"].value == "COMPLETED"
    # keyed by deployment, so one deployment's runs can be compared with each other
    expected = {f"curate-news-manual-{k}" for k in ("summary", "counts", "stages")}
    assert expected <= got["artifacts"], got["artifacts"]
    articles = pl.read_parquet(out / "_current" / "articles")
    assert articles.height == 15
    # the hourly cron (UTC) is scheduled ahead; backfill has no schedule
    assert got["scheduled"] and all(t.minute == 0 and t.second == 0 for t in got["scheduled"])
    assert got["backfill_schedules"] == []
    assert got["hourly_limit"] is not None and got["hourly_limit"].limit == 1
    # the server is gone with serve: nothing listens on its port any more
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
