"""The API under test: a client on the real app and database, and bearer tokens."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import mint
from homeloop.settings import Settings


@pytest.fixture
def client(settings: Settings,
           db: psycopg.Connection[tuple[Any, ...]]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def auth(settings: Settings, who: str | int, **claims: object) -> dict[str, str]:
    """A bearer header for ``who``: a customer id, or a subject like ``staff:anna``.

    Staff are admins unless ``role=`` names another role; ``store=`` binds staff or a kiosk
    (``kiosk:<id>``) to a store.
    """
    subject = f"customer:{who}" if isinstance(who, int) else who
    return {"Authorization": f"Bearer {mint(settings, subject, **claims)}"}
