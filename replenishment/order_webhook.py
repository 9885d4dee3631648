"""The order system boundary: a signed webhook per order request.

Each request is ``POST``ed as JSON to ``settings.order_webhook_url`` with:

- ``Homeloop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` under
  ``settings.order_webhook_secret`` — the receiver recomputes it over the raw body
  (:func:`verify`) and refuses a timestamp older than a few minutes, so a captured request
  cannot be replayed later;
- ``Idempotency-Key: homeloop-order-request-<id>`` — the same on every retry, so an order
  system that saw a request whose answer we lost does not book it twice.

:func:`post` classifies the answer: 2xx is delivered (the body's ``order_id``, if any, is kept
as the reference); 408, 425, 429, 5xx and network failures are worth retrying; any other 4xx
is a refusal that retrying will not change.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any, Literal

import requests

__all__ = ["Delivery", "post", "sign", "verify"]

RETRYABLE = frozenset({408, 425, 429})


def sign(secret: str, body: bytes, at: int) -> str:
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None,
           tolerance_s: int = 300) -> bool:
    """What a receiver does: the signature matches the body and is recent."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        at = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - at) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, at), header)


@dataclass(frozen=True, slots=True)
class Delivery:
    outcome: Literal["sent", "retry", "refused"]
    reference: str | None = None
    error: str | None = None


def post(url: str, secret: str, request_id: int, payload: dict[str, Any], *,
         timeout_s: float, session: requests.Session | None = None) -> Delivery:
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json",
               "Homeloop-Signature": sign(secret, body, int(time.time())),
               "Idempotency-Key": f"homeloop-order-request-{request_id}"}
    try:
        answer = (session or requests).post(url, data=body, headers=headers, timeout=timeout_s)
    except requests.RequestException as exc:
        return Delivery("retry", error=f"order system unreachable: {type(exc).__name__}")
    if answer.ok:
        try:
            ref = answer.json().get("order_id")
        except (ValueError, AttributeError):
            ref = None
        return Delivery("sent", reference=str(ref) if ref is not None else None)
    error = f"HTTP {answer.status_code}: {answer.text[:200]}"
    if answer.status_code in RETRYABLE or answer.status_code >= 500:
        return Delivery("retry", error=error)
    return Delivery("refused", error=error)
