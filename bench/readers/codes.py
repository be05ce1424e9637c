"""Code reading: read rate, false reads and time of the barcode module on synthetic parts.

For each format (QR Code, Data Matrix, Code 128) ``--count`` seeded 1920x1080 images are
made: a part-like background (a smooth gradient, texture, a darker part), one code with
a random serial-like text drawn by the library made for it (segno, zxing-cpp's writer,
python-barcode's encoder) small on a light label, pasted anywhere, turned by any angle,
warped in perspective, lit unevenly, blurred and noised (the ranges are the constants
below). Each reader reads every image, timed alone with ``time.perf_counter``:

- ``inspekt_default``: ``BarcodeModule.read`` at the default options (every format);
- ``inspekt_one_format``: the same with ``formats`` set to the code's one format;
- ``inspekt_one_format_roi``: that, plus a 512x512 ``roi`` holding the code (a label
  whose place on the part is known), for the time a line would see;
- ``zxing_direct``: ``zxingcpp.read_barcodes`` at the library's defaults, a check on
  what the module's wrapping adds or loses;
- ``opencv``: the reference, ``cv2.QRCodeDetector().detectAndDecode`` for QR codes
  (null for Data Matrix, which OpenCV does not read, and for Code 128, which
  ``cv2.barcode`` finds but decodes only for EAN/UPC);
- ``pyzbar``: only when the package imports with Debian's libzbar0 present.

A code counts as read when one reading has the expected text (and format, where the
reader reports one); every other reading is a false read. One JSON line goes to stdout
(and is appended to ``--out``), a table to stderr; ``--failures`` adds each unread
image's angle, blur, noise and size to the JSON.

    python bench/readers/codes.py --count 100 --out bench/out/readers/codes.jsonl
    python bench/readers/codes.py --count 1 --save bench/readers/examples   # see them
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import barcode
import cv2
import numpy as np
import segno
import zxingcpp
from scene import LIGHT_GAIN, part_background, photographed
from tally import Tally

from inspekt.modules import ModuleEnv, build_modules
from inspekt.modules.barcode import BarcodeModule

WIDTH, HEIGHT = 1920, 1080
FORMATS = ("QRCode", "DataMatrix", "Code128")

# ---- the perturbations' ranges ----------------------------------------------------------

#: Pixels per module of a 2D code: 3 px is about the least a 2D reader is specified for
#: (a 21-module QR code is then ~90 px with its quiet zone); 5 px is a comfortable print.
MODULE_PX_2D = (3, 5)
#: Pixels per narrow bar of Code 128: 2 px is the least a 1D decoder can tell a narrow
#: from a wide bar with blur on top; 3 px is a comfortable print.
MODULE_PX_1D = (2, 3)
#: Code 128 bar height (px): 80 px is a short label; 120 px leaves scan lines across the
#: whole code at some more tilt.
BAR_HEIGHT_PX = (80, 120)
#: Label (quiet zone) and ink gray: a printed label on a part is lighter than the part,
#: the ink is never true black nor the paper true white under a real light.
PAPER_GRAY = (170, 235)
INK_GRAY = (10, 70)
#: Turn (degrees): a part can come in at any angle, and so can its code.
ANGLE_DEG = (0.0, 360.0)
#: Each corner moved by up to this fraction of the code's size: a camera tilted ~10-15 deg
#: off the part's normal, or a slightly bent label.
PERSPECTIVE = 0.08
#: Gaussian blur sigma (px): a lens slightly out of focus or a small motion; 1.2 px on a
#: 2-3 px module is where a well-set line camera stops, not where a reader should.
BLUR_SIGMA = (0.0, 1.2)
#: Gaussian sensor noise sigma (gray levels): 8 is a cheap sensor at a high gain.
NOISE_SIGMA = (0.0, 8.0)
#: Side of the ROI window of the ``inspekt_one_format_roi`` reader (px).
ROI_SIDE = 512

# ---- codes, drawn exactly by the libraries made for them ---------------------------------


def code_text(rng: np.random.Generator) -> str:
    """A serial-like text: ``SN`` and 8 digits, or a date and a lot."""
    if rng.random() < 0.5:
        return "SN" + "".join(str(d) for d in rng.integers(0, 10, 8))
    day = f"{rng.integers(2020, 2030)}{rng.integers(1, 13):02d}{rng.integers(1, 29):02d}"
    return f"{day}-L{rng.integers(0, 10000):04d}"


def code_modules(kind: str, text: str) -> np.ndarray:
    """The code's modules (1 = ink) with its quiet zone, one array cell each."""
    if kind == "QRCode":
        return np.pad(np.array(segno.make_qr(text).matrix, np.uint8), 4)
    if kind == "DataMatrix":
        symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.DataMatrix)
        picture = np.asarray(zxingcpp.write_barcode_to_image(symbol, scale=1))
        return np.pad((picture < 128).astype(np.uint8), 1)  # the writer's zone is 1 module
    bars = barcode.get("code128", text).build()[0]
    return np.pad(np.array([[int(bar) for bar in bars]], np.uint8), ((0, 0), (10, 10)))


def code_patch(kind: str, text: str, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """The code printed at a random small size: ink on a label, float gray; and its
    (narrow) module's size in pixels."""
    modules = code_modules(kind, text)
    if kind == "Code128":
        narrow = int(rng.integers(MODULE_PX_1D[0], MODULE_PX_1D[1] + 1))
        tall = int(rng.integers(BAR_HEIGHT_PX[0], BAR_HEIGHT_PX[1] + 1))
        pixels = np.repeat(np.repeat(modules, narrow, axis=1), tall, axis=0)
        pixels = np.pad(pixels, ((10, 10), (0, 0)))  # a light margin above and below
        side = narrow
    else:
        side = int(rng.integers(MODULE_PX_2D[0], MODULE_PX_2D[1] + 1))
        pixels = np.kron(modules, np.ones((side, side), np.uint8))
    paper, ink = rng.uniform(*PAPER_GRAY), rng.uniform(*INK_GRAY)
    return np.where(pixels > 0, ink, paper).astype(np.float32), side


# ---- the images --------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One generated image and what it holds."""

    kind: str
    text: str
    image: np.ndarray  # 1920x1080 BGR uint8
    corners: np.ndarray  # the code's 4 corners on the image
    roi: dict[str, int]  # a ROI_SIDE square holding the code, placed at random around it
    settings: dict[str, float]


def make_sample(kind: str, index: int, seed: int) -> Sample:
    """The ``index``-th image of ``kind``: the same for the same seed."""
    rng = np.random.default_rng([seed, FORMATS.index(kind), index])
    text = code_text(rng)
    patch, module_px = code_patch(kind, text, rng)
    image = part_background(rng, WIDTH, HEIGHT)
    # turn and warp the label by where its corners land on the image
    height, width = patch.shape
    angle = rng.uniform(*ANGLE_DEG)
    reach = math.hypot(width, height) / 2 * (1 + PERSPECTIVE)
    centre = np.array([rng.uniform(reach + 8, WIDTH - reach - 8),
                       rng.uniform(reach + 8, HEIGHT - reach - 8)])
    source = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    half = source - (width / 2, height / 2)
    half += rng.uniform(-PERSPECTIVE, PERSPECTIVE, (4, 2)) * max(width, height)
    corners = (half @ np.array([[cos, sin], [-sin, cos]]) + centre).astype(np.float32)
    warp = cv2.getPerspectiveTransform(source, corners)
    label = cv2.warpPerspective(patch, warp, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones_like(patch), warp, (WIDTH, HEIGHT))
    image = image * (1 - mask) + label
    gray, blur, noise = photographed(image, rng, BLUR_SIGMA, NOISE_SIGMA)
    # a ROI square holding the code's box, at a random offset
    low, high = corners.min(axis=0), corners.max(axis=0)
    x_from = max(0, int(high[0]) + 2 - ROI_SIDE)
    x_to = max(x_from, min(WIDTH - ROI_SIDE, int(low[0]) - 2))
    y_from = max(0, int(high[1]) + 2 - ROI_SIDE)
    y_to = max(y_from, min(HEIGHT - ROI_SIDE, int(low[1]) - 2))
    roi = {"x": int(rng.integers(x_from, x_to + 1)), "y": int(rng.integers(y_from, y_to + 1)),
           "width": ROI_SIDE, "height": ROI_SIDE}
    settings = {
        "angle": round(angle, 1), "blur": round(blur, 2), "noise": round(noise, 1),
        "size_px": int(max(width, height)), "module_px": module_px,
    }
    return Sample(kind, text, cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), corners, roi, settings)


# ---- readers: each gives (text, format or None) per code read ----------------------------

Found = list[tuple[str, str | None]]
Reader = Callable[[Sample], Found]


def barcode_module(**options: Any) -> BarcodeModule:
    """A barcode module outside a project, as a flow would build it."""
    specs = [{"type": "barcode", "name": "barcode", **options}]
    (built,) = build_modules(specs, ModuleEnv(Path(".")))
    assert isinstance(built, BarcodeModule)
    return built


def inspekt_reader(kind: str, one_format: bool, roi: bool) -> Reader:
    """``BarcodeModule.read``; modules with a ROI are built per image, outside the timing."""
    formats = {"formats": [kind]} if one_format else {}
    if not roi:
        module = barcode_module(**formats)
        return lambda sample: [(r.text, r.format) for r in module.read(sample.image)]
    modules: dict[tuple[int, int], BarcodeModule] = {}

    def read(sample: Sample) -> Found:
        key = (sample.roi["x"], sample.roi["y"])
        module = modules.get(key) or barcode_module(**formats, roi=sample.roi)
        modules[key] = module
        return [(r.text, r.format) for r in module.read(sample.image)]

    return read


def zxing_direct(sample: Sample) -> Found:
    return [(c.text, c.format.name) for c in zxingcpp.read_barcodes(sample.image)]


def opencv_qr() -> Reader:
    detector = cv2.QRCodeDetector()

    def read(sample: Sample) -> Found:
        text, _, _ = detector.detectAndDecode(sample.image)
        return [(text, "QRCode")] if text else []

    return read


def pyzbar_reader() -> tuple[Reader | None, str]:
    """pyzbar's reader, or why there is none."""
    try:
        from pyzbar import pyzbar  # type: ignore[import-not-found]
    except (ImportError, OSError) as exc:  # no package, or no libzbar0 under it
        return None, f"skipped, needs the pyzbar package and Debian's libzbar0: {exc}"
    names = {"QRCODE": "QRCode", "CODE128": "Code128"}

    def read(sample: Sample) -> Found:
        return [(c.data.decode("utf-8", "replace"), names.get(c.type, c.type))
                for c in pyzbar.decode(sample.image)]

    return read, "pyzbar " + getattr(pyzbar, "__version__", "")


def readers(kind: str) -> dict[str, Reader | None]:
    """Every reader of this format; None where the reader cannot read it."""
    found: dict[str, Reader | None] = {
        "inspekt_default": inspekt_reader(kind, one_format=False, roi=False),
        "inspekt_one_format": inspekt_reader(kind, one_format=True, roi=False),
        "inspekt_one_format_roi": inspekt_reader(kind, one_format=True, roi=True),
        "zxing_direct": zxing_direct,
        "opencv": opencv_qr() if kind == "QRCode" else None,
    }
    zbar, _ = pyzbar_reader()
    if zbar is not None:
        found["pyzbar"] = zbar if kind in ("QRCode", "Code128") else None
    return found


# ---- scoring -----------------------------------------------------------------------------


@dataclass
class Score(Tally):
    """One reader's tally on one format."""

    read: int = 0
    false_reads: int = 0

    def add(self, sample: Sample, found: Found, ms: float) -> None:
        self.timed(ms)
        right = [(text, form) for text, form in found
                 if text == sample.text and form in (None, sample.kind)]
        self.read += bool(right)
        self.false_reads += len(found) - len(right)
        if not right or len(found) > len(right):
            self.failed.append({**sample.settings, "read": [text for text, _ in found]})

    def as_json(self) -> dict[str, Any]:
        return {
            "read_rate": round(self.read / self.images, 4),
            "false_reads": self.false_reads,
            **self.timing_json(),
        }


def measure(kind: str, count: int, seed: int, save: Path | None) -> dict[str, Any]:
    """Every reader's score on ``count`` images of ``kind``."""
    chosen = readers(kind)
    scores = {name: Score() for name, reader in chosen.items() if reader is not None}
    warm = make_sample(kind, 10**6, seed)  # first calls allocate; not timed, not scored
    for name in scores:
        reader = chosen[name]
        assert reader is not None
        reader(warm)
    for index in range(count):
        sample = make_sample(kind, index, seed)
        if save is not None and index == 0:
            save_crop(sample, save)
        for name, score in scores.items():
            reader = chosen[name]
            assert reader is not None
            started = time.perf_counter()
            found = reader(sample)
            score.add(sample, found, (time.perf_counter() - started) * 1000)
    return {name: (scores[name].as_json() if name in scores else None) for name in chosen}


def save_crop(sample: Sample, folder: Path, side: int = 384) -> None:
    """A ``side`` square of the image around the code, at full resolution, as gray PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    x, y = (int(v) for v in sample.corners.mean(axis=0))
    x = min(max(0, x - side // 2), WIDTH - side)
    y = min(max(0, y - side // 2), HEIGHT - side)
    crop = sample.image[y : y + side, x : x + side, 0]
    cv2.imwrite(str(folder / f"{sample.kind.lower()}.png"), crop, [cv2.IMWRITE_PNG_COMPRESSION, 9])


def table(results: dict[str, dict[str, Any]]) -> str:
    """The results as a text table."""
    lines = [f"{'format':<11} {'reader':<24} {'read':>7} {'false':>5} {'p50 ms':>7} {'p95 ms':>7}"]
    for kind, by_reader in results.items():
        for name, row in by_reader.items():
            if row is None:
                lines.append(f"{kind:<11} {name:<24} {'-':>7} {'-':>5} {'-':>7} {'-':>7}")
            else:
                lines.append(
                    f"{kind:<11} {name:<24} {row['read_rate']:>7.1%} {row['false_reads']:>5} "
                    f"{row['p50_ms']:>7.1f} {row['p95_ms']:>7.1f}"
                )
    return "\n".join(lines)


def emit(row: dict[str, Any], out: Path | None) -> None:
    """Print the row as one JSON line, and append it to ``out``."""
    line = json.dumps(row)
    print(line)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a") as handle:
            handle.write(line + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="images per format")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--out", type=Path, help="append the JSON result to this file")
    parser.add_argument("--save", type=Path, help="save a crop of each format's first "
                        "image around its code here")
    parser.add_argument("--failures", action="store_true",
                        help="list each failed image's perturbations in the JSON")
    args = parser.parse_args()
    started = time.perf_counter()
    results = {kind: measure(kind, args.count, args.seed, args.save) for kind in args.formats}
    failures = {
        kind: {name: row.pop("failed") for name, row in by_reader.items() if row is not None}
        for kind, by_reader in results.items()
    }
    _, zbar = pyzbar_reader()
    row: dict[str, Any] = {
        "bench": "readers/codes",
        "count": args.count,
        "seed": args.seed,
        "image": [WIDTH, HEIGHT],
        "ranges": {
            "module_px_2d": MODULE_PX_2D, "module_px_1d": MODULE_PX_1D,
            "bar_height_px": BAR_HEIGHT_PX, "paper_gray": PAPER_GRAY, "ink_gray": INK_GRAY,
            "angle_deg": ANGLE_DEG, "perspective": PERSPECTIVE, "light_gain": LIGHT_GAIN,
            "blur_sigma": BLUR_SIGMA, "noise_sigma": NOISE_SIGMA,
        },
        "options": {
            "inspekt_default": barcode_module().options.model_dump(exclude={"name", "type"}),
            "inspekt_one_format": {"formats": ["<the code's format>"]},
            "inspekt_one_format_roi": {"formats": ["<the code's format>"],
                                       "roi": f"{ROI_SIDE}x{ROI_SIDE} around the code"},
            "zxing_direct": "zxingcpp.read_barcodes(image) at its defaults",
            "opencv": "cv2.QRCodeDetector().detectAndDecode; cv2.barcode decodes no Code 128",
            "pyzbar": zbar,
        },
        "results": results,
        "versions": {
            "python": platform.python_version(), "opencv": cv2.__version__,
            "zxing-cpp": metadata.version("zxing-cpp"), "segno": segno.__version__,
            "python-barcode": barcode.version,
        },
        "wall_s": round(time.perf_counter() - started, 1),
    }
    if args.failures:
        row["failures"] = failures
    emit(row, args.out)
    print(table(results), file=sys.stderr)


if __name__ == "__main__":
    main()
