"""Documents' LSH buckets: the band hashes dedup searches by, and the rows of the band table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from flows.core.dedup.signatures import signature_matrix
from flows.core.lsh import Banding, band_hashes, buckets, choose_banding, sorted_unique
from flows.core.settings import DedupConfig, MinHashConfig

# Columns of a bucket row: an item, a band, and the hash of its values in that band.
BUCKET_COLUMNS = ("id", "band", "band_hash")


def doc_buckets(sig_frame: pl.DataFrame, banding: Banding) -> pl.DataFrame:
    """Band signatures into (id, band, band_hash) rows; documents without shingles are left out.

    Character signatures of short documents (`char_signature`, when present) band into bands
    `banding.bands` and up, so one band table holds both spaces and they never share a bucket.
    """
    spaces = _band_spaces(sig_frame, banding)
    return pl.concat(
        [
            pl.DataFrame(schema=BUCKET_ROWS),
            *(_space_rows(s, banding, 0, banding.bands) for s in spaces),
        ]
    )


def doc_bucket_chunks(
    sig_frame: pl.DataFrame, banding: Banding, bands_per_chunk: int = 8
) -> Iterator[pl.DataFrame]:
    """Yield the rows of `doc_buckets` sorted by band, band hash and id, a block of bands at a time.

    The chunks, concatenated, are `doc_buckets(...).sort("band", "band_hash", "id")`; only one
    block of bands is in memory at a time: the whole table of the 100,000-page syndication
    inbox (7.7M rows) took 330 MB and its sort 340 MB more, the peak of a run's publishing.

    Parameters
    ----------
    sig_frame
        Signatures as `doc_buckets` takes them.
    banding
        The document banding.
    bands_per_chunk
        Bands per chunk, in each space (word, character).

    Yields
    ------
    pl.DataFrame
        `id`, `band`, `band_hash` rows of consecutive blocks of bands, each sorted; none when
        no document has a band.
    """
    if bands_per_chunk < 1:
        raise ValueError(f"bands_per_chunk must be at least 1, not {bands_per_chunk}")
    for space in _band_spaces(sig_frame, banding):
        for start in range(0, banding.bands, bands_per_chunk):
            stop = min(start + bands_per_chunk, banding.bands)
            yield _space_rows(space, banding, start, stop).sort("band", "band_hash", "id")


def doc_bucket_keys(sig_frame: pl.DataFrame, banding: Banding) -> pl.DataFrame:
    """Return the distinct (`band`, `band_hash`) of `doc_buckets`: the buckets to look up.

    A lookup reads only the keys, and the bucket rows of a 300,000-page run (23M, each with
    its doc_id) took +1.3 GB; the keys are each band's distinct hashes.

    Parameters
    ----------
    sig_frame, banding
        As `doc_buckets` takes them.

    Returns
    -------
    pl.DataFrame
        `band`, `band_hash`, each bucket once, sorted.
    """
    keys = [pl.DataFrame(schema=BUCKET_ROWS).select("band", "band_hash")]
    for space in _band_spaces(sig_frame, banding):
        hashes = band_hashes(space.matrix, banding)
        for band in range(banding.bands):
            distinct = sorted_unique(hashes[:, band].copy())  # np.unique hashes: 12x slower
            keys.append(
                pl.DataFrame(
                    {
                        "band": np.full(len(distinct), space.first_band + band, dtype=np.uint16),
                        "band_hash": distinct,
                    }
                )
            )
    return pl.concat(keys, rechunk=True)


# The columns of `doc_buckets`, and of the published band table.
BUCKET_ROWS = pl.Schema({"id": pl.String, "band": pl.UInt16, "band_hash": pl.UInt64})


@dataclass(frozen=True)
class _BandSpace:
    """The signatures of one band space: ids, their `(n, num_perm)` matrix, its first band."""

    ids: pl.Series
    matrix: np.ndarray
    first_band: int


def _band_spaces(sig_frame: pl.DataFrame, banding: Banding) -> list[_BandSpace]:
    """Return the word space (documents with shingles) and the character space, when not empty."""
    spaces = []
    signed = sig_frame.filter(pl.col("n_shingles") > 0)
    if signed.height:
        matrix = signed["signature"].to_numpy().reshape(signed.height, -1)
        spaces.append(_BandSpace(signed["doc_id"], matrix, 0))
    if "char_signature" in sig_frame.columns:
        short = sig_frame.filter(pl.col("char_signature").is_not_null())
        if short.height:
            matrix = signature_matrix(short["char_signature"], None)
            spaces.append(_BandSpace(short["doc_id"], matrix, banding.bands))
    return spaces


def _space_rows(space: _BandSpace, banding: Banding, start: int, stop: int) -> pl.DataFrame:
    """Return the `buckets` rows of bands `start` to `stop` (exclusive) of one band space."""
    # A band hashes its own `rows` values only, so a block of bands is banded from its columns.
    columns = np.ascontiguousarray(space.matrix[:, start * banding.rows : stop * banding.rows])
    rows = buckets(space.ids, columns, Banding(stop - start, banding.rows))
    offset = space.first_band + start
    return rows.with_columns(pl.col("band") + offset) if offset else rows


def dedup_banding(minhash: MinHashConfig, config: DedupConfig) -> Banding:
    """Return the banding of document-level near-duplicate search for these settings."""
    return choose_banding(config.candidate_threshold, minhash.num_perm, config.bands, config.rows)
