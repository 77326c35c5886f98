"""Hold the word lists and the context window that the claim rules share."""

from __future__ import annotations

import re

# Context regexes look at most this many characters around a number or terminator, which keeps
# extraction linear on pathological input (a 5 MB line of figures).
_WINDOW = 120


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
