"""The FCM boundary: build the firebase-admin app once per process and send through it.

:func:`open_sender` is the one place a firebase app is built (the Celery worker's process
start, the CLI command, a test), from settings: ``fcm_credentials_file`` (a service-account
JSON), ``fcm_project_id`` (else the JSON's) and ``fcm_endpoint``. Nothing here runs at import.

Where firebase-admin is pointed (the seam a local stand-in uses):

- **OAuth.** google-auth fetches the access token from the service account's ``token_uri``,
  so a JSON whose ``token_uri`` is a stand-in's ``/token`` sends the token request there.
- **FCM.** firebase-admin (read in 7.7) has no option for the FCM URL: ``_MessagingService``
  formats ``FCM_URL`` (``https://fcm.googleapis.com/v1/projects/{p}/messages:send``) into the
  service's ``_fcm_url`` when the app's messaging service is first built. With
  ``fcm_endpoint`` set we build that service and replace ``_fcm_url`` on that instance only
  (not the class attribute, so other apps in the process are untouched). Everything else —
  the authorised session, message encoding, ``send_each``'s thread pool, parsing FCM's error
  bodies into exception types — is the library's own code.
- **Retries.** firebase-admin retries 500/503 inside the call (up to 4 times, ~7 s). The
  outbox owns retries instead (exponential backoff across runs, then ``dead``), and a worker
  holds its claimed rows' locks while it sends, so it must not sleep in the call: the FCM
  base URL gets an adapter that retries only failed connections.

Errors are mapped here: per token to a :class:`Outcome`, and a failure of the batch as a
whole (no access token, say) to :class:`homeloop.errors.PushUnavailable`.
"""

from __future__ import annotations

import enum
import threading
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import firebase_admin
from firebase_admin import credentials, exceptions, messaging
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from homeloop.errors import PushUnavailable
from homeloop.settings import Settings

__all__ = ["MAX_BATCH", "FcmSender", "Outcome", "Push", "Result", "open_sender"]

# FCM's own limit for send_each.
MAX_BATCH = 500
DEFAULT_ENDPOINT = "https://fcm.googleapis.com"


class Outcome(enum.Enum):
    SENT = "sent"
    PRUNE = "prune"  # the token is dead: UNREGISTERED, or refused as an invalid argument
    RETRY = "retry"  # FCM unavailable, internal error, quota, auth trouble: try again later


@dataclass(frozen=True, slots=True)
class Push:
    token: str
    title: str
    body: str
    data: dict[str, str]


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    message_id: str | None = None
    error: str | None = None


@dataclass
class FcmSender:
    """Sends pushes through one firebase app; :meth:`close` deletes the app."""

    app: Any  # firebase_admin.App

    def send(self, pushes: Sequence[Push]) -> list[Result]:
        """One result per push, in order; at most :data:`MAX_BATCH` per ``send_each`` call."""
        results: list[Result] = []
        for start in range(0, len(pushes), MAX_BATCH):
            results += self._send_batch(pushes[start:start + MAX_BATCH])
        return results

    def _send_batch(self, pushes: Sequence[Push]) -> list[Result]:
        messages = [_message(p) for p in pushes]
        try:
            batch = messaging.send_each(messages, app=self.app)
        except exceptions.FirebaseError as exc:  # the batch as a whole (no access token, ...)
            raise PushUnavailable(f"FCM unavailable: {exc}") from exc
        return [_result(r) for r in batch.responses]

    def close(self) -> None:
        # Deleting the app closes its messaging service's async HTTP client with
        # asyncio.run(), which fails (leaving the client unclosed) when this thread already
        # runs an event loop (an async framework, a browser driver in a test): delete it from
        # a thread of its own.
        done = threading.Thread(target=firebase_admin.delete_app, args=(self.app,),
                                name="fcm-close")
        done.start()
        done.join()


def _message(push: Push) -> Any:
    """A message to one registration token.

    firebase-admin 7.7 deprecates ``Message.token`` for ``fid`` (Firebase installation ids).
    The app registers FCM registration tokens, which FCM v1 takes as ``message.token``;
    targeting installation ids instead is a change of what the app registers, not of this.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Message.token is deprecated",
                                category=DeprecationWarning)
        return messaging.Message(
            token=push.token, data=push.data,
            notification=messaging.Notification(title=push.title, body=push.body))


def _result(response: Any) -> Result:
    if response.success:
        return Result(Outcome.SENT, message_id=str(response.message_id))
    exc = response.exception
    reason = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, messaging.UnregisteredError | exceptions.InvalidArgumentError):
        return Result(Outcome.PRUNE, error=reason)
    return Result(Outcome.RETRY, error=reason)


def open_sender(settings: Settings) -> FcmSender | None:
    """The process's FCM sender, or None when no service account is configured."""
    if settings.fcm_credentials_file is None:
        return None
    cred = credentials.Certificate(str(settings.fcm_credentials_file))
    options: dict[str, Any] = {"httpTimeout": settings.fcm_timeout_s}
    if settings.fcm_project_id:
        options["projectId"] = settings.fcm_project_id
    # A name of its own, so a test and a worker (or two senders) never share an app.
    app = firebase_admin.initialize_app(cred, options, name=f"homeloop-{uuid.uuid4().hex}")
    service = messaging._get_messaging_service(app)
    base = (settings.fcm_endpoint or DEFAULT_ENDPOINT).rstrip("/")
    service._fcm_url = f"{base}/v1/projects/{app.project_id}/messages:send"
    service._client.session.mount(base, HTTPAdapter(max_retries=Retry(
        total=1, connect=1, read=0, status=0, other=0, allowed_methods=None)))
    return FcmSender(app)
