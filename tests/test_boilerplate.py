"""Passage-level boilerplate on hand-made documents."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import polars as pl

from flows.core.boilerplate import (
    PASSAGE_INDEX,
    PASSAGE_KEY_COLUMNS,
    BoilerplateHistory,
    BoilerplateResult,
    BoilerplateStats,
    band_column,
    boilerplate_stage,
    bucket_rows,
    find_boilerplate,
    frame_lookup,
    min_shared_bands,
    passage_banding,
    passage_buckets,
    passage_index_chunks,
    passage_index_rows,
    passage_keys_schema,
    passage_signatures,
    remove_boilerplate,
)
from flows.core.passages import split_passages
from flows.core.schema import QUARANTINE
from flows.core.settings import BoilerplateConfig, MinHashConfig

MH = MinHashConfig()
BP = BoilerplateConfig()
APPEAL = [
    "Support independent reporting from the river towns and the capital.",
    "Our reporters stay long after the cameras leave, and your gift keeps them there.",
    "Give once or monthly: every contribution helps us stay free to read.",
]
STORIES = [
    "Floodwater reached the market square in Lessar on Sunday, forcing 300 families from their homes. "
    "Volunteers stacked sandbags along the embankment through the night.",
    "The rail line between Hallin and the coast will stay shut until April, the operator said. "
    "Engineers found cracks in two bridge piers during an inspection last week.",
    "Ostrel's election commission confirmed turnout of more than 60 per cent in the capital. "
    "Queues formed outside polling stations before dawn in several districts.",
    "Dockworkers in Kessmouth voted to end their strike after the port authority dropped its plan "
    "for automated cranes at two terminals.",
]


TITLES = ["Flood reaches Lessar", "Coast rail line shut", "Ostrel turnout high", "Dock strike ends"]


def _filler(seed: int, words: int = 40) -> str:
    """Return a distinct pseudo-story (its own vocabulary mix), recurring nowhere else."""
    import random

    rng = random.Random(seed)
    vocab = [
        "river",
        "town",
        "council",
        "bridge",
        "market",
        "harbour",
        "school",
        "vote",
        "road",
        "night",
        "crowd",
        "mayor",
    ]
    return " ".join(rng.choice(vocab) + str(rng.randint(0, 99)) for _ in range(words)) + "."


def _docs(texts: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "doc_id": [f"d{i}" for i in range(len(texts))],
            "text": texts,
            "title_hint": [None] * len(texts),
        },
        schema_overrides={"title_hint": pl.String},
    )


def test_passages_spans_match_text() -> None:
    text = "Title\n\nMr. Smith said 10,000 troops. “It is bad,” he said.\nSecond line here."
    p = split_passages(_docs([text]))
    assert all(text[s:e] == t for s, e, t in p.select("start", "end", "text").iter_rows())
    assert p["line"].to_list()[0] == 0


def test_shared_kit_is_removed_and_stories_survive() -> None:
    texts = [
        f"{TITLES[i]}\n" + "\n".join(APPEAL) + "\n\n" + story for i, story in enumerate(STORIES)
    ]
    out, table = remove_boilerplate(_docs(texts), MH, BP)
    for clean, story in zip(out["clean_text"], STORIES, strict=True):
        assert story in clean
        assert not any(a in clean for a in APPEAL)
    assert (table["support"] >= BP.min_support).all()
    assert out["title"].to_list() == TITLES
    assert ((out["boilerplate_ratio"] > 0.2) & (out["boilerplate_ratio"] < 0.8)).all()


def test_varied_kit_joined_or_split_is_still_removed() -> None:
    joined = " ".join(APPEAL)
    variants = [
        "\n".join(APPEAL),
        joined,
        joined.replace("every contribution", "each contribution"),
        "\n".join(APPEAL[:2]) + "\n" + APPEAL[2].replace("monthly", "every month"),
    ]
    texts = [f"{v}\n\n{s}" for v, s in zip(variants, STORIES, strict=True)]
    out, _ = remove_boilerplate(_docs(texts), MH, BP)
    for clean, story in zip(out["clean_text"], STORIES, strict=True):
        assert clean.strip() == story


def test_syndicated_story_is_not_boilerplate() -> None:
    # the same story in three outlets, each with its own kit that recurs on its other pages
    kits = [
        ["Courier kit line one about donations to the Courier newsroom today."],
        ["Post kit: leave a comment below, enter your name and email address here."],
        ["Gazette kit: Home | World | Politics | Business | Sport | Weather today."],
    ]
    story = STORIES[0]
    texts = []
    for k, kit in enumerate(kits):
        texts.append(kit[0] + "\n\n" + story)
        for j in (1, 2, 3):
            texts.append(kit[0] + "\n\n" + _filler(10 * k + j))
    out, _ = remove_boilerplate(_docs(texts), MH, BP)
    for i in (0, 4, 8):
        assert story in out["clean_text"][i]
        assert "kit" not in out["clean_text"][i]


def test_below_min_support_is_kept() -> None:
    texts = [APPEAL[0] + "\n\n" + s for s in STORIES[:2]]
    out, table = remove_boilerplate(_docs(texts), MH, BP)
    assert table.height == 0
    assert all(APPEAL[0] in c for c in out["clean_text"])


def test_one_wire_story_on_single_pages_of_three_outlets_is_kept() -> None:
    # no outlet has other pages, so each one's furniture does not recur: the story recurs
    # three times but in one story, and must not be taken for boilerplate
    story = STORIES[0] + " " + STORIES[1]
    texts = [
        f"Courier front page: news from the river towns, every morning.\n\n{story}\n\n"
        "Share this article with a friend today, or print it for later.",
        f"Post | Home | World | Business | Sport | Weather | Culture | Puzzles\n\n{story}\n\n"
        "Comments are closed for this story after seven days.",
        f"{story}\n\nCopyright the Gazette, all rights reserved worldwide; reuse needs a licence.",
    ]
    out, table = remove_boilerplate(_docs(texts), MH, BP)
    assert table.height == 0
    assert all(story in clean for clean in out["clean_text"])
    # counting documents instead of stories would have taken the story for boilerplate
    per_doc = dataclasses.replace(BP, same_story_threshold=1.0)
    wiped, _ = remove_boilerplate(_docs(texts), MH, per_doc)
    assert not any(story in clean for clean in wiped["clean_text"])


def test_boilerplate_known_from_earlier_runs_is_removed_from_a_lone_page() -> None:
    from flows.io.index import boilerplate_rows

    texts = [
        f"{TITLES[i]}\n" + "\n".join(APPEAL) + "\n\n" + story for i, story in enumerate(STORIES)
    ]
    _, first = remove_boilerplate(_docs(texts), MH, BP)
    known = boilerplate_rows(first, MH)
    assert known.height == len(APPEAL)
    # a later run holds one page of the outlet, its appeal slightly varied
    lone = (
        "\n".join(APPEAL).replace("every contribution", "each contribution") + "\n\n" + _filler(99)
    )
    alone, _ = remove_boilerplate(_docs([lone]), MH, BP)
    assert APPEAL[0] in alone["clean_text"][0]  # one page cannot show recurrence by itself
    out, table = remove_boilerplate(_docs([lone]), MH, BP, known)
    assert out["clean_text"][0] == _filler(99)  # the varied appeal line went too
    assert table["known_support"].is_not_null().all() and (table["support"] >= BP.min_support).all()
    assert boilerplate_rows(table, MH).height == 0  # nothing new to add to the index


def test_new_boilerplate_variants_are_the_most_supported_row_of_each_text() -> None:
    from flows.io.index import boilerplate_rows

    texts = [f"{TITLES[i]}\n" + "\n".join(APPEAL) + "\n\n" + s for i, s in enumerate(STORIES)]
    _, table = remove_boilerplate(_docs(texts), MH, BP)
    table = pl.concat([table, table]).with_columns(
        support=pl.int_range(pl.len()) % 5,
        known_support=pl.when(pl.int_range(pl.len()) % 3 == 0).then(4),
        signal=pl.when(pl.int_range(pl.len()) % 4 == 0)
        .then(pl.lit("classifier"))
        .otherwise(pl.lit("recurrence")),
    )
    recurring = pl.col("signal") == "recurrence"
    for where, rows in ((None, table), (recurring, table.filter(recurring))):
        # as the whole frame filtered, sorted and made unique gives them
        expected = (
            rows.filter(pl.col("known_support").is_null())
            .sort("support", descending=True, maintain_order=True)
            .unique("text", keep="first", maintain_order=True)
            .select("text", "support")
        )
        got = boilerplate_rows(table, MH, where)
        assert got.height and got.drop("signature").equals(expected)
        # the same rows from a scan (the flow sets the passages aside on disk)
        assert boilerplate_rows(table.lazy(), MH, where).equals(got)
        # each variant signed as the stage signs passages
        signed = passage_signatures(expected["text"], MH)
        assert np.array_equal(got["signature"].to_numpy(), signed)


def test_a_quote_shared_by_several_reports_is_kept_while_their_kit_goes() -> None:
    quote = "“We will not give up a single metre of the valley,” the governor told reporters."
    texts = []
    for i in range(4):
        body = [_filler(200 + 10 * i + j, words=25) for j in range(4)]
        body.insert(2, quote)  # mid-page, between different paragraphs in every report
        texts.append("\n".join(APPEAL) + "\n\n" + "\n\n".join(body))
    out, table = remove_boilerplate(_docs(texts), MH, BP)
    assert all(quote in clean for clean in out["clean_text"])
    assert not any(a in clean for clean in out["clean_text"] for a in APPEAL)
    assert quote not in table["text"].to_list()
    # without the exemption (it applies up to quote_max_support documents) the quote would go
    strict = dataclasses.replace(BP, quote_max_support=2)
    wiped, _ = remove_boilerplate(_docs(texts), MH, strict)
    assert not any(quote in clean for clean in wiped["clean_text"])


def test_a_recurring_blurb_at_the_page_edge_is_not_taken_for_a_quote() -> None:
    blurb = "“Read our coverage of the valley, every day,” the editor wrote to our readers."
    texts = [f"{_filler(300 + i)}\n\n{_filler(400 + i)}\n\n{blurb}" for i in range(4)]
    out, _ = remove_boilerplate(_docs(texts), MH, BP)
    assert not any(blurb in clean for clean in out["clean_text"])


# Support across runs: each "run" below is the stage with the passage index of the earlier ones
# looked up in memory (the flow looks it up on disk: flows/io/index.snapshot_history), then adds
# its own rows.


def _runs(
    pages: list[list[str]], clusters: list[list[str]] | None = None
) -> list[tuple[pl.DataFrame, pl.DataFrame]]:
    """Process each list of pages as one run against the index of the runs before it."""
    index = pl.DataFrame(schema=passage_keys_schema(passage_banding(MH, BP).bands))
    results = []
    for r, texts in enumerate(pages):
        docs = _docs(texts).with_columns(doc_id=pl.format("run{}-{}", pl.lit(r), "doc_id"))
        docs = docs.with_columns(source_uri="doc_id")
        history = BoilerplateHistory(frame_lookup(index, BP.history_bucket_cap))
        result = boilerplate_stage(docs, MH, BP, history)
        assert result.quarantine.height == 0  # every page keeps its story
        cluster = docs["doc_id"] if clusters is None else pl.Series(clusters[r])
        published = result.documents.with_columns(cluster_id=cluster)
        index = pl.concat([index, passage_index_rows(result.passages, published, MH, BP)])
        results.append((result.documents, result.passages))
    return results


def test_the_passage_index_is_built_a_chunk_of_passages_at_a_time() -> None:
    kit = "\n\n".join(APPEAL)
    docs = _docs([_page(kit, r) for r in range(4)])
    out, passages = find_boilerplate(docs, MH, BP)
    published = out.filter(pl.col("doc_id") != "d2").with_columns(cluster_id=pl.lit("s"))
    banding = passage_banding(MH, BP)
    whole = passage_index_rows(passages, published, MH, BP)
    # one row per passage of the published documents, in passage order, its band hashes in
    # columns: those `passage_buckets` makes of its signature
    kept = passages.filter(pl.col("doc_id") != "d2")
    keys = passage_buckets(passage_signatures(kept["text"], MH), banding)
    schema = passage_keys_schema(banding.bands)
    assert whole.schema == schema and whole.height == kept.height
    by_band = keys.pivot(on="band", index="id", values="band_hash").sort("id")
    for band in range(banding.bands):
        assert whole[band_column(band)].to_list() == by_band[str(band)].to_list()
    assert whole.select("doc_id", "passage", "figures").equals(
        kept.select("doc_id", "passage", "figures")
    )
    for size in (1, 2, 5, kept.height, kept.height + 1):
        chunks = list(passage_index_chunks(passages, published, MH, BP, size=size))
        assert [c.height for c in chunks[:-1]] == [size] * (len(chunks) - 1)
        assert pl.concat(chunks).equals(whole)
    # the same rows from a scan (the flow sets the passages aside on disk)
    assert pl.concat(passage_index_chunks(passages.lazy(), published, MH, BP)).equals(whole)
    # no rows, no chunks
    assert list(passage_index_chunks(passages.clear(), published, MH, BP)) == []
    # whatever columns an empty frame has (bench/minhash_speed.py's history has few)
    few = pl.DataFrame(schema={"text": pl.String, "support": pl.Int64})
    assert list(passage_index_chunks(few, published, MH, BP)) == []
    assert list(passage_index_chunks(few.lazy(), published, MH, BP)) == []
    assert list(passage_index_chunks(passages, published.clear(), MH, BP)) == []
    assert passage_index_rows(passages, published.clear(), MH, BP).schema == schema


def _per_band(index: pl.DataFrame, bands: int) -> pl.DataFrame:
    """Return a stored passage index as a row per (passage, band), as a lookup answers."""
    return pl.concat(
        [
            index.select(
                *PASSAGE_KEY_COLUMNS, band=pl.lit(b, pl.UInt16), band_hash=band_column(b)
            ).select(list(PASSAGE_INDEX))
            for b in range(bands)
        ]
    )


def test_bucket_rows_answer_as_a_join_on_every_band() -> None:
    kit = "\n\n".join(APPEAL)
    docs = _docs([_page(kit, r) for r in range(4)])
    out, passages = find_boilerplate(docs, MH, BP)
    index = passage_index_rows(passages, out.with_columns(cluster_id="doc_id"), MH, BP)
    bands = passage_banding(MH, BP).bands
    rows = _per_band(index, bands)
    order = ["doc_id", "passage", "band"]
    for keys in (
        rows.select("band", "band_hash"),  # every bucket
        rows.filter(pl.col("passage") == 0).select("band", "band_hash"),  # the kit's first line
        rows.filter(pl.col("band") == 3).head(2).select("band", "band_hash"),  # one band
        pl.DataFrame(
            {"band": [0, 1], "band_hash": [1, 2]},
            schema={"band": pl.UInt16, "band_hash": pl.UInt64},
        ),  # nothing
    ):
        got = bucket_rows(index.lazy(), keys, bands).collect()
        want = rows.join(keys.unique(), on=["band", "band_hash"], how="semi")
        assert got.schema == PASSAGE_INDEX
        assert got.sort(order).equals(want.sort(order))
    # a band among the keys that the index does not have finds nothing in it
    wrong = pl.DataFrame({"band": [bands]}, schema={"band": pl.UInt16}).with_columns(
        band_hash=pl.lit(index[band_column(0)][0], pl.UInt64)
    )
    assert bucket_rows(index.lazy(), wrong, bands).collect().height == 0


def test_enough_shared_bands_estimate_the_threshold() -> None:
    banding = passage_banding(MH, BP)
    n = min_shared_bands(banding, BP.passage_threshold)
    assert (n / banding.bands) ** (1 / banding.rows) >= BP.passage_threshold
    assert ((n - 1) / banding.bands) ** (1 / banding.rows) < BP.passage_threshold


def _page(kit: str, r: int) -> str:
    """An outlet's page: its kit above a story longer than the kit."""
    return f"{kit}\n\n{STORIES[r]}\n\n{_filler(500 + r, words=120)}"


def test_a_kit_seen_on_one_page_per_run_is_removed_by_the_third_run() -> None:
    kit = "\n".join(APPEAL)
    runs = _runs([[_page(kit, r)] for r in range(3)])
    for r, (out, _) in enumerate(runs):
        clean = out["clean_text"][0]
        assert STORIES[r] in clean
        removed = not any(a in clean for a in APPEAL)
        assert removed == (r == 2), r  # 1, then 2 pages: too few to tell; the third shows it
    found = runs[2][1].filter(pl.col("is_boilerplate"))
    assert found.height == len(APPEAL) and (found["support"] == 3).all()
    # the same pages in one run give the same clean text for the last page
    alone, _ = find_boilerplate(_docs([_page(kit, r) for r in range(3)]), MH, BP)
    assert alone["clean_text"][2] == runs[2][0]["clean_text"][0]


def test_a_varied_kit_across_runs_is_still_found() -> None:
    joined = " ".join(APPEAL)
    variants = [
        "\n".join(APPEAL),
        joined,
        joined.replace("every contribution", "each contribution"),
    ]
    runs = _runs([[_page(v, r)] for r, v in enumerate(variants)])
    assert runs[2][0]["clean_text"][0].strip() == _page("", 2).strip()


def test_a_story_copied_in_later_runs_is_not_boilerplate_even_when_dedup_missed_it() -> None:
    # One story on single pages of three outlets, a run apart; the outlets' furniture does not
    # recur. Dedup would cluster the copies (same story id); even when it did not (three
    # clusters), the later copies share most of their text with the earlier page: one story.
    story = STORIES[0] + " " + STORIES[1]
    pages = [
        [f"Courier front page: news from the river towns, every morning.\n\n{story}"],
        [f"Post | Home | World | Business | Sport | Weather | Culture | Puzzles\n\n{story}"],
        [
            f"{story}\n\nCopyright the Gazette, all rights reserved worldwide; reuse needs a licence."
        ],
    ]
    for clusters in (None, [["a"], ["a"], ["a"]]):
        runs = _runs(pages, clusters)
        assert story in runs[2][0]["clean_text"][0]
        assert not runs[2][1]["is_boilerplate"].any()


def test_a_brief_sharing_its_kit_with_its_outlet_pages_is_not_their_story() -> None:
    # a brief is mostly kit: it shares more than half of itself with each page of its outlet,
    # but not a good part of those longer pages, so they still count as stories of their own
    kit = "\n".join(APPEAL)
    pages = [[_page(kit, 0)], [_page(kit, 1)], [f"{kit}\n\n{STORIES[3]}"]]
    runs = _runs(pages)
    assert runs[2][0]["clean_text"][0] == STORIES[3]


def test_a_kit_shared_with_copies_of_one_story_counts_that_story_once() -> None:
    # an outlet's kit on three pages of one story in three runs is not enough: one story
    kit = "\n".join(APPEAL)
    story = STORIES[0] + " " + STORIES[1]
    runs = _runs([[f"{kit}\n\n{story}"]] * 3, [["a"], ["b"], ["c"]])
    assert all(a in runs[2][0]["clean_text"][0] for a in APPEAL)


# A notice of one template published daily with new figures: the notice is each page's story.
NOTICE = (
    "Treasury balances at the Meridian reserve rose on April {day} to {a} billion crowns from "
    "{b} billion crowns on the previous business day, the finance ministry said."
)
FIGURES = [
    (6, "4.262", "3.876"),
    (7, "4.950", "4.262"),
    (8, "3.120", "4.950"),
    (9, "3.877", "3.120"),
]
KIT = "Subscribe to the Meridian Ledger for all our market notices"


def _notices() -> list[str]:
    """Each day's notice, a paragraph of that day's own and the outlet's kit."""
    return [
        f"{NOTICE.format(day=d, a=a, b=b)}\n\n{_filler(700 + k)}\n\n{KIT}"
        for k, (d, a, b) in enumerate(FIGURES)
    ]


def test_daily_notices_of_one_template_keep_their_text_and_lose_their_kit() -> None:
    out, table = remove_boilerplate(_docs(_notices()), MH, BP)
    assert set(table["text"]) == {KIT}
    for (d, a, b), clean in zip(FIGURES, out["clean_text"], strict=True):
        assert NOTICE.format(day=d, a=a, b=b) in clean
    # without the figures rule the notices are taken for a kit
    blind = dataclasses.replace(BP, figures_min_chars=0)
    out, table = remove_boilerplate(_docs(_notices()), MH, blind)
    assert len(set(table["text"])) == len(FIGURES) + 1


def test_daily_notices_over_runs_keep_their_text() -> None:
    # one notice a run: support comes from the passage index, which keeps passages' figures
    results = _runs([[page] for page in _notices()])
    for (d, a, b), (out, _) in zip(FIGURES, results, strict=True):
        assert NOTICE.format(day=d, a=a, b=b) in out["clean_text"][0]
    assert KIT not in results[-1][0]["clean_text"][0]


# The stage as the flow calls it: documents of the flow's shape (repeated doc_ids, source_uri),
# a history passed in, the quarantine and the figures in the result.


def _flow_docs(texts: list[str], prefix: str = "") -> pl.DataFrame:
    """Documents as the flow hands them to the stage: with `source_uri` and a metadata title."""
    return _docs(texts).with_columns(
        doc_id=pl.format("{}{}", pl.lit(prefix), "doc_id"),
        source_uri=pl.format("{}{}.txt", pl.lit(prefix), "doc_id"),
        title=pl.lit(None, pl.String),
    )


def _stats_of(result: BoilerplateResult) -> BoilerplateStats:
    """Count the stage's figures from its frames, as the summary reads them."""
    found = result.passages.filter(pl.col("is_boilerplate"))
    return BoilerplateStats(
        boilerplate_passages=found.height,
        known_boilerplate_matches=found["known_support"].is_not_null().sum(),
        classifier_passages=(found["signal"] == "classifier").sum(),
        history_passage_rows=result.stats.history_passage_rows,
    )


def test_the_stage_cleans_each_row_and_quarantines_documents_left_empty() -> None:
    kit = "\n".join(APPEAL)
    texts = [f"{kit}\n\n{STORIES[r]}\n\n{_filler(700 + r)}" for r in range(3)] + [kit]
    docs = _flow_docs(texts)
    docs = pl.concat([docs, docs.head(1).with_columns(source_uri=pl.lit("again.txt"))])
    result = boilerplate_stage(docs, MH, BP)
    # the kit-only page is quarantined; a repeated doc_id is cleaned once and kept twice
    assert result.documents["source_uri"].to_list() == ["d0.txt", "d1.txt", "d2.txt", "again.txt"]
    assert result.documents["clean_text"][0] == result.documents["clean_text"][3]
    assert all(STORIES[r] in result.documents["clean_text"][r] for r in range(3))
    assert not any(a in c for a in APPEAL for c in result.documents["clean_text"])
    assert result.documents.columns.count("title") == 1
    assert result.documents["title"].null_count() == 0  # the first line that is not kit
    q = result.quarantine
    assert q.schema == QUARANTINE and q["source_uri"].to_list() == ["d3.txt"]
    assert q.row(0, named=True) | {"record": None} == {
        "source_uri": "d3.txt",
        "stage": "boilerplate",
        "reason": "empty_after_cleaning",
        "detail": f"all {len(kit)} characters were boilerplate",
        "record": None,
        "run_id": None,
    }
    assert json.loads(q["record"][0])["doc_id"] == "d3"  # the row as it was dropped
    # every passage of the distinct documents, once
    assert result.passages["doc_id"].unique().sort().to_list() == ["d0", "d1", "d2", "d3"]
    assert result.stats == _stats_of(result)
    assert result.stats.boilerplate_passages == 4 * len(APPEAL)
    assert result.stats.history_passage_rows == 0  # no history by default
    assert list(result.stats.notes()) == [
        "boilerplate_passages",
        "known_boilerplate_matches",
        "classifier_passages",
        "history_passage_rows",
    ]


def test_the_stage_gives_the_same_clean_text_as_find_boilerplate() -> None:
    kit = "\n".join(APPEAL)
    docs = _flow_docs([_page(kit, r) for r in range(4)])
    out, passages = find_boilerplate(docs, MH, BP)
    result = boilerplate_stage(docs, MH, BP)
    columns = ["doc_id", "clean_text", "boilerplate_ratio", "is_boilerplate_heavy", "title"]
    assert result.documents.select(columns).equals(out.select(columns))
    # the stage keeps the texts of removed passages only: a kept one is its document's slice
    assert result.passages.equals(
        passages.with_columns(text=pl.when(pl.col("is_boilerplate")).then(pl.col("text")))
    )
    assert result.passages["text"].null_count() == (~passages["is_boilerplate"]).sum() > 0


def test_a_history_lookup_counts_its_passages_towards_support() -> None:
    kit = "\n".join(APPEAL)
    earlier = boilerplate_stage(_flow_docs([_page(kit, 0)], "run0-"), MH, BP)
    published = earlier.documents.with_columns(cluster_id="doc_id")
    index = passage_index_rows(earlier.passages, published, MH, BP)
    asked: list[pl.DataFrame] = []

    def lookup(keys: pl.DataFrame) -> pl.DataFrame:
        asked.append(keys)
        return frame_lookup(index, BP.history_bucket_cap)(keys)

    docs = _flow_docs([_page(kit, r) for r in (1, 2)], "run1-")
    alone = boilerplate_stage(docs, MH, BP)
    assert alone.stats.boilerplate_passages == 0  # two pages show no recurrence
    assert all(APPEAL[0] in c for c in alone.documents["clean_text"])
    result = boilerplate_stage(docs, MH, BP, BoilerplateHistory(lookup))
    # the stage asks once, with its passages' bucket keys (once per distinct text: the two
    # pages repeat the kit), and counts what it got
    banding = passage_banding(MH, BP)
    (keys,) = asked
    bucket = ["band", "band_hash"]
    _, passages = find_boilerplate(docs, MH, BP)  # the same passages, texts and all
    every = passage_buckets(passage_signatures(passages["text"], MH), banding)
    assert (
        keys.select(bucket).unique().sort(bucket).equals(every.select(bucket).unique().sort(bucket))
    )
    assert keys.height == passages["text"].n_unique() * banding.bands < every.height
    looked_up = lookup(keys)
    assert looked_up.height > 0 and result.stats.history_passage_rows == looked_up.height
    found = result.passages.filter(pl.col("is_boilerplate"))
    assert sorted(found["text"].to_list()) == sorted(APPEAL * 2)
    assert (found["support"] == 3).all()  # two pages of this run, one of the earlier run
    assert found["signal"].eq("recurrence").all()
    assert result.stats == _stats_of(result)
    for r, clean in zip((1, 2), result.documents["clean_text"], strict=True):
        assert STORIES[r] in clean and not any(a in clean for a in APPEAL)
    # an index with nothing of these pages answers as no index at all (a first run, which
    # looks nothing up)
    empty = BoilerplateHistory(frame_lookup(index.clear(), BP.history_bucket_cap))
    nothing = boilerplate_stage(docs, MH, BP, empty)
    assert nothing.documents.equals(alone.documents) and nothing.passages.equals(alone.passages)
    assert nothing.stats == alone.stats


def test_known_variants_of_the_history_are_counted_as_matches() -> None:
    from flows.io.index import boilerplate_rows

    kit = "\n".join(APPEAL)
    first = boilerplate_stage(_flow_docs([_page(kit, r) for r in range(3)]), MH, BP)
    known = boilerplate_rows(first.passages.filter(pl.col("is_boilerplate")), MH)
    lone = _flow_docs([_page(kit, 3)], "later-")
    result = boilerplate_stage(lone, MH, BP, BoilerplateHistory(known=known))
    assert result.stats.known_boilerplate_matches == len(APPEAL)
    assert result.stats == _stats_of(result)
    assert not any(a in result.documents["clean_text"][0] for a in APPEAL)


def test_the_classifier_s_removals_are_counted_apart() -> None:
    from flows.io.page_model import page_model_for

    model = page_model_for(BP)
    assert model is not None
    page = (
        f"{STORIES[0]}\n\n{_filler(5, words=120)}\n\nShare this article\n"
        "Leave a comment\nCopyright 2024 The Kessmouth Gazette. All rights reserved."
    )
    result = boilerplate_stage(_flow_docs([page]), MH, BP, page_model=model)
    assert result.stats.classifier_passages > 0
    assert result.stats == _stats_of(result)
