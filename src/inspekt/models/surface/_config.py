"""Options of the surface (segmentation) model, validated and frozen."""

from __future__ import annotations

from pydantic import Field

from ..training_options import TrainingOptions


class SurfaceConfig(TrainingOptions):
    """How the surface model sees images and how it is trained."""

    input_size: int | None = Field(
        None,
        ge=64,
        le=1024,
        multiple_of=32,
        description="Side of the square the image is resized to. Unset: the training "
        "images' median longer side rounded up to 32, between 64 and 384.",
    )
    batch_size: int = Field(8, ge=2, le=64, description="Images per training step.")
    decoder_channels: int = Field(
        64, ge=16, le=256, description="Width of the decoder that joins the backbone's levels."
    )
