"""Tests of the inbox ingest adapter (flows/io/ingest/)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.core.errors import InboxError
from flows.core.schema import QUARANTINE, RAW_DOCS
from flows.core.settings import IngestConfig
from flows.io import ingest
from flows.io.ingest import (
    FILES_LEDGER,
    IngestResult,
    ledger_updates,
    list_inbox,
    loading,
    read_inbox,
    readers,
)

CONFIG = IngestConfig()

ARTICLE = (
    " date 2024-10-26 Ukraine says North Korean troops are near the front\n\n"
    "Kyiv said on Friday that 3,000 soldiers had arrived.\n"
)

HTML_PAGE = """<!DOCTYPE html>
<html><head>
<title>Troops arrive - Daily Planet</title>
<meta property="og:title" content="Troops arrive at the front">
<meta property="og:site_name" content="Daily Planet">
<meta property="article:published_time" content="2024-10-26T09:00:00Z">
<link rel="canonical" href="https://planet.example/world/troops">
</head><body>
<nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>Troops arrive at the front</h1>
<p>Kyiv said on Friday that 3,000 soldiers had arrived near the front line, according to
intelligence officials who spoke on condition of anonymity.</p>
<p>The deployment is expected to grow over the coming weeks, the officials added, as more
units complete their training in the east of the country.</p>
</article>
<footer>Copyright 2024 Daily Planet</footer>
</body></html>
"""


def write(root: Path, rel: str, data: bytes | str) -> Path:
    """Write a file under the inbox, creating folders."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def sha256(data: bytes) -> str:
    """Hash bytes like the ledger does."""
    return hashlib.sha256(data).hexdigest()


def check_accounting(result: IngestResult) -> None:
    """Assert schemas and that every record is counted exactly once in the ledger."""
    assert result.docs.schema == RAW_DOCS
    assert result.quarantine.schema == QUARANTINE
    assert result.files.schema == FILES_LEDGER
    read = result.files.filter(pl.col("outcome") == "read")
    assert read["n_records"].sum() == result.docs.height + result.quarantine.height
    skipped = result.files.filter(pl.col("outcome") == "skipped_seen")
    assert skipped["n_records"].sum() == result.already_seen_records
    # Every file that was read left at least one row behind.
    assert (read["n_records"] >= 1).all()
    if result.quarantine.height:
        assert result.quarantine["stage"].unique().to_list() == ["ingest"]
        assert result.quarantine["run_id"].null_count() == result.quarantine.height
    assert result.docs["file_sha256"].null_count() == 0


def only_quarantine(result: IngestResult) -> dict[str, Any]:
    """Return the single quarantine row of a result that has no docs."""
    check_accounting(result)
    assert result.docs.height == 0
    assert result.quarantine.height == 1
    return result.quarantine.row(0, named=True)


def read_one(
    tmp_path: Path, rel: str, data: bytes | str, config: IngestConfig = CONFIG
) -> IngestResult:
    """Write one file into an empty inbox and read the inbox."""
    write(tmp_path, rel, data)
    return read_inbox(tmp_path, config)


# --- listing -----------------------------------------------------------------------------------


def test_missing_inbox_raises(tmp_path: Path) -> None:
    with pytest.raises(InboxError) as info:
        read_inbox(tmp_path / "nope", CONFIG)
    assert "\n" not in str(info.value)
    assert "nope" in str(info.value)


def test_inbox_that_is_a_file_raises(tmp_path: Path) -> None:
    path = write(tmp_path, "inbox.txt", "x")
    with pytest.raises(InboxError, match="not a folder"):
        list_inbox(path, CONFIG)


def test_listing_is_sorted_recursive_and_skips_hidden_and_claims(tmp_path: Path) -> None:
    for rel in [
        "b.txt",
        "a.txt",
        "world/z.md",
        "world/deep/c.json",
        "a/b.txt",
        ".hidden.txt",
        ".git/config.txt",
        "world/.cache/x.txt",
        "claims/table.csv",
        "world/claims/kept.txt",  # only the top-level claims/ is reserved
        "notes.csv",
    ]:
        write(tmp_path, rel, "text")
    listed = [p.relative_to(tmp_path).as_posix() for p in list_inbox(tmp_path, CONFIG)]
    assert listed == [
        "a.txt",
        "a/b.txt",
        "b.txt",
        "notes.csv",
        "world/claims/kept.txt",
        "world/deep/c.json",
        "world/z.md",
    ]


def test_empty_inbox_gives_empty_frames_with_schemas(tmp_path: Path) -> None:
    result = read_inbox(tmp_path, CONFIG)
    check_accounting(result)
    assert result.docs.is_empty() and result.quarantine.is_empty() and result.files.is_empty()
    assert result.already_seen_records == 0


# --- text --------------------------------------------------------------------------------------


def test_txt_keeps_text_as_decoded(tmp_path: Path) -> None:
    data = ARTICLE.replace("\n", "\r\n").encode("utf-8")
    result = read_one(tmp_path, "world/a.txt", data)
    check_accounting(result)
    doc = result.docs.row(0, named=True)
    assert doc == {
        "source_uri": "world/a.txt",
        "source_format": "txt",
        "raw_text": ARTICLE.replace("\n", "\r\n"),  # date prefix and CRLF kept
        "title_hint": None,
        "page_title": None,
        "date_hint": None,
        "url": None,
        "source": None,
        "file_sha256": sha256(data),
        "replaced_bytes": 0,
    }
    assert result.files.row(0, named=True) == {
        "source_uri": "world/a.txt",
        "file_sha256": sha256(data),
        "n_records": 1,
        "outcome": "read",
        "file_stamp": None,  # written just now: a same-size rewrite could keep its stamp
    }


def test_md_is_read(tmp_path: Path) -> None:
    result = read_one(tmp_path, "post.MD", "# Heading\n\nSome *text*.\n")
    check_accounting(result)
    assert result.docs["source_format"].to_list() == ["md"]
    assert result.docs["raw_text"].to_list() == ["# Heading\n\nSome *text*.\n"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xef\xbb\xbfCaf\xc3\xa9 cr\xc3\xa8me", "Café crème"),  # UTF-8 with BOM
        ("Café crème — “quoted”".encode("utf-16"), "Café crème — “quoted”"),
        ("Café crème — “quoted”".encode("utf-16-le"), None),  # no BOM: NULs -> binary
    ],
)
def test_utf_boms(tmp_path: Path, data: bytes, expected: str | None) -> None:
    result = read_one(tmp_path, "a.txt", data)
    check_accounting(result)
    if expected is None:
        assert result.quarantine["reason"].to_list() == ["unreadable:binary"]
    else:
        assert result.docs["raw_text"].to_list() == [expected]


def test_utf16_big_endian_with_bom(tmp_path: Path) -> None:
    text = "Zelensky said: “Moscow must answer”.\n"
    result = read_one(tmp_path, "a.txt", b"\xfe\xff" + text.encode("utf-16-be"))
    assert result.docs["raw_text"].to_list() == [text]


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Le café de la crème est très naïve. « Voilà » — l’été à Noël, señor.", "cp1252"),
        ("Die Straße ist größer als München, übrigens schön. Ça va, garçon?", "latin-1"),
        ("Larry King’s marital woes", "cp1252"),
        ("El niño comió en España, ¿verdad? ¡Olé!", "cp1252"),
    ],
)
def test_legacy_western_encodings_decode(tmp_path: Path, text: str, encoding: str) -> None:
    result = read_one(tmp_path, "a.txt", text.encode(encoding))
    check_accounting(result)
    assert result.docs["raw_text"].to_list() == [text]


def test_other_legacy_encoding_uses_charset_normalizer(tmp_path: Path) -> None:
    text = "Съешь же ещё этих мягких французских булок, да выпей же чаю. " * 3
    result = read_one(tmp_path, "a.txt", text.encode("cp1251"))
    assert result.docs["raw_text"].to_list() == [text]


def test_nul_laden_binary_is_rejected(tmp_path: Path) -> None:
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    row = only_quarantine(read_one(tmp_path, "image.txt", data))
    assert row["reason"] == "unreadable:binary"
    assert "NUL byte at offset 8" in row["detail"]


def test_implausible_bytes_are_rejected_as_binary(tmp_path: Path) -> None:
    data = random.Random(0).randbytes(300).replace(b"\x00", b"\x01")
    row = only_quarantine(read_one(tmp_path, "noise.txt", data))
    assert row["reason"] == "unreadable:binary"


def test_utf8_text_with_a_stray_byte_is_published_with_it_replaced(tmp_path: Path) -> None:
    text = "Zelensky said: “Moscow must answer” — the front is 1,000 km long.\n".encode() * 5
    result = read_one(tmp_path, "a.txt", text[:100] + b"\xff" + text[100:])
    check_accounting(result)
    doc = result.docs.row(0, named=True)
    assert doc["raw_text"] == text[:100].decode() + "\ufffd" + text[100:].decode()
    assert doc["replaced_bytes"] == 1


def test_utf8_text_with_too_many_corrupt_bytes_is_undecodable(tmp_path: Path) -> None:
    line = "Zelensky said: “Moscow must answer” — the front is 1,000 km long.\n".encode()
    data = (line[:40] + b"\xff\xfe" + line[40:]) * 5  # 10 of 350 bytes: above 1%
    row = only_quarantine(read_one(tmp_path, "a.txt", data))
    assert row["reason"] == "unreadable:undecodable"
    assert "invalid byte at offset 40" in row["detail"]
    assert "UTF-8 text with 10 invalid byte sequence(s)" in row["detail"]
    assert "max_replaced_share" in row["detail"]
    assert row["record"] is not None and row["record"].startswith("Zelensky said")
    assert "\ufffd" in row["record"]


def test_text_no_encoding_fits_is_undecodable(tmp_path: Path) -> None:
    # Dense Polish in cp1250: charset-normalizer finds no plausible decoding, yet it is text.
    data = ("Zażółć gęślą jaźń. Łódź jest piękna, źródło wiedzy. " * 3).encode("cp1250")
    row = only_quarantine(read_one(tmp_path, "pl.txt", b"\xef\xbb\xbf" + data))
    assert row["reason"] == "unreadable:undecodable"
    assert "invalid byte at offset 5" in row["detail"]  # counted from the file start, BOM too


def test_bad_utf16_is_undecodable(tmp_path: Path) -> None:
    data = b"\xff\xfe" + "ok".encode("utf-16-le") + b"\x00\xd8"  # lone high surrogate
    row = only_quarantine(read_one(tmp_path, "a.txt", data))
    assert row["reason"] == "unreadable:undecodable"
    assert "UTF-16" in row["detail"]
    assert row["record"] is not None and row["record"].startswith("ok")


@pytest.mark.parametrize("data", [b"", b" \n\t\r\n  ", "\u3000\n".encode()])
def test_empty_and_whitespace_files(tmp_path: Path, data: bytes) -> None:
    row = only_quarantine(read_one(tmp_path, "a.txt", data))
    assert row["reason"] == "unreadable:empty"
    assert row["record"] is None


@pytest.mark.parametrize("ext", [".json", ".jsonl", ".html", ".parquet", ".md"])
def test_zero_byte_files_of_every_format_are_empty(tmp_path: Path, ext: str) -> None:
    row = only_quarantine(read_one(tmp_path, f"a{ext}", b""))
    assert row["reason"] == "unreadable:empty"


def test_oversize_file_is_rejected_but_hashed(tmp_path: Path) -> None:
    data = b"x" * 101
    config = IngestConfig(max_file_bytes=100)
    result = read_one(tmp_path, "big.txt", data, config)
    row = only_quarantine(result)
    assert row["reason"] == "unreadable:too_large"
    assert "101 bytes" in row["detail"] and "100-byte limit" in row["detail"]
    assert result.files["file_sha256"].to_list() == [sha256(data)]
    # At the limit exactly it is read.
    write(tmp_path, "big.txt", b"x" * 100)
    assert read_inbox(tmp_path, config).docs.height == 1


def test_unsupported_extension_is_quarantined(tmp_path: Path) -> None:
    write(tmp_path, "table.csv", "a,b\n1,2\n")
    write(tmp_path, "README", "no extension")
    result = read_inbox(tmp_path, CONFIG)
    check_accounting(result)
    assert result.docs.height == 0
    assert result.quarantine["source_uri"].to_list() == ["README", "table.csv"]
    assert set(result.quarantine["reason"]) == {"unreadable:unsupported_format"}
    assert "'.csv'" in result.quarantine["detail"][1]


def test_extension_outside_config_is_unsupported(tmp_path: Path) -> None:
    config = IngestConfig(extensions=(".txt",))
    row = only_quarantine(read_one(tmp_path, "a.md", "# text", config))
    assert row["reason"] == "unreadable:unsupported_format"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_quarantined_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    row = only_quarantine(read_inbox(tmp_path, CONFIG))
    assert row["reason"] == "unreadable:not_a_file"


def test_dangling_symlink_is_an_io_error(tmp_path: Path) -> None:
    (tmp_path / "gone.txt").symlink_to(tmp_path / "missing.txt")
    result = read_inbox(tmp_path, CONFIG)
    row = only_quarantine(result)
    assert row["reason"] == "unreadable:io_error"
    assert result.files["file_sha256"].to_list() == [None]


# --- JSON Lines --------------------------------------------------------------------------------


def test_jsonl_fields_and_aliases(tmp_path: Path) -> None:
    lines = [
        {
            "text": "First story.",
            "title": " Title one ",
            "date": "2024-10-26",
            "url": "https://a.example/1",
            "source": "A News",
        },
        {"body": "Second story.", "published_date": "2024-10-27"},
        {"content": "Third story.", "published": "2024-10-28T10:00:00Z", "extra": [1, 2]},
        {"text": "", "body": "Fourth story, text empty but body set."},
    ]
    data = "\n".join(json.dumps(line) for line in lines) + "\n"
    result = read_one(tmp_path, "feed/items.jsonl", data)
    check_accounting(result)
    assert result.quarantine.height == 0
    docs = result.docs
    assert docs["source_uri"].to_list() == [f"feed/items.jsonl#{n}" for n in (1, 2, 3, 4)]
    assert docs["source_format"].unique().to_list() == ["jsonl"]
    assert docs["raw_text"].to_list() == [
        "First story.",
        "Second story.",
        "Third story.",
        "Fourth story, text empty but body set.",
    ]
    assert docs["title_hint"].to_list() == ["Title one", None, None, None]
    assert docs["date_hint"].to_list() == ["2024-10-26", "2024-10-27", "2024-10-28T10:00:00Z", None]
    assert docs.row(0, named=True)["url"] == "https://a.example/1"
    assert docs.row(0, named=True)["source"] == "A News"
    assert result.files["n_records"].to_list() == [4]


def test_jsonl_good_lines_kept_bad_lines_quarantined(tmp_path: Path) -> None:
    long_text = "x" * 5000
    lines = [
        '{"text": "good one"}',
        "",  # blank: skipped, not a record
        '{"text": "broken" "title": "x"}',
        "[1, 2, 3]",
        '{"title": "no text"}',
        '{"text": "   "}',
        '{"text": 42}',
        '{"text": "good two"}',
        "   ",
        "not json at all " + long_text,
        '{"text": "good three"}',
    ]
    result = read_one(tmp_path, "a.jsonl", "\n".join(lines))
    check_accounting(result)
    assert result.docs["source_uri"].to_list() == ["a.jsonl#1", "a.jsonl#8", "a.jsonl#11"]
    q = result.quarantine
    assert q["source_uri"].to_list() == [f"a.jsonl#{n}" for n in (3, 4, 5, 6, 7, 10)]
    assert q["reason"].to_list() == [
        "unreadable:malformed_json",
        "unreadable:malformed_json",
        "unreadable:missing_text",
        "unreadable:missing_text",
        "unreadable:missing_text",
        "unreadable:malformed_json",
    ]
    assert q["detail"][0].startswith("line 3: Expecting ',' delimiter")
    assert q["detail"][1] == "line 4: an array, not an object"
    assert "no text field" in q["detail"][2]
    assert "'text' is empty" in q["detail"][3]
    assert "'text' is a number" in q["detail"][4]
    assert q["record"][0] == lines[2]
    assert len(q["record"][5]) == 2000
    assert result.files["n_records"].to_list() == [9]


def test_jsonl_deep_nesting_does_not_crash(tmp_path: Path) -> None:
    data = '{"text": "fine"}\n' + "[" * 100_000 + "\n"
    result = read_one(tmp_path, "a.jsonl", data)
    check_accounting(result)
    assert result.docs.height == 1
    assert result.quarantine["reason"].to_list() == ["unreadable:malformed_json"]
    assert "too deep" in result.quarantine["detail"][0]


def test_jsonl_crlf_and_bom(tmp_path: Path) -> None:
    data = b'\xef\xbb\xbf{"text": "one"}\r\n{"text": "two"}\r\n'
    result = read_one(tmp_path, "a.jsonl", data)
    assert result.docs["raw_text"].to_list() == ["one", "two"]


# --- JSON --------------------------------------------------------------------------------------


def test_json_object_is_one_document(tmp_path: Path) -> None:
    data = json.dumps({"text": "Body.", "title": "T", "published": "2024-01-02", "url": "u"})
    result = read_one(tmp_path, "one.json", data)
    check_accounting(result)
    doc = result.docs.row(0, named=True)
    assert doc["source_uri"] == "one.json"
    assert doc["source_format"] == "json"
    assert (doc["raw_text"], doc["title_hint"], doc["date_hint"], doc["url"]) == (
        "Body.",
        "T",
        "2024-01-02",
        "u",
    )


def test_json_array_items_and_bad_items(tmp_path: Path) -> None:
    items = [{"text": "a"}, "just a string", {"text": None}, {"body": "d", "date": 20240102}]
    result = read_one(tmp_path, "many.json", json.dumps(items))
    check_accounting(result)
    assert result.docs["source_uri"].to_list() == ["many.json#1", "many.json#4"]
    assert result.docs["date_hint"].to_list() == [None, "20240102"]
    assert result.quarantine["source_uri"].to_list() == ["many.json#2", "many.json#3"]
    assert result.quarantine["reason"].to_list() == [
        "unreadable:malformed_json",
        "unreadable:missing_text",
    ]
    assert result.quarantine["record"].to_list() == ['"just a string"', '{"text": null}']


@pytest.mark.parametrize(
    ("data", "reason", "detail"),
    [
        ('{"text": "a",}', "unreadable:malformed_json", "line 1, column"),
        ('"a string"', "unreadable:malformed_json", "top-level value is a string"),
        ("[]", "unreadable:empty", "no records"),
        ("[" * 100_000, "unreadable:malformed_json", "too deep"),
        ('{"title": "no text"}', "unreadable:missing_text", "top-level object"),
    ],
)
def test_json_file_level_failures(tmp_path: Path, data: str, reason: str, detail: str) -> None:
    row = only_quarantine(read_one(tmp_path, "bad.json", data))
    assert row["source_uri"] == "bad.json"
    assert row["reason"] == reason
    assert detail in row["detail"]


# --- HTML --------------------------------------------------------------------------------------


def test_html_main_text_and_metadata(tmp_path: Path) -> None:
    result = read_one(tmp_path, "web/page.html", HTML_PAGE)
    check_accounting(result)
    doc = result.docs.row(0, named=True)
    assert doc["source_format"] == "html"
    assert "3,000 soldiers had arrived" in doc["raw_text"]
    assert "Copyright" not in doc["raw_text"]
    assert "<p>" not in doc["raw_text"]
    assert doc["title_hint"] == "Troops arrive at the front"
    assert doc["date_hint"] == "2024-10-26"
    assert doc["url"] == "https://planet.example/world/troops"
    assert doc["source"] == "Daily Planet"


def test_htm_cp1252_page(tmp_path: Path) -> None:
    page = HTML_PAGE.replace("Kyiv said", "Kyiv’s officials said").replace("-", "–")
    result = read_one(tmp_path, "page.htm", page.encode("cp1252"))
    assert "Kyiv’s officials said" in result.docs["raw_text"][0]


def test_html_fragment_is_read(tmp_path: Path) -> None:
    fragment = "<p>Kyiv said on Friday that 3,000 soldiers had arrived near the front.</p>"
    result = read_one(tmp_path, "frag.html", fragment)
    assert result.docs["raw_text"].to_list() == [
        "Kyiv said on Friday that 3,000 soldiers had arrived near the front."
    ]


def test_html_without_main_text(tmp_path: Path) -> None:
    page = "<html><head><title>x</title><script>var a = 1;</script></head><body></body></html>"
    row = only_quarantine(read_one(tmp_path, "empty.html", page))
    assert row["reason"] == "unreadable:no_main_text"
    assert row["record"] is not None and row["record"].startswith("<html>")


def test_html_parser_exception_is_quarantined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("lxml blew up\nsecond line")

    import trafilatura  # the readers import it on the first page

    monkeypatch.setattr(trafilatura, "bare_extraction", explode)
    row = only_quarantine(read_one(tmp_path, "page.html", HTML_PAGE))
    assert row["reason"] == "unreadable:html_parse_error"
    assert row["detail"] == "HTML parser failed: RuntimeError: lxml blew up"


def test_deeply_nested_html_does_not_crash(tmp_path: Path) -> None:
    page = "<html><body>" + "<div>" * 20_000 + "deep" + "</div>" * 20_000 + "</body></html>"
    result = read_one(tmp_path, "deep.html", page)
    check_accounting(result)


# --- Parquet -----------------------------------------------------------------------------------


def test_parquet_rows(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "content": ["Story one.", None, "Story three."],
            "title": ["One", "Two", None],
            "published_date": [date(2024, 10, 26), None, date(2024, 10, 28)],
            "url": ["https://a.example/1", None, None],
            "source": ["A", "B", "C"],
            "views": [1, 2, 3],
        }
    )
    frame.write_parquet(tmp_path / "batch.parquet")
    result = read_inbox(tmp_path, CONFIG)
    check_accounting(result)
    assert result.docs["source_uri"].to_list() == ["batch.parquet#1", "batch.parquet#3"]
    assert result.docs["source_format"].unique().to_list() == ["parquet"]
    assert result.docs["date_hint"].to_list() == ["2024-10-26", "2024-10-28"]
    assert result.docs["title_hint"].to_list() == ["One", None]
    assert result.docs["source"].to_list() == ["A", "C"]
    q = result.quarantine.row(0, named=True)
    assert q["source_uri"] == "batch.parquet#2"
    assert q["reason"] == "unreadable:missing_text"
    assert json.loads(q["record"])["title"] == "Two"


def test_parquet_without_text_column(tmp_path: Path) -> None:
    pl.DataFrame({"title": ["a"], "url": ["b"]}).write_parquet(tmp_path / "x.parquet")
    row = only_quarantine(read_inbox(tmp_path, CONFIG))
    assert (row["source_uri"], row["reason"]) == ("x.parquet", "unreadable:missing_text")
    assert "title" in row["detail"]


def test_parquet_with_no_rows(tmp_path: Path) -> None:
    pl.DataFrame({"text": []}, schema={"text": pl.String}).write_parquet(tmp_path / "x.parquet")
    row = only_quarantine(read_inbox(tmp_path, CONFIG))
    assert row["reason"] == "unreadable:empty"


@pytest.mark.parametrize("data", [b"not parquet at all", b"PAR1" + b"\x00" * 20 + b"PAR1"])
def test_bad_parquet(tmp_path: Path, data: bytes) -> None:
    row = only_quarantine(read_one(tmp_path, "x.parquet", data))
    assert row["reason"] == "unreadable:bad_parquet"
    assert "\n" not in row["detail"]


def test_truncated_parquet(tmp_path: Path) -> None:
    buffer = tmp_path / "full.parquet"
    pl.DataFrame({"text": ["a" * 100] * 50}).write_parquet(buffer)
    data = buffer.read_bytes()
    buffer.unlink()
    row = only_quarantine(read_one(tmp_path, "cut.parquet", data[: len(data) // 2]))
    assert row["reason"] == "unreadable:bad_parquet"


# --- ledger ------------------------------------------------------------------------------------


def test_seen_ledger_skips_unchanged_and_rereads_changed(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "story a")
    write(tmp_path, "b.jsonl", '{"text": "b1"}\n{"text": "b2"}\nbad\n')
    write(tmp_path, "c.csv", "unsupported")
    first = read_inbox(tmp_path, CONFIG)
    check_accounting(first)
    assert first.files["n_records"].to_list() == [1, 3, 1]

    second = read_inbox(tmp_path, CONFIG, seen=first.files)
    check_accounting(second)
    assert second.docs.height == 0 and second.quarantine.height == 0
    assert second.already_seen_records == 5
    assert second.files["outcome"].to_list() == ["skipped_seen"] * 3
    assert second.files["file_sha256"].to_list() == first.files["file_sha256"].to_list()

    write(tmp_path, "a.txt", "story a, corrected")
    write(tmp_path, "d.md", "new file")
    third = read_inbox(tmp_path, CONFIG, seen=second.files)
    check_accounting(third)
    assert third.docs["source_uri"].to_list() == ["a.txt", "d.md"]
    assert third.docs["raw_text"][0] == "story a, corrected"
    assert third.files["outcome"].to_list() == ["read", "skipped_seen", "skipped_seen", "read"]
    assert third.already_seen_records == 4


def test_files_with_their_ledger_stamp_are_skipped_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    an_hour_ago = time.time_ns() - 3600 * 10**9
    for name, text in (("a.txt", "story a"), ("b.jsonl", '{"text": "b1"}\n{"text": "b2"}\n')):
        os.utime(write(tmp_path, name, text), ns=(an_hour_ago, an_hour_ago))
    first = read_inbox(tmp_path, CONFIG)
    info = (tmp_path / "a.txt").stat()
    assert first.files["file_stamp"][0] == (
        f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_dev}:{info.st_ino}"
    )
    opened: list[int] = []
    real = loading._load_bytes
    monkeypatch.setattr(
        loading, "_load_bytes", lambda *a, **k: opened.append(a[1]) or real(*a, **k)
    )
    # what runs publish (`ledger_updates`) is what later runs see
    ledger = ledger_updates(first.files, None)
    assert ledger.equals(first.files)
    second = read_inbox(tmp_path, CONFIG, seen=ledger)
    assert second.files["outcome"].to_list() == ["skipped_seen"] * 2
    assert second.already_seen_records == 3 and opened == []  # neither file opened
    assert ledger_updates(second.files, ledger).height == 0  # nothing new to record
    # a touched file is hashed again (same bytes: skipped), and its new stamp recorded, so the
    # run after skips it unread again
    os.utime(tmp_path / "a.txt", ns=(an_hour_ago + 1, an_hour_ago + 1))
    third = read_inbox(tmp_path, CONFIG, seen=ledger)
    assert third.files["outcome"].to_list() == ["skipped_seen"] * 2
    assert opened == [len("story a")]
    update = ledger_updates(third.files, ledger)
    assert update["source_uri"].to_list() == ["a.txt"]
    ledger = pl.concat([ledger, update])
    opened.clear()
    assert read_inbox(tmp_path, CONFIG, seen=ledger).already_seen_records == 3
    assert opened == []
    # without trust every file is hashed; so it is against a ledger without stamps
    sizes = sorted((tmp_path / n).stat().st_size for n in ("a.txt", "b.jsonl"))
    for config, seen in (
        (IngestConfig(trust_file_stamps=False), ledger),
        (CONFIG, ledger.drop("file_stamp")),
    ):
        opened.clear()
        assert read_inbox(tmp_path, config, seen=seen).already_seen_records == 3
        assert sorted(opened) == sizes
    # a file rewritten just now gets no stamp: it is hashed next time whatever its stamp
    write(tmp_path, "a.txt", "story b")
    assert read_inbox(tmp_path, CONFIG, seen=ledger).files["file_stamp"][0] is None


def test_seen_ledger_needs_its_columns(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_records"):
        read_inbox(tmp_path, CONFIG, seen=pl.DataFrame({"source_uri": [], "file_sha256": []}))


def test_source_files_are_left_untouched(tmp_path: Path) -> None:
    parquet = tmp_path / "p.parquet"
    pl.DataFrame({"text": ["row"]}).write_parquet(parquet)
    inputs: list[tuple[str, bytes | str]] = [
        ("a.txt", ARTICLE),
        ("b.jsonl", '{"text": "x"}\nbad\n'),
        ("c.json", "[1]"),
        ("d.html", HTML_PAGE),
        ("e.bin", b"\x00\x01"),
        ("f.txt", b""),
    ]
    for rel, data in inputs:
        write(tmp_path, rel, data)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    check_accounting(read_inbox(tmp_path, CONFIG))
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    assert after == before


# --- property ----------------------------------------------------------------------------------

EXTENSIONS = [".txt", ".md", ".jsonl", ".json", ".html", ".htm", ".parquet", ".xyz"]
PAYLOADS = st.one_of(
    st.binary(max_size=2_000),
    st.text(max_size=500).map(lambda s: s.encode("utf-8")),
    st.text(max_size=200).map(lambda s: s.encode("utf-16")),
    st.lists(st.dictionaries(st.sampled_from(["text", "body", "title", "date"]), st.text())).map(
        lambda rows: "\n".join(json.dumps(r) for r in rows).encode()
    ),
)


@settings(max_examples=200, deadline=None)
@given(payload=PAYLOADS, ext=st.sampled_from(EXTENSIONS))
def test_any_bytes_yield_docs_or_quarantine(payload: bytes, ext: str) -> None:
    config = IngestConfig(max_file_bytes=1_500)
    with tempfile.TemporaryDirectory() as folder:
        inbox = Path(folder)
        path = write(inbox, f"sub/input{ext}", payload)
        result = read_inbox(inbox, config)
        check_accounting(result)
        assert result.docs.height + result.quarantine.height >= 1
        assert result.files["file_sha256"].to_list() == [sha256(payload)]
        assert path.read_bytes() == payload


def test_text_that_is_not_valid_unicode_is_quarantined_not_a_crash(tmp_path: Path) -> None:
    # JSON may escape a lone surrogate; no UTF-8 (polars, Parquet) string can hold one.
    (tmp_path / "feed.jsonl").write_text(
        json.dumps({"text": "lone \ud800 surrogate", "title": "ok"})
        + "\n"
        + json.dumps({"text": "fine text", "title": "bad \udc00 title"})
        + "\n",
        "utf-8",
    )
    # A file name that is not UTF-8 (any bytes but "/" and NUL are allowed on Linux).
    with open(os.fsencode(tmp_path) + b"/caf\xe9.txt", "wb") as handle:
        handle.write(b"A story about a cafe.")
    result = read_inbox(tmp_path, CONFIG)
    rejected = result.quarantine.row(0, named=True)
    assert (rejected["source_uri"], rejected["reason"]) == ("feed.jsonl#1", ingest.UNDECODABLE)
    assert "U+D800" in rejected["detail"]
    docs = {row["source_uri"]: row for row in result.docs.iter_rows(named=True)}
    assert docs["feed.jsonl#2"]["title_hint"] == "bad \\udc00 title"  # escaped, kept visible
    assert docs["caf\\xe9.txt"]["raw_text"] == "A story about a cafe."
    assert result.files["source_uri"].to_list() == ["caf\\xe9.txt", "feed.jsonl"]


# --- fast paths of reading ---------------------------------------------------------------------


# Replaced bytes are published up to half the bytes, so that short texts take the lenient paths.
LENIENT = IngestConfig(max_replaced_share=0.5)


def _slow_text_rows(data: bytes) -> tuple[list[Any], list[Any]]:
    """Read a .txt file's bytes as before the fast paths: every text mended and checked."""
    import re

    from flows.io.ingest.decoding import _decode

    marks = re.compile("[\udc01-\udcff]")
    rows = readers._Rows(LENIENT)
    try:
        if not data:
            raise readers._Unreadable(ingest.EMPTY, "file is empty (0 bytes)")
        text = _decode(data, LENIENT)
        if not text.strip():
            raise readers._Unreadable(ingest.EMPTY, "file holds only whitespace")
        replaced = sum(ord(m) - 0xDC00 for m in marks.findall(text))
        text = marks.sub("\ufffd", text)
        try:
            text.encode("utf-8")
            rows.doc("f.txt", "txt", text, "sha", {}, replaced)
        except UnicodeEncodeError as exc:
            detail = f"text holds a lone surrogate U+{ord(text[exc.start]):04X} at character "
            rows.reject("f.txt", ingest.UNDECODABLE, detail + str(exc.start), text[:2000])
    except readers._Unreadable as failure:
        rows.reject("f.txt", failure.reason, failure.detail, failure.record)
    return [rows.docs[c] for c in RAW_DOCS], rows.quarantine


# Bytes of every kind a text file holds: ASCII, valid UTF-8, byte-order marks, whitespace
# (str.isspace's, beyond ASCII too), invalid and truncated sequences, legacy bytes, NUL.
PIECES = st.sampled_from(
    [b"a", b"Z ", b"\n", b"\t", b"\x1c", b"\x85", "é".encode(), "’".encode(), "\u2028".encode(),
     "\u3000".encode(), b"\xef\xbb\xbf", b"\xff\xfe", b"\xe9", b"\xe2\x80", b"\xed\xa0\x80",
     b"\x00", b"\x93caf\xe9\x94"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=12).map(b"".join))
def test_text_files_read_as_their_slow_definition(data: bytes) -> None:
    # strictly decoded UTF-8 skips the marker and surrogate scans; ASCII and blank texts are
    # told in constant time: the rows are those of scanning every text
    rows = readers._Rows(LENIENT)
    readers._read_file("f.txt", ".txt", data, "sha", rows)
    assert ([rows.docs[c] for c in RAW_DOCS], rows.quarantine) == _slow_text_rows(data)


@given(
    st.lists(st.sampled_from(["a", "b.", ".c", "d.TXT", "..", ".", "e.tar.gz", "é.Md"]), min_size=1)
)
def test_suffix_is_the_path_suffix(parts: list[str]) -> None:
    from pathlib import PurePosixPath

    name = "/".join(parts)
    assert loading.suffix(name) == PurePosixPath(name).suffix.lower() or "." in name.split("/")


def test_unbuffered_reads_that_return_less_are_read_on() -> None:
    import io

    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = data

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            n = min(len(buffer), 3, len(self.data))
            buffer[:n], self.data = self.data[:n], self.data[n:]
            return n

    text = b"a story read three bytes at a time"
    loaded = loading._load_bytes(".txt", len(text), lambda: Trickle(text), CONFIG, {".txt"})
    assert loaded.failure is None and loaded.data == text
    grown = loading._load_bytes(".txt", 4, lambda: Trickle(text), CONFIG, {".txt"})
    assert grown.data == text
