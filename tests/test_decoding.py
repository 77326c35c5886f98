"""Decoding of inbox bytes as a browser would show them (flows/io/ingest/, flows/io/charsets.py).

Every input is a small text written here, encoded at test time; the shared corpora are only read.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from flows.core.accounting import account
from flows.core.schema import QUARANTINE
from flows.core.settings import IngestConfig
from flows.io import ingest
from flows.io.charsets import codec_for_label, decode_marked, mend
from flows.io.ingest import read_inbox
from tests.conftest import require_shared
from tests.test_ingest import check_accounting, only_quarantine, read_one

CONFIG = IngestConfig()

PARAGRAPH = (
    "<p>The harbour’s new ferry — the first in a decade — carried 300 passengers on its "
    "maiden crossing, the operator said, and “more sailings” would follow in spring.</p>\n"
)


def _page(body: bytes, head: bytes = b"") -> bytes:
    return (
        b"<!DOCTYPE html>\n<html><head>"
        + head
        + b"<title>Ferry sails again</title></head><body><article>\n"
        + body
        + b"</article></body></html>\n"
    )


def _doc(tmp_path: Path, name: str, data: bytes) -> dict[str, object]:
    result = read_one(tmp_path, name, data)
    check_accounting(result)
    assert result.quarantine.height == 0, result.quarantine.to_dicts()
    assert result.docs.height == 1
    return result.docs.row(0, named=True)


# --- (1) UTF-8 with a few stray bytes ----------------------------------------------------------


@pytest.mark.parametrize("head", [b"", b'<meta charset="utf-8">'])
def test_big_utf8_page_with_two_stray_bytes_is_published(tmp_path: Path, head: bytes) -> None:
    body = PARAGRAPH.encode() * 560
    assert 90_000 < len(body) < 110_000
    cut = len(body) // 2
    cut = body.index(b"ferry", cut)
    data = _page(body[:cut] + b"\xff" + body[cut:-200] + b"\x92" + body[-200:], head)
    doc = _doc(tmp_path, "ferry.html", data)
    assert doc["replaced_bytes"] == 2
    text = str(doc["raw_text"])
    assert text.count("\ufffd") == 2
    assert "The harbour’s new ferry — the first in a decade" in text  # the rest is untouched


def test_utf8_text_file_with_a_truncated_sequence_counts_its_bytes(tmp_path: Path) -> None:
    text = "Le café — “crème” — ouvre à Noël.\n" * 40
    data = text.encode()
    cut = data.index("“".encode(), 500)
    doc = _doc(tmp_path, "a.txt", data[:cut] + "“".encode()[:2] + data[cut:])  # 2 of 3 bytes
    assert doc["replaced_bytes"] == 2
    assert str(doc["raw_text"]).count("\ufffd") == 1  # one U+FFFD per sequence, as browsers


def test_mostly_invalid_utf8_is_still_undecodable(tmp_path: Path) -> None:
    # a UTF-8 byte-order mark, then text in another encoding: far too many bytes to replace
    data = b"\xef\xbb\xbf" + ("Zażółć gęślą jaźń. " * 20).encode("cp1250")
    row = only_quarantine(read_one(tmp_path, "pl.txt", data))
    assert row["reason"] == "unreadable:undecodable"
    assert "UTF-8 byte-order mark" in row["detail"] and "max_replaced_share" in row["detail"]


def test_the_share_of_replaced_bytes_is_a_setting(tmp_path: Path) -> None:
    data = ("Plain words. " * 20).encode() + "“quoted” ".encode() * 3 + b"\xff\xfe\xfd"
    strict = IngestConfig(max_replaced_share=0.0)
    row = only_quarantine(read_one(tmp_path, "a.txt", data, strict))
    assert row["reason"] == "unreadable:undecodable"
    assert _doc(tmp_path / "lenient", "a.txt", data)["replaced_bytes"] == 3


# --- (2) declared legacy pages -----------------------------------------------------------------

CP1252_BODY = (
    "<p>Café Nord: the city’s oldest café now charges €45 for dinner, “a fair price”, "
    "its owner said.</p>\n"
).encode("cp1252")


@pytest.mark.parametrize(
    "head",
    [
        b'<meta charset="windows-1252">',
        b"<meta charset=iso-8859-1>",
        b'<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">',
        b"<meta content='text/html;charset=latin1' http-equiv='content-type'>",
    ],
)
def test_declared_western_page_decodes_as_windows_1252(tmp_path: Path, head: bytes) -> None:
    # three bytes that cp1252 leaves undefined: browsers show them as C1 controls
    body = CP1252_BODY.replace(b"oldest", b"old\x81est\x8d").replace(b"dinner", b"din\x9dner")
    doc = _doc(tmp_path, "cafe.htm", _page(body * 3, head))
    text = str(doc["raw_text"])
    assert "Café Nord: the city’s" in text and "€45" in text and "“a fair price”" in text
    assert "city’s oldest café" in text and "for dinner" in text  # trafilatura drops C1 controls
    assert not any(bad in text for bad in ("Cafť", "cityís", "Ä45", "\ufffd"))
    assert doc["replaced_bytes"] == 0


def test_declaration_after_the_scanned_bytes_is_not_read(tmp_path: Path) -> None:
    filler = b"<!-- " + b"x" * 5000 + b" -->"
    data = _page(CP1252_BODY * 3, filler + b'<meta charset="koi8-r">')
    doc = _doc(tmp_path, "cafe.html", data)  # koi8-r would give "Caf╘"; detection finds cp1252
    assert "Café Nord: the city’s" in str(doc["raw_text"])


def test_declaration_in_a_comment_is_ignored(tmp_path: Path) -> None:
    data = _page(CP1252_BODY * 3, b'<!-- <meta charset="koi8-r"> -->')
    assert "city’s oldest café" in str(_doc(tmp_path, "cafe.html", data)["raw_text"])


def test_other_declared_code_pages(tmp_path: Path) -> None:
    russian = "<p>Съешь же ещё этих мягких французских булок, да выпей же чаю.</p>\n"
    data = _page(russian.encode("koi8-r") * 2, b'<meta charset="KOI8-R">')
    assert "мягких французских булок" in str(_doc(tmp_path / "ru", "ru.html", data)["raw_text"])
    turkish = "<p>İstanbul’da şiddetli yağmur nedeniyle birçok yol kapandı.</p>\n"
    data = _page(turkish.encode("cp1254") * 2, b'<meta charset="iso-8859-9">')
    assert "İstanbul’da şiddetli yağmur" in str(_doc(tmp_path / "tr", "tr.html", data)["raw_text"])


def test_xml_declaration_names_the_encoding(tmp_path: Path) -> None:
    data = b'<?xml version="1.0" encoding="ISO-8859-1"?>\n' + _page(CP1252_BODY * 3)
    assert "€45 for dinner" in str(_doc(tmp_path, "cafe.xhtml.html", data)["raw_text"])


def test_page_saved_again_as_utf8_keeps_its_old_declaration(tmp_path: Path) -> None:
    # a scraper stored the page as UTF-8 but kept <meta charset=iso-8859-1>
    data = _page(CP1252_BODY.decode("cp1252").encode() * 3, b"<meta charset=iso-8859-1>")
    text = str(_doc(tmp_path, "cafe.html", data)["raw_text"])
    assert "Café Nord: the city’s" in text and "CafÃ©" not in text


def test_wrong_utf8_declaration_falls_back_to_detection(tmp_path: Path) -> None:
    data = _page(CP1252_BODY * 3, b'<meta charset="utf-8">')
    doc = _doc(tmp_path, "cafe.html", data)
    assert "city’s oldest café now charges €45" in str(doc["raw_text"])
    assert doc["replaced_bytes"] == 0


def test_undeclared_short_western_text_is_not_read_as_another_code_page(tmp_path: Path) -> None:
    data = CP1252_BODY * 2
    text = str(_doc(tmp_path, "cafe.html", data)["raw_text"])
    assert "Café Nord: the city’s oldest café now charges €45" in text


# --- (3) and (4): legacy plain text, byte-order marks --------------------------------------------


def test_plain_legacy_text_without_declaration_uses_detection(tmp_path: Path) -> None:
    text = "Съешь же ещё этих мягких французских булок, да выпей же чаю. " * 3
    doc = _doc(tmp_path, "ru.txt", text.encode("cp1251"))
    assert (doc["raw_text"], doc["replaced_bytes"]) == (text, 0)
    # a <meta> in plain text is words, not a declaration
    data = b"<meta charset=koi8-r> " + "Le café de la crème est très naïve.".encode("cp1252")
    assert "café de la crème" in str(_doc(tmp_path / "fr", "fr.txt", data)["raw_text"])


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-16-be", "utf-32-le"])
def test_byte_order_marks_of_utf16_and_utf32(tmp_path: Path, encoding: str) -> None:
    text = "Zelensky said: “Moscow must answer” — €45.\n"
    bom = {"utf-16-be": b"\xfe\xff", "utf-32-le": b"\xff\xfe\x00\x00"}.get(encoding, b"")
    doc = _doc(tmp_path, "a.txt", bom + text.encode(encoding))
    assert (doc["raw_text"], doc["replaced_bytes"]) == (text, 0)


# --- records of JSON files ---------------------------------------------------------------------


def test_jsonl_counts_replaced_bytes_per_line(tmp_path: Path) -> None:
    good = json.dumps({"text": "A clean line about the “ferry”.", "title": "Ferry"}).encode()
    bad = json.dumps(
        {"text": "A line with a stray byte: X and “quotes” café."}, ensure_ascii=False
    ).encode()
    bad = bad.replace(b"X", b"\xff")
    result = read_one(tmp_path, "feed.jsonl", b"\n".join([good, bad, good.replace(b"A ", b"B ")]))
    check_accounting(result)
    assert result.docs["replaced_bytes"].to_list() == [0, 1, 0]
    assert result.docs["raw_text"][1] == "A line with a stray byte: \ufffd and “quotes” café."


def test_json_array_counts_replaced_bytes_per_item(tmp_path: Path) -> None:
    story = "the “ferry” — café — sailed at dawn with 300 passengers on board"
    items = [{"text": f"Story {i}: {story}.", "title": f"T{i}"} for i in range(3)]
    data = json.dumps(items, ensure_ascii=False).encode()
    data = data.replace(b"Story 1", b"Story\xfe 1").replace(b"T2", b"T\xff\xfe2")
    result = read_one(tmp_path, "items.json", data)
    check_accounting(result)
    assert result.docs["replaced_bytes"].to_list() == [0, 1, 2]  # title bytes count too
    assert result.docs["title_hint"][2] == "T\ufffd\ufffd2"
    assert not any("\udc00" <= c <= "\udcff" for t in result.docs["raw_text"] for c in t)


def test_quarantined_record_shows_replacements_not_markers(tmp_path: Path) -> None:
    good = "“ok” café, “ok” café, “ok” café".encode()
    data = b'{"text": "fine ' + good + b'"}\n{"text" \xff ' + good + b"}\n"
    result = read_one(tmp_path, "feed.jsonl", data)
    check_accounting(result)
    record = result.quarantine.filter(pl.col("source_uri") == "feed.jsonl#2")["record"][0]
    assert "\ufffd" in record and "\\udc" not in record


# --- labels, markers, accounting ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("ISO-8859-1", "cp1252"),
        (" latin1 ", "cp1252"),
        ("US-ASCII", "cp1252"),
        ("windows-1252", "cp1252"),
        ("iso-8859-9", "cp1254"),
        ("Shift_JIS", "cp932"),
        ("euc-kr", "cp949"),
        ("gb2312", "gbk"),
        ("utf-16le", "utf-8"),
        ("UTF8", "utf-8"),
        ("iso-8859-2", "iso8859_2"),
        ("windows-1251", "cp1251"),
        ("x-user-defined", None),
        ("iso-2022-kr", None),
        ("no-such-charset", None),
    ],
)
def test_labels_are_read_as_the_encoding_standard_reads_them(label: str, codec: str | None) -> None:
    assert codec_for_label(label) == codec


def test_undefined_windows_1252_bytes_are_c1_controls() -> None:
    data = bytes([0x80, 0x81, 0x8D, 0x8F, 0x90, 0x92, 0x9D])
    assert decode_marked(data, "cp1252") == "€\x81\x8d\x8f\x90’\x9d"
    assert decode_marked(data, "latin-1") == "€\x81\x8d\x8f\x90’\x9d"
    assert mend(decode_marked(b"ok \xff\xfe ok", "utf-8")) == ("ok \ufffd\ufffd ok", 2)
    assert mend(decode_marked(b"\xe2\x80 x", "utf-8")) == ("\ufffd x", 2)


def test_summary_counts_replaced_bytes() -> None:
    documents = pl.DataFrame(
        {
            "status": ["published", "duplicate", "published"],
            "is_boilerplate_heavy": [False, False, False],
            "replaced_bytes": [2, 0, 5],
        }
    )
    counts = account(
        records_read=3,
        skipped_records=0,
        known_docs=0,
        documents=documents,
        quarantine=pl.DataFrame(schema=QUARANTINE),
    )
    assert (counts["replaced_bytes"], counts["documents_with_replaced_bytes"]) == (7, 2)


# --- real pages --------------------------------------------------------------------------------


@pytest.mark.shared
def test_no_real_news_page_is_undecodable(tmp_path: Path) -> None:
    """Every page of ../shared's HTML corpora decodes (read only, copied to a temporary inbox)."""
    extraction = require_shared("corpora", "news_extraction")
    scrapinghub = require_shared("corpora", "scrapinghub_article_extraction", "html")
    inbox = tmp_path / "inbox"
    pages = sorted(extraction.glob("*/html/*"))
    for page in pages:
        dest = inbox / "extraction" / page.parts[-3] / page.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(page, dest)
    packed = sorted(scrapinghub.glob("*.html.gz"))
    for page in packed:
        dest = inbox / "scrapinghub" / page.name.removesuffix(".gz")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(gzip.decompress(page.read_bytes()))
    assert len(pages) >= 270 and len(packed) >= 181
    result = read_inbox(inbox, CONFIG)
    check_accounting(result)
    undecodable = result.quarantine.filter(
        pl.col("reason").is_in([ingest.UNDECODABLE, ingest.BINARY])
    )
    assert undecodable.to_dicts() == []
    assert result.files.height == len(pages) + len(packed)
    # no page is read as mojibake of UTF-8 (pages saved again as UTF-8 declare iso-8859-1)
    assert not result.docs["raw_text"].str.contains("Ã©|â€™|Ã§").any()
