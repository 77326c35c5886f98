"""The passage index: earlier runs' passages by band, looked up by this run's buckets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import polars as pl

from flows.core.boilerplate.signing import (
    SignedPassages,
    distinct_texts,
    min_shared_bands,
    passage_banding,
    passage_buckets,
    passage_signatures,
)
from flows.core.lsh import band_hashes
from flows.core.settings import BoilerplateConfig, MinHashConfig

# Passages per chunk of `passage_index_chunks`: 50,000 rows of 25 band hashes are about 15 MB;
# a smaller row group made the file slower to write (5,000: 1.40 s against 0.85 s for the
# 571k passages of the 34,173-page inbox) and larger.
PASSAGE_INDEX_CHUNK = 50_000


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


def earlier_links(
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
