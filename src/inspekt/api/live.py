"""What the dashboard shows live: the last inspection, counts, throughput and latency.

A subscriber on the inspecting thread keeps a few numbers and a copy of the last
inspection (microseconds to a millisecond); the dashboard's event stream reads a
snapshot of them a few times a second, and the last annotated image is drawn only
when a browser asks for it, once per inspection whatever the number of browsers.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from ..history import iso_time
from ..results import Inspection

__all__ = ["LiveFeed"]

#: Throughput is counted over this many seconds, latency over this many inspections.
_THROUGHPUT_S = 10.0
_LATENCY_COUNT = 100


class LiveFeed:
    """Subscriber keeping the numbers and the last inspection for the dashboard."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: Grows by one with every inspection: the stream sends only when it moved.
        self.seq = 0
        self._counts: Counter[str] = Counter()
        self._finished: deque[float] = deque()
        self._latencies: deque[float] = deque(maxlen=_LATENCY_COUNT)
        self._last: Inspection | None = None
        self._last_summary: dict[str, Any] | None = None
        self._drawn: tuple[int, bytes] | None = None
        self._watching = 0

    @property
    def watched(self) -> bool:
        """Whether a dashboard is open (its event stream connected)."""
        return self._watching > 0

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Count one dashboard as watching while the block runs."""
        with self._lock:
            self._watching += 1
        try:
            yield
        finally:
            with self._lock:
                self._watching -= 1

    def __call__(self, inspection: Inspection) -> None:
        context = inspection.context
        score = context.get("score")
        total_ms = inspection.load_ms + inspection.flow_ms
        # the frame may be a client's shared memory; an OK image from a replica elsewhere
        # comes without pictures while nobody watches
        pictured = context.get("image") is not None
        detached = inspection.detached() if pictured else None
        with self._lock:
            self.seq += 1
            verdict = inspection.verdict
            self._counts[verdict] += 1
            self._finished.append(time.monotonic())
            self._latencies.append(total_ms)
            self._last = detached
            threshold = context.get("threshold")
            self._last_summary = {
                "seq": self.seq,
                "id": None,
                "time": iso_time(inspection.finished_at),
                "result": verdict,
                "score": float(score) if isinstance(score, (int, float)) else None,
                "threshold": float(threshold) if isinstance(threshold, (int, float)) else None,
                "total_ms": round(total_ms, 3),
                "data": context.get("data") or None,
                "n_rectangles": len(context.get("detectedRectangles") or []),
            }

    def snapshot(self) -> dict[str, Any]:
        """The numbers the dashboard's event stream sends."""
        now = time.monotonic()
        with self._lock:
            while self._finished and self._finished[0] < now - _THROUGHPUT_S:
                self._finished.popleft()
            counts = {result: self._counts.get(result, 0) for result in ("ok", "nok", "error", "-")}
            latencies = np.array(self._latencies) if self._latencies else None
            recent = len(self._finished)
            last = None if self._last_summary is None else dict(self._last_summary)
        judged = counts["ok"] + counts["nok"]
        return {
            "last": last,
            "counts": counts,
            "yield_percent": None if judged == 0 else round(100 * counts["ok"] / judged, 2),
            "throughput": round(recent / _THROUGHPUT_S, 2),
            "latency_ms": {
                "p50": None if latencies is None else round(float(np.percentile(latencies, 50)), 2),
                "p95": None if latencies is None else round(float(np.percentile(latencies, 95)), 2),
            },
            "time": iso_time(time.time()),
        }

    def annotated_jpeg(self) -> bytes | None:
        """The last inspection's annotated image as JPEG (drawn once per inspection)."""
        with self._lock:
            seq, last, drawn = self.seq, self._last, self._drawn
        if last is None:
            return None
        if drawn is not None and drawn[0] == seq:
            return drawn[1]
        ok, encoded = cv2.imencode(
            ".jpg", last.image("annotated_image"), [cv2.IMWRITE_JPEG_QUALITY, 85]
        )
        if not ok:
            return None
        jpeg = encoded.tobytes()
        with self._lock:
            self._drawn = (seq, jpeg)
        return jpeg
