"""The classifier's composed training pages (`bench/page_corpus.py`), on made-up lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from bench.page_corpus import (
    GOLD_CORPORA,
    HELD_OUT,
    SPLICED,
    TRAFILATURA_PREFIX,
    UNLABELLED,
    GoldCorpus,
    _html_domain,
    _page_domain,
    cross_site_labels,
    label_snippets,
    seed_line_keys,
    site_stem,
    spliced_pages,
    without_seed_lines,
)
from bench.train_page_boilerplate import char_scores

STORY = [f"Paragraph {i} of the story, with enough words to read as one." for i in range(6)]
KIT = ["Home", "World", "Share this", "Leave a reply", "Newsletter", "About us"]
LINES_SCHEMA = {
    "row": pl.Int64,
    "doc_id": pl.String,
    "line": pl.Int64,
    "text": pl.String,
    "label": pl.Int8,
    "chars": pl.UInt32,
    "variant": pl.String,
    "group": pl.String,
    "uri": pl.String,
}


def _lines() -> pl.DataFrame:
    rows = []
    for variant, texts, labels in (
        ("main", ["A headline", *STORY], [1] + [0] * len(STORY)),
        ("visible", [*KIT[:3], "A headline", *STORY, *KIT[3:]], [1] * 4 + [0] * 6 + [1] * 3),
    ):
        for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
            rows.append((0, f"{variant}|p1", i, text, label, len(text), variant, "g:1", "p1"))
    return pl.DataFrame(rows, schema=LINES_SCHEMA, orient="row")


def test_spliced_pages_keep_the_main_text_in_order_and_add_only_labelled_kit() -> None:
    lines = _lines()
    out = spliced_pages(lines, copies=3)
    assert out.schema == lines.schema
    assert set(out["variant"]) == {SPLICED} and set(out["group"]) == {"g:1"}
    assert out["doc_id"].n_unique() == 3
    for (_,), page in out.partition_by("doc_id", as_dict=True).items():
        texts = page["text"].to_list()
        # every main line once, in order; everything else is the page's own visible kit
        assert [t for t in texts if t in STORY or t == "A headline"] == ["A headline", *STORY]
        added = page.filter(~pl.col("text").is_in([*STORY, "A headline"]))
        assert added.height > 0
        assert set(added["text"]) <= set(KIT) and (added["label"] == 1).all()
        assert page["line"].to_list() == list(range(page.height))
    # deterministic
    assert spliced_pages(lines, copies=3).equals(out)


def test_snippets_label_the_lines_that_hold_them_and_leave_the_rest_out() -> None:
    lines = [
        "Leave a Comment",
        "The harbour reopened on Monday after the storm.",
        "Comments are closed, and the harbour reopened.",
        "A caption nobody labelled",
        "leave a comment",
        "Type your name here",
        "Name:",
    ]
    drop = ["Leave a Comment", "Comments", "Name: Type your name here Email:"]
    labels = label_snippets(lines, keep=["harbour reopened"], drop=drop)
    # as trafilatura's evaluation reads a snippet: a substring, case and all; a line a snippet
    # holds whole, unless it is too short to tell; both or neither snippet kind: out of the loss
    assert labels == [1, 0, UNLABELLED, UNLABELLED, UNLABELLED, 1, UNLABELLED]


def test_trafilatura_pages_are_grouped_by_site_and_never_held_out() -> None:
    assert site_stem("news.bbc.co.uk") == site_stem("www.bbc.com") == "bbc"
    assert site_stem("www.latimes.com") == "latimes"
    assert _page_domain("https://web.archive.org/web/2016/http://www.example.org/a", "x") == (
        "example.org"
    )
    assert _page_domain("hard::example.net-story.html", "example.net-story.html") == ("example.net")
    assert not any(g.startswith(TRAFILATURA_PREFIX) for g in HELD_OUT)


def test_unlabelled_lines_count_in_no_score_and_are_never_spliced_in() -> None:
    lines = _lines().with_columns(
        label=pl.when(pl.col("text") == "World").then(UNLABELLED).otherwise("label").cast(pl.Int8)
    )
    out = spliced_pages(lines, copies=3)
    assert "World" not in set(out["text"])
    removed = (lines["text"] == "World").to_numpy()
    assert char_scores(lines, removed) == (0.0, 0.0, 0.0)
    everything = char_scores(lines, np.ones(lines.height, dtype=bool))
    bp = lines.filter(pl.col("label") == 1)["chars"].sum()
    assert everything[0] == bp / lines.filter(pl.col("label") >= 0)["chars"].sum()


def _site_page(uri: str, visible: list[str], main: list[str]) -> list[tuple]:
    rows = []
    for variant, texts in (("visible", visible), ("main", main)):
        for i, text in enumerate(texts):
            doc = f"{variant}|{uri}"
            rows.append((0, doc, i, text, UNLABELLED, len(text), variant, "tr:0", uri))
    return rows


def test_a_short_line_recurring_on_enough_sites_outside_the_main_text_is_boilerplate() -> None:
    prompt = "Type a display name for your reply"
    quote = "Officials said 12 ships were waiting"  # in every page's main text, digits vary
    long_line = " ".join(["word"] * 12)  # a template string is short; a story line is not
    pages, sites = [], []
    for k, site in enumerate(["a", "b", "c", "a"]):
        uri = f"tr/{site}-{k}.html"
        story = f"Story {k} of site {site}."
        said = quote.replace("12", str(k))
        pages += _site_page(uri, [prompt, long_line, said, story], [said, story])
        sites.append((uri, site))
    lines = pl.DataFrame(pages, schema=LINES_SCHEMA, orient="row")
    sites_frame = pl.DataFrame(sites, schema=["uri", "site"], orient="row")
    labelled = cross_site_labels(lines, sites_frame, min_sites=3)
    assert labelled.columns == lines.columns
    flipped = labelled.filter(pl.col("label") == 1)
    # the prompt, in the visible text of 3 sites (4 pages), and only there
    assert set(flipped["text"]) == {prompt}
    assert flipped.height == 4
    assert set(flipped["variant"]) == {"visible"}
    # with 4 sites asked for, the 3 sites showing it are not enough
    assert (
        cross_site_labels(lines, sites_frame, min_sites=4).filter(pl.col("label") == 1).height == 0
    )
    # a snippet label is kept as it is
    snippet = lines.with_columns(
        label=pl.when(pl.col("text") == prompt).then(pl.lit(0, pl.Int8)).otherwise("label")
    )
    assert cross_site_labels(snippet, sites_frame, min_sites=3)["label"].max() == 0


def test_a_line_equal_to_a_long_seed_line_is_left_out_of_training_but_not_of_held_out() -> None:
    lines = pl.concat(
        [
            _lines(),
            _lines().with_columns(group=pl.lit(HELD_OUT[0])),
        ]
    )
    keys = {"leave a reply", "paragraph 0 of the story, with enough words to read as one."}
    out, counts = without_seed_lines(lines, keys)
    left = out.filter(pl.col("label") == UNLABELLED)
    # case and digits folded (the story's paragraphs differ by a digit only); only the
    # training group's lines; the held-out group is scored as it is
    assert set(left["text"]) == {"Leave a reply", *STORY} and set(left["group"]) == {"g:1"}
    assert out.filter(pl.col("group") == HELD_OUT[0]).equals(
        lines.filter(pl.col("group") == HELD_OUT[0])
    )
    assert counts["lines"].sum() == left.height and "text" not in counts.columns


def test_seed_keys_are_the_seeds_long_lines(tmp_path: Path) -> None:
    (tmp_path / "000_a.txt").write_text(
        "Comments\nPlease type your name in here\n\nThe 3 ferries sailed at dawn today.\n"
    )
    # short headings every site shows stay labelled; digits and case folded
    assert seed_line_keys(tmp_path) == {
        "please type your name in here",
        "the 0 ferries sailed at dawn today.",
    }
    assert seed_line_keys(tmp_path / "absent") == set()


def test_gold_corpora_are_training_groups_only_and_absent_without_their_mirror() -> None:
    assert len({c.prefix for c in GOLD_CORPORA}) == len(GOLD_CORPORA)
    assert not any(g.startswith(c.prefix) for g in HELD_OUT for c in GOLD_CORPORA)
    assert all(len(c.commit) == 40 for c in GOLD_CORPORA)
    missing = GoldCorpus("x", "x:", "nobody+nothing", "0" * 40, notes="")
    assert not missing.present()
    assert missing.cache_name().endswith(f"{'0' * 12}.parquet")


def test_a_pages_domain_is_its_canonical_url_else_the_site_its_links_name_most() -> None:
    head = '<link rel="canonical" href="https://www.harbour-news.example/2012/a-story"/>'
    assert _html_domain(f"<html><head>{head}</head></html>") == "harbour-news.example"
    og = '<meta property="og:url" content="http://blog.example.org/x"/>'
    assert _html_domain(og) == "blog.example.org"
    links = (
        '<a href="http://www.ferries.example/a">a</a><a href="http://ferries.example/b">b</a>'
        '<a href="https://twitter.example/share">t</a>'
    )
    assert _html_domain(links) == "ferries.example"
    assert _html_domain("<p>no links</p>") == ""
