"""Options of the object detector, validated and frozen."""

from __future__ import annotations

from pydantic import Field

from ..training_options import TrainingOptions


class DetectorConfig(TrainingOptions):
    """How the detector sees images, how it is trained and how boxes are read out."""

    input_size: int | None = Field(
        None,
        ge=64,
        le=1280,
        multiple_of=32,
        description="Side of the square the image is resized to. Unset: the training "
        "images' median longer side rounded up to 32, between 64 and 640 (small defects "
        "keep their pixels).",
    )
    crop_size: int = Field(
        320,
        ge=64,
        le=1280,
        multiple_of=32,
        description="Training sees crops of this side from larger images: the same objects "
        "at the same scale, at a fraction of the cost.",
    )
    steps: int = Field(
        1300, ge=10, le=100_000, description="Training steps aimed at when epochs is unset "
        "(at most 60 epochs).",
    )
    batch_size: int = Field(8, ge=2, le=64, description="Images per training step.")
    patience: int = Field(
        8, ge=1, le=50, description="Stop after this many validated epochs without a better "
        "one (validation starts half way through).",
    )
    decoder_channels: int = Field(
        64, ge=16, le=256, description="Width of the decoder that joins the backbone's levels."
    )
    max_detections: int = Field(100, ge=1, le=1000, description="Most boxes per image.")
    nms_iou: float = Field(
        0.5, gt=0, le=1, description="Boxes of a class overlapping a stronger one this much "
        "(IoU) are dropped.",
    )
