"""What a model's training images looked like, so it can refuse frames far outside that.

A model trained on good parts scores anything unlike them as a defect. A black
frame, a 1x1 image or a frame from another camera would come back as an
ordinary NOK with a score — a camera fault that looks like a bad part. An
:class:`InputProfile`, learnt at fit from the images the model was given and
saved with it, lets the model say "cannot inspect this" instead.

Model-agnostic: every model type learns one with :meth:`InputProfile.learn` and
stores :meth:`InputProfile.as_json` in its manifest. What it records, over the
training images: the size range (height, width), the aspect-ratio range (width
/ height), brightness (mean gray level) and contrast (gray standard deviation)
ranges, colourfulness (mean spread between colour channels) range, channel
counts and pixel types.

:func:`check_input` (and :meth:`InputProfile.check`) answers a list of human
messages, empty when the image may be judged. The checks, each switched by
:class:`InputChecks`:

- **degenerate** — a uniform frame (gray std below 2 levels), or one nearly all
  black or all saturated. Runs without a profile too (models saved before
  profiles existed); with one, a kind of frame the training images themselves
  contained is never refused.
- **size** — width or height outside ``[learnt min / size_ratio, learnt max *
  size_ratio]``. Models resize every image, so moderate changes are harmless.
- **aspect** — width / height outside ``[learnt min / aspect_ratio, learnt max *
  aspect_ratio]``: resizing keeps the aspect, so another one means another view.
- **lighting** — brightness outside ``[learnt min - brightness_margin, learnt
  max + brightness_margin]`` or contrast outside ``[learnt min / contrast_ratio,
  learnt max * contrast_ratio]``.
- **format** — a channel count a model cannot convert (2, 5...), a grayscale
  frame for a model that learnt from colour, or another pixel type than the
  training images'. A colour frame for a model that learnt from grayscale is
  accepted: colour converts to the model's input, nothing is missing, and the
  lighting checks still judge it. 1, 3 and 4 (BGRA, alpha dropped) channels are
  all convertible, so those counts alone are never refused.

Pixel statistics are taken on at most ``MAX_STAT_PIXELS`` pixels (an even
subsample of larger images), on the 8-bit gray scale (other integer types are
scaled by their range, floats clipped to 0..255), so a check costs about a
millisecond whatever the frame's size.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ImageError, ModelFileError, TrainingError

__all__ = [
    "MAX_STAT_PIXELS",
    "SIZE_SAMPLE",
    "InputChecks",
    "InputProfile",
    "InputStats",
    "check_input",
    "input_stats",
    "typical_side",
]

#: Pixel statistics look at no more pixels than this (an even subsample beyond it).
MAX_STAT_PIXELS = 1 << 16
#: Images whose size decides an input size chosen from the data, and the multiple it
#: is rounded to (the backbones' deepest stride).
SIZE_SAMPLE, SIDE_MULTIPLE = 8, 32
#: A frame whose gray standard deviation is below this is uniform: nothing to inspect.
UNIFORM_STD = 2.0
#: Nearly black: 99% of the pixels at or below this gray level.
BLACK_LEVEL = 24
#: Nearly saturated: 99% of the pixels at or above this gray level.
SATURATED_LEVEL = 235
#: A frame whose colourfulness (mean max - min over its colour channels) is below this is gray.
GRAY_COLOURFULNESS = 2.0
#: A model whose every training image is at least this colourful learnt from colour images.
COLOUR_COLOURFULNESS = 8.0
#: Channel counts a model can convert to its input: gray, BGR, BGRA.
CONVERTIBLE_CHANNELS = (1, 3, 4)


class InputChecks(BaseModel):
    """Which input checks run and how far from the training images a frame may be.

    The defaults let normal drift pass — a part moved, a lamp ageing, another
    exposure — and refuse what cannot be a good view of the part. The margins were
    checked against the dev sets (hazelnut, DeepPCB, BSData pitting): none of their
    good or defect test images is refused.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    degenerate: bool = Field(
        True,
        description="Refuse uniform, nearly black or nearly saturated frames "
        "(unless the training images had such frames).",
    )
    size: bool = Field(
        True, description="Refuse images far smaller or larger than the training images."
    )
    size_ratio: float = Field(
        2.0,
        gt=1.0,
        le=1000.0,
        description="Width and height may be this many times smaller than the smallest "
        "training image or larger than the largest (the model resizes images).",
    )
    aspect: bool = Field(True, description="Refuse aspect ratios far from the training images'.")
    aspect_ratio: float = Field(
        1.5,
        gt=1.0,
        le=1000.0,
        description="Width / height may be this factor beyond the training images' range.",
    )
    lighting: bool = Field(
        True, description="Refuse brightness or contrast far outside the training images'."
    )
    brightness_margin: float = Field(
        40.0,
        ge=0.0,
        le=255.0,
        description="Gray levels the mean brightness may lie below or above the training range.",
    )
    contrast_ratio: float = Field(
        4.0,
        gt=1.0,
        le=1000.0,
        description="Factor the contrast (gray std) may lie below or above the training range.",
    )
    format: bool = Field(
        True,
        description="Refuse channel counts the model cannot convert, grayscale frames for a "
        "colour model and pixel types other than the training images'.",
    )


class InputStats(NamedTuple):
    """What the checks measure on one image."""

    height: int
    width: int
    channels: int
    dtype: str
    #: Mean gray level (0..255).
    brightness: float
    #: Gray standard deviation.
    contrast: float
    #: Mean spread between the colour channels (0 for gray frames).
    colourfulness: float
    #: 1st and 99th percentile gray levels.
    low: float
    high: float


Range = tuple[float, float]


def _span(values: Iterable[float]) -> Range:
    found = list(values)
    return (float(min(found)), float(max(found)))


class InputProfile(BaseModel):
    """The range of the training images' size, shape, lighting and format."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    images: int = Field(ge=1, description="Training images the profile was learnt from.")
    height: Range
    width: Range
    aspect: Range
    brightness: Range
    contrast: Range
    colourfulness: Range
    channels: tuple[int, ...] = Field(min_length=1)
    dtypes: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered_ranges(self) -> InputProfile:
        for name in ("height", "width", "aspect", "brightness", "contrast", "colourfulness"):
            low, high = getattr(self, name)
            if not (math.isfinite(low) and math.isfinite(high)) or low < 0 or low > high:
                raise ValueError(f"{name}: expected 0 <= low <= high, got [{low}, {high}]")
        if self.height[0] < 1 or self.width[0] < 1:
            raise ValueError("height and width must be at least 1")
        return self

    @classmethod
    def learn(cls, images: Sequence[npt.NDArray[Any]]) -> InputProfile:
        """The profile of some images (a model's training images, as given to its fit)."""
        return cls.from_stats([input_stats(image) for image in images])

    @classmethod
    def from_stats(cls, stats: Sequence[InputStats]) -> InputProfile:
        """The profile of images whose :func:`input_stats` were taken as they streamed past."""
        if not stats:
            raise TrainingError("an input profile needs at least one image")
        if any(s.height < 1 or s.width < 1 for s in stats):
            raise TrainingError("an input profile cannot learn from an empty image")
        return cls(
            images=len(stats),
            height=_span(s.height for s in stats),
            width=_span(s.width for s in stats),
            aspect=_span(s.width / s.height for s in stats),
            brightness=_span(s.brightness for s in stats),
            contrast=_span(s.contrast for s in stats),
            colourfulness=_span(s.colourfulness for s in stats),
            channels=tuple(sorted({s.channels for s in stats})),
            dtypes=tuple(sorted({s.dtype for s in stats})),
        )

    @property
    def colour(self) -> bool:
        """Whether the model learnt from colour images (every one of them clearly colourful)."""
        return self.colourfulness[0] >= COLOUR_COLOURFULNESS

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (what a model manifest stores)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, document: Any, source: str | Path = "input profile") -> InputProfile:
        """Validate a stored profile (a dict, or JSON text); ``ModelFileError`` names ``source``."""
        try:
            if isinstance(document, (str, bytes)):
                document = json.loads(document)
            return cls.model_validate(document)
        except (ValueError, ValidationError) as error:  # ValidationError is a ValueError
            detail = _first_problem(error)
            raise ModelFileError(f"{source}: invalid input profile ({detail})") from error

    def check(self, image: npt.NDArray[Any], checks: InputChecks | None = None) -> list[str]:
        """What is wrong with ``image`` for a model with this profile; empty when nothing."""
        return check_input(image, self, checks)


def _first_problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "profile"
        return f"{where}: {first['msg']}"
    return str(error)


# ---- measuring ---------------------------------------------------------------------------


def _subsample(image: npt.NDArray[Any]) -> npt.NDArray[Any]:
    height, width = image.shape[:2]
    step = max(1, math.ceil(math.sqrt(height * width / MAX_STAT_PIXELS)))
    return image[::step, ::step] if step > 1 else image


def _eight_bit(pixels: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """Pixels on the 0..255 scale: integers scaled by their type's range, floats clipped."""
    if pixels.dtype == np.uint8:
        return np.ascontiguousarray(pixels)
    if pixels.dtype == np.bool_:
        scaled = pixels.astype(np.float32) * 255.0
    elif np.issubdtype(pixels.dtype, np.integer):
        info = np.iinfo(pixels.dtype)
        scaled = (pixels.astype(np.float64) - info.min) * (255.0 / (info.max - info.min))
    else:
        scaled = np.nan_to_num(pixels.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
    return np.ascontiguousarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))


def input_stats(image: npt.NDArray[Any]) -> InputStats:
    """Size, format and 8-bit gray-level statistics of one image (gray, BGR or BGRA)."""
    if image.ndim not in (2, 3):
        raise ImageError(f"expected an (H, W) or (H, W, C) image, got shape {image.shape}")
    height, width = int(image.shape[0]), int(image.shape[1])
    channels = 1 if image.ndim == 2 else int(image.shape[2])
    dtype = str(image.dtype)
    if height * width == 0 or channels == 0:
        return InputStats(height, width, channels, dtype, 0.0, 0.0, 0.0, 0.0, 0.0)
    pixels = _eight_bit(_subsample(image))
    colourfulness = 0.0
    if channels >= 3:
        colour = np.ascontiguousarray(pixels[:, :, :3])
        gray = cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)
        blue, green, red = cv2.split(colour)
        highest = cv2.max(cv2.max(blue, green), red)
        lowest = cv2.min(cv2.min(blue, green), red)
        colourfulness = float(cv2.mean(cv2.subtract(highest, lowest))[0])
    elif channels == 2:
        gray = np.ascontiguousarray(pixels.max(axis=2))
    else:
        gray = pixels.reshape(pixels.shape[0], pixels.shape[1])
    mean, std = cv2.meanStdDev(gray)
    cumulative = np.cumsum(np.bincount(gray.ravel(), minlength=256)) / gray.size
    return InputStats(
        height,
        width,
        channels,
        dtype,
        brightness=float(mean[0, 0]),
        contrast=float(std[0, 0]),
        colourfulness=colourfulness,
        low=float(np.searchsorted(cumulative, 0.01)),
        high=float(np.searchsorted(cumulative, 0.99)),
    )


# ---- checking ----------------------------------------------------------------------------


def check_input(
    image: npt.NDArray[Any], profile: InputProfile | None, checks: InputChecks | None = None
) -> list[str]:
    """Messages naming what makes ``image`` unfit to judge; empty when it may be judged.

    Without a profile (a model saved before profiles existed) only degenerate frames
    are refused.
    """
    checks = checks or InputChecks()
    try:
        stats = input_stats(image)
    except ImageError as error:
        return [error.message]
    empty = stats.height * stats.width == 0
    degenerate = _degenerate_problems(stats, profile) if checks.degenerate and not empty else []
    problems: list[str] = []
    if profile is not None and checks.format:
        # A black or uniform frame shows no colour either: saying so would only add noise.
        judge_colour = not degenerate and stats.contrast >= UNIFORM_STD
        problems += _format_problems(stats, profile, judge_colour)
    if profile is not None and checks.size:
        problems += _size_problems(stats, profile, checks.size_ratio)
    if empty:
        return problems or [f"image is {stats.width}x{stats.height} px: nothing to inspect"]
    if profile is not None and checks.aspect:
        problems += _aspect_problems(stats, profile, checks.aspect_ratio)
    problems += degenerate
    # Nor is a degenerate frame's lighting worth a second message.
    if profile is not None and checks.lighting and not degenerate:
        problems += _lighting_problems(stats, profile, checks)
    return problems


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _format_problems(stats: InputStats, profile: InputProfile, judge_colour: bool) -> list[str]:
    problems = []
    learnt = " or ".join(str(c) for c in profile.channels)
    if stats.channels not in CONVERTIBLE_CHANNELS and stats.channels not in profile.channels:
        problems.append(f"{_plural(stats.channels, 'channel')}; trained on {learnt}")
    elif judge_colour and profile.colour and stats.colourfulness < GRAY_COLOURFULNESS:
        shape = "1 channel" if stats.channels == 1 else f"colourfulness {stats.colourfulness:.1f}"
        problems.append(
            f"grayscale image ({shape}); this model learnt from colour images "
            f"(colourfulness {profile.colourfulness[0]:.0f}–{profile.colourfulness[1]:.0f})"
        )
    if stats.dtype not in profile.dtypes:
        problems.append(
            f"{_bits(stats.dtype)} image ({stats.dtype}); trained on "
            + " or ".join(f"{_bits(d)} ({d})" for d in profile.dtypes)
        )
    return problems


def _bits(dtype: str) -> str:
    try:
        return f"{np.dtype(dtype).itemsize * 8}-bit"
    except TypeError:
        return "unknown-depth"


def _size_problems(stats: InputStats, profile: InputProfile, ratio: float) -> list[str]:
    (min_h, max_h), (min_w, max_w) = profile.height, profile.width
    fits = (
        min_h / ratio <= stats.height <= max_h * ratio
        and min_w / ratio <= stats.width <= max_w * ratio
    )
    if fits:
        return []
    return [
        f"image is {stats.width}x{stats.height} px; this model learnt from "
        f"{min_w:.0f}x{min_h:.0f} to {max_w:.0f}x{max_h:.0f} "
        f"(allowed {1 / ratio:g}x to {ratio:g}x that size)"
    ]


def _aspect_problems(stats: InputStats, profile: InputProfile, ratio: float) -> list[str]:
    aspect = stats.width / stats.height
    low, high = profile.aspect
    if low / ratio <= aspect <= high * ratio:
        return []
    return [
        f"aspect ratio (width/height) {aspect:.2f} is far outside the training range "
        f"{low:.2f}–{high:.2f} (allowed {low / ratio:.2f} to {high * ratio:.2f})"
    ]


def _degenerate_problems(stats: InputStats, profile: InputProfile | None) -> list[str]:
    """Frames with nothing to inspect; with a profile, never what the training images were."""
    seen_contrast = profile.contrast[0] if profile else math.inf
    seen_dark = profile.brightness[0] if profile else math.inf
    seen_bright = profile.brightness[1] if profile else -math.inf
    if stats.contrast < UNIFORM_STD and stats.contrast < seen_contrast:
        return [
            f"frame is uniform (gray std {stats.contrast:.1f}, brightness "
            f"{stats.brightness:.0f}): black, saturated or covered camera?"
        ]
    if stats.high <= BLACK_LEVEL and stats.brightness < seen_dark:
        return [
            f"frame is nearly black (brightness {stats.brightness:.0f}, 99% of pixels at or "
            f"below {stats.high:.0f}): covered lens, no light or exposure too short?"
        ]
    if stats.low >= SATURATED_LEVEL and stats.brightness > seen_bright:
        return [
            f"frame is nearly saturated (brightness {stats.brightness:.0f}, 99% of pixels at "
            f"or above {stats.low:.0f}): overexposed or light shining into the camera?"
        ]
    return []


def _lighting_problems(stats: InputStats, profile: InputProfile, checks: InputChecks) -> list[str]:
    problems = []
    low, high = profile.brightness
    margin = checks.brightness_margin
    learnt = f"the training range {low:.0f}–{high:.0f} (allowed {max(0.0, low - margin):.0f}–"
    learnt += f"{min(255.0, high + margin):.0f})"
    if stats.brightness < low - margin:
        problems.append(f"brightness {stats.brightness:.0f} is far below {learnt}")
    elif stats.brightness > high + margin:
        problems.append(f"brightness {stats.brightness:.0f} is far above {learnt}")
    low, high = profile.contrast
    ratio = checks.contrast_ratio
    learnt = f"the training range {low:.1f}–{high:.1f} "
    learnt += f"(allowed {low / ratio:.1f}–{high * ratio:.1f})"
    if stats.contrast < low / ratio:
        problems.append(f"contrast (gray std) {stats.contrast:.1f} is far below {learnt}")
    elif stats.contrast > high * ratio:
        problems.append(f"contrast (gray std) {stats.contrast:.1f} is far above {learnt}")
    return problems


def typical_side(
    count: int, image_at: Callable[[int], npt.NDArray[Any]], rng: np.random.Generator,
    bounds: tuple[int, int],
) -> int:
    """The images' median longer side (of a few drawn at random), rounded up to 32, in bounds.

    Models that choose their input size from the data use it: small images are not
    blown up, which would cost time and make their few pixels look like coarse texture;
    large ones shrink to a size the 2-core budget allows.
    """
    sample = rng.choice(count, min(count, SIZE_SAMPLE), replace=False)
    longer = float(np.median([max(image_at(int(i)).shape[:2]) for i in sample]))
    low, high = bounds
    return min(high, max(low, math.ceil(longer / SIDE_MULTIPLE) * SIDE_MULTIPLE))
