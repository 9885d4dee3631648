"""Schemathesis against the API's own OpenAPI document, on a real server, with real tokens.

Every operation gets generated requests (valid and invalid) from a customer and from an
admin; no answer may be a 5xx, and every answer must match what the document says: its
status code, content type and schema (errors are problem+json, documented as such).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis import checks

from api.app import create_app
from customers.store import create_customer
from devtools.auth_emulator import AuthEmulator
from homeloop.settings import Settings
from tests.api.conftest import auth
from tests.conftest import api_server
from tests.identity.conftest import SmsStandIn


@pytest.fixture(scope="module")
def server(settings: Settings, auth_emulator: AuthEmulator) -> Iterator[str]:
    sms = SmsStandIn().start()
    try:
        with api_server(settings, auth_emulator.address, "fuzz-api.log",
                        rate_limit="1000000/minute", sms_endpoint=sms.url) as base:
            yield base
    finally:
        assert sms.server is not None
        sms.server.shutdown()
        sms.server.server_close()


# The document the server serves, built without starting anything (no lifespan runs here).
schema = schemathesis.openapi.from_dict(create_app().openapi())
CHECKS = [checks.not_a_server_error, checks.response_schema_conformance,
          checks.status_code_conformance, checks.content_type_conformance]


@pytest.fixture(scope="module")
def callers(settings: Settings, server: str) -> list[dict[str, str]]:
    """A customer and an admin, made once: the operations share one growing world."""
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        customer = create_customer(conn, "Fuzz")
    return [auth(settings, customer), auth(settings, "staff:fuzz-admin")]


@schema.parametrize()
@hypothesis_settings(max_examples=3, deadline=None, phases=[Phase.explicit, Phase.generate],
                     suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_every_answer_matches_the_document(
        case: Any, server: str, callers: list[dict[str, str]]) -> None:
    for headers in callers:
        case.call_and_validate(base_url=server, headers=headers, checks=CHECKS, timeout=30)
