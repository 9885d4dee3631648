"""Something that is not yours answers exactly like something that does not exist: the same
status and the same body, on the open search's "fits this wall" filter and on the floor plan
and design routes."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from customers import store as customers
from devtools.layouts import three_bedroom
from floorplans import store as plans
from homeloop.settings import Settings
from identity.kiosks import _grant
from identity.privacy import set_store_consent
from tests.api.conftest import auth

Conn = Any
MISSING_PLAN = 999_999


def _body(response: httpx.Response) -> dict[str, Any]:
    """The problem body without its request id (which every answer has its own of)."""
    return {k: v for k, v in response.json().items() if k != "request_id"}


def _kiosk_id(db: Conn, name: str) -> int:
    return int(db.execute("SELECT id FROM kiosks WHERE name = %s", (f"test kiosk {name}",))
               .fetchone()[0])


def test_fits_this_wall_needs_a_caller_entitled_to_the_plan(
        client: TestClient, settings: Settings, db: Conn) -> None:
    lin = customers.create_customer(db, "Lin", home_store_id="SH-XUHUI")
    set_store_consent(db, lin, "SH-XUHUI", True)
    wang = customers.create_customer(db, "Wang", home_store_id="SH-XUHUI")
    plan = plans.insert_plan(db, three_bedroom(), owner_id=lin, store_id=None, source="json")
    held = plans.insert_plan(db, three_bedroom(), owner_id=None, store_id="SH-XUHUI",
                             source="layout")
    callers = {
        "anonymous": {},
        "another customer": auth(settings, wang),
        "a kiosk without a grant": auth(settings, "kiosk:plain", store="SH-XUHUI"),
        "a kiosk with a grant": auth(settings, "kiosk:granted", store="SH-XUHUI"),
        "a kiosk of another store": auth(settings, "kiosk:bj", store="BJ-SIYUAN"),
        "an assistant of a store let in": auth(settings, "staff:ann", role="assistant",
                                               store="SH-XUHUI"),
        "an assistant of another store": auth(settings, "staff:bo", role="assistant",
                                              store="SH-PUDONG"),
        "a catalog editor": auth(settings, "staff:cat", role="catalog_editor"),
        "an admin": auth(settings, "staff:root"),
        "the owner": auth(settings, lin),
    }
    _grant(db, settings, _kiosk_id(db, "granted"), lin, "handoff", "test")

    def fits(plan_id: int, who: str, wall: str = "south") -> httpx.Response:
        return client.get("/v1/search", headers=callers[who], params={
            "category": "sofa", "floor_plan_id": plan_id, "wall_id": wall})

    entitled = {"the owner", "a kiosk with a grant", "an assistant of a store let in",
                "an admin"}
    for who in callers:
        missing = fits(MISSING_PLAN, who)
        assert missing.status_code == 404, (who, missing.text)
        found = fits(plan.id, who)
        if who in entitled:
            assert found.status_code == 200, (who, found.text)
            continue
        assert found.status_code == 404, (who, found.text)
        assert _body(found) == {**_body(missing),
                                "detail": f"户型图 {plan.id}不存在"}, who
        # nothing about its walls either
        assert _body(fits(plan.id, who, wall="nope")) == _body(found), who
    assert fits(plan.id, "the owner", wall="nope").status_code == 404
    # A plan the Xuhui store's session holds (no customer yet): that store's kiosks and staff.
    for who in callers:
        found = fits(held.id, who)
        if who in {"a kiosk without a grant", "a kiosk with a grant",
                   "an assistant of a store let in", "an admin"}:
            assert found.status_code == 200, (who, found.text)
        else:
            assert found.status_code == 404, (who, found.text)
            assert _body(found)["detail"] == f"户型图 {held.id}不存在"
    # The refused kiosk's and assistant's attempts are in Lin's access log.
    refused = db.execute("SELECT DISTINCT actor FROM access_audit WHERE customer_id = %s "
                         "AND action = 'refused: GET /v1/search'", (lin,)).fetchall()
    staff = dict(db.execute("SELECT username, id FROM staff_members").fetchall())
    assert {a for (a,) in refused} == {
        f"kiosk:{_kiosk_id(db, 'plain')}", f"kiosk:{_kiosk_id(db, 'bj')}",
        f"staff:{staff['bo']}", f"staff:{staff['cat']}"}


def test_another_customers_plan_or_design_answers_as_a_missing_one(
        client: TestClient, settings: Settings, db: Conn) -> None:
    lin = customers.create_customer(db, "Lin", home_store_id="SH-XUHUI")
    wang = auth(settings, customers.create_customer(db, "Wang", home_store_id="SH-XUHUI"))
    plan = plans.insert_plan(db, three_bedroom(), owner_id=lin, store_id=None, source="json")
    held = plans.insert_plan(db, three_bedroom(), owner_id=None, store_id="SH-XUHUI",
                             source="json")
    design = plans.insert_design(db, plan.id, lin, None, "Lin's", [], "test")
    store_design = plans.insert_design(db, held.id, None, "SH-XUHUI", "the store's", [], "test")
    missing_design = "00000000-0000-0000-0000-000000000000"
    for path, missing in [
            (f"/v1/floorplans/{plan.id}", f"/v1/floorplans/{MISSING_PLAN}"),
            (f"/v1/floorplans/{held.id}", f"/v1/floorplans/{MISSING_PLAN}"),
            (f"/v1/floorplans/{plan.id}/plan.json", f"/v1/floorplans/{MISSING_PLAN}/plan.json"),
            (f"/v1/designs/{design.id}", f"/v1/designs/{missing_design}"),
            (f"/v1/designs/{store_design.id}", f"/v1/designs/{missing_design}"),
            (f"/v1/designs/{design.id}/history", f"/v1/designs/{missing_design}/history")]:
        theirs, absent = client.get(path, headers=wang), client.get(missing, headers=wang)
        assert (theirs.status_code, absent.status_code) == (404, 404), path
        the_id = path.split("/")[3]
        assert _body(theirs) == {**_body(absent), "instance": path,
                                 "detail": _body(absent)["detail"].replace(
                                     missing.split("/")[3], the_id)}, path
    # Starting a design on Lin's plan: the same.
    started = client.post("/v1/designs", headers=wang, json={"floor_plan_id": plan.id})
    absent = client.post("/v1/designs", headers=wang, json={"floor_plan_id": MISSING_PLAN})
    assert started.status_code == absent.status_code == 404
    assert _body(started)["detail"] == f"户型图 {plan.id}不存在"
    assert _body(absent)["detail"] == f"户型图 {MISSING_PLAN}不存在"
