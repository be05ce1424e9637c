"""Model cores the flow modules call, and what they share: crash-safe storage and ONNX sessions.

Nothing here knows about the flow or its context: a model takes images and gives
numbers and maps, so it can be trained, benchmarked and served on its own.
"""
