"""Compiled MinHash kernel: shingle, hash and permute in one pass over UTF-8 bytes.

Produces hash values bit-identical to datasketch 2.0's ``MinHash(num_perm, seed, hashfunc=...)``
(scheme ``affine32``) updated with the same shingles and the hash functions of
`flows.core.minhash`: a character shingle hashes as xxh32 (seed 0) of its UTF-8 bytes; a word
shingle as `combine` of its words' xxh32 values, so that each word is hashed once however many
shingles it is part of. Then datasketch's MurmurHash3 ``fmix32`` pre-mix, ``a * h + b`` modulo
2^32 per permutation, and the minimum.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_P1 = np.uint64(0x9E3779B1)
_P2 = np.uint64(0x85EBCA77)
_P3 = np.uint64(0xC2B2AE3D)
_P4 = np.uint64(0x27D4EB2F)
_P5 = np.uint64(0x165667B1)
_M32 = np.uint64(0xFFFFFFFF)
_EMPTY = np.uint32(0xFFFFFFFF)


@njit(inline="always")
def _rotl(x: np.uint64, r: int) -> np.uint64:
    return ((x << np.uint64(r)) | (x >> np.uint64(32 - r))) & _M32


@njit(inline="always")
def _read32(buf: np.ndarray, i: int) -> np.uint64:
    return (
        np.uint64(buf[i])
        | (np.uint64(buf[i + 1]) << np.uint64(8))
        | (np.uint64(buf[i + 2]) << np.uint64(16))
        | (np.uint64(buf[i + 3]) << np.uint64(24))
    )


@njit
def xxh32(buf: np.ndarray, start: int, end: int) -> np.uint64:
    """Return xxh32 (seed 0) of buf[start:end], as an integer below 2^32."""
    length = end - start
    i = start
    if length >= 16:
        v1 = (_P1 + _P2) & _M32
        v2 = _P2
        v3 = np.uint64(0)
        v4 = (np.uint64(0x100000000) - _P1) & _M32
        limit = end - 16
        while i <= limit:
            v1 = (_rotl((v1 + _read32(buf, i) * _P2) & _M32, 13) * _P1) & _M32
            v2 = (_rotl((v2 + _read32(buf, i + 4) * _P2) & _M32, 13) * _P1) & _M32
            v3 = (_rotl((v3 + _read32(buf, i + 8) * _P2) & _M32, 13) * _P1) & _M32
            v4 = (_rotl((v4 + _read32(buf, i + 12) * _P2) & _M32, 13) * _P1) & _M32
            i += 16
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M32
    else:
        h = _P5
    h = (h + np.uint64(length)) & _M32
    while i + 4 <= end:
        h = (_rotl((h + _read32(buf, i) * _P3) & _M32, 17) * _P4) & _M32
        i += 4
    while i < end:
        h = (_rotl((h + np.uint64(buf[i]) * _P5) & _M32, 11) * _P1) & _M32
        i += 1
    h ^= h >> np.uint64(15)
    h = (h * _P2) & _M32
    h ^= h >> np.uint64(13)
    h = (h * _P3) & _M32
    h ^= h >> np.uint64(16)
    return h


_SEED = np.uint64(0x9E3779B1)
_MIX = np.uint64(0x85EBCA77)


@njit(inline="always")
def combine(h: np.uint64, word: np.uint64) -> np.uint64:
    """Fold one word's hash into a word shingle's running hash (order-sensitive)."""
    return _rotl(((h ^ word) * _MIX) & _M32, 13)


@njit(inline="always")
def _fmix32(h: np.uint64) -> np.uint64:
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & _M32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & _M32
    h ^= h >> np.uint64(16)
    return h


@njit(inline="always")
def _update(mins: np.ndarray, hv: np.uint64, a: np.ndarray, b: np.ndarray) -> None:
    # Branch-free and in 32-bit lanes (a * h + b wraps modulo 2^32 exactly as datasketch's
    # affine32 does), so the loop over permutations vectorises.
    h = np.uint32(_fmix32(hv))
    for k in range(a.shape[0]):
        mins[k] = min(mins[k], np.uint32(a[k] * h + b[k]))


# Word bytes as a table: ASCII letters and digits, and every byte of a non-ASCII character.
_WORD_BYTE = np.array(
    [c >= 128 or 48 <= c <= 57 or 97 <= c <= 122 or 65 <= c <= 90 for c in range(256)],
    dtype=np.bool_,
)


@njit(inline="always")
def _is_word_byte(c: np.uint8) -> np.bool_:
    # The text was pre-folded so that the only non-ASCII characters left are letters and digits.
    return _WORD_BYTE[c]


@njit
def _compact(data: np.ndarray, s: int, e: int, buf: np.ndarray) -> int:
    """Copy data[s:e] into buf as tokens joined by single spaces; return the length."""
    n = 0
    pending = False
    for i in range(s, e):
        c = data[i]
        if _is_word_byte(c):
            if pending and n > 0:
                buf[n] = 32
                n += 1
            pending = False
            buf[n] = c
            n += 1
        else:
            pending = True
    return n


@njit
def _word_minhash(
    data: np.ndarray, s: int, e: int, n: int, a: np.ndarray, b: np.ndarray, mins: np.ndarray
) -> int:
    """Fold every word n-gram of data[s:e] into mins; return the number of words.

    Words are the runs of word bytes, hashed in place: no compacted copy of the text is made.
    """
    words = np.empty((e - s) // 2 + 1, dtype=np.uint64)
    t = 0
    i = s
    while i < e:
        while i < e and not _is_word_byte(data[i]):
            i += 1
        if i >= e:
            break
        j = i + 1
        while j < e and _is_word_byte(data[j]):
            j += 1
        words[t] = xxh32(data, i, j)
        t += 1
        i = j
    if t == 0:
        return 0
    width = min(n, t)
    for i in range(t - width + 1):
        h = _SEED
        for j in range(i, i + width):
            h = combine(h, words[j])
        _update(mins, h, a, b)
    return t


@njit
def _char_hashes(buf: np.ndarray, e: int, n: int) -> np.ndarray:
    """Return the xxh32 of every code point n-gram of a compacted text (all of it if n or less)."""
    cps = np.empty(e + 1, dtype=np.int64)
    c = 0
    for i in range(e):
        if (buf[i] & 0xC0) != 0x80:  # first byte of a UTF-8 code point
            cps[c] = i
            c += 1
    cps[c] = e
    if c <= n:
        out = np.empty(1, dtype=np.uint64)
        out[0] = xxh32(buf, 0, e)
        return out
    out = np.empty(c - n + 1, dtype=np.uint64)
    for i in range(c - n + 1):
        out[i] = xxh32(buf, cps[i], cps[i + n])
    return out


@njit(parallel=True, cache=True)
def _signatures(
    data: np.ndarray, offsets: np.ndarray, n: int, a: np.ndarray, b: np.ndarray, words: bool
) -> tuple[np.ndarray, np.ndarray]:
    docs = offsets.shape[0] - 1
    out = np.full((docs, a.shape[0]), _EMPTY, dtype=np.uint32)
    counts = np.zeros(docs, dtype=np.int64)  # words per text (word shingles only)
    a32 = a.astype(np.uint32)
    b32 = b.astype(np.uint32)
    if words:  # words are hashed where they lie; character n-grams need the compacted text
        for d in prange(docs):
            mins = np.full(a.shape[0], _EMPTY, dtype=np.uint32)
            counts[d] = _word_minhash(data, offsets[d], offsets[d + 1], n, a32, b32, mins)
            if counts[d]:
                out[d, :] = mins
        return out, counts
    for d in prange(docs):
        buf = np.empty(offsets[d + 1] - offsets[d], dtype=np.uint8)
        e = _compact(data, offsets[d], offsets[d + 1], buf)
        if e == 0:
            continue  # an empty text keeps the all-max signature of an empty MinHash
        hashes = _char_hashes(buf, e, n)
        mins = np.full(a.shape[0], _EMPTY, dtype=np.uint32)
        for h in hashes:
            _update(mins, h, a32, b32)
        out[d, :] = mins
    return out, counts


def word_signatures(
    data: np.ndarray, offsets: np.ndarray, n: int, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sign each pre-folded text (UTF-8 bytes, offsets) by its word n-grams.

    Returns the signatures and the number of words of each text.
    """
    return _signatures(data, offsets, n, a, b, True)


def char_signatures(
    data: np.ndarray, offsets: np.ndarray, n: int, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Sign each pre-folded text (UTF-8 bytes, offsets) by its code point n-grams."""
    return _signatures(data, offsets, n, a, b, False)[0]


@njit(parallel=True, cache=True)
def _agreement(matrix: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    width = matrix.shape[1]
    out = np.empty(left.shape[0], dtype=np.float64)
    for k in prange(left.shape[0]):
        a = matrix[left[k]]
        b = matrix[right[k]]
        same = 0
        for j in range(width):
            if a[j] == b[j]:
                same += 1
        out[k] = same / width
    return out


def pair_agreement(matrix: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Return the share of equal values of rows `left[k]` and `right[k]` of a signature matrix.

    The MinHash estimate of each pair's Jaccard, as `(matrix[left] == matrix[right]).mean(1)`
    computes it, without copying the two gathered matrices (1.2M passage pairs: 1.2 GB).
    """
    if matrix.shape[1] == 0:
        return np.full(len(left), np.nan)
    return _agreement(
        np.ascontiguousarray(matrix, dtype=np.uint32),
        np.ascontiguousarray(left, dtype=np.int64),
        np.ascontiguousarray(right, dtype=np.int64),
    )


@njit(parallel=True, cache=True)
def _shared(
    values: np.ndarray, starts: np.ndarray, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    out = np.zeros(left.shape[0], dtype=np.int64)
    for k in prange(left.shape[0]):
        i, i_end = starts[left[k]], starts[left[k] + 1]
        j, j_end = starts[right[k]], starts[right[k] + 1]
        count = 0
        while i < i_end and j < j_end:
            if values[i] < values[j]:
                i += 1
            elif values[i] > values[j]:
                j += 1
            else:
                count += 1
                i += 1  # j stays: a value repeated on the left counts again
        out[k] = count
    return out


def shared_values(
    values: np.ndarray, starts: np.ndarray, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """Return, per pair, how many values of set `left[k]` set `right[k]` holds (with repeats).

    Set i is `values[starts[i]:starts[i + 1]]`, sorted. A merge of the two sets, where a join
    of the pairs with their sets' rows held every pair's rows at once (key_overlap of 875,833
    pairs of a 300,000-page run: 6.3M rows, +0.9 GB).
    """
    return _shared(
        np.ascontiguousarray(values),
        np.ascontiguousarray(starts, dtype=np.int64),
        np.ascontiguousarray(left, dtype=np.int64),
        np.ascontiguousarray(right, dtype=np.int64),
    )


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@njit(parallel=True, cache=True)
def _band_hashes(signatures: np.ndarray, rows: np.ndarray, bands: int, width: int) -> np.ndarray:
    out = np.empty((rows.shape[0], bands), dtype=np.uint64)
    for i in prange(rows.shape[0]):
        sig = signatures[rows[i]]
        for band in range(bands):
            h = _FNV_OFFSET
            for k in range(band * width, (band + 1) * width):
                h = (h ^ np.uint64(sig[k])) * _FNV_PRIME
            out[i, band] = h
    return out


def fnv_band_hashes(signatures: np.ndarray, rows: np.ndarray, bands: int, width: int) -> np.ndarray:
    """Return the 64-bit FNV-1a hash of each band of the signatures `rows` picks.

    Band j of a signature is its values `j * width` to `(j + 1) * width`, each folded in as
    one 64-bit word (the scheme of `flows.core.lsh.band_hashes`, whose stored values must stay
    valid). Returns shape `(len(rows), bands)` `uint64`.
    """
    return _band_hashes(
        np.ascontiguousarray(signatures, dtype=np.uint32),
        np.ascontiguousarray(rows, dtype=np.int64),
        bands,
        width,
    )
