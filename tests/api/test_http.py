"""HTTP hygiene of the API process: 405 says what is allowed."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_a_wrong_method_answers_405_with_allow(client: TestClient) -> None:
    for method, path, allow in [("PUT", "/v1/me", "GET, DELETE"),  # two routes on one path
                                ("POST", "/healthz", "GET"),
                                ("PATCH", "/v1/designs/1", "GET, PUT")]:
        answer = client.request(method, path)
        assert answer.status_code == 405, (method, path)
        assert answer.headers["allow"] == allow
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == 405 and allow in answer.json()["detail"]
