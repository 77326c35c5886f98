"""A hard syndication set from Reuters-21578: realistic outlet edits and hard negatives.

Each chosen Reuters story is republished by 2-5 synthetic outlets (kits from
`bench/dedup_quality.py`'s generator). Every copy is edited as outlets edit wire copy:
a share of words deleted, replaced or added (up to `max_word_edits`), character typos in some
copies, the last paragraph(s) dropped, a paragraph moved, a new headline, or cut to a
one-paragraph brief (a brief is a story of its own; briefs of one story are copies of each
other). Hard negatives: stories are drawn in groups of the same Reuters topic and day, so
that different stories on one subject, one day, and often one template ("qtr net", dividend
notices, crop reports) meet in one set.

Two splits, never mixed:
- `tune`: stories of `reut2-000` to `reut2-010`, generator seed 0, edits up to 7% of words;
- `heldout`: stories of `reut2-011` to `reut2-021`, seed 1, edits up to 10%, typos in more
  copies, two paragraphs dropped at times. Settings are chosen on `tune` only; `heldout` is
  reported, never tuned on.

Stories that have a real near-duplicate elsewhere in Reuters-21578 (exact word 5-gram Jaccard
>= 0.3 or containment >= 0.5: updates, corrections, repeats) are left out of the pool, so the
gold "different story" is never a real copy.
"""

from __future__ import annotations

import html
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from dedup_quality import assemble, kit_block, make_outlet, pairs_of, unwrap

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
REUTERS = CORPORA / "reuters21578"

SPLITS = {
    # split: (first file, last file, seed, max word-edit share, typo-copy share, max dropped)
    "tune": (0, 10, 0, 0.07, 0.3, 1),
    "heldout": (11, 21, 1, 0.10, 0.5, 2),
}


@dataclass
class Story:
    """One Reuters-21578 story."""

    sid: str
    day: str
    topic: str
    title: str
    paragraphs: list[str]


@dataclass
class Copy:
    """One generated page: its gold story, text, kit spans and edits."""

    uri: str
    outlet: str
    story: str  # gold label; `<sid>#brief` for a brief
    base: str  # the Reuters story id
    brief: bool
    text: str
    kit_spans: list[tuple[int, int]]
    edits: list[str] = field(default_factory=list)


_BLOCK = re.compile(r"<REUTERS[^>]*NEWID=\"(\d+)\"[^>]*>(.*?)</REUTERS>", re.DOTALL)


def _field(tag: str, content: str) -> str:
    m = re.search(rf"<{tag}>(.*?)</{tag}>", content, re.DOTALL)
    return html.unescape(m.group(1)).replace("\x03", "").strip() if m else ""


def paragraphs_of(body: str) -> list[str]:
    """Unwrap a Reuters body into paragraphs, without its `Reuter` sign-off."""
    return [p for p in unwrap(body).split("\n") if p.lower() not in ("reuter", "reuters")]


def read_stories(first: int, last: int) -> list[Story]:
    """Read the stories with a body of files reut2-<first>..<last>."""
    stories = []
    for k in range(first, last + 1):
        path = REUTERS / f"reut2-{k:03d}.sgm"
        for newid, content in _BLOCK.findall(path.read_text("latin-1")):
            body = _field("BODY", content)
            if not body:
                continue
            topics = re.findall(r"<D>(.*?)</D>", _field("TOPICS", content) or "")
            day = _field("DATE", content)[:11].strip()
            paragraphs = paragraphs_of(body)
            if paragraphs:
                title = " ".join(_field("TITLE", content).split()).title()
                stories.append(
                    Story(f"r{newid}", day, topics[0] if topics else "", title, paragraphs)
                )
    return stories


def words(text: str) -> list[str]:
    """Lowercased word tokens (letters and digits) for the pool's exact-Jaccard check."""
    return re.findall(r"[a-z0-9]+", text.lower())


def shingles(text: str, n: int = 5) -> set[str]:
    """Word n-grams of a text (the whole text when shorter)."""
    w = words(text)
    if len(w) < n:
        return {" ".join(w)} if w else set()
    return {" ".join(w[i : i + n]) for i in range(len(w) - n + 1)}


def isolated(stories: list[Story], all_texts: list[str]) -> list[Story]:
    """Keep stories with no real near-copy among `all_texts` (Jaccard >= 0.3, cont. >= 0.5)."""
    sets = [shingles(t) for t in all_texts]
    index: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for g in s:
            index[g].append(i)
    by_text: dict[str, int] = {}
    for i, t in enumerate(all_texts):
        by_text.setdefault(t, i)
    keep = []
    for story in stories:
        text = "\n".join(story.paragraphs)
        me = by_text.get(text)
        own = shingles(text)
        shared: dict[int, int] = defaultdict(int)
        for g in own:
            if len(index[g]) > 200:  # a template phrase: no evidence of a copy on its own
                continue
            for j in index[g]:
                if j != me:
                    shared[j] += 1
        ok = True
        for j, common in shared.items():
            other = len(sets[j])
            if common / (len(own) + other - common) >= 0.3 or common / min(len(own), other) >= 0.5:
                ok = False
                break
        if ok:
            keep.append(story)
    return keep


def choose(stories: list[Story], n: int, rng: random.Random) -> list[Story]:
    """Choose n stories, most in groups of 2-4 sharing a topic and a day (hard negatives)."""
    groups: dict[tuple[str, str], list[Story]] = defaultdict(list)
    for s in stories:
        if s.topic and len(words(" ".join(s.paragraphs))) >= 25:
            groups[(s.day, s.topic)].append(s)
    multi = [g for g in groups.values() if len(g) >= 2]
    rng.shuffle(multi)
    chosen: list[Story] = []
    for g in multi:
        if len(chosen) >= int(n * 0.7):
            break
        chosen += rng.sample(g, min(len(g), rng.randint(2, 4)))
    taken = {s.sid for s in chosen}
    rest = [s for s in stories if s.sid not in taken and len(words(" ".join(s.paragraphs))) >= 25]
    chosen += rng.sample(rest, max(0, n - len(chosen)))
    return chosen[:n]


def vocabulary(stories: list[Story]) -> list[str]:
    """Words used to replace or add words: the pool's own lowercase words of 3+ letters."""
    seen: dict[str, None] = {}
    for s in stories:
        for w in re.findall(r"\b[a-z]{3,}\b", " ".join(s.paragraphs)):
            seen.setdefault(w, None)
    return list(seen)


def edit_words(paragraphs: list[str], share: float, vocab: list[str], rng: random.Random):
    """Delete, replace or add about `share` of the words (never numbers), paragraph by paragraph."""
    out = []
    for p in paragraphs:
        toks = p.split(" ")
        new: list[str] = []
        for t in toks:
            if rng.random() < share and not any(c.isdigit() for c in t):
                kind = rng.randrange(3)
                if kind == 0:
                    continue
                if kind == 1:
                    new.append(rng.choice(vocab))
                    continue
                new += [t, rng.choice(vocab)]
                continue
            new.append(t)
        out.append(" ".join(new) if new else p)
    return out


def typos(paragraphs: list[str], rate: float, rng: random.Random) -> list[str]:
    """Make character typos (swap, drop, double or change a letter) at `rate` per letter."""
    out = []
    for p in paragraphs:
        chars = list(p)
        i = 0
        while i < len(chars):
            if chars[i].isalpha() and rng.random() < rate:
                kind = rng.randrange(4)
                if kind == 0 and i + 1 < len(chars) and chars[i + 1].isalpha():
                    chars[i], chars[i + 1] = chars[i + 1], chars[i]
                    i += 1
                elif kind == 1:
                    del chars[i]
                    continue
                elif kind == 2:
                    chars.insert(i, chars[i])
                    i += 1
                else:
                    chars[i] = rng.choice("abcdefghijklmnopqrstuvwxyz")
            i += 1
        out.append("".join(chars))
    return out


def retitle(title: str, vocab: list[str], rng: random.Random) -> str:
    """A new headline: some words of the old one plus others."""
    w = title.split()
    keep = [x for x in w if rng.random() < 0.6] or w[:1]
    extra = [rng.choice(vocab).capitalize() for _ in range(rng.randint(1, 3))]
    k = rng.randrange(len(keep) + 1)
    return " ".join(keep[:k] + extra + keep[k:])


def edit_copy(
    story: Story, split: str, vocab: list[str], rng: random.Random, brief: bool
) -> tuple[str, list[str], list[str]]:
    """Return (title, paragraphs, edits) of one outlet's copy of a story."""
    _, _, _, max_share, typo_share, max_drop = SPLITS[split]
    title, paragraphs, edits = story.title, list(story.paragraphs), []
    if brief:
        paragraphs = paragraphs[:1]
        edits.append("brief")
    elif rng.random() < 0.15:
        edits.append("verbatim")
        return title, paragraphs, edits
    else:
        if len(paragraphs) >= 3 and rng.random() < 0.35:
            drop = rng.randint(1, min(max_drop, len(paragraphs) - 2))
            paragraphs = paragraphs[:-drop]
            edits.append(f"dropped{drop}")
        if len(paragraphs) >= 3 and rng.random() < 0.2:
            p = paragraphs.pop(rng.randrange(1, len(paragraphs)))
            paragraphs.insert(rng.randrange(1, len(paragraphs) + 1), p)
            edits.append("moved")
    share = rng.uniform(0.0, max_share)
    paragraphs = edit_words(paragraphs, share, vocab, rng)
    edits.append(f"words{share:.2f}")
    if rng.random() < typo_share:
        paragraphs = typos(paragraphs, 0.01, rng)
        edits.append("typos")
    if rng.random() < 0.5:
        title = retitle(title, vocab, rng)
        edits.append("title")
    return title, paragraphs, edits


def build(split: str, n_stories: int, n_outlets: int = 8) -> list[Copy]:
    """Generate one split deterministically."""
    first, last, seed, *_ = SPLITS[split]
    rng = random.Random(seed)
    stories = read_stories(first, last)
    texts = ["\n".join(s.paragraphs) for s in stories]
    pool = isolated(stories, texts)
    chosen = choose(pool, n_stories, rng)
    vocab = vocabulary(chosen)
    outlets = [make_outlet(rng, k) for k in range(n_outlets)]
    copies = []
    for story in chosen:
        for outlet in rng.sample(outlets, rng.randint(2, 5)):
            # A brief is the lede alone, and a story of its own only when the lede is a small
            # part of the story (a third of its words at most): a lede that is most of a short
            # story is a copy with paragraphs dropped.
            lede = len(words(story.paragraphs[0])) / len(words(" ".join(story.paragraphs)))
            brief = lede <= 1 / 3 and rng.random() < 0.15
            title, paragraphs, edits = edit_copy(story, split, vocab, rng, brief)
            top = [kit_block(outlet, part, rng) for part in outlet.top]
            bottom = [kit_block(outlet, part, rng) for part in outlet.bottom]
            blocks = [(lines, True, rng.choice(["\n", "\n\n"])) for lines in top]
            blocks.append(([title], False, "\n\n"))
            blocks += [([p], False, "\n\n") for p in paragraphs]
            blocks += [(lines, True, rng.choice(["\n", "\n\n"])) for lines in bottom]
            text, spans = assemble(blocks)
            label = f"{story.sid}#brief" if brief else story.sid
            uri = f"{outlet.name}/{story.sid}{'-brief' if brief else ''}"
            copies.append(Copy(uri, outlet.name, label, story.sid, brief, text, spans, edits))
    return copies


# ---------------------------------------------------------------------------------------------
# Scoring the engine on a split
# ---------------------------------------------------------------------------------------------


def gold_text(copy: Copy) -> str:
    """The copy's text without its kit lines (the clean text a perfect cleaner would give)."""
    out, pos = [], 0
    for s, e in copy.kit_spans:
        out.append(copy.text[pos:s])
        pos = e
    out.append(copy.text[pos:])
    return "".join(out)


def jaccard5(a: str, b: str) -> float:
    """Exact word 5-gram Jaccard of two texts (this module's tokens)."""
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y) if x | y else 0.0


@dataclass
class Result:
    """Pair scores of one system on one split."""

    precision: float
    recall: float
    f1: float
    merges: int  # predicted clusters holding two different Reuters stories
    band_recall: float  # recall on gold pairs with exact word-5-gram Jaccard 0.5-0.7
    band_pairs: int
    seconds: float


def score(copies: list[Copy], labels: list[str], seconds: float) -> Result:
    """Score predicted cluster labels against the gold stories."""
    gold = pairs_of([c.story for c in copies])
    pred = pairs_of(labels)
    tp = len(gold & pred)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(gold) if gold else 1.0
    members: dict[str, set[str]] = defaultdict(set)
    for c, label in zip(copies, labels, strict=True):
        members[label].add(c.base)
    merges = sum(len(m) > 1 for m in members.values())
    texts = [gold_text(c) for c in copies]
    band = [(i, j) for i, j in gold if 0.5 <= jaccard5(texts[i], texts[j]) < 0.7]
    band_hits = sum(pair in pred for pair in band)
    return Result(
        p,
        r,
        2 * p * r / (p + r) if p + r else 0.0,
        merges,
        band_hits / len(band) if band else 1.0,
        len(band),
        seconds,
    )


# ---------------------------------------------------------------------------------------------
# The systems compared
# ---------------------------------------------------------------------------------------------


def run_newsdq(copies: list[Copy], settings) -> tuple[list[str], float]:
    """Normalise, remove boilerplate and deduplicate as the flow does; return cluster labels."""
    import time

    from dedup_quality import normalised

    from flows.core.boilerplate import boilerplate_stage
    from flows.core.dedup import doc_signatures
    from flows.core.dedup_stage import dedup_stage
    from flows.io.page_model import page_model_for

    docs = normalised([c.uri for c in copies], [c.text for c in copies])
    mh, dd = settings.minhash, settings.dedup
    model = page_model_for(settings.boilerplate)
    bp = boilerplate_stage(docs, mh, settings.boilerplate, page_model=model)
    started = time.perf_counter()
    # the flow's signatures and dedup stages (containment included), no history
    sigs = doc_signatures(bp.documents, mh, dd.short_tokens)
    out = dedup_stage(bp.documents, sigs, mh, dd, settings.containment).documents
    seconds = time.perf_counter() - started
    by_uri = dict(zip(out["source_uri"], out["cluster_id"], strict=True))
    # a page left with no text is quarantined by the flow: here a story of its own
    return [by_uri.get(c.uri, c.uri) for c in copies], seconds


def run_datasketch(copies: list[Copy], threshold: float = 0.5) -> tuple[list[str], float]:
    """The plain thing: datasketch MinHash of raw word 5-grams, MinHashLSH, components."""
    import time

    from datasketch import MinHash, MinHashLSH

    started = time.perf_counter()
    sets = [[g.encode() for g in shingles(c.text)] for c in copies]
    hashes = MinHash.bulk(sets, num_perm=128)
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    for i, m in enumerate(hashes):
        lsh.insert(str(i), m)
    parent = list(range(len(copies)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, m in enumerate(hashes):
        for j in lsh.query(m):
            a, b = find(i), find(int(j))
            parent[max(a, b)] = min(a, b)
    return [str(find(i)) for i in range(len(copies))], time.perf_counter() - started


def unaligned_engine():
    """The default settings without the word-alignment rule (`aligned_coverage` 0)."""
    from flows.core.settings import settings_from_dict

    return settings_from_dict({"dedup": {"aligned_coverage": 0.0}})


def previous_engine():
    """The settings newsdq used before this set existed (word 5-grams, Jaccard 0.7)."""
    from flows.core.settings import settings_from_dict

    return settings_from_dict(
        {
            "minhash": {"ngram": 5},
            "dedup": {
                "threshold": 0.7,
                "coverage": 1.0,
                "candidate_threshold": 0.5,
                "containment_min_ratio": 0.3,
                "numbers_min_shared": 0.0001,
                "aligned_coverage": 0.0,
            },
        }
    )


def candidate_recall(copies: list[Copy], settings) -> tuple[float, int]:
    """Share of gold pairs reaching the coverage rule (exact, on gold text) that share a bucket."""
    import numpy as np
    import polars as pl

    from flows.core.dedup import dedup_banding
    from flows.core.lsh import band_hashes
    from flows.core.minhash import signatures_and_word_counts

    texts = [gold_text(c) for c in copies]
    n = settings.minhash.ngram
    sets = [shingles(t, n) for t in texts]
    pairs = [
        (i, j)
        for i, j in pairs_of([c.story for c in copies])
        if len(sets[i] & sets[j]) >= settings.dedup.coverage * max(len(sets[i]), len(sets[j]))
    ]
    matrix, _ = signatures_and_word_counts(pl.Series(texts), settings.minhash)
    hashes = band_hashes(matrix, dedup_banding(settings.minhash, settings.dedup))
    found = sum(bool(np.any(hashes[i] == hashes[j])) for i, j in pairs)
    return found / len(pairs) if pairs else 1.0, len(pairs)


def report(n_stories: int) -> None:
    """Print the hard syndication table: both splits, newsdq, its previous engine, datasketch."""
    from flows.core.settings import Settings

    if not REUTERS.is_dir():
        print(f"skipped: {REUTERS} is absent (the stories come from it)")
        return
    settings = Settings()
    print(
        f"  {'split':<9}{'system':<34}{'pages':>6}{'P':>7}{'R':>7}{'F1':>7}{'merges':>8}"
        f"{'R J5 .5-.7':>12}{'pairs':>7}{'dedup s':>9}"
    )
    for split in SPLITS:
        copies = build(split, n_stories)
        systems = [
            ("newsdq", *run_newsdq(copies, settings)),
            ("newsdq without aligned words", *run_newsdq(copies, unaligned_engine())),
            ("newsdq, previous engine (w5, J .7)", *run_newsdq(copies, previous_engine())),
            ("datasketch w5 LSH 0.5 (raw text)", *run_datasketch(copies)),
        ]
        for name, labels, seconds in systems:
            r = score(copies, labels, seconds)
            print(
                f"  {split:<9}{name:<34}{len(copies):6d}{r.precision:7.3f}{r.recall:7.3f}"
                f"{r.f1:7.3f}{r.merges:8d}{r.band_recall:12.3f}{r.band_pairs:7d}{seconds:9.2f}"
            )
        share, pairs = candidate_recall(copies, settings)
        print(
            f"  {split:<9}LSH candidate recall of gold pairs at the coverage rule: {share:.4f}"
            f" of {pairs}"
        )


# ---------------------------------------------------------------------------------------------
# The whole pipeline on an inbox of both splits
# ---------------------------------------------------------------------------------------------


def write_inbox(folder: Path, n_stories: int) -> int:
    """Write both splits' pages (`n_stories` stories each) as text files; return the count."""
    n = 0
    for split in SPLITS:
        for copy in build(split, n_stories):
            path = folder / split / f"{copy.uri}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(copy.text, encoding="utf-8")
            n += 1
    return n


def run_inbox(n_stories: int, work: Path) -> int:
    """Run `newsdq run` once on the syndication inbox; print its outcome and quarantine reasons.

    Returns 1 when a document was quarantined for a check of a column the pipeline derives
    (a pipeline invariant, `checks/models.py`), else 0. Broken invariants that were repaired
    are printed too: each is a bug of the pipeline, even when no article was lost.
    """
    import json
    import time

    from flows.cli import main as cli

    inbox, out = work / "inbox", work / "out"
    started = time.perf_counter()
    pages = write_inbox(inbox, n_stories)
    print(f"inbox: {pages} pages ({n_stories} stories per split) in {inbox}, "
          f"written in {time.perf_counter() - started:.0f}s")  # fmt: skip
    started = time.perf_counter()
    code = cli(["run", "--inbox", str(inbox), "--out", str(out), "--no-progress"])
    seconds = time.perf_counter() - started
    if code:
        print(f"newsdq run failed with exit code {code}")
        return code
    summary = json.loads(next((out / "runs").glob("*/summary.json")).read_text("utf-8"))
    print(f"newsdq run: {seconds:.0f}s, verdict {summary['verdict']}")
    print("counts: " + ", ".join(f"{k} {v}" for k, v in summary["counts"].items()))
    print("quarantine by reason:")
    for reason, n in summary["quarantine_by_reason"].items():
        print(f"  {reason:<50}{n:>7}")
    broken = summary.get("pipeline_invariants", [])
    print("pipeline invariants broken:" + ("" if broken else " none"))
    for b in broken:
        print(
            f"  {b['table']}.{b['check']}: {b['rows']} rows, {b['repaired']} repaired, "
            f"{b['quarantined']} quarantined, e.g. {b['doc_ids'][:3]}"
        )
    lost = sum(b["quarantined"] for b in broken if b["table"] in ("documents", "articles"))
    print(f"documents quarantined for a derived-column check: {lost}")
    return 1 if lost else 0


if __name__ == "__main__":
    import argparse
    import sys
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=400, help="stories per split")
    parser.add_argument(
        "--run-inbox",
        action="store_true",
        help="write both splits as an inbox and run the whole pipeline on it once "
        "(--stories 4900: 34,173 pages)",
    )
    parser.add_argument("--work", type=Path, default=None, help="folder for inbox and output")
    args = parser.parse_args()
    if not REUTERS.is_dir():
        print(f"skipped: {REUTERS} is absent (the stories come from it)")
        sys.exit(0)
    if not args.run_inbox:
        report(args.stories)
        sys.exit(0)
    work = args.work or Path(tempfile.mkdtemp(prefix="newsdq-syndication-"))
    sys.exit(run_inbox(args.stories, work))
