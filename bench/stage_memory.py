"""Where a run's memory goes: peak RSS of each stage and history reader of one flow run.

Usage::

    .venv/bin/python bench/stage_memory.py --out OUT --inbox INBOX [--add FILE ...]

Copies the output folder OUT (a published history, e.g. the one `bench/soak.py` leaves) and the
inbox to a temporary folder, adds the `--add` files to the inbox copy, and runs `newsdq run` once
in this process with the flow's stages and history readers wrapped: for each call it prints the
RSS on entry, the peak RSS during the call (VmHWM, reset on entry through
/proc/self/clear_refs) and the RSS on exit, in MB, nested calls indented. Run it against an empty
`--out` too (a folder that does not exist yet) to see what history adds. Polars frees memory
back to the system lazily; `_RJEM_MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0` in the
environment makes it do so at once, so that the peaks count live memory only. Linux only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# module -> functions to wrap (looked up there at call time)
WRAPPED = {
    "flows.runners": ["ingest", "signatures", "claims"],
    "flows.endings": ["write_run_files", "publish"],
    # the passages set aside on disk between the boilerplate stage and publishing
    "flows.curate": ["spill"],
    "flows.tasks": [
        "read_history", "external_claims", "normalise", "boilerplate", "dedup", "validate",
        "summarise", "index_tables", "history_articles", "history_timeline",
    ],
    # the validate stage's checkpoint and timeline
    "checks.validate": ["run_checkpoint", "claim_timeline"],
    # the boilerplate and dedup stages' steps and their history readers
    "flows.core.boilerplate": [
        "sign_passages", "_earlier_links", "history_links", "grouped_passages",
        "find_boilerplate",
    ],
    "flows.core.dedup_stage": ["deduplicate", "find_containers"],
    "flows.io.index": ["known_boilerplate", "passage_history", "rebuild_index", "match_history"],
}  # fmt: skip


def _status() -> tuple[int, int]:
    """Return (VmHWM, VmRSS) of this process in MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmHWM"].split()[0]) // 1024, int(fields["VmRSS"].split()[0]) // 1024


class Probe:
    """Wrap functions to record their peak RSS; nested peaks carry up to their callers."""

    def __init__(self) -> None:
        self.rows: list[str] = []
        self.stack: list[int] = []

    def wrap(self, module: Any, name: str) -> None:
        inner: Callable[..., Any] = getattr(module, name)

        def measured(*args: Any, **kwargs: Any) -> Any:
            hwm, rss_in = _status()
            if self.stack:  # the caller's peak so far, before the reset below hides it
                self.stack[-1] = max(self.stack[-1], hwm)
            Path("/proc/self/clear_refs").write_text("5")
            self.stack.append(0)
            index = len(self.rows)
            self.rows.append("")
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                seconds = time.perf_counter() - started
                hwm, rss_out = _status()
                peak = max(hwm, self.stack.pop())
                if self.stack:
                    self.stack[-1] = max(self.stack[-1], peak)
                self.rows[index] = (
                    f"{'  ' * len(self.stack)}{name:<{24 - 2 * len(self.stack)}} {rss_in:>6} "
                    f"{peak:>6} {peak - rss_in:>+6} {rss_out:>6} {seconds:>7.2f}"
                )

        setattr(module, name, measured)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--add", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    if not Path("/proc/self/clear_refs").exists():
        print("stage_memory: needs Linux /proc; nothing measured")
        return 0
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    import importlib

    from flows.cli import main as cli

    probe = Probe()
    for module_name, names in WRAPPED.items():
        module = importlib.import_module(module_name)
        for name in names:
            probe.wrap(module, name)
    with tempfile.TemporaryDirectory(prefix="newsdq-stage-memory-") as tmp:
        out, inbox = Path(tmp) / "out", Path(tmp) / "inbox"
        if args.out.exists():
            shutil.copytree(args.out, out, symlinks=True)
        shutil.copytree(args.inbox, inbox)
        for extra in args.add:
            shutil.copy(extra, inbox / extra.name)
        started = _status()
        code = cli(["run", "--inbox", str(inbox), "--out", str(out)])
    print(f"\nRSS before the run: {started[1]} MB; exit code {code}; MB:")
    print(f"{'call':<24} {'in':>6} {'peak':>6} {'+peak':>6} {'out':>6} {'seconds':>7}")
    print("\n".join(probe.rows))
    stages = [row for row in probe.rows if not row.startswith(" ")]
    print(f"run peak (largest stage peak): {max(int(row.split()[2]) for row in stages)} MB")
    return code


if __name__ == "__main__":
    sys.exit(main())
