"""The SMS boundary: a code to a phone, through the SMS gateway's HTTP endpoint.

``settings.sms_endpoint`` receives ``POST {"to": "+86…", "text": "…"}`` as JSON and answers
2xx when it has accepted the message (the shape most SMS gateways take, or a small adapter in
front of one). Without an endpoint nothing can be sent, and the API says so with 503.
"""

from __future__ import annotations

import requests

from homeloop.errors import ServiceError
from homeloop.settings import Settings

__all__ = ["send_sms"]


def send_sms(settings: Settings, to: str, text: str) -> None:
    if not settings.sms_endpoint:
        raise ServiceError("no SMS gateway is configured (HOMELOOP_SMS_ENDPOINT)")
    try:
        answer = requests.post(settings.sms_endpoint, json={"to": to, "text": text},
                               timeout=settings.sms_timeout_s)
    except requests.RequestException as exc:
        raise ServiceError(f"the SMS gateway is unreachable: {exc}") from exc
    if not answer.ok:
        raise ServiceError(f"the SMS gateway refused the message: HTTP {answer.status_code}")
