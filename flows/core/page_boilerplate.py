"""Single-page boilerplate: a learned line classifier that judges one page alone.

Recurrence across pages cannot see a kit shown once (a comment form, a share bar, a photo
credit). This module scores every line of a document from what the line and its neighbours
show: length, punctuation, capitals, digits, glyphs, position in the page, neighbour lengths and
hashed lowercased word unigrams and bigrams. The weights are learned from labelled pages by
`bench/train_page_boilerplate.py` and loaded by `flows/io/page_model.py`; this module only
computes features and applies them (numpy and polars, no per-line Python loops).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import xxhash

# Hashed features (words, bigrams, length and position tokens) fall into 2 ** HASH_BITS slots.
HASH_BITS = 15
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


@dataclass(frozen=True)
class PageModel:
    """A logistic line classifier: dense feature weights (standardised) plus hashed weights."""

    mean: np.ndarray  # len(DENSE) float64: standardisation of the dense features
    scale: np.ndarray
    dense_weights: np.ndarray  # len(DENSE)
    hashed_weights: np.ndarray  # 2 ** HASH_BITS
    bias: float

    def __post_init__(self) -> None:
        if self.hashed_weights.shape != (1 << HASH_BITS,) or self.dense_weights.shape != (
            len(DENSE),
        ):
            raise ValueError("page model weights do not match the feature layout")


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


def line_features(lines: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Compute the features of page lines.

    Parameters
    ----------
    lines
        `LINES` rows, grouped by document and in line order within each.

    Returns
    -------
    tuple of np.ndarray
        The dense features (n x len(DENSE), float64), and the hashed features as coordinates:
        row, slot (< 2 ** HASH_BITS) and value (each row's values have unit L2 norm).
    """
    n = lines.height
    t = pl.col("text")
    # Counts and window sizes first, once: the features below refer to them many times.
    lines = lines.with_columns(
        _words=t.str.count_matches(_WORD).cast(pl.Float64),
        _chars=t.str.len_chars().cast(pl.Float64),
        _terminal=t.str.contains(_TERMINAL).cast(pl.Float64),
        _rank=pl.int_range(pl.len()).over("doc_id").cast(pl.Float64),
        _doc_lines=pl.len().over("doc_id").cast(pl.Float64),
    ).with_columns(_log_words=(pl.col("_words") + 1).log())
    words = pl.col("_words")
    letters_cap = t.str.count_matches(r"(?:^|[^\p{L}\p{N}])\p{Lu}").cast(pl.Float64)
    alpha_words = t.str.count_matches(r"\p{L}[\p{L}\p{N}]*").cast(pl.Float64)
    chars = pl.col("_chars")
    terminal = pl.col("_terminal")
    log_words = pl.col("_log_words")
    rank = pl.col("_rank")
    doc_lines = pl.col("_doc_lines")

    def shifted(expr: pl.Expr, k: int) -> pl.Expr:
        return expr.shift(k).over("doc_id").fill_null(0.0)

    base = lines.select(
        "row",
        "doc_id",
        log_words=log_words,
        log_chars=(chars + 1).log(),
        terminal=terminal,
        colon_end=t.str.ends_with(":").cast(pl.Float64),
        cap_share=letters_cap / pl.max_horizontal(alpha_words, pl.lit(1.0)),
        upper_share=t.str.count_matches(r"\p{Lu}").cast(pl.Float64)
        / pl.max_horizontal(t.str.count_matches(r"\p{L}").cast(pl.Float64), pl.lit(1.0)),
        digit_share=t.str.count_matches(r"\p{N}").cast(pl.Float64) / chars,
        glyph_share=t.str.count_matches(_GLYPHS).cast(pl.Float64) / chars,
        starts_lower=t.str.contains(r"^\p{Ll}").cast(pl.Float64),
        starts_other=(~t.str.contains(r"^[\p{L}\p{N}\"“‘'(]")).cast(pl.Float64),
        mean_word_len=t.str.count_matches(r"[\p{L}\p{N}]").cast(pl.Float64)
        / pl.max_horizontal(words, pl.lit(1.0)),
        sentences=(t.str.count_matches(r"[.!?…][\"”’')]*\s+\p{Lu}").cast(pl.Float64) + 1).log(),
        rel_pos=rank / pl.max_horizontal(doc_lines - 1, pl.lit(1.0)),
        log_rank=(rank + 1).log(),
        log_rank_from_end=(doc_lines - rank).log(),
        log_doc_lines=doc_lines.log(),
        chars_share=chars / chars.sum().over("doc_id"),
        prev_log_words=shifted(log_words, 1),
        prev_terminal=shifted(terminal, 1),
        next_log_words=shifted(log_words, -1),
        next_terminal=shifted(terminal, -1),
        window_log_words=sum(shifted(log_words, k) for k in (-2, -1, 1, 2)) / 4.0,
        window_terminal=sum(shifted(terminal, k) for k in (-2, -1, 1, 2)) / 4.0,
        has_url=t.str.contains(r"(?i)https?://|www\.|\.com\b").cast(pl.Float64),
        has_year=t.str.contains(r"\b(?:19|20)\d\d\b").cast(pl.Float64),
        has_copyright=t.str.contains(r"(?i)©|\(c\)").cast(pl.Float64),
        # share of the page's words before and after the line: kits sit around the story
        words_before=(words.cum_sum().over("doc_id") - words) / words.sum().over("doc_id"),
        words_after=1 - words.cum_sum().over("doc_id") / words.sum().over("doc_id"),
    ).with_columns(
        pl.col("words_before", "words_after").fill_nan(0.0),
    )
    dense = base.select(DENSE).to_numpy().astype(np.float64) if n else np.zeros((0, len(DENSE)))
    rows, slots, values = _hashed(lines, base)
    return dense, rows, slots, values


def _hashed(lines: pl.DataFrame, base: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (row, slot, value) of the hashed word, bigram and shape tokens of each line."""
    if lines.height == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    # Words lowercased, digits folded to 0; ^ and $ mark the line's edges for the bigrams.
    toks = (
        lines.select(
            "row",
            tok=pl.concat_list(
                pl.lit(["^"]),
                pl.col("text")
                .str.to_lowercase()
                .str.replace_all(r"\p{N}", "0")
                .str.extract_all(_WORD),
                pl.lit(["$"]),
            ),
        )
        .explode("tok")
        .with_columns(pos=pl.int_range(pl.len()).over("row"))
    )
    h = _hash_strings(toks["tok"])
    row = toks["row"].to_numpy()
    same = np.zeros(len(row), dtype=bool)
    same[1:] = row[1:] == row[:-1]
    bi_idx = np.flatnonzero(same)
    bigram = _mix(h[bi_idx - 1], h[bi_idx])
    # Unigrams without the edge markers, all bigrams (edge ones included).
    inner = (toks["tok"] != "^") & (toks["tok"] != "$")
    uni_idx = np.flatnonzero(inner.to_numpy())
    # Shape tokens: word-count bin crossed with terminal punctuation and position in the page.
    wbin = pl.col("log_words").exp().round() - 1
    wbin = (
        pl.when(wbin <= 6)
        .then(wbin)
        .otherwise(
            pl.when(wbin <= 12).then(8).otherwise(pl.when(wbin <= 25).then(20).otherwise(40))
        )
        .cast(pl.Int64)
        .cast(pl.String)
    )
    pbin = (pl.col("rel_pos") * 5).floor().clip(0, 4).cast(pl.Int64).cast(pl.String)
    term = pl.col("terminal").cast(pl.Int64).cast(pl.String)
    shapes = base.select(
        "row",
        shape=pl.concat_list(
            pl.format("#w{}", wbin),
            pl.format("#w{}t{}", wbin, term),
            pl.format("#w{}p{}", wbin, pbin),
            pl.format("#w{}t{}p{}", wbin, term, pbin),
        ),
    ).explode("shape")
    sh = _hash_strings(shapes["shape"])
    # The neighbours' words, marked as such: a kit comes in blocks of lines about one thing.
    doc = lines["doc_id"].rank("dense").to_numpy().astype(np.int64)
    uni_rows = row[uni_idx]
    n = lines.height
    nxt = uni_rows + 1 < n
    nxt[nxt] = doc[uni_rows[nxt] + 1] == doc[uni_rows[nxt]]
    prv = uni_rows > 0
    prv[prv] = doc[uni_rows[prv] - 1] == doc[uni_rows[prv]]
    as_prev = _mix(h[uni_idx][nxt], np.full(int(nxt.sum()), _K2, dtype=np.uint64))
    as_next = _mix(h[uni_idx][prv], np.full(int(prv.sum()), _K1, dtype=np.uint64))
    all_rows = np.concatenate(
        [uni_rows, row[bi_idx], shapes["row"].to_numpy(), uni_rows[nxt] + 1, uni_rows[prv] - 1]
    )
    all_h = np.concatenate([h[uni_idx], bigram, sh, as_prev, as_next])
    slots = (all_h & _MASK).astype(np.int64)
    counts = np.bincount(all_rows, minlength=lines.height).astype(np.float64)
    values = 1.0 / np.sqrt(counts[all_rows])
    return all_rows.astype(np.int64), slots, values


def line_scores(lines: pl.DataFrame, model: PageModel) -> np.ndarray:
    """Return each line's probability of being boilerplate under `model`.

    Parameters
    ----------
    lines
        `LINES` rows (`page_lines`), grouped by document and in line order.
    model
        Learned weights (`flows/io/page_model.py` loads the shipped ones).

    Returns
    -------
    np.ndarray
        Probabilities in [0, 1], one per row of `lines`.
    """
    if lines.height == 0:
        return np.zeros(0)
    dense, rows, slots, values = line_features(lines)
    z = ((dense - model.mean) / model.scale) @ model.dense_weights + model.bias
    z += np.bincount(rows, weights=values * model.hashed_weights[slots], minlength=lines.height)
    return 1.0 / (1.0 + np.exp(-z))


def classify_lines(docs: pl.DataFrame, model: PageModel, threshold: float) -> pl.DataFrame:
    """Return (`doc_id`, `line`, `page_score`) of the lines scoring at least `threshold`."""
    lines = page_lines(docs)
    scores = line_scores(lines, model)
    return lines.select("doc_id", "line", page_score=pl.Series(scores, dtype=pl.Float64)).filter(
        pl.col("page_score") >= threshold
    )
