"""AnomalyModel: fit on good images, save/load a crash-safe directory, predict one image."""

from __future__ import annotations

import functools
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np
import numpy.typing as npt

from ...errors import ModelFileError, TrainingError
from ...types import Image, Progress
from .. import storage
from ..input_profile import InputChecks, InputProfile, check_input, typical_side
from ..onnx import open_session
from ._calibration import threshold_best_f1, threshold_from_good
from ._config import AnomalyConfig
from ._memory import Features, PatchIndex, greedy_coreset, project
from ._runtime import MIN_SIDE, patch_features
from ._scoring import NORMALISED_THRESHOLD, ScoreScale, anomaly_map, smooth_grid
from ._training import collect_training_features
from ._tuning import TUNED_SETTINGS, CandidateScore, choose_config

KIND = "inspekt.anomaly.patch-memory"
#: Largest input size chosen from the data (``input_size`` unset); 640² fits the
#: per-image budget on two cores.
AUTO_INPUT_LIMIT = 640
#: The options the exported backbone graph depends on.
_GRAPH_OPTIONS = {"backbone", "feature_strides", "grid_stride", "patch_size", "border_padding"}


class AnomalyPrediction(NamedTuple):
    """Image score and per-pixel map, both on the normalised scale (threshold 0.5)."""

    score: float
    anomaly_map: npt.NDArray[np.float32]


class AnomalyModel:
    """A memory bank of pretrained patch features with a calibrated threshold."""

    #: The ``kind`` its saved folders carry in their manifest.
    kind: ClassVar[str] = KIND

    def __init__(
        self,
        config: AnomalyConfig,
        backbone_onnx: bytes,
        projection: Features,
        bank: Features,
        scale: ScoreScale,
        training: dict[str, Any] | None = None,
        input_profile: InputProfile | None = None,
    ) -> None:
        self.config = config
        self.scale = scale
        self.training = training or {}
        #: What the training images looked like; None for models saved before profiles.
        self.input_profile = input_profile
        self._backbone_onnx = backbone_onnx
        self._projection = projection
        self._session = open_session(backbone_onnx)
        self._index = PatchIndex(bank)

    @property
    def threshold(self) -> float:
        """The calibrated threshold on the normalised scale (always 0.5)."""
        return NORMALISED_THRESHOLD

    @property
    def bank_patches(self) -> int:
        """Patch features in the memory bank (drives predict time and model size)."""
        return int(self._index.bank.shape[0])

    # ---- predict -------------------------------------------------------------------------

    def check_input(self, image: npt.NDArray[Any], checks: InputChecks | None = None) -> list[str]:
        """Why ``image`` is too far from the training images to be judged; empty when it is not.

        Without a profile (a model saved before profiles) only degenerate frames are refused.
        """
        return check_input(image, self.input_profile, checks)

    def predict(self, image: Image) -> AnomalyPrediction:
        """Score one BGR (or grayscale) uint8 image of any size."""
        features = project(
            patch_features(self._session, image, self.config), self._projection
        )
        grid = _distance_grid(self._index, features, self.config)
        heat = anomaly_map(grid, self.scale, image.shape[0], image.shape[1])
        return AnomalyPrediction(score=float(heat.max()), anomaly_map=heat)

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

        Every good image feeds the bank; up to ``CALIBRATION_IMAGES`` of them also feed
        the calibration: each is scored against the bank without its own patches
        (leave-one-image-out), which is what an unseen good image would score, without
        holding images back from a small training set. Defect images, when given, only
        move the threshold (best F1 between the classes).

        The main pass reads each image once, by index, and keeps none (the input-size
        choice and tuning read a bounded sample again): pass a lazy sequence (one that
        reads a file per item) and memory stays bounded whatever the set's size.
        """
        config = config or AnomalyConfig()
        if not good_images:
            raise TrainingError("fit needs at least one good image")
        started = time.monotonic()
        report = progress or (lambda done, total, stage: None)
        rng = np.random.default_rng(config.seed)
        chosen_by_user = config.model_fields_set & TUNED_SETTINGS
        config = resolve_input_size(config, good_images, rng)
        tried: list[CandidateScore] = []
        if config.tuning == "synthetic":
            config, tried = choose_config(
                good_images, config, cls.fit, rng, report, fixed=chosen_by_user
            )

        report(0, 1, "export")
        backbone_onnx = _export_backbone(config)
        session = open_session(backbone_onnx)
        report(1, 1, "export")

        collected = collect_training_features(session, good_images, config, rng, report)
        bank, owners = _select_bank(collected.candidates, collected.owners, config, rng, report)
        index = PatchIndex(bank)

        calibration = collected.calibration
        total = len(calibration) + len(defect_images or [])
        good_grids = []
        for done, (owner, features) in enumerate(sorted(calibration.items()), 1):
            own = _own_rows(owners, owner) if len(good_images) > 1 else None
            good_grids.append(_distance_grid(index, features, config, exclude=own))
            report(done, total, "calibration")
        defect_scores = []
        for done, image in enumerate(defect_images or [], len(calibration) + 1):
            features = project(patch_features(session, image, config), collected.projection)
            defect_scores.append(float(_distance_grid(index, features, config).max()))
            report(done, total, "calibration")
        scale = _calibrate(good_grids, defect_scores, config)
        profile = InputProfile.from_stats(collected.stats)

        training = _training_metadata(
            len(good_images), len(defect_images or []), bank, collected.digest
        )
        training["calibration"] = _calibration_summary(scale, good_grids, defect_scores)
        if tried:
            training["tuning"] = [score.as_json() for score in tried]
        training["duration_s"] = round(time.monotonic() - started, 3)
        return cls(config, backbone_onnx, collected.projection, bank, scale, training, profile)

    # ---- save / load ---------------------------------------------------------------------

    def save(self, directory: str | Path) -> None:
        """Write the model atomically: a killed save leaves the previous model loadable."""
        manifest = {
            "kind": KIND,
            "config": self.config.model_dump(mode="json"),
            "scale": {"offset": self.scale.offset, "threshold": self.scale.threshold},
        }
        if self.input_profile is not None:
            manifest["input_profile"] = self.input_profile.as_json()
        payloads = {
            "backbone": (".onnx", self._backbone_onnx),
            "projection": (".npy", storage.array_bytes(self._projection)),
            "bank": (".npy", storage.array_bytes(self._index.bank)),
        }
        storage.save_model(Path(directory), payloads, manifest, self.training)

    @classmethod
    def load(cls, directory: str | Path) -> AnomalyModel:
        """Load a saved model; needs onnxruntime, numpy and faiss only (no torch)."""
        directory = Path(directory)
        manifest = storage.read_manifest(directory, KIND)
        where = directory / storage.MANIFEST
        try:
            config = AnomalyConfig.model_validate(manifest["config"])
            scale = ScoreScale(
                offset=float(manifest["scale"]["offset"]),
                threshold=float(manifest["scale"]["threshold"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{where}: invalid config or scale ({error})") from error
        stored_profile = manifest.get("input_profile")  # absent in models saved before profiles
        profile = None if stored_profile is None else InputProfile.from_json(stored_profile, where)
        bank_path, bank = storage.load_array(directory, manifest, "bank")
        if bank.ndim != 2 or bank.dtype != np.float32 or len(bank) == 0:
            raise ModelFileError(f"{bank_path}: expected a non-empty 2-D float32 array")
        projection_path, projection = storage.load_array(directory, manifest, "projection")
        if projection.dtype != np.float32 or projection.shape[1:] != bank.shape[1:]:
            raise ModelFileError(
                f"{projection_path}: expected a float32 (D + 1, {bank.shape[1]}) projection"
            )
        onnx_path, backbone_onnx = storage.read_payload(directory, manifest, "backbone")
        try:
            training = storage.read_training(directory)
            model = cls(config, backbone_onnx, projection, bank, scale, training, profile)
        except Exception as error:  # onnxruntime has its own classes (InvalidProtobuf, Fail...)
            raise ModelFileError(f"{onnx_path}: not a loadable ONNX model ({error})") from error
        model._check_feature_dim(onnx_path, projection_path)
        return model

    def _check_feature_dim(self, onnx_path: Path, projection_path: Path) -> None:
        """Fail at load, not at the first image, when backbone and projection disagree."""
        probe = np.zeros((64, 64, 3), dtype=np.uint8)
        small = self.config.model_copy(update={"input_size": 64})
        dim = patch_features(self._session, probe, small).shape[-1]
        expected = self._projection.shape[0] - 1
        if dim != expected:
            raise ModelFileError(
                f"{projection_path}: projects {expected}-d features, but {onnx_path} gives {dim}"
            )


def _distance_grid(
    index: PatchIndex,
    features: Features,
    config: AnomalyConfig,
    exclude: tuple[int, int] | None = None,
) -> npt.NDArray[np.float32]:
    """Smoothed nearest-neighbour distance of every patch, on the patch grid.

    Shared by calibration and predict, so the threshold is set on exactly the numbers
    predict produces.
    """
    rows, cols, dim = features.shape
    distances = index.distances(features.reshape(-1, dim), exclude).reshape(rows, cols)
    return smooth_grid(distances, config.map_dilation, config.blur_sigma / config.grid_stride)


def _export_backbone(config: AnomalyConfig) -> bytes:
    """ONNX bytes of the feature extractor; the only place training touches torch.

    Exports are kept by the options the graph depends on: tuning fits several
    candidates that share a graph (the input size is a dynamic axis), and an export
    costs seconds.
    """
    return _exported_graph(tuple(sorted(config.model_dump(include=_GRAPH_OPTIONS).items())))


@functools.lru_cache(maxsize=4)
def _exported_graph(options: tuple[tuple[str, Any], ...]) -> bytes:
    from ._backbone import export_feature_extractor

    config = AnomalyConfig(**dict(options))
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "backbone.onnx"
        export_feature_extractor(config, path)
        return path.read_bytes()


def _select_bank(
    candidates: Features,
    owners: npt.NDArray[np.int64],
    config: AnomalyConfig,
    rng: np.random.Generator,
    report: Progress,
) -> tuple[Features, npt.NDArray[np.int64]]:
    """Coreset of the candidate patches, rows sorted by source image, and that image per row.

    Sorting makes each image's rows one contiguous range, so leave-one-image-out
    search can exclude them with a range selector.
    """
    if len(candidates) > config.coreset_candidates:
        keep = np.sort(rng.choice(len(candidates), config.coreset_candidates, replace=False))
        candidates, owners = candidates[keep], owners[keep]
    chosen = greedy_coreset(
        candidates, config.bank_size, rng, lambda done, total: report(done, total, "coreset")
    )
    chosen = chosen[np.argsort(owners[chosen], kind="stable")]
    return np.ascontiguousarray(candidates[chosen]), owners[chosen]


def resolve_input_size(
    config: AnomalyConfig, images: Sequence[Image], rng: np.random.Generator
) -> AnomalyConfig:
    """The config with ``input_size`` chosen from the images when it was left to the data.

    The images' own longer side, at most :data:`AUTO_INPUT_LIMIT`.
    """
    if config.input_size is not None:
        return config
    size = typical_side(len(images), images.__getitem__, rng, (MIN_SIDE, AUTO_INPUT_LIMIT))
    return config.model_copy(update={"input_size": size})


def _own_rows(owners: npt.NDArray[np.int64], image: int) -> tuple[int, int]:
    """[start, stop) of the bank rows that came from ``image`` (owners is sorted)."""
    start, stop = np.searchsorted(owners, [image, image + 1])
    return int(start), int(stop)


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
        threshold = threshold_from_good(good_scores, config.threshold_quantile)
    return ScoreScale(offset=offset, threshold=max(threshold, offset + 1e-6))


def _calibration_summary(
    scale: ScoreScale,
    good_grids: Sequence[npt.NDArray[np.float32]],
    defect_scores: Sequence[float],
) -> dict[str, Any]:
    """Normalised score quantiles, so a user can see how close good images come to 0.5."""

    def quantiles(scores: Sequence[float]) -> dict[str, float] | None:
        if not scores:
            return None
        values = scale.normalise(np.asarray(scores, dtype=np.float32))
        return {f"q{q}": round(float(np.percentile(values, q)), 4) for q in (0, 50, 90, 100)}

    return {
        "raw_offset": scale.offset,
        "raw_threshold": scale.threshold,
        "good_leave_one_out": quantiles([float(grid.max()) for grid in good_grids]),
        "defect": quantiles(defect_scores),
    }


def _training_metadata(good: int, defect: int, bank: Features, digest: str) -> dict[str, Any]:
    packages = ("inspekt", "numpy", "onnxruntime", "faiss-cpu", "torch", "onnx")
    return {
        "good_images": good,
        "defect_images": defect,
        "bank_patches": int(bank.shape[0]),
        "feature_dim": int(bank.shape[1]),
        "good_sha256": digest,
        **storage.provenance(packages),
    }

