"""Webhook: POST every inspection's context as JSON to an HTTP endpoint."""

from __future__ import annotations

import urllib.request
from typing import Literal

from pydantic import Field, HttpUrl

from ..errors import DeliveryError
from ._output import OutputModule, OutputOptions
from .registry import module_type

__all__ = ["Webhook", "WebhookOptions"]


class WebhookOptions(OutputOptions):
    type: Literal["webhook@1"]
    url: HttpUrl = Field(description="Where to POST the context JSON.")
    timeout: float = Field(5.0, gt=0, le=120, description="Seconds per attempt.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP headers.")


@module_type
class Webhook(OutputModule):
    options_model = WebhookOptions
    options: WebhookOptions

    def deliver(self, payload: bytes) -> None:
        request = urllib.request.Request(
            str(self.options.url),
            data=payload,
            method="POST",
            headers={"Content-Type": "application/json", **self.options.headers},
        )
        with urllib.request.urlopen(request, timeout=self.options.timeout) as response:
            if response.status >= 300:
                raise DeliveryError(f"HTTP {response.status}")
