"""A local HTTP server on 127.0.0.1 whose routes misbehave on purpose, for download tests."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    """What the server answers for one path.

    ``length``: "exact" sends the true Content-Length, "none" none (the body ends when the
    connection closes), "claimed" the full length while only ``cut`` bytes follow.
    ``cut``: bytes of the body actually sent (all when None). ``fail_first``: that many
    requests get HTTP 500 first. ``status``: sent instead of 200 (no body). ``drip``: seconds
    between single bytes. ``silent``: headers, then nothing until the test ends.
    """

    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    length: str = "exact"
    cut: int | None = None
    fail_first: int = 0
    status: int = 200
    drip: float | None = None
    silent: bool = False


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        with server.lock:
            server.hits[self.path] = server.hits.get(self.path, 0) + 1
            hit = server.hits[self.path]
        route = server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        if hit <= route.fail_first:
            self.send_error(500)
            return
        if route.status != 200:
            self.send_error(route.status)
            return
        body = route.body if route.cut is None else route.body[: route.cut]
        self.send_response(200)
        self.send_header("Content-Type", route.content_type)
        if route.length in ("exact", "claimed"):
            self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        try:
            if route.silent:
                server.stop.wait(10)
            elif route.drip is not None:
                for byte in body:
                    if server.stop.wait(route.drip):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
            pass

    def log_message(self, *args):
        pass


@contextmanager
def serve(routes: dict[str, Route]):
    """Yields (server, base URL); ``server.hits`` counts requests per path."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.routes, server.hits, server.lock, server.stop = routes, {}, threading.Lock(), threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
