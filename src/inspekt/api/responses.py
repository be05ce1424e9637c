"""Build the answer to an analyze request from the finished context.

``context`` answers JSON; the image types answer PNG with the context in the
``ContextBase64utf`` header, or — with ``context_in_body`` — PNG bytes followed
by the JSON and ``ImageLen`` giving the split.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from ..flow.context import context_to_json
from ..imageio import encode_png
from ..render import annotated_image, heatmap_image
from ..types import Context, Image
from .params import ResponseType

__all__ = ["Answer", "build_answer"]

EXPOSED_HEADERS = "ContextBase64utf, ImageLen"


@dataclass(frozen=True)
class Answer:
    """Body, media type and headers, computed off the event loop."""

    body: bytes
    media_type: str
    headers: dict[str, str]


def response_image(context: Context, response_type: ResponseType) -> Image:
    image: Image = context["image"]
    if response_type == "heatmap":
        return heatmap_image(image, context.get("heatmap"))
    if response_type == "annotated_image":
        return annotated_image(image, context.get("heatmap"), context.get("detectedRectangles") or [])
    return image


def build_answer(context: Context, response_type: ResponseType, context_in_body: bool) -> Answer:
    """Encode what the client asked for; all of it is CPU work for a worker thread."""
    payload = context_to_json(context)
    if response_type == "context":
        return Answer(payload, "application/json", {})
    png = encode_png(response_image(context, response_type))
    headers = {"Access-Control-Expose-Headers": EXPOSED_HEADERS}
    if context_in_body:
        headers["ImageLen"] = str(len(png))
        return Answer(png + payload, "image/png", headers)
    headers["ContextBase64utf"] = base64.b64encode(payload).decode("ascii")
    return Answer(png, "image/png", headers)
