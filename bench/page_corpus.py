"""Labelled page lines from ../shared corpora for the single-page boilerplate classifier.

Shared by `bench/train_page_boilerplate.py` (training) and `bench/boilerplate_quality.py`
(evaluation). Every page of `news_extraction` (270 pages, 9 sites) and
`scrapinghub_article_extraction` (181 pages) is turned into three texts, as newsdq sees them
after normalisation:

- `visible`: all visible text of the body, one line per block element, nothing cleaned away
  but scripts, styles and other invisible elements: menus, asides, related-story lists,
  footers, cookie banners and forms stay (with the prompts shown in form fields, placeholders
  and button values), so it holds the real phrasing of every kind of page kit;
- `main`: trafilatura's main text with the call `flows/io/ingest.py` makes (what newsdq cleans
  for HTML input);
- `recall`: trafilatura's main text when it favours recall and keeps comments: the story with
  the kit around it that a looser scraper keeps (prompts, comment forms, sign-up lines), the
  shape of a plain-text scrape such as the seeds.

Each non-empty line is labelled content (`label` 0) or boilerplate (1) against the page's human
gold main text: a line of 4 or more folded words is content when at least half of its word
bigrams occur in the gold text; a shorter line when it is a whole gold line or a contiguous
phrase of at least 2 words of it. Nothing read here is written into the repository.
"""

from __future__ import annotations

import gzip
import itertools
import json
import sys
from pathlib import Path
from urllib.parse import urlparse

import polars as pl
import xxhash

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bench.dedup_quality import read_big5  # noqa: E402
from flows.core.page_boilerplate import page_lines  # noqa: E402
from flows.core.settings import IngestConfig  # noqa: E402
from flows.core.text import fold_series, normalise_documents  # noqa: E402
from flows.io import ingest  # noqa: E402
from flows.io.charsets import mend  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"
# Scrapinghub's 126 domains are hashed into this many groups (sites never split across groups).
DOMAIN_BUCKETS = 4
# Fixed held-out groups: never trained on while tuning, never used to choose the threshold.
HELD_OUT = ("ne:latimes", "ne:nypost", "sh:3")
# The texts made of every page (see the module's docstring).
VARIANTS = ("visible", "main", "recall")


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


def visible_text(data: bytes) -> str:
    """Return all visible text of a page's body, one line per block element ("" if none)."""
    from lxml import etree
    from trafilatura.utils import load_html

    tree = load_html(data)
    body = None if tree is None else tree.find(".//body")
    if body is None:
        return ""
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
    lines = (" ".join(line.split()) for line in body.text_content().split("\n"))
    return "\n".join(line for line in lines if line)


def main_text(data: bytes) -> str:
    """Return trafilatura's main text of a page as newsdq's ingest reads it ("" if none)."""
    try:
        html, _ = mend(ingest._decode_nonblank(data, IngestConfig(), markup=True))
        page = ingest._extract_html(html)
    except Exception:  # a page trafilatura cannot read is simply absent from the set
        return ""
    text = None if page is None else page.get("text")
    return text if isinstance(text, str) else ""


def recall_text(data: bytes) -> str:
    """Return trafilatura's recall-favouring main text with comments ("" if none)."""
    import trafilatura

    try:
        html, _ = mend(ingest._decode_nonblank(data, IngestConfig(), markup=True))
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
    if cache is not None and cache.exists():
        return pl.read_parquet(cache)
    pages = read_pages()
    uris, texts, variant, group = [], [], [], []
    for uri, grp, data, _gold in pages:
        for name, text in (
            ("visible", visible_text(data)),
            ("main", main_text(data)),
            ("recall", recall_text(data)),
        ):
            uris.append(f"{name}|{uri}")
            texts.append(text)
            variant.append(name)
            group.append(grp)
    docs = normalise(uris, texts)
    lines = page_lines(docs)
    gold_of = {f"{v}|{u}": g for u, _, _, g in pages for v in VARIANTS}
    labels: list[int] = []
    for (doc_id,), part in lines.partition_by("doc_id", as_dict=True, maintain_order=True).items():
        labels += label_lines(part["text"].to_list(), gold_of[str(doc_id)])
    meta = pl.DataFrame({"doc_id": uris, "variant": variant, "group": group})
    out = (
        lines.with_columns(
            label=pl.Series(labels, dtype=pl.Int8), chars=pl.col("text").str.len_chars()
        )
        .join(meta, on="doc_id", how="left", maintain_order="left")
        .with_columns(uri=pl.col("doc_id").str.split("|").list.get(1))
    )
    if cache is not None:
        out.write_parquet(cache)
    return out


def gold_texts() -> dict[str, str]:
    """Return uri -> gold text of every page."""
    return {uri: gold for uri, _, _, gold in read_pages()}
