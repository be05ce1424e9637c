"""Running the exported feature extractor with onnxruntime: the serving side of the backbone.

:func:`to_network_input` is the one definition of what the network sees — colour
conversion, size and lighting — shared by fit and predict, so a model is always fed
its images exactly as it was trained on them.
"""

from __future__ import annotations

from typing import cast

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from ...errors import TrainingError
from ...imaging.render import as_rgb
from ._config import AnomalyConfig

#: Every side fed to the network is a multiple of this (the backbone's deepest stride),
#: so the exported "same" padding stays valid and the patch grid tiles the input exactly.
SIZE_MULTIPLE = 32
#: Smallest side fed to the network: larger than the widest mirrored border (32).
MIN_SIDE = 64
#: Gray levels the dark and bright ends of a frame are stretched to when lighting is
#: normalised: inside 0..255 with room on both sides, where the pretrained network
#: saw most of its images.
DARK_LEVEL, BRIGHT_LEVEL = 32.0, 224.0
#: Percentiles taken as the frame's dark and bright ends: a defect of up to about 1 % of
#: the frame does not move them, so it still stands out after normalisation.
DARK_PERCENTILE, BRIGHT_PERCENTILE = 1.0, 99.0
#: Smallest spread between the ends that is stretched fully: a nearly uniform frame (a
#: crop of bare board, a blank area) is not amplified into noise — gain at most 4.
MIN_LIGHTING_SPAN = (BRIGHT_LEVEL - DARK_LEVEL) / 4
#: Pixels the percentiles are estimated from (an even subsample beyond it): cheap per image.
LIGHTING_SAMPLE = 1 << 14


def network_size(height: int, width: int, input_size: int) -> tuple[int, int]:
    """(height, width) the image is resized to: longer side ``input_size``, aspect kept."""
    scale = input_size / max(height, width)

    def side(length: int) -> int:
        return max(MIN_SIDE, round(length * scale / SIZE_MULTIPLE) * SIZE_MULTIPLE)

    return side(height), side(width)


def normalise_lighting(rgb: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Stretch the frame's dark and bright ends to fixed levels.

    A lamp ageing or another exposure shifts or scales every gray level; without this
    the whole frame drifts away from the memory bank and good parts score like defects.
    Percentiles rather than mean and deviation, because the mean depends on what the
    frame shows (a crop with more copper is darker) while the dark and bright ends are
    the materials themselves. All channels share one stretch, so colours keep their
    relations.
    """
    step = max(1, rgb.size // LIGHTING_SAMPLE)
    ends = np.percentile(rgb.ravel()[::step], [DARK_PERCENTILE, BRIGHT_PERCENTILE])
    dark, bright = float(ends[0]), float(ends[1])
    gain = (BRIGHT_LEVEL - DARK_LEVEL) / max(bright - dark, MIN_LIGHTING_SPAN)
    stretched = (rgb - np.float32(dark)) * np.float32(gain) + np.float32(DARK_LEVEL)
    return cast(npt.NDArray[np.float32], stretched)  # numpy's stubs lose it with scalars


def to_network_input(
    image: npt.NDArray[np.uint8], config: AnomalyConfig
) -> npt.NDArray[np.float32]:
    """A BGR, BGRA or grayscale uint8 image as the network's (1, 3, H, W) RGB float input."""
    rgb = as_rgb(image)
    if config.input_size is None:
        raise TrainingError("input_size is chosen from the images at fit; this config has none yet")
    height, width = network_size(rgb.shape[0], rgb.shape[1], config.input_size)
    shrinking = height * width < rgb.shape[0] * rgb.shape[1]
    resized = cv2.resize(
        rgb, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    ).astype(np.float32)
    if config.lighting == "normalised":
        resized = normalise_lighting(resized)
    return np.ascontiguousarray(resized.transpose(2, 0, 1)[np.newaxis])


def patch_features(
    session: ort.InferenceSession, image: npt.NDArray[np.uint8], config: AnomalyConfig
) -> npt.NDArray[np.float32]:
    """(rows, cols, D) patch features of one image."""
    (features,) = session.run(None, {"image": to_network_input(image, config)})
    return np.ascontiguousarray(features[0].transpose(1, 2, 0))
