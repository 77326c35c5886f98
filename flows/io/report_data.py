"""What the run report shows: distributions, diffs and trends computed from a run's frames.

Pure functions (frames and dicts in, plain values out), so each chart and table is testable
without rendering a page.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from checks.expectations import outcome_key
from flows.core.settings import ReportConfig

# (kind, text) pieces of one side of a diff: kind is "equal", "del", "ins" or "skip".
Segment = tuple[str, str]


def histogram(values: pl.Series, lo: float, hi: float, bins: int) -> list[int]:
    """Count values in `bins` equal bins over [lo, hi]; nulls and NaN are left out."""
    if bins < 1 or hi <= lo:
        raise ValueError(f"need bins >= 1 and lo < hi, not {bins}, {lo}, {hi}")
    clean = values.cast(pl.Float64).drop_nulls().drop_nans()
    # The top edge belongs to the last bin (a similarity of exactly 1.0 is a full copy).
    index = ((clean - lo) / (hi - lo) * bins).floor().clip(0, bins - 1).cast(pl.Int64)
    counts = dict(index.value_counts().iter_rows())
    return [int(counts.get(i, 0)) for i in range(bins)]


def cluster_sizes(documents: pl.DataFrame) -> list[tuple[int, int]]:
    """Return (cluster size, number of clusters) over this run's documents, smallest first."""
    if documents.height == 0:
        return []
    sizes = (
        documents.group_by("cluster_id")
        .agg(size=pl.len())
        .group_by("size")
        .agg(clusters=pl.len())
        .sort("size")
    )
    return [(int(s), int(n)) for s, n in sizes.iter_rows()]


def top_counts(
    values: pl.Series, limit: int = 12, null_label: str = "(none)"
) -> list[tuple[str, int]]:
    """Return the `limit` most frequent values with counts, the rest summed as one entry."""
    if values.len() == 0:
        return []
    counts = (
        values.cast(pl.String)
        .fill_null(null_label)
        .alias("value")
        .value_counts(name="n")
        .sort(["n", "value"], descending=[True, False])
    )
    rows = [(str(v), int(n)) for v, n in counts.head(limit).iter_rows()]
    rest = counts.slice(limit)
    if rest.height:
        rows.append((f"({rest.height} others)", int(rest["n"].sum())))
    return rows


def word_diff(
    left: str, right: str, context: int = 12, max_words: int = 4000
) -> tuple[list[Segment], list[Segment]]:
    """Diff two texts word by word for side-by-side display; long unchanged runs are elided.

    Returns the segments of each side: "equal" words, "del" (only left) or "ins" (only right)
    words, and "skip" (an elided unchanged run, its text saying how long).
    """
    a, b = left.split()[:max_words], right.split()[:max_words]
    # autojunk off: it would treat frequent words ("the", "said") as noise and misalign prose.
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    opcodes = matcher.get_opcodes()
    out_a: list[Segment] = []
    out_b: list[Segment] = []
    for n, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            for side, words in ((out_a, a[i1:i2]), (out_b, b[j1:j2])):
                side.extend(_elide(words, context, n == 0, n == len(opcodes) - 1))
            continue
        if i2 > i1:
            out_a.append(("del", " ".join(a[i1:i2])))
        if j2 > j1:
            out_b.append(("ins", " ".join(b[j1:j2])))
    for side, words in ((out_a, left.split()), (out_b, right.split())):
        if len(words) > max_words:
            side.append(("skip", f"… {len(words) - max_words} more words not compared …"))
    return out_a, out_b


def _elide(words: list[str], context: int, first: bool, last: bool) -> list[Segment]:
    """Return an unchanged run, keeping `context` words next to each change."""
    head = 0 if first else context
    tail = 0 if last else context
    if len(words) <= head + tail + 1:
        return [("equal", " ".join(words))]
    out: list[Segment] = []
    if head:
        out.append(("equal", " ".join(words[:head])))
    out.append(("skip", f"… {len(words) - head - tail} unchanged words …"))
    if tail:
        out.append(("equal", " ".join(words[-tail:])))
    return out


# The per-run metrics of the trend charts: key, label, and whether it is a share (0..1).
TREND_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("inputs", "inputs", False),
    ("published", "published", False),
    ("duplicate_rate", "duplicate rate", True),
    ("quarantine_rate", "quarantine rate", True),
    ("validation_failures", "failed expectations", False),
    ("claims", "claims", False),
)


def run_metrics(summary: dict[str, Any]) -> dict[str, float | None]:
    """Return the trend metrics of one run summary (rates are None when nothing was ingested)."""
    c = summary.get("counts", {})
    ingested = c.get("ingested") or 0
    failures = sum(1 for e in summary.get("expectations", []) if not e.get("success", True))
    return {
        "inputs": c.get("inputs"),
        "published": c.get("published"),
        "duplicate_rate": c.get("duplicates", 0) / ingested if ingested else None,
        "quarantine_rate": c.get("quarantined", 0) / ingested if ingested else None,
        "validation_failures": failures,
        "claims": summary.get("tables", {}).get("claims"),
    }


@dataclass(frozen=True)
class Trend:
    """One metric over the recent runs, with the band of the earlier runs and the verdict."""

    key: str
    label: str
    share: bool
    run_ids: list[str]  # oldest first; the last one is this run
    values: list[float | None]
    band: tuple[float, float] | None  # mean -+ band of the earlier runs, None if too few
    mean: float | None
    drifted: bool


def trends(
    current: dict[str, Any], previous: list[dict[str, Any]], config: ReportConfig
) -> list[Trend]:
    """Return each trend metric over `previous` (oldest first) and this run, drift flagged."""
    runs = [*previous[-config.history_runs :], current] if config.history_runs else [current]
    metrics = [run_metrics(s) for s in runs]
    run_ids = [str(s.get("run_id", "")) for s in runs]
    out = []
    for key, label, share in TREND_METRICS:
        values = [m[key] for m in metrics]
        earlier = [float(v) for v in values[:-1] if v is not None]
        band: tuple[float, float] | None = None
        mean: float | None = None
        drifted = False
        if len(earlier) >= config.drift_min_runs:
            mean = sum(earlier) / len(earlier)
            stdev = math.sqrt(sum((v - mean) ** 2 for v in earlier) / (len(earlier) - 1))
            width = max(config.drift_stdevs * stdev, config.drift_relative * abs(mean))
            band = (mean - width, mean + width)
            now = values[-1]
            drifted = now is not None and not band[0] <= float(now) <= band[1]
        out.append(Trend(key, label, share, run_ids, values, band, mean, drifted))
    return out


def verdict_reasons(summary: dict[str, Any], drifted: list[Trend]) -> list[str]:
    """Explain the verdict in a few sentences: what blocked or warned, what drifted."""
    failed = [e for e in summary.get("expectations", []) if not e.get("success", True)]
    errors = [e for e in failed if e.get("severity") == "error"]
    warnings = [e for e in failed if e.get("severity") != "error"]
    reasons = []
    if errors:
        reasons.append(
            f"{len(errors)} error expectation(s) failed, so nothing was published: "
            + ", ".join(expectation_key(e) for e in errors)
        )
    if warnings:
        reasons.append(
            f"{len(warnings)} warning expectation(s) failed: "
            + ", ".join(expectation_key(e) for e in warnings)
        )
    if not failed:
        reasons.append(f"all {len(summary.get('expectations', []))} expectations passed")
    quarantined = summary.get("counts", {}).get("quarantined", 0)
    if quarantined:
        reasons.append(f"{quarantined} input record(s) quarantined")
    broken = summary.get("pipeline_invariants") or []
    if broken:
        repaired = summary.get("counts", {}).get("invariant_repairs", 0)
        reasons.append(
            "the pipeline misbehaved (a bug to report): checks of columns it derives failed ("
            + ", ".join(f"{b['table']}.{b['check']}: {b['rows']}" for b in broken)
            + f"); {repaired} document(s) repaired and kept, not quarantined"
        )
    if drifted:
        reasons.append("outside the band of earlier runs: " + ", ".join(t.label for t in drifted))
    return reasons


def expectation_key(e: dict[str, Any]) -> str:
    """Return the `<suite>.<expectation>[.<column>]` key of a summary's expectation outcome."""
    # Summaries written before outcomes named their suite held the documents suite only.
    return outcome_key(e.get("suite") or "documents", e["expectation"], e.get("column"))


def similarity_values(pairs: pl.DataFrame | None, documents: pl.DataFrame) -> pl.Series:
    """Return the similarities of the verified pairs, else those of duplicates to canonicals."""
    if pairs is not None and "similarity" in pairs.columns:
        return pairs["similarity"]
    return documents.filter(~pl.col("is_canonical"))["similarity"]
