"""Connected components over verified pairs."""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def components(ids: pl.Series, pairs: pl.DataFrame) -> pl.DataFrame:
    """Label each id with its connected component over `pairs` (`left`, `right`).

    Parameters
    ----------
    ids
        Every node, each once.
    pairs
        Edges; both ends must be in `ids`.

    Returns
    -------
    pl.DataFrame
        Columns `id` and `component` (int64, dense labels in order of first appearance).
    """
    n = len(ids)
    if n == 0:
        return pl.DataFrame({"id": ids, "component": pl.Series([], dtype=pl.Int64)})
    index = pl.DataFrame({"id": ids, "_i": np.arange(n, dtype=np.int64)})
    edges = (
        pairs.select("left", "right")
        .join(index.rename({"id": "left", "_i": "a"}), on="left")
        .join(index.rename({"id": "right", "_i": "b"}), on="right")
    )
    a = edges["a"].to_numpy()
    b = edges["b"].to_numpy()
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return pl.DataFrame({"id": ids, "component": labels.astype(np.int64)})
