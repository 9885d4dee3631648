"""Disconnecting a device from EMQX (deploy/scale) through EMQX's REST API.

EMQX checks a device's credentials against the ``broker_credentials`` view when it signs in
(docs/SCALING.md), so a revoked device can never sign in again the moment the revocation
commits. A connection already up is not checked again: :func:`kick` asks EMQX to close it,
``DELETE /api/v5/clients/{clientid}`` with an API key and secret (HTTP basic auth; EMQX makes
the key from ``api_key.bootstrap_file``, deploy/emqx/emqx.conf). A device's client id is its
device id (what the tags and ``homeloop simulate`` connect with).
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import requests
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from homeloop.errors import ConfigError, ServiceError
from homeloop.settings import Settings

log = logging.getLogger(__name__)


class _Retry(Exception):
    """EMQX did not answer, or answered 5xx: worth another attempt."""


def kick(settings: Settings, client_id: str) -> bool:
    """Close ``client_id``'s connection on whichever EMQX node holds it.

    True when EMQX closed it, False when it was not connected (404). Network errors and 5xx
    answers are retried (``emqx_attempts``, backing off); then, or on any other answer (a
    rejected API key), :class:`ServiceError` says so."""
    if not settings.emqx_api_key or not settings.emqx_api_secret:
        raise ConfigError("HOMELOOP_BROKER is emqx but HOMELOOP_EMQX_API_KEY or "
                          "HOMELOOP_EMQX_API_SECRET is not set")
    url = f"{settings.emqx_api_url.rstrip('/')}/api/v5/clients/{quote(client_id, safe='')}"
    auth = (settings.emqx_api_key, settings.emqx_api_secret)

    def attempt() -> int:
        try:
            answer = requests.delete(url, auth=auth, timeout=settings.emqx_timeout_s)
        except requests.RequestException as exc:
            raise _Retry(f"{type(exc).__name__}: {exc}") from exc
        if answer.status_code >= 500:
            raise _Retry(f"HTTP {answer.status_code}: {answer.text[:200]}")
        return answer.status_code

    try:
        status = Retrying(
            retry=retry_if_exception_type(_Retry),
            stop=stop_after_attempt(settings.emqx_attempts),
            wait=wait_exponential(multiplier=settings.emqx_backoff_s, max=5),
        )(attempt)
    except RetryError as exc:
        why = exc.last_attempt.exception()
        log.error("EMQX at %s could not disconnect %s after %d attempts: %s",
                  settings.emqx_api_url, client_id, settings.emqx_attempts, why)
        raise ServiceError(
            f"{client_id} is revoked and can no longer sign in, but EMQX could not be reached "
            f"to close its current connection ({why}); revoke it again to retry") from exc
    if status == 404:  # not connected: nothing to close
        return False
    if status not in (200, 204):
        log.error("EMQX at %s refused to disconnect %s: HTTP %d",
                  settings.emqx_api_url, client_id, status)
        raise ServiceError(
            f"{client_id} is revoked and can no longer sign in, but EMQX refused to close its "
            f"current connection (HTTP {status}: check HOMELOOP_EMQX_API_KEY and "
            "HOMELOOP_EMQX_API_SECRET); revoke it again to retry")
    log.info("EMQX disconnected revoked device %s", client_id)
    return True
