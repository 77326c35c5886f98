"""MinHash signatures, LSH banding, clustering and canonical choice."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import polars as pl
import pytest
from datasketch import MinHash, MinHashLSH
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.core.dedup import deduplicate
from flows.core.lsh import (
    buckets,
    candidate_pairs,
    choose_banding,
    stable_argsort,
    unique_inverse,
)
from flows.core.minhash import (
    as_lean_minhash,
    fast_signatures,
    hashfunc,
    shingle,
    signatures,
    word_hashfunc,
)
from flows.core.settings import DedupConfig, MinHashConfig

MH = MinHashConfig()
DD = DedupConfig()
STORY = (
    "The Varnian defence ministry said on Tuesday that about twelve thousand troops had crossed "
    "the river near the northern town of Hallin overnight, while officials in the capital warned "
    "of further escalation in the coming days and weeks ahead of the regional summit in Kessmouth."
)
OTHER = (
    "Dockworkers at Kessmouth walked out for a fourth day as talks with the port authority "
    "collapsed, leaving nearly 1,500 containers stranded and ferries diverted to smaller harbours."
)


def _docs(
    texts: list[str], dates: list[dt.date | None] | None = None, ids: list[str] | None = None
) -> pl.DataFrame:
    n = len(texts)
    return pl.DataFrame(
        {
            "doc_id": ids or [f"d{i}" for i in range(n)],
            "source_uri": [f"f{i}.txt" for i in range(n)],
            "clean_text": texts,
            "published_date": dates or [None] * n,
            "boilerplate_ratio": [0.0] * n,
        },
        schema_overrides={"published_date": pl.Date},
    )


def test_signatures_equal_datasketch() -> None:
    texts = [STORY, OTHER, "short", ""]
    sets = shingle(texts, MH)
    sigs = signatures(sets, MH)
    for i, s in enumerate(sets):
        m = MinHash(num_perm=MH.num_perm, seed=MH.seed, hashfunc=word_hashfunc)
        for sh in s:
            m.update(sh)
        assert np.array_equal(sigs[i], m.hashvalues)


def test_stored_signature_works_in_minhash_lsh() -> None:
    sigs = signatures(shingle([STORY, STORY.replace("Tuesday", "Monday"), OTHER], MH), MH)
    lsh = MinHashLSH(threshold=0.5, num_perm=MH.num_perm)
    for i, s in enumerate(sigs):
        lsh.insert(f"d{i}", as_lean_minhash(s, MH.seed))
    assert set(lsh.query(as_lean_minhash(sigs[0], MH.seed))) == {"d0", "d1"}


def test_banding_defaults_and_overrides() -> None:
    assert choose_banding(0.7, 128, 16, 8).bands == 16
    b = choose_banding(0.7, 128)
    assert b.bands * b.rows <= 128


def test_small_buckets_give_all_pairs_large_ones_stay_linear() -> None:
    sig = np.zeros((5, 128), dtype=np.uint32)
    ids = pl.Series("id", list("abcde"))
    rows = buckets(ids, sig, choose_banding(0.7, 128)).lazy()
    assert candidate_pairs(rows).collect().height == 10
    linear = candidate_pairs(rows, max_full_bucket=3).collect()
    assert linear.height <= 2 * 5
    assert set(linear["left"]) | set(linear["right"]) == set("abcde")


def test_near_copies_cluster_with_the_earliest_as_canonical() -> None:
    edited = STORY.replace("overnight", "during the night")
    docs = _docs([STORY, edited, OTHER], [dt.date(2025, 3, 2), dt.date(2025, 3, 1), None])
    out, _, pairs = deduplicate(docs, MH, DD)
    rows = {r["doc_id"]: r for r in out.to_dicts()}
    assert rows["d1"]["is_canonical"] and not rows["d0"]["is_canonical"]
    assert rows["d0"]["duplicate_of"] == "d1" and rows["d0"]["duplicate_kind"] == "near"
    assert rows["d0"]["cluster_id"] == rows["d1"]["cluster_id"]
    assert rows["d2"]["is_canonical"] and rows["d2"]["cluster_id"] != rows["d1"]["cluster_id"]
    assert pairs.height == 1


def test_exact_copies_share_doc_id_and_one_is_canonical() -> None:
    docs = _docs([STORY, STORY], ids=["x", "x"])
    out, _, _ = deduplicate(docs, MH, DD)
    assert out["is_canonical"].to_list() == [True, False]
    assert out["duplicate_kind"].to_list() == [None, "exact"]


def test_history_canonical_stays_canonical() -> None:
    first, sigs, _ = deduplicate(_docs([STORY], [dt.date(2025, 3, 5)], ids=["old"]), MH, DD)
    index = _index(first, sigs)
    later = _docs([STORY.replace("Tuesday", "Monday")], [dt.date(2025, 3, 1)], ids=["new"])
    out, _, _ = deduplicate(later, MH, DD, index)
    assert out["duplicate_of"].to_list() == ["old"]
    assert out["cluster_id"].to_list() == [first["cluster_id"][0]]
    assert out["is_canonical"].to_list() == [False]


texts = st.lists(
    st.text(alphabet=st.sampled_from("abcdefgh "), min_size=20, max_size=200),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(texts)
def test_properties_self_duplicate_and_one_canonical_per_cluster(ts: list[str]) -> None:
    docs = _docs([*ts, ts[0]], ids=[f"d{i}" for i in range(len(ts))] + ["d0"])
    out, _, _ = deduplicate(docs, MH, DD)
    # a document is its own near-duplicate: the copy lands in the first one's cluster
    assert out["cluster_id"][-1] == out["cluster_id"][0]
    per_cluster = out.group_by("cluster_id").agg(pl.col("is_canonical").sum())
    assert (per_cluster["is_canonical"] == 1).all()
    # idempotent: running again gives the same clusters
    again, _, _ = deduplicate(docs, MH, DD)
    assert again["cluster_id"].to_list() == out["cluster_id"].to_list()


def _index(out: pl.DataFrame, sigs: pl.DataFrame) -> pl.DataFrame:
    return (
        out.unique("doc_id", keep="first")
        .join(sigs, on="doc_id")
        .select(
            "doc_id",
            "cluster_id",
            "published_date",
            "boilerplate_ratio",
            "n_chars",
            "signature",
            "n_tokens",
            "n_shingles",
        )
    )


def test_copy_of_an_earlier_duplicate_points_at_its_canonical() -> None:
    a = STORY
    b = STORY.replace("overnight", "during the night")
    first, sigs, _ = deduplicate(
        _docs([a, b], [dt.date(2025, 3, 1), dt.date(2025, 3, 2)], ids=["a", "b"]), MH, DD
    )
    assert first["duplicate_of"].to_list() == [None, "a"]
    # c is a near-copy of b only (b's edit, plus one of its own)
    c = b.replace("regional summit", "regional summit of leaders")
    later, _, _ = deduplicate(_docs([c], ids=["c"]), MH, DD, _index(first, sigs))
    assert later["duplicate_of"].to_list() == ["a"]
    assert later["cluster_id"].to_list() == [first["cluster_id"][0]]


unicode_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300
) | st.lists(
    st.sampled_from(["Café", "É", "’s", "“x”", "—", "10,000", "ß", "日本", "a", "b"]), max_size=40
).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(unicode_text, min_size=1, max_size=6))
def test_kernel_signatures_are_bit_identical_to_datasketch(ts: list[str]) -> None:
    series = pl.Series(ts, dtype=pl.String)
    for kind in ("word", "char"):
        fast = fast_signatures(series, MH, kind=kind)
        reference = signatures(shingle(ts, MH, kind=kind), MH, kind=kind)
        assert np.array_equal(fast, reference), kind


@settings(max_examples=150, deadline=None)
@given(st.lists(unicode_text, min_size=1, max_size=6))
def test_kernel_word_counts_are_the_folded_words(ts: list[str]) -> None:
    from flows.core.minhash import signatures_and_word_counts
    from flows.core.text import fold

    _, counts = signatures_and_word_counts(pl.Series(ts, dtype=pl.String), MH)
    expected = pl.select(fold(pl.lit(pl.Series(ts, dtype=pl.String)))).to_series()
    assert counts.tolist() == [len(t.split()) for t in expected.to_list()]


def test_kernel_matches_per_shingle_datasketch_update() -> None:
    texts = [STORY, OTHER, "Zürich’s “big” day — 10,000 troops, ÉTÉ"]
    for kind, func in (("word", word_hashfunc), ("char", hashfunc)):
        fast = fast_signatures(pl.Series(texts), MH, kind=kind)
        for i, s in enumerate(shingle(texts, MH, kind=kind)):
            m = MinHash(num_perm=MH.num_perm, seed=MH.seed, hashfunc=func)
            for sh in s:
                m.update(sh)
            assert np.array_equal(fast[i], m.hashvalues), kind


def test_exact_verification_decides_by_the_true_jaccard() -> None:
    base = (
        "the defence ministry said on tuesday that about twelve thousand troops had crossed the "
        "river near the northern town overnight while officials in the capital warned of further "
        "escalation in the coming days and weeks ahead of the summit"
    )
    texts = [base, base.replace("tuesday", "wednesday")]  # true word-5-gram Jaccard 0.75
    mh5 = MinHashConfig(ngram=5)
    sig = fast_signatures(pl.Series(texts), mh5)
    estimate = float((sig[0] == sig[1]).mean())
    assert estimate != 0.75
    # a threshold between the estimate and the truth: the two modes must disagree
    threshold = (estimate + 0.75) / 2
    # word n-grams only: this 37-word text would also be compared on character n-grams
    config = {
        "threshold": threshold,
        "candidate_threshold": 0.3,
        "containment": 1.0,
        "coverage": 1.0,
        "short_tokens": 0,
        "aligned_coverage": 0.0,
    }
    docs = _docs(texts)
    estimated, _, _ = deduplicate(docs, mh5, DedupConfig(**config))
    exact, _, pairs = deduplicate(docs, mh5, DedupConfig(verify="exact", **config))
    truth_passes = threshold <= 0.75
    assert exact["is_canonical"].sum() == (1 if truth_passes else 2)
    assert estimated["is_canonical"].sum() == (2 if truth_passes else 1)
    if truth_passes:
        assert pairs["similarity"].to_list() == [0.75]


def test_a_truncated_copy_is_found_by_containment() -> None:
    import random

    rng = random.Random(7)
    words = [f"w{rng.randrange(5000)}" for _ in range(300)]  # a long text that never repeats
    long = " ".join(words)
    truncated = " ".join(words[:180])  # the first 60%
    docs = _docs([long, truncated])
    # Jaccard (about 0.6) and coverage set out of reach: containment alone finds it
    strict = dataclasses.replace(DD, threshold=0.9, coverage=1.0)
    out, _, pairs = deduplicate(docs, MH, strict)
    assert out["is_canonical"].to_list() == [True, False]
    assert pairs["similarity"][0] < strict.threshold
    # a lede of a fifth of the text is not a copy of it, even wholly contained
    brief = " ".join(words[:60])
    out, _, _ = deduplicate(_docs([long, brief]), MH, DD)
    assert out["is_canonical"].to_list() == [True, True]


def test_copies_edited_on_both_sides_are_found_by_coverage() -> None:
    import random

    rng = random.Random(11)
    words = [f"w{rng.randrange(5000)}" for _ in range(300)]

    def edited(seed: int) -> str:
        r = random.Random(seed)  # about 8% of words replaced, independently on each side
        return " ".join(w if r.random() > 0.08 else f"x{r.randrange(5000)}" for w in words)

    a, b = edited(1), edited(2)
    out, _, pairs = deduplicate(_docs([a, b]), MH, DD)
    assert out["cluster_id"].n_unique() == 1 and out["is_canonical"].sum() == 1
    assert pairs["similarity"][0] < DD.threshold  # Jaccard alone misses it
    # and different texts sharing a quarter of their words in runs are not copies
    other = " ".join(words[:75] + [f"y{rng.randrange(5000)}" for _ in range(225)])
    out, _, _ = deduplicate(_docs([a, other]), MH, DD)
    assert out["is_canonical"].to_list() == [True, True]


def test_tiny_remnants_are_matched_only_exactly() -> None:
    docs = _docs(["Pay April three", "Pay April three.", "Pay April three"], ids=["a", "b", "a"])
    out, _, pairs = deduplicate(docs, MH, DD)
    assert pairs.height == 0
    assert out["duplicate_kind"].to_list() == [None, None, "exact"]


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 200), st.integers(0, 2**31))
def test_band_pairs_equal_the_group_by_pairs(n: int, seed: int) -> None:
    from flows.core.lsh import Banding, band_hashes, band_pairs

    rng = np.random.default_rng(seed)
    banding = Banding(8, 2)
    sig = rng.integers(0, 4, size=(n, 16), dtype=np.uint32)  # many shared buckets, some large
    ids = np.arange(n, dtype=np.int64)
    # the last rows come as long (id, band, hash) rows, like history from the band index
    split = n // 2
    long = buckets(pl.Series("id", ids[split:]), sig[split:], banding)
    got = band_pairs(
        ids[:split],
        band_hashes(sig[:split], banding),
        long["id"].to_numpy(),
        long["band"].to_numpy(),
        long["band_hash"].to_numpy(),
        max_full_bucket=5,
    )
    ref = candidate_pairs(buckets(pl.Series("id", ids), sig, banding).lazy(), 5).collect()
    assert set(map(tuple, got.tolist())) == set(zip(ref["left"], ref["right"], strict=True))


BRIEFS = [
    "Mansfeld lost at home to Leyton Orient on Saturday after a second-half goal from Andy "
    "Colbert left the club without a win in nine league games.",
    "Mansfeld lost at hmoe to Leyton Orient on Saturday after a second-half goal from Andy "
    "Cobletr left the club without a win in nine league games.",
    "Councillors in Dunmere voted on Monday to close the old swimming baths after a survey "
    "found the roof unsafe and repairs too costly for the town.",
]


def test_short_texts_with_typos_match_on_character_ngrams() -> None:
    out, sigs, _ = deduplicate(_docs(BRIEFS), MH, DD)
    assert out["duplicate_of"].to_list() == [None, "d0", None]
    # reported similarity is the character estimate, far above the word one (~0.2)
    assert out["similarity"][1] > 0.6
    assert sigs["char_signature"].is_not_null().to_list() == [True, True, True]
    # word 5-grams alone miss the pair: three typos break most of its 20 shingles
    mh5 = MinHashConfig(ngram=5)
    words_only, _, _ = deduplicate(
        _docs(BRIEFS), mh5, DedupConfig(short_tokens=0, coverage=1.0, aligned_coverage=0.0)
    )
    assert words_only["duplicate_of"].to_list() == [None, None, None]


def test_long_texts_carry_no_character_signature() -> None:
    _, sigs, _ = deduplicate(_docs([STORY * 3, BRIEFS[0]]), MH, DD)
    assert sigs["char_signature"].is_null().to_list() == [True, False]
    assert sigs["char_numbers"].to_list() == [None, "nine"]


def test_character_bands_do_not_share_band_ids_with_word_bands() -> None:
    from flows.core.dedup import dedup_banding, doc_buckets, doc_signatures

    banding = dedup_banding(MH, DD)
    long_text = " ".join([STORY, OTHER, STORY.replace("Tuesday", "Friday")])
    rows = doc_buckets(doc_signatures(_docs([long_text, BRIEFS[0]]), MH, DD.short_tokens), banding)
    word = rows.filter(pl.col("band") < banding.bands)
    char = rows.filter(pl.col("band") >= banding.bands)
    assert word.height == 2 * banding.bands
    assert char["id"].unique().to_list() == ["d1"]
    assert char["band"].max() == 2 * banding.bands - 1


def test_short_texts_that_differ_in_their_numbers_are_not_matched_on_characters() -> None:
    a = "Japan bought 5,000 tonnes of Canadian rapeseed overnight at an undisclosed price."
    b = "Japan bought 7,000 tonnes of Canadian rapeseed overnight at an undisclosed price."
    c = "Japan bought 5000 tonnes of Canadian rapeseed overnite at an undisclosed price."
    out, _, _ = deduplicate(_docs([a, b, c]), MH, DD)
    assert out["duplicate_of"].to_list() == [None, None, "d0"]


def test_numbers_key_reads_digits_and_number_words() -> None:
    from flows.core.dedup import numbers_key

    texts = pl.Series(["Seven ships, 1,500 tonnes at 16-3/8 pct", "no numbers here", "7 and 7"])
    assert numbers_key(texts).to_list() == ["1500 16-3/8 seven", "", "7"]


def test_a_text_inside_a_much_longer_one_is_not_its_duplicate() -> None:
    long_text = " ".join([STORY, OTHER, STORY.replace("Tuesday", "Friday").replace("twelve", "9")])
    short = OTHER  # all of it inside long_text, at about a fifth of its length
    # bands of one row make every pair with a shared shingle a candidate
    config = DedupConfig(bands=128, rows=1, short_tokens=0)
    out, _, _ = deduplicate(_docs([long_text, short]), MH, config)
    assert out["duplicate_of"].to_list() == [None, None]
    closer = DedupConfig(bands=128, rows=1, short_tokens=0, containment_min_ratio=0.1)
    out, _, _ = deduplicate(_docs([long_text, short]), MH, closer)
    assert out["duplicate_of"].to_list() == [None, "d0"]


def test_band_hashes_are_fnv_1a_of_each_band_and_pick_rows() -> None:
    from flows.core import lsh

    rng = np.random.default_rng(0)
    sig = rng.integers(0, 2**32, size=(50, MH.num_perm), dtype=np.uint64).astype(np.uint32)
    for banding in (choose_banding(0.5, MH.num_perm), lsh.Banding(64, 2)):
        whole = lsh.band_hashes(sig, banding)
        assert whole.shape == (50, banding.bands) and whole.dtype == np.uint64
        rows = np.array([7, 3, 3, 49, 0])
        assert np.array_equal(lsh.band_hashes(sig, banding, rows), whole[rows])
        # FNV-1a over the band's values, as stored in the index by earlier versions
        for row in (3, 49):
            for band in (0, banding.bands - 1):
                h = 0xCBF29CE484222325
                for v in sig[row, band * banding.rows : (band + 1) * banding.rows]:
                    h = ((h ^ int(v)) * 0x100000001B3) % 2**64
                assert int(whole[row, band]) == h
    assert lsh.band_hashes(sig[:0], lsh.Banding(4, 2)).shape == (0, 4)


def test_the_candidate_histogram_counts_rejected_candidates_too() -> None:
    import random

    from flows.core.dedup import CandidateHistogram

    rng = random.Random(3)
    words = [f"w{rng.randint(0, 10_000)}" for _ in range(300)]
    other = [f"v{rng.randint(0, 10_000)}" for _ in range(210)]
    # 30% shared: J ~ 0.18, a likely LSH candidate that verification rejects
    half = " ".join(words[:90] + other)
    docs = _docs([STORY, STORY.replace("overnight", "during the night"), " ".join(words), half])
    candidates = CandidateHistogram(bins=10)
    _, _, pairs = deduplicate(docs, MH, DD, candidates=candidates)
    assert candidates.counts.sum() > pairs.height > 0  # a rejected candidate was counted
    # the accepted pairs are all counted, each in the bin of its similarity
    accepted = np.histogram(pairs["similarity"].to_numpy(), bins=10, range=(0.0, 1.0))[0]
    assert (candidates.counts >= accepted).all()


NOTICES = [
    "Dealers said Federal funds were trading at 6-5/16 pct when the Fed began its temporary and "
    "indirect supply of reserves to the banking system.",
    "Dealers said Federal funds were trading at 6-1/8 pct when the Fed began its temporary and "
    "indirect supply of reserves to the banking system.",
    "Kessmoor Savings Bank said it raised its prime rate to 7-3/4 pct from 7-1/2 pct, effective "
    "immediately, following moves by larger banks.",
    "Harlow Dunmere Trust said it raised its prime rate to 7-3/4 pct from 7-1/2 pct, effective "
    "immediately, following moves by larger banks.",
    "Dealers said Federal funds were trading at 6-5/16 pct when the Fed began its temporary and "
    "indirect supply of reserves to the banking system, traders said.",
]


def test_notices_of_one_template_stay_apart_by_their_figures_and_names() -> None:
    out, _, _ = deduplicate(_docs(NOTICES), MH, DD)
    # another day's figure, another bank's name: four reports; the last repeats the first
    clusters = out["cluster_id"].to_list()
    assert clusters[0] == clusters[4]
    assert len(set(clusters)) == 4


def test_names_key_skips_sentence_starts() -> None:
    from flows.core.dedup import names_key

    keys = names_key(pl.Series(["Kessmoor Savings Bank said. Dealers met Harlow Trust."]))
    assert keys.to_list() == ["bank harlow savings trust"]


def test_names_key_skips_a_title_case_headline_only() -> None:
    from flows.core.dedup import names_key

    keys = names_key(
        pl.Series(
            [
                "Harlow Trust Posts Record Quarter\nShares of Harlow Trust rose at Kessmoor.",
                # a headline in capitals, and title-case rows further down, are kept
                "WHEAT AT KESSMOOR UP\nPrices at Harlow.\nRecord April Ten",
                # a first line that is a sentence is kept
                "Dealers at Harlow Trust said prices rose\nNothing Else",
            ]
        )
    )
    assert keys.to_list() == [
        "harlow kessmoor trust",
        "april at harlow kessmoor ten up",  # line starts are never names
        "else harlow trust",
    ]


def _word(k: int) -> str:
    """Return a lowercase letter word for k (no digits: the figures veto reads digits)."""
    out = ""
    while True:
        k, r = divmod(k, 26)
        out += chr(97 + r)
        if k == 0:
            return "q" + out


def _random_words(seed: int, n: int) -> list[str]:
    import random

    rng = random.Random(seed)
    return [_word(rng.randrange(5000)) for _ in range(n)]


def _edit(words: list[str], seed: int, share: float) -> list[str]:
    """Replace, drop or add about `share` of the words, independently per call."""
    import random

    r = random.Random(seed)
    out: list[str] = []
    for w in words:
        x = r.random()
        if x < share / 3:
            continue  # dropped
        if x < 2 * share / 3:
            out.append("x" + _word(r.randrange(5000)))  # replaced
        elif x < share:
            out += [w, "y" + _word(r.randrange(5000))]  # a word added
        else:
            out.append(w)
    return out


ALIGNED = DD  # the rule is on by default (aligned_coverage 0.5)
UNALIGNED = dataclasses.replace(DD, aligned_coverage=0.0)


def test_copies_edited_beyond_their_ngrams_are_found_by_aligned_words() -> None:
    # a short story (few 3-grams, each edit costs three); seed 8 makes the pair an LSH candidate
    words = _random_words(8, 60)
    a, b = " ".join(_edit(words, 1, 0.2)), " ".join(_edit(words, 2, 0.2))
    out, _, _ = deduplicate(_docs([a, b]), MH, UNALIGNED)
    assert out["cluster_id"].n_unique() == 2  # the n-gram rules miss it
    out, _, _ = deduplicate(_docs([a, b]), MH, ALIGNED)
    assert out["cluster_id"].n_unique() == 1
    # two different stories aligned by chance only share common words: apart
    other = " ".join(_random_words(4, 60))
    out, _, _ = deduplicate(_docs([a, other]), MH, ALIGNED)
    assert out["cluster_id"].n_unique() == 2


def test_a_lede_wholly_aligned_with_its_story_is_not_its_copy() -> None:
    words = _random_words(5, 120)
    story = " ".join(_edit(words, 1, 0.1))
    lede = " ".join(_edit(words[:50], 2, 0.1))  # its words align, but it is 0.4 of the story
    out, _, _ = deduplicate(_docs([story, lede]), MH, ALIGNED)
    assert out["cluster_id"].n_unique() == 2


def test_serial_reports_aligned_on_their_template_stay_apart_by_their_figures() -> None:
    template = _random_words(6, 80)

    def report(figures: list[str], seed: int) -> str:
        words = list(template)
        for k, f in enumerate(figures):  # a figure every ten words
            words.insert(10 * k + 5, f)
        return " ".join(_edit(words, seed, 0.2))

    january = report(["1.1", "0.2", "17.6", "18.1", "3.4", "5.5", "12.0", "9.7"], 1)
    february = report(["2.2", "1.1", "18.9", "17.6", "3.5", "5.9", "11.0", "9.7"], 2)
    out, _, _ = deduplicate(_docs([january, february]), MH, ALIGNED)
    assert out["cluster_id"].n_unique() == 2
    # the same report's copies keep its figures and are one
    copy = report(["1.1", "0.2", "17.6", "18.1", "3.4", "5.5", "12.0", "9.7"], 3)
    out, _, _ = deduplicate(_docs([january, copy]), MH, ALIGNED)
    assert out["cluster_id"].n_unique() == 1


def test_aligned_words_count_the_longest_common_subsequence() -> None:
    from flows.core.dedup import align_words

    texts = pl.Series(["a b c d e", "a x c d e f", None, ""])
    al = align_words(texts, np.array([0, 0, 0]), np.array([1, 2, 3]))
    assert al.common.tolist() == [4, 0, 0]
    assert al.left.tolist() == [5, 5, 5] and al.right.tolist() == [6, 0, 0]
    assert al.share().tolist() == [4 / 6, 0.0, 0.0]


def _draw_pairs(
    data: st.DataObject, rows: int
) -> tuple[list[tuple[int, int]], np.ndarray, np.ndarray]:
    """Draw up to 8 row pairs of `rows` rows; return them and their left and right rows."""
    index = st.integers(0, rows - 1)
    pairs = data.draw(st.lists(st.tuples(index, index), max_size=8))
    left = np.array([a for a, _ in pairs], dtype=np.int64)
    right = np.array([b for _, b in pairs], dtype=np.int64)
    return pairs, left, right


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.none()
        | st.lists(st.sampled_from(["a", "b", "c", "d", "e", "x", "Q"]), max_size=9).map(" ".join),
        min_size=1,
        max_size=6,
    ),
    st.data(),
)
def test_aligned_words_are_the_longest_common_word_subsequence(
    texts: list[str | None], data: st.DataObject
) -> None:
    from flows.core.dedup import alignment as dedup

    pairs, left, right = _draw_pairs(data, len(texts))
    got = dedup.align_words(pl.Series(texts, dtype=pl.String), left, right)

    def lcs(x: list[str], y: list[str]) -> int:  # the textbook dynamic programme
        table = [[0] * (len(y) + 1) for _ in range(len(x) + 1)]
        for i, u in enumerate(x):
            for j, v in enumerate(y):
                table[i + 1][j + 1] = (
                    table[i][j] + 1 if u == v else max(table[i][j + 1], table[i + 1][j])
                )
        return table[-1][-1]

    words = [(t or "").lower().split() for t in texts]
    assert got.common.tolist() == [lcs(words[a], words[b]) for a, b in pairs]
    assert got.left.tolist() == [len(words[a]) for a, _ in pairs]
    assert got.right.tolist() == [len(words[b]) for _, b in pairs]
    # more distinct words than code points: the word lists themselves, same answer
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dedup, "_CODE_POINTS", 1)
        lists = dedup.align_words(pl.Series(texts, dtype=pl.String), left, right)
    assert lists.common.tolist() == got.common.tolist()
    # texts coded and pairs aligned a few at a time: the same counts
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dedup, "_CODE_BLOCK", data.draw(st.integers(1, 3)))
        patch.setattr(dedup, "_ALIGN_BLOCK", data.draw(st.integers(1, 3)))
        blocked = dedup.align_words(pl.Series(texts, dtype=pl.String), left, right)
    assert blocked.common.tolist() == got.common.tolist()
    assert blocked.left.tolist() == got.left.tolist()
    assert blocked.right.tolist() == got.right.tolist()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.none()
        | st.lists(st.sampled_from(["1", "2", "3", "4.5", "x"]), max_size=5, unique=True).map(
            " ".join
        ),
        min_size=1,
        max_size=6,
    ),
    st.data(),
)
def test_key_overlap_counts_the_keys_pairs_share(
    keys: list[str | None], data: st.DataObject
) -> None:
    from flows.core.dedup import key_overlap

    pairs, left, right = _draw_pairs(data, len(keys))
    got = key_overlap(pl.Series(keys, dtype=pl.String), left, right)
    # keys are distinct within a text (numbers_key and names_key join distinct values)
    sets = [None if k is None else set(k.split()) for k in keys]
    assert got.shared.tolist() == [
        len(sets[a] & sets[b]) if sets[a] is not None and sets[b] is not None else 0
        for a, b in pairs
    ]
    assert got.left.tolist() == [-1 if sets[a] is None else len(sets[a]) for a, _ in pairs]
    assert got.right.tolist() == [-1 if sets[b] is None else len(sets[b]) for _, b in pairs]


GRAIN = (
    "Ostrel's grain board said on Monday that wheat exports reached 1.2 million tonnes in the "
    "week to March 3, up from 900,000 tonnes a week earlier. Shipments to Egypt and Tunisia "
    "made up most of the total. Barley exports were 150,000 tonnes."
)


def test_a_short_copy_that_dropped_a_sentence_keeps_its_story_despite_lost_figures() -> None:
    cut = GRAIN.rsplit(" Barley", 1)[0]  # an outlet dropped the last sentence and its figure
    out, _, _ = deduplicate(_docs([GRAIN, cut]), MH, DD)
    assert out["duplicate_of"].to_list() == [None, "d0"]


def test_short_notices_whose_template_slots_differ_stay_apart() -> None:
    # the next week's report: a figure and a date in the same slots, and a sentence dropped
    other_week = GRAIN.replace("1.2 million", "1.4 million").rsplit(" Barley", 1)[0]
    monday = GRAIN.replace("on Monday", "on Tuesday").rsplit(" Barley", 1)[0]
    out, _, _ = deduplicate(_docs([GRAIN, other_week, monday]), MH, DD)
    assert out["duplicate_of"].to_list() == [None, None, None]


def test_figure_replaced_reads_the_edit_script() -> None:
    from flows.core.dedup import figure_replaced

    texts = pl.Series(
        [
            "Fund pays 6.5 cts vs 6.5 cts prior, effective April 1.",
            "Fund pays 6.5 cts vs 6.8 cts prior, effective April 1.",
            "Fund pays 6.5 cts vs 6.5 cts prior, effective immediately.",
            "Fund pays 6.5 cts vs 6.5 cts prior.",
            None,
        ]
    )
    left, right = np.array([0, 0, 0, 0]), np.array([1, 2, 3, 4])
    # a figure for a figure, a date for a word (one region), a clause cut, an unknown text
    assert figure_replaced(texts, left, right).tolist() == [True, True, False, True]


def test_figure_replaced_with_names_reads_a_changed_subject() -> None:
    from flows.core.dedup import figure_replaced

    texts = pl.Series(
        [
            "Kessmoor Oil said it raised its crude postings by 50 cts a barrel.",
            "Harlow Petroleum said it raised its crude postings by 50 cts a barrel.",
            "Kessmoor Oil said it has raised its crude postings by 50 cts a barrel.",
        ]
    )
    left, right = np.array([0, 0]), np.array([1, 2])
    assert figure_replaced(texts, left, right).tolist() == [False, False]
    assert figure_replaced(texts, left, right, names=True).tolist() == [True, False]


def test_figure_replaced_tells_typos_and_new_headlines_from_rewritten_slots() -> None:
    from flows.core.dedup import figure_replaced

    body = "The Kessmoor Agriculture Department said five ships loaded 1,500 tonnes."
    texts = pl.Series(
        [
            f"Kessmoor Grain Ships Loaded\n{body}",
            # a new headline, a mistyped name and a mistyped word
            f"Ships Leave Harlow Port In Haste\n{body}".replace(
                "Agriculture", "Agirculture"
            ).replace("loaded", "loadde"),
            body.replace("five", "nine"),  # a number word for another, two letters apart
            body.replace("1,500", "1,600"),  # a figure for another
            body.replace("Kessmoor", "Harlow"),  # another subject
            body.replace("Kessmoor Agriculture", "Kesmoor"),  # a typo and a word cut
        ]
    )
    left, right = np.zeros(5, dtype=np.int64), np.arange(1, 6)
    assert figure_replaced(texts, left, right, names=True).tolist() == [
        False,
        True,
        True,
        True,
        False,
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_docs=st.integers(0, 12),
    bands=st.integers(1, 6),
    rows=st.integers(1, 3),
    per_chunk=st.integers(1, 7),
    seed=st.integers(0, 2**31),
)
def test_band_chunks_are_the_sorted_band_table_block_by_block(
    n_docs: int, bands: int, rows: int, per_chunk: int, seed: int
) -> None:
    from flows.core.dedup import doc_bucket_chunks, doc_bucket_keys, doc_buckets
    from flows.core.lsh import Banding

    rng = np.random.default_rng(seed)
    width = bands * rows + seed % 3  # values past the last band, as 128 = 20 x 6 + 8
    # few distinct values, so that buckets are shared and ties in (band, band_hash) occur
    sig = rng.integers(0, 3, size=(n_docs, width), dtype=np.uint32)
    shingles = rng.integers(0, 2, size=n_docs)
    short = rng.integers(0, 2, size=n_docs).astype(bool)
    chars = rng.integers(0, 3, size=(n_docs, width), dtype=np.uint32)
    frame = pl.DataFrame(
        {
            "doc_id": [f"d{i:02d}" for i in range(n_docs)],
            "n_shingles": shingles,
            "signature": pl.Series(sig.tolist(), dtype=pl.Array(pl.UInt32, width)),
            "char_signature": pl.Series(
                [c.tolist() if s else None for c, s in zip(chars, short, strict=True)],
                dtype=pl.List(pl.UInt32),
            ),
        }
    )
    banding = Banding(bands, rows)
    # the definition: each space banded whole, character bands numbered after the word bands
    word = shingles > 0
    oracle = pl.concat(
        [
            buckets(frame["doc_id"].filter(word), sig[word], banding),
            buckets(frame["doc_id"].filter(short), chars[short], banding).with_columns(
                pl.col("band") + bands
            ),
        ]
    ).sort("band", "band_hash", "id")
    whole = doc_buckets(frame, banding)
    assert whole.sort("band", "band_hash", "id").equals(oracle)
    chunks = list(doc_bucket_chunks(frame, banding, per_chunk))
    assert all(c.schema == whole.schema for c in chunks)
    got = pl.concat([whole.clear(), *chunks])
    assert got.equals(oracle)
    # a block at a time: no chunk holds more than `per_chunk` bands
    assert all(c["band"].n_unique() <= per_chunk for c in chunks)
    # the keys a lookup asks for: each bucket once
    keys = doc_bucket_keys(frame, banding)
    assert keys.schema == whole.select("band", "band_hash").schema
    assert keys.equals(oracle.select("band", "band_hash").unique().sort(pl.all()))


@given(st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 3), max_size=300))
def test_stable_argsort_is_numpys_stable_argsort(values: list[int]) -> None:
    # many ties (0-3): equal band hashes must keep their rows' order, which `band_pairs` and
    # `text_band_pairs` rely on (a large bucket is led by its smallest node)
    array = np.array(values, dtype=np.uint64)
    assert stable_argsort(array).tolist() == np.argsort(array, kind="stable").tolist()


@given(st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 5), max_size=300))
def test_unique_inverse_is_numpys_unique_with_inverse(values: list[int]) -> None:
    array = np.array(values, dtype=np.uint64)
    distinct, inverse = unique_inverse(array)
    expected, expected_inverse = np.unique(array, return_inverse=True)
    assert distinct.tolist() == expected.tolist()
    assert inverse.tolist() == expected_inverse.tolist()
