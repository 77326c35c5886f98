"""The claim timeline: figures about the same counted thing, by date and source.

Analysts follow an estimate over days ("North Korean troops in Russia": 10,000 on Monday
according to one service, 11,000 on Wednesday according to another). A timeline row is a
claim with its article's date and a `topic`, the counted thing in a normal form; figures for
one topic on one day from different sources that disagree are flagged as conflicts.
"""

from __future__ import annotations

from typing import Any

import polars as pl

_COLUMNS: dict[str, Any] = {
    "topic": pl.String,  # normal form of the counted thing (`topic_of`)
    "published_date": pl.Date,  # the article's date (null when unknown)
    "claim_id": pl.String,
    "doc_id": pl.String,
    "quantity": pl.Float64,
    "qualifier": pl.String,
    "unit": pl.String,
    "source": pl.String,
    "verb": pl.String,
    # Claims on the same topic and day from another source with another quantity (this
    # run's and earlier runs'); a reader finds them by joining on topic and date.
    "n_conflicting": pl.UInt32,
    "conflict": pl.Boolean,
    "run_id": pl.String,
}
TIMELINE = pl.Schema(_COLUMNS)

# Words that open a unit without naming the thing ("some 400 of the troops").
_LEADING = r"^(?:(?:the|a|an|of|some|about|around|more|than|other|additional|new)\s+)+"


def topic_of(unit: pl.Expr) -> pl.Expr:
    """Return the normal form of a counted thing: lowercase, bare words, last word singular.

    "North Korean troops", "north korean troop" and "North-Korean troops," share a topic;
    "troops" and "North Korean troops" do not (the qualifier matters to the analyst).
    """
    words = (
        unit.str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
        .str.replace(_LEADING, "")
    )
    # Plural "-ies"/"-es"/"-s" of the head noun; "people" and "police" stay as they are.
    return (
        words.str.replace(r"ies$", "y")
        .str.replace(r"(ss|sh|ch|x)es$", "$1")
        .str.replace(r"([^su])s$", "$1")
    )


def history_counts(earlier: pl.LazyFrame, claim_ids: pl.Series) -> pl.LazyFrame:
    """Count earlier timeline rows per (`topic`, `published_date`, `quantity`, `source`).

    Rows of `claim_ids` (this run's claims, published again) are left out. Conflicts need only
    these counts, so a run reads a busy day's history as one row per distinct figure and
    source instead of one per claim (369,094 rows to 129,161 on the soak's single day).
    """
    keys = ["topic", "published_date", "quantity", "source"]
    return (
        earlier.filter(~pl.col("claim_id").is_in(claim_ids.implode()))
        .group_by(keys)
        .agg(n=pl.len().cast(pl.UInt32))
    )


def claim_timeline(
    claims: pl.DataFrame, articles: pl.DataFrame, earlier: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Build this run's timeline rows, flagging conflicts with this run's and earlier rows.

    Parameters
    ----------
    claims
        This run's published claims (CLAIMS columns).
    articles
        Articles with `doc_id` and `published_date`: this run's, and the earlier articles
        that claims of this run refer to.
    earlier
        Timeline rows of earlier runs for the same topics (`topic`, `published_date`,
        `claim_id`, `quantity`, `source`), or their counts: `history_counts` of them, with
        `n` rows per (`topic`, `published_date`, `quantity`, `source`) and this run's claim ids
        already left out. None when there are none.

    Returns
    -------
    pl.DataFrame
        TIMELINE rows, one per claim with a unit, sorted by topic, date and claim_id.
    """
    dates = articles.select("doc_id", "published_date").unique("doc_id", keep="first")
    rows = (
        claims.filter(pl.col("unit").is_not_null())
        .join(dates, on="doc_id", how="left")
        .with_columns(topic=topic_of(pl.col("unit")))
        .filter(pl.col("topic").str.len_chars() > 0)
    )
    keys = ["topic", "published_date", "quantity", "source"]
    pool = rows.select(*keys, "claim_id", n=pl.lit(1, pl.UInt32), _new=pl.lit(True))
    if earlier is not None and earlier.height:
        if "n" not in earlier.columns:
            earlier = history_counts(earlier.lazy(), rows["claim_id"]).collect()
        old = earlier.select(*keys, claim_id=pl.lit(None, pl.String), n=pl.col("n"))
        pool = pl.concat([pool, old.with_columns(_new=pl.lit(False))])
    # Rows of a day that differ in both quantity and source, counted with window sums (all -
    # same quantity - same source + same both) rather than pairs: a busy topic on a busy day
    # has thousands of claims, and pairs would grow with their square.
    day = ["topic", "published_date"]
    n = pl.col("n").cast(pl.Int64)
    counted = pool.with_columns(_source=pl.col("source").fill_null("")).with_columns(
        n_conflicting=(
            n.sum().over(day)
            - n.sum().over([*day, "quantity"])
            - n.sum().over([*day, "_source"])
            + n.sum().over([*day, "quantity", "_source"])
        ).cast(pl.UInt32)
    )
    counted = counted.with_columns(
        # null dates never conflict: the day is unknown
        n_conflicting=pl.when(pl.col("published_date").is_null())
        .then(pl.lit(0, dtype=pl.UInt32))
        .otherwise(pl.col("n_conflicting"))
    )
    out = rows.join(
        counted.filter(pl.col("_new")).select("claim_id", "n_conflicting"),
        on="claim_id",
        how="left",
    ).with_columns(conflict=pl.col("n_conflicting") > 0)
    return out.select(list(TIMELINE)).sort("topic", "published_date", "claim_id", nulls_last=True)
