"""Build the answer to an analyze request from the finished context.

``context`` answers JSON; the image types answer PNG with the context in the
``ContextBase64utf`` header, or — with ``context_in_body`` — PNG bytes followed
by the JSON and ``ImageLen`` giving the split.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from ..context import context_to_json
from ..imaging.io import encode_png
from ..results import Inspection, Verdict
from .params import ResponseType

__all__ = ["Answer", "build_answer"]

EXPOSED_HEADERS = "ContextBase64utf, ImageLen"


@dataclass(frozen=True)
class Answer:
    """Body, media type and headers, computed off the event loop, the verdict to log, and
    the context's JSON the body carries (a replica sends it on for the history)."""

    body: bytes
    media_type: str
    headers: dict[str, str]
    verdict: Verdict
    context_json: bytes


def build_answer(
    inspection: Inspection, response_type: ResponseType, context_in_body: bool
) -> Answer:
    """Encode what the client asked for; all of it is CPU work for a worker thread."""
    payload = context_to_json(inspection.context)
    verdict = inspection.verdict
    if response_type == "context":
        return Answer(payload, "application/json", {}, verdict, payload)
    png = encode_png(inspection.image(response_type))
    headers = {"Access-Control-Expose-Headers": EXPOSED_HEADERS}
    if context_in_body:
        headers["ImageLen"] = str(len(png))
        return Answer(png + payload, "image/png", headers, verdict, payload)
    headers["ContextBase64utf"] = base64.b64encode(payload).decode("ascii")
    return Answer(png, "image/png", headers, verdict, payload)
