"""Prometheus metrics at ``/metrics``: requests, analyses, modules, queue, history.

Each server has its own registry (no process-wide state), fed from two places:
a pure ASGI middleware counts every answered request by route and status, and an
inspection subscriber times analyses and modules and counts verdicts. The queue
depth, the history's write failures and the model load time are read when scraped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..history import HistoryRecorder
from ..results import Inspection

__all__ = ["CONTENT_TYPE", "Metrics", "MetricsMiddleware"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Seconds: an analysis on a CPU takes milliseconds to a few seconds.
_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


class Metrics:
    """One server's metrics; call it with each finished inspection."""

    def __init__(
        self, queue_depth: Callable[[], float], history: HistoryRecorder | None,
        load_seconds: float,
    ) -> None:
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
        Gauge(
            "inspekt_queue_depth", "Analyses running or waiting.", registry=self.registry
        ).set_function(queue_depth)
        Gauge(
            "inspekt_model_load_seconds", "Time to load the project and open its models.",
            registry=self.registry,
        ).set(load_seconds)
        if history is not None:
            self.registry.register(_HistoryFailures(history))

    def __call__(self, inspection: Inspection) -> None:
        self.inspections.labels(inspection.verdict).inc()
        self.analysis.observe((inspection.load_ms + inspection.flow_ms) / 1000)
        for module, ms in inspection.module_ms.items():
            self.modules.labels(module).observe(ms / 1000)

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)


class _HistoryFailures(Collector):
    """The history's failed writes, read from the recorder when scraped."""

    def __init__(self, history: HistoryRecorder) -> None:
        self.history = history

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "inspekt_history_write_failures",
            "Inspections the history could not record (a full disk, a full queue).",
            value=self.history.failures,
        )


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
