"""Shared fixtures: one Prefect test server per session, and a CLI runner that uses it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_INBOX = ROOT / "data" / "inbox"
SHARED = ROOT.parent / "shared"

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# A broken pipeline invariant (checks/models.py INVARIANTS) fails every run of the suite, CLI
# subprocesses included, instead of being repaired and counted as in production.
os.environ.setdefault("NEWSDQ_INVARIANTS", "raise")


@pytest.fixture(scope="session")
def prefect_api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start one real Prefect server for the session; yield its API URL."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield str(PREFECT_API_URL.value())


@dataclass
class CliResult:
    """Exit code and output of one `newsdq` invocation."""

    code: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def newsdq(prefect_api_url: str, tmp_path_factory: pytest.TempPathFactory):
    """Return a function that runs the real `newsdq` command against the session server."""
    home = tmp_path_factory.mktemp("cli-home")

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> CliResult:
        full_env = {
            **os.environ,
            "PREFECT_API_URL": prefect_api_url,
            "PREFECT_HOME": str(home),
            "PREFECT_LOGGING_LEVEL": "WARNING",
            **(env or {}),
        }
        exe = shutil.which("newsdq", path=str(Path(sys.executable).parent)) or "newsdq"
        proc = subprocess.run(
            [exe, *args], capture_output=True, text=True, env=full_env, timeout=timeout, cwd=ROOT
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def sample_inbox(tmp_path: Path) -> Path:
    """Return a private copy of the sample inbox."""
    dest = tmp_path / "inbox"
    shutil.copytree(SAMPLE_INBOX, dest)
    return dest


def require_shared(*parts: str) -> Path:
    """Return a path under ../shared, or skip the test with a clear message when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: shared corpora are only on developer and CI machines")
    return path
