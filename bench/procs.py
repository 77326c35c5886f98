"""Process helpers shared by the benchmark scripts: peak memory, a Prefect server for children.

Standard library only (flows is imported when a server is started), so that importing it does
not add to the memory a child measures.
"""

from __future__ import annotations

import os
import resource
import subprocess
from pathlib import Path


def peak_rss_mb() -> float:
    """Return this process's RSS high-water mark (VmHWM).

    Not `ru_maxrss`: Linux carries the parent's high-water mark over fork + exec into it, so
    a child started by a parent holding the corpus would report at least the parent's RSS.
    VmHWM belongs to the child's own address space. `ru_maxrss` (KiB) is the fallback.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def start_server(
    work: Path, timeout: float = 180
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """Start a Prefect server (PREFECT_HOME under `work`); return it and the children's env.

    The env has PREFECT_API_URL set once the server answers; a server that does not within
    `timeout` seconds is stopped and the error raised.
    """
    from flows.serve import _prefect, _wait_healthy

    env = {
        **os.environ,
        "PREFECT_HOME": str(work / "prefect"),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    port = 4300 + os.getpid() % 500
    api = f"http://127.0.0.1:{port}/api"
    server = subprocess.Popen(
        [*_prefect(), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(api, server, timeout=timeout)
    except BaseException:
        server.terminate()
        server.wait(30)
        raise
    env["PREFECT_API_URL"] = api
    return server, env
