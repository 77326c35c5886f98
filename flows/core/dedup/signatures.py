"""Document signatures for near-duplicate search, and the keys that veto a match."""

from __future__ import annotations

import numpy as np
import polars as pl

from flows.core.minhash import fast_signatures, signatures_and_word_counts
from flows.core.settings import DedupConfig, MinHashConfig

# The persistent index of published documents (one row per doc_id, canonical or duplicate).
INDEX_COLUMNS = ("doc_id", "cluster_id", "published_date", "boilerplate_ratio", "n_chars")


# The columns of `doc_signatures` (and of the index beyond `INDEX_COLUMNS`).
SIGNATURE_COLUMNS = (
    "doc_id",
    "signature",
    "n_tokens",
    "n_shingles",
    "char_signature",
    "char_numbers",
    "numbers",
    "names",
)


def signature_dtype(minhash: MinHashConfig) -> pl.DataType:
    """Return the polars dtype of a stored signature."""
    return pl.Array(pl.UInt32, minhash.num_perm)


def doc_signatures(
    docs: pl.DataFrame, minhash: MinHashConfig, short_tokens: int = 0
) -> pl.DataFrame:
    """Compute one signature per distinct `doc_id` from its `clean_text` (word n-grams).

    Parameters
    ----------
    docs
        Frame with `doc_id` and `clean_text`; repeated doc_ids (exact copies) are signed once.
    minhash
        Shingle sizes, permutations and seed.
    short_tokens
        Texts with at least one and fewer than this many words are also signed on character
        n-grams (`DedupConfig.short_tokens`; 0 signs none).

    Returns
    -------
    pl.DataFrame
        `doc_id`, `signature` (`Array[UInt32, num_perm]`), `n_tokens` (words), `n_shingles`
        (word n-grams, counted with repeats: the set size that containment estimates use),
        `char_signature` (`List[UInt32]`, null unless short), `char_numbers` (the short
        text's numbers, `numbers_key`), `numbers` (every text's numbers, `numbers_key`) and
        `names` (its capitalised words, `names_key`).
    """
    unique = docs.select("doc_id", "clean_text").unique("doc_id", keep="first", maintain_order=True)
    texts = unique["clean_text"]
    sigs, counts = signatures_and_word_counts(texts, minhash)
    tokens = pl.Series("n_tokens", counts)
    frame = pl.DataFrame(
        {
            "doc_id": unique["doc_id"],
            "signature": pl.Series(sigs, dtype=signature_dtype(minhash)),
            "n_tokens": tokens,
        }
    ).with_columns(n_shingles=shingle_count(pl.col("n_tokens"), minhash.ngram))
    columns = _char_columns(texts, tokens, minhash, short_tokens)
    return frame.hstack([*columns, numbers_key(texts).alias("numbers"), names_key(texts)])


def _char_columns(
    texts: pl.Series, tokens: pl.Series, minhash: MinHashConfig, short_tokens: int
) -> list[pl.Series]:
    """Return `char_signature` and `char_numbers` (null except for short texts)."""
    short = np.flatnonzero(((tokens > 0) & (tokens < short_tokens)).to_numpy())
    n = len(texts)
    if len(short) == 0:
        return [
            pl.Series("char_signature", [None] * n, dtype=pl.List(pl.UInt32)),
            pl.Series("char_numbers", [None] * n, dtype=pl.String),
        ]
    picked = texts.gather(short)
    sigs = fast_signatures(picked, minhash, kind="char")
    full = pl.DataFrame({"_row": np.arange(n, dtype=np.int64)})
    part = pl.DataFrame(
        {
            "_row": short.astype(np.int64),
            "char_signature": pl.Series(sigs, dtype=signature_dtype(minhash)).cast(
                pl.List(pl.UInt32)
            ),
            "char_numbers": numbers_key(picked),
        }
    )
    out = full.join(part, on="_row", how="left", maintain_order="left")
    return [out["char_signature"], out["char_numbers"]]


# Digits (1,500 / 8.18 / 16-3/8 as one figure) and number words, which short news items often
# spell out ("seven grain ships loading").
NUMBER = (
    r"\d+(?:[.,/-]\d+)*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|thirty|forty|fifty|hundred|thousand|million|billion|trillion)\b"
)


def numbers_key(texts: pl.Series) -> pl.Series:
    """Return the distinct numbers of each text, sorted and joined ("" when it has none)."""
    found = texts.str.to_lowercase().str.extract_all(NUMBER)
    return _distinct_joined(found.list.eval(pl.element().str.replace_all(",", ""))).alias(
        "char_numbers"
    )


def _distinct_joined(lists: pl.Series) -> pl.Series:
    """Return each list's distinct strings, sorted and joined by spaces ("" for none or null).

    One sort of all the values rather than `list.unique().list.sort()` (which sorts list by
    list: 2.2 s of 0.4 s for the 571k passages of the 34,173-page syndication inbox).
    """
    flat = (
        pl.DataFrame({"v": lists})
        .with_row_index("r")
        .explode("v")
        .drop_nulls("v")
        .unique()
        .sort("r", "v")
        .group_by("r", maintain_order=True)
        .agg(pl.col("v").str.join(" "))
    )
    rows = pl.DataFrame({"r": pl.int_range(len(lists), eager=True, dtype=pl.UInt32)})
    return rows.join(flat, on="r", how="left", maintain_order="left")["v"].fill_null("")


# Sentence starts (line starts and after . ! ?), where a capital letter says nothing of a name.
_SENTENCE_START = r"(?m)^|[.!?]\s+"


_MARK = "\x01"


def names_key(texts: pl.Series) -> pl.Series:
    """Return the distinct capitalised words of each text not at a sentence start, joined.

    The companies, people and places a report is about: "Marine Midland Banks" and "First
    Chicago Corp" raising the prime rate to the same figures are two reports. A first line
    in title case (`without_titles`) is skipped: a headline capitalises every word, and an
    outlet's new headline is no other report.
    """
    found = (
        without_titles(texts.fill_null(""))
        .str.replace_all(_SENTENCE_START, _MARK)
        .str.extract_all(rf"{_MARK}?\p{{Lu}}[\p{{L}}\p{{N}}]*")
        .list.eval(pl.element().filter(~pl.element().str.starts_with(_MARK)).str.to_lowercase())
    )
    return _distinct_joined(found).alias("names")


# A headline: at most this many words ...
_TITLE_MAX_WORDS = 20


# ... of which at least this share start with a capital ...
_TITLE_CAPITALISED = 0.6


def _title_case_line(line: pl.Expr) -> pl.Expr:
    """Return whether a line reads as a title-case headline ("Gatx Corp 3Rd Qtr Net").

    Besides most words capitalised, no lower-case word of four letters or more: title case
    leaves only short function words ("of", "in", "the") lower, while a sentence about
    "Marine Midland Banks Inc" has its "said", "raised", "from". And some lower-case letter:
    a line in capitals is a wire's table or notice ("MINNEAPOLIS WHEAT MAY7 284 1/2 UP 1"),
    whose words are its figures' labels.
    """
    words = line.str.count_matches(r"\b\p{L}[\p{L}\p{N}'-]*")
    capitalised = line.str.count_matches(r"\b\p{Lu}[\p{L}\p{N}'-]*")
    long_lower = line.str.contains(r"\b\p{Ll}\p{L}{3}")
    return (
        (words >= 2)
        & (words <= _TITLE_MAX_WORDS)
        & (capitalised >= _TITLE_CAPITALISED * words)
        & ~long_lower
        & line.str.contains(r"\p{Ll}")
    )


def without_titles(texts: pl.Series) -> pl.Series:
    """Drop the first line of each text when it is a title-case headline; null stays null.

    Only the first line: further down, short lines in title case are a notice's table rows
    ("Record April 10", "Pay May One"), whose dates and figures tell two notices apart.
    """
    # the first line alone is tested: no text is split into all its lines on this hot path
    text = texts.str.strip_chars_start()
    frame = pl.DataFrame({"text": text})
    first = pl.col("text").str.extract(r"^([^\n]*)")
    rest = pl.col("text").str.replace(r"^[^\n]*\n?", "")
    return (
        frame.select(pl.when(_title_case_line(first)).then(rest).otherwise(pl.col("text")))
        .to_series()
        .alias(texts.name)
    )


def shingle_count(n_tokens: pl.Expr, ngram: int) -> pl.Expr:
    """Return the number of word n-grams of a text of `n_tokens` words (one if fewer than n)."""
    return (
        pl.when(n_tokens <= 0)
        .then(0)
        .otherwise(pl.max_horizontal(n_tokens - ngram + 1, pl.lit(1)))
        .cast(pl.Int64)
    )


def searchable(sig_frame: pl.DataFrame, config: DedupConfig) -> pl.DataFrame:
    """Return the signatures that take part in near-duplicate search (enough words)."""
    return sig_frame.filter(pl.col("n_tokens") >= config.min_tokens)


def empty_index(minhash: MinHashConfig) -> pl.DataFrame:
    """Return an empty signature index frame (`INDEX_COLUMNS` plus the signature columns)."""
    return pl.DataFrame(
        schema={
            "doc_id": pl.String,
            "cluster_id": pl.String,
            "published_date": pl.Date,
            "boilerplate_ratio": pl.Float64,
            "n_chars": pl.Int64,
            "signature": signature_dtype(minhash),
            "n_tokens": pl.Int64,
            "n_shingles": pl.Int64,
            "char_signature": pl.List(pl.UInt32),
            "char_numbers": pl.String,
            "numbers": pl.String,
            "names": pl.String,
        }
    )


def signature_matrix(signatures: pl.Series, minhash: MinHashConfig | None) -> np.ndarray:
    """Return stored signatures (Array or List of equal length) as a `(n, num_perm)` matrix."""
    if len(signatures) == 0:
        width = minhash.num_perm if minhash is not None else 0
        return np.empty((0, width), dtype=np.uint32)
    if isinstance(signatures.dtype, pl.List):
        flat = signatures.explode().to_numpy()
    else:
        flat = signatures.to_numpy()
    return np.ascontiguousarray(flat.reshape(len(signatures), -1), dtype=np.uint32)
