"""Which passage groups are boilerplate: recurrence around stories, and the page classifier."""

from __future__ import annotations

import polars as pl

from flows.core.boilerplate.index import LINKS
from flows.core.boilerplate.signing import distinct_texts
from flows.core.cluster import components
from flows.core.minhash import word_gram_table
from flows.core.page_boilerplate import PageModel, classify_lines
from flows.core.settings import BoilerplateConfig

# Distinct passage texts whose word 3-grams `absorb_contained` holds at a time (about 2M grams,
# 100 MB of temporaries, for 50,000 texts of the syndication inbox).
ABSORB_CHUNK_TEXTS = 50_000


def story_texts(docs: pl.DataFrame, grouped: pl.DataFrame, config: BoilerplateConfig) -> list[str]:
    """Return each document's text without the passages that recur too often to be a story.

    Pages are told apart as stories on this text: a short wire story on five outlets' pages
    is one story although each outlet's kit is most of its page. Passages whose group recurs
    in more than `story_max_support` documents (a kit on every page of an outlet) are left
    out; with `story_max_support` 0 the whole text is compared.
    """
    if not config.story_max_support:
        return docs["text"].to_list()
    kept = (
        grouped.filter(pl.col("support") <= config.story_max_support)
        .sort("doc_id", "passage")
        .group_by("doc_id", maintain_order=True)
        .agg(story_text=pl.col("text").str.join("\n"))
    )
    return (
        docs.select("doc_id")
        .join(kept, on="doc_id", how="left", maintain_order="left")["story_text"]
        .fill_null("")
        .to_list()
    )


def _story_components(
    grouped: pl.DataFrame, stories: pl.DataFrame, links: pl.DataFrame, threshold: float
) -> pl.DataFrame:
    """Map story labels (this run's `r<n>`, history's `h<cluster>`) to merged story components.

    A document of this run tells the story of an earlier run's document when their shared
    passages cover `threshold` of both (characters, as a Jaccard): a copy of a story published
    last week is one story with it, however many outlets carried it since.
    """
    per_doc = grouped.with_row_index("id").with_columns(
        pl.col("id").cast(pl.Int64), chars=pl.col("end") - pl.col("start")
    )
    totals = per_doc.group_by("doc_id").agg(doc_chars=pl.col("chars").sum())
    shared = (
        links.join(per_doc.select("id", "doc_id", "chars"), on="id")
        .group_by("doc_id", "h_doc")
        .agg(
            mine=pl.col("chars").filter(pl.col("id").is_first_distinct()).sum(),
            theirs=pl.col("h_chars")
            .filter(pl.col("h_passage").is_first_distinct())
            .sum()
            .cast(pl.Int64),
            h_doc_chars=pl.col("h_doc_chars").first().cast(pl.Int64),
            story=pl.col("story").first(),
        )
        .join(totals, on="doc_id")
        .with_columns(
            common=pl.min_horizontal("mine", "theirs"),
            shorter=pl.min_horizontal("doc_chars", "h_doc_chars"),
            longer=pl.max_horizontal("doc_chars", "h_doc_chars"),
        )
        # Most of the shorter page, and a good part of the longer: a truncated copy shares
        # most of itself with the full story, a brief shares its kit with the outlet's long
        # pages but not half of them.
        .filter(
            (pl.col("common") >= threshold * pl.col("shorter"))
            & (pl.col("common") >= threshold / 2 * pl.col("longer"))
        )
        .join(stories, on="doc_id")
        .select(left=pl.format("r{}", pl.col("story_run")), right=pl.format("h{}", pl.col("story")))
    )
    labels = pl.concat(
        [
            stories.select(label=pl.format("r{}", pl.col("story_run"))),
            links.select(label=pl.format("h{}", pl.col("story"))),
        ]
    ).unique(maintain_order=True)["label"]
    return components(labels, shared).rename({"id": "label"})


def classify_passages(
    grouped: pl.DataFrame,
    config: BoilerplateConfig,
    stories: pl.DataFrame | None = None,
    links: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Mark passages as boilerplate.

    A passage is boilerplate when its group recurs in at least `min_support` documents and
    those documents tell at least `min_support` different stories: documents that carry text of
    their own (text in groups that do not recur), counted once per story. Boilerplate surrounds
    different stories; a syndicated story recurs wrapped in recurring kits and small edits, or
    in whole documents that are near-copies of each other. `stories` maps `doc_id` to a story
    label (near-duplicate components of the whole text); without it each document is a story.
    Passages near a known boilerplate passage of an earlier run (`known_support` not null) are
    boilerplate too, with that support. `links` (history passages near this run's passages,
    `history_links`) add earlier runs' documents and their stories to each group; `support`
    must already count them (`add_history_support`). Returns `grouped` with booleans
    `is_boilerplate` and `shared_quote` (a recurring passage kept as a quotation).
    """
    k = config.min_support
    length = pl.col("end") - pl.col("start")
    # A near-copy of known boilerplate recurs by definition, whatever its support in this run.
    known = pl.col("known_support").is_not_null()
    per_doc = grouped.group_by("doc_id").agg(
        total=length.sum(),
        own=length.filter((pl.col("support") < k) & ~known).sum(),
    )
    if stories is None:
        stories = per_doc.select("doc_id", story=pl.col("doc_id"))
    storied = per_doc.filter(
        (pl.col("own") >= config.min_story_chars)
        & (pl.col("own") >= config.min_story_share * pl.col("total"))
    ).join(stories.select("doc_id", "story"), on="doc_id", how="left")
    # Story labels: this run's components, merged with earlier runs' stories they copy.
    run_stories = stories.select("doc_id", story_run=pl.col("story"))
    links = pl.DataFrame(schema=LINKS) if links is None else links
    merged = _story_components(grouped, run_stories, links, config.same_story_threshold)
    members = grouped.filter(pl.col("support") >= k).join(
        storied.select("doc_id", label=pl.format("r{}", pl.col("story"))), on="doc_id"
    )
    ids = grouped.select("group").with_row_index("id").cast({"id": pl.Int64})
    earlier = links.filter(pl.col("storied")).join(ids, on="id")
    group_stories = (
        pl.concat(
            [
                members.select("group", "label"),
                earlier.select("group", label=pl.format("h{}", pl.col("story"))),
            ]
        )
        .join(merged, on="label", how="left")
        .group_by("group")
        .agg(stories=pl.col("component").n_unique())
    )
    flagged = grouped.join(group_stories, on="group", how="left").with_columns(
        _recurs=(pl.col("support") >= k) & (pl.col("stories").fill_null(0) >= k)
    )
    quotes = shared_quotes(flagged, config)
    quote = pl.col("_recurs") & pl.col("group").is_in(quotes.implode())
    return flagged.with_columns(
        is_boilerplate=(pl.col("_recurs") & ~quote) | known,
        shared_quote=quote & ~known,
        support=pl.max_horizontal("support", "known_support"),
    ).drop("stories", "_recurs")


def shared_quotes(flagged: pl.DataFrame, config: BoilerplateConfig) -> pl.Series:
    """Return the recurring groups that look like a quotation shared by several reports.

    Such a group's passages mostly stand alone in the middle of their pages (neither neighbour
    recurs, not in the first or last `quote_edge` of the page), are long, and recur in at most
    `quote_max_support` documents; boilerplate comes in blocks at the edges of a page.
    """
    last = pl.col("passage").max().over("doc_id")
    rel = pl.col("passage") / pl.when(last > 0).then(last).otherwise(1)
    before = pl.col("_recurs").shift(1).over("doc_id", order_by="passage").fill_null(False)
    after = pl.col("_recurs").shift(-1).over("doc_id", order_by="passage").fill_null(False)
    lonely = ~before & ~after
    middle = (rel > config.quote_edge) & (rel < 1 - config.quote_edge)
    return (
        flagged.with_columns(_inside=lonely & middle)
        .filter(pl.col("_recurs"))
        .group_by("group")
        .agg(
            inside=pl.col("_inside").mean(),
            chars=(pl.col("end") - pl.col("start")).median(),
            support=pl.col("support").first(),
        )
        .filter(
            (pl.col("inside") > 0.5)
            & (pl.col("chars") >= config.quote_min_chars)
            & (pl.col("support") <= config.quote_max_support)
        )["group"]
    )


_COVERAGE = pl.Schema({"_text": pl.Int64, "covered": pl.Float64, "bp_support": pl.Int64})


def absorb_contained(
    classified: pl.DataFrame, config: BoilerplateConfig, chunk: int = ABSORB_CHUNK_TEXTS
) -> pl.DataFrame:
    """Mark passages mostly contained in detected boilerplate as boilerplate too.

    Scrapers join a blurb onto one line on one page and split it over lines on another; the
    pieces are not near-copies of the whole, but nearly all their word 3-grams occur in it.
    `chunk` distinct texts are measured at a time: the word 3-grams of a whole inbox's
    passages are a gigabyte at 100,000 pages; the result does not depend on it.
    """
    # By distinct text (a kit repeats on thousands of pages): the largest support of its rows
    # that are boilerplate (null when none is), and whether any of its rows is kept.
    number, first = distinct_texts(classified["text"])
    rows = classified.with_columns(_text=pl.Series(number))
    distinct = classified.get_column("text").filter(pl.Series(first))
    texts = (
        rows.group_by("_text")
        .agg(
            bp_own=pl.col("support").filter(pl.col("is_boilerplate")).max(),
            kept=(~pl.col("is_boilerplate")).any(),
        )
        .sort("_text")
    )
    # the grams of boilerplate texts, each with the largest support of a text holding it
    own = texts.filter(pl.col("bp_own").is_not_null())
    own_grams = word_gram_table(distinct.gather(own["_text"]), 3)
    bp_grams = (
        own_grams.with_columns(bp_support=own["bp_own"].gather(own_grams["id"]))
        .group_by("gram")
        .agg(pl.col("bp_support").max())
    )
    # Only a text with a kept row can be absorbed (a boilerplate row stays as it is).
    candidates = texts.filter(pl.col("kept"))["_text"]
    coverage = [pl.DataFrame(schema=_COVERAGE)]
    for i in range(0, len(candidates), chunk):
        part = candidates.slice(i, chunk)
        grams = word_gram_table(distinct.gather(part), 3)
        coverage.append(
            grams.with_columns(_text=part.gather(grams["id"]))
            .join(bp_grams, on="gram", how="left")
            .group_by("_text")
            .agg(
                covered=pl.col("bp_support").is_not_null().mean(),
                bp_support=pl.col("bp_support").max(),
            )
            .cast(_COVERAGE)
        )
    covered = pl.concat(coverage)
    absorbed = pl.col("covered").fill_null(0.0) >= config.containment
    return (
        rows.join(covered, on="_text", how="left", maintain_order="left")
        .with_columns(
            support=pl.when(~pl.col("is_boilerplate") & absorbed)
            .then(pl.max_horizontal("support", "bp_support"))
            .otherwise(pl.col("support")),
            is_boilerplate=pl.col("is_boilerplate") | absorbed,
        )
        .drop("_text", "covered", "bp_support")
    )


def page_hits(
    docs: pl.DataFrame, config: BoilerplateConfig, page_model: PageModel | None
) -> pl.DataFrame | None:
    """Return the single-page classifier's lines (`classify_lines`), or None when it is off."""
    if page_model is None or not config.page_classifier or docs.height == 0:
        return None
    return classify_lines(
        docs.select("doc_id", "text"),
        page_model,
        config.page_threshold,
        bridge_threshold=config.page_bridge_threshold,
        bridge_lines=config.page_bridge_lines,
    )


def mark_page_boilerplate(classified: pl.DataFrame, hits: pl.DataFrame | None) -> pl.DataFrame:
    """Add the classifier's lines to the boilerplate and name each removal's `signal`.

    Parameters
    ----------
    classified
        Passages with `line`, `is_boilerplate` and `shared_quote` (recurrence's verdict).
    hits
        The lines the single-page classifier removes (`page_hits`: `doc_id`, `line`), or None
        (recurrence alone).

    Returns
    -------
    pl.DataFrame
        `classified` with `is_boilerplate` widened and `signal` (`recurrence`, `classifier`,
        or null for kept passages).
    """
    recurrence = pl.col("is_boilerplate")
    if hits is None or classified.height == 0:
        page = pl.lit(False)
        out = classified
    else:
        out = classified.join(
            hits.select("doc_id", "line", _page=pl.lit(True)),
            on=["doc_id", "line"],
            how="left",
            maintain_order="left",
        )
        page = pl.col("_page").fill_null(False) & ~pl.col("shared_quote")
    return out.with_columns(
        signal=pl.when(recurrence)
        .then(pl.lit("recurrence"))
        .when(page)
        .then(pl.lit("classifier"))
        .otherwise(pl.lit(None, pl.String)),
        is_boilerplate=recurrence | page,
    ).drop("_page", strict=False)
