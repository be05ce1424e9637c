"""Folder loop: every image file in, annotated PNGs and contexts out.

Posts each file's bytes to ``/analyze_image``, asks for the annotated image with
the context in the body, and writes both next to each other in the output folder:

    python examples/folder_loop.py --url http://127.0.0.1:8000 demo/images/test out/

With secure image analyze on (``inspekt serve --secure`` or ``--api-key``), add
``--api-key KEY``. A refused request (a wrong key: HTTP 401) prints one line
saying why and exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key", default=None, help="only for a secured server")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    with requests.Session() as session:
        for path in sorted(args.folder.iterdir()):
            if path.suffix.lower() not in {".jpg", ".jpeg", ".png", ".bmp"}:
                continue
            params = {"data": path.name}
            if args.api_key:
                params["api_key"] = args.api_key
            try:
                response = session.post(
                    f"{args.url}/analyze_image?response_type=annotated_image&context_in_body",
                    params=params,
                    data=path.read_bytes(),
                    timeout=20,
                )
            except requests.ConnectionError:
                print(f"cannot reach {args.url}: is `inspekt serve` running there?")
                return 1
            if response.status_code != 200:
                print(f"{path.name}: HTTP {response.status_code}: {response.text.strip()[:300]}")
                return 1
            split = int(response.headers["ImageLen"])
            context = json.loads(response.content[split:])
            (args.out / f"{path.stem}_annotated.png").write_bytes(response.content[:split])
            (args.out / f"{path.stem}.json").write_text(json.dumps(context, indent=2))
            print(f"{path.name}: result={context['result']} score={context['score']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
