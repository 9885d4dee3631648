"""Clienteling tests: the API fixtures, a customer who let the Xuhui store in, an assistant."""

from __future__ import annotations

from typing import Any

import pytest

from clienteling.discounts import month_of
from customers import store as customers
from homeloop import clock
from homeloop.settings import Settings
from identity.privacy import set_store_consent
from tests.api.conftest import auth
from tests.api.conftest import auth_emulator as auth_emulator
from tests.api.conftest import client as client


@pytest.fixture
def customer(db: Any) -> int:
    """A customer of the Xuhui store who let it see their data, never in quiet hours."""
    made = customers.create_customer(db, "Lin", locale="en-GB", home_store_id="SH-XUHUI")
    db.execute("UPDATE customers SET quiet_start = '00:00', quiet_end = '00:00' WHERE id = %s",
               (made,))
    set_store_consent(db, made, "SH-XUHUI", True)
    return made


@pytest.fixture
def assistant(settings: Settings, db: Any) -> dict[str, str]:
    return auth(settings, "staff:ann", role="assistant", store="SH-XUHUI")


def give_budget(db: Any, username: str, cents: int) -> int:
    """This month's discount budget for the assistant; their staff id."""
    staff_id = int(db.execute("SELECT id FROM staff_members WHERE username = %s",
                              (username,)).fetchone()[0])
    db.execute("INSERT INTO assistant_budgets (assistant, month, budget_cents) VALUES "
               "(%s, %s, %s)", (f"staff:{staff_id}", month_of(clock.now()), cents))
    return staff_id
