"""Server settings, fixed at start."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..imaging.io import ImageLimits

__all__ = [
    "API_COMPAT_VERSION", "API_VERSION_WITHOUT_SHARED_MEMORY", "LogFormat", "ServerSettings",
]

#: How request log lines look: ``text`` for people, ``json`` (one object a line) for collectors.
LogFormat = Literal["text", "json"]

#: What ``/version`` reports. The PEKAT SDK uses shared memory only from 3.18.0 on.
API_COMPAT_VERSION = "3.18.0"
#: What ``/version`` reports where ``/analyze_image_shared_memory`` cannot work (the flow
#: runs on replicas elsewhere): the API level before shared memory, so that the SDK sends
#: frames over HTTP instead of through a block the server cannot read.
API_VERSION_WITHOUT_SHARED_MEMORY = "3.17.0"


@dataclass(frozen=True)
class ServerSettings:
    """What the API enforces (keys and limits) and how it logs requests."""

    api_key: str | None = None
    #: With an api key on, this also opens the dashboard, the history and the metrics
    #: (not analyses, reviews or /stop): for people who watch the line.
    viewer_password: str | None = None
    stop_key: str | None = None
    max_body_bytes: int = 256 * 1024 * 1024
    limits: ImageLimits = field(default_factory=ImageLimits)
    #: Analyses run one after another on this many threads; more queue.
    workers: int = 1
    #: Analyses admitted at once (running + queued); beyond it 503 + Retry-After.
    max_queue: int = 16
    #: Seconds a client may take to send a request body (then 408).
    body_timeout: float = 30.0
    #: Seconds a client may take to send a request's headers (then the connection closes).
    header_timeout: float = 10.0
    #: One line per request on stderr in this format; None logs no requests.
    request_log: LogFormat | None = "text"
    #: With ``request_log`` None, still log refused api keys (401): an audit trail
    #: costs nothing while nobody is knocking.
    log_refused: bool = True
