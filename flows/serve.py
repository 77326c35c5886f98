"""`newsdq serve`: a Prefect server, the work pool, the deployments and a worker on one machine.

Everything runs as child processes of this one, with a project-local `PREFECT_HOME` (SQLite
database under `.prefect/`) and analytics off; Ctrl-C (or SIGTERM) stops the worker, then the
server. With `--api-url` it uses an existing server instead of starting one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from flows.core.errors import ServeError

ROOT = Path(__file__).resolve().parents[1]
POOL = "newsdq"
_STOP_SECONDS = 20


def _prefect() -> list[str]:
    exe = Path(sys.executable).parent / "prefect"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "prefect"]


def _wait_healthy(api_url: str, server: subprocess.Popen[bytes] | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise ServeError(f"the Prefect server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise ServeError(f"the Prefect server at {api_url} did not answer within {timeout:.0f} s")


def _step(args: Sequence[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(list(args), env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise ServeError(f"{what} failed ({done.returncode}): {done.stderr.strip()[-800:]}")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Stop children in reverse order of start: SIGINT, then SIGTERM/SIGKILL if they linger."""
    for proc in reversed(processes):
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def serve(host: str = "127.0.0.1", port: int = 4200, api_url: str | None = None) -> int:
    """Start the stack, deploy `prefect.yaml`, and wait until interrupted; return an exit code."""
    env = dict(os.environ)
    env.setdefault("PREFECT_HOME", str(ROOT / ".prefect"))
    env["NEWSDQ_PROJECT_DIR"] = str(ROOT)
    processes: list[subprocess.Popen[bytes]] = []
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if api_url is None:
            api_url = f"http://{host}:{port}/api"
            server = subprocess.Popen(
                [*_prefect(), "server", "start", "--host", host, "--port", str(port)],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches it through us, in order
            )
            processes.append(server)
            _wait_healthy(api_url, server, timeout=120)
        else:
            _wait_healthy(api_url, None, timeout=30)
        env["PREFECT_API_URL"] = api_url
        _step(
            [*_prefect(), "work-pool", "create", POOL, "--type", "process", "--overwrite"],
            env,
            "creating the work pool",
        )
        _step([*_prefect(), "--no-prompt", "deploy", "--all"], env, "deploying prefect.yaml")
        worker = subprocess.Popen(
            [*_prefect(), "worker", "start", "--pool", POOL],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        processes.append(worker)
        ui = api_url.removesuffix("/api")
        print(f"newsdq serve: Prefect UI {ui}, work pool {POOL!r}, deployments of prefect.yaml")
        print("newsdq serve: ready (Ctrl-C stops the worker and the server)", flush=True)
        while not stopping:
            for proc in processes:
                if proc.poll() is not None:
                    raise ServeError(f"{proc.args[1:3]} exited with code {proc.returncode}")
            time.sleep(0.5)
        return 0
    finally:
        _stop(processes)
        for s, handler in previous.items():
            signal.signal(s, handler)
        print("newsdq serve: stopped", flush=True)
