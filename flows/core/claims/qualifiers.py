"""Read how exact a quantity is from the words before it."""

from __future__ import annotations

import re

QUALIFIERS = ("exact", "approximate", "at_least", "more_than", "at_most", "up_to", "nearly")


_QUALIFIER_PATTERNS = (
    ("approximate", r"an\s+estimated|estimated|about|around|roughly|some|approximately|approx\."
     r"|approx|circa|an\s+approximate|in\s+the\s+region\s+of|more\s+or\s+less"),
    ("at_least", r"at\s+least|no\s+fewer\s+than|no\s+less\s+than|not\s+less\s+than"
     r"|a\s+minimum\s+of"),
    ("more_than", r"more\s+than|over|upwards\s+of|in\s+excess\s+of|above|exceeding|just\s+over"
     r"|well\s+over|greater\s+than"),
    ("at_most", r"at\s+most|no\s+more\s+than|not\s+more\s+than|a\s+maximum\s+of|fewer\s+than"
     r"|less\s+than|under|below"),
    ("up_to", r"up\s+to|as\s+many\s+as|as\s+much\s+as"),
    ("nearly", r"nearly|almost|close\s+to|just\s+under|just\s+shy\s+of|just\s+short\s+of"),
)  # fmt: skip
_QUALIFIER_RE = re.compile(
    r"(?<![\w])(?i:"
    + "|".join(f"(?P<{name}>{pattern})" for name, pattern in _QUALIFIER_PATTERNS)
    + r")[\s“\"(]*$"
)


_PREPOSITIONAL_ABOUT_RE = re.compile(
    r"(?i:\b(?:talk|talks|talked|talking|think|thinks|thinking|thought|speak|speaks|speaking"
    r"|spoke|worry|worried|worrying|concerned|know|knew|care|cares|cared|news|hear|heard|ask"
    r"|asked|asking|fight|fought|fighting|argue|argued|arguing|dispute|disputed|much|all|how"
    r"|what|is|was|are|were)"
    r"\s+(?:about|over|around|under|above|below)[\s“\"(]*)$"
)


def _qualifier(before: str) -> str:
    m = _QUALIFIER_RE.search(before)
    if m is None or m.lastgroup is None:
        return "exact"
    if _PREPOSITIONAL_ABOUT_RE.search(before):
        return "exact"  # "talking about 1,500", "fought over 3 villages"
    return m.lastgroup
