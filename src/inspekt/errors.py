"""The errors inspekt raises, as one tree.

Every error carries a public ``message`` that is safe to show to a client or
print on the command line; the cause (a traceback, a third-party exception)
stays in ``__cause__`` and the logs.

    InspektError
    ├── ProjectError            a project cannot be loaded or is invalid (file + field)
    │   └── ModelFileError      a model file is missing or corrupt (names the file)
    ├── ImageError              bytes or parameters that do not make an image
    │   └── ImageTooLargeError  the image (or the body) exceeds a configured limit
    ├── RequestError            a query parameter is wrong (bad response_type, ...)
    ├── AuthError               missing or wrong api key
    ├── StopKeyError            /stop called without the right key
    ├── OverloadedError         too many analyses waiting; retry later
    ├── RequestTimeoutError     the client took too long to send its request
    └── FlowError               the flow itself failed while analysing an image

Errors in user code (Code modules) are never raised: they are reported in the
context's ``errors`` list and the flow goes on.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "FlowError",
    "ImageError",
    "ImageTooLargeError",
    "InspektError",
    "ModelFileError",
    "OverloadedError",
    "ProjectError",
    "RequestError",
    "RequestTimeoutError",
    "StopKeyError",
]


class InspektError(Exception):
    """Base of every error inspekt raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProjectError(InspektError):
    """A project directory is missing a file, or a file has a bad field."""


class ModelFileError(ProjectError):
    """A trained model file is missing, truncated or of an unknown format."""


class ImageError(InspektError):
    """The request does not describe a decodable image."""


class ImageTooLargeError(ImageError):
    """The body or the image's pixel count exceeds a configured limit."""


class RequestError(InspektError):
    """A query parameter has a value the API does not accept."""


class AuthError(InspektError):
    """The api key is missing or wrong."""


class StopKeyError(InspektError):
    """``/stop`` was called without the stop key given at start."""


class OverloadedError(InspektError):
    """The analysis queue is full; the client should retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestTimeoutError(InspektError):
    """The request body did not arrive within the configured time."""


class FlowError(InspektError):
    """The flow failed for a reason that is not the user's code."""
