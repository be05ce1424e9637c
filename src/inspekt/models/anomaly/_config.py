"""Options of the anomaly model, validated and frozen so a saved model can be rebuilt exactly."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Backbone = Literal["efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2"]


class AnomalyConfig(BaseModel):
    """How to extract patch features, build the memory bank and calibrate the threshold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_size: int = Field(
        512,
        ge=64,
        le=2048,
        multiple_of=32,
        description="Longer image side after resizing; the aspect ratio is kept.",
    )
    backbone: Backbone = Field("efficientnet-lite0", description="Pretrained feature network.")
    feature_strides: tuple[Literal[4, 8, 16], ...] = Field(
        (8, 16), min_length=1, description="Backbone taps (by stride) concatenated per patch."
    )
    grid_stride: Literal[4, 8, 16] = Field(
        8, description="Stride of the patch grid every tap is resampled to."
    )
    patch_size: int = Field(3, ge=1, le=7, description="Neighbourhood averaged into each patch.")
    bank_size: int = Field(
        20_000, ge=100, le=500_000, description="Most patch features kept in the memory bank."
    )
    coreset_candidates: int = Field(
        200_000,
        ge=1_000,
        le=5_000_000,
        description="Patches drawn at random before greedy coreset selection, to bound training.",
    )
    projection_dim: int = Field(
        64, ge=8, le=1024, description="Dimension of the random projection used by the coreset."
    )
    blur_sigma: float = Field(
        4.0, ge=0.0, le=32.0, description="Gaussian blur of the map, in input-image pixels."
    )
    calibration_fraction: float = Field(
        0.15, ge=0.0, le=0.5, description="Share of good images held back to set the threshold."
    )
    threshold_margin: float = Field(
        0.1,
        ge=0.0,
        le=2.0,
        description="Without defect images: threshold = worst held-back good score plus this "
        "share of the good scores' spread.",
    )
    seed: int = Field(0, ge=0, description="Seed for sampling, projection and the hold-out split.")

    @model_validator(mode="after")
    def _grid_not_finer_than_taps(self) -> AnomalyConfig:
        if self.grid_stride < min(self.feature_strides):
            raise ValueError("grid_stride must not be finer than the finest feature stride")
        if len(set(self.feature_strides)) != len(self.feature_strides):
            raise ValueError("feature_strides must not repeat")
        return self
