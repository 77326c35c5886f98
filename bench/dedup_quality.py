"""Quality of boilerplate removal and near-duplicate marking, measured against gold labels.

Usage::

    .venv/bin/python bench/dedup_quality.py [--quick]

Every number printed is computed in this run from the corpora under ../shared/corpora (read
relative to the repository root); a part whose corpus is absent is skipped with a message.

Parts:

1. Real duplicates (BBC News 2,225 articles; Reuters-21578 `<BODY>` texts). Gold: connected
   components of the pairs whose normalised texts have EXACT word-5-gram Jaccard >= 0.8 (the
   shingles newsdq's MinHash estimates, as Python sets; candidates from an inverted index on
   prefix shingles, which is exact for a Jaccard threshold). The newsdq pipeline
   (normalise -> remove_boilerplate -> deduplicate) and a naive baseline (deduplicate on the
   normalised text, no boilerplate removal) are scored by duplicate-pair precision / recall /
   F1 and the adjusted Rand index of the clusters.
2. Syndication set: real BBC stories republished by synthetic outlets, each with its own
   generated boilerplate kit, with edits, truncations and one-paragraph briefs (all from
   random.Random(0)). Gold: same story = duplicates; a brief is a story of its own.
3. Boilerplate against gold main text (news_extraction big5: 270 pages of 9 sites): all
   visible text of each page (trafilatura's html2txt cleaning), boilerplate removed over all
   pages together, and each page line labelled content when it occurs in the gold text.
4. Hard syndication set (bench/syndication_hard.py): Reuters-21578 stories republished with
   realistic edits, hard negatives of the same topic and day; a tune split and a held-out
   split; newsdq, newsdq's previous engine and plain datasketch MinHashLSH.
"""

from __future__ import annotations

import argparse
import html
import math
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import xxhash

from flows.core.boilerplate import (
    BoilerplateHistory,
    boilerplate_stage,
    frame_lookup,
    passage_banding,
    passage_index_rows,
    passage_keys_schema,
    remove_boilerplate,
)
from flows.core.dedup import deduplicate, doc_signatures
from flows.core.dedup_stage import dedup_stage
from flows.core.minhash import word_shingles
from flows.core.passages import split_passages
from flows.core.settings import Settings
from flows.core.text import fold_series, normalise_documents, normalise_text
from flows.io.index import boilerplate_rows
from flows.io.page_model import page_model_for

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
S = Settings()
GOLD_THRESHOLD = 0.8  # exact word-5-gram Jaccard at which two real articles are duplicates
SYN_TARGET_F1 = 0.95  # the syndication target, printed next to the measured value


# ---------------------------------------------------------------------------------------------
# Reading and running the pipeline
# ---------------------------------------------------------------------------------------------


def read_text(path: Path) -> str:
    """Read a file as UTF-8, falling back to latin-1 (which never fails)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def normalised(uris: Sequence[str], raw_texts: Sequence[str]) -> pl.DataFrame:
    """Run newsdq's normalisation on (source_uri, raw text) records; return the frame."""
    raw = pl.DataFrame(
        {
            "source_uri": list(uris),
            "raw_text": list(raw_texts),
            "date_hint": [None] * len(uris),
            "title_hint": [None] * len(uris),
        },
        schema_overrides={"date_hint": pl.String, "title_hint": pl.String},
    )
    return normalise_documents(raw.lazy()).collect()


def clean(docs: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Remove boilerplate as the flow does (once per distinct doc_id); return docs and passages."""
    unique = docs.unique("doc_id", keep="first", maintain_order=True)
    cleaned, passages = remove_boilerplate(
        unique, S.minhash, S.boilerplate, page_model=page_model_for(S.boilerplate)
    )
    cols = ["doc_id", "clean_text", "boilerplate_ratio"]
    return docs.join(cleaned.select(cols), on="doc_id", how="left"), passages


def cluster_labels(docs: pl.DataFrame) -> list[str]:
    """Deduplicate `docs` (with `clean_text`, `boilerplate_ratio`); return cluster ids in order.

    As the flow's signatures and dedup stages do, with no history.
    """
    sigs = doc_signatures(docs, S.minhash, S.dedup.short_tokens)
    out = dedup_stage(docs, sigs, S.minhash, S.dedup, S.containment).documents
    by_uri = dict(zip(out["source_uri"], out["cluster_id"], strict=True))
    return [by_uri[u] for u in docs["source_uri"]]


def run_newsdq(docs: pl.DataFrame) -> tuple[list[str], pl.DataFrame, pl.DataFrame]:
    """Run remove_boilerplate then deduplicate; return labels, cleaned docs, passages."""
    cleaned, passages = clean(docs)
    return cluster_labels(cleaned), cleaned, passages


def run_naive(docs: pl.DataFrame) -> list[str]:
    """Deduplicate the normalised text itself (no boilerplate removal)."""
    naive = docs.with_columns(clean_text=pl.col("text"), boilerplate_ratio=pl.lit(0.0))
    return cluster_labels(naive)


# ---------------------------------------------------------------------------------------------
# Exact Jaccard gold and pair metrics
# ---------------------------------------------------------------------------------------------


def shingle_sets(texts: Sequence[str]) -> list[frozenset[int]]:
    """Return each text's word 5-gram set (newsdq's folding and shingles), hashed to 64 bits."""
    folded = fold_series(pl.Series(list(texts), dtype=pl.String)).to_list()
    return [
        frozenset(xxhash.xxh3_64_intdigest(s) for s in word_shingles(f, S.minhash.ngram))
        for f in folded
    ]


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """Exact Jaccard of two sets (0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def containment(a: frozenset[int], b: frozenset[int]) -> float:
    """Share of the smaller set's shingles found in the other (0 when either is empty)."""
    small = min(len(a), len(b))
    return len(a & b) / small if small else 0.0


def exact_pairs(sets: Sequence[frozenset[int]], threshold: float) -> list[tuple[int, int, float]]:
    """Return all (i, j, jaccard) with exact Jaccard >= threshold.

    Prefix filtering: with shingles ordered rarest first, two sets reaching `threshold` share a
    shingle within their first |s| - ceil(threshold * |s|) + 1 shingles, so an inverted index
    on those prefixes finds every such pair (common shingles rarely enter a prefix); each
    candidate is then verified exactly.
    """
    freq: Counter[int] = Counter(g for s in sets for g in s)
    index: dict[int, list[int]] = defaultdict(list)
    found = []
    order = sorted(range(len(sets)), key=lambda i: len(sets[i]))
    for i in order:
        s = sets[i]
        if not s:
            continue
        ranked = sorted(s, key=lambda g: (freq[g], g))
        prefix = ranked[: len(s) - math.ceil(threshold * len(s) - 1e-9) + 1]
        seen: set[int] = set()
        for g in prefix:
            for j in index[g]:
                if j in seen or len(sets[j]) < threshold * len(s):
                    continue
                seen.add(j)
                sim = jaccard(s, sets[j])
                if sim >= threshold:
                    found.append((min(i, j), max(i, j), sim))
            index[g].append(i)
    return sorted(found)


def components(n: int, pairs: Iterable[tuple[int, int, float]]) -> list[int]:
    """Return the connected-component label (smallest member) of each of n items."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j, _ in pairs:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    return [find(i) for i in range(n)]


def comb2(k: int) -> int:
    """k choose 2."""
    return k * (k - 1) // 2


@dataclass
class Scores:
    """Pair counting scores of a clustering against gold clusters."""

    precision: float
    recall: float
    f1: float
    ari: float
    pred_pairs: int
    gold_pairs: int
    true_pairs: int
    clusters: int  # predicted clusters with more than one member


def score(pred: Sequence[object], gold: Sequence[object]) -> Scores:
    """Score predicted against gold labels from their contingency table (pairs and ARI)."""
    n = len(pred)
    cells = Counter(zip(pred, gold, strict=True))
    tp = sum(comb2(c) for c in cells.values())
    pred_sizes = Counter(pred)
    a = sum(comb2(c) for c in pred_sizes.values())
    b = sum(comb2(c) for c in Counter(gold).values())
    p = tp / a if a else 1.0
    r = tp / b if b else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    expected = a * b / comb2(n) if n > 1 else 0.0
    top = (a + b) / 2
    ari = (tp - expected) / (top - expected) if top != expected else 1.0
    multi = sum(1 for c in pred_sizes.values() if c > 1)
    return Scores(p, r, f1, ari, a, b, tp, multi)


def pairs_of(labels: Sequence[object]) -> set[tuple[int, int]]:
    """Return all index pairs (i < j) that share a label."""
    groups: dict[object, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[label].append(i)
    return {
        (m[x], m[y]) for m in groups.values() for x in range(len(m)) for y in range(x + 1, len(m))
    }


def print_scores(rows: Sequence[tuple[str, Scores]]) -> None:
    """Print a compact table of scores."""
    print(
        f"  {'system':<28}{'P':>7}{'R':>7}{'F1':>7}{'ARI':>7}"
        f"{'pred pairs':>12}{'gold pairs':>12}{'TP':>8}{'clusters>1':>12}"
    )
    for name, s in rows:
        print(
            f"  {name:<28}{s.precision:7.3f}{s.recall:7.3f}{s.f1:7.3f}{s.ari:7.3f}"
            f"{s.pred_pairs:12d}{s.gold_pairs:12d}{s.true_pairs:8d}{s.clusters:12d}"
        )


def short(text: str, width: int = 90) -> str:
    """One-line preview of a text."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


# ---------------------------------------------------------------------------------------------
# Part 1: real duplicates
# ---------------------------------------------------------------------------------------------


def bbc_files(quick: bool) -> list[Path]:
    """Return the BBC article files (the first 80 of each topic with --quick)."""
    root = CORPORA / "bbc_news" / "bbc"
    files = []
    for topic in sorted(p for p in root.iterdir() if p.is_dir()):
        found = sorted(topic.glob("[0-9][0-9][0-9].txt"))
        files += found[:80] if quick else found
    return files


def reuters_bodies(quick: bool) -> tuple[list[str], list[str]]:
    """Return (uris, texts) of Reuters-21578 `<BODY>` texts (latin-1), paragraphs unwrapped.

    The corpus is hard-wrapped at ~70 columns with paragraphs indented; lines are re-joined
    into paragraphs (one per line, as a scraper would give them), since newsdq's passages are
    lines. The trailing `Reuter` sign-off and the `&#3;` end mark are kept as they are.
    """
    folder = CORPORA / "reuters21578"
    block = re.compile(r'<REUTERS[^>]*NEWID="(\d+)"[^>]*>(.*?)</REUTERS>', re.DOTALL)
    body = re.compile(r"<BODY>(.*?)</BODY>", re.DOTALL)
    uris, texts = [], []
    files = sorted(folder.glob("reut2-*.sgm"))
    for path in files[:2] if quick else files:
        for newid, content in block.findall(path.read_text("latin-1")):
            m = body.search(content)
            if not m:
                continue
            text = html.unescape(m.group(1)).replace("\x03", "").strip()
            if text:
                uris.append(f"reuters/{newid}")
                texts.append(unwrap(text))
    return uris, texts


def unwrap(text: str) -> str:
    """Join hard-wrapped lines; an indented line (or a blank line) starts a new paragraph."""
    paragraphs: list[str] = []
    for line in text.split("\n"):
        if not paragraphs or line.startswith(" ") or not line.strip():
            paragraphs.append(line.strip())
        else:
            paragraphs[-1] = f"{paragraphs[-1]} {line.strip()}".strip()
    return "\n".join(p for p in paragraphs if p)


def real_duplicates(name: str, uris: list[str], raw: list[str]) -> None:
    """Score newsdq and the naive baseline on one real corpus with an exact-Jaccard gold."""
    t0 = time.perf_counter()
    docs = normalised(uris, raw)
    sets = shingle_sets(docs["text"].to_list())
    gold_pairs = exact_pairs(sets, GOLD_THRESHOLD)
    gold = components(len(sets), gold_pairs)
    t_gold = time.perf_counter() - t0
    t0 = time.perf_counter()
    labels, cleaned, passages = run_newsdq(docs)
    t_newsdq = time.perf_counter() - t0
    naive = run_naive(docs)
    identical = sum(1 for _, _, j in gold_pairs if j == 1.0)
    sizes = Counter(Counter(gold).values())
    print(
        f"\n[{name}] {len(uris)} documents, {docs['doc_id'].n_unique()} distinct texts; gold: "
        f"{len(gold_pairs)} pairs with Jaccard >= {GOLD_THRESHOLD} ({identical} at 1.0), "
        f"{sum(v for k, v in sizes.items() if k > 1)} groups (sizes {dict(sorted(sizes.items()))}"
        f"; {sum(comb2(k) * v for k, v in sizes.items())} pairs within groups)"
    )
    removed = cleaned["boilerplate_ratio"]
    print(
        f"  boilerplate removed by newsdq: {passages.height} passages, "
        f"mean ratio {removed.mean():.4f}, docs with any removed {int((removed > 0).sum())}, "
        f"docs emptied {int((cleaned['clean_text'].str.len_chars() == 0).sum())} "
        "(singletons here; the flow quarantines them)"
    )
    print_scores([("newsdq", score(labels, gold)), ("naive (no boilerplate)", score(naive, gold))])
    print(f"  time: gold {t_gold:.1f}s, newsdq {t_newsdq:.1f}s")
    explain_errors(docs, cleaned, passages, labels, gold, sets)
    aligned_additions(cleaned)


def aligned_additions(cleaned: pl.DataFrame, examples: int = 20) -> None:
    """Print the pairs the word-alignment rule (`[dedup] aligned_coverage`) adds.

    No gold says whether they tell one story: read them (docs/design.md, dedup: on
    2026-12-03 the 7 Reuters-21578 ones were one story told twice).
    """
    import dataclasses

    off = dataclasses.replace(S.dedup, aligned_coverage=0.0)
    _, _, with_rule = deduplicate(cleaned, S.minhash, S.dedup)
    _, _, without = deduplicate(cleaned, S.minhash, off)
    added = sorted(
        set(zip(with_rule["left"], with_rule["right"], strict=True))
        - set(zip(without["left"], without["right"], strict=True))
    )
    print(f"  pairs [dedup] aligned_coverage = {S.dedup.aligned_coverage} adds: {len(added)}")
    text = dict(zip(cleaned["doc_id"], cleaned["clean_text"], strict=True))
    uri = dict(zip(cleaned["doc_id"], cleaned["source_uri"], strict=True))
    for left, right in random.Random(0).sample(added, min(examples, len(added))):
        pair = f"{short(text[left], 60)!r} ~ {short(text[right], 60)!r}"
        print(f"    {uri[left]} ~ {uri[right]}: {pair}")


def explain_errors(
    docs: pl.DataFrame,
    cleaned: pl.DataFrame,
    passages: pl.DataFrame,
    labels: list[str],
    gold: list[int],
    sets: list[frozenset[int]],
) -> None:
    """Print the missed and the false pairs of newsdq with their exact Jaccard (text / clean)."""
    pred, true = pairs_of(labels), pairs_of(gold)
    clean_sets = shingle_sets(cleaned["clean_text"].fill_null("").to_list())
    uris = docs["source_uri"].to_list()
    texts = docs["text"].to_list()
    removed = Counter(passages["doc_id"].to_list())
    ids = docs["doc_id"].to_list()
    for kind, chosen in (("missed", true - pred), ("false", pred - true)):
        if not chosen:
            print(f"  {kind} pairs: none")
            continue
        sims = sorted(
            ((jaccard(sets[i], sets[j]), jaccard(clean_sets[i], clean_sets[j]), i, j))
            for i, j in chosen
        )
        text_band = Counter(f"{min(int(t * 10), 9) / 10:.1f}" for t, _, _, _ in sims)
        clean_band = Counter(f"{min(int(c * 10), 9) / 10:.1f}" for _, c, _, _ in sims)
        print(
            f"  {kind} pairs: {len(chosen)}; exact Jaccard by decile: of texts "
            f"{dict(sorted(text_band.items()))}, of clean texts {dict(sorted(clean_band.items()))}"
        )
        if kind == "false":
            # newsdq also merges truncated copies (the shorter text's shingles >= containment
            # inside the longer one's), which a Jaccard-only gold counts as false.
            contained = sum(
                1
                for i, j in chosen
                if containment(clean_sets[i], clean_sets[j]) >= S.dedup.containment
            )
            print(
                f"    of which {contained} have exact containment >= {S.dedup.containment} on "
                "clean text (truncated or extended copies by newsdq's definition), "
                f"{len(chosen) - contained} not"
            )
        picks = sims[:2] + sims[-1:] if kind == "missed" else sims[-2:] + sims[:1]
        for full, cj, i, j in dict.fromkeys(picks):
            print(
                f"    J(text)={full:.2f} J(clean)={cj:.2f} passages removed {removed[ids[i]]}/"
                f"{removed[ids[j]]}  {uris[i]} ~ {uris[j]}: {short(texts[i], 60)!r}"
            )


def part_real(quick: bool) -> None:
    """Part 1: BBC News and Reuters-21578 real duplicates."""
    print("\n=== 1. Real duplicates (gold: exact word-5-gram Jaccard >= 0.8, components) ===")
    if (CORPORA / "bbc_news" / "bbc").is_dir():
        files = bbc_files(quick)
        uris = [f"{p.parent.name}/{p.name}" for p in files]
        real_duplicates("bbc_news", uris, [read_text(p) for p in files])
    else:
        print(f"[bbc_news] skipped: {CORPORA / 'bbc_news' / 'bbc'} is absent")
    if (CORPORA / "reuters21578").is_dir():
        uris, texts = reuters_bodies(quick)
        real_duplicates("reuters21578", uris, texts)
    else:
        print(f"[reuters21578] skipped: {CORPORA / 'reuters21578'} is absent")


# ---------------------------------------------------------------------------------------------
# Part 2: syndication set
# ---------------------------------------------------------------------------------------------

_VOCAB_TEXT = (
    "able about across after again almost along also always around away back before begin "
    "behind below best better between both bring build busy call came care carry clear close "
    "come common daily deliver early easy enough even every fair far fast feel find first "
    "follow free fresh full gather give good great group half hand happen help here hold home "
    "hope idea into join just keep kind know last later learn leave less light like little live "
    "local long look made make many matter mean more most move much need never next note offer "
    "often open order other own part pass place plan point press quick quite read ready real "
    "reason receive remain return right round same save see send share short show side simple "
    "since small soon sound space stand start stay step still support sure take team tell than "
    "thank thing think those through time today together toward turn under until update useful "
    "visit wait want watch way week well while whole wide work write year young"
)
VOCAB = _VOCAB_TEXT.split()
_SYLLABLES_TEXT = "bar vel dun mor kes ash tan wick ford lin har bro sel mar den hol rey cal"
SYLLABLES = _SYLLABLES_TEXT.split()
MASTHEADS = ("Courier", "Ledger", "Herald", "Gazette", "Chronicle", "Post", "Examiner", "Observer")
KIT_PARTS = ("nav", "photo", "appeal", "comment", "newsletter")


@dataclass
class Outlet:
    """A synthetic outlet: its name, boilerplate kit (parts as sentence lists) and layout."""

    name: str
    kit: dict[str, list[str]]
    top: list[str]
    bottom: list[str]
    photographers: list[str]


@dataclass
class Page:
    """One generated page with its gold story and the spans of kit text in it."""

    uri: str
    outlet: str
    story: str  # gold label: a story id, `<id>#brief` for a brief
    brief: bool
    text: str
    kit_spans: list[tuple[int, int]]
    edits: list[str] = field(default_factory=list)
    kept: float = 1.0  # share of the story body's characters kept after truncation


def sentence(rng: random.Random, lo: int, hi: int) -> str:
    """A capitalised sentence of lo..hi vocabulary words."""
    words = [rng.choice(VOCAB) for _ in range(rng.randint(lo, hi))]
    return " ".join(words).capitalize() + "."


def make_outlet(rng: random.Random, k: int) -> Outlet:
    """Generate outlet k: name, kit of five parts from the neutral vocabulary, and layout."""
    name = f"The {''.join(rng.sample(SYLLABLES, 2)).capitalize()} {MASTHEADS[k]}"
    kit = {
        "nav": [" | ".join(w.capitalize() for w in rng.sample(VOCAB, rng.randint(7, 9)))],
        "photo": [],  # the photographer is chosen per page
        "appeal": [f"{name} {sentence(rng, 9, 14).lower()}"]
        + [sentence(rng, 9, 16) for _ in range(rng.randint(2, 3))],
        "comment": [
            " ".join(w.capitalize() for w in rng.sample(VOCAB, 3)),
            sentence(rng, 8, 12),
            " ".join(w.capitalize() for w in rng.sample(VOCAB, 4)),
        ],
        "newsletter": [sentence(rng, 10, 15) for _ in range(2)],
    }
    top = ["nav"] + [p for p in ("photo", "appeal") if rng.random() < 0.3]
    bottom = [p for p in KIT_PARTS[1:] if p not in top]
    photographers = [
        f"{rng.choice(SYLLABLES).capitalize()}{rng.choice(SYLLABLES)} "
        f"{rng.choice(SYLLABLES).capitalize()}{rng.choice(SYLLABLES)}"
        for _ in range(3)
    ]
    return Outlet(name, kit, top, bottom, photographers)


def kit_block(outlet: Outlet, part: str, rng: random.Random) -> list[str]:
    """The lines of one kit part as a scraper sees it on one page (joined or split)."""
    if part == "photo":
        return [f"Photograph: {rng.choice(outlet.photographers)} for {outlet.name}"]
    sentences = outlet.kit[part]
    if len(sentences) > 1 and rng.random() < 0.5:
        return [" ".join(sentences)]
    return list(sentences)


def vary(lines: list[str], rng: random.Random) -> list[str]:
    """Drop or change one word of one line (a scraper's or a template's small difference)."""
    i = rng.randrange(len(lines))
    words = lines[i].split(" ")
    j = rng.randrange(len(words))
    if rng.random() < 0.5 and len(words) > 2:
        del words[j]
    else:
        words[j] = rng.choice(VOCAB)
    return [*lines[:i], " ".join(words), *lines[i + 1 :]]


def typos(paragraphs: list[str], rng: random.Random, k: int) -> list[str]:
    """Swap two adjacent letters inside k random words of the paragraphs."""
    out = list(paragraphs)
    for _ in range(k):
        p = rng.randrange(len(out))
        words = out[p].split(" ")
        long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
        if not long_words:
            continue
        i = rng.choice(long_words)
        w = words[i]
        c = rng.randrange(1, len(w) - 2)
        words[i] = w[:c] + w[c + 1] + w[c] + w[c + 2 :]
        out[p] = " ".join(words)
    return out


def reword(paragraphs: list[str], rng: random.Random) -> list[str]:
    """Reword one sentence: change 2-3 words and swap two neighbouring words."""
    out = list(paragraphs)
    p = rng.randrange(len(out))
    sentences = re.split(r"(?<=[.!?]) ", out[p])
    s = rng.randrange(len(sentences))
    words = sentences[s].split(" ")
    if len(words) >= 6:
        for i in rng.sample(range(1, len(words) - 1), rng.randint(2, 3)):
            words[i] = rng.choice(VOCAB)
        i = rng.randrange(1, len(words) - 2)
        words[i], words[i + 1] = words[i + 1], words[i]
    sentences[s] = " ".join(words)
    out[p] = " ".join(sentences)
    return out


def retitle(title: str, rng: random.Random) -> str:
    """Change a headline: replace one word and drop or add another."""
    words = title.split(" ")
    words[rng.randrange(len(words))] = rng.choice(VOCAB)
    if len(words) > 3 and rng.random() < 0.5:
        del words[rng.randrange(len(words))]
    else:
        words.insert(rng.randrange(len(words) + 1), rng.choice(VOCAB))
    return " ".join(words)


def assemble(blocks: list[tuple[list[str], bool, str]]) -> tuple[str, list[tuple[int, int]]]:
    """Join blocks (lines, is_kit, separator before the block) into a page; return kit spans."""
    text, spans = "", []
    for lines, is_kit, sep in blocks:
        if text:
            text += sep
        for n, line in enumerate(lines):
            if n:
                text += "\n"
            if is_kit:
                spans.append((len(text), len(text) + len(line)))
            text += line
    return text, spans


def make_page(
    outlet: Outlet, title: str, paragraphs: list[str], brief: bool, rng: random.Random
) -> tuple[str, list[tuple[int, int]], list[str], float]:
    """Build one outlet's page of a story: kit on top, title, (edited) body, kit below.

    Returns the text, the kit spans, the edits made and the share of the body kept.
    """
    edits, kept = [], 1.0
    if brief:
        paragraphs = paragraphs[:1]
    else:
        if len(paragraphs) >= 4 and rng.random() < 0.3:
            full = sum(map(len, paragraphs))
            paragraphs = paragraphs[: len(paragraphs) - rng.randint(1, min(3, len(paragraphs) - 3))]
            kept = sum(map(len, paragraphs)) / full
            edits.append("truncated")
        if rng.random() < 0.5:
            paragraphs = reword(paragraphs, rng)
            edits.append("reworded")
    if rng.random() < 0.5:
        paragraphs = typos(paragraphs, rng, rng.randint(1, 4))
        edits.append("typos")
    if rng.random() < 0.4:
        title = retitle(title, rng)
        edits.append("title")
    top = [kit_block(outlet, part, rng) for part in outlet.top]
    bottom = [kit_block(outlet, part, rng) for part in outlet.bottom]
    if rng.random() < 0.2:
        k = rng.randrange(len(top) + len(bottom))
        if k < len(top):
            top[k] = vary(top[k], rng)
        else:
            bottom[k - len(top)] = vary(bottom[k - len(top)], rng)
        edits.append("kit-varied")
    seps = ["\n", "\n\n"]
    blocks = [(lines, True, rng.choice(seps)) for lines in top]
    blocks.append(([title], False, "\n\n"))
    blocks += [([p], False, "\n\n") for p in paragraphs]
    blocks += [(lines, True, rng.choice(seps)) for lines in bottom]
    text, spans = assemble(blocks)
    return text, spans, edits, kept


def bbc_stories(n: int, rng: random.Random) -> list[tuple[str, str, list[str]]]:
    """Pick n BBC stories with no other BBC article at word-5-gram Jaccard >= 0.5.

    Returns (story id, title, paragraphs), texts already in newsdq's normal form.
    """
    files = bbc_files(quick=False)
    texts = normalised([str(p) for p in files], [read_text(p) for p in files])["text"].to_list()
    near = exact_pairs(shingle_sets(texts), 0.5)
    taken = {i for i, _, _ in near} | {j for _, j, _ in near}
    stories = []
    for i, text in enumerate(texts):
        parts = [p.strip() for p in text.split("\n\n") if p.strip()]
        if i not in taken and len(parts) >= 4 and "\n" not in "".join(parts):
            stories.append((f"{files[i].parent.name}-{files[i].stem}", parts[0], parts[1:]))
    return rng.sample(stories, n)


def syndication_set(n_stories: int, n_outlets: int = 8) -> tuple[list[Page], list[Outlet]]:
    """Generate the syndication set deterministically (random.Random(0))."""
    rng = random.Random(0)
    outlets = [make_outlet(rng, k) for k in range(n_outlets)]
    pages = []
    for sid, title, paragraphs in bbc_stories(n_stories, rng):
        for outlet in rng.sample(outlets, rng.randint(2, 5)):
            brief = rng.random() < 0.2
            text, spans, edits, kept = make_page(outlet, title, paragraphs, brief, rng)
            story = f"{sid}#brief" if brief else sid
            uri = f"{outlet.name}/{sid}{'-brief' if brief else ''}"
            pages.append(Page(uri, outlet.name, story, brief, text, spans, edits, kept))
    return pages, outlets


def nonspace_mask(text: str, spans: Iterable[tuple[int, int]]) -> list[bool]:
    """Per character of text: inside one of the spans and not white space."""
    mask = [False] * len(text)
    for s, e in spans:
        for i in range(s, e):
            mask[i] = not text[i].isspace()
    return mask


def removed_spans(passages: pl.DataFrame) -> dict[str, list[tuple[int, int]]]:
    """Map doc_id to its removed (start, end) spans."""
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for d, s, e in passages.select("doc_id", "start", "end").iter_rows():
        spans[d].append((s, e))
    return spans


def syndication_removal(pages: list[Page], docs: pl.DataFrame, passages: pl.DataFrame) -> None:
    """Print kit-removal recall/precision over non-space characters (all pages, briefs, full)."""
    removed = removed_spans(passages)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for page, doc_id in zip(pages, docs["doc_id"], strict=True):
        kit = nonspace_mask(page.text, page.kit_spans)
        cut = nonspace_mask(page.text, removed.get(doc_id, []))
        story = nonspace_mask(page.text, [(0, len(page.text))])
        for key in ("all", "briefs" if page.brief else "full stories"):
            c = counts[key]
            c["kit"] += sum(kit)
            c["cut"] += sum(cut)
            c["hit"] += sum(k and r for k, r in zip(kit, cut, strict=True))
            c["story"] += sum(s and not k for s, k in zip(story, kit, strict=True))
            c["story_cut"] += sum(r and not k for r, k in zip(cut, kit, strict=True))
            c["pages_leaking"] += any(k and not r for k, r in zip(kit, cut, strict=True))
            lost = sum(r and not k for r, k in zip(cut, kit, strict=True))
            own = sum(s and not k for s, k in zip(story, kit, strict=True))
            c["pages_losing"] += lost > 0
            c["pages_losing_half"] += lost * 2 > own
            c["pages"] += 1
    print("  boilerplate removal vs the generated kit spans (non-space characters):")
    print(
        f"  {'pages':<14}{'n':>6}{'kit recall':>12}{'precision':>11}{'story lost':>12}"
        f"{'pages w/ kit left':>19}{'pages losing story':>20}{'... > half of it':>18}"
    )
    for key in ("all", "full stories", "briefs"):
        c = counts[key]
        print(
            f"  {key:<14}{c['pages']:6d}{c['hit'] / max(c['kit'], 1):12.4f}"
            f"{c['hit'] / max(c['cut'], 1):11.4f}{c['story_cut'] / max(c['story'], 1):12.4f}"
            f"{c['pages_leaking']:19d}{c['pages_losing']:20d}{c['pages_losing_half']:18d}"
        )


def merge_report(name: str, pages: list[Page], labels: list[str]) -> None:
    """Print cross-story merges and how briefs were clustered."""
    members: dict[str, list[Page]] = defaultdict(list)
    for page, label in zip(pages, labels, strict=True):
        members[label].append(page)
    merged = [m for m in members.values() if len({p.story for p in m}) > 1]
    base = {p.uri: p.story.split("#")[0] for p in pages}
    brief_only = same_outlet = 0
    for m in merged:
        unrelated = len({base[p.uri] for p in m}) > 1
        if not unrelated:
            brief_only += 1
            continue
        by_outlet: dict[str, set[str]] = defaultdict(set)
        for p in m:
            by_outlet[p.outlet].add(base[p.uri])
        same_outlet += any(len(v) > 1 for v in by_outlet.values())
    with_full = with_other = 0
    for page, label in zip(pages, labels, strict=True):
        if page.brief:
            mates = members[label]
            with_full += any(not p.brief and base[p.uri] == base[page.uri] for p in mates)
            with_other += any(base[p.uri] != base[page.uri] for p in mates)
    briefs = sum(p.brief for p in pages)
    print(
        f"  {name:<24}clusters with >1 gold story: {len(merged)} (brief + its own full story "
        f"only: {brief_only}; unrelated stories: {len(merged) - brief_only}, of which with two "
        f"stories of one outlet: {same_outlet}); briefs ({briefs}) clustered with their full "
        f"story: {with_full}, with an unrelated story: {with_other}"
    )


def pair_kind(a: Page, b: Page) -> str:
    """Kind of a gold pair: briefs, a truncated copy (by length ratio of the bodies), other."""
    if a.brief:
        return "brief ~ brief"
    if a.kept == b.kept == 1.0:
        return "full ~ full (untruncated)"
    ratio = min(a.kept, b.kept) / max(a.kept, b.kept)
    bucket = "< 0.6" if ratio < 0.6 else "0.6-0.8" if ratio < 0.8 else ">= 0.8"
    return f"truncated, shorter/longer body {bucket}"


def recall_by_kind(pages: list[Page], labels: list[str], cleaned: pl.DataFrame) -> None:
    """Print newsdq's recall per kind of gold pair, and the hardest missed pairs."""
    found = pairs_of(labels)
    sets = shingle_sets(cleaned["clean_text"].fill_null("").to_list())
    totals: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    missed = []
    for i, j in sorted(pairs_of([p.story for p in pages])):
        kind = pair_kind(pages[i], pages[j])
        totals[kind] += 1
        hits[kind] += (i, j) in found
        if (i, j) not in found:
            missed.append((jaccard(sets[i], sets[j]), i, j))
    print("  newsdq recall by kind of gold pair:")
    for kind in sorted(totals):
        print(f"    {kind:<40}{totals[kind]:6d} pairs  recall {hits[kind] / totals[kind]:.3f}")
    for sim, i, j in sorted(missed)[:3]:
        print(
            f"    missed: J(clean)={sim:.2f} {pages[i].uri} [{','.join(pages[i].edits)}] ~ "
            f"{pages[j].uri} [{','.join(pages[j].edits)}]"
        )


def story_loss_example(pages: list[Page], docs: pl.DataFrame, passages: pl.DataFrame) -> None:
    """Print the page that lost the largest share of its story text, with what was removed."""
    removed = removed_spans(passages)
    worst = (0.0, -1, "")
    for n, (page, doc_id) in enumerate(zip(pages, docs["doc_id"], strict=True)):
        kit = nonspace_mask(page.text, page.kit_spans)
        cut = nonspace_mask(page.text, removed.get(doc_id, []))
        story = sum(not k and not c.isspace() for k, c in zip(kit, page.text, strict=True))
        lost = sum(c and not k for c, k in zip(cut, kit, strict=True))
        if story and lost / story > worst[0]:
            spans = removed.get(doc_id, [])
            text = " / ".join(page.text[s:e] for s, e in spans if not any(kit[s:e]))
            worst = (lost / story, n, text)
    if worst[1] >= 0:
        page = pages[worst[1]]
        print(
            f"  most story text lost: {worst[0]:.0%} of {page.uri} "
            f"[{','.join(page.edits)}]; removed: {short(worst[2], 110)!r}"
        )


def part_syndication(quick: bool) -> None:
    """Part 2: the generated syndication set."""
    print("\n=== 2. Syndication set (BBC stories, 8 synthetic outlets with kits) ===")
    if not (CORPORA / "bbc_news" / "bbc").is_dir():
        print(f"skipped: {CORPORA / 'bbc_news' / 'bbc'} is absent (the stories come from it)")
        return
    pages, _ = syndication_set(60 if quick else 300)
    docs = normalised([p.uri for p in pages], [p.text for p in pages])
    changed = sum(a != p.text for a, p in zip(docs["text"], pages, strict=True))
    if changed:
        raise SystemExit(f"{changed} generated pages changed under normalisation: spans invalid")
    gold = [p.story for p in pages]
    per_outlet = Counter(p.outlet for p in pages)
    n_kit = sum(e - s for p in pages for s, e in p.kit_spans)
    n_all = sum(len(p.text) for p in pages)
    edits = Counter(e for p in pages for e in p.edits)
    print(
        f"  {len(pages)} pages of {len({g.split('#')[0] for g in gold})} stories, "
        f"{len(set(gold))} gold stories incl. briefs ({sum(p.brief for p in pages)} brief pages); "
        f"pages per outlet {min(per_outlet.values())}-{max(per_outlet.values())}; "
        f"kit share of characters {n_kit / n_all:.3f}; edits {dict(sorted(edits.items()))}"
    )
    t0 = time.perf_counter()
    labels, cleaned, passages = run_newsdq(docs)
    elapsed = time.perf_counter() - t0
    naive = run_naive(docs)
    ours = score(labels, gold)
    print_scores([("newsdq", ours), ("naive (no boilerplate)", score(naive, gold))])
    base = [g.split("#")[0] for g in gold]
    lenient = [(i, j) for i, j in pairs_of(labels) if base[i] != base[j] or gold[i] == gold[j]]
    true = pairs_of(gold)
    p = sum(pair in true for pair in lenient) / max(len(lenient), 1)
    r = sum(pair in set(lenient) for pair in true) / max(len(true), 1)
    print(
        f"  newsdq with brief~own-story pairs ignored: P {p:.3f} R {r:.3f} "
        f"F1 {2 * p * r / max(p + r, 1e-12):.3f}; target F1 >= {SYN_TARGET_F1}: "
        f"{'met' if ours.f1 >= SYN_TARGET_F1 else 'NOT met'} (strict F1 {ours.f1:.3f}); "
        f"newsdq time {elapsed:.1f}s"
    )
    merge_report("newsdq:", pages, labels)
    merge_report("naive:", pages, naive)
    recall_by_kind(pages, labels, cleaned)
    syndication_removal(pages, docs, passages)
    story_loss_example(pages, docs, passages)
    scheduled_removal(pages, docs, labels, 20 if quick else 40)


def scheduled_removal(
    pages: list[Page], docs: pl.DataFrame, labels: list[str], n_runs: int
) -> None:
    """Print kit removal when the pages arrive over scheduled runs, with and without history.

    The pages are shuffled (fixed seed) and cut into `n_runs` runs; each run finds boilerplate
    as the flow does, with the passage index of the most recent earlier runs (windows of all,
    4 and 2 runs' documents) and the boilerplate variants earlier runs found, or alone.
    Documents of earlier runs are indexed with the cluster ids of the one-run clustering.
    """
    order = list(range(len(pages)))
    random.Random(7).shuffle(order)
    runs = [order[k::n_runs] for k in range(n_runs)]
    mh, bp = S.minhash, S.boilerplate
    cluster = dict(zip(docs["doc_id"], labels, strict=True))
    per_run = len(pages) // n_runs
    # documents of history read (BoilerplateConfig.history_documents): all, 4 runs, 2 runs, none
    for window in (len(pages), 4 * per_run, 2 * per_run, 0):
        index: list[pl.DataFrame] = []  # one frame per earlier run, oldest first
        known: pl.DataFrame | None = None  # index/boilerplate: kits found by earlier runs
        removed: list[pl.DataFrame] = []
        for run in runs:
            recent: list[pl.DataFrame] = []  # as flows/io/index.py recent_files picks them
            for frame in reversed(index):
                if sum(f["doc_id"].n_unique() for f in recent) >= window:
                    break
                recent.append(frame)
            stored = passage_keys_schema(passage_banding(mh, bp).bands)
            earlier = pl.concat([pl.DataFrame(schema=stored), *recent])
            history = BoilerplateHistory(frame_lookup(earlier, bp.history_bucket_cap), known)
            result = boilerplate_stage(docs[run], mh, bp, history, page_model_for(bp))
            found = result.passages.filter(pl.col("is_boilerplate"))
            removed.append(found)
            published = result.documents.with_columns(
                cluster_id=pl.col("doc_id").replace_strict(cluster)
            )
            index.append(passage_index_rows(result.passages, published, mh, bp))
            if window:
                known = pl.concat(
                    [k for k in (known, boilerplate_rows(found, mh)) if k is not None]
                )
        print(
            f"  the same pages over {n_runs} scheduled runs of ~{per_run} pages, "
            + (
                f"support counted with the passage index of the most recent {window} documents"
                " and index/boilerplate:"
                if window
                else "each run alone (no passage index):"
            )
        )
        syndication_removal(pages, docs, pl.concat(removed))


# ---------------------------------------------------------------------------------------------
# Part 3: boilerplate against gold main text
# ---------------------------------------------------------------------------------------------

SITES = ("arstechnica", "bbc", "cnn", "forbes", "foxnews", "latimes", "nymag", "nypost", "yahoo")


def page_lines(data: bytes) -> tuple[str, str]:
    """Return (html2txt's text, the same visible text with a line break at each block boundary).

    `trafilatura.html2txt` keeps all visible text (after its basic cleaning of scripts, styles
    and the like) but joins it into ONE line; newsdq's passages are lines, so the measured
    input is the same cleaned tree with block elements (div, p, li, td, ...) ending lines.
    """
    from trafilatura import html2txt
    from trafilatura.baseline import _BLOCK_ELEMS, basic_cleaning
    from trafilatura.utils import load_html

    one_line = html2txt(data)
    tree = load_html(data)
    body = None if tree is None else tree.find(".//body")
    if body is None:
        return one_line, ""
    body = basic_cleaning(body)
    for elem in body.iter(*_BLOCK_ELEMS):
        elem.text = "\n" + (elem.text or "")
        elem.tail = "\n" + (elem.tail or "")
    lines = (" ".join(line.split()) for line in body.text_content().split("\n"))
    return one_line, "\n".join(line for line in lines if line)


def site_of(data: bytes) -> str:
    """Guess the site of a page: the known site name most mentioned in its HTML."""
    lower = data.lower()
    counts = {s: lower.count(f"{s}.com".encode()) + lower.count(f"{s}.co".encode()) for s in SITES}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else "?"


def fold_one(texts: list[str]) -> list[str]:
    """Fold texts with newsdq's `fold` (lowercase, no accents/apostrophes, punctuation->space)."""
    return fold_series(pl.Series(texts, dtype=pl.String)).to_list()


def line_spans(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) of every line of text."""
    spans, pos = [], 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def label_units(text: str, units: list[tuple[int, int]], gold: str) -> list[tuple[int, int, bool]]:
    """Label each unit (line or passage span) of text: (start, end, is_content).

    A unit is content when its folded words occur, in order and contiguous, in the folded gold
    text and it has at least 4 words or equals a whole gold line (short units such as `Share`
    or `Video` would otherwise match by chance).
    """
    gold_lines = [g for g in gold.split("\n") if g.strip()]
    haystack = " " + fold_one(["\n".join(gold_lines)])[0] + " "
    gold_set = set(fold_one(gold_lines))
    folded = fold_one([text[s:e] for s, e in units])
    out = []
    for (s, e), f in zip(units, folded, strict=True):
        ok = bool(f) and f" {f} " in haystack and (len(f.split()) >= 4 or f in gold_set)
        out.append((s, e, ok))
    return out


def read_big5(quick: bool) -> list[tuple[str, str, bytes, str]]:
    """Return (uri, site, html bytes, gold text) of the big5 pages (big5-13 only with --quick)."""
    root = CORPORA / "news_extraction"
    rows = []
    for year in sorted(root.glob("big5-*")):
        if quick and year.name != "big5-13":
            continue
        for page in sorted((year / "html").iterdir()):
            gold_path = year / "gold" / f"{page.stem}.txt"
            if not gold_path.exists():
                continue
            data = page.read_bytes()
            gold = gold_path.read_bytes()
            try:
                gold_text = gold.decode("utf-8")
            except UnicodeDecodeError:
                gold_text = gold.decode("cp1252", errors="replace")
            rows.append((f"{year.name}/{page.name}", site_of(data), data, gold_text))
    return rows


@dataclass
class Tally:
    """Character and line counts of gold boilerplate/content against what was removed."""

    bp: int = 0
    content: int = 0
    removed: int = 0
    removed_bp: int = 0
    lines_bp: int = 0
    lines_content: int = 0
    lines_removed: int = 0
    lines_removed_bp: int = 0

    def row(self, name: str, pages: int) -> str:
        """One table row: char P/R, content lost, line P/R."""
        return (
            f"  {name:<26}{pages:6d}{self.bp / max(self.bp + self.content, 1):9.3f}"
            f"{self.removed_bp / max(self.removed, 1):8.3f}{self.removed_bp / max(self.bp, 1):8.3f}"
            f"{(self.removed - self.removed_bp) / max(self.content, 1):14.4f}"
            f"{self.lines_removed_bp / max(self.lines_removed, 1):9.3f}"
            f"{self.lines_removed_bp / max(self.lines_bp, 1):9.3f}"
        )


def tally_page(
    text: str, labels: list[tuple[int, int, bool]], spans: list[tuple[int, int]], tally: Tally
) -> list[tuple[str, bool, float]]:
    """Add one page's counts to tally; return (line, is_content, removed share) per line."""
    cut = nonspace_mask(text, spans)
    out = []
    for s, e, content in labels:
        chars = sum(not c.isspace() for c in text[s:e])
        if not chars:
            continue
        removed = sum(cut[s:e])
        is_removed = removed * 2 > chars
        tally.removed += removed
        if content:
            tally.content += chars
            tally.lines_content += 1
        else:
            tally.bp += chars
            tally.removed_bp += removed
            tally.lines_bp += 1
            tally.lines_removed_bp += is_removed
        tally.lines_removed += is_removed
        out.append((text[s:e], content, removed / chars))
    return out


def evaluate_extraction(
    rows: list[tuple[str, str, bytes, str]], texts: list[str], by_passage: bool = False
) -> tuple[dict[str, Tally], list[tuple[str, str, bool, float]]]:
    """Remove boilerplate over all pages; tally per site; return tallies and labelled units.

    Units are lines, or with `by_passage` newsdq's passages (sentences within lines).
    """
    docs = normalised([r[0] for r in rows], texts)
    _, passages = clean(docs)
    removed = removed_spans(passages)
    units: dict[str, list[tuple[int, int]]] = defaultdict(list)
    if by_passage:
        split = split_passages(docs.unique("doc_id"), S.boilerplate.min_passage_chars)
        for d, s, e in split.select("doc_id", "start", "end").iter_rows():
            units[d].append((s, e))
    tallies: dict[str, Tally] = defaultdict(Tally)
    lines = []
    for (uri, site, _, gold), text, doc_id in zip(rows, docs["text"], docs["doc_id"], strict=True):
        spans = units[doc_id] if by_passage else line_spans(text)
        labels = label_units(text, spans, normalise_text_py(gold))
        for key in ("all", site):
            per_unit = tally_page(text, labels, removed.get(doc_id, []), tallies[key])
        lines += [(uri, line, c, r) for line, c, r in per_unit]
    return tallies, lines


def normalise_text_py(text: str) -> str:
    """newsdq's text normalisation of one string."""
    return pl.select(normalise_text(pl.lit(text))).item()


def print_tallies(title: str, tallies: dict[str, Tally], pages: Counter[str]) -> None:
    """Print the per-site table of one extraction variant."""
    print(f"  {title}")
    print(
        f"  {'site':<26}{'pages':>6}{'bp share':>9}{'P':>8}{'R':>8}{'content lost':>14}"
        f"{'line P':>9}{'line R':>9}"
    )
    for key in ["all", *sorted(k for k in tallies if k != "all")]:
        print(tallies[key].row(key, pages[key]))


def part_extraction(quick: bool) -> None:
    """Part 3: boilerplate removal against the big5 gold main texts."""
    print("\n=== 3. Boilerplate vs gold main text (news_extraction big5) ===")
    if not (CORPORA / "news_extraction").is_dir():
        print(f"skipped: {CORPORA / 'news_extraction'} is absent")
        return
    rows = read_big5(quick)
    extracted = [page_lines(r[2]) for r in rows]
    pages = Counter(r[1] for r in rows)
    pages["all"] = len(rows)
    print(
        f"  {len(rows)} pages; sites {dict(sorted((k, v) for k, v in pages.items() if k != 'all'))}"
        f"; html2txt lines per page: max {max(t.count(chr(10)) + 1 for t, _ in extracted)}"
        " (one line: all text joined), block lines per page: median "
        f"{sorted(b.count(chr(10)) + 1 for _, b in extracted)[len(extracted) // 2]}"
    )
    print(
        "  gold label per line: content if its folded words occur in the gold text "
        "(>= 4 words, or a whole gold line), else boilerplate; P/R over non-space characters; "
        "a line counts as removed when > half its characters are"
    )
    t0 = time.perf_counter()
    tallies, lines = evaluate_extraction(rows, [b for _, b in extracted])
    print_tallies(
        f"html2txt cleaning, one line per block element ({time.perf_counter() - t0:.1f}s)",
        tallies,
        pages,
    )
    one, _ = evaluate_extraction(rows, [t for t, _ in extracted], by_passage=True)
    print("  html2txt verbatim (one line per page; labels and line P/R per sentence passage):")
    print(one["all"].row("all", len(rows)))
    show_lines(lines)


def show_lines(lines: list[tuple[str, str, bool, float]]) -> None:
    """Print the most frequent wrongly removed content lines and kept boilerplate lines."""
    lost = Counter(short(line, 80) for _, line, c, r in lines if c and r > 0.5)
    kept = Counter(short(line, 80) for _, line, c, r in lines if not c and r == 0)
    long_lost = sorted(
        ((len(line), uri, line) for uri, line, c, r in lines if c and r > 0.5), reverse=True
    )
    print(f"  content lines removed: {sum(lost.values())}; most frequent:")
    for line, n in lost.most_common(4):
        print(f"    {n:3d}x {line!r}")
    print("  longest content lines removed:")
    for _, uri, line in long_lost[:3]:
        print(f"    {uri}: {short(line, 80)!r}")
    print(f"  boilerplate lines kept: {sum(kept.values())}; most frequent:")
    for line, n in kept.most_common(5):
        print(f"    {n:3d}x {line!r}")


def part_hard_syndication(quick: bool) -> None:
    """Part 4: the hard Reuters syndication set (bench/syndication_hard.py), both splits."""
    import syndication_hard

    print(
        "\n=== 4. Hard syndication set (Reuters stories, outlet edits, same-topic-day "
        "negatives; tune split tuned on, held-out never) ==="
    )
    syndication_hard.report(100 if quick else 400)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the three parts and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small subsets (about a minute)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(f"newsdq dedup/boilerplate quality{' (--quick subsets)' if args.quick else ''}")
    print(
        f"settings: dedup threshold {S.dedup.threshold}, word {S.minhash.ngram}-grams, "
        f"{S.minhash.num_perm} perms; boilerplate min_support {S.boilerplate.min_support}, "
        f"passage threshold {S.boilerplate.passage_threshold}"
    )
    part_real(args.quick)
    part_syndication(args.quick)
    part_extraction(args.quick)
    part_hard_syndication(args.quick)
    print(f"\ntotal time {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
