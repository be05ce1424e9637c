"""Hand work to a background thread without ever making the inspection wait.

A :class:`BackgroundWorker` owns a bounded backlog and one thread. ``submit``
never blocks: when the backlog is full the *oldest* item is dropped, counted and
reported, so the newest inspections win and nothing disappears silently. With
``retry`` an item that fails is tried again (backing off up to ``max_backoff``)
before the next one, which keeps order — what a PLC or webhook receiver expects.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["BackgroundWorker", "WorkerStatus"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class WorkerStatus:
    done: int
    failed: int
    dropped: int
    pending: int
    last_error: str | None
    failing: bool


class BackgroundWorker(Generic[T]):
    def __init__(
        self,
        name: str,
        handle: Callable[[T], None],
        *,
        capacity: int,
        retry: bool,
        max_backoff: float = 10.0,
    ) -> None:
        self.name = name
        self._handle = handle
        self._capacity = capacity
        self._retry = retry
        self._max_backoff = max_backoff
        self._items: deque[T] = deque()
        self._condition = threading.Condition()
        self._closing = False
        self._busy = False
        self._done = self._failed = self._dropped = 0
        self._last_error: str | None = None
        self._failing = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start delivering on the worker's own thread (items submitted before wait for it)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name=f"inspekt-{self.name}", daemon=True
            )
            self._thread.start()

    def submit(self, item: T) -> None:
        """Queue an item; drops (and counts) the oldest one when the backlog is full."""
        with self._condition:
            if len(self._items) >= self._capacity:
                # the head may be in flight right now: drop the oldest one still waiting
                del self._items[1 if self._busy and len(self._items) > 1 else 0]
                self._dropped += 1
                log.warning(
                    "%s: backlog full (%d), dropped the oldest item", self.name, self._capacity
                )
            self._items.append(item)
            self._condition.notify()

    def status(self) -> WorkerStatus:
        with self._condition:
            return WorkerStatus(
                # an item in flight stays at the head of the backlog until delivered
                self._done, self._failed, self._dropped, len(self._items),
                self._last_error, self._failing,
            )

    def close(self, timeout: float = 10.0) -> None:
        """Finish the backlog (within ``timeout``), then stop the thread."""
        if self._thread is None:
            return
        deadline = time.monotonic() + timeout
        with self._condition:
            while (self._items or self._busy) and not self._failing and time.monotonic() < deadline:
                self._condition.wait(0.05)
            self._closing = True
            self._condition.notify_all()
        self._thread.join(max(0.0, deadline - time.monotonic()) + 1)
        left = self.status().pending
        if left:
            log.error("%s: %d items not delivered at shutdown", self.name, left)

    def _loop(self) -> None:
        backoff = 0.2
        while True:
            with self._condition:
                while not self._items and not self._closing:
                    self._condition.wait()
                if self._closing and (not self._items or self._failing):
                    return
                item = self._items[0]
                self._busy = True
            try:
                self._handle(item)
            except Exception as exc:
                self._record_failure(item, exc)
                if self._retry:
                    self._sleep(backoff)
                    backoff = min(backoff * 2, self._max_backoff)
                continue
            finally:
                with self._condition:
                    self._busy = False
                    self._condition.notify_all()
            backoff = 0.2
            with self._condition:
                if self._items and self._items[0] is item:
                    self._items.popleft()
                self._done += 1
                self._failing = False

    def _record_failure(self, item: T, exc: Exception) -> None:
        with self._condition:
            self._failed += 1
            self._failing = True
            self._last_error = f"{type(exc).__name__}: {exc}"
            if not self._retry and self._items and self._items[0] is item:
                self._items.popleft()
        log.warning("%s: %s", self.name, self._last_error)

    def _sleep(self, seconds: float) -> None:
        with self._condition:
            if not self._closing:
                self._condition.wait(seconds)

    def report(self, previous_dropped: int) -> tuple[str | None, int]:
        """A message for the context when items were dropped or delivery is failing."""
        status = self.status()
        parts = []
        if status.dropped > previous_dropped:
            parts.append(f"{status.dropped - previous_dropped} dropped (backlog full)")
        if status.failing:
            parts.append(f"failing: {status.last_error}; {status.pending} waiting")
        return ("; ".join(parts) if parts else None), status.dropped
