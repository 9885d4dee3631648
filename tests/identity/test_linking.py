"""One customer across channels: phone and member card linked with proof, records merged."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from homeloop.settings import Settings
from identity.merge import references
from tests.api.conftest import auth
from tests.identity.conftest import SmsStandIn, make_person

Conn = Any


def _everything_of(db: Conn, customer_id: int) -> dict[str, int]:
    """Rows per table that refer to the customer, found from the foreign keys (not the
    merge's own bookkeeping)."""
    counts = {}
    for ref in references(db):
        if ref.table in ("customers", "customer_merges", "merge_requests"):
            continue
        n = db.execute(f"SELECT count(*) FROM {ref.table} WHERE {ref.column} = %s",
                       (customer_id,)).fetchone()[0]
        if n:
            counts[f"{ref.table}.{ref.column}"] = n
    return counts


def test_a_card_scanned_at_the_till_merges_the_stores_record_into_the_app_account(
        sms_settings: Settings, sms: SmsStandIn, db: Conn) -> None:
    settings = sms_settings
    # Li registered at the till years ago (card, phone, a purifier, points, an offer) and
    # now signs in to the app for the first time: a new, empty customer.
    till = make_person(db, settings, "Li (till)", card="C-100200300", phone="13800001111",
                       points=1200)
    app = make_person(db, settings, "Li", card="C-555666777", phone="13700003333", points=300)
    before_till, before_app = _everything_of(db, till.id), _everything_of(db, app.id)
    app_login = auth(settings, app.id)
    assistant = auth(settings, "staff:ann", role="assistant", store="SH-XUHUI")
    with TestClient(create_app(settings)) as client:
        client.put("/v1/me/store-consents/SH-XUHUI", headers=app_login, json={"granted": True})
        linked = client.post(f"/v1/staff/customers/{app.id}/cards", headers=assistant,
                             json={"card_number": "c-1002 00300"})  # spaces, lower case
        # The card is on the till's record: both records must agree before anything moves.
        assert linked.status_code == 202, linked.text
        assert linked.json()["status"] == "pending_confirmation"
        assert linked.json()["hint"] == "•••• 0300"
        request = linked.json()["merge_request"]["id"]
        # Li confirms in the app for the app's record, and with a code to the till record's
        # phone for that one.
        assert client.post(f"/v1/me/merge-requests/{request}/confirm",
                           headers=app_login).json()["status"] == "pending"
        base = f"/v1/staff/customers/{app.id}/merge-requests/{request}"
        client.post(f"{base}/codes", headers=assistant, json={"phone": "13800001111"})
        done = client.post(f"{base}/confirm", headers=assistant,
                           json={"phone": "13800001111", "code": sms.last_code()})
        assert done.status_code == 200 and done.json()["status"] == "merged", done.text

        me = client.get("/v1/me", headers=app_login).json()
        assert me["points"] == 1500
        assert sorted(i["kind"] for i in me["identities"]) == [
            "firebase", "member_card", "member_card", "phone", "phone"]
        products = client.get("/v1/me/products", headers=app_login).json()
        assert sorted(p["id"] for p in products) == sorted([till.product_id, app.product_id])
        offers = client.get("/v1/me/offers", headers=app_login).json()
        assert sorted(o["id"] for o in offers) == sorted([till.offer_id, app.offer_id])
    # Nothing of either record was lost: every row that referred to one of them now refers
    # to the merged customer (where both held the same answer, such as a consent to one
    # kind, the app account's own is kept).
    after = _everything_of(db, app.id)
    kept_once = {"customer_consents.customer_id", "privacy_consents.customer_id",
                 "store_consents.customer_id"}
    for key in set(before_till) | set(before_app):
        expected = (max if key in kept_once else sum)(
            (before_till.get(key, 0), before_app.get(key, 0)))
        assert after.get(key, 0) >= expected, key
    assert _everything_of(db, till.id) == {}
    # The till's record is kept, empty and marked, so that an admin can undo the merge.
    assert db.execute("SELECT merged_into, points FROM customers WHERE id = %s",
                      (till.id,)).fetchone() == (app.id, 0)
    merge = db.execute("SELECT from_customer, into_customer, by FROM customer_merges").fetchone()
    assert merge[0] == till.id and merge[1] == app.id and merge[2].startswith("staff:")


def test_a_phone_is_linked_with_the_code_sent_to_it(
        sms_settings: Settings, sms: SmsStandIn, db: Conn) -> None:
    from customers.store import create_customer

    other = make_person(db, sms_settings, "Wang (phone)", card="C-121212121",
                        phone="+86 139 0000 2222")
    me = create_customer(db, "Wang")
    headers = auth(sms_settings, me)
    with TestClient(create_app(sms_settings)) as client:
        sent = client.post("/v1/me/identities/phone", headers=headers,
                           json={"phone": "13900002222"})
        assert sent.status_code == 202, sent.text
        assert sms.messages[-1]["to"] == "+8613900002222"
        code = sms.last_code()
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        refused = client.post("/v1/me/identities/phone/verify", headers=headers,
                              json={"phone": "13900002222", "code": wrong})
        assert refused.status_code == 422 and refused.json()["tries_left"] == 4
        linked = client.post("/v1/me/identities/phone/verify", headers=headers,
                             json={"phone": "139-0000-2222", "code": code})
        assert linked.status_code == 200, linked.text
        # The number belonged to a record from the till, which had verified it: the code
        # proves control of that record's phone too, so it is merged into this customer.
        assert linked.json()["status"] == "merged"
        assert "merged_customer" not in linked.json()
        products = client.get("/v1/me/products", headers=headers).json()
        assert [p["id"] for p in products] == [other.product_id]
        # The code is used up.
        assert client.post("/v1/me/identities/phone/verify", headers=headers,
                           json={"phone": "13900002222", "code": code}).status_code == 404
    assert db.execute("SELECT count(*) FROM phone_codes WHERE attempts = 1").fetchone() == (1,)


def test_too_many_wrong_codes_need_a_new_code(sms_settings: Settings, sms: SmsStandIn,
                                               db: Conn) -> None:
    from customers.store import create_customer

    me = create_customer(db, "Zhao")
    headers = auth(sms_settings, me)
    with TestClient(create_app(sms_settings)) as client:
        client.post("/v1/me/identities/phone", headers=headers, json={"phone": "13600004444"})
        code = sms.last_code()
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        answers = [client.post("/v1/me/identities/phone/verify", headers=headers,
                               json={"phone": "13600004444", "code": wrong}).status_code
                   for _ in range(6)]
        assert answers == [422] * 5 + [410]
        late = client.post("/v1/me/identities/phone/verify", headers=headers,
                           json={"phone": "13600004444", "code": code})
        assert late.status_code == 410


def test_without_an_sms_gateway_the_app_is_told_it_cannot_send(
        client: TestClient, settings: Settings, sms: SmsStandIn, db: Conn) -> None:
    from customers.store import create_customer

    me = create_customer(db, "Sun")
    resp = client.post("/v1/me/identities/phone", headers=auth(settings, me),
                       json={"phone": "13500005555"})
    assert resp.status_code == 503
    assert "SMS" in resp.json()["detail"] and resp.headers["retry-after"]
    assert db.execute("SELECT count(*) FROM phone_codes").fetchone() == (0,)


def test_a_till_lookup_finds_only_customers_who_let_the_store_in(
        client: TestClient, settings: Settings, db: Conn) -> None:
    li = make_person(db, settings, "Li", card="C-100200300", phone="13800001111")
    xuhui = auth(settings, "staff:ann", role="assistant", store="SH-XUHUI")
    pudong = auth(settings, "staff:bo", role="assistant", store="SH-PUDONG")
    found = client.post("/v1/staff/customers/lookup", headers=xuhui,
                        json={"kind": "phone", "value": "+8613800001111"})
    assert found.status_code == 200 and found.json() == {"customer_id": li.id}
    assert client.post("/v1/staff/customers/lookup", headers=pudong,
                       json={"kind": "phone", "value": "13800001111"}).status_code == 404
    assert client.post("/v1/staff/customers/lookup", headers=xuhui,
                       json={"kind": "member_card", "value": "C-000000000"}).status_code == 404
