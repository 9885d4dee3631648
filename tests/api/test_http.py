"""HTTP hygiene of the API process: 405 says what is allowed, and metrics stay off the
public port."""

from __future__ import annotations

from typing import Any

import requests
from fastapi.testclient import TestClient

from api.app import create_app
from homeloop.settings import Settings
from tests.conftest import free_port

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
