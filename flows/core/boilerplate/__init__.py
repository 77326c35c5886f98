"""Passage-level boilerplate: passages whose near-copies recur around different stories.

The stage's steps, each a module: `signing` (each distinct passage text's MinHash and
bands), `index` (the passage index of earlier runs, looked up by this run's buckets),
`groups` (passages grouped into near-copies, with their support across stories),
`classify` (which groups are boilerplate: recurrence, and the single-page classifier's
hits), `clean` (the boilerplate cut out of each text) and `stage` (`boilerplate_stage`: all
of them, with emptied documents quarantined).
"""

from flows.core.boilerplate.classify import absorb_contained
from flows.core.boilerplate.clean import clean_texts, find_boilerplate, remove_boilerplate
from flows.core.boilerplate.index import (
    NO_HISTORY,
    PASSAGE_INDEX,
    PASSAGE_KEY_COLUMNS,
    BoilerplateHistory,
    band_column,
    bucket_rows,
    frame_lookup,
    passage_index_chunks,
    passage_index_rows,
    passage_keys_schema,
    within_bucket_cap,
)
from flows.core.boilerplate.signing import (
    min_shared_bands,
    passage_banding,
    passage_buckets,
    passage_signatures,
)
from flows.core.boilerplate.stage import BoilerplateResult, BoilerplateStats, boilerplate_stage

__all__ = [
    "NO_HISTORY",
    "PASSAGE_INDEX",
    "PASSAGE_KEY_COLUMNS",
    "BoilerplateHistory",
    "BoilerplateResult",
    "BoilerplateStats",
    "absorb_contained",
    "band_column",
    "boilerplate_stage",
    "bucket_rows",
    "clean_texts",
    "find_boilerplate",
    "frame_lookup",
    "min_shared_bands",
    "passage_banding",
    "passage_buckets",
    "passage_index_chunks",
    "passage_index_rows",
    "passage_keys_schema",
    "passage_signatures",
    "remove_boilerplate",
    "within_bucket_cap",
]
