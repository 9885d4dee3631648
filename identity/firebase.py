"""The Firebase Auth boundary: verify a customer's ID token with firebase-admin.

:func:`open_verifier` builds one firebase app per process (the API's lifespan) for
``settings.firebase_project_id``. Verification is the library's own: the signature against
Google's certificates, audience and issuer for the project, expiry, and — where a route asks —
revocation and disabled accounts (a call to Firebase Auth). With the standard
``FIREBASE_AUTH_EMULATOR_HOST`` set, firebase-admin trusts unsigned emulator tokens and sends
the revocation look-up to the emulator: development and tests only (the stand-in is
:mod:`devtools.auth_emulator`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import firebase_admin
import google.auth.credentials
import google.auth.exceptions
from firebase_admin import auth, exceptions

from homeloop.errors import ServiceError, Unauthorized
from homeloop.settings import Settings

__all__ = ["FirebaseUser", "FirebaseVerifier", "open_verifier"]

CLOCK_SKEW_S = 10


@dataclass(frozen=True, slots=True)
class FirebaseUser:
    uid: str
    name: str | None
    email: str | None
    phone: str | None


@dataclass
class FirebaseVerifier:
    app: Any  # firebase_admin.App

    def verify(self, token: str, *, check_revoked: bool = False) -> FirebaseUser:
        try:
            claims = auth.verify_id_token(token, app=self.app, check_revoked=check_revoked,
                                          clock_skew_seconds=CLOCK_SKEW_S)
        except auth.RevokedIdTokenError as exc:
            raise Unauthorized("this sign-in was revoked: sign in again") from exc
        except auth.UserDisabledError as exc:
            raise Unauthorized("this account is disabled") from exc
        except auth.ExpiredIdTokenError as exc:
            raise Unauthorized("the ID token has expired: refresh it") from exc
        except auth.InvalidIdTokenError as exc:
            raise Unauthorized(f"invalid ID token: {exc}") from exc
        except auth.CertificateFetchError as exc:
            raise ServiceError(f"cannot fetch Firebase certificates: {exc}") from exc
        except auth.UserNotFoundError as exc:
            raise Unauthorized("this account no longer exists") from exc
        except exceptions.FirebaseError as exc:  # Firebase Auth itself failed (revocation check)
            raise ServiceError(f"Firebase Auth did not answer: {exc}") from exc
        except ValueError as exc:
            raise Unauthorized(f"cannot verify the ID token: {exc}") from exc
        # firebase-admin checks expiry with the signature, which emulator tokens skip: check it
        # here too, so a token behaves the same against the emulator and against Google.
        now = time.time()
        if not isinstance(claims.get("exp"), int) or claims["exp"] < now - CLOCK_SKEW_S:
            raise Unauthorized("the ID token has expired: refresh it")
        if not isinstance(claims.get("iat"), int) or claims["iat"] > now + CLOCK_SKEW_S:
            raise Unauthorized("invalid ID token: issued in the future")
        return FirebaseUser(uid=str(claims["uid"]), name=_str(claims.get("name")),
                            email=_str(claims.get("email")),
                            phone=_str(claims.get("phone_number")))

    def close(self) -> None:
        firebase_admin.delete_app(self.app)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def open_verifier(settings: Settings) -> FirebaseVerifier:
    # A unique app name: one app per verifier, however many API apps a process builds.
    app = firebase_admin.initialize_app(
        _NoCredential(), {"projectId": settings.firebase_project_id},
        name=f"homeloop-auth-{uuid.uuid4().hex[:8]}")
    return FirebaseVerifier(app)


class _NoCredential(firebase_admin.credentials.Base):  # type: ignore[misc]
    """ID token verification needs Google's public certificates, not a service account.

    The revocation check reads the user record, which does: in production set
    GOOGLE_APPLICATION_CREDENTIALS and this defers to Application Default Credentials; under
    the emulator firebase-admin substitutes its own emulator credential.
    """

    def get_credential(self) -> Any:
        try:
            return firebase_admin.credentials.ApplicationDefault().get_credential()
        except google.auth.exceptions.DefaultCredentialsError:
            return google.auth.credentials.AnonymousCredentials()  # type: ignore[no-untyped-call]
