"""Texts contained in longer published texts: an article inside a live blog or a round-up."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from flows.core.kernel import shared_values
from flows.core.minhash import word_gram_table
from flows.core.settings import ContainmentConfig, MinHashConfig

CONTAINED_SCHEMA = pl.Schema(
    {"doc_id": pl.String, "contained_in": pl.String, "containment": pl.Float64}
)


def find_containers(
    published: pl.DataFrame,
    sig_frame: pl.DataFrame,
    minhash: MinHashConfig,
    config: ContainmentConfig,
    min_tokens: int = 0,
    max_ratio: float = 0.3,
) -> pl.DataFrame:
    """Find, for each published text, a much longer published text that contains it.

    Parameters
    ----------
    published
        The run's published documents (`doc_id`, `clean_text`).
    sig_frame
        `flows.core.dedup.doc_signatures` of those documents (`signature`, `n_tokens`,
        `n_shingles`).
    minhash
        Signature settings (seed of the stored signatures).
    config
        Containment threshold (and whether to search at all).
    min_tokens
        Texts with fewer words take no part, as in near-duplicate search.
    max_ratio
        A contained text has at most this share of its container's word n-grams
        (`DedupConfig.containment_min_ratio`: above it, the pair is a near-duplicate matter).

    Returns
    -------
    pl.DataFrame
        `CONTAINED_SCHEMA`: one row per contained document with its container (the one
        containing most of it, then the shortest, then the lowest doc_id) and the share of
        its distinct word n-grams found there (exact: the texts are at hand).
    """
    if not config.enabled:
        return pl.DataFrame(schema=CONTAINED_SCHEMA)
    rows = (
        published.select("doc_id", "clean_text")
        .unique("doc_id", maintain_order=True)
        .join(sig_frame.select("doc_id", "n_tokens", "n_shingles"), on="doc_id", how="inner")
        .filter(pl.col("n_tokens") >= max(min_tokens, 1))
        .sort("doc_id")
        .with_row_index("id")
        .with_columns(pl.col("id").cast(pl.Int64))
    )
    if rows.height < 2:
        return pl.DataFrame(schema=CONTAINED_SCHEMA)
    grams = _gram_table(rows["clean_text"], minhash.ngram)
    pairs = containment_candidates(grams, rows["n_shingles"], config.threshold, max_ratio)
    scored = shared_grams(grams, pairs).with_columns(
        containment=pl.col("shared") / pl.col("a_grams")
    )
    meta = rows.select("id", "doc_id", "n_shingles")
    return (
        scored.filter(pl.col("containment") >= config.threshold)
        .join(meta.select(a="id", doc_id="doc_id"), on="a")
        .join(meta.rename({"id": "b", "doc_id": "contained_in", "n_shingles": "b_size"}), on="b")
        # the container holding most of it, then the shortest, then the lowest doc_id
        .sort(
            "doc_id",
            pl.col("containment"),
            "b_size",
            "contained_in",
            descending=[False, True, False, False],
        )
        .unique("doc_id", keep="first", maintain_order=True)
        .select(list(CONTAINED_SCHEMA))
        .cast(CONTAINED_SCHEMA)
    )


def containment_candidates(
    grams: pl.DataFrame, sizes: pl.Series, threshold: float, max_ratio: float
) -> pl.DataFrame:
    """Return every pair (`a`, `b`) where text a may have `threshold` of its grams in text b.

    Prefix filtering (as in AllPairs and PPJoin): if at least `threshold` of a's d distinct
    grams are in b, b misses at most d - ceil(threshold * d) of them, so b holds one of any
    d - ceil(threshold * d) + 1 grams of a. Those are taken rarest first (fewest texts), which
    keeps the lists joined short. Exact: no pair reaching the threshold is missed, unlike the
    LSH Ensemble this replaces (a Python loop that took 29 s of 14,039 texts).

    Parameters
    ----------
    grams
        `word_gram_table` of the texts (`id`, `gram`, sorted by both).
    sizes
        Each text's word n-gram count (by `id`), for the length rule.
    threshold
        Share of a's grams that must be in b.
    max_ratio
        a has at most this share of b's n-grams (a brief in a story, not a truncated copy).

    Returns
    -------
    pl.DataFrame
        Distinct `a`, `b` (int64 ids), a != b.
    """
    size = pl.DataFrame({"id": np.arange(len(sizes), dtype=np.int64), "size": sizes})
    counted = grams.with_columns(df=pl.Series(_gram_counts(grams["gram"].to_numpy())))
    need = (pl.col("d") * threshold - 1e-9).ceil().cast(pl.Int64)
    # Each text's prefix is its own rows' business: a block of texts is sorted at a time. A
    # gram no other text holds (df 1) finds no pair, so only the others are joined.
    ends = np.searchsorted(grams["id"].to_numpy(), np.arange(0, len(sizes), _TEXT_BLOCK))
    prefix = pl.concat(
        [pl.DataFrame(schema={"a": pl.Int64, "gram": pl.UInt64})]
        + [
            counted.slice(start, stop - start)
            .with_columns(d=pl.len().over("id"))
            .sort("id", "df", "gram")
            .with_columns(rank=pl.int_range(pl.len()).over("id"))
            .filter((pl.col("rank") < pl.col("d") - need + 1) & (pl.col("df") > 1))
            .select(a="id", gram="gram")
            for start, stop in itertools.pairwise([*ends.tolist(), counted.height])
        ]
    )
    del counted
    sized = prefix.join(size.rename({"id": "a", "size": "a_size"}), on="a")
    holders = grams.join(prefix.select("gram").unique(), on="gram", how="semi")
    return (
        # the length rule right after the join: a short text's common grams then meet only
        # the long texts, not every text holding them
        sized.join(
            holders.join(
                size.rename({"id": "b_id", "size": "b_size"}), left_on="id", right_on="b_id"
            ),
            on="gram",
        )
        .filter((pl.col("a") != pl.col("id")) & (pl.col("a_size") <= max_ratio * pl.col("b_size")))
        .select("a", b="id")
        .unique()
    )


def _gram_counts(grams: np.ndarray, bits: int = 3) -> np.ndarray:
    """Return, per row, how many rows hold its gram (its texts, as a text's grams are distinct).

    Counted by parts of the hash range, on the top `bits` bits (at least 1; a gram's rows all
    fall in one part): a window over all 12.3M rows of a 300,000-page run's published texts
    took +772 MB.
    """
    part = np.empty(len(grams), dtype=np.uint8)
    shift = np.uint64(64 - bits)
    for start in range(0, len(grams), _ROW_BLOCK):  # no whole-table temporary
        part[start : start + _ROW_BLOCK] = grams[start : start + _ROW_BLOCK] >> shift
    counts = np.empty(len(grams), dtype=np.uint32)
    for p in range(1 << bits):
        rows = np.flatnonzero(part == p)
        _, inverse, count = np.unique(grams[rows], return_inverse=True, return_counts=True)
        counts[rows] = count[inverse]
    return counts


# Rows of a gram table shifted at a time.
_ROW_BLOCK = 1 << 20


def shared_grams(grams: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """Return `pairs` (`a`, `b`) with `shared` (a's grams in b) and `a_grams` (a's grams).

    `grams` is sorted by `id` and `gram`, as `word_gram_table` makes it: each text's grams
    are a sorted run, and a merge of two runs counts what they share (`shared_values`), where
    a join of the pairs with a's grams held all those rows at once.
    """
    ids = grams["id"].to_numpy()
    starts = np.searchsorted(ids, np.arange(int(ids.max()) + 2 if len(ids) else 1))
    a, b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    return pairs.with_columns(
        shared=pl.Series(shared_values(grams["gram"].to_numpy(), starts, a, b), dtype=pl.UInt32),
        a_grams=pl.Series(starts[a + 1] - starts[a], dtype=pl.UInt32),
    )


def _gram_table(texts: pl.Series, n: int) -> pl.DataFrame:
    """Return `word_gram_table(texts, n)`, made `_TEXT_BLOCK` texts at a time.

    Its folded, split and hashed words are then one block's (300,000 pages: +651 MB for the
    102k published texts at once, +296 by blocks).
    """
    return pl.concat(
        [pl.DataFrame(schema={"id": pl.Int64, "gram": pl.UInt64})]
        + [
            word_gram_table(texts.slice(start, _TEXT_BLOCK), n).with_columns(pl.col("id") + start)
            for start in range(0, len(texts), _TEXT_BLOCK)
        ],
        rechunk=True,  # one buffer, which numpy reads without a copy
    )


# Texts whose grams are made at a time.
_TEXT_BLOCK = 20_000


def attach_containers(documents: pl.DataFrame, contained: pl.DataFrame) -> pl.DataFrame:
    """Add `contained_in` and `containment` to the canonical rows of `documents`.

    Exact copies share their canonical's `doc_id`: joined on it alone, a copy would carry its
    canonical's container, and validation would quarantine it for a column the pipeline
    derived (33,661-page syndication inbox: 10 pages lost so).

    Parameters
    ----------
    documents
        Clustered documents (`doc_id`, `is_canonical`), in any order.
    contained
        `find_containers`' rows (`CONTAINED_SCHEMA`).

    Returns
    -------
    pl.DataFrame
        `documents` in its order with the two columns, null on every non-canonical row.
    """
    joined = documents.join(
        contained.select(CONTAINED_SCHEMA.names()), on="doc_id", how="left", maintain_order="left"
    )
    keep = pl.col("is_canonical") & (pl.col("contained_in") != pl.col("doc_id"))
    return joined.with_columns(
        contained_in=pl.when(keep).then(pl.col("contained_in")),
        containment=pl.when(keep).then(pl.col("containment")),
    )
