"""Single-page boilerplate classifier on sites it never saw, and trafilatura vs newsdq.

Usage::

    .venv/bin/python bench/boilerplate_quality.py [--[no-]trafilatura] [--threshold T|rule]
        [--bridge-lines N] [--bridge-threshold LOW] [--[no-]gold-corpora] [--gold-weight W]

Reads ../shared corpora through `bench/page_corpus.py` (skips when absent), and trains also on
trafilatura's evaluation set as `bench/train_page_boilerplate.py` does (`--trafilatura`, the
default when its `TRAFILATURA` is true; never in the held-out groups). Prints:

1. grouped cross-validation (each site group scored by a model trained on the other tuning
   groups; stage 2 on stage 1's out-of-fold scores): precision and recall of removed characters
   and the share of gold content lost, at `[boilerplate] page_threshold`, for trafilatura's main
   text, its recall-favouring text with comments, all visible text and the spliced training
   texts, with recall on the page kit (`page_corpus.kit_lines`) and on other boilerplate apart
   (trafilatura's pages apart, `cv-tr`, on their labelled lines);
2. the fixed held-out groups (`page_corpus.HELD_OUT`, never tuned on): the same, from a model
   trained on all tuning groups, and mean token F1 against gold of trafilatura's main text alone
   vs after newsdq's boilerplate stage (recurrence over the held-out pages + that classifier);
3. the classifier's speed in documents/s on 10,000 BBC texts (../shared bbc_news, repeated).

Lines are removed as a run would remove them: at the threshold, with `[boilerplate]
page_bridge_lines` / `page_bridge_threshold` bridging (`--bridge-lines`, `--bridge-threshold`
override them); the cross-validated main text is also printed with bridging of 1-3 lines at a
few bridge thresholds (`bridge_sweep`).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import page_corpus  # noqa: E402
from bench.train_page_boilerplate import (  # noqa: E402
    SCORED,
    add_gold_corpora_option,
    add_trafilatura_option,
    char_scores,
    context_of,
    context_oof,
    corpora_lines,
    corpus_of,
    design,
    fit_context,
    fit_line,
    line_oof,
    page_model,
    row_scale,
)
from flows.core.boilerplate import remove_boilerplate  # noqa: E402
from flows.core.page_boilerplate import PageModel, bridged, classify_lines  # noqa: E402
from flows.core.settings import Settings  # noqa: E402
from flows.core.text import fold_series  # noqa: E402

S = Settings()
KIT_CACHE = Path("/tmp/newsdq_page_kit-v1.parquet")
# The classifier judged switched on whatever the default.
CONFIG = dataclasses.replace(S.boilerplate, page_classifier=True)
# The threshold rule (`[boilerplate] page_threshold`): the lowest of these thresholds whose
# cross-validated share of gold content lost on trafilatura's main text is at most RULE_LOSS.
RULE_GRID = (0.5, 0.55, 0.6, 0.62, 0.64, 0.66, 0.68, 0.7, 0.72, 0.74, 0.76, 0.78, 0.8, 0.82)
RULE_GRID += (0.84, 0.86, 0.88, 0.9)
RULE_LOSS = 0.0045
# The bridge thresholds `bridge_sweep` prints.
BRIDGE_GRID = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75)


def token_f1(text: str, gold: str) -> float:
    """Return the bag-of-words F1 of folded tokens of text against gold."""
    a = Counter(fold_series(pl.Series([text])).item().split())
    b = Counter(fold_series(pl.Series([gold.replace("\ufffd", "")])).item().split())
    common = sum((a & b).values())
    if not common:
        return 0.0
    p, r = common / sum(a.values()), common / sum(b.values())
    return 2 * p * r / (p + r)


def removed_lines(lines: pl.DataFrame, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Return which of `lines` the classifier removes at `threshold`, with `CONFIG`'s bridging
    (`page_bridge_lines`, `page_bridge_threshold`; lines grouped by page, in line order)."""
    doc = lines["doc_id"].rank("dense").to_numpy()
    low, k = CONFIG.page_bridge_threshold, CONFIG.page_bridge_lines
    return bridged(doc, np.nan_to_num(scores, nan=0.0), threshold, low, k)


def report(name: str, lines: pl.DataFrame, scores: np.ndarray, threshold: float) -> None:
    """Print char P / R / content lost per text variant, and R on kit and other boilerplate.

    Kit is a boilerplate line whose text is one of its page's `page_corpus.kit_lines` (inside
    a form, nav, footer, aside or a comment, share, subscribe, cookie, related or promotion
    block of the page's markup); other boilerplate is mostly titles, bylines, captions and
    menus outside such blocks.
    """
    kit = lines["kit"].to_numpy()
    gone = removed_lines(lines, scores, threshold)
    for variant in (*page_corpus.VARIANTS, page_corpus.SPLICED):
        mask = (lines["variant"] == variant).to_numpy()
        part = lines.filter(pl.Series(mask))
        removed = gone[mask]
        p, r, lost = char_scores(part, removed)
        bp = part["label"].to_numpy() == 1
        chars = part["chars"].to_numpy().astype(np.float64)
        is_kit = bp & kit[mask]
        rk = chars[removed & is_kit].sum() / max(chars[is_kit].sum(), 1.0)
        other = bp & ~kit[mask]
        ro = chars[removed & other].sum() / max(chars[other].sum(), 1.0)
        # short kit lines (under 12 words: prompts, buttons, headings), counted as lines
        short = is_kit & (part["text"].str.count_matches(r"\S+").to_numpy() < 12)
        print(
            f"  {name:<10} {variant:<8} P {p:.3f}  R {r:.3f}  content lost {lost:.4f}"
            f"  | R kit {rk:.3f} ({is_kit.sum()} lines), short kit lines removed"
            f" {(removed & short).sum()}/{short.sum()}; R other {ro:.3f} ({other.sum()} lines)"
        )


def lost_content(lines: pl.DataFrame, scores: np.ndarray, threshold: float, show: int = 12) -> None:
    """Print, for trafilatura's main text, the gold content lost per group and site (the
    uri's site for scrapinghub pages) and the longest content lines removed (shortened)."""
    main = lines.with_columns(
        score=pl.Series(scores), lost=pl.Series(removed_lines(lines, scores, threshold))
    ).filter((pl.col("variant") == "main") & (pl.col("label") == 0))
    total = max(int(main["chars"].sum()), 1)
    by = (
        main.group_by("group")
        .agg(
            pages=pl.col("uri").n_unique(),
            chars=pl.col("chars").sum(),
            lost_chars=pl.col("chars").filter(pl.col("lost")).sum(),
            lost_lines=pl.col("lost").sum(),
            lost_pages=pl.col("uri").filter(pl.col("lost")).n_unique(),
        )
        .sort("group")
    )
    print("  held-out main text, gold content lost by group (share of all held-out content):")
    for g, pages, chars, lc, ll, lp in by.rows():
        print(
            f"    {g:<12} {pages:>3} pages  lost {lc:>6} of {chars:>7} chars"
            f" ({lc / max(chars, 1):.4f}; {lc / total:.4f} of all)"
            f"  {ll} lines on {lp} pages"
        )
    worst = main.filter(pl.col("lost")).sort("chars", descending=True).head(show)
    for uri, score, chars, text in worst.select("uri", "score", "chars", "text").rows():
        print(f"    {score:.2f} {chars:>5} {uri[:28]:<28} {text[:70]!r}")


def bridge_sweep(lines: pl.DataFrame, scores: np.ndarray, threshold: float) -> None:
    """Print cross-validated main-text R and content lost at `threshold` with bridging of runs
    of 1-3 lines at a few bridge thresholds (`flows/core/page_boilerplate.bridged`)."""
    doc = lines["doc_id"].rank("dense").to_numpy()
    print(f"  cross-validated main text at {threshold:.2f} with bridging (lines, low: R / lost):")
    for k in (1, 2, 3):
        cells = []
        for low in BRIDGE_GRID:
            _, r, lost = char_scores(lines, bridged(doc, scores, threshold, low, k))
            cells.append(f"{low:.2f} {r:.3f}/{lost:.4f}")
        print(f"    {k}: " + ", ".join(cells))


def main(argv: list[str] | None = None) -> int:
    """Run both evaluations and print their numbers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_trafilatura_option(parser)
    add_gold_corpora_option(parser)
    parser.add_argument(
        "--threshold",
        default=None,
        help="score at this threshold instead of [boilerplate] page_threshold; 'rule': the "
        "lowest of RULE_GRID whose cross-validated main-text content loss is <= RULE_LOSS",
    )
    parser.add_argument(
        "--bridge-lines",
        type=int,
        default=None,
        help="bridge runs of up to this many lines (default [boilerplate] page_bridge_lines)",
    )
    parser.add_argument(
        "--bridge-threshold",
        type=float,
        default=None,
        help="lowest score a bridged line may have (default [boilerplate] page_bridge_threshold)",
    )
    args = parser.parse_args(argv)
    global CONFIG
    bridge = {
        "page_bridge_lines": args.bridge_lines,
        "page_bridge_threshold": args.bridge_threshold,
    }
    CONFIG = dataclasses.replace(CONFIG, **{k: v for k, v in bridge.items() if v is not None})
    print(
        f"bridging: runs of up to {CONFIG.page_bridge_lines} lines scoring at least "
        f"{CONFIG.page_bridge_threshold}"
    )
    if not page_corpus.present():
        print(f"skipped: {page_corpus.CORPORA} lacks news_extraction or scrapinghub corpora")
        return 0
    t = CONFIG.page_threshold if args.threshold in (None, "rule") else float(args.threshold)
    lines, names = corpora_lines(args.trafilatura, args.gold_corpora, args.seed_lines_out)
    print(f"corpora: {', '.join(names)}")
    kit = page_corpus.kit_lines(KIT_CACHE).with_columns(kit=pl.lit(True))
    lines = lines.join(kit, on=["uri", "text"], how="left", maintain_order="left").with_columns(
        pl.col("kit").fill_null(False)
    )
    d = design(lines)
    weight = row_scale(lines, args.gold_weight)
    group = lines["group"].to_numpy()
    tuning = sorted(set(group) - set(page_corpus.HELD_OUT))
    print(f"threshold {t}; tuning groups {tuning}; held out {list(page_corpus.HELD_OUT)}")
    # Stage 1 out of fold on the tuning groups; stage 2 cross-validated on them.
    ctx = context_of(lines, d, line_oof(lines, d, tuning, weight))
    oof = context_oof(lines, ctx, tuning, weight)
    seen = ~np.isnan(oof)
    corpus = corpus_of(lines)
    base = np.isin(corpus, SCORED)
    main = seen & base & (lines["variant"] == "main").to_numpy()
    main_lines = lines.filter(pl.Series(main))
    losses = {
        x: char_scores(main_lines, removed_lines(main_lines, oof[main], x))[2] for x in RULE_GRID
    }
    print(
        "  cross-validated main-text content lost: "
        + ", ".join(f"{x:.2f} {v:.4f}" for x, v in losses.items())
    )
    rule = min((x for x, v in losses.items() if v <= RULE_LOSS), default=max(RULE_GRID))
    print(f"  threshold rule (lowest with loss <= {RULE_LOSS:.2%}): {rule:.2f}")
    if args.threshold == "rule":
        t = rule
        print(f"  scoring at the rule's threshold {t:.2f}")
    bridge_sweep(main_lines, oof[main], t)
    report("cv", lines.filter(pl.Series(seen & base)), oof[seen & base], t)
    for c in sorted(set(corpus) - set(SCORED)):
        rows = seen & (corpus == c) & (lines["label"] != page_corpus.UNLABELLED).to_numpy()
        if rows.any():
            report(f"cv-{c}", lines.filter(pl.Series(rows)), oof[rows], t)

    # Held-out groups: both stages trained on the (labelled lines of the) tuning groups only.
    held = np.isin(group, page_corpus.HELD_OUT)
    labels, chars = lines["label"].to_numpy(), lines["chars"].to_numpy()
    train = ~held & (labels != page_corpus.UNLABELLED)
    w = None if weight is None else weight[train]
    line = fit_line(d.rows(train), labels[train], chars[train], w)
    model = page_model(line, fit_context(ctx[train], labels[train], chars[train], w))
    z = line.logit(d.rows(held))
    held_lines = lines.filter(pl.Series(held))
    scores = 1.0 / (1.0 + np.exp(-model.context.logit(context_of(held_lines, d.rows(held), z))))
    report("held-out", held_lines, scores, t)
    lost_content(held_lines, scores, t)

    # Token F1 on held-out pages: trafilatura alone vs trafilatura + newsdq's stage.
    gold = page_corpus.gold_texts()
    pages = page_corpus.read_pages()
    uris = [u for u, g, _, _ in pages if g in page_corpus.HELD_OUT]
    by_uri = {u: data for u, _, data, _ in pages}
    texts = [page_corpus.main_text(by_uri[u]) for u in uris]
    docs = page_corpus.normalise(uris, texts).with_columns(title_hint=pl.lit(None, pl.String))
    started = time.perf_counter()
    config = dataclasses.replace(CONFIG, page_threshold=t)
    recurrence, _ = remove_boilerplate(docs, S.minhash, config)
    both, _ = remove_boilerplate(docs, S.minhash, config, page_model=model)
    print(f"  newsdq stage on {docs.height} held-out pages: {time.perf_counter() - started:.1f}s")
    for name, frame, col in (
        ("trafilatura alone", docs, "text"),
        ("+ newsdq recurrence only", recurrence, "clean_text"),
        ("+ newsdq recurrence + classifier", both, "clean_text"),
    ):
        f1 = [token_f1(x, gold[u]) for u, x in zip(frame["doc_id"], frame[col], strict=True)]
        print(f"  mean token F1, {name:<34} {np.mean(f1):.4f}  ({len(f1)} pages)")
    speed(model)
    return 0


def speed(model: PageModel, n: int = 10_000) -> None:
    """Print the classifier's documents/s on `n` BBC texts (the corpus repeated), if present."""
    root = page_corpus.CORPORA / "bbc_news" / "bbc"
    paths = sorted(root.glob("*/*.txt"))
    if not paths:
        return
    texts = [p.read_bytes().decode("utf-8", "replace") for p in paths]
    docs = pl.DataFrame(
        {"doc_id": [f"{i}" for i in range(n)], "text": [texts[i % len(texts)] for i in range(n)]}
    )
    started = time.perf_counter()
    classify_lines(
        docs,
        model,
        CONFIG.page_threshold,
        bridge_threshold=CONFIG.page_bridge_threshold,
        bridge_lines=CONFIG.page_bridge_lines,
    )
    took = time.perf_counter() - started
    print(f"  classifier speed: {n / took:.0f} documents/s ({n} BBC texts, {took:.1f}s)")


if __name__ == "__main__":
    raise SystemExit(main())
