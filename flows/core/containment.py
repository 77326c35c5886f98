"""Texts contained in longer published texts: an article inside a live blog or a round-up."""

from __future__ import annotations

import gc

import polars as pl
from datasketch import MinHashLSHEnsemble

from flows.core.minhash import as_lean_minhash, shingle
from flows.core.settings import ContainmentConfig, MinHashConfig

CONTAINED_SCHEMA = pl.Schema(
    {"doc_id": pl.String, "contained_in": pl.String, "containment": pl.Float64}
)


def find_containers(
    published: pl.DataFrame,
    sig_frame: pl.DataFrame,
    minhash: MinHashConfig,
    config: ContainmentConfig,
    min_tokens: int = 0,
    max_ratio: float = 0.3,
) -> pl.DataFrame:
    """Find, for each published text, a much longer published text that contains it.

    Parameters
    ----------
    published
        The run's published documents (`doc_id`, `clean_text`).
    sig_frame
        `flows.core.dedup.doc_signatures` of those documents (`signature`, `n_tokens`,
        `n_shingles`).
    minhash
        Signature settings (seed of the stored signatures).
    config
        Containment threshold, the ensemble's search threshold and partitions.
    min_tokens
        Texts with fewer words take no part, as in near-duplicate search.
    max_ratio
        A contained text has at most this share of its container's word n-grams
        (`DedupConfig.containment_min_ratio`: above it, the pair is a near-duplicate matter).

    Returns
    -------
    pl.DataFrame
        `CONTAINED_SCHEMA`: one row per contained document with its container (the one
        containing most of it, then the shortest, then the lowest doc_id) and the share of
        its distinct word n-grams found there (exact: the texts are at hand).
    """
    if not config.enabled:
        return pl.DataFrame(schema=CONTAINED_SCHEMA)
    rows = (
        published.select("doc_id", "clean_text")
        .unique("doc_id", maintain_order=True)
        .join(sig_frame, on="doc_id", how="inner", maintain_order="left")
        .filter(pl.col("n_tokens") >= max(min_tokens, 1))
    )
    if rows.height < 2:
        return pl.DataFrame(schema=CONTAINED_SCHEMA)
    ids = rows["doc_id"].to_list()
    sizes = rows["n_shingles"].to_numpy()
    matrix = rows["signature"].to_numpy().reshape(rows.height, -1)
    lean = [as_lean_minhash(row, minhash.seed) for row in matrix]
    position = {doc_id: k for k, doc_id in enumerate(ids)}
    ensemble = MinHashLSHEnsemble(
        threshold=config.search_threshold, num_perm=minhash.num_perm, num_part=config.num_part
    )
    ensemble.index(zip(ids, lean, (int(x) for x in sizes), strict=True))
    candidates: dict[int, list[int]] = {}
    for q, doc_id in enumerate(ids):
        hits = [
            position[key]
            for key in ensemble.query(lean[q], int(sizes[q]))
            if key != doc_id and sizes[q] <= max_ratio * sizes[position[key]]
        ]
        if hits:
            candidates[q] = hits
    # Each of the ensemble's MinHashLSH indexes refers to itself through a bound method, so the
    # ensemble (450,000 sets for a 2,000-document run of the soak) is a reference cycle that
    # outlived this call until Python's next full collection, under the later stages' memory
    # (bench/soak.py, 2026-11-26). Free it now.
    del ensemble
    gc.collect()
    # A containment estimated from Jaccard is too noisy for small texts in large ones (J of
    # 0.08 +- 0.025 at 128 perms), so the ensemble's candidates are verified on shingle sets.
    needed = sorted({q for q in candidates} | {k for hits in candidates.values() for k in hits})
    texts = rows["clean_text"].gather(needed).to_list()
    sets = dict(zip(needed, (set(s) for s in shingle(texts, minhash, "word")), strict=True))
    found: dict[str, tuple[str, float]] = {}
    for q, hits in candidates.items():
        own = sets[q]
        scored = [(len(own & sets[k]) / len(own), k) for k in hits if own]
        best = min(((-share, sizes[k], ids[k]) for share, k in scored), default=None)
        if best is not None and -best[0] >= config.threshold:
            found[ids[q]] = (best[2], -best[0])
    return pl.DataFrame(
        {
            "doc_id": list(found),
            "contained_in": [v[0] for v in found.values()],
            "containment": [v[1] for v in found.values()],
        },
        schema=CONTAINED_SCHEMA,
    )


def attach_containers(documents: pl.DataFrame, contained: pl.DataFrame) -> pl.DataFrame:
    """Add `contained_in` and `containment` to the canonical rows of `documents`.

    Exact copies share their canonical's `doc_id`: joined on it alone, a copy would carry its
    canonical's container, and validation would quarantine it for a column the pipeline
    derived (33,661-page syndication inbox: 10 pages lost so).

    Parameters
    ----------
    documents
        Clustered documents (`doc_id`, `is_canonical`), in any order.
    contained
        `find_containers`' rows (`CONTAINED_SCHEMA`).

    Returns
    -------
    pl.DataFrame
        `documents` in its order with the two columns, null on every non-canonical row.
    """
    joined = documents.join(
        contained.select(CONTAINED_SCHEMA.names()), on="doc_id", how="left", maintain_order="left"
    )
    keep = pl.col("is_canonical") & (pl.col("contained_in") != pl.col("doc_id"))
    return joined.with_columns(
        contained_in=pl.when(keep).then(pl.col("contained_in")),
        containment=pl.when(keep).then(pl.col("containment")),
    )
