"""The classifier's composed training pages (`bench/page_corpus.py`), on made-up lines."""

from __future__ import annotations

import polars as pl

from bench.page_corpus import SPLICED, spliced_pages

STORY = [f"Paragraph {i} of the story, with enough words to read as one." for i in range(6)]
KIT = ["Home", "World", "Share this", "Leave a reply", "Newsletter", "About us"]


def _lines() -> pl.DataFrame:
    rows = []
    for variant, texts, labels in (
        ("main", ["A headline", *STORY], [1] + [0] * len(STORY)),
        ("visible", [*KIT[:3], "A headline", *STORY, *KIT[3:]], [1] * 4 + [0] * 6 + [1] * 3),
    ):
        for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
            rows.append((0, f"{variant}|p1", i, text, label, len(text), variant, "g:1", "p1"))
    schema = {
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
    return pl.DataFrame(rows, schema=schema, orient="row")


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
