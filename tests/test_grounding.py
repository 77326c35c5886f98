"""Claim grounding and external claim tables (checks/grounding.py, flows/io/claim_tables.py).

Texts and figures are invented.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from checks.grounding import claim_id, ground_claims, quantity_text_in, resolve_doc_ids
from flows.core.schema import EXTERNAL
from flows.io.claim_tables import read_claim_tables

TEXT = (
    "Harbour strike enters fourth day\n\n"
    "About 1,500 containers are stranded at Kessmouth, the port authority said on Monday.\n"
    "Police said a couple of thousand people had   joined the march."
)
ARTICLES = pl.DataFrame({"doc_id": ["a" * 16], "clean_text": [TEXT]})
SENTENCE = "About 1,500 containers are stranded at Kessmouth, the port authority said on Monday."


def _row(**changes: object) -> dict:
    start = TEXT.index(SENTENCE)
    row = {
        "claim_id": "c1",
        "doc_id": "a" * 16,
        "sentence": SENTENCE,
        "start": start,
        "end": start + len(SENTENCE),
        "quantity": 1500.0,
        "quantity_text": "1,500",
        "qualifier": "approximate",
        "unit": "containers",
        "source": "the port authority",
        "verb": "said",
        "extractor": "rules-v1",
        "run_id": "r",
        "source_uri": "x",
        "article_uri": None,
    }
    row.update(changes)
    return row


def _ground(*rows: dict) -> tuple[pl.DataFrame, dict[str, str]]:
    frame = pl.DataFrame(list(rows), schema=EXTERNAL)
    ok, bad = ground_claims(frame, ARTICLES)
    assert ok.height + bad.height == frame.height  # nothing is lost
    return ok, dict(zip(bad["source_uri"], bad["reason"], strict=True))


def test_a_claim_at_its_span_is_grounded() -> None:
    ok, bad = _ground(_row())
    assert bad == {} and ok["claim_id"].to_list() == ["c1"]


def test_each_ungrounded_kind_is_quarantined_with_its_reason() -> None:
    _, bad = _ground(
        _row(source_uri="unknown", doc_id="f" * 16),
        _row(source_uri="moved", start=0, end=10),
        _row(source_uri="elsewhere", sentence="About 1,500 containers sank.", start=None, end=None),
        _row(source_uri="wrong number", quantity=2500.0),
        _row(source_uri="text not there", quantity_text="2,500", quantity=2500.0),
    )
    assert bad == {
        "unknown": "grounding:unknown_doc_id",
        "moved": "grounding:sentence_not_at_span",
        "elsewhere": "grounding:sentence_not_in_text",
        "wrong number": "grounding:quantity_not_in_sentence",
        "text not there": "grounding:quantity_not_in_sentence",
    }


def test_an_external_row_without_span_gets_one_across_white_space() -> None:
    sentence = "Police said a couple of thousand people had joined the march."
    ok, bad = _ground(
        _row(sentence=sentence, start=None, end=None, quantity=2000.0, quantity_text=None)
    )
    assert bad == {}
    start, end = ok["start"][0], ok["end"][0]
    assert " ".join(TEXT[start:end].split()) == sentence
    assert ok["quantity_text"].to_list() == ["a couple of thousand"]


def test_quantity_text_in_reads_digits_suffixes_and_words() -> None:
    assert quantity_text_in("The army said 11k soldiers left.", 11000) == "11k"
    assert quantity_text_in("Officials said one million people fled.", 1e6) == "one million"
    assert quantity_text_in("Six were hurt.", 6) == "Six"
    assert quantity_text_in("Six were hurt.", 7) is None


def test_rows_named_by_path_resolve_to_their_doc_id() -> None:
    rows = pl.DataFrame([_row(doc_id=None, article_uri="in/a.txt")], schema=EXTERNAL)
    paths = pl.DataFrame({"source_uri": ["in/a.txt"], "doc_id": ["a" * 16]})
    assert resolve_doc_ids(rows, paths)["doc_id"].to_list() == ["a" * 16]


def test_claim_tables_of_each_format_are_read_once(tmp_path: Path) -> None:
    folder = tmp_path / "claims"
    folder.mkdir()
    (folder / "a.csv").write_text(
        "source_uri,sentence,quantity,source\n"
        f'in/a.txt,"{SENTENCE}",1500,the port authority\n'
        f'in/a.txt,"{SENTENCE}",lots,the port authority\n',
        "utf-8",
    )
    (folder / "b.jsonl").write_text(
        json.dumps({"doc_id": "a" * 16, "sentence": SENTENCE, "quantity": 1500}) + "\n{oops\n",
        "utf-8",
    )
    pl.DataFrame({"doc_id": ["a" * 16], "sentence": [None], "quantity": [3.0]}).write_parquet(
        folder / "c.parquet"
    )
    (folder / "d.xlsx").write_bytes(b"PK")
    first = read_claim_tables(tmp_path)
    assert first.rows["source_uri"].to_list() == ["claims/a.csv#1", "claims/b.jsonl#1"]
    assert first.rows["extractor"].to_list() == ["external:a.csv", "external:b.jsonl"]
    reasons = dict(zip(first.quarantine["source_uri"], first.quarantine["reason"], strict=True))
    assert reasons == {
        "claims/a.csv#2": "schema:dtype",
        "claims/b.jsonl#2": "unreadable:malformed_json",
        "claims/c.parquet#1": "schema:not_nullable",
        "claims/d.xlsx": "unreadable:unsupported_format",
    }
    assert first.files["n_records"].sum() == 6  # every row and file accounted for
    again = read_claim_tables(tmp_path, seen=first.files)
    assert again.rows.height == 0 and again.quarantine.height == 0
    assert again.already_read == 6


def test_claim_ids_are_given_or_stable() -> None:
    frame = pl.DataFrame([_row(claim_id=None), _row(claim_id="mine")], schema=EXTERNAL)
    ids = frame.select(claim_id()).to_series().to_list()
    assert ids[1] == "mine" and ids[0].startswith("x") and len(ids[0]) == 17
    assert frame.select(claim_id()).to_series()[0] == ids[0]


def test_hostile_claim_rows_are_refused_not_a_crash(tmp_path: Path) -> None:
    good = {"source_uri": "a.txt", "sentence": "About 300 people came.", "quantity": 300}
    lines = [
        "[" * 100_000 + "]" * 100_000,  # nested past Python's recursion limit
        json.dumps({**good, "start": 10**20, "end": 10**21}),  # beyond Int64
        json.dumps({**good, "claim_id": "\ud800"}),  # a lone surrogate
        json.dumps(good),
    ]
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "x.jsonl").write_text("\n".join(lines), "utf-8")
    result = read_claim_tables(tmp_path)
    reasons = dict(zip(result.quarantine["source_uri"], result.quarantine["reason"], strict=True))
    assert reasons == {
        "claims/x.jsonl#1": "unreadable:malformed_json",
        "claims/x.jsonl#2": "schema:dtype",
        "claims/x.jsonl#3": "schema:dtype",
    }
    assert result.rows["source_uri"].to_list() == ["claims/x.jsonl#4"]
