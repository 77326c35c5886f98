"""Hostile and broken input through the real `newsdq` command: nothing crashes, nothing is lost.

The bad files are generated at test time in a temporary folder (never committed): binary data,
wrong and mixed encodings, empty files, a 50 MB file, JSON nested 100,000 levels deep, truncated
JSON, scripts and entity bombs in HTML, path-like and unicode file names, and broken claim tables.
"""

from __future__ import annotations

import codecs
import json
import os
import random
import re
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

BIG_BYTES = 50 * 1024 * 1024  # ten times IngestConfig.max_file_bytes
DEPTH = 100_000

# An article in plain English: the "good" text that the bad variants are made of. Numbers in it
# let the claim tables below name a real sentence.
ARTICLE = (
    "Harbour cranes idle as dock strike enters third week\n\n"
    "About 1,200 dock workers stayed away from the Kessmouth terminals on Monday, the union said, "
    "as talks over pay and night shifts broke down for the second time. Ships queued outside the "
    "breakwater while the port authority diverted ferries to the northern quay. Shop owners on "
    "the waterfront said trade had fallen sharply since the walkout began, and the council asked "
    "both sides to return to the table before the spring season. "
)
# Non-ASCII letters, curly quotes and a euro sign: the bytes differ between encodings.
ACCENTED = (
    "Crème brûlée à la gare: the café owner, Zoë Müller, said “fewer trains” meant €300 less "
    "takings a day, and the mayor’s office promised a reply within the week. "
) * 4
GOOD_FILES = {
    # name -> text; each tells its own story so dedup keeps them apart
    "good/ferry.txt": "Ferry resumes after storms\n\nThe ferry to Ostrel resumed on Tuesday after "
    "a week of storms kept it in port, the operator said, and 300 passengers crossed on the "
    "first sailing. Harbour staff worked overnight to clear debris from the slipway. " * 2,
    "good/library.md": "# Library reopens\n\nThe town library reopened on Saturday after a "
    "two-year renovation that added a reading garden, a children's wing and 40 study desks, "
    "the librarian said. Volunteers moved 18,000 books back onto the shelves in one weekend. " * 2,
    "good/bridge.html": "<html><head><title>Bridge vote delayed</title></head><body><article>"
    + "<p>The council delayed its vote on the new river bridge until May, after 12 residents "
    "asked for a second survey of the flood plain. Engineers said the delay would add cost.</p>"
    * 3
    + "</article></body></html>",
}


def _nested_json(depth: int) -> str:
    return '{"text": ' * depth + '"deep"' + "}" * depth


def _entity_bomb(levels: int = 10) -> str:
    # The classic billion laughs: each entity expands to ten of the previous one.
    decls = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels)
    ]
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE html [\n{chr(10).join(decls)}\n]>\n'
        f"<html><head><title>&lol{levels - 1};</title></head><body><article><p>"
        f"&lol{levels - 1}; {ARTICLE}</p></article></body></html>"
    )


def _document_files(rng: random.Random) -> dict[str, bytes]:
    """Return inbox-relative name -> bytes of the bad document files (big file excluded)."""
    files: dict[str, bytes] = {}
    exts = (".txt", ".md", ".html", ".htm", ".json", ".jsonl", ".parquet")
    utf8 = ARTICLE.encode("utf-8")
    for ext in exts:
        stem = f"bad{ext.replace('.', '_')}"
        # binary noise, with and without NUL bytes, and a binary header before text
        for i in range(4):
            files[f"{stem}/noise-{i}{ext}"] = rng.randbytes(rng.randint(1, 4096))
        files[f"{stem}/no-nul{ext}"] = bytes(rng.randrange(1, 256) for _ in range(2048))
        files[f"{stem}/png-header{ext}"] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + utf8
        files[f"{stem}/elf{ext}"] = b"\x7fELF\x02\x01\x01" + bytes(64) + utf8
        # empty and blank
        files[f"{stem}/empty{ext}"] = b""
        files[f"{stem}/blank{ext}"] = b" \n\t\r\n   \n"
        files[f"{stem}/bom-only{ext}"] = codecs.BOM_UTF8
        # encodings
        files[f"{stem}/latin-1{ext}"] = ACCENTED.encode("latin-1", "replace")
        files[f"{stem}/cp1252{ext}"] = ACCENTED.encode("cp1252")
        files[f"{stem}/utf-16-bom{ext}"] = ACCENTED.encode("utf-16")
        files[f"{stem}/utf-16-le-no-bom{ext}"] = ACCENTED.encode("utf-16-le")
        files[f"{stem}/utf-16-be-no-bom{ext}"] = ACCENTED.encode("utf-16-be")
        files[f"{stem}/utf-32-bom{ext}"] = ACCENTED.encode("utf-32")
        files[f"{stem}/bad-utf-16-bom{ext}"] = (
            codecs.BOM_UTF16_LE + b"\x00\xd8abc"
        )  # lone surrogate
        files[f"{stem}/invalid-utf8-middle{ext}"] = utf8 + b"\xc3\x28\xff\xfe" + utf8
        files[f"{stem}/mixed-utf8-latin1{ext}"] = ACCENTED.encode() + ACCENTED.encode(
            "latin-1", "replace"
        )
        files[f"{stem}/shift-jis{ext}"] = ("東京の港でストライキが続いている。" * 20).encode(
            "shift_jis"
        )
        files[f"{stem}/controls{ext}"] = ("\x01\x02\x03\x1b[31m" * 200).encode()
        files[f"{stem}/truncated-utf8{ext}"] = ACCENTED.encode()[:-1]
        half = len(ACCENTED.encode()) // 2
        files[f"{stem}/stray-byte-utf8{ext}"] = (
            ACCENTED.encode()[:half] + b"\xff" + ACCENTED.encode()[half:]
        )
    # JSON and JSON lines: deep nesting, truncation, wrong types, hostile strings
    deep_array = "[" * DEPTH + "]" * DEPTH
    files["json/deep-array.json"] = deep_array.encode()
    files["json/deep-object.json"] = _nested_json(DEPTH).encode()
    files["json/deep-unclosed.json"] = ("[" * DEPTH).encode()
    files["jsonl/deep-lines.jsonl"] = (deep_array + "\n" + _nested_json(DEPTH) + "\n").encode()
    record = json.dumps({"title": "Strike", "text": ARTICLE, "date": "2025-03-16"})
    for cut in (1, 10, len(record) // 2, len(record) - 1):
        files[f"json/truncated-{cut}.json"] = record[:cut].encode()
        files[f"jsonl/truncated-{cut}.jsonl"] = (record[:cut] + "\n" + record[: cut // 2]).encode()
    odd_records = [
        {"text": 12345},
        {"text": None, "body": ["a", "list"]},
        {"text": {"nested": "object"}},
        {"text": ""},
        {"text": "   \n\t "},
        {"text": "\u200b\u200b\u200b"},  # zero-width spaces only
        {"text": "\u0000\u0001\u0002"},  # control characters only
        {"text": "lone surrogate \ud800 in text " + ARTICLE},
        {"text": "NUL \u0000 inside " + ARTICLE, "title": "NUL title \u0000"},
        {"text": "bad date " + ARTICLE, "date": "2025-13-45"},
        {"text": "huge date " + ARTICLE, "date": 10**30},
        {"text": "list date " + ARTICLE, "date": ["2025", "03"]},
        {"text": "object title " + ARTICLE, "title": {"a": 1}, "url": 7},
        {"text": "rtl \u202e title " + ARTICLE, "title": "\u202eevil\u202c", "source": "\u202e"},
        {"text": "z" * 200_000},  # one enormous word
        [1, 2, 3],
        "just a string",
        None,
        3.5,
    ]
    files["json/odd-records.json"] = json.dumps(odd_records).encode()
    files["jsonl/odd-records.jsonl"] = "\n".join(json.dumps(r) for r in odd_records).encode()
    files["json/nan.json"] = b'{"text": NaN, "title": Infinity}'
    files["json/duplicate-keys.json"] = b'{"text": "a", "text": 5}'
    files["json/empty-array.json"] = b"[]"
    files["json/empty-object.json"] = b"{}"
    files["json/huge-number.json"] = b'{"text": 1' + b"0" * 10_000 + b"}"
    files["jsonl/crlf-and-garbage.jsonl"] = b'{"text": "x"}\r\n\r\n}{\r\n[[[\r\n"\\u12"\r\n'
    # HTML: scripts, handlers, an entity bomb, deep nesting, broken markup
    files["html/script-only.html"] = b"<html><body><script>alert(1)</script></body></html>"
    files["html/entity-bomb.html"] = _entity_bomb().encode()
    files["html/entity-bomb-external.html"] = (
        '<!DOCTYPE html [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<html><body><article><p>&xxe; " + ARTICLE + "</p></article></body></html>"
    ).encode()
    files["html/deep-divs.html"] = ("<div>" * DEPTH + ARTICLE + "</div>" * DEPTH).encode()
    files["html/unclosed.html"] = ("<html><body><p><b><i><table><tr><td>" + ARTICLE).encode()
    files["html/only-comments.html"] = b"<!-- nothing -->" * 100
    files["html/svg-onload.html"] = (
        b'<html><body><svg onload="alert(1)"><script>alert(2)</script></svg>'
        b"<iframe src=javascript:alert(3)></iframe></body></html>"
    )
    files["html/attribute-soup.html"] = ("<p " + 'a="' * 5000 + ">" + ARTICLE).encode()
    # Parquet: not Parquet, truncated Parquet, wrong column types
    frames = {
        "parquet/int-text.parquet": pl.DataFrame({"text": [1, 2, 3]}),
        "parquet/struct-text.parquet": pl.DataFrame({"text": [{"a": 1}, {"a": 2}]}),
        "parquet/null-text.parquet": pl.DataFrame(
            {"text": [None, None]}, schema={"text": pl.String}
        ),
        "parquet/no-rows.parquet": pl.DataFrame(schema={"text": pl.String}),
        "parquet/no-text-column.parquet": pl.DataFrame({"title": ["a"], "n": [1]}),
        "parquet/list-text.parquet": pl.DataFrame({"text": [["a", "b"]], "date": [[1]]}),
    }
    for name, frame in frames.items():
        files[name] = _parquet_bytes(frame)
    whole = _parquet_bytes(pl.DataFrame({"text": [ARTICLE], "title": ["t"]}))
    files["parquet/truncated.parquet"] = whole[: len(whole) // 2]
    files["parquet/magic-only.parquet"] = b"PAR1PAR1"
    # names: spaces, emoji, right-to-left marks, path-like, control and odd characters
    hostile_names = [
        "with spaces  and  tabs\t.txt",
        "emoji-\U0001f4f0\U0001f525.txt",
        "rtl-\u202etxt.exe.txt",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd.txt",
        "x..%2f..%2fetc.txt",
        "..%5c..%5cwindows.txt",  # a leading dot: hidden, skipped by design (see below)
        "..%2f..%2fetc",
        "%00null.txt",
        "new\nline.txt",
        "semi;colon & amp <tag>.txt",
        "quote\"'`$(touch pwned).txt",
        "x#1.jsonl",
        "UPPER.TXT",
        "no-extension",
        "trailing-dot.",
        "a.tar.gz",
        "\u0301combining.txt",
        "ﬁ-ligature-\u00e9-NFD-e\u0301.md",
        "very-long-" + "n" * 200 + ".txt",
        "notes.docx",
        "page.xml",
        "script.js",
    ]
    for name in hostile_names:
        files[f"names/{name}"] = ("Name test " + name + ". " + ARTICLE).encode("utf-8", "replace")
    files["names/deeply/" + "/".join(f"d{i}" for i in range(30)) + "/leaf.txt"] = b"\x00"
    return files


def _parquet_bytes(frame: pl.DataFrame) -> bytes:
    import io

    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def _claim_files(rng: random.Random) -> dict[str, bytes]:
    """Return claims/<name> -> bytes of broken claim tables."""
    sentence = (
        "About 1,200 dock workers stayed away from the Kessmouth terminals on Monday, the union "
        "said, as talks over pay and night shifts broke down for the second time."
    )
    good = {"source_uri": "good/ferry.txt", "sentence": sentence, "quantity": 1200}
    files = {
        "claims/wrong-types.csv": (
            "source_uri,sentence,quantity,start,end\n"
            f'good/ferry.txt,"{sentence}",many,0,1\n'
            f'good/ferry.txt,"{sentence}",1200,zero,x\n'
            f'good/ferry.txt,"{sentence}",1200,99999999999999999999999,-5\n'
            f'good/ferry.txt,"{sentence}",1e400,,\n'
            f'good/ferry.txt,"{sentence}",NaN,,\n'
            f'good/ferry.txt,"{sentence}",-1200,-3,-1\n'
        ).encode(),
        "claims/missing-columns.csv": b"source_uri,quantity\ngood/ferry.txt,3\n",
        "claims/no-header.csv": b"",
        "claims/header-only.csv": b"doc_id,sentence,quantity\n",
        "claims/ragged.csv": b'a,b\n1,2,3,4\n"unterminated\n',
        "claims/binary.csv": rng.randbytes(3000),
        "claims/latin-1.csv": ("sentence,quantity,source_uri\ncafé crème,3,x\n").encode("latin-1"),
        "claims/utf-16.csv": ("sentence,quantity,source_uri\nten,10,x\n").encode("utf-16"),
        "claims/garbage.jsonl": b'{not json}\n[1,2]\n"str"\nnull\n\xff\xfe\n',
        "claims/deep.jsonl": ("[" * DEPTH + "]" * DEPTH + "\n" + _nested_json(DEPTH)).encode(),
        "claims/odd-values.jsonl": "\n".join(
            json.dumps(r)
            for r in [
                {**good, "quantity": {"a": 1}},
                {**good, "quantity": [1]},
                {**good, "quantity": True},
                {**good, "start": 1.5, "end": "2"},
                {**good, "start": 10**20, "end": 10**21},
                {**good, "start": 50, "end": 10},
                {**good, "sentence": None},
                {**good, "sentence": ["a"]},
                {**good, "source_uri": None},
                {**good, "source_uri": "../../etc/passwd"},
                {**good, "doc_id": {"x": 1}},
                {**good, "qualifier": "<script>alert(1)</script>"},
                {**good, "claim_id": "\ud800"},
                {**good, "sentence": "\u0000" * 10},
            ]
        ).encode(),
        "claims/truncated.jsonl": json.dumps(good).encode()[:-7],
        "claims/bad.parquet": b"PAR1 not really",
        "claims/wrong-types.parquet": _parquet_bytes(
            pl.DataFrame({"sentence": [[1, 2]], "quantity": [{"a": 1}], "start": ["x"]})
        ),
        "claims/empty.parquet": _parquet_bytes(pl.DataFrame()),
        "claims/notes.txt": b"claims in the wrong format",
        "claims/empty.jsonl": b"",
    }
    return files


def build_inbox(inbox: Path, *, seed: int = 5) -> dict[str, list[str]]:
    """Write the hostile inbox; return the inbox-relative names of each kind of file."""
    rng = random.Random(seed)
    docs = _document_files(rng)
    claims = _claim_files(rng)
    for name, data in {**docs, **claims}.items():
        path = inbox / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for name, text in GOOD_FILES.items():
        path = inbox / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    # 50 MB: a text header, then a hole (sparse where the file system allows), so writing it
    # costs nothing; the size limit must refuse it before reading.
    big = ["big/huge.txt", "big/huge.jsonl"]
    for name in big:
        path = inbox / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            handle.write(ARTICLE.encode())
            handle.truncate(BIG_BYTES)
    # A name that is not valid UTF-8 (Linux allows any bytes but "/" and NUL).
    raw_name = os.fsencode(inbox / "names") + b"/latin-1-\xe9t\xe9.txt"
    with open(raw_name, "wb") as handle:
        handle.write(ARTICLE.encode())
    # A dangling symbolic link and a folder named like a file.
    (inbox / "links").mkdir()
    (inbox / "links" / "dangling.txt").symlink_to(inbox / "links" / "missing-target.txt")
    (inbox / "links" / "folder.txt").mkdir()
    # A link to a file outside the inbox (a sibling folder): refused, never published.
    secret = inbox.parent / "outside" / "secret.txt"
    secret.parent.mkdir(exist_ok=True)
    secret.write_text("OUTSIDE-SECRET " + ARTICLE, "utf-8")
    (inbox / "links" / "outside.txt").symlink_to(secret)
    # Hidden files (a leading dot, like .DS_Store) are skipped by design, not inputs.
    hidden = sorted(n for n in docs if Path(n).name.startswith("."))
    return {
        "docs": sorted(
            # the undecodable bytes of a name are kept visible as \xNN escapes
            [
                *(n for n in docs if n not in hidden),
                *big,
                "names/latin-1-\\xe9t\\xe9.txt",
                "links/dangling.txt",
                "links/outside.txt",
            ]
        ),
        "hidden": hidden,
        "claims": sorted(claims),
        "good": sorted(GOOD_FILES),
    }


# --- the test ----------------------------------------------------------------------------------

DOCUMENT_STAGES = ("ingest", "normalise", "boilerplate", "validate")
# `unreadable:<why>` or another snake_case reason, optionally `<kind>:<check>`
REASON = r"^[a-z]+(_[a-z]+)*(:[a-z0-9]+(_[a-z0-9]+)*)?$"


def _tree(root: Path, skip: Path) -> dict[str, str]:
    """Map every path under root (but `skip`) to its kind and content, to spot any change."""
    seen: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d != skip]
        for name in [*dirnames, *filenames]:
            path = here / name
            if path.is_symlink():
                seen[os.fsdecode(path)] = "link:" + os.readlink(path)
            elif path.is_file():
                info = path.stat()  # contents only of small files: the 50 MB ones stay unread
                body = hash(path.read_bytes()) if info.st_size < 1 << 20 else info.st_mtime_ns
                seen[os.fsdecode(path)] = f"file:{info.st_size}:{body}"
            else:
                seen[os.fsdecode(path)] = "dir"
    return seen


def _owns(uri: str, file_uri: str) -> bool:
    """Tell whether a table's source_uri is the file itself or one of its records (`file#N`)."""
    return uri == file_uri or uri.startswith(file_uri + "#")


def _summary(out: Path, stdout: str) -> dict:
    run_id = stdout.split("run ", 1)[1].split(":", 1)[0]
    return json.loads((out / "runs" / run_id / "summary.json").read_text("utf-8"))


def test_hostile_inbox_is_accounted_for_and_never_crashes(newsdq, tmp_path: Path) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    names = build_inbox(inbox)
    assert len(names["docs"]) + len(names["claims"]) >= 200
    before = _tree(tmp_path, skip=out)

    result = newsdq("run", "--inbox", str(inbox), "--out", str(out))
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr

    summary = _summary(out, result.stdout)
    c = summary["counts"]
    assert c["inputs"] == c["ingested"] + c["already_ingested"]
    assert c["ingested"] == c["published"] + c["duplicates"] + c["quarantined"]
    assert c["already_ingested"] == 0  # a fresh output knows nothing

    documents = pl.read_parquet(f"{out}/documents/**/*.parquet")
    quarantine = pl.read_parquet(f"{out}/quarantine/**/*.parquet")
    doc_quarantine = quarantine.filter(pl.col("stage").is_in(DOCUMENT_STAGES))
    # one row per ingested record: published, duplicate or quarantined, never two of them
    assert documents.height + doc_quarantine.height == c["ingested"]
    record_uris = documents["source_uri"].to_list() + doc_quarantine["source_uri"].to_list()
    assert len(record_uris) == len(set(record_uris)), "a record landed in two places"

    # every document file is accounted for: its records were published or quarantined
    files = [*names["docs"], *names["good"]]
    assert [f for f in files if not any(_owns(u, f) for u in record_uris)] == []  # none lost
    assert [u for u in record_uris if not any(_owns(u, f) for f in files)] == []  # none made up
    assert [r for r in quarantine["reason"].unique().to_list() if not re.match(REASON, r)] == []
    # hidden names ("..%2f..." starts with a dot) are skipped by design: in no table at all
    assert names["hidden"] and not any(
        _owns(u, f) for u in quarantine["source_uri"].to_list() for f in names["hidden"]
    )

    reason_of = dict(zip(quarantine["source_uri"], quarantine["reason"], strict=False))
    for name in ("big/huge.txt", "big/huge.jsonl"):
        assert reason_of[name] == "unreadable:too_large", name
    for name in ("json/deep-array.json", "json/deep-object.json", "jsonl/deep-lines.jsonl#1"):
        assert reason_of[name] == "unreadable:malformed_json", name
    assert reason_of["links/dangling.txt"] == "unreadable:io_error"
    assert reason_of["links/outside.txt"] == "unreadable:symlink_outside_inbox"

    # UTF-8 text with a stray byte is published with the byte replaced, and counted
    replaced = dict(zip(documents["source_uri"], documents["replaced_bytes"], strict=True))
    for name in ("bad_txt/stray-byte-utf8.txt", "bad_md/stray-byte-utf8.md"):
        assert replaced[name] == 1 and name not in reason_of, name
    assert c["replaced_bytes"] == documents["replaced_bytes"].sum() > 0
    assert c["documents_with_replaced_bytes"] == (documents["replaced_bytes"] > 0).sum()
    articles = pl.read_parquet(f"{out}/articles/**/*.parquet")
    assert articles["replaced_bytes"].dtype == pl.Int64

    # the good files are published as themselves
    published = documents.filter(pl.col("status") == "published")
    assert set(names["good"]) <= set(published["source_uri"])

    # hostile HTML yields no script and no expanded or external entity
    texts = documents["text"].to_list()
    assert not any("alert(" in t for t in texts)
    assert not any("lollollol" in t or "root:x:0:0" in t for t in texts)
    assert not any("OUTSIDE-SECRET" in t for t in texts)
    assert max(len(t) for t in texts) < 1_000_000

    # every claim file is read (in the claim-file ledger) or refused as a whole in quarantine
    ledger = pl.read_parquet(f"{out}/index/claim_files/**/*.parquet")
    claim_uris = ledger["source_uri"].to_list() + quarantine["source_uri"].to_list()
    assert [f for f in names["claims"] if not any(_owns(u, f) for u in claim_uris)] == []
    # ... and each of its records (or the file, refused whole) is a published claim or exactly
    # one quarantine row
    claims = pl.read_parquet(f"{out}/claims/**/*.parquet")
    external = claims.filter(pl.col("extractor").str.starts_with("external:")).height
    refused = quarantine.filter(pl.col("source_uri").str.starts_with("claims/")).height
    assert external + refused == ledger["n_records"].sum()

    # nothing outside the output folder was created or changed; links inside it stay inside it
    assert _tree(tmp_path, skip=out) == before
    assert not (ROOT / "pwned").exists() and not (tmp_path / "pwned").exists()
    for dirpath, dirnames, filenames in os.walk(out):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            if path.is_symlink():
                assert path.resolve().is_relative_to(out.resolve()), path

    # a second run over the same hostile inbox reads nothing again and adds nothing
    again = newsdq("run", "--inbox", str(inbox), "--out", str(out))
    assert again.code == 0, again.stderr
    counts = _summary(out, again.stdout)["counts"]
    assert counts["ingested"] == 0 and counts["already_ingested"] == c["inputs"]
    assert pl.read_parquet(f"{out}/documents/**/*.parquet").height == documents.height
    assert pl.read_parquet(f"{out}/quarantine/**/*.parquet").height == quarantine.height
