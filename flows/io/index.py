"""The persistent near-duplicate index: signatures of published documents and their band hashes.

`index/signatures-w<n>/<run_id>/` holds one row per published document (doc_id, cluster,
canonical rule fields, signature of word n-grams); `index/bands-w<n>-<b>x<r>/<run_id>/` holds its
(band, band_hash) rows for the banding in use. Signatures of other shingles (an output written
before word 3-grams, `index/signatures` of word 5-grams) are never compared with this run's:
the first run with new shingles signs every published document again (`rebuild_index`).
A run looks up only its own band hashes (a columnar semi-join over the band
table) and then reads the signatures of the few documents that matched, so its cost grows with
its new documents, not with the history it is compared against.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from flows.core.boilerplate import (
    PASSAGE_INDEX,
    BoilerplateHistory,
    bucket_rows,
    passage_banding,
    passage_keys_schema,
    passage_signatures,
    within_bucket_cap,
)
from flows.core.dedup import (
    BUCKET_ROWS,
    INDEX_COLUMNS,
    dedup_banding,
    doc_buckets,
    doc_signatures,
    empty_index,
)
from flows.core.dedup_stage import DedupHistory, IndexMatch, index_match, sharing_buckets
from flows.core.lsh import Banding
from flows.core.settings import BoilerplateConfig, DedupConfig, MinHashConfig
from flows.io.store import lookup, table_files

# The signature index of word 5-grams, as outputs written before word 3-grams hold it.
LEGACY_SIGNATURES = "index/signatures"
BOILERPLATE = "index/boilerplate"


def known_boilerplate(snapshot: Path | None) -> pl.DataFrame | None:
    """Return the boilerplate passages of earlier runs (`text`, `support`, `signature`)."""
    files = table_files(snapshot, BOILERPLATE)
    return pl.read_parquet(files) if files else None


def boilerplate_rows(
    passages: pl.DataFrame | pl.LazyFrame, minhash: MinHashConfig, where: pl.Expr | None = None
) -> pl.DataFrame:
    """Return the index rows of this run's boilerplate variants not already known.

    `where` keeps only the passages it holds for (the recurring ones). The variants are
    ordered by support, ties in passage order (a stable sort: the same rows give the same
    file), and only they are signed (the stage keeps no signature per passage: 512 bytes
    each).
    """
    keep = pl.col("known_support").is_null()
    if where is not None:
        keep = keep & where
    variants = (
        passages.lazy()
        .filter(keep)
        .select("text", "support")
        .sort("support", descending=True, maintain_order=True)
        .unique("text", keep="first", maintain_order=True)
        .collect()
    )
    signatures = passage_signatures(variants["text"], minhash)
    return variants.with_columns(
        signature=pl.Series(signatures, dtype=pl.Array(pl.UInt32, minhash.num_perm))
    )


def passages_table(banding: Banding) -> str:
    """Return the table name of the passage index for a passage banding.

    One row per passage, its band hashes in columns (`passage_keys_schema`). Outputs written
    before that layout hold a row per (passage, band) in `legacy_passages_table`: still read.
    """
    return f"index/passage-keys-{banding.bands}x{banding.rows}"


def legacy_passages_table(banding: Banding) -> str:
    """Return the table name of the passage index of a row per (passage, band) (until 2026-12)."""
    return f"index/passages-{banding.bands}x{banding.rows}"


def recent_files(files: list[Path], documents: int) -> list[Path]:
    """Return the newest run files of a table, enough to hold at least `documents` documents.

    Files are named by run id (`<table>/<run_id>/part-0.parquet`), which starts with the run's
    UTC start time, so names sort by time (hosts publishing to one output with skewed clocks
    shift the window, nothing else). Each file's distinct `doc_id`s are counted (a document in
    two runs counts twice), reading that column only of the files returned.
    """
    return _recent_counted(files, documents)[0]


def _recent_counted(files: list[Path], documents: int) -> tuple[list[Path], int]:
    """Return `recent_files(files, documents)` and the documents they hold, counted once."""
    chosen: list[Path] = []
    seen = 0
    for path in reversed(files):
        if seen >= documents:
            break
        chosen.append(path)
        seen += pl.scan_parquet(path).select(pl.col("doc_id").n_unique()).collect().item()
    return chosen[::-1], seen


def passage_history(
    snapshot: Path | None, banding: Banding, keys: pl.DataFrame, cap: int, documents: int
) -> pl.DataFrame:
    """Return earlier runs' passage index rows that share a bucket with this run's passages.

    Parameters
    ----------
    snapshot
        The current published snapshot folder, or None before the first run.
    banding
        The passage banding; an index written with another banding is not read (its passages
        count again once re-published under the new one).
    keys
        This run's passage buckets (`band`, `band_hash`).
    cap
        Rows of at most this many documents (the first by doc_id) per bucket
        (`BoilerplateConfig.history_bucket_cap`).
    documents
        Read the most recent runs holding at least this many documents
        (`BoilerplateConfig.history_documents`), so the rows read do not grow with history.
    """
    if keys.height == 0:
        return pl.DataFrame(schema=PASSAGE_INDEX)
    # the newest runs first: those of the current layout, then older ones of the legacy layout
    files, seen = _recent_counted(table_files(snapshot, passages_table(banding)), documents)
    legacy = recent_files(table_files(snapshot, legacy_passages_table(banding)), documents - seen)
    found = []
    if files:
        schema = passage_keys_schema(banding.bands)
        found.append(bucket_rows(pl.scan_parquet(files, schema=schema), keys, banding.bands))
    if legacy:
        found.append(lookup(legacy, keys, ["band_hash", "band"], schema=PASSAGE_INDEX))
    if not found:
        return pl.DataFrame(schema=PASSAGE_INDEX)
    return (
        pl.concat(found)
        .collect(engine="streaming")
        .filter(within_bucket_cap(cap))
        .select(list(PASSAGE_INDEX))
        .cast(PASSAGE_INDEX)
    )


def snapshot_history(
    snapshot: Path | None, minhash: MinHashConfig, config: BoilerplateConfig
) -> BoilerplateHistory:
    """Return the boilerplate history of a published snapshot: known variants, passage lookup.

    The known variants are read now; the passage index is read when the stage looks up its
    buckets (`passage_history`). No lookup (None) when the snapshot holds no passage index
    under this banding: the stage then makes no keys.
    """
    banding = passage_banding(minhash, config)

    def passages(keys: pl.DataFrame) -> pl.DataFrame:
        return passage_history(
            snapshot, banding, keys, config.history_bucket_cap, config.history_documents
        )

    # Without an index under this banding there is nothing to look up (and no keys to make).
    indexed = bool(
        table_files(snapshot, passages_table(banding))
        or table_files(snapshot, legacy_passages_table(banding))
    )
    return BoilerplateHistory(
        passages=passages if indexed else None, known=known_boilerplate(snapshot)
    )


def signatures_table(minhash: MinHashConfig) -> str:
    """Return the table name of the signature index for these shingles and permutations."""
    suffix = (
        ""
        if (minhash.num_perm, minhash.seed) == (128, 1)
        else f"p{minhash.num_perm}s{minhash.seed}"
    )
    return f"index/signatures-w{minhash.ngram}{suffix}"


def bands_table(banding: Banding, minhash: MinHashConfig) -> str:
    """Return the table name of the band index for a banding of these signatures."""
    return (
        f"{signatures_table(minhash).replace('signatures', 'bands')}-{banding.bands}x{banding.rows}"
    )


def rebuild_index(snapshot: Path | None, minhash: MinHashConfig, short_tokens: int) -> pl.DataFrame:
    """Sign every published document again when the index holds no signatures of `minhash`.

    Returns index rows (`INDEX_COLUMNS`, the signature columns, `clean_text`) of every
    document of the `documents` table, or an empty frame when the index already has such
    signatures or nothing was published. Their clusters and canonicals stand as published.
    """
    empty = empty_index(minhash)
    if table_files(snapshot, signatures_table(minhash)):
        return empty
    files = table_files(snapshot, "documents")
    if not files:
        return empty
    published = (
        pl.scan_parquet(files)
        .select(*INDEX_COLUMNS, "clean_text")
        .unique("doc_id", keep="first", maintain_order=True)
        .collect()
    )
    signed = doc_signatures(published, minhash, short_tokens)
    # clean_text rides along for verification (word alignment); the index does not keep it
    return (
        published.select(*INDEX_COLUMNS, "clean_text")
        .join(signed, on="doc_id")
        .select(*empty.columns, "clean_text")
    )


def scan_signatures(files: list[Path], minhash: MinHashConfig) -> pl.LazyFrame:
    """Scan signature index files, giving files written before a column existed nulls for it."""
    return pl.scan_parquet(files, schema=empty_index(minhash).schema, missing_columns="insert")


def match_history(
    snapshot: Path | None,
    banding: Banding,
    new_buckets: pl.DataFrame,
    minhash: MinHashConfig,
    min_tokens: int = 0,
    texts: bool = False,
) -> IndexMatch:
    """Look up the history documents that share a bucket with this run's documents.

    Parameters
    ----------
    snapshot
        The current published snapshot folder, or None before the first run.
    banding
        The banding of this run; a band index written with another banding is rebuilt on the
        fly from the stored signatures (slower, same result).
    new_buckets
        This run's buckets (`band`, `band_hash`; other columns are not read).
    minhash
        Signature settings (for an empty index's schema).
    min_tokens
        Documents with fewer words take no part in near-duplicate search (`DedupConfig`).
    texts
        Attach the matched documents' published `clean_text` (for word alignment).
    """
    signature_files = table_files(snapshot, signatures_table(minhash))
    if not signature_files or new_buckets.height == 0:
        return IndexMatch(pl.DataFrame(schema=BUCKET_ROWS), empty_index(minhash))
    band_files = table_files(snapshot, bands_table(banding, minhash))
    if band_files:
        history_buckets = lookup(band_files, new_buckets, ["band_hash", "band"])
    else:
        signed = (
            scan_signatures(signature_files, minhash)
            .select("doc_id", "signature", "n_tokens", "char_signature")
            .collect()
        )
        rebuilt = doc_buckets(
            signed.filter(pl.col("n_tokens") >= min_tokens).with_columns(n_shingles=pl.lit(1)),
            banding,
        )
        history_buckets = sharing_buckets(rebuilt.lazy(), new_buckets)
    match = index_match(history_buckets, scan_signatures(signature_files, minhash))
    if texts:
        return IndexMatch(
            match.buckets, with_clean_text(snapshot, match.documents, signature_files)
        )
    return match


def snapshot_dedup_history(
    snapshot: Path | None, minhash: MinHashConfig, config: DedupConfig
) -> DedupHistory:
    """Return the dedup history of a published snapshot: the index lookup, or all of it rebuilt.

    An index of other shingles than this run's (an output written before word 3-grams) is
    signed again from the published documents now, once (`rebuild_index`); it then stands
    for all of history. Otherwise the index is read when the stage looks up its buckets
    (`match_history`, with the published texts when the word alignment is on); no lookup
    (None) when the snapshot holds no signature index.
    """
    banding = dedup_banding(minhash, config)

    def matches(buckets: pl.DataFrame) -> IndexMatch:
        return match_history(
            snapshot,
            banding,
            buckets,
            minhash,
            config.min_tokens,
            texts=config.aligned_coverage > 0,
        )

    rebuilt = rebuild_index(snapshot, minhash, config.short_tokens)
    # Without a signature index there is nothing to look up (and no keys to make).
    indexed = bool(table_files(snapshot, signatures_table(minhash)))
    return DedupHistory(matches=matches if indexed else None, rebuilt=rebuilt)


def with_clean_text(
    snapshot: Path | None, documents: pl.DataFrame, signature_files: list[Path]
) -> pl.DataFrame:
    """Attach the published `clean_text` of history documents (null where none is found).

    Verification aligns the words of candidate pairs, so it needs history's texts too. Only
    the runs whose signature files hold one of `documents` are read: a run's cost follows its
    matches, not the size of the history.
    """
    if documents.height == 0:
        return documents.with_columns(clean_text=pl.lit(None, dtype=pl.String))
    wanted = documents.select("doc_id").unique()
    runs = (
        pl.scan_parquet(signature_files, include_file_paths="_file")
        .select("doc_id", "_file")
        .join(wanted.lazy(), on="doc_id", how="semi")
        .select(pl.col("_file").unique())
        .collect(engine="streaming")["_file"]
    )
    folders = {Path(f).parent.name for f in runs}
    files = [f for f in table_files(snapshot, "documents") if f.parent.name in folders]
    if not files:
        return documents.with_columns(clean_text=pl.lit(None, dtype=pl.String))
    texts = (
        lookup(files, wanted, ["doc_id"])
        .select("doc_id", "clean_text")
        .unique("doc_id", keep="first")
        .collect(engine="streaming")
    )
    return documents.join(texts, on="doc_id", how="left", maintain_order="left")
