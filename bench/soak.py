"""Soak benchmark: many scheduled-style runs into one output; time and memory must stay flat.

Usage::

    .venv/bin/python bench/soak.py [--runs 50] [--docs 2000] [--quick]

Starts one Prefect server (a temporary PREFECT_HOME), then runs `newsdq run` N times, each as
its own process as a process worker would, on one inbox that gains a new JSON-lines batch of
`--docs` documents before every run (Reuters-21578 bodies from ../shared, edited and mixed by
the seeded generator of bench/minhash_speed.py, so some are near-copies of earlier batches).
It prints per run: the history size, wall time, the run process's peak RSS (VmHWM) and the
outcome counts; then the mean of the last five runs over the first five, for time and memory,
both measured in this run. Without ../shared/corpora/reuters21578 it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from procs import start_server  # noqa: E402


def child(argv: list[str]) -> int:
    """Run the CLI in this process, then print its peak RSS (VmHWM, kB) as the last line."""
    from flows.cli import main

    code = main(argv)
    peak = next(
        line.split()[1]
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM")
    )
    print(f"PEAK_KB {peak}", flush=True)
    return code


def write_batch(folder: Path, k: int, texts: list[str]) -> Path:
    """Write batch k as a JSON-lines file in folder (all dated one day, the worst case)."""
    folder.mkdir(exist_ok=True)
    path = folder / f"batch-{k:03d}.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for n, text in enumerate(texts):
            f.write(
                json.dumps({"title": f"Batch {k} item {n}", "text": text, "date": "2025-03-01"})
            )
            f.write("\n")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="6 runs of 300 documents")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.docs = 6, 300
    import minhash_speed as ms

    if not ms.REUTERS.is_dir():
        print(f"soak: {ms.REUTERS} not found; nothing measured")
        return 0

    bodies = ms.reuters_bodies(ms.REUTERS)
    # one batch more than the runs use: the next run's, for bench/stage_memory.py (prefix-stable)
    texts, _ = ms.synthesize(bodies, (args.runs + 1) * args.docs)
    work = Path(tempfile.mkdtemp(prefix="newsdq-soak-"))
    inbox, out = work / "inbox", work / "out"
    inbox.mkdir()
    server, env = start_server(work, timeout=120)
    rows = []
    try:
        print(f"soak: {args.runs} runs x {args.docs} new documents into {out}")
        print(f"{'run':>4} {'history':>8} {'seconds':>8} {'peak MB':>8}  outcome")
        for k in range(args.runs):
            write_batch(inbox, k, texts[k * args.docs : (k + 1) * args.docs])
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, __file__, "--child", "run", "--inbox", str(inbox), "--out",
                 str(out)],
                env=env, capture_output=True, text=True,
            )  # fmt: skip
            seconds = time.perf_counter() - started
            if done.returncode != 0:
                print(done.stdout[-2000:], done.stderr[-2000:])
                return 1
            peak_mb = int(done.stdout.strip().splitlines()[-1].split()[1]) / 1024
            outcome = next(line for line in done.stdout.splitlines() if line.startswith("run "))
            rows.append((k, k * args.docs, seconds, peak_mb))
            print(f"{k:>4} {k * args.docs:>8,} {seconds:>8.1f} {peak_mb:>8.0f}  {outcome[27:]}")
    finally:
        server.terminate()
        server.wait(30)
    extra = write_batch(work / "next", args.runs, texts[args.runs * args.docs :])
    print(
        f"\nhistory left in {out}; where the next run's memory goes:\n"
        f"  .venv/bin/python bench/stage_memory.py --out {out} --inbox {inbox} --add {extra}"
    )
    head, tail = rows[:5], rows[-5:]
    t_ratio = statistics.mean(r[2] for r in tail) / statistics.mean(r[2] for r in head)
    m_ratio = statistics.mean(r[3] for r in tail) / statistics.mean(r[3] for r in head)
    # medians too: one run slowed by the machine moves a mean of five by several percent
    t_median = statistics.median(r[2] for r in tail) / statistics.median(r[2] for r in head)
    print(
        f"\nlast 5 / first 5 runs: time {t_ratio:.2f}x, peak memory {m_ratio:.2f}x "
        f"(history grew from 0 to {rows[-1][1]:,} documents); flat means close to 1.00; "
        f"time by medians {t_median:.2f}x"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.exit(child(sys.argv[2:]))
    sys.exit(main())
