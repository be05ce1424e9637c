"""The ``pekat_vision`` launcher that PEKAT's SDKs start.

``inspekt pekat-dist DIR`` writes ``DIR/pekat_vision/pekat_vision`` (what the
SDKs start today) and ``DIR/server/server.exe`` (the older layout, a shell
script of that name here), two copies of a small executable that runs this
module. It accepts PEKAT's single-dash flags (``-data`` or its older short form
``-d``, ``-port -host -stop_key -api_key -gpu -password -disable_code
-tutorial_only``) and serves the project with inspekt.

It logs no requests: the SDKs read its output only until the server is up, and
a pipe that nobody reads would fill up and stall the server.
"""

from __future__ import annotations

import argparse
import shlex
import stat
import sys
from pathlib import Path

from .api import ServerSettings
from .errors import InspektError
from .server import serve

__all__ = ["LAUNCHERS", "main", "write_dist"]

#: Where in a dist folder PEKAT's SDKs and older integrations look for the server.
LAUNCHERS = (Path("pekat_vision") / "pekat_vision", Path("server") / "server.exe")

_FALSE = {"", "0", "false", "no", "off", "none"}


def write_dist(directory: Path) -> list[Path]:
    """Write the launcher scripts; they run this Python so the right inspekt starts."""
    script = f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m inspekt.launcher "$@"\n'
    written = []
    for relative in LAUNCHERS:
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(script, encoding="utf-8")
        target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        written.append(target)
    return written


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pekat_vision", description=__doc__)
    parser.add_argument("-data", "-d", dest="data", required=True, help="project folder")
    parser.add_argument("-port", type=int, default=8000)
    parser.add_argument("-host", default="127.0.0.1")
    parser.add_argument("-stop_key")
    parser.add_argument("-api_key")
    parser.add_argument("-gpu", help="accepted for compatibility; inspekt picks its device itself")
    parser.add_argument("-password", help="accepted for compatibility (no web UI login)")
    parser.add_argument("-disable_code", default="")
    parser.add_argument("-tutorial_only", help="accepted for compatibility")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = ServerSettings(
        api_key=args.api_key or None, stop_key=args.stop_key or None, request_log=None
    )
    allow_code = str(args.disable_code).strip().lower() in _FALSE
    try:
        serve(
            Path(args.data),
            host=args.host,
            port=args.port,
            settings=settings,
            allow_code=allow_code,
        )
    except InspektError as exc:
        print(f"inspekt: error: {exc.message}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
