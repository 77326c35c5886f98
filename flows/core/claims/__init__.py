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

from flows.core.claims.extract import extract_claims
from flows.core.claims.qualifiers import QUALIFIERS
from flows.core.claims.quantities import parse_quantity
from flows.core.claims.sentences import MAX_SENTENCE_CHARS, split_sentences

__all__ = [
    "MAX_SENTENCE_CHARS",
    "QUALIFIERS",
    "extract_claims",
    "parse_quantity",
    "split_sentences",
]
