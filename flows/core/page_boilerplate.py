"""Single-page boilerplate: a learned line classifier that judges one page alone.

Recurrence across pages cannot see a kit shown once (a comment form, a share bar, a photo
credit). This module scores every line of a document in two stacked logistic stages:

1. the line alone (and its neighbours' words): length, punctuation, capitals, digits, glyphs,
   position in the page, neighbour lengths, hashed lowercased word unigrams and bigrams, and
   hashed character 3- to 5-grams within words (which carry a kit's phrasing over to wordings
   never seen: "commenting", "comments", "commentaires");
2. the line in its page (`CONTEXT`): its first-stage score next to its neighbours' (window
   mean, max and min), and where it sits relative to the lines stage 1 calls content (how much
   content comes after it, how far the last and next content lines are, the length of the run
   of non-content lines it belongs to): kits come in runs around the story, a comment form or a
   footer after the last paragraph.

The weights are learned from labelled pages by `bench/train_page_boilerplate.py` (stage 2 on
stage 1's out-of-fold scores) and loaded by `flows/io/page_model.py`; this module only computes
features and applies them (numpy and polars, no per-line Python loops).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import polars as pl
import pyarrow as pa
import xxhash
from numba import njit

from flows.core.text import utf8_buffers

# Hashed features (words, bigrams, length and position tokens) fall into 2 ** HASH_BITS slots,
# character n-grams (GRAM_SIZES long, of words padded with < and >) into 2 ** CHAR_BITS.
HASH_BITS = 15
CHAR_BITS = 15
GRAM_SIZES = (3, 4, 5)
_CHAR_MASK = np.uint64((1 << CHAR_BITS) - 1)
_MASK = np.uint64((1 << HASH_BITS) - 1)
_K1 = np.uint64(0x9E3779B97F4A7C15)
_K2 = np.uint64(0xC2B2AE3D27D4EB4F)
_WORD = r"[\p{L}\p{N}]+"
_TERMINAL = r"[.!?…][\"”’'\)\]]*$"
_GLYPHS = r"[|›»«•·►▶▸◆■□●○★☆✕×→←↑↓/\\<>\[\]{}@#+=_~^*]"

# One row per non-empty line: `row` (0..n-1, the row of the feature matrices), `doc_id`, `line`
# (index in text.split("\n"), as passages number lines) and the stripped `text`.
LINES = pl.Schema({"row": pl.Int64, "doc_id": pl.String, "line": pl.Int64, "text": pl.String})

DENSE = (
    "log_words",
    "log_chars",
    "terminal",
    "colon_end",
    "cap_share",
    "upper_share",
    "digit_share",
    "glyph_share",
    "starts_lower",
    "starts_other",
    "mean_word_len",
    "sentences",
    "rel_pos",
    "log_rank",
    "log_rank_from_end",
    "log_doc_lines",
    "chars_share",
    "prev_log_words",
    "prev_terminal",
    "next_log_words",
    "next_terminal",
    "window_log_words",
    "window_terminal",
    "has_url",
    "has_year",
    "has_copyright",
    "words_before",
    "words_after",
)


# Second-stage features: the line's first-stage logit `z` in its page (see `context_features`).
CONTEXT = (
    "z",
    "z_prev",
    "z_next",
    "z_prev2",
    "z_next2",
    "p_window_mean",
    "p_window_max",
    "p_window_min",
    "first",
    "last",
    "content_before",
    "content_after",
    "content_mass_before",
    "content_mass_after",
    "gap_prev_content",
    "gap_next_content",
    "before_first_content",
    "after_last_content",
    "run_length",
    "run_max_z",
    "run_mean_z",
    "z_before_first",
    "z_after_last",
    "log_words",
    "terminal",
    "rel_pos",
)
# The context's anchors: stage 1 calls a line content when its logit is below this (p 0.5;
# -1 or -2 with a minimum of 8-15 words measured no better in cross-validation).
_CONTENT_Z = 0.0
# Stage-1 logits are clipped to +-_Z_CLIP before stage 2 (a saturated score says no more).
_Z_CLIP = 8.0
# Documents `line_scores` scores at a time: 1,000 took 10.7 s for the 466,540 lines of the
# 34,173-page syndication inbox against 15.6 s in one piece (250: 12.8 s, 500: 11.3 s;
# 2026-12-03, 2 cores shared with another job), and hold their hashed tokens in tens of MB
# instead of about 2 GB.
SCORE_CHUNK_DOCS = 1_000
# Chunks whose dense and context features `line_scores` computes at once (5,000 documents,
# tens of MB of polars columns, whatever the block): one chunk at a time pays polars' overhead
# per call (2.36 s against 2.05-2.18 s of CPU for the 34k inbox's scores).
SCORE_WINDOW_CHUNKS = 5


@dataclass(frozen=True)
class Stage:
    """One logistic stage: standardised dense weights plus a bias."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def logit(self, x: np.ndarray) -> np.ndarray:
        """Return the stage's logit of each row of `x`."""
        return np.asarray(((x - self.mean) / self.scale) @ self.weights + self.bias)


@dataclass(frozen=True)
class PageModel:
    """The two stages: line features (dense, hashed words, hashed character n-grams), context."""

    line: Stage  # over DENSE
    hashed_weights: np.ndarray  # 2 ** HASH_BITS
    char_weights: np.ndarray  # 2 ** CHAR_BITS
    context: Stage  # over CONTEXT

    def __post_init__(self) -> None:
        if (
            self.hashed_weights.shape != (1 << HASH_BITS,)
            or self.char_weights.shape != (1 << CHAR_BITS,)
            or self.line.weights.shape != (len(DENSE),)
            or self.context.weights.shape != (len(CONTEXT),)
        ):
            raise ValueError("page model weights do not match the feature layout")


@dataclass(frozen=True)
class LineFeatures:
    """The first-stage features of `n` lines.

    `dense` is n x len(DENSE); the hashed word and shape tokens are coordinates (`rows`,
    `slots` < 2 ** HASH_BITS, `values`: unit L2 norm per row). Character n-grams are kept
    factored, so that a word's n-grams are weighed once per batch, not once per occurrence:
    word token i of line `token_rows[i]` is distinct word `token_words[i]`, whose n-grams are
    the entries of `gram_words` equal to it, in slots `gram_slots` (< 2 ** CHAR_BITS); a line's
    n-gram counts are scaled by `char_norm` (1 / sqrt of its number of n-grams).
    """

    dense: np.ndarray
    rows: np.ndarray
    slots: np.ndarray
    values: np.ndarray
    token_rows: np.ndarray
    token_words: np.ndarray
    gram_words: np.ndarray
    gram_slots: np.ndarray
    char_norm: np.ndarray


def page_lines(docs: pl.DataFrame) -> pl.DataFrame:
    """Return the `LINES` of the documents' `text` (non-empty lines, stripped)."""
    lines = (
        docs.select("doc_id", pl.col("text").fill_null("").str.split("\n").alias("text"))
        .with_columns(line=pl.int_ranges(0, pl.col("text").list.len()))
        .explode("text", "line")
        .with_columns(pl.col("text").str.strip_chars())
        .filter(pl.col("text").str.len_chars() > 0)
    )
    return lines.with_row_index("row").select(
        pl.col("row").cast(pl.Int64), "doc_id", pl.col("line").cast(pl.Int64), "text"
    )


def _doc_runs(doc_id: pl.Series) -> pl.Series:
    """Number the runs of equal `doc_id` (lines come grouped by document) 0, 1, 2, ...

    Windows over these integers give what windows over the ids give, faster: grouping by a
    64-character string id was most of the context features' time.
    """
    return (doc_id != doc_id.shift(1)).fill_null(True).cum_sum().cast(pl.Int32) - 1


def _hash_strings(values: pl.Series) -> np.ndarray:
    """Return a stable 64-bit hash (xxh3) of each string, computed once per distinct value."""
    uniq = values.unique()
    hashed = pl.Series(
        "h", [xxhash.xxh3_64_intdigest(v.encode("utf-8")) for v in uniq.to_list()], pl.UInt64
    )
    table = pl.DataFrame({"v": uniq, "h": hashed})
    return (
        pl.DataFrame({"v": values})
        .join(table, on="v", how="left", maintain_order="left")["h"]
        .to_numpy()
        .astype(np.uint64)
    )


def _mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Combine two arrays of 64-bit hashes into one (order matters)."""
    with np.errstate(over="ignore"):
        h = a * _K1 + (b ^ (b >> np.uint64(29))) * _K2
        h ^= h >> np.uint64(32)
        return h * _K1


@dataclass(frozen=True)
class TextTable:
    """What depends on a line's text alone, computed once per distinct text.

    A feed repeats its kits and its syndicated paragraphs: the 34,173-page syndication inbox
    has 466,540 lines of 153,065 distinct texts. `texts` are the distinct texts, `features`
    their text-only dense inputs (`_text_features`: a float64 matrix of `TEXT_FEATURES`
    columns), and their tokens (`^`, the lowercased words with digits folded to 0, `$`) are
    `tokens[offsets[i] : offsets[i] + counts[i]]`, indexes into the distinct tokens `vocab`
    (hashed to `vocab_hashes`; `inner` is False for the edge markers). A word's character
    n-grams are the entries of `gram_words` equal to its vocabulary index, in slots
    `gram_slots`.
    """

    texts: pl.Series
    features: np.ndarray
    offsets: np.ndarray
    counts: np.ndarray
    tokens: np.ndarray
    inner: np.ndarray
    vocab: pl.Series
    vocab_hashes: np.ndarray
    gram_words: np.ndarray
    gram_slots: np.ndarray

    def index_of(self, texts: pl.Series) -> np.ndarray:
        """Return the index in `texts` of each of `texts` (every one must be in the table)."""
        found = pl.DataFrame({"text": texts}).join(
            pl.DataFrame({"text": self.texts}).with_row_index("i"),
            on="text",
            how="left",
            maintain_order="left",
        )["i"]
        if found.null_count():
            raise ValueError("a line's text is not in the text table")
        return found.to_numpy().astype(np.int64)


def text_table(texts: pl.Series) -> TextTable:
    """Tokenise, hash and measure each distinct text of `texts` once (see `TextTable`)."""
    distinct = texts.unique(maintain_order=True)
    toks = _line_tokens(distinct)
    counts = toks.list.len().to_numpy().astype(np.int64)
    flat = toks.explode()
    # Each distinct token once: its hash, and (for words) its character n-grams.
    vocab = flat.unique(maintain_order=True)
    tokens = (
        pl.DataFrame({"tok": flat})
        .join(
            pl.DataFrame({"tok": vocab}).with_row_index("i"),
            on="tok",
            how="left",
            maintain_order="left",
        )["i"]
        .to_numpy()
        .astype(np.int64)
    )
    gram_words, gram_slots = _char_grams(vocab)
    return TextTable(
        texts=distinct,
        features=_text_features(distinct).select(TEXT_FEATURES).to_numpy().astype(np.float64),
        offsets=np.cumsum(counts) - counts,
        counts=counts,
        tokens=tokens,
        inner=((flat != "^") & (flat != "$")).to_numpy(),
        vocab=vocab,
        vocab_hashes=_hash_strings(vocab),
        gram_words=gram_words,
        gram_slots=gram_slots,
    )


def _line_tokens(texts: pl.Series) -> pl.Series:
    """Return each text's tokens: ^, its words lowercased with digits folded to 0, then $.

    ^ and $ mark the line's edges for the bigrams. ASCII texts are cut by a compiled loop
    (`_ascii_tokens`: their words are runs of [A-Za-z0-9]), the others by the expressions.
    """
    wide = texts.str.len_bytes() != texts.str.len_chars()
    at = wide.arg_true()
    if at.len() == texts.len():
        return _regex_tokens(texts)
    data, offsets = utf8_buffers(texts)
    chars, char_offsets, list_offsets = _ascii_tokens(data, offsets)
    flat = pa.LargeStringArray.from_buffers(
        len(char_offsets) - 1, pa.py_buffer(char_offsets), pa.py_buffer(chars)
    )
    toks = pl.Series("tok", pa.LargeListArray.from_arrays(pa.array(list_offsets), flat))
    if at.len() == 0:
        return toks
    # the texts beyond ASCII by the expressions, put back in their rows
    rows = pl.concat([wide.not_().arg_true(), at]).arg_sort()
    return pl.concat([toks.filter(~wide), _regex_tokens(texts.gather(at))]).gather(rows)


def _regex_tokens(texts: pl.Series) -> pl.Series:
    """`_line_tokens` of any texts, by polars expressions."""
    return pl.DataFrame({"text": texts}).select(
        tok=pl.concat_list(
            pl.lit(["^"]),
            pl.col("text").str.to_lowercase().str.replace_all(r"\p{N}", "0").str.extract_all(_WORD),
            pl.lit(["$"]),
        ),
    )["tok"]


@njit(inline="always")
def _ascii_word_byte(c: int) -> bool:  # [A-Za-z0-9]
    return (0x61 <= c <= 0x7A) or (0x41 <= c <= 0x5A) or (0x30 <= c <= 0x39)


@njit(cache=True)
def _ascii_tokens(
    data: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the `_line_tokens` of ASCII texts (UTF-8 `data` between `offsets`).

    Returns the tokens' bytes, each token's byte offsets and each text's token offsets (Arrow
    layouts). Bytes beyond ASCII count as separators: callers cut such texts otherwise.
    """
    n = offsets.shape[0] - 1
    # ^ and $, then each word: a word byte at its text's start or after a byte that is not one
    tokens = 2 * n
    for t in range(n):
        for i in range(offsets[t], offsets[t + 1]):
            if _ascii_word_byte(data[i]) and (i == offsets[t] or not _ascii_word_byte(data[i - 1])):
                tokens += 1
    out = np.empty(offsets[n] - offsets[0] + 2 * n, dtype=np.uint8)
    bounds = np.empty(tokens + 1, dtype=np.int64)
    lists = np.zeros(n + 1, dtype=np.int64)
    o = 0  # bytes written
    k = 0  # tokens written
    bounds[0] = 0
    for t in range(n):
        out[o] = 0x5E  # ^
        o += 1
        k += 1
        bounds[k] = o
        in_word = False
        for i in range(offsets[t], offsets[t + 1]):
            c = data[i]
            if 0x41 <= c <= 0x5A:
                c += 0x20
            elif 0x30 <= c <= 0x39:
                c = 0x30
            if (0x61 <= c <= 0x7A) or c == 0x30:
                out[o] = c
                o += 1
                in_word = True
            elif in_word:
                k += 1
                bounds[k] = o
                in_word = False
        if in_word:
            k += 1
            bounds[k] = o
        out[o] = 0x24  # $
        o += 1
        k += 1
        bounds[k] = o
        lists[t + 1] = k
    return out[:o], bounds[: k + 1], lists


def _text_features(texts: pl.Series) -> pl.DataFrame:
    """Return the features of a line that depend on its text alone (one row per text).

    The counts of character classes and the first character's class come from one compiled
    pass over the texts' UTF-8 (`_class_counts`), with each code point's classes judged by
    the very regular expressions the counts stand for (`_code_point_classes`); the other
    features are polars expressions.
    """
    data, offsets = utf8_buffers(texts)
    counts = _class_counts(data, offsets, _code_point_classes(data))
    t = pl.col("text")
    frame = pl.DataFrame({"text": texts}).with_columns(
        pl.Series(name, counts[:, i], dtype=pl.Float64) for i, name in enumerate(_CLASS_COUNTS)
    )
    return frame.select(
        _words="_words",
        _chars=t.str.len_chars().cast(pl.Float64),
        _terminal=t.str.contains(_TERMINAL).cast(pl.Float64),
        _letters_cap="_letters_cap",
        _alpha_words="_alpha_words",
        colon_end=t.str.ends_with(":").cast(pl.Float64),
        _upper="_upper",
        _letters="_letters",
        _digits="_digits",
        _glyphs="_glyphs",
        starts_lower="starts_lower",
        starts_other="starts_other",
        _alnum="_alnum",
        sentences=(pl.col("_sentence_breaks") + 1).log(),
        has_url=t.str.contains(r"(?i)https?://|www\.|\.com\b").cast(pl.Float64),
        has_year=t.str.contains(r"\b(?:19|20)\d\d\b").cast(pl.Float64),
        has_copyright=t.str.contains(r"(?i)©|\(c\)").cast(pl.Float64),
    )


# What `_class_counts` counts of a text, as polars would count (or find) the expression:
_CLASS_COUNTS = (
    "_words",  # count_matches(_WORD)
    "_letters_cap",  # count_matches(r"(?:^|[^\p{L}\p{N}])\p{Lu}")
    "_alpha_words",  # count_matches(r"\p{L}[\p{L}\p{N}]*")
    "_upper",  # count_matches(r"\p{Lu}")
    "_letters",  # count_matches(r"\p{L}")
    "_digits",  # count_matches(r"\p{N}")
    "_glyphs",  # count_matches(_GLYPHS)
    "starts_lower",  # contains(r"^\p{Ll}")
    "starts_other",  # ~contains(r"^[\p{L}\p{N}\"“‘'(]")
    "_alnum",  # count_matches(r"[\p{L}\p{N}]")
    "_sentence_breaks",  # count_matches(r"[.!?…][\"”’')]*\s+\p{Lu}")
)
# The classes of a code point (bits of `_code_point_classes`), each a regular expression of
# one character.
_CLASSES = (
    r"\p{L}",
    r"\p{Lu}",
    r"\p{Ll}",
    r"\p{N}",
    _GLYPHS,
    r"\s",
    r"[\p{L}\p{N}\"“‘'(]",
)
_L, _LU, _LL, _N, _GLYPH, _SPACE, _OPENS = (1 << i for i in range(len(_CLASSES)))
# Every code point's classes, judged once a process per code point met (bit 7: judged).
_CODE_POINT_CLASSES = np.zeros(0x110000, dtype=np.uint8)
_JUDGED = 1 << 7


def _code_point_classes(data: np.ndarray) -> np.ndarray:
    """Return the class bits of every code point, judged for those of `data` (UTF-8) at least.

    A code point is judged by polars' regular expressions themselves (`_CLASSES` on the
    one-character string), so the counts follow their Unicode tables exactly.
    """
    table = _CODE_POINT_CLASSES
    new = np.flatnonzero(_unjudged(data, table))
    if new.size:
        chars = pl.Series("c", [chr(c) for c in new.tolist()], dtype=pl.String)
        bits = np.full(new.size, _JUDGED, dtype=np.uint8)
        for i, pattern in enumerate(_CLASSES):
            found = chars.str.contains(f"^(?:{pattern})$").to_numpy()
            bits |= np.where(found, np.uint8(1 << i), np.uint8(0))
        table[new] = bits
    return table


@njit(inline="always")
def _decode(data: np.ndarray, i: int) -> tuple[int, int]:
    """Return the code point of the UTF-8 sequence at `data[i]` and where the next one starts."""
    b = data[i]
    if b < 0x80:
        return int(b), i + 1
    if b < 0xE0:
        return ((int(b) & 0x1F) << 6) | (int(data[i + 1]) & 0x3F), i + 2
    if b < 0xF0:
        return (
            ((int(b) & 0x0F) << 12) | ((int(data[i + 1]) & 0x3F) << 6) | (int(data[i + 2]) & 0x3F),
            i + 3,
        )
    return (
        ((int(b) & 0x07) << 18)
        | ((int(data[i + 1]) & 0x3F) << 12)
        | ((int(data[i + 2]) & 0x3F) << 6)
        | (int(data[i + 3]) & 0x3F),
        i + 4,
    )


@njit(cache=True)
def _unjudged(data: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Return which code points occur in `data` (UTF-8) and are not judged in `table` yet."""
    seen = np.zeros(table.shape[0], dtype=np.bool_)
    i = 0
    while i < data.shape[0]:
        c, i = _decode(data, i)
        if not table[c] & _JUDGED:
            seen[c] = True
    return seen


@njit(inline="always")
def _ends_sentence(c: int) -> bool:  # [.!?…]
    return c == 0x2E or c == 0x21 or c == 0x3F or c == 0x2026


@njit(inline="always")
def _closes_sentence(c: int) -> bool:  # [\"”’')]
    return c == 0x22 or c == 0x201D or c == 0x2019 or c == 0x27 or c == 0x29


@njit(cache=True)
def _class_counts(data: np.ndarray, offsets: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Return `_CLASS_COUNTS` of each text (UTF-8 `data` between `offsets`).

    The expressions' matches never overlap in a way that changes a count: a word is a run of
    letters and digits, an alphabetic word such a run holding a letter, a capitalised word a
    capital at the start or after a character that is neither; a sentence break's parts are
    of disjoint classes, so a greedy scan finds the matches polars finds.
    """
    n = offsets.shape[0] - 1
    out = np.zeros((n, len(_CLASS_COUNTS)))
    points = np.empty(0, dtype=np.int64)
    for t in range(n):
        a, b = offsets[t], offsets[t + 1]
        if points.shape[0] < b - a:
            points = np.empty(2 * (b - a), dtype=np.int64)
        m = 0
        i = a
        while i < b:
            c, i = _decode(data, i)
            points[m] = c
            m += 1
        words = cap = alpha = upper = letters = digits = glyphs = alnum = breaks = 0
        in_word = False
        word_has_letter = False
        for k in range(m):
            bits = table[points[k]]
            is_alnum = bits & (_L | _N) != 0
            if bits & _L:
                letters += 1
            if bits & _LU:
                upper += 1
                if k == 0 or not table[points[k - 1]] & (_L | _N):
                    cap += 1
            if bits & _N:
                digits += 1
            if bits & _GLYPH:
                glyphs += 1
            if is_alnum:
                alnum += 1
                if not in_word:
                    words += 1
                    word_has_letter = False
                if bits & _L and not word_has_letter:
                    alpha += 1
                    word_has_letter = True
            in_word = is_alnum
        k = 0
        while k < m:
            if not _ends_sentence(points[k]):
                k += 1
                continue
            j = k + 1
            while j < m and _closes_sentence(points[j]):
                j += 1
            s = j
            while s < m and table[points[s]] & _SPACE:
                s += 1
            if s > j and s < m and table[points[s]] & _LU:
                breaks += 1
                k = s + 1
            else:
                k += 1
        first = table[points[0]] if m else 0
        out[t, 0] = words
        out[t, 1] = cap
        out[t, 2] = alpha
        out[t, 3] = upper
        out[t, 4] = letters
        out[t, 5] = digits
        out[t, 6] = glyphs
        out[t, 7] = 1.0 if first & _LL else 0.0
        out[t, 8] = 0.0 if first & _OPENS else 1.0
        out[t, 9] = alnum
        out[t, 10] = breaks
    return out


def line_features(
    lines: pl.DataFrame,
    table: TextTable | None = None,
    which: np.ndarray | None = None,
    doc: np.ndarray | None = None,
) -> LineFeatures:
    """Compute the first-stage features of page lines.

    Parameters
    ----------
    lines
        `LINES` rows, grouped by document and in line order within each.
    table, which
        A `text_table` holding every text of `lines`, and each line's index in it (looked up
        when None); by default the table of `lines`' own texts. `line_scores` passes one table
        of the whole inbox to each of its chunks, so no text is measured twice.
    doc
        Each line's page as a number (`_doc_runs` of `doc_id`), computed when None.

    Returns
    -------
    LineFeatures
        Dense features (n x len(DENSE), float64), hashed word and shape tokens, and the
        factored character n-grams. They are the same, value for value, whatever table holds
        the texts.
    """
    n = lines.height
    if table is None:
        table = text_table(lines["text"])
    if which is None:
        which = table.index_of(lines["text"])
    if doc is None:
        doc = _doc_runs(lines["doc_id"]).to_numpy()
    dense = _dense_features(doc, table.features[which]) if n else np.zeros((0, len(DENSE)))
    return _hashed(lines["row"].to_numpy().astype(np.int64), doc, dense, table, which)


# The text-only inputs of `_dense_features`, the columns of `TextTable.features`.
TEXT_FEATURES = (
    "_words",
    "_chars",
    "_terminal",
    "_letters_cap",
    "_alpha_words",
    "colon_end",
    "_upper",
    "_letters",
    "_digits",
    "_glyphs",
    "starts_lower",
    "starts_other",
    "_alnum",
    "sentences",
    "has_url",
    "has_year",
    "has_copyright",
)


def _page_bounds(doc: np.ndarray) -> np.ndarray:
    """Return where each run of equal `doc` (a page's lines) starts, and the end of the last."""
    return np.flatnonzero(np.r_[True, doc[1:] != doc[:-1], True]).astype(np.int64)


@njit(cache=True)
def _line_windows(bounds: np.ndarray, words: np.ndarray, chars: np.ndarray) -> np.ndarray:
    """Return, per line, what the dense features read of its page (`_dense_features`).

    Columns: rank in the page, the page's lines, characters and words, and the words up to
    and including the line. Page q is lines `bounds[q]` to `bounds[q + 1]` (`_page_bounds`).
    """
    out = np.empty((words.shape[0], 5))
    for q in range(bounds.shape[0] - 1):
        i, j = bounds[q], bounds[q + 1]
        total_chars = 0.0
        total_words = 0.0
        for k in range(i, j):
            total_chars += chars[k]
            total_words += words[k]
        cum = 0.0
        for k in range(i, j):
            cum += words[k]
            out[k, 0] = k - i
            out[k, 1] = j - i
            out[k, 2] = total_chars
            out[k, 3] = total_words
            out[k, 4] = cum
    return out


@njit(cache=True)
def _shifted(x: np.ndarray, doc: np.ndarray, k: int, fill: float) -> np.ndarray:
    """Return `x` shifted by `k` within each run of equal `doc` (polars' `shift(k).over`)."""
    n = x.shape[0]
    out = np.empty(n)
    for i in range(n):
        j = i - k
        out[i] = x[j] if 0 <= j < n and doc[j] == doc[i] else fill
    return out


def _dense_features(doc: np.ndarray, text: np.ndarray) -> np.ndarray:
    """Return the dense first-stage features (`DENSE`) of lines.

    `doc` numbers each line's page (runs of equal values), `text` holds the lines' text-only
    inputs (`TEXT_FEATURES` columns of their texts' `TextTable.features`). The page windows
    come from compiled loops (`_line_windows`, `_shifted`), the arithmetic from polars, as
    the windows over the page of the definition this replaced (kept in the tests) gave them.
    """
    t = dict(zip(TEXT_FEATURES, text.T, strict=True))
    windows = _line_windows(_page_bounds(doc), t["_words"], t["_chars"])
    frame = pl.DataFrame(
        {
            **t,
            "_rank": windows[:, 0],
            "_doc_lines": windows[:, 1],
            "_doc_chars": windows[:, 2],
            "_doc_words": windows[:, 3],
            "_cum_words": windows[:, 4],
        }
    )
    frame = frame.with_columns(_log_words=(pl.col("_words") + 1).log())
    log_words = frame["_log_words"].to_numpy()
    terminal = t["_terminal"]
    near = {
        (name, k): _shifted(x, doc, k, 0.0)
        for name, x in (("w", log_words), ("t", terminal))
        for k in (-2, -1, 1, 2)
    }
    frame = frame.with_columns(
        **{f"_{name}{k}": pl.Series(v) for (name, k), v in near.items()},
    )
    words = pl.col("_words")
    chars = pl.col("_chars")
    rank = pl.col("_rank")
    doc_lines = pl.col("_doc_lines")

    def window(name: str) -> pl.Expr:
        a, b, c, d = (pl.col(f"_{name}{k}") for k in (-2, -1, 1, 2))
        return (a + b + c + d) / 4.0

    return (
        frame.select(
            log_words="_log_words",
            log_chars=(chars + 1).log(),
            terminal="_terminal",
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
            chars_share=chars / pl.col("_doc_chars"),
            prev_log_words="_w1",
            prev_terminal="_t1",
            next_log_words="_w-1",
            next_terminal="_t-1",
            window_log_words=window("w"),
            window_terminal=window("t"),
            has_url="has_url",
            has_year="has_year",
            has_copyright="has_copyright",
            words_before=(pl.col("_cum_words") - words) / pl.col("_doc_words"),
            words_after=1 - pl.col("_cum_words") / pl.col("_doc_words"),
        )
        .with_columns(pl.col("words_before", "words_after").fill_nan(0.0))
        .select(DENSE)
        .to_numpy()
        .astype(np.float64)
    )


def _char_grams(words: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return (word index, slot) of the character n-grams of each of `words` (padded < >)."""
    padded = (
        pl.DataFrame({"g": words})
        .with_row_index("word")
        .select(pl.col("word").cast(pl.Int64), g=pl.concat_str(pl.lit("<"), "g", pl.lit(">")))
    )
    grams = pl.concat(
        [
            padded.with_columns(
                start=pl.int_ranges(
                    0, pl.max_horizontal(pl.col("g").str.len_chars().cast(pl.Int64) - (n - 1), 0)
                )
            )
            .explode("start")
            .drop_nulls("start")
            .select("word", g=pl.col("g").str.slice(pl.col("start"), n))
            for n in GRAM_SIZES
        ]
    )
    h = _hash_strings(grams["g"])
    return grams["word"].to_numpy(), (h & _CHAR_MASK).astype(np.int64)


def _gather_runs(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Return the concatenated index ranges `starts[i] : starts[i] + lengths[i]`."""
    total = int(lengths.sum())
    ends = np.cumsum(lengths)
    return np.arange(total, dtype=np.int64) - np.repeat(ends - lengths - starts, lengths)


# Shape tokens: the word-count bins (`_hashed`), terminal punctuation 0/1, position bins 0-4.
_WORD_BINS = (0, 1, 2, 3, 4, 5, 6, 8, 20, 40)


@functools.cache
def _shape_hashes() -> np.ndarray:
    """Return the hashes of every shape token, indexed [word bin][terminal][position bin][kind]."""
    out = np.empty((len(_WORD_BINS), 2, 5, 4), dtype=np.uint64)
    for i, w in enumerate(_WORD_BINS):
        for term in (0, 1):
            for pos in range(5):
                names = (f"#w{w}", f"#w{w}t{term}", f"#w{w}p{pos}", f"#w{w}t{term}p{pos}")
                for k, name in enumerate(names):
                    out[i, term, pos, k] = xxhash.xxh3_64_intdigest(name.encode("utf-8"))
    return out


def _shape_codes(dense: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the index of each line's shape tokens in `_shape_hashes()` (from its `DENSE`)."""
    log_words = dense[:, DENSE.index("log_words")]
    wbin = np.round(np.exp(log_words)) - 1
    wbin = np.where(wbin <= 6, wbin, np.where(wbin <= 12, 8, np.where(wbin <= 25, 20, 40)))
    w = np.searchsorted(np.array(_WORD_BINS, dtype=np.float64), wbin)
    if not np.array_equal(np.array(_WORD_BINS)[w], wbin):
        raise ValueError("a word-count bin is not one of _WORD_BINS")
    t = dense[:, DENSE.index("terminal")].astype(np.int64)
    p = np.clip(np.floor(dense[:, DENSE.index("rel_pos")] * 5), 0, 4).astype(np.int64)
    return w, t, p


def _hashed(
    rows: np.ndarray,
    doc: np.ndarray,
    dense: np.ndarray,
    table: TextTable,
    which: np.ndarray,
) -> LineFeatures:
    """Return the features: `dense`, and the hashed tokens and character n-grams of each line.

    `rows` are the lines' rows (0..n-1) and `doc` their pages (runs of equal values); each
    line's tokens are its text's run of tokens in `table` (`which`: its text's index).
    """
    empty = np.zeros(0, dtype=np.int64)
    if rows.shape[0] == 0:
        return LineFeatures(dense, empty, empty, np.zeros(0), empty, empty, empty, empty, empty)
    lengths = table.counts[which]
    at = _gather_runs(table.offsets[which], lengths)
    index = table.tokens[at]
    h = table.vocab_hashes[index]
    row = np.repeat(rows, lengths)
    same = np.zeros(len(row), dtype=bool)
    same[1:] = row[1:] == row[:-1]
    bi_idx = np.flatnonzero(same)
    bigram = _mix(h[bi_idx - 1], h[bi_idx])
    # Unigrams without the edge markers, all bigrams (edge ones included).
    uni_idx = np.flatnonzero(table.inner[at])
    # Shape tokens: word-count bin crossed with terminal punctuation and position in the page.
    sh = _shape_hashes()[_shape_codes(dense)]
    sh_rows = np.repeat(rows, 4)
    # The neighbours' words, marked as such: a kit comes in blocks of lines about one thing.
    uni_rows = row[uni_idx]
    n = rows.shape[0]
    nxt = uni_rows + 1 < n
    nxt[nxt] = doc[uni_rows[nxt] + 1] == doc[uni_rows[nxt]]
    prv = uni_rows > 0
    prv[prv] = doc[uni_rows[prv] - 1] == doc[uni_rows[prv]]
    as_prev = _mix(h[uni_idx][nxt], np.full(int(nxt.sum()), _K2, dtype=np.uint64))
    as_next = _mix(h[uni_idx][prv], np.full(int(prv.sum()), _K1, dtype=np.uint64))
    all_rows = np.concatenate(
        [uni_rows, row[bi_idx], sh_rows, uni_rows[nxt] + 1, uni_rows[prv] - 1]
    )
    all_h = np.concatenate([h[uni_idx], bigram, sh.reshape(-1), as_prev, as_next])
    slots = (all_h & _MASK).astype(np.int64)
    counts = np.bincount(all_rows, minlength=n).astype(np.float64)
    values = 1.0 / np.sqrt(counts[all_rows])
    gram_words, gram_slots = table.gram_words, table.gram_slots
    grams_of = np.bincount(gram_words, minlength=len(table.vocab)).astype(np.float64)
    line_grams = np.bincount(row[uni_idx], weights=grams_of[index[uni_idx]], minlength=n)
    return LineFeatures(
        dense=dense,
        rows=all_rows.astype(np.int64),
        slots=slots,
        values=values,
        token_rows=row[uni_idx].astype(np.int64),
        token_words=index[uni_idx],
        gram_words=gram_words,
        gram_slots=gram_slots,
        char_norm=1.0 / np.sqrt(np.maximum(line_grams, 1.0)),
    )


def first_stage_logit(features: LineFeatures, model: PageModel) -> np.ndarray:
    """Return stage 1's logit of each line (the line and its neighbours' words alone)."""
    n = features.dense.shape[0]
    z = model.line.logit(features.dense)
    z += np.bincount(
        features.rows,
        weights=features.values * model.hashed_weights[features.slots],
        minlength=n,
    )
    # a word's n-gram weights summed once per distinct word, then once per occurrence
    words = int(features.token_words.max()) + 1 if features.token_words.size else 0
    word_weight = np.bincount(
        features.gram_words, weights=model.char_weights[features.gram_slots], minlength=words
    )
    z += features.char_norm * np.bincount(
        features.token_rows, weights=word_weight[features.token_words], minlength=n
    )
    return np.asarray(z)


@njit(inline="always")
def _mix_one(a: np.uint64, b: np.uint64) -> np.uint64:
    """`_mix` of two hashes."""
    h = a * _K1 + (b ^ (b >> np.uint64(29))) * _K2
    h ^= h >> np.uint64(32)
    return h * _K1


@njit(cache=True)
def _first_stage_sums(
    which: np.ndarray,
    doc: np.ndarray,
    shapes: np.ndarray,
    offsets: np.ndarray,
    counts: np.ndarray,
    tokens: np.ndarray,
    inner: np.ndarray,
    hashes: np.ndarray,
    hashed_weights: np.ndarray,
    word_weights: np.ndarray,
    word_grams: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return each line's weighted hashed tokens, its words' n-gram weights and their norm.

    What `first_stage_logit` sums of `_hashed`'s features, line by line and in the same order
    (its unigrams, bigrams, shape tokens, the previous line's words, the next line's), without
    laying the tokens out: line r is text `which[r]` of the text table (`offsets`, `counts`,
    `tokens` into the vocabulary's `hashes`, `inner`), `doc` its page, `shapes` its four shape
    token hashes; `word_weights` and `word_grams` are each vocabulary word's summed n-gram
    weight and number of n-grams.
    """
    n = which.shape[0]
    hashed = np.empty(n)
    chars = np.empty(n)
    norm = np.empty(n)
    mask = np.uint64(_MASK)
    for r in range(n):
        a = offsets[which[r]]
        b = a + counts[which[r]]
        prev = r > 0 and doc[r - 1] == doc[r]
        nxt = r + 1 < n and doc[r + 1] == doc[r]
        size = 4
        for i in range(a, b):
            size += (1 if inner[i] else 0) + (1 if i > a else 0)
        if prev:
            t = which[r - 1]
            for i in range(offsets[t], offsets[t] + counts[t]):
                size += 1 if inner[i] else 0
        if nxt:
            t = which[r + 1]
            for i in range(offsets[t], offsets[t] + counts[t]):
                size += 1 if inner[i] else 0
        value = 1.0 / np.sqrt(float(size))
        total = 0.0
        for i in range(a, b):
            if inner[i]:
                total += value * hashed_weights[hashes[tokens[i]] & mask]
        for i in range(a + 1, b):
            total += (
                value * hashed_weights[_mix_one(hashes[tokens[i - 1]], hashes[tokens[i]]) & mask]
            )
        for k in range(4):
            total += value * hashed_weights[shapes[r, k] & mask]
        if prev:
            t = which[r - 1]
            for i in range(offsets[t], offsets[t] + counts[t]):
                if inner[i]:
                    total += value * hashed_weights[_mix_one(hashes[tokens[i]], _K2) & mask]
        if nxt:
            t = which[r + 1]
            for i in range(offsets[t], offsets[t] + counts[t]):
                if inner[i]:
                    total += value * hashed_weights[_mix_one(hashes[tokens[i]], _K1) & mask]
        hashed[r] = total
        grams = 0.0
        weight = 0.0
        for i in range(a, b):
            if inner[i]:
                grams += word_grams[tokens[i]]
                weight += word_weights[tokens[i]]
        chars[r] = weight
        norm[r] = 1.0 / np.sqrt(max(grams, 1.0))
    return hashed, chars, norm


def _word_grams(table: TextTable, model: PageModel) -> tuple[np.ndarray, np.ndarray]:
    """Return each vocabulary word's summed n-gram weight and number of n-grams."""
    words = len(table.vocab)
    weights = model.char_weights[table.gram_slots]
    return (
        np.bincount(table.gram_words, weights=weights, minlength=words),
        np.bincount(table.gram_words, minlength=words).astype(np.float64),
    )


def _first_stage(
    table: TextTable,
    grams: tuple[np.ndarray, np.ndarray],
    which: np.ndarray,
    doc: np.ndarray,
    dense: np.ndarray,
    model: PageModel,
) -> np.ndarray:
    """Return stage 1's logit of lines: `first_stage_logit` of their `line_features`.

    The same sums in the same order (so the same logits, bit for bit), from one compiled loop
    over the lines' tokens in `table` (`_first_stage_sums`) instead of the laid-out token
    arrays of `_hashed` and `np.bincount`s over them. `grams` is `_word_grams(table, model)`.
    """
    shapes = _shape_hashes()[_shape_codes(dense)]
    word_weights, word_grams = grams
    hashed, chars, norm = _first_stage_sums(
        which,
        doc,
        shapes,
        table.offsets,
        table.counts,
        table.tokens,
        table.inner,
        table.vocab_hashes,
        model.hashed_weights,
        word_weights,
        word_grams,
    )
    z = model.line.logit(dense)
    z += hashed
    z += norm * chars
    return np.asarray(z)


@njit(cache=True)
def _kahan_sum(x: np.ndarray) -> float:
    """Return the sum of `x` with Kahan's compensation, as polars sums a group of floats."""
    total = 0.0
    carry = 0.0
    for v in x:
        y = v - carry
        t = total + y
        carry = (t - total) - y
        total = t
    return total


@njit(cache=True)
def _context_windows(
    bounds: np.ndarray, z: np.ndarray, p: np.ndarray, mass: np.ndarray
) -> np.ndarray:
    """Return, per line, what the context features read of its page (`context_features`).

    Columns: rank in the page, the page's lines; content lines (stage-1 logit `z` below
    `_CONTENT_Z`) up to and including the line, and in the page; the content mass (`mass`) up
    to and including the line, and in the page; the rank of the previous and next content line
    (NaN when there is none); the non-content lines of the line's run (a content line and the
    non-content lines after it), their largest and mean logit (NaN when none); the mean,
    largest and smallest `p` of the three lines on each side (NaN when there is none). Page q
    is lines `bounds[q]` to `bounds[q + 1]` (`_page_bounds`).
    """
    out = np.empty((z.shape[0], 17))
    nan = np.nan
    for q in range(bounds.shape[0] - 1):
        i, j = bounds[q], bounds[q + 1]
        c_sum = 0.0
        for k in range(i, j):
            c_sum += 1.0 if z[k] < _CONTENT_Z else 0.0
        m_sum = _kahan_sum(mass[i:j])
        c_cum = 0.0
        m_cum = 0.0
        prev = nan
        for k in range(i, j):
            content = z[k] < _CONTENT_Z
            c_cum += 1.0 if content else 0.0
            m_cum += mass[k]
            out[k, 0] = k - i
            out[k, 1] = j - i
            out[k, 2] = c_cum
            out[k, 3] = c_sum
            out[k, 4] = m_cum
            out[k, 5] = m_sum
            out[k, 6] = prev
            if content:
                prev = k - i
            # the window of p: lines k+3, k+2, k+1, k-1, k-2, k-3 of the page, summed as
            # polars' mean_horizontal sums its six columns (nulls as 0)
            w = np.zeros(6)
            count = 0
            hi = -np.inf
            lo = np.inf
            for e, d in enumerate((-3, -2, -1, 1, 2, 3)):
                at = k - d
                if i <= at < j:
                    w[e] = p[at]
                    count += 1
                    hi = max(hi, p[at])
                    lo = min(lo, p[at])
            total = (w[0] + (w[1] + w[2])) + (w[3] + (w[4] + w[5]))
            out[k, 14] = total / count if count else nan
            out[k, 15] = hi if count else nan
            out[k, 16] = lo if count else nan
        after = nan
        for k in range(j - 1, i - 1, -1):
            out[k, 7] = after
            if z[k] < _CONTENT_Z:
                after = k - i
        # runs: a content line and the non-content lines after it (or the page's first lines)
        a = i
        while a < j:
            b = a + 1
            while b < j and not z[b] < _CONTENT_Z:
                b += 1
            count = 0
            top = -np.inf
            others = np.empty(b - a)
            for k in range(a, b):
                if not z[k] < _CONTENT_Z:
                    others[count] = z[k]
                    count += 1
                    top = max(top, z[k])
            total = _kahan_sum(others[:count])
            for k in range(a, b):
                out[k, 8] = count
                out[k, 9] = top if count else nan
                out[k, 10] = total / count if count else nan
            a = b
        for k in range(i, j):
            out[k, 11] = z[k - 1] if k - 1 >= i else 0.0
            out[k, 12] = z[k + 1] if k + 1 < j else 0.0
            out[k, 13] = z[k - 2] if k - 2 >= i else 0.0
    return out


def context_features(
    lines: pl.DataFrame, dense: np.ndarray, z: np.ndarray, doc: np.ndarray | None = None
) -> np.ndarray:
    """Return the second-stage features (`CONTEXT`, n x len(CONTEXT)) of lines.

    Parameters
    ----------
    lines
        `LINES` rows, grouped by document and in line order.
    dense
        Their first-stage dense features (`LineFeatures.dense`).
    z
        Their first-stage logits.
    doc
        Each line's page as a number (`_doc_runs` of `doc_id`), computed when None.

    Notes
    -----
    The windows over each page come from one compiled loop (`_context_windows`), the
    arithmetic on them from polars, as the page windows of the polars definition this replaced
    (kept in the tests) gave them.
    """
    if lines.height == 0:
        return np.zeros((0, len(CONTEXT)))
    if doc is None:
        doc = _doc_runs(lines["doc_id"]).to_numpy()
    col = {name: dense[:, i] for i, name in enumerate(DENSE)}
    zc = np.clip(z, -_Z_CLIP, _Z_CLIP)
    frame = pl.DataFrame(
        {
            "z": zc,
            "p": 1.0 / (1.0 + np.exp(-zc)),
            "chars": np.exp(col["log_chars"]) - 1.0,
            "log_words": col["log_words"],
            "terminal": col["terminal"],
            "rel_pos": col["rel_pos"],
        }
    )
    frame = frame.with_columns(_mass=(1.0 - pl.col("p")) * pl.col("chars"))
    windows = _context_windows(
        _page_bounds(doc), frame["z"].to_numpy(), frame["p"].to_numpy(), frame["_mass"].to_numpy()
    )
    names = (
        "_rank",
        "_lines",
        "_c_cum",
        "_c_sum",
        "_m_cum",
        "_m_sum",
        "_prev_content",
        "_next_content",
        "_run_others",
        "_run_max",
        "_run_mean",
        "z_prev",
        "z_next",
        "z_prev2",
        "p_window_mean",
        "p_window_max",
        "p_window_min",
    )
    frame = frame.with_columns(
        pl.Series(name, windows[:, i]).fill_nan(None) for i, name in enumerate(names)
    ).with_columns(z_next2=pl.Series(_shifted(zc, doc, -2, 0.0)))
    c = (pl.col("z") < _CONTENT_Z).cast(pl.Float64)
    m = pl.col("_mass")
    total_mass = pl.max_horizontal(pl.col("_m_sum"), pl.lit(1e-9))
    before = pl.col("_c_cum") - c
    after = pl.col("_c_sum") - pl.col("_c_cum")
    before_first = (before == 0).cast(pl.Float64)
    after_last = (after == 0).cast(pl.Float64)
    out = frame.select(
        z="z",
        z_prev="z_prev",
        z_next="z_next",
        z_prev2="z_prev2",
        z_next2="z_next2",
        p_window_mean=pl.col("p_window_mean").fill_null(0.5),
        p_window_max=pl.col("p_window_max").fill_null(0.5),
        p_window_min=pl.col("p_window_min").fill_null(0.5),
        first=(pl.col("_rank") == 0).cast(pl.Float64),
        last=(pl.col("_rank") == pl.col("_lines") - 1).cast(pl.Float64),
        content_before=before.log1p(),
        content_after=after.log1p(),
        content_mass_before=(pl.col("_m_cum") - m) / total_mass,
        content_mass_after=(pl.col("_m_sum") - pl.col("_m_cum")) / total_mass,
        # lines to the nearest content line (the page's edge when there is none)
        gap_prev_content=(pl.col("_rank") - pl.col("_prev_content").fill_null(-1.0)).log(),
        gap_next_content=(
            pl.col("_next_content").fill_null(pl.col("_lines")) - pl.col("_rank")
        ).log(),
        before_first_content=before_first,
        after_last_content=after_last,
        # non-content lines in the run this line belongs to (0 for a content line)
        run_length=(pl.col("_run_others") * (1.0 - c)).log1p(),
        # the strongest and mean stage-1 logit of the run of non-content lines the line
        # belongs to (its own logit for a content line): a comment form or share block holds
        # a line stage 1 is sure of ("Comments", "More Articles") beside prompts it is not
        run_max_z=pl.when(c > 0).then(pl.col("z")).otherwise(pl.col("_run_max")),
        run_mean_z=pl.when(c > 0).then(pl.col("z")).otherwise(pl.col("_run_mean")),
        z_before_first=pl.col("z") * before_first,
        z_after_last=pl.col("z") * after_last,
        log_words="log_words",
        terminal="terminal",
        rel_pos="rel_pos",
    )
    return out.select(CONTEXT).to_numpy().astype(np.float64)


def line_scores(
    lines: pl.DataFrame, model: PageModel, chunk_docs: int = SCORE_CHUNK_DOCS
) -> np.ndarray:
    """Return each line's probability of being boilerplate under `model`.

    Parameters
    ----------
    lines
        `LINES` rows (`page_lines`), grouped by document and in line order.
    model
        Learned weights (`flows/io/page_model.py` loads the shipped ones).
    chunk_docs
        Documents scored at a time. A line's score depends on its own page alone, so the
        chunks bound memory (the hashed tokens of a whole inbox are hundreds of MB) without
        changing a score beyond the order of floating-point sums (at most 4e-16 measured).

    Returns
    -------
    np.ndarray
        Probabilities in [0, 1], one per row of `lines`.
    """
    if lines.height == 0:
        return np.zeros(0)
    # One table of the inbox's distinct texts: a text repeated across chunks is measured once.
    table = text_table(lines["text"])
    which = table.index_of(lines["text"])
    doc = _doc_runs(lines["doc_id"]).to_numpy()
    n = lines.height
    starts = _page_bounds(doc)[:-1]
    bounds = list(pairwise([*starts[:: max(chunk_docs, 1)].tolist(), n]))
    grams = _word_grams(table, model)
    parts: list[np.ndarray] = []
    # The dense and context features (a pass over the pages each) of SCORE_WINDOW_CHUNKS
    # chunks at a time, stage 1's sums and both stages' logits a chunk at a time.
    for i in range(0, len(bounds), SCORE_WINDOW_CHUNKS):
        group = bounds[i : i + SCORE_WINDOW_CHUNKS]
        lo, hi = group[0][0], group[-1][1]
        dense = _dense_features(doc[lo:hi], table.features[which[lo:hi]])
        z1 = np.concatenate(
            [
                _first_stage(table, grams, which[a:b], doc[a:b], dense[a - lo : b - lo], model)
                for a, b in group
            ]
        )
        context = context_features(lines.slice(lo, hi - lo), dense, z1, doc[lo:hi])
        parts.extend(model.context.logit(context[a - lo : b - lo]) for a, b in group)
    z = np.concatenate(parts)
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def bridged(
    doc: np.ndarray, scores: np.ndarray, threshold: float, low: float, max_lines: int
) -> np.ndarray:
    """Return which lines go: those scoring at least `threshold`, and the bridged ones.

    A run of at most `max_lines` consecutive lines of one page, each scoring at least `low`
    but under `threshold`, goes when the lines just before and just after it both score at
    least `threshold` (a weak prompt inside a form whose heading and button are sure kit).
    `doc` numbers each line's page (lines grouped by page, in line order); `max_lines` 0
    bridges nothing.
    """
    strong = scores >= threshold
    out = strong.copy()
    n = len(scores)
    if max_lines <= 0 or n == 0:
        return out
    weak = (scores >= low) & ~strong
    prev_same = np.zeros(n, dtype=bool)
    prev_same[1:] = doc[1:] == doc[:-1]
    next_same = np.zeros(n, dtype=bool)
    next_same[:-1] = doc[:-1] == doc[1:]
    prev_weak = np.zeros(n, dtype=bool)
    prev_weak[1:] = weak[:-1]
    next_weak = np.zeros(n, dtype=bool)
    next_weak[:-1] = weak[1:]
    starts = np.flatnonzero(weak & ~(prev_same & prev_weak))
    ends = np.flatnonzero(weak & ~(next_same & next_weak))
    ok = (ends - starts + 1 <= max_lines) & prev_same[starts] & next_same[ends]
    ok[ok] = strong[starts[ok] - 1] & strong[ends[ok] + 1]
    out[_gather_runs(starts[ok], ends[ok] - starts[ok] + 1)] = True
    return out


# Documents `classify_lines` splits and scores at a time: their distinct line texts are
# measured once (`TextTable`). The classifier runs beside the recurrence side's peak, so its
# block is small: 300,000 pages peak +455-468 MB over the pages at 20,000 a block, +247-254
# MB at 5,000, for 13% more of its CPU (22.7-25.9 -> 25.1-29.2 s; `classify_lines` alone on
# the 300,000 pages of `bench/e2e_speed.py --scale`, two runs each).
CLASSIFY_BLOCK_DOCS = 5_000


def classify_lines(
    docs: pl.DataFrame,
    model: PageModel,
    threshold: float,
    block: int = CLASSIFY_BLOCK_DOCS,
    bridge_threshold: float = 1.0,
    bridge_lines: int = 0,
) -> pl.DataFrame:
    """Return (`doc_id`, `line`, `page_score`) of the lines scoring at least `threshold`, and
    of the lines `bridged` between two of them (`bridge_threshold`, `bridge_lines`; 0: none).

    `block` documents are split into lines and scored at a time (a score depends on its own
    page alone), so that memory follows the block, not the inbox.
    """
    hits = [pl.DataFrame(schema={"doc_id": pl.String, "line": pl.Int64, "page_score": pl.Float64})]
    for start in range(0, docs.height, max(block, 1)):
        lines = page_lines(docs.slice(start, block))
        scores = line_scores(lines, model)
        doc = _doc_runs(lines["doc_id"]).to_numpy()
        keep = bridged(doc, scores, threshold, bridge_threshold, bridge_lines)
        hits.append(
            lines.select("doc_id", "line", page_score=pl.Series(scores, dtype=pl.Float64))
            .filter(pl.Series(keep, dtype=pl.Boolean))
            .cast({"doc_id": pl.String, "line": pl.Int64})
        )
    return pl.concat(hits)
