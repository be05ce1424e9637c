"""Threshold-free (AUROC, AUPRO) and thresholded (F1, confusion, region) metrics, exact.

Pure numpy, except for OpenCV's connected-component labelling of ground-truth masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, cast

import cv2
import numpy as np
import numpy.typing as npt

from ..errors import DatasetError

ArrayLike = Sequence[float] | npt.NDArray[np.generic]


def _binary(labels: ArrayLike) -> npt.NDArray[np.bool_]:
    array = np.asarray(labels).ravel()
    if array.dtype == np.bool_:
        return array
    if not np.isin(array, (0, 1)).all():
        raise DatasetError("labels must be 0 (good) or 1 (defect)")
    return array.astype(bool)


def auroc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve: P(defect score > good score), ties counting one half.

    Computed from average ranks (Mann-Whitney U), which is exact with ties. Each defect
    score's average rank is read off one sorted copy of the scores (two binary
    searches), so tens of millions of pixel scores cost one copy of them, not the
    half-dozen an argsort-based ranking needs. Float32 scores stay float32.
    """
    positive = _binary(labels)
    values = np.asarray(scores)
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float64)
    values = values.ravel()
    if positive.shape != values.shape:
        raise DatasetError("labels and scores differ in length")
    return _auroc_of_sorted(np.sort(values), values[positive])


def _auroc_of_sorted(ordered: npt.NDArray[np.floating], defect: npt.NDArray[np.floating]) -> float:
    """AUROC from every score in ascending order and the defect scores among them."""
    n_pos = defect.size
    n_neg = ordered.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise DatasetError("AUROC needs both good and defect samples")
    below = np.searchsorted(ordered, defect, side="left")
    up_to = np.searchsorted(ordered, defect, side="right")
    # 1-based average rank of a run of ties spanning positions below..up_to-1.
    rank_sum = float(below.sum(dtype=np.float64) + up_to.sum(dtype=np.float64) + n_pos) / 2.0
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def pixel_auroc(
    masks: Sequence[npt.NDArray[np.generic]], maps: Sequence[npt.NDArray[np.floating]]
) -> float:
    """AUROC over every pixel of every image (masks nonzero = defect), as in MVTec AD.

    The pooled pixel scores are this function's own copy, so they are sorted in place:
    the only large allocation is that one copy.
    """
    if len(masks) != len(maps):
        raise DatasetError("one mask per map is needed")
    defect_parts = []
    for mask, heat in zip(masks, maps, strict=True):
        if mask.shape != heat.shape:
            raise DatasetError(f"mask {mask.shape} and map {heat.shape} differ in size")
        defect_parts.append(np.asarray(heat, dtype=np.float32)[np.asarray(mask) > 0])
    defect = np.concatenate(defect_parts)
    values = np.concatenate([np.asarray(h, dtype=np.float32).ravel() for h in maps])
    values.sort()
    return _auroc_of_sorted(values, defect)


def shrunk_for_pixels(
    heat: npt.NDArray[np.floating], mask: npt.NDArray[np.uint8], side: int
) -> tuple[npt.NDArray[np.floating], npt.NDArray[np.uint8]]:
    """A map and its mask (already the map's size) at most ``side`` px on the longer side.

    Pixel metrics sort every pixel of every image: at full resolution a few dozen
    640-px maps cost gigabytes, while AUROC on maps shrunk to a few hundred pixels moves
    by thousandths.
    """
    height, width = heat.shape[:2]
    scale = side / max(height, width)
    if scale >= 1:
        return heat, mask
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return (
        cast(npt.NDArray[np.floating], cv2.resize(heat, size, interpolation=cv2.INTER_AREA)),
        cast(npt.NDArray[np.uint8], cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)),
    )


def f1_at_threshold(labels: ArrayLike, scores: ArrayLike, threshold: float) -> float:
    """F1 of the defect class when ``score >= threshold`` is called a defect."""
    positive = _binary(labels)
    predicted = np.asarray(scores, dtype=np.float64).ravel() >= threshold
    true_pos = int((positive & predicted).sum())
    denominator = int(positive.sum()) + int(predicted.sum())
    return 2.0 * true_pos / denominator if denominator else 1.0


def best_f1(labels: ArrayLike, scores: ArrayLike) -> tuple[float, float]:
    """Highest F1 over all thresholds, and the lowest threshold reaching it."""
    candidates = np.unique(np.asarray(scores, dtype=np.float64))
    best = (-1.0, float(candidates[0]))
    for threshold in candidates:
        f1 = f1_at_threshold(labels, scores, float(threshold))
        if f1 > best[0]:
            best = (f1, float(threshold))
    return best



# ---- image verdicts at a threshold -----------------------------------------------------------


@dataclass(frozen=True)
class Confusion:
    """Image verdicts against labels; positive = a defect image flagged NOK."""

    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def escape_rate(self) -> float | None:
        """Defect images passed as OK / defect images: what reaches the customer.

        None without defect images.
        """
        defects = self.tp + self.fn
        return self.fn / defects if defects else None

    @property
    def false_reject_rate(self) -> float | None:
        """Good images flagged NOK / good images: what is scrapped for nothing.

        None without good images.
        """
        goods = self.fp + self.tn
        return self.fp / goods if goods else None

    def as_dict(self) -> dict[str, int]:
        return {"tp": self.tp, "fp": self.fp, "tn": self.tn, "fn": self.fn}


def confusion(labels: ArrayLike, flagged: ArrayLike) -> Confusion:
    """Count the verdicts ``flagged`` (true = NOK) against ``labels`` (1 = defect).

    Takes verdicts, not scores: a module with a minimum defect area can pass an image whose
    score is above its threshold, and the confusion must be what the line would do.
    """
    positive = _binary(labels)
    nok = np.asarray(flagged).ravel().astype(bool)
    if positive.shape != nok.shape:
        raise DatasetError("labels and verdicts differ in length")
    return Confusion(
        tp=int((positive & nok).sum()),
        fp=int((~positive & nok).sum()),
        tn=int((~positive & ~nok).sum()),
        fn=int((positive & ~nok).sum()),
    )


@dataclass(frozen=True)
class ZeroEscape:
    """The highest threshold that flags every test defect, and what it costs in good images."""

    threshold: float
    #: Share of good images scoring ``>= threshold``; None without good images.
    false_reject_rate: float | None


def zero_escape(labels: ArrayLike, scores: ArrayLike) -> ZeroEscape | None:
    """The lowest defect score, with images NOK at ``score >= threshold``; None without defects.

    Any threshold above it lets that defect pass, so it is the highest threshold with no
    escape on the test set; the share of good images at or above it is the false-reject
    rate a zero-escape line would run at.
    """
    positive = _binary(labels)
    values = np.asarray(scores, dtype=np.float64).ravel()
    if positive.shape != values.shape:
        raise DatasetError("labels and scores differ in length")
    if not positive.any():
        return None
    threshold = float(values[positive].min())
    goods = values[~positive]
    rejected = float((goods >= threshold).mean()) if goods.size else None
    return ZeroEscape(threshold, rejected)


# ---- per-region overlap (PRO) ----------------------------------------------------------------

#: AUPRO integrates the PRO curve up to this false-positive rate, as MVTec AD does: beyond it a
#: map flags so much good surface that it is of no use, and the area there would only reward
#: flagging everything.
AUPRO_MAX_FPR = 0.3


def label_regions(mask: npt.NDArray[np.generic]) -> tuple[npt.NDArray[np.int32], int]:
    """Connected regions of a mask's nonzero pixels, 8-connected (as MVTec AD labels them).

    Returns the label image (0 = background, 1..n = a region) and n.
    """
    binary = (np.asarray(mask) > 0).astype(np.uint8)
    if binary.ndim != 2:
        raise DatasetError(f"a mask must be 2-D, not of shape {binary.shape}")
    count, labels = cv2.connectedComponents(binary, connectivity=8)
    return labels.astype(np.int32), int(count) - 1


def aupro(
    masks: Sequence[npt.NDArray[np.generic]],
    maps: Sequence[npt.NDArray[np.floating]],
    max_fpr: float = AUPRO_MAX_FPR,
) -> float:
    """Area under the per-region-overlap curve for FPR in ``[0, max_fpr]``, over ``max_fpr``.

    The MVTec AD definition. Pixel AUROC is ruled by large defects: a map that finds one
    big scratch and misses five small dents still scores well. PRO weighs every
    ground-truth region the same: at a threshold ``t`` it is the mean over all regions
    (8-connected components of the masks, of all images) of the share of the region's
    pixels scoring ``>= t``, while the FPR is the share of all good pixels (mask 0, of all
    images) scoring ``>= t``. The curve is integrated by trapezoids, interpolated linearly
    at ``max_fpr``, and normalised so that 1.0 is a perfect map.

    Exact, with every distinct score a threshold, and vectorised: the pixels scoring below
    the good score where the FPR passes ``max_fpr`` cannot change the area, so they are
    left out (the good scores are sorted in place, the rest is a view of them) and the
    rates at each distinct defect score are read off by binary search. No loop over
    thresholds, and no array per pixel beyond the good scores themselves.
    """
    if len(masks) != len(maps):
        raise DatasetError("one mask per map is needed")
    if not 0 < max_fpr <= 1:
        raise DatasetError(f"max_fpr must be in (0, 1], not {max_fpr}")
    # The good pixels are most of the data: one array, filled image by image.
    good = np.empty(sum(np.size(m) - np.count_nonzero(m) for m in masks), np.float32)
    filled = 0
    defect_parts: list[npt.NDArray[np.float32]] = []
    region_parts: list[npt.NDArray[np.int64]] = []
    n_regions = 0
    for mask, heat in zip(masks, maps, strict=True):
        if np.shape(mask) != np.shape(heat):
            raise DatasetError(f"mask {np.shape(mask)} and map {np.shape(heat)} differ in size")
        labels, count = label_regions(mask)
        values = np.asarray(heat, dtype=np.float32)
        inside = labels > 0
        outside = values[~inside]
        good[filled : filled + outside.size] = outside
        filled += outside.size
        defect_parts.append(values[inside])
        region_parts.append(labels[inside].astype(np.int64) - 1 + n_regions)  # ids over all
        n_regions += count
    if good.size == 0 or n_regions == 0:
        raise DatasetError("AUPRO needs good pixels and at least one ground-truth region")
    n_good = good.size
    defect = np.concatenate(defect_parts)
    region = np.concatenate(region_parts)
    # A region counts 1 / n_regions in PRO, shared among its pixels.
    weight = (1.0 / (np.bincount(region, minlength=n_regions) * n_regions))[region]

    # Every threshold above the k-th highest good score has FPR <= max_fpr, the k-th itself
    # has FPR > max_fpr (the point to interpolate towards): lower scores cannot matter.
    k = min(int(np.floor(max_fpr * n_good)) + 1, n_good)
    good.sort()  # in place; ours, and its order does not matter
    cutoff = good[n_good - k]
    # A view, with every tie of the cutoff: they all join its point.
    good = good[np.searchsorted(good, cutoff, side="left") :]
    keep = defect >= cutoff
    defect, weight = defect[keep], weight[keep]

    # The curve has a point at every distinct score, but between two defect scores only
    # the FPR moves (PRO is flat), so the area only needs, per distinct defect score t,
    # the points just above it (good > t, PRO of defects > t) and at it (good >= t, PRO
    # of defects >= t), plus the end at the cutoff. The good pixels (sorted above) are
    # counted by binary search: no per-pixel cumulative arrays.
    descending = np.argsort(defect, kind="stable")[::-1]
    defect, weight = defect[descending], weight[descending]
    starts = np.flatnonzero(np.r_[defect.size > 0, np.diff(defect) != 0])
    values = defect[starts]
    pro_at = np.cumsum(np.add.reduceat(weight, starts)) if values.size else np.empty(0)
    above = good.size - np.searchsorted(good, values, side="right")
    at = good.size - np.searchsorted(good, values, side="left")
    fpr = np.empty(2 * values.size + 2)
    pro = np.empty(2 * values.size + 2)
    fpr[0] = pro[0] = 0.0
    fpr[1:-1:2], pro[1:-1:2] = above / n_good, np.r_[0.0, pro_at[:-1]]
    fpr[2:-1:2], pro[2:-1:2] = at / n_good, pro_at
    fpr[-1], pro[-1] = good.size / n_good, pro_at[-1] if values.size else 0.0
    return area_up_to(fpr, pro, max_fpr) / max_fpr


def area_up_to(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], x_max: float) -> float:
    """Trapezoid area under ``y(x)`` for ``x`` in ``[x[0], x_max]`` (``x`` nondecreasing).

    ``y`` at ``x_max`` is interpolated linearly on the segment that crosses it; a curve that
    ends before ``x_max`` is not extended.
    """
    n = int(np.searchsorted(x, x_max, side="right"))  # points with x <= x_max
    xs, ys = x[:n], y[:n]
    if 0 < n < x.size:
        x0, x1, y0, y1 = x[n - 1], x[n], y[n - 1], y[n]
        xs = np.r_[xs, x_max]
        ys = np.r_[ys, y0 + (y1 - y0) * (x_max - x0) / (x1 - x0)]
    return float(np.sum(np.diff(xs) * (ys[1:] + ys[:-1]) / 2.0))


# ---- reported boxes against ground-truth regions ---------------------------------------------


class Box(Protocol):
    """A reported rectangle in image pixels (:class:`inspekt.imaging.regions.Region` is one)."""

    @property
    def x(self) -> int: ...
    @property
    def y(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...


@dataclass(frozen=True)
class RegionOverlap:
    """How reported boxes meet ground-truth regions: one image's counts, or a sum (``+``)."""

    #: ground-truth regions (8-connected components of the masks)
    regions: int = 0
    #: of them, those with at least one pixel inside some box
    touched: int = 0
    #: boxes reported
    boxes: int = 0
    #: of them, those with no ground-truth pixel inside
    false_boxes: int = 0

    def __add__(self, other: RegionOverlap) -> RegionOverlap:
        return RegionOverlap(
            self.regions + other.regions,
            self.touched + other.touched,
            self.boxes + other.boxes,
            self.false_boxes + other.false_boxes,
        )

    @property
    def recall(self) -> float | None:
        """Share of ground-truth regions touched by a box; None without regions."""
        return self.touched / self.regions if self.regions else None


def region_overlap(mask: npt.NDArray[np.generic], boxes: Sequence[Box]) -> RegionOverlap:
    """Which ground-truth regions of one image's mask the boxes touch, and which boxes miss.

    Touching, not IoU: an operator shown a box on a defect has found it, even if the box
    is larger or smaller than the defect, so a region counts as found when one of its
    pixels lies inside a box. A box with no defect pixel inside is a false alarm.
    Boxes are clipped to the mask.
    """
    labels, count = label_regions(mask)
    touched = np.zeros(count + 1, bool)
    false_boxes = 0
    for box in boxes:
        x0, y0 = max(box.x, 0), max(box.y, 0)
        window = labels[y0 : max(box.y + box.height, 0), x0 : max(box.x + box.width, 0)]
        inside = window[window > 0]
        if inside.size:
            touched[inside] = True
        else:
            false_boxes += 1
    return RegionOverlap(count, int(touched[1:].sum()), len(boxes), false_boxes)
