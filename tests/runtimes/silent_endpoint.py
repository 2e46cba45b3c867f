"""An endpoint that accepts TCP connections and never answers (a hung AWS endpoint or
proxy), for the bounded read timeout tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def silent_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` where connections complete (the kernel's listen backlog) but
    no byte is ever read or written; closed on exit."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
