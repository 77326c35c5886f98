"""The validate stage and the run summary as the flow calls them: inputs in, typed result out.

Texts and figures are invented.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

import polars as pl
import pytest

from checks.expectations import (
    CheckpointResult,
    CheckpointRunner,
    Suite,
    run_checkpoint,
)
from checks.summary import run_summary
from checks.validate import (
    ARTICLE_COLUMNS,
    NO_CLAIM_HISTORY,
    ClaimHistory,
    ValidateResult,
    validate_stage,
)
from flows.core.claims import extract_claims
from flows.core.drops import KnownResult, KnownStats
from flows.core.run import RunState
from flows.core.schema import EXTERNAL, QUARANTINE
from flows.core.settings import Settings
from flows.io.workers import StandingWorker, checkpoint_ready
from tests.test_invariants import documents_stage

S = Settings()
DAY = dt.date(2025, 3, 14)
PORT = (
    "Harbour strike enters fourth day\n\n"
    "About 1,500 containers are stranded at Kessmouth, the port authority said on Monday. "
    "Dockworkers walked out after talks with the operators collapsed late on Friday night, "
    "and ferries were diverted to smaller harbours along the northern coast of the bay."
)
RIVER = (
    "Flood warnings along the Lessar\n\n"
    "The river rose by two metres overnight, and 300 homes were evacuated, the mayor said. "
    "Volunteers filled sandbags in the market square while the regional council opened two "
    "shelters in school halls on the eastern bank for the families who had to leave."
)
# an article an earlier run published, which an external claim of this run names by path
EARLIER = "Earlier report\n\nAbout 40 ships waited outside the harbour, the coastguard said."
EARLIER_ID = "e" * 16


def _external(*rows: dict[str, object]) -> pl.DataFrame:
    base = dict.fromkeys(EXTERNAL)
    return pl.DataFrame(
        [base | {"extractor": "external:t.csv", "qualifier": "exact"} | r for r in rows],
        schema=EXTERNAL,
    )


def _earlier_articles(doc_ids: pl.Series, uris: pl.Series) -> pl.DataFrame:
    row = {"doc_id": EARLIER_ID, "source_uri": "old/ships.txt", "clean_text": EARLIER}
    found = pl.DataFrame([row | {"published_date": DAY}], schema=ARTICLE_COLUMNS)
    return found.filter(
        pl.col("doc_id").is_in(doc_ids.implode()) | pl.col("source_uri").is_in(uris.implode())
    )


@pytest.fixture(scope="module")
def inputs() -> tuple[pl.DataFrame, pl.DataFrame]:
    documents = documents_stage([(PORT, DAY), (RIVER, DAY)])
    articles = documents.filter(pl.col("is_canonical")).select("doc_id", "clean_text")
    return documents, extract_claims(articles, run_id="run-1")


def _validate(
    inputs: tuple[pl.DataFrame, pl.DataFrame],
    tmp_path: Path,
    external: pl.DataFrame,
    history: ClaimHistory = NO_CLAIM_HISTORY,
    checkpoint: CheckpointRunner = run_checkpoint,
) -> ValidateResult:
    documents, found = inputs
    passages = pl.DataFrame(
        schema={
            "doc_id": pl.String,
            "start": pl.Int64,
            "end": pl.Int64,
            "text": pl.String,
            "support": pl.Int64,
            "signal": pl.String,
            "run_id": pl.String,
            "is_boilerplate": pl.Boolean,
        }
    )
    return validate_stage(
        documents,
        found,
        external,
        passages,
        S.validation,
        tmp_path / "dd",
        "run-1",
        history,
        checkpoint,
    )


def test_the_checkpoint_in_a_worker_process_gives_the_same_outcomes(
    inputs: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path
) -> None:
    here = _validate(inputs, tmp_path / "here", _external())
    pids: list[int] = []

    def in_worker(suites: Sequence[Suite], docs_dir: Path) -> Future[CheckpointResult]:
        # what the flow's validate task does with a started worker (flows/tasks.py)
        pids.append(checker.run(os.getpid))
        return checker.submit(run_checkpoint, suites, docs_dir)

    with StandingWorker(checkpoint_ready) as checker:
        checker.start()
        there = _validate(inputs, tmp_path / "there", _external(), checkpoint=in_worker)
        # the stage returned with the checkpoint running on, or done
        assert isinstance(there.pending, Future)
        assert there.checkpoint.success == here.checkpoint.success
    assert pids and pids[0] != os.getpid()
    assert there.checkpoint.outcomes == here.checkpoint.outcomes
    assert there.checkpoint.success == here.checkpoint.success
    assert there.checkpoint.data_docs_index == tmp_path / "there" / "dd" / "index.html"
    assert there.checkpoint.data_docs_index.is_file()
    for name, table in here.tables.items():
        assert there.tables[name].equals(table)


def test_the_stage_returns_its_tables_and_figures_and_changes_nothing(
    inputs: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path
) -> None:
    documents, found = inputs
    result = _validate(inputs, tmp_path, _external())
    assert set(result.tables) == {
        "documents",
        "articles",
        "claims",
        "claim_timeline",
        "boilerplate",
    }
    assert result.tables["documents"].equals(documents)
    assert result.tables["claims"]["claim_id"].sort().equals(found["claim_id"].sort())
    assert found.height >= 2  # the two figures of the two articles
    assert result.tables["claim_timeline"]["run_id"].unique().to_list() == ["run-1"]
    assert result.quarantine.schema == QUARANTINE and result.quarantine.height == 0
    assert result.broken == () and result.repaired == 0
    assert result.stats.notes() == {"claims_external_published": 0, "claim_conflicts": 0}
    assert result.checkpoint.success and (tmp_path / "dd" / "index.html").exists()


def test_an_external_claim_about_an_earlier_article_is_grounded_through_the_history(
    inputs: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path
) -> None:
    sentence = "About 40 ships waited outside the harbour, the coastguard said."
    rows = _external(
        {
            "article_uri": "old/ships.txt",
            "sentence": sentence,
            "quantity": 40.0,
            "source_uri": "c#1",
        },
        {"doc_id": "f" * 16, "sentence": sentence, "quantity": 40.0, "source_uri": "c#2"},
    )
    alone = _validate(inputs, tmp_path / "a", rows)
    assert alone.quarantine["reason"].to_list() == ["grounding:unknown_doc_id"] * 2
    assert alone.stats.claims_external_published == 0
    known = _validate(inputs, tmp_path / "b", rows, ClaimHistory(articles=_earlier_articles))
    assert known.quarantine["source_uri"].to_list() == ["c#2"]
    assert known.stats.claims_external_published == 1
    published = known.tables["claims"].filter(pl.col("doc_id") == EARLIER_ID)
    assert published["run_id"].to_list() == ["run-1"] and published["claim_id"][0].startswith("x")


def test_earlier_timeline_rows_from_the_history_make_conflicts(
    inputs: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path
) -> None:
    def timeline(days: pl.DataFrame, claim_ids: pl.Series) -> pl.DataFrame:
        # another source gave another figure for each of this run's topics on its day
        return days.unique().with_columns(
            quantity=pl.lit(-1.0), source=pl.lit("elsewhere"), n=pl.lit(1, pl.UInt32)
        )

    result = _validate(inputs, tmp_path, _external(), ClaimHistory(timeline=timeline))
    timed = result.tables["claim_timeline"]
    assert timed.height > 0 and timed["conflict"].all()
    assert result.stats.claim_conflicts == timed.height


def test_the_summary_sets_aside_repeats_without_changing_the_recorded_run(
    inputs: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path
) -> None:
    documents, _ = inputs
    validated = _validate(inputs, tmp_path, _external())
    state = RunState(run_id="run-1")
    bad = pl.DataFrame(
        [
            {"source_uri": "a.txt", "stage": "ingest", "reason": "unreadable:binary"},
            {"source_uri": "b.txt", "stage": "ingest", "reason": "unreadable:binary"},
        ]
    ).with_columns(
        detail=pl.lit("x"), record=pl.lit(None, pl.String), run_id=pl.lit(None, pl.String)
    )
    bad = bad.select(list(QUARANTINE))
    docs = documents.unique("doc_id").select("doc_id", "source_uri")
    state.record("normalise", KnownResult(docs, bad, KnownStats(0)), 0.5)
    state.record("validate", validated, 1.0)
    earlier = bad.head(1).with_columns(run_id=pl.lit("run-0"))
    before = state.quarantined()
    done = run_summary(state, earlier, documents.height + 2, 0, validated, {"inbox": "in"})
    assert state.quarantined().equals(before)  # the summary reads the record, never writes it
    assert done.quarantine["source_uri"].to_list() == ["b.txt"]
    assert done.quarantine["run_id"].to_list() == ["run-1"]
    summary = done.summary
    assert list(summary)[:4] == ["run_id", "inbox", "verdict", "counts"]
    assert summary["verdict"] == "passed" and not done.blocked
    assert summary["counts"]["quarantined"] == 1 and summary["counts"]["already_ingested"] == 1
    assert summary["stages_seconds"] == {"normalise": 0.5, "validate": 1.0}
    assert summary["notes"] == {"known_docs": 0, **validated.stats.notes()}
