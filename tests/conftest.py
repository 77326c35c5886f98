"""Shared fixtures: one Prefect test server per session, and a CLI runner that uses it.

`make test` runs the suite on two pytest-xdist workers (`-n 2`): each worker is a session of
its own, with its own Prefect test server and temporary folders. The hooks at the end keep
the tests of a module with a module-scoped fixture on one worker (computed once), hand the
end-to-end tests out first, and compile the numba kernels once for all workers and CLI runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# --- running on pytest-xdist workers ---------------------------------------------------------

# What the controller runs before the workers need it: the project's bytecode (CLI runs import
# flows/ afresh, and PYTHONDONTWRITEBYTECODE may be set) and the numba kernels, compiled once
# into their cache (flows/core/__pycache__, cold on a fresh checkout; `cache=True` in
# flows/core/kernel.py) with each signature a run uses, instead of once in each worker.
_WARM_UP = """
import compileall, numpy as np, polars as pl
compileall.compile_dir("flows", quiet=1)
compileall.compile_dir("checks", quiet=1)
from flows.core import kernel, minhash
from flows.core.settings import MinHashConfig
texts = pl.Series(["The ferry to Ostrel resumed on Monday after a week of storms."] * 2)
minhash.fast_signatures(texts, MinHashConfig(), kind="word")
matrix = minhash.fast_signatures(texts, MinHashConfig(), kind="char")
pair = np.array([0], dtype=np.int64), np.array([1], dtype=np.int64)
kernel.pair_agreement(np.ascontiguousarray(matrix, dtype=np.uint32), *pair)
matrix.flags.writeable = False
kernel.pair_agreement(matrix, *pair)
"""

# A module-scoped fixture is computed once per worker that runs a test of its module: such
# modules go to one worker whole (the controller does not collect, so it reads the source).
_MODULE_FIXTURE = re.compile(r"""scope\s*=\s*["'](module|package|class)["']""")


def _grouped_modules() -> set[str]:
    tests = Path(__file__).parent
    return {
        f"{tests.name}/{path.name}"
        for path in tests.glob("test_*.py")
        if _MODULE_FIXTURE.search(path.read_text("utf-8"))
    }


def _distributed(config: pytest.Config) -> bool:
    """Whether this process is the controller of xdist workers."""
    return bool(getattr(config.option, "numprocesses", 0)) and not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if _distributed(config):
        # in the background: the workers start and collect meanwhile
        config._newsdq_warm_up = subprocess.Popen(  # type: ignore[attr-defined]
            [sys.executable, "-c", _WARM_UP], cwd=ROOT, stdout=subprocess.DEVNULL
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    warm_up = getattr(config, "_newsdq_warm_up", None)
    if warm_up is not None and warm_up.poll() is None:
        warm_up.kill()
        warm_up.wait()


@pytest.hookimpl(optionalhook=True)  # an xdist hook: unknown under -p no:xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With `-n` and the default `--dist load`: one test at a time, a grouped module at once.

    (xdist's own `loadgroup` cannot mark tests under pytest 9.2: it rewrites a private
    attribute that pytest no longer reads.)
    """
    if config.getvalue("dist") != "load":
        return None  # another --dist is xdist's (an explicit --dist load is ours too)
    from xdist.scheduler import LoadScopeScheduling

    grouped = _grouped_modules()

    class ModuleFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in grouped else nodeid

    return ModuleFixtureScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):
        # The end-to-end tests take most of the time: handed out first (after the grouped
        # modules, the largest units), they do not leave one worker busy at the end while the
        # other idles. A stable sort; every worker sorts the same collection the same way.
        items.sort(key=lambda item: item.get_closest_marker("e2e") is None)
