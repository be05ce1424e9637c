"""Test images at camera sizes and the requests that carry them by each transport."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from multiprocessing import shared_memory
from pathlib import Path

import cv2
import numpy as np
from load import Req

REPO = Path(__file__).resolve().parent.parent
SOURCE_IMAGE = REPO / "demo" / "images" / "test" / "good_04.jpg"
SIZES: dict[str, tuple[int, int]] = {
    "640x480": (640, 480),
    "1920x1080": (1920, 1080),
    "4096x3000": (4096, 3000),
}
TRANSPORTS = ("raw", "jpeg", "png", "shm", "multipart")
OCTET = (("Content-Type", "application/octet-stream"),)


def camera_image(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A BGR frame: a real photo scaled to the size plus mild sensor noise (sigma 2).

    The noise keeps PNG and JPEG sizes (and decode times) realistic: a scaled
    photo alone is smoother than any camera frame.
    """
    photo = cv2.imread(str(SOURCE_IMAGE), cv2.IMREAD_COLOR)
    if photo is None:  # the demo folder is missing: a synthetic scene
        yy, xx = np.mgrid[0:512, 0:512]
        photo = np.stack([(xx * 0.5) % 256, (yy * 0.5) % 256, ((xx + yy) * 0.25) % 256], -1)
        photo = photo.astype(np.uint8)
    image = cv2.resize(photo, (width, height), interpolation=cv2.INTER_LINEAR)
    noise = np.random.default_rng(seed).normal(0, 2, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def encode(image: np.ndarray, fmt: str) -> bytes:
    if fmt == "jpeg":
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    else:
        ok, buf = cv2.imencode(".png", image)  # OpenCV's default compression (3)
    assert ok
    return buf.tobytes()


def multipart_body(fields: dict[str, str], part: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    chunks = []
    for key, value in fields.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    chunks.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{part}"; filename="{part}.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
    )
    chunks += [data, f"\r\n--{boundary}--\r\n".encode()]
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


@dataclass
class Payload:
    """One image in every transport's form, plus the shared-memory block for it."""

    width: int
    height: int
    image: np.ndarray
    raw: bytes
    jpeg: bytes
    png: bytes
    shm_block: shared_memory.SharedMemory | None = None

    @classmethod
    def make(cls, width: int, height: int, seed: int = 0) -> Payload:
        image = camera_image(width, height, seed)
        jpeg, png = encode(image, "jpeg"), encode(image, "png")
        return cls(width, height, image, image.tobytes(), jpeg, png)

    def body_bytes(self, transport: str) -> int:
        return {"raw": len(self.raw), "jpeg": len(self.jpeg), "png": len(self.png),
                "shm": 0, "multipart": len(self.raw)}[transport]

    def req(self, transport: str, query: str = "") -> Req:
        w, h = self.width, self.height
        extra = f"&{query}" if query else ""
        if transport == "raw":
            return Req("POST", f"/analyze_raw_image?width={w}&height={h}{extra}", self.raw, OCTET)
        if transport in ("jpeg", "png"):
            body = self.jpeg if transport == "jpeg" else self.png
            return Req("POST", f"/analyze_image?{query}", body, OCTET)
        if transport == "shm":
            if self.shm_block is None:
                self.shm_block = shared_memory.SharedMemory(create=True, size=len(self.raw))
            name = self.shm_block.name.lstrip("/")
            return Req(
                "POST", f"/analyze_image_shared_memory?name={name}&width={w}&height={h}{extra}",
                shm=(name, self.raw),
            )
        if transport == "multipart":
            body, ctype = multipart_body({"width": str(w), "height": str(h)}, "array", self.raw)
            return Req("POST", f"/analyze_raw_image?{query}", body, (("Content-Type", ctype),))
        raise ValueError(transport)

    def close(self) -> None:
        if self.shm_block is not None:
            self.shm_block.close()
            self.shm_block.unlink()
            self.shm_block = None
