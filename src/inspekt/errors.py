"""The errors inspekt raises, as one tree.

Every error carries a public ``message`` that is safe to show to a client or
print on the command line; the cause (a traceback, a third-party exception)
stays in ``__cause__`` and the logs.

    InspektError
    ├── ModuleTypeError         a module type is declared wrongly (a bug, found at import)
    ├── ProjectError            a project cannot be loaded or is invalid (file + field)
    │   ├── ModelFileError      a model file is missing or corrupt (names the file)
    │   └── UserCodeError       a Code module's file cannot be loaded
    ├── DatasetError            a dataset folder or its labels do not fit the layout expected
    ├── TrainingError           training cannot start or finish (too few images, ...)
    ├── CodeProcessError        a Code module's child process timed out or died
    ├── DeliveryError           an output or saver could not deliver (retried, reported)
    ├── ImageError              bytes or parameters that do not make an image
    │   └── ImageTooLargeError  the image (or the body) exceeds a configured limit
    ├── RequestError            a query parameter is wrong (bad response_type, ...)
    │   └── MethodNotAllowedError  the endpoint takes the request only with another method
    ├── AuthError               missing or wrong api key
    ├── StopKeyError            /stop called without the right key
    ├── OverloadedError         too many analyses waiting; retry later
    ├── RequestTimeoutError     the client took too long to send its request
    ├── PortInUseError          the port to listen on is taken
    └── FlowError               a module cannot work on this image (crop outside it, ...)

Errors while analysing an image (a module failing, user code raising, a code
process timing out) never fail the request: the runner records them in the
context (``error: true``, the message in ``errors``) and the answer says so.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "CodeProcessError",
    "DatasetError",
    "DeliveryError",
    "FlowError",
    "ImageError",
    "ImageTooLargeError",
    "InspektError",
    "MethodNotAllowedError",
    "ModelFileError",
    "ModuleTypeError",
    "NotFoundError",
    "OverloadedError",
    "PortInUseError",
    "ProjectError",
    "RequestError",
    "RequestTimeoutError",
    "StopKeyError",
    "TrainingError",
    "UserCodeError",
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


class UserCodeError(ProjectError):
    """A Code module's Python file is missing, does not compile or has no usable ``main``."""


class ModuleTypeError(InspektError):
    """A module class is declared wrongly: its id, options or registration (a bug in inspekt)."""


class DatasetError(InspektError):
    """A dataset folder does not fit the layout a module learns from or is evaluated on."""


class TrainingError(InspektError):
    """Training cannot start or finish with the data given."""


class CodeProcessError(InspektError):
    """A Code module's child process timed out or died; the message says which."""


class DeliveryError(InspektError):
    """An output's target refused a message or a saver could not encode an image.

    Raised on the background thread that delivers; the worker retries or counts
    it and the next contexts' ``errors`` report it.
    """


class ImageError(InspektError):
    """The request does not describe a decodable image."""


class ImageTooLargeError(ImageError):
    """The body or the image's pixel count exceeds a configured limit."""


class RequestError(InspektError):
    """A query parameter has a value the API does not accept."""


class NotFoundError(RequestError):
    """The request names a thing the server does not have (an inspection, an image)."""


class MethodNotAllowedError(RequestError):
    """The endpoint answers this request only with another method (``allowed`` lists them)."""

    def __init__(self, message: str, allowed: str) -> None:
        super().__init__(message)
        self.allowed = allowed


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


class PortInUseError(InspektError):
    """The port is taken; the message carries the text PEKAT's SDKs look for."""


class FlowError(InspektError):
    """A module cannot work on this image (recorded in the context, never raised to a client)."""
