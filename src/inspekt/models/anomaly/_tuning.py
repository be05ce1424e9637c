"""Choosing the feature configuration from good images alone, by synthetic defects.

No single input size and set of feature taps wins on every kind of part: tiny defects
on high-contrast prints want fine, early features at full resolution, textured
surfaces want coarser, deeper ones. Without defect images the choice is made by
painting defects (:mod:`inspekt.models.synthetic_defects`) onto good images held back
from training, and keeping the candidate that finds them best.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import NamedTuple, Protocol, overload

import numpy as np
import numpy.typing as npt

from ...errors import TrainingError
from ...evaluation.metrics import auroc, pixel_auroc, shrunk_for_pixels
from ...types import Image, Progress
from ..synthetic_defects import DEFECT_KINDS, paint_defect
from ._config import AnomalyConfig

#: Good images held back to carry synthetic defects, and most images a candidate fits on.
HELD_BACK = 16
TUNING_TRAIN = 48
#: Candidates are fitted with a smaller memory bank drawn from fewer patches: the
#: ranking, not the last point of accuracy, is what tuning needs, at a quarter of the cost.
CANDIDATE_BANK = 2_500
CANDIDATE_PATCHES = 50_000
#: The settings tuning chooses, unless the user set them.
TUNED_SETTINGS = frozenset({"input_size", "feature_strides"})
#: Fewer good images than this: too few to hold any back, the configuration stays as given.
MIN_IMAGES_TO_TUNE = 12
#: Longer side of the maps the synthetic pixel AUROC is computed on (memory stays small).
PIXEL_SIDE = 256
#: Seed of the painted defects, the same for every candidate so they are compared fairly.
_PAINT_SEED = 12345


class Scorer(Protocol):
    """What tuning needs of a fitted model."""

    def predict(self, image: Image) -> tuple[float, npt.NDArray[np.float32]]: ...


class CandidateScore(NamedTuple):
    """How well one configuration found the painted defects."""

    config: AnomalyConfig
    image_auroc: float
    pixel_auroc: float

    @property
    def merit(self) -> float:
        """Finding defective images and finding where the defect is count alike."""
        return (self.image_auroc + self.pixel_auroc) / 2

    def as_json(self) -> dict[str, object]:
        return {
            "input_size": self.config.input_size,
            "feature_strides": list(self.config.feature_strides),
            "image_auroc": round(self.image_auroc, 4),
            "pixel_auroc": round(self.pixel_auroc, 4),
        }


class Subset(Sequence[Image]):
    """Some items of an image sequence, read only when indexed (the source may be lazy)."""

    def __init__(self, images: Sequence[Image], indices: Sequence[int]) -> None:
        self._images = images
        self._indices = list(indices)

    def __len__(self) -> int:
        return len(self._indices)

    @overload
    def __getitem__(self, index: int) -> Image: ...
    @overload
    def __getitem__(self, index: slice) -> Subset: ...
    def __getitem__(self, index: int | slice) -> Image | Subset:
        if isinstance(index, slice):
            return Subset(self._images, self._indices[index])
        return self._images[self._indices[index]]


def candidate_configs(
    config: AnomalyConfig, fixed: Collection[str] = ()
) -> list[AnomalyConfig]:
    """The configurations tuning fits: two input sizes × fine or coarse feature taps.

    ``config`` must have its input size resolved; the other candidate size is half of it
    (kept at least 128 px, where stride-16 features still form a grid). Settings named
    in ``fixed`` (``input_size``, ``feature_strides``: those the user chose) keep their
    value. Candidates do not tune themselves, learn no relit copies and use a smaller
    bank (:data:`CANDIDATE_BANK`).
    """
    if config.input_size is None:
        raise TrainingError("candidate_configs needs a resolved input_size")
    half = max(128, config.input_size // 64 * 32)
    sizes = sorted({config.input_size, half}, reverse=True)
    if "input_size" in fixed:
        sizes = [config.input_size]
    taps: list[tuple[tuple[int, ...], int]] = [((4, 8), 8), ((8, 16), 8)]
    if "feature_strides" in fixed:
        taps = [(config.feature_strides, config.grid_stride)]
    small = {
        "tuning": "off",
        "variants": 0,
        "bank_size": min(config.bank_size, CANDIDATE_BANK),
        "coreset_candidates": min(config.coreset_candidates, CANDIDATE_PATCHES),
    }
    return [
        config.model_copy(
            update={"input_size": size, "feature_strides": strides, "grid_stride": grid, **small}
        )
        for size in sizes
        for strides, grid in taps
    ]


def with_choice(config: AnomalyConfig, candidate: AnomalyConfig) -> AnomalyConfig:
    """``config`` with the input size and feature taps of the chosen candidate."""
    chosen = candidate.model_dump(include={"input_size", "feature_strides", "grid_stride"})
    return config.model_copy(update=chosen)


def synthetic_score(
    model: Scorer, config: AnomalyConfig, images: Sequence[Image]
) -> CandidateScore:
    """Image and pixel AUROC of ``model`` on ``images`` and on them with painted defects."""
    rng = np.random.default_rng(_PAINT_SEED)
    labels: list[int] = []
    scores: list[float] = []
    masks: list[npt.NDArray[np.uint8]] = []
    maps: list[npt.NDArray[np.floating]] = []
    for image in images:
        views = [(image, np.zeros(image.shape[:2], np.uint8), 0)]
        for kind in DEFECT_KINDS:
            defect = paint_defect(image, rng, kind)
            views.append((defect.image, defect.mask, 1))
        for view, mask, label in views:
            score, heat = model.predict(view)
            small_map, small_mask = shrunk_for_pixels(heat, mask, PIXEL_SIDE)
            labels.append(label)
            scores.append(score)
            masks.append(small_mask)
            maps.append(small_map)
    return CandidateScore(config, auroc(labels, scores), pixel_auroc(masks, maps))


def tuning_split(count: int, rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """(fit, held back) image indices for tuning: random, disjoint, bounded in size."""
    order = rng.permutation(count).tolist()
    held = min(HELD_BACK, count // 4)
    return order[held : held + TUNING_TRAIN], order[:held]


def choose_config(
    images: Sequence[Image],
    config: AnomalyConfig,
    fit: Callable[[Sequence[Image], AnomalyConfig], Scorer],
    rng: np.random.Generator,
    report: Progress | None = None,
    fixed: Collection[str] = (),
) -> tuple[AnomalyConfig, list[CandidateScore]]:
    """``config`` set as the candidate that best finds synthetic defects, and every score.

    Each candidate is fitted on a bounded sample of the images and scored on others
    held back, so tuning costs a few small fits whatever the set's size. Nothing is
    fitted when there is nothing to choose (``fixed`` settles it) or too few images.
    """
    candidates = candidate_configs(config, fixed)
    if len(images) < MIN_IMAGES_TO_TUNE or len(candidates) < 2:
        return config, []
    fitting, held = tuning_split(len(images), rng)
    scored = []
    for done, candidate in enumerate(candidates):
        if report:
            report(done, len(candidates), "tuning")
        model = fit(Subset(images, fitting), candidate)
        scored.append(synthetic_score(model, candidate, Subset(images, held)))
    if report:
        report(len(candidates), len(candidates), "tuning")
    best = max(scored, key=lambda score: score.merit)
    return with_choice(config, best.config), scored
