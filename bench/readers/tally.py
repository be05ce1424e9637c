"""What both reader benchmarks count per reader: images, times, and the failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Tally:
    """Images read, each one's milliseconds, and what each failed one had."""

    images: int = 0
    times: list[float] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def timed(self, ms: float) -> None:
        self.images += 1
        self.times.append(ms)

    def timing_json(self) -> dict[str, Any]:
        return {
            "p50_ms": round(float(np.percentile(self.times, 50)), 1),
            "p95_ms": round(float(np.percentile(self.times, 95)), 1),
            "failed": self.failed,
        }
