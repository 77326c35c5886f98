"""The boilerplate stage: recurring and single-page boilerplate removed, empty texts quarantined."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace

import polars as pl

from flows.core.boilerplate.classify import page_hits
from flows.core.boilerplate.clean import CLEANED_COLUMNS, find_boilerplate
from flows.core.boilerplate.groups import grouped_passages
from flows.core.boilerplate.index import NO_HISTORY, BoilerplateHistory, earlier_links
from flows.core.boilerplate.signing import sign_passages
from flows.core.drops import drop_where
from flows.core.page_boilerplate import PageModel
from flows.core.settings import BoilerplateConfig, MinHashConfig


@dataclass(frozen=True)
class BoilerplateStats:
    """The boilerplate stage's figures, as the run summary names them."""

    boilerplate_passages: int  # passages removed
    known_boilerplate_matches: int  # of them, near-copies of earlier runs' known variants
    classifier_passages: int  # of them, removed by the single-page classifier alone
    history_passage_rows: int  # passage index rows of earlier runs looked up

    def notes(self) -> dict[str, int]:
        """Return the figures by name, in field order."""
        return asdict(self)


@dataclass(frozen=True)
class BoilerplateResult:
    """What the boilerplate stage produces.

    Attributes
    ----------
    documents : pl.DataFrame
        The input rows that kept some text, with `clean_text`, `boilerplate_ratio`,
        `is_boilerplate_heavy` and `title` (see `find_boilerplate`) in place of their `title`.
    passages : pl.DataFrame
        Every passage of the distinct documents, boilerplate or not (see `find_boilerplate`):
        for the boilerplate table and the passage index; `text` is null where the passage
        was kept (it is the document's `text[start:end]`).
    quarantine : pl.DataFrame
        `QUARANTINE` rows of the input rows with no text left (`empty_after_cleaning`).
    stats : BoilerplateStats
        Counts of `passages` and of the history looked up.
    """

    documents: pl.DataFrame
    passages: pl.DataFrame
    quarantine: pl.DataFrame
    stats: BoilerplateStats

    def without_passages(self) -> BoilerplateResult:
        """Return the result with no passage rows (same columns), for a run that set them aside."""
        return replace(self, passages=self.passages.clear())


def boilerplate_stage(
    docs: pl.DataFrame,
    minhash: MinHashConfig,
    config: BoilerplateConfig,
    history: BoilerplateHistory = NO_HISTORY,
    page_model: PageModel | None = None,
) -> BoilerplateResult:
    """Remove recurring and single-page boilerplate; quarantine documents left with no text.

    Parameters
    ----------
    docs
        Normalised documents (`doc_id`, `source_uri`, `text`, `title_hint`, optionally
        `title`); a repeated `doc_id` is cleaned once, as its first row.
    minhash, config
        Passage signature and boilerplate settings.
    history
        Earlier runs' passages (looked up by this run's passage buckets: their documents count
        towards support as this run's do) and known boilerplate variants; none by default.
    page_model
        The single-page line classifier, or None for recurrence alone (`find_boilerplate`).

    Returns
    -------
    BoilerplateResult
        The cleaned documents, all passages, the quarantine rows and the stage's figures.
    """
    unique = docs.unique("doc_id", keep="first", maintain_order=True)
    # The single-page classifier needs nothing of recurrence: it scores the pages on a second
    # thread meanwhile (both sides spend most of their time in polars, numpy and numba, which
    # release the GIL).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="page-classifier") as pool:
        scored = pool.submit(page_hits, unique, config, page_model)
        signed = sign_passages(unique, minhash, config)
        # Which earlier passages matter depends on this run's buckets, so history is a lookup,
        # by the buckets of each distinct text (a kit's thousands of copies share theirs).
        links, history_rows = earlier_links(signed, history.passages, minhash, config)
        grouped = grouped_passages(signed, minhash, config, history.known)
        # Grouped, the passages need no signature: freed before the rest of the stage (766 MB
        # for the 1.5M distinct passage texts of a 300,000-page inbox).
        del signed
        cleaned, passages = find_boilerplate(
            unique, minhash, config, history.known, grouped, links, page_model, scored.result
        )
    documents = docs.drop("title", strict=False).join(
        cleaned.select(CLEANED_COLUMNS), on="doc_id", how="left"
    )
    documents, empties = drop_where(
        documents,
        pl.col("clean_text").str.len_chars() == 0,
        stage="boilerplate",
        reason="empty_after_cleaning",
        detail=pl.format("all {} characters were boilerplate", pl.col("text").str.len_chars()),
    )
    # counted in place: the removed rows filtered out were 3.2M rows at 300,000 pages
    removed = pl.col("is_boilerplate")
    found = passages.select(
        removed=removed.sum(),
        known=(removed & pl.col("known_support").is_not_null()).sum(),
        classifier=(removed & (pl.col("signal") == "classifier")).sum(),
    ).row(0, named=True)
    # A kept passage's text is its document's `text[start:end]`: the run keeps only the
    # removed ones' (the boilerplate table's), not a second copy of every text.
    passages = passages.with_columns(text=pl.when(removed).then(pl.col("text")))
    stats = BoilerplateStats(
        boilerplate_passages=int(found["removed"]),
        known_boilerplate_matches=int(found["known"]),
        classifier_passages=int(found["classifier"]),
        history_passage_rows=history_rows,
    )
    return BoilerplateResult(documents, passages, empties, stats)
