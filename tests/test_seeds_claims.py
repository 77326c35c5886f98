"""The claim extractor against own labels of the five articles of ../shared/seeds.

The articles are read at test time, never copied: tests/fixtures/seeds_claims_labels.json holds
only facts (file, quantity, qualifier) and 1-3 word keywords. Thresholds are the values measured
when the labels were written, rounded down; `bench/claims_quality.py --show` lists the misses.
"""

from __future__ import annotations

import polars as pl
import pytest

from bench.claims_quality import (
    SEEDS,
    SEEDS_GOLD,
    canonical_docs,
    describe_claim,
    describe_gold,
    load_gold,
    pipeline_claims,
    score,
    seeds_raw,
)

# Measured: recall 30/30 = 1.000, precision 31/34 = 0.912, qualifier right on 30/30 found.
MIN_RECALL = 1.0
MIN_PRECISION = 0.91
MIN_QUALIFIER = 1.0


@pytest.fixture(scope="module")
def found() -> pl.DataFrame:
    if not SEEDS.is_dir():
        pytest.skip(f"../shared/seeds not found: {SEEDS} is only on developer and CI machines")
    return pipeline_claims(canonical_docs(seeds_raw(SEEDS)))


def test_recall_and_precision_on_the_seeds(found: pl.DataFrame) -> None:
    gold = load_gold(SEEDS_GOLD)
    assert sorted(set(found["source_uri"])) == sorted(gold["files"])
    total, _ = score(found, gold)
    report = "\n".join(
        [f"recall {total.recall:.3f}, precision {total.precision:.3f}"]
        + ["missed: " + describe_gold(g) for g in total.missed]
        + ["extra: " + describe_claim(c) for c in total.extras]
    )
    assert total.recall >= MIN_RECALL, report
    assert total.precision >= MIN_PRECISION, report
    assert total.qualifier_ok / total.hit_gold >= MIN_QUALIFIER, report
