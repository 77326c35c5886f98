"""The dedup stage: documents against each other and earlier runs' index, then containers.

`flows/core/dedup/` decides which documents are copies (signatures, buckets, verification,
clusters) and `flows/core/containment.py` which texts lie inside longer ones; this module
assembles them into the stage the flow, the tests and the benchmarks call alike, with the
history it needs (earlier runs' index rows, looked up by this run's buckets) injected.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

import polars as pl

from flows.core.containment import attach_containers, find_containers
from flows.core.dedup import (
    BUCKET_COLUMNS,
    BUCKET_ROWS,
    INDEX_COLUMNS,
    SIGNATURE_COLUMNS,
    CandidateHistogram,
    dedup_banding,
    deduplicate,
    doc_bucket_keys,
    doc_buckets,
    searchable,
)
from flows.core.schema import DOCUMENTS, QUARANTINE, empty
from flows.core.settings import ContainmentConfig, DedupConfig, MinHashConfig


@dataclass(frozen=True)
class IndexMatch:
    """The part of the index that a run's documents can be near-duplicates of."""

    buckets: pl.DataFrame  # history (id, band, band_hash) rows sharing a bucket with this run
    documents: pl.DataFrame  # their index rows, plus the canonicals of their clusters


class IndexLookup(Protocol):
    """A reader of earlier runs' index rows, by this run's document buckets."""

    def __call__(self, buckets: pl.DataFrame) -> IndexMatch:
        """Return the index rows sharing a bucket (`band`, `band_hash`) with `buckets`.

        `buckets` holds at least those two columns (`doc_bucket_keys`, or `doc_buckets` rows).
        """
        ...


def no_matches() -> IndexMatch:
    """Return no earlier documents: a first run, or one that deduplicates its own pages alone."""
    # `deduplicate` reads an empty history as the empty index of its signature settings
    return IndexMatch(pl.DataFrame(schema=BUCKET_ROWS), pl.DataFrame(schema={"doc_id": pl.String}))


def index_match(shared: pl.LazyFrame, index: pl.LazyFrame) -> IndexMatch:
    """Collect the index rows of the buckets shared with this run, and their clusters' canonicals.

    `shared` holds history's bucket rows (`BUCKET_COLUMNS`) sharing a bucket with this run;
    `index` is the signature index (`index_rows`). Only the documents matched and the
    canonicals of their clusters are read: a run's cost follows its matches.
    """
    matched = shared.select(BUCKET_COLUMNS).collect(engine="streaming")
    rows = index.filter(pl.col("doc_id").is_in(matched["id"].unique().implode())).collect(
        engine="streaming"
    )
    canonicals = index.filter(
        pl.col("doc_id").is_in(rows["cluster_id"].unique().implode())
    ).collect(engine="streaming")
    documents = pl.concat([rows, canonicals]).unique("doc_id", keep="first", maintain_order=True)
    return IndexMatch(matched, documents)


def sharing_buckets(stored: pl.LazyFrame, buckets: pl.DataFrame) -> pl.LazyFrame:
    """Return the rows of `stored` sharing a bucket (`band`, `band_hash`) with `buckets`."""
    on = ["band_hash", "band"]
    return stored.join(buckets.select(on).unique().lazy(), on=on, how="semi")


def index_rows(documents: pl.DataFrame, sigs: pl.DataFrame) -> pl.DataFrame:
    """Return the signature index rows of published documents: one per `doc_id`, signed ones."""
    return (
        documents.unique("doc_id", keep="first", maintain_order=True)
        .select(*INDEX_COLUMNS)
        .join(sigs.select(*SIGNATURE_COLUMNS), on="doc_id", how="inner")
    )


def frame_index(index: pl.DataFrame, minhash: MinHashConfig, config: DedupConfig) -> IndexLookup:
    """Return a lookup of documents in an in-memory index (runs simulated in memory).

    It answers as `flows/io/index.match_history` does over the stored index: `index` (rows of
    `index_rows`, with `clean_text` for the word alignment) banded as the band table is
    written, the rows sharing a bucket with the keys and the canonicals of their clusters.
    """
    banding = dedup_banding(minhash, config)
    stored = doc_buckets(searchable(index, config), banding)
    if config.aligned_coverage <= 0:  # match_history attaches texts only for the alignment
        index = index.drop("clean_text", strict=False)

    def lookup(buckets: pl.DataFrame) -> IndexMatch:
        if index.height == 0 or buckets.height == 0:
            return IndexMatch(pl.DataFrame(schema=BUCKET_ROWS), index.clear())
        return index_match(sharing_buckets(stored.lazy(), buckets), index.lazy())

    return lookup


@dataclass(frozen=True)
class DedupHistory:
    """What earlier runs published that this run's documents are compared with; none by default.

    Attributes
    ----------
    matches : IndexLookup | None
        Earlier runs' index rows for this run's document buckets (`flows/io/index.py` reads
        them from the published snapshot, `frame_index` from memory); None when there is no
        index (a first run, or one that deduplicates its own pages alone): nothing is asked.
    rebuilt : pl.DataFrame | None
        Every published document signed again, when the stored index holds signatures of
        other shingles (`flows/io/index.rebuild_index`); it then stands for all of history
        and `matches` is not asked. None or empty otherwise.
    """

    matches: IndexLookup | None = None
    rebuilt: pl.DataFrame | None = None


NO_HISTORY = DedupHistory()


@dataclass(frozen=True)
class DedupStats:
    """The dedup stage's figures, as the run summary names them."""

    index_rebuilt: int  # earlier runs' documents signed again (an index of other shingles)
    history_matches: int | None  # index rows looked up; None when the rebuilt index stood in
    candidate_similarity: list[int]  # every candidate pair's similarity in 20 bins of [0, 1]
    contained_in: int  # documents found inside a longer published text of the run
    verified_pairs: int  # candidate pairs accepted as copies

    def notes(self) -> dict[str, Any]:
        """Return the figures by name, in field order (`history_matches` only when looked up)."""
        notes = asdict(self)
        if self.history_matches is None:
            del notes["history_matches"]
        return notes


@dataclass(frozen=True)
class DedupResult:
    """What the dedup stage produces.

    Attributes
    ----------
    documents : pl.DataFrame
        The `documents` table's rows (the `DOCUMENTS` columns of `docs`, and those the stage
        adds: clusters, canonicals, containers and `status`; `run_id` null, the run stamps it),
        in the input's order.
    signatures : pl.DataFrame
        This run's signature frame (as given, with any missing optional column added).
    pairs : pl.DataFrame
        Verified pairs (`left`, `right`, `similarity`, `containment`), sorted.
    rebuilt : pl.DataFrame
        Earlier runs' index rows signed again (`DedupHistory.rebuilt`), to be written with
        this run's rows so that the next run finds them; empty when none were.
    quarantine : pl.DataFrame
        `QUARANTINE` rows: none, as a copy is published as a duplicate, never rejected.
    stats : DedupStats
        Counts of the history looked up, the candidates, the containers and the pairs.
    """

    documents: pl.DataFrame
    signatures: pl.DataFrame
    pairs: pl.DataFrame
    rebuilt: pl.DataFrame
    quarantine: pl.DataFrame
    stats: DedupStats

    def without_documents(self) -> DedupResult:
        """Return the result with no document rows (same columns), for a run done with them."""
        return replace(self, documents=self.documents.clear())


def dedup_stage(
    docs: pl.DataFrame,
    sigs: pl.DataFrame,
    minhash: MinHashConfig,
    config: DedupConfig,
    containment: ContainmentConfig,
    history: DedupHistory = NO_HISTORY,
) -> DedupResult:
    """Cluster exact and near-duplicates, against each other and earlier runs; find containers.

    Parameters
    ----------
    docs
        Cleaned documents (`doc_id`, `source_uri`, `clean_text`, `published_date`,
        `boilerplate_ratio` and the other `DOCUMENTS` columns the boilerplate stage leaves);
        exact copies share a `doc_id`.
    sigs
        Their `doc_signatures` (one row per distinct `doc_id`).
    minhash, config, containment
        Signature, near-duplicate and containment settings.
    history
        Earlier runs' index rows (looked up by this run's buckets: a copy of a published
        article joins its cluster, whose canonical stands) or all of them signed again;
        none by default.

    Returns
    -------
    DedupResult
        The documents table, the signatures, the verified pairs, the rebuilt index rows, the
        (empty) quarantine and the stage's figures.
    """
    rebuilt = history.rebuilt if history.rebuilt is not None else pl.DataFrame()
    earlier: pl.DataFrame = rebuilt
    buckets: pl.DataFrame | None = None
    looked_up: int | None = None
    # A rebuilt index is all of history, banded by `deduplicate`; otherwise the index is asked.
    if not rebuilt.height:
        # the keys to ask with are made only when there is an index to ask (682 MB at 300k)
        match = (
            no_matches()
            if history.matches is None
            else history.matches(
                doc_bucket_keys(searchable(sigs, config), dedup_banding(minhash, config))
            )
        )
        earlier, buckets, looked_up = match.documents, match.buckets, match.documents.height
    candidates = CandidateHistogram()
    clustered, sigs, pairs = deduplicate(docs, minhash, config, earlier, buckets, sigs, candidates)
    contained = find_containers(
        clustered.filter(pl.col("is_canonical")),
        sigs,
        minhash,
        containment,
        config.min_tokens,
        config.containment_min_ratio,
    )
    documents = attach_containers(clustered, contained).with_columns(
        status=pl.when(pl.col("is_canonical"))
        .then(pl.lit("published"))
        .otherwise(pl.lit("duplicate")),
        run_id=pl.lit(None, dtype=pl.String),
    )
    stats = DedupStats(
        index_rebuilt=rebuilt.height,
        history_matches=looked_up,
        candidate_similarity=candidates.counts.tolist(),
        contained_in=contained.height,
        verified_pairs=pairs.height,
    )
    # the documents table's columns, in its order (frames made by hand may lack some)
    columns = [c for c in DOCUMENTS if c in documents.columns]
    return DedupResult(documents.select(columns), sigs, pairs, rebuilt, empty(QUARANTINE), stats)
