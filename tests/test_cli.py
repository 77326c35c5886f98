"""End to end through the real `newsdq` command and a real Prefect server."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from flows.io.faults import CRASH_EXIT_CODE

pytestmark = pytest.mark.e2e


def _table(out: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(f"{out}/{name}/**/*.parquet")


def _summary(out: Path, stdout: str) -> dict:
    run_id = stdout.split("run ", 1)[1].split(":", 1)[0]
    return json.loads((out / "runs" / run_id / "summary.json").read_text("utf-8"))


def _add_bad_files(inbox: Path) -> None:
    (inbox / "binary.txt").write_bytes(b"\x00\x01\x02 not text \x00" * 50)
    (inbox / "empty.txt").write_bytes(b"")
    (inbox / "notes.docx").write_bytes(b"PK\x03\x04 a word file")
    (inbox / "feed.jsonl").write_text(
        '{"text": "A good record about the harbour reopening after the long strike ended.", '
        '"title": "Harbour reopens"}\n{"text": broken json\n{"title": "no text"}\n',
        "utf-8",
    )
    (inbox / "script.html").write_text(
        "<html><head><title>Evil &lt;script&gt;</title></head><body><article><p>"
        + "The council met on Monday to discuss the new bridge. " * 5
        + "</p><p>&lt;script&gt;alert(1)&lt;/script&gt; was printed in the minutes.</p></article>"
        "<script>alert('x')</script></body></html>",
        "utf-8",
    )


def test_run_publishes_everything_and_accounts_for_bad_files(
    newsdq, sample_inbox: Path, tmp_path: Path
) -> None:
    _add_bad_files(sample_inbox)
    out = tmp_path / "out"
    first = newsdq("run", "--inbox", str(sample_inbox), "--out", str(out))
    assert first.code == 0, first.stderr
    summary = _summary(out, first.stdout)
    c = summary["counts"]
    assert c["ingested"] == c["published"] + c["duplicates"] + c["quarantined"]
    assert c["inputs"] == c["ingested"] + c["already_ingested"]
    # 19 sample records + 5 bad-file records + 1 good JSONL record + 1 HTML page
    assert c["inputs"] == 26
    reasons = summary["quarantine_by_reason"]
    for reason in (
        "unreadable:binary",
        "unreadable:empty",
        "unreadable:unsupported_format",
        "unreadable:malformed_json",
        "unreadable:missing_text",
    ):
        assert reasons.get(reason) == 1, reasons

    documents = _table(out, "documents")
    articles = _table(out, "articles")
    quarantine = _table(out, "quarantine")
    assert documents.height == c["published"] + c["duplicates"]
    assert articles.height == c["published"] == documents["is_canonical"].sum()
    assert quarantine.height >= c["quarantined"]
    assert set(quarantine.columns) >= {
        "source_uri",
        "stage",
        "reason",
        "detail",
        "run_id",
        "record",
    }
    assert _table(out, "claims").height > 0
    assert (
        documents.group_by("cluster_id").agg(pl.col("is_canonical").sum())["is_canonical"] == 1
    ).all()
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["tables"]["documents"]["rows"] == documents.height
    run_dir = out / "runs" / summary["run_id"]
    assert (run_dir / "report.html").exists() and (run_dir / "data_docs" / "index.html").exists()
    html = (run_dir / "report.html").read_text("utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;" in html

    # a second run on the same inbox adds nothing and reports every record as already ingested
    second = newsdq("run", "--inbox", str(sample_inbox), "--out", str(out))
    assert second.code == 0, second.stderr
    again = _summary(out, second.stdout)["counts"]
    assert again["already_ingested"] == c["inputs"] and again["ingested"] == 0
    assert _table(out, "documents").height == documents.height
    assert _table(out, "quarantine").height == quarantine.height

    # a copy of an already-published article under a new name is recognised, not published again
    (sample_inbox / "late-copy.txt").write_bytes(
        (sample_inbox / "post-2025-03-19-talks.txt").read_bytes()
    )
    third = newsdq("run", "--inbox", str(sample_inbox), "--out", str(out))
    assert third.code == 0, third.stderr
    assert _summary(out, third.stdout)["counts"]["already_ingested"] == c["inputs"] + 1
    assert _table(out, "articles").height == articles.height


def test_crash_mid_publish_leaves_previous_state_and_next_run_recovers(
    newsdq, sample_inbox: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    late = sample_inbox / "post-2025-03-20-ostrel-election-preview.txt"
    held = tmp_path / late.name
    late.rename(held)
    assert newsdq("run", "--inbox", str(sample_inbox), "--out", str(out)).code == 0
    before = {t: _table(out, t).sort("doc_id") for t in ("documents", "articles", "claims")}
    manifest_before = (out / "manifest.json").read_text("utf-8")

    held.rename(late)
    points = (
        "stage:ingest",
        "stage:boilerplate",
        "stage:dedup",
        "stage:claims",
        "stage:validate",
        "stage:publish",
        "publish:tables",
        "publish:before_commit",
    )
    for point in points:
        crashed = newsdq(
            "run", "--inbox", str(sample_inbox), "--out", str(out), env={"NEWSDQ_CRASH_AT": point}
        )
        assert crashed.code == CRASH_EXIT_CODE
        for t, frame in before.items():
            assert _table(out, t).sort("doc_id").equals(frame), (point, t)
        assert (out / "manifest.json").read_text("utf-8") == manifest_before

    recovered = newsdq("run", "--inbox", str(sample_inbox), "--out", str(out))
    assert recovered.code == 0, recovered.stderr
    counts = _summary(out, recovered.stdout)["counts"]
    assert counts["ingested"] == 1 and counts["published"] == 1
    docs = _table(out, "documents")
    assert docs.filter(pl.col("source_uri") == late.name).height == 1
    assert docs.height == before["documents"].height + 1
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())


def test_crash_right_after_the_commit_keeps_the_run_and_adds_nothing_twice(
    newsdq, sample_inbox: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    crashed = newsdq(
        "run",
        "--inbox",
        str(sample_inbox),
        "--out",
        str(out),
        env={"NEWSDQ_CRASH_AT": "publish:after_commit"},
    )
    assert crashed.code == CRASH_EXIT_CODE
    # the swap happened: readers see the whole run
    committed = {t: _table(out, t).sort("doc_id") for t in ("documents", "articles", "claims")}
    assert committed["documents"].height == 19
    again = newsdq("run", "--inbox", str(sample_inbox), "--out", str(out))
    assert again.code == 0, again.stderr
    counts = _summary(out, again.stdout)["counts"]
    assert counts["ingested"] == 0 and counts["already_ingested"] == 19
    for t, frame in committed.items():
        assert _table(out, t).sort("doc_id").equals(frame), t


def test_errors_are_one_line_with_exit_codes(newsdq, tmp_path: Path) -> None:
    missing = newsdq("run", "--inbox", str(tmp_path / "nope"), "--out", str(tmp_path / "o"))
    assert missing.code == 3
    assert missing.stderr.strip() == f"newsdq: error: inbox folder not found: {tmp_path / 'nope'}"

    blocker = tmp_path / "file"
    blocker.write_text("x")
    (tmp_path / "in").mkdir()
    unwritable = newsdq("run", "--inbox", str(tmp_path / "in"), "--out", str(blocker / "out"))
    assert unwritable.code == 4
    assert (
        unwritable.stderr.count("\n") == 1 and "cannot write to output folder" in unwritable.stderr
    )

    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("[dedup]\nthreshold = 'high'\n")
    config = newsdq("run", "--inbox", str(tmp_path / "in"), "--config", str(bad_config))
    assert config.code == 2 and "expected float" in config.stderr
    assert "Traceback" not in missing.stderr + unwritable.stderr + config.stderr


def test_help_documents_every_option(newsdq) -> None:
    result = newsdq("run", "--help")
    assert result.code == 0
    text = " ".join(result.stdout.split())  # argparse wraps lines
    for option in (
        "--inbox",
        "--out",
        "--config",
        "default: data/inbox",
        "default: data/published",
    ):
        assert option in text


def test_growing_feed_does_not_requarantine_old_bad_lines(newsdq, tmp_path: Path) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    good = '{"text": "The ferry to Ostrel resumed on Monday after a week of storms.", "title": "Ferry resumes"}\n'
    feed = inbox / "feed.jsonl"
    feed.write_text(good + "{broken\n", "utf-8")
    first = newsdq("run", "--inbox", str(inbox), "--out", str(out))
    assert first.code == 0, first.stderr
    feed.write_text(
        good + "{broken\n" + good.replace("Monday", "Tuesday").replace("resumes", "again"), "utf-8"
    )
    second = newsdq("run", "--inbox", str(inbox), "--out", str(out))
    assert second.code == 0, second.stderr
    counts = _summary(out, second.stdout)["counts"]
    assert counts["already_ingested"] == 2 and counts["ingested"] == 1
    assert _table(out, "quarantine").height == 1
    assert _table(out, "documents").height == 2


def test_external_claims_publish_the_good_rows_and_quarantine_the_bad(
    newsdq, sample_inbox: Path, tmp_path: Path
) -> None:
    sentence = (
        "Nearly 800 families have signed up for Hallin's voluntary evacuation scheme since "
        "Monday, local officials said."
    )
    article = "courier-2025-03-14-border-buildup.txt"
    rows = [
        {"source_uri": article, "sentence": sentence, "quantity": 800, "claim_id": "good-1",
         "unit": "families", "source": "local officials"},
        {"source_uri": article, "sentence": sentence, "quantity": "many", "claim_id": "type"},
        {"source_uri": article, "sentence": "Nearly 800 families left.", "quantity": 800,
         "claim_id": "ungrounded"},
        {"doc_id": "0123456789abcdef", "sentence": sentence, "quantity": 800,
         "claim_id": "unknown"},
        {"source_uri": article, "sentence": sentence, "quantity": -800, "claim_id": "negative"},
        {"source_uri": article, "sentence": sentence, "quantity": 800, "claim_id": "twice",
         "qualifier": "nearly"},
        {"source_uri": article, "sentence": sentence, "quantity": 800, "claim_id": "twice",
         "qualifier": "nearly"},
    ]  # fmt: skip
    (sample_inbox / "claims").mkdir()
    (sample_inbox / "claims" / "llm.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), "utf-8"
    )
    out = tmp_path / "out"
    result = newsdq("run", "--inbox", str(sample_inbox), "--out", str(out))
    assert result.code == 0, result.stderr
    claims = _table(out, "claims")
    external = claims.filter(pl.col("extractor") == "external:llm.jsonl")
    assert external["claim_id"].to_list() == ["good-1"]
    good = external.row(0, named=True)
    assert good["quantity_text"] == "800" and good["start"] is not None
    documents = _table(out, "documents")
    text = documents.filter(pl.col("doc_id") == good["doc_id"])["clean_text"][0]
    assert text[good["start"] : good["end"]] == sentence
    quarantine = _table(out, "quarantine").filter(pl.col("source_uri").str.starts_with("claims/"))
    reasons = dict(zip(quarantine["source_uri"], quarantine["reason"], strict=True))
    assert reasons["claims/llm.jsonl#2"] == "schema:dtype"
    assert reasons["claims/llm.jsonl#3"] == "grounding:sentence_not_in_text"
    assert reasons["claims/llm.jsonl#4"] == "grounding:unknown_doc_id"
    assert reasons["claims/llm.jsonl#5"].startswith(("grounding:", "schema:"))
    assert reasons["claims/llm.jsonl#6"] == reasons["claims/llm.jsonl#7"] == "schema:unique"
    assert len(reasons) == len(rows) - 1  # every row is published or quarantined
    # a second run reads the claim file no more
    again = newsdq("run", "--inbox", str(sample_inbox), "--out", str(out))
    assert again.code == 0, again.stderr
    assert _table(out, "claims").height == claims.height
    # a claim file arriving after its article was published grounds in the published article
    (sample_inbox / "claims" / "later.csv").write_text(
        f'source_uri,sentence,quantity,claim_id\n{article},"{sentence}",800,later-1\n', "utf-8"
    )
    later = newsdq("run", "--inbox", str(sample_inbox), "--out", str(out))
    assert later.code == 0, later.stderr
    added = _table(out, "claims").filter(pl.col("claim_id") == "later-1")
    assert added["doc_id"].to_list() == [good["doc_id"]]
    assert added["extractor"].to_list() == ["external:later.csv"]


def test_an_error_expectation_blocks_the_run_and_keeps_the_previous_data(
    newsdq, sample_inbox: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert newsdq("run", "--inbox", str(sample_inbox), "--out", str(out)).code == 0
    before = (out / "_current").resolve()
    claims_before = _table(out, "claims").height
    (sample_inbox / "late.txt").write_text(
        "Ferry service resumes\n\nAbout 300 passengers crossed to Kessmouth on the first "
        "ferry since the strike, the operator said on Friday, and 40 cars followed.\n",
        "utf-8",
    )
    config = tmp_path / "strict.toml"
    config.write_text(
        "[validation]\nmax_claims_per_article = 0.5\n"
        'block = ["claims.expect_table_row_count_to_be_between"]\n',
        "utf-8",
    )
    blocked = newsdq(
        "run", "--inbox", str(sample_inbox), "--out", str(out), "--config", str(config)
    )
    assert blocked.code == 6, blocked.stderr
    assert "expect_table_row_count_to_be_between" in blocked.stderr
    assert "previous data stays current" in blocked.stderr
    assert (out / "_current").resolve() == before
    assert _table(out, "claims").height == claims_before
    rejected = list((out / "_rejected").glob("*/report.html"))
    assert len(rejected) == 1
    # a mistyped expectation key is a config error, not a silent pass
    config.write_text('[validation]\nwarn = ["claims.expect_nothing"]\n', "utf-8")
    typo = newsdq("run", "--inbox", str(sample_inbox), "--out", str(out), "--config", str(config))
    assert typo.code == 2, typo.stderr
    assert "unknown expectation" in typo.stderr
