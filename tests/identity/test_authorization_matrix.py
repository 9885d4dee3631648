"""Who may call what: every route of the API against every kind of caller, generated.

Each route declares what it needs (``identity.access.needs``), published as the operation's
``x-access`` in the application's own OpenAPI document. For every operation in that document
and every caller below, the test asks the policy (``identity.access.decide``) what the caller
should get, given how they stand to the route's object in the world below, and calls the
route: admitted callers must get past authorisation (never 401, 403, 404 or a 5xx), refused
ones exactly the refusal the policy names (401 sign in, 403 told why, 404 as if it did not
exist). A route without a declared need fails :func:`test_every_route_declares_a_need`.

The world every case runs in: customers A and B who both let the Xuhui store see their data;
A owns a product with an offer, a linked card, a push token, an order, a floor plan and a
design; kiosk "granted" of Xuhui holds a grant for A, kiosk "plain" none; a Xuhui assistant
(whose inbox holds news of A's order), a Pudong assistant, Xuhui's manager, a catalog
editor, a fleet operator and an admin; a device presenting its MQTT password as a bearer
token; and two admin sessions nobody issued, one signed with a key of the caller's making
and one with the signing key once published with the code. Every object in a path or body is
A's (a merge request is A's and B's) and held by Xuhui.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from api.app import _declared, create_app
from clienteling.discounts import month_of
from devtools.layouts import three_bedroom
from homeloop import clock
from homeloop.settings import PUBLISHED, Settings
from identity import sessions
from identity.access import Caller, Decision, Need, decide, needs
from identity.kiosks import _grant
from tests.api.conftest import auth
from tests.conftest import empty_tables
from tests.identity.conftest import make_person

Conn = Any

# Who calls, as the policy knows them (None: a token that proves nothing, or none at all).
CALLERS: dict[str, Caller | None] = {
    "anonymous": None, "device": None, "forged_admin": None, "default_key_admin": None,
    "customer_a": "customer", "customer_b": "customer",
    "kiosk": "kiosk", "kiosk_granted": "kiosk",
    "assistant": "assistant", "assistant_other_store": "assistant",
    "store_manager": "store_manager", "catalog_editor": "catalog_editor",
    "fleet_operator": "fleet_operator", "admin": "admin",
}
XUHUI = frozenset({"kiosk", "kiosk_granted", "assistant", "store_manager"})
# Whose own thing a path's id is, for routes that reach the caller's own ("self").
SELF = {"grant_id": "kiosk_granted", "item_id": "assistant"}


def standing(who: str, path: str) -> dict[str, bool]:
    """How ``who`` stands to the objects of the world (see the module's docstring)."""
    owners = {"customer_a", "customer_b"} if "{request_id}" in path else {"customer_a"}
    own = {SELF[key] for key in SELF if "{" + key + "}" in path}
    return {"is_owner": who in owners, "granted": who == "kiosk_granted",
            "consented": who in XUHUI and who.startswith(("assistant", "store_manager")),
            "same_store": who in XUHUI, "is_self": who in own}


PLAN = three_bedroom().model_dump(mode="json")

# Valid bodies, where the object check needs one (ids of 0 become the world's).
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/staff/kiosks"): {"store_id": "SH-XUHUI", "name": "new"},
    ("POST", "/v1/staff/kiosk-grants"): {"kiosk_id": 1, "customer_id": 0},
    ("POST", "/v1/staff/customers/{customer_id}/cards"): {"card_number": "C-777888999"},
    ("POST", "/v1/staff/customers/{customer_id}/merge-requests/{request_id}/codes"): {
        "phone": "13600009999"},
    ("POST", "/v1/staff/customers/{customer_id}/merge-requests/{request_id}/confirm"): {
        "phone": "13600009999", "code": "000000"},
    ("POST", "/v1/staff/products/{product_id}/transfer"): {"to_customer_id": 0},
    ("PUT", "/v1/skus/{sku}/model"): {"asset_id": 1},
    ("POST", "/v1/floorplans"): PLAN,
    ("POST", "/v1/communities"): {"name": "Jade Garden", "city": "Shanghai"},
    ("POST", "/v1/communities/layouts"): {"community_id": 0, "unit_type": "3B", "name": "3B",
                                          "plan": PLAN},
    ("POST", "/v1/designs"): {"layout_id": 0},
    ("PUT", "/v1/designs/{design_id}"): {"placements": []},
    ("POST", "/v1/staff/orders"): {"customer_id": 0, "lines": [{"sku": "LAMP-TABLE"}]},
    ("POST", "/v1/staff/orders/{order_id}/steps"): {"status": "picked"},
    ("PUT", "/v1/orders/{order_id}/delivery-slot"): {"starts_at": "2030-01-01T01:00:00Z"},
    ("POST", "/v1/me/orders/{order_id}/rating"): {"stars": 5},
    ("PUT", "/v1/staff/customers/{customer_id}/home"): {"home_style": "nordic"},
    ("PUT", "/v1/staff/customers/{customer_id}/tier"): {"tier": "gold"},
    ("POST", "/v1/staff/customers/{customer_id}/notes"): {"body": "prefers oak"},
    ("POST", "/v1/staff/customers/{customer_id}/tags"): {"tag": "vip"},
    ("POST", "/v1/recommendations/cart"): {"skus": ["WC-300"]},
    ("POST", "/v1/views"): {"sku": "WC-300", "session_id": "session-0001",
                            "store_id": "SH-XUHUI"},
    ("POST", "/v1/me/views"): {"sku": "WC-300", "session_id": "session-0001"},
    ("POST", "/v1/me/views/join"): {"session_id": "session-0001"},
    ("PUT", "/v1/me/cart"): {"items": [{"sku": "WC-300"}]},
    ("POST", "/v1/me/assistant"): {"assistant": "staff:1", "store_id": "SH-XUHUI"},
    ("POST", "/v1/staff/discounts"): {"customer_id": 0, "sku": "WC-300", "amount_cents": 100},
    ("POST", "/v1/staff/discounts/{discount_id}/decision"): {"approve": True},
    ("POST", "/v1/staff/consent-requests"): {"kind": "phone", "value": "13800000002"},
    ("POST", "/v1/me/consent-requests/{consent_request_id}/answer"): {"granted": True},
}
# Open look-ups of things this world does not hold: an admitted caller may get 404.
ABSENT = frozenset({("GET", "/v1/assets/{asset_id}"), ("GET", "/v1/asset-files/{name}"),
                    ("GET", "/v1/skus/{sku}/model"), ("PUT", "/v1/skus/{sku}/model"),
                    ("GET", "/v1/handoffs/{code}")})


def _operations(client: TestClient) -> dict[tuple[str, str], dict[str, Any]]:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    return {(method.upper(), path): op for path, ops in paths.items()
            for method, op in ops.items()}


def _need(op: dict[str, Any]) -> Need:
    declared = op["x-access"]
    return Need(frozenset(declared["callers"]), declared.get("of"),
                declared.get("hidden", False))


@dataclass
class World:
    headers: dict[str, dict[str, str]]
    params: dict[str, str]
    customer_b: int


def build_world(db: Conn, settings: Settings) -> World:
    empty_tables(db)
    a = make_person(db, settings, "A", card="C-100000001", phone="13800000001")
    b = make_person(db, settings, "B", card="C-200000002", phone="13800000002")
    headers = {
        "anonymous": {},
        "customer_a": auth(settings, a.id), "customer_b": auth(settings, b.id),
        "kiosk": auth(settings, "kiosk:plain", store="SH-XUHUI"),
        "kiosk_granted": auth(settings, "kiosk:granted", store="SH-XUHUI"),
        "assistant": auth(settings, "staff:ann", role="assistant", store="SH-XUHUI"),
        "assistant_other_store": auth(settings, "staff:bo", role="assistant",
                                      store="SH-PUDONG"),
        "catalog_editor": auth(settings, "staff:cat", role="catalog_editor"),
        "fleet_operator": auth(settings, "staff:fleet", role="fleet_operator"),
        "store_manager": auth(settings, "staff:maya", role="store_manager", store="SH-XUHUI"),
        "admin": auth(settings, "staff:root"),
    }
    plain, granted = (int(db.execute("SELECT id FROM kiosks WHERE name = %s", (name,))
                          .fetchone()[0]) for name in ("test kiosk plain", "test kiosk granted"))
    grant = _grant(db, settings, granted, a.id, "handoff", "test")
    device_id, device_password = db.execute(
        "SELECT id, 'not-the-real-one' FROM devices WHERE instance_id = %s",
        (a.product_id,)).fetchone()
    headers["device"] = {"Authorization": f"Bearer {device_id}:{device_password}"}
    root = int(db.execute("SELECT id FROM staff_members WHERE username = 'root'").fetchone()[0])
    for who, key in (("forged_admin", "a-key-of-my-own-making-0123456789-abcdefghij"),
                     ("default_key_admin", "dev-only-secret-change-me-in-production-0123456789")):
        assert key in PUBLISHED or who == "forged_admin"
        forger = settings.model_copy(update={"secret_key": key, "previous_secret_keys": []})
        token, _ = sessions.issue(forger, "staff", root, seconds=3600, role="admin")
        headers[who] = {"Authorization": f"Bearer {token}"}
    db.execute("INSERT INTO staff_members (username, display_name, role, password_hash) "
               "VALUES ('victim', 'Victim', 'catalog_editor', 'x')")
    params = {
        "identity_id": str(db.execute("SELECT id FROM customer_identities WHERE customer_id = %s "
                                      "AND kind = 'member_card'", (a.id,)).fetchone()[0]),
        "grant_id": str(grant.id), "token": "push-token-of-A", "offer_id": str(a.offer_id),
        "product_id": str(a.product_id), "customer_id": str(a.id), "store_id": "SH-XUHUI",
        "kiosk_id": str(plain), "device_id": str(device_id),
        "member_id": str(db.execute("SELECT id FROM staff_members WHERE username = 'victim'")
                         .fetchone()[0]),
        "asset_id": "1", "name": "0" * 64 + ".glb", "sku": "WP-500",
    }
    params.update(_floorplans_of(db, settings, a.id))
    params.update(_merges_of(db, settings, a.id, b.id))
    params.update(_clienteling_of(db, a.id))
    return World(headers, params, b.id)


def _merges_of(db: Conn, settings: Settings, a: int, b: int) -> dict[str, str]:
    """A request to merge B into A (B's card linked to A at Xuhui), and C merged into D."""
    from customers.store import create_customer
    from identity.audit import Actor
    from identity.linking import link_identity
    from identity.merge import merge_customers

    linked = link_identity(db, settings, a, "member_card", "C-200000002", proof="test",
                           by=Actor("staff:ann", "assistant", "SH-XUHUI"))
    assert linked.request is not None
    merge = merge_customers(db, create_customer(db, "C"), create_customer(db, "D"),
                            Actor("test"))
    return {"request_id": str(linked.request.id), "merge_id": str(merge.id)}


def _clienteling_of(db: Conn, customer_id: int) -> dict[str, str]:
    """A's order (placed at Xuhui, written directly so the seed's stock stays as it is), a
    discount waiting for approval, a task and a manual tag."""

    from clienteling import store as profiles
    from clienteling import tasks_store

    now = clock.now()
    order_id = db.execute(
        "INSERT INTO orders (customer_id, store_id, assistant, fulfil_store_id, total_cents, "
        "created_at, updated_at) VALUES (%s, 'SH-XUHUI', 'staff:ann', 'SH-XUHUI', 189900, "
        "%s, %s) RETURNING id", (customer_id, now, now)).fetchone()[0]
    db.execute("INSERT INTO order_lines (order_id, line_no, sku, quantity, unit_price_cents) "
               "VALUES (%s, 1, 'WC-300', 1, 189900)", (order_id,))
    db.execute("INSERT INTO order_events (order_id, seq, status, at, actor) "
               "VALUES (%s, 1, 'placed', %s, 'staff:ann')", (order_id, now))
    discount_id = db.execute(
        "INSERT INTO discounts (assistant, store_id, customer_id, sku, kind, amount_cents, "
        "month, status, created_at) VALUES ('staff:ann', 'SH-XUHUI', %s, 'WC-300', "
        "'discount', 50000, %s, 'pending_approval', %s) "
        "RETURNING id", (customer_id, month_of(now), now)).fetchone()[0]
    task_id = tasks_store.open_task(db, store_id="SH-XUHUI", assistant=None,
                                    customer_id=customer_id, kind="offer_follow_up",
                                    subject="offer:1", body="Call back", due_at=now, now=now)
    profiles.set_manual_tag(db, customer_id, "vip", "staff:ann", now)
    ann = db.execute("SELECT id FROM staff_members WHERE username = 'ann'").fetchone()[0]
    item_id = db.execute(
        "INSERT INTO assistant_inbox (assistant, customer_id, order_id, topic, body, created_at) "
        "VALUES (%s, %s, %s, 'test', 'Shipped', %s) RETURNING id",
        (f"staff:{ann}", customer_id, order_id, now)).fetchone()[0]
    consent_request = db.execute(
        "INSERT INTO consent_requests (store_id, customer_id, asked_by, created_at, expires_at) "
        "VALUES ('SH-XUHUI', %s, 'staff:ann', %s, %s + interval '10 minutes') RETURNING id",
        (customer_id, now, now)).fetchone()[0]
    return {"order_id": str(order_id), "discount_id": str(discount_id),
            "consent_request_id": str(consent_request),
            "task_id": str(task_id), "tag": "vip", "item_id": str(item_id)}


def _floorplans_of(db: Conn, settings: Settings, customer_id: int) -> dict[str, str]:
    """A's floor plan and design, a community layout, and a handoff code for A's design."""

    from floorplans import service
    from floorplans import store as plans

    plan = plans.insert_plan(db, three_bedroom(), owner_id=customer_id, store_id=None,
                             source="json")
    design = plans.insert_design(db, plan.id, customer_id, None, "A's", [], "test")
    community = plans.insert_community(db, "Jade Garden", "Shanghai", "")
    layout = plans.insert_layout(db, community["id"], "3B", "3B", three_bedroom())
    code = service.start_handoff(db, design, store_id="SH-XUHUI", kiosk_id=None,
                                 now=clock.now(), link="test:").code
    return {"plan_id": str(plan.id), "design_id": design.id, "layout_id": str(layout["id"]),
            "community_id": str(community["id"]), "code": code}


def _body(key: tuple[str, str], world: World) -> dict[str, Any]:
    body = dict(BODIES.get(key, {}))
    for name in ("layout_id", "community_id"):
        if body.get(name) == 0:
            body[name] = int(world.params[name])
    if body.get("customer_id") == 0:
        body["customer_id"] = int(world.params["customer_id"])
    if body.get("to_customer_id") == 0:
        body["to_customer_id"] = world.customer_b
    if "kiosk_id" in body:
        body["kiosk_id"] = int(world.params["kiosk_id"])
    return body


def _call(client: TestClient, method: str, path: str, world: World, who: str) -> int:
    url = path.format(**{k: world.params[k] for k in world.params if "{" + k + "}" in path})
    kwargs: dict[str, Any] = {"headers": world.headers[who]}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = _body((method, path), world)
    return client.request(method, url, **kwargs).status_code


# Every operation of the API and what it declares, read once when the tests are collected.
OPERATIONS = _operations(TestClient(create_app(Settings())))


def test_every_route_declares_a_need() -> None:
    undeclared = [f"{m} {p}" for (m, p), op in OPERATIONS.items() if "x-access" not in op]
    assert undeclared == []
    assert len(OPERATIONS) > 100  # the whole API, not a part of it


def test_a_route_without_a_need_stops_the_api_being_built() -> None:
    router = APIRouter()

    @router.get("/v1/undeclared")
    def undeclared() -> None: ...

    with pytest.raises(RuntimeError, match="declares no need"):
        _declared(router)


def test_a_need_names_only_callers_the_policy_knows() -> None:
    with pytest.raises(ValueError, match="unknown"):
        needs("customers")
    with pytest.raises(ValueError):
        needs()


EXPECTED = {Decision.SIGN_IN: {401}, Decision.FORBIDDEN: {403}, Decision.HIDDEN: {404}}


@pytest.mark.parametrize("method, path", sorted(OPERATIONS),
                         ids=[f"{m} {p}" for m, p in sorted(OPERATIONS)])
def test_route_answers_each_caller_as_the_policy_says(
        client: TestClient, settings: Settings, db: psycopg.Connection[Any], method: str,
        path: str) -> None:
    need = _need(OPERATIONS[(method, path)])
    world = build_world(db, settings)
    wrong: list[str] = []
    # refusals first: repeating an admitted change is still admitted, a refused one is not
    order = sorted(CALLERS, key=lambda who: decide(need, CALLERS[who], **standing(who, path))
                   == Decision.ADMIT)
    for who in order:
        decision = decide(need, CALLERS[who], **standing(who, path))
        status = _call(client, method, path, world, who)
        if decision == Decision.ADMIT:
            if CALLERS[who] is None and who != "anonymous" and status == 401:
                continue  # an open route may refuse a token that proves nothing
            refused = {401, 403} if (method, path) in ABSENT else {401, 403, 404}
            if status in refused or status >= 500:
                wrong.append(f"{who} should be admitted, got {status}")
        elif status not in EXPECTED[decision]:
            wrong.append(f"{who} should get {sorted(EXPECTED[decision])} "
                         f"({decision.value}), got {status}")
    assert not wrong, f"{need}:\n" + "\n".join(wrong)
