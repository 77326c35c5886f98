"""Clusters of verified pairs: components, canonicals, and similarity to the canonical."""

from __future__ import annotations

import numpy as np
import polars as pl

from flows.core.cluster import components
from flows.core.dedup.signatures import INDEX_COLUMNS
from flows.core.dedup.similarity import CharSpace, estimate
from flows.core.lsh import band_hashes, band_pairs, choose_banding
from flows.core.minhash import signatures_and_word_counts
from flows.core.settings import MinHashConfig

# Canonical order within a cluster: earliest date, least boilerplate, longest, then ids.
_RULE_BY = ["published_date", "boilerplate_ratio", "n_chars", "doc_id"]


_RULE_DESC = [False, False, True, False]


def near_duplicate_components(
    ids: pl.Series, texts: list[str], minhash: MinHashConfig, threshold: float
) -> pl.DataFrame:
    """Label texts with connected components of their near-duplicate pairs (word shingles).

    Returns a frame of `id` and `component`, one row per id (ids must be unique).
    """
    series = pl.Series(texts, dtype=pl.String)
    matrix, counts = signatures_and_word_counts(series, minhash)
    rows = np.flatnonzero(counts > 0)
    banding = choose_banding(threshold, minhash.num_perm)
    none = np.empty(0, dtype=np.int64)
    pairs = band_pairs(rows, band_hashes(matrix, banding, rows), none, none, none)
    pairs = pairs[estimate(matrix, pairs[:, 0], pairs[:, 1]) >= threshold]
    edges = pl.DataFrame({"left": ids.gather(pairs[:, 0]), "right": ids.gather(pairs[:, 1])})
    return components(ids, edges)


def cluster_documents(
    docs: pl.DataFrame, pairs: pl.DataFrame, history: pl.DataFrame
) -> pl.DataFrame:
    """Cluster documents over verified pairs and choose one canonical per cluster.

    Parameters
    ----------
    docs
        This run's rows: `doc_id`, `source_uri`, `published_date`, `boilerplate_ratio`,
        `n_chars` (exact copies share a doc_id).
    pairs
        Verified pairs (`left`, `right`) among this run's and history's doc_ids.
    history
        Published documents (`INDEX_COLUMNS`); their clusters and canonicals stand. When one
        new document reaches several published clusters it joins the one whose canonical
        comes first by the canonical rule; the published clusters themselves are not merged.

    Returns
    -------
    pl.DataFrame
        `docs` with `cluster_id`, `is_canonical`, `duplicate_of`, `duplicate_kind`.
        A cluster touching history keeps history's canonical; otherwise its canonical is the
        earliest, least-boilerplate, longest document, ties broken by doc_id and source_uri.
    """
    hist = history.select(INDEX_COLUMNS)
    nodes = pl.concat([docs.select("doc_id"), hist.select("doc_id")]).unique(maintain_order=True)
    comp = components(nodes["doc_id"], pairs)
    rows = docs.join(comp.rename({"id": "doc_id"}), on="doc_id", how="left")
    # History nodes reached this run stand for their clusters; a cluster's canonical is the row
    # whose doc_id is the cluster_id (every published document is indexed, canonical or not).
    reached = hist.join(comp.rename({"id": "doc_id"}), on="doc_id", how="inner").filter(
        pl.col("component").is_in(rows["component"].implode())
    )
    hist_c = (
        reached.select("component", "cluster_id")
        .unique()
        .join(hist.drop("cluster_id"), left_on="cluster_id", right_on="doc_id", how="left")
        .with_columns(doc_id=pl.col("cluster_id"))
    )
    nulls_last = {"nulls_last": True}
    canon_hist = (
        hist_c.sort(_RULE_BY, descending=_RULE_DESC, **nulls_last)
        .group_by("component", maintain_order=True)
        .first()
        .select("component", _hc_doc="doc_id", _hc_cluster="cluster_id")
    )
    canon_new = (
        rows.sort([*_RULE_BY, "source_uri"], descending=[*_RULE_DESC, False], **nulls_last)
        .group_by("component", maintain_order=True)
        .first()
        .select("component", _nc_doc="doc_id", _nc_uri="source_uri")
    )
    out = (
        rows.join(canon_hist, on="component", how="left")
        .join(canon_new, on="component", how="left")
        .with_columns(
            is_canonical=pl.col("_hc_doc").is_null()
            & (pl.col("doc_id") == pl.col("_nc_doc"))
            & (pl.col("source_uri") == pl.col("_nc_uri")),
            _canon=pl.coalesce("_hc_doc", "_nc_doc"),
        )
        .with_columns(
            cluster_id=pl.coalesce("_hc_cluster", "_nc_doc"),
            duplicate_of=pl.when(pl.col("is_canonical")).then(None).otherwise(pl.col("_canon")),
        )
        .with_columns(
            duplicate_kind=pl.when(pl.col("is_canonical"))
            .then(None)
            .when(pl.col("doc_id") == pl.col("duplicate_of"))
            .then(pl.lit("exact"))
            .otherwise(pl.lit("near"))
        )
        .drop("component", "_hc_doc", "_hc_cluster", "_nc_doc", "_nc_uri", "_canon")
    )
    return out


def similarity_to_canonical(
    clustered: pl.DataFrame, ids: pl.Series, matrix: np.ndarray, chars: CharSpace
) -> pl.Series:
    """Return each row's estimated Jaccard to its canonical (null for canonicals).

    For two short texts it is the higher of the word and the character n-gram estimate.
    """
    position = pl.DataFrame({"key": ids, "_pos": np.arange(len(ids), dtype=np.int64)}).unique(
        "key", keep="first"
    )
    own = clustered.select(key="doc_id").join(position, on="key", how="left", maintain_order="left")
    can = clustered.select(key="duplicate_of").join(
        position, on="key", how="left", maintain_order="left"
    )
    own_pos = own["_pos"].to_numpy(allow_copy=True)
    can_pos = can["_pos"].to_numpy(allow_copy=True)
    found = ~(np.isnan(own_pos.astype(np.float64)) | np.isnan(can_pos.astype(np.float64)))
    values = np.full(len(clustered), np.nan)
    if found.any():
        own_rows = own_pos[found].astype(np.int64)
        can_rows = can_pos[found].astype(np.int64)
        words = estimate(matrix, own_rows, can_rows)
        values[found] = np.fmax(words, chars.compare(own_rows, can_rows))
    return pl.Series("similarity", values).fill_nan(None)
