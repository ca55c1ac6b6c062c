"""How features are compared, beyond the network: centred on the collection, and expanded by their neighbours.

Two refinements from the retrieval literature, each a setting measured by bench/quality.py:

- Centring (`[features] centre`): every feature minus the collection's mean feature, then unit length again.
  A network's features of one collection share a large common part (drawings on white, say), which makes
  every pair look alike; what is left ranks by what tells the images apart.
- Expansion (`[neighbours] expansion = n`): database-side augmentation (Arandjelovic and Zisserman's DBA, the
  plain average): each vector replaced by the sum of itself and its n nearest, then unit length again. In a
  static site every query is an item of the collection, so the expanded vector is also the item's
  expanded query (query expansion); a visitor's own image is expanded in the page the same way, over its n
  best results (static/query.js).

Both are functions of the features alone, applied in the search stage to the vectors every later stage reads
(the experiment applies them to its own set of originals and copies: its database). The vectors' digest,
which keys every later cache, is the digest of what is searched, so a changed setting computes anew.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from builder.features.extract import l2_normalise


@dataclass(frozen=True)
class Refinement:
    """centre: subtract the collection's mean (None: as the network gives them). expansion: neighbours
    summed into each vector (0: none)."""

    mean: np.ndarray | None = None
    expansion: int = 0

    def apply(self, x: np.ndarray, nearest: Callable[[np.ndarray, int], np.ndarray]) -> np.ndarray:
        """The vectors searched: x centred, then expanded over the rows `nearest(x, n)` lists for each row
        (row i's n nearest, itself excluded). x itself, not a copy, when there is nothing to do."""
        if self.mean is not None:
            x = centred(x, self.mean)
        if self.expansion:
            x = expanded(x, nearest(x, self.expansion))
        return x


def collection_mean(x: np.ndarray, block: int = 65536) -> np.ndarray:
    """The mean row, summed in float64 block by block (a memory-mapped matrix is read once, not copied)."""
    total = np.zeros(x.shape[1], dtype=np.float64)
    for start in range(0, len(x), block):
        total += np.asarray(x[start : start + block], dtype=np.float64).sum(axis=0)
    return (total / max(1, len(x))).astype(np.float32)


def centred(x: np.ndarray, mean: np.ndarray, block: int = 65536) -> np.ndarray:
    """Each row minus `mean`, unit length again (a row equal to the mean becomes zero, never NaN)."""
    out = np.empty(x.shape, dtype=np.float32)
    for start in range(0, len(x), block):
        out[start : start + block] = l2_normalise(np.asarray(x[start : start + block], dtype=np.float32) - mean)
    return out


def expanded(x: np.ndarray, nearest: np.ndarray, block: int = 8192) -> np.ndarray:
    """Each row plus the rows `nearest` lists for it (a negative entry, no neighbour, adds nothing), unit
    length again."""
    out = np.empty(x.shape, dtype=np.float32)
    for start in range(0, len(x), block):
        rows = nearest[start : start + block]
        summed = np.asarray(x[start : start + block], dtype=np.float32).copy()
        for column in rows.T:
            listed = column >= 0
            summed[listed] += x[column[listed]]
        out[start : start + block] = l2_normalise(summed)
    return out
