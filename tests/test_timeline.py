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


def _pairwise(new: pl.DataFrame, old: pl.DataFrame) -> dict[str, int]:
    """Count conflicts claim by claim (the definition the window sums implement)."""
    pool = new.to_dicts() + old.to_dicts()
    got = {}
    for c in new.to_dicts():
        got[c["claim_id"]] = sum(
            1
            for o in pool
            if o is not c
            and c["published_date"] is not None
            and (o["topic"], o["published_date"]) == (c["topic"], c["published_date"])
            and o["quantity"] != c["quantity"]
            and (o["source"] or "") != (c["source"] or "")
        )
    return got


def test_earlier_rows_and_their_counts_give_the_pairwise_conflicts() -> None:
    earlier = claim_timeline(
        pl.DataFrame(
            [
                _claim("a", "d1", 10000, "Varnian troops", "the Pentagon"),
                _claim("b", "d1", 10000, "Varnian troops", "the Pentagon"),
                _claim("c", "d1", 9000, "Varnian troops", "the ministry"),
                _claim("u", "d2", 9500, "Varnian troops", None),  # no source
                _claim("v", "d2", 9600, "Varnian troops", ""),  # an empty one: the same
                _claim("w", "d3", 9000, "Varnian troops", "the ministry"),  # another day
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
            _claim("s", "d2", 9500, "Varnian troops", None),
            _claim("t", "d3", 9000, "Varnian troops", "a blog"),
        ],
        schema=CLAIMS,
    )
    counts = history_counts(earlier.lazy(), claims["claim_id"]).collect()
    assert counts["n"].sum() == 6  # r is this run's own claim, not history
    for given in (earlier, counts):
        rows = claim_timeline(claims, ARTICLES, given)
        got = dict(zip(rows["claim_id"], rows["n_conflicting"].to_list(), strict=True))
        old = earlier.filter(pl.col("claim_id") != "r")
        assert got == _pairwise(rows, old)
        # d1 and d2 are one day. n: c, u, v, r, s (a and b share its source); r: all seven
        # others; s: a, b, c, n, r (u and v: no source and an empty one are the same); t: w
        # is its day's only other figure, and an equal one
        assert got == {"n": 5, "r": 7, "s": 5, "t": 0}
