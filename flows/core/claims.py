"""Rule-based extraction of numeric attributed claims: who said what number about what.

`extract_claims` splits each document's `clean_text` into sentences (`split_sentences`), finds the
counted quantities in every sentence ("about 12,000 troops", "a couple of thousand", "six
soldiers") and attributes each to a source ("the Pentagon said", "according to police", a quote
followed by "the minister said", "..., saying"). Numbers that are not counts are skipped: years,
dates, ages, percentages, money, clock times, durations, measurements ("20 kilometres"), index
values ("closed at 6709.93"), ordinals and compound modifiers ("three-year"), numbers in names
("G7", "F-16", "Resolution 2231"), "one" used as a pronoun, numbers that count the sources
("one official said"), and vague amounts ("hundreds of", "thousands of", "dozens").

Everything here is a heuristic over surface text (no tagger, no coreference): pronoun sources stay
pronouns ("he"), and units are the words after the number up to the first function word or verb;
a count without such words takes the outcome after it ("27 were injured"), the subject before a
copula ("losses were upwards of 500,000"), or, when elliptical ("141 votes to 52", "fewer than
200."), the unit of the count just before it.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

import polars as pl

from flows.core.schema import CLAIMS, empty

__all__ = [
    "MAX_SENTENCE_CHARS",
    "QUALIFIERS",
    "extract_claims",
    "parse_quantity",
    "split_sentences",
]

# Context regexes look at most this many characters around a number or terminator, which keeps
# extraction linear on pathological input (a 5 MB line of figures).
_WINDOW = 120
# Longest sentence kept whole: every claim row repeats its sentence, so a 5 MB line without a
# full stop must not become one "sentence". Real news sentences stay well below 1,000 characters.
MAX_SENTENCE_CHARS = 1500

QUALIFIERS = ("exact", "approximate", "at_least", "more_than", "at_most", "up_to", "nearly")

# --------------------------------------------------------------------------------------------
# Sentence splitting
# --------------------------------------------------------------------------------------------

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
        base = line_match.start()
        line = line_match.group()
        regions = _quote_regions(line)
        cuts = [0]
        for term in _TERMINATOR_RE.finditer(line):
            end = term.end()
            while end < len(line) and line[end] in _CLOSERS:
                end += 1
            if _is_boundary(line, term.start(), term.end(), end, regions):
                cuts.append(end)
        cuts.append(len(line))
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


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

# Attribution verbs (lower case only: "States" in "United States" is no verb). Nouns that look
# like verbs ("the claim", "their reports") are rejected by the source check.
_ATTRIBUTION_VERBS = frozenset(
    {
        "said", "says", "say", "claimed", "claims", "claim", "estimated", "estimates", "estimate",
        "confirmed", "confirms", "confirm", "reported", "reports", "warned", "warns", "told",
        "tells", "added", "adds", "alleged", "alleges", "stated", "announced", "announces",
        "wrote", "writes", "noted", "insisted", "insists", "acknowledged", "admitted", "asserted",
        "declared", "disclosed", "revealed", "reveals", "tweeted", "asked",
    }
)  # fmt: skip
# Participles that attribute to the sentence's subject after a comma ("..., saying 300 ...").
_PARTICIPLE_VERBS = frozenset({"saying", "adding", "warning", "claiming", "estimating"})
_BY_VERBS = frozenset({"reported", "confirmed", "estimated", "claimed", "stated", "announced"})
# A short attribution clause after a closing quote, up to the next terminator.
_ATTRIBUTION_TAIL_RE = re.compile(
    r"\s+(?:(?:Mr|Mrs|Ms|Dr|Gen|Col|Lt|Sgt|Capt|Gov|Sen|Rep|Prof)\.\s+|[\w’'\-]+\s+){1,5}"
    r"(?:" + "|".join(sorted(_ATTRIBUTION_VERBS)) + r")\b[^.!?…“”\"]{0,60}(?:[.!?…]|$)"
)

_MONTHS = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)"
)
_DAYS = frozenset({"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"})
_MONTH_NAMES = frozenset(
    {
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December",
    }
)  # fmt: skip
_TIME_NOUNS = frozenset(
    {"week", "night", "month", "year", "morning", "evening", "afternoon", "weekend", "day"}
) | {d.lower() for d in _DAYS}

_DETERMINERS = frozenset(
    {
        "the", "a", "an", "this", "these", "those", "that", "its", "their", "his", "her", "our",
        "my", "your", "some", "any", "each", "every", "all", "both", "no", "most", "many",
        "several", "few",
    }
)  # fmt: skip
_PRONOUNS = frozenset({"he", "she", "they", "it", "we", "i", "you"})
_OBJECT_PRONOUNS = frozenset({"him", "her", "them", "us", "me"})
_PREPOSITIONS = frozenset(
    {
        "of", "in", "on", "at", "to", "from", "for", "with", "into", "onto", "across", "near",
        "since", "during", "after", "before", "over", "under", "within", "without", "between",
        "against", "toward", "towards", "through", "throughout", "per", "as", "than", "like",
        "about", "around", "by", "via", "amid", "among", "alongside", "inside", "outside",
        "beyond", "behind", "following", "including", "despite", "upon", "off", "out", "up",
        "down", "along", "until", "till", "versus", "vs", "whereby",
    }
)  # fmt: skip
_CONJUNCTIONS = frozenset(
    {
        "and", "or", "but", "nor", "so", "yet", "while", "whereas", "because", "although",
        "though", "if", "unless", "whether", "when", "where", "who", "whom", "whose", "which",
        "that", "what", "once", "then",
    }
)  # fmt: skip
_AUXILIARIES = frozenset(
    {
        "is", "are", "was", "were", "be", "been", "being", "am", "have", "has", "had", "do",
        "does", "did", "will", "would", "shall", "should", "can", "could", "may", "might", "must",
        "not", "never",
    }
)  # fmt: skip
_COMMON_VERBS = frozenset(
    {
        "remain", "remains", "left", "leave", "leaves", "went", "go", "goes", "gone", "came",
        "come", "comes", "make", "makes", "made", "take", "takes", "took", "taken", "get", "gets",
        "got", "arrive", "arrives", "flee", "flees", "fled", "die", "dies", "fight", "fights",
        "fought", "need", "needs", "sent", "send", "sends", "lost", "lose", "loses", "seen", "saw",
        "see", "sees", "live", "lives", "work", "works", "hold", "holds", "held", "face", "faces",
        "joined", "join", "joins", "begin", "began", "run", "ran", "stand", "stood", "meet", "met",
        "believe", "believes", "think", "thinks", "thought", "know", "knows", "knew", "known",
        "show", "shows", "showed", "shown", "put", "keep", "kept", "bring", "brought", "cross",
        "crosses", "move", "moves", "serve", "serves", "include", "includes", "according",
        "saying", "adding", "citing", "giving", "called", "call", "calls", "set", "let", "become",
        "became", "seem", "seems", "appear", "appears", "want", "wants", "try", "tries", "reach",
        "reaches", "enter", "enters", "return", "returns", "stay", "stays", "wait", "waits",
        "surrender", "surrendered", "train", "trains", "deploy", "deploys", "head", "heads",
    }
)  # fmt: skip
_ADVERBS = frozenset(
    {
        "now", "still", "also", "already", "just", "only", "even", "ago", "there", "here",
        "later", "earlier", "again", "too", "very", "today", "yesterday", "tonight", "tomorrow",
        "last", "next", "more", "less", "meanwhile", "however", "instead", "moreover", "thus",
        "furthermore", "additionally", "separately", "previously", "repeatedly", "reportedly",
        "recently", "initially", "publicly", "privately", "officially", "subsequently",
        "originally", "first", "allegedly", "apparently", "overnight",
    }
)  # fmt: skip
_FUNCTION_WORDS = (
    _DETERMINERS
    | _PRONOUNS
    | _OBJECT_PRONOUNS
    | _PREPOSITIONS
    | _CONJUNCTIONS
    | _AUXILIARIES
    | _COMMON_VERBS
    | _ADVERBS
    | _ATTRIBUTION_VERBS
)

# Participles that describe what happened to the counted things; kept in the unit
# ("six soldiers had been killed" -> unit "soldiers killed").
_OUTCOMES = frozenset(
    {
        "killed", "wounded", "injured", "dead", "died", "missing", "displaced", "detained",
        "arrested", "captured", "evacuated", "rescued", "hospitalised", "hospitalized",
        "executed", "abducted", "kidnapped", "deported", "imprisoned", "jailed", "freed",
        "released", "affected", "infected", "stranded", "hurt", "slain", "downed", "shot down",
    }
)  # fmt: skip
# -ed words that also work as adjectives before a noun ("armed men", "displaced people").
_ED_ADJECTIVES = frozenset(
    {
        "armed", "unarmed", "trained", "skilled", "unidentified", "registered", "displaced",
        "injured", "wounded", "detained", "retired", "uniformed", "masked", "unnamed",
        "suspected", "alleged", "confirmed", "reported", "unmanned", "guided", "armoured",
        "armored", "advanced", "qualified", "enlisted", "conscripted", "mobilised", "mobilized",
        "licensed", "listed", "named", "elected", "united", "detached", "embedded",
    }
)  # fmt: skip
_LY_WORDS = frozenset(
    {
        "family", "ally", "assembly", "supply", "rally", "anomaly", "monopoly", "belly", "fly",
        "holy", "elderly", "friendly", "deadly", "weekly", "daily", "monthly", "yearly", "early",
        "costly", "lowly", "bully", "reply", "butterfly", "homily", "lily", "jelly", "italy",
    }
)  # fmt: skip
_IRREGULAR_PLURALS = frozenset(
    {
        "people", "police", "personnel", "staff", "children", "men", "women", "cattle", "troops",
        "militia", "crew", "infantry", "media", "data", "youth", "civilians", "livestock",
        "aircraft", "equipment", "artillery", "ammunition",
    }
)  # fmt: skip
_DURATIONS = frozenset(
    {
        "second", "seconds", "minute", "minutes", "hour", "hours", "day", "days", "week",
        "weeks", "fortnight", "fortnights", "month", "months", "year", "years", "decade",
        "decades", "century", "centuries", "millennium", "millennia", "night", "nights",
    }
)  # fmt: skip
# Units of measure: "20 kilometres", "25,000 hectares", "180 millimetres of rain" are sizes, not
# counts of things (mass stays: "900 tonnes of aid" is how aid deliveries are counted; "foot"
# stays out for "500 foot soldiers").
_MEASURES = frozenset(
    {
        "metre", "metres", "meter", "meters", "kilometre", "kilometres", "kilometer",
        "kilometers", "km", "kms", "centimetre", "centimetres", "centimeter", "centimeters", "cm",
        "millimetre", "millimetres", "millimeter", "millimeters", "mm", "mile", "miles", "yard",
        "yards", "feet", "ft", "inch", "inches", "hectare", "hectares", "ha", "acre",
        "acres", "litre", "litres", "liter", "liters", "gallon", "gallons", "barrel", "barrels",
        "degree", "degrees", "knots", "mph", "kph", "km/h", "square", "cubic", "sq",
    }
)  # fmt: skip
# Words after a number that are no counted thing ("four short of a majority", "two apiece").
_NOT_UNIT_AFTER_RE = re.compile(r"\s+(?i:(?:short|shy)\s+of|apiece)\b")
# Heads of a source noun phrase that may carry a prepositional tail ("officials in Kyiv",
# "sources on the Ukrainian side", "the mayor of Kharkiv").
_SOURCE_HEADS = frozenset(
    {
        "official", "officials", "source", "sources", "authorities", "police", "spokesman",
        "spokeswoman", "spokesperson", "minister", "ministry", "mayor", "governor", "officer",
        "officers", "analyst", "analysts", "expert", "experts", "residents", "witnesses",
        "witness", "commander", "commanders", "leader", "leaders", "president", "head", "chief",
        "director", "secretary", "ambassador", "envoy", "representative", "representatives",
        "staff", "department", "office", "agency", "army", "military", "government",
    }
)  # fmt: skip
# Words before a number that make it a label rather than a count ("Article 5", "Flight 17").
_LABEL_WORDS = (
    r"article|articles|section|chapter|clause|resolution|flight|route|highway|gate|level|phase"
    r"|stage|grade|room|page|pages|volume|vol|number|type|model|mark|mk|block|track|episode"
    r"|season|act|part|row|platform|terminal|figure|fig|table|paragraph|item|lane|channel"
    r"|apollo|boeing|airbus|windows|iphone|covid|category|class|zone|sector|building|unit"
    r"|reactor|district|ward|precinct|code|version|step|round|game|match|week|day|year|top"
    r"|batch|series|group|division|corps|brigade|battalion|regiment|squadron|fleet|army|no"
)

# --------------------------------------------------------------------------------------------
# Quantities
# --------------------------------------------------------------------------------------------

_SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_SUFFIX_SCALES = {"k": 10**3, "K": 10**3, "m": 10**6, "mn": 10**6, "bn": 10**9}

_NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    "hundred", "thousand", "million", "billion", "trillion", "dozen",
)  # fmt: skip
_NUMBER_WORD = "(?:" + "|".join(_NUMBER_WORDS) + ")"
_SCALE_WORD = r"(?:dozen|hundred|thousand|million|billion|trillion)"
_DIGITS = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?"
_QUANTITY = (
    r"(?P<vague>(?i:\b(?:tens|hundreds)\s+of\s+(?:thousands|millions)\b"
    r"|\b(?:a\s+few|several|many|some)\s+" + _SCALE_WORD + r"\b"
    r"|\b(?:dozens|scores|hundreds|thousands|millions|billions)\b))"
    r"|(?P<couple>(?i:\ba\s+couple\s+(?:of\s+)?(?P<couple_scale>" + _SCALE_WORD + r")\b))"
    r"|(?P<half>(?i:\bhalf\s+an?\s+(?P<half_scale>" + _SCALE_WORD + r")\b))"
    r"|(?P<single>(?i:\ban?\s+(?P<single_scale>" + _SCALE_WORD + r")\b))"
    r"|(?P<digits>(?<![\w.,:/])(?P<num>" + _DIGITS + r")"
    r"(?:\s*(?P<word_scale>(?i:hundred|thousand|million|billion|trillion))\b"
    r"|(?P<suffix>k|K|m|mn|bn)\b)?(?![\w/]))"
    r"|(?P<words>(?i:\b" + _NUMBER_WORD + r"(?:(?:\s+|-)" + _NUMBER_WORD + r")*\b))"
)
# Where a match of _QUANTITY can start: a digit, or a word boundary before the first letter of
# "tens", "hundreds", "a few", "several", "many", "some", "dozens", "scores", "thousands",
# "millions", "billions", "a couple", "half", "a"/"an" or a number word. Testing this first
# spares the regex engine its many case-insensitive alternatives at most positions (the
# matches are the same: tests/test_claims_shortcuts.py).
_QUANTITY_START = r"(?=[0-9]|\b(?i:[abdefhmnostz]))"
_QUANTITY_RE = re.compile(_QUANTITY_START + "(?:" + _QUANTITY + ")")

# Every match of _QUANTITY_RE holds a digit or, in any case, a number word ("tens", "hundreds"
# and "dozens" start with one; "scores" is the one vague amount without one). The same test in
# polars (Rust's regex engine), for many sentences at once: Python's case-insensitive "i" also
# matches "İ" and "ı", which Rust's case folding does not, so "i" is spelled out (for every
# other letter Rust matches at least what Python does: tests/test_claims.py checks every code
# point).
_NUMBER_HINT = r"[0-9]|(?i:" + "|".join((*_NUMBER_WORDS, "scores")).replace("i", "[iİı]") + ")"


def _may_hold_numbers(sentences: list[str]) -> list[bool]:
    """For each sentence, False when `_find_numbers` of it is surely empty: then it yields no
    claim and lends no unit to the sentences after it. True does not promise a number."""
    return pl.Series(sentences, dtype=pl.String).str.contains(_NUMBER_HINT).to_list()


def _scale_value(word: str) -> int | None:
    word = word.lower()
    if word == "dozen":
        return 12
    if word == "hundred":
        return 100
    return _SCALES.get(word)


def _words_value(text: str) -> float | None:
    """Value of a spelled-out number ("twenty-five thousand", "two dozen"); None if malformed."""
    words = re.split(r"[\s-]+", text.lower())
    if not words or _scale_value(words[0]) is not None:
        return None
    total = 0
    current = 0
    last = ""  # kind of the previous word: small, tens, hundred, scale
    for word in words:
        if word in _SMALL:
            if last == "small" or (last == "tens" and _SMALL[word] >= 10):
                return None
            current += _SMALL[word]
            last = "small"
        elif word in _TENS:
            if last in ("small", "tens"):
                return None
            current += _TENS[word]
            last = "tens"
        elif word in ("hundred", "dozen"):
            if last not in ("small", "tens") or current == 0:
                return None
            current *= 100 if word == "hundred" else 12
            last = "hundred"
        elif word in _SCALES:
            if last == "scale" or current == 0:
                return None
            total += current * _SCALES[word]
            current = 0
            last = "scale"
        else:
            return None
    return float(total + current)


def parse_quantity(text: str) -> float | None:
    """Return the value of a quantity text ("10,000", "1.5 million", "11k", "a dozen",
    "a couple of thousand", "twenty-five"), or None when it is vague or not a number."""
    match = _QUANTITY_RE.fullmatch(text.strip())
    if match is None:
        return None
    return _match_value(match)


def _match_value(m: re.Match[str]) -> float | None:
    try:
        if m.group("couple"):
            scale = _scale_value(m.group("couple_scale"))
            return None if scale is None else 2.0 * scale
        if m.group("half"):
            scale = _scale_value(m.group("half_scale"))
            return None if scale is None else 0.5 * scale
        if m.group("single"):
            scale = _scale_value(m.group("single_scale"))
            return None if scale is None else float(scale)
        if m.group("digits"):
            value = Decimal(m.group("num").replace(",", ""))
            if m.group("word_scale"):
                scale = _scale_value(m.group("word_scale"))
                if scale is None:
                    return None
                value *= scale
            elif m.group("suffix"):
                value *= _SUFFIX_SCALES[m.group("suffix")]
            result = float(value)
            return result if math.isfinite(result) else None
        if m.group("words"):
            return _words_value(m.group("words"))
    except (InvalidOperation, ValueError, OverflowError):
        return None
    return None  # vague


# Contexts (regexes over the sentence before / after the number) that make a number no count.
_MONEY_BEFORE_RE = re.compile(r"(?:[$£€¥₹₽₴]|\b(?:US|A|C|NZ|HK)\$|\b(?:USD|EUR|GBP|Rs)\.?)\s*$")
_MONEY_AFTER_RE = re.compile(
    r"^\s*(?:(?i:dollars?|euros?|pounds?|sterling|pence|cents?|roubles?|rubles?|yuan|yen"
    r"|hryvnias?|rupees?|francs?|bucks)|USD|EUR|GBP)\b"
)
_PERCENT_AFTER_RE = re.compile(r"^\s*(?:%|(?i:per\s?cent|percent|percentage\s+points?|pc|pct)\b)")
_TIME_AFTER_RE = re.compile(
    r"^(?::[0-9]|\.[0-9]{2}\s*(?i:am|pm|a\.m\.|p\.m\.)"
    r"|\s*(?:(?i:am|pm|a\.m\.|p\.m\.|hrs|o[’']clock)|GMT|BST|UTC|CET|CEST|EST|EDT|PST|PDT)\b)"
)
_DATE_BEFORE_RE = re.compile(
    r"\b" + _MONTHS + r"\.?\s+(?:the\s+)?"
    r"(?:[0-9]{1,2}(?:st|nd|rd|th)?\s*(?:–|—|-|to|and|or|&)\s*)?$"
)
_DATE_AFTER_RE = re.compile(
    r"^(?:st|nd|rd|th)?\s*(?:(?:–|—|-|to|and|or|&)\s*[0-9]{1,2}(?:st|nd|rd|th)?\s*)?"
    r"(?:of\s+)?" + _MONTHS + r"\b"
)
_YEAR_CONTEXT_RE = re.compile(
    r"(?i:\b(?:in|since|by|of|from|until|till|to|before|after|during|early|late|mid|circa"
    r"|the|this|that|last|next|its|their|his|her|year|fiscal|spring|summer|autumn|fall"
    r"|winter|and|or)\s*)$"
)
_AGE_BEFORE_RE = re.compile(r"(?i:\b(?:aged|age|ages)\s*)$")
_AGE_AFTER_RE = re.compile(r"^\s*(?i:years?|yrs)[\s-]+old\b")
_LABEL_NAME_BEFORE_RE = re.compile(r"(?<=\S)\s+[A-Z][\w’'\-]*\s+$|(?i:\bthe\s+)$")
_NUMBER_AFTER_RE = re.compile(r"[\s,\-–]*[0-9]")
_DECIMAL_RE = re.compile(r"[0-9,]+\.[0-9]+")
_AGE_PRONOUN_BEFORE_RE = re.compile(
    r"(?i:\b(?:he|she|I|they|we)\s+(?:was|were|is|turned|turns|had\s+turned)\s*"
    r"|\b(?:people|voters|those|men|women|adults|workers|anyone|everyone)\s+(?:over|under"
    r"|above|below)\s+(?:the\s+age\s+of\s+)?)$"
)
_APPOSITIVE_AGE_RE = re.compile(r"[A-Z][\w’'-]+,\s*$")
# (Each match starts with "#" or at the start of a word: testing that first spares the engine
# the label words elsewhere.)
_LABEL_BEFORE_RE = re.compile(
    r"(?=#|\b\w)(?:\b(?i:" + _LABEL_WORDS + r")\.?|\bNo\.|\bNos\.?|#)\s*$"
)
# The longest X of _LABEL_BEFORE_RE (a label word and its full stop), for `_search_end`.
_LABEL_REACH = max(len(word) for word in _LABEL_WORDS.split("|")) + 1
_NAME_BEFORE_RE = re.compile(r"[^\W\d_][-‑]$")
_HYPHEN_AFTER_RE = re.compile(r"[-‑][^\W\d_]")
_STRONG_AFTER_RE = re.compile(r"[-‑]strong\b")
_RANGE_CONNECTOR_RE = re.compile(r"\s*(–|—|-|‑|to|and|or)\s*")
_BETWEEN_BEFORE_RE = re.compile(r"(?i:\bbetween\s*)$")
_FROM_BEFORE_RE = re.compile(r"(?i:\bfrom\s*)$")
_SMALL_DETERMINER_BEFORE_RE = re.compile(
    r"(?i:\b(?:the|these|those|its|their|his|her|our|my|your|all|both|every|each)\s*)$"
)
_ONE_PRONOUN_AFTER_RE = re.compile(r"^\s+(?i:of|another|by|or|who|that|which|else)\b|^\s*$")
_ONE_PRONOUN_BEFORE_RE = re.compile(
    r"(?i:\b(?:no|any|every|the|this|that|which|each|at|in|on|for|with|from|by|to|only)\s*)$"
)
_LIST_MARKER_AFTER_RE = re.compile(r"[.)](?:\s|$)")
# Numeric dates: 2024-10-29, 29/10/2024, 29.10.24.
_NUMERIC_DATE_RE = re.compile(
    r"(?<![\w.,/-])(?:[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}|[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{2,4})"
    r"(?![\w/-])"
)

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
# "Russian casualties and losses are “upwards of 500,000”": the subject names what is counted.
_COPULA_SUBJECT_RE = re.compile(
    r"(?<![\w’'])(?P<subject>(?:[A-Za-z]+\s+)?[A-Za-z]+(?:\s+and\s+[A-Za-z]+)?)\s+"
    r"(?:are|were|is|was|stood\s+at|stands\s+at|totalled|totaled|totals|numbered|numbers)"
    r"[\s“\"(]*(?i:(?:" + "|".join(pattern for _, pattern in _QUALIFIER_PATTERNS) + r")\b)?"
    r"[\s“\"(]*$"
)

_UNIT_WORD_RE = re.compile(r"[ \t\u00a0]+([^\W\d_][\w’'\-]*)")
_FILLER_RE = re.compile(r"[ \t\u00a0]+(?i:more|additional|extra|other|further|new|fresh)\b")
# "40 of the hostages", "two of them", "5,000 of Hallin's", "two of the port's": the count is of
# what follows (a second number there lends its unit: "97 of the 200 seats").
_PARTITIVE_RE = re.compile(
    r"[ \t\u00a0]+of[ \t\u00a0]+(?:(?:the|these|those|its|their|his|her|our|them|us)\b"
    r"(?:[ \t\u00a0]+[^\W\d_][\w\-]*[’']s\b)?|[^\W\d_][\w\-]*[’']s\b)(?=[ \t\u00a0])"
)
_OUTCOME_TAIL_RE = re.compile(
    r"[ \t\u00a0]+(?:(?:had|have|has)\s+been\s+|were\s+|was\s+|are\s+|is\s+|been\s+|being\s+)?"
    r"(?:[a-z]+ly\s+)?(" + "|".join(sorted(_OUTCOMES)) + r")\b"
)


# How many sentences back an elliptical count ("A couple of thousand more were heading there")
# looks for the unit it borrows.
_CONTEXT_SENTENCES = 2

_KINDS = ("vague", "couple", "half", "single", "digits", "words")


@dataclass(frozen=True)
class _Number:
    start: int
    end: int
    text: str
    value: float | None
    kind: str  # one of _KINDS
    plain_int: bool  # digits without comma, decimal or scale


def _find_numbers(sentence: str) -> list[_Number]:
    numbers = []
    for m in _QUANTITY_RE.finditer(sentence):
        # each top-level alternative of _QUANTITY_RE is one named group that closes last
        kind = m.lastgroup
        assert kind in _KINDS
        plain = kind == "digits" and re.fullmatch(r"[0-9]+", m.group()) is not None
        numbers.append(
            _Number(m.start(), m.end(), m.group(), _match_value(m), kind, plain_int=plain)
        )
    return numbers


def _is_plural(word: str) -> bool:
    lw = word.lower()
    return lw in _IRREGULAR_PLURALS or (lw.endswith("s") and not lw.endswith("ss") and len(lw) > 2)


def _unit_word_ok(word: str, following: str | None, after_plural: bool) -> str:
    """Classify a word after a number: "ok" (part of the unit), "outcome", or "stop"."""
    lw = word.lower()
    if word[0].isupper():
        return "stop" if word in _DAYS or word in _MONTH_NAMES or lw in _FUNCTION_WORDS else "ok"
    if lw in _OUTCOMES:
        # "500,000 wounded since ..." is an outcome; "500 wounded soldiers" an adjective.
        f = following.lower() if following is not None else None
        if after_plural or lw not in _ED_ADJECTIVES or f is None or f in _FUNCTION_WORDS:
            return "outcome"
        return "ok"
    if lw in _FUNCTION_WORDS and lw not in _ED_ADJECTIVES:
        return "stop"  # ("confirmed", "reported" are attribution verbs and adjectives)
    verbish = (
        (lw.endswith("ed") and len(lw) > 3 and lw not in _ED_ADJECTIVES)
        or (lw.endswith("ing") and len(lw) > 4)
        or (lw.endswith("ly") and len(lw) > 3 and lw not in _LY_WORDS)
    )
    if lw in _ED_ADJECTIVES or verbish:
        # A participle or gerund modifies a following noun ("military training sites",
        # "armed men") but ends the phrase after a plural head ("containers filled with").
        if after_plural or following is None:
            return "stop"
        f = following.lower()
        if f in _FUNCTION_WORDS or (not f.isalpha() and "-" not in f):
            return "stop"
        return "stop" if verbish and lw.endswith("ly") else "ok"
    return "ok"


def _parse_unit(sentence: str, pos: int) -> str | None:
    """The counted noun phrase starting after the number at `pos` (whitespace normalised)."""
    filler = _FILLER_RE.match(sentence, pos)
    if filler is not None:
        pos = filler.end()
    partitive = _PARTITIVE_RE.match(sentence, pos)
    if partitive is not None:
        pos = partitive.end()
        if partitive.group().split()[-1].lower() in ("them", "us"):
            # "two of them were shot down": a verb follows, never a noun.
            tail = _OUTCOME_TAIL_RE.match(sentence, pos)
            return tail.group(1) if tail is not None else None
    matches = []
    cursor = pos
    while True:
        m = _UNIT_WORD_RE.match(sentence, cursor)
        if m is None:
            break
        matches.append(m)
        cursor = m.end()
        if len(matches) > 6:
            break
    words: list[str] = []
    end = pos
    for i, m in enumerate(matches):
        if len(words) >= 4:
            break
        word = m.group(1)
        following = matches[i + 1].group(1) if i + 1 < len(matches) else None
        lw = word.lower()
        if lw in ("and", "&") and words and words[-1][0].isupper():
            # "Ukrainians and Russians": coordination of capitalised nouns only.
            if following is not None and following[0].isupper() and len(words) < 3:
                words.append(word)
                end = m.end()
                continue
            break
        after_plural = bool(words) and _is_plural(words[-1])
        if after_plural and lw not in _OUTCOMES and not _is_plural(word):
            break  # a plural head ends the phrase: "troops north", "soldiers home"
        verdict = _unit_word_ok(word, following, after_plural)
        if verdict == "outcome":
            words.append(word)
            return " ".join(words)
        if verdict == "stop":
            break
        words.append(word)
        end = m.end()
    if not words:
        # "27 were injured", "two of them were shot down": the outcome is what was counted.
        tail = _OUTCOME_TAIL_RE.match(sentence, pos)
        return tail.group(1) if tail is not None else None
    if words[-1].lower() in ("and", "&"):
        words.pop()
    tail = _OUTCOME_TAIL_RE.match(sentence, end)
    if tail is not None:
        words.append(tail.group(1))
    return " ".join(words) if words else None


# --------------------------------------------------------------------------------------------
# Attribution
# --------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"\w+(?:[’'\-.&]\w+)*|\S")


class _Token(NamedTuple):
    start: int
    end: int
    text: str
    lower: str  # text.lower()
    is_word: bool  # starts with a word character
    capitalised: bool  # starts with an upper-case letter


def _tokens(sentence: str) -> list[_Token]:
    tokens = []
    for m in _TOKEN_RE.finditer(sentence):
        text = m.group()
        first = text[0]
        is_word = first.isalnum() or first == "_"
        tokens.append(_Token(m.start(), m.end(), text, text.lower(), is_word, first.isupper()))
    return tokens


@dataclass(frozen=True)
class _Attribution:
    start: int  # start of the verb (or of "according")
    end: int  # end of the verb phrase
    source: str
    verb: str
    source_span: tuple[int, int]  # of the source noun phrase in the sentence
    # An aside between source and verb ("The party, which won 14 seats, said"): numbers in it
    # are the writer's, not the source's.
    aside: tuple[int, int] | None = None


_NP_TRIM = frozenset({"and", "&", "of", "in", "on", "at", "from", "for"})
_ATTRIBUTION_BLOCKERS = frozenset(
    {
        "been", "be", "being", "was", "were", "is", "are", "am", "to", "an", "a", "the", "if",
        "not", "will", "would", "could", "can", "may", "might", "should", "must", "shall",
        "as", "when", "once", "unless", "who", "which", "that",
    }
)  # fmt: skip
_TERMINAL_RE = re.compile(
    r"\s*(?:(?:on|last|this|earlier|late|early)\s+\w+\s*|today\s*|yesterday\s*|tonight\s*)?"
    r"(?:[,.;:!?)\]”\"’…—–]|$)"
)


def _is_pronoun(tok: _Token) -> bool:
    """A personal pronoun; "US" and "IT" in capitals are names, "I" is a pronoun."""
    lw = tok.lower
    if lw not in _PRONOUNS and lw not in _OBJECT_PRONOUNS:
        return False
    return tok.text == "I" or not tok.text.isupper()


def _np_word_ok(tok: _Token) -> bool:
    lw = tok.lower
    if _is_pronoun(tok):
        return False
    if tok.text.isupper() and len(tok.text) > 1:
        return True  # acronyms: US, UN, NIS
    if lw in _FUNCTION_WORDS and lw not in _DETERMINERS:
        return False
    if tok.text.isdigit():
        return False
    if not tok.capitalised:
        if lw.endswith("ing") and len(lw) > 4:
            return False
        if lw.endswith("ed") and len(lw) > 3 and lw not in _ED_ADJECTIVES:
            return False
        if lw.endswith("ly") and len(lw) > 3 and lw not in _LY_WORDS:
            return False
    return True


def _is_abbreviation_dot(tokens: list[_Token], k: int) -> bool:
    if tokens[k].text != "." or k == 0:
        return False
    prev = tokens[k - 1]
    return prev.is_word and (
        prev.lower in _ABBREVIATIONS or (len(prev.text) == 1 and prev.capitalised)
    )


def _np_backward(tokens: list[_Token], j: int, inside: list[bool]) -> list[int]:
    """Token indexes of the noun phrase ending at token j (scanning leftwards)."""
    np: list[int] = []
    k = j
    while k >= 0 and len(np) < 12:
        tok = tokens[k]
        if inside[k]:
            break
        if not tok.is_word:
            if np and _is_abbreviation_dot(tokens, k):
                np.append(k)
                k -= 1
                continue
            break
        lw = tok.lower
        if _is_pronoun(tok) and lw != "her":
            if not np and lw in _PRONOUNS:
                np.append(k)
            break
        prev = tokens[k - 1] if k > 0 else None
        if lw == "of":
            if np and prev is not None and prev.is_word and _np_word_ok(prev):
                np.append(k)
                k -= 1
                continue
            break
        if lw in ("in", "on", "at", "from", "for"):
            if np and prev is not None and prev.lower in _SOURCE_HEADS:
                np.append(k)
                k -= 1
                continue
            break
        if lw in ("and", "&"):
            if np and prev is not None and prev.is_word and prev.capitalised:
                np.append(k)
                k -= 1
                continue
            break
        if not _np_word_ok(tok):
            break
        np.append(k)
        k -= 1
    np.reverse()
    while np and tokens[np[0]].lower in _NP_TRIM:
        np.pop(0)
    return np


def _np_forward(tokens: list[_Token], k: int, inside: list[bool]) -> list[int]:
    """Token indexes of the noun phrase starting at token k (scanning rightwards)."""
    np: list[int] = []
    n = len(tokens)
    while k < n and len(np) < 12:
        tok = tokens[k]
        if inside[k]:
            break
        if not tok.is_word:
            if np and _is_abbreviation_dot(tokens, k):
                np.append(k)
                k += 1
                continue
            break
        lw = tok.lower
        if _is_pronoun(tok):
            if not np:
                np.append(k)
            break
        nxt = tokens[k + 1] if k + 1 < n else None
        if lw == "of":
            if np:
                np.append(k)
                k += 1
                continue
            break
        if lw in ("in", "on", "at", "from", "for"):
            if np and tokens[k - 1].lower in _SOURCE_HEADS:
                np.append(k)
                k += 1
                continue
            break
        if lw in ("and", "&"):
            if (
                np
                and tokens[k - 1].capitalised
                and nxt is not None
                and nxt.is_word
                and (nxt.capitalised or nxt.lower in _DETERMINERS)
            ):
                np.append(k)
                k += 1
                continue
            break
        if not _np_word_ok(tok):
            break
        np.append(k)
        k += 1
    while np and tokens[np[-1]].lower in _NP_TRIM | _DETERMINERS:
        np.pop()
    return np


def _valid_source(tokens: list[_Token], np: list[int]) -> bool:
    if not np:
        return False
    words = [tokens[i] for i in np if tokens[i].is_word]
    if not words or all(t.lower in _DETERMINERS for t in words):
        return False
    last = tokens[np[-1]].lower
    # "Russia’s claim", "their reports": a possessive before the verb makes it a noun.
    return not last.endswith(("’s", "'s"))


def _span_text(sentence: str, tokens: list[_Token], np: list[int]) -> str:
    return " ".join(sentence[tokens[np[0]].start : tokens[np[-1]].end].split())


def _attribution(
    sentence: str,
    tokens: list[_Token],
    np: list[int],
    verb: tuple[int, int, str],
    aside: tuple[int, int] | None = None,
) -> _Attribution:
    start, end, lemma = verb
    span = (tokens[np[0]].start, tokens[np[-1]].end)
    return _Attribution(start, end, _span_text(sentence, tokens, np), lemma, span, aside)


_AUDIENCE_VERBS = frozenset({"told", "tells"})
_AUDIENCE_RE = re.compile(
    r"\s+(?i:a|an|the|his|her|their|its)\s+(?:[\w’'\-]+\s+){0,3}?(?i:of|with)\s+"
    r"(?:(?i:some|about|around|roughly|nearly|almost|more\s+than|over|at\s+least)\s+)?"
)

# Words allowed between a source and its verb ("the Pentagon has already said").
_SUBJECT_VERB_GAP = frozenset(
    {
        "has", "have", "had", "also", "previously", "repeatedly", "already", "reportedly",
        "later", "earlier", "again", "separately", "initially", "recently", "publicly",
        "privately", "officially", "then", "today", "yesterday", "tonight", "now", "still",
        "too", "first", "originally", "subsequently", "further",
    }
)  # fmt: skip


def _skip_adverbials_backward(tokens: list[_Token], j: int) -> int:
    """Step left over adverbs and time phrases between a subject and its verb."""
    while j >= 0:
        tok = tokens[j]
        lw = tok.lower
        if lw in _SUBJECT_VERB_GAP:
            j -= 1
            continue
        if (
            lw in _TIME_NOUNS
            and j > 0
            and tokens[j - 1].lower in ("on", "last", "this", "earlier", "late", "early", "that")
        ):
            j -= 2
            continue
        break
    return j


def _attributions(sentence: str, tokens: list[_Token], inside: list[bool]) -> list[_Attribution]:
    found: list[_Attribution] = []
    n = len(tokens)
    for v, tok in enumerate(tokens):
        if inside[v] or not tok.is_word:
            continue
        lw = tok.lower
        if lw == "according" and v + 1 < n and tokens[v + 1].lower == "to":
            np = _np_forward(tokens, v + 2, inside)
            if _valid_source(tokens, np):
                verb = (tok.start, tokens[v + 1].end, "according to")
                found.append(_attribution(sentence, tokens, np, verb))
            continue
        if lw in _PARTICIPLE_VERBS and v > 0 and tokens[v - 1].text == ",":
            # "The authority put the figure lower, saying roughly 3,100 workers ...": the
            # participle reports for the subject that opens the sentence, or for the source of
            # an attribution just before it ("..., he said, adding that ...").
            if found and found[-1].end <= tok.start:
                prior = found[-1]
                found.append(_Attribution(tok.start, tok.end, prior.source, lw, prior.source_span))
                continue
            np = _np_forward(tokens, 0, inside)
            if (
                _valid_source(tokens, np)
                and np[-1] + 1 < v
                and tokens[np[-1] + 1].is_word
                and tokens[np[0]].lower not in _OBJECT_PRONOUNS
            ):
                found.append(_attribution(sentence, tokens, np, (tok.start, tok.end, lw)))
            continue
        if tok.text not in _ATTRIBUTION_VERBS:
            continue
        # "as reported by CNN", "was confirmed by the ministry"
        if lw in _BY_VERBS and v + 1 < n and tokens[v + 1].lower == "by":
            np = _np_forward(tokens, v + 2, inside)
            if _valid_source(tokens, np):
                found.append(_attribution(sentence, tokens, np, (tok.start, tok.end, lw)))
            continue
        prev = tokens[v - 1] if v > 0 else None
        # Inverted: "..., said Andrei Lankov, director of ..." / "...,” said the minister."
        if v == 0 or (prev is not None and prev.text in (",", "”", '"', "’", ":", "—", "–")):
            np = _np_forward(tokens, v + 1, inside)
            if (
                _valid_source(tokens, np)
                and tokens[np[0]].lower not in _OBJECT_PRONOUNS
                and tokens[np[0]].lower != "that"  # "..., said that prices fell."
                and _TERMINAL_RE.match(sentence, tokens[np[-1]].end) is not None
            ):
                found.append(_attribution(sentence, tokens, np, (tok.start, tok.end, lw)))
                continue
        j = _skip_adverbials_backward(tokens, v - 1)
        if j < 0 or tokens[j].lower in _ATTRIBUTION_BLOCKERS:
            continue
        aside = None
        if tokens[j].text == ",":
            # Appositive: "The Wall Street Journal, citing unnamed sources, reported ..."
            k = j - 1
            while k >= 0 and tokens[k].text not in (",", ".", "“", "”", '"') and j - k < 14:
                k -= 1
            if k < 0 or tokens[k].text != ",":
                continue
            aside = (tokens[k].start, tokens[j].end)
            j = k - 1
            if j < 0:
                continue
        np = _np_backward(tokens, j, inside)
        if _valid_source(tokens, np):
            found.append(_attribution(sentence, tokens, np, (tok.start, tok.end, lw), aside))
    return found


def _sentence_attributions(sentence: str, regions: list[tuple[int, int]]) -> list[_Attribution]:
    """The attributions of `sentence`, whose quotations are `regions`."""
    tokens = _tokens(sentence)
    inside = [_region_containing(regions, t.start) is not None for t in tokens]
    return _attributions(sentence, tokens, inside)


def _governs(sentence: str, a: _Attribution, pos: int) -> bool:
    """Whether attribution `a` may govern the number at `pos` at all."""
    if a.aside is not None and a.aside[0] <= pos < a.aside[1]:
        return False
    # "she told a rally of some 20,000 supporters": the number sizes the audience.
    return not (
        a.verb in _AUDIENCE_VERBS
        and a.end <= pos
        and _AUDIENCE_RE.fullmatch(sentence, a.end, pos) is not None
    )


def _choose_attribution(
    sentence: str, found: list[_Attribution], pos: int, region: tuple[int, int] | None
) -> _Attribution | None:
    """The attribution that governs the number at `pos` (inside quotation `region`, if any)."""
    found = [a for a in found if _governs(sentence, a, pos)]
    if not found:
        return None
    if region is not None:
        o, c = region
        after = [a for a in found if a.start > c]
        if after:
            return min(after, key=lambda a: a.start)
        before = [a for a in found if a.end <= o]
        return max(before, key=lambda a: a.start) if before else None
    before = [a for a in found if a.end <= pos]
    if before:
        return max(before, key=lambda a: a.start)
    after = [a for a in found if a.start >= pos]
    return min(after, key=lambda a: a.start) if after else None


# --------------------------------------------------------------------------------------------
# Claims
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    offset: int  # of the quantity within the sentence
    quantity: float
    quantity_text: str
    qualifier: str
    unit: str | None
    source: str | None
    verb: str | None


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


def _search_end(pattern: re.Pattern[str], text: str, reach: int) -> re.Match[str] | None:
    r"""`pattern.search(text)` for a `pattern` of the form `X\s*$`, where X matches at most `reach`
    characters and ends with one that is no white space.

    X then ends where the white space at the end of `text` starts, so a match starts at most
    `reach` characters before that; searching from there finds the same match without trying
    every position of `text` (`\b` and look-behinds still see the characters before).
    """
    return pattern.search(text, max(0, len(text.rstrip()) - reach))


def _skip_reason(
    sentence: str, num: _Number, unit: str | None, range_end: int, dates: list[tuple[int, int]]
) -> str | None:
    """Why the number is not a count (None when it is one); `dates` are numeric-date spans."""
    before = sentence[max(0, num.start - _WINDOW) : num.start]
    after = sentence[num.end : num.end + _WINDOW]
    after_range = sentence[range_end : range_end + _WINDOW]
    if num.kind == "vague":
        return "vague"
    if num.value is None:
        return "unparsed"
    date = _region_before(dates, num.start + 1)
    if date is not None and num.start < date[1]:
        return "date"
    if _STRONG_AFTER_RE.match(after) is None and _HYPHEN_AFTER_RE.match(after):
        return "compound"  # three-year, 54-year-old, one-third
    if _search_end(_NAME_BEFORE_RE, before, 2) or _search_end(
        _LABEL_BEFORE_RE, before, _LABEL_REACH
    ):
        return "name"
    if _search_end(_MONEY_BEFORE_RE, before, 4) or _MONEY_AFTER_RE.match(after_range):
        return "money"
    if _PERCENT_AFTER_RE.match(after_range):
        return "percent"
    if _TIME_AFTER_RE.match(after):
        return "time"
    if _DATE_BEFORE_RE.search(before) or _DATE_AFTER_RE.match(after):
        return "date"
    if num.kind == "digits":
        if _AGE_BEFORE_RE.search(before) or _AGE_AFTER_RE.match(after):
            return "age"
        if _APPOSITIVE_AGE_RE.search(before) and re.match(r"^\s*[,)]", after):
            return "age"
        if before.rstrip().endswith("(") and after.lstrip().startswith(")"):
            return "age"
        if num.plain_int and 1900 <= int(num.text) <= 2100:
            head = unit.split()[-1] if unit else ""
            if _YEAR_CONTEXT_RE.search(before) or not unit or not _is_plural(head):
                return "year"
        if num.plain_int and 1000 <= int(num.text) < 1900 and not unit:
            return "year"  # "until 1857": counts of a thousand or more are written with commas
        if not unit and _DECIMAL_RE.fullmatch(num.text):
            return "decimal"  # "closed at 10,385.48", "rose to 61.5": an index, not a count
        if not before.strip() and _LIST_MARKER_AFTER_RE.match(after):
            return "list_marker"
        if unit is None and _AGE_PRONOUN_BEFORE_RE.search(before):
            return "age"  # "since he was 19"
    if unit is not None:
        head = unit.split()[0].lower().rstrip("’'")
        if head in _DURATIONS:
            return "duration"
        if head in _MEASURES:
            return "measure"
    if _NOT_UNIT_AFTER_RE.match(after):
        return "not_a_unit"
    if num.kind == "words":
        if num.text.lower() == "one" and (
            _ONE_PRONOUN_AFTER_RE.match(after) or _ONE_PRONOUN_BEFORE_RE.search(before)
        ):
            return "pronoun"
        if num.value is not None and num.value < 10 and _SMALL_DETERMINER_BEFORE_RE.search(before):
            return "anaphoric"  # "the two leaders"
    if num.kind != "digits" and unit is None and (num.value or 0) < 1000:
        return "no_unit"
    return None


def _copula_subject(sentence: str, pos: int) -> str | None:
    """The plural subject of "<subject> were (upwards of) N" before `pos`, as the unit of N."""
    m = _COPULA_SUBJECT_RE.search(sentence, max(0, pos - _WINDOW), pos)
    if m is None:
        return None
    words = m.group("subject").split()
    while words and words[0].lower() in _FUNCTION_WORDS:
        words.pop(0)
    if not words or any(w.lower() in _FUNCTION_WORDS for w in words if w.lower() != "and"):
        return None
    head = words[-1].lower()
    return " ".join(words) if _is_plural(head) or head in ("toll", "tally") else None


def _may_borrow_unit(sentence: str, num: _Number) -> bool:
    """Whether a count without a unit is elliptical rather than a label ("Radio 4", "the 147,
    156 and 166 models", "10 737-800 planes")."""
    before = sentence[max(0, num.start - _WINDOW) : num.start]
    if _LABEL_NAME_BEFORE_RE.search(before):
        return False
    return _NUMBER_AFTER_RE.match(sentence, num.end) is None


def _without_outcome(unit: str) -> str:
    """`unit` without a trailing outcome ("people killed" -> "people"), to lend it elsewhere."""
    for outcome in _OUTCOMES:
        if unit.endswith(" " + outcome):
            return unit[: -len(outcome) - 1]
    return unit


def _sentence_claims(sentence: str, context_unit: str | None = None) -> list[_Claim]:
    """The claims of one sentence; `context_unit` is the unit of the last claim just before it."""
    numbers = _find_numbers(sentence)
    if not numbers:
        return []
    regions = _quote_regions(sentence)
    dates = [m.span() for m in _NUMERIC_DATE_RE.finditer(sentence)]
    # The attributions are found once a number is known to be a count (most numbers are not).
    found: list[_Attribution] | None = None

    # Units and ranges: "3,000-5,000 troops", "between 1,500 and 12,000 troops".
    units: list[str | None] = []
    for num in numbers:
        pos = num.end
        strong = _STRONG_AFTER_RE.match(sentence, pos)
        if strong is not None:
            pos = strong.end()
        units.append(_parse_unit(sentence, pos))
    range_end = [num.end for num in numbers]
    range_qualifier: dict[int, str] = {}
    for i in range(len(numbers) - 1):
        left, right = numbers[i], numbers[i + 1]
        conn = _RANGE_CONNECTOR_RE.match(sentence, left.end)
        if conn is None or conn.end() != right.start or left.kind == "vague":
            continue
        word = conn.group(1)
        if units[i] is None:
            units[i] = units[i + 1]
        range_end[i] = right.end
        window = max(0, left.start - _WINDOW)
        between = _BETWEEN_BEFORE_RE.search(sentence, window, left.start) is not None
        if (
            (word == "and" and between)
            or word in ("–", "—", "-", "‑")
            or (word == "to" and _FROM_BEFORE_RE.search(sentence, window, left.start) is None)
        ):
            range_qualifier[i] = "at_least"
            range_qualifier[i + 1] = "up_to"
    for i, num in enumerate(numbers):
        if num.kind == "vague":
            continue
        part = _PARTITIVE_RE.match(sentence, num.end)
        if (
            part is not None
            and i + 1 < len(numbers)
            and units[i + 1] is not None
            and not sentence[part.end() : numbers[i + 1].start].strip()
        ):
            units[i] = units[i + 1]  # "97 of the 200 seats"
        elif units[i] is None and (num.kind != "words" or (num.value or 0) >= 100):
            # "losses were upwards of 500,000" (not "the debate was one for politicians")
            units[i] = _copula_subject(sentence, num.start)

    claims: list[_Claim] = []
    for i, num in enumerate(numbers):
        unit = units[i]
        if _skip_reason(sentence, num, unit, range_end[i], dates) is not None:
            continue
        if found is None:
            found = _sentence_attributions(sentence, regions)
        if any(a.source_span[0] <= num.start < a.source_span[1] for a in found):
            continue  # "One official said ...": the number counts the sources, not a claim
        # The second of two joined numbers shares the first's context ("October 27–28",
        # "$3-5 million", "aged 54 to 60").
        if i > 0 and range_end[i - 1] == num.end:
            reason = _skip_reason(sentence, numbers[i - 1], units[i - 1], range_end[i - 1], dates)
            if reason not in (None, "no_unit", "vague", "anaphoric", "pronoun"):
                continue
        assert num.value is not None
        qualifier = _qualifier(sentence[max(0, num.start - _WINDOW) : num.start])
        if range_qualifier.get(i) == "up_to" or (
            range_qualifier.get(i) == "at_least" and qualifier == "exact"
        ):
            qualifier = range_qualifier[i]
        if num.kind == "couple" and qualifier == "exact":
            qualifier = "approximate"  # "a couple of thousand" is a round figure
        if unit is None and _may_borrow_unit(sentence, num):
            # An elliptical count borrows the unit of the count before it: "141 votes to 52",
            # "up to 350 prisoners. Ostrel says it holds fewer than 200."
            previous = next((c.unit for c in reversed(claims) if c.unit), context_unit)
            unit = _without_outcome(previous) if previous else None
        region = _region_containing(regions, num.start)
        attribution = _choose_attribution(sentence, found, num.start, region)
        claims.append(
            _Claim(
                offset=num.start,
                quantity=num.value,
                quantity_text=num.text,
                qualifier=qualifier,
                unit=unit,
                source=attribution.source if attribution else None,
                verb=attribution.verb if attribution else None,
            )
        )
    return claims


def _claim_id(doc_id: str, start: int, offset: int) -> str:
    return hashlib.sha256(f"{doc_id}\x1f{start}\x1f{offset}".encode()).hexdigest()[:16]


def extract_claims(
    docs: pl.DataFrame,
    *,
    extractor: str = "rules-v1",
    run_id: str | None = None,
    max_sentence_chars: int = MAX_SENTENCE_CHARS,
) -> pl.DataFrame:
    """Extract numeric attributed claims from `docs` (`doc_id`, `clean_text`; other columns are
    ignored) into a frame with the CLAIMS schema, one row per counted quantity.

    `start`/`end` are the sentence's span in `clean_text`; `claim_id` hashes the doc_id, the
    sentence start and the quantity's offset in `clean_text`, so it is stable across runs.
    Rows are ordered by doc_id, start and the quantity's offset. Rows with a null `doc_id` or
    `clean_text` yield nothing; repeated (doc_id, clean_text) rows are read once.
    """
    missing = [c for c in ("doc_id", "clean_text") if c not in docs.columns]
    if missing:
        raise ValueError(f"extract_claims needs columns {missing}; got {docs.columns}")
    rows = (
        docs.select(pl.col("doc_id").cast(pl.String), pl.col("clean_text").cast(pl.String))
        .drop_nulls()
        .unique(maintain_order=True)
    )
    data: dict[str, list[object]] = {name: [] for name in CLAIMS.names()}
    offsets: list[int] = []
    texts: list[str] = rows["clean_text"].to_list()
    spans = [split_sentences(text, max_chars=max_sentence_chars) for text in texts]
    sentences = [text[a:b] for text, own in zip(texts, spans, strict=True) for a, b in own]
    may_hold = _may_hold_numbers(sentences)
    k = -1  # index of the sentence in `sentences`
    for doc_id, own in zip(rows["doc_id"].to_list(), spans, strict=True):
        last_unit: tuple[int, str] | None = None  # (sentence index, unit) of the last claim
        for index, (start, end) in enumerate(own):
            k += 1
            if not may_hold[k]:
                continue  # no number: no claim, and no unit for the sentences after it
            sentence = sentences[k]
            context = None
            if last_unit is not None and index - last_unit[0] <= _CONTEXT_SENTENCES:
                context = last_unit[1]
            found = _sentence_claims(sentence, context)
            for claim in found:
                if claim.unit:
                    last_unit = (index, claim.unit)
                offset = start + claim.offset
                offsets.append(offset)
                data["claim_id"].append(_claim_id(doc_id, start, offset))
                data["doc_id"].append(doc_id)
                data["sentence"].append(sentence)
                data["start"].append(start)
                data["end"].append(end)
                data["quantity"].append(claim.quantity)
                data["quantity_text"].append(claim.quantity_text)
                data["qualifier"].append(claim.qualifier)
                data["unit"].append(claim.unit)
                data["source"].append(claim.source)
                data["verb"].append(claim.verb)
                data["extractor"].append(extractor)
                data["run_id"].append(run_id)
    if not offsets:
        return empty(CLAIMS)
    frame = pl.DataFrame(data, schema=CLAIMS).with_columns(
        pl.Series("_offset", offsets, dtype=pl.Int64)
    )
    return frame.sort(["doc_id", "start", "_offset"]).drop("_offset")
