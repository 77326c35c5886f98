"""The single-page boilerplate classifier: hand-made pages, the seeds, the combination rules."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import polars as pl
import pytest

from flows.core.boilerplate import remove_boilerplate
from flows.core.page_boilerplate import (
    bridged,
    classify_lines,
    first_stage_logit,
    line_features,
    line_scores,
    page_lines,
    text_table,
)
from flows.core.settings import BoilerplateConfig, Settings
from flows.io.page_model import load_page_model, page_model_for
from tests.test_seeds import _seed_docs

S = Settings()
assert S.boilerplate.page_classifier  # on by default: these tests judge the default
MODEL = load_page_model()

BODY = [
    "Dockworkers at the port of Halvik walked out on Tuesday after talks over night-shift pay "
    "broke down, leaving more than forty container ships waiting offshore.",
    "The union said the strike would continue until the operator restored the overtime rates "
    "it cut in January, and warned that rail depots could join the action next week.",
    "Officials at the harbour authority said perishable cargo was being moved to a smaller "
    "terminal up the coast, where crews were working double shifts.",
]
DATELINE = "HALVIK, March 4 (Northwind) -"
QUOTE = "“We are not going back until the rates are back,” said union steward Mara Oystein."


def _page(kit_top: list[str], kit_bottom: list[str]) -> pl.DataFrame:
    text = "\n".join([*kit_top, DATELINE, BODY[0], QUOTE, *BODY[1:], *kit_bottom])
    return pl.DataFrame({"doc_id": ["d1"], "text": [text], "title_hint": [None]}).cast(
        {"title_hint": pl.String}
    )


def _removed(page: pl.DataFrame, config: BoilerplateConfig = S.boilerplate) -> pl.DataFrame:
    _, table = remove_boilerplate(page, S.minhash, config, page_model=MODEL)
    return table


KIT_TOP = ["Share on Facebook | Share on Twitter | Email | Print"]
KIT_BOTTOM = [
    "Photo: Reuters",
    "Leave a comment",
    "Please enter your comment!",
    "We use cookies to improve your experience. Accept cookies",
    "© 2025 Northwind Media. All rights reserved.",
]


def test_a_lone_page_keeps_its_story_and_loses_its_copyright_line() -> None:
    table = _removed(_page(KIT_TOP, KIT_BOTTOM))
    removed = set(table["text"])
    assert not removed & {DATELINE, QUOTE, *BODY}
    assert set(table["signal"]) == {"classifier"}
    # the line goes as its two passages (sentences)
    assert {"© 2025 Northwind Media.", "All rights reserved."} <= removed


def test_a_lone_page_loses_its_share_bar_comment_form_cookie_line_and_photo_credit() -> None:
    cleaned, _ = remove_boilerplate(
        _page(KIT_TOP, KIT_BOTTOM), S.minhash, S.boilerplate, page_model=MODEL
    )
    clean = cleaned["clean_text"].item()
    assert [k for k in KIT_TOP + KIT_BOTTOM if k in clean] == []
    assert all(line in clean for line in (DATELINE, QUOTE, *BODY))


def test_the_switch_turns_the_classifier_off() -> None:
    page = _page(KIT_TOP, KIT_BOTTOM)
    off = BoilerplateConfig(page_classifier=False)
    assert _removed(page, off).height == 0
    assert _removed(page).height > 0


def test_lines_are_the_non_empty_lines_with_their_index() -> None:
    docs = pl.DataFrame({"doc_id": ["a"], "text": ["one\n\n  two  \nthree"]})
    lines = page_lines(docs)
    assert lines["line"].to_list() == [0, 2, 3]
    assert lines["text"].to_list() == ["one", "two", "three"]


# The seeds' one-page kit lines, as BLAKE2b-64 digests of the stripped line: the seeds are
# third-party text, so the repository names their lines without quoting them. 002: the
# premium/bookmark prompt and the commenting-forum lines; 004: the comment form (heading,
# comment and name prompts, the reCAPTCHA notice), the subscribe and "more articles" lines.
SEED_KIT = {
    "002": {"0ef414e6491a94e2", "22d2069e469e0281", "6a6f8b704baae979", "20b2c413e7856c10"},
    "004": {
        "bac15484c5a89492",
        "a7a2f912e1ae4355",
        "404aa2808ba723fa",
        "490ef2662b32ff83",
        "f276df047a87beb8",
        "af29c7615431c273",
    },
}


# The outlet's donation appeal, which recurs over four seeds (recurrence's job, not the
# classifier's), likewise as digests of its lines.
SEED_APPEAL = {
    "092c25691b0935b6",
    "660b062ae0b6bd2c",
    "9908920f4b0e2657",
    "a0803ff6dca84050",
    "c92e4d263810109f",
}


def _digest(line: str) -> str:
    return hashlib.blake2b(line.strip().encode(), digest_size=8).hexdigest()


def _kit_lines(uri: str, text: str) -> list[str]:
    """Return the lines of a seed whose digest is one of its kit's."""
    kit = SEED_KIT.get(uri[:3], set())
    return [line.strip() for line in text.split("\n") if _digest(line) in kit]


def _seed_run(config: BoilerplateConfig = S.boilerplate) -> tuple[pl.DataFrame, pl.DataFrame]:
    docs = _seed_docs()
    cleaned, _ = remove_boilerplate(docs, S.minhash, config, page_model=MODEL)
    return docs, cleaned


def _kit_left(docs: pl.DataFrame, cleaned: pl.DataFrame) -> list[tuple[str, str]]:
    """Return (seed, digest) of the seed kit lines left whole in the clean text."""
    return [
        (uri[:3], _digest(k))
        for uri, text, clean in zip(
            docs["source_uri"], docs["text"], cleaned["clean_text"], strict=True
        )
        for k in _kit_lines(uri, text)
        if any(line.strip() == k for line in clean.split("\n"))
    ]


@pytest.mark.shared
def test_seed_body_paragraphs_all_stay() -> None:
    docs, cleaned = _seed_run()
    found = {
        _digest(k)
        for uri, text in zip(docs["source_uri"], docs["text"], strict=True)
        for k in _kit_lines(uri, text)
    }
    assert found == set().union(*SEED_KIT.values())  # every kit line is found
    for uri, text, clean in zip(
        docs["source_uri"], docs["text"], cleaned["clean_text"], strict=True
    ):
        kit = set(_kit_lines(uri, text))
        body = [
            line.strip()
            for line in text.split("\n")
            if len(line.split()) >= 12
            and line.strip() not in kit
            and _digest(line) not in SEED_APPEAL
        ]
        lost = [b[:50] for b in body if b not in clean]
        assert lost == [], uri


@pytest.mark.shared
@pytest.mark.xfail(
    strict=True,
    reason="measured 2026-12-07 (trained with trafilatura's set and its cross-site labels): at "
    "page_threshold 0.80 eight of the ten seed kit lines go (0.83-1.00); the name prompt "
    "(0.72) and the reCAPTCHA notice (0.70) stay. Trained also on Dragnet and L3S-GN1 with seed "
    "lines out of the loss, all ten score 0.71-0.98 (body lines <= 0.12) and the rule's 0.64 "
    "would remove them, but the held-out sites then lose 0.64% of gold content, so those "
    "weights were rejected. Bridging two lines at 0.65 removes both (a test below), but "
    "cross-validated main-text loss rises to 0.52% and 0.65 was read off the seeds, so it "
    "stays off (docs/design.md, Boilerplate on a single page)",
)
def test_no_seed_kit_line_survives() -> None:
    assert _kit_left(*_seed_run()) == []


# Bridging as measured on 2026-12-07 (`[boilerplate] page_bridge_lines`, off by default): two
# lines at 0.65, a setting read off the seeds' scores (the name prompt 0.72 and the reCAPTCHA
# notice 0.70, between lines of 0.89 and 0.99), not chosen by cross-validation, which it costs
# 0.08 points of main-text content (docs/design.md, Boilerplate on a single page). This pins
# what the switch does on real pages, not that the setting is right.
BRIDGED = dataclasses.replace(S.boilerplate, page_bridge_lines=2, page_bridge_threshold=0.65)


@pytest.mark.shared
def test_bridging_as_measured_takes_the_last_seed_kit_lines_and_no_body_line() -> None:
    docs, plain = _seed_run()
    # the name prompt and the reCAPTCHA notice of seed 004's comment form
    assert sorted(_kit_left(docs, plain)) == [
        ("004", "404aa2808ba723fa"),
        ("004", "490ef2662b32ff83"),
    ]
    _, cleaned = _seed_run(BRIDGED)
    assert _kit_left(docs, cleaned) == []
    # the bridged lines are the only difference: every other line is kept or removed as before
    for before, after in zip(plain["clean_text"], cleaned["clean_text"], strict=True):
        gone = set(before.split("\n")) - set(after.split("\n"))
        assert {_digest(x) for x in gone if x.strip()} <= {"404aa2808ba723fa", "490ef2662b32ff83"}


def test_lines_found_do_not_depend_on_the_blocks_of_documents_split_at_a_time() -> None:
    pages = pl.concat(
        [
            _page(KIT_TOP, KIT_BOTTOM).with_columns(doc_id=pl.lit("d1")),
            _page([], KIT_BOTTOM[:2]).with_columns(doc_id=pl.lit("d2")),
            _page(KIT_TOP, []).with_columns(doc_id=pl.lit("d3")),
        ]
    )
    whole = classify_lines(pages, MODEL, 0.5)
    assert whole.height and set(whole["doc_id"]) == {"d1", "d2", "d3"}
    for block in (1, 2):
        got = classify_lines(pages, MODEL, 0.5, block=block)
        assert got.select("doc_id", "line").equals(whole.select("doc_id", "line"))
        np.testing.assert_allclose(got["page_score"], whole["page_score"], atol=1e-12)
    assert classify_lines(pages.clear(), MODEL, 0.5).schema == whole.schema


def test_scores_do_not_depend_on_how_many_documents_are_scored_together() -> None:
    pages = pl.concat(
        [
            _page(KIT_TOP, KIT_BOTTOM).with_columns(doc_id=pl.lit("d1")),
            _page([], KIT_BOTTOM[:2]).with_columns(doc_id=pl.lit("d2")),
            _page(KIT_TOP, []).with_columns(doc_id=pl.lit("d3")),
        ]
    )
    lines = page_lines(pages)
    whole = line_scores(lines, MODEL, chunk_docs=10)
    for size in (1, 2):
        np.testing.assert_allclose(line_scores(lines, MODEL, chunk_docs=size), whole, atol=1e-12)
    # the page alone scores as it does among others
    alone = line_scores(page_lines(pages.filter(pl.col("doc_id") == "d2")), MODEL)
    np.testing.assert_allclose(alone, whole[(lines["doc_id"] == "d2").to_numpy()], atol=1e-12)


def test_features_do_not_depend_on_the_text_table_they_are_looked_up_in() -> None:
    # line_scores measures every distinct text of an inbox once; a page's features must be
    # those of the page measured alone, value for value (the same lines repeat across pages)
    pages = pl.concat(
        [
            _page(KIT_TOP, KIT_BOTTOM).with_columns(doc_id=pl.lit("d1")),
            _page(KIT_TOP[::-1], KIT_BOTTOM[:2]).with_columns(doc_id=pl.lit("d2")),
        ]
    )
    lines = page_lines(pages)
    table = text_table(lines["text"])
    assert len(table.texts) < lines.height  # the kit lines repeat
    part = lines.filter(pl.col("doc_id") == "d2").with_columns(
        row=pl.int_range(pl.len(), dtype=pl.Int64)
    )
    alone = line_features(part)
    shared = line_features(part, table)
    for name in ("dense", "rows", "slots", "values", "token_rows", "char_norm"):
        np.testing.assert_array_equal(getattr(shared, name), getattr(alone, name), err_msg=name)
    # the same word's n-gram weights, whichever vocabulary numbers it
    model = MODEL
    np.testing.assert_array_equal(first_stage_logit(shared, model), first_stage_logit(alone, model))


def test_the_flow_and_benchmarks_get_the_model_exactly_when_the_switch_is_on() -> None:
    assert page_model_for(BoilerplateConfig(page_classifier=False)) is None
    assert page_model_for(S.boilerplate) is MODEL  # the default, loaded once


def test_bridging_takes_a_short_weak_run_between_two_removed_lines_of_one_page() -> None:
    doc = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.9, 0.7, 0.75, 0.95, 0.7, 0.1, 0.9, 0.7, 0.1])
    plain = scores >= 0.8
    assert bridged(doc, scores, 0.8, 0.65, 0).tolist() == plain.tolist()
    got = bridged(doc, scores, 0.8, 0.65, 2)
    # lines 2-3 sit between two removed lines; line 5 and line 8 have content on one side
    assert np.flatnonzero(got).tolist() == [1, 2, 3, 4, 7]
    assert bridged(doc, scores, 0.8, 0.65, 1).tolist() == plain.tolist()  # the run is 2 long
    assert bridged(doc, scores, 0.8, 0.72, 2).tolist() == plain.tolist()  # line 2 too weak
    # a run never bridges two pages
    edge = bridged(np.array([0, 0, 1, 1]), np.array([0.9, 0.7, 0.7, 0.9]), 0.8, 0.65, 3)
    assert edge.tolist() == [True, False, False, True]
    assert bridged(np.zeros(0, dtype=np.int64), np.zeros(0), 0.8, 0.65, 2).tolist() == []


def test_classify_lines_returns_the_bridged_lines_too() -> None:
    page = _page(KIT_TOP, KIT_BOTTOM)
    lines = page_lines(page)
    scores = line_scores(lines, MODEL)
    plain = classify_lines(page, MODEL, 0.8)
    assert plain["line"].to_list() == lines.filter(pl.Series(scores >= 0.8))["line"].to_list()
    low = float(scores.min()) / 2
    wide = classify_lines(page, MODEL, 0.8, bridge_threshold=low, bridge_lines=len(scores))
    want = bridged(np.zeros(len(scores), dtype=np.int64), scores, 0.8, low, len(scores))
    assert wide["line"].to_list() == lines.filter(pl.Series(want))["line"].to_list()
