"""Word alignment of candidate pairs: which words two texts share in order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import LCSseq

from flows.core.lsh import sorted_unique, unique_inverse
from flows.core.text import fold_series


def word_hashes(texts: pl.Series) -> pl.Series:
    """Return each text's folded words as 64-bit hashes, in order (null texts stay null)."""
    return (
        fold_series(texts).str.split(" ").list.eval(pl.element().filter(pl.element() != "").hash())
    )


@dataclass(frozen=True)
class Alignment:
    """Per row pair, the longest common word subsequence and both texts' word counts."""

    common: np.ndarray
    left: np.ndarray
    right: np.ndarray

    def share(self) -> np.ndarray:
        """Return the share of the longer text's words that align with the other's (0 if empty)."""
        return self._over_longer(self.common)

    def ratio(self) -> np.ndarray:
        """Return the shorter text's word count over the longer's (0 if empty)."""
        return self._over_longer(np.minimum(self.left, self.right))

    def _over_longer(self, counts: np.ndarray) -> np.ndarray:
        longer = np.maximum(self.left, self.right)
        out = np.zeros(len(longer), dtype=np.float64)
        np.divide(counts, longer, out=out, where=longer > 0)
        return out


def align_words(texts: pl.Series, left: np.ndarray, right: np.ndarray) -> Alignment:
    """Align the words of row pairs: their longest common word subsequence.

    Parameters
    ----------
    texts
        Clean text by row id (null where unknown: such a pair aligns nothing).
    left, right
        Row ids of the pairs.

    Returns
    -------
    Alignment
        Common subsequence lengths and word counts (rapidfuzz's bit-parallel LCS over the
        words coded as characters, `_word_strings`: O(n * m / 64) a pair).
    """
    if len(left) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Alignment(empty, empty, empty)
    rows = np.unique(np.concatenate([left, right]))
    texts_as, sizes = _word_strings(texts, rows)
    at = np.searchsorted(rows, left), np.searchsorted(rows, right)
    common = np.empty(len(left), dtype=np.int64)
    # a block of pairs at a time: cpdist holds a wrapper of every string it is given (3.8M
    # pairs of a 300,000-page run: +350 MB). On every core (rapidfuzz's own threads): the
    # 34,173-page inbox's 20,888 duplicate pairs 0.12 s -> 0.06 s of wall, the same CPU.
    for start in range(0, len(left), _ALIGN_BLOCK):
        a = [texts_as[k] for k in at[0][start : start + _ALIGN_BLOCK]]
        b = [texts_as[k] for k in at[1][start : start + _ALIGN_BLOCK]]
        common[start : start + len(a)] = process.cpdist(a, b, scorer=LCSseq.similarity, workers=-1)
    return Alignment(common, sizes[at[0]], sizes[at[1]])


# Row pairs aligned at a time, and texts coded at a time.
_ALIGN_BLOCK = 100_000


_CODE_BLOCK = 20_000


def _word_strings(
    texts: pl.Series, rows: np.ndarray
) -> tuple[list[str] | list[list[int]], np.ndarray]:
    """Return the texts of `rows` as strings of one code point per distinct word, and word counts.

    The longest common subsequence of two such strings is that of their word lists (the
    coding is one-to-one), and a string holds a word in 4 bytes where a Python list of ints
    took about 36 (a 100,000-page run's aligned texts held a gigabyte of them). A word's code
    is the rank of its hash among all distinct hashes. With more distinct words than code
    points the lists of codes are returned.

    Texts are hashed `_CODE_BLOCK` at a time and each block keeps only its distinct hashes and
    every word's index among them; the codes are then looked up block by block. Ranking all
    words at once held every word's hash, rank and code together (300,000 pages: 33M words,
    +1.3 GB).
    """
    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # distinct, inverse, counts
    for start in range(0, len(rows), _CODE_BLOCK):
        words = word_hashes(texts.gather(rows[start : start + _CODE_BLOCK]))
        count = words.list.len().fill_null(0).to_numpy().astype(np.int64)
        distinct, inverse = unique_inverse(words.explode().drop_nulls().to_numpy())
        inverse = inverse.astype(np.min_scalar_type(max(len(distinct) - 1, 0)))
        blocks.append((distinct, inverse, count))
        del words  # before the next block's are made
    everyone = sorted_unique(np.concatenate([distinct for distinct, _, _ in blocks]))
    counts = [count for _, _, count in blocks]
    out: list = []
    blocks.reverse()
    while blocks:
        # taken off the list: a block's arrays are freed once coded
        distinct, inverse, count = blocks.pop()
        codes = np.searchsorted(everyone, distinct)[inverse]
        ends = np.cumsum(count)
        if len(everyone) > _CODE_POINTS:
            out.extend(
                codes[e - n : e].tolist()
                for e, n in zip(ends.tolist(), count.tolist(), strict=True)
            )
            continue
        # skip the surrogates, which a str may not hold
        data = (codes + np.where(codes >= 0xD800, 0x800, 0)).astype("<u4").tobytes()
        out.extend(
            data[4 * (e - n) : 4 * e].decode("utf-32-le")
            for e, n in zip(ends.tolist(), count.tolist(), strict=True)
        )
    return out, np.concatenate(counts)


# Code points a text's word may be coded to: all but the 2,048 surrogates.
_CODE_POINTS = 0x110000 - 0x800
