"""Clean texts: the boilerplate passages cut out of each document."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from flows.core.boilerplate.classify import (
    absorb_contained,
    classify_passages,
    mark_page_boilerplate,
    page_hits,
    story_texts,
)
from flows.core.boilerplate.groups import add_history_support, grouped_passages, same_figure_links
from flows.core.boilerplate.signing import sign_passages
from flows.core.dedup import near_duplicate_components
from flows.core.page_boilerplate import PageModel
from flows.core.settings import BoilerplateConfig, MinHashConfig
from flows.core.text import normalise_text
from flows.core.titles import document_title, first_title_lines

# Documents `clean_texts` cuts at a time.
CLEAN_BLOCK_DOCS = 20_000


def clean_texts(docs: pl.DataFrame, passages: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """Return each document's text without its boilerplate passages, and the share removed.

    Parameters
    ----------
    docs
        `doc_id` (unique) and `text`.
    passages
        `doc_id`, `start`, `end` (disjoint spans of each document) and `is_boilerplate`.

    Returns
    -------
    tuple[pl.Series, pl.Series]
        `clean_text` ("" for a document without passages) and `boilerplate_ratio` (removed
        characters over all passages' characters, 0.0 without passages), in `docs`' order.
    """
    if docs.height > CLEAN_BLOCK_DOCS:
        # A block of documents at a time: the kept pieces and the joined texts of a whole
        # 300,000-page inbox were 1.3 GB of temporaries at once.
        blocks = [docs.slice(i, CLEAN_BLOCK_DOCS) for i in range(0, docs.height, CLEAN_BLOCK_DOCS)]
        parts = [
            clean_texts(
                block, passages.join(block.select("doc_id").unique(), on="doc_id", how="semi")
            )
            for block in blocks
        ]
        return pl.concat([c for c, _ in parts]), pl.concat([r for _, r in parts])
    spans = passages.select(
        "doc_id",
        "start",
        "end",
        removed=pl.when("is_boilerplate").then(pl.col("end") - pl.col("start")).otherwise(0),
    )
    per_doc = spans.group_by("doc_id").agg(
        total=(pl.col("end") - pl.col("start")).sum(), removed=pl.col("removed").sum()
    )
    cut = spans.filter(pl.col("removed") > 0).sort("doc_id", "start")
    # the kept pieces: before each removed span (from the previous one's end), and the tail
    pieces = pl.concat(
        [
            cut.select(
                "doc_id",
                a=pl.col("end").shift(1, fill_value=0).over("doc_id"),
                b="start",
                order="start",
            ),
            cut.group_by("doc_id")
            .agg(a=pl.col("end").max())
            .with_columns(b=pl.lit(None, pl.Int64), order=pl.lit(None, pl.Int64)),
        ]
    )
    texts = docs.select("doc_id", "text")
    kept = (
        # one text a doc_id: a repeated row takes its first row's text, as `find_boilerplate`
        # cuts a document's passages from it
        pieces.join(texts.unique("doc_id", keep="first"), on="doc_id")
        .with_columns(b=pl.coalesce("b", pl.col("text").str.len_chars().cast(pl.Int64)))
        .sort("doc_id", "order", nulls_last=True)
        .group_by("doc_id", maintain_order=True)
        .agg(cut_text=pl.col("text").str.slice(pl.col("a"), pl.col("b") - pl.col("a")).str.join(""))
    )
    out = (
        texts.join(per_doc, on="doc_id", how="left", maintain_order="left")
        .join(kept, on="doc_id", how="left", maintain_order="left")
        .select(
            clean_text=pl.when(pl.col("total").is_null())
            .then(pl.lit(""))
            .otherwise(pl.coalesce("cut_text", "text")),
            boilerplate_ratio=pl.when(pl.col("total") > 0)
            .then(pl.col("removed") / pl.col("total"))
            .otherwise(0.0)
            .cast(pl.Float64),
        )
    )
    return out["clean_text"], out["boilerplate_ratio"]


def remove_boilerplate(
    docs: pl.DataFrame,
    minhash: MinHashConfig,
    config: BoilerplateConfig,
    known: pl.DataFrame | None = None,
    page_model: PageModel | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Find boilerplate passages and produce the clean text of each document (one run, no index).

    Returns the documents (see `find_boilerplate`), those left empty included, and only the
    boilerplate passages: for scoring every page. The flow's stage is `boilerplate_stage`.
    """
    out, classified = find_boilerplate(docs, minhash, config, known, page_model=page_model)
    table = classified.filter(pl.col("is_boilerplate")).select(
        "doc_id", "start", "end", "text", "support", "signal", "known_support"
    )
    return out, table


def find_boilerplate(
    docs: pl.DataFrame,
    minhash: MinHashConfig,
    config: BoilerplateConfig,
    known: pl.DataFrame | None = None,
    grouped: pl.DataFrame | None = None,
    links: pl.DataFrame | None = None,
    page_model: PageModel | None = None,
    hits: Callable[[], pl.DataFrame | None] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Find boilerplate passages and produce the clean text of each document.

    Parameters
    ----------
    docs
        Frame with unique `doc_id`, `text` and `title_hint` (nullable).
    minhash, config
        Passage signature and classification settings.
    known
        Boilerplate passages found by earlier runs (`signature`, `support`): their near-copies
        are boilerplate even when this run has too few pages to show them recurring.
    grouped
        The documents' passages grouped (`grouped_passages`), when already computed.
    links
        Earlier runs' passages near these passages (`history_links`, ids are rows of
        `passages`): their documents count towards support as this run's do.
    page_model
        The single-page line classifier (`flows/io/page_model.py`), or None for recurrence
        alone; used when `config.page_classifier` is on. A line scoring at least
        `config.page_threshold` is boilerplate, except its passages kept as shared quotations.
    hits
        Returns the classifier's lines (`page_hits` of `docs`) when they were computed
        elsewhere (`boilerplate_stage` scores them while recurrence runs); None: computed here.

    Returns
    -------
    tuple[pl.DataFrame, pl.DataFrame]
        `docs` with `clean_text`, `boilerplate_ratio`, `is_boilerplate_heavy` and `title`
        (`document_title` of the metadata, else the first line that is neither boilerplate nor
        interface chrome, `first_title_lines`); and every passage
        (`PASSAGES` columns, `figures`, `support`, `known_support`: null for passages not
        already known from earlier runs, `is_boilerplate`, `shared_quote`, and `signal`: which
        signal removed it, `recurrence` or `classifier`, null when kept), by document and
        position.
    """
    if grouped is None:
        grouped = grouped_passages(sign_passages(docs, minhash, config), minhash, config, known)
    if grouped.height == 0:
        classified = grouped.with_columns(
            is_boilerplate=pl.lit(False),
            shared_quote=pl.lit(False),
        )
    else:
        if links is not None:
            links = same_figure_links(grouped, links, config.figures_min_chars)
        grouped = add_history_support(grouped, links)
        stories = near_duplicate_components(
            docs["doc_id"], story_texts(docs, grouped, config), minhash, config.same_story_threshold
        ).select(doc_id="id", story="component")
        classified = absorb_contained(classify_passages(grouped, config, stories, links), config)
    lines = hits() if hits is not None else page_hits(docs, config, page_model)
    classified = mark_page_boilerplate(classified, lines)
    classified = classified.sort("doc_id", "passage")

    clean, ratio = clean_texts(docs, classified)
    first_lines = first_title_lines(classified.lazy()).collect()
    out = (
        docs.with_columns(
            clean_text=clean,
            boilerplate_ratio=ratio,
        )
        .join(first_lines, on="doc_id", how="left", maintain_order="left")
        .with_columns(
            clean_text=normalise_text(pl.col("clean_text")),
            is_boilerplate_heavy=pl.col("boilerplate_ratio") > config.heavy_ratio,
            title=pl.coalesce(document_title(docs.columns), pl.col("first_line")),
        )
        .drop("first_line")
    )
    return out, classified.drop("group")


# The columns the stage adds to (or replaces in) each document row.
CLEANED_COLUMNS = ["doc_id", "clean_text", "boilerplate_ratio", "is_boilerplate_heavy", "title"]
