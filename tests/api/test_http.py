"""HTTP hygiene of the API process: 405 says what is allowed, metrics stay off the public
port, and X-Forwarded-For counts only from a trusted proxy."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.app import create_app
from devtools.auth_emulator import AuthEmulator
from homeloop.settings import Settings
from tests.conftest import api_server, free_port

Conn = Any


def test_a_wrong_method_answers_405_with_allow(client: TestClient) -> None:
    for method, path, allow in [("PUT", "/v1/me", "GET, DELETE"),  # two routes on one path
                                ("POST", "/healthz", "GET"),
                                ("PATCH", "/v1/designs/1", "GET, PUT")]:
        answer = client.request(method, path)
        assert answer.status_code == 405, (method, path)
        assert answer.headers["allow"] == allow
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == 405 and allow in answer.json()["detail"]


def test_metrics_are_served_on_their_own_port_not_on_the_api(settings: Settings,
                                                            db: Conn) -> None:
    port = free_port()
    metered = settings.model_copy(update={"api_metrics_port": port})
    with TestClient(create_app(metered)) as client:
        public = client.get("/metrics")
        assert public.status_code == 404
        assert public.headers["content-type"] == "application/problem+json"
        scraped = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert scraped.status_code == 200
        assert "process_cpu_seconds_total" in scraped.text
    try:  # the port is given back when the app stops
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
        raise AssertionError("the metrics port still answers after the app stopped")
    except requests.ConnectionError:
        pass


def _search_answers(base: str, forwarded_for: list[str]) -> list[int]:
    return [requests.get(f"{base}/v1/search", params={"q": "sofa"}, timeout=10,
                         headers={"X-Forwarded-For": address}).status_code
            for address in forwarded_for]


def test_x_forwarded_for_is_ignored_unless_it_comes_from_a_trusted_proxy(
        settings: Settings, db: Conn, auth_emulator: AuthEmulator) -> None:
    """A real ``homeloop api`` process: open routes allow 3 requests a minute per address."""
    spoofed = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"]
    with api_server(settings, auth_emulator.address, "proxies-untrusted.log",
                    anonymous_rate_limit="3/minute") as base:
        # Each claims another address; all are counted as the caller's own (loopback).
        assert _search_answers(base, spoofed) == [200, 200, 200, 429]
    with api_server(settings, auth_emulator.address, "proxies-trusted.log",
                    anonymous_rate_limit="3/minute", trusted_proxies="127.0.0.0/8") as base:
        # Behind a trusted proxy each client is counted under the address it forwards.
        assert _search_answers(base, ["198.51.100.7"] * 4) == [200, 200, 200, 429]
        assert _search_answers(base, spoofed) == [200, 200, 200, 200]


def test_trusted_proxies_are_addresses_or_cidr_blocks() -> None:
    assert Settings(trusted_proxies="10.0.0.0/8, ::1").trusted_proxies == ["10.0.0.0/8", "::1"]
    assert Settings(trusted_proxies='["192.0.2.1"]').trusted_proxies == ["192.0.2.1"]
    assert Settings(trusted_proxies="").trusted_proxies == []
    with pytest.raises(ValidationError, match=r"'proxy\.local' is not an IP address"):
        Settings(trusted_proxies="proxy.local")
