"""Near-duplicate documents: signatures -> buckets -> verified pairs -> clusters.

The stages of the dedup engine, each a module: `signatures` (a document's MinHash and the
keys that veto a match), `buckets` (LSH band hashes, the band table's rows), `similarity`
(Jaccard, coverage and containment estimated from signatures), `alignment` (the words two
texts share in order), `verify` (the rules a candidate pair must pass), `clusters`
(components and canonicals) and `engine` (`deduplicate`: a run's documents through all of
them, against history).
"""

from flows.core.dedup.alignment import Alignment, align_words, word_hashes
from flows.core.dedup.buckets import (
    BUCKET_COLUMNS,
    BUCKET_ROWS,
    dedup_banding,
    doc_bucket_chunks,
    doc_bucket_keys,
    doc_buckets,
)
from flows.core.dedup.clusters import cluster_documents, near_duplicate_components
from flows.core.dedup.engine import deduplicate
from flows.core.dedup.signatures import (
    INDEX_COLUMNS,
    SIGNATURE_COLUMNS,
    doc_signatures,
    empty_index,
    names_key,
    numbers_key,
    searchable,
    shingle_count,
    signature_dtype,
    without_titles,
)
from flows.core.dedup.similarity import exact_similarity
from flows.core.dedup.verify import CandidateHistogram, KeyOverlap, figure_replaced, key_overlap

__all__ = [
    "BUCKET_COLUMNS",
    "BUCKET_ROWS",
    "INDEX_COLUMNS",
    "SIGNATURE_COLUMNS",
    "Alignment",
    "CandidateHistogram",
    "KeyOverlap",
    "align_words",
    "cluster_documents",
    "dedup_banding",
    "deduplicate",
    "doc_bucket_chunks",
    "doc_bucket_keys",
    "doc_buckets",
    "doc_signatures",
    "empty_index",
    "exact_similarity",
    "figure_replaced",
    "key_overlap",
    "names_key",
    "near_duplicate_components",
    "numbers_key",
    "searchable",
    "shingle_count",
    "signature_dtype",
    "without_titles",
    "word_hashes",
]
