"""Speed of claim extraction: documents/s of `extract_claims` against a baseline commit's.

Usage::

    .venv/bin/python bench/claims_speed.py [--baseline REV] [--stories N] [--rounds R] [--quick]

The baseline is `flows/core/claims` as it was at `--baseline` (default 5174611, the last commit
before the second speed-up; 09d3b66 is the one before the first), either the module
`claims.py` or the package `claims/`: `flows/core` at that revision is extracted with `git
archive` into a temporary folder and imported from there, so both versions run in this process
on the same frames. Each round times the baseline and the current code once on every corpus, in
turns; the rates and CPU seconds (`time.process_time`, all threads) printed are the median
rounds, and the ratios are baseline time over current time. The script also checks that both
give the same claims frame, row for row, and exits 1 when they do not.

Corpora (each skipped with a message when its folder of ../shared is missing):

1. `syndication`: the canonical articles of the pages of `bench/syndication_hard.py` (both
   splits, `--stories` Reuters-21578 stories each) after normalising, boilerplate removal and
   dedup (`claims_quality.canonical_docs`), i.e. what the flow's claims stage reads.
2. `bbc`: the 2,225 BBC News texts, normalised (`normalise_text`), one document each.

Timings depend on what else the machine is doing: the load average is printed at the start and
the end, and only ratios within one run mean much.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import polars as pl

from flows.core import claims
from flows.core.text import normalise_text

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
BBC = CORPORA / "bbc_news" / "bbc"
REUTERS = CORPORA / "reuters21578"
DEFAULT_BASELINE = "5174611"

Extract = Callable[[pl.DataFrame], pl.DataFrame]


def load_baseline(rev: str) -> ModuleType:
    """Import `flows.core.claims` as it was at git revision `rev`, module or package alike."""
    folder = Path(tempfile.mkdtemp(prefix="claims-baseline-"))
    archive = subprocess.run(
        ["git", "archive", rev, "flows/__init__.py", "flows/core"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    # The copy imports itself by absolute names (`flows.core.claims.units`, `flows.core.schema`),
    # so it is imported as `flows` with the current modules set aside, which come back after:
    # the copy's functions keep their own globals, and both versions share this process.
    current = {name: sys.modules.pop(name) for name in list(sys.modules) if _is_flows(name)}
    sys.path.insert(0, str(folder))
    try:
        importlib.invalidate_caches()
        module = importlib.import_module("flows.core.claims")
        if not Path(module.__file__ or "").is_relative_to(folder):
            raise RuntimeError(f"baseline {rev} was not imported from {folder}")
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if _is_flows(name)]:
            del sys.modules[name]
        sys.modules.update(current)
        importlib.invalidate_caches()
        shutil.rmtree(folder)  # the copy's modules are all imported by now
    return module


def _is_flows(name: str) -> bool:
    return name == "flows" or name.startswith("flows.")


def syndication_docs(stories: int) -> pl.DataFrame:
    """The canonical articles of the hard syndication pages, as the claims stage reads them."""
    sys.path.insert(0, str(ROOT / "bench"))
    from claims_quality import canonical_docs
    from syndication_hard import SPLITS, build

    pages = [copy for split in SPLITS for copy in build(split, stories)]
    raw = pl.DataFrame(
        {
            "source_uri": [c.uri for c in pages],
            "raw_text": [c.text for c in pages],
            "date_hint": [None] * len(pages),
            "title_hint": [None] * len(pages),
        },
        schema_overrides={"date_hint": pl.String, "title_hint": pl.String},
    )
    return canonical_docs(raw).select("doc_id", "clean_text")


def bbc_docs() -> pl.DataFrame:
    """The BBC News texts (UTF-8, latin-1 fallback), normalised, one document each."""
    texts = []
    files = sorted(BBC.glob("*/*.txt"))
    for path in files:
        data = path.read_bytes()
        try:
            texts.append(data.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(data.decode("latin-1"))
    frame = pl.DataFrame({"doc_id": [f"{p.parent.name}/{p.name}" for p in files], "text": texts})
    return frame.select("doc_id", normalise_text(pl.col("text")).alias("clean_text"))


def timed(extract: Extract, docs: pl.DataFrame) -> tuple[float, float, pl.DataFrame]:
    """Run `extract` on `docs`; return its wall and CPU seconds (all threads) and its output."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = extract(docs)
    return time.perf_counter() - wall, time.process_time() - cpu, out


def compare(name: str, docs: pl.DataFrame, baseline: Extract, rounds: int) -> bool:
    """Time both extractors on `docs` in turns; print their rates; return whether they agree."""
    before: list[tuple[float, float]] = []
    after: list[tuple[float, float]] = []
    same = True
    n_claims = 0
    for _ in range(rounds):
        wall, cpu, old = timed(baseline, docs)
        before.append((wall, cpu))
        wall, cpu, new = timed(claims.extract_claims, docs)
        after.append((wall, cpu))
        same = same and old.schema == new.schema and old.equals(new)
        n_claims = old.height
    old_wall, old_cpu = (statistics.median(t) for t in zip(*before, strict=True))
    new_wall, new_cpu = (statistics.median(t) for t in zip(*after, strict=True))
    print(
        f"{name:<12} {docs.height:>7,} docs {n_claims:>7,} claims  "
        f"baseline {docs.height / old_wall:>7,.0f} docs/s  now {docs.height / new_wall:>7,.0f} "
        f"docs/s  ratio {old_wall / new_wall:.2f}  "
        f"CPU s {old_cpu:.2f} -> {new_cpu:.2f} (ratio {old_cpu / new_cpu:.2f})  "
        f"same claims: {'yes' if same else 'NO'}"
    )
    return same


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git revision to compare")
    parser.add_argument("--stories", type=int, default=1000, help="syndication stories a split")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per version")
    parser.add_argument("--quick", action="store_true", help="300 stories, one round")
    args = parser.parse_args(argv)
    if args.quick:
        args.stories, args.rounds = 300, 1
    baseline_module = load_baseline(args.baseline)

    def baseline(docs: pl.DataFrame) -> pl.DataFrame:
        return baseline_module.extract_claims(docs)  # type: ignore[no-any-return]

    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at start")
    print(f"baseline {args.baseline}, {args.rounds} round(s), median rates")
    ok = True
    if REUTERS.is_dir():
        ok &= compare("syndication", syndication_docs(args.stories), baseline, args.rounds)
    else:
        print(f"syndication: skipped, {REUTERS} not found")
    if BBC.is_dir():
        ok &= compare("bbc", bbc_docs(), baseline, args.rounds)
    else:
        print(f"bbc: skipped, {BBC} not found")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at end")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
