"""The claim extractor against hand-made labels of the sample inbox (tests/fixtures/claims_gold.json).

The inbox goes through the pipeline's own path (ingest, normalise, boilerplate, dedup, then
`extract_claims` on the canonical documents); `bench/claims_quality.py` prints the same scores
per file. Thresholds are the values measured when the labels were written, rounded down.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from bench.claims_quality import (
    INBOX_GOLD,
    Score,
    canonical_docs,
    describe_claim,
    describe_gold,
    inbox_raw,
    load_gold,
    matches,
    pipeline_claims,
    score,
)
from flows.core.schema import CLAIMS

# Measured: recall 78/79 = 0.987, precision 80/81 = 0.988, qualifier right on 78/78 found.
MIN_RECALL = 0.98
MIN_PRECISION = 0.98
MIN_QUALIFIER = 1.0


@pytest.fixture(scope="module")
def gold() -> dict[str, Any]:
    return load_gold(INBOX_GOLD)


@pytest.fixture(scope="module")
def docs() -> pl.DataFrame:
    return canonical_docs(inbox_raw())


@pytest.fixture(scope="module")
def found(docs: pl.DataFrame) -> pl.DataFrame:
    return pipeline_claims(docs)


def _explain(total: Score) -> str:
    lines = [f"recall {total.recall:.3f}, precision {total.precision:.3f}"]
    lines += ["missed: " + describe_gold(g) for g in total.missed]
    lines += ["extra: " + describe_claim(c) for c in total.extras]
    return "\n".join(lines)


def test_gold_covers_exactly_the_canonical_articles(gold, docs: pl.DataFrame) -> None:
    assert sorted(docs["source_uri"]) == sorted(gold["files"]), (
        "the canonical documents of the sample inbox changed: relabel claims_gold.json"
    )
    assert len(gold["claims"]) >= 70


def test_recall_and_precision_on_the_sample_inbox(gold, found: pl.DataFrame) -> None:
    total, _ = score(found, gold)
    assert total.recall >= MIN_RECALL, _explain(total)
    assert total.precision >= MIN_PRECISION, _explain(total)
    assert total.qualifier_ok / total.hit_gold >= MIN_QUALIFIER, _explain(total)


def test_every_claim_is_a_claims_row_of_the_sentence(found: pl.DataFrame) -> None:
    assert found.drop("source_uri").schema == CLAIMS
    for row in found.iter_rows(named=True):
        assert row["quantity_text"] in row["sentence"]


def test_the_scoring_rejects_wrong_claims(gold, found: pl.DataFrame) -> None:
    """The matcher is strict: a wrong quantity, unit, source or document is no match."""
    g = next(r for r in gold["claims"] if isinstance(r["source"], str))
    hit = next(c for c in found.to_dicts() if matches(c, g))
    assert not matches({**hit, "quantity": hit["quantity"] + 1}, g)
    assert not matches({**hit, "unit": "zebras"}, g)
    assert not matches({**hit, "unit": None}, g)
    assert not matches({**hit, "source": None}, g)
    assert not matches({**hit, "source_uri": "elsewhere.txt"}, g)
    unattributed = next(r for r in gold["claims"] if r["source"] is None)
    claim = next(c for c in found.to_dicts() if matches(c, unattributed))
    assert not matches({**claim, "source": "the ministry"}, unattributed)
    # Nothing extracted: every gold row is missed; a stray claim lowers precision.
    empty, _ = score(found.clear(), gold)
    assert (empty.recall, empty.hit_gold) == (0.0, 0)
    stray = pl.concat([found, found.head(1).with_columns(pl.lit(123456.0).alias("quantity"))])
    assert score(stray, gold)[0].precision < score(found, gold)[0].precision
