"""Turn request bytes into images and images into PNG bytes.

Every decoder error becomes an :class:`~inspekt.errors.ImageError` whose
message says what was wrong, so the API can answer 400 without a traceback.
Sizes are checked *before* anything is allocated: a PNG header that claims
100k x 100k pixels is refused from its first 30 bytes.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast, overload

import cv2
import numpy as np

from ..errors import ImageError, ImageTooLargeError
from ..types import Image

__all__ = [
    "ImageFiles",
    "ImageLimits",
    "ReadOnDemand",
    "decode_image",
    "encode_png",
    "image_from_raw",
    "image_from_shared_memory",
    "list_images",
    "probe_size",
    "read_image_file",
]

T = TypeVar("T")

_SHM_DIR = Path("/dev/shm")
_SHM_NAME = re.compile(r"^/?[A-Za-z0-9_][A-Za-z0-9_.\-]{0,254}$")
# Top-left pixel red (R G / G B). OpenCV names Bayer codes after the second
# row, so an RGGB sensor is its "BG" code.
_BAYER_RGGB_TO_BGR = cv2.COLOR_BayerBG2BGR


@dataclass(frozen=True)
class ImageLimits:
    """Upper bounds on what a client may send."""

    max_pixels: int = 100_000_000
    max_side: int = 65_535

    def check(self, width: int, height: int) -> None:
        """Refuse zero, negative and absurd sizes before allocating."""
        if width <= 0 or height <= 0:
            raise ImageError(f"image size must be positive, got width={width} height={height}")
        if width > self.max_side or height > self.max_side or width * height > self.max_pixels:
            raise ImageTooLargeError(
                f"image of {width}x{height} pixels exceeds the limit of "
                f"{self.max_pixels} pixels ({self.max_side} per side)"
            )


def probe_size(data: bytes) -> tuple[int, int] | None:
    """Read (width, height) from a PNG, JPEG or BMP header without decoding."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(width), abs(height)
    if data[:2] == b"\xff\xd8":
        return _probe_jpeg(data)
    return None


def _probe_jpeg(data: bytes) -> tuple[int, int] | None:
    # Walk the marker segments to the first start-of-frame (SOF0..SOF15 but
    # DHT/JPG/DAC), which holds the frame size.
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if 0xD0 <= marker <= 0xD9 or marker == 0x01:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None


def decode_image(data: bytes, limits: ImageLimits = ImageLimits()) -> Image:
    """Decode JPEG/PNG/BMP/TIFF bytes to a BGR image."""
    if not data:
        raise ImageError("the request body is empty: expected encoded image bytes")
    size = probe_size(data)
    if size is not None:
        limits.check(*size)
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise ImageError(
            f"cannot decode the image ({len(data)} bytes): {_first_line(exc)}"
        ) from exc
    if image is None:
        raise ImageError(
            f"cannot decode the body ({len(data)} bytes) as JPEG, PNG, BMP or TIFF"
        )
    limits.check(image.shape[1], image.shape[0])
    return cast(Image, image)  # cv2's stubs do not say imdecode gives uint8


def image_from_raw(
    data: bytes | memoryview,
    width: int,
    height: int,
    *,
    bayer: bool = False,
    limits: ImageLimits = ImageLimits(),
) -> Image:
    """Interpret raw uint8 pixels: W*H*3 bytes BGR, W*H grayscale or Bayer RG8."""
    limits.check(width, height)
    pixels = width * height
    received = len(data)
    if bayer:
        if received != pixels:
            raise ImageError(
                f"raw Bayer image of {width}x{height} needs {pixels} bytes, received {received}"
            )
        mosaic = np.frombuffer(data, np.uint8).reshape(height, width)
        return cast(Image, cv2.cvtColor(mosaic, _BAYER_RGGB_TO_BGR))  # stubs lose the dtype
    if received == pixels * 3:
        return np.frombuffer(data, np.uint8).reshape(height, width, 3)
    if received == pixels:
        return np.frombuffer(data, np.uint8).reshape(height, width)
    raise ImageError(
        f"raw image of {width}x{height} needs {pixels * 3} bytes (BGR) or {pixels} bytes "
        f"(grayscale), received {received}"
    )


def image_from_shared_memory(
    name: str, width: int, height: int, limits: ImageLimits = ImageLimits()
) -> Image:
    """Copy a BGR (or grayscale) frame out of the POSIX shared-memory block ``name``.

    The block is opened by path and never registered with Python's resource
    tracker, so the server never unlinks a client's block.
    """
    if not _SHM_NAME.match(name):
        raise ImageError(f"invalid shared memory name {name!r}")
    limits.check(width, height)
    path = _SHM_DIR / name.lstrip("/")
    try:
        with open(path, "rb") as block:
            available = os.fstat(block.fileno()).st_size
            wanted = width * height * 3 if available >= width * height * 3 else width * height
            if available < wanted:
                raise ImageError(
                    f"shared memory {name!r} holds {available} bytes, a {width}x{height} "
                    f"image needs {width * height * 3} (BGR) or {width * height} (grayscale)"
                )
            data = block.read(wanted)
    except FileNotFoundError as exc:
        raise ImageError(f"no shared memory block named {name!r}") from exc
    except PermissionError as exc:
        raise ImageError(f"shared memory block {name!r} is not readable") from exc
    return image_from_raw(data, width, height, limits=limits)


def read_image_file(path: Path, limits: ImageLimits = ImageLimits()) -> Image:
    """Read an image file from disk (for training, batch analysis and tests)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"{path}: {exc.strerror}") from exc
    try:
        return decode_image(data, limits)
    except ImageError as exc:
        raise ImageError(f"{path}: {exc.message}") from exc


IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"})


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name."""
    if not folder.is_dir():
        raise ImageError(f"{folder}: image folder not found")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


class ReadOnDemand(Sequence[T]):
    """Items read only when indexed: ``read(source)`` for each of the sources.

    Training takes its data through this, so a set of thousands of images costs the
    memory of one image at a time rather than of all of them.
    """

    def __init__(self, sources: Sequence[Any], read: Callable[[Any], T]) -> None:
        self.sources = list(sources)
        self._read = read

    def __len__(self) -> int:
        return len(self.sources)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> ReadOnDemand[T]: ...
    def __getitem__(self, index: int | slice) -> T | ReadOnDemand[T]:
        if isinstance(index, slice):
            return ReadOnDemand(self.sources[index], self._read)
        return self._read(self.sources[index])


class ImageFiles(ReadOnDemand[Image]):
    """Image files, each read (and transformed) only when indexed."""

    def __init__(
        self, paths: Sequence[Path], transform: Callable[[Image], Image] | None = None
    ) -> None:
        def read(path: Path) -> Image:
            image = read_image_file(path)
            return image if transform is None else transform(image)

        super().__init__(paths, read)
        self.paths = list(paths)


def encode_png(image: Image, compression: int = 1) -> bytes:
    """PNG-encode an image; low compression because speed matters more than size here."""
    ok, buffer = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:
        raise ImageError(f"cannot encode an image of shape {image.shape} as PNG")
    return buffer.tobytes()


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
