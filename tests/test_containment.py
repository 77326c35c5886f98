"""Texts contained in longer published texts (`contained_in`)."""

from __future__ import annotations

import gc
import random

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.core.containment import find_containers
from flows.core.dedup import doc_signatures
from flows.core.settings import ContainmentConfig, MinHashConfig
from tests.test_dedup import OTHER, STORY

MH = MinHashConfig()
WORDS = [
    "harbour",
    "council",
    "ferry",
    "budget",
    "winter",
    "station",
    "school",
    "bridge",
    "market",
    "river",
    "festival",
    "road",
    "library",
    "tram",
    "museum",
    "court",
    "hospital",
    "tower",
    "garden",
    "factory",
    "airport",
    "union",
    "park",
    "chapel",
    "stadium",
    "quay",
    "mill",
    "theatre",
    "office",
    "clinic",
    "depot",
    "canal",
    "square",
    "hall",
    "village",
]


def _filler(seed: int, n: int = 60) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n)) + "."


def _find(texts: dict[str, str], config: ContainmentConfig | None = None) -> dict[str, str]:
    docs = pl.DataFrame({"doc_id": list(texts), "clean_text": list(texts.values())})
    out = find_containers(docs, doc_signatures(docs, MH), MH, config or ContainmentConfig())
    assert out["containment"].is_between(0, 1).all()
    return dict(zip(out["doc_id"], out["contained_in"], strict=True))


def test_an_article_inside_a_live_blog_is_contained_in_it() -> None:
    blog = "\n\n".join([_filler(1), STORY, _filler(2), OTHER, _filler(3)])
    found = _find({"blog": blog, "story": STORY, "other": OTHER, "unrelated": _filler(4)})
    assert found == {"story": "blog", "other": "blog"}


def test_half_shared_text_and_close_lengths_are_not_containment() -> None:
    blog = "\n\n".join([_filler(1), STORY, _filler(2), _filler(3), _filler(5)])
    half = STORY[: len(STORY) // 2] + " " + _filler(6, 25)
    truncated = blog[: int(len(blog) * 0.8)]  # a truncated copy: the dedup stage's business
    assert _find({"blog": blog, "half": half, "truncated": truncated}) == {}


def test_the_tightest_container_wins_and_the_stage_can_be_switched_off() -> None:
    blog = "\n\n".join([_filler(1), STORY, _filler(2)])
    digest = "\n\n".join([blog, _filler(7), _filler(8), _filler(9)])
    texts = {"digest": digest, "blog": blog, "story": STORY}
    assert _find(texts)["story"] == "blog"
    assert _find(texts, ContainmentConfig(enabled=False)) == {}


def test_the_ensemble_leaves_no_reference_cycles_behind() -> None:
    # datasketch's MinHashLSH objects refer to themselves; left to the cyclic collector, a
    # run's ensemble stayed in memory under the later stages (the soak's creeping peak).
    texts = {f"d{i}": _filler(i) for i in range(20)}
    gc.collect()
    gc.disable()
    try:
        _find(texts)
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable < 50


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=1, max_size=12))
def test_containers_land_only_on_canonical_rows(rows: list[tuple[int, bool]]) -> None:
    from flows.core.containment import attach_containers

    # exact copies share a doc_id; any of them may be the canonical one
    docs = pl.DataFrame(
        {"doc_id": [f"d{k}" for k, _ in rows], "is_canonical": [c for _, c in rows]}
    )
    contained = pl.DataFrame(
        {
            "doc_id": [f"d{k}" for k in range(6)],
            "contained_in": [f"d{(k + 1) % 6}" for k in range(6)],
            "containment": [0.9] * 6,
        }
    )
    out = attach_containers(docs, contained)
    assert out["doc_id"].to_list() == docs["doc_id"].to_list()
    # the rule validation checks (checks/models.py contained_in_only_on_published_rows)
    ok = out.select(
        ~pl.col("contained_in").is_not_null()
        | (pl.col("is_canonical") & pl.col("containment").is_not_null())
    ).to_series()
    assert ok.all()
    # canonical rows keep their container
    canon = out.filter(pl.col("is_canonical"))
    assert canon["contained_in"].is_not_null().all()
