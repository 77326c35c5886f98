"""Document titles: the metadata title without its site name, else the first real line.

A scraped text often opens with interface chrome that is no headline: a video player's caption
behind its close button ("✕ Close Ukraine video claims ..."), breadcrumbs ("Home › World"),
button rows ("Share Tweet Email"). Such lines are recognised by their shape (UI glyphs, button
words, few letters, very short crumbs), not by phrases of particular sites.
"""

from __future__ import annotations

import re

import polars as pl

from flows.core.text import fold

# Longest title kept: a first line longer than this is a paragraph, cut at its first sentence.
MAX_TITLE_CHARS = 300

# Glyphs that draw interface controls: close crosses, menus, arrows, play buttons, ellipses.
UI_GLYPHS = "✕✖✗✘×☰≡›‹»«▶►▸▹◀◄◂◃▲▼▴▾⏵⏴⏶⏷⏸⏯⏹⏺❯❮➔→←↑↓⬅➡⋮⋯…•·|+"
_G = re.escape(UI_GLYPHS)
_TRAILING = re.escape(UI_GLYPHS.replace("…", ""))  # "Police say…" keeps its ellipsis
# Words of buttons and controls found on any site (multi-word ones first).
BUTTON_WORDS = (
    "skip to main content",
    "skip to content",
    "back to top",
    "read more",
    "show more",
    "load more",
    "see more",
    "view more",
    "learn more",
    "more info",
    "sign in",
    "sign up",
    "sign out",
    "log in",
    "log out",
    "accept all",
    "no thanks",
    "full screen",
    "close",
    "menu",
    "search",
    "share",
    "print",
    "email",
    "e-mail",
    "save",
    "subscribe",
    "login",
    "logout",
    "register",
    "skip",
    "next",
    "previous",
    "prev",
    "back",
    "more",
    "continue",
    "play",
    "pause",
    "replay",
    "mute",
    "unmute",
    "expand",
    "collapse",
    "toggle",
    "hide",
    "show",
    "cancel",
    "ok",
    "accept",
    "dismiss",
    "reject",
    "advertisement",
    "advert",
    "ad",
    "ads",
    "sponsored",
    "home",
    "top",
    "download",
    "copy",
    "comments",
    "comment",
    "reply",
    "like",
    "follow",
    "facebook",
    "twitter",
    "whatsapp",
    "linkedin",
    "pinterest",
    "reddit",
    "telegram",
    "fullscreen",
    "volume",
    "captions",
    "subtitles",
    "loading",
    "watch",
    "listen",
    "open",
)
_BUTTONS = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in BUTTON_WORDS)
# A glyph, then a button word: "✕ Close ...", "▶ Play video ..."; or the reverse: "Close ✕".
_GLYPH_BUTTON = rf"^[{_G}\s]*[{_G}]\s*(?i:{_BUTTONS})\b|^(?i:{_BUTTONS})\s*[{_G}]"
_BUTTON_RUN = rf"(?i)\b(?:{_BUTTONS})\b"
# Breadcrumb separators between short words: "Home › World › Europe", "News / Politics".
_CRUMB_SEPARATOR = r"\s[›»>/|]\s"
# Separators between a headline and its site name in a <title>: "Storm hits | Daily Planet".
_SITE_SEPARATOR = r"(?:\s+[|–—·•»/-]|\s*:)\s+"

# A line is chrome when fewer than half its visible characters are letters ...
_MIN_LETTER_SHARE = 0.5
# ... or when button words and glyphs leave less than 40% of its letters
# ("Close Read more Close": none; "Watch: police chase ends in the harbour": 86%) ...
_MIN_LETTERS_BESIDE_BUTTONS = 0.4
# ... or when it has fewer words than this (a crumb: "Advertisement", "World") ...
_MIN_WORDS = 2
# ... or when it is a short run of words split by breadcrumb separators.
_MAX_CRUMB_WORDS = 6


def is_chrome(line: pl.Expr) -> pl.Expr:
    """Return whether each line is interface chrome rather than text.

    Parameters
    ----------
    line
        String expression of one line of text (surrounding white space ignored).

    Returns
    -------
    pl.Expr
        Boolean: true for lines made mostly of UI glyphs or button words, lines opening with a
        glyph and a button word ("✕ Close ..."), single words and short breadcrumbs; false for
        null lines.
    """
    text = line.str.strip_chars()
    visible = text.str.count_matches(r"\S")
    letters = text.str.count_matches(r"\p{L}")
    words = text.str.count_matches(r"[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*")
    beside = text.str.replace_all(_BUTTON_RUN, " ").str.count_matches(r"\p{L}")
    crumbs = text.str.count_matches(_CRUMB_SEPARATOR)
    return (
        (visible == 0)
        | (letters < _MIN_LETTER_SHARE * visible)
        | text.str.contains(_GLYPH_BUTTON)
        | (beside < _MIN_LETTERS_BESIDE_BUTTONS * letters)
        | (words < _MIN_WORDS)
        | ((crumbs > 0) & (words <= _MAX_CRUMB_WORDS))
    )


def clean_title(expr: pl.Expr) -> pl.Expr:
    """Return a title line without Markdown `#` markers and leading or trailing UI glyphs."""
    return (
        expr.str.strip_chars()
        .str.replace(r"^#+\s*", "")
        .str.replace(rf"^[{_G}\s]+", "")
        .str.replace(rf"[\s{_TRAILING}]+$", "")
        .str.strip_chars()
    )


def strip_site_name(title: pl.Expr, site: pl.Expr) -> pl.Expr:
    """Return titles without a leading or trailing part that is the site's name.

    Parameters
    ----------
    title
        Titles, such as a page's `<title>` ("Storm closes harbour | Kessmouth Gazette").
    site
        The site's name (`og:site_name`, a record's `source`); null leaves the title as it is.

    Returns
    -------
    pl.Expr
        The title without the part after its last separator (`|`, `-`, `–`, `—`, `:`, `·`, `»`,
        `/`) when that part, folded, is the site name; likewise a part before its first one.
    """
    name = fold(site)
    tail = title.str.extract(rf"^.*\S{_SITE_SEPARATOR}(.+?)\s*$", 1)
    head = title.str.extract(rf"^\s*(.+?){_SITE_SEPARATOR}\S", 1)
    matches_tail = site.is_not_null() & (fold(tail) == name) & (name != "")
    matches_head = site.is_not_null() & (fold(head) == name) & (name != "")
    return (
        pl.when(matches_tail)
        .then(title.str.extract(rf"^\s*(.*\S){_SITE_SEPARATOR}.+?\s*$", 1))
        .when(matches_head)
        .then(title.str.extract(rf"^\s*.+?{_SITE_SEPARATOR}(\S.*?)\s*$", 1))
        .otherwise(title.str.strip_chars())
    )


def metadata_title(title: pl.Expr, page_title: pl.Expr, site: pl.Expr) -> pl.Expr:
    """Return the title that metadata gives a document, or null.

    Parameters
    ----------
    title
        The metadata title: a record's title field, or for HTML trafilatura's (`og:title`, the
        article headline of JSON-LD, a lone `<h1>`, else a part of `<title>`).
    page_title
        An HTML page's whole `<title>`, site name and all; null for other formats.
    site
        The site's name, when known.

    Returns
    -------
    pl.Expr
        `title`, else `page_title` when `title` is missing or only the site's name, with a
        leading or trailing site-name part stripped (`strip_site_name`); null when nothing is
        left.
    """
    meta = title.str.strip_chars().replace("", None)
    meta_is_site = site.is_not_null() & (fold(meta) == fold(site))
    chosen = pl.when(meta.is_not_null() & ~meta_is_site).then(meta).otherwise(page_title)
    cleaned = strip_site_name(chosen, site)
    return (
        pl.when(site.is_not_null() & (fold(cleaned) == fold(site)))
        .then(None)
        .otherwise(cleaned.replace("", None))
    )


def first_title_lines(passages: pl.LazyFrame) -> pl.LazyFrame:
    """Return each document's first line that is neither boilerplate nor interface chrome.

    Parameters
    ----------
    passages
        Classified passages: `doc_id`, `passage`, `line`, `text`, `is_boilerplate`.

    Returns
    -------
    pl.LazyFrame
        `doc_id`, `first_line`: the line's non-boilerplate passages joined by spaces, cleaned
        (`clean_title`) and, beyond `MAX_TITLE_CHARS`, cut to its first passage; documents
        whose every kept line is chrome have no row; sorted by `doc_id`.
    """
    # Lines numbered by position among a document's kept lines (passages follow the text, so
    # line numbers grow with them). Nearly every document has its title in its first kept line
    # or its first few: those are judged first, then the next lines of the documents still
    # without one (`TITLE_LINE_ROUNDS`); judging chrome took 2.2 s of CPU for the first 8 kept
    # lines of the 34,173-page syndication inbox.
    kept = (
        passages.filter(~pl.col("is_boilerplate"))
        .select(
            "doc_id", "passage", "line", "text", _rank=pl.col("line").rank("dense").over("doc_id")
        )
        .collect()
    )
    found: list[pl.DataFrame] = []
    low = 0
    for high in (*TITLE_LINE_ROUNDS, None):
        part = kept.lazy().filter(pl.col("_rank") > low)
        if high is not None:
            part = part.filter(pl.col("_rank") <= high)
        if found:
            part = part.join(pl.concat(found).lazy().select("doc_id"), on="doc_id", how="anti")
        found.append(_first_title_line(part).collect())
        if high is None:
            break
        low = high
    return pl.concat(found).lazy().sort("doc_id")


# The kept lines of a document judged for its title in rounds: its first line, then up to its
# 8th, then the rest, each only for the documents without a title yet (see `first_title_lines`).
TITLE_LINE_ROUNDS = (1, 8)


def _first_title_line(passages: pl.LazyFrame) -> pl.LazyFrame:
    """Return each document's first line of `passages` that is not chrome (`first_title_lines`)."""
    lines = (
        passages.sort("doc_id", "passage")
        .group_by("doc_id", "line", maintain_order=True)
        .agg(
            first=pl.col("passage").min(),
            joined=pl.col("text").str.join(" "),
            lead=pl.col("text").first(),
        )
        .with_columns(candidate=clean_title(pl.col("joined")))
        # chrome is judged on the line as written: cleaning strips the glyph of "✕ Close ..."
        .filter(~is_chrome(pl.col("joined")) & (pl.col("candidate").str.len_chars() > 0))
    )
    long = pl.col("candidate").str.len_chars() > MAX_TITLE_CHARS
    short = clean_title(pl.col("lead")).str.slice(0, MAX_TITLE_CHARS).str.strip_chars()
    return (
        lines.sort("doc_id", "first")
        .group_by("doc_id", maintain_order=True)
        .first()
        .select("doc_id", first_line=pl.when(long).then(short).otherwise(pl.col("candidate")))
    )


def document_title(columns: list[str]) -> pl.Expr:
    """Return `metadata_title` of a frame's hint columns (`title_hint`, `page_title`, `source`).

    A frame may lack `page_title` and `source` (documents not read from files): they count as
    null.
    """

    def column(name: str) -> pl.Expr:
        return pl.col(name) if name in columns else pl.lit(None, dtype=pl.String)

    return metadata_title(column("title_hint"), column("page_title"), column("source"))


def document_titles(docs: pl.DataFrame) -> pl.Series:
    """Return `document_title` of each row of a frame, named `title`.

    Only the rows with a `title_hint` or `page_title` are looked at: without either,
    `metadata_title` is null whatever the site (0.2 s of ingest's 0.3 s of titles on the
    34,173-page plain-text inbox, which has no metadata).
    """
    given = [c for c in ("title_hint", "page_title") if c in docs.columns]
    has = pl.any_horizontal(pl.col(c).is_not_null() for c in given) if given else pl.lit(False)
    at = docs.select(has.fill_null(False)).to_series().arg_true()
    titles = pl.Series("title", [None] * docs.height, dtype=pl.String)
    if at.len() == 0:
        return titles
    found = docs[at].select(title=document_title(docs.columns)).to_series()
    return titles.scatter(at, found)
