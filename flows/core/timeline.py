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
    # Claim ids of the same topic and day, from another source, with another quantity
    # (this run's and earlier runs' claims); empty when none.
    "conflicts_with": pl.List(pl.String),
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


def claim_timeline(
    claims: pl.DataFrame, articles: pl.DataFrame, earlier: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Build this run's timeline rows, flagging conflicts with this run's and earlier rows.

    Parameters
    ----------
    claims
        This run's published claims (CLAIMS columns).
    articles
        Articles with `doc_id` and `published_date` (this run's; claims about earlier
        articles take their date from `earlier` when given).
    earlier
        Timeline rows of earlier runs for the same topics (TIMELINE columns), or None.

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
    keys = ["topic", "published_date", "claim_id", "quantity", "source"]
    pool = rows.select(keys)
    if earlier is not None and earlier.height:
        pool = pl.concat([pool, earlier.select(keys)]).unique("claim_id", keep="first")
    # Pairs on the same topic and day (null dates never conflict: the day is unknown).
    others = pool.filter(pl.col("published_date").is_not_null()).rename(
        {"claim_id": "_other", "quantity": "_q", "source": "_s"}
    )
    conflicts = (
        rows.select(keys)
        .join(others, on=["topic", "published_date"], how="inner")
        .filter(
            (pl.col("_other") != pl.col("claim_id"))
            & (pl.col("_q") != pl.col("quantity"))
            & (pl.col("_s").fill_null("") != pl.col("source").fill_null(""))
        )
        .group_by("claim_id")
        .agg(conflicts_with=pl.col("_other").unique().sort())
    )
    out = (
        rows.join(conflicts, on="claim_id", how="left")
        .with_columns(
            conflicts_with=pl.col("conflicts_with").fill_null(pl.lit([], dtype=pl.List(pl.String)))
        )
        .with_columns(conflict=pl.col("conflicts_with").list.len() > 0)
    )
    return out.select(list(TIMELINE)).sort("topic", "published_date", "claim_id", nulls_last=True)
