"""Options of the anomaly model, validated and frozen so a saved model can be rebuilt exactly."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..backbone import Backbone


class AnomalyConfig(BaseModel):
    """How to extract patch features, build the memory bank and calibrate the threshold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_size: int | None = Field(
        None,
        ge=64,
        le=2048,
        multiple_of=32,
        description="Longer image side after resizing; the aspect ratio is kept. Unset: "
        "chosen at training from the images' own size (never enlarged, at most 640).",
    )
    lighting: Literal["as-is", "normalised"] = Field(
        "normalised",
        description="'normalised' stretches each frame's dark and bright ends to fixed levels "
        "before the backbone, so brightness and contrast changes do not raise scores.",
    )
    variants: int = Field(
        1,
        ge=0,
        le=4,
        description="Copies of each good image added to the memory bank, relit (brighter, "
        "darker, flatter, clipped) and turned by up to variant_turn degrees, so lighting "
        "and placement changes stay normal.",
    )
    variant_turn: float = Field(
        5.0, ge=0.0, le=30.0, description="Largest turn (degrees) of a variant copy."
    )
    variant_shift: float = Field(
        0.0,
        ge=0.0,
        le=0.25,
        description="Largest share of a variant copy's height and width cropped off each "
        "side, so the frame's edges fall on other parts of the scene.",
    )
    tuning: Literal["off", "synthetic"] = Field(
        "synthetic",
        description="'synthetic' chooses the input size and feature taps the options leave "
        "unset by how well candidates find defects painted on held-back good images "
        "(with 12 or more good images); 'off' keeps the defaults.",
    )
    backbone: Backbone = Field("efficientnet-lite0", description="Pretrained feature network.")
    feature_strides: tuple[Literal[4, 8, 16], ...] = Field(
        (4, 8), min_length=1, description="Backbone taps (by stride) concatenated per patch."
    )
    grid_stride: Literal[4, 8, 16] = Field(
        8, description="Stride of the patch grid every tap is resampled to."
    )
    border_padding: Literal[0, 16, 32] = Field(
        32, description="Mirrored margin (pixels) added around the image before the backbone."
    )
    patch_size: int = Field(3, ge=1, le=7, description="Neighbourhood averaged into each patch.")
    bank_size: int = Field(
        5_000, ge=100, le=500_000, description="Most patch features kept in the memory bank."
    )
    coreset_candidates: int = Field(
        200_000,
        ge=1_000,
        le=5_000_000,
        description="Patches drawn at random before greedy coreset selection, to bound training.",
    )
    feature_dim: int = Field(
        32,
        ge=4,
        le=1024,
        description="Principal components kept per patch; search time scales with it.",
    )
    map_dilation: Literal[1, 3, 5] = Field(
        3, description="Max filter (patch cells) so the map covers the defect's neighbourhood."
    )
    blur_sigma: float = Field(
        4.0, ge=0.0, le=32.0, description="Gaussian blur of the map, in input-image pixels."
    )
    threshold_quantile: float = Field(
        0.95,
        ge=0.5,
        le=1.0,
        description="Without defect images, the threshold is this quantile of the good images' "
        "leave-one-out scores, so about 1 - q of unseen good images get flagged.",
    )
    seed: int = Field(0, ge=0, description="Seed for patch sampling and the coreset start.")

    @model_validator(mode="after")
    def _consistent_strides(self) -> AnomalyConfig:
        if self.grid_stride < min(self.feature_strides):
            raise ValueError("grid_stride must not be finer than the finest feature stride")
        if self.border_padding % self.grid_stride:
            raise ValueError("border_padding must be a multiple of grid_stride")
        if len(set(self.feature_strides)) != len(self.feature_strides):
            raise ValueError("feature_strides must not repeat")
        return self
