"""AnomalyModel: fit on good images, save/load a crash-safe directory, predict one image."""

from __future__ import annotations

import hashlib
import json
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from inspekt.errors import ModelFileError

from . import _storage
from ._calibration import threshold_best_f1, threshold_from_good
from ._config import AnomalyConfig
from ._memory import Features, PatchIndex, greedy_coreset
from ._runtime import open_session, patch_features
from ._scoring import NORMALISED_THRESHOLD, ScoreScale, anomaly_map, smooth_grid

Image = npt.NDArray[np.uint8]
Progress = Callable[[int, int, str], None]

KIND = "inspekt.anomaly.patch-memory"


class AnomalyPrediction(NamedTuple):
    """Image score and per-pixel map, both on the normalised scale (threshold 0.5)."""

    score: float
    anomaly_map: npt.NDArray[np.float32]


class AnomalyModel:
    """A memory bank of pretrained patch features with a calibrated threshold."""

    def __init__(
        self,
        config: AnomalyConfig,
        backbone_onnx: bytes,
        bank: Features,
        scale: ScoreScale,
        training: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.scale = scale
        self.training = training or {}
        self._backbone_onnx = backbone_onnx
        self._session = open_session(backbone_onnx)
        self._index = PatchIndex(bank)
        self._grid = _GridScorer(self._session, self._index, config)

    @property
    def threshold(self) -> float:
        """The calibrated threshold on the normalised scale (always 0.5)."""
        return NORMALISED_THRESHOLD

    # ---- predict -------------------------------------------------------------------------

    def predict(self, image: Image) -> AnomalyPrediction:
        """Score one BGR (or grayscale) uint8 image of any size."""
        grid = self._grid(image)
        heat = anomaly_map(grid, self.scale, image.shape[0], image.shape[1])
        score = float(self.scale.normalise(np.float32(grid.max())))
        return AnomalyPrediction(score=score, anomaly_map=heat)

    # ---- fit -----------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        good_images: Sequence[Image],
        config: AnomalyConfig | None = None,
        defect_images: Sequence[Image] | None = None,
        progress: Progress | None = None,
    ) -> AnomalyModel:
        """Build the memory bank from good images and calibrate the threshold.

        A share of the good images (``calibration_fraction``) is held back from the bank:
        scores of images the bank has seen would set the threshold too low. Defect
        images, when given, only move the threshold (best F1 between good and defect).
        """
        config = config or AnomalyConfig()
        if not good_images:
            raise ValueError("fit needs at least one good image")
        started = time.monotonic()
        report = progress or (lambda done, total, stage: None)
        rng = np.random.default_rng(config.seed)
        bank_images, held_back = _split_hold_out(len(good_images), config, rng)

        report(0, 1, "export")
        backbone_onnx = _export_backbone(config)
        session = open_session(backbone_onnx)
        report(1, 1, "export")

        bank = _collect_bank(session, [good_images[i] for i in bank_images], config, rng, report)
        index = PatchIndex(bank)
        model_grid = _GridScorer(session, index, config)

        calibration = [good_images[i] for i in held_back] or [good_images[i] for i in bank_images]
        total = len(calibration) + len(defect_images or [])
        good_grids = []
        for done, image in enumerate(calibration, 1):
            good_grids.append(model_grid(image))
            report(done, total, "calibration")
        defect_scores = []
        for done, image in enumerate(defect_images or [], len(calibration) + 1):
            defect_scores.append(float(model_grid(image).max()))
            report(done, total, "calibration")
        scale = _calibrate(good_grids, defect_scores, config)

        training = _training_metadata(good_images, defect_images, bank_images, held_back, bank)
        training["duration_s"] = round(time.monotonic() - started, 3)
        return cls(config, backbone_onnx, bank, scale, training)

    # ---- save / load ---------------------------------------------------------------------

    def save(self, directory: str | Path) -> None:
        """Write the model atomically: a killed save leaves the previous model loadable."""
        manifest = {
            "kind": KIND,
            "config": self.config.model_dump(mode="json"),
            "scale": {"offset": self.scale.offset, "threshold": self.scale.threshold},
        }
        payloads = {
            "backbone": (".onnx", self._backbone_onnx),
            "bank": (".npy", _storage.array_bytes(self._index.bank)),
        }
        _storage.save_model(Path(directory), payloads, manifest, self.training)

    @classmethod
    def load(cls, directory: str | Path) -> AnomalyModel:
        """Load a saved model; needs onnxruntime, numpy and faiss only (no torch)."""
        directory = Path(directory)
        manifest = _storage.read_manifest(directory)
        where = directory / _storage.MANIFEST
        if manifest.get("kind") != KIND:
            raise ModelFileError(f"{where}: kind {manifest.get('kind')!r} is not {KIND!r}")
        try:
            config = AnomalyConfig.model_validate(manifest["config"])
            scale = ScoreScale(
                offset=float(manifest["scale"]["offset"]),
                threshold=float(manifest["scale"]["threshold"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{where}: invalid config or scale ({error})") from error
        bank_path = directory / str(manifest["files"]["bank"]["name"])
        bank = _storage.load_array(directory, manifest, "bank")
        if bank.ndim != 2 or bank.dtype != np.float32 or len(bank) == 0:
            raise ModelFileError(f"{bank_path}: expected a non-empty 2-D float32 array")
        onnx_path, backbone_onnx = _storage.read_payload(directory, manifest, "backbone")
        try:
            model = cls(config, backbone_onnx, bank, scale, _read_training(directory))
        except ort.capi.onnxruntime_pybind11_state.Fail as error:
            raise ModelFileError(f"{onnx_path}: not a loadable ONNX model ({error})") from error
        model._check_feature_dim(onnx_path, bank_path)
        return model

    def _check_feature_dim(self, onnx_path: Path, bank_path: Path) -> None:
        """Fail at load, not at the first image, when backbone and bank disagree."""
        probe = np.zeros((64, 64, 3), dtype=np.uint8)
        dim = patch_features(self._session, probe, 64).shape[-1]
        if dim != self._index.bank.shape[1]:
            raise ModelFileError(
                f"{bank_path}: {self._index.bank.shape[1]}-d features, but {onnx_path} gives {dim}"
            )


class _GridScorer:
    """Smoothed nearest-neighbour distance of every patch of an image, on the patch grid.

    Shared by calibration (before the model object exists) and predict, so the
    threshold is set on exactly the numbers predict produces.
    """

    def __init__(self, session: ort.InferenceSession, index: PatchIndex, config: AnomalyConfig):
        self._session, self._index, self._config = session, index, config

    def __call__(self, image: Image) -> npt.NDArray[np.float32]:
        features = patch_features(self._session, image, self._config.input_size)
        rows, cols, dim = features.shape
        distances = self._index.distances(features.reshape(-1, dim)).reshape(rows, cols)
        return smooth_grid(distances, self._config.blur_sigma / self._config.grid_stride)


def _split_hold_out(
    count: int, config: AnomalyConfig, rng: np.random.Generator
) -> tuple[list[int], list[int]]:
    """Indices for the bank and for calibration; a lone image serves both."""
    held = round(count * config.calibration_fraction)
    if config.calibration_fraction > 0 and count >= 2:
        held = min(max(held, 1), count - 1)
    order = rng.permutation(count)
    return sorted(order[held:].tolist()), sorted(order[:held].tolist())


def _export_backbone(config: AnomalyConfig) -> bytes:
    """ONNX bytes of the feature extractor; the only place training touches torch."""
    from ._backbone import export_feature_extractor

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "backbone.onnx"
        export_feature_extractor(config, path)
        return path.read_bytes()


def _collect_bank(
    session: ort.InferenceSession,
    images: Sequence[Image],
    config: AnomalyConfig,
    rng: np.random.Generator,
    report: Progress,
) -> Features:
    """Patch features of all bank images, subsampled then reduced by greedy coreset."""
    per_image = []
    for done, image in enumerate(images, 1):
        features = patch_features(session, image, config.input_size)
        per_image.append(features.reshape(-1, features.shape[-1]))
        report(done, len(images), "features")
    features = np.concatenate(per_image)
    del per_image
    if len(features) > config.coreset_candidates:
        features = features[rng.choice(len(features), config.coreset_candidates, replace=False)]
    chosen = greedy_coreset(
        features,
        config.bank_size,
        config.projection_dim,
        rng,
        lambda done, total: report(done, total, "coreset"),
    )
    return np.ascontiguousarray(features[chosen])


def _calibrate(
    good_grids: Sequence[npt.NDArray[np.float32]],
    defect_scores: Sequence[float],
    config: AnomalyConfig,
) -> ScoreScale:
    """Offset = median good-patch distance; threshold from good (and defect) image scores."""
    offset = float(np.median(np.concatenate([grid.ravel() for grid in good_grids])))
    good_scores = [float(grid.max()) for grid in good_grids]
    if defect_scores:
        threshold = threshold_best_f1(good_scores, defect_scores)
    else:
        threshold = threshold_from_good(good_scores, offset, config.threshold_margin)
    return ScoreScale(offset=offset, threshold=max(threshold, offset + 1e-6))


def _images_digest(images: Sequence[Image]) -> str:
    digest = hashlib.sha256()
    for image in images:
        digest.update(str(image.shape).encode())
        digest.update(np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _training_metadata(
    good: Sequence[Image],
    defect: Sequence[Image] | None,
    bank_images: Sequence[int],
    held_back: Sequence[int],
    bank: Features,
) -> dict[str, Any]:
    packages = ("inspekt", "numpy", "onnxruntime", "faiss-cpu", "torch", "onnx")
    return {
        "good_images": len(good),
        "defect_images": len(defect or []),
        "bank_images": len(bank_images),
        "calibration_images": len(held_back),
        "bank_patches": int(bank.shape[0]),
        "feature_dim": int(bank.shape[1]),
        "data_sha256": _images_digest([*good, *(defect or [])]),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in packages},
    }


def _read_training(directory: Path) -> dict[str, Any]:
    """Training metadata is informative only: a damaged copy does not block loading."""
    try:
        loaded = json.loads((directory / _storage.TRAINING).read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}
