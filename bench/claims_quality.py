"""Precision and recall of the claim extractor against hand-made labels.

Usage::

    .venv/bin/python bench/claims_quality.py [--show]

Two gold sets, both labelled by hand from the article text (not from the extractor's output):

1. `tests/fixtures/claims_gold.json`: every count an attentive reader would list from the
   canonical articles of the sample inbox (`data/inbox`, invented articles).
2. `tests/fixtures/seeds_claims_labels.json`: the same for the five real articles of
   ../shared/seeds (read at run time, never copied; skipped with a message when absent).

Both go through the pipeline's own path: ingest (`flows/io/ingest/`, inbox only), normalise,
remove boilerplate, deduplicate, then `extract_claims` on the canonical documents. An extracted
claim matches a gold row when it is in the same document, has the same quantity, its unit
contains one of the row's unit keywords and its source one of the row's source keywords
(case-insensitive; a row whose source is null matches only claims without a source). Recall is
the share of gold rows matched by some extracted claim; precision the share of extracted claims
that match some gold row (a headline and the body repeating one fact both count as correct).
`--show` lists every missed gold row and every extra claim.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from flows.core.boilerplate import boilerplate_stage
from flows.core.claims import extract_claims
from flows.core.dedup import doc_signatures
from flows.core.dedup_stage import dedup_stage
from flows.core.settings import Settings
from flows.core.text import normalise_documents
from flows.io.ingest import read_inbox
from flows.io.page_model import page_model_for

ROOT = Path(__file__).resolve().parents[1]
INBOX = ROOT / "data" / "inbox"
SEEDS = ROOT.parent / "shared" / "seeds"
INBOX_GOLD = ROOT / "tests" / "fixtures" / "claims_gold.json"
SEEDS_GOLD = ROOT / "tests" / "fixtures" / "seeds_claims_labels.json"
S = Settings()


# ---------------------------------------------------------------------------------------------
# Pipeline
# ---------------------------------------------------------------------------------------------


def inbox_raw(inbox: Path = INBOX) -> pl.DataFrame:
    """Read an inbox the way the `ingest` stage does (RAW_DOCS frame)."""
    return read_inbox(inbox, S.ingest).docs


def seeds_raw(folder: Path = SEEDS) -> pl.DataFrame:
    """Read the seed articles (one plain-text article a file) into a RAW_DOCS-like frame."""
    files = sorted(folder.glob("*.txt"))
    return pl.DataFrame(
        {
            "source_uri": [f.name for f in files],
            "raw_text": [f.read_text("utf-8") for f in files],
            "date_hint": [None] * len(files),
            "title_hint": [None] * len(files),
        },
        schema_overrides={"date_hint": pl.String, "title_hint": pl.String},
    )


def canonical_docs(raw: pl.DataFrame) -> pl.DataFrame:
    """Normalise, remove boilerplate and deduplicate `raw`; return the canonical documents."""
    docs = normalise_documents(raw.lazy()).collect()
    cleaned = boilerplate_stage(
        docs, S.minhash, S.boilerplate, page_model=page_model_for(S.boilerplate)
    ).documents
    sigs = doc_signatures(cleaned, S.minhash, S.dedup.short_tokens)
    out = dedup_stage(cleaned, sigs, S.minhash, S.dedup, S.containment).documents
    return out.filter(pl.col("is_canonical")).sort("source_uri")


def pipeline_claims(docs: pl.DataFrame) -> pl.DataFrame:
    """Run `extract_claims` on canonical `docs`; add each claim's `source_uri`."""
    found = extract_claims(docs, run_id="bench")
    return found.join(docs.select("doc_id", "source_uri"), on="doc_id", how="left")


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


def load_gold(path: Path) -> dict[str, Any]:
    """Load a gold file: `files` (the labelled documents) and `claims` (the gold rows)."""
    gold = json.loads(path.read_text("utf-8"))
    for row in gold["claims"]:
        if row["file"] not in gold["files"]:
            raise ValueError(f"{path.name}: claim of unlisted file {row['file']}: {row}")
    return gold


def _keywords(value: str | list[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value.lower()] if isinstance(value, str) else [v.lower() for v in value]


def matches(claim: dict[str, Any], gold: dict[str, Any]) -> bool:
    """Whether an extracted claim (a CLAIMS row with `source_uri`) matches a gold row."""
    if claim["source_uri"] != gold["file"]:
        return False
    if not math.isclose(claim["quantity"], gold["quantity"], rel_tol=1e-9):
        return False
    unit = (claim["unit"] or "").lower()
    units = _keywords(gold["unit"]) or []
    if not any(u in unit for u in units):
        return False
    sources = _keywords(gold["source"])
    if sources is None:
        return claim["source"] is None
    source = (claim["source"] or "").lower()
    return any(s in source for s in sources)


@dataclass
class Score:
    """Matched, missed and extra claims of one file or of a whole gold set."""

    gold: int = 0
    found: int = 0
    hit_gold: int = 0  # gold rows matched by at least one claim
    correct: int = 0  # claims matching at least one gold row
    qualifier_ok: int = 0  # matched gold rows whose qualifier some matching claim shares
    missed: list[dict[str, Any]] = field(default_factory=list)
    extras: list[dict[str, Any]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        """Share of gold rows found (1.0 when there are none)."""
        return self.hit_gold / self.gold if self.gold else 1.0

    @property
    def precision(self) -> float:
        """Share of extracted claims that are gold (1.0 when nothing was extracted)."""
        return self.correct / self.found if self.found else 1.0

    def add(self, other: Score) -> None:
        """Add another file's counts and lists to this score."""
        self.gold += other.gold
        self.found += other.found
        self.hit_gold += other.hit_gold
        self.correct += other.correct
        self.qualifier_ok += other.qualifier_ok
        self.missed += other.missed
        self.extras += other.extras


def score(claims: pl.DataFrame, gold: dict[str, Any]) -> tuple[Score, dict[str, Score]]:
    """Score extracted `claims` (with `source_uri`) against `gold`; overall and per file.

    Claims of documents that are not in `gold["files"]` are ignored.
    """
    rows = [c for c in claims.to_dicts() if c["source_uri"] in gold["files"]]
    per_file: dict[str, Score] = {}
    for name in gold["files"]:
        s = Score()
        file_gold = [g for g in gold["claims"] if g["file"] == name]
        file_rows = [c for c in rows if c["source_uri"] == name]
        s.gold, s.found = len(file_gold), len(file_rows)
        for g in file_gold:
            hits = [c for c in file_rows if matches(c, g)]
            if hits:
                s.hit_gold += 1
                s.qualifier_ok += any(c["qualifier"] == g["qualifier"] for c in hits)
            else:
                s.missed.append(g)
        for c in file_rows:
            if any(matches(c, g) for g in file_gold):
                s.correct += 1
            else:
                s.extras.append(c)
        per_file[name] = s
    total = Score()
    for s in per_file.values():
        total.add(s)
    return total, per_file


def describe_claim(c: dict[str, Any]) -> str:
    """One line for an extracted claim."""
    return (
        f"{c['source_uri']}: {c['quantity']:g} {c['qualifier']} unit={c['unit']!r} "
        f"source={c['source']!r} in {c['sentence'][:90]!r}"
    )


def describe_gold(g: dict[str, Any]) -> str:
    """One line for a gold row."""
    return f"{g['file']}: {g['quantity']:g} {g['qualifier']} unit~{g['unit']!r} src~{g['source']!r}"


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def _report(title: str, raw: pl.DataFrame, gold_path: Path, show: bool) -> None:
    gold = load_gold(gold_path)
    docs = canonical_docs(raw)
    canonical = set(docs["source_uri"])
    if canonical != set(gold["files"]):
        print(f"  note: canonical documents differ from the labelled files: {sorted(canonical)}")
    total, per_file = score(pipeline_claims(docs), gold)
    print(f"\n{title} ({gold_path.relative_to(ROOT)}: {total.gold} gold rows)")
    print(f"  {'file':44} {'gold':>4} {'found':>5} {'recall':>7} {'precision':>9}")
    for name, s in per_file.items():
        print(f"  {name:44} {s.gold:4d} {s.found:5d} {s.recall:7.3f} {s.precision:9.3f}")
    print(
        f"  {'overall':44} {total.gold:4d} {total.found:5d} {total.recall:7.3f} "
        f"{total.precision:9.3f}   qualifier right on {total.qualifier_ok}/{total.hit_gold} found"
    )
    if show:
        for g in total.missed:
            print("  missed:", describe_gold(g))
        for c in total.extras:
            print("  extra: ", describe_claim(c))


def main(argv: Sequence[str] | None = None) -> None:
    """Print per-file and overall precision and recall on both gold sets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="list missed and extra claims")
    args = parser.parse_args(argv)
    _report("Sample inbox", inbox_raw(), INBOX_GOLD, args.show)
    if SEEDS.is_dir():
        _report("Seeds", seeds_raw(), SEEDS_GOLD, args.show)
    else:
        print(f"\nSeeds: skipped, {SEEDS} not found")


if __name__ == "__main__":
    main()
