"""Prometheus metrics on their own port, for every process that has some.

The operator chooses where (``*_metrics_host``, ``*_metrics_port``): loopback by default,
never on a public API's port.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import start_http_server

__all__ = ["serve"]


def serve(host: str, port: int) -> Callable[[], None]:
    """Serve the process's metrics at ``http://host:port/metrics`` in a daemon thread; the
    function returned stops it and frees the port."""
    server, thread = start_http_server(port, addr=host)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
