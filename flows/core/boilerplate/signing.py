"""Passages signed and banded: the MinHash of each distinct passage text."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from flows.core.dedup import numbers_key
from flows.core.lsh import Banding, buckets, choose_banding
from flows.core.minhash import fast_signatures
from flows.core.passages import split_passages
from flows.core.settings import BoilerplateConfig, MinHashConfig

# All pairs in a band bucket of up to this many passages, a star and a chain above (a kit on
# thousands of pages): `flows.core.lsh.band_pairs`, as `candidate_pairs` did for passages.
PASSAGE_FULL_BUCKET = 32


def passage_banding(minhash: MinHashConfig, config: BoilerplateConfig) -> Banding:
    """Return the LSH banding of passage signatures (from the passage threshold)."""
    return choose_banding(config.passage_threshold, minhash.num_perm)


def min_shared_bands(banding: Banding, threshold: float) -> int:
    """Return the fewest shared bands whose Jaccard estimate reaches `threshold`.

    A pair of Jaccard s shares a band with probability s ** rows, so sharing n of `bands` bands
    estimates s as (n / bands) ** (1 / rows).
    """
    for n in range(1, banding.bands + 1):
        if (n / banding.bands) ** (1 / banding.rows) >= threshold:
            return n
    return banding.bands


@dataclass(frozen=True)
class SignedPassages:
    """A run's passages and the MinHash signature of each distinct passage text.

    A kit line repeats on thousands of pages (571k passages of the 34,173-page syndication
    inbox are 172k texts): each text is signed, banded and verified once, and its signature
    (512 bytes) is kept once, not per passage.

    Attributes
    ----------
    frame : pl.DataFrame
        `PASSAGES` rows plus `figures` (`passage_figures`).
    number : np.ndarray
        Each row's text number (`int64`, order of first appearance): its row of `signatures`.
    first : np.ndarray
        Whether a row is the first occurrence of its text (`bool`).
    signatures : np.ndarray
        `uint32` `(texts, num_perm)`: character-shingle MinHash of each distinct text.
    """

    frame: pl.DataFrame
    number: np.ndarray
    first: np.ndarray
    signatures: np.ndarray


def sign_passages(
    docs: pl.DataFrame, minhash: MinHashConfig, config: BoilerplateConfig
) -> SignedPassages:
    """Split documents into passages and sign each distinct passage text on character shingles."""
    passages = split_passages(docs.select("doc_id", "text"), config.min_passage_chars)
    number, first = distinct_texts(passages["text"])
    texts = passages.get_column("text").filter(pl.Series(first))
    figures = passage_figures(texts).gather(pl.Series(number))
    return SignedPassages(
        passages.with_columns(figures=figures),
        number,
        first,
        passage_signatures(texts, minhash),
    )


def passage_signatures(texts: pl.Series, minhash: MinHashConfig) -> np.ndarray:
    """Return the character-shingle MinHash signatures of passage texts (`uint32`, one row each)."""
    return fast_signatures(texts, minhash, kind="char")


def distinct_texts(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Number the distinct texts in order of first appearance.

    Returns each row's text number (int64) and whether the row is its text's first (bool).
    """
    first = texts.is_first_distinct()
    kept = texts.filter(first)
    numbers = pl.DataFrame({"t": kept, "u": np.arange(len(kept), dtype=np.int64)})
    number = (
        pl.DataFrame({"t": texts})
        .join(numbers, on="t", how="left", maintain_order="left", nulls_equal=True)["u"]
        .to_numpy()
        .astype(np.int64)
    )
    return number, first.to_numpy()


def passage_buckets(signatures: np.ndarray, banding: Banding) -> pl.DataFrame:
    """Return (`id` = row of `signatures`, `band`, `band_hash`) of passage signatures."""
    ids = pl.Series("id", np.arange(signatures.shape[0], dtype=np.int64))
    return buckets(ids, signatures, banding)


def passage_figures(texts: pl.Series) -> pl.Series:
    """Return each passage text's figures (`numbers_key`: "" when it has none)."""
    return numbers_key(texts).alias("figures")
