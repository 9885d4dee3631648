"""The membership tier is a store manager's decision, never the customer's own."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from customers import store as customers
from homeloop.settings import Settings
from identity.privacy import set_store_consent
from tests.api.conftest import auth

Conn = Any


def _tier(db: Conn, customer: int) -> str | None:
    row = db.execute("SELECT tier FROM customer_profiles WHERE customer_id = %s",
                     (customer,)).fetchone()
    return None if row is None else str(row[0])


def test_a_customer_cannot_set_their_own_tier(client: TestClient, settings: Settings,
                                             db: Conn) -> None:
    me = customers.create_customer(db, "Lin", home_store_id="SH-XUHUI")
    set_store_consent(db, me, "SH-XUHUI", True)
    mine = auth(settings, me)
    # Through the home facts they may state themselves: refused, nothing changed.
    home = client.put(f"/v1/staff/customers/{me}/home", headers=mine,
                      json={"tier": "gold", "city": "Shanghai"})
    assert home.status_code == 422, home.text
    assert _tier(db, me) is None
    # Through the tier route: staff only.
    assert client.put(f"/v1/staff/customers/{me}/tier", headers=mine,
                      json={"tier": "gold"}).status_code == 403
    # An assistant of the store the customer let in may not either.
    ann = auth(settings, "staff:ann", role="assistant", store="SH-XUHUI")
    assert client.put(f"/v1/staff/customers/{me}/tier", headers=ann,
                      json={"tier": "gold"}).status_code == 403
    # Nor the manager of a store the customer did not let in.
    other = auth(settings, "staff:olga", role="store_manager", store="SH-PUDONG")
    assert client.put(f"/v1/staff/customers/{me}/tier", headers=other,
                      json={"tier": "gold"}).status_code == 403
    assert _tier(db, me) is None
    # The manager of the store they let in does, and it is audited.
    maya = auth(settings, "staff:maya", role="store_manager", store="SH-XUHUI")
    done = client.put(f"/v1/staff/customers/{me}/tier", headers=maya, json={"tier": "gold"})
    assert done.status_code == 200, done.text
    assert done.json()["membership"]["tier"] == "gold" and _tier(db, me) == "gold"
    assert db.execute("SELECT count(*) FROM access_audit WHERE customer_id = %s AND action = "
                      "%s", (me, f"PUT /v1/staff/customers/{me}/tier")).fetchone()[0] == 1
    # The customer's own facts still change, and leave the tier alone.
    assert client.put(f"/v1/staff/customers/{me}/home", headers=mine,
                      json={"city": "Hangzhou"}).status_code == 200
    assert _tier(db, me) == "gold"
