"""Similarity, coverage and containment estimated from MinHash signatures."""

from __future__ import annotations

import numpy as np
import polars as pl

from flows.core.dedup.signatures import signature_matrix
from flows.core.kernel import pair_agreement
from flows.core.minhash import shingle
from flows.core.settings import MinHashConfig


def exact_similarity(pairs: pl.DataFrame, texts: pl.DataFrame, minhash: MinHashConfig) -> pl.Series:
    """Return the exact word-shingle Jaccard of each pair (`left`, `right` doc_ids in `texts`)."""
    needed = pl.concat([pairs["left"], pairs["right"]]).unique()
    subset = texts.filter(pl.col("doc_id").is_in(needed.implode()))
    sets = dict(
        zip(
            subset["doc_id"].to_list(),
            (set(s) for s in shingle(subset["clean_text"].to_list(), minhash, kind="word")),
            strict=True,
        )
    )
    values = []
    for left, right in pairs.select("left", "right").iter_rows():
        a, b = sets[left], sets[right]
        values.append(len(a & b) / len(a | b) if a or b else 1.0)
    return pl.Series("similarity", values, dtype=pl.Float64)


def _estimated_shared(similarity: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimate the size of two sets' intersection from their Jaccard and sizes."""
    return similarity * (a + b).astype(np.float64) / (1 + similarity)


def estimated_coverage(similarity: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimate the share of the larger of two sets that lies in the smaller one."""
    big = np.maximum(a, b).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(big > 0, np.minimum(_estimated_shared(similarity, a, b) / big, 1.0), np.nan)


def estimated_containment(similarity: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimate how much the smaller of two sets lies in the larger from Jaccard and sizes."""
    small = np.minimum(a, b).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            small > 0, np.minimum(_estimated_shared(similarity, a, b) / small, 1.0), np.nan
        )


class CharSpace:
    """Character-n-gram signatures of the short documents among a run's and history's rows."""

    def __init__(
        self,
        rows: np.ndarray,
        pos: np.ndarray,
        matrix: np.ndarray,
        numbers: np.ndarray,
    ):
        self.rows = rows  # row ids (into the run + history rows) that have a character signature
        self.pos = pos  # per row id: its row in `matrix`, or -1
        self.matrix = matrix
        self.numbers = numbers  # per row of `matrix`: a code for its `char_numbers`

    @classmethod
    def of(
        cls,
        sig_frame: pl.DataFrame,
        history: pl.DataFrame,
        searched: np.ndarray,
        minhash: MinHashConfig,
    ) -> CharSpace:
        """Collect the character signatures of searchable rows (run first, then history)."""
        column = pl.concat([sig_frame["char_signature"], history["char_signature"]])
        rows = np.flatnonzero(column.is_not_null().to_numpy() & searched)
        pos = np.full(len(column), -1, dtype=np.int64)
        pos[rows] = np.arange(len(rows))
        matrix = signature_matrix(column.gather(rows), minhash)
        numbers = pl.concat([sig_frame["char_numbers"], history["char_numbers"]]).gather(rows)
        codes = numbers.fill_null("").rank("dense").to_numpy()  # equal numbers, equal code
        return cls(rows, pos, matrix, codes)

    def compare(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Return the estimated Jaccard of row pairs (NaN unless both are short, same numbers)."""
        sim = np.full(len(left), np.nan)
        both = (self.pos[left] >= 0) & (self.pos[right] >= 0)
        # Short texts that differ in their numbers report different facts (templated notices:
        # "help today of 136 mln stg" against "412 mln stg"), however alike their letters are.
        both[both] = self.numbers[self.pos[left[both]]] == self.numbers[self.pos[right[both]]]
        if both.any():
            i, j = self.pos[left[both]], self.pos[right[both]]
            sim[both] = estimate(self.matrix, i, j)
        return sim


def estimate(matrix: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Estimate the Jaccard of row pairs (the compiled kernel: no gathered copies of rows)."""
    return pair_agreement(matrix, left, right)
