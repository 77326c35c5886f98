"""MinHash signatures, datasketch-compatible, for many texts at once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import xxhash
from datasketch import LeanMinHash, MinHash

from flows.core.settings import MinHashConfig
from flows.core.text import tokens


def hashfunc(data: bytes) -> int:
    """Hash one shingle to 32 bits (xxh32, seed 0): stable across versions and platforms."""
    return xxhash.xxh32_intdigest(data)


def word_shingles(text: str, n: int) -> list[bytes]:
    """Return the distinct word n-grams of `text` (the whole text if it has fewer than n words)."""
    words = tokens(text)
    if not words:
        return []
    if len(words) < n:
        return [" ".join(words).encode("utf-8")]
    return list({" ".join(words[i : i + n]).encode("utf-8") for i in range(len(words) - n + 1)})


def char_shingles(text: str, n: int) -> list[bytes]:
    """Return the distinct character n-grams of `text` after case, accent and space folding."""
    folded = " ".join(tokens(text))
    if not folded:
        return []
    if len(folded) <= n:
        return [folded.encode("utf-8")]
    return list({folded[i : i + n].encode("utf-8") for i in range(len(folded) - n + 1)})


def shingle(texts: Iterable[str], config: MinHashConfig, kind: str = "word") -> list[list[bytes]]:
    """Shingle each text with word n-grams (`kind="word"`) or character n-grams (`"char"`)."""
    if kind == "word":
        return [word_shingles(t, config.ngram) for t in texts]
    if kind == "char":
        return [char_shingles(t, config.char_ngram) for t in texts]
    raise ValueError(f"unknown shingle kind {kind!r}; use 'word' or 'char'")


def signatures(shingle_sets: Sequence[Sequence[bytes]], config: MinHashConfig) -> np.ndarray:
    """Compute MinHash signatures for many shingle sets.

    Parameters
    ----------
    shingle_sets
        One list of shingles (bytes) per text.
    config
        Number of permutations and seed.

    Returns
    -------
    np.ndarray
        `uint32` array of shape `(len(shingle_sets), config.num_perm)`; row i equals
        `datasketch.MinHash(num_perm, seed, hashfunc=hashfunc)` updated with set i.
        An empty set gives the all-max signature (datasketch's empty MinHash).
    """
    out = np.empty((len(shingle_sets), config.num_perm), dtype=np.uint32)
    if not shingle_sets:
        return out
    minhashes = MinHash.bulk(
        [list(s) for s in shingle_sets],
        num_perm=config.num_perm,
        seed=config.seed,
        hashfunc=hashfunc,
    )
    for i, m in enumerate(minhashes):
        out[i] = m.hashvalues
    return out


def as_lean_minhash(signature: np.ndarray, seed: int) -> LeanMinHash:
    """Wrap a stored signature as a datasketch `LeanMinHash` (for MinHashLSH and friends)."""
    return LeanMinHash(
        seed=seed, hashvalues=np.asarray(signature, dtype=np.uint64), scheme="affine32"
    )


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimate Jaccard similarity row-wise between two signature matrices of equal shape."""
    return np.asarray((a == b).mean(axis=1), dtype=np.float64)
