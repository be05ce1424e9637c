"""The anomaly model learns an input profile at fit, saves it in its manifest, loads it back."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import numpy.typing as npt

from inspekt.models.anomaly import AnomalyModel
from inspekt.models.input_profile import InputChecks, InputProfile

Images = list[npt.NDArray[np.uint8]]


def test_fit_learns_the_profile_of_the_good_images(model: AnomalyModel, good_train: Images) -> None:
    assert model.input_profile == InputProfile.learn(good_train)
    assert model.check_input(good_train[0]) == []
    assert model.check_input(good_train[0][:1, :1])[0].startswith("image is 1x1 px")


def test_the_profile_is_saved_in_the_manifest_and_loaded(
    model: AnomalyModel, saved_model: Path
) -> None:
    assert model.input_profile is not None
    manifest = json.loads((saved_model / "model.json").read_text())
    assert manifest["input_profile"] == model.input_profile.as_json()
    assert AnomalyModel.load(saved_model).input_profile == model.input_profile


def test_the_profile_only_adds_a_manifest_key(model: AnomalyModel, tmp_path: Path) -> None:
    """Payload files are byte-identical with or without a profile; the manifest gains one key."""
    without = copy.copy(model)
    without.input_profile = None
    model.save(tmp_path / "with")
    without.save(tmp_path / "without")
    with_manifest = json.loads((tmp_path / "with" / "model.json").read_text())
    without_manifest = json.loads((tmp_path / "without" / "model.json").read_text())
    assert with_manifest.pop("input_profile") and with_manifest == without_manifest
    for entry in with_manifest["files"].values():
        name = entry["name"]
        assert (tmp_path / "with" / name).read_bytes() == (tmp_path / "without" / name).read_bytes()


def test_a_model_saved_before_profiles_loads_and_refuses_only_degenerate_frames(
    saved_model: Path, tmp_path: Path, good_test: Images
) -> None:
    old = tmp_path / "old"
    old.mkdir()
    for path in saved_model.iterdir():
        old.joinpath(path.name).write_bytes(path.read_bytes())
    manifest = json.loads((old / "model.json").read_text())
    del manifest["input_profile"]
    (old / "model.json").write_text(json.dumps(manifest))
    loaded = AnomalyModel.load(old)
    assert loaded.input_profile is None
    assert loaded.check_input(good_test[0][:40, :300]) == []  # size and aspect unknown
    black = np.zeros((512, 512, 3), np.uint8)
    assert loaded.check_input(black)[0].startswith("frame is uniform (gray std 0.0")
    assert loaded.check_input(black, InputChecks(degenerate=False)) == []
    assert np.isfinite(loaded.predict(good_test[0]).score)
