"""AnomalyConfig rejects what it cannot honour and cannot be changed after creation."""

from __future__ import annotations

import pydantic
import pytest

from inspekt.models.anomaly import AnomalyConfig


@pytest.mark.parametrize(
    "fields",
    [
        {"input_size": 100},
        {"input_size": 32},
        {"input_size": 4096},
        {"bank_size": 0},
        {"threshold_quantile": 1.5},
        {"feature_strides": ()},
        {"feature_strides": (8, 8)},
        {"feature_strides": (8, 16), "grid_stride": 4},
        {"backbone": "resnet18"},
        {"unknown_option": 1},
    ],
)
def test_invalid_options_are_rejected(fields: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        AnomalyConfig(**fields)  # type: ignore[arg-type]


def test_config_is_frozen_and_round_trips_through_json() -> None:
    config = AnomalyConfig(input_size=640, feature_strides=(4, 8))
    with pytest.raises(pydantic.ValidationError):
        config.input_size = 320  # type: ignore[misc]
    assert AnomalyConfig.model_validate_json(config.model_dump_json()) == config
