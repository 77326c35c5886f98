"""Passages grouped into near-copies, and the support of each group across stories."""

from __future__ import annotations

import numpy as np
import polars as pl

from flows.core.boilerplate.signing import PASSAGE_FULL_BUCKET, SignedPassages
from flows.core.cluster import components
from flows.core.kernel import pair_agreement
from flows.core.lsh import band_hashes, choose_banding, text_band_pairs
from flows.core.settings import BoilerplateConfig, MinHashConfig


def same_figure_links(grouped: pl.DataFrame, links: pl.DataFrame, min_chars: int) -> pl.DataFrame:
    """Drop the links of a long passage to an earlier one that states other figures.

    The history side of `passage_groups`' figures rule: a daily notice of one template is not
    a kit of last week's notices. Links to index rows written before figures were kept (null)
    stay.
    """
    if not min_chars or links.height == 0:
        return links
    run = grouped.select(
        id=pl.int_range(pl.len(), dtype=pl.Int64),
        _figures="figures",
        _long=(pl.col("end") - pl.col("start")) >= min_chars,
    )
    return (
        links.join(run, on="id", how="left", maintain_order="left")
        .filter(
            pl.col("h_figures").is_null()
            | (pl.col("h_figures") == pl.col("_figures"))
            | ~(pl.col("_long") | (pl.col("h_chars") >= min_chars))
        )
        .drop("_figures", "_long")
    )


def passage_groups(
    signed: SignedPassages,
    minhash: MinHashConfig,
    threshold: float,
    known: pl.DataFrame | None = None,
    figures_min_chars: int = 0,
) -> pl.DataFrame:
    """Group near-duplicate passages (character-shingle MinHash, LSH, verified, components).

    Parameters
    ----------
    signed
        The passages and their distinct texts' signatures (`sign_passages`).
    minhash
        Signature parameters (character n-gram size, permutations, seed).
    threshold
        Estimated Jaccard at or above which two passages are near-copies.
    known
        Boilerplate passages of earlier runs (`signature`, `support`), or None.
    figures_min_chars
        Two passages of this run, one at least this long, are near-copies only when they
        state the same figures (`BoilerplateConfig.figures_min_chars`; 0: always).

    Returns
    -------
    pl.DataFrame
        The passages with `figures`, `group` (int64), `support` (distinct documents
        in the group) and `known_support` (support of the nearest known boilerplate passage, or
        null).
    """
    passages, number = signed.frame, signed.number
    n = passages.height
    # Banded and verified once per distinct text, with the pairs occurrence-level banding
    # gives (`text_band_pairs`): 571k passages of the 34,173-page syndication inbox are 173k
    # texts, and a kit line's thousands of copies made buckets of thousands.
    rows = np.flatnonzero(signed.first)
    u = len(rows)
    m = 0 if known is None else known.height
    everything = signed.signatures
    if m:
        assert known is not None
        stored = known["signature"].to_numpy().reshape(m, -1).astype(np.uint32)
        everything = np.concatenate([everything, stored])
    banding = choose_banding(threshold, minhash.num_perm)
    found = text_band_pairs(
        band_hashes(everything, banding), number, m, max_full_bucket=PASSAGE_FULL_BUCKET
    )
    left, right = found.texts[:, 0], found.texts[:, 1]
    keep = pair_agreement(everything, left, right) >= threshold
    pairs = pl.DataFrame({"left": left[keep], "right": right[keep]})
    # Pairs within this run group texts; pairs reaching a known passage mark them.
    inner = pairs.filter((pl.col("left") < u) & (pl.col("right") < u))
    if figures_min_chars and inner.height:
        text_figures = passages["figures"].gather(rows)
        long = ((passages["end"] - passages["start"]) >= figures_min_chars).gather(rows)
        lefts, rights = inner["left"], inner["right"]
        same = text_figures.gather(lefts).to_numpy() == text_figures.gather(rights).to_numpy()
        short = ~(long.gather(lefts).to_numpy() | long.gather(rights).to_numpy())
        inner = inner.filter(pl.Series(same | short))
    ids = pl.Series("id", np.arange(u, dtype=np.int64))
    labels = components(ids, inner)["component"].gather(number)
    known_support = pl.Series("known_support", [None] * n, dtype=pl.Int64)
    if m:
        assert known is not None
        # ids are sorted within a pair, so a known passage (id >= u) is always on the right;
        # a text's pair reaches every occurrence of it, an occurrence's pair that one alone
        supports = known["support"].cast(pl.Int64).fill_null(-1).to_numpy()
        reach = pairs.filter((pl.col("left") < u) & (pl.col("right") >= u))
        per_text = np.full(u, -1, dtype=np.int64)
        np.maximum.at(per_text, reach["left"].to_numpy(), supports[reach["right"].to_numpy() - u])
        best = per_text[number]
        occ, node = found.occurrences[:, 0], found.occurrences[:, 1]
        met = pair_agreement(everything, number[occ], node) >= threshold
        np.maximum.at(best, occ[met], supports[node[met] - u])
        found_support = pl.Series("known_support", best)
        known_support = found_support.to_frame().select(
            pl.when(found_support >= 0).then(found_support).alias("known_support")
        )["known_support"]
    return passages.with_columns(
        group=labels,
        known_support=known_support,
    ).with_columns(support=pl.col("doc_id").n_unique().over("group").cast(pl.Int64))


def add_history_support(grouped: pl.DataFrame, links: pl.DataFrame | None) -> pl.DataFrame:
    """Add to each group's `support` the earlier runs' documents holding a near-copy of it.

    `grouped` rows are in passage order (row i is passage `id` i of `links`).
    """
    if links is None or links.height == 0:
        return grouped
    ids = grouped.select("group").with_row_index("id").cast({"id": pl.Int64})
    extra = (
        links.join(ids, on="id")
        .group_by("group")
        .agg(h_support=pl.col("h_doc").n_unique().cast(pl.Int64))
    )
    return (
        grouped.join(extra, on="group", how="left", maintain_order="left")
        .with_columns(support=pl.col("support") + pl.col("h_support").fill_null(0))
        .drop("h_support")
    )


def grouped_passages(
    signed: SignedPassages,
    minhash: MinHashConfig,
    config: BoilerplateConfig,
    known: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Return the passages grouped with their near-copies (`passage_groups`), none included."""
    if signed.frame.height == 0:
        return signed.frame.with_columns(
            known_support=pl.lit(None, pl.Int64),
            group=pl.lit(0, pl.Int64),
            support=pl.lit(0, pl.Int64),
        )
    return passage_groups(
        signed, minhash, config.passage_threshold, known, config.figures_min_chars
    )
