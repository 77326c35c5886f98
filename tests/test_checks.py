"""checks/: pandera models, the quarantine split, the great-expectations checkpoint."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from checks.errors import PipelineInvariantError, SchemaContractError
from checks.expectations import run_documents_checkpoint
from checks.models import (
    ArticleModel,
    BoilerplateModel,
    ClaimModel,
    DocumentModel,
    NormalisedDocModel,
    QuarantineModel,
)
from checks.quarantine import split_rows, split_valid
from flows.core.errors import NewsdqError
from flows.core.repair import repair_documents
from flows.core.schema import BOILERPLATE, CLAIMS, DOCUMENTS, QUARANTINE


def _id(n: int) -> str:
    return f"{n:016x}"


def doc(n: int, **changes: Any) -> dict[str, Any]:
    """A valid canonical document row of its own cluster; `changes` override columns."""
    row: dict[str, Any] = {
        "doc_id": _id(n),
        "source_uri": f"inbox/{n}.txt",
        "source_format": "txt",
        "source": None,
        "url": None,
        "title": f"Title {n}",
        "published_date": dt.date(2024, 1, n % 28 + 1),
        "text": f"Body of document {n}.",
        "clean_text": f"Body of document {n}.",
        "n_chars": 20,
        "replaced_bytes": 0,
        "boilerplate_ratio": 0.1,
        "is_boilerplate_heavy": False,
        "cluster_id": _id(n),
        "is_canonical": True,
        "duplicate_of": None,
        "duplicate_kind": None,
        "similarity": None,
        "contained_in": None,
        "containment": None,
        "status": "published",
        "run_id": "run-1",
    }
    row.update(changes)
    return row


def dup(n: int, of: int, **changes: Any) -> dict[str, Any]:
    """A near-duplicate of document `of`, in its cluster."""
    columns: dict[str, Any] = {
        "cluster_id": _id(of),
        "is_canonical": False,
        "duplicate_of": _id(of),
        "duplicate_kind": "near",
        "similarity": 0.9,
        "status": "duplicate",
    }
    return doc(n, **(columns | changes))


def documents(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=DOCUMENTS)


def claim(n: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "claim_id": f"claim-{n}",
        "doc_id": _id(n),
        "sentence": "About 40 people were hurt, police said.",
        "start": 0,
        "end": 39,
        "quantity": 40.0,
        "quantity_text": "About 40",
        "qualifier": "approximate",
        "unit": "people",
        "source": "police",
        "verb": "said",
        "extractor": "regex",
        "run_id": "run-1",
    }
    row.update(changes)
    return row


def reasons(quarantine: pl.DataFrame) -> dict[str, str]:
    """source_uri -> reason."""
    return dict(zip(quarantine["source_uri"], quarantine["reason"], strict=True))


def test_models_match_the_column_contracts() -> None:
    for model, contract in [
        (DocumentModel, DOCUMENTS),
        (ArticleModel, DOCUMENTS),
        (ClaimModel, CLAIMS),
        (QuarantineModel, QUARANTINE),
        (BoilerplateModel, BOILERPLATE),
    ]:
        columns = model.to_schema().columns
        assert {name: column.dtype.type for name, column in columns.items()} == dict(contract)


def test_valid_documents_pass_unchanged() -> None:
    df = documents(doc(1), doc(2), dup(3, of=2), dup(4, of=2, duplicate_kind="exact"))
    valid, quarantine = split_valid(df, DocumentModel, stage="validate", run_id="run-1")
    assert valid.equals(df)
    assert quarantine.height == 0
    assert quarantine.schema == QUARANTINE


def test_bad_document_rows_are_quarantined_with_reasons() -> None:
    df = documents(
        doc(1),
        doc(2, title="x" * 501),
        doc(3, text=""),
        doc(4, doc_id="NOT-A-HEX-ID"),
        doc(5, published_date=dt.date(1850, 1, 1)),
        doc(8),
        dup(9, of=8),
        doc(10, contained_in=_id(1), containment=0.93),
        dup(12, of=8, doc_id=_id(9), source_uri="inbox/9.txt"),  # one record read twice
    )
    valid, quarantine = split_valid(df, DocumentModel, stage="validate", run_id="run-1")

    assert valid["doc_id"].to_list() == [_id(1), _id(8), _id(10)]
    assert valid.schema == df.schema
    assert reasons(quarantine) == {
        "inbox/2.txt": "schema:str_length",
        "inbox/3.txt": "schema:str_length",
        "inbox/4.txt": "schema:str_matches",
        "inbox/5.txt": "schema:in_range",
        "inbox/9.txt": "schema:unique",
    }
    assert quarantine.height == 6  # both rows of the repeated (doc_id, source_uri)
    assert set(quarantine["stage"]) == {"validate"}
    assert set(quarantine["run_id"]) == {"run-1"}
    detail = dict(zip(quarantine["source_uri"], quarantine["detail"], strict=True))
    assert "published_date=" in detail["inbox/5.txt"]
    assert 'doc_id="NOT-A-HEX-ID"' in detail["inbox/4.txt"]
    record = json.loads(quarantine.filter(pl.col("source_uri") == "inbox/5.txt")["record"][0])
    assert record["published_date"] == "1850-01-01"
    assert record["boilerplate_ratio"] == 0.1
    QuarantineModel.validate(quarantine)


# Rows whose derived columns (clusters, containment, ratios, counts) break the invariants
# the pipeline guarantees: no input can produce them.
def _broken_documents() -> pl.DataFrame:
    return documents(
        doc(1),
        doc(2, boilerplate_ratio=1.5),
        doc(5, cluster_id="two"),
        doc(6, cluster_id="two"),
        doc(7, duplicate_of=_id(1)),
        doc(8),
        dup(9, of=8),
        dup(11, of=8, contained_in=_id(1), containment=0.9),
        doc(12, replaced_bytes=-1),
        doc(13, boilerplate_ratio=float("nan"), clean_text=""),
        doc(14, contained_in=_id(14), containment=0.9),
        # two canonicals of one text (exact copies share a doc_id)
        doc(15),
        doc(15, source_uri="inbox/15-copy.txt", cluster_id=_id(16)),
    )


def test_a_broken_invariant_raises_naming_the_check_count_and_doc_ids() -> None:
    with pytest.raises(PipelineInvariantError) as caught:
        split_valid(_broken_documents(), DocumentModel, stage="validate")
    error = caught.value
    assert isinstance(error, NewsdqError) and error.exit_code == 10
    # the check with the most rows (ties by name) is named first, with a few doc_ids
    assert error.check == "boilerplate_ratio"
    assert error.count == 2
    assert error.doc_ids == (_id(2), _id(13))
    message = str(error)
    assert "documents.boilerplate_ratio" in message and "2 row(s)" in message
    assert _id(2) in message and "one_canonical_per_cluster: 2 row(s)" in message
    assert "bug of the pipeline" in message


def test_broken_invariants_are_repaired_and_counted_not_quarantined() -> None:
    df = _broken_documents()
    split = split_rows(
        df, DocumentModel, stage="validate", invariants="repair", repair=repair_documents
    )
    assert split.quarantine.height == 0
    valid = split.valid
    assert valid.height == df.height and valid.schema == df.schema
    assert valid["source_uri"].to_list() == df["source_uri"].to_list()
    split_valid(valid, DocumentModel, stage="validate")  # the repaired frame passes, strictly
    rows = {r["source_uri"]: r for r in valid.to_dicts()}
    # a confused cluster: each row published as its own canonical
    for n in (5, 6):
        assert rows[f"inbox/{n}.txt"]["cluster_id"] == _id(n)
        assert rows[f"inbox/{n}.txt"]["status"] == "published"
    assert rows["inbox/7.txt"]["duplicate_of"] is None and rows["inbox/7.txt"]["is_canonical"]
    # a duplicate keeps its canonical, loses the container it cannot have
    assert rows["inbox/11.txt"]["duplicate_of"] == _id(8)
    assert rows["inbox/11.txt"]["contained_in"] is None
    assert rows["inbox/14.txt"]["contained_in"] is None
    assert rows["inbox/14.txt"]["status"] == "published"
    assert 0 <= rows["inbox/2.txt"]["boilerplate_ratio"] <= 1
    assert rows["inbox/12.txt"]["replaced_bytes"] == 0
    # no text left after boilerplate removal: published with its text
    assert rows["inbox/13.txt"]["clean_text"] == rows["inbox/13.txt"]["text"]
    assert rows["inbox/13.txt"]["n_chars"] == len(rows["inbox/13.txt"]["text"])
    # the second canonical of one text becomes an exact copy of the first
    copy = rows["inbox/15-copy.txt"]
    assert (copy["is_canonical"], copy["duplicate_of"], copy["duplicate_kind"]) == (
        False,
        _id(15),
        "exact",
    )
    assert copy["cluster_id"] == rows["inbox/15.txt"]["cluster_id"]
    untouched = ["inbox/1.txt", "inbox/8.txt", "inbox/9.txt"]
    assert valid.filter(pl.col("source_uri").is_in(untouched)).equals(
        df.filter(pl.col("source_uri").is_in(untouched))
    )
    broken = {b.check: b for b in split.broken}
    assert set(broken) == {
        "boilerplate_ratio",
        "one_canonical_per_cluster",
        "one_canonical_per_doc_id",
        "duplicate_of_null_iff_canonical",
        "contained_in_only_on_published_rows",
        "replaced_bytes",
        "clean_text",
    }
    assert broken["one_canonical_per_cluster"].doc_ids == (_id(5), _id(6))
    assert broken["one_canonical_per_doc_id"].rows == 2
    assert broken["contained_in_only_on_published_rows"].doc_ids == (_id(11), _id(14))
    assert all(b.quarantined == 0 and b.repaired == b.rows for b in split.broken)
    assert split.repaired == 10


def test_a_row_failing_an_input_check_too_is_quarantined_by_it() -> None:
    df = documents(doc(1), doc(2, text="", boilerplate_ratio=1.5))
    split = split_rows(
        df, DocumentModel, stage="validate", invariants="repair", repair=repair_documents
    )
    assert split.valid["source_uri"].to_list() == ["inbox/1.txt"]
    assert reasons(split.quarantine) == {"inbox/2.txt": "schema:str_length"}
    assert [(b.check, b.rows, b.quarantined) for b in split.broken] == [("boilerplate_ratio", 1, 1)]
    assert split.repaired == 0


def test_one_row_failing_several_checks_is_one_quarantine_row() -> None:
    df = documents(doc(1), doc(2, published_date=dt.date(1850, 1, 1), title="x" * 501))
    valid, quarantine = split_valid(df, DocumentModel, stage="validate")
    assert valid.height == 1
    assert quarantine.height == 1
    assert quarantine["reason"][0] == "schema:in_range"  # first failing check
    detail = quarantine["detail"][0]
    assert "title=" in detail and "published_date=" in detail and "str_length" in detail
    assert quarantine["run_id"][0] is None


def test_cluster_held_by_an_earlier_run_passes_but_a_stray_duplicate_does_not() -> None:
    history_id = _id(99)  # canonical published by an earlier run, not in this frame
    df = documents(
        doc(1),
        dup(2, of=99),
        dup(3, of=99, doc_id=history_id, duplicate_kind="exact"),
        dup(4, of=1, duplicate_of=_id(2)),  # in cluster 1 but pointing elsewhere
    )
    valid, quarantine = split_valid(df.head(3), DocumentModel, stage="validate")
    assert valid.equals(df.head(3)) and quarantine.height == 0
    with pytest.raises(PipelineInvariantError, match="duplicate_of_is_cluster_canonical"):
        split_valid(df, DocumentModel, stage="validate")
    split = split_rows(
        df, DocumentModel, stage="validate", invariants="repair", repair=repair_documents
    )
    assert split.quarantine.height == 0
    stray = split.valid.row(3, named=True)
    assert (stray["cluster_id"], stray["is_canonical"], stray["status"]) == (
        _id(4),
        True,
        "published",
    )
    assert [b.check for b in split.broken] == ["duplicate_of_is_cluster_canonical"]


def test_articles_are_canonical_and_unique() -> None:
    df = documents(
        doc(1),
        doc(2, clean_text=""),
        dup(3, of=1, status="published"),
        doc(4, source_uri="inbox/4-copy.txt"),
        doc(4),
    )
    with pytest.raises(PipelineInvariantError):
        split_valid(df, ArticleModel, stage="validate")
    # without a repair, rows breaking invariants are quarantined, and counted
    split = split_rows(df, ArticleModel, stage="validate", invariants="repair")
    assert split.valid["source_uri"].to_list() == ["inbox/1.txt"]
    assert reasons(split.quarantine) == {
        "inbox/2.txt": "schema:str_length",
        "inbox/3.txt": "schema:canonical_only",
        "inbox/4-copy.txt": "schema:unique",
        "inbox/4.txt": "schema:unique",
    }
    broken = {b.check: b for b in split.broken}
    assert {"clean_text", "is_canonical", "doc_id.unique"} <= set(broken)
    assert broken["doc_id.unique"].rows == 2
    assert all(b.quarantined == b.rows for b in split.broken)
    assert split.repaired == 0


def test_bad_claims_are_quarantined() -> None:
    df = pl.DataFrame(
        [
            claim(1),
            claim(2, quantity=-3.0),
            claim(3, claim_id="dup"),
            claim(4, claim_id="dup"),
            claim(5, qualifier="roughly"),
            claim(7, quantity=float("inf")),
        ],
        schema=CLAIMS,
    )
    valid, quarantine = split_valid(df, ClaimModel, stage="claims", uri_column="doc_id")
    assert valid["claim_id"].to_list() == ["claim-1"]
    assert dict(zip(quarantine["source_uri"], quarantine["reason"], strict=True)) == {
        _id(2): "schema:greater_than_or_equal_to",
        _id(3): "schema:unique",
        _id(4): "schema:unique",
        _id(5): "schema:isin",
        _id(7): "schema:finite",
    }
    assert set(quarantine["stage"]) == {"claims"}
    # a grounded claim's span is the pipeline's: an empty one is a bug
    empty_span = pl.concat([df, pl.DataFrame([claim(6, end=0)], schema=CLAIMS)])
    with pytest.raises(PipelineInvariantError, match=r"claims\.end_after_start"):
        split_valid(empty_span, ClaimModel, stage="claims", uri_column="doc_id")
    split = split_rows(
        empty_span, ClaimModel, stage="claims", uri_column="doc_id", invariants="repair"
    )
    assert reasons(split.quarantine)[_id(6)] == "schema:end_after_start"
    assert [(b.check, b.rows) for b in split.broken] == [("end_after_start", 1)]


def test_missing_uri_column_gives_null_source_uri() -> None:
    df = pl.DataFrame([claim(1, sentence="")], schema=CLAIMS)
    _, quarantine = split_valid(df, ClaimModel, stage="claims")
    assert quarantine["source_uri"].to_list() == [None]
    assert quarantine["reason"].to_list() == ["schema:str_length"]


def test_boilerplate_spans() -> None:
    rows = [
        {"doc_id": _id(1), "start": 0, "end": 10, "text": "Subscribe!", "support": 3},
        {"doc_id": _id(2), "start": 5, "end": 5, "text": "", "support": 3},
        {"doc_id": _id(3), "start": 0, "end": 10, "text": "Subscribe!", "support": 0},
    ]
    df = pl.DataFrame(
        [{**r, "signal": "recurrence", "run_id": None} for r in rows], schema=BOILERPLATE
    )
    # the table is derived from the run's passages alone: every check is an invariant
    with pytest.raises(PipelineInvariantError):
        split_valid(df, BoilerplateModel, stage="boilerplate", uri_column="doc_id")
    split = split_rows(
        df, BoilerplateModel, stage="boilerplate", uri_column="doc_id", invariants="repair"
    )
    assert split.valid.height == 1
    assert split.quarantine["reason"].to_list() == [
        "schema:end_after_start",
        "schema:greater_than_or_equal_to",
    ]
    assert {b.check for b in split.broken} == {"end_after_start", "support"}


def test_normalised_docs_allow_extra_columns_and_check_dates() -> None:
    df = pl.DataFrame(
        {
            "doc_id": [_id(1), _id(2), _id(3)],
            "source_uri": ["a", "b", "c"],
            "text": ["x", "y", "z"],
            "published_date": [None, dt.date(1850, 1, 1), dt.date(2024, 5, 1)],
            "title": [None, "t", "t"],
            "extra": [1, 2, 3],
        }
    )
    valid, quarantine = split_valid(df, NormalisedDocModel, stage="normalise")
    assert valid["source_uri"].to_list() == ["a", "c"]
    assert quarantine["reason"].to_list() == ["schema:in_range"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (pl.col("n_chars").cast(pl.Int32), ["n_chars", "Int32", "Int64"]),
        (pl.col("published_date").cast(pl.String), ["published_date", "String", "Date"]),
    ],
)
def test_wrong_dtype_rejects_the_batch(change: pl.Expr, words: list[str]) -> None:
    df = documents(doc(1), doc(2, boilerplate_ratio=1.5)).with_columns(change)
    with pytest.raises(SchemaContractError) as caught:
        split_valid(df, DocumentModel, stage="validate")
    message = str(caught.value)
    assert "\n" not in message
    assert all(word in message for word in words)
    assert isinstance(caught.value, NewsdqError)


def test_missing_and_extra_columns_reject_the_batch() -> None:
    df = documents(doc(1)).drop("title").with_columns(extra=pl.lit(1))
    with pytest.raises(SchemaContractError) as caught:
        split_valid(df, DocumentModel, stage="validate")
    message = str(caught.value)
    assert "missing column 'title'" in message
    assert "unexpected column 'extra'" in message
    assert message.startswith("documents contract broken at stage 'validate': ")


def test_checkpoint_on_good_documents_writes_data_docs(tmp_path: Path) -> None:
    df = documents(doc(1), doc(2), dup(3, of=2))
    result = run_documents_checkpoint(df, tmp_path / "docs")
    assert result.success
    assert all(outcome.success for outcome in result.outcomes)
    assert len(result.outcomes) == 8
    assert result.data_docs_index == (tmp_path / "docs" / "index.html").resolve()
    assert result.data_docs_index.is_file()
    assert not (Path.cwd() / "gx").exists()


def test_checkpoint_reports_failed_expectations(tmp_path: Path) -> None:
    df = documents(doc(1), doc(2, boilerplate_ratio=1.5, title=None), doc(3, title=None))
    result = run_documents_checkpoint(df, tmp_path / "docs")
    assert not result.success
    by_column = {outcome.column: outcome for outcome in result.outcomes}
    ratio = by_column["boilerplate_ratio"]
    assert not ratio.success and ratio.severity == "error"
    assert ratio.expectation == "expect_column_values_to_be_between"
    assert ratio.unexpected_count == 1
    assert ratio.sample == [f"1.5 (doc_id={_id(2)})"]
    title = by_column["title"]
    assert not title.success and title.severity == "warning"
    assert by_column["doc_id"].success


def test_checkpoint_rejects_frames_without_the_suite_columns(tmp_path: Path) -> None:
    with pytest.raises(SchemaContractError, match="clean_text"):
        run_documents_checkpoint(documents(doc(1)).drop("clean_text"), tmp_path)


def test_claims_suite_blocks_on_errors_and_severities_can_be_overridden(tmp_path: Path) -> None:
    from checks.expectations import Suite, claims_expectations, run_checkpoint, with_severities

    bad = pl.DataFrame(
        [claim(1, source=None), claim(2, claim_id="claim-1", qualifier="roughly", source=None)],
        schema=CLAIMS,
    )
    suites = [Suite("claims", bad, claims_expectations(n_articles=2))]
    result = run_checkpoint(suites, tmp_path / "docs")
    failed = {(o.expectation, o.column) for o in result.outcomes if not o.success}
    assert failed == {
        ("expect_column_values_to_be_unique", "claim_id"),
        ("expect_column_values_to_be_in_set", "qualifier"),
        ("expect_column_values_to_not_be_null", "source"),
    }
    assert not result.success and {o.suite for o in result.outcomes} == {"claims"}
    relaxed = with_severities(
        suites,
        warn=[
            "claims.expect_column_values_to_be_unique.claim_id",
            "claims.expect_column_values_to_be_in_set.qualifier",
        ],
    )
    assert run_checkpoint(relaxed, tmp_path / "docs2").success
    # a warning can be made blocking too, and a mistyped key is refused
    strict = with_severities(suites, block=["claims.expect_column_values_to_not_be_null.source"])
    severity = {(e.expectation, e.column): e.severity for e in strict[0].expectations}
    assert severity[("ExpectColumnValuesToNotBeNull", "source")] == "error"
    with pytest.raises(ValueError, match="unknown expectation"):
        with_severities(suites, warn=["claims.expect_nothing"])


def test_too_many_claims_per_article_is_a_warning(tmp_path: Path) -> None:
    from checks.expectations import Suite, claims_expectations, run_checkpoint

    many = pl.DataFrame([claim(n) for n in range(1, 8)], schema=CLAIMS)
    result = run_checkpoint(
        [Suite("claims", many, claims_expectations(n_articles=1, max_per_article=5))],
        tmp_path / "docs",
    )
    count = next(o for o in result.outcomes if o.expectation.startswith("expect_table_row"))
    assert not count.success and count.severity == "warning" and result.success


def test_the_checkpoint_reads_only_the_columns_its_expectations_name() -> None:
    from checks.expectations import DOCUMENTS_EXPECTATIONS, Suite, _read_columns

    frame = pl.DataFrame(
        {"text": ["long text"], "doc_id": ["a"], "clean_text": ["x"], "extra": [1]}
    )
    read = _read_columns(Suite("documents", frame, DOCUMENTS_EXPECTATIONS))
    assert read.columns == ["doc_id", "clean_text"]  # frame order; no text, no extra
    bare = _read_columns(Suite("t", frame.select("extra"), ()))
    assert bare.columns == ["extra"]  # nothing named: the frame as it is


def test_the_checkpoint_reads_texts_judged_by_length_cut_past_the_longest_bound() -> None:
    from checks.expectations import ExpectationSpec, Suite, _read_columns

    texts = ["", "a", "ab", "abcdef", None, "é" * 9]
    frame = pl.DataFrame(
        {"doc_id": [f"d{i}-long-identifier" for i in range(6)], "t": texts, "u": texts, "v": texts}
    )
    specs = (
        ExpectationSpec("ExpectColumnValuesToNotBeNull", "doc_id", "error"),
        ExpectationSpec("ExpectColumnValueLengthsToBeBetween", "t", "error", {"min_value": 1}),
        ExpectationSpec("ExpectColumnValuesToNotBeNull", "t", "warning"),
        ExpectationSpec(
            "ExpectColumnValueLengthsToBeBetween", "u", "error", {"min_value": 2, "max_value": 4}
        ),
        ExpectationSpec("ExpectColumnValuesToBeInSet", "v", "error", {"value_set": ["a"]}),
    )
    read = _read_columns(Suite("documents", frame, specs))
    assert read["doc_id"].equals(frame["doc_id"])  # names the failing rows: never cut
    assert read["v"].equals(frame["v"])  # read by an expectation on its values: whole
    assert read["t"].to_list() == ["", "a", "ab", "ab", None, "éé"]  # one past min_value 1
    assert read["u"].to_list() == ["", "a", "ab", "abcde", None, "é" * 5]  # one past max 4
    # every bound judges the cut text as it judges the whole one
    for column, low, high in (("t", 1, None), ("u", 2, 4)):
        for whole, cut in zip(frame[column], read[column], strict=True):
            if whole is None:
                assert cut is None
                continue
            inside = low <= len(whole) and (high is None or len(whole) <= high)
            assert inside == (low <= len(cut) and (high is None or len(cut) <= high))
