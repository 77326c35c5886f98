"""Split text into sentences at line breaks and terminators, keeping quotations whole."""

from __future__ import annotations

import bisect
import itertools
import re

from flows.core.claims.vocabulary import _ATTRIBUTION_TAIL_RE, _WINDOW

# Longest sentence kept whole: every claim row repeats its sentence, so a 5 MB line without a
# full stop must not become one "sentence". Real news sentences stay well below 1,000 characters.
MAX_SENTENCE_CHARS = 1500


# Lines are hard breaks: scraped news puts headlines, captions and paragraphs on their own lines.
_LINE_RE = re.compile(r"[^\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")
_TERMINATOR_RE = re.compile(r"[.!?…]+")
_CLOSERS = frozenset("”\"’')]»")
_OPENERS = frozenset("“\"‘'([«")
_WORD_BEFORE_DOT_RE = re.compile(r"(\w+(?:\.\w+)*)$")
_GLUED_PREV_RE = re.compile(r"(?<![\w.])[a-z]{2,}$")
_GLUED_NEXT_RE = re.compile(r"[A-Z][a-z]")

# A period after these words does not end a sentence (titles, ranks, months, company suffixes).
_ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "mx", "dr", "prof", "gen", "col", "lt", "sgt", "capt", "cpt", "maj",
        "adm", "cmdr", "cdr", "brig", "cpl", "pte", "pvt", "gov", "sen", "rep", "rev", "hon",
        "pres", "supt", "insp", "det", "st", "jr", "sr", "fr", "mt", "ft", "vs", "inc", "corp",
        "ltd", "co", "bros", "dept", "univ", "assn", "approx", "est", "fig", "vol", "ch", "pp",
        "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
        "e.g", "i.e", "cf", "al", "ave", "blvd", "rd",
    }
)  # fmt: skip
# After an initialism ("U.S.", "U.N.") a new sentence starts only before one of these words.
_STARTERS = frozenset(
    {
        "The", "A", "An", "He", "She", "It", "They", "We", "I", "You", "This", "That", "These",
        "Those", "There", "His", "Her", "Its", "Their", "Our", "But", "And", "In", "On", "At",
        "However", "Meanwhile", "After", "Earlier", "Later", "When", "While", "If", "As", "So",
    }
)  # fmt: skip


_QUOTE_CHAR_RE = re.compile(r'[“”«»"]')


def _quote_regions(text: str) -> list[tuple[int, int]]:
    """Return the (open, close) indexes of the outermost balanced double quotes in `text`.

    Curly quotes nest; straight quotes toggle. Unclosed quotes (a quotation running on into the
    next paragraph) yield no region. Overlapping regions are merged, so the result is sorted and
    disjoint (searchable with `bisect`).
    """
    regions: list[tuple[int, int]] = []
    curly: list[int] = []
    guillemets: list[int] = []
    straight: int | None = None
    for quote in _QUOTE_CHAR_RE.finditer(text):
        i, ch = quote.start(), quote.group()
        if ch == "“":
            curly.append(i)
        elif ch == "”":
            if curly:
                regions.append((curly.pop(), i))
        elif ch == "«":
            guillemets.append(i)
        elif ch == "»":
            if guillemets:
                regions.append((guillemets.pop(), i))
        elif ch == '"':
            if straight is None:
                straight = i
            else:
                regions.append((straight, i))
                straight = None
    merged: list[tuple[int, int]] = []
    for o, c in sorted(regions):
        if merged and o <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(c, merged[-1][1]))
        else:
            merged.append((o, c))
    return merged


def _region_before(regions: list[tuple[int, int]], pos: int) -> tuple[int, int] | None:
    """The region opening last before `pos` (regions sorted and disjoint), if any."""
    i = bisect.bisect_left(regions, (pos, -1)) - 1
    return regions[i] if i >= 0 else None


def _region_containing(regions: list[tuple[int, int]], pos: int) -> tuple[int, int] | None:
    """The quotation strictly around `pos` (open < pos < close), if any."""
    region = _region_before(regions, pos)
    return region if region is not None and pos < region[1] else None


def _cuts_region(regions: list[tuple[int, int]], pos: int) -> bool:
    """Whether ending a sentence just before `pos` would cut a quotation in two."""
    region = _region_before(regions, pos)
    return region is not None and pos <= region[1]


def _word_run_start(line: str, lo: int, end: int) -> int:
    """Start of the run of word characters (`\\w`) and full stops ending at `end`, from `lo` on:
    no match of `_WORD_BEFORE_DOT_RE` ending at `end` starts before it (`line` holds no line
    break, whose "\\n" would let `$` match before it)."""
    start = end
    while start > lo and (line[start - 1].isalnum() or line[start - 1] in "_."):
        start -= 1
    return start


def _is_boundary(line: str, ts: int, te: int, end: int, regions: list[tuple[int, int]]) -> bool:
    """Whether the terminator line[ts:te] (plus closers up to `end`) ends a sentence."""
    if end >= len(line) or _cuts_region(regions, end):
        return False
    rest = line[end : end + 2 * _WINDOW]
    term = line[ts:te]
    space = re.match(r"\s+", rest)
    if space is None:
        # Scrapers glue paragraphs: "said this morning.Ukraine-Russia war live".
        return (
            term == "."
            and end == te
            and _GLUED_NEXT_RE.match(rest) is not None
            and _GLUED_PREV_RE.search(line, max(0, ts - _WINDOW), ts) is not None
        )
    nxt = rest[space.end() : space.end() + 1]
    if not nxt or not (nxt.isupper() or nxt.isdigit() or nxt in _OPENERS):
        return False
    if end > te and _ATTRIBUTION_TAIL_RE.match(rest):
        # “Why?” Putin asked. -- the attribution after a closing quote stays with the quote.
        return False
    if term == "." and end == te:
        word = _WORD_BEFORE_DOT_RE.search(line, _word_run_start(line, max(0, ts - _WINDOW), ts), ts)
        if word is not None:
            w = word.group(1)
            lw = w.lower()
            if lw in _ABBREVIATIONS or (lw in ("no", "nos") and nxt.isdigit()):
                return False
            if len(w) == 1 and w.isupper():
                return False  # an initial: "J. Smith"
            parts = w.split(".")
            if len(parts) > 1 and all(len(p) == 1 for p in parts):
                following = re.match(r"\w+", rest[space.end() :])
                return following is not None and following.group() in _STARTERS
    return True


def split_sentences(text: str, *, max_chars: int = MAX_SENTENCE_CHARS) -> list[tuple[int, int]]:
    """Return the (start, end) character spans of the sentences of `text`, in order.

    Line breaks always end a sentence. Within a line, `.`, `!`, `?` and `…` (with any closing
    quotes or brackets) end a sentence when followed by white space and an upper-case letter, a
    digit or an opening quote; not after abbreviations ("Mr.", "Gen.", "Jan."), initials ("J."),
    initialisms ("U.S.", unless a sentence starter such as "The" follows), inside a balanced
    quotation, or before a short attribution after a closing quote (“Why?” Putin asked.).
    Decimals ("2.5") never split because no white space follows the point. A run-on "sentence"
    longer than `max_chars` (a table, a scraped blob) is cut at white space into pieces of at
    most `max_chars`. Spans exclude surrounding white space and are never empty.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    spans: list[tuple[int, int]] = []
    for line_match in _LINE_RE.finditer(text):
        spans.extend(_line_sentences(line_match.group(), line_match.start(), max_chars))
    return spans


def _line_sentences(line: str, base: int, max_chars: int) -> list[tuple[int, int]]:
    """The sentence spans of `line`, a line of `split_sentences` that starts at `base`."""
    regions = _quote_regions(line)
    cuts = [0]
    for term in _TERMINATOR_RE.finditer(line):
        end = term.end()
        while end < len(line) and line[end] in _CLOSERS:
            end += 1
        if _is_boundary(line, term.start(), term.end(), end, regions):
            cuts.append(end)
    cuts.append(len(line))
    spans: list[tuple[int, int]] = []
    for a, b in itertools.pairwise(cuts):
        spans.extend((base + s, base + e) for s, e in _stripped_pieces(line, a, b, max_chars))
    return spans


def _stripped_pieces(line: str, a: int, b: int, max_chars: int) -> list[tuple[int, int]]:
    """Spans of line[a:b] without surrounding white space, cut at white space to `max_chars`."""
    pieces = []
    while a < b:
        while a < b and line[a].isspace():
            a += 1
        end = b
        while end > a and line[end - 1].isspace():
            end -= 1
        if a >= end:
            break
        if end - a <= max_chars:
            pieces.append((a, end))
            break
        cut = a + max_chars
        space = max(line.rfind(" ", a + 1, cut + 1), line.rfind("\t", a + 1, cut + 1))
        if space > a:
            cut = space
        piece_end = cut
        while line[piece_end - 1].isspace():
            piece_end -= 1
        pieces.append((a, piece_end))
        a = cut
    return pieces
