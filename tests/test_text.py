"""Normalisation, the date header and stable ids."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flows.core.text import (
    content_hash,
    fold,
    fold_series,
    normalise_documents,
    normalise_text,
    strip_date_prefix,
    tokens,
)


def _norm(texts: list[str], hints: list[str | None] | None = None) -> pl.DataFrame:
    raw = pl.DataFrame(
        {"raw_text": texts, "date_hint": hints or [None] * len(texts)},
        schema={"raw_text": pl.String, "date_hint": pl.String},
    )
    return normalise_documents(raw.lazy()).collect()


def test_date_header_becomes_published_date_and_is_stripped() -> None:
    out = _norm([" date 2024-10-26 Support us today\n\nHeadline"])
    assert out["published_date"][0] == dt.date(2024, 10, 26)
    assert out["text"][0] == "Support us today\n\nHeadline"


def test_metadata_date_used_when_no_header() -> None:
    out = _norm(["Body", " date 2025-01-02 Body"], ["2025-03-04T10:00:00Z", "2020-01-01"])
    assert out["published_date"].to_list() == [dt.date(2025, 3, 4), dt.date(2025, 1, 2)]


def test_bad_date_is_null_not_error() -> None:
    out = _norm([" date 2024-13-45 Body"], ["yesterday"])
    assert out["published_date"][0] is None


def test_whitespace_and_unicode_folding() -> None:
    out = _norm(["ﬁrst\u00a0 line \r\n\r\n\r\n\r\n  second\u200b line  \t"])
    assert out["text"][0] == "first line\n\nsecond line"


def test_same_text_same_id_across_formatting() -> None:
    out = _norm(["Hello  world\r\n", "Hello world"])
    assert out["doc_id"][0] == out["doc_id"][1] == content_hash("Hello world")
    assert len(out["doc_id"][0]) == 16


def test_tokens_fold_case_accents_apostrophes_and_punctuation_beyond_ascii() -> None:
    assert tokens("Café’s ÉTÉ, 10,000!") == ["cafes", "ete", "10", "000"]
    assert tokens("«Zürich» — İstanbul…ΑΘΗΝΑ") == ["zurich", "istanbul", "αθηνα"]


@given(st.text(max_size=300))
@example("e\x01\u0301")  # a control between a letter and its mark: composed in one pass
@example("a\u200b\u0301 \x1b[1m\u0301")
def test_normalisation_is_idempotent(text: str) -> None:
    once = pl.select(normalise_text(pl.lit(text))).item()
    twice = pl.select(normalise_text(pl.lit(once))).item()
    assert once == twice


def _normalise_definition(expr: pl.Expr) -> pl.Expr:
    """Return `normalise_text` plainly: NFKC of every text after the removals, every run of space."""
    hspace = r"[ \t\u1680\u180e\u2000-\u200a\u202f\u205f\u3000]+"
    return (
        expr.str.replace_all(r"\r\n|\r|\u2028|\u2029|\u0085|\x0b|\x0c", "\n")
        .str.replace_all(r"[\u200b\u200c\u200d\u2060\ufeff]", "")
        .str.replace_all(r"\x1b\[[0-9;?]*[A-Za-z]", "")
        .str.replace_all(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]", "")
        .str.normalize("NFKC")
        .str.replace_all(hspace, " ")
        .str.replace_all(r"(?m) +$", "")
        .str.replace_all(r"(?m)^ +", "")
        .str.replace_all(r"\n{3,}", "\n\n")
        .str.strip_chars()
    )


# ASCII and the characters NFKC and the space rules change, so that a batch mixes texts the
# ASCII shortcut skips with texts it normalises.
TRICKY = st.text(
    alphabet=st.sampled_from(
        [*"ab Z\t\n\r.", "\u00a0", "\u2003", "\u3000", "\u1680", "\u180e", "\ufb01",
         "\u00bd", "\u0301", "\u00e9", "\u200b", "\u2028", "\x85", "\x0c", "\uff21", "’"]
    ),
    max_size=40,
)  # fmt: skip


@given(st.lists(TRICKY | st.none(), min_size=1, max_size=6))
@example(["a\u200b\u0301", "\u00a0\x85\u0301"])
def test_normalisation_follows_its_definition(texts: list[str | None]) -> None:
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    got = frame.select(normalise_text(pl.col("t")))["t"]
    assert got.to_list() == frame.select(_normalise_definition(pl.col("t")))["t"].to_list()


@settings(deadline=None)  # polars' first string kernels of a process can take 0.5 s
@given(st.lists(TRICKY | st.none(), min_size=1, max_size=12), st.integers(1, 5))
def test_normalisation_by_blocks_is_normalisation_of_the_whole(
    texts: list[str | None], block: int
) -> None:
    import flows.core.text as text

    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    whole = frame.select(normalise_text(pl.col("t")))["t"]
    saved = text.NORMALISE_BLOCK
    text.NORMALISE_BLOCK = block
    try:
        blocked = frame.select(normalise_text(pl.col("t")))["t"]
    finally:
        text.NORMALISE_BLOCK = saved
    assert blocked.len() == len(texts) and blocked.to_list() == whole.to_list()


# Texts that may open with a date header followed by any of the tricky characters, and carry
# the controls and zero-width characters whose removal lets NFKC compose a second time.
HEADED = st.builds(
    lambda head, body: head + body,
    st.sampled_from(["", " date 2024-01-02 ", "date 2024-01-02", "\u3000date 2024-01-02\u2003"]),
    st.lists(
        st.sampled_from(
            [*"ae Z\t\n\r.", "\x01", "\x1b", "[1m", "\u200b", "\u0301", "\u00a0", "\x85",
             "\u2028", "\ufb01", "\u00e9", " date 2024-01-02 "]
        ),
        max_size=30,
    ).map("".join),
)  # fmt: skip


@settings(deadline=None)  # polars' first string kernels of a process can take 0.5 s
@given(st.lists(HEADED, min_size=1, max_size=6))
@example(["e\x01\u0301 x", "plain  text \n\n\n end"])
@example([" date 2024-01-02 \u200b\u0301a", "date 2024-01-02\u00a0\x01e\u200b\u0301"])
def test_document_text_follows_its_two_pass_definition(texts: list[str]) -> None:
    # one pass: normalisation is idempotent and the header leaves a visible first character
    once = normalise_text(pl.col("raw_text"))
    definition = normalise_text(strip_date_prefix(once))
    expected = pl.DataFrame({"raw_text": texts}).select(definition)["raw_text"].to_list()
    assert _norm(texts)["text"].to_list() == expected


def test_control_characters_and_terminal_colour_codes_are_removed() -> None:
    texts = ["\x01\x02\x03\x1b[31m" * 200, "a\tb\x00c\nd\x7fe\x85f", "\x1b[1;32mGreen\x1b[0m lead"]
    out = pl.DataFrame({"t": texts}).select(normalise_text(pl.col("t")))["t"].to_list()
    assert out == ["", "a bc\nde\nf", "Green lead"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(max_size=20)
        | st.text(alphabet=[chr(c) for c in range(128)], max_size=30)
        | st.lists(st.sampled_from(["Café", "ﬁne", "A", " ", "’", "-", "Ǆ", "e\u0301", "1"])).map(
            "".join
        )
        | st.none(),
        max_size=8,
    )
)
@example(["", " 'Don't' -- STOP!! ", "a\x00b\x7fc", None, "Café au LAIT"])
def test_fold_series_is_fold_of_each_text(texts: list[str | None]) -> None:
    # ASCII texts are folded by a compiled loop: the same folded texts as `fold` gives
    series = pl.Series("t", texts, dtype=pl.String)
    assert fold_series(series).equals(pl.select(fold(pl.lit(series))).to_series(), check_names=True)
