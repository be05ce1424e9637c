"""Generated surfaces for model tests: a brushed-steel texture, and pits and scratches on it.

Each image is a new random surface under a different light gradient, so a model must
learn the texture and the defects, not one picture of them.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from inspekt.evaluation.detection import Box

Image = npt.NDArray[np.uint8]
SIDE = 160


def brushed_steel(rng: np.random.Generator) -> Image:
    """Horizontal grinding streaks, fine grain and a random light gradient, 8-bit gray."""
    streaks = cv2.GaussianBlur(rng.standard_normal((SIDE, SIDE)), (0, 0), sigmaX=10, sigmaY=0.8)
    streaks *= 18 / streaks.std()
    grain = rng.normal(0, 4, (SIDE, SIDE))
    ys, xs = np.mgrid[0:SIDE, 0:SIDE] / SIDE
    light = rng.uniform(-12, 12) * xs + rng.uniform(-12, 12) * ys
    return np.clip(128 + streaks + grain + light, 0, 255).astype(np.uint8)


def with_defect(image: Image, rng: np.random.Generator, kind: str) -> Image:
    """A dark pit or a bright scratch across the grinding direction, somewhere inside."""
    damaged = image.copy()
    centre = (int(rng.integers(30, SIDE - 30)), int(rng.integers(30, SIDE - 30)))
    if kind == "pit":
        cv2.ellipse(damaged, centre, (5, 4), float(rng.uniform(0, 180)), 0, 360, 55, -1)
    else:
        end = (centre[0] + int(rng.integers(-8, 8)), centre[1] + 28)
        cv2.line(damaged, centre, end, 215, 2, cv2.LINE_AA)
    return damaged


def labelled_surfaces(
    rng: np.random.Generator, per_class: int
) -> dict[str, list[Image]]:
    """``per_class`` new surfaces of each class: good, pit, scratch."""
    return {
        "good": [brushed_steel(rng) for _ in range(per_class)],
        "pit": [with_defect(brushed_steel(rng), rng, "pit") for _ in range(per_class)],
        "scratch": [with_defect(brushed_steel(rng), rng, "scratch") for _ in range(per_class)],
    }


def surfaces_with_masks(
    rng: np.random.Generator, count: int
) -> list[tuple[Image, npt.NDArray[np.uint8]]]:
    """Surfaces, most with a pit or a scratch, and masks marking it (1) on background (0)."""
    pairs = []
    for number in range(count):
        clean = brushed_steel(rng)
        if number % 4 == 3:  # a quarter without a defect
            pairs.append((clean, np.zeros_like(clean)))
            continue
        damaged = with_defect(clean, rng, "pit" if number % 2 else "scratch")
        mask = (cv2.absdiff(damaged, clean) > 8).astype(np.uint8)
        pairs.append((damaged, mask))
    return pairs


def surfaces_with_boxes(rng: np.random.Generator, count: int) -> list[tuple[Image, list[Box]]]:
    """Surfaces with one to three objects each, boxed: class 0 a bright square plate,
    class 1 a dark round pit, 12 to 24 px across."""
    pairs = []
    for _ in range(count):
        image = brushed_steel(rng)
        boxes: list[Box] = []
        for _ in range(int(rng.integers(1, 4))):
            side = int(rng.integers(12, 25))
            x, y = (int(v) for v in rng.integers(4, SIDE - side - 4, 2))
            if any(b.x0 - side < x < b.x1 and b.y0 - side < y < b.y1 for b in boxes):
                continue  # no overlaps: each object keeps its own centre
            label = int(rng.integers(2))
            if label == 0:
                cv2.rectangle(image, (x, y), (x + side - 1, y + side - 1), 220, -1)
            else:
                centre = (x + side // 2, y + side // 2)
                cv2.circle(image, centre, side // 2, 40, -1)
            boxes.append(Box(label, float(x), float(y), float(x + side), float(y + side)))
        pairs.append((image, boxes))
    return pairs
