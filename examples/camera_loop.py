"""Camera loop: send every frame as raw BGR pixels over one keep-alive connection.

This is how a line PC usually talks to the server: OpenCV frames go straight
to ``/analyze_raw_image`` (no JPEG encoding), one ``requests.Session`` keeps the
TCP connection open between frames. Here the "camera" replays image files so
the example runs anywhere:

    python examples/camera_loop.py --url http://127.0.0.1:8000 demo/images/test

Add ``--api-key KEY`` when the server runs with ``--secure`` or ``--api-key``.
A refused or failed request prints one line saying why and exits 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import requests


def image_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".png", ".bmp"})
    if not files:
        raise SystemExit(f"{folder}: no .jpg, .png or .bmp images in this folder")
    return files


def frames(folder: Path, count: int) -> Iterator[np.ndarray]:
    """Stand-in for cv2.VideoCapture: loop over the folder's images."""
    files = image_files(folder)
    for index in range(count):
        frame = cv2.imread(str(files[index % len(files)]), cv2.IMREAD_COLOR)
        if frame is not None:
            yield frame


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args()

    bad = 0
    with requests.Session() as session:  # keep-alive: one connection for all frames
        for number, frame in enumerate(frames(args.folder, args.frames)):
            height, width = frame.shape[:2]
            params = {"width": width, "height": height, "data": f"frame-{number}"}
            if args.api_key:
                params["api_key"] = args.api_key
            try:
                response = session.post(
                    f"{args.url}/analyze_raw_image", params=params, data=frame.tobytes(), timeout=20
                )
            except requests.ConnectionError:
                print(f"cannot reach {args.url}: is `inspekt serve` running there?")
                return 1
            if response.status_code != 200:
                print(f"frame {number}: HTTP {response.status_code}: {response.text.strip()[:300]}")
                return 1
            context = response.json()
            verdict = {True: "OK", False: "NOK", None: "-"}[context["result"]]
            bad += context["result"] is False
            ms = context["processingTime"] * 1000
            print(f"frame {number}: {verdict} score={context['score']} "
                  f"defects={len(context['detectedRectangles'])} {ms:.1f} ms")
    print(f"{bad} NOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
