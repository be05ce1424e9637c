"""The memory bank: coreset selection at fit time, nearest-neighbour distances at predict time."""

from __future__ import annotations

from collections.abc import Callable

import faiss
import numpy as np
import numpy.typing as npt

Features = npt.NDArray[np.float32]

#: Greedy steps between two progress reports.
_REPORT_EVERY = 500


def greedy_coreset(
    features: Features,
    size: int,
    projection_dim: int,
    rng: np.random.Generator,
    progress: Callable[[int, int], None] | None = None,
) -> npt.NDArray[np.int64]:
    """Indices of ``size`` rows chosen by greedy k-centre selection (PatchCore's coreset).

    Distances are measured after a Gaussian random projection: it keeps them within a
    few per cent while making each greedy step (one pass over every candidate) several
    times cheaper, and that pass is what dominates training time.
    """
    count, dim = features.shape
    if size >= count:
        return np.arange(count, dtype=np.int64)
    if projection_dim < dim:
        matrix = rng.standard_normal((dim, projection_dim)).astype(np.float32)
        points = features @ (matrix / np.sqrt(projection_dim, dtype=np.float32))
    else:
        points = features
    norms = np.einsum("ij,ij->i", points, points)
    nearest = np.full(count, np.inf, dtype=np.float32)
    chosen = np.empty(size, dtype=np.int64)
    index = int(rng.integers(count))
    distance = np.empty(count, dtype=np.float32)
    for step in range(size):
        chosen[step] = index
        np.matmul(points, points[index], out=distance)
        distance *= -2.0
        distance += norms
        distance += norms[index]
        np.minimum(nearest, distance, out=nearest)
        index = int(np.argmax(nearest))
        if progress is not None and (step + 1) % _REPORT_EVERY == 0:
            progress(step + 1, size)
    return chosen


class PatchIndex:
    """Exact L2 nearest-neighbour search over the memory bank (faiss, flat)."""

    def __init__(self, bank: Features) -> None:
        self.bank = np.ascontiguousarray(bank, dtype=np.float32)
        self._index = faiss.IndexFlatL2(self.bank.shape[1])
        self._index.add(self.bank)

    def distances(self, queries: Features) -> Features:
        """Euclidean distance of each query row to its nearest bank row."""
        squared, _ = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), 1)
        return np.sqrt(np.maximum(squared[:, 0], 0.0))
