"""A local stand-in for the Firebase Auth emulator, for development and tests only.

It speaks the part of the emulator's REST protocol that the home app and firebase-admin use:

- ``POST /identitytoolkit.googleapis.com/v1/accounts:signUp`` and
  ``…/accounts:signInWithPassword`` (what the app calls) answer an ``idToken``;
- ``POST …/v1/projects/{project}/accounts:lookup`` and ``…/accounts:update`` (what
  firebase-admin calls to check revocation and to revoke or disable an account).

ID tokens are the emulator's: unsigned (``alg: none``) JWTs with the claims of a real Firebase
ID token. firebase-admin accepts them only while ``FIREBASE_AUTH_EMULATOR_HOST`` is set, which
production never sets. Run it with ``homeloop auth emulator``.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Account", "AuthEmulator", "id_token"]

PREFIX = "/identitytoolkit.googleapis.com/v1/"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def id_token(project: str, uid: str, *, email: str | None = None, name: str | None = None,
             issued_at: int | None = None, lifetime_s: int = 3600) -> str:
    """An emulator ID token for ``uid``, as the Auth emulator issues them."""
    now = int(time.time()) if issued_at is None else issued_at
    claims: dict[str, Any] = {
        "iss": f"https://securetoken.google.com/{project}", "aud": project,
        "auth_time": now, "user_id": uid, "sub": uid, "iat": now, "exp": now + lifetime_s,
        "firebase": {"identities": {"email": [email]} if email else {},
                     "sign_in_provider": "password" if email else "anonymous"}}
    if email:
        claims["email"] = email
        claims["email_verified"] = False
    if name:
        claims["name"] = name
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


@dataclass
class Account:
    uid: str
    email: str | None
    password: str | None
    name: str | None
    disabled: bool = False
    valid_since: int = 0  # tokens issued before this second are revoked


@dataclass
class AuthEmulator:
    project: str
    host: str = "127.0.0.1"
    port: int = 0
    accounts: dict[str, Account] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def address(self) -> str:
        """The value for FIREBASE_AUTH_EMULATOR_HOST."""
        assert self._server is not None
        return f"{self.host}:{self._server.server_address[1]}"

    def sign_up(self, email: str | None = None, password: str | None = None,
                name: str | None = None) -> tuple[Account, str]:
        with self._lock:
            if email and any(a.email == email for a in self.accounts.values()):
                raise ValueError("EMAIL_EXISTS")
            account = Account(secrets.token_hex(14), email, password, name)
            self.accounts[account.uid] = account
        return account, id_token(self.project, account.uid, email=email, name=name)

    def sign_in(self, email: str, password: str) -> tuple[Account, str]:
        with self._lock:
            found = next((a for a in self.accounts.values()
                          if a.email == email and a.password == password), None)
        if found is None or found.disabled:
            raise ValueError("INVALID_LOGIN_CREDENTIALS")
        return found, id_token(self.project, found.uid, email=found.email, name=found.name)

    def start(self) -> AuthEmulator:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                    status, answer = emulator._handle(self.path.split("?", 1)[0], body)
                except (ValueError, TypeError, KeyError) as exc:
                    status, answer = 400, {"error": {"code": 400, "message": str(exc)}}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name="auth-emulator").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not path.startswith(PREFIX):
            return 404, {"error": {"code": 404, "message": "NOT_FOUND"}}
        action = path.removeprefix(PREFIX)
        if action == "accounts:signUp":
            account, token = self.sign_up(body.get("email"), body.get("password"),
                                          body.get("displayName"))
            return 200, {"localId": account.uid, "idToken": token, "email": account.email,
                         "refreshToken": secrets.token_hex(16), "expiresIn": "3600"}
        if action == "accounts:signInWithPassword":
            account, token = self.sign_in(str(body["email"]), str(body["password"]))
            return 200, {"localId": account.uid, "idToken": token, "email": account.email,
                         "refreshToken": secrets.token_hex(16), "expiresIn": "3600",
                         "registered": True}
        if action.endswith("/accounts:lookup"):
            with self._lock:
                users = [self._record(self.accounts[uid]) for uid in body.get("localId", [])
                         if uid in self.accounts]
            return 200, ({"users": users} if users else {"kind": "identitytoolkit#GetAccountInfo"})
        if action.endswith("/accounts:update"):
            with self._lock:
                changed = self.accounts.get(str(body["localId"]))
                if changed is None:
                    return 400, {"error": {"code": 400, "message": "USER_NOT_FOUND"}}
                if "validSince" in body:
                    changed.valid_since = int(body["validSince"])
                if "disableUser" in body:
                    changed.disabled = bool(body["disableUser"])
            return 200, {"localId": changed.uid}
        return 404, {"error": {"code": 404, "message": f"unsupported: {action}"}}

    @staticmethod
    def _record(account: Account) -> dict[str, Any]:
        record: dict[str, Any] = {"localId": account.uid, "disabled": account.disabled,
                                  "validSince": str(account.valid_since),
                                  "createdAt": "0", "lastLoginAt": "0"}
        if account.email:
            record["email"] = account.email
        if account.name:
            record["displayName"] = account.name
        return record
