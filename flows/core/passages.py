"""Split documents into passages: lines, and sentences within lines."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
from numba import njit

# A sentence ends at . ! ? or … (plus closing quotes/brackets) followed by white space and a
# capital, digit or opening quote: as the regular expression
#     [.!?…]+["”’')\]]*\s+(?=["“‘'(\[]?[A-Z0-9À-Ý])
# would cut a line. Abbreviations may cut too; fragments shorter than `min_chars` are joined
# to the sentence before them on their line (or the next one joins them). The plain-Python
# definition is in tests/test_stage_kernels.py.

PASSAGES = pl.Schema(
    {
        "doc_id": pl.String,
        "passage": pl.Int64,  # index of the passage within its document
        "line": pl.Int64,  # index of the line within its document
        "start": pl.Int64,  # character offsets in the document's text
        "end": pl.Int64,
        "text": pl.String,
    }
)


# Python's white space (str.isspace), the characters str.strip() and re's \s take away.
SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_SPACE_TABLE = np.zeros(0x3001, dtype=np.bool_)
_SPACE_TABLE[[ord(c) for c in SPACES]] = True


@njit(inline="always")
def _space(c: int, table: np.ndarray) -> bool:
    return c < table.shape[0] and bool(table[c])


@njit(inline="always")
def _ends(c: int) -> bool:  # [.!?…]
    return c == 0x2E or c == 0x21 or c == 0x3F or c == 0x2026


@njit(inline="always")
def _closes(c: int) -> bool:  # ["”’')\]]
    return c == 0x22 or c == 0x201D or c == 0x2019 or c == 0x27 or c == 0x29 or c == 0x5D


@njit(inline="always")
def _opens(c: int) -> bool:  # ["“‘'(\[]
    return c == 0x22 or c == 0x201C or c == 0x2018 or c == 0x27 or c == 0x28 or c == 0x5B


@njit(inline="always")
def _starts(c: int) -> bool:  # [A-Z0-9À-Ý]
    return (0x41 <= c <= 0x5A) or (0x30 <= c <= 0x39) or (0xC0 <= c <= 0xDD)


@njit(inline="always")
def _cut_after(t: np.ndarray, i: int, b: int, table: np.ndarray) -> int:
    """Return where a match of `_SENTENCE_END` starting at `i` ends (no later than `b`), or -1.

    The pattern's runs are of disjoint character classes, so greedy matching decides: no
    shorter run of one of them lets the rest match.
    """
    j = i
    while j < b and _ends(t[j]):
        j += 1
    if j == i:
        return -1
    while j < b and _closes(t[j]):
        j += 1
    k = j
    while k < b and _space(t[k], table):
        k += 1
    if k == j:
        return -1
    if k < b and _starts(t[k]):
        return k
    if k + 1 < b and _opens(t[k]) and _starts(t[k + 1]):
        return k
    return -1


@njit(inline="always")
def _utf8_length(c: int) -> int:
    return 1 if c < 0x80 else 2 if c < 0x800 else 3 if c < 0x10000 else 4


@njit(cache=True)
def _split_kernel(
    t: np.ndarray, offsets: np.ndarray, min_chars: int, table: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the passages of texts given as code points.

    Returns doc, passage (in its doc), line, start, end (code points in the doc) and the
    passages' texts as UTF-8 bytes with Arrow offsets.
    """
    cap = 16
    doc = np.empty(cap, dtype=np.int64)
    passage = np.empty(cap, dtype=np.int64)
    line = np.empty(cap, dtype=np.int64)
    start = np.empty(cap, dtype=np.int64)
    end = np.empty(cap, dtype=np.int64)
    n = 0
    cuts = np.empty(16, dtype=np.int64)
    for d in range(offsets.shape[0] - 1):
        base, stop = offsets[d], offsets[d + 1]
        line_no = 0
        in_doc = 0
        pos = base
        while pos <= stop:
            eol = pos
            while eol < stop and t[eol] != 0x0A:
                eol += 1
            a, b = pos, eol  # the line, stripped
            while a < b and _space(t[a], table):
                a += 1
            while b > a and _space(t[b - 1], table):
                b -= 1
            if b > a:
                # sentence cuts: re.finditer of `_SENTENCE_END` over t[a:b]
                m = 0
                if cuts.shape[0] < b - a + 2:
                    cuts = np.empty(2 * (b - a + 2), dtype=np.int64)
                cuts[m] = a
                m += 1
                i = a
                while i < b:
                    k = _cut_after(t, i, b, table) if _ends(t[i]) else -1
                    if k < 0:
                        i += 1
                    else:
                        cuts[m] = k
                        m += 1
                        i = k
                cuts[m] = b
                m += 1
                first = n  # this line's spans start here: joins stay within the line
                for c in range(m - 1):
                    s, e = cuts[c], cuts[c + 1]
                    while e > s and _space(t[e - 1], table):
                        e -= 1
                    if e <= s:
                        continue
                    if n > first and (e - s < min_chars or end[n - 1] - start[n - 1] < min_chars):
                        end[n - 1] = e
                        continue
                    if n == cap:
                        cap *= 2
                        doc = np.resize(doc, cap)
                        passage = np.resize(passage, cap)
                        line = np.resize(line, cap)
                        start = np.resize(start, cap)
                        end = np.resize(end, cap)
                    doc[n], passage[n], line[n], start[n], end[n] = d, in_doc, line_no, s, e
                    n += 1
                    in_doc += 1
            line_no += 1
            pos = eol + 1
    doc, passage, line, start, end = doc[:n], passage[:n], line[:n], start[:n], end[:n]
    # the passages' texts, UTF-8 encoded one after another (Arrow's string layout)
    utf8_offsets = np.zeros(n + 1, dtype=np.int64)
    for p in range(n):
        size = 0
        for i in range(start[p], end[p]):
            size += _utf8_length(t[i])
        utf8_offsets[p + 1] = utf8_offsets[p] + size
    utf8 = np.empty(utf8_offsets[n], dtype=np.uint8)
    o = 0
    for p in range(n):
        for i in range(start[p], end[p]):
            c = t[i]
            if c < 0x80:
                utf8[o] = c
                o += 1
            elif c < 0x800:
                utf8[o] = 0xC0 | (c >> 6)
                utf8[o + 1] = 0x80 | (c & 0x3F)
                o += 2
            elif c < 0x10000:
                utf8[o] = 0xE0 | (c >> 12)
                utf8[o + 1] = 0x80 | ((c >> 6) & 0x3F)
                utf8[o + 2] = 0x80 | (c & 0x3F)
                o += 3
            else:
                utf8[o] = 0xF0 | (c >> 18)
                utf8[o + 1] = 0x80 | ((c >> 12) & 0x3F)
                utf8[o + 2] = 0x80 | ((c >> 6) & 0x3F)
                utf8[o + 3] = 0x80 | (c & 0x3F)
                o += 4
        start[p] -= offsets[doc[p]]
        end[p] -= offsets[doc[p]]
    return doc, passage, line, start, end, utf8, utf8_offsets


# Documents `split_passages` splits at a time (about 80 MB of code points for news pages).
SPLIT_BLOCK_DOCS = 20_000


def split_passages(docs: pl.DataFrame, min_chars: int = 20) -> pl.DataFrame:
    """Split each document's `text` into passages.

    Parameters
    ----------
    docs
        Frame with `doc_id` (unique) and `text`.
    min_chars
        Sentence fragments shorter than this stay joined to their neighbour on the same line.

    Returns
    -------
    pl.DataFrame
        `PASSAGES` rows: one per sentence of each non-empty line, with character spans such that
        `text[start:end] == passage text`.

    Notes
    -----
    Lines (split at "\\n", stripped of Python's white space) and sentences are found by a
    compiled kernel over the texts' code points (`_split_kernel`): a Python loop per sentence
    took a quarter of the boilerplate stage (4.7 s against 1.0 s for the 571k passages of the
    34,173-page syndication inbox). The passage texts come out of one UTF-8 buffer that the
    kernel fills, without one Python string each.
    """
    if docs.height == 0:
        return pl.DataFrame(schema=PASSAGES)
    if docs.height > SPLIT_BLOCK_DOCS:
        # The code points of a block at a time: 4 bytes a character, and a joined copy of the
        # texts beside them, were gigabytes for a 300,000-page inbox in one piece.
        return pl.concat(
            [
                split_passages(docs.slice(i, SPLIT_BLOCK_DOCS), min_chars)
                for i in range(0, docs.height, SPLIT_BLOCK_DOCS)
            ]
        )
    texts = docs["text"].fill_null("")
    lengths = texts.str.len_chars().cast(pl.Int64).to_numpy()
    points = np.frombuffer("".join(texts.to_list()).encode("utf-32-le"), dtype=np.uint32)
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    doc, passage, line, start, end, utf8, utf8_offsets = _split_kernel(
        points, offsets, min_chars, _SPACE_TABLE
    )
    text = pl.from_arrow(
        pa.LargeStringArray.from_buffers(len(doc), pa.py_buffer(utf8_offsets), pa.py_buffer(utf8))
    )
    return pl.DataFrame(
        {
            "doc_id": docs["doc_id"].gather(doc),
            "passage": passage,
            "line": line,
            "start": start,
            "end": end,
            "text": text,
        },
        schema=PASSAGES,
    )
