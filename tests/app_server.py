"""The real app (app.create_app) on a free local port, for tests that talk to it over HTTP: the browser suite
(tests/browser) and the disclosure attacks (tests/test_disclosure_attacks.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from werkzeug.serving import make_server

from app import BannerlessRequestHandler


class _QuietHandler(BannerlessRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:  # hundreds of requests, no lines
        pass


@contextmanager
def serving(database_url: str, *, quiet: bool = False) -> Iterator[str]:
    """The app served by werkzeug in a thread: yields the base URL. `quiet`: no line per request."""
    from app import create_app

    handler = _QuietHandler if quiet else BannerlessRequestHandler
    server = make_server("127.0.0.1", 0, create_app(database_url).server, threaded=True, request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, name="perispiegel-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
