"""A local stand-in for Google's OAuth token endpoint and the FCM HTTP v1 send endpoint.

firebase-admin talks to it over real HTTP (see :mod:`notifications.fcm` for how it is
pointed here): ``POST /token`` hands out an access token, ``POST /v1/projects/{p}/messages:send``
records each request (its Authorization header and JSON body) and answers per token:

- ``dead-token``: 404 with FCM's UNREGISTERED error body;
- ``bad-token``: 400 INVALID_ARGUMENT;
- ``flaky-token``: 503 for the first ``flaky_failures`` calls, then like any other;
- any other token: 200 ``{"name": "projects/{p}/messages/{n}"}``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ACCESS_TOKEN = "ya29.stand-in-access-token"
SEND_PATH = re.compile(r"^/v1/projects/([^/]+)/messages:send$")
UNREGISTERED = {"error": {
    "code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND",
    "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                 "errorCode": "UNREGISTERED"}]}}
INVALID = {"error": {
    "code": 400, "message": "The registration token is not a valid FCM registration token",
    "status": "INVALID_ARGUMENT",
    "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                 "errorCode": "INVALID_ARGUMENT"}]}}
UNAVAILABLE = {"error": {"code": 503, "message": "The service is currently unavailable.",
                         "status": "UNAVAILABLE"}}


@dataclass
class Sent:
    project: str
    authorization: str | None
    body: dict[str, Any]

    @property
    def token(self) -> str:
        return str(self.body["message"]["token"])


@dataclass
class FcmStandIn:
    port: int = 0
    flaky_failures: int = 0
    send_delay_s: float = 0.0
    token_status: int = 200
    token_requests: list[dict[str, str]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)  # every send request, whatever the answer
    lock: threading.Lock = field(default_factory=threading.Lock)
    _flaky_calls: int = 0
    _ids: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tokens_sent_to(self) -> list[str]:
        with self.lock:
            return [s.token for s in self.sent]

    def answer_send(self, project: str, body: dict[str, Any],
                    authorization: str | None) -> tuple[int, dict[str, Any]]:
        if self.send_delay_s:
            # holds a worker in its send, for the race tests
            time.sleep(self.send_delay_s)  # noqa: TID251
        with self.lock:
            self.sent.append(Sent(project, authorization, body))
            token = body["message"]["token"]
            if authorization != f"Bearer {ACCESS_TOKEN}":
                return 401, {"error": {"code": 401, "message": "no", "status": "UNAUTHENTICATED"}}
            if token == "dead-token":
                return 404, UNREGISTERED
            if token == "bad-token":
                return 400, INVALID
            if token == "flaky-token" and self._flaky_calls < self.flaky_failures:
                self._flaky_calls += 1
                return 503, UNAVAILABLE
            self._ids += 1
            return 200, {"name": f"projects/{project}/messages/{self._ids}"}


def _handler(standin: FcmStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/token":
                form = dict(p.split("=", 1) for p in raw.decode().split("&") if "=" in p)
                with standin.lock:
                    standin.token_requests.append(form)
                if standin.token_status != 200:
                    self._reply(standin.token_status, {"error": "internal_failure"})
                    return
                self._reply(200, {"access_token": ACCESS_TOKEN, "expires_in": 3600,
                                  "token_type": "Bearer"})
                return
            match = SEND_PATH.match(self.path)
            if match is None:
                self._reply(404, {"error": {"code": 404, "message": self.path,
                                            "status": "NOT_FOUND"}})
                return
            status, body = standin.answer_send(match.group(1), json.loads(raw),
                                               self.headers.get("Authorization"))
            self._reply(status, body)

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def serve() -> Iterator[FcmStandIn]:
    standin = FcmStandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(standin))
    server.daemon_threads = True
    standin.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def service_account(path: Path, token_uri: str, project: str) -> Path:
    """A service-account JSON with a throwaway RSA key, whose OAuth goes to ``token_uri``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": project, "private_key_id": "stand-in-key",
        "private_key": pem, "client_email": f"pusher@{project}.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": token_uri}))
    return path
