"""One ingest shard: read and normalise some of an inbox's files, write them as Parquet.

A plain function of paths (`ingest_job`), so that the ingest shard task can run it in a worker
process (`flows/io/workers.py`): it imports neither Prefect nor the flow's modules.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from checks.models import NormalisedDocModel
from checks.quarantine import split_valid
from flows.core.drops import drop_where
from flows.core.settings import IngestConfig
from flows.core.text import normalise_documents
from flows.core.titles import document_titles
from flows.io.ingest.read import read_files
from flows.io.shards import write_shard


@dataclass(frozen=True)
class IngestShard:
    """What one ingest shard wrote (Parquet paths) and counted."""

    docs: str  # normalised, valid documents (known ones included)
    quarantine: str  # unreadable records (stage ingest)
    empties: str  # records empty after normalisation
    invalid: str  # records failing the normalised-document contract
    files: str  # the FILES_LEDGER rows of the shard's files
    records_read: int  # records of the files read: documents + ingest quarantine
    already_seen_records: int  # records of files skipped as read by an earlier run


def ingest_job(
    inbox: str, names: list[str], config: IngestConfig, seen: pl.DataFrame | None, dest: str
) -> IngestShard:
    """Read and normalise the files `names` of `inbox`; write the frames under `dest`."""
    result = read_files(inbox, names, config, seen=seen)
    docs, empties, invalid = normalise_raw(result.docs)
    return IngestShard(
        # Nothing after normalisation reads `raw_text`: carried along, it was a second copy of
        # every text through the boilerplate stage.
        docs=write_shard(docs.drop("raw_text"), dest, "docs"),
        quarantine=write_shard(result.quarantine, dest, "quarantine"),
        empties=write_shard(empties, dest, "empties"),
        invalid=write_shard(invalid, dest, "invalid"),
        files=write_shard(result.files, dest, "files"),
        records_read=result.docs.height + result.quarantine.height,
        already_seen_records=result.already_seen_records,
    )


def normalise_raw(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Normalise raw documents; return them, those empty after it, and those failing the contract.

    Row by row: a shard's result is the rows of the whole inbox's result.
    """
    # The metadata title stands until the boilerplate stage finds the first real headline.
    docs = normalise_documents(raw.lazy()).collect()
    docs = docs.with_columns(document_titles(docs))
    docs, empties = drop_where(
        docs,
        pl.col("text").str.len_chars() == 0,
        stage="normalise",
        reason="empty_after_cleaning",
        detail=pl.lit("no text left after unicode and white-space normalisation"),
    )
    docs, invalid = split_valid(docs, NormalisedDocModel, stage="normalise")
    return docs, empties, invalid


def ready() -> None:
    """Do nothing: an ingest worker's warm-up job (unpickling it imports this module)."""
