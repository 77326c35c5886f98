"""Train the single-page boilerplate line classifier and write its weights.

Usage::

    .venv/bin/python bench/train_page_boilerplate.py [--check] [--cv]

Reads the labelled lines of `bench/page_corpus.py` (../shared corpora news_extraction and
scrapinghub_article_extraction; skips with a message when absent), computes newsdq's line
features (`flows/core/page_boilerplate.py`) and fits an L2 logistic regression (scikit-learn,
lbfgs; deterministic) on all pages. Writes `flows/io/data/page_boilerplate.npz`; with `--check`
compares instead and exits 1 when the shipped weights differ. `--cv` also prints grouped
(leave-one-site-group-out) cross-validation at a few thresholds. scikit-learn is needed here
only (`.venv/bin/pip install scikit-learn==1.9.1`); run time uses the weights alone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import page_corpus  # noqa: E402
from flows.core.page_boilerplate import DENSE, HASH_BITS, PageModel, line_features  # noqa: E402

WEIGHTS = ROOT / "flows" / "io" / "data" / "page_boilerplate.npz"
CACHE = Path("/tmp/newsdq_page_lines.parquet")
# Inverse L2 strength; boilerplate lines weigh this much more than content lines in the loss
# (a precision-first classifier needs both: lines are mostly boilerplate in `visible` texts).
C = 0.5
CONTENT_WEIGHT = 3.0


def design(lines: pl.DataFrame) -> tuple[np.ndarray, object]:
    """Return the dense features and the hashed features as a CSR matrix."""
    from scipy import sparse

    dense, rows, slots, values = line_features(lines)
    hashed = sparse.csr_matrix((values, (rows, slots)), shape=(lines.height, 1 << HASH_BITS))
    hashed.sum_duplicates()
    return dense, hashed


def fit(dense: np.ndarray, hashed: object, labels: np.ndarray, chars: np.ndarray) -> PageModel:
    """Fit the logistic regression; return it as a `PageModel`."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    mean = dense.mean(axis=0)
    scale = dense.std(axis=0)
    scale[scale == 0] = 1.0
    x = sparse.hstack([sparse.csr_matrix((dense - mean) / scale), hashed]).tocsr()
    weight = np.where(labels == 0, CONTENT_WEIGHT, 1.0) * np.sqrt(np.maximum(chars, 1))
    weight = weight / weight.mean()
    clf = LogisticRegression(C=C, max_iter=500, tol=1e-4)
    clf.fit(x, labels, sample_weight=weight)
    coef = clf.coef_[0]
    return PageModel(
        mean=mean,
        scale=scale,
        dense_weights=coef[: len(DENSE)].copy(),
        hashed_weights=coef[len(DENSE) :].copy(),
        bias=float(clf.intercept_[0]),
    )


def predict(model: PageModel, dense: np.ndarray, hashed: object) -> np.ndarray:
    """Return the probabilities of the rows (the run-time formula, on a CSR matrix)."""
    z = ((dense - model.mean) / model.scale) @ model.dense_weights + model.bias
    z = z + hashed @ model.hashed_weights  # type: ignore[operator]
    return 1.0 / (1.0 + np.exp(-z))


def as_arrays(model: PageModel) -> dict[str, np.ndarray]:
    """Return the arrays written to the weights file (float32, as shipped)."""
    return {
        "mean": model.mean.astype(np.float32),
        "scale": model.scale.astype(np.float32),
        "dense_weights": model.dense_weights.astype(np.float32),
        "hashed_weights": model.hashed_weights.astype(np.float32),
        "bias": np.array([model.bias], dtype=np.float32),
        "dense_names": np.array(DENSE),
        "hash_bits": np.array([HASH_BITS]),
    }


def grouped_oof(
    lines: pl.DataFrame, dense: np.ndarray, hashed: object, groups: Sequence[str]
) -> np.ndarray:
    """Return out-of-fold probabilities: each group scored by a model trained without it."""
    labels = lines["label"].to_numpy()
    chars = lines["chars"].to_numpy()
    group = lines["group"].to_numpy()
    oof = np.full(lines.height, np.nan)
    for g in groups:
        test = group == g
        train = ~test & np.isin(group, groups)
        model = fit(dense[train], hashed[train], labels[train], chars[train])  # type: ignore[index]
        oof[test] = predict(model, dense[test], hashed[test])  # type: ignore[index]
    return oof


def char_scores(lines: pl.DataFrame, removed: np.ndarray) -> tuple[float, float, float]:
    """Return (precision, recall, content lost) of removed characters."""
    bp = lines["label"].to_numpy() == 1
    chars = lines["chars"].to_numpy().astype(np.float64)
    tp = chars[removed & bp].sum()
    lost = chars[removed & ~bp].sum()
    return (
        tp / max(tp + lost, 1.0),
        tp / max(chars[bp].sum(), 1.0),
        lost / max(chars[~bp].sum(), 1.0),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Train on all pages and write (or check) the weights; optionally cross-validate."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped weights")
    parser.add_argument("--cv", action="store_true", help="print grouped cross-validation")
    args = parser.parse_args(argv)
    if not page_corpus.present():
        print(f"skipped: {page_corpus.CORPORA} lacks news_extraction or scrapinghub corpora")
        return 0
    lines = page_corpus.build(CACHE)
    dense, hashed = design(lines)
    print(
        f"{lines.height} lines of {lines['doc_id'].n_unique()} texts; "
        f"{int(lines['label'].sum())} boilerplate"
    )
    if args.cv:
        groups = sorted(set(lines["group"]) - set(page_corpus.HELD_OUT))
        oof = grouped_oof(lines, dense, hashed, groups)
        tune = lines.with_columns(p=pl.Series(oof)).filter(pl.col("p").is_not_nan())
        for variant in ("main", "visible"):
            part = tune.filter(pl.col("variant") == variant)
            for t in (0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99):
                p, r, lost = char_scores(part, part["p"].to_numpy() >= t)
                print(f"  cv {variant:<8} t={t:.2f}  P {p:.3f}  R {r:.3f}  lost {lost:.4f}")
    model = fit(dense, hashed, lines["label"].to_numpy(), lines["chars"].to_numpy())
    arrays = as_arrays(model)
    if args.check:
        shipped = np.load(WEIGHTS)
        same = all(np.array_equal(shipped[k], v) for k, v in arrays.items())
        print("weights reproduce the shipped file" if same else "weights DIFFER from shipped")
        return 0 if same else 1
    WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(WEIGHTS, **arrays)
    print(f"wrote {WEIGHTS.relative_to(ROOT)} ({WEIGHTS.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
