"""The synthetic part scenes both reader benchmarks print on: a part-like background,
then the light, the lens and the sensor. Seeded by the caller's generator."""

from __future__ import annotations

import math

import cv2
import numpy as np

#: Lighting gain across the image, from one edge to the other in a random direction: a
#: ring light off-centre or a side light darkens one side to 0.6 and burns the other to 1.2.
LIGHT_GAIN = (0.6, 1.2)


def part_background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A part-like gray scene: a smooth gradient, a coarse texture and a brushed grain,
    with a darker part (a rounded plate with a hole) on it; float gray."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    turn = rng.uniform(0, 2 * math.pi)
    ramp = (math.cos(turn) * xs / width + math.sin(turn) * ys / height)
    image = rng.uniform(110, 160) + rng.uniform(10, 40) * ramp
    coarse = rng.normal(0, 1, (height // 60 + 2, width // 60 + 2)).astype(np.float32)
    image += 10 * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 1, (height, width)).astype(np.float32)
    image += 6 * cv2.GaussianBlur(grain, (0, 0), sigmaX=9, sigmaY=0.7)
    part = np.zeros((height, width), np.uint8)
    left, top = int(rng.integers(0, width // 3)), int(rng.integers(0, height // 3))
    right = int(rng.integers(2 * width // 3, width))
    bottom = int(rng.integers(2 * height // 3, height))
    radius = int(rng.integers(20, min(120, (right - left) // 3, (bottom - top) // 3)))
    cv2.rectangle(part, (left + radius, top), (right - radius, bottom), 1, -1)
    cv2.rectangle(part, (left, top + radius), (right, bottom - radius), 1, -1)
    for x, y in ((left, top), (right, top), (left, bottom), (right, bottom)):
        cv2.circle(part, (x + radius if x == left else x - radius,
                          y + radius if y == top else y - radius), radius, 1, -1)
    margin = min(60, (right - left) // 4, (bottom - top) // 4)
    hole = (int(rng.integers(left + margin, right - margin)),
            int(rng.integers(top + margin, bottom - margin)))
    cv2.circle(part, hole, int(rng.integers(20, 50)), 0, -1)
    image -= rng.uniform(25, 55) * cv2.GaussianBlur(part.astype(np.float32), (0, 0), 2)
    return image


def photographed(
    image: np.ndarray,
    rng: np.random.Generator,
    blur_sigma: tuple[float, float],
    noise_sigma: tuple[float, float],
) -> tuple[np.ndarray, float, float]:
    """The float gray scene as a camera sees it, uint8: lit unevenly (``LIGHT_GAIN``),
    blurred by the lens and noised by the sensor (Gaussian sigmas drawn from the ranges);
    with the blur and noise drawn."""
    height, width = image.shape
    light = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = math.cos(light) * (xs - width / 2) + math.sin(light) * (ys - height / 2)
    ramp = (ramp - ramp.min()) / (ramp.max() - ramp.min())
    image = image * (LIGHT_GAIN[0] + (LIGHT_GAIN[1] - LIGHT_GAIN[0]) * ramp)
    blur = rng.uniform(*blur_sigma)
    if blur > 0.05:
        image = cv2.GaussianBlur(image, (0, 0), blur)
    noise = rng.uniform(*noise_sigma)
    image = image + rng.normal(0, noise, image.shape).astype(np.float32)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8), blur, noise
