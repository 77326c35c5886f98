"""Near-duplicate documents: signatures -> buckets -> verified pairs -> clusters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import LCSseq, Levenshtein

from flows.core.cluster import components
from flows.core.kernel import pair_agreement, shared_values
from flows.core.lsh import (
    Banding,
    band_hashes,
    band_pairs,
    buckets,
    choose_banding,
    sorted_unique,
    unique_pairs,
)
from flows.core.minhash import (
    fast_signatures,
    shingle,
    signatures_and_word_counts,
)
from flows.core.settings import DedupConfig, MinHashConfig
from flows.core.text import fold_series

# The persistent index of published documents (one row per doc_id, canonical or duplicate).
INDEX_COLUMNS = ("doc_id", "cluster_id", "published_date", "boilerplate_ratio", "n_chars")

# The columns of `doc_signatures` (and of the index beyond `INDEX_COLUMNS`).
SIGNATURE_COLUMNS = (
    "doc_id",
    "signature",
    "n_tokens",
    "n_shingles",
    "char_signature",
    "char_numbers",
    "numbers",
    "names",
)

# Columns of a bucket row: an item, a band, and the hash of its values in that band.
BUCKET_COLUMNS = ("id", "band", "band_hash")

# Canonical order within a cluster: earliest date, least boilerplate, longest, then ids.
_RULE_BY = ["published_date", "boilerplate_ratio", "n_chars", "doc_id"]
_RULE_DESC = [False, False, True, False]


def signature_dtype(minhash: MinHashConfig) -> pl.DataType:
    """Return the polars dtype of a stored signature."""
    return pl.Array(pl.UInt32, minhash.num_perm)


def doc_signatures(
    docs: pl.DataFrame, minhash: MinHashConfig, short_tokens: int = 0
) -> pl.DataFrame:
    """Compute one signature per distinct `doc_id` from its `clean_text` (word n-grams).

    Parameters
    ----------
    docs
        Frame with `doc_id` and `clean_text`; repeated doc_ids (exact copies) are signed once.
    minhash
        Shingle sizes, permutations and seed.
    short_tokens
        Texts with at least one and fewer than this many words are also signed on character
        n-grams (`DedupConfig.short_tokens`; 0 signs none).

    Returns
    -------
    pl.DataFrame
        `doc_id`, `signature` (`Array[UInt32, num_perm]`), `n_tokens` (words), `n_shingles`
        (word n-grams, counted with repeats: the set size that containment estimates use),
        `char_signature` (`List[UInt32]`, null unless short), `char_numbers` (the short
        text's numbers, `numbers_key`), `numbers` (every text's numbers, `numbers_key`) and
        `names` (its capitalised words, `names_key`).
    """
    unique = docs.select("doc_id", "clean_text").unique("doc_id", keep="first", maintain_order=True)
    texts = unique["clean_text"]
    sigs, counts = signatures_and_word_counts(texts, minhash)
    tokens = pl.Series("n_tokens", counts)
    frame = pl.DataFrame(
        {
            "doc_id": unique["doc_id"],
            "signature": pl.Series(sigs, dtype=signature_dtype(minhash)),
            "n_tokens": tokens,
        }
    ).with_columns(n_shingles=shingle_count(pl.col("n_tokens"), minhash.ngram))
    columns = _char_columns(texts, tokens, minhash, short_tokens)
    return frame.hstack([*columns, numbers_key(texts).alias("numbers"), names_key(texts)])


def _char_columns(
    texts: pl.Series, tokens: pl.Series, minhash: MinHashConfig, short_tokens: int
) -> list[pl.Series]:
    """Return `char_signature` and `char_numbers` (null except for short texts)."""
    short = np.flatnonzero(((tokens > 0) & (tokens < short_tokens)).to_numpy())
    n = len(texts)
    if len(short) == 0:
        return [
            pl.Series("char_signature", [None] * n, dtype=pl.List(pl.UInt32)),
            pl.Series("char_numbers", [None] * n, dtype=pl.String),
        ]
    picked = texts.gather(short)
    sigs = fast_signatures(picked, minhash, kind="char")
    full = pl.DataFrame({"_row": np.arange(n, dtype=np.int64)})
    part = pl.DataFrame(
        {
            "_row": short.astype(np.int64),
            "char_signature": pl.Series(sigs, dtype=signature_dtype(minhash)).cast(
                pl.List(pl.UInt32)
            ),
            "char_numbers": numbers_key(picked),
        }
    )
    out = full.join(part, on="_row", how="left", maintain_order="left")
    return [out["char_signature"], out["char_numbers"]]


# Digits (1,500 / 8.18 / 16-3/8 as one figure) and number words, which short news items often
# spell out ("seven grain ships loading").
_NUMBER = (
    r"\d+(?:[.,/-]\d+)*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|thirty|forty|fifty|hundred|thousand|million|billion|trillion)\b"
)


def numbers_key(texts: pl.Series) -> pl.Series:
    """Return the distinct numbers of each text, sorted and joined ("" when it has none)."""
    found = texts.str.to_lowercase().str.extract_all(_NUMBER)
    return _distinct_joined(found.list.eval(pl.element().str.replace_all(",", ""))).alias(
        "char_numbers"
    )


def _distinct_joined(lists: pl.Series) -> pl.Series:
    """Return each list's distinct strings, sorted and joined by spaces ("" for none or null).

    One sort of all the values rather than `list.unique().list.sort()` (which sorts list by
    list: 2.2 s of 0.4 s for the 571k passages of the 34,173-page syndication inbox).
    """
    flat = (
        pl.DataFrame({"v": lists})
        .with_row_index("r")
        .explode("v")
        .drop_nulls("v")
        .unique()
        .sort("r", "v")
        .group_by("r", maintain_order=True)
        .agg(pl.col("v").str.join(" "))
    )
    rows = pl.DataFrame({"r": pl.int_range(len(lists), eager=True, dtype=pl.UInt32)})
    return rows.join(flat, on="r", how="left", maintain_order="left")["v"].fill_null("")


# Sentence starts (line starts and after . ! ?), where a capital letter says nothing of a name.
_SENTENCE_START = r"(?m)^|[.!?]\s+"
_MARK = "\x01"


def names_key(texts: pl.Series) -> pl.Series:
    """Return the distinct capitalised words of each text not at a sentence start, joined.

    The companies, people and places a report is about: "Marine Midland Banks" and "First
    Chicago Corp" raising the prime rate to the same figures are two reports. A first line
    in title case (`without_titles`) is skipped: a headline capitalises every word, and an
    outlet's new headline is no other report.
    """
    found = (
        without_titles(texts.fill_null(""))
        .str.replace_all(_SENTENCE_START, _MARK)
        .str.extract_all(rf"{_MARK}?\p{{Lu}}[\p{{L}}\p{{N}}]*")
        .list.eval(pl.element().filter(~pl.element().str.starts_with(_MARK)).str.to_lowercase())
    )
    return _distinct_joined(found).alias("names")


# A headline: at most this many words ...
_TITLE_MAX_WORDS = 20
# ... of which at least this share start with a capital ...
_TITLE_CAPITALISED = 0.6


def _title_case_line(line: pl.Expr) -> pl.Expr:
    """Return whether a line reads as a title-case headline ("Gatx Corp 3Rd Qtr Net").

    Besides most words capitalised, no lower-case word of four letters or more: title case
    leaves only short function words ("of", "in", "the") lower, while a sentence about
    "Marine Midland Banks Inc" has its "said", "raised", "from". And some lower-case letter:
    a line in capitals is a wire's table or notice ("MINNEAPOLIS WHEAT MAY7 284 1/2 UP 1"),
    whose words are its figures' labels.
    """
    words = line.str.count_matches(r"\b\p{L}[\p{L}\p{N}'-]*")
    capitalised = line.str.count_matches(r"\b\p{Lu}[\p{L}\p{N}'-]*")
    long_lower = line.str.contains(r"\b\p{Ll}\p{L}{3}")
    return (
        (words >= 2)
        & (words <= _TITLE_MAX_WORDS)
        & (capitalised >= _TITLE_CAPITALISED * words)
        & ~long_lower
        & line.str.contains(r"\p{Ll}")
    )


def without_titles(texts: pl.Series) -> pl.Series:
    """Drop the first line of each text when it is a title-case headline; null stays null.

    Only the first line: further down, short lines in title case are a notice's table rows
    ("Record April 10", "Pay May One"), whose dates and figures tell two notices apart.
    """
    # the first line alone is tested: no text is split into all its lines on this hot path
    text = texts.str.strip_chars_start()
    frame = pl.DataFrame({"text": text})
    first = pl.col("text").str.extract(r"^([^\n]*)")
    rest = pl.col("text").str.replace(r"^[^\n]*\n?", "")
    return (
        frame.select(pl.when(_title_case_line(first)).then(rest).otherwise(pl.col("text")))
        .to_series()
        .alias(texts.name)
    )


def shingle_count(n_tokens: pl.Expr, ngram: int) -> pl.Expr:
    """Return the number of word n-grams of a text of `n_tokens` words (one if fewer than n)."""
    return (
        pl.when(n_tokens <= 0)
        .then(0)
        .otherwise(pl.max_horizontal(n_tokens - ngram + 1, pl.lit(1)))
        .cast(pl.Int64)
    )


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
            matrix = _matrix(short["char_signature"], None)
            spaces.append(_BandSpace(short["doc_id"], matrix, banding.bands))
    return spaces


def _space_rows(space: _BandSpace, banding: Banding, start: int, stop: int) -> pl.DataFrame:
    """Return the `buckets` rows of bands `start` to `stop` (exclusive) of one band space."""
    # A band hashes its own `rows` values only, so a block of bands is banded from its columns.
    columns = np.ascontiguousarray(space.matrix[:, start * banding.rows : stop * banding.rows])
    rows = buckets(space.ids, columns, Banding(stop - start, banding.rows))
    offset = space.first_band + start
    return rows.with_columns(pl.col("band") + offset) if offset else rows


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
    pairs = pairs[_estimate(matrix, pairs[:, 0], pairs[:, 1]) >= threshold]
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


def _similarity_to_canonical(
    clustered: pl.DataFrame, ids: pl.Series, matrix: np.ndarray, chars: _CharSpace
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
        words = _estimate(matrix, own_rows, can_rows)
        values[found] = np.fmax(words, chars.compare(own_rows, can_rows))
    return pl.Series("similarity", values).fill_nan(None)


def dedup_banding(minhash: MinHashConfig, config: DedupConfig) -> Banding:
    """Return the banding of document-level near-duplicate search for these settings."""
    return choose_banding(config.candidate_threshold, minhash.num_perm, config.bands, config.rows)


def searchable(sig_frame: pl.DataFrame, config: DedupConfig) -> pl.DataFrame:
    """Return the signatures that take part in near-duplicate search (enough words)."""
    return sig_frame.filter(pl.col("n_tokens") >= config.min_tokens)


def empty_index(minhash: MinHashConfig) -> pl.DataFrame:
    """Return an empty signature index frame (`INDEX_COLUMNS` plus the signature columns)."""
    return pl.DataFrame(
        schema={
            "doc_id": pl.String,
            "cluster_id": pl.String,
            "published_date": pl.Date,
            "boilerplate_ratio": pl.Float64,
            "n_chars": pl.Int64,
            "signature": signature_dtype(minhash),
            "n_tokens": pl.Int64,
            "n_shingles": pl.Int64,
            "char_signature": pl.List(pl.UInt32),
            "char_numbers": pl.String,
            "numbers": pl.String,
            "names": pl.String,
        }
    )


@dataclass
class CandidateHistogram:
    """Counts of every LSH candidate pair's similarity, accepted or not, in equal bins of [0, 1].

    The verified pairs are the accepted ones only; the run report shows where all candidates
    fell against the threshold. Counting keeps memory constant however many candidates there are.
    """

    bins: int = 20
    counts: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.counts = np.zeros(self.bins, dtype=np.int64)

    def add(self, similarity: np.ndarray) -> None:
        """Count a block of similarities (NaN left out; 1.0 goes to the last bin)."""
        finite = similarity[np.isfinite(similarity)]
        self.counts += np.histogram(finite, bins=self.bins, range=(0.0, 1.0))[0]


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
    matrix = _matrix(stored, minhash)
    sizes = pl.concat([sig_frame["n_shingles"], history["n_shingles"]]).to_numpy()
    tokens = pl.concat([sig_frame["n_tokens"], history["n_tokens"]]).to_numpy()
    searched = tokens >= config.min_tokens
    chars = _CharSpace.of(sig_frame, history, searched, minhash)
    # Texts by row, for the word alignment and the figure slots of short pairs (null where a
    # history row's text is not at hand).
    texts = _row_texts(sig_frame, docs, history)
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
        _verify(
            pairs[i : i + _VERIFY_BLOCK],
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
        for i in range(0, len(pairs), _VERIFY_BLOCK)
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
        _similarity_to_canonical(clustered, ids, matrix, chars)
    )
    return documents, sig_frame, verified


# Candidate pairs verified at a time (4M pairs: ~200 MB of temporaries).
_VERIFY_BLOCK = 1 << 22


def _verify(
    pairs: np.ndarray,
    n: int,
    ids: pl.Series,
    docs: pl.DataFrame,
    matrix: np.ndarray,
    sizes: np.ndarray,
    chars: _CharSpace,
    texts: pl.Series | None,
    numbers: pl.Series,
    names: pl.Series,
    minhash: MinHashConfig,
    config: DedupConfig,
    candidates: CandidateHistogram | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the accepted pairs of a block: left, right, similarity, containment."""
    left = pairs[:, 0]
    right = pairs[:, 1]
    similarity = _estimate(matrix, left, right)
    if config.verify == "exact" and len(left):
        local = right < n
        doc_texts = docs.select("doc_id", "clean_text")
        local_pairs = pl.DataFrame(
            {"left": ids.gather(left[local]), "right": ids.gather(right[local])}
        )
        if local_pairs.height:
            similarity[local] = exact_similarity(local_pairs, doc_texts, minhash).to_numpy()
    containment = _containment(similarity, sizes[left], sizes[right])
    # A much shorter text inside a longer one is not its copy (a report inside a live blog):
    # containment makes duplicates only down to this length ratio; `contained_in` covers the rest.
    ratio = np.minimum(sizes[left], sizes[right]) / np.maximum(
        np.maximum(sizes[left], sizes[right]), 1
    )
    contained_copy = (containment >= config.containment) & (ratio > config.containment_min_ratio)
    keep = (similarity >= config.threshold) | contained_copy
    # An edited copy keeps a good part of the longer text however both were edited; a brief
    # (the lede alone) or a report quoting another does not. Short notices of one template
    # (stock splits, listings of different companies) share a third of their few n-grams by
    # their wording alone, so short pairs need `short_coverage`.
    long_pair = np.minimum(sizes[left], sizes[right]) >= config.short_tokens
    bar = np.where(long_pair, config.coverage, config.short_coverage)
    keep |= _coverage(similarity, sizes[left], sizes[right]) >= bar
    # Short texts are also compared on character n-grams, which a typo or a changed word
    # disturbs far less than word n-grams: a pair counts when either space says so.
    # Only on Jaccard: a short text's character n-grams are common enough that containment
    # would merge templated notices (Reuters-21578: "said its board declared a three-for-two
    # stock split" from different companies).
    c_sim = chars.compare(left, right)
    keep |= c_sim >= config.short_threshold
    similarity = np.fmax(similarity, c_sim)
    # What the n-gram rules reject may still read as the same text: an edit breaks three word
    # 3-grams but leaves the words around it aligned. Only the rejected pairs are aligned.
    aligned = np.zeros(len(left), dtype=bool)
    if texts is not None and config.aligned_coverage > 0:
        todo = np.flatnonzero(~keep)
        alignment = align_words(texts, left[todo], right[todo])
        aligned[todo] = (alignment.share() >= config.aligned_coverage) & (
            alignment.ratio() >= config.aligned_min_ratio
        )
        keep |= aligned
    if candidates is not None:
        candidates.add(similarity)
    # Different reports on one template (a weekly crop report, a monthly money-supply figure,
    # a bank's prime rate) share most of their words but not their figures or names: a pair
    # whose texts both carry figures must share most of the smaller text's figures, and
    # likewise its names; two short texts (notices) must carry exactly the same figures.
    vetoes = (
        (numbers, config.numbers_min_count, config.numbers_min_shared, True),
        (names, config.names_min_count, config.names_min_shared, False),
    )
    for keys, min_count, min_shared, short_same_set in vetoes:
        check = np.flatnonzero(keep)
        if not len(check):
            break
        overlap = key_overlap(keys, left[check], right[check])
        veto = overlap.share(min_count) < min_shared
        veto |= aligned[check] & _weak_agreement(overlap, config)
        if short_same_set:
            other = ~long_pair[check] & ~overlap.same_set(ratio[check] < _TRUNCATED_RATIO)
            if texts is not None and other.any():
                # figures lost or added with words an outlet cut or wrote are the same
                # story's; a figure written where the other text has another (a price, a
                # count, a week) is another report of the template
                at = np.flatnonzero(other)
                other[at] = figure_replaced(texts, left[check[at]], right[check[at]])
            veto |= other
        keep[check[veto]] = False
    # A pair only the word alignment accepts reads as one text with edits: a template slot
    # written with another value (a price, a month's index, a week, a company) makes it two
    # reports.
    if texts is not None and aligned.any():
        at = np.flatnonzero(keep & aligned)
        keep[at[figure_replaced(texts, left[at], right[at], names=True)]] = False
    return left[keep], right[keep], similarity[keep], containment[keep]


_SLOT_WORD = re.compile(r"\w(?:[\w.,/-]*\w)?")
# A template's slots: figures, and the days and months a notice is dated by ("for May
# shipment" against "for late May/early June shipment").
_SLOT_VALUE = re.compile(
    f"(?:{_NUMBER})|january|february|march|april|may|june|july|august|september|october"
    "|november|december|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
)


def _slot_words(text: str | None) -> list[str] | None:
    """Return a text's words, figures whole ("1,500", "6.5", "16-3/8")."""
    return None if text is None else _SLOT_WORD.findall(text)


def figure_replaced(
    texts: pl.Series, left: np.ndarray, right: np.ndarray, names: bool = False
) -> np.ndarray:
    """Return, per row pair, whether turning one text into the other replaces a figure or date.

    The edit script is the Levenshtein opcodes over the two word lists: a changed region
    (`_changed_regions`: consecutive changes) with words on both sides and a figure, day or
    month on either says that a slot of one template carries another value ("6.5 cts vs 6.8
    cts", "seven grain ships", "33.0 millimetres" for "nil", "May" for "late May/early
    June"). Figures only inserted or deleted (a dropped sentence, a cut clause) are not
    replaced. With `names`, a region with a capitalised word on both sides counts too: the
    subject of one template ("Murphy Oil said it raised ..." against "Unocal said it
    raised ..."). Words mistyped on one side (`_typo`) are matched, not replaced, and
    a title-case first line (a headline an outlet rewrote) is left out. True where a text is
    unknown.
    """
    out = np.ones(len(left), dtype=bool)
    rows = np.unique(np.concatenate([left, right]))
    bodies = without_titles(texts.gather(rows))
    words = dict(zip(rows.tolist(), map(_slot_words, bodies.to_list()), strict=True))
    for k, (a, b) in enumerate(zip(left.tolist(), right.tolist(), strict=True)):
        wa, wb = words[a], words[b]
        if wa is None or wb is None:
            continue
        la, lb = [w.lower() for w in wa], [w.lower() for w in wb]
        out[k] = any(
            _region_replaced(wa, wb, la, lb, region, names)
            for region in _changed_regions(Levenshtein.opcodes(la, lb))
        )
    return out


def _region_replaced(
    wa: list[str],
    wb: list[str],
    la: list[str],
    lb: list[str],
    region: tuple[int, int, int, int],
    names: bool,
) -> bool:
    """Return whether one changed region writes a slot value (or, with `names`, a name) anew."""
    i1, i2, j1, j2 = region
    if i2 == i1 or j2 == j1:
        return False  # words only inserted or deleted
    ka, kb = _untypoed(la, i1, i2, lb, j1, j2)
    if not ka or not kb:
        return False  # what is left besides typos is inserted or deleted
    if any(_SLOT_VALUE.fullmatch(la[i]) for i in ka) or any(
        _SLOT_VALUE.fullmatch(lb[j]) for j in kb
    ):
        return True
    return names and any(wa[i][0].isupper() for i in ka) and any(wb[j][0].isupper() for j in kb)


def _typo(a: str, b: str) -> bool:
    """Return whether two lower-case words are one word mistyped ("agiculture", "paymezt").

    At most two character edits (a transposition is two) in words of four letters or more,
    no digits (a figure with another digit is another figure), and not two slot values
    ("five" and "nine" are two edits apart).
    """
    return (
        min(len(a), len(b)) >= 4
        and not any(c.isdigit() for c in a + b)
        and Levenshtein.distance(a, b, score_cutoff=2) <= 2
        and not (_SLOT_VALUE.fullmatch(a) and _SLOT_VALUE.fullmatch(b))
    )


def _untypoed(
    la: list[str], i1: int, i2: int, lb: list[str], j1: int, j2: int
) -> tuple[list[int], list[int]]:
    """Return the word positions of a changed region left once typo pairs are matched.

    The pairs are matched in order (longest common subsequence with `_typo` as equality),
    so "ePnnsylvania Savings" against "Pennsylvania" leaves "savings" alone: a deletion.
    """
    n, m = i2 - i1, j2 - j1
    typo = [[_typo(la[i1 + x], lb[j1 + y]) for y in range(m)] for x in range(n)]
    table = np.zeros((n + 1, m + 1), dtype=np.int32)
    for x in range(n):
        for y in range(m):
            if typo[x][y]:
                table[x + 1, y + 1] = table[x, y] + 1
            else:
                table[x + 1, y + 1] = max(table[x, y + 1], table[x + 1, y])
    left_a, left_b = [], []
    x, y = n, m
    while x and y:
        if typo[x - 1][y - 1] and table[x, y] == table[x - 1, y - 1] + 1:
            x, y = x - 1, y - 1
        elif table[x - 1, y] >= table[x, y - 1]:
            left_a.append(i1 + x - 1)
            x -= 1
        else:
            left_b.append(j1 + y - 1)
            y -= 1
    left_a += [i1 + i for i in range(x)]
    left_b += [j1 + j for j in range(y)]
    return left_a, left_b


def _changed_regions(opcodes: Any) -> list[tuple[int, int, int, int]]:
    """Merge runs of non-`equal` opcodes into (i1, i2, j1, j2) regions.

    "april 1" against "immediately" is one changed region however the script splits it
    (replace then delete, or delete then replace).
    """
    regions: list[tuple[int, int, int, int]] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            continue
        if regions and regions[-1][1] == i1 and regions[-1][3] == j1:
            regions[-1] = (regions[-1][0], i2, regions[-1][2], j2)
        else:
            regions.append((i1, i2, j1, j2))
    return regions


def _row_texts(sig_frame: pl.DataFrame, docs: pl.DataFrame, history: pl.DataFrame) -> pl.Series:
    """Return the clean text of every row (the run's, then history's; null where unknown)."""
    run = sig_frame.select("doc_id").join(
        docs.select("doc_id", "clean_text").unique("doc_id", keep="first"),
        on="doc_id",
        how="left",
        maintain_order="left",
    )["clean_text"]
    if "clean_text" in history.columns:
        old = history["clean_text"].cast(pl.String)
    else:
        old = pl.Series("clean_text", [None] * history.height, dtype=pl.String)
    return pl.concat([run, old])


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
    # pairs of a 300,000-page run: +350 MB)
    for start in range(0, len(left), _ALIGN_BLOCK):
        a = [texts_as[k] for k in at[0][start : start + _ALIGN_BLOCK]]
        b = [texts_as[k] for k in at[1][start : start + _ALIGN_BLOCK]]
        common[start : start + len(a)] = process.cpdist(a, b, scorer=LCSseq.similarity, workers=1)
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
        distinct, inverse = np.unique(words.explode().drop_nulls().to_numpy(), return_inverse=True)
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


def _weak_agreement(overlap: KeyOverlap, config: DedupConfig) -> np.ndarray:
    """Return where two texts' figures (or names) agree too little for an aligned-only copy.

    Notices of one template (a listing, a stock split, a monthly figure) align on their
    wording and differ in a name or a figure, or repeat the last report's figures: a pair
    only the word alignment accepts must share `aligned_min_shared` of the larger key set (a
    copy of about the same length keeps its figures and names on both sides), and a text
    with keys is not copied by one without any.
    """
    larger = np.maximum(overlap.left, overlap.right)
    unknown = np.minimum(overlap.left, overlap.right) < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        agreement = np.where(larger > 0, overlap.shared / larger, 1.0)
    return ~unknown & (agreement < config.aligned_min_shared)


# Two short texts this close in length are the same notice or two of its kind: their figures
# must be the same; a shorter one may have lost figures with a dropped sentence.
_TRUNCATED_RATIO = 0.8


@dataclass(frozen=True)
class KeyOverlap:
    """Per row pair, the keys two texts share and how many each has (-1: unknown)."""

    shared: np.ndarray
    left: np.ndarray
    right: np.ndarray

    def share(self, min_count: int) -> np.ndarray:
        """Return the share of the smaller key set found in the other.

        NaN (no evidence) when either text has fewer than `min_count` keys or unknown ones.
        """
        smaller = np.minimum(self.left, self.right)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = self.shared / smaller
        share[smaller < max(min_count, 1)] = np.nan
        return share

    def same_set(self, subset_ok: np.ndarray) -> np.ndarray:
        """Return whether the texts carry the same keys (unknown ones count as the same).

        Where `subset_ok`, the smaller set need only lie in the other (a copy with a sentence
        dropped lost its figures with it).
        """
        unknown = (self.left < 0) | (self.right < 0)
        equal = (self.shared == self.left) & (self.shared == self.right)
        subset = self.shared == np.minimum(self.left, self.right)
        return unknown | equal | (subset_ok & subset)


def key_overlap(keys: pl.Series, left: np.ndarray, right: np.ndarray) -> KeyOverlap:
    """Count the keys (`numbers_key`, `names_key`: space-joined, null unknown) row pairs share."""
    rows = np.unique(np.concatenate([left, right]))
    sets = keys.gather(rows).str.split(" ").list.filter(pl.element() != "")
    sizes = np.full(len(keys), -1, dtype=np.int64)
    sizes[rows] = sets.list.len().fill_null(-1).to_numpy()
    # Each key coded by its rank among these rows' keys and each row's codes sorted, so that a
    # merge counts what two rows share (`shared_values`).
    counts = sets.list.len().fill_null(0).to_numpy()
    codes = sets.explode().drop_nulls().rank("dense").to_numpy()
    owner = np.repeat(np.arange(len(rows)), counts)
    starts = np.concatenate([[0], np.cumsum(counts)])
    shared = shared_values(
        codes[np.lexsort((codes, owner))],
        starts,
        np.searchsorted(rows, left),
        np.searchsorted(rows, right),
    )
    return KeyOverlap(shared, sizes[left], sizes[right])


def _estimated_shared(similarity: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimate the size of two sets' intersection from their Jaccard and sizes."""
    return similarity * (a + b).astype(np.float64) / (1 + similarity)


def _coverage(similarity: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimate the share of the larger of two sets that lies in the smaller one."""
    big = np.maximum(a, b).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(big > 0, np.minimum(_estimated_shared(similarity, a, b) / big, 1.0), np.nan)


def _containment(similarity: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimate how much the smaller of two sets lies in the larger from Jaccard and sizes."""
    small = np.minimum(a, b).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            small > 0, np.minimum(_estimated_shared(similarity, a, b) / small, 1.0), np.nan
        )


class _CharSpace:
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
    ) -> _CharSpace:
        """Collect the character signatures of searchable rows (run first, then history)."""
        column = pl.concat([sig_frame["char_signature"], history["char_signature"]])
        rows = np.flatnonzero(column.is_not_null().to_numpy() & searched)
        pos = np.full(len(column), -1, dtype=np.int64)
        pos[rows] = np.arange(len(rows))
        matrix = _matrix(column.gather(rows), minhash)
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
            sim[both] = _estimate(self.matrix, i, j)
        return sim


def _matrix(signatures: pl.Series, minhash: MinHashConfig | None) -> np.ndarray:
    """Return stored signatures (Array or List of equal length) as a `(n, num_perm)` matrix."""
    if len(signatures) == 0:
        width = minhash.num_perm if minhash is not None else 0
        return np.empty((0, width), dtype=np.uint32)
    if isinstance(signatures.dtype, pl.List):
        flat = signatures.explode().to_numpy()
    else:
        flat = signatures.to_numpy()
    return np.ascontiguousarray(flat.reshape(len(signatures), -1), dtype=np.uint32)


def _estimate(matrix: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Estimate the Jaccard of row pairs (the compiled kernel: no gathered copies of rows)."""
    return pair_agreement(matrix, left, right)
