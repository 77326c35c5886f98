"""Load the shipped weights of the single-page boilerplate classifier."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from flows.core.page_boilerplate import DENSE, HASH_BITS, PageModel

# Written by bench/train_page_boilerplate.py (which reproduces it from ../shared corpora).
WEIGHTS = Path(__file__).resolve().parent / "data" / "page_boilerplate.npz"


@lru_cache(maxsize=4)
def load_page_model(path: Path = WEIGHTS) -> PageModel:
    """Read a weights file written by the training script into a `PageModel`."""
    with np.load(path) as data:
        if (
            tuple(str(n) for n in data["dense_names"]) != DENSE
            or int(data["hash_bits"][0]) != HASH_BITS
        ):
            raise ValueError(f"{path}: weights were trained for another feature layout")
        return PageModel(
            mean=data["mean"].astype(np.float64),
            scale=data["scale"].astype(np.float64),
            dense_weights=data["dense_weights"].astype(np.float64),
            hashed_weights=data["hashed_weights"].astype(np.float64),
            bias=float(data["bias"][0]),
        )
