"""Verification of candidate pairs: similarity, coverage, and the vetoes of templates."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from rapidfuzz.distance import Levenshtein

from flows.core.dedup.alignment import align_words
from flows.core.dedup.signatures import NUMBER, without_titles
from flows.core.dedup.similarity import (
    CharSpace,
    estimate,
    estimated_containment,
    estimated_coverage,
    exact_similarity,
)
from flows.core.kernel import shared_values
from flows.core.settings import DedupConfig, MinHashConfig


@dataclass
class CandidateHistogram:
    """Counts of every LSH candidate pair's similarity, accepted or not, in equal bins of [0, 1].

    The verified pairs are the accepted ones only; the run report shows where all candidates
    fell against the threshold. Counting keeps memory constant however many candidates there are.
    """

    bins: int = 20
    counts: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.counts = np.zeros(self.bins, dtype=np.int64)

    def add(self, similarity: np.ndarray) -> None:
        """Count a block of similarities (NaN left out; 1.0 goes to the last bin)."""
        finite = similarity[np.isfinite(similarity)]
        self.counts += np.histogram(finite, bins=self.bins, range=(0.0, 1.0))[0]


# Candidate pairs verified at a time (4M pairs: ~200 MB of temporaries).
VERIFY_BLOCK = 1 << 22


def verify_pairs(
    pairs: np.ndarray,
    n: int,
    ids: pl.Series,
    docs: pl.DataFrame,
    matrix: np.ndarray,
    sizes: np.ndarray,
    chars: CharSpace,
    texts: pl.Series | None,
    numbers: pl.Series,
    names: pl.Series,
    minhash: MinHashConfig,
    config: DedupConfig,
    candidates: CandidateHistogram | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the accepted pairs of a block: left, right, similarity, containment."""
    left = pairs[:, 0]
    right = pairs[:, 1]
    similarity = estimate(matrix, left, right)
    if config.verify == "exact" and len(left):
        local = right < n
        doc_texts = docs.select("doc_id", "clean_text")
        local_pairs = pl.DataFrame(
            {"left": ids.gather(left[local]), "right": ids.gather(right[local])}
        )
        if local_pairs.height:
            similarity[local] = exact_similarity(local_pairs, doc_texts, minhash).to_numpy()
    containment = estimated_containment(similarity, sizes[left], sizes[right])
    # A much shorter text inside a longer one is not its copy (a report inside a live blog):
    # containment makes duplicates only down to this length ratio; `contained_in` covers the rest.
    ratio = np.minimum(sizes[left], sizes[right]) / np.maximum(
        np.maximum(sizes[left], sizes[right]), 1
    )
    contained_copy = (containment >= config.containment) & (ratio > config.containment_min_ratio)
    keep = (similarity >= config.threshold) | contained_copy
    # An edited copy keeps a good part of the longer text however both were edited; a brief
    # (the lede alone) or a report quoting another does not. Short notices of one template
    # (stock splits, listings of different companies) share a third of their few n-grams by
    # their wording alone, so short pairs need `short_coverage`.
    long_pair = np.minimum(sizes[left], sizes[right]) >= config.short_tokens
    bar = np.where(long_pair, config.coverage, config.short_coverage)
    keep |= estimated_coverage(similarity, sizes[left], sizes[right]) >= bar
    # Short texts are also compared on character n-grams, which a typo or a changed word
    # disturbs far less than word n-grams: a pair counts when either space says so.
    # Only on Jaccard: a short text's character n-grams are common enough that containment
    # would merge templated notices (Reuters-21578: "said its board declared a three-for-two
    # stock split" from different companies).
    c_sim = chars.compare(left, right)
    keep |= c_sim >= config.short_threshold
    similarity = np.fmax(similarity, c_sim)
    # What the n-gram rules reject may still read as the same text: an edit breaks three word
    # 3-grams but leaves the words around it aligned. Only the rejected pairs are aligned.
    aligned = np.zeros(len(left), dtype=bool)
    if texts is not None and config.aligned_coverage > 0:
        todo = np.flatnonzero(~keep)
        alignment = align_words(texts, left[todo], right[todo])
        aligned[todo] = (alignment.share() >= config.aligned_coverage) & (
            alignment.ratio() >= config.aligned_min_ratio
        )
        keep |= aligned
    if candidates is not None:
        candidates.add(similarity)
    # Different reports on one template (a weekly crop report, a monthly money-supply figure,
    # a bank's prime rate) share most of their words but not their figures or names: a pair
    # whose texts both carry figures must share most of the smaller text's figures, and
    # likewise its names; two short texts (notices) must carry exactly the same figures.
    vetoes = (
        (numbers, config.numbers_min_count, config.numbers_min_shared, True),
        (names, config.names_min_count, config.names_min_shared, False),
    )
    for keys, min_count, min_shared, short_same_set in vetoes:
        check = np.flatnonzero(keep)
        if not len(check):
            break
        overlap = key_overlap(keys, left[check], right[check])
        veto = overlap.share(min_count) < min_shared
        veto |= aligned[check] & _weak_agreement(overlap, config)
        if short_same_set:
            other = ~long_pair[check] & ~overlap.same_set(ratio[check] < _TRUNCATED_RATIO)
            if texts is not None and other.any():
                # figures lost or added with words an outlet cut or wrote are the same
                # story's; a figure written where the other text has another (a price, a
                # count, a week) is another report of the template
                at = np.flatnonzero(other)
                other[at] = figure_replaced(texts, left[check[at]], right[check[at]])
            veto |= other
        keep[check[veto]] = False
    # A pair only the word alignment accepts reads as one text with edits: a template slot
    # written with another value (a price, a month's index, a week, a company) makes it two
    # reports.
    if texts is not None and aligned.any():
        at = np.flatnonzero(keep & aligned)
        keep[at[figure_replaced(texts, left[at], right[at], names=True)]] = False
    return left[keep], right[keep], similarity[keep], containment[keep]


_SLOT_WORD = re.compile(r"\w(?:[\w.,/-]*\w)?")


# A template's slots: figures, and the days and months a notice is dated by ("for May
# shipment" against "for late May/early June shipment").
_SLOT_VALUE = re.compile(
    f"(?:{NUMBER})|january|february|march|april|may|june|july|august|september|october"
    "|november|december|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
)


def _slot_words(text: str | None) -> list[str] | None:
    """Return a text's words, figures whole ("1,500", "6.5", "16-3/8")."""
    return None if text is None else _SLOT_WORD.findall(text)


def figure_replaced(
    texts: pl.Series, left: np.ndarray, right: np.ndarray, names: bool = False
) -> np.ndarray:
    """Return, per row pair, whether turning one text into the other replaces a figure or date.

    The edit script is the Levenshtein opcodes over the two word lists: a changed region
    (`_changed_regions`: consecutive changes) with words on both sides and a figure, day or
    month on either says that a slot of one template carries another value ("6.5 cts vs 6.8
    cts", "seven grain ships", "33.0 millimetres" for "nil", "May" for "late May/early
    June"). Figures only inserted or deleted (a dropped sentence, a cut clause) are not
    replaced. With `names`, a region with a capitalised word on both sides counts too: the
    subject of one template ("Murphy Oil said it raised ..." against "Unocal said it
    raised ..."). Words mistyped on one side (`_typo`) are matched, not replaced, and
    a title-case first line (a headline an outlet rewrote) is left out. True where a text is
    unknown.
    """
    out = np.ones(len(left), dtype=bool)
    rows = np.unique(np.concatenate([left, right]))
    bodies = without_titles(texts.gather(rows))
    words = dict(zip(rows.tolist(), map(_slot_words, bodies.to_list()), strict=True))
    for k, (a, b) in enumerate(zip(left.tolist(), right.tolist(), strict=True)):
        wa, wb = words[a], words[b]
        if wa is None or wb is None:
            continue
        la, lb = [w.lower() for w in wa], [w.lower() for w in wb]
        out[k] = any(
            _region_replaced(wa, wb, la, lb, region, names)
            for region in _changed_regions(Levenshtein.opcodes(la, lb))
        )
    return out


def _region_replaced(
    wa: list[str],
    wb: list[str],
    la: list[str],
    lb: list[str],
    region: tuple[int, int, int, int],
    names: bool,
) -> bool:
    """Return whether one changed region writes a slot value (or, with `names`, a name) anew."""
    i1, i2, j1, j2 = region
    if i2 == i1 or j2 == j1:
        return False  # words only inserted or deleted
    ka, kb = _untypoed(la, i1, i2, lb, j1, j2)
    if not ka or not kb:
        return False  # what is left besides typos is inserted or deleted
    if any(_SLOT_VALUE.fullmatch(la[i]) for i in ka) or any(
        _SLOT_VALUE.fullmatch(lb[j]) for j in kb
    ):
        return True
    return names and any(wa[i][0].isupper() for i in ka) and any(wb[j][0].isupper() for j in kb)


def _typo(a: str, b: str) -> bool:
    """Return whether two lower-case words are one word mistyped ("agiculture", "paymezt").

    At most two character edits (a transposition is two) in words of four letters or more,
    no digits (a figure with another digit is another figure), and not two slot values
    ("five" and "nine" are two edits apart).
    """
    return (
        min(len(a), len(b)) >= 4
        and not any(c.isdigit() for c in a + b)
        and Levenshtein.distance(a, b, score_cutoff=2) <= 2
        and not (_SLOT_VALUE.fullmatch(a) and _SLOT_VALUE.fullmatch(b))
    )


def _untypoed(
    la: list[str], i1: int, i2: int, lb: list[str], j1: int, j2: int
) -> tuple[list[int], list[int]]:
    """Return the word positions of a changed region left once typo pairs are matched.

    The pairs are matched in order (longest common subsequence with `_typo` as equality),
    so "ePnnsylvania Savings" against "Pennsylvania" leaves "savings" alone: a deletion.
    """
    n, m = i2 - i1, j2 - j1
    typo = [[_typo(la[i1 + x], lb[j1 + y]) for y in range(m)] for x in range(n)]
    table = np.zeros((n + 1, m + 1), dtype=np.int32)
    for x in range(n):
        for y in range(m):
            if typo[x][y]:
                table[x + 1, y + 1] = table[x, y] + 1
            else:
                table[x + 1, y + 1] = max(table[x, y + 1], table[x + 1, y])
    left_a, left_b = [], []
    x, y = n, m
    while x and y:
        if typo[x - 1][y - 1] and table[x, y] == table[x - 1, y - 1] + 1:
            x, y = x - 1, y - 1
        elif table[x - 1, y] >= table[x, y - 1]:
            left_a.append(i1 + x - 1)
            x -= 1
        else:
            left_b.append(j1 + y - 1)
            y -= 1
    left_a += [i1 + i for i in range(x)]
    left_b += [j1 + j for j in range(y)]
    return left_a, left_b


def _changed_regions(opcodes: Any) -> list[tuple[int, int, int, int]]:
    """Merge runs of non-`equal` opcodes into (i1, i2, j1, j2) regions.

    "april 1" against "immediately" is one changed region however the script splits it
    (replace then delete, or delete then replace).
    """
    regions: list[tuple[int, int, int, int]] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            continue
        if regions and regions[-1][1] == i1 and regions[-1][3] == j1:
            regions[-1] = (regions[-1][0], i2, regions[-1][2], j2)
        else:
            regions.append((i1, i2, j1, j2))
    return regions


def row_texts(sig_frame: pl.DataFrame, docs: pl.DataFrame, history: pl.DataFrame) -> pl.Series:
    """Return the clean text of every row (the run's, then history's; null where unknown)."""
    run = sig_frame.select("doc_id").join(
        docs.select("doc_id", "clean_text").unique("doc_id", keep="first"),
        on="doc_id",
        how="left",
        maintain_order="left",
    )["clean_text"]
    if "clean_text" in history.columns:
        old = history["clean_text"].cast(pl.String)
    else:
        old = pl.Series("clean_text", [None] * history.height, dtype=pl.String)
    return pl.concat([run, old])


def _weak_agreement(overlap: KeyOverlap, config: DedupConfig) -> np.ndarray:
    """Return where two texts' figures (or names) agree too little for an aligned-only copy.

    Notices of one template (a listing, a stock split, a monthly figure) align on their
    wording and differ in a name or a figure, or repeat the last report's figures: a pair
    only the word alignment accepts must share `aligned_min_shared` of the larger key set (a
    copy of about the same length keeps its figures and names on both sides), and a text
    with keys is not copied by one without any.
    """
    larger = np.maximum(overlap.left, overlap.right)
    unknown = np.minimum(overlap.left, overlap.right) < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        agreement = np.where(larger > 0, overlap.shared / larger, 1.0)
    return ~unknown & (agreement < config.aligned_min_shared)


# Two short texts this close in length are the same notice or two of its kind: their figures
# must be the same; a shorter one may have lost figures with a dropped sentence.
_TRUNCATED_RATIO = 0.8


@dataclass(frozen=True)
class KeyOverlap:
    """Per row pair, the keys two texts share and how many each has (-1: unknown)."""

    shared: np.ndarray
    left: np.ndarray
    right: np.ndarray

    def share(self, min_count: int) -> np.ndarray:
        """Return the share of the smaller key set found in the other.

        NaN (no evidence) when either text has fewer than `min_count` keys or unknown ones.
        """
        smaller = np.minimum(self.left, self.right)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = self.shared / smaller
        share[smaller < max(min_count, 1)] = np.nan
        return share

    def same_set(self, subset_ok: np.ndarray) -> np.ndarray:
        """Return whether the texts carry the same keys (unknown ones count as the same).

        Where `subset_ok`, the smaller set need only lie in the other (a copy with a sentence
        dropped lost its figures with it).
        """
        unknown = (self.left < 0) | (self.right < 0)
        equal = (self.shared == self.left) & (self.shared == self.right)
        subset = self.shared == np.minimum(self.left, self.right)
        return unknown | equal | (subset_ok & subset)


def key_overlap(keys: pl.Series, left: np.ndarray, right: np.ndarray) -> KeyOverlap:
    """Count the keys (`numbers_key`, `names_key`: space-joined, null unknown) row pairs share."""
    rows = np.unique(np.concatenate([left, right]))
    sets = keys.gather(rows).str.split(" ").list.filter(pl.element() != "")
    sizes = np.full(len(keys), -1, dtype=np.int64)
    sizes[rows] = sets.list.len().fill_null(-1).to_numpy()
    # Each key coded by its rank among these rows' keys and each row's codes sorted, so that a
    # merge counts what two rows share (`shared_values`).
    counts = sets.list.len().fill_null(0).to_numpy()
    codes = sets.explode().drop_nulls().rank("dense").to_numpy()
    owner = np.repeat(np.arange(len(rows)), counts)
    starts = np.concatenate([[0], np.cumsum(counts)])
    shared = shared_values(
        codes[np.lexsort((codes, owner))],
        starts,
        np.searchsorted(rows, left),
        np.searchsorted(rows, right),
    )
    return KeyOverlap(shared, sizes[left], sizes[right])
