"""Consent per purpose with history, export of everything, deletion of the personal."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from homeloop import clock
from homeloop.settings import Settings
from identity.keys import identity_hash
from identity.merge import references
from tests.api.conftest import auth, customer_uid
from tests.identity.conftest import make_person

Conn = Any


def test_consent_per_purpose_with_its_history(client: TestClient, settings: Settings,
                                              db: Conn) -> None:
    from customers.store import create_customer

    me = create_customer(db, "Li")
    headers = auth(settings, me)
    assert client.get("/v1/me/privacy", headers=headers).json() == {
        "push_marketing": False, "service_reminders": True, "usage_analytics": False}
    changed = client.put("/v1/me/privacy", headers=headers,
                         json={"push_marketing": True, "usage_analytics": True})
    assert changed.json() == {"push_marketing": True, "service_reminders": True,
                              "usage_analytics": True}
    # The offer rules read the same answers: marketing kinds are now allowed by push.
    kinds = client.get("/v1/me/consents", headers=headers).json()["kinds"]
    assert kinds["upsell"] and kinds["crosssell"] and kinds["points"]
    client.put("/v1/me/privacy", headers=headers, json={"usage_analytics": False})
    history = [(c["kind"], c["granted"])
               for c in client.get("/v1/me/consent-history", headers=headers).json()]
    assert ("usage_analytics", True) in history and history[-1] == ("usage_analytics", False)
    assert client.put("/v1/me/privacy", headers=headers,
                      json={"selling_my_data": True}).status_code == 422


def test_the_export_holds_every_row_that_refers_to_the_customer(
        client: TestClient, settings: Settings, db: Conn) -> None:
    li = make_person(db, settings, "Li", card="C-100200300", phone="13800001111", points=50)
    client.get(f"/v1/products/{li.product_id}/timeline",  # an audited staff read
               headers=auth(settings, "staff:ann", role="assistant", store="SH-XUHUI"))
    export = client.get("/v1/me/export", headers=auth(settings, li.id))
    assert export.status_code == 200, export.text
    body = export.json()
    assert body["customer"]["display_name"] == "Li" and body["customer"]["points"] == 50
    tables = body["tables"]
    for ref in references(db):
        rows = db.execute(f"SELECT count(*) FROM {ref.table} "
                          f"WHERE {ref.column} = %s", (li.id,)).fetchone()[0]
        exported = [r for r in tables.get(ref.table, []) if r.get(ref.column) == li.id]
        assert len(exported) == rows, ref
    # One step further: the offer's lines, the product's device.
    assert [line["item_sku"] for line in tables["offer_lines"]] == ["FLT-PP-1"]
    assert [d["instance_id"] for d in tables["devices"]] == [li.product_id]
    assert tables["access_audit"][0]["role"] == "assistant"
    # Keyed hashes and secrets mean nothing to the customer and are left out.
    text = json.dumps(body)
    assert "key_hash" not in text and "password" not in text and "secret" not in text


def _columns(db: Conn) -> list[tuple[str, str, str]]:
    return db.execute(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'").fetchall()


def test_deletion_leaves_no_personal_data_and_keeps_anonymous_usage(
        client: TestClient, settings: Settings, db: Conn) -> None:
    li = make_person(db, settings, "Li Xiaoming", card="C-100200300", phone="13800001111")
    wang = make_person(db, settings, "Wang", card="C-999888777", phone="13900002222")
    client.get(f"/v1/products/{li.product_id}/timeline",
               headers=auth(settings, "staff:ann", role="assistant", store="SH-XUHUI"))
    device = db.execute("SELECT id FROM devices WHERE instance_id = %s",
                        (li.product_id,)).fetchone()[0]
    db.execute("INSERT INTO readings (time, device_id, metric, value) "
               "VALUES (%s, %s, 'litres', 1.5)", (clock.now(), device))

    gone = client.delete("/v1/me", headers=auth(settings, li.id))
    assert gone.status_code == 200, gone.text
    assert client.get("/v1/me/products", headers=auth(settings, wang.id)).status_code == 200

    # Search every table for anything that identifies Li.
    text_needles = ["Li Xiaoming", customer_uid(li.id), "13800001111", "C-100200300",
                    "push-token-of-Li Xiaoming"]
    hashes = [identity_hash(settings, k, v) for k, v in (
        ("firebase", customer_uid(li.id)), ("member_card", li.card), ("phone", li.phone))]
    found = []
    for table, column, kind in _columns(db):
        if kind in ("text", "character varying", "jsonb", "json", "ARRAY"):
            for needle in text_needles:
                if db.execute(f'SELECT count(*) FROM "{table}" '
                              f'WHERE "{column}"::text LIKE %s', (f"%{needle}%",)
                              ).fetchone()[0]:
                    found.append((table, column, needle))
        elif kind == "bytea" and db.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}" = ANY(%s)',
                (hashes,)).fetchone()[0]:
            found.append((table, column, "an identity hash"))
    for ref in references(db):
        if db.execute(f"SELECT count(*) FROM {ref.table} WHERE {ref.column} = %s",
                      (li.id,)).fetchone()[0]:
            found.append((ref.table, ref.column, "the customer id"))
    if db.execute("SELECT count(*) FROM access_audit WHERE customer_id = %s",
                  (li.id,)).fetchone()[0]:
        found.append(("access_audit", "customer_id", "the customer id"))
    assert found == []

    # The product stays in the fleet, unowned, with its usage.
    owner = db.execute("SELECT owner_id, claimed_at FROM product_instances WHERE id = %s",
                       (li.product_id,)).fetchone()
    assert owner == (None, None)
    assert db.execute("SELECT count(*) FROM readings WHERE device_id = %s",
                      (device,)).fetchone() == (1,)
    # Nothing names the deleted customer by their id either.
    assert db.execute("SELECT count(*) FROM access_audit WHERE actor = %s",
                      (f"customer:{li.id}",)).fetchone() == (0,)
    # The audit entry of the staff read stays, without the customer.
    assert db.execute("SELECT count(*) FROM access_audit WHERE role = 'assistant' "
                      "AND customer_id IS NULL").fetchone() == (1,)


def test_the_export_archive_holds_the_json_and_each_design_as_a_room_in_3d(
        client: TestClient, settings: Settings, db: Conn) -> None:
    import io
    import zipfile

    from devtools import layouts

    li = make_person(db, settings, "Li", card="C-100200300", phone="13800001111")
    headers = auth(settings, li.id)
    plan = client.post("/v1/floorplans", headers=headers,
                       json=layouts.three_bedroom().model_dump(mode="json")).json()
    design = client.post("/v1/designs", headers=headers, json={
        "floor_plan_id": plan["id"], "name": "Living room",
        "placements": [{"id": "sofa", "sku": "SOFA-3-GREY", "position": [3.0, 4.4]}]}).json()
    archive = client.get("/v1/me/export.zip", headers=headers)
    assert archive.status_code == 200, archive.text
    assert archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
        assert sorted(zf.namelist()) == sorted(["export.json", f"designs/{design['id']}.glb"])
        exported = json.loads(zf.read("export.json"))
        glb = zf.read(f"designs/{design['id']}.glb")
    assert [d["id"] for d in exported["tables"]["designs"]] == [design["id"]]
    assert glb[:4] == b"glTF" and int.from_bytes(glb[8:12], "little") == len(glb)
    other = make_person(db, settings, "Wang", card="C-999888777", phone="13900002222")
    with zipfile.ZipFile(io.BytesIO(client.get("/v1/me/export.zip",
                                               headers=auth(settings, other.id)).content)) as zf:
        assert zf.namelist() == ["export.json"]  # nobody else's designs
