"""Saving and loading: round trip, crash safety under SIGKILL, and named errors on damage."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from inspekt.errors import ModelFileError
from inspekt.models.anomaly import AnomalyModel

from .conftest import TINY

Images = list[npt.NDArray[np.uint8]]


def payload(directory: Path, role: str) -> Path:
    (path,) = directory.glob(f"{role}-*")
    return path


def copy(directory: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(directory, target)
    for path in target.iterdir():
        path.chmod(0o644)
    return target


def test_round_trip_gives_identical_predictions(
    model: AnomalyModel, saved_model: Path, good_test: Images
) -> None:
    loaded = AnomalyModel.load(saved_model)
    expected, actual = model.predict(good_test[0]), loaded.predict(good_test[0])
    assert actual.score == pytest.approx(expected.score, rel=1e-5)
    np.testing.assert_allclose(actual.anomaly_map, expected.anomaly_map, rtol=1e-4, atol=1e-5)
    assert loaded.config == model.config
    assert loaded.training["good_images"] == model.training["good_images"]


def test_directory_holds_onnx_npy_and_json_only(saved_model: Path) -> None:
    suffixes = sorted(path.suffix for path in saved_model.iterdir())
    assert suffixes == [".json", ".json", ".npy", ".npy", ".onnx"]
    manifest = json.loads((saved_model / "model.json").read_text())
    assert manifest["format_version"] == 1
    np.load(payload(saved_model, "bank"), allow_pickle=False)
    training = json.loads((saved_model / "training.json").read_text())
    assert {"good_sha256", "duration_s", "versions", "good_images"} <= training.keys()


def test_resave_replaces_old_payloads(
    model: AnomalyModel, good_train: Images, tmp_path: Path
) -> None:
    model.save(tmp_path)
    other = AnomalyModel.fit(good_train[:2], TINY.model_copy(update={"bank_size": 100}))
    other.save(tmp_path)
    assert len(list(tmp_path.glob("bank-*"))) == 1
    assert AnomalyModel.load(tmp_path).bank_patches == other.bank_patches


@pytest.mark.parametrize(
    ("damage", "names"),
    [
        (lambda d: (d / "model.json").unlink(), "model.json"),
        (lambda d: (d / "model.json").write_text("{not json"), "model.json"),
        (lambda d: payload(d, "bank").unlink(), "bank-"),
        (lambda d: payload(d, "backbone").unlink(), "backbone-"),
        (lambda d: _truncate(payload(d, "bank")), "bank-"),
        (lambda d: _truncate(payload(d, "backbone")), "backbone-"),
        (lambda d: _flip_byte(payload(d, "bank")), "bank-"),
        (lambda d: payload(d, "projection").unlink(), "projection-"),
        (lambda d: _set_manifest(d, format_version=99), "model.json"),
        (lambda d: _set_manifest(d, config={"input_size": 7}), "model.json"),
        (lambda d: _set_manifest(d, input_profile={"images": 0}), "model.json"),
        (lambda d: _replace_consistently(d, "backbone", b"not onnx"), "backbone-"),
    ],
    ids=[
        "manifest-missing",
        "manifest-garbage",
        "bank-missing",
        "onnx-missing",
        "bank-truncated",
        "onnx-truncated",
        "bank-corrupt",
        "projection-missing",
        "unknown-version",
        "invalid-config",
        "invalid-input-profile",
        "onnx-garbage-with-matching-hash",
    ],
)
def test_damaged_model_raises_model_file_error_naming_the_file(
    saved_model: Path, tmp_path: Path, damage: object, names: str
) -> None:
    directory = copy(saved_model, tmp_path)
    damage(directory)  # type: ignore[operator]
    with pytest.raises(ModelFileError) as raised:
        AnomalyModel.load(directory)
    assert str(directory) in raised.value.message
    assert names in raised.value.message


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def _replace_consistently(directory: Path, role: str, data: bytes) -> None:
    """New payload bytes with a manifest entry that matches them: only parsing can fail."""
    path = payload(directory, role)
    path.write_bytes(data)
    manifest = json.loads((directory / "model.json").read_text())
    manifest["files"][role].update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    (directory / "model.json").write_text(json.dumps(manifest))


def _set_manifest(directory: Path, **fields: object) -> None:
    path = directory / "model.json"
    manifest = json.loads(path.read_text())
    manifest.update(fields)
    path.write_text(json.dumps(manifest))


SAVE_FOREVER = """
import sys
from inspekt.models.anomaly import AnomalyModel
first, second = AnomalyModel.load(sys.argv[1]), AnomalyModel.load(sys.argv[2])
print("ready", flush=True)
while True:
    second.save(sys.argv[3])
    first.save(sys.argv[3])
"""


def test_kill_during_save_leaves_a_loadable_model(
    model: AnomalyModel, saved_model: Path, good_train: Images, tmp_path: Path
) -> None:
    other = AnomalyModel.fit(good_train[:2], TINY.model_copy(update={"bank_size": 100}))
    other_dir = tmp_path / "other"
    other.save(other_dir)
    banks = {model.bank_patches, other.bank_patches}
    target = tmp_path / "target"
    model.save(target)
    rng = random.Random(0)
    for _ in range(4):
        child = subprocess.Popen(
            [sys.executable, "-c", SAVE_FOREVER, str(saved_model), str(other_dir), str(target)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert AnomalyModel.load(target).bank_patches in banks
