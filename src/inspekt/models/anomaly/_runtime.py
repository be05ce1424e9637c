"""Running the exported feature extractor with onnxruntime: the serving side of the backbone."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from ...errors import ImageError

#: Every side fed to the network is a multiple of this (the backbone's deepest stride),
#: so the exported "same" padding stays valid and the patch grid tiles the input exactly.
SIZE_MULTIPLE = 32
#: Smallest side fed to the network: larger than the widest mirrored border (32).
MIN_SIDE = 64


def network_size(height: int, width: int, input_size: int) -> tuple[int, int]:
    """(height, width) the image is resized to: longer side ``input_size``, aspect kept."""
    scale = input_size / max(height, width)

    def side(length: int) -> int:
        return max(MIN_SIDE, round(length * scale / SIZE_MULTIPLE) * SIZE_MULTIPLE)

    return side(height), side(width)


def to_network_input(image: npt.NDArray[np.uint8], input_size: int) -> npt.NDArray[np.float32]:
    """A BGR, BGRA or grayscale uint8 image as the network's (1, 3, H, W) RGB float input."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    elif image.ndim == 3 and image.shape[2] == 3:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.ndim == 3 and image.shape[2] == 4:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    else:
        raise ImageError(
            f"expected an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image, got {image.shape}"
        )
    height, width = network_size(rgb.shape[0], rgb.shape[1], input_size)
    shrinking = height * width < rgb.shape[0] * rgb.shape[1]
    resized = cv2.resize(
        rgb, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    )
    return np.ascontiguousarray(resized.transpose(2, 0, 1)[np.newaxis], dtype=np.float32)


def patch_features(
    session: ort.InferenceSession, image: npt.NDArray[np.uint8], input_size: int
) -> npt.NDArray[np.float32]:
    """(rows, cols, D) patch features of one image."""
    (features,) = session.run(None, {"image": to_network_input(image, input_size)})
    return np.ascontiguousarray(features[0].transpose(1, 2, 0))
