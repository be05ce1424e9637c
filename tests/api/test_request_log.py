"""The request log: one line per request on stderr, text or JSON, never the query string."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import requests

from tests.conftest import (
    code_flow,
    color_card,
    encode,
    free_port,
    inspekt_command,
    read_until_ready,
    write_project,
)

KEY = "553d7790-827c-11ec-978b-6da1176c0b00"
STOP = "stop-me"
#: The verdict comes from ``data``: ok, nok, none (user code leaves result None: no verdict,
#: which the flow answers as an error) or error (a failed module).
VERDICT = """
def main(context):
    if context["data"] == "error":
        context["error"] = True
    context["result"] = {"ok": True, "nok": False}.get(context["data"])
"""
TEXT_LINE = re.compile(r"^(\S+) (\S+) ([A-Z]+) (\S+) (\d{3}) (\d+\.\d)ms (ok|nok|error|-)$")


def verdict_project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "p", code_flow("verdict.py"), {"verdict.py": VERDICT})


def serve_and_collect(
    project: Path, *options: str, send: Callable[[str], None]
) -> tuple[list[str], list[str]]:
    """Serve, let ``send`` make requests, stop with the stop key: (stdout, stderr) lines.

    Reading both streams only after the server exited makes the log complete.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        inspekt_command("serve", str(project), "--port", str(port), "--stop-key", STOP, *options),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        startup = read_until_ready(process)
        send(url)
        assert requests.get(f"{url}/stop?key={STOP}").status_code == 200
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    return "".join(startup + [out]).splitlines(), err.splitlines()


def analyze(url: str, query: str, body: bytes | None = None) -> int:
    data = encode(color_card()) if body is None else body
    return requests.post(f"{url}/analyze_image?{query}", data=data).status_code


def mixed_requests(url: str) -> None:
    for verdict in ("ok", "nok", "none", "error"):
        assert analyze(url, f"api_key={KEY}&data={verdict}") == 200
    assert analyze(url, "data=ok") == 401
    assert analyze(url, "api_key=wrong") == 401
    assert analyze(url, f"api_key={KEY}", b"not an image") == 400
    assert requests.get(f"{url}/ping?api_key={KEY}").status_code == 200
    assert requests.get(f"{url}/no/such%0Aendpoint 200").status_code == 404


#: (method, path, status, verdict) of each request in mixed_requests, in order.
EXPECTED = [
    ("POST", "/analyze_image", 200, "ok"),
    ("POST", "/analyze_image", 200, "nok"),
    ("POST", "/analyze_image", 200, "error"),
    ("POST", "/analyze_image", 200, "error"),
    ("POST", "/analyze_image", 401, "error"),
    ("POST", "/analyze_image", 401, "error"),
    ("POST", "/analyze_image", 400, "error"),
    ("GET", "/ping", 200, "-"),
    ("GET", "/no/such%0Aendpoint%20200", 404, "-"),
]


def test_text_lines_on_stderr_one_per_request(tmp_path: Path) -> None:
    out, err = serve_and_collect(
        verdict_project(tmp_path), "--api-key", KEY, send=mixed_requests
    )
    # stdout carries exactly what the SDKs parse, and nothing per request
    assert out[-2:] == ["__SERVER_RUNNING__", "STOP_INIT_MODEL"] and len(out) == 3, out
    lines = [line for line in err if not line.startswith("inspekt: WARNING")]
    matches = [TEXT_LINE.match(line) for line in lines]
    assert all(matches), lines
    seen = [(m[3], m[4], int(m[5]), m[7]) for m in matches if m]
    assert seen[: len(EXPECTED)] == EXPECTED
    assert seen[len(EXPECTED):] == [("GET", "/stop", 200, "-")]
    for match in matches:
        assert match is not None
        assert datetime.fromisoformat(match[1]).tzinfo is not None
        assert re.fullmatch(r"127\.0\.0\.1:\d+", match[2])
    text = "\n".join(err)
    assert KEY not in text and "wrong" not in text and "api_key" not in text
    assert STOP not in text and "data=" not in text


def test_json_lines_for_log_collectors(tmp_path: Path) -> None:
    _, err = serve_and_collect(
        verdict_project(tmp_path), "--api-key", KEY, "--log-format", "json", send=mixed_requests
    )
    records = [json.loads(line) for line in err if line.startswith("{")]
    *analyses, stop = records
    assert (stop["path"], stop["status"], stop["result"]) == ("/stop", 200, "-")
    for record, (method, path, status, verdict) in zip(analyses, EXPECTED, strict=True):
        assert set(record) == {"time", "client", "method", "path", "status", "ms", "result"}
        assert (record["method"], record["path"], record["status"], record["result"]) == (
            method, path, status, verdict
        )
        assert isinstance(record["ms"], float) and record["ms"] >= 0
        assert record["client"].startswith("127.0.0.1:")
        datetime.fromisoformat(record["time"])
    assert KEY not in "\n".join(err)


def test_quiet_logs_only_refused_keys(tmp_path: Path) -> None:
    out, err = serve_and_collect(
        verdict_project(tmp_path), "--api-key", KEY, "--quiet", send=mixed_requests
    )
    assert out[-2:] == ["__SERVER_RUNNING__", "STOP_INIT_MODEL"]
    logged = [m for m in (TEXT_LINE.match(line) for line in err) if m]
    assert [(m[3], m[4], int(m[5])) for m in logged] == [("POST", "/analyze_image", 401)] * 2
    assert KEY not in "\n".join(err) and "wrong" not in "\n".join(err)
