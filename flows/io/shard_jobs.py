"""The bodies of the shard tasks: plain functions of Parquet paths, run where a worker is.

A shard task (`flows/tasks.py`) hands its body to `flows.io.workers.run`, which runs it in a
worker process of the stage's pool or in the task's own thread. So these import neither
Prefect nor the flow's modules: a spawned worker loads polars and the core functions it needs.
"""

from __future__ import annotations

import polars as pl

from flows.core.claims import extract_claims
from flows.core.schema import CLAIMS
from flows.io.shards import write_shard


def claims_job(src: str, dest: str, extractor: str, run_id: str) -> str:
    """Extract the claims of the articles in `src`; write them under `dest`, return the path."""
    found = extract_claims(pl.read_parquet(src), extractor=extractor, run_id=run_id)
    return write_shard(found.select(list(CLAIMS)), dest, "claims")


def ready() -> None:
    """Do nothing: a claims worker's warm-up job (unpickling it imports this module)."""
