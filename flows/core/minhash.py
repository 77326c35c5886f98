"""MinHash signatures, datasketch-compatible, for many texts at once."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import xxhash
from numba import njit

from flows.core import kernel
from flows.core.settings import MinHashConfig
from flows.core.text import fold_series, prefold_series, utf8_buffers

if TYPE_CHECKING:
    from datasketch import LeanMinHash


def hashfunc(data: bytes) -> int:
    """Hash one character shingle to 32 bits (xxh32, seed 0): stable across versions, platforms."""
    return xxhash.xxh32_intdigest(data)


_SEED = 0x9E3779B1
_MIX = 0x85EBCA77
_M32 = 0xFFFFFFFF


def word_hashfunc(data: bytes) -> int:
    """Hash one word shingle (words joined by single spaces) to 32 bits.

    Each word is hashed with xxh32 and the hashes are folded in order (multiply, rotate): as
    stable as xxh32, and what lets the compiled kernel hash every word once, not once per
    shingle it belongs to. Pass it as datasketch's `hashfunc` for word-shingle signatures.
    """
    h = _SEED
    for word in data.split(b" "):
        h = ((h ^ xxhash.xxh32_intdigest(word)) * _MIX) & _M32
        h = ((h << 13) | (h >> 19)) & _M32
    return h


def word_shingles(folded: str, n: int) -> list[bytes]:
    """Return the distinct word n-grams of a folded text (all of it if under n words)."""
    words = folded.split()
    if not words:
        return []
    if len(words) < n:
        return [" ".join(words).encode("utf-8")]
    return list({" ".join(words[i : i + n]).encode("utf-8") for i in range(len(words) - n + 1)})


def _gram_multipliers(n: int) -> np.ndarray:
    """Return n + 1 odd 64-bit multipliers (splitmix64 of 1..n+1) that mix word hashes."""
    out = []
    for k in range(1, n + 2):
        z = (k * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        out.append((z ^ (z >> 31)) | 1)
    return np.array(out, dtype=np.uint64)


def word_gram_table(texts: pl.Series, n: int) -> pl.DataFrame:
    """Return the distinct word n-grams of each text as 64-bit hashes, one row each.

    The grams of `word_shingles` (a text of fewer than n words is one gram of them all), as
    `id` (the text's position, int64) and `gram` (uint64), sorted by both. Words are folded
    and hashed once (polars' hash: stable within a process, so compare only tables of one
    process) and mixed into grams by a compiled loop (`_distinct_grams`), rather than joining
    n-gram strings: 6.8M word 3-grams of the 34,173-page syndication inbox's passages in 1.5 s
    (2026-12-07; the 3M of its distinct kept passage texts now in 0.5 s instead of 1.5 s).
    """
    folded = fold_series(texts)
    words = folded.str.split(" ")
    empty = folded.str.len_bytes().to_numpy() == 0
    counts = np.where(empty, 0, words.list.len().to_numpy()).astype(np.int64)
    h = words.filter(pl.Series(counts > 0)).explode().hash(seed=0).to_numpy()
    # Each text's grams mixed, sorted and made distinct by a compiled loop: the arrays of
    # every word's position and the sort of all rows took 1.0 s of 1.5 s for 3M grams.
    ids, grams = _distinct_grams(h.astype(np.uint64), counts, n, _gram_multipliers(n))
    return pl.DataFrame({"id": ids, "gram": grams})


@njit(cache=True)
def _distinct_grams(
    h: np.ndarray, counts: np.ndarray, n: int, mix: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (text, gram) of each text's distinct word n-grams, sorted by text and gram.

    Text i's words are the hashes `h` after those of the texts before it (`counts[i]` of
    them). A gram is the sum of its words' hashes times `mix[0..n-1]` (modulo 2^64); a text of
    fewer than n words is one gram: its words so mixed, plus its word count times `mix[n]`.
    """
    size = 0
    for c in counts:
        size += c - n + 1 if c >= n else (1 if c > 0 else 0)
    ids = np.empty(size, dtype=np.int64)
    grams = np.empty(size, dtype=np.uint64)
    o = 0
    start = 0
    for i in range(counts.shape[0]):
        c = counts[i]
        if c >= n:
            m = c - n + 1
            for p in range(m):
                g = np.uint64(0)
                for k in range(n):
                    g += h[start + p + k] * mix[k]
                grams[o + p] = g
        elif c > 0:
            m = 1
            g = np.uint64(c) * mix[n]
            for k in range(c):
                g += h[start + k] * mix[k]
            grams[o] = g
        else:
            m = 0
        if m > 1:
            grams[o : o + m] = np.sort(grams[o : o + m])
        kept = 0
        for p in range(m):
            if p == 0 or grams[o + p] != grams[o + kept - 1]:
                grams[o + kept] = grams[o + p]
                kept += 1
        ids[o : o + kept] = i
        o += kept
        start += c
    return ids[:o], grams[:o]


def char_shingles(folded: str, n: int) -> list[bytes]:
    """Return the distinct character n-grams of a folded text (all of it if n or shorter)."""
    if not folded:
        return []
    if len(folded) <= n:
        return [folded.encode("utf-8")]
    return list({folded[i : i + n].encode("utf-8") for i in range(len(folded) - n + 1)})


def shingle(texts: Iterable[str], config: MinHashConfig, kind: str = "word") -> list[list[bytes]]:
    """Fold, then shingle each text by word n-grams (`"word"`) or character n-grams (`"char"`)."""
    folded = fold_series(pl.Series(list(texts), dtype=pl.String)).to_list()
    if kind == "word":
        return [word_shingles(t, config.ngram) for t in folded]
    if kind == "char":
        return [char_shingles(t, config.char_ngram) for t in folded]
    raise ValueError(f"unknown shingle kind {kind!r}; use 'word' or 'char'")


# Texts folded and signed at a time by `fast_signatures` (~100 MB of folded news text).
SHARD_TEXTS = 100_000


@functools.cache
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return datasketch's affine32 permutation parameters (a, b) for num_perm and seed."""
    # imported on first use, not with the module: datasketch's package imports scipy.integrate
    # and redis (0.5 s of a run's start, in every process that imports this module)
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed).permutations
    return np.ascontiguousarray(a, dtype=np.uint32), np.ascontiguousarray(b, dtype=np.uint32)


def fast_signatures(texts: pl.Series, config: MinHashConfig, kind: str = "word") -> np.ndarray:
    """Compute MinHash signatures of many texts with the compiled kernel.

    Parameters
    ----------
    texts
        Raw texts; they are folded (`flows.core.text.fold`) and shingled like `shingle`.
    config
        Shingle sizes, permutations and seed.
    kind
        "word" (word n-grams, `config.ngram`) or "char" (code point n-grams, `config.char_ngram`).

    Returns
    -------
    np.ndarray
        `uint32` array `(len(texts), num_perm)`, bit-identical to `signatures(shingle(...))`
        and so to datasketch's `MinHash(num_perm, seed, hashfunc=word_hashfunc)` (word
        shingles) or `hashfunc=hashfunc` (character shingles).
    """
    if kind not in ("word", "char"):
        raise ValueError(f"unknown shingle kind {kind!r}; use 'word' or 'char'")
    if kind == "word":
        return signatures_and_word_counts(texts, config)[0]
    out = np.empty((len(texts), config.num_perm), dtype=np.uint32)
    a, b = permutations(config.num_perm, config.seed)
    # Shards bound the memory of the folded copies, whatever the number of texts.
    for start in range(0, len(texts), SHARD_TEXTS):
        shard = texts.slice(start, SHARD_TEXTS).cast(pl.String)
        data, offsets = utf8_buffers(prefold_series(shard))
        out[start : start + len(shard)] = kernel.char_signatures(
            data, offsets, config.char_ngram, a, b
        )
    return out


def signatures_and_word_counts(
    texts: pl.Series, config: MinHashConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Return word-shingle signatures (as `fast_signatures`) and each text's number of words.

    The words are those `flows.core.text.fold` cuts, counted by the kernel as it hashes them, so
    no second folded copy of the texts is made to count them.
    """
    out = np.empty((len(texts), config.num_perm), dtype=np.uint32)
    counts = np.empty(len(texts), dtype=np.int64)
    a, b = permutations(config.num_perm, config.seed)
    for start in range(0, len(texts), SHARD_TEXTS):
        shard = texts.slice(start, SHARD_TEXTS).cast(pl.String)
        data, offsets = utf8_buffers(prefold_series(shard))
        stop = start + len(shard)
        out[start:stop], counts[start:stop] = kernel.word_signatures(
            data, offsets, config.ngram, a, b
        )
    return out, counts


def signatures(
    shingle_sets: Sequence[Sequence[bytes]], config: MinHashConfig, kind: str = "word"
) -> np.ndarray:
    """Compute MinHash signatures for many shingle sets with datasketch (the reference path).

    Parameters
    ----------
    shingle_sets
        One list of shingles (bytes) per text.
    config
        Number of permutations and seed.
    kind
        "word" (hashed with `word_hashfunc`) or "char" (hashed with `hashfunc`).

    Returns
    -------
    np.ndarray
        `uint32` array of shape `(len(shingle_sets), config.num_perm)`; row i equals
        `datasketch.MinHash(num_perm, seed, hashfunc=...)` updated with set i.
        An empty set gives the all-max signature (datasketch's empty MinHash).
    """
    out = np.empty((len(shingle_sets), config.num_perm), dtype=np.uint32)
    if not shingle_sets:
        return out
    from datasketch import MinHash

    minhashes = MinHash.bulk(
        [list(s) for s in shingle_sets],
        num_perm=config.num_perm,
        seed=config.seed,
        hashfunc=word_hashfunc if kind == "word" else hashfunc,
    )
    for i, m in enumerate(minhashes):
        out[i] = m.hashvalues
    return out


def as_lean_minhash(signature: np.ndarray, seed: int) -> LeanMinHash:
    """Wrap a stored signature as a datasketch `LeanMinHash` (for MinHashLSH and friends)."""
    from datasketch import LeanMinHash

    return LeanMinHash(
        seed=seed, hashvalues=np.asarray(signature, dtype=np.uint64), scheme="affine32"
    )


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimate Jaccard similarity row-wise between two signature matrices of equal shape."""
    return np.asarray((a == b).mean(axis=1), dtype=np.float64)
