"""A local HTTP receiver for webhook tests (loopback only): records requests, answers as scripted."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    params: dict[str, str]


@dataclass
class Reply:
    """What to answer: status, body, content type, and an optional gate to wait on first."""

    status: int = 204
    body: str = ""
    content_type: str = "application/json"
    gate: threading.Event | None = None


@dataclass
class Receiver:
    """Records every request; `script` decides the reply per request."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    script: Callable[[Received], Reply] = lambda _r: Reply()
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]


def eventually(check: Callable[[], bool], *, timeout: float = 15.0) -> None:
    """Wait for asynchronous delivery (webhooks are sent by a background thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def serve() -> Iterator[Receiver]:
    """Run a receiver on a free loopback port for the duration of a test."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            raw = self.rfile.read(length).decode()
            params = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            request = Received(
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                params=params,
            )
            with receiver._lock:
                receiver.requests.append(request)
            reply = receiver.script(request)
            if reply.gate is not None:
                reply.gate.wait(timeout=30)
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body.encode())))
                self.end_headers()
                self.wfile.write(reply.body.encode())
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
