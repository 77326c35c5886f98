"""Vectorised stage helpers against their plain-Python definitions (hypothesis)."""

from __future__ import annotations

import itertools
import re

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flows.core import containment as containment_module
from flows.core import passages as passages_module
from flows.core.boilerplate import absorb_contained, clean_texts
from flows.core.boilerplate import clean as boilerplate_module
from flows.core.containment import containment_candidates, shared_grams
from flows.core.dedup import names_key, numbers_key
from flows.core.kernel import pair_agreement, shared_values
from flows.core.minhash import estimated_jaccard, word_gram_table
from flows.core.passages import PASSAGES, SPACES, split_passages
from flows.core.settings import BoilerplateConfig
from flows.core.text import fold_series

WORDS = st.sampled_from(["ÉTÉ", "café", "Bank", "of", "1,500", "two", "x", "naïve", "—", "3.5"])
TEXTS = st.lists(WORDS, max_size=12).map(" ".join)


@st.composite
def documents_with_spans(draw: st.DrawFn) -> tuple[str, list[tuple[int, int, bool]]]:
    """Draw a text and disjoint sorted spans of it, each flagged boilerplate or not."""
    text = draw(st.text(alphabet="ab é\n€ü", max_size=40))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=8))))
    spans = [
        (a, b, draw(st.booleans())) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if b > a
    ]
    return text, spans


@settings(max_examples=200, deadline=None)
@given(st.lists(documents_with_spans(), min_size=1, max_size=5))
def test_clean_texts_cut_exactly_the_boilerplate_spans(
    docs: list[tuple[str, list[tuple[int, int, bool]]]],
) -> None:
    ids = [f"d{i}" for i in range(len(docs))]
    rows = [(d, a, b, bp) for d, (_, spans) in zip(ids, docs, strict=True) for a, b, bp in spans]
    passages = pl.DataFrame(
        rows, schema={"doc_id": pl.String, "start": pl.Int64, "end": pl.Int64,
                      "is_boilerplate": pl.Boolean}, orient="row",
    )  # fmt: skip
    frame = pl.DataFrame({"doc_id": ids, "text": [t for t, _ in docs]})
    clean, ratio = clean_texts(frame, passages)
    for (text, spans), got, share in zip(docs, clean, ratio, strict=True):
        if not spans:
            assert got == "" and share == 0.0
            continue
        removed = [(a, b) for a, b, bp in spans if bp]
        want, pos = "", 0
        for a, b in removed:
            want, pos = want + text[pos:a], b
        assert got == want + text[pos:]
        total = sum(b - a for a, b, _ in spans)
        assert share == sum(b - a for a, b in removed) / total
    # a block of documents at a time, the same texts and shares
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(boilerplate_module, "CLEAN_BLOCK_DOCS", 2)
        blocked, blocked_ratio = clean_texts(frame, passages)
    assert blocked.equals(clean) and blocked_ratio.equals(ratio)


@settings(max_examples=200, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=6))
def test_word_trigrams_are_the_distinct_folded_trigrams(texts: list[str]) -> None:
    grams = word_gram_table(pl.Series(texts), 3)
    assert grams.height == grams.unique().height
    # two passages share a gram hash exactly when they share the folded trigram
    want = []
    for folded in fold_series(pl.Series(texts)).to_list():
        w = folded.split()
        want.append({" ".join(w[j : j + 3]) for j in range(max(len(w) - 2, 1))} if w else set())
    got = [set(grams.filter(pl.col("id") == i)["gram"]) for i in range(len(texts))]
    assert [len(g) for g in got] == [len(w) for w in want]
    for i in range(len(texts)):
        for j in range(len(texts)):
            assert len(got[i] & got[j]) == len(want[i] & want[j])


# Pieces of one blurb: "p q r s t u v" holds 4 of its 5 trigrams in "p q r s t u" (0.8, the
# default containment), "o p q r s t u" too, "a b c" all of its one in "a b c d".
BLURBS = ["a b c d", "b c d e", "a b c", "p q r s t u", "p q r s t u v", "o p q r s t u", ""]


def _trigrams(text: str) -> set[str]:
    w = str(fold_series(pl.Series([text]))[0]).split()
    return {" ".join(w[j : j + 3]) for j in range(max(len(w) - 2, 1))} if w else set()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(BLURBS) | TEXTS,
            st.integers(1, 9),
            st.booleans(),
        ),
        min_size=1,
        max_size=10,
    ),
    st.integers(1, 4),
)
@example([("p q r s t u", 3, True), ("p q r s t u v", 1, False), ("x y", 1, False)], 1)
def test_absorbed_passages_are_those_mostly_covered_by_boilerplate_trigrams(
    rows: list[tuple[str, int, bool]], chunk: int
) -> None:
    config = BoilerplateConfig()
    frame = pl.DataFrame(
        {
            "text": [t for t, _, _ in rows],
            "support": [s for _, s, _ in rows],
            "is_boilerplate": [b for _, _, b in rows],
        },
        schema={"text": pl.String, "support": pl.Int64, "is_boilerplate": pl.Boolean},
    )
    got = absorb_contained(frame, config, chunk=chunk)
    # the plain definition: a kept row whose text's distinct folded trigrams are mostly
    # trigrams of boilerplate rows' texts joins them, with the largest support among them
    holder: dict[str, int] = {}
    for text, support, boilerplate in rows:
        for g in _trigrams(text) if boilerplate else ():
            holder[g] = max(holder.get(g, support), support)
    for (text, support, boilerplate), out in zip(rows, got.iter_rows(named=True), strict=True):
        grams = _trigrams(text)
        hit = [holder[g] for g in grams if g in holder]
        absorbed = bool(grams) and len(hit) / len(grams) >= config.containment
        assert out["is_boilerplate"] == (boilerplate or absorbed)
        assert out["support"] == (max(support, *hit) if absorbed and not boilerplate else support)
    assert got.equals(absorb_contained(frame, config))  # chunks change nothing


@settings(max_examples=100, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=6))
def test_figure_and_name_keys_are_distinct_sorted_values(texts: list[str]) -> None:
    for text, numbers in zip(texts, numbers_key(pl.Series(texts)), strict=True):
        values = numbers.split()
        assert values == sorted(set(values))
        assert all(v.replace(".", "").isdigit() or v == "two" for v in values)
        assert ("1500" in values) == ("1,500" in text)
    for names in names_key(pl.Series(texts)):
        assert names.split() == sorted(set(names.split()))


def test_pair_agreement_is_the_estimated_jaccard() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.integers(0, 4, size=(50, 128), dtype=np.uint32)
    left, right = rng.integers(0, 50, 300), rng.integers(0, 50, 300)
    assert np.array_equal(
        pair_agreement(matrix, left, right), estimated_jaccard(matrix[left], matrix[right])
    )
    assert pair_agreement(matrix, left[:0], right[:0]).shape == (0,)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 6), max_size=8).map(sorted), min_size=1, max_size=6),
    st.data(),
)
def test_shared_values_count_the_left_values_the_right_set_holds(
    sets: list[list[int]], data: st.DataObject
) -> None:
    index = st.integers(0, len(sets) - 1)
    pairs = data.draw(st.lists(st.tuples(index, index), max_size=8))
    values = np.array([v for s in sets for v in s], dtype=np.uint32)
    starts = np.concatenate([[0], np.cumsum([len(s) for s in sets])])
    left = np.array([a for a, _ in pairs], dtype=np.int64)
    right = np.array([b for _, b in pairs], dtype=np.int64)
    got = shared_values(values, starts, left, right)
    # repeated values on the left count each time, as rows of a semi-join would
    assert got.tolist() == [sum(v in set(sets[b]) for v in sets[a]) for a, b in pairs]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 12), min_size=1, max_size=40), min_size=2, max_size=8),
    st.sampled_from([0.5, 0.8, 1.0]),
    st.integers(1, 9),
    st.integers(1, 9),
)
def test_containment_candidates_miss_no_pair_over_the_threshold(
    docs: list[list[int]], threshold: float, text_block: int, row_block: int
) -> None:
    texts = pl.Series([" ".join(f"w{i}" for i in words) for words in docs])
    with pytest.MonkeyPatch.context() as patch:  # texts and rows a few at a time
        patch.setattr(containment_module, "_TEXT_BLOCK", text_block)
        patch.setattr(containment_module, "_ROW_BLOCK", row_block)
        grams = containment_module._gram_table(texts, 2)
        assert grams.equals(word_gram_table(texts, 2))
        sizes = grams.group_by("id").len().sort("id")["len"]
        pairs = containment_candidates(grams, sizes, threshold, max_ratio=1.0)
        scored = shared_grams(grams, pairs)
    got = {
        (a, b)
        for a, b, shared, own in scored.select("a", "b", "shared", "a_grams").iter_rows()
        if shared / own >= threshold
    }
    sets = [set(g) for g in grams.group_by("id", maintain_order=True).agg("gram")["gram"]]
    want = {
        (a, b)
        for a in range(len(docs))
        for b in range(len(docs))
        if a != b
        and len(sets[a]) <= len(sets[b])
        and len(sets[a] & sets[b]) / len(sets[a]) >= threshold
    }
    assert got == want
    for a, b, shared in scored.select("a", "b", "shared").iter_rows():
        assert shared == len(sets[a] & sets[b])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([0, 1, 5, 2**61, 2**63 + 7, 2**64 - 1]), max_size=30),
    st.integers(1, 4),
    st.integers(1, 9),
)
def test_gram_counts_count_each_rows_gram(grams: list[int], bits: int, row_block: int) -> None:
    values = np.array(grams, dtype=np.uint64)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(containment_module, "_ROW_BLOCK", row_block)
        got = containment_module._gram_counts(values, bits)
    assert got.tolist() == [grams.count(g) for g in grams]


@st.composite
def repeated_texts(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Draw band hashes of texts (numbered by first occurrence) and extra rows, and occurrences."""
    u = draw(st.integers(1, 10))
    extra = draw(st.integers(0, 3))
    bands = draw(st.integers(1, 3))
    # few distinct hash values, so buckets fill up and mix texts
    values = st.integers(0, 2)
    hashes = np.array(
        draw(st.lists(st.lists(values, min_size=bands, max_size=bands), min_size=u + extra,
                      max_size=u + extra)), dtype=np.uint64,
    )  # fmt: skip
    order = draw(st.permutations([t for t in range(u) for _ in range(draw(st.integers(1, 6)))]))
    seen: dict[int, int] = {}
    text_of = np.array([seen.setdefault(t, len(seen)) for t in order], dtype=np.int64)
    return hashes, text_of, extra, draw(st.integers(2, 9))


@settings(max_examples=300, deadline=None)
@given(repeated_texts())
def test_text_band_pairs_are_the_occurrence_pairs_mapped_to_texts(
    case: tuple[np.ndarray, np.ndarray, int, int],
) -> None:
    from flows.core.lsh import band_pairs, text_band_pairs

    hashes, text_of, extra, full = case
    u, n = hashes.shape[0] - extra, len(text_of)
    # the definition: pair the occurrences (and extra rows after them), then name their texts
    empty = np.empty(0, dtype=np.int64)
    occ = band_pairs(
        np.arange(n + extra), np.r_[hashes[text_of], hashes[u:]], empty,
        empty.astype(np.uint16), empty.astype(np.uint64), full,
    )  # fmt: skip
    node = np.r_[text_of, np.arange(u, u + extra)]
    a, b = node[occ[:, 0]], node[occ[:, 1]]
    both = (a < u) & (b < u) & (a != b)
    lo, hi = np.minimum(a, b)[both].tolist(), np.maximum(a, b)[both].tolist()
    want_texts = set(zip(lo, hi, strict=True))
    want_reach = {(int(o), int(k)) for o, k in zip(occ[:, 0], b, strict=True) if o < n and k >= u}

    got = text_band_pairs(hashes, text_of, extra, full)
    assert {(x, y) for x, y in got.texts.tolist() if y < u} == want_texts
    # a text's pair with an extra row reaches every occurrence of the text
    reach = {(int(o), y) for x, y in got.texts.tolist() if x < u <= y for o in
             np.flatnonzero(text_of == x)}  # fmt: skip
    reach |= {(o, k) for o, k in got.occurrences.tolist()}
    assert reach == want_reach


# The passage splitter's definition (flows/core/passages.py runs it as a compiled kernel).
_SENTENCE_END = re.compile(r"[.!?…]+[\"”’')\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9À-Ý])")


def _line_spans(text: str) -> list[tuple[int, int, int]]:
    """Return (line index, start, end) of each non-empty line, stripped."""
    spans = []
    pos = 0
    for i, line in enumerate(text.split("\n")):
        stripped = line.strip()
        if stripped:
            lead = len(line) - len(line.lstrip())
            spans.append((i, pos + lead, pos + lead + len(stripped)))
        pos += len(line) + 1
    return spans


def _sentence_spans(text: str, start: int, end: int, min_chars: int) -> list[tuple[int, int]]:
    """Split text[start:end] into sentence spans; fragments under `min_chars` join a neighbour."""
    cuts = [start, *(m.end() for m in _SENTENCE_END.finditer(text, start, end)), end]
    spans: list[tuple[int, int]] = []
    for a, b in itertools.pairwise(cuts):
        seg_end = a + len(text[a:b].rstrip())
        if seg_end <= a:
            continue
        if spans and (seg_end - a < min_chars or spans[-1][1] - spans[-1][0] < min_chars):
            spans[-1] = (spans[-1][0], seg_end)
        else:
            spans.append((a, seg_end))
    return spans


def _reference_passages(docs: pl.DataFrame, min_chars: int) -> pl.DataFrame:
    rows: dict[str, list] = {k: [] for k in PASSAGES}
    for doc_id, text in docs.select("doc_id", "text").iter_rows():
        text = text or ""
        spans = [(ln, s, e) for ln, a, b in _line_spans(text)
                 for s, e in _sentence_spans(text, a, b, min_chars)]  # fmt: skip
        for p, (ln, s, e) in enumerate(spans):
            for key, value in zip(PASSAGES, (doc_id, p, ln, s, e, text[s:e]), strict=True):
                rows[key].append(value)
    return pl.DataFrame(rows, schema=PASSAGES)


# Sentence ends, closers, openers, capitals (ASCII, accented, the edges of À-Ý), lower case,
# every kind of white space and line break, and text beyond the Basic Multilingual Plane.
PIECES = st.sampled_from(
    [".", "!", "?", "…", "...", '"', "”", "’", "'", ")", "]", "“", "‘", "(", "[", "A", "Z",
     "0", "9", "À", "Ý", "Þ", "É", "a", "é", "word", "Mr", "U.S", "\n", "\r\n", "\n\n", "😀",
     "𝐀", *SPACES]
)  # fmt: skip


# Few pieces, so that sentence ends meet closers, spaces, openers and capitals often.
DENSE = st.sampled_from([".", "?", "…", '"', "”", "“", "(", ")", " ", "\xa0", "A", "À", "a", "\n"])


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        (st.lists(PIECES, max_size=40) | st.lists(DENSE, max_size=30)).map("".join) | st.none(),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from([0, 1, 5, 20]),
)
@example(["One. “Two three", "End.) Next one!” (Then) [Z", "Wait…\xa0(À b. c"], 0)
@example(["a. b? c! d… e", "x.\r\n  Y.\u2003\u2003Z", "\u3000lead. Trail\u3000"], 1)
def test_split_passages_follows_its_plain_python_definition(
    texts: list[str | None], min_chars: int
) -> None:
    docs = pl.DataFrame(
        {"doc_id": [f"d{i}" for i in range(len(texts))], "text": texts},
        schema={"doc_id": pl.String, "text": pl.String},
    )
    got = split_passages(docs, min_chars)
    assert got.schema == PASSAGES
    assert got.to_dicts() == _reference_passages(docs, min_chars).to_dicts()
    # split a block of documents at a time, the same passages
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passages_module, "SPLIT_BLOCK_DOCS", 1)
        assert split_passages(docs, min_chars).equals(got)


def test_split_passages_of_no_documents_is_empty() -> None:
    empty = pl.DataFrame(schema={"doc_id": pl.String, "text": pl.String})
    assert split_passages(empty).equals(pl.DataFrame(schema=PASSAGES))


def test_spaces_are_pythons_white_space() -> None:
    assert set(SPACES) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


def _numpy_word_gram_table(texts: pl.Series, n: int) -> pl.DataFrame:
    """`word_gram_table` as numpy arrays and a sort of all rows: its compiled loop's definition."""
    from flows.core.minhash import _gram_multipliers

    folded = fold_series(texts)
    words = folded.str.split(" ")
    empty = folded.str.len_bytes().to_numpy() == 0
    counts = np.where(empty, 0, words.list.len().to_numpy()).astype(np.int64)
    rows = np.arange(len(texts), dtype=np.int64)
    h = words.filter(pl.Series(counts > 0)).explode().hash(seed=0).to_numpy()
    starts = np.cumsum(counts) - counts
    ids = np.repeat(rows, counts)
    pos = np.arange(len(ids), dtype=np.int64) - np.repeat(starts, counts)
    size = np.repeat(counts, counts)
    mix = _gram_multipliers(n)
    at = np.flatnonzero(pos <= size - n)
    few = np.flatnonzero((counts > 0) & (counts < n))
    with np.errstate(over="ignore"):
        grams = np.zeros(len(at), dtype=np.uint64)
        for k in range(n):
            grams += h[at + k] * mix[k]
        short = counts[few].astype(np.uint64) * mix[n]
        for k in range(n - 1):
            present = counts[few] > k
            word = h[np.where(present, starts[few] + k, starts[few])]
            short = short + np.where(present, word * mix[k], np.uint64(0))
    out = pl.DataFrame(
        {"id": np.r_[ids[at], rows[few]], "gram": np.r_[grams, short].astype(np.uint64)}
    )
    return out.unique().sort("id", "gram")


@settings(max_examples=200, deadline=None)
@given(st.lists(TEXTS | st.sampled_from(["", "a a a a a", "x y x y x y"]), max_size=8))
@example(["a a a a a", "", "b"])
def test_word_gram_table_is_its_numpy_definition(texts: list[str]) -> None:
    series = pl.Series(texts, dtype=pl.String)
    for n in (1, 2, 3, 4):
        assert word_gram_table(series, n).equals(_numpy_word_gram_table(series, n))
