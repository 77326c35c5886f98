"""The shortcuts of flows/core/claims/ change no result: each gives what the longer way gives.

- `_number_patterns` (two polars tests of many sentences at once) drops only sentences in which
  `_find_numbers` finds nothing, and gives `_DIGITS_RE` only where it finds what
  `_QUANTITY_RE` finds.
- `_may_hold_numbers` (a polars test of many lines at once) drops only lines none of whose
  sentences holds a number, and `extract_claims`, which splits only the other lines into
  sentences, gives what reading every sentence of every document gives.
- `_may_attribute` (one polars test of many sentences at once) drops only sentences in which
  `_sentence_attributions` finds nothing.
- `_NAME_LAST` and `_MONEY_LAST` hold the last character (white space aside) of every match of
  `_NAME_BEFORE_RE` and `_MONEY_BEFORE_RE`.
- `_MONTH_STEMS` holds the start of every match of `_DATE_BEFORE_RE`.
- `_search_end` finds what a search of the whole context window finds.
- `_word_run_start` lets the search for the word before a full stop skip no match.
"""

from __future__ import annotations

import re
import sys

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.core import claims
from flows.core.claims import attribution, extract, quantities, sentences, skips, vocabulary
from flows.core.claims.quantities import _HINT_WORDS, _NUMBER_WORDS, _WORD_HINT

# Characters and pieces that exercise the rules at sentence and word edges: number words in any
# case, letters that Python's case-insensitive matching folds onto ASCII ("ſ", "ı", "İ", "K"),
# digits with separators, quotes, white space of several kinds.
_PIECES = [
    *"0123456789 ,.-–:/%$£#()“”\"'«»!?…\n\t\u00a0ıİſKk_",
    *_NUMBER_WORDS,
    "scores", "tens", "Hundreds", "dozens", "a couple of", "half a", "a few", "ONE", "fıve",
    "ſix", "mıllion", "Twenty-five", "someone", "money", "said", "according to", "U.S.", "Mr.",
    "No.", "Flight", "category", "Nos", "US$", "USD", "HK$", "€", "troops", "people killed",
    "during", "AUTUMN", "aged", "Ages", "these", "which", "every", "ſpring",
    "thousands", "MILLIONS", "billions", "Said", "SAYING", "Accordıng to", "\u212aeeps", "the",
    "Police", "told", "“Yes,”", "reported by", "Adding", "warnıng", "saidx", "_says", "said_",
    "often", "seventeen", "done", "a", "\u0301", "é", "²",
]  # fmt: skip
texts = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)


def test_number_hint_folds_at_least_what_python_folds() -> None:
    """For every code point that Python's case-insensitive regex matches to a letter of a hint
    word, the polars pattern's version of that letter matches it too."""
    letters = sorted(set("".join(_HINT_WORDS)))
    any_letter = re.compile(f"(?i)[{''.join(letters)}]")
    folded = [chr(c) for c in range(sys.maxunicode + 1) if any_letter.fullmatch(chr(c))]
    assert "ſ" in folded and "ı" in folded  # Python folds these onto "s" and "i"
    for letter in letters:
        own = re.compile(f"(?i){letter}")
        chars = [c for c in folded if own.fullmatch(c)]
        rust = "[iİı]" if letter == "i" else letter
        matched = pl.Series(chars, dtype=pl.String).str.contains(f"^(?i:{rust})$")
        assert matched.all(), (letter, [c for c, m in zip(chars, matched, strict=True) if not m])


def test_number_hint_edges_hold_every_non_word_character() -> None:
    """Every code point that is no word character to Python's regex (so a `\\b` can stand
    beside it) is one the polars pattern accepts at the edge of a hint word."""
    non_word = re.compile(r"\W")
    chars = [
        chr(c)
        for c in range(sys.maxunicode + 1)
        if not 0xD800 <= c <= 0xDFFF and non_word.fullmatch(chr(c))
    ]
    edge = _WORD_HINT.split("(?i:")[0].removeprefix("(?:^|")[:-1]
    assert edge == "[^A-Za-z0-9_]"
    assert pl.Series(chars, dtype=pl.String).str.contains(f"^{edge}$").all()


def _patterns_agree(text: str, max_chars: int) -> None:
    spans = claims.split_sentences(text, max_chars=max_chars)
    sentences = [text[a:b] for a, b in spans]
    for sentence, pattern in zip(sentences, quantities._number_patterns(sentences), strict=True):
        full = quantities._find_numbers(sentence)
        if pattern is None:
            assert full == [], sentence
        else:
            assert quantities._find_numbers(sentence, pattern) == full, sentence


@settings(max_examples=600, deadline=None)
@given(texts, st.sampled_from([1500, 9, 3]))
def test_number_patterns_find_what_the_full_pattern_finds(text: str, max_chars: int) -> None:
    _patterns_agree(text, max_chars)


def test_number_patterns_examples() -> None:
    sentences = [
        "No figures here.", "Someone lost money often.", "Fıve were hurt.", "Scores fled.", "7",
        "Done in 2024.", "Thousands fled", "x́one", "ONE_", "_one", "one²",
    ]  # fmt: skip
    full, digits = quantities._QUANTITY_RE, quantities._DIGITS_RE
    assert quantities._number_patterns(sentences) == [
        None, None, full, full, digits, digits, full, full, None, None, full,
    ]  # fmt: skip
    for text in (*sentences, "6 of seven", "a couple of thousand and 5", "5 thousand, 6k, 7bn"):
        _patterns_agree(text, 1500)
    assert _WORD_HINT.startswith("(?:^|[^A-Za-z0-9_])(?i:zero|one|")


@settings(max_examples=300, deadline=None)
@given(texts, st.sampled_from([1500, 9, 3]))
def test_lines_without_a_hint_hold_no_number(text: str, max_chars: int) -> None:
    lines = [(m.start(), m.group()) for m in sentences._LINE_RE.finditer(text)]
    hinted = quantities._may_hold_numbers([line for _, line in lines])
    for (base, line), may_hold in zip(lines, hinted, strict=True):
        if not may_hold:
            for a, b in sentences._line_sentences(line, base, max_chars):
                assert quantities._find_numbers(text[a:b]) == [], text[a:b]


def test_line_hint_examples() -> None:
    lines = ["Calm now. Quiet here.", "Someone phoned.", "Scores fled.", "7", "SEVEN", "ſix"]
    assert quantities._may_hold_numbers(lines) == [False, True, True, True, True, True]


def _every_sentence_claims(text: str, max_chars: int) -> list[tuple[object, ...]]:
    """The claims of document "d" the long way: every sentence read, the last unit as context."""
    found = []
    last_unit: tuple[int, str] | None = None
    for index, (start, end) in enumerate(claims.split_sentences(text, max_chars=max_chars)):
        context = None
        if last_unit is not None and index - last_unit[0] <= extract._CONTEXT_SENTENCES:
            context = last_unit[1]
        for claim in extract._sentence_claims(text[start:end], context):
            if claim.unit:
                last_unit = (index, claim.unit)
            claim_id = extract._claim_id("d", start, start + claim.offset)
            found.append((start + claim.offset, claim_id, start, end, *claim[1:]))
    return [row[1:] for row in sorted(found, key=lambda row: (row[2], row[0]))]


_COLUMNS = ["claim_id", "start", "end", "quantity", "quantity_text", "qualifier", "unit"]


def _claims_agree(text: str, max_chars: int) -> None:
    docs = pl.DataFrame({"doc_id": ["d"], "clean_text": [text]})
    frame = claims.extract_claims(docs, max_sentence_chars=max_chars)
    got = frame.select(*_COLUMNS, "source", "verb").rows()
    assert got == _every_sentence_claims(text, max_chars), text


_LINES = st.lists(
    st.sampled_from(
        [
            "Police said 300 troops crossed.", "No more. None left. Quiet.", "Calm.",
            "Fewer than 200 were seen.", "A couple of thousand more were heading there.",
            "“We saw 40,” he said.", "Officials said six soldiers had been killed.",
            "", "  ", "Money was done. Someone phoned. Often.", "Up to 350 prisoners.",
            "It holds fewer than 200.", "In 2024 about 5 people fled.", "Scores fled.",
            "Calm now. Quiet here. Still.",
        ]
    ),
    max_size=8,
).map("\n".join)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.one_of(texts, _LINES), st.sampled_from([1500, 9]))
def test_extract_claims_reads_what_every_sentence_gives(text: str, max_chars: int) -> None:
    _claims_agree(text, max_chars)


def test_extract_claims_counts_the_sentences_of_lines_without_numbers() -> None:
    first, last = "Police said 300 troops crossed.", "Fewer than 200 were seen."
    texts = {
        "a-near": f"{first}\nCalm.\n{last}",
        "b-far": f"{first}\nCalm now. Quiet here. Still.\n{last}",
        "c-gap": f"{first}\nCalm.\nQuiet here. Still.\n{last}",
    }
    frame = claims.extract_claims(
        pl.DataFrame({"doc_id": list(texts), "clean_text": list(texts.values())})
    )
    assert frame["unit"].to_list() == ["troops", "troops", "troops", None, "troops", None]
    for text in texts.values():
        _claims_agree(text, 1500)


def _attributions_agree(text: str) -> None:
    parts = [text[a:b] for a, b in claims.split_sentences(text)]
    for sentence, may in zip(parts, attribution._may_attribute(parts), strict=True):
        if not may:
            regions = sentences._quote_regions(sentence)
            assert attribution._sentence_attributions(sentence, regions) == [], sentence


@settings(max_examples=600, deadline=None)
@given(texts)
def test_sentences_without_an_attribution_hint_have_no_attribution(text: str) -> None:
    _attributions_agree(text)


def test_attribution_hint_folds_at_least_what_lower_maps() -> None:
    """Every code point whose lower() is a letter of the case-insensitive hint words matches that
    letter in the polars pattern (the verbs themselves are matched as written)."""
    letters = sorted(set("".join(("according", *vocabulary._PARTICIPLE_VERBS))))
    for letter in letters:
        chars = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).lower() == letter]
        matched = pl.Series(chars, dtype=pl.String).str.contains(f"^(?i:{letter})$")
        assert matched.all(), (letter, chars)
    assert attribution._ATTRIBUTION_HINT.startswith("(?:^|[^A-Za-z0-9_])(?:")


def test_attribution_hint_examples() -> None:
    sentences = [
        "No verb here.", "Police SAID 5.", "Police said 5.", "“Yes,” he said", "saidx 5",
        "_said 5", "x, Saying 5", "According to police, 5", "5 were reported by police",
        "x, \u212aeeping 5",
    ]  # fmt: skip
    assert attribution._may_attribute(sentences) == [
        False, False, True, True, False, False, True, True, True, False,
    ]  # fmt: skip
    for text in sentences:
        _attributions_agree(text)


_TAIL_PATTERNS = [
    (skips._NAME_BEFORE_RE, 2),
    (skips._LABEL_BEFORE_RE, skips._LABEL_REACH),
    (skips._MONEY_BEFORE_RE, 4),
    (skips._YEAR_CONTEXT_RE, skips._YEAR_CONTEXT_REACH),
    (skips._AGE_BEFORE_RE, skips._AGE_BEFORE_REACH),
    (skips._SMALL_DETERMINER_BEFORE_RE, skips._SMALL_DETERMINER_REACH),
    (skips._ONE_PRONOUN_BEFORE_RE, skips._ONE_PRONOUN_REACH),
]


def _span(match: re.Match[str] | None) -> tuple[int, int] | None:
    return None if match is None else match.span()


@settings(max_examples=400, deadline=None)
@given(texts)
def test_search_end_finds_what_a_full_search_finds(text: str) -> None:
    for pattern, reach in _TAIL_PATTERNS:
        assert _span(skips._search_end(pattern, text, reach)) == _span(pattern.search(text))


_ENDINGS = [(skips._NAME_BEFORE_RE, skips._NAME_LAST), (skips._MONEY_BEFORE_RE, skips._MONEY_LAST)]
_MONEY_PIECES = st.sampled_from(
    ["$", "£", "€", "¥", "₹", "₽", "₴", "US$", "A$", "NZ$", "Rs", "Rs."]
)
_MONEY_TEXTS = st.lists(
    st.one_of(st.sampled_from(_PIECES), _MONEY_PIECES, st.sampled_from(["EUR", "GBP", "‑", " \n"])),
    max_size=12,
).map("".join)


@settings(max_examples=600, deadline=None)
@given(st.one_of(texts, _MONEY_TEXTS))
def test_name_and_money_contexts_end_with_their_last_characters(text: str) -> None:
    for pattern, ends in _ENDINGS:
        if pattern.search(text):
            assert text.rstrip()[-1:] in ends, (pattern.pattern, text)


def test_name_and_money_context_examples() -> None:
    for before in ("F-", "Mi‑", "x-\n", "US$ ", "£", "HK$\t", "USD", "EUR ", "GBP.", "Rs", "Rs. "):
        pattern, ends = _ENDINGS[0] if before.rstrip()[-1] in "-‑" else _ENDINGS[1]
        assert pattern.search(before) and before.rstrip()[-1:] in ends, before


_DATE_TEXTS = st.lists(
    st.one_of(
        st.sampled_from(_PIECES),
        st.sampled_from(vocabulary._MONTHS[3:-1].split("|")),
        st.sampled_from([".", " the ", "th", "st", " to ", "&", "–", "12"]),
    ),
    max_size=10,
).map("".join)


@settings(max_examples=600, deadline=None)
@given(st.one_of(texts, _DATE_TEXTS))
def test_date_contexts_hold_a_month_stem(text: str) -> None:
    if skips._DATE_BEFORE_RE.search(text):
        assert any(stem in text for stem in skips._MONTH_STEMS), text


def test_month_stems() -> None:
    months = vocabulary._MONTHS[3:-1].split("|")
    assert len(months) == 24 and all(m[:3] in skips._MONTH_STEMS for m in months)
    for before in ("on Sept. ", "January the 3 to ", "May ", "Dec 12 & ", "since Oct. "):
        assert skips._DATE_BEFORE_RE.search(before), before


def test_search_end_examples() -> None:
    label = skips._LABEL_BEFORE_RE
    for before in ("the Flight ", "PARAGRAPH.  \t", "xparagraph ", "No.", "Nos ", "#  ", "a"):
        got = skips._search_end(label, before, skips._LABEL_REACH)
        assert _span(got) == _span(label.search(before)), before
    assert len("resolution.") == skips._LABEL_REACH
    # The longest word of each list, in any case, at the end of a window, after another word.
    for pattern, reach in _TAIL_PATTERNS[3:]:
        words = pattern.pattern.split("(?:")[1].split(")")[0].split("|")
        longest = max(words, key=len)
        assert len(longest) == reach
        for before in (
            f"x {longest} ",
            f"{longest.upper()}",
            f"a{longest}",
            f"({longest.title()}\t",
        ):
            found = skips._search_end(pattern, before, reach)
            assert _span(found) == _span(pattern.search(before)), (pattern.pattern, before)


@settings(max_examples=400, deadline=None)
@given(texts, st.integers(0, 200))
def test_word_run_start_skips_no_match(text: str, cut: int) -> None:
    line = text.replace("\n", " ")  # a line of `split_sentences`
    end = min(cut, len(line))
    lo = max(0, end - vocabulary._WINDOW)
    start = sentences._word_run_start(line, lo, end)
    pattern = sentences._WORD_BEFORE_DOT_RE
    assert _span(pattern.search(line, start, end)) == _span(pattern.search(line, lo, end))


_UNGUARDED = re.compile(quantities._QUANTITY)


def _quantities(pattern: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], str | None]]:
    return [(m.span(), m.lastgroup) for m in pattern.finditer(text)]


def test_quantity_start_folds_at_least_what_its_letters_fold() -> None:
    """`(?i:[abdefhmnostz])` matches every character that one of its letters matches alone."""
    letters = "abdefhmnostz"
    start = re.compile(f"(?i)[{letters}]")
    for letter in letters:
        own = re.compile(f"(?i){letter}")
        chars = [chr(c) for c in range(sys.maxunicode + 1) if own.fullmatch(chr(c))]
        assert all(start.fullmatch(c) for c in chars), letter


def test_quantity_start_keeps_every_kind_of_quantity() -> None:
    starts = [
        "tens of thousands", "hundreds of millions", "a few thousand", "several hundred",
        "many thousand", "some million", "dozens", "scores", "thousands", "millions", "billions",
        "a couple of thousand", "half a million", "a hundred", "an hundred", "5", "12,000",
        "3.5 million", "11k", *_NUMBER_WORDS,
    ]  # fmt: skip
    for phrase in starts:
        for variant in (phrase, phrase.upper(), phrase.title(), phrase.replace("s", "ſ")):
            for text in (variant, f"x {variant} people", f"({variant})", f"-{variant}."):
                found = _quantities(quantities._QUANTITY_RE, text)
                assert found == _quantities(_UNGUARDED, text), text
                assert found or not _quantities(_UNGUARDED, text)
    assert _quantities(quantities._QUANTITY_RE, "some 5 of the SEVEN troops")


@settings(max_examples=600, deadline=None)
@given(texts)
def test_quantity_start_changes_no_match(text: str) -> None:
    assert _quantities(quantities._QUANTITY_RE, text) == _quantities(_UNGUARDED, text)


def test_label_start_changes_no_match() -> None:
    """`_LABEL_BEFORE_RE` first tests for "#" or a word start, which its matches begin with: every
    character that its case-insensitive letters match is a word character."""
    assert skips._LABEL_BEFORE_RE.pattern.startswith(r"(?=#|\b\w)")
    unguarded = re.compile(skips._LABEL_BEFORE_RE.pattern.removeprefix(r"(?=#|\b\w)"))
    letter = re.compile("(?i)[a-z]")
    word = re.compile(r"\w")
    assert all(word.match(chr(c)) for c in range(sys.maxunicode + 1) if letter.fullmatch(chr(c)))
    for before in (
        "the Flight ",
        "PARAGRAPH.  \t",
        "xparagraph ",
        "No.",
        "Nos ",
        "#  ",
        "ſection 4",
    ):
        assert _span(skips._LABEL_BEFORE_RE.search(before)) == _span(unguarded.search(before))


@settings(max_examples=400, deadline=None)
@given(texts)
def test_label_start_changes_no_match_on_random_text(text: str) -> None:
    unguarded = re.compile(skips._LABEL_BEFORE_RE.pattern.removeprefix(r"(?=#|\b\w)"))
    assert _span(skips._LABEL_BEFORE_RE.search(text)) == _span(unguarded.search(text))
