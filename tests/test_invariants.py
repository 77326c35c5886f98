"""Pipeline invariants: checks of derived columns fail loudly in tests, never cost an article."""

from __future__ import annotations

import datetime as dt
import random
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.errors import PipelineInvariantError
from checks.models import ArticleModel, DocumentModel
from checks.quarantine import split_valid
from flows import tasks
from flows.core.boilerplate import boilerplate_stage
from flows.core.dedup import doc_signatures
from flows.core.dedup_stage import dedup_stage
from flows.core.schema import RAW_DOCS
from flows.core.settings import Settings
from flows.io.ingest.shard import normalise_raw
from tests.test_containment import WORDS

S = Settings()
DATES = [None, dt.date(2025, 3, 1), dt.date(2025, 3, 2)]


def _story(seed: int) -> list[str]:
    """A few paragraphs of one invented story (its own words, names and figures)."""
    rng = random.Random(seed)
    name = "".join(rng.choice("bcdfghklmnprstv") + rng.choice("aeiou") for _ in range(3))
    paragraphs = []
    for k in range(rng.randint(2, 4)):
        words = [rng.choice(WORDS) for _ in range(rng.randint(20, 45))]
        words.insert(rng.randrange(len(words)), name.capitalize())
        words.insert(rng.randrange(len(words)), str(rng.randint(2, 9000) + k))
        paragraphs.append(" ".join(words).capitalize() + ".")
    return paragraphs


def _edited(paragraphs: list[str], rng: random.Random) -> list[str]:
    out = []
    for p in paragraphs:
        words = p.split(" ")
        for _ in range(max(1, len(words) // 25)):
            words[rng.randrange(len(words))] = rng.choice(WORDS)
        out.append(" ".join(words))
    return out


KINDS = ("verbatim", "edited", "truncated", "brief", "blog")


@st.composite
def corpora(draw: st.DrawFn) -> list[tuple[str, dt.date | None]]:
    """Pages of a few stories: exact and edited copies, truncations, briefs, live blogs."""
    seeds = draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=4, unique=True))
    stories = [_story(seed) for seed in seeds]
    ops = draw(
        st.lists(
            st.tuples(
                st.sampled_from(KINDS),
                st.integers(0, len(stories) - 1),
                st.integers(0, 10**6),
                st.sampled_from(DATES),
            ),
            min_size=1,
            max_size=12,
        )
    )
    pages = []
    for kind, k, seed, date in ops:
        rng = random.Random(seed)
        story = stories[k]
        if kind == "verbatim":
            paragraphs = story
        elif kind == "edited":
            paragraphs = _edited(story, rng)
        elif kind == "truncated":
            paragraphs = story[: max(1, len(story) - 1)]
        elif kind == "brief":
            paragraphs = story[:1]
        else:  # a live blog: every story, each between updates of its own
            paragraphs = [p for j, s in enumerate(stories) for p in [*s, *_story(seed + j)[:1]]]
        pages.append(("\n\n".join(paragraphs), date))
    return pages


def _raw(pages: list[tuple[str, dt.date | None]]) -> pl.DataFrame:
    n = len(pages)
    return pl.DataFrame(
        {
            "source_uri": [f"page-{i}.txt" for i in range(n)],
            "source_format": ["txt"] * n,
            "raw_text": [text for text, _ in pages],
            "title_hint": [None] * n,
            "page_title": [None] * n,
            "date_hint": [d.isoformat() if d else None for _, d in pages],
            "url": [None] * n,
            "source": [None] * n,
            "file_sha256": [f"{i:064x}" for i in range(n)],
            "replaced_bytes": [0] * n,
        },
        schema=RAW_DOCS,
    )


def documents_stage(pages: list[tuple[str, dt.date | None]]) -> pl.DataFrame:
    """The documents table of one run over `pages`, through the flow's core functions."""
    docs, _, _ = normalise_raw(_raw(pages))
    docs = boilerplate_stage(docs, S.minhash, S.boilerplate).documents
    sigs = doc_signatures(tasks.signature_inputs(docs), S.minhash, S.dedup.short_tokens)
    result = dedup_stage(docs, sigs, S.minhash, S.dedup, S.containment)
    return result.documents.with_columns(run_id=pl.lit("run-1"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora())
def test_the_documents_stage_never_breaks_an_invariant(
    pages: list[tuple[str, dt.date | None]],
) -> None:
    documents = documents_stage(pages)
    # strict: a broken invariant raises PipelineInvariantError here
    valid, quarantine = split_valid(documents, DocumentModel, stage="validate")
    assert quarantine.height == 0 and valid.height == documents.height
    articles, bad = split_valid(
        valid.filter(pl.col("status") == "published"), ArticleModel, stage="validate"
    )
    assert bad.height == 0 and articles["doc_id"].is_unique().all()


def test_the_generated_corpora_hold_the_cases_that_broke() -> None:
    # exact copies whose canonical lies inside a live blog: the 33,661-page inbox's 10 pages
    story = _story(1)
    blog = "\n\n".join([*story, *_story(2), *_story(3)])
    copy = "\n\n".join(story[:1])
    documents = documents_stage([(blog, None), (copy, None), (copy, None)])
    contained = documents.filter(pl.col("contained_in").is_not_null())
    assert contained.height == 1 and contained["is_canonical"].all()
    assert documents.filter(pl.col("doc_id") == contained["doc_id"][0]).height == 2


def _containers_on_every_copy(documents: pl.DataFrame, contained: pl.DataFrame) -> pl.DataFrame:
    """attach_containers as it was: joined on doc_id alone, exact copies get a container too."""
    return documents.join(contained, on="doc_id", how="left", maintain_order="left")


@pytest.fixture
def inbox_with_a_copy(sample_inbox: Path) -> Path:
    # an exact copy of the briefing that the live blog contains
    briefing = sample_inbox / "courier-2025-03-15-afternoon-briefing.txt"
    shutil.copy(briefing, sample_inbox / "courier-2025-03-15-afternoon-briefing-copy.txt")
    return sample_inbox


@pytest.mark.e2e
def test_a_broken_invariant_fails_a_strict_run_and_a_production_run_keeps_the_article(
    prefect_api_url: str,
    inbox_with_a_copy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.curate import curate_news

    del prefect_api_url
    monkeypatch.setattr("flows.core.dedup_stage.attach_containers", _containers_on_every_copy)
    inbox = str(inbox_with_a_copy)
    with pytest.raises(PipelineInvariantError, match="contained_in_only_on_published_rows"):
        curate_news(inbox=inbox, out=str(tmp_path / "strict"), progress=False)

    monkeypatch.setenv("NEWSDQ_INVARIANTS", "repair")
    out = tmp_path / "production"
    summary = curate_news(inbox=inbox, out=str(out), progress=False)
    assert not any(r.startswith("schema:") for r in summary["quarantine_by_reason"])
    counts = summary["counts"]
    assert counts["invariant_repairs"] == 1
    assert counts["ingested"] == counts["published"] + counts["duplicates"] + counts["quarantined"]
    assert [(b["check"], b["rows"], b["repaired"]) for b in summary["pipeline_invariants"]] == [
        ("contained_in_only_on_published_rows", 1, 1)
    ]
    assert summary["verdict"] == "passed_with_warnings"
    documents = pl.read_parquet(f"{out}/documents/**/*.parquet")
    copies = documents.filter(pl.col("source_uri").str.contains("afternoon-briefing"))
    assert sorted(copies["status"]) == ["duplicate", "published"]
    assert copies.filter(pl.col("status") == "duplicate")["contained_in"].is_null().all()
    report = (out / "runs" / summary["run_id"] / "report.html").read_text("utf-8")
    assert 'id="pipeline-invariants"' in report and "the pipeline misbehaved" in report
