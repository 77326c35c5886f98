"""Split documents into passages: lines, and sentences within lines."""

from __future__ import annotations

import itertools
import re

import polars as pl

# A sentence ends at . ! ? or … (plus closing quotes/brackets) followed by space and a capital,
# digit or opening quote. Abbreviations may split too; short fragments are re-joined below.
_SENTENCE_END = re.compile(r"[.!?…]+[\"”’')\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9À-Ý])")

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


def _line_spans(text: str) -> list[tuple[int, int, int]]:
    """Return (line index, start, end) of each non-empty line."""
    spans = []
    pos = 0
    for i, line in enumerate(text.split("\n")):
        stripped = line.strip()
        if stripped:
            lead = len(line) - len(line.lstrip())
            spans.append((i, pos + lead, pos + lead + len(stripped)))
        pos += len(line) + 1
    return spans


def sentence_spans(text: str, start: int, end: int, min_chars: int) -> list[tuple[int, int]]:
    """Split text[start:end] into sentence spans; fragments under `min_chars` join a neighbour."""
    cuts = [start]
    for m in _SENTENCE_END.finditer(text, start, end):
        cuts.append(m.end())
    cuts.append(end)
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
    """
    rows: dict[str, list] = {k: [] for k in PASSAGES}
    for doc_id, text in docs.select("doc_id", "text").iter_rows():
        p = 0
        for line, a, b in _line_spans(text or ""):
            for s, e in sentence_spans(text, a, b, min_chars):
                rows["doc_id"].append(doc_id)
                rows["passage"].append(p)
                rows["line"].append(line)
                rows["start"].append(s)
                rows["end"].append(e)
                rows["text"].append(text[s:e])
                p += 1
    return pl.DataFrame(rows, schema=PASSAGES)
