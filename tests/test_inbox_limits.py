"""Hostile-input limits of the inbox: claim-file size, symbolic links leading outside the inbox."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from flows.core.settings import IngestConfig
from flows.io.claim_tables import ExternalClaims, read_claim_tables
from flows.io.ingest import IngestResult, read_inbox

SECRET = "TOP-SECRET-OUTSIDE-CONTENT 42"
ARTICLE = "Kyiv said on Friday that 3,000 soldiers had arrived near the front.\n"
CLAIM_CSV = "doc_id,sentence,quantity\nd1,Kyiv said 3000 soldiers arrived.,3000\n"


def _layout(tmp_path: Path) -> tuple[Path, Path]:
    """Make an inbox and a sibling folder holding a secret file; return (inbox, secret)."""
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    (inbox / "claims").mkdir(parents=True)
    outside.mkdir()
    secret = outside / "secret.csv"
    secret.write_text(f"doc_id,sentence,quantity\nd9,{SECRET},7\n", "utf-8")
    return inbox, secret


def _doc_texts(result: IngestResult) -> str:
    return "\n".join(str(v) for v in result.docs.to_dicts() for v in v.values())


def _claim_texts(result: ExternalClaims) -> str:
    frames = (result.rows, result.quarantine.drop("detail"))
    return "\n".join(str(v) for f in frames for r in f.to_dicts() for v in r.values())


def _reasons(frame: pl.DataFrame) -> dict[str, str]:
    return dict(zip(frame["source_uri"], frame["reason"], strict=True))


def test_large_claim_file_is_refused_unread_and_once(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "claims").mkdir(parents=True)
    (inbox / "claims" / "small.csv").write_text(CLAIM_CSV, "utf-8")
    big = inbox / "claims" / "big.csv"
    big.write_text(CLAIM_CSV + "d2,Another sentence here.,12\n" * 20, "utf-8")
    limit = len(CLAIM_CSV) + 10

    first = read_claim_tables(inbox, max_file_bytes=limit)
    assert _reasons(first.quarantine) == {"claims/big.csv": "unreadable:too_large"}
    detail = first.quarantine["detail"][0]
    assert f"{big.stat().st_size:,} bytes" in detail and f"{limit:,}-byte limit" in detail
    assert first.rows["source_uri"].to_list() == ["claims/small.csv#1"]
    ledger = dict(zip(first.files["source_uri"], first.files["n_records"], strict=True))
    assert ledger == {"claims/big.csv": 1, "claims/small.csv": 1}
    assert first.files["file_sha256"].null_count() == 0
    assert first.rows.height + first.quarantine.height == first.files["n_records"].sum()

    again = read_claim_tables(inbox, seen=first.files, max_file_bytes=limit)
    assert again.rows.height == again.quarantine.height == again.files.height == 0
    assert again.already_read == 2
    assert first.stats.notes() == {"external_claim_rows": 2, "external_claim_rows_already_read": 0}
    assert again.stats.notes() == {"external_claim_rows": 0, "external_claim_rows_already_read": 2}


def test_default_claim_limit_is_the_document_limit(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "claims").mkdir(parents=True)
    with (inbox / "claims" / "huge.jsonl").open("wb") as handle:
        handle.truncate(IngestConfig().max_file_bytes + 1)  # sparse: costs nothing to write
    result = read_claim_tables(inbox)
    assert _reasons(result.quarantine) == {"claims/huge.jsonl": "unreadable:too_large"}


def test_document_symlink_outside_inbox_is_refused(tmp_path: Path) -> None:
    inbox, secret = _layout(tmp_path)
    (inbox / "out.txt").symlink_to(secret)
    (inbox / "host.txt").symlink_to("/etc/hostname")
    (inbox / "real.txt").write_text(ARTICLE, "utf-8")
    (inbox / "inside.txt").symlink_to(inbox / "real.txt")

    result = read_inbox(inbox, IngestConfig())
    reasons = _reasons(result.quarantine)
    assert reasons == {
        "out.txt": "unreadable:symlink_outside_inbox",
        "host.txt": "unreadable:symlink_outside_inbox",
    }
    details = dict(zip(result.quarantine["source_uri"], result.quarantine["detail"], strict=True))
    assert str(secret.resolve()) in details["out.txt"]
    assert SECRET not in _doc_texts(result)
    assert sorted(result.docs["source_uri"]) == ["inside.txt", "real.txt"]  # inside link: read
    assert result.docs.height + result.quarantine.height == result.files["n_records"].sum()


def test_claim_symlink_outside_inbox_is_refused_once(tmp_path: Path) -> None:
    inbox, secret = _layout(tmp_path)
    (inbox / "claims" / "out.csv").symlink_to(secret)
    (inbox / "claims" / "real.csv").write_text(CLAIM_CSV, "utf-8")
    (inbox / "claims" / "inside.csv").symlink_to(inbox / "claims" / "real.csv")

    first = read_claim_tables(inbox)
    assert _reasons(first.quarantine) == {"claims/out.csv": "unreadable:symlink_outside_inbox"}
    assert str(secret.resolve()) in first.quarantine["detail"][0]
    assert SECRET not in _claim_texts(first)
    assert sorted(first.rows["source_uri"]) == ["claims/inside.csv#1", "claims/real.csv#1"]
    assert first.rows.height + first.quarantine.height == first.files["n_records"].sum()

    again = read_claim_tables(inbox, seen=first.files)
    assert again.rows.height == again.quarantine.height == 0
    assert again.already_read == 3


def test_a_file_that_grew_after_stat_is_read_whole_up_to_the_limit() -> None:
    import io

    from flows.io.ingest.loading import _load_bytes

    config = IngestConfig(max_file_bytes=64)
    ext = {".txt"}
    # stat said 3 bytes; the file holds more by the time it is read: all of it is read
    grown = _load_bytes(".txt", 3, lambda: io.BytesIO(b"a story that grew"), config, ext)
    assert grown.failure is None and grown.data == b"a story that grew"
    # a file that shrank is read as it is
    shrunk = _load_bytes(".txt", 50, lambda: io.BytesIO(b"short"), config, ext)
    assert shrunk.failure is None and shrunk.data == b"short"
    # growing past the limit makes it too large, as a file that was large at stat time
    big = _load_bytes(".txt", 3, lambda: io.BytesIO(b"x" * 65), config, ext)
    assert big.data is None and big.failure is not None and "65 bytes" in big.failure.detail
    exact = _load_bytes(".txt", 3, lambda: io.BytesIO(b"x" * 64), config, ext)
    assert exact.failure is None and exact.data == b"x" * 64
