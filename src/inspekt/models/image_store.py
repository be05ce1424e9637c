"""Training images kept in a scratch file instead of memory, read back a batch at a time.

A thousand 640² squares are 1.2 GB: held as one array they would take most of the
2 GB a training run may use, before the network's activations. In an unnamed scratch
file they live in the OS's page cache, which is not the process's memory and is given
back under pressure, and a step reads only its batch (a fraction of a millisecond per
image from the cache).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from types import TracebackType

import numpy as np
import numpy.typing as npt

from ..errors import TrainingError

__all__ = ["ImageStore"]

Rows = int | slice | npt.NDArray[np.bool_] | npt.NDArray[np.int64]


class ImageStore:
    """Same-shape uint8 arrays appended to a scratch file; indexed like a numpy array.

    ``store[rows]`` reads rows (an int, a slice, an index or boolean array) into memory;
    ``store.view(rows)`` is a store of those rows alone, reading from the same file.
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.item_shape = shape
        self._item_bytes = int(np.prod(shape))
        self._file = tempfile.TemporaryFile(prefix="inspekt-images-")
        self._rows: npt.NDArray[np.int64] | None = None  # None: every row, in order
        self._count = 0

    def append(self, item: npt.NDArray[np.uint8]) -> None:
        if item.shape != self.item_shape or item.dtype != np.uint8:
            raise TrainingError(
                f"a training image should be uint8 {self.item_shape}, "
                f"got {item.dtype} {item.shape}"
            )
        if self._rows is not None:
            raise TrainingError("a view of the training images cannot be appended to")
        os.pwrite(self._file.fileno(), np.ascontiguousarray(item).data,
                  self._count * self._item_bytes)
        self._count += 1

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self), *self.item_shape)

    def __len__(self) -> int:
        return self._count if self._rows is None else len(self._rows)

    def _file_rows(self, rows: Rows) -> npt.NDArray[np.int64]:
        every = np.arange(self._count) if self._rows is None else self._rows
        return np.atleast_1d(every[rows])

    def __getitem__(self, rows: Rows) -> npt.NDArray[np.uint8]:
        chosen = self._file_rows(rows)
        out = np.empty((len(chosen), *self.item_shape), np.uint8)
        for slot, row in enumerate(chosen):
            read = os.preadv(self._file.fileno(), [out[slot].data], int(row) * self._item_bytes)
            if read != self._item_bytes:
                raise TrainingError(f"the scratch file of training images is short at row {row}")
        return out[0] if isinstance(rows, (int, np.integer)) else out

    def __iter__(self) -> Iterator[npt.NDArray[np.uint8]]:
        for index in range(len(self)):
            yield self[index]

    def view(self, rows: Rows) -> ImageStore:
        """The chosen rows as a store of their own (no copy)."""
        viewed = object.__new__(ImageStore)
        viewed.__dict__.update(self.__dict__)
        viewed._rows = self._file_rows(rows)
        return viewed

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ImageStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
