"""From patch distances to the anomaly map, the image score and the normalised scale.

The map is blurred on the patch grid (cheap, and it removes single-patch noise) and
then upsampled bilinearly to the input image. The image score is the maximum of that
final map, so "score above threshold" and "some map pixel above threshold" are the
same statement: the verdict and the defect regions the flow draws always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

Grid = npt.NDArray[np.float32]

#: Where the calibrated threshold lands on the normalised scale.
NORMALISED_THRESHOLD = 0.5


def smooth_grid(distances: Grid, dilation_cells: int, sigma_cells: float) -> Grid:
    """Max filter then Gaussian blur of the patch-distance grid.

    The max filter lets a defect's peak cover its neighbourhood, so the map marks the
    whole defective area (and the boxes drawn from it enclose the defect) instead of
    only the single most distant patch; it leaves the image score, the maximum,
    unchanged. The blur then removes single-patch noise.
    """
    # cv2's stubs type results as arrays of any numeric dtype; these keep float32.
    if dilation_cells > 1:
        kernel = np.ones((dilation_cells, dilation_cells), np.uint8)
        distances = cast(Grid, cv2.dilate(distances, kernel))
    if sigma_cells <= 0.0:
        return distances
    blurred = cv2.GaussianBlur(
        distances, (0, 0), sigmaX=sigma_cells, sigmaY=sigma_cells, borderType=cv2.BORDER_REFLECT
    )
    return cast(Grid, blurred)


@dataclass(frozen=True)
class ScoreScale:
    """Affine map from raw distances to the normalised scale.

    ``offset`` (a typical distance of a good patch) goes to 0 and ``threshold``
    (the calibrated raw threshold) goes to :data:`NORMALISED_THRESHOLD`.
    """

    offset: float
    threshold: float

    def normalise(self, raw: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        span = max(self.threshold - self.offset, 1e-12)
        scaled = (raw - self.offset) * (NORMALISED_THRESHOLD / span)
        # numpy's stubs lose the array type when a ufunc is given dtype=
        return cast(Grid, np.maximum(scaled, 0.0, dtype=np.float32))


def anomaly_map(grid: Grid, scale: ScoreScale, height: int, width: int) -> Grid:
    """Normalised map at the input image's resolution."""
    normalised = scale.normalise(grid)
    resized = cv2.resize(normalised, (width, height), interpolation=cv2.INTER_LINEAR)
    return cast(Grid, resized)  # cv2's stubs do not keep the dtype
