"""The five reference articles of ../shared/seeds (read at test time, never copied)."""

from __future__ import annotations

from collections import Counter

import polars as pl

from flows.core.boilerplate import remove_boilerplate
from flows.core.dedup import deduplicate
from flows.core.settings import Settings
from flows.core.text import normalise_documents
from flows.core.titles import is_chrome
from tests.conftest import require_shared

S = Settings()


def _seed_docs() -> pl.DataFrame:
    files = sorted(require_shared("seeds").glob("*.txt"))
    raw = pl.DataFrame(
        {
            "source_uri": [f.name for f in files],
            "raw_text": [f.read_text("utf-8") for f in files],
            "date_hint": [None] * len(files),
            "title_hint": [None] * len(files),
        },
        schema_overrides={"date_hint": pl.String, "title_hint": pl.String},
    )
    return normalise_documents(raw.lazy()).collect()


def test_recurring_publisher_text_is_removed_and_stories_stay_apart() -> None:
    docs = _seed_docs()
    cleaned, table = remove_boilerplate(docs, S.minhash, S.boilerplate)
    # Sentences found verbatim in three or more seeds are the publisher's kit, not the news.
    counts: Counter[str] = Counter()
    for text in docs["text"]:
        counts.update(
            {s.strip() for line in text.split("\n") for s in line.split(". ") if len(s) > 30}
        )
    kit = [s for s, n in counts.items() if n >= 3]
    assert kit, "expected recurring publisher text in the seeds"
    leaks = [
        (uri, s[:40])
        for uri, clean in zip(cleaned["source_uri"], cleaned["clean_text"], strict=True)
        for s in kit
        if s in clean
    ]
    assert leaks == []
    assert table.height > 0
    # every seed keeps most of its text, and no two seeds are near-duplicates
    assert (cleaned["clean_text"].str.len_chars() > 1000).all()
    out, _, _ = deduplicate(
        cleaned.with_columns(boilerplate_ratio=pl.col("boilerplate_ratio")), S.minhash, S.dedup
    )
    assert out["is_canonical"].all()


def test_dates_parsed_from_the_header() -> None:
    docs = _seed_docs()
    with_header = docs.filter(pl.col("published_date").is_not_null())
    assert with_header.height >= 3
    assert not with_header["text"].str.starts_with(" date").any()


def test_titles_skip_interface_chrome() -> None:
    docs = _seed_docs()
    cleaned, _ = remove_boilerplate(docs, S.minhash, S.boilerplate)
    titles = dict(zip(cleaned["source_uri"], cleaned["title"], strict=True))
    by_number = {uri[:3]: title for uri, title in titles.items()}
    # 000 and 001 open with a video player's caption behind its close button
    for number in ("000", "001"):
        title = by_number[number]
        assert title is not None and not title.startswith(("✕", "Close")), title
        assert not is_chrome_line(title)
    first_line = docs.filter(pl.col("source_uri").str.starts_with("004"))["text"][0]
    assert by_number["004"] == first_line.split("\n", 1)[0].strip()


def is_chrome_line(line: str) -> bool:
    """Say whether flows.core.titles takes a line for interface chrome."""
    return bool(pl.select(is_chrome(pl.lit(line))).item())
