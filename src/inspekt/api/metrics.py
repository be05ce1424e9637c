"""Prometheus metrics at ``/metrics``: requests, analyses, modules, queue, history.

Each server has its own registry (no process-wide state), fed from two places:
a pure ASGI middleware counts every answered request by route and status, and an
inspection subscriber times analyses and modules and counts verdicts; the service
keeps the queue depth and the history counts its failed writes. With several workers
each keeps its values in Prometheus' multiprocess files, summed when scraped.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..history import HistoryRecorder
from ..results import Inspection

__all__ = ["CONTENT_TYPE", "Metrics", "MetricsMiddleware"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Seconds: an analysis on a CPU takes milliseconds to a few seconds.
_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


class Metrics:
    """One server's metrics; call it with each finished inspection."""

    def __init__(self, history: HistoryRecorder | None, load_seconds: float) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "inspekt_requests", "HTTP requests answered, by route and status.",
            ["endpoint", "status"], registry=self.registry,
        )
        self.analysis = Histogram(
            "inspekt_analysis_seconds", "Time to load and inspect one image.",
            buckets=_BUCKETS, registry=self.registry,
        )
        self.modules = Histogram(
            "inspekt_module_seconds", "Time each module took on one image.", ["module"],
            buckets=_BUCKETS, registry=self.registry,
        )
        self.inspections = Counter(
            "inspekt_inspections", "Finished inspections by verdict (ok, nok, error, -).",
            ["result"], registry=self.registry,
        )
        #: Kept up by the service as analyses are admitted and finish.
        self.queue_depth = Gauge(
            "inspekt_queue_depth", "Analyses running or waiting.", registry=self.registry,
            multiprocess_mode="livesum",
        )
        Gauge(
            "inspekt_model_load_seconds", "Time to load the project and open its models.",
            registry=self.registry, multiprocess_mode="max",
        ).set(load_seconds)
        failures = Counter(
            "inspekt_history_write_failures",
            "Inspections the history could not record (a full disk, a full queue).",
            registry=self.registry,
        )
        if history is not None:
            history.count_failures(failures.inc)

    def __call__(self, inspection: Inspection) -> None:
        self.inspections.labels(inspection.verdict).inc()
        self.analysis.observe((inspection.load_ms + inspection.flow_ms) / 1000)
        for module, ms in inspection.module_ms.items():
            self.modules.labels(module).observe(ms / 1000)

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format: with several workers (Prometheus'
        multiprocess mode), summed over all of them."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts every answered request by its route's path (not the URL: ids and typos
    would make a series each) and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(endpoint, str(status)).inc()
