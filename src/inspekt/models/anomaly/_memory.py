"""The memory bank: coreset selection at fit time, nearest-neighbour distances at predict time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import faiss
import numpy as np
import numpy.typing as npt

Features = npt.NDArray[np.float32]

#: Greedy steps between two progress reports.
_REPORT_EVERY = 500
#: Patches sampled to fit the PCA: plenty for a 64-d covariance, and quick to decompose.
_PCA_SAMPLE = 100_000


def fit_projection(features: Sequence[Features], dim: int, rng: np.random.Generator) -> Features:
    """PCA of patch features as one (D + 1, k) matrix: k components, then the offset row.

    Projecting to the leading components keeps nearly all of the distance structure
    (32 of 64 dimensions hold 98.9 % of the variance on deeppcb_dev, with unchanged
    AUROC) while halving the nearest-neighbour search, the largest cost of predict.
    Computed from the D×D covariance, summed over an even sample of each image's
    patches, so memory stays at one image's features whatever their number and width
    (a full SVD of the pooled sample needed over half a gigabyte for 152-d features).
    """
    share = max(1, _PCA_SAMPLE // len(features))
    width = features[0].shape[-1]
    total, cross, count = np.zeros(width), np.zeros((width, width)), 0
    for grid in features:
        flat = grid.reshape(-1, width)
        if len(flat) > share:
            flat = flat[rng.choice(len(flat), share, replace=False)]
        rows = flat.astype(np.float64)
        total += rows.sum(axis=0)
        cross += rows.T @ rows
        count += len(rows)
    mean = total / count
    _, vectors = np.linalg.eigh(cross / count - np.outer(mean, mean))
    weights = vectors[:, ::-1][:, : min(dim, width)].astype(np.float32)
    offset = -(mean.astype(np.float32) @ weights)
    return np.vstack([weights, offset[np.newaxis]]).astype(np.float32)


def project(features: Features, projection: Features) -> Features:
    """Patch features (..., D) in the projected space (..., k)."""
    # numpy's stubs type an integer index (projection[-1]) as Any
    return cast(Features, features @ projection[:-1] + projection[-1])


def greedy_coreset(
    features: Features,
    size: int,
    rng: np.random.Generator,
    progress: Callable[[int, int], None] | None = None,
) -> npt.NDArray[np.int64]:
    """Indices of ``size`` rows chosen by greedy k-centre selection (PatchCore's coreset).

    Each step is one pass over every candidate, which is what dominates training time;
    the caller bounds it by sampling candidates and by projecting features first.
    """
    count = len(features)
    if size >= count:
        return np.arange(count, dtype=np.int64)
    norms = np.einsum("ij,ij->i", features, features)
    nearest = np.full(count, np.inf, dtype=np.float32)
    chosen = np.empty(size, dtype=np.int64)
    index = int(rng.integers(count))
    distance = np.empty(count, dtype=np.float32)
    for step in range(size):
        chosen[step] = index
        np.matmul(features, features[index], out=distance)
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

    def distances(self, queries: Features, exclude: tuple[int, int] | None = None) -> Features:
        """Euclidean distance of each query row to its nearest bank row.

        ``exclude`` = (start, stop) leaves those bank rows out of the search.
        """
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if exclude is None or exclude[0] >= exclude[1]:
            squared, _ = self._index.search(queries, 1)
        else:
            outside = faiss.IDSelectorNot(faiss.IDSelectorRange(*exclude))
            # faiss's Python wrapper takes fields as keywords; its stubs only know the SWIG init
            params = faiss.SearchParameters(sel=outside)  # type: ignore[call-arg]
            squared, _ = self._index.search(queries, 1, params=params)
        return np.sqrt(np.maximum(squared[:, 0], 0.0))
