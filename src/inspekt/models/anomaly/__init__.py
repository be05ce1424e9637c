"""Anomaly detection from good images only: a memory bank of pretrained patch features.

Method (PatchCore-style, see BENCHMARKS.md, "Anomaly detector", for the measurements behind each
choice): EfficientNet-Lite0 features at strides 4 and 8 on a stride-8 patch grid, with a
mirrored border so image edges look like any other patch; PCA to 32 dimensions; a greedy
coreset of good patches; each patch scored by its distance to the nearest bank entry.
Fitting exports the backbone to ONNX (torch is needed only then); serving uses
onnxruntime, numpy and faiss.

Scale: scores and maps are normalised so that a typical good patch is 0 and the
calibrated threshold is 0.5 (``AnomalyModel.threshold``). An image is NOK when
``score >= threshold``; the score is the maximum of the map, so a NOK image always
has map pixels at or above the threshold. Defect regions: connected components of
``anomaly_map >= threshold``. Heat map for display: ``clip(anomaly_map, 0, 1)``
(= value / (2 * threshold)), so the threshold sits mid-scale and 1.0 means twice as
far from good as the threshold.
"""

from __future__ import annotations

from ._config import AnomalyConfig
from ._model import AnomalyModel, AnomalyPrediction

__all__ = ["AnomalyConfig", "AnomalyModel", "AnomalyPrediction"]
