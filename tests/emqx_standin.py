"""A local stand-in for the part of EMQX 5's REST API that revocation uses.

``DELETE /api/v5/clients/{clientid}`` with HTTP basic auth (an API key and its secret), as
EMQX answers it: 204 when the client was connected (it is then gone), 404 with
``CLIENTID_NOT_FOUND`` when it is not, 401 with ``BAD_API_KEY_OR_SECRET`` for other
credentials. ``unavailable`` answers 503 to that many requests first (a node restarting).
Every request is recorded (method, path, Authorization header).
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

PREFIX = "/api/v5/clients/"


@dataclass
class Request:
    method: str
    path: str
    authorization: str | None


@dataclass
class EmqxStandIn:
    key: str = "homeloop-test"
    secret: str = "stand-in-secret-0123456789abcdef"
    connected: set[str] = field(default_factory=set)
    unavailable: int = 0
    requests: list[Request] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> EmqxStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def answer(self, status: int, body: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode() if body else b""
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_DELETE(self) -> None:
                standin.requests.append(
                    Request("DELETE", self.path, self.headers.get("Authorization")))
                if standin.unavailable > 0:
                    standin.unavailable -= 1
                    self.answer(503, {"code": "SERVICE_UNAVAILABLE", "message": "restarting"})
                    return
                expected = "Basic " + base64.b64encode(
                    f"{standin.key}:{standin.secret}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self.answer(401, {"code": "BAD_API_KEY_OR_SECRET",
                                      "message": "Check api_key/api_secret"})
                    return
                if not self.path.startswith(PREFIX):
                    self.answer(404, {"code": "NOT_FOUND", "message": "no such route"})
                    return
                client_id = unquote(self.path.removeprefix(PREFIX))
                if client_id not in standin.connected:
                    self.answer(404, {"code": "CLIENTID_NOT_FOUND",
                                      "message": "Client ID not found"})
                    return
                standin.connected.discard(client_id)
                self.answer(204)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
