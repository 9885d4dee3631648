"""Who may call what: every route of the API against every kind of caller.

The routes come from the application's own OpenAPI document, so a route added without a rule
here fails :func:`test_every_route_has_a_rule`. For each route, callers outside its rule must
be refused (401, 403, or 404 where an id in the path belongs to someone else), and callers in
it must get past authorisation (anything but 401, 403 and 404, and never a 5xx).

The world every case runs in: customers A and B who both let the Xuhui store see their data;
A owns a product with an offer, a linked card, a push token; kiosk "granted" of Xuhui holds a
grant for A, kiosk "plain" none; a Xuhui assistant, a Pudong assistant, a catalog editor, a
fleet operator and an admin; a device presenting its MQTT password as a bearer token; and
two admin sessions nobody issued, one signed with a key of the caller's making and one with
the signing key once published with the code, which every route that needs a caller refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from clienteling.discounts import month_of
from devtools.layouts import three_bedroom
from homeloop import clock
from homeloop.settings import PUBLISHED, Settings
from identity import sessions
from identity.kiosks import _grant
from tests.api.conftest import auth
from tests.conftest import empty_tables
from tests.identity.conftest import make_person

Conn = Any

CALLERS = ("anonymous", "device", "customer_a", "customer_b", "kiosk", "kiosk_granted",
           "assistant", "assistant_other_store", "store_manager", "catalog_editor",
           "fleet_operator", "admin", "forged_admin", "default_key_admin")
# Admin sessions nobody issued: one signed with a key of the caller's own making, one with
# the signing key that used to be published with the code. No route takes either.
FORGED = frozenset({"forged_admin", "default_key_admin"})
EVERYONE = frozenset(CALLERS) - FORGED
CUSTOMERS = frozenset({"customer_a", "customer_b"})
A = frozenset({"customer_a"})
KIOSKS = frozenset({"kiosk", "kiosk_granted"})
ASSISTANTS = frozenset({"assistant", "assistant_other_store", "store_manager", "admin"})
FOR_A = frozenset({"customer_a", "kiosk_granted", "assistant", "store_manager",
                   "admin"})  # may act for A (Xuhui's staff: A let that store in)
FLEET = frozenset({"fleet_operator", "admin"})
CATALOG = frozenset({"catalog_editor", "admin"})
ADMIN = frozenset({"admin"})
XUHUI_STAFF = frozenset({"assistant", "store_manager", "admin"})  # the store A let in
SIGNED_IN = EVERYONE - {"anonymous", "device"}
# staff bound to a store
STORE_STAFF = frozenset({"assistant", "assistant_other_store", "store_manager"})


PLAN = three_bedroom().model_dump(mode="json")


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[str]
    body: dict[str, Any] | None = None  # a valid body, where the object check needs one
    may_be_missing: bool = False  # a public lookup whose object the world does not hold


RULES: dict[tuple[str, str], Rule] = {
    # Signing in is for anyone (the body decides).
    ("POST", "/v1/auth/staff"): Rule(EVERYONE),
    ("POST", "/v1/auth/kiosk"): Rule(EVERYONE),
    ("GET", "/healthz"): Rule(EVERYONE),
    # The signed-in customer's own things.
    ("GET", "/v1/me"): Rule(CUSTOMERS),
    ("DELETE", "/v1/me"): Rule(CUSTOMERS),
    ("POST", "/v1/me/identities/phone"): Rule(CUSTOMERS),
    ("POST", "/v1/me/identities/phone/verify"): Rule(CUSTOMERS),
    ("DELETE", "/v1/me/identities/{identity_id}"): Rule(A),
    ("GET", "/v1/me/privacy"): Rule(CUSTOMERS),
    ("PUT", "/v1/me/privacy"): Rule(CUSTOMERS),
    ("GET", "/v1/me/store-consents"): Rule(CUSTOMERS),
    ("PUT", "/v1/me/store-consents/{store_id}"): Rule(CUSTOMERS),
    ("GET", "/v1/me/consent-history"): Rule(CUSTOMERS),
    ("POST", "/v1/me/kiosk-grants"): Rule(CUSTOMERS),
    ("DELETE", "/v1/me/kiosk-grants/{grant_id}"): Rule(A),
    ("GET", "/v1/me/access-log"): Rule(CUSTOMERS),
    ("GET", "/v1/me/export"): Rule(CUSTOMERS),
    ("GET", "/v1/me/export.zip"): Rule(CUSTOMERS),
    ("POST", "/v1/me/products/claim"): Rule(CUSTOMERS),
    ("GET", "/v1/me/products"): Rule(CUSTOMERS),
    ("GET", "/v1/me/offers"): Rule(CUSTOMERS),
    ("POST", "/v1/me/offers/{offer_id}/dismiss"): Rule(A),
    ("POST", "/v1/me/offers/{offer_id}/open"): Rule(A),
    ("POST", "/v1/me/offers/{offer_id}/accept"): Rule(A),
    ("GET", "/v1/me/order-requests"): Rule(CUSTOMERS),
    ("POST", "/v1/me/push-tokens"): Rule(CUSTOMERS),
    ("DELETE", "/v1/me/push-tokens/{token}"): Rule(A),
    ("GET", "/v1/me/consents"): Rule(CUSTOMERS),
    ("PUT", "/v1/me/consents"): Rule(CUSTOMERS),
    # A customer's product, for whoever may act for them.
    ("GET", "/v1/products/{product_id}/timeline"): Rule(FOR_A),
    ("GET", "/v1/products/{product_id}/forecasts"): Rule(FOR_A),
    # Kiosks.
    ("POST", "/v1/kiosk/handoffs"): Rule(KIOSKS),
    ("GET", "/v1/kiosk/grants"): Rule(KIOSKS),
    ("DELETE", "/v1/kiosk/grants/{grant_id}"): Rule(frozenset({"kiosk_granted"})),
    # Staff.
    ("POST", "/v1/staff/members"): Rule(ADMIN),
    ("POST", "/v1/staff/members/{member_id}/disable"): Rule(ADMIN),
    ("POST", "/v1/staff/kiosks"): Rule(XUHUI_STAFF,
                                       body={"store_id": "SH-XUHUI", "name": "new"}),
    ("POST", "/v1/staff/kiosks/{kiosk_id}/revoke"): Rule(XUHUI_STAFF),
    ("POST", "/v1/staff/kiosk-grants"): Rule(XUHUI_STAFF,
                                             body={"kiosk_id": 1, "customer_id": 0}),
    ("POST", "/v1/staff/customers/lookup"): Rule(ASSISTANTS),
    ("POST", "/v1/staff/customers/{customer_id}/cards"): Rule(
        XUHUI_STAFF, body={"card_number": "C-777888999"}),
    ("GET", "/v1/staff/customers/{customer_id}/access-log"): Rule(ADMIN),
    # Merges: a request for B to be merged into A (B's card linked to A at Xuhui), answered
    # by A and B in their apps or with codes at the till; a merge of two others to undo.
    ("GET", "/v1/me/merge-requests"): Rule(CUSTOMERS),
    ("POST", "/v1/me/merge-requests/{request_id}/confirm"): Rule(CUSTOMERS),
    ("POST", "/v1/me/merge-requests/{request_id}/decline"): Rule(CUSTOMERS),
    ("GET", "/v1/staff/customers/{customer_id}/merge-requests/{request_id}"): Rule(XUHUI_STAFF),
    ("POST", "/v1/staff/customers/{customer_id}/merge-requests/{request_id}/codes"): Rule(
        XUHUI_STAFF, body={"phone": "13600009999"}),
    ("POST", "/v1/staff/customers/{customer_id}/merge-requests/{request_id}/confirm"): Rule(
        XUHUI_STAFF, body={"phone": "13600009999", "code": "000000"}),
    ("GET", "/v1/staff/customers/{customer_id}/merges"): Rule(ADMIN),
    ("POST", "/v1/staff/merges/{merge_id}/undo"): Rule(ADMIN),
    ("POST", "/v1/staff/products/{product_id}/transfer"): Rule(
        XUHUI_STAFF, body={"to_customer_id": 0}),
    ("POST", "/v1/staff/devices"): Rule(FLEET),
    ("POST", "/v1/staff/devices/{device_id}/revoke"): Rule(FLEET),
    ("GET", "/v1/staff/dead-letters"): Rule(FLEET),
    ("GET", "/v1/staff/quality-alerts"): Rule(FLEET),
    ("GET", "/v1/staff/offer-stats"): Rule(STORE_STAFF | {"catalog_editor",
                                                                   "fleet_operator", "admin"}),
    # Product models: staff upload, everyone reads the catalog's.
    ("POST", "/v1/assets"): Rule(CATALOG),
    ("GET", "/v1/assets"): Rule(CATALOG),
    ("GET", "/v1/assets/{asset_id}"): Rule(EVERYONE, may_be_missing=True),
    ("GET", "/v1/asset-files/{name}"): Rule(EVERYONE, may_be_missing=True),
    ("GET", "/v1/skus/{sku}/model"): Rule(EVERYONE, may_be_missing=True),
    ("GET", "/v1/skus/{sku}"): Rule(EVERYONE),
    ("GET", "/v1/customers/{customer_id}/designs"): Rule(FOR_A),
    ("PUT", "/v1/skus/{sku}/model"): Rule(CATALOG, body={"asset_id": 1}, may_be_missing=True),
    # Floor plans and designs: A's plan and design for whoever may act for A; a store's
    # kiosks and assistants may start a plan or design the store holds until a customer
    # claims it; community layouts are for anyone signed in, added by catalog staff.
    ("POST", "/v1/floorplans"): Rule(CUSTOMERS | KIOSKS | STORE_STAFF, body=PLAN),
    ("GET", "/v1/me/floorplans"): Rule(CUSTOMERS),
    ("GET", "/v1/floorplans/{plan_id}"): Rule(FOR_A),
    ("GET", "/v1/floorplans/{plan_id}/plan.json"): Rule(FOR_A),
    ("POST", "/v1/communities"): Rule(CATALOG, body={"name": "Jade Garden", "city": "Shanghai"}),
    ("POST", "/v1/communities/layouts"): Rule(CATALOG, body={
        "community_id": 0, "unit_type": "3B", "name": "3B", "plan": PLAN}),
    ("GET", "/v1/communities/layouts"): Rule(SIGNED_IN),
    ("GET", "/v1/communities/layouts/{layout_id}/plan.json"): Rule(SIGNED_IN),
    ("POST", "/v1/communities/layouts/{layout_id}/copy"): Rule(CUSTOMERS | KIOSKS | STORE_STAFF),
    ("POST", "/v1/designs"): Rule(CUSTOMERS | KIOSKS | STORE_STAFF, body={"layout_id": 0}),
    ("GET", "/v1/me/designs"): Rule(CUSTOMERS),
    ("GET", "/v1/designs/{design_id}"): Rule(FOR_A),
    ("PUT", "/v1/designs/{design_id}"): Rule(FOR_A, body={"placements": []}),
    ("POST", "/v1/designs/{design_id}/undo"): Rule(FOR_A),
    ("GET", "/v1/designs/{design_id}/history"): Rule(FOR_A),
    ("GET", "/v1/designs/{design_id}/checks"): Rule(FOR_A),
    ("GET", "/v1/designs/{design_id}/bom"): Rule(FOR_A),
    ("GET", "/v1/designs/{design_id}/scene.glb"): Rule(FOR_A),
    ("POST", "/v1/designs/{design_id}/handoff"): Rule(XUHUI_STAFF | {"kiosk_granted"}),
    ("POST", "/v1/handoffs/{code}/claim"): Rule(CUSTOMERS),
    ("GET", "/v1/handoffs/{code}"): Rule(EVERYONE, may_be_missing=True),
    # Orders: sold by a store's assistant, followed by whoever may act for the customer.
    ("POST", "/v1/staff/orders"): Rule(XUHUI_STAFF, body={
        "customer_id": 0, "lines": [{"sku": "LAMP-TABLE"}]}),
    ("GET", "/v1/me/orders"): Rule(CUSTOMERS),
    ("GET", "/v1/me/coupons"): Rule(CUSTOMERS),
    ("GET", "/v1/orders/{order_id}"): Rule(FOR_A),
    ("POST", "/v1/staff/orders/{order_id}/steps"): Rule(XUHUI_STAFF,
                                                       body={"status": "picked"}),
    ("GET", "/v1/orders/{order_id}/delivery-slots"): Rule(FOR_A),
    ("PUT", "/v1/orders/{order_id}/delivery-slot"): Rule(
        FOR_A, body={"starts_at": "2030-01-01T01:00:00Z"}),
    ("POST", "/v1/me/orders/{order_id}/rating"): Rule(A, body={"stars": 5}),
    ("GET", "/v1/staff/installers"): Rule(ASSISTANTS),
    # Clienteling: a customer's profile only with their consent for the caller's store.
    ("GET", "/v1/staff/customers/{customer_id}/profile"): Rule(FOR_A),
    ("PUT", "/v1/staff/customers/{customer_id}/home"): Rule(FOR_A, body={"home_style": "nordic"}),
    ("PUT", "/v1/staff/customers/{customer_id}/tier"): Rule(
        frozenset({"store_manager", "admin"}), body={"tier": "gold"}),
    ("POST", "/v1/staff/customers/{customer_id}/notes"): Rule(
        XUHUI_STAFF, body={"body": "prefers oak"}),
    ("POST", "/v1/staff/customers/{customer_id}/tags"): Rule(
        XUHUI_STAFF, body={"tag": "vip"}),
    ("DELETE", "/v1/staff/customers/{customer_id}/tags/{tag}"): Rule(
        XUHUI_STAFF),
    ("GET", "/v1/staff/customers/{customer_id}/trail"): Rule(XUHUI_STAFF),
    ("GET", "/v1/staff/customers/{customer_id}/recommendations"): Rule(FOR_A),
    ("POST", "/v1/recommendations/cart"): Rule(SIGNED_IN, body={"skus": ["WC-300"]}),
    # open, but a token that comes must be valid (a customer's search is remembered)
    ("GET", "/v1/search"): Rule(EVERYONE - {"device"}),
    ("POST", "/v1/views"): Rule(EVERYONE, body={"sku": "WC-300", "session_id": "session-0001",
                                                "store_id": "SH-XUHUI"}),
    ("POST", "/v1/me/views"): Rule(CUSTOMERS, body={"sku": "WC-300",
                                                    "session_id": "session-0001"}),
    ("POST", "/v1/me/views/join"): Rule(CUSTOMERS, body={"session_id": "session-0001"}),
    ("GET", "/v1/me/store-trail"): Rule(CUSTOMERS),
    ("GET", "/v1/me/cart"): Rule(CUSTOMERS),
    ("PUT", "/v1/me/cart"): Rule(CUSTOMERS, body={"items": [{"sku": "WC-300"}]}),
    ("POST", "/v1/me/assistant"): Rule(CUSTOMERS, body={"assistant": "staff:1",
                                                        "store_id": "SH-XUHUI"}),
    ("POST", "/v1/staff/discounts"): Rule(XUHUI_STAFF, body={
        "customer_id": 0, "sku": "WC-300", "amount_cents": 100}),
    ("POST", "/v1/staff/discounts/{discount_id}/decision"): Rule(
        frozenset({"store_manager", "admin"}), body={"approve": True}),
    ("GET", "/v1/staff/day"): Rule(ASSISTANTS),
    ("POST", "/v1/staff/tasks/{task_id}/done"): Rule(XUHUI_STAFF),
    ("POST", "/v1/staff/inbox/{item_id}/read"): Rule(frozenset({"assistant"})),  # their own
}


def _routes(client: TestClient) -> list[tuple[str, str]]:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    return sorted((method.upper(), path) for path, ops in paths.items() for method in ops)


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
    return {"order_id": str(order_id), "discount_id": str(discount_id),
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


def _body(rule: Rule, world: World) -> dict[str, Any]:
    body = dict(rule.body or {})
    for key in ("layout_id", "community_id"):
        if body.get(key) == 0:
            body[key] = int(world.params[key])
    for key in ("customer_id", "to_customer_id"):
        if body.get(key) == 0:
            body[key] = world.customer_b if key == "to_customer_id" else int(
                world.params["customer_id"])
    if "kiosk_id" in body:
        body["kiosk_id"] = int(world.params["kiosk_id"])
    return body


def test_every_route_has_a_rule(client: TestClient) -> None:
    routes = set(_routes(client))
    assert sorted(routes - set(RULES)) == [], "routes without an authorisation rule"
    assert sorted(set(RULES) - routes) == [], "rules for routes that no longer exist"


def _call(client: TestClient, method: str, path: str, world: World, who: str,
          rule: Rule) -> int:
    url = path.format(**{k: world.params[k] for k in world.params if "{" + k + "}" in path})
    kwargs: dict[str, Any] = {"headers": world.headers[who]}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = _body(rule, world)
    return client.request(method, url, **kwargs).status_code


def _cases() -> list[tuple[str, str]]:
    return sorted(RULES)


@pytest.mark.parametrize("method, path", _cases(), ids=[f"{m} {p}" for m, p in _cases()])
def test_route_admits_exactly_its_callers(client: TestClient, settings: Settings,
                                          db: psycopg.Connection[Any], method: str,
                                          path: str) -> None:
    rule = RULES[(method, path)]
    world = build_world(db, settings)
    wrong: list[str] = []
    for who in CALLERS:
        if who in rule.allowed or (who in FORGED and "anonymous" in rule.allowed):
            continue  # an open route may ignore a token it does not need
        status = _call(client, method, path, world, who, rule)
        if status not in (401, 403, 404):
            wrong.append(f"{who} should be refused, got {status}")
    for who in sorted(rule.allowed):  # repeating an allowed change is still allowed
        status = _call(client, method, path, world, who, rule)
        refused = (401, 403) if rule.may_be_missing else (401, 403, 404)
        if status in refused or status >= 500:
            wrong.append(f"{who} should be admitted, got {status}")
    assert wrong == []
