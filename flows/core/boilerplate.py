"""Passage-level boilerplate: passages whose near-copies recur around different stories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import Protocol

import numpy as np
import polars as pl

from flows.core.cluster import components
from flows.core.dedup import near_duplicate_components, numbers_key
from flows.core.drops import drop_where
from flows.core.kernel import pair_agreement
from flows.core.lsh import Banding, band_hashes, buckets, choose_banding, text_band_pairs
from flows.core.minhash import fast_signatures, word_gram_table
from flows.core.page_boilerplate import PageModel, classify_lines
from flows.core.passages import split_passages
from flows.core.settings import BoilerplateConfig, MinHashConfig
from flows.core.text import normalise_text
from flows.core.titles import document_title, first_title_lines

# All pairs in a band bucket of up to this many passages, a star and a chain above (a kit on
# thousands of pages): `flows.core.lsh.band_pairs`, as `candidate_pairs` did for passages.
PASSAGE_FULL_BUCKET = 32

# Passages per chunk of `passage_index_chunks`: 50,000 rows of 25 band hashes are about 15 MB;
# a smaller row group made the file slower to write (5,000: 1.40 s against 0.85 s for the
# 571k passages of the 34,173-page inbox) and larger.
PASSAGE_INDEX_CHUNK = 50_000

# Distinct passage texts whose word 3-grams `absorb_contained` holds at a time (about 2M grams,
# 100 MB of temporaries, for 50,000 texts of the syndication inbox).
ABSORB_CHUNK_TEXTS = 50_000

# One row per (passage, band) of earlier runs' documents, as a lookup of the passage index
# returns them: the history that boilerplate support is counted over. `story` is the
# document's cluster (near-copies count once), `storied`
# whether the document carried text of its own, `chars` the passage's and `doc_chars` all its
# passages' length (to tell a copy of a whole story from a page sharing a kit).
PASSAGE_INDEX = pl.Schema(
    {
        "doc_id": pl.String,
        "passage": pl.Int32,
        "story": pl.String,
        "storied": pl.Boolean,
        "chars": pl.Int32,
        "doc_chars": pl.Int32,
        "band": pl.UInt16,
        "band_hash": pl.UInt64,
        "figures": pl.String,  # `numbers_key` of the passage (null in older index files)
    }
)

# The passage index as it is stored: one row per passage of every document a run published,
# the passage's band hashes in columns `band_00`, `band_01`, ... (`passage_keys_schema`). One
# row per (passage, band), as `PASSAGE_INDEX`, repeated the passage's strings 25 times: writing
# the 34,173-page inbox's 14.3M rows took 3.05 s, its 571k wide rows 0.85 s, and a lookup of
# 200,000 keys read 0.61 s against 0.17 s.
PASSAGE_KEY_COLUMNS = pl.Schema(
    {name: dtype for name, dtype in PASSAGE_INDEX.items() if name not in ("band", "band_hash")}
)


def band_column(band: int) -> str:
    """Return the name of the passage index column holding band `band`'s hashes."""
    return f"band_{band:02d}"


def passage_keys_schema(bands: int) -> pl.Schema:
    """Return the schema of the stored passage index for a banding of `bands` bands."""
    schema = pl.Schema(PASSAGE_KEY_COLUMNS)
    for band in range(bands):
        schema[band_column(band)] = pl.UInt64
    return schema


def bucket_rows(index: pl.LazyFrame, keys: pl.DataFrame, bands: int) -> pl.LazyFrame:
    """Return the `PASSAGE_INDEX` rows of a stored passage index sharing a bucket with `keys`.

    Parameters
    ----------
    index
        Rows of `passage_keys_schema(bands)`: a scan of the stored files or a frame.
    keys
        Bucket keys (`band`, `band_hash`) to look up.
    bands
        The banding's bands.

    Returns
    -------
    pl.LazyFrame
        One row per (passage, band) whose band hash is among that band's keys, the passages in
        index order, band after band. The wide rows are filtered first with one `is_in` per
        band column (a predicate the Parquet reader applies before decoding the rest).
    """
    wanted = {
        band: group.get_column("band_hash").unique()
        for (band,), group in keys.select("band", "band_hash").group_by("band")
    }
    columns = [b for b in range(bands) if b in wanted]
    if not columns:
        return pl.LazyFrame(schema=PASSAGE_INDEX)
    hit = {b: pl.col(band_column(b)).is_in(wanted[b].implode()) for b in columns}
    matched = index.filter(pl.any_horizontal(list(hit.values())))
    return pl.concat(
        [
            matched.filter(hit[b]).select(
                *PASSAGE_KEY_COLUMNS,
                band=pl.lit(b, dtype=pl.UInt16),
                band_hash=pl.col(band_column(b)),
            )
            for b in columns
        ]
    ).select(list(PASSAGE_INDEX))


# History passages linked to this run's passages: `id` (row of the run's passages), the history
# passage (`h_doc`, `h_passage`, `h_chars`, `h_doc_chars`) and its document's `story`, `storied`.
LINKS = pl.Schema(
    {
        "id": pl.Int64,
        "h_doc": pl.String,
        "h_passage": pl.Int32,
        "story": pl.String,
        "storied": pl.Boolean,
        "h_chars": pl.Int32,
        "h_doc_chars": pl.Int32,
        "h_figures": pl.String,
    }
)


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


class PassageLookup(Protocol):
    """A reader of earlier runs' passage index rows, by this run's passage buckets."""

    def __call__(self, keys: pl.DataFrame) -> pl.DataFrame:
        """Return the `PASSAGE_INDEX` rows sharing a bucket with `keys` (`band`, `band_hash`)."""
        ...


def within_bucket_cap(cap: int) -> pl.Expr:
    """Return whether a passage index row is of the first `cap` documents (by doc_id) of its bucket.

    Support needs only `min_support` documents: a kit on thousands of earlier pages must not
    bring them all back.
    """
    return pl.col("doc_id").rank("dense").over("band", "band_hash") <= cap


def frame_lookup(index: pl.DataFrame, cap: int) -> PassageLookup:
    """Return a lookup of passages in an in-memory passage index (runs simulated in memory).

    `index` holds `passage_index_rows` of earlier runs. The lookup answers as
    `flows/io/index.passage_history` does over the stored index: the rows sharing a bucket
    with the keys, the first `cap` documents of a bucket.
    """
    bands = sum(1 for name in index.columns if name.startswith("band_"))

    def lookup(keys: pl.DataFrame) -> pl.DataFrame:
        return bucket_rows(index.lazy(), keys, bands).collect().filter(within_bucket_cap(cap))

    return lookup


@dataclass(frozen=True)
class BoilerplateHistory:
    """What earlier runs found that boilerplate support counts; empty by default.

    Attributes
    ----------
    passages : PassageLookup | None
        Earlier runs' passage index rows for this run's bucket keys (`flows/io/index.py` reads
        them from the published snapshot, `frame_lookup` from memory); None when there are
        none (a first run, or one that counts its own pages alone): nothing is looked up.
    known : pl.DataFrame | None
        Boilerplate variants of earlier runs (`text`, `support`, `signature`), or None.
    """

    passages: PassageLookup | None = None
    known: pl.DataFrame | None = None


NO_HISTORY = BoilerplateHistory()


def _earlier_links(
    signed: SignedPassages,
    lookup: PassageLookup | None,
    minhash: MinHashConfig,
    config: BoilerplateConfig,
) -> tuple[pl.DataFrame, int]:
    """Return the `LINKS` of the passages to earlier runs' and the index rows looked up.

    The keys looked up with are a row per band of each distinct text (37.5M rows, 650 MB, for
    a 300,000-page inbox): made only when there is an index to look up, and freed after.
    """
    if lookup is None:
        return pl.DataFrame(schema=LINKS), 0
    keys = passage_buckets(signed.signatures, passage_banding(minhash, config))
    earlier = lookup(keys)
    links = occurrence_links(history_links(keys, earlier, minhash, config), signed.number)
    return links, earlier.height


def history_links(
    keys: pl.DataFrame,
    history: pl.DataFrame,
    minhash: MinHashConfig,
    config: BoilerplateConfig,
) -> pl.DataFrame:
    """Link this run's passages to the near-copies among earlier runs' passages.

    Parameters
    ----------
    keys
        This run's passage buckets (`passage_buckets` of the signed passages), the ones the
        history was looked up with.
    history
        `PASSAGE_INDEX` rows of earlier runs sharing at least one bucket with `keys`.
    minhash, config
        Signature and boilerplate settings (passage banding and threshold).

    Returns
    -------
    pl.DataFrame
        `LINKS` rows: pairs sharing at least `min_shared_bands` bands.
    """
    if keys.height == 0 or history.height == 0:
        return pl.DataFrame(schema=LINKS)
    need = min_shared_bands(passage_banding(minhash, config), config.passage_threshold)
    return (
        keys.join(history, on=["band", "band_hash"])
        .group_by("id", "doc_id", "passage")
        .agg(
            shared=pl.len(),
            story=pl.col("story").first(),
            storied=pl.col("storied").first(),
            h_chars=pl.col("chars").first(),
            h_doc_chars=pl.col("doc_chars").first(),
            h_figures=pl.col("figures").first(),
        )
        .filter(pl.col("shared") >= need)
        .select(
            "id",
            h_doc="doc_id",
            h_passage="passage",
            story="story",
            storied="storied",
            h_chars="h_chars",
            h_doc_chars="h_doc_chars",
            h_figures="h_figures",
        )
        .cast(LINKS)
        .sort("id", "h_doc", "h_passage")
    )


def passage_index_rows(
    passages: pl.DataFrame,
    documents: pl.DataFrame,
    minhash: MinHashConfig,
    config: BoilerplateConfig,
) -> pl.DataFrame:
    """Return the passage index rows of the published documents' passages, all at once.

    The chunks of `passage_index_chunks` concatenated: for small runs and tests. A run writes
    the chunks one at a time instead.
    """
    chunks = list(passage_index_chunks(passages, documents, minhash, config))
    if not chunks:
        return pl.DataFrame(schema=passage_keys_schema(passage_banding(minhash, config).bands))
    return pl.concat(chunks, how="vertical", rechunk=False)


def passage_index_chunks(
    passages: pl.DataFrame | pl.LazyFrame,
    documents: pl.DataFrame,
    minhash: MinHashConfig,
    config: BoilerplateConfig,
    size: int = PASSAGE_INDEX_CHUNK,
) -> Iterator[pl.DataFrame]:
    """Yield the passage index rows of the published documents' passages, `size` at a time.

    One row per passage (`passage_keys_schema`: its document's fields and its band hashes),
    in the order of `passages`; each chunk holds `size` passages (the last fewer), and
    nothing is yielded when there are no rows. Only one chunk's band hashes exist at a time.

    Parameters
    ----------
    passages
        The run's passages as `find_boilerplate` returns them (`text`, `figures`),
        boilerplate or not, or a scan of them (only the columns used are read).
    documents
        The run's documents (`doc_id`, `cluster_id`, `text`, `clean_text`); passages of
        documents not among them (quarantined ones) are left out.
    size
        Passages per chunk.
    """
    if passages.lazy().select(pl.len()).collect().item() == 0:
        return  # whatever its columns (a run's history may hold no passage at all)
    docs = documents.unique("doc_id", keep="first", maintain_order=True)
    texts = docs.get_column("text")
    # a document's columns, by its row: gathered per chunk, not held per passage (3 strings a
    # passage were 240 MB of the 5M passages of a 300,000-page run)
    meta = docs.select(
        "doc_id",
        story="cluster_id",
        # as classify_passages asks of a document that tells a story of its own
        storied=(pl.col("clean_text").str.len_chars() >= config.min_story_chars)
        & (
            pl.col("clean_text").str.len_chars()
            >= config.min_story_share * pl.col("text").str.len_chars()
        ),
    )
    rows = docs.select("doc_id").with_row_index("doc_row")
    del docs
    # one row per kept passage, with its document's row to cut its text from a chunk at a
    # time: the texts do not go through the join (the stage keeps only boilerplate ones)
    kept = (
        passages.lazy()
        .select("doc_id", "passage", "start", "end", "figures")
        .join(rows.lazy(), on="doc_id", how="inner", maintain_order="left")
        .select(
            "doc_row",
            "start",
            "passage",
            "figures",
            chars=(pl.col("end") - pl.col("start")).cast(pl.Int32),
        )
        .with_columns(doc_chars=pl.col("chars").sum().over("doc_row"))
        .collect()
    )
    del rows
    banding = passage_banding(minhash, config)
    schema = passage_keys_schema(banding.bands)
    for start in range(0, kept.height, size):
        part = kept.slice(start, size)
        # Signed again here, a chunk's distinct texts at a time, rather than kept from the
        # stage: a signature per passage of a 300,000-page run is gigabytes.
        chunk = texts.gather(part["doc_row"]).str.slice(part["start"], part["chars"])
        number, first = distinct_texts(chunk)
        signed = passage_signatures(chunk.filter(pl.Series(first)), minhash)
        # (n, bands), as `passage_buckets` hashes them
        hashes = band_hashes(signed, banding)[number]
        own = part.drop("doc_row", "start")
        yield (
            pl.concat([meta.gather(part["doc_row"]), own], how="horizontal")
            .with_columns(
                pl.Series(band_column(b), hashes[:, b], dtype=pl.UInt64)
                for b in range(banding.bands)
            )
            .select(list(schema))
            .cast(schema)
        )


def passage_figures(texts: pl.Series) -> pl.Series:
    """Return each passage text's figures (`numbers_key`: "" when it has none)."""
    return numbers_key(texts).alias("figures")


def same_figure_links(grouped: pl.DataFrame, links: pl.DataFrame, min_chars: int) -> pl.DataFrame:
    """Drop the links of a long passage to an earlier one that states other figures.

    The history side of `passage_groups`' figures rule: a daily notice of one template is not
    a kit of last week's notices. Links to index rows written before figures were kept (null)
    stay.
    """
    if not min_chars or links.height == 0:
        return links
    run = grouped.select(
        id=pl.int_range(pl.len(), dtype=pl.Int64),
        _figures="figures",
        _long=(pl.col("end") - pl.col("start")) >= min_chars,
    )
    return (
        links.join(run, on="id", how="left", maintain_order="left")
        .filter(
            pl.col("h_figures").is_null()
            | (pl.col("h_figures") == pl.col("_figures"))
            | ~(pl.col("_long") | (pl.col("h_chars") >= min_chars))
        )
        .drop("_figures", "_long")
    )


def occurrence_links(links: pl.DataFrame, number: np.ndarray) -> pl.DataFrame:
    """Return `LINKS` of passages from links of their texts (`id`: the text's number).

    `number` is each passage's text number (`distinct_texts`); every passage of a text gets
    the text's links, in `history_links`' order.
    """
    if links.height == 0:
        return links
    rows = pl.DataFrame({"id": np.arange(len(number), dtype=np.int64), "_text": number})
    return (
        rows.join(links.rename({"id": "_text"}), on="_text")
        .select(LINKS.names())
        .cast(LINKS)
        .sort("id", "h_doc", "h_passage")
    )


def passage_groups(
    signed: SignedPassages,
    minhash: MinHashConfig,
    threshold: float,
    known: pl.DataFrame | None = None,
    figures_min_chars: int = 0,
) -> pl.DataFrame:
    """Group near-duplicate passages (character-shingle MinHash, LSH, verified, components).

    Parameters
    ----------
    signed
        The passages and their distinct texts' signatures (`sign_passages`).
    minhash
        Signature parameters (character n-gram size, permutations, seed).
    threshold
        Estimated Jaccard at or above which two passages are near-copies.
    known
        Boilerplate passages of earlier runs (`signature`, `support`), or None.
    figures_min_chars
        Two passages of this run, one at least this long, are near-copies only when they
        state the same figures (`BoilerplateConfig.figures_min_chars`; 0: always).

    Returns
    -------
    pl.DataFrame
        The passages with `figures`, `group` (int64), `support` (distinct documents
        in the group) and `known_support` (support of the nearest known boilerplate passage, or
        null).
    """
    passages, number = signed.frame, signed.number
    n = passages.height
    # Banded and verified once per distinct text, with the pairs occurrence-level banding
    # gives (`text_band_pairs`): 571k passages of the 34,173-page syndication inbox are 173k
    # texts, and a kit line's thousands of copies made buckets of thousands.
    rows = np.flatnonzero(signed.first)
    u = len(rows)
    m = 0 if known is None else known.height
    everything = signed.signatures
    if m:
        assert known is not None
        stored = known["signature"].to_numpy().reshape(m, -1).astype(np.uint32)
        everything = np.concatenate([everything, stored])
    banding = choose_banding(threshold, minhash.num_perm)
    found = text_band_pairs(
        band_hashes(everything, banding), number, m, max_full_bucket=PASSAGE_FULL_BUCKET
    )
    left, right = found.texts[:, 0], found.texts[:, 1]
    keep = pair_agreement(everything, left, right) >= threshold
    pairs = pl.DataFrame({"left": left[keep], "right": right[keep]})
    # Pairs within this run group texts; pairs reaching a known passage mark them.
    inner = pairs.filter((pl.col("left") < u) & (pl.col("right") < u))
    if figures_min_chars and inner.height:
        text_figures = passages["figures"].gather(rows)
        long = ((passages["end"] - passages["start"]) >= figures_min_chars).gather(rows)
        lefts, rights = inner["left"], inner["right"]
        same = text_figures.gather(lefts).to_numpy() == text_figures.gather(rights).to_numpy()
        short = ~(long.gather(lefts).to_numpy() | long.gather(rights).to_numpy())
        inner = inner.filter(pl.Series(same | short))
    ids = pl.Series("id", np.arange(u, dtype=np.int64))
    labels = components(ids, inner)["component"].gather(number)
    known_support = pl.Series("known_support", [None] * n, dtype=pl.Int64)
    if m:
        assert known is not None
        # ids are sorted within a pair, so a known passage (id >= u) is always on the right;
        # a text's pair reaches every occurrence of it, an occurrence's pair that one alone
        supports = known["support"].cast(pl.Int64).fill_null(-1).to_numpy()
        reach = pairs.filter((pl.col("left") < u) & (pl.col("right") >= u))
        per_text = np.full(u, -1, dtype=np.int64)
        np.maximum.at(per_text, reach["left"].to_numpy(), supports[reach["right"].to_numpy() - u])
        best = per_text[number]
        occ, node = found.occurrences[:, 0], found.occurrences[:, 1]
        met = pair_agreement(everything, number[occ], node) >= threshold
        np.maximum.at(best, occ[met], supports[node[met] - u])
        found_support = pl.Series("known_support", best)
        known_support = found_support.to_frame().select(
            pl.when(found_support >= 0).then(found_support).alias("known_support")
        )["known_support"]
    return passages.with_columns(
        group=labels,
        known_support=known_support,
    ).with_columns(support=pl.col("doc_id").n_unique().over("group").cast(pl.Int64))


def story_texts(docs: pl.DataFrame, grouped: pl.DataFrame, config: BoilerplateConfig) -> list[str]:
    """Return each document's text without the passages that recur too often to be a story.

    Pages are told apart as stories on this text: a short wire story on five outlets' pages
    is one story although each outlet's kit is most of its page. Passages whose group recurs
    in more than `story_max_support` documents (a kit on every page of an outlet) are left
    out; with `story_max_support` 0 the whole text is compared.
    """
    if not config.story_max_support:
        return docs["text"].to_list()
    kept = (
        grouped.filter(pl.col("support") <= config.story_max_support)
        .sort("doc_id", "passage")
        .group_by("doc_id", maintain_order=True)
        .agg(story_text=pl.col("text").str.join("\n"))
    )
    return (
        docs.select("doc_id")
        .join(kept, on="doc_id", how="left", maintain_order="left")["story_text"]
        .fill_null("")
        .to_list()
    )


def add_history_support(grouped: pl.DataFrame, links: pl.DataFrame | None) -> pl.DataFrame:
    """Add to each group's `support` the earlier runs' documents holding a near-copy of it.

    `grouped` rows are in passage order (row i is passage `id` i of `links`).
    """
    if links is None or links.height == 0:
        return grouped
    ids = grouped.select("group").with_row_index("id").cast({"id": pl.Int64})
    extra = (
        links.join(ids, on="id")
        .group_by("group")
        .agg(h_support=pl.col("h_doc").n_unique().cast(pl.Int64))
    )
    return (
        grouped.join(extra, on="group", how="left", maintain_order="left")
        .with_columns(support=pl.col("support") + pl.col("h_support").fill_null(0))
        .drop("h_support")
    )


def _story_components(
    grouped: pl.DataFrame, stories: pl.DataFrame, links: pl.DataFrame, threshold: float
) -> pl.DataFrame:
    """Map story labels (this run's `r<n>`, history's `h<cluster>`) to merged story components.

    A document of this run tells the story of an earlier run's document when their shared
    passages cover `threshold` of both (characters, as a Jaccard): a copy of a story published
    last week is one story with it, however many outlets carried it since.
    """
    per_doc = grouped.with_row_index("id").with_columns(
        pl.col("id").cast(pl.Int64), chars=pl.col("end") - pl.col("start")
    )
    totals = per_doc.group_by("doc_id").agg(doc_chars=pl.col("chars").sum())
    shared = (
        links.join(per_doc.select("id", "doc_id", "chars"), on="id")
        .group_by("doc_id", "h_doc")
        .agg(
            mine=pl.col("chars").filter(pl.col("id").is_first_distinct()).sum(),
            theirs=pl.col("h_chars")
            .filter(pl.col("h_passage").is_first_distinct())
            .sum()
            .cast(pl.Int64),
            h_doc_chars=pl.col("h_doc_chars").first().cast(pl.Int64),
            story=pl.col("story").first(),
        )
        .join(totals, on="doc_id")
        .with_columns(
            common=pl.min_horizontal("mine", "theirs"),
            shorter=pl.min_horizontal("doc_chars", "h_doc_chars"),
            longer=pl.max_horizontal("doc_chars", "h_doc_chars"),
        )
        # Most of the shorter page, and a good part of the longer: a truncated copy shares
        # most of itself with the full story, a brief shares its kit with the outlet's long
        # pages but not half of them.
        .filter(
            (pl.col("common") >= threshold * pl.col("shorter"))
            & (pl.col("common") >= threshold / 2 * pl.col("longer"))
        )
        .join(stories, on="doc_id")
        .select(left=pl.format("r{}", pl.col("story_run")), right=pl.format("h{}", pl.col("story")))
    )
    labels = pl.concat(
        [
            stories.select(label=pl.format("r{}", pl.col("story_run"))),
            links.select(label=pl.format("h{}", pl.col("story"))),
        ]
    ).unique(maintain_order=True)["label"]
    return components(labels, shared).rename({"id": "label"})


def classify_passages(
    grouped: pl.DataFrame,
    config: BoilerplateConfig,
    stories: pl.DataFrame | None = None,
    links: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Mark passages as boilerplate.

    A passage is boilerplate when its group recurs in at least `min_support` documents and
    those documents tell at least `min_support` different stories: documents that carry text of
    their own (text in groups that do not recur), counted once per story. Boilerplate surrounds
    different stories; a syndicated story recurs wrapped in recurring kits and small edits, or
    in whole documents that are near-copies of each other. `stories` maps `doc_id` to a story
    label (near-duplicate components of the whole text); without it each document is a story.
    Passages near a known boilerplate passage of an earlier run (`known_support` not null) are
    boilerplate too, with that support. `links` (history passages near this run's passages,
    `history_links`) add earlier runs' documents and their stories to each group; `support`
    must already count them (`add_history_support`). Returns `grouped` with booleans
    `is_boilerplate` and `shared_quote` (a recurring passage kept as a quotation).
    """
    k = config.min_support
    length = pl.col("end") - pl.col("start")
    # A near-copy of known boilerplate recurs by definition, whatever its support in this run.
    known = pl.col("known_support").is_not_null()
    per_doc = grouped.group_by("doc_id").agg(
        total=length.sum(),
        own=length.filter((pl.col("support") < k) & ~known).sum(),
    )
    if stories is None:
        stories = per_doc.select("doc_id", story=pl.col("doc_id"))
    storied = per_doc.filter(
        (pl.col("own") >= config.min_story_chars)
        & (pl.col("own") >= config.min_story_share * pl.col("total"))
    ).join(stories.select("doc_id", "story"), on="doc_id", how="left")
    # Story labels: this run's components, merged with earlier runs' stories they copy.
    run_stories = stories.select("doc_id", story_run=pl.col("story"))
    links = pl.DataFrame(schema=LINKS) if links is None else links
    merged = _story_components(grouped, run_stories, links, config.same_story_threshold)
    members = grouped.filter(pl.col("support") >= k).join(
        storied.select("doc_id", label=pl.format("r{}", pl.col("story"))), on="doc_id"
    )
    ids = grouped.select("group").with_row_index("id").cast({"id": pl.Int64})
    earlier = links.filter(pl.col("storied")).join(ids, on="id")
    group_stories = (
        pl.concat(
            [
                members.select("group", "label"),
                earlier.select("group", label=pl.format("h{}", pl.col("story"))),
            ]
        )
        .join(merged, on="label", how="left")
        .group_by("group")
        .agg(stories=pl.col("component").n_unique())
    )
    flagged = grouped.join(group_stories, on="group", how="left").with_columns(
        _recurs=(pl.col("support") >= k) & (pl.col("stories").fill_null(0) >= k)
    )
    quotes = shared_quotes(flagged, config)
    quote = pl.col("_recurs") & pl.col("group").is_in(quotes.implode())
    return flagged.with_columns(
        is_boilerplate=(pl.col("_recurs") & ~quote) | known,
        shared_quote=quote & ~known,
        support=pl.max_horizontal("support", "known_support"),
    ).drop("stories", "_recurs")


def shared_quotes(flagged: pl.DataFrame, config: BoilerplateConfig) -> pl.Series:
    """Return the recurring groups that look like a quotation shared by several reports.

    Such a group's passages mostly stand alone in the middle of their pages (neither neighbour
    recurs, not in the first or last `quote_edge` of the page), are long, and recur in at most
    `quote_max_support` documents; boilerplate comes in blocks at the edges of a page.
    """
    last = pl.col("passage").max().over("doc_id")
    rel = pl.col("passage") / pl.when(last > 0).then(last).otherwise(1)
    before = pl.col("_recurs").shift(1).over("doc_id", order_by="passage").fill_null(False)
    after = pl.col("_recurs").shift(-1).over("doc_id", order_by="passage").fill_null(False)
    lonely = ~before & ~after
    middle = (rel > config.quote_edge) & (rel < 1 - config.quote_edge)
    return (
        flagged.with_columns(_inside=lonely & middle)
        .filter(pl.col("_recurs"))
        .group_by("group")
        .agg(
            inside=pl.col("_inside").mean(),
            chars=(pl.col("end") - pl.col("start")).median(),
            support=pl.col("support").first(),
        )
        .filter(
            (pl.col("inside") > 0.5)
            & (pl.col("chars") >= config.quote_min_chars)
            & (pl.col("support") <= config.quote_max_support)
        )["group"]
    )


_COVERAGE = pl.Schema({"_text": pl.Int64, "covered": pl.Float64, "bp_support": pl.Int64})


def absorb_contained(
    classified: pl.DataFrame, config: BoilerplateConfig, chunk: int = ABSORB_CHUNK_TEXTS
) -> pl.DataFrame:
    """Mark passages mostly contained in detected boilerplate as boilerplate too.

    Scrapers join a blurb onto one line on one page and split it over lines on another; the
    pieces are not near-copies of the whole, but nearly all their word 3-grams occur in it.
    `chunk` distinct texts are measured at a time: the word 3-grams of a whole inbox's
    passages are a gigabyte at 100,000 pages; the result does not depend on it.
    """
    # By distinct text (a kit repeats on thousands of pages): the largest support of its rows
    # that are boilerplate (null when none is), and whether any of its rows is kept.
    number, first = distinct_texts(classified["text"])
    rows = classified.with_columns(_text=pl.Series(number))
    distinct = classified.get_column("text").filter(pl.Series(first))
    texts = (
        rows.group_by("_text")
        .agg(
            bp_own=pl.col("support").filter(pl.col("is_boilerplate")).max(),
            kept=(~pl.col("is_boilerplate")).any(),
        )
        .sort("_text")
    )
    # the grams of boilerplate texts, each with the largest support of a text holding it
    own = texts.filter(pl.col("bp_own").is_not_null())
    own_grams = word_gram_table(distinct.gather(own["_text"]), 3)
    bp_grams = (
        own_grams.with_columns(bp_support=own["bp_own"].gather(own_grams["id"]))
        .group_by("gram")
        .agg(pl.col("bp_support").max())
    )
    # Only a text with a kept row can be absorbed (a boilerplate row stays as it is).
    candidates = texts.filter(pl.col("kept"))["_text"]
    coverage = [pl.DataFrame(schema=_COVERAGE)]
    for i in range(0, len(candidates), chunk):
        part = candidates.slice(i, chunk)
        grams = word_gram_table(distinct.gather(part), 3)
        coverage.append(
            grams.with_columns(_text=part.gather(grams["id"]))
            .join(bp_grams, on="gram", how="left")
            .group_by("_text")
            .agg(
                covered=pl.col("bp_support").is_not_null().mean(),
                bp_support=pl.col("bp_support").max(),
            )
            .cast(_COVERAGE)
        )
    covered = pl.concat(coverage)
    absorbed = pl.col("covered").fill_null(0.0) >= config.containment
    return (
        rows.join(covered, on="_text", how="left", maintain_order="left")
        .with_columns(
            support=pl.when(~pl.col("is_boilerplate") & absorbed)
            .then(pl.max_horizontal("support", "bp_support"))
            .otherwise(pl.col("support")),
            is_boilerplate=pl.col("is_boilerplate") | absorbed,
        )
        .drop("_text", "covered", "bp_support")
    )


# Documents `clean_texts` cuts at a time.
CLEAN_BLOCK_DOCS = 20_000


def clean_texts(docs: pl.DataFrame, passages: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """Return each document's text without its boilerplate passages, and the share removed.

    Parameters
    ----------
    docs
        `doc_id` (unique) and `text`.
    passages
        `doc_id`, `start`, `end` (disjoint spans of each document) and `is_boilerplate`.

    Returns
    -------
    tuple[pl.Series, pl.Series]
        `clean_text` ("" for a document without passages) and `boilerplate_ratio` (removed
        characters over all passages' characters, 0.0 without passages), in `docs`' order.
    """
    if docs.height > CLEAN_BLOCK_DOCS:
        # A block of documents at a time: the kept pieces and the joined texts of a whole
        # 300,000-page inbox were 1.3 GB of temporaries at once.
        blocks = [docs.slice(i, CLEAN_BLOCK_DOCS) for i in range(0, docs.height, CLEAN_BLOCK_DOCS)]
        parts = [
            clean_texts(
                block, passages.join(block.select("doc_id").unique(), on="doc_id", how="semi")
            )
            for block in blocks
        ]
        return pl.concat([c for c, _ in parts]), pl.concat([r for _, r in parts])
    spans = passages.select(
        "doc_id",
        "start",
        "end",
        removed=pl.when("is_boilerplate").then(pl.col("end") - pl.col("start")).otherwise(0),
    )
    per_doc = spans.group_by("doc_id").agg(
        total=(pl.col("end") - pl.col("start")).sum(), removed=pl.col("removed").sum()
    )
    cut = spans.filter(pl.col("removed") > 0).sort("doc_id", "start")
    # the kept pieces: before each removed span (from the previous one's end), and the tail
    pieces = pl.concat(
        [
            cut.select(
                "doc_id",
                a=pl.col("end").shift(1, fill_value=0).over("doc_id"),
                b="start",
                order="start",
            ),
            cut.group_by("doc_id")
            .agg(a=pl.col("end").max())
            .with_columns(b=pl.lit(None, pl.Int64), order=pl.lit(None, pl.Int64)),
        ]
    )
    texts = docs.select("doc_id", "text")
    kept = (
        # one text a doc_id: a repeated row takes its first row's text, as `find_boilerplate`
        # cuts a document's passages from it
        pieces.join(texts.unique("doc_id", keep="first"), on="doc_id")
        .with_columns(b=pl.coalesce("b", pl.col("text").str.len_chars().cast(pl.Int64)))
        .sort("doc_id", "order", nulls_last=True)
        .group_by("doc_id", maintain_order=True)
        .agg(cut_text=pl.col("text").str.slice(pl.col("a"), pl.col("b") - pl.col("a")).str.join(""))
    )
    out = (
        texts.join(per_doc, on="doc_id", how="left", maintain_order="left")
        .join(kept, on="doc_id", how="left", maintain_order="left")
        .select(
            clean_text=pl.when(pl.col("total").is_null())
            .then(pl.lit(""))
            .otherwise(pl.coalesce("cut_text", "text")),
            boilerplate_ratio=pl.when(pl.col("total") > 0)
            .then(pl.col("removed") / pl.col("total"))
            .otherwise(0.0)
            .cast(pl.Float64),
        )
    )
    return out["clean_text"], out["boilerplate_ratio"]


def page_hits(
    docs: pl.DataFrame, config: BoilerplateConfig, page_model: PageModel | None
) -> pl.DataFrame | None:
    """Return the single-page classifier's lines (`classify_lines`), or None when it is off."""
    if page_model is None or not config.page_classifier or docs.height == 0:
        return None
    return classify_lines(
        docs.select("doc_id", "text"),
        page_model,
        config.page_threshold,
        bridge_threshold=config.page_bridge_threshold,
        bridge_lines=config.page_bridge_lines,
    )


def mark_page_boilerplate(classified: pl.DataFrame, hits: pl.DataFrame | None) -> pl.DataFrame:
    """Add the classifier's lines to the boilerplate and name each removal's `signal`.

    Parameters
    ----------
    classified
        Passages with `line`, `is_boilerplate` and `shared_quote` (recurrence's verdict).
    hits
        The lines the single-page classifier removes (`page_hits`: `doc_id`, `line`), or None
        (recurrence alone).

    Returns
    -------
    pl.DataFrame
        `classified` with `is_boilerplate` widened and `signal` (`recurrence`, `classifier`,
        or null for kept passages).
    """
    recurrence = pl.col("is_boilerplate")
    if hits is None or classified.height == 0:
        page = pl.lit(False)
        out = classified
    else:
        out = classified.join(
            hits.select("doc_id", "line", _page=pl.lit(True)),
            on=["doc_id", "line"],
            how="left",
            maintain_order="left",
        )
        page = pl.col("_page").fill_null(False) & ~pl.col("shared_quote")
    return out.with_columns(
        signal=pl.when(recurrence)
        .then(pl.lit("recurrence"))
        .when(page)
        .then(pl.lit("classifier"))
        .otherwise(pl.lit(None, pl.String)),
        is_boilerplate=recurrence | page,
    ).drop("_page", strict=False)


def remove_boilerplate(
    docs: pl.DataFrame,
    minhash: MinHashConfig,
    config: BoilerplateConfig,
    known: pl.DataFrame | None = None,
    page_model: PageModel | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Find boilerplate passages and produce the clean text of each document (one run, no index).

    Returns the documents (see `find_boilerplate`), those left empty included, and only the
    boilerplate passages: for scoring every page. The flow's stage is `boilerplate_stage`.
    """
    out, classified = find_boilerplate(docs, minhash, config, known, page_model=page_model)
    table = classified.filter(pl.col("is_boilerplate")).select(
        "doc_id", "start", "end", "text", "support", "signal", "known_support"
    )
    return out, table


def grouped_passages(
    signed: SignedPassages,
    minhash: MinHashConfig,
    config: BoilerplateConfig,
    known: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Return the passages grouped with their near-copies (`passage_groups`), none included."""
    if signed.frame.height == 0:
        return signed.frame.with_columns(
            known_support=pl.lit(None, pl.Int64),
            group=pl.lit(0, pl.Int64),
            support=pl.lit(0, pl.Int64),
        )
    return passage_groups(
        signed, minhash, config.passage_threshold, known, config.figures_min_chars
    )


def find_boilerplate(
    docs: pl.DataFrame,
    minhash: MinHashConfig,
    config: BoilerplateConfig,
    known: pl.DataFrame | None = None,
    grouped: pl.DataFrame | None = None,
    links: pl.DataFrame | None = None,
    page_model: PageModel | None = None,
    hits: Callable[[], pl.DataFrame | None] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Find boilerplate passages and produce the clean text of each document.

    Parameters
    ----------
    docs
        Frame with unique `doc_id`, `text` and `title_hint` (nullable).
    minhash, config
        Passage signature and classification settings.
    known
        Boilerplate passages found by earlier runs (`signature`, `support`): their near-copies
        are boilerplate even when this run has too few pages to show them recurring.
    grouped
        The documents' passages grouped (`grouped_passages`), when already computed.
    links
        Earlier runs' passages near these passages (`history_links`, ids are rows of
        `passages`): their documents count towards support as this run's do.
    page_model
        The single-page line classifier (`flows/io/page_model.py`), or None for recurrence
        alone; used when `config.page_classifier` is on. A line scoring at least
        `config.page_threshold` is boilerplate, except its passages kept as shared quotations.
    hits
        Returns the classifier's lines (`page_hits` of `docs`) when they were computed
        elsewhere (`boilerplate_stage` scores them while recurrence runs); None: computed here.

    Returns
    -------
    tuple[pl.DataFrame, pl.DataFrame]
        `docs` with `clean_text`, `boilerplate_ratio`, `is_boilerplate_heavy` and `title`
        (`document_title` of the metadata, else the first line that is neither boilerplate nor
        interface chrome, `first_title_lines`); and every passage
        (`PASSAGES` columns, `figures`, `support`, `known_support`: null for passages not
        already known from earlier runs, `is_boilerplate`, `shared_quote`, and `signal`: which
        signal removed it, `recurrence` or `classifier`, null when kept), by document and
        position.
    """
    if grouped is None:
        grouped = grouped_passages(sign_passages(docs, minhash, config), minhash, config, known)
    if grouped.height == 0:
        classified = grouped.with_columns(
            is_boilerplate=pl.lit(False),
            shared_quote=pl.lit(False),
        )
    else:
        if links is not None:
            links = same_figure_links(grouped, links, config.figures_min_chars)
        grouped = add_history_support(grouped, links)
        stories = near_duplicate_components(
            docs["doc_id"], story_texts(docs, grouped, config), minhash, config.same_story_threshold
        ).select(doc_id="id", story="component")
        classified = absorb_contained(classify_passages(grouped, config, stories, links), config)
    lines = hits() if hits is not None else page_hits(docs, config, page_model)
    classified = mark_page_boilerplate(classified, lines)
    classified = classified.sort("doc_id", "passage")

    clean, ratio = clean_texts(docs, classified)
    first_lines = first_title_lines(classified.lazy()).collect()
    out = (
        docs.with_columns(
            clean_text=clean,
            boilerplate_ratio=ratio,
        )
        .join(first_lines, on="doc_id", how="left", maintain_order="left")
        .with_columns(
            clean_text=normalise_text(pl.col("clean_text")),
            is_boilerplate_heavy=pl.col("boilerplate_ratio") > config.heavy_ratio,
            title=pl.coalesce(document_title(docs.columns), pl.col("first_line")),
        )
        .drop("first_line")
    )
    return out, classified.drop("group")


# The columns the stage adds to (or replaces in) each document row.
CLEANED_COLUMNS = ["doc_id", "clean_text", "boilerplate_ratio", "is_boilerplate_heavy", "title"]


@dataclass(frozen=True)
class BoilerplateStats:
    """The boilerplate stage's figures, as the run summary names them."""

    boilerplate_passages: int  # passages removed
    known_boilerplate_matches: int  # of them, near-copies of earlier runs' known variants
    classifier_passages: int  # of them, removed by the single-page classifier alone
    history_passage_rows: int  # passage index rows of earlier runs looked up

    def notes(self) -> dict[str, int]:
        """Return the figures by name, in field order."""
        return asdict(self)


@dataclass(frozen=True)
class BoilerplateResult:
    """What the boilerplate stage produces.

    Attributes
    ----------
    documents : pl.DataFrame
        The input rows that kept some text, with `clean_text`, `boilerplate_ratio`,
        `is_boilerplate_heavy` and `title` (see `find_boilerplate`) in place of their `title`.
    passages : pl.DataFrame
        Every passage of the distinct documents, boilerplate or not (see `find_boilerplate`):
        for the boilerplate table and the passage index; `text` is null where the passage
        was kept (it is the document's `text[start:end]`).
    quarantine : pl.DataFrame
        `QUARANTINE` rows of the input rows with no text left (`empty_after_cleaning`).
    stats : BoilerplateStats
        Counts of `passages` and of the history looked up.
    """

    documents: pl.DataFrame
    passages: pl.DataFrame
    quarantine: pl.DataFrame
    stats: BoilerplateStats

    def without_passages(self) -> BoilerplateResult:
        """Return the result with no passage rows (same columns), for a run that set them aside."""
        return replace(self, passages=self.passages.clear())


def boilerplate_stage(
    docs: pl.DataFrame,
    minhash: MinHashConfig,
    config: BoilerplateConfig,
    history: BoilerplateHistory = NO_HISTORY,
    page_model: PageModel | None = None,
) -> BoilerplateResult:
    """Remove recurring and single-page boilerplate; quarantine documents left with no text.

    Parameters
    ----------
    docs
        Normalised documents (`doc_id`, `source_uri`, `text`, `title_hint`, optionally
        `title`); a repeated `doc_id` is cleaned once, as its first row.
    minhash, config
        Passage signature and boilerplate settings.
    history
        Earlier runs' passages (looked up by this run's passage buckets: their documents count
        towards support as this run's do) and known boilerplate variants; none by default.
    page_model
        The single-page line classifier, or None for recurrence alone (`find_boilerplate`).

    Returns
    -------
    BoilerplateResult
        The cleaned documents, all passages, the quarantine rows and the stage's figures.
    """
    unique = docs.unique("doc_id", keep="first", maintain_order=True)
    # The single-page classifier needs nothing of recurrence: it scores the pages on a second
    # thread meanwhile (both sides spend most of their time in polars, numpy and numba, which
    # release the GIL).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="page-classifier") as pool:
        scored = pool.submit(page_hits, unique, config, page_model)
        signed = sign_passages(unique, minhash, config)
        # Which earlier passages matter depends on this run's buckets, so history is a lookup,
        # by the buckets of each distinct text (a kit's thousands of copies share theirs).
        links, history_rows = _earlier_links(signed, history.passages, minhash, config)
        grouped = grouped_passages(signed, minhash, config, history.known)
        # Grouped, the passages need no signature: freed before the rest of the stage (766 MB
        # for the 1.5M distinct passage texts of a 300,000-page inbox).
        del signed
        cleaned, passages = find_boilerplate(
            unique, minhash, config, history.known, grouped, links, page_model, scored.result
        )
    documents = docs.drop("title", strict=False).join(
        cleaned.select(CLEANED_COLUMNS), on="doc_id", how="left"
    )
    documents, empties = drop_where(
        documents,
        pl.col("clean_text").str.len_chars() == 0,
        stage="boilerplate",
        reason="empty_after_cleaning",
        detail=pl.format("all {} characters were boilerplate", pl.col("text").str.len_chars()),
    )
    # counted in place: the removed rows filtered out were 3.2M rows at 300,000 pages
    removed = pl.col("is_boilerplate")
    found = passages.select(
        removed=removed.sum(),
        known=(removed & pl.col("known_support").is_not_null()).sum(),
        classifier=(removed & (pl.col("signal") == "classifier")).sum(),
    ).row(0, named=True)
    # A kept passage's text is its document's `text[start:end]`: the run keeps only the
    # removed ones' (the boilerplate table's), not a second copy of every text.
    passages = passages.with_columns(text=pl.when(removed).then(pl.col("text")))
    stats = BoilerplateStats(
        boilerplate_passages=int(found["removed"]),
        known_boilerplate_matches=int(found["known"]),
        classifier_passages=int(found["classifier"]),
        history_passage_rows=history_rows,
    )
    return BoilerplateResult(documents, passages, empties, stats)
