"""Type aliases shared across the package."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

#: An image as the flow sees it: BGR (H, W, 3) or grayscale (H, W), uint8.
Image = npt.NDArray[np.uint8]

#: A heat map in [0, 1], float32 (H, W).
HeatMap = npt.NDArray[np.float32]

#: The flow context: a plain dict, so user code can edit it like in PEKAT.
Context = dict[str, Any]
