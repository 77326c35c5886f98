"""MinHash near-duplicate benchmark on a scaled Reuters-21578 corpus.

Usage::

    .venv/bin/python bench/minhash_speed.py [--sizes 20000,100000,1000000] [--quick]

Every number printed is measured in this run, and every ratio is taken against a baseline
measured in this run too; the targets are printed next to them for information only. The
corpus (../shared/corpora/reuters21578) is read relative to the repository root; without it
the script prints why and exits 0.

Sections: (1) the synthetic corpus, (2) signature throughput of the compiled kernel against
datasketch's `update()` and `update_batch`, (3) banding, candidate pairs, verification and
clustering per corpus size (one subprocess per size, so peak RSS is per size), (4) datasketch
`MinHashLSH` against the columnar banding on one subsample, (5) one incremental run of new
documents against a published history index.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import html
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from procs import peak_rss_mb  # bench/, this script's folder

from flows.core.dedup import (
    dedup_banding,
    deduplicate,
    doc_bucket_keys,
    doc_buckets,
    doc_signatures,
    searchable,
    signature_dtype,
)
from flows.core.lsh import candidate_pairs
from flows.core.minhash import as_lean_minhash, fast_signatures, shingle, signatures, word_hashfunc
from flows.core.settings import DedupConfig, MinHashConfig, Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REUTERS = SHARED / "corpora" / "reuters21578"

MH = MinHashConfig()  # 128 permutations, word 5-grams, seed 1
DD = DedupConfig()  # threshold 0.7
MIN_WORDS = 50  # keep news-length bodies only
EDIT_RATE = 0.05  # share of word positions edited in each synthetic document
NEAR_COPY_SHARE = 0.10  # share of documents that are near-copies of an earlier one
NEAR_COPY_EDIT_RATE = 0.01  # a near-copy gets max(1, 1% of its words) edits
NEW_DOCS = 1000  # documents of the incremental run
RESULT = "RESULT "  # prefix of a child process's JSON line
MB = 1024 * 1024

# Targets (informational).
T_PER_CORE = 20_000  # docs/s per core
T_VS_UPDATE = 100.0
T_VS_BATCH = 10.0
T_1M_SECONDS = 60.0
T_1M_PEAK_GB = 4.0
T_INCREMENTAL_SECONDS = 10.0


# ---------------------------------------------------------------------------------------------
# Measurement helpers


def current_rss_mb() -> float:
    """Return this process's current RSS."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / MB


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """Return (seconds, result) of one call of fn(*args)."""
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def pin_threads(cpus: set[int]) -> None:
    """Set the CPU affinity of every thread of this process.

    Affinity is per thread on Linux (threads started later inherit their creator's).
    """
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            os.sched_setaffinity(int(tid), cpus)


def _cpu_idle() -> dict[int, tuple[int, int]]:
    """Return {cpu: (idle ticks, total ticks)} from /proc/stat."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            name, *ticks = line.split()
            if name.startswith("cpu") and name[3:].isdigit():
                values = [int(t) for t in ticks]
                out[int(name[3:])] = (values[3] + values[4], sum(values))
    return out


def idlest_cpu(cpus: list[int], seconds: float = 1.0) -> tuple[int, float]:
    """Return the CPU (of `cpus`) idle most over the next `seconds`, and its idle share."""
    try:
        before = _cpu_idle()
        time.sleep(seconds)
        after = _cpu_idle()
    except OSError:
        return cpus[0], float("nan")
    share = {}
    for c in cpus:
        if c in before and c in after:
            total = after[c][1] - before[c][1]
            share[c] = (after[c][0] - before[c][0]) / total if total else 0.0
    if not share:
        return cpus[0], float("nan")
    best = max(share, key=lambda c: share[c])
    return best, share[best]


def status(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print an aligned plain-text table."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = "  ".join("-" * w for w in widths)
    for k, r in enumerate(cells):
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if k == 0:
            print(line)
    print()


def fmt(x: float, digits: int = 2) -> str:
    return f"{x:,.{digits}f}"


# ---------------------------------------------------------------------------------------------
# 1. Corpus


def reuters_bodies(folder: Path) -> list[list[str]]:
    """Return the distinct `<BODY>` texts (as word lists) with at least MIN_WORDS words."""
    body = re.compile(r"<BODY>(.*?)</BODY>", re.DOTALL)
    seen: dict[str, None] = {}
    for path in sorted(folder.glob("reut2-*.sgm")):
        for raw in body.findall(path.read_text(encoding="latin-1")):
            text = html.unescape(raw)
            text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", text)  # the &#3; end marker
            text = re.sub(r"\s*\bReuter\s*$", "", text.strip(), flags=re.IGNORECASE)
            seen.setdefault(text, None)
    words = [t.split() for t in seen]
    return [w for w in words if len(w) >= MIN_WORDS]


def edit(words: list[str], k: int, rng: random.Random, vocab: list[str]) -> str:
    """Apply k word-level edits (drop, replace from vocab, or swap with the next word)."""
    out = list(words)
    n = len(out)
    for pos in sorted(rng.sample(range(n), min(k, n))):
        op = rng.randrange(3)
        if op == 0:
            out[pos] = ""
        elif op == 1:
            out[pos] = vocab[rng.randrange(len(vocab))]
        elif pos + 1 < n:
            out[pos], out[pos + 1] = out[pos + 1], out[pos]
    return " ".join(w for w in out if w)


def synthesize(bodies: list[list[str]], n: int) -> tuple[list[str], int]:
    """Return n synthetic documents (deterministic, prefix-stable) and the near-copy count."""
    rng = random.Random(0)
    vocab = sorted({w for b in bodies for w in b})
    texts: list[str] = []
    near = 0
    for i in range(n):
        if i and rng.random() < NEAR_COPY_SHARE:
            words = texts[rng.randrange(i)].split()
            texts.append(edit(words, max(1, round(NEAR_COPY_EDIT_RATE * len(words))), rng, vocab))
            near += 1
        else:
            words = bodies[rng.randrange(len(bodies))]
            texts.append(edit(words, max(1, round(EDIT_RATE * len(words))), rng, vocab))
    return texts, near


def docs_frame(texts: list[str], start: int = 0) -> pl.DataFrame:
    """Build a docs frame like tests/test_dedup.py `_docs` (dates spread over ~1 year)."""
    n = len(texts)
    idx = np.arange(start, start + n)
    day0 = dt.date(2024, 1, 1)
    return pl.DataFrame(
        {
            "doc_id": [f"d{i:08d}" for i in idx],
            "source_uri": [f"bench/{i:08d}.txt" for i in idx],
            "clean_text": texts,
            "published_date": pl.Series(
                [day0 + dt.timedelta(days=int(i) // 3000) for i in idx], dtype=pl.Date
            ),
            "boilerplate_ratio": np.zeros(n),
        }
    )


# ---------------------------------------------------------------------------------------------
# Child processes: one corpus size (section 3) and the incremental run (section 5)


def warm_kernel() -> float:
    """Load (or compile) the numba kernel; return the seconds it took."""
    seconds, _ = timed(lambda: fast_signatures(pl.Series(["a b c d e f", "g"]), MH))
    return seconds


def child_one_size(corpus: Path, n: int, publish: Path | None) -> dict[str, Any]:
    import numba

    kernel_load = warm_kernel()
    docs = pl.read_parquet(corpus, n_rows=n)
    rss_loaded = current_rss_mb()
    t_sig, sigs = timed(lambda: doc_signatures(docs, MH, DD.short_tokens))
    t_dedup, (documents, sig_frame, verified) = timed(
        lambda: deduplicate(docs, MH, DD, sig_frame=sigs)
    )
    peak_dedup = peak_rss_mb()

    out: dict[str, Any] = {
        "n": n,
        "numba_threads": numba.get_num_threads(),
        "polars_threads": pl.thread_pool_size(),
        "kernel_load_s": kernel_load,
        "rss_loaded_mb": rss_loaded,
        "signatures_s": t_sig,
        "deduplicate_s": t_dedup,
        "peak_dedup_mb": peak_dedup,
        # deduplicate() is given the signatures: its time is banding, candidate pairs,
        # verification, clustering and the canonical choice, the stages after signatures.
        "stages_total_s": t_dedup,
        "verified_pairs": verified.height,
        "duplicates": documents.filter(~pl.col("is_canonical")).height,
        "clusters_gt1": documents.filter(~pl.col("is_canonical"))["cluster_id"].n_unique(),
    }
    if publish is not None:
        from flows.io.store import Store
        from flows.tasks import index_tables

        def _publish() -> None:
            store = Store(publish)
            run_dir = store.staging_dir("history") / "run"
            run_dir.mkdir()
            passages = pl.DataFrame(  # no boilerplate variants: the index of documents only
                schema={
                    "text": pl.String,
                    "support": pl.Int64,
                    "known_support": pl.Int64,
                    "signature": signature_dtype(MH),
                    "signal": pl.String,
                }
            )
            tables = index_tables(documents, sig_frame, passages, Settings())
            store.publish("history", tables, run_dir)

        out["publish_s"], _ = timed(_publish)
    return out


def child_incremental(corpus: Path, history_n: int, store_root: Path) -> dict[str, Any]:
    from flows.io.index import match_history
    from flows.io.store import Store

    kernel_load = warm_kernel()
    new = pl.scan_parquet(corpus).slice(history_n, NEW_DOCS).collect()
    rss_loaded = current_rss_mb()
    store = Store(store_root)
    banding = dedup_banding(MH, DD)
    start = time.perf_counter()
    t_sig, sigs = timed(lambda: doc_signatures(new, MH, DD.short_tokens))
    t_match, match = timed(
        # asked as the dedup stage asks: with the distinct bucket keys
        lambda: match_history(
            store.current, banding, doc_bucket_keys(searchable(sigs, DD), banding), MH
        )
    )
    t_dedup, (documents, _, verified) = timed(
        lambda: deduplicate(new, MH, DD, match.documents, match.buckets, sigs)
    )
    total = time.perf_counter() - start
    new_ids = set(new["doc_id"].to_list())
    dups = documents.filter(~pl.col("is_canonical"))
    return {
        "history_n": history_n,
        "new_n": new.height,
        "kernel_load_s": kernel_load,
        "rss_loaded_mb": rss_loaded,
        "signatures_s": t_sig,
        "match_history_s": t_match,
        "deduplicate_s": t_dedup,
        "total_s": total,
        "peak_mb": peak_rss_mb(),
        "history_buckets": match.buckets.height,
        "history_docs_read": match.documents.height,
        "verified_pairs": verified.height,
        "dup_of_history": dups.filter(~pl.col("duplicate_of").is_in(list(new_ids))).height,
        "dup_within_run": dups.filter(pl.col("duplicate_of").is_in(list(new_ids))).height,
    }


def run_child(args: list[str]) -> dict[str, Any] | None:
    """Run this script with `args`; return its RESULT json, or None (stderr printed) on failure."""
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT) :])  # type: ignore[no-any-return]
    print(f"  child {' '.join(args)} failed (exit {proc.returncode}):")
    print("  " + (proc.stderr or proc.stdout).strip().replace("\n", "\n  "))
    return None


# ---------------------------------------------------------------------------------------------
# 2. Signatures


def update_loop(texts: list[str]) -> np.ndarray:
    """datasketch per-shingle `MinHash.update()`, one MinHash per document (text to signature)."""
    from datasketch import MinHash

    out = np.empty((len(texts), MH.num_perm), dtype=np.uint32)
    for i, shingles in enumerate(shingle(texts, MH)):
        m = MinHash(num_perm=MH.num_perm, seed=MH.seed, hashfunc=word_hashfunc)
        for sh in shingles:
            m.update(sh)
        out[i] = m.hashvalues
    return out


def bench_signatures(texts: list[str], n_update: int, n_batch: int, repeats: int) -> dict:
    """Time the kernel and datasketch's two paths, text to signature, on one core and on all.

    The one-core runs pin the whole process (numba and polars threads) to one CPU and
    interleave the three paths `repeats` times, so background load hits them alike; each
    rate is the median run.
    """
    import numba

    cpus = sorted(os.sched_getaffinity(0))
    series = pl.Series(texts, dtype=pl.String)
    warm_kernel()
    times: dict[str, list[float]] = {"fast": [], "update": [], "shingle": [], "hash": []}
    cpu, idle = idlest_cpu(cpus)
    pin_threads({cpu})
    try:
        numba.set_num_threads(1)
        for _ in range(repeats):
            times["fast"].append(timed(lambda: fast_signatures(series, MH))[0])
            t, upd = timed(lambda: update_loop(texts[:n_update]))
            times["update"].append(t)
            t, sets = timed(lambda: shingle(texts[:n_batch], MH))
            times["shingle"].append(t)
            t, batch = timed(signatures, sets, MH)
            times["hash"].append(t)
    finally:
        pin_threads(set(cpus))
    batch_times = [a + b for a, b in zip(times["shingle"], times["hash"], strict=True)]
    threads = min(2, numba.config.NUMBA_NUM_THREADS, len(cpus))
    numba.set_num_threads(threads)
    fast_n = [timed(lambda: fast_signatures(series, MH))[0] for _ in range(repeats)]
    fast = fast_signatures(series[: max(n_update, n_batch)], MH)
    return {
        "n_fast": len(texts),
        "fast_1": len(texts) / statistics.median(times["fast"]),
        "update": n_update / statistics.median(times["update"]),
        "batch": n_batch / statistics.median(batch_times),
        "batch_shingle_share": statistics.median(times["shingle"]) / statistics.median(batch_times),
        "threads": threads,
        "fast_n": len(texts) / statistics.median(fast_n),
        "same_update": int((fast[:n_update] == upd).all(axis=1).sum()),
        "same_batch": int((fast[:n_batch] == batch).all(axis=1).sum()),
        "cpu": cpu,
        "cpu_idle": idle,
    }


# ---------------------------------------------------------------------------------------------
# 4. MinHashLSH against the columnar banding


def bench_lsh(texts: list[str]) -> dict[str, Any]:
    from datasketch import MinHashLSH

    docs = docs_frame(texts)
    sigs = doc_signatures(docs, MH)
    matrix = sigs["signature"].to_numpy().reshape(sigs.height, -1)
    ids = sigs["doc_id"].to_list()
    banding = dedup_banding(MH, DD)
    t_wrap, lean = timed(lambda: [as_lean_minhash(row, MH.seed) for row in matrix])
    lsh = MinHashLSH(
        threshold=DD.threshold, num_perm=MH.num_perm, params=(banding.bands, banding.rows)
    )

    def insert() -> None:
        for key, m in zip(ids, lean, strict=True):
            lsh.insert(key, m)

    t_insert, _ = timed(insert)
    t_query, found = timed(lambda: [lsh.query(m) for m in lean])
    lsh_pairs = {
        (min(a, b), max(a, b)) for a, keys in zip(ids, found, strict=True) for b in keys if a != b
    }
    t_buckets, rows = timed(lambda: doc_buckets(sigs, banding))
    t_cand, pairs = timed(lambda: candidate_pairs(rows.lazy()).collect())
    col_pairs = set(zip(pairs["left"].to_list(), pairs["right"].to_list(), strict=True))
    # Memory of the index alone: a second, untimed build under tracemalloc (MinHashLSH is plain
    # Python dicts and bytes, which tracemalloc sees; LeanMinHash objects already exist).
    del lsh
    tracemalloc.start()
    lsh = MinHashLSH(
        threshold=DD.threshold, num_perm=MH.num_perm, params=(banding.bands, banding.rows)
    )
    insert()
    lsh_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {
        "n": len(ids),
        "banding": f"{banding.bands}x{banding.rows}",
        "wrap_s": t_wrap,
        "insert_s": t_insert,
        "query_s": t_query,
        "lsh_kb_per_doc": lsh_bytes / 1024 / len(ids),
        "columnar_s": t_buckets + t_cand,
        "lsh_pairs": len(lsh_pairs),
        "col_pairs": len(col_pairs),
        "common_pairs": len(lsh_pairs & col_pairs),
    }


# ---------------------------------------------------------------------------------------------
# Main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,100000,1000000")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20000 docs, small samples")
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--incremental", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one_size is not None:
        print(RESULT + json.dumps(child_one_size(args.corpus, args.one_size, args.store)))
        return 0
    if args.incremental is not None:
        print(RESULT + json.dumps(child_incremental(args.corpus, args.incremental, args.store)))
        return 0

    if not sorted(REUTERS.glob("reut2-*.sgm")):
        print(f"SKIP: Reuters-21578 corpus not found at {REUTERS} (reut2-*.sgm); nothing measured.")
        return 0

    sizes = [20000] if args.quick else sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    if args.quick:
        n_update, n_batch, n_lsh, n_fast, repeats = 200, 1000, 5000, 20000, 3
    else:
        n_update, n_batch, n_lsh, repeats = 1000, 5000, 20000, 3
        n_fast = min(max(sizes), 100_000)
    history_n = max(sizes)
    total_n = history_n + NEW_DOCS
    started = time.perf_counter()

    import datasketch
    import numba

    print("MinHash dedup benchmark (all numbers measured in this run)")
    print(
        f"python {sys.version.split()[0]}, polars {pl.__version__}, numba {numba.__version__}, "
        f"datasketch {datasketch.__version__}; cpus {os.cpu_count()}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at start"
    )
    print(
        f"settings: {MH.num_perm} perms, word {MH.ngram}-grams, seed {MH.seed}; "
        f"threshold {DD.threshold}; sizes {sizes}{' (--quick)' if args.quick else ''}\n"
    )

    tmp = Path(tempfile.mkdtemp(prefix="newsdq-bench-"))
    try:
        # 1. Corpus ----------------------------------------------------------------------------
        t_parse, bodies = timed(lambda: reuters_bodies(REUTERS))
        t_gen, (texts, near) = timed(lambda: synthesize(bodies, total_n))
        corpus = tmp / "corpus.parquet"
        start = time.perf_counter()
        docs_frame(texts).write_parquet(corpus, row_group_size=50_000)
        t_write = time.perf_counter() - start
        words = np.fromiter((t.count(" ") + 1 for t in texts), dtype=np.int64, count=len(texts))
        chars = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        print("1. Corpus")
        table(
            ["item", "value"],
            [
                ["Reuters bodies >= 50 words (distinct)", f"{len(bodies):,}"],
                ["synthetic documents generated", f"{total_n:,} (sizes + {NEW_DOCS} new)"],
                ["near-copies of an earlier document", f"{near:,} ({near / total_n:.1%})"],
                ["mean length", f"{words.mean():.1f} words, {chars.mean():.0f} chars"],
                ["median / p95 words", f"{np.median(words):.0f} / {np.percentile(words, 95):.0f}"],
                [
                    "parse / generate / write parquet",
                    f"{t_parse:.1f} s / {t_gen:.1f} s / {t_write:.1f} s",
                ],
            ],
        )
        keep = max(n_fast, n_lsh, n_update, n_batch)
        sample = texts[:keep]
        del texts, words, chars

        # 2. Signatures ------------------------------------------------------------------------
        sig = bench_signatures(sample[:n_fast], n_update, n_batch, repeats)
        r_upd = sig["fast_1"] / sig["update"]
        r_batch = sig["fast_1"] / sig["batch"]
        print("2. Signatures (text -> 128 values: fold, shingle, hash, permute)")
        table(
            ["path", "docs", "docs/s", "fast(1 core) / this", "target", "status"],
            [
                [
                    "fast_signatures, 1 core (numba 1 thread)",
                    f"{sig['n_fast']:,}",
                    fmt(sig["fast_1"], 0),
                    "1.00",
                    f">= {T_PER_CORE:,} docs/s",
                    status(sig["fast_1"] >= T_PER_CORE),
                ],
                [
                    f"fast_signatures, numba {sig['threads']} threads",
                    f"{sig['n_fast']:,}",
                    fmt(sig["fast_n"], 0),
                    f"{sig['fast_1'] / sig['fast_n']:.2f}",
                    "",
                    "",
                ],
                [
                    "datasketch update() per shingle, 1 core",
                    f"{n_update:,}",
                    fmt(sig["update"], 0),
                    f"{r_upd:,.1f}x",
                    f">= {T_VS_UPDATE:.0f}x",
                    status(r_upd >= T_VS_UPDATE),
                ],
                [
                    "datasketch update_batch (MinHash.bulk), 1 core",
                    f"{n_batch:,}",
                    fmt(sig["batch"], 0),
                    f"{r_batch:,.1f}x",
                    f">= {T_VS_BATCH:.0f}x",
                    status(r_batch >= T_VS_BATCH),
                ],
            ],
        )
        print(
            f"fast({sig['threads']} threads) / update_batch = {sig['fast_n'] / sig['batch']:.1f}x; "
            f"scaling 1 -> {sig['threads']} threads = {sig['fast_n'] / sig['fast_1']:.2f}x; "
            f"each rate is the median of {repeats} runs (1-core runs pinned to cpu {sig['cpu']}, "
            f"the idler one, {sig['cpu_idle']:.0%} idle just before; "
            f"interleaved); shingle() is "
            f"{sig['batch_shingle_share']:.0%} of the update_batch time"
        )
        identical = sig["same_update"] == n_update and sig["same_batch"] == n_batch
        print(
            f"bit-identical to datasketch: update() {sig['same_update']}/{n_update} rows, "
            f"update_batch {sig['same_batch']}/{n_batch} rows -> "
            f"{'yes' if identical else 'NO'}\n"
        )

        # 4. MinHashLSH (in this process, before the subprocesses) -------------------------------
        lsh = bench_lsh(sample[:n_lsh])
        del sample
        per_doc = (lsh["insert_s"] + lsh["query_s"]) / lsh["n"] * 1e6
        col_per_doc = lsh["columnar_s"] / lsh["n"] * 1e6

        # 3. Banding .. clustering per size ----------------------------------------------------
        print("3. Banding + candidate pairs + verification + clustering (one subprocess per size)")
        per_size = {}
        for n in sizes:
            extra = ["--store", str(tmp / "store")] if n == history_n else []
            res = run_child(["--one-size", str(n), "--corpus", str(corpus), *extra])
            if res is not None:
                per_size[n] = res
        rows = []
        for n, r in per_size.items():
            rows.append(
                [
                    f"{n:,}",
                    fmt(r["signatures_s"]),
                    fmt(r["deduplicate_s"]),
                    fmt(r["rss_loaded_mb"], 0),
                    fmt(r["peak_dedup_mb"], 0),
                    f"{r['verified_pairs']:,}",
                    f"{r['duplicates']:,}",
                ]
            )
        table(
            [
                "docs",
                "doc_signatures s",
                "deduplicate() s (band+verify+cluster)",
                "RSS loaded MB",
                "peak RSS MB",
                "verified pairs",
                "duplicates",
            ],
            rows,
        )
        if per_size:
            any_r = next(iter(per_size.values()))
            print(
                f"children: numba {any_r['numba_threads']} threads, polars "
                f"{any_r['polars_threads']} threads; kernel load {any_r['kernel_load_s']:.2f} s "
                "(excluded). deduplicate() is timed as called, deduplicate(docs, minhash, config, "
                "sig_frame=sigs): banding, candidate pairs, verification, clustering, canonical "
                "choice. peak RSS = the child's VmHWM after deduplicate() (loading, signatures "
                "and deduplicate(); ru_maxrss would include the parent's RSS)."
            )
            for n, r in per_size.items():
                rate = n / r["signatures_s"]
                print(
                    f"  {n:,}: doc_signatures {rate:,.0f} docs/s; clusters with duplicates "
                    f"{r['clusters_gt1']:,}"
                    + (f"; index publish {r['publish_s']:.1f} s" if "publish_s" in r else "")
                )
            print()

        print("4. datasketch MinHashLSH vs columnar banding (same signatures, same banding)")
        table(
            ["path", "docs", "seconds", "us/doc", "columnar speed-up"],
            [
                [
                    "MinHashLSH insert + query (LeanMinHash)",
                    f"{lsh['n']:,}",
                    fmt(lsh["insert_s"] + lsh["query_s"]),
                    fmt(per_doc, 1),
                    "",
                ],
                [
                    "  of which insert",
                    "",
                    fmt(lsh["insert_s"]),
                    fmt(lsh["insert_s"] / lsh["n"] * 1e6, 1),
                    "",
                ],
                [
                    "  of which query",
                    "",
                    fmt(lsh["query_s"]),
                    fmt(lsh["query_s"] / lsh["n"] * 1e6, 1),
                    "",
                ],
                [
                    "as_lean_minhash wrap (not in the above)",
                    "",
                    fmt(lsh["wrap_s"]),
                    fmt(lsh["wrap_s"] / lsh["n"] * 1e6, 1),
                    "",
                ],
                [
                    "columnar doc_buckets + candidate_pairs",
                    f"{lsh['n']:,}",
                    fmt(lsh["columnar_s"]),
                    fmt(col_per_doc, 1),
                    f"{per_doc / col_per_doc:.1f}x",
                ],
            ],
        )
        print(
            f"banding {lsh['banding']} (dedup_banding, passed to MinHashLSH as params); "
            f"MinHashLSH index memory {lsh['lsh_kb_per_doc']:.1f} KB/doc (tracemalloc, "
            "LeanMinHash objects not counted); "
            f"candidate pairs: MinHashLSH {lsh['lsh_pairs']:,}, columnar {lsh['col_pairs']:,}, "
            f"both {lsh['common_pairs']:,}\n"
        )

        # 5. Incremental -------------------------------------------------------------------------
        print(
            f"5. Incremental: {NEW_DOCS:,} new documents against a published index of {history_n:,}"
        )
        inc = None
        if history_n in per_size:
            inc = run_child(
                [
                    "--incremental",
                    str(history_n),
                    "--corpus",
                    str(corpus),
                    "--store",
                    str(tmp / "store"),
                ]
            )
        if inc is not None:
            table(
                ["step", "seconds"],
                [
                    ["doc_signatures", fmt(inc["signatures_s"], 3)],
                    ["doc_bucket_keys + match_history", fmt(inc["match_history_s"], 3)],
                    ["deduplicate (history rows, history buckets)", fmt(inc["deduplicate_s"], 3)],
                    ["total", fmt(inc["total_s"], 3)],
                ],
            )
            print(
                f"peak RSS {inc['peak_mb']:,.0f} MB (RSS after loading the new docs "
                f"{inc['rss_loaded_mb']:,.0f} MB); history bucket rows matched "
                f"{inc['history_buckets']:,}, history documents read {inc['history_docs_read']:,}; "
                f"verified pairs {inc['verified_pairs']:,}; duplicates of history "
                f"{inc['dup_of_history']:,}, within the run {inc['dup_within_run']:,}; kernel load "
                f"{inc['kernel_load_s']:.2f} s (excluded)\n"
            )
        else:
            print("  not run (the largest size did not complete)\n")

        # Targets ------------------------------------------------------------------------------
        big = per_size.get(1_000_000)
        print("Targets (informational)")
        table(
            ["target", "measured", "status"],
            [
                [
                    f"signatures >= {T_PER_CORE:,} docs/s per core",
                    f"{sig['fast_1']:,.0f} docs/s",
                    status(sig["fast_1"] >= T_PER_CORE),
                ],
                [
                    f"fast >= {T_VS_UPDATE:.0f}x update()",
                    f"{r_upd:,.1f}x",
                    status(r_upd >= T_VS_UPDATE),
                ],
                [
                    f"fast >= {T_VS_BATCH:.0f}x update_batch",
                    f"{r_batch:,.1f}x",
                    status(r_batch >= T_VS_BATCH),
                ],
                [
                    f"1M banded+clustered < {T_1M_SECONDS:.0f} s (stages, no signatures)",
                    f"{big['stages_total_s']:.1f} s" if big else "1M not in sizes",
                    status(big["stages_total_s"] < T_1M_SECONDS if big else None),
                ],
                [
                    f"1M deduplicate() call < {T_1M_SECONDS:.0f} s (as called)",
                    f"{big['deduplicate_s']:.1f} s" if big else "1M not in sizes",
                    status(big["deduplicate_s"] < T_1M_SECONDS if big else None),
                ],
                [
                    f"1M peak RSS < {T_1M_PEAK_GB:.0f} GB",
                    f"{big['peak_dedup_mb'] / 1024:.2f} GB" if big else "1M not in sizes",
                    status(big["peak_dedup_mb"] / 1024 < T_1M_PEAK_GB if big else None),
                ],
                [
                    f"incremental {NEW_DOCS:,} vs 1M history < {T_INCREMENTAL_SECONDS:.0f} s",
                    (f"{inc['total_s']:.2f} s (history {history_n:,})" if inc else "not run"),
                    status(
                        inc["total_s"] < T_INCREMENTAL_SECONDS
                        if inc and history_n == 1_000_000
                        else None
                    ),
                ],
            ],
        )
        print(
            f"wall time {time.perf_counter() - started:.0f} s; load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at end"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
