"""The HTTP floor: a minimal ASGI app that reads the whole body and answers a fixed JSON.

It runs on the same uvicorn configuration as ``inspekt serve`` (uvloop and
httptools when installed, access log off, lifespan off), so the difference
between the two is what inspekt itself costs: routing, parameter parsing, the
hop to the analysis thread, the flow and the JSON answer.

    python bench/floor_app.py --port 8100 [--answer FILE]

Prints ``__SERVER_RUNNING__`` once it listens; ``GET /stop`` stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import uvicorn

#: An empty flow's context, so the floor sends as many bytes back as inspekt does.
DEFAULT_ANSWER = (
    b'{"error":false,"imageShape":{"height":1080,"width":1920},"processing":true,'
    b'"processingTime":0.000011416999768698588,"save":false,"data":"","completeTime":0.000011416999768698588,'
    b'"errors":[],"stdout":"","stderr":"","globalData":{},"operatorInput":{},'
    b'"production_mode":true,"score":0.0,"threshold":0.0,"surfaceClasses":[],"angle":null,'
    b'"detectedRectangles":[],"lines":[],"result":true}'
)


def make_app(answer: bytes, server: list[uvicorn.Server]):
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(answer)).encode()),
    ]

    async def app(scope, receive, send):  # noqa: ANN001 - the ASGI signature
        if scope["type"] != "http":
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        del body
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})
        if scope["path"] == "/stop":
            server[0].should_exit = True

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--answer", type=Path, help="file whose bytes are the fixed answer")
    args = parser.parse_args()
    answer = args.answer.read_bytes() if args.answer else DEFAULT_ANSWER
    holder: list[uvicorn.Server] = []
    config = uvicorn.Config(
        app=make_app(answer, holder),
        host=args.host,
        port=args.port,
        log_level="warning",
        timeout_keep_alive=30,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    holder.append(server)

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            print("__SERVER_RUNNING__", flush=True)
        await task

    asyncio.run(run())
    sys.exit(0)


if __name__ == "__main__":
    main()
