"""The claim timeline (flows/core/timeline.py). Names and figures are invented."""

from __future__ import annotations

import datetime as dt

import polars as pl

from flows.core.schema import CLAIMS
from flows.core.timeline import TIMELINE, claim_timeline, history_counts, topic_of


def _claim(cid: str, doc: str, quantity: float, unit: str | None, source: str | None) -> dict:
    return {
        "claim_id": cid, "doc_id": doc, "sentence": "s", "start": 0, "end": 1,
        "quantity": quantity, "quantity_text": "x", "qualifier": "exact", "unit": unit,
        "source": source, "verb": "said", "extractor": "rules-v1", "run_id": "r2",
    }  # fmt: skip


MON, TUE = dt.date(2025, 3, 10), dt.date(2025, 3, 11)
ARTICLES = pl.DataFrame(
    {"doc_id": ["d1", "d2", "d3"], "published_date": [MON, MON, TUE]},
    schema={"doc_id": pl.String, "published_date": pl.Date},
)


def test_topics_join_spellings_of_one_counted_thing() -> None:
    units = ["Varnian troops", "varnian troop,", "the Varnian troops", "troops", "batteries"]
    topics = pl.select(topic_of(pl.lit(pl.Series(units)))).to_series().to_list()
    assert topics == ["varnian troop"] * 3 + ["troop", "battery"]


def test_different_figures_on_one_day_from_different_sources_conflict() -> None:
    claims = pl.DataFrame(
        [
            _claim("a", "d1", 10000, "Varnian troops", "the Pentagon"),
            _claim("b", "d2", 12000, "Varnian troops", "Ostrel's intelligence service"),
            _claim("c", "d2", 10000, "Varnian troops", "the ministry"),  # agrees with a
            _claim("d", "d3", 11000, "Varnian troops", "the Pentagon"),  # another day
            _claim("e", "d1", 12000, "Varnian troops", "the Pentagon"),  # same source as a
            _claim("f", "d1", 5, None, "police"),  # no counted thing: not on the timeline
        ],
        schema=CLAIMS,
    )
    rows = claim_timeline(claims, ARTICLES)
    assert rows.schema == TIMELINE
    got = dict(zip(rows["claim_id"], rows["n_conflicting"].to_list(), strict=True))
    # a~b, b~c, c~e conflict; d is another day; a~e share a source; b~e share a figure
    assert got == {"a": 1, "b": 2, "c": 2, "d": 0, "e": 1}
    assert rows.filter(pl.col("conflict"))["claim_id"].to_list() == ["a", "b", "c", "e"]
    assert rows.filter(pl.col("claim_id") == "d")["published_date"].to_list() == [TUE]


def test_conflicts_reach_earlier_runs_rows() -> None:
    first = claim_timeline(
        pl.DataFrame([_claim("a", "d1", 10000, "Varnian troops", "the Pentagon")], schema=CLAIMS),
        ARTICLES,
    )
    later = claim_timeline(
        pl.DataFrame([_claim("b", "d2", 9000, "Varnian troops", "the ministry")], schema=CLAIMS),
        ARTICLES,
        earlier=first,
    )
    assert later["n_conflicting"].to_list() == [1]
    assert later["conflict"].to_list() == [True]


def test_a_busy_day_is_counted_without_pairs() -> None:
    n = 20_000  # pairs would be 4e8 rows
    claims = pl.DataFrame(
        [_claim(f"c{i}", "d1", float(i % 7), "Varnian troops", f"s{i % 11}") for i in range(n)],
        schema=CLAIMS,
    )
    rows = claim_timeline(claims, ARTICLES)
    first = rows.filter(pl.col("claim_id") == "c0")["n_conflicting"][0]
    # c0: quantity 0, source s0; the others with another quantity and another source
    expected = sum(1 for i in range(n) if i % 7 != 0 and i % 11 != 0)
    assert first == expected


def test_earlier_rows_and_their_counts_give_the_same_conflicts() -> None:
    earlier = claim_timeline(
        pl.DataFrame(
            [
                _claim("a", "d1", 10000, "Varnian troops", "the Pentagon"),
                _claim("b", "d1", 10000, "Varnian troops", "the Pentagon"),
                _claim("c", "d1", 9000, "Varnian troops", "the ministry"),
                _claim("r", "d1", 7000, "Varnian troops", "a blog"),  # published again below
            ],
            schema=CLAIMS,
        ),
        ARTICLES,
    )
    claims = pl.DataFrame(
        [
            _claim("n", "d1", 8000, "Varnian troops", "the Pentagon"),
            _claim("r", "d1", 7000, "Varnian troops", "a blog"),
        ],
        schema=CLAIMS,
    )
    counts = history_counts(earlier.lazy(), claims["claim_id"]).collect()
    assert counts["n"].sum() == 3  # r is this run's own claim, not history
    by_rows = claim_timeline(claims, ARTICLES, earlier)
    by_counts = claim_timeline(claims, ARTICLES, counts)
    assert by_rows.equals(by_counts)
    got = dict(zip(by_counts["claim_id"], by_counts["n_conflicting"].to_list(), strict=True))
    # n: c (other figure, other source) and r; not a or b (same source); r: a, b, c and n
    assert got == {"n": 2, "r": 4}
