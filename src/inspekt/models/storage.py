"""Crash-safe model folders, shared by every model type: content-addressed files plus one
manifest replaced atomically.

Each model names its ``kind`` in the manifest; :func:`read_manifest` refuses a
folder written by another model type or another format version.

A save writes every payload under a name that contains its hash, fsyncs it, and only
then replaces ``model.json`` (the manifest naming those files) with ``os.replace``.
A process killed at any point leaves either the old manifest, whose files are all
still there, or the new one, whose files were complete before it appeared. Files
no manifest names any more are removed after the switch. Nothing is pickled:
arrays are ``.npy`` read with ``allow_pickle=False`` and every file's size and
SHA-256 are checked on load, so truncation or corruption is reported by file name.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import tempfile
import time
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ModelFileError

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "TRAINING",
    "array_bytes",
    "files_digest",
    "load_array",
    "provenance",
    "read_manifest",
    "read_payload",
    "read_training",
    "save_model",
]

MANIFEST = "model.json"
TRAINING = "training.json"
FORMAT_VERSION = 1


def array_bytes(array: npt.NDArray[Any]) -> bytes:
    """The ``.npy`` serialisation of an array."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary sibling, fsync it, then rename it over ``path``."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _json_bytes(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True).encode()


def save_model(
    directory: Path,
    payloads: Mapping[str, tuple[str, bytes]],
    manifest: Mapping[str, Any],
    training: Mapping[str, Any],
) -> None:
    """Save ``payloads`` (role -> (suffix, bytes)) and the manifest that names them."""
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, Any]] = {}
    for role, (suffix, data) in payloads.items():
        digest = hashlib.sha256(data).hexdigest()
        name = f"{role}-{digest[:16]}{suffix}"
        target = directory / name
        if not (target.is_file() and target.stat().st_size == len(data)):
            _write_atomic(target, data)
        files[role] = {"name": name, "sha256": digest, "bytes": len(data)}
    _fsync_directory(directory)
    document = {**manifest, "format_version": FORMAT_VERSION, "files": files}
    _write_atomic(directory / MANIFEST, _json_bytes(document))
    _write_atomic(directory / TRAINING, _json_bytes(training))
    _fsync_directory(directory)
    _remove_unreferenced(directory, payloads.keys(), {f["name"] for f in files.values()})


def _remove_unreferenced(directory: Path, roles: Iterable[str], keep: set[str]) -> None:
    """Delete payloads of earlier saves and temporaries left by killed saves."""
    prefixes = tuple(f"{role}-" for role in roles)
    for path in directory.iterdir():
        stale_payload = path.name.startswith(prefixes)
        stale_temporary = path.name.startswith(".") and path.name.endswith(".tmp")
        if (stale_payload or stale_temporary) and path.name not in keep:
            path.unlink(missing_ok=True)


def files_digest(folders: Iterable[Path]) -> str:
    """SHA-256 over every file's relative path and bytes in the folders, in a stable order.

    Training records it so that a later look can tell whether the data changed.
    """
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def read_manifest(directory: Path, kind: str) -> dict[str, Any]:
    """The manifest, checked for its format version and model kind."""
    path = directory / MANIFEST
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ModelFileError(f"{path}: model manifest is missing") from None
    except (OSError, ValueError) as error:
        raise ModelFileError(f"{path}: unreadable or not valid JSON ({error})") from error
    if not isinstance(document, dict):
        raise ModelFileError(f"{path}: expected a JSON object")
    version = document.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: format_version {version!r} is not supported (expected {FORMAT_VERSION})"
        )
    if document.get("kind") != kind:
        raise ModelFileError(f"{path}: kind {document.get('kind')!r} is not {kind!r}")
    return document


def read_training(directory: Path) -> dict[str, Any]:
    """Training metadata is informative only: a damaged copy does not block loading."""
    try:
        loaded = json.loads((directory / TRAINING).read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def read_payload(directory: Path, manifest: Mapping[str, Any], role: str) -> tuple[Path, bytes]:
    """Path and bytes of the payload ``role``, checked for size and SHA-256 against the manifest."""
    try:
        entry = manifest["files"][role]
        path = directory / str(entry["name"])
        expected_size, expected_digest = int(entry["bytes"]), str(entry["sha256"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"{directory / MANIFEST}: no valid entry for '{role}'") from error
    if path.parent != directory:
        raise ModelFileError(f"{directory / MANIFEST}: '{role}' points outside the model")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"{path}: file is missing") from None
    except OSError as error:
        raise ModelFileError(f"{path}: cannot be read ({error})") from error
    if len(data) != expected_size:
        raise ModelFileError(
            f"{path}: truncated or resized ({len(data)} bytes, expected {expected_size})"
        )
    if hashlib.sha256(data).hexdigest() != expected_digest:
        raise ModelFileError(f"{path}: content does not match its SHA-256 (corrupt)")
    return path, data


def load_array(
    directory: Path, manifest: Mapping[str, Any], role: str
) -> tuple[Path, npt.NDArray[Any]]:
    """Path and array of a checked ``.npy`` payload, loaded without pickle."""
    path, data = read_payload(directory, manifest, role)
    try:
        return path, np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ModelFileError(f"{path}: not a valid .npy array ({error})") from error


def provenance(packages: Iterable[str]) -> dict[str, Any]:
    """When and with which Python and package versions a model was trained (training.json)."""
    return {
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in packages},
    }


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
