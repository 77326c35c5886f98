"""Text normalisation, the date header, stable document ids and tokens."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import polars as pl
import pyarrow as pa
from numba import njit

# A plain-text article may open with ` date YYYY-MM-DD ` on its first line (the seeds' shape);
# the text of the first line continues after it.
DATE_PREFIX = r"^\s*date\s+(\d{4}-\d{2}-\d{2})(?:\s+|$)"

# Characters that break lines in some sources but not in `str.splitlines`-unaware tools.
_LINE_BREAKS = r"\r\n|\r|\u2028|\u2029|\u0085|\x0b|\x0c"
# Horizontal white space, after NFKC (which maps NBSP and friends to plain spaces): each run
# becomes one space. A lone plain space, most of them, is left alone rather than replaced by
# itself (replacing every space took 1.6 s of the 34,173-page syndication inbox's 47 MB).
_HSPACE = (
    r"[ \t\u1680\u180e\u2000-\u200a\u202f\u205f\u3000]{2,}"
    r"|[\t\u1680\u180e\u2000-\u200a\u202f\u205f\u3000]"
)
# Zero-width characters that scrapers leave in text and that split words invisibly.
_ZERO_WIDTH = r"[\u200b\u200c\u200d\u2060\ufeff]"
# Terminal colour codes (ESC [ ... letter) and the other C0/C1 control characters, which no
# article carries on purpose: a record of control characters alone has no text left.
_ANSI = r"\x1b\[[0-9;?]*[A-Za-z]"
_CONTROL = r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]"


def normalise_text(expr: pl.Expr) -> pl.Expr:
    """Return `expr` NFKC-normalised with line breaks and white space folded.

    Lines keep their order (passages are lines); runs of blank lines fold into one.
    """
    return expr.map_batches(_normalise_series, return_dtype=pl.String, is_elementwise=True)


# Texts normalised at a time: each rule below makes a copy of the texts it changes, and the
# clean texts of a 300,000-page inbox (213 MB) in one piece held several copies at once.
NORMALISE_BLOCK = 20_000


def _normalise_series(texts: pl.Series) -> pl.Series:
    """Return texts normalised as `normalise_text` says, `NORMALISE_BLOCK` texts at a time."""
    if texts.len() <= NORMALISE_BLOCK:
        return _normalise_block(texts)
    return pl.concat(
        [
            _normalise_block(texts.slice(i, NORMALISE_BLOCK))
            for i in range(0, texts.len(), NORMALISE_BLOCK)
        ],
        rechunk=False,
    )


def _normalise_block(texts: pl.Series) -> pl.Series:
    """Return texts normalised as `normalise_text` says.

    The space rules run only on the texts where they can match, found by a literal search
    (a thirtieth of the regular expression's scan, which took 0.3 s of the 34,173-page
    syndication inbox's 0.6 s of normalisation): runs of white space need two spaces, a tab
    or a character beyond ASCII; a space at a line's end or start is one before or after a
    line break or at the text's end or start.
    """
    # NFKC after the removals: a control or zero-width character between a letter and its
    # combining mark, removed after NFKC, left them to compose only on a second pass
    # ("e\x01\u0301" gave "e\u0301", then "\u00e9"). NFKC makes none of the removed characters.
    folded = _nfkc(
        texts.str.replace_all(_LINE_BREAKS, "\n")
        .str.replace_all(_ZERO_WIDTH, "")
        .str.replace_all(_ANSI, "")
        .str.replace_all(_CONTROL, "")
    )
    runs = folded.str.contains("  ", literal=True) | folded.str.contains("\t", literal=True)
    folded = _where(folded, runs | _non_ascii(folded), lambda s: s.str.replace_all(_HSPACE, " "))
    ends = folded.str.ends_with(" ") | folded.str.contains(" \n", literal=True)
    folded = _where(folded, ends, lambda s: s.str.replace_all(r"(?m) +$", ""))
    starts = folded.str.starts_with(" ") | folded.str.contains("\n ", literal=True)
    folded = _where(folded, starts, lambda s: s.str.replace_all(r"(?m)^ +", ""))
    return folded.str.replace_all(r"\n{3,}", "\n\n").str.strip_chars().alias(texts.name)


def _where(
    texts: pl.Series, mask: pl.Series, change: Callable[[pl.Series], pl.Series]
) -> pl.Series:
    """Return texts with `change` applied to those where `mask` is true (null: false)."""
    at = mask.fill_null(False).arg_true()
    if at.len() == 0:
        return texts
    return texts.clone().scatter(at, change(texts.gather(at)))


def _nfkc(texts: pl.Series) -> pl.Series:
    """Return the texts NFKC-normalised; ASCII texts, their own NFKC form, are not touched.

    Normalising every text took 3.5 s of the 34,173-page syndication inbox (47 MB, mostly
    ASCII); finding the texts with a non-ASCII character takes a fraction of that.
    """
    wide = _non_ascii(texts)
    if not wide.any():
        return texts
    at = wide.arg_true()
    return texts.clone().scatter(at, texts.gather(at).str.normalize("NFKC"))


def _non_ascii(texts: pl.Series) -> pl.Series:
    """Return whether each text has a character beyond ASCII (false for null).

    A UTF-8 text has as many bytes as characters exactly when it is ASCII; counting both
    costs a thirtieth of looking for `[^\x00-\x7f]`.
    """
    return (texts.str.len_bytes() != texts.str.len_chars()).fill_null(False)


def date_prefix(expr: pl.Expr) -> pl.Expr:
    """Return the date of a leading ` date YYYY-MM-DD ` header, or null."""
    return expr.str.extract(DATE_PREFIX, 1).str.to_date("%Y-%m-%d", strict=False)


def strip_date_prefix(expr: pl.Expr) -> pl.Expr:
    """Return `expr` without a leading ` date YYYY-MM-DD ` header."""
    return expr.str.replace(DATE_PREFIX, "")


def parse_date_hint(expr: pl.Expr) -> pl.Expr:
    """Parse an ISO date or timestamp string from metadata into a date; null when unparseable."""
    return expr.str.strip_chars().str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)


def content_hash(text: str) -> str:
    """Return the stable 16-hex id of a normalised text (BLAKE2b, 64 bits)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def doc_id(expr: pl.Expr) -> pl.Expr:
    """Return the stable document id of normalised text (see `content_hash`)."""
    # polars' own .hash() is not stable across versions; BLAKE2b is.
    return expr.map_batches(
        lambda s: pl.Series([content_hash(t) for t in s.to_list()], dtype=pl.String),
        return_dtype=pl.String,
    )


def fold(expr: pl.Expr) -> pl.Expr:
    """Fold text for matching: lowercase, accents and apostrophes dropped, punctuation to spaces.

    Unicode-aware (polars' Rust regex classes): the result is tokens of letters and digits
    separated by single spaces, the form MinHash shingles are cut from.
    """
    return (
        expr.fill_null("")
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all(r"['’ʼ]", "")
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
    )


def fold_series(texts: pl.Series) -> pl.Series:
    """Fold a series of texts for matching (see `fold`).

    Only the texts with a character beyond ASCII go through `fold`'s expressions: an ASCII
    text is its own NFKD form, has no combining mark, and its letters and digits are
    [A-Za-z0-9], which a compiled loop folds (`_fold_ascii`). Folding the 172,680 distinct
    passage texts of the 34,173-page syndication inbox (all ASCII) took 0.61 s, decomposing
    half of it and replacing the runs of punctuation and space most of the rest.
    """
    plain = texts.fill_null("")
    wide = _non_ascii(plain)
    if wide.all():
        return pl.select(fold(pl.lit(plain))).to_series()
    data, offsets = utf8_buffers(plain)
    out, out_offsets = _fold_ascii(data, offsets)
    folded = pl.Series(
        plain.name,
        pa.LargeStringArray.from_buffers(len(plain), pa.py_buffer(out_offsets), pa.py_buffer(out)),
        dtype=pl.String,
    )
    at = wide.arg_true()
    if at.len() == 0:
        return folded
    return folded.scatter(at, pl.select(fold(pl.lit(plain.gather(at)))).to_series())


@njit(cache=True)
def _fold_ascii(data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ASCII texts (UTF-8 `data` between `offsets`) folded as `fold` folds them.

    On ASCII, `fold` lowercases, drops apostrophes, turns each run of other characters than
    letters and digits into one space and strips the ends. Bytes beyond ASCII are treated as
    punctuation: callers fold such texts otherwise.
    """
    n = offsets.shape[0] - 1
    out = np.empty(max(offsets[n] - offsets[0], 0), dtype=np.uint8)
    out_offsets = np.zeros(n + 1, dtype=np.int64)
    o = 0
    for t in range(n):
        space = False
        start = o
        for i in range(offsets[t], offsets[t + 1]):
            c = data[i]
            if c == 0x27:  # '
                continue
            if 0x41 <= c <= 0x5A:
                c += 0x20
            if (0x61 <= c <= 0x7A) or (0x30 <= c <= 0x39):
                if space and o > start:
                    out[o] = 0x20
                    o += 1
                out[o] = c
                o += 1
                space = False
            else:
                space = True
        out_offsets[t + 1] = o
    return out[:o], out_offsets


# Characters whose NFKD form matters (accents, ligatures, compatibility forms): anything beyond
# ASCII and the General Punctuation block (curly quotes, dashes), which NFKD leaves as punctuation.
_NEEDS_NFKD = r"[^\x00-\x7F\x{2000}-\x{206F}]"


def prefold_series(texts: pl.Series) -> pl.Series:
    """Fold texts for the compiled kernel, which finishes the job on ASCII bytes.

    Gives the same tokens as `fold` once ASCII punctuation runs are read as single spaces, at a
    fraction of its cost: NFKD runs only on texts that need it, and only non-ASCII punctuation
    is rewritten here.
    """
    full = pl.col("t").str.normalize("NFKD").str.replace_all(r"\p{M}", "")
    return (
        pl.DataFrame({"t": texts.fill_null("")})
        .select(
            pl.when(pl.col("t").str.contains(_NEEDS_NFKD))
            .then(full)
            .otherwise(pl.col("t"))
            .str.to_lowercase()
            .str.replace_all(r"['’ʼ]", "")
            .str.replace_all(r"[^\p{L}\p{N}\x00-\x7F]+", " ")
        )
        .to_series()
    )


def tokens(text: str) -> list[str]:
    """Split text into folded word tokens (see `fold`)."""
    return str(fold_series(pl.Series([text]))[0]).split()


def normalise_documents(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Normalise raw documents: text, the date header, `published_date` and `doc_id`.

    Parameters
    ----------
    raw
        Frame with the `RAW_DOCS` columns (`raw_text`, `date_hint`, ...).

    Returns
    -------
    pl.LazyFrame
        The input columns plus `text` (normalised, date header removed), `published_date`
        (the header's date, else the metadata date) and `doc_id` (hash of `text`).
    """
    folded = normalise_text(pl.col("raw_text"))
    return (
        raw.with_columns(_folded=folded)
        .with_columns(
            published_date=pl.coalesce(
                date_prefix(pl.col("_folded")), parse_date_hint(pl.col("date_hint"))
            ),
            # normalised already: normalisation is idempotent, and the header's removal
            # leaves a suffix that starts with a visible character
            text=strip_date_prefix(pl.col("_folded")),
        )
        .drop("_folded")
        .with_columns(doc_id=doc_id(pl.col("text")))
    )


def utf8_buffers(folded: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return the UTF-8 bytes and int64 offsets of a string series (nulls as empty strings)."""
    arrow = pa.array(folded.fill_null("").to_arrow()).cast(pa.large_string())
    if isinstance(arrow, pa.ChunkedArray):  # pragma: no cover - pa.array returns one chunk
        arrow = arrow.combine_chunks()
    _, offsets_buf, data_buf = arrow.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[
        arrow.offset : arrow.offset + len(arrow) + 1
    ]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    )
    return data, np.ascontiguousarray(offsets)
