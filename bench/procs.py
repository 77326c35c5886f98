"""Process helpers shared by the benchmark scripts: peak memory, a Prefect server for children.

Standard library only (flows is imported when a server is started), so that importing it does
not add to the memory a child measures.
"""

from __future__ import annotations

import contextlib
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


class TreePeak:
    """Sample the summed RSS of this process and its descendants (worker processes) in a thread.

    `peak_mb` is the largest sum seen, every `every` seconds; a worker's memory counts while
    it lives. Sampling can miss a spike between two samples: report it with `peak_rss_mb`,
    which cannot (for this process alone).
    """

    def __init__(self, every: float = 0.1) -> None:
        import threading

        self.every = every
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(self.every):
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # ended since it was listed
                    total += proc.memory_info().rss
            self.peak_mb = max(self.peak_mb, total / 2**20)


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
