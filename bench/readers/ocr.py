"""Text reading: exact line reads and time of the ocr module on synthetic markings.

For each font ``--count`` seeded 640x480 images are made: a part-like background (the
code bench's scene), one line of a serial number, a lot or a date printed on it in ink
darker than the part (the font's glyphs drawn by FreeType through Pillow; the dot-matrix
font's pixels drawn as round dots, as an ink-jet coder prints), turned by up to 10 degrees either
way, lit unevenly, blurred and noised (the ranges are the constants below). Each reader
reads every image, timed alone with ``time.perf_counter``:

- ``inspekt_default``: ``OcrModule.read`` at the default options;
- ``inspekt_allowed``: the same with ``allowed_characters`` set to the markings'
  alphabet (upper-case letters, digits, ``-/.:`` and the space), as a line sets it;
- ``inspekt_pattern``: the default options and ``pattern`` set to the marking's kind's
  (``PATTERNS``), as a line sets it for what it prints;
- ``tesseract`` (the reference): Debian's ``tesseract`` command (LSTM, English model)
  on the image binarized the usual way for it (OpenCV's adaptive Gaussian threshold,
  31 px, C 15: on the raw textured part it reads next to nothing), as PNG through a
  pipe, ``--psm 11`` (sparse text: a line somewhere on a part); its time includes the
  threshold and the process start.

A line is read exactly when the lines read, joined by a space, equal the printed text
with runs of white space made one (``exact``); ``exact_no_spaces`` ignores spaces. One
JSON line goes to stdout (and is appended to ``--out``), a table to stderr.

Fonts come from Debian's packages: ``apt-get install fonts-dejavu-core fonts-ocr-b
fonts-dseg fonts-dotgothic16`` (and ``tesseract-ocr`` for the reference).

    python bench/readers/ocr.py --count 100 --out bench/out/readers/ocr.jsonl
    python bench/readers/ocr.py --count 1 --save bench/readers/examples   # see them
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scene import LIGHT_GAIN, part_background, photographed
from tally import Tally

from inspekt.modules import ModuleEnv, build_modules
from inspekt.modules.ocr import OcrModule

WIDTH, HEIGHT = 640, 480

#: The fonts, by name: the file and the Debian package that ships it. A sans-serif
#: mono (labels printed by a thermal printer), OCR-B (made for machine reading, on
#: passports and many part labels), a 14-segment display face (laser and stamp markings
#: made of strokes) and a dot-matrix face drawn as dots (ink-jet date coders).
FONTS = {
    "sans_mono": ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
                  "fonts-dejavu-core"),
    "ocr_b": ("/usr/share/fonts/opentype/ocr-b/OCRB.otf", "fonts-ocr-b"),
    "segment14": ("/usr/share/fonts/truetype/dseg/DSEG14Classic-Bold.ttf", "fonts-dseg"),
    "dot_matrix": ("/usr/share/fonts/truetype/dotgothic16/DotGothic16-Regular.ttf",
                   "fonts-dotgothic16"),
}
#: What markings are made of; ``inspekt_allowed`` reads with this alphabet.
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/.: "

# ---- the perturbations' ranges ----------------------------------------------------------

#: Capital letters' height (px): 18 px is about the least a line camera is set up for
#: (the ocr module's detector sees the image at its size); 40 px a comfortable print.
CAP_HEIGHT_PX = (18, 40)
#: How much darker the ink is than the part under it (gray levels): a faint ink-jet dot
#: on a dark casting at the least, a fresh black print on a light one at the most.
INK_CONTRAST = (50, 110)
#: Turn (degrees), either way: a part on a conveyor held by a guide, not a fixture.
ANGLE_DEG = (-10.0, 10.0)
#: Gaussian blur sigma (px): a lens slightly out of focus, a part a little off its plane.
BLUR_SIGMA = (0.0, 1.5)
#: Gaussian sensor noise sigma (gray levels).
NOISE_SIGMA = (0.0, 6.0)
#: Dot pitch of the dot-matrix face (px a font pixel): a 16 px font grid is ~11 dots tall.
DOT_PITCH_PX = (2, 4)

# ---- markings ----------------------------------------------------------------------------


#: The markings' patterns, as a line sets ``pattern`` for the one it prints.
PATTERNS = (
    r"[A-Z]{2}\d{6}",
    r"LOT [A-Z]\d{4}-\d{2}",
    r"EXP \d{4}-\d{2}-\d{2}",
    r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}",
    r"SN \d{7}/[A-Z]",
)


def marking(rng: np.random.Generator) -> tuple[str, str]:
    """A serial number, a lot number or a best-before date, as parts carry them, and the
    pattern of its kind."""
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    year, month, day = rng.integers(2024, 2031), rng.integers(1, 13), rng.integers(1, 29)
    kind = int(rng.integers(0, 5))
    if kind == 0:
        text = "".join(rng.choice(list(letters), 2)) + "".join(map(str, rng.integers(0, 10, 6)))
    elif kind == 1:
        lot = f"{rng.choice(list(letters))}{rng.integers(0, 10000):04d}"
        text = f"LOT {lot}-{rng.integers(1, 100):02d}"
    elif kind == 2:
        text = f"EXP {year}-{month:02d}-{day:02d}"
    elif kind == 3:
        hour, minute = rng.integers(0, 24), rng.integers(0, 60)
        text = f"{day:02d}.{month:02d}.{year} {hour:02d}:{minute:02d}"
    else:
        text = f"SN {rng.integers(0, 10**7):07d}/{rng.choice(list(letters))}"
    return text, PATTERNS[kind]


def printed(font: str, text: str, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """The text's ink coverage (0..1, float) at a random size, and its capitals' height."""
    path = FONTS[font][0]
    if font == "dot_matrix":
        grid = ImageFont.truetype(path, 16)
        left, top, right, bottom = grid.getbbox(text)
        canvas = Image.new("1", (right - left + 2, bottom - top + 2))
        draw = ImageDraw.Draw(canvas)
        draw.fontmode = "1"  # the font's own pixels, no smoothing
        draw.text((1 - left, 1 - top), text, font=grid, fill=1)
        pixels = np.asarray(canvas, np.uint8)
        pitch = int(rng.integers(DOT_PITCH_PX[0], DOT_PITCH_PX[1] + 1))
        ink = np.zeros((pixels.shape[0] * pitch, pixels.shape[1] * pitch), np.float32)
        for y, x in zip(*np.nonzero(pixels), strict=True):
            centre = (int(x * pitch + pitch // 2), int(y * pitch + pitch // 2))
            cv2.circle(ink, centre, max(1, round(pitch * 0.4)), 1.0, -1, cv2.LINE_AA)
        cap = grid.getbbox("H")
        return ink, (cap[3] - cap[1]) * pitch
    cap_height = int(rng.integers(CAP_HEIGHT_PX[0], CAP_HEIGHT_PX[1] + 1))
    probe = ImageFont.truetype(path, 100)
    box = probe.getbbox("H")
    face = ImageFont.truetype(path, max(8, round(100 * cap_height / (box[3] - box[1]))))
    left, top, right, bottom = face.getbbox(text)
    canvas = Image.new("L", (right - left + 4, bottom - top + 4))
    ImageDraw.Draw(canvas).text((2 - left, 2 - top), text, font=face, fill=255)
    return np.asarray(canvas, np.float32) / 255, cap_height


@dataclass(frozen=True)
class Sample:
    """One generated image and what it holds."""

    font: str
    text: str
    pattern: str  # of the marking's kind
    image: np.ndarray  # 640x480 BGR uint8
    settings: dict[str, float]


def make_sample(font: str, index: int, seed: int) -> Sample:
    """The ``index``-th image of ``font``: the same for the same seed."""
    rng = np.random.default_rng([seed, list(FONTS).index(font), index])
    text, pattern = marking(rng)
    ink, cap_height = printed(font, text, rng)
    # turned about its centre, placed anywhere it fits whole
    angle = rng.uniform(*ANGLE_DEG)
    height, width = ink.shape
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
    out_w, out_h = int(width * cos + height * sin) + 2, int(width * sin + height * cos) + 2
    turn[:, 2] += (out_w - width) / 2, (out_h - height) / 2
    ink = cv2.warpAffine(ink, turn, (out_w, out_h), flags=cv2.INTER_LINEAR)
    if out_w > WIDTH - 16 or out_h > HEIGHT - 16:  # a long date at the largest size
        scale = min((WIDTH - 16) / out_w, (HEIGHT - 16) / out_h)
        ink = cv2.resize(ink, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        cap_height = int(cap_height * scale)
    x = int(rng.integers(8, WIDTH - ink.shape[1] - 7))
    y = int(rng.integers(8, HEIGHT - ink.shape[0] - 7))
    image = part_background(rng, WIDTH, HEIGHT)
    window = image[y : y + ink.shape[0], x : x + ink.shape[1]]
    ink_gray = max(5.0, float(window.mean()) - rng.uniform(*INK_CONTRAST))
    window += (ink_gray - window) * ink
    gray, blur, noise = photographed(image, rng, BLUR_SIGMA, NOISE_SIGMA)
    settings = {"angle": round(angle, 1), "blur": round(blur, 2), "noise": round(noise, 1),
                "cap_px": cap_height}
    return Sample(font, text, pattern, cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), settings)


# ---- readers: each gives the lines read, in reading order --------------------------------

Reader = Callable[[Sample], list[str]]


def ocr_module(**options: Any) -> OcrModule:
    """An ocr module outside a project, as a flow would build and open it."""
    (built,) = build_modules([{"type": "ocr", "name": "ocr", **options}], ModuleEnv(Path(".")))
    assert isinstance(built, OcrModule)
    built.open()
    return built


def inspekt_reader(**options: Any) -> Reader:
    module = ocr_module(**options)
    return lambda sample: [reading.text for reading in module.read(sample.image)]


def inspekt_pattern_reader() -> Reader:
    """``OcrModule.read`` with ``pattern`` set to the marking's kind's, one module each."""
    modules = {pattern: ocr_module(pattern=pattern) for pattern in PATTERNS}
    return lambda sample: [r.text for r in modules[sample.pattern].read(sample.image)]


def tesseract_reader() -> tuple[Reader | None, str]:
    """The tesseract command, or why there is none."""
    command = shutil.which("tesseract")
    if command is None:
        return None, "skipped, needs Debian's tesseract-ocr"
    version = subprocess.run([command, "--version"], capture_output=True, text=True)
    name = (version.stdout or version.stderr).splitlines()[0]

    def read(sample: Sample) -> list[str]:
        binary = cv2.adaptiveThreshold(
            sample.image[:, :, 0], 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 15
        )
        ok, png = cv2.imencode(".png", binary)
        assert ok
        done = subprocess.run(
            [command, "stdin", "stdout", "--psm", "11", "-l", "eng"],
            input=png.tobytes(), capture_output=True, check=True,
        )
        return [line for line in done.stdout.decode().splitlines() if line.strip()]

    return read, name


# ---- scoring -----------------------------------------------------------------------------


def _spaced(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Score(Tally):
    """One reader's tally on one font."""

    exact: int = 0
    exact_no_spaces: int = 0

    def add(self, sample: Sample, lines: list[str], ms: float) -> None:
        self.timed(ms)
        read = _spaced(" ".join(lines))
        self.exact += read == _spaced(sample.text)
        self.exact_no_spaces += read.replace(" ", "") == sample.text.replace(" ", "")
        if read != _spaced(sample.text):
            self.failed.append({**sample.settings, "text": sample.text, "read": read})

    def as_json(self) -> dict[str, Any]:
        return {
            "exact": round(self.exact / self.images, 4),
            "exact_no_spaces": round(self.exact_no_spaces / self.images, 4),
            **self.timing_json(),
        }


def measure(
    font: str, count: int, seed: int, readers: dict[str, Reader], save: Path | None
) -> dict[str, Any]:
    """Every reader's score on ``count`` images in ``font``."""
    scores = {name: Score() for name in readers}
    warm = make_sample(font, 10**6, seed)  # first calls allocate; not timed, not scored
    for reader in readers.values():
        reader(warm)
    for index in range(count):
        sample = make_sample(font, index, seed)
        if save is not None and index == 0:
            save.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(save / f"ocr_{font}.png"), sample.image[:, :, 0],
                        [cv2.IMWRITE_PNG_COMPRESSION, 9])
        for name, reader in readers.items():
            started = time.perf_counter()
            lines = reader(sample)
            scores[name].add(sample, lines, (time.perf_counter() - started) * 1000)
    return {name: score.as_json() for name, score in scores.items()}


def table(results: dict[str, dict[str, Any]]) -> str:
    rows = [f"{'font':<11} {'reader':<16} {'exact':>7} {'no sp.':>7} {'p50 ms':>7} {'p95 ms':>7}"]
    for font, by_reader in results.items():
        for name, row in by_reader.items():
            rows.append(
                f"{font:<11} {name:<16} {row['exact']:>7.1%} {row['exact_no_spaces']:>7.1%} "
                f"{row['p50_ms']:>7.1f} {row['p95_ms']:>7.1f}"
            )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="images per font")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fonts", nargs="+", choices=list(FONTS), default=list(FONTS))
    parser.add_argument("--out", type=Path, help="append the JSON result to this file")
    parser.add_argument("--save", type=Path, help="save each font's first image here")
    parser.add_argument("--failures", action="store_true",
                        help="list each failed image's text, reading and perturbations")
    parser.add_argument("--no-reference", action="store_true", help="skip tesseract")
    args = parser.parse_args()
    missing = [f"{path} (apt-get install {package})" for font, (path, package) in FONTS.items()
               if font in args.fonts and not Path(path).is_file()]
    if missing:
        sys.exit("missing fonts: " + "; ".join(missing))
    started = time.perf_counter()
    readers: dict[str, Reader] = {
        "inspekt_default": inspekt_reader(),
        "inspekt_allowed": inspekt_reader(allowed_characters=ALPHABET),
        "inspekt_pattern": inspekt_pattern_reader(),
    }
    tesseract, tesseract_name = tesseract_reader()
    if tesseract is not None and not args.no_reference:
        readers["tesseract"] = tesseract
    results = {font: measure(font, args.count, args.seed, readers, args.save)
               for font in args.fonts}
    failures = {font: {name: row.pop("failed") for name, row in by_reader.items()}
                for font, by_reader in results.items()}
    row: dict[str, Any] = {
        "bench": "readers/ocr",
        "count": args.count,
        "seed": args.seed,
        "image": [WIDTH, HEIGHT],
        "fonts": {font: Path(FONTS[font][0]).name for font in args.fonts},
        "ranges": {
            "cap_height_px": CAP_HEIGHT_PX, "dot_pitch_px": DOT_PITCH_PX,
            "ink_contrast": INK_CONTRAST, "angle_deg": ANGLE_DEG, "light_gain": LIGHT_GAIN,
            "blur_sigma": BLUR_SIGMA, "noise_sigma": NOISE_SIGMA,
        },
        "options": {
            "inspekt_default": ocr_module().options.model_dump(exclude={"name", "type"}),
            "inspekt_allowed": {"allowed_characters": ALPHABET},
            "inspekt_pattern": {"pattern": list(PATTERNS)},
            "tesseract": f"{tesseract_name}: adaptive Gaussian threshold 31 px C 15, "
                         "--psm 11 -l eng, through a pipe",
        },
        "results": results,
        "versions": {
            "python": platform.python_version(), "opencv": cv2.__version__,
            "onnxruntime": metadata.version("onnxruntime"),
            "rapidocr": metadata.version("rapidocr"), "pillow": metadata.version("pillow"),
        },
        "wall_s": round(time.perf_counter() - started, 1),
    }
    if args.failures:
        row["failures"] = failures
    line = json.dumps(row)
    print(line)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("a") as out:
            out.write(line + "\n")
    print(table(results), file=sys.stderr)


if __name__ == "__main__":
    main()
