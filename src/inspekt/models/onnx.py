"""onnxruntime sessions as every model opens them: serving needs onnxruntime, never torch."""

from __future__ import annotations

import onnxruntime as ort

__all__ = ["open_session"]


def open_session(model: bytes, threads: int = 2) -> ort.InferenceSession:
    """An onnxruntime session that does not spin: spinning starves other threads on few cores."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    available = ort.get_available_providers()
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    return ort.InferenceSession(model, options, providers=providers)
