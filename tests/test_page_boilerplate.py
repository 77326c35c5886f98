"""The single-page boilerplate classifier: hand-made pages, the seeds, the combination rules."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flows.core.boilerplate import remove_boilerplate
from flows.core.page_boilerplate import (
    bridged,
    classify_lines,
    context_features,
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
    # the features of one chunk at a time or of several: the same scores, bit for bit
    from flows.core import page_boilerplate

    default = {size: line_scores(lines, MODEL, chunk_docs=size) for size in (1, 2)}
    for window in (1, 2):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(page_boilerplate, "SCORE_WINDOW_CHUNKS", window)
            for size in (1, 2):
                np.testing.assert_array_equal(line_scores(lines, MODEL, size), default[size])
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


# The page-window features as polars window expressions: the definition the compiled windows
# of `_dense_features` and `context_features` replaced, value for value.


def _polars_dense(lines: pl.DataFrame) -> np.ndarray:
    from flows.core.page_boilerplate import DENSE, _doc_runs, _text_features

    lines = pl.concat([lines, _text_features(lines["text"])], how="horizontal").with_columns(
        _doc=_doc_runs(lines["doc_id"])
    )
    doc = "_doc"
    lines = lines.with_columns(
        _rank=pl.int_range(pl.len()).over(doc).cast(pl.Float64),
        _doc_lines=pl.len().over(doc).cast(pl.Float64),
        _log_words=(pl.col("_words") + 1).log(),
    )
    words, chars, terminal = pl.col("_words"), pl.col("_chars"), pl.col("_terminal")
    log_words, rank, doc_lines = pl.col("_log_words"), pl.col("_rank"), pl.col("_doc_lines")

    def shifted(expr: pl.Expr, k: int) -> pl.Expr:
        return expr.shift(k).over(doc).fill_null(0.0)

    return (
        lines.select(
            log_words=log_words,
            log_chars=(chars + 1).log(),
            terminal=terminal,
            colon_end="colon_end",
            cap_share=pl.col("_letters_cap")
            / pl.max_horizontal(pl.col("_alpha_words"), pl.lit(1.0)),
            upper_share=pl.col("_upper") / pl.max_horizontal(pl.col("_letters"), pl.lit(1.0)),
            digit_share=pl.col("_digits") / chars,
            glyph_share=pl.col("_glyphs") / chars,
            starts_lower="starts_lower",
            starts_other="starts_other",
            mean_word_len=pl.col("_alnum") / pl.max_horizontal(words, pl.lit(1.0)),
            sentences="sentences",
            rel_pos=rank / pl.max_horizontal(doc_lines - 1, pl.lit(1.0)),
            log_rank=(rank + 1).log(),
            log_rank_from_end=(doc_lines - rank).log(),
            log_doc_lines=doc_lines.log(),
            chars_share=chars / chars.sum().over(doc),
            prev_log_words=shifted(log_words, 1),
            prev_terminal=shifted(terminal, 1),
            next_log_words=shifted(log_words, -1),
            next_terminal=shifted(terminal, -1),
            window_log_words=sum(shifted(log_words, k) for k in (-2, -1, 1, 2)) / 4.0,
            window_terminal=sum(shifted(terminal, k) for k in (-2, -1, 1, 2)) / 4.0,
            has_url="has_url",
            has_year="has_year",
            has_copyright="has_copyright",
            words_before=(words.cum_sum().over(doc) - words) / words.sum().over(doc),
            words_after=1 - words.cum_sum().over(doc) / words.sum().over(doc),
        )
        .with_columns(pl.col("words_before", "words_after").fill_nan(0.0))
        .select(DENSE)
        .to_numpy()
    )


def _polars_context(lines: pl.DataFrame, dense: np.ndarray, z: np.ndarray) -> np.ndarray:
    from flows.core.page_boilerplate import _CONTENT_Z, _Z_CLIP, CONTEXT, DENSE, _doc_runs

    col = {name: dense[:, i] for i, name in enumerate(DENSE)}
    zc = np.clip(z, -_Z_CLIP, _Z_CLIP)
    frame = pl.DataFrame(
        {
            "doc": _doc_runs(lines["doc_id"]),
            "z": zc,
            "p": 1.0 / (1.0 + np.exp(-zc)),
            "chars": np.exp(col["log_chars"]) - 1.0,
            "log_words": col["log_words"],
            "terminal": col["terminal"],
            "rel_pos": col["rel_pos"],
        }
    )
    doc = "doc"
    content = (pl.col("z") < _CONTENT_Z).cast(pl.Float64)
    mass = (1.0 - pl.col("p")) * pl.col("chars")
    window = [pl.col("p").shift(k).over(doc) for k in (-3, -2, -1, 1, 2, 3)]
    frame = frame.with_columns(
        _c=content,
        _rank=pl.int_range(pl.len()).over(doc).cast(pl.Float64),
        _mass=mass,
        _lines=pl.len().over(doc).cast(pl.Float64),
        p_window_mean=pl.mean_horizontal(window).fill_null(0.5),
        p_window_max=pl.max_horizontal(window).fill_null(0.5),
        p_window_min=pl.min_horizontal(window).fill_null(0.5),
    )
    c, m = pl.col("_c"), pl.col("_mass")
    total_mass = pl.max_horizontal(m.sum().over(doc), pl.lit(1e-9))
    content_rank = pl.when(c > 0).then(pl.col("_rank"))
    frame = frame.with_columns(
        _before=(c.cum_sum().over(doc) - c),
        _after=(c.sum().over(doc) - c.cum_sum().over(doc)),
        content_mass_before=(m.cum_sum().over(doc) - m) / total_mass,
        content_mass_after=(m.sum().over(doc) - m.cum_sum().over(doc)) / total_mass,
        _prev_content=content_rank.shift(1).forward_fill().over(doc),
        _next_content=content_rank.shift(-1).backward_fill().over(doc),
        _run=c.cum_sum().over(doc),
    )
    before_first = (pl.col("_before") == 0).cast(pl.Float64)
    after_last = (pl.col("_after") == 0).cast(pl.Float64)
    return (
        frame.select(
            z="z",
            z_prev=pl.col("z").shift(1).over(doc).fill_null(0.0),
            z_next=pl.col("z").shift(-1).over(doc).fill_null(0.0),
            z_prev2=pl.col("z").shift(2).over(doc).fill_null(0.0),
            z_next2=pl.col("z").shift(-2).over(doc).fill_null(0.0),
            p_window_mean="p_window_mean",
            p_window_max="p_window_max",
            p_window_min="p_window_min",
            first=(pl.col("_rank") == 0).cast(pl.Float64),
            last=(pl.col("_rank") == pl.col("_lines") - 1).cast(pl.Float64),
            content_before=pl.col("_before").log1p(),
            content_after=pl.col("_after").log1p(),
            content_mass_before="content_mass_before",
            content_mass_after="content_mass_after",
            gap_prev_content=(pl.col("_rank") - pl.col("_prev_content").fill_null(-1.0)).log(),
            gap_next_content=(
                pl.col("_next_content").fill_null(pl.col("_lines")) - pl.col("_rank")
            ).log(),
            before_first_content=before_first,
            after_last_content=after_last,
            run_length=((1.0 - c).sum().over(doc, "_run") * (1.0 - c)).log1p(),
            run_max_z=pl.when(c > 0)
            .then(pl.col("z"))
            .otherwise(pl.when(c == 0).then(pl.col("z")).max().over(doc, "_run")),
            run_mean_z=pl.when(c > 0)
            .then(pl.col("z"))
            .otherwise(pl.when(c == 0).then(pl.col("z")).mean().over(doc, "_run")),
            z_before_first=pl.col("z") * before_first,
            z_after_last=pl.col("z") * after_last,
            log_words="log_words",
            terminal="terminal",
            rel_pos="rel_pos",
        )
        .select(CONTEXT)
        .to_numpy()
    )


_LINE_TEXTS = [
    "Share on Facebook | Email | Print",
    "Dockworkers walked out on Tuesday. Talks broke down in 2024.",
    "© 2025 Northwind Media",
    "Comments",
    "x",
    "“We are not going back,” she said. Then we left!",
    "www.example.com/news",
    "12 34",
    "...",
    "",
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(_LINE_TEXTS), min_size=1, max_size=12), min_size=1, max_size=5
    ),
    st.data(),
)
def test_page_window_features_are_those_of_the_polars_windows(
    pages: list[list[str]], data: st.DataObject
) -> None:
    docs = pl.DataFrame(
        {"doc_id": [f"d{i}" for i in range(len(pages))], "text": ["\n".join(p) for p in pages]}
    )
    lines = page_lines(docs)
    if lines.height == 0:
        return
    features = line_features(lines)
    np.testing.assert_array_equal(features.dense, _polars_dense(lines))
    # stage-1 logits around the content threshold, exact zeros and clipped ones included
    logits = st.one_of(st.floats(-12, 12), st.sampled_from([0.0, -0.0, 1e-9, -1e-9, 9.0]))
    z = np.array(data.draw(st.lists(logits, min_size=lines.height, max_size=lines.height)))
    np.testing.assert_array_equal(
        context_features(lines, features.dense, z), _polars_context(lines, features.dense, z)
    )


def _regex_text_features(texts: pl.Series) -> pl.DataFrame:
    """The text features as polars regular expressions: `_text_features`' definition."""
    from flows.core.page_boilerplate import _GLYPHS, _TERMINAL, _WORD

    t = pl.col("text")
    return pl.DataFrame({"text": texts}).select(
        _words=t.str.count_matches(_WORD).cast(pl.Float64),
        _chars=t.str.len_chars().cast(pl.Float64),
        _terminal=t.str.contains(_TERMINAL).cast(pl.Float64),
        _letters_cap=t.str.count_matches(r"(?:^|[^\p{L}\p{N}])\p{Lu}").cast(pl.Float64),
        _alpha_words=t.str.count_matches(r"\p{L}[\p{L}\p{N}]*").cast(pl.Float64),
        colon_end=t.str.ends_with(":").cast(pl.Float64),
        _upper=t.str.count_matches(r"\p{Lu}").cast(pl.Float64),
        _letters=t.str.count_matches(r"\p{L}").cast(pl.Float64),
        _digits=t.str.count_matches(r"\p{N}").cast(pl.Float64),
        _glyphs=t.str.count_matches(_GLYPHS).cast(pl.Float64),
        starts_lower=t.str.contains(r"^\p{Ll}").cast(pl.Float64),
        starts_other=(~t.str.contains(r"^[\p{L}\p{N}\"“‘'(]")).cast(pl.Float64),
        _alnum=t.str.count_matches(r"[\p{L}\p{N}]").cast(pl.Float64),
        sentences=(t.str.count_matches(r"[.!?…][\"”’')]*\s+\p{Lu}").cast(pl.Float64) + 1).log(),
        has_url=t.str.contains(r"(?i)https?://|www\.|\.com\b").cast(pl.Float64),
        has_year=t.str.contains(r"\b(?:19|20)\d\d\b").cast(pl.Float64),
        has_copyright=t.str.contains(r"(?i)©|\(c\)").cast(pl.Float64),
    )


_SENTENCE_PIECES = st.sampled_from(
    [".", "!", "?", "…", '"', "”", "’", "'", ")", " ", "\u00a0", "\u2003", "A", "É", "Σ", "a",
     "ß", "1", "٣", "Ⅻ", "½", "_", "-", "|", "»", "©", "(", "“", "‘", "ǅ", "𝐀", "😀", "\t"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.text(max_size=30), st.lists(_SENTENCE_PIECES, max_size=25).map("".join)),
        max_size=20,
    )
)
@example(
    ['He left." Then', "Yes!) No. ’ Maybe.\u00a0Σ", "A1 b2 3c _d É", "..  A", "!?" + "\u2003É"]
)
def test_text_features_are_those_of_the_regular_expressions(texts: list[str]) -> None:
    from flows.core.page_boilerplate import _text_features

    series = pl.Series("text", texts, dtype=pl.String)
    assert _text_features(series).equals(_regex_text_features(series))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(_LINE_TEXTS), min_size=1, max_size=10), min_size=1, max_size=4
    )
)
@example([["Comments", "x"], ["x"], ["Comments", "12 34", "Comments"]])
def test_first_stage_logits_of_the_compiled_sums_are_those_of_the_features(
    pages: list[list[str]],
) -> None:
    from flows.core.page_boilerplate import (
        _dense_features,
        _doc_runs,
        _first_stage,
        _word_grams,
    )

    docs = pl.DataFrame(
        {"doc_id": [f"d{i}" for i in range(len(pages))], "text": ["\n".join(p) for p in pages]}
    )
    lines = page_lines(docs)
    if lines.height == 0:
        return
    table = text_table(lines["text"])
    which = table.index_of(lines["text"])
    doc = _doc_runs(lines["doc_id"]).to_numpy()
    dense = _dense_features(doc, table.features[which])
    got = _first_stage(table, _word_grams(table, MODEL), which, doc, dense, MODEL)
    want = first_stage_logit(line_features(lines, table, which), MODEL)
    np.testing.assert_array_equal(got, want)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(alphabet=[chr(c) for c in range(128)], max_size=30)
        | st.text(max_size=12)
        | st.lists(st.sampled_from(["Ab", "9", " ", "-", "É", "٣", "x1Y", ".", "ǅ"])).map("".join),
        max_size=10,
    )
)
@example(["", "Hello, World 2024!", "a", "Čaj 12"])
def test_line_tokens_are_those_of_the_expressions(texts: list[str]) -> None:
    from flows.core.page_boilerplate import _line_tokens, _regex_tokens

    series = pl.Series("text", texts, dtype=pl.String)
    assert _line_tokens(series).to_list() == _regex_tokens(series).to_list()
