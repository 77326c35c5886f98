"""Passage-level boilerplate: passages whose near-copies recur around different stories."""

from __future__ import annotations

import numpy as np
import polars as pl
import xxhash

from flows.core.cluster import components
from flows.core.dedup import near_duplicate_components
from flows.core.lsh import buckets, candidate_pairs, choose_banding
from flows.core.minhash import estimated_jaccard, fast_signatures
from flows.core.passages import split_passages
from flows.core.settings import BoilerplateConfig, MinHashConfig
from flows.core.text import fold_series, normalise_text

# Titles longer than this are cut to their first sentence (a first line may be a whole paragraph).
MAX_TITLE_CHARS = 300


def passage_groups(
    passages: pl.DataFrame,
    minhash: MinHashConfig,
    threshold: float,
    known: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Group near-duplicate passages (character-shingle MinHash, LSH, verified, components).

    Parameters
    ----------
    passages
        `PASSAGES` rows.
    minhash
        Signature parameters (character n-gram size, permutations, seed).
    threshold
        Estimated Jaccard at or above which two passages are near-copies.
    known
        Boilerplate passages of earlier runs (`signature`, `support`), or None.

    Returns
    -------
    pl.DataFrame
        `passages` with `signature`, `group` (int64), `support` (distinct documents in the
        group) and `known_support` (support of the nearest known boilerplate passage, or null).
    """
    n = passages.height
    sigs = fast_signatures(passages["text"], minhash, kind="char")
    m = 0 if known is None else known.height
    everything = sigs
    if m:
        assert known is not None
        stored = known["signature"].to_numpy().reshape(m, -1).astype(np.uint32)
        everything = np.concatenate([sigs, stored])
    ids = pl.Series("id", np.arange(n + m, dtype=np.int64))
    banding = choose_banding(threshold, minhash.num_perm)
    pairs = candidate_pairs(buckets(ids, everything, banding).lazy()).collect()
    if pairs.height:
        left = pairs["left"].to_numpy()
        right = pairs["right"].to_numpy()
        keep = estimated_jaccard(everything[left], everything[right]) >= threshold
        pairs = pairs.filter(pl.Series(keep))
    # Pairs within this run group passages; pairs reaching a known passage mark them.
    inner = pairs.filter((pl.col("left") < n) & (pl.col("right") < n))
    labels = components(ids.head(n), inner)["component"]
    known_support = pl.Series("known_support", [None] * n, dtype=pl.Int64)
    if m:
        assert known is not None
        # ids are sorted within a pair, so a known passage (id >= n) is always on the right
        reach = pairs.filter((pl.col("left") < n) & (pl.col("right") >= n))
        supports = known["support"].cast(pl.Int64)
        best = (
            reach.with_columns(known_support=supports.gather(reach["right"] - n))
            .group_by("left")
            .agg(pl.col("known_support").max())
        )
        known_support = (
            pl.DataFrame({"left": np.arange(n, dtype=np.int64)})
            .join(best, on="left", how="left")
            .sort("left")["known_support"]
        )
    return passages.with_columns(
        signature=pl.Series(sigs, dtype=pl.Array(pl.UInt32, minhash.num_perm)),
        group=labels,
        known_support=known_support,
    ).with_columns(support=pl.col("doc_id").n_unique().over("group").cast(pl.Int64))


def classify_passages(
    grouped: pl.DataFrame, config: BoilerplateConfig, stories: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Mark passages as boilerplate.

    A passage is boilerplate when its group recurs in at least `min_support` documents and
    those documents tell at least `min_support` different stories: documents that carry text of
    their own (text in groups that do not recur), counted once per story. Boilerplate surrounds
    different stories; a syndicated story recurs wrapped in recurring kits and small edits, or
    in whole documents that are near-copies of each other. `stories` maps `doc_id` to a story
    label (near-duplicate components of the whole text); without it each document is a story.
    Passages near a known boilerplate passage of an earlier run (`known_support` not null) are
    boilerplate too, with that support. Returns `grouped` with a boolean `is_boilerplate`.
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
    group_stories = (
        grouped.filter(pl.col("support") >= k)
        .join(storied.select("doc_id", "story"), on="doc_id", how="inner")
        .group_by("group")
        .agg(stories=pl.col("story").n_unique())
    )
    flagged = grouped.join(group_stories, on="group", how="left").with_columns(
        _recurs=(pl.col("support") >= k) & (pl.col("stories").fill_null(0) >= k)
    )
    quotes = shared_quotes(flagged, config)
    return flagged.with_columns(
        is_boilerplate=(pl.col("_recurs") & ~pl.col("group").is_in(quotes.implode())) | known,
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


def _word_trigrams(passages: pl.DataFrame) -> pl.DataFrame:
    """Return (passage row `id`, `gram` hash) for each distinct word 3-gram of each passage."""
    ids, grams = [], []
    for i, folded in enumerate(fold_series(passages["text"]).to_list()):
        words = folded.split()
        seq = [" ".join(words[j : j + 3]) for j in range(max(len(words) - 2, 1))] if words else []
        for g in set(seq):
            ids.append(i)
            grams.append(xxhash.xxh3_64_intdigest(g.encode("utf-8")))
    return pl.DataFrame(
        {"id": pl.Series(ids, dtype=pl.Int64), "gram": pl.Series(grams, dtype=pl.UInt64)}
    )


def absorb_contained(classified: pl.DataFrame, config: BoilerplateConfig) -> pl.DataFrame:
    """Mark passages mostly contained in detected boilerplate as boilerplate too.

    Scrapers join a blurb onto one line on one page and split it over lines on another; the
    pieces are not near-copies of the whole, but nearly all their word 3-grams occur in it.
    """
    rows = classified.with_row_index("id").with_columns(pl.col("id").cast(pl.Int64))
    grams = _word_trigrams(rows)
    bp_grams = (
        grams.join(rows.filter(pl.col("is_boilerplate")).select("id", "support"), on="id")
        .group_by("gram")
        .agg(bp_support=pl.col("support").max())
    )
    coverage = (
        grams.join(bp_grams, on="gram", how="left")
        .group_by("id")
        .agg(
            covered=pl.col("bp_support").is_not_null().mean(),
            bp_support=pl.col("bp_support").max(),
        )
    )
    absorbed = pl.col("covered").fill_null(0.0) >= config.containment
    return (
        rows.join(coverage, on="id", how="left")
        .with_columns(
            support=pl.when(~pl.col("is_boilerplate") & absorbed)
            .then(pl.max_horizontal("support", "bp_support"))
            .otherwise(pl.col("support")),
            is_boilerplate=pl.col("is_boilerplate") | absorbed,
        )
        .drop("id", "covered", "bp_support")
    )


def _remove_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """Return `text` without the given (sorted, disjoint) spans."""
    out, pos = [], 0
    for s, e in spans:
        out.append(text[pos:s])
        pos = e
    out.append(text[pos:])
    return "".join(out)


def _title(passages: pl.DataFrame) -> str | None:
    """Return the first line made of non-boilerplate passages, cut to a sensible title length."""
    kept = passages.filter(~pl.col("is_boilerplate"))
    if kept.height == 0:
        return None
    first_line = kept["line"][0]
    parts = kept.filter(pl.col("line") == first_line)["text"].to_list()
    # A Markdown headline keeps its words, not its `#` markers.
    title = " ".join(parts).lstrip("#").strip()
    if len(title) > MAX_TITLE_CHARS:
        title = parts[0].lstrip("#")[:MAX_TITLE_CHARS].strip()
    return title or None


def remove_boilerplate(
    docs: pl.DataFrame,
    minhash: MinHashConfig,
    config: BoilerplateConfig,
    known: pl.DataFrame | None = None,
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

    Returns
    -------
    tuple[pl.DataFrame, pl.DataFrame]
        `docs` with `clean_text`, `boilerplate_ratio`, `is_boilerplate_heavy` and `title`
        (the metadata title, else the first line that is not boilerplate); and the boilerplate
        passages (`doc_id`, `start`, `end`, `text`, `support`, `signature`, and
        `known_support`: null for passages not already known from earlier runs).
    """
    passages = split_passages(docs.select("doc_id", "text"), config.min_passage_chars)
    if passages.height == 0:
        classified = passages.with_columns(
            signature=pl.lit(None, pl.Array(pl.UInt32, minhash.num_perm)),
            known_support=pl.lit(None, pl.Int64),
            group=pl.lit(0, pl.Int64),
            support=pl.lit(0, pl.Int64),
            is_boilerplate=pl.lit(False),
        )
    else:
        grouped = passage_groups(passages, minhash, config.passage_threshold, known)
        stories = near_duplicate_components(
            docs["doc_id"], docs["text"].to_list(), minhash, config.same_story_threshold
        ).select(doc_id="id", story="component")
        classified = absorb_contained(classify_passages(grouped, config, stories), config)
    classified = classified.sort("doc_id", "passage")

    by_doc = {key[0]: part for key, part in classified.partition_by("doc_id", as_dict=True).items()}
    clean: list[str] = []
    ratio: list[float] = []
    titles: list[str | None] = []
    for doc_id, text in docs.select("doc_id", "text").iter_rows():
        part = by_doc.get(doc_id)
        if part is None:
            clean.append("")
            ratio.append(0.0)
            titles.append(None)
            continue
        bp = part.filter(pl.col("is_boilerplate"))
        spans = list(zip(bp["start"].to_list(), bp["end"].to_list(), strict=True))
        clean.append(_remove_spans(text, spans))
        total = int((part["end"] - part["start"]).sum())
        removed = int((bp["end"] - bp["start"]).sum())
        ratio.append(removed / total if total else 0.0)
        titles.append(_title(part))

    out = (
        docs.with_columns(
            clean_text=pl.Series(clean, dtype=pl.String),
            boilerplate_ratio=pl.Series(ratio, dtype=pl.Float64),
            _first_line=pl.Series(titles, dtype=pl.String),
        )
        .with_columns(
            clean_text=normalise_text(pl.col("clean_text")),
            is_boilerplate_heavy=pl.col("boilerplate_ratio") > config.heavy_ratio,
            title=pl.coalesce(
                pl.col("title_hint").str.strip_chars().replace("", None), pl.col("_first_line")
            ),
        )
        .drop("_first_line")
    )
    table = classified.filter(pl.col("is_boilerplate")).select(
        "doc_id", "start", "end", "text", "support", "signature", "known_support"
    )
    return out, table
