"""Project archives: a project exported and imported whole, and every archive that is
not what it says (tampered, truncated, padded, unsafe) refused by name."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from inspekt.archive import MANIFEST, ArchiveError, export_project, import_project
from tests.conftest import code_flow, inspekt_command, write_project

CODE = "def main(context):\n    context['seen'] = True\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = write_project(tmp_path / "line", code_flow("check.py"), {"check.py": CODE})
    (folder / "models" / "anomaly").mkdir(parents=True)
    (folder / "models" / "anomaly" / "model.json").write_text('{"weights": [1, 2]}')
    (folder / ".inspekt").mkdir()
    (folder / ".inspekt" / "api_key").write_text("secret")
    (folder / "to_label").mkdir()
    (folder / "to_label" / "reviewed_1.png").write_bytes(b"png")
    return folder


def test_a_project_travels_whole_without_its_station_files(project: Path, tmp_path: Path) -> None:
    manifest = export_project(project, tmp_path / "line.inspekt")
    assert manifest["format"] == "inspekt-project" and manifest["version"] == 1
    assert sorted(manifest["files"]) == [
        "check.py", "flow.yaml", "models/anomaly/model.json", "pekat_package.json",
    ]
    imported = tmp_path / "station" / "line"
    import_project(tmp_path / "line.inspekt", imported)
    for name in manifest["files"]:
        assert (imported / name).read_bytes() == (project / name).read_bytes()
    assert not (imported / ".inspekt").exists() and not (imported / "to_label").exists()
    assert [p.name for p in (tmp_path / "station").iterdir()] == ["line"]  # no staging left


def rewritten(source: Path, target: Path, change: dict[str, bytes | None]) -> Path:
    """A copy of an archive with members replaced, dropped (None) or added."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename in change:
                data = change.pop(info.filename)
                if data is not None:
                    new.writestr(info.filename, data)
            else:
                new.writestr(info, old.read(info.filename))
        for name, data in change.items():
            if data is not None:
                new.writestr(name, data)
    return target


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"flow.yaml": b"flow: []\n"}, "flow.yaml does not match its SHA-256 in the manifest"),
        ({"check.py": None}, "check.py is in the manifest but not in the archive"),
        ({"extra.py": b"import os"}, "extra.py is in the archive but not in its manifest"),
        ({"../evil.py": b"x"}, "'../evil.py' would be written outside the project folder"),
        ({"/etc/evil": b"x"}, "'/etc/evil' would be written outside the project folder"),
        ({MANIFEST: b"{"}, f"{MANIFEST} is not valid JSON"),
    ],
)
def test_an_archive_that_is_not_what_it_says_is_refused_by_name(
    project: Path, tmp_path: Path, change: dict[str, bytes | None], message: str
) -> None:
    good = tmp_path / "good.inspekt"
    export_project(project, good)
    bad = rewritten(good, tmp_path / "bad.inspekt", dict(change))
    with pytest.raises(ArchiveError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_project(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.*"))


def test_a_truncated_archive_or_a_newer_format_is_refused(project: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.inspekt"
    export_project(project, good)
    truncated = tmp_path / "cut.inspekt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ArchiveError, match="not a complete inspekt archive"):
        import_project(truncated, tmp_path / "out")
    with zipfile.ZipFile(good) as archive:
        manifest = json.loads(archive.read(MANIFEST))
    manifest["version"] = 99
    newer = rewritten(good, tmp_path / "newer.inspekt", {MANIFEST: json.dumps(manifest).encode()})
    with pytest.raises(ArchiveError, match="archive format version 99; this inspekt reads up to 1"):
        import_project(newer, tmp_path / "out")


def test_the_command_line_exports_and_imports(project: Path, tmp_path: Path) -> None:
    archive = tmp_path / "line.inspekt"
    done = subprocess.run(
        inspekt_command("export", str(project), "-o", str(archive)), capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    target = tmp_path / "imported"
    done = subprocess.run(
        inspekt_command("import", str(archive), str(target)), capture_output=True, text=True
    )
    assert done.returncode == 0 and (target / "flow.yaml").is_file(), done.stderr
    again = subprocess.run(
        inspekt_command("import", str(archive), str(target)), capture_output=True, text=True
    )
    assert again.returncode == 1 and "exists and is not an empty folder" in again.stderr
    validated = subprocess.run(
        inspekt_command("validate", str(target)), capture_output=True, text=True
    )
    assert validated.returncode == 0, validated.stderr
