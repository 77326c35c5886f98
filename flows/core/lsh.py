"""LSH banding as a columnar group-by, and candidate pairs from the buckets."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import polars as pl

from flows.core.kernel import fnv_band_hashes


@dataclass(frozen=True)
class Banding:
    """How a signature of `num_perm` values is cut into `bands` bands of `rows` values."""

    bands: int
    rows: int


def choose_banding(
    threshold: float,
    num_perm: int,
    bands: int | None = None,
    rows: int | None = None,
    false_positive_weight: float = 0.1,
    false_negative_weight: float = 0.9,
) -> Banding:
    """Choose bands and rows for a Jaccard threshold.

    Parameters
    ----------
    threshold
        Jaccard similarity above which pairs should become candidates.
    num_perm
        Signature length.
    bands, rows
        Explicit overrides; when both are None they are chosen by datasketch's integration of
        false-positive and false-negative probability, as `MinHashLSH` does.
    false_positive_weight, false_negative_weight
        Weights of that integration. Candidates are verified afterwards, so a false positive
        costs one comparison while a false negative is a missed duplicate: the defaults favour
        recall (128 perms at 0.7 give 20 bands x 6 rows: P(candidate | J=0.75) = 0.98, against
        0.66 with equal weights).

    Returns
    -------
    Banding
    """
    if bands is not None and rows is not None:
        if bands * rows > num_perm:
            raise ValueError(f"bands*rows = {bands * rows} exceeds num_perm = {num_perm}")
        return Banding(bands, rows)
    if bands is not None or rows is not None:
        raise ValueError("give both bands and rows, or neither")
    return _optimal_banding(threshold, num_perm, false_positive_weight, false_negative_weight)


@functools.cache
def _optimal_banding(
    threshold: float, num_perm: int, false_positive_weight: float, false_negative_weight: float
) -> Banding:
    """Return datasketch's optimal banding, integrated once a process per set of arguments.

    The integration takes 15 ms, and the boilerplate stage alone asked for the same banding
    a dozen times (0.2 s of the 34,173-page inbox's stage). datasketch is imported here, not
    with the module: its package imports scipy.integrate and redis (0.5 s of a run's start).
    """
    from datasketch.lsh import _optimal_param

    b, r = _optimal_param(threshold, num_perm, false_positive_weight, false_negative_weight)
    return Banding(int(b), int(r))


def band_hashes(
    signatures: np.ndarray, banding: Banding, rows: np.ndarray | None = None
) -> np.ndarray:
    """Hash each band of each signature to 64 bits; returns shape `(n, bands)` `uint64`.

    `rows` picks signatures by index (all when None). Each band is 64-bit FNV-1a over its
    values (`flows.core.kernel.fnv_band_hashes`): a fixed, platform-independent mix, so stored
    band hashes stay valid. Compiled: numpy's 64-bit working copies took 0.9 s for the 173k
    passage texts of the 34,173-page syndication inbox, the kernel 0.07 s.
    """
    picked = np.arange(signatures.shape[0], dtype=np.int64) if rows is None else rows
    if len(picked) == 0:
        return np.empty((0, banding.bands), dtype=np.uint64)
    return fnv_band_hashes(signatures, picked, banding.bands, banding.rows)


def buckets(ids: pl.Series, signatures: np.ndarray, banding: Banding) -> pl.DataFrame:
    """Return one row per (item, band) with its band hash: columns `id`, `band`, `band_hash`."""
    hashes = band_hashes(signatures, banding)
    n = len(ids)
    return pl.DataFrame(
        {
            "id": np.repeat(ids.to_numpy(), banding.bands) if n else ids.clear(),
            "band": np.tile(np.arange(banding.bands, dtype=np.uint16), n),
            "band_hash": hashes.reshape(-1),
        }
    )


def candidate_pairs(bucket_rows: pl.LazyFrame, max_full_bucket: int = 32) -> pl.LazyFrame:
    """Return candidate pairs `(left, right)`, left < right, from items sharing a bucket.

    A bucket of up to `max_full_bucket` items yields all its pairs. A larger bucket (a template
    or boilerplate passage shared by thousands of items) yields a star to its smallest item plus
    a chain through the sorted items, at most 2k pairs instead of k^2: enough to connect the
    bucket when its members really are near each other, at the risk of missing a pair when
    outliers sit between them (other bands usually supply that pair).
    """
    members = (
        bucket_rows.group_by("band", "band_hash")
        .agg(pl.col("id").unique().sort().alias("ids"))
        .filter(pl.col("ids").list.len() > 1)
    )
    small = (
        members.filter(pl.col("ids").list.len() <= max_full_bucket)
        .select(left=pl.col("ids"), right=pl.col("ids"))
        .explode("left")
        .explode("right")
        .filter(pl.col("left") < pl.col("right"))
    )
    large = (
        members.filter(pl.col("ids").list.len() > max_full_bucket)
        .select(
            pl.col("ids").list.first().alias("first"),
            pl.col("ids").list.slice(0, pl.col("ids").list.len() - 1).alias("prev"),
            pl.col("ids").list.slice(1).alias("next"),
        )
        .explode("prev", "next")
    )
    star = large.select(pl.col("first").alias("left"), pl.col("next").alias("right"))
    chain = large.select(pl.col("prev").alias("left"), pl.col("next").alias("right"))
    return pl.concat([small, star, chain]).filter(pl.col("left") != pl.col("right")).unique()


def stable_argsort(values: np.ndarray) -> np.ndarray:
    """Return the indices that sort `values`, equal values in their order (a stable sort).

    As `np.argsort(values, kind="stable")`, on polars' multithreaded sort: numpy's stable sort
    of 64-bit band hashes is a single-threaded merge sort, 0.82 s of CPU for 25 bands of
    400,000 hashes against 0.68 s (0.40 s wall on two cores) here.
    """
    frame = pl.DataFrame({"v": values})
    return frame.select(pl.arg_sort_by("v", maintain_order=True)).to_series().to_numpy()


def _run_pairs(ids: np.ndarray, hashes: np.ndarray, max_full_bucket: int) -> np.ndarray:
    """Return pairs (k, 2) of ids sharing a hash: all pairs in small runs, star+chain in large."""
    if len(ids) < 2:
        return np.empty((0, 2), dtype=np.int64)
    order = stable_argsort(hashes)
    sorted_hashes = hashes[order]
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_hashes[1:] != sorted_hashes[:-1]])
    sizes = np.diff(np.r_[starts, len(sorted_hashes)])
    small = (sizes > 1) & (sizes <= max_full_bucket)
    parts = [_all_run_pairs(sorted_ids, starts[small], sizes[small])]
    for size in np.unique(sizes[sizes > max_full_bucket]):
        run_starts = starts[sizes == size]
        k = np.arange(1, int(size))
        first = np.repeat(sorted_ids[run_starts], len(k))
        nxt = sorted_ids[(run_starts[:, None] + k[None, :]).ravel()]
        prev = sorted_ids[(run_starts[:, None] + k[None, :] - 1).ravel()]
        left = np.r_[first, prev]
        right = np.r_[nxt, nxt]
        parts.append(np.stack([np.minimum(left, right), np.maximum(left, right)], axis=1))
    return np.concatenate(parts)


def band_pairs(
    ids: np.ndarray,
    hashes: np.ndarray,
    extra_ids: np.ndarray,
    extra_bands: np.ndarray,
    extra_hashes: np.ndarray,
    max_full_bucket: int = 8,
) -> np.ndarray:
    """Return candidate pairs, band by band, from a dense band-hash matrix plus extra rows.

    Parameters
    ----------
    ids, hashes
        Integer ids `(n,)` and their band hashes `(n, bands)` (`band_hashes`).
    extra_ids, extra_bands, extra_hashes
        Further (id, band, band_hash) rows, e.g. history rows looked up in the band index.
    max_full_bucket
        As in `candidate_pairs`: all pairs in buckets up to this size, star+chain above. 8 for
        documents: with word 3-grams and 64x2 banding the copies of one story fill buckets of
        dozens, and all their pairs made the 1M benchmark verify 31.4M pairs in 232 s; 8
        verified 18.3M in 154 s with the same scores on bench/syndication_hard.py's splits
        (2026-12-02). Passages (`candidate_pairs`) keep 32.

    Returns
    -------
    np.ndarray
        Distinct pairs `(k, 2)` of int64 ids with left < right: the same pairs as
        `candidate_pairs` on the long bucket rows, one band at a time, so memory follows one
        band's rows rather than all of them.
    """
    by_band = np.argsort(extra_bands, kind="stable")
    bounds = np.searchsorted(extra_bands[by_band], np.arange(hashes.shape[1] + 1))
    top = max(int(ids.max(initial=-1)), int(extra_ids.max(initial=-1)))
    if top >= 1 << 32:  # pragma: no cover - beyond 4 billion ids
        raise ValueError("band_pairs packs ids into 32 bits")
    keys = []
    for band in range(hashes.shape[1]):
        sel = by_band[bounds[band] : bounds[band + 1]]
        band_ids = np.r_[ids, extra_ids[sel]].astype(np.int64)
        band_hashes = np.r_[hashes[:, band], extra_hashes[sel]].astype(np.uint64)
        pairs = _run_pairs(band_ids, band_hashes, max_full_bucket)
        keys.append(_pack(pairs[pairs[:, 0] != pairs[:, 1]]))
    return _unpack(sorted_unique(np.concatenate(keys))) if keys else _unpack(_EMPTY_KEYS)


_EMPTY_KEYS = np.empty(0, dtype=np.uint64)


def _pack(pairs: np.ndarray) -> np.ndarray:
    """Pack `(k, 2)` ids below 2^32 into one uint64 each (left in the high half)."""
    return (pairs[:, 0].astype(np.uint64) << np.uint64(32)) | pairs[:, 1].astype(np.uint64)


def _unpack(keys: np.ndarray) -> np.ndarray:
    """Unpack `_pack` keys into `(k, 2)` int64 ids."""
    out = np.empty((len(keys), 2), dtype=np.int64)
    out[:, 0] = (keys >> np.uint64(32)).astype(np.int64)
    out[:, 1] = (keys & np.uint64(0xFFFFFFFF)).astype(np.int64)
    return out


def sorted_unique(keys: np.ndarray) -> np.ndarray:
    """Return the distinct values of a uint64 array, sorted (in place: the input is consumed).

    A sort and a neighbour comparison: numpy 2's hash-based `np.unique` took 67 s and 3 GB on
    the 1M-document benchmark's pair keys, its row-wise `np.unique(axis=0)` 40 s.
    """
    keys.sort()
    if len(keys) < 2:
        return keys
    keep = np.empty(len(keys), dtype=bool)
    keep[0] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct values of a 1-D array, sorted, and each value's index among them.

    As `np.unique(values, return_inverse=True)`, by polars' hash-based unique and a join:
    6M word hashes of 168,000 distinct words took 1.78 s of CPU in numpy (a sort of all of
    them) against 0.23 s here.
    """
    frame = pl.DataFrame({"v": values})
    distinct = frame["v"].unique().sort()
    index = frame.join(
        distinct.to_frame().with_row_index("i"), on="v", how="left", maintain_order="left"
    )["i"]
    return distinct.to_numpy(), index.to_numpy()


def unique_pairs(pairs: np.ndarray) -> np.ndarray:
    """Return the distinct rows of a `(k, 2)` array of int64 ids below 2^32, sorted."""
    if len(pairs) == 0:
        return np.empty((0, 2), dtype=np.int64)
    return _unpack(sorted_unique(_pack(pairs)))


@dataclass(frozen=True)
class TextPairs:
    """Candidate pairs of `text_band_pairs`: between texts, and between an occurrence and a row.

    `texts` are distinct node pairs `(k, 2)`, left < right, between two texts or (where every
    occurrence of the text meets the row) a text and an extra row; `occurrences` are distinct
    `(occurrence, node)` pairs of extra rows met by one occurrence of a text only.
    """

    texts: np.ndarray
    occurrences: np.ndarray


def text_band_pairs(
    hashes: np.ndarray, text_of: np.ndarray, extra: int, max_full_bucket: int
) -> TextPairs:
    """Return `band_pairs`' candidates of repeated texts, computed once per distinct text.

    `band_pairs` pairs occurrences: all pairs in a bucket of up to `max_full_bucket`
    occurrences, a star from its first occurrence and a chain of consecutive ones above. A text
    repeated on thousands of pages (a kit line) makes buckets of thousands of its own copies,
    which pair only with each other. This gives the same pairs, mapped to texts, sorting texts
    instead of occurrences: a bucket's size is the sum of its texts' occurrences, and only the
    large buckets holding two texts or more are laid out occurrence by occurrence (for the
    chain).

    Parameters
    ----------
    hashes
        Band hashes `(u + extra, bands)` of the `u` distinct texts, numbered in order of first
        occurrence, then of `extra` rows (e.g. known passages) that come after every
        occurrence, one occurrence each.
    text_of
        The text number of each occurrence `(n,)`, in occurrence order.
    extra
        How many extra rows end `hashes`.
    max_full_bucket
        As in `band_pairs`.

    Returns
    -------
    TextPairs
        Node ids are text numbers, then `u + j` for extra row j; occurrence ids index
        `text_of`. Pairs of a text with itself are left out.
    """
    u = hashes.shape[0] - extra
    weight = np.r_[np.bincount(text_of, minlength=u), np.ones(extra, dtype=np.int64)]
    # occurrences by text, each text's in occurrence order (for laying out large buckets)
    by_text = np.argsort(text_of, kind="stable")
    text_start = np.r_[0, np.cumsum(weight[:u])]
    first = by_text[text_start[:-1]]  # each text's first and last occurrence
    last = by_text[text_start[1:] - 1]
    nodes = np.arange(u + extra, dtype=np.int64)
    text_keys, occ_keys = [], []
    for band in range(hashes.shape[1]):
        order = stable_argsort(hashes[:, band])
        ordered = hashes[order, band]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        counts = np.diff(np.r_[starts, len(order)])
        sizes = np.add.reduceat(weight[order], starts)
        members = nodes[order]
        # Small buckets: all pairs of their nodes (their occurrences pair all with all).
        small = (sizes <= max_full_bucket) & (counts > 1)
        text_keys.append(_pack(_all_run_pairs(members, starts[small], counts[small])))
        large = sizes > max_full_bucket
        if not large.any():
            continue
        l_starts, l_counts = starts[large], counts[large]
        center = members[l_starts]  # the smallest node: its first occurrence leads the bucket
        # star: the first occurrence with every other occurrence, i.e. its text with every
        # other text of the bucket, and that occurrence with every extra row
        k = np.arange(1, l_counts.max(initial=1))
        star_at = l_starts[:, None] + k[None, :]
        valid = k[None, :] < l_counts[:, None]
        other = members[star_at[valid]]
        hub = np.broadcast_to(center[:, None], star_at.shape)[valid]
        led = hub < u  # a bucket of extra rows alone pairs no text
        other, hub = other[led], hub[led]
        is_text = other < u
        text_keys.append(_pack(np.stack([hub[is_text], other[is_text]], axis=1)))
        occ_keys.append(_pack(np.stack([first[hub[~is_text]], other[~is_text]], axis=1)))
        # chain: consecutive occurrences. The last occurrence of the bucket's texts meets its
        # first extra row (extra rows follow every occurrence); between texts, see below.
        run = np.repeat(np.arange(len(l_starts)), l_counts)
        seg = members[l_starts.repeat(l_counts) + _ranks(l_counts)]
        seg_text = seg < u
        texts_in = np.bincount(run[seg_text], minlength=len(l_starts))
        extras_in = l_counts - texts_in
        has_both = (texts_in > 0) & (extras_in > 0)
        if has_both.any():
            # per bucket (a run of `seg`): the last occurrence of its texts, its first extra row
            seg_starts = np.r_[0, np.cumsum(l_counts)[:-1]]
            last_occ = np.maximum.reduceat(
                np.where(seg_text, last[np.where(seg_text, seg, 0)], -1), seg_starts
            )
            first_extra = np.minimum.reduceat(np.where(seg_text, u + extra, seg), seg_starts)
            occ_keys.append(_pack(np.stack([last_occ[has_both], first_extra[has_both]], axis=1)))
        # extra rows follow each other in node order: pairs of two extra rows matter to no one
        mixed = texts_in > 1
        if mixed.any():
            pick = mixed[run] & seg_text
            m_run, m_text = run[pick], seg[pick]
            lengths = weight[m_text]
            occ = by_text[_ranks(lengths) + np.repeat(text_start[m_text], lengths)]
            occ_run = np.repeat(m_run, lengths)
            laid = np.lexsort((occ, occ_run))
            occ_run, occ_text = occ_run[laid], text_of[occ[laid]]
            step = (occ_run[1:] == occ_run[:-1]) & (occ_text[1:] != occ_text[:-1])
            a, b = occ_text[:-1][step], occ_text[1:][step]
            text_keys.append(_pack(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)))
    return TextPairs(
        texts=_unpack(sorted_unique(np.concatenate(text_keys or [_EMPTY_KEYS]))),
        occurrences=_unpack(sorted_unique(np.concatenate(occ_keys or [_EMPTY_KEYS]))),
    )


def _ranks(lengths: np.ndarray) -> np.ndarray:
    """Return 0..len-1 for each length, concatenated."""
    total = int(lengths.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def _all_run_pairs(members: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Return all pairs (left < right) of `members` within each run `starts[i] : + counts[i]`."""
    parts = [np.empty((0, 2), dtype=np.int64)]
    for size in np.unique(counts):
        run_starts = starts[counts == size]
        i, j = np.triu_indices(int(size), 1)
        left = members[run_starts[:, None] + i[None, :]].ravel()
        right = members[run_starts[:, None] + j[None, :]].ravel()
        parts.append(np.stack([np.minimum(left, right), np.maximum(left, right)], axis=1))
    return np.concatenate(parts)
