"""The peer: the same flow served by Flask under gevent's WSGI server (PEKAT's stack).

    python bench/peer_flask.py PROJECT --port 8200

Answers ``/analyze_image`` (encoded body) and ``/analyze_raw_image?width=&height=``
with the context JSON, exactly as inspekt's flow produces it; ``GET /ping``;
``GET /stop`` stops it. Prints ``__SERVER_RUNNING__`` once it listens.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from flask import Flask, Response, request  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

from inspekt import FlowRunner, load_project  # noqa: E402
from inspekt.context import context_to_json  # noqa: E402
from inspekt.imaging.io import decode_image, image_from_raw  # noqa: E402


def make_app(runner: FlowRunner, stop: list[WSGIServer]) -> Flask:
    app = Flask("inspekt-bench-peer")

    def answer(image) -> Response:  # noqa: ANN001
        context = runner.analyze(image, request.args.get("data"))
        return Response(context_to_json(context), mimetype="application/json")

    @app.post("/analyze_image")
    def analyze_image() -> Response:
        return answer(decode_image(request.get_data()))

    @app.route("/analyze_raw_image", methods=["POST", "PUT"])
    def analyze_raw_image() -> Response:
        width = int(request.args["width"])
        height = int(request.args["height"])
        return answer(image_from_raw(request.get_data(), width, height))

    @app.get("/ping")
    def ping() -> str:
        return "OK"

    @app.get("/stop")
    def stop_server() -> str:
        import gevent

        gevent.spawn_later(0.05, stop[0].stop)
        return "stopping"

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    runner = FlowRunner(load_project(args.project))
    holder: list[WSGIServer] = []
    # TCP_NODELAY (inherited by accepted sockets): gevent's default listener leaves
    # Nagle on, and its keep-alive answers then wait ~40 ms for the client's delayed
    # ACK. The comparison is between stacks, not socket options, so the peer gets it too.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind((args.host, args.port))
    listener.listen(1024)
    server = WSGIServer(listener, make_app(runner, holder), log=None)
    holder.append(server)
    server.start()
    print("__SERVER_RUNNING__", flush=True)
    server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
