"""Types shared across the package: array and context aliases, and what must be closed."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["Closeable", "Context", "HeatMap", "Image", "Progress"]

#: An image as the flow sees it: BGR (H, W, 3) or grayscale (H, W), uint8.
Image = npt.NDArray[np.uint8]

#: A heat map in [0, 1], float32 (H, W).
HeatMap = npt.NDArray[np.float32]

#: The flow context: a plain dict, so user code can edit it like in PEKAT.
Context = dict[str, Any]

#: Progress of long work (training, evaluation): (done, total, stage).
Progress = Callable[[int, int, str], None]

_Opened = TypeVar("_Opened", bound="Closeable")


class Closeable(ABC):
    """Holds running resources (threads, child processes, sessions) until closed.

    Usable in a ``with`` block, which closes it on the way out.
    """

    @abstractmethod
    def close(self) -> None:
        """Stop and release everything; safe to call more than once."""

    def __enter__(self: _Opened) -> _Opened:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
