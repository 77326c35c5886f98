"""Load the shipped weights of the single-page boilerplate classifier."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from flows.core import page_boilerplate as pb
from flows.core.settings import BoilerplateConfig

# Written by bench/train_page_boilerplate.py (which reproduces it from ../shared corpora).
WEIGHTS = Path(__file__).resolve().parent / "data" / "page_boilerplate.npz"


@lru_cache(maxsize=4)
def load_page_model(path: Path = WEIGHTS) -> pb.PageModel:
    """Read a weights file written by the training script into a `PageModel`."""
    with np.load(path) as data:
        layout = (
            tuple(str(n) for n in data["dense_names"]) == pb.DENSE
            and "context_names" in data
            and tuple(str(n) for n in data["context_names"]) == pb.CONTEXT
            and tuple(int(b) for b in data["hash_bits"]) == (pb.HASH_BITS, pb.CHAR_BITS)
            and tuple(int(g) for g in data["gram_sizes"]) == pb.GRAM_SIZES
        )
        if not layout:
            raise ValueError(f"{path}: weights were trained for another feature layout")

        def stage(prefix: str) -> pb.Stage:
            return pb.Stage(
                mean=data[f"{prefix}_mean"].astype(np.float64),
                scale=data[f"{prefix}_scale"].astype(np.float64),
                weights=data[f"{prefix}_weights"].astype(np.float64),
                bias=float(data[f"{prefix}_bias"][0]),
            )

        return pb.PageModel(
            line=stage("line"),
            hashed_weights=data["hashed_weights"].astype(np.float64),
            char_weights=data["char_weights"].astype(np.float64),
            context=stage("context"),
        )


def page_model_for(config: BoilerplateConfig) -> pb.PageModel | None:
    """Return the shipped classifier when `config` switches it on, else None (recurrence alone).

    The flow and the benchmarks assemble the boilerplate stage with this, so a benchmark
    measures the classifier exactly when a run would use it.
    """
    return load_page_model() if config.page_classifier else None
