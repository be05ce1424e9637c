"""The pretrained backbone as a patch-feature extractor, exported once to ONNX.

This is the anomaly model's only torch code, and only :func:`export_feature_extractor`
calls it: training exports the graph into the model directory, serving runs the
``.onnx`` with onnxruntime. Everything that turns pixels into patch features
(input normalisation, local aggregation, resampling of every tap to one grid and
the concatenation) lives inside the graph, so serving does no per-pixel work in
Python and the exported graph is the single definition of the features.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..backbone import BUILD_SIZE, export_onnx, load_pretrained, tap_indices

if TYPE_CHECKING:
    import torch

    from ._config import AnomalyConfig


def build_feature_extractor(config: AnomalyConfig) -> torch.nn.Module:
    """The torch module that maps a (1, 3, H, W) RGB 0..255 image to (1, D, H/s, W/s) features."""
    import torch
    from torch.nn import functional

    net = load_pretrained(config.backbone)
    taps = tap_indices(net, config.feature_strides)
    last = max(taps.values())
    grid_stride = config.grid_stride
    pool = config.patch_size
    border = config.border_padding
    border_cells = border // grid_stride

    class PatchFeatures(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = torch.nn.Sequential(net._conv_stem, net._bn0, net._swish)
            self.blocks = torch.nn.ModuleList(net._blocks[: last + 1])

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            if border:
                # Mirrored margins: patches at the image edge then see content like any
                # other patch instead of zero padding, which otherwise makes good edges
                # look anomalous. The margin's features are cropped off below.
                image = functional.pad(image, (border, border, border, border), mode="reflect")
            x = self.stem((image - 127.0) / 128.0)
            height, width = image.shape[-2] // grid_stride, image.shape[-1] // grid_stride
            outputs = []
            for index, block in enumerate(self.blocks):
                x = block(x)
                stride = next((s for s, i in taps.items() if i == index), None)
                if stride is None:
                    continue
                feature = functional.avg_pool2d(
                    x, pool, stride=1, padding=pool // 2, count_include_pad=False
                )
                if stride < grid_stride:
                    factor = grid_stride // stride
                    feature = functional.avg_pool2d(feature, factor, stride=factor)
                elif stride > grid_stride:
                    feature = functional.interpolate(
                        feature, size=(height, width), mode="bilinear", align_corners=False
                    )
                outputs.append(feature)
            features = torch.cat(outputs, dim=1)
            if border_cells:
                features = features[:, :, border_cells:-border_cells, border_cells:-border_cells]
            return features

    return PatchFeatures().eval()


def export_feature_extractor(config: AnomalyConfig, path: Path) -> None:
    """Write the feature extractor as ONNX with dynamic height and width."""
    import torch

    export_onnx(
        build_feature_extractor(config),
        torch.zeros(1, 3, BUILD_SIZE, BUILD_SIZE),
        path,
        "features",
        {"image": {2: "height", 3: "width"}, "features": {2: "rows", 3: "cols"}},
    )
