"""One file that carries a project to another station: ``inspekt export`` and ``import``.

The archive is a ZIP whose first member, ``inspekt-archive.json``, names the format
and its version, the project and every other member with its size and SHA-256. An
import checks everything before anything lands: each member is listed, no more and
no fewer (a truncated or padded archive is refused), each name stays inside the
target folder (no absolute path, no ``..``, no link), and each file's bytes match
its digest (a tampered file is refused by name). The files are written into a
temporary folder beside the target and moved into place only when all of them
check out, so a refused import leaves nothing behind.

What a station needs travels: ``pekat_package.json``, ``flow.yaml``, code, masks,
models and any other file of the project. What belongs to one station stays: its
history and stored api key (``.inspekt/``), images waiting to be labelled
(``to_label/``) and Python caches.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import InspektError, ProjectError

__all__ = ["ARCHIVE_VERSION", "ArchiveError", "export_project", "import_project"]

ARCHIVE_VERSION = 1
MANIFEST = "inspekt-archive.json"
_FORMAT = "inspekt-project"
#: Project folders that belong to one station, not to the project.
_STATION_ONLY = frozenset({".inspekt", "to_label", "__pycache__"})
_CHUNK = 1 << 20


class ArchiveError(InspektError):
    """An archive that cannot be imported: not one, tampered, truncated or unsafe."""


def export_project(project: Path, output: Path) -> dict[str, Any]:
    """Write ``project`` into the archive ``output``; returns its manifest."""
    if not (project / "pekat_package.json").is_file():
        raise ProjectError(f"{project}: not a project (no pekat_package.json)")
    files = sorted(_project_files(project))
    package = json.loads((project / "pekat_package.json").read_text(encoding="utf-8"))
    manifest = {
        "format": _FORMAT,
        "version": ARCHIVE_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "project": {"name": package.get("name"), "version": package.get("version")},
        "files": {
            name: {"size": path.stat().st_size, "sha256": _digest(path)}
            for name, path in files
        },
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
        for name, path in files:
            archive.write(path, name)
    temporary.replace(output)
    return manifest


def import_project(archive_path: Path, target: Path) -> dict[str, Any]:
    """Check the archive whole, then unpack it into ``target`` (new or empty); returns
    its manifest."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ArchiveError(f"{target}: exists and is not an empty folder")
    try:
        with zipfile.ZipFile(archive_path) as archive:
            manifest = _manifest(archive, archive_path)
            files: dict[str, dict[str, Any]] = manifest["files"]
            _check_members(archive, archive_path, files)
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
            try:
                for name, expected in files.items():
                    _extract(archive, archive_path, name, expected, staging)
                if target.exists():
                    target.rmdir()
                staging.replace(target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    except zipfile.BadZipFile as exc:
        raise ArchiveError(
            f"{archive_path}: not a complete inspekt archive (truncated or another "
            f"kind of file): {exc}"
        ) from exc
    except OSError as exc:
        raise ArchiveError(f"{archive_path}: cannot import: {exc}") from exc
    return manifest


def _project_files(project: Path) -> Iterator[tuple[str, Path]]:
    for path in project.rglob("*"):
        relative = path.relative_to(project)
        if _STATION_ONLY & set(relative.parts) or path.suffix == ".partial":
            continue
        if path.is_symlink():
            raise ProjectError(f"{path}: a link cannot travel in an archive; copy the file in")
        if path.is_file():
            yield relative.as_posix(), path


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _manifest(archive: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except KeyError:
        raise ArchiveError(f"{path}: not an inspekt archive (no {MANIFEST})") from None
    except ValueError as exc:
        raise ArchiveError(f"{path}: {MANIFEST} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise ArchiveError(f"{path}: {MANIFEST} does not describe an inspekt project")
    version = manifest.get("version")
    if not isinstance(version, int) or version > ARCHIVE_VERSION:
        raise ArchiveError(
            f"{path}: archive format version {version!r}; this inspekt reads up to "
            f"{ARCHIVE_VERSION}: upgrade inspekt"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(entry, dict) and isinstance(entry.get("size"), int)
        and isinstance(entry.get("sha256"), str) for entry in files.values()
    ):
        raise ArchiveError(f"{path}: {MANIFEST} lists its files wrongly")
    return manifest


def _check_members(
    archive: zipfile.ZipFile, path: Path, files: dict[str, dict[str, Any]]
) -> None:
    """Every member listed and every listed file present; every name safe."""
    members = {info.filename: info for info in archive.infolist() if info.filename != MANIFEST}
    for name, info in members.items():
        _safe(path, name)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ArchiveError(f"{path}: {name} is a link; an archive carries only files")
        if name not in files and not info.is_dir():
            raise ArchiveError(f"{path}: {name} is in the archive but not in its manifest")
    missing = sorted(set(files) - set(members))
    if missing:
        raise ArchiveError(
            f"{path}: {missing[0]} is in the manifest but not in the archive "
            f"({len(missing)} missing: truncated?)"
        )
    for name in files:
        _safe(path, name)


def _safe(path: Path, name: str) -> None:
    parts = PurePosixPath(name).parts
    if (not parts or name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]
            or "\\" in name):
        raise ArchiveError(f"{path}: {name!r} would be written outside the project folder")


def _extract(
    archive: zipfile.ZipFile, path: Path, name: str, expected: dict[str, Any], staging: Path
) -> None:
    target = staging.joinpath(*PurePosixPath(name).parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    try:
        with archive.open(name) as source, target.open("wb") as sink:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                sink.write(chunk)
    except zipfile.BadZipFile as exc:  # a member's CRC: damaged in transit
        raise ArchiveError(f"{path}: {name} is damaged: {exc}") from exc
    if size != expected["size"] or digest.hexdigest() != expected["sha256"]:
        raise ArchiveError(
            f"{path}: {name} does not match its SHA-256 in the manifest: the archive was "
            "changed after export"
        )
