"""Titles: metadata without the site name, else the first line that is no boilerplate or chrome."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.core.boilerplate import remove_boilerplate
from flows.core.settings import Settings
from flows.core.text import normalise_documents
from flows.core.titles import (
    clean_title,
    document_title,
    document_titles,
    first_title_lines,
    is_chrome,
    metadata_title,
    strip_site_name,
)
from flows.io.ingest import read_inbox
from flows.io.ingest.shard import normalise_raw

S = Settings()

STORY = (
    "Ferries were diverted to the northern quay on Monday after a storm damaged the main "
    "slipway, the harbour master said, and repairs are expected to take a week."
)


@pytest.mark.parametrize(
    ("line", "chrome"),
    [
        ("✕ Close Storm video shows waves breaking over the Kessmouth sea wall", True),
        ("× close", True),
        ("Close ✕", True),
        ("▶ Play video", True),
        ("Close Read more Close", True),
        ("Share Tweet Email Print", True),
        ("Skip to main content", True),
        ("Home › World › Europe", True),
        ("News / Politics", True),
        ("Advertisement", True),
        ("›› »» 12 | 13", True),
        ("2025-03-14 09:30", True),
        ("", True),
        ("Storm closes Kessmouth harbour for a second day", False),
        ("Watch: police chase ends in the harbour", False),
        ("Home Office plans new rules for ferry crews", False),
        ("» Police arrest three after harbour fire", False),
        ("12,000 troops massed near the border", False),
        ("Brexit: what next for the fishing fleet?", False),
        (STORY, False),
    ],
)
def test_interface_chrome_is_told_from_text(line: str, chrome: bool) -> None:
    assert pl.select(is_chrome(pl.lit(line))).item() is chrome


def test_clean_title_drops_markers_and_glyphs_but_not_an_ellipsis() -> None:
    titles = pl.Series(["# Library reopens", "» Police arrest three ›", "Police say…"])
    assert pl.select(clean_title(pl.lit(titles))).to_series().to_list() == [
        "Library reopens",
        "Police arrest three",
        "Police say…",
    ]


def _titles(texts: list[str], hints: list[str | None] | None = None) -> list[str | None]:
    raw = pl.DataFrame(
        {
            "source_uri": [f"{i}.txt" for i in range(len(texts))],
            "raw_text": texts,
            "date_hint": [None] * len(texts),
            "title_hint": hints or [None] * len(texts),
        },
        schema_overrides={"date_hint": pl.String, "title_hint": pl.String},
    )
    docs = normalise_documents(raw.lazy()).collect()
    out, _ = remove_boilerplate(docs, S.minhash, S.boilerplate)
    return out["title"].to_list()


def test_text_title_is_the_first_line_that_is_not_chrome() -> None:
    texts = [
        "✕ Close Storm video shows waves over the sea wall\n\nStorm closes Kessmouth harbour\n\n"
        + STORY,
        "Home › News › Kessmouth\nShare Tweet Email\n# Library reopens after two years\n\n" + STORY,
        "Ferry crews vote to strike over night shifts\n\n" + STORY,
        "Advertisement\n\n✕\n\nClose Read more Close",
    ]
    assert _titles(texts) == [
        "Storm closes Kessmouth harbour",
        "Library reopens after two years",
        "Ferry crews vote to strike over night shifts",
        None,  # nothing but chrome: no title rather than a button
    ]


def test_a_metadata_title_comes_first() -> None:
    assert _titles(["✕ Close\nA line of text here\n\n" + STORY], ["Harbour reopens"]) == [
        "Harbour reopens"
    ]


def test_boilerplate_first_lines_are_skipped_before_chrome_is_judged() -> None:
    kit = "Support the Gazette: give five pounds a month to keep local news alive."
    stories = [
        "The council delayed its vote on the river bridge until May, after twelve residents "
        "asked for a second survey of the flood plain; engineers said the delay adds cost.",
        "The town library reopened on Saturday after a two-year renovation that added a "
        "reading garden, a children's wing and forty study desks, the librarian said.",
        "Ferry crews voted to strike over night shifts from Monday, their union said, after "
        "talks with the operator broke down for the third time since the winter.",
    ]
    texts = [f"{kit}\n\n{s}" for s in stories]
    assert _titles(texts) == stories


def _meta(title: str | None, page: str | None, site: str | None) -> str | None:
    frame = pl.DataFrame(
        {"t": [title], "p": [page], "s": [site]},
        schema={"t": pl.String, "p": pl.String, "s": pl.String},
    )
    return frame.select(metadata_title(pl.col("t"), pl.col("p"), pl.col("s"))).item()


@pytest.mark.parametrize(
    ("title", "page", "site", "expected"),
    [
        # og:title / the headline wins over a <title> that carries the site name
        (
            "Troops land at the docks",
            "Troops land | Kessmouth Gazette",
            "Kessmouth Gazette",
            "Troops land at the docks",
        ),
        # a title that is only the site name gives way to the <title>, stripped
        (
            "Kessmouth Gazette",
            "U.S. troops land | Kessmouth Gazette",
            "kessmouth gazette",
            "U.S. troops land",
        ),
        (
            "Storm closes harbour – Kessmouth Gazette",
            None,
            "Kessmouth Gazette",
            "Storm closes harbour",
        ),
        (
            "Kessmouth Gazette: Storm closes harbour",
            None,
            "Kessmouth Gazette",
            "Storm closes harbour",
        ),
        # a part that is not the site's name stays, and so does any part of an unknown site
        (
            "Brexit: what next for fishing",
            None,
            "Kessmouth Gazette",
            "Brexit: what next for fishing",
        ),
        ("Storm closes harbour | Gazette", None, None, "Storm closes harbour | Gazette"),
        ("Kessmouth Gazette", "Kessmouth Gazette", "Kessmouth Gazette", None),
        ("  ", None, None, None),
    ],
)
def test_metadata_title(
    title: str, page: str | None, site: str | None, expected: str | None
) -> None:
    assert _meta(title, page, site) == expected


def test_strip_site_name_takes_only_the_outer_part() -> None:
    frame = pl.DataFrame({"t": ["A | B | Gazette"], "s": ["Gazette"]})
    assert frame.select(strip_site_name(pl.col("t"), pl.col("s"))).item() == "A | B"


def _ingested_titles(inbox: Path) -> dict[str, str | None]:
    result = read_inbox(inbox, S.ingest)
    assert result.quarantine.height == 0, result.quarantine.to_dicts()
    docs, _, _ = normalise_raw(result.docs)
    return dict(zip(docs["source_uri"], docs["title"], strict=True))


def test_html_and_json_titles_lose_the_site_name(tmp_path: Path) -> None:
    body = f"<article><p>{STORY} {STORY}</p></article>"
    site = '<meta property="og:site_name" content="Kessmouth Gazette">'
    pages = {
        # no og:title and no <h1>: trafilatura takes the <title> part without a dot, the site
        "dotted.html": f"<title>U.S. troops land in Kessmouth | Kessmouth Gazette</title>{site}",
        "og.html": '<title>Troops land | Kessmouth Gazette</title><meta property="og:title" '
        f'content="Troops land at Kessmouth docks">{site}',
    }
    for name, head in pages.items():
        (tmp_path / name).write_text(f"<html><head>{head}</head><body>{body}</body></html>")
    record = {"text": STORY, "title": "Storm closes harbour — Kessmouth Gazette"}
    record["source"] = "Kessmouth Gazette"
    (tmp_path / "feed.jsonl").write_text(json.dumps(record) + "\n")
    assert _ingested_titles(tmp_path) == {
        "dotted.html": "U.S. troops land in Kessmouth",
        "og.html": "Troops land at Kessmouth docks",
        "feed.jsonl#1": "Storm closes harbour",
    }


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["d1", "d2", "d3"]),
            st.sampled_from(
                ["✕ Close", "Menu", "Storm closes the harbour", "x", "Home › News", ""]
            ),
            st.booleans(),
        ),
        max_size=30,
    ),
    st.lists(st.integers(1, 4), max_size=3, unique=True).map(sorted),
)
def test_titles_judged_first_lines_first_are_those_of_all_lines(
    rows: list[tuple[str, str, bool]], rounds: list[int]
) -> None:
    from flows.core import titles

    frame = pl.DataFrame(
        {
            "doc_id": [d for d, _, _ in rows],
            "passage": list(range(len(rows))),
            "line": [i // 2 for i in range(len(rows))],  # two passages a line
            "text": [t for _, t, _ in rows],
            "is_boilerplate": [b for _, _, b in rows],
        },
        schema={
            "doc_id": pl.String,
            "passage": pl.Int64,
            "line": pl.Int64,
            "text": pl.String,
            "is_boilerplate": pl.Boolean,
        },
    )
    everything = (
        titles._first_title_line(frame.lazy().filter(~pl.col("is_boilerplate")))
        .collect()
        .sort("doc_id")
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(titles, "TITLE_LINE_ROUNDS", tuple(rounds))
        got = first_title_lines(frame.lazy()).collect()
    assert got.equals(everything)


HINTS = st.sampled_from(
    [None, "", " ", "Storm closes harbour", "Storm closes harbour | Kessmouth Gazette",
     "Kessmouth Gazette", "Kessmouth Gazette: Storm", "!!!", "Home › World"]
)  # fmt: skip


@settings(deadline=None)  # polars' first string kernels of a process can take 0.5 s
@given(st.lists(st.tuples(HINTS, HINTS, HINTS), min_size=0, max_size=8))
def test_document_titles_are_the_title_expression_of_every_row(
    rows: list[tuple[str | None, str | None, str | None]],
) -> None:
    # rows without a title hint or page title are null without being looked at
    frame = pl.DataFrame(
        rows,
        schema={"title_hint": pl.String, "page_title": pl.String, "source": pl.String},
        orient="row",
    )
    expected = frame.select(title=document_title(frame.columns))["title"]
    assert document_titles(frame).to_list() == expected.to_list()
    alone = frame.select("title_hint")  # a frame without page titles or sites
    assert (
        document_titles(alone).to_list()
        == alone.select(title=document_title(alone.columns))["title"].to_list()
    )
