"""Near-duplicates of a run's documents: signatures -> buckets -> verified pairs -> clusters."""

from __future__ import annotations

import numpy as np
import polars as pl

from flows.core.dedup.buckets import BUCKET_COLUMNS, dedup_banding
from flows.core.dedup.clusters import cluster_documents, similarity_to_canonical
from flows.core.dedup.signatures import doc_signatures, empty_index, signature_matrix
from flows.core.dedup.similarity import CharSpace
from flows.core.dedup.verify import VERIFY_BLOCK, CandidateHistogram, row_texts, verify_pairs
from flows.core.lsh import band_hashes, band_pairs, unique_pairs
from flows.core.settings import DedupConfig, MinHashConfig


def deduplicate(
    docs: pl.DataFrame,
    minhash: MinHashConfig,
    config: DedupConfig,
    history: pl.DataFrame | None = None,
    history_buckets: pl.DataFrame | None = None,
    sig_frame: pl.DataFrame | None = None,
    candidates: CandidateHistogram | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Mark exact and near-duplicate documents against each other and against history.

    Parameters
    ----------
    docs
        This run's documents: `doc_id`, `source_uri`, `clean_text`, `published_date`,
        `boilerplate_ratio` (exact copies share a doc_id).
    minhash, config
        Signature and threshold settings.
    history
        Rows of the signature index of earlier runs (`INDEX_COLUMNS` plus `signature`): all of
        it, or (with `history_buckets`) only the documents sharing a bucket with this run plus
        the canonicals of their clusters.
    history_buckets
        History's (`id`, `band`, `band_hash`) rows that share a bucket with this run, looked up
        in the persistent band index; when None they are computed from `history`'s signatures.
    sig_frame
        This run's `doc_signatures`, when already computed.
    candidates
        When given, counts the similarity of every candidate pair verified, accepted or not.

    Returns
    -------
    tuple
        (documents with cluster columns and `similarity`, this run's signature frame with
        `band`-ready signatures, verified candidate pairs with `similarity`).
    """
    docs = docs.with_columns(n_chars=pl.col("clean_text").str.len_chars().cast(pl.Int64))
    if history is None or history.height == 0:
        history = empty_index(minhash)
    if config.verify not in ("estimated", "exact"):
        raise ValueError(f"dedup.verify must be 'estimated' or 'exact', not {config.verify!r}")
    if sig_frame is None:
        sig_frame = doc_signatures(docs, minhash, config.short_tokens)
    history = history.unique("doc_id", keep="first", maintain_order=True)
    optional_columns = (
        ("char_signature", pl.List(pl.UInt32)),
        ("char_numbers", pl.String),
        ("numbers", pl.String),  # null in index files written before it existed: no veto
        ("names", pl.String),
    )
    for name, dtype in optional_columns:
        if name not in sig_frame.columns:  # signatures computed without the character space
            sig_frame = sig_frame.with_columns(pl.lit(None, dtype=dtype).alias(name))
        if name not in history.columns:
            history = history.with_columns(pl.lit(None, dtype=dtype).alias(name))
    banding = dedup_banding(minhash, config)
    # Rows 0..n-1 are this run's documents, n.. history's: integer ids keep the bucket and pair
    # frames small, and verification gathers rows of one signature matrix.
    n = sig_frame.height
    ids = pl.concat([sig_frame["doc_id"], history["doc_id"]])
    stored = sig_frame["signature"]
    if history.height:  # a concat copies every signature: skip it when there is no history
        stored = pl.concat([stored, history["signature"]])
    matrix = signature_matrix(stored, minhash)
    sizes = pl.concat([sig_frame["n_shingles"], history["n_shingles"]]).to_numpy()
    tokens = pl.concat([sig_frame["n_tokens"], history["n_tokens"]]).to_numpy()
    searched = tokens >= config.min_tokens
    chars = CharSpace.of(sig_frame, history, searched, minhash)
    # Texts by row, for the word alignment and the figure slots of short pairs (null where a
    # history row's text is not at hand).
    texts = row_texts(sig_frame, docs, history)
    numbers = pl.concat([sig_frame["numbers"], history["numbers"]])
    names = pl.concat([sig_frame["names"], history["names"]])
    new_rows = np.flatnonzero(searched[:n])
    new_hashes = band_hashes(matrix, banding, new_rows)
    if history_buckets is None:
        hist_rows = n + np.flatnonzero(searched[n:])
        old_ids = np.repeat(hist_rows, banding.bands)
        old_bands = np.tile(np.arange(banding.bands, dtype=np.uint16), len(hist_rows))
        old_hashes = band_hashes(matrix, banding, hist_rows).reshape(-1)
        char_rows = chars.rows[chars.rows >= n]
        char_ids = np.repeat(char_rows, banding.bands)
        char_bands = np.tile(np.arange(banding.bands, dtype=np.uint16), len(char_rows))
        char_hashes = band_hashes(chars.matrix, banding, chars.pos[char_rows]).reshape(-1)
    else:
        position = pl.DataFrame(
            {"id": history["doc_id"], "_row": pl.int_range(n, n + history.height, eager=True)}
        )
        old = history_buckets.select(BUCKET_COLUMNS).join(position, on="id", how="inner")
        in_char = old["band"].to_numpy() >= banding.bands
        old_ids = old["_row"].to_numpy()[~in_char]
        old_bands = old["band"].to_numpy()[~in_char]
        old_hashes = old["band_hash"].to_numpy()[~in_char]
        char_ids = old["_row"].to_numpy()[in_char]
        char_bands = old["band"].to_numpy()[in_char] - banding.bands
        char_hashes = old["band_hash"].to_numpy()[in_char]
    pairs = band_pairs(new_rows, new_hashes, old_ids, old_bands, old_hashes)
    new_short = chars.rows[chars.rows < n]
    if len(new_short):
        short_hashes = band_hashes(chars.matrix, banding, chars.pos[new_short])
        char_pairs = band_pairs(new_short, short_hashes, char_ids, char_bands, char_hashes)
        pairs = unique_pairs(np.concatenate([pairs, char_pairs]))
    # Only pairs touching this run (left < right, so left is one of its rows): history was
    # clustered when it was published.
    pairs = pairs[pairs[:, 0] < n]
    # Verified a block at a time: the temporaries of millions of candidates stay bounded.
    blocks = [
        verify_pairs(
            pairs[i : i + VERIFY_BLOCK],
            n,
            ids,
            docs,
            matrix,
            sizes,
            chars,
            texts,
            numbers,
            names,
            minhash,
            config,
            candidates,
        )
        for i in range(0, len(pairs), VERIFY_BLOCK)
    ]
    left = np.concatenate([b[0] for b in blocks]) if blocks else np.empty(0, dtype=np.int64)
    right = np.concatenate([b[1] for b in blocks]) if blocks else np.empty(0, dtype=np.int64)
    verified = pl.DataFrame(
        {
            "left": ids.gather(left),
            "right": ids.gather(right),
            "similarity": np.concatenate([b[2] for b in blocks]) if blocks else np.empty(0),
            "containment": np.concatenate([b[3] for b in blocks]) if blocks else np.empty(0),
        }
    ).sort("left", "right")
    # Cluster a slim frame (no texts), then attach the new columns to the documents in order.
    slim = docs.select(
        "doc_id", "source_uri", "published_date", "boilerplate_ratio", "n_chars"
    ).with_row_index("_order")
    clustered = cluster_documents(slim, verified, history).sort("_order")
    columns = clustered.select("cluster_id", "is_canonical", "duplicate_of", "duplicate_kind")
    documents = docs.hstack(columns).with_columns(
        similarity_to_canonical(clustered, ids, matrix, chars)
    )
    return documents, sig_frame, verified
