"""Labelled page lines from ../shared corpora for the single-page boilerplate classifier.

Shared by `bench/train_page_boilerplate.py` (training) and `bench/boilerplate_quality.py`
(evaluation). Every page of `news_extraction` (270 pages, 9 sites) and
`scrapinghub_article_extraction` (181 pages) is turned into three texts, as newsdq sees them
after normalisation:

- `visible`: all visible text of the body, one line per block element, nothing cleaned away
  but scripts, styles and other invisible elements: menus, asides, related-story lists,
  footers, cookie banners and forms stay (with the prompts shown in form fields, placeholders
  and button values), so it holds the real phrasing of every kind of page kit;
- `main`: trafilatura's main text with the call `flows/io/ingest/readers.py` makes (what newsdq
  cleans for HTML input);
- `recall`: trafilatura's main text when it favours recall and keeps comments: the story with
  the kit around it that a looser scraper keeps (prompts, comment forms, sign-up lines), the
  shape of a plain-text scrape such as the seeds.

For training, `training_lines` adds `spliced` texts (`spliced_pages`): the main text with short
runs of the same page's real visible boilerplate lines spliced in at the top, the bottom and
between paragraphs, so that a lone kit line amid story lines is seen labelled as kit.

Each non-empty line is labelled content (`label` 0) or boilerplate (1) against the page's human
gold main text: a line of 4 or more folded words is content when at least half of its word
bigrams occur in the gold text; a shorter line when it is a whole gold line or a contiguous
phrase of at least 2 words of it. Nothing read here is written into the repository.

An optional third corpus, partially labelled, is trafilatura's own evaluation set
(`trafilatura_lines`; read from a git mirror of adbar/trafilatura, `TRAFILATURA_REPO`):
`tests/evaldata.json` gives for each of ~990 pages of many sites, years (to 2024) and
languages a few hand-picked snippets that an extractor must keep ("with") or drop ("without").
The same three texts are made of each page; a line holding a "without" snippet is boilerplate,
one holding a "with" snippet content. A short line of a page's visible text, outside its main
text, that recurs word for word in the visible text of at least 5 different sites is
boilerplate too (`cross_site_labels`: a template's strings, distant labels learned from the
set itself, not a phrase list). Every other line is `UNLABELLED` (-1): it stays in its page
(its neighbours' context features read it) but weighs nothing in a loss and counts in no
score. Its pages form their own groups (`tr:<bucket>` by domain), never one of `HELD_OUT`,
and pages of a site of the two other corpora are left out, so no site spans two groups.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import polars as pl
import xxhash

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bench.dedup_quality import read_big5  # noqa: E402
from flows.core.page_boilerplate import page_lines  # noqa: E402
from flows.core.settings import IngestConfig  # noqa: E402
from flows.core.text import fold_series, normalise_documents  # noqa: E402
from flows.io.charsets import mend  # noqa: E402
from flows.io.ingest import decoding, readers  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"
# Scrapinghub's 126 domains are hashed into this many groups (sites never split across groups).
DOMAIN_BUCKETS = 4
# Fixed held-out groups: never trained on while tuning, never used to choose the threshold.
HELD_OUT = ("ne:latimes", "ne:nypost", "sh:3")
# The texts made of every page (see the module's docstring).
VARIANTS = ("visible", "main", "recall")
# trafilatura's evaluation set (optional, partially labelled; see the module's docstring): a
# bare git mirror of adbar/trafilatura, its pages hashed by domain into this many groups.
TRAFILATURA_REPO = Path(
    os.environ.get("NEWSDQ_TRAFILATURA_REPO", "/work/.mirror/adbar+trafilatura/repo")
)
TRAFILATURA_BUCKETS = 2
TRAFILATURA_PREFIX = "tr:"
# The mirror's commit the shipped weights were trained on (read when the mirror holds it, else
# its HEAD with a message: another snapshot of the set gives other weights).
TRAFILATURA_COMMIT = "e90b0ef51ab026fdb905fb6c5b3c84dd3d784fd5"
# Distant labels of trafilatura's set (`cross_site_labels`): a short line of a page's visible
# text that it shows outside its main text, repeated word for word (case and digits folded) in
# the visible text of at least this many different sites, is boilerplate. 5: 48,029 lines of
# 1,714 distinct texts (menus, footers, share and comment prompts of common site themes).
# Measured 2026-12-07 (bench/train_page_boilerplate.py --cv, trafilatura's set on): at 0.82,
# cross-validated main-text content lost 0.55% with snippet labels alone, 0.40% with these
# (P 0.782, R 0.352), so the threshold rule could go down to 0.80 (docs/design.md).
CROSS_SITE_MIN_SITES = 5
# ... and a line of fewer words than this (a syndicated paragraph is not a template's string).
CROSS_SITE_MAX_WORDS = 12
# The label of a line no snippet speaks for (trafilatura's set): out of every loss and score.
UNLABELLED = -1


def present() -> bool:
    """Return whether both corpora are readable."""
    return (CORPORA / "news_extraction").is_dir() and (
        CORPORA / "scrapinghub_article_extraction" / "ground-truth.json"
    ).is_file()


def read_pages() -> list[tuple[str, str, bytes, str]]:
    """Return (uri, group, html bytes, gold text) of every page of both corpora."""
    rows = [(f"ne/{u}", f"ne:{site}", data, gold) for u, site, data, gold in read_big5(False)]
    root = CORPORA / "scrapinghub_article_extraction"
    truth = json.loads((root / "ground-truth.json").read_text("utf-8"))
    for key in sorted(truth):
        path = root / "html" / f"{key}.html.gz"
        if not path.exists():
            continue
        domain = urlparse(truth[key].get("url", "")).netloc.removeprefix("www.")
        bucket = xxhash.xxh32_intdigest(domain.encode()) % DOMAIN_BUCKETS
        rows.append(
            (
                f"sh/{key}",
                f"sh:{bucket}",
                gzip.decompress(path.read_bytes()),
                truth[key]["articleBody"],
            )
        )
    return rows


# Elements whose text a reader never sees.
_INVISIBLE = ("script", "style", "noscript", "template", "svg", "head", "title", "iframe")
# Block elements: each ends a line of the visible text (trafilatura's list plus form parts).
_BLOCKS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt"),
        *("fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5"),
        *("h6", "header", "hr", "label", "legend", "li", "main", "nav", "ol", "option", "p"),
        *("pre", "section", "summary", "table", "td", "th", "tr", "ul", "button", "select"),
        "textarea",
    }
)


# The page kit by its markup (for evaluation only, `kit_lines`): lines inside these elements, or
# inside an element whose class or id names one of these kinds of kit.
_KIT_TAGS = ("form", "nav", "footer", "aside")
_KIT_NAMES = re.compile(r"(?i)comment|share|social|subscri|newsletter|cookie|related|promo")
_MARK = "\ue000"


def visible_text(data: bytes | str) -> str:
    """Return all visible text of a page's body, one line per block element ("" if none)."""
    return "\n".join(line for line, _ in _visible_lines(data))


def _visible_lines(data: bytes | str) -> list[tuple[str, bool]]:
    """Return the lines of `visible_text` and whether each lies in a kit element (`_KIT_TAGS`)."""
    from lxml import etree
    from trafilatura.utils import load_html

    tree = load_html(data)
    body = None if tree is None else tree.find(".//body")
    if body is None:
        return []
    for elem in list(body.iter(*_INVISIBLE)):
        if elem.getparent() is not None:
            elem.drop_tree()
    for elem in body.iter(etree.Element):
        if not isinstance(elem.tag, str):
            continue
        # what a form shows in its fields: a placeholder prompt, a button's value
        shown = elem.get("placeholder") or (
            elem.get("value") if elem.get("type") in ("submit", "button") else None
        )
        if elem.tag in ("input", "textarea") and shown:
            elem.text = f"\n{shown}\n" + (elem.text or "")
        if elem.tag in _BLOCKS:
            elem.text = "\n" + (elem.text or "")
            elem.tail = "\n" + (elem.tail or "")
    kit = [
        e
        for e in body.iter(etree.Element)
        if isinstance(e.tag, str)
        and (e.tag in _KIT_TAGS or _KIT_NAMES.search(f"{e.get('class', '')} {e.get('id', '')}"))
    ]
    for elem in kit:
        # every piece of text inside the element, on whichever line it falls, is marked
        for inner in elem.iter():
            if inner.text and isinstance(inner.tag, str):
                inner.text = _marked(inner.text)
            if inner is not elem and inner.tail:
                inner.tail = _marked(inner.tail)
    out = []
    for line in body.text_content().split("\n"):
        text = " ".join(line.replace(_MARK, "").split())
        if text:
            out.append((text, _MARK in line))
    return out


def _marked(text: str) -> str:
    return "\n".join(_MARK + seg if seg.strip() else seg for seg in text.split("\n"))


def kit_lines(cache: Path | None = None) -> pl.DataFrame:
    """Return (`uri`, `text`) of the normalised visible lines inside kit elements of each page.

    For evaluation: a boilerplate line of any text of the page whose text is one of these is
    page kit (a form, a menu, a footer, an aside, a comment, share, subscribe, cookie, related
    or promotion block), not a title, byline or caption the gold text omits.
    """
    if cache is not None and cache.exists():
        return pl.read_parquet(cache)
    pages = read_pages()
    uris = [uri for uri, _, _, _ in pages]
    texts = ["\n".join(t for t, k in _visible_lines(data) if k) for _, _, data, _ in pages]
    lines = page_lines(normalise(uris, texts))
    out = lines.select(uri="doc_id", text="text").unique(maintain_order=True)
    if cache is not None:
        out.write_parquet(cache)
    return out


def main_text(data: bytes) -> str:
    """Return trafilatura's main text of a page as newsdq's ingest reads it ("" if none)."""
    try:
        html, _ = mend(decoding._decode_nonblank(data, IngestConfig(), markup=True))
        page = readers._extract_html(html)
    except Exception:  # a page trafilatura cannot read is simply absent from the set
        return ""
    text = None if page is None else page.get("text")
    return text if isinstance(text, str) else ""


def recall_text(data: bytes) -> str:
    """Return trafilatura's recall-favouring main text with comments ("" if none)."""
    import trafilatura

    try:
        html, _ = mend(decoding._decode_nonblank(data, IngestConfig(), markup=True))
        text = trafilatura.extract(
            html, favor_recall=True, include_comments=True, deduplicate=False
        )
    except Exception:  # a page trafilatura cannot read is simply absent from the set
        return ""
    return text if isinstance(text, str) else ""


def normalise(uris: list[str], texts: list[str]) -> pl.DataFrame:
    """Run newsdq's normalisation; return `doc_id` (= uri here), `text`."""
    raw = pl.DataFrame(
        {
            "source_uri": uris,
            "raw_text": texts,
            "date_hint": [None] * len(uris),
            "title_hint": [None] * len(uris),
        },
        schema_overrides={"date_hint": pl.String, "title_hint": pl.String},
    )
    docs = normalise_documents(raw.lazy()).collect()
    return docs.select(doc_id="source_uri", text="text")


def _fold(texts: list[str]) -> list[str]:
    return fold_series(pl.Series(texts, dtype=pl.String)).to_list()


def label_lines(lines: list[str], gold: str) -> list[int]:
    """Return 1 (boilerplate) or 0 (content) for each line against the gold text."""
    gold = gold.replace("\ufffd", "")
    gold_lines = [g for g in gold.split("\n") if g.strip()]
    folded_gold = _fold(gold_lines)
    gold_set = set(folded_gold)
    words = " ".join(folded_gold).split()
    bigrams = set(itertools.pairwise(words))
    haystack = " " + " ".join(words) + " "
    out = []
    for f in _fold([line.replace("\ufffd", "") for line in lines]):
        w = f.split()
        if len(w) >= 4:
            pairs = list(itertools.pairwise(w))
            share = sum(p in bigrams for p in pairs) / len(pairs)
            content = share >= 0.5
        else:
            content = bool(w) and (f in gold_set or (len(w) >= 2 and f" {f} " in haystack))
        out.append(0 if content else 1)
    return out


def build(cache: Path | None = None) -> pl.DataFrame:
    """Return the labelled lines of both corpora and all three texts (cached as Parquet).

    Columns: `LINES` (`doc_id` is `<variant>|<uri>`), `uri`, `group`, `variant`, `label`,
    `chars` (characters of the line), plus per page the gold text's characters in `gold_chars`.
    """
    return _gold_lines(read_pages, cache)


def _gold_lines(
    read: Callable[[], Sequence[tuple[str, str, Any, str]]], cache: Path | None
) -> pl.DataFrame:
    """Return the labelled lines of the pages `read` gives (uri, group, html, gold text)."""
    if cache is not None and cache.exists():
        return pl.read_parquet(cache)
    pages = read()
    gold_of = {f"{v}|{u}": g for u, _, _, g in pages for v in VARIANTS}
    out = _labelled_texts(
        [(uri, grp, html) for uri, grp, html, _ in pages],
        lambda doc_id, texts: label_lines(texts, gold_of[doc_id]),
    )
    if cache is not None:
        out.write_parquet(cache)
    return out


def _labelled_texts(
    pages: list[tuple[str, str, bytes | str]], label: Callable[[str, list[str]], list[int]]
) -> pl.DataFrame:
    """Return the labelled lines of the three texts of each (uri, group, page) (`build`'s
    columns); `label(doc_id, lines)` labels the lines of one text."""
    uris, texts, variant, group = [], [], [], []
    for uri, grp, page in pages:
        data = page.encode("utf-8") if isinstance(page, str) else page
        for name, text in (
            ("visible", visible_text(page)),
            ("main", main_text(data)),
            ("recall", recall_text(data)),
        ):
            uris.append(f"{name}|{uri}")
            texts.append(text)
            variant.append(name)
            group.append(grp)
    lines = page_lines(normalise(uris, texts))
    labels: list[int] = []
    for (doc_id,), part in lines.partition_by("doc_id", as_dict=True, maintain_order=True).items():
        labels += label(str(doc_id), part["text"].to_list())
    meta = pl.DataFrame({"doc_id": uris, "variant": variant, "group": group})
    return (
        lines.with_columns(
            label=pl.Series(labels, dtype=pl.Int8), chars=pl.col("text").str.len_chars()
        )
        .join(meta, on="doc_id", how="left", maintain_order="left")
        .with_columns(uri=pl.col("doc_id").str.split("|").list.get(1))
    )


def gold_texts() -> dict[str, str]:
    """Return uri -> gold text of every page."""
    return {uri: gold for uri, _, _, gold in read_pages()}


# Plain-text-scrape-shaped pages (`spliced`): each page's main text with runs of real
# boilerplate lines of its own visible text spliced in (see `spliced_pages`).
SPLICED = "spliced"
# Copies per page (each with other pieces at other places), pieces per copy (at most), lines
# per piece (at most), and how far from the story in the visible text (in lines) a piece is
# taken from when it is "near" it (half of them; the rest come from anywhere on the page).
SPLICE_COPIES = 4
SPLICE_PIECES = 8
SPLICE_RUN = 3
SPLICE_NEAR = 12


def spliced_pages(lines: pl.DataFrame, copies: int = SPLICE_COPIES) -> pl.DataFrame:
    """Return labelled lines of pages shaped like a plain-text scrape, made from real lines.

    A plain-text scrape holds the story with a few lines of page kit around and amid it (a
    share bar on top, a photo credit, a comment form and a subscribe line below), each kit
    line alone or in a short run next to story lines. Each copy of a page takes its `main`
    lines (content and boilerplate, in order) and splices in up to `SPLICE_PIECES` pieces of
    1 to `SPLICE_RUN` consecutive boilerplate lines of the same page's `visible` text that the
    main text lacks: half from near the story (within `SPLICE_NEAR` lines of its first or last
    content line), half from anywhere; each at the top, at the bottom or between two main
    lines. Labels are the lines' own. Deterministic (seeded by the page's uri); the copies keep
    their page's `group`, so grouped cross-validation never sees a site's page in training.
    Columns as `build`, `variant` = `SPLICED`, `doc_id` = `spliced<k>|<uri>`; `row` is left to
    the caller (renumber after concatenating).
    """
    by_variant = lines.partition_by(["variant", "uri"], as_dict=True, maintain_order=True)
    out: list[pl.DataFrame] = []
    for (variant, uri), main in by_variant.items():
        visible = by_variant.get(("visible", uri))
        if variant != "main" or visible is None or main.height == 0:
            continue
        seen = set(main["text"])
        vis_text = visible["text"].to_list()
        vis_label = visible["label"].to_numpy()
        content = np.flatnonzero(vis_label == 0)
        if content.size == 0:
            continue
        kit = np.flatnonzero((vis_label == 1) & ~np.isin(vis_text, list(seen)))
        if kit.size == 0:
            continue
        is_kit = set(kit.tolist())
        lo, hi = content[0], content[-1]
        near = kit[(np.abs(kit - lo) <= SPLICE_NEAR) | (np.abs(kit - hi) <= SPLICE_NEAR)]
        for k in range(copies):
            rng = np.random.default_rng(xxhash.xxh32_intdigest(f"{uri}|{k}".encode()))
            pieces = int(rng.integers(1, SPLICE_PIECES + 1))
            # (insert position among main lines 0..height, order within it, visible rows)
            inserts: list[tuple[int, int, list[int]]] = []
            for i in range(pieces):
                pool = near if (i % 2 == 0 and near.size) else kit
                start = int(pool[rng.integers(pool.size)])
                run = int(rng.integers(1, SPLICE_RUN + 1))
                rows = [r for r in range(start, min(start + run, len(vis_text))) if r in is_kit]
                where = rng.random()
                if where < 0.25:
                    at = 0
                elif where < 0.6:
                    at = main.height
                else:
                    at = int(rng.integers(1, main.height)) if main.height > 1 else main.height
                inserts.append((at, i, rows))
            inserts.sort()
            main_rows = main.select("text", "label", "chars").rows()
            texts: list[tuple[str, int, int]] = []
            j = 0
            for at, _, rows in inserts:
                texts += main_rows[j:at]
                j = max(j, at)
                texts += [(vis_text[r], int(vis_label[r]), len(vis_text[r])) for r in rows]
            texts += main_rows[j:]
            group = main["group"][0]
            out.append(
                pl.DataFrame(
                    {
                        "doc_id": f"{SPLICED}{k}|{uri}",
                        "line": list(range(len(texts))),
                        "text": [t for t, _, _ in texts],
                        "label": [lab for _, lab, _ in texts],
                        "chars": [c for _, _, c in texts],
                        "variant": SPLICED,
                        "group": group,
                        "uri": uri,
                    }
                )
            )
    if not out:
        return lines.clear()
    frame = pl.concat(out)
    return frame.with_columns(row=pl.lit(0, pl.Int64)).select(
        [pl.col(c).cast(t) for c, t in lines.schema.items()]
    )


def training_lines(
    cache: Path | None = None,
    trafilatura_cache: Path | None = None,
    trafilatura: bool = False,
    extra: Sequence[tuple[GoldCorpus, Path | None]] = (),
    seed_keys: set[str] | None = None,
) -> pl.DataFrame:
    """Return `build`'s lines plus their `spliced_pages`, `row` renumbered 0..n-1.

    With `trafilatura`, `trafilatura_lines` are added after them, then the lines of each
    `extra` corpus (`gold_corpus_lines`, with its cache), all with their spliced pages; of an
    extra corpus, the `visible` texts only lend their kit lines to its spliced pages (whole,
    they would triple the lines for what news_extraction and scrapinghub already teach). With
    `seed_keys` (`seed_line_keys`), lines of the training groups (not `HELD_OUT`) equal to a
    seed line are `UNLABELLED` (`without_seed_lines`; the counts are printed).
    """
    parts = [build(cache)]
    if trafilatura:
        parts.append(trafilatura_lines(trafilatura_cache))
    parts += [gold_corpus_lines(corpus, path) for corpus, path in extra]
    lines = pl.concat(parts)
    if seed_keys:
        lines, counts = without_seed_lines(lines, seed_keys)
        print(
            "labelled training lines equal to a seed line, left unlabelled: "
            + (
                ", ".join(
                    f"{c} label {lab}: {n} lines ({t} texts)"
                    for c, lab, n, t in counts.select("corpus", "label", "lines", "texts").rows()
                )
                or "none"
            )
        )
    both = pl.concat([lines, spliced_pages(lines)])
    if extra:  # the extra corpora's visible texts only feed their spliced pages
        prefixes = [corpus.prefix for corpus, _ in extra]
        dropped = (pl.col("variant") == "visible") & pl.any_horizontal(
            pl.col("group").str.starts_with(p) for p in prefixes
        )
        both = both.filter(~dropped)
    return both.with_columns(row=pl.int_range(pl.len(), dtype=pl.Int64))


def trafilatura_present() -> bool:
    """Return whether the trafilatura mirror holds its evaluation set."""
    try:
        _git("cat-file", "-e", f"{_revision()}:tests/evaldata.json")
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


_REVISION: list[str] = []


def _revision() -> str:
    """Return `TRAFILATURA_COMMIT` when the mirror holds it, else HEAD (said once)."""
    if not _REVISION:
        try:
            _git("cat-file", "-e", f"{TRAFILATURA_COMMIT}^{{commit}}")
            _REVISION.append(TRAFILATURA_COMMIT)
        except (OSError, subprocess.CalledProcessError):
            if TRAFILATURA_REPO.is_dir():  # a mirror of another snapshot
                print(f"trafilatura mirror lacks {TRAFILATURA_COMMIT[:12]}: reading its HEAD")
            _REVISION.append("HEAD")
    return _REVISION[0]


def trafilatura_cache_name() -> str:
    """Return the cache file name of trafilatura's labelled lines for this revision and rules.

    A cache read at another revision, or labelled under other cross-site constants, is not
    reused.
    """
    return (
        f"newsdq_page_lines_trafilatura-v2-{_revision()[:12]}"
        f"-s{CROSS_SITE_MIN_SITES}w{CROSS_SITE_MAX_WORDS}.parquet"
    )


def _git(*args: str, stdin: bytes | None = None) -> bytes:
    return _git_in(TRAFILATURA_REPO, *args, stdin=stdin)


def _blobs(paths: list[str]) -> dict[str, bytes]:
    """Return the bytes of each path of the mirror's revision (one `git cat-file --batch`)."""
    return _blobs_in(TRAFILATURA_REPO, _revision(), paths)


def site_stem(domain: str) -> str:
    """Return a domain's name without its public suffix ("bbc" of news.bbc.co.uk)."""
    labels = domain.lower().removeprefix("www.").split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else labels[0]


_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "or", "ne", "gob"})


def _page_domain(url: str, file: str) -> str:
    """Return the domain of an evaluation page (the archived site's for web.archive.org)."""
    if url.startswith("hard::"):  # trafilatura's hard cases are named `<domain>-<word>.html`
        return file.split("-")[0]
    parsed = urlparse(url)
    if parsed.netloc == "web.archive.org":
        inner = parsed.path.split("/", 3)[-1]
        parsed = urlparse(inner if "://" in inner else f"http://{inner}")
    return parsed.netloc.lower().removeprefix("www.")


def _known_stems() -> set[str]:
    """Return the site stems of the news_extraction and scrapinghub pages."""
    from bench.dedup_quality import SITES

    truth = json.loads(
        (CORPORA / "scrapinghub_article_extraction" / "ground-truth.json").read_text("utf-8")
    )
    return set(SITES) | {site_stem(urlparse(v.get("url", "")).netloc) for v in truth.values()}


def read_trafilatura_pages() -> list[tuple[str, str, str, list[str], list[str], str]]:
    """Return (uri, group, decoded html, "with" snippets, "without" snippets, site) of pages.

    Pages of a site (`site_stem`) of the two other corpora are left out. A gzip file is
    unpacked; bytes are decoded as newsdq's ingest decodes HTML.
    """
    rev = _revision()
    evaldata = json.loads(_git("show", f"{rev}:tests/evaldata.json"))
    names = _git("ls-tree", "-r", "-z", "--name-only", rev, "tests/eval", "tests/cache")
    where = {Path(n).name: n for n in names.decode("utf-8").split("\0") if n}
    known = _known_stems()
    chosen = []
    for url in sorted(evaldata):
        item = evaldata[url]
        domain = _page_domain(url, item["file"])
        if item["file"] in where and site_stem(domain) not in known:
            chosen.append((url, item, domain))
    blobs = _blobs([where[item["file"]] for _, item, _ in chosen])
    rows = []
    for _url, item, domain in chosen:
        data = blobs.get(where[item["file"]])
        if data is None:
            continue
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        html = _decode(data)
        if html is None:  # an undecodable page is simply absent from the set
            continue
        bucket = xxhash.xxh32_intdigest(site_stem(domain).encode()) % TRAFILATURA_BUCKETS
        rows.append(
            (
                f"tr/{item['file']}",
                f"{TRAFILATURA_PREFIX}{bucket}",
                html,
                list(item.get("with") or []),
                list(item.get("without") or []),
                site_stem(domain),
            )
        )
    return rows


def _snippet_form(text: str) -> str:
    """Return a text as lines and snippets are compared: NFKC, white space folded."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


# A line wholly inside a snippet (one that spans several lines of a text: a label and its
# field) is labelled by it when it has at least this many words and characters.
SNIPPET_PART_WORDS = 2
SNIPPET_PART_CHARS = 8


def label_snippets(lines: list[str], keep: list[str], drop: list[str]) -> list[int]:
    """Return 1, 0 or `UNLABELLED` for each line against a page's snippets.

    As trafilatura's evaluation reads them (a snippet kept or not in the extracted text, case
    and all): a line holding a "without" snippet is boilerplate (1), one holding a "with"
    snippet content (0), and likewise a line of `SNIPPET_PART_WORDS` words and
    `SNIPPET_PART_CHARS` characters or more that a snippet holds whole (a snippet over several
    lines); a line of both kinds or neither is `UNLABELLED`.
    """
    keep_forms = [f for f in map(_snippet_form, keep) if f]
    drop_forms = [f for f in map(_snippet_form, drop) if f]
    out = []
    for line in map(_snippet_form, lines):
        part = len(line.split()) >= SNIPPET_PART_WORDS and len(line) >= SNIPPET_PART_CHARS
        bp = any(f in line or (part and line in f) for f in drop_forms)
        content = any(f in line or (part and line in f) for f in keep_forms)
        out.append(1 if bp and not content else 0 if content and not bp else UNLABELLED)
    return out


def trafilatura_lines(cache: Path | None = None) -> pl.DataFrame:
    """Return the labelled lines of trafilatura's evaluation set (cached as Parquet).

    Columns as `build`; `label` is `UNLABELLED` for lines no snippet speaks for.
    """
    if cache is not None and cache.exists():
        return pl.read_parquet(cache)
    pages = read_trafilatura_pages()
    snippets = {f"{v}|{u}": (k, d) for u, _, _, k, d, _ in pages for v in VARIANTS}
    out = _labelled_texts(
        [(uri, grp, html) for uri, grp, html, _, _, _ in pages],
        lambda doc_id, texts: label_snippets(texts, *snippets[doc_id]),
    )
    sites = pl.DataFrame({"uri": [p[0] for p in pages], "site": [p[5] for p in pages]})
    out = cross_site_labels(out, sites)
    if cache is not None:
        out.write_parquet(cache)
    return out


def cross_site_labels(
    lines: pl.DataFrame,
    sites: pl.DataFrame,
    min_sites: int = CROSS_SITE_MIN_SITES,
    max_words: int = CROSS_SITE_MAX_WORDS,
) -> pl.DataFrame:
    """Return `lines` with distant boilerplate labels from recurrence across sites.

    A site's template (menus, footers, share bars, a theme's comment form) repeats its strings
    on every site that uses it, while a story's lines do not recur across unrelated sites. So
    an `UNLABELLED` line of a page's `visible` text, of fewer than `max_words` words and with a
    letter, that the page shows outside its `main` text, and whose folded text (lower case,
    digits as 0) is in the visible text of at least `min_sites` different sites (`sites`:
    `uri`, `site`), is labelled boilerplate. Snippet labels are kept as they are.
    """
    key = pl.col("text").str.to_lowercase().str.replace_all(r"\p{N}", "0").str.strip_chars()
    keyed = lines.with_columns(_key=key).join(sites, on="uri", how="left", maintain_order="left")
    visible = keyed.filter(pl.col("variant") == "visible")
    common = (
        visible.group_by("_key")
        .agg(_sites=pl.col("site").n_unique())
        .filter((pl.col("_sites") >= min_sites) & pl.col("_key").str.contains(r"\p{L}"))
        .select("_key", _common=pl.lit(True))
    )
    in_main = (
        keyed.filter(pl.col("variant") == "main")
        .select("uri", "_key")
        .unique()
        .with_columns(_in_main=pl.lit(True))
    )
    keyed = keyed.join(common, on="_key", how="left", maintain_order="left").join(
        in_main, on=["uri", "_key"], how="left", maintain_order="left"
    )
    flip = (
        (pl.col("variant") == "visible")
        & (pl.col("label") == UNLABELLED)
        & pl.col("_common").fill_null(False)
        & ~pl.col("_in_main").fill_null(False)
        & (pl.col("text").str.count_matches(r"\S+") < max_words)
    )
    return keyed.with_columns(
        label=pl.when(flip).then(pl.lit(1, pl.Int8)).otherwise(pl.col("label"))
    ).select(lines.columns)


# More pages with human gold main text (optional, fully labelled like the two corpora above):
# read from bare git mirrors at pinned commits, each left out with a message when its mirror is
# absent. Their pages form their own group per corpus (`<prefix><bucket>`), never one of
# `HELD_OUT`, and pages of a site of news_extraction or scrapinghub are left out, so no site
# spans the held-out and the training groups. Lines are labelled against the gold text with
# `label_lines`.
MIRRORS = Path(os.environ.get("NEWSDQ_MIRRORS", "/work/.mirror"))


@dataclass(frozen=True)
class GoldCorpus:
    """A set of pages with human gold main text in a git mirror, read at a pinned commit."""

    name: str  # for messages and cache files
    prefix: str  # of its groups: "<prefix><bucket>"
    mirror: str  # owner+name under MIRRORS
    commit: str
    # where the licence or the set's notes are, in the mirror
    notes: str
    buckets: int = 1

    @property
    def repo(self) -> Path:
        """Return the bare git directory of the mirror."""
        return MIRRORS / self.mirror / "repo"

    def present(self) -> bool:
        """Return whether the mirror holds the pinned commit."""
        try:
            _git_in(self.repo, "cat-file", "-e", f"{self.commit}^{{commit}}")
        except (OSError, subprocess.CalledProcessError):
            return False
        return True

    def cache_name(self) -> str:
        """Return the cache file name of its labelled lines (commit, corpus and seed rules)."""
        return f"newsdq_page_lines_{self.name}-v1-{self.commit[:12]}.parquet"


# Dragnet's 2012 set (Moz; data licensed AGPLv3 per seomoz/dragnet_data's README): 1,381
# news and blog pages of ~400 sites, each with a human "Corrected" text that holds the article
# and, after the line `!@#$%^&*()  COMMENTS`, its reader comments (boilerplate here, as in
# the gold of the two corpora above). The HTML archive of seomoz/dragnet_data is over the
# mirror's file size limit; j-szulc/html-cleaning-dataset-merged holds the same pages unpacked.
DRAGNET = GoldCorpus(
    name="dragnet",
    prefix="dg:",
    mirror="j-szulc+html-cleaning-dataset-merged",
    commit="46e01a04b47051838a228bf23631430b2c9de375",
    notes="README.md (licences: the original sets'; dragnet_data's README says AGPLv3)",
)
# L3S-GN1 (Kohlschütter et al., WSDM 2010; research use only): 621 Google News articles of
# 2008 from 408 sites, each block labelled by human assessors as headline, full text,
# supplemental, related content, comments or not content. The gold text is the full text
# (`x-nc-sel2`), as the article bodies of the two corpora above.
L3S_GN1 = GoldCorpus(
    name="l3s-gn1",
    prefix="gn:",
    mirror="geodrome+page-signal",
    commit="186d8153b3d111f84865ddc180600a9cbe35ac7f",
    notes="L3S-GN1-20100130203947-00001/Readme-L3S-GN1.txt",
)
GOLD_CORPORA = (DRAGNET, L3S_GN1)
_DRAGNET_COMMENTS = "!@#$%^&*()  COMMENTS"
_GN1 = "L3S-GN1-20100130203947-00001"


def _git_in(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, capture_output=True, check=True
    ).stdout


def _blobs_in(repo: Path, rev: str, paths: list[str]) -> dict[str, bytes]:
    """Return the bytes of each path at `rev` of a mirror (one `git cat-file --batch`)."""
    out = _git_in(
        repo, "cat-file", "--batch", stdin="".join(f"{rev}:{p}\n" for p in paths).encode()
    )
    blobs, pos = {}, 0
    for path in paths:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        if header[-1] == b"missing":
            pos = end + 1
            continue
        size = int(header[2])
        blobs[path] = out[end + 1 : end + 1 + size]
        pos = end + 1 + size + 1
    return blobs


def _decode(data: bytes) -> str | None:
    """Decode a page as newsdq's ingest does (markers mended), or None when it cannot."""
    try:
        html, _ = mend(decoding._decode_nonblank(data, IngestConfig(), markup=True))
    except Exception:  # an undecodable page is simply absent from the set
        return None
    return html


_URL_OF_PAGE = (
    re.compile(r"""<link[^>]*rel=["']canonical["'][^>]*href=["'](https?://[^/"':]+)""", re.I),
    re.compile(r"""<link[^>]*href=["'](https?://[^/"':]+)[^>]*rel=["']canonical["']""", re.I),
    re.compile(r"""og:url["'][^>]*content=["'](https?://[^/"':]+)""", re.I),
    re.compile(r"""<base[^>]*href=["'](https?://[^/"':]+)""", re.I),
)


def _html_domain(html: str) -> str:
    """Return a page's domain from its canonical link, og:url or base, else the domain its
    absolute links name most often ("" if none)."""
    for pattern in _URL_OF_PAGE:
        m = pattern.search(html)
        if m:
            return urlparse(m.group(1)).netloc.lower().removeprefix("www.")
    hosts = re.findall(r"""href=["']https?://([^/"':]+)""", html, re.I)
    if not hosts:
        return ""
    counts: dict[str, int] = {}
    for h in hosts:
        key = h.lower().removeprefix("www.")
        counts[key] = counts.get(key, 0) + 1
    return max(sorted(counts), key=counts.__getitem__)


def _read_dragnet(corpus: GoldCorpus) -> list[tuple[str, str, str, str]]:
    """Return (uri, site, decoded html, gold article text) of Dragnet's pages."""
    names = _git_in(
        corpus.repo, "ls-tree", "-r", "-z", "--name-only", corpus.commit, "dragnet_data"
    )
    paths = [n for n in names.decode("utf-8").split("\0") if n.endswith((".html", ".txt"))]
    blobs = _blobs_in(corpus.repo, corpus.commit, paths)
    rows = []
    for path in sorted(p for p in paths if p.startswith("dragnet_data/input/")):
        stem = Path(path).stem
        gold = blobs.get(f"dragnet_data/GoldStandard/{stem}.txt")
        html = _decode(blobs[path]) if path in blobs else None
        if gold is None or html is None:
            continue
        try:
            text = gold.decode("utf-8")
        except UnicodeDecodeError:
            text = gold.decode("cp1252", "replace")
        article = text.split(_DRAGNET_COMMENTS)[0]
        rows.append((f"dg/{stem}", site_stem(_html_domain(html) or stem), html, article))
    return rows


def _read_l3s_gn1(corpus: GoldCorpus) -> list[tuple[str, str, str, str]]:
    """Return (uri, site, decoded html, gold full text) of L3S-GN1's pages."""
    from lxml import html as lxml_html

    mapping = _git_in(corpus.repo, "show", f"{corpus.commit}:{_GN1}/url-mapping.txt")
    urls = {}
    for row in mapping.decode("utf-8", "replace").splitlines():
        if "\t" in row:
            urn, url = row.split("\t", 1)
            urls[urn.strip("<>").removeprefix("urn:uuid:")] = url.strip()
    names = sorted(urls)
    paths = [f"{_GN1}/{kind}/{n}.html" for n in names for kind in ("original", "annotated")]
    blobs = _blobs_in(corpus.repo, corpus.commit, paths)
    rows = []
    for n in names:
        original = blobs.get(f"{_GN1}/original/{n}.html")
        annotated = blobs.get(f"{_GN1}/annotated/{n}.html")
        html = None if original is None else _decode(original)
        if html is None or annotated is None:
            continue
        tree = lxml_html.fromstring(annotated.decode("utf-8", "replace"))
        blocks = [
            " ".join(e.text_content().split())
            for e in tree.xpath("//*[contains(concat(' ', @class, ' '), ' x-nc-sel2 ')]")
        ]
        gold = "\n".join(b for b in blocks if b)
        if gold:
            domain = urlparse(urls[n]).netloc.lower().removeprefix("www.")
            rows.append((f"gn/{n}", site_stem(domain), html, gold))
    return rows


_READERS: dict[str, Callable[[GoldCorpus], list[tuple[str, str, str, str]]]] = {
    DRAGNET.name: _read_dragnet,
    L3S_GN1.name: _read_l3s_gn1,
}


def read_gold_corpus(corpus: GoldCorpus) -> list[tuple[str, str, str, str]]:
    """Return (uri, group, decoded html, gold text) of a corpus's pages, sites of the two
    other corpora left out."""
    known = _known_stems()
    rows = []
    for uri, site, html, gold in _READERS[corpus.name](corpus):
        if site in known:
            continue
        bucket = xxhash.xxh32_intdigest(site.encode()) % corpus.buckets
        rows.append((uri, f"{corpus.prefix}{bucket}", html, gold))
    return rows


def gold_corpus_lines(corpus: GoldCorpus, cache: Path | None = None) -> pl.DataFrame:
    """Return the labelled lines of a `GoldCorpus` (`build`'s columns; cached as Parquet)."""
    return _gold_lines(lambda: read_gold_corpus(corpus), cache)


# The seeds (../shared/seeds): the reference input, kept a fair test of the classifier. A
# training line equal to a line of a seed of at least SEED_MIN_WORDS words (case and digits
# folded, as `cross_site_labels` compares lines) weighs nothing in a loss (`UNLABELLED`); it
# stays in its page. Shorter seed lines ("Comments", "Leave a reply", "More articles") are
# every site's headings, not the seeds' own phrasing: they stay labelled.
SEEDS = ROOT.parent / "shared" / "seeds"
SEED_MIN_WORDS = 4


def _line_key(col: str = "text") -> pl.Expr:
    return pl.col(col).str.to_lowercase().str.replace_all(r"\p{N}", "0").str.strip_chars()


def seed_line_keys(folder: Path = SEEDS) -> set[str]:
    """Return the folded keys of the lines of the seeds (empty when the folder is absent)."""
    paths = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    if not paths:
        return set()
    texts = [p.read_bytes().decode("utf-8", "replace") for p in paths]
    lines = page_lines(normalise([p.name for p in paths], texts))
    long = lines.filter(pl.col("text").str.count_matches(r"\S+") >= SEED_MIN_WORDS)
    return set(long.select(k=_line_key())["k"].to_list())


def without_seed_lines(lines: pl.DataFrame, keys: set[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return `lines` with the labels of lines equal to a seed line set to `UNLABELLED` (but in
    the `HELD_OUT` groups, which are scored as they are), and the count of such labelled lines
    per group prefix and label (the texts are not returned)."""
    hit = (
        _line_key().is_in(list(keys))
        & (pl.col("label") != UNLABELLED)
        & ~pl.col("group").is_in(list(HELD_OUT))
    )
    counts = (
        lines.filter(hit)
        .group_by(corpus=pl.col("group").str.split(":").list.first(), label="label")
        .agg(lines=pl.len(), texts=pl.col("text").n_unique())
        .sort("corpus", "label")
    )
    out = lines.with_columns(
        label=pl.when(hit).then(pl.lit(UNLABELLED, pl.Int8)).otherwise(pl.col("label"))
    )
    return out, counts
