"""Merging two customer records: only with both customers' proof, audited, undoable.

Issue 19: an assistant of a store that customer X let in linked to X a member card that
belonged to customer Y, who never let that store in; Y was merged into X, so Y's app login
opened X's account and the store read Y's data. Now such a link asks both customers first.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from fastapi.testclient import TestClient

from api.app import create_app
from homeloop import clock
from homeloop.settings import Settings
from identity.audit import Actor
from identity.merge import references
from tests.api.conftest import auth, customer_uid
from tests.identity.conftest import SmsStandIn, make_person

Conn = Any

PUDONG = "SH-PUDONG"  # the store the holder never let in (make_person lets Xuhui in)
BOOKKEEPING = ("customers", "customer_merges", "merge_requests")  # the merge's own records


def _everything_of(db: Conn, customer_id: int) -> dict[str, list[str]]:
    """Every row that refers to the customer, whole (JSON), per table and column; and the
    customer's own row. Not the access log (see :func:`_audit_ids`)."""
    found: dict[str, list[str]] = {}
    for ref in references(db):
        if ref.table in BOOKKEEPING:
            continue
        rows = db.execute(f"SELECT to_jsonb(t)::text FROM {ref.table} t "
                          f"WHERE {ref.column} = %s ORDER BY 1", (customer_id,)).fetchall()
        if rows:
            found[f"{ref.table}.{ref.column}"] = [r[0] for r in rows]
    found["customers"] = [db.execute("SELECT to_jsonb(c)::text FROM customers c WHERE id = %s",
                                     (customer_id,)).fetchone()[0]]
    return found


def _data_of(db: Conn, customer_id: int) -> dict[str, list[str]]:
    """:func:`_everything_of` but the phone codes (asking for a code and using it change them)."""
    found = _everything_of(db, customer_id)
    found.pop("phone_codes.customer_id", None)
    return found


def _audit_ids(db: Conn, customer_id: int) -> list[int]:
    return [r[0] for r in db.execute("SELECT id FROM access_audit WHERE customer_id = %s "
                                     "ORDER BY id", (customer_id,)).fetchall()]


def _actions(db: Conn, customer_id: int) -> list[str]:
    return [r[0] for r in db.execute("SELECT action FROM access_audit WHERE customer_id = %s "
                                     "ORDER BY id", (customer_id,)).fetchall()]


def _let_in(client: TestClient, settings: Settings, customer_id: int, store: str) -> None:
    answer = client.put(f"/v1/me/store-consents/{store}", headers=auth(settings, customer_id),
                        json={"granted": True})
    assert answer.status_code == 200, answer.text


def _me(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = client.get("/v1/me", headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_an_assistant_linking_another_customers_card_moves_nothing_and_learns_nothing(
        client: TestClient, settings: Settings, db: Conn) -> None:
    from customers.store import create_customer

    # Yang holds card C-100200300 and let only Xuhui in; Xu let Pudong in.
    yang = make_person(db, settings, "Yang", card="C-100200300", phone="13800001111",
                       points=700)
    yang_login = auth(settings, yang.id)
    xu = create_customer(db, "Xu")
    _let_in(client, settings, xu, PUDONG)
    # Zhou holds another card and did let Pudong in: the answer must be the same for both.
    zhou = make_person(db, settings, "Zhou", card="C-300300300", phone="13800003333")
    _let_in(client, settings, zhou.id, PUDONG)
    before = {c: _everything_of(db, c) for c in (yang.id, xu, zhou.id)}

    pudong = auth(settings, "staff:bo", role="assistant", store=PUDONG)
    answers = [client.post(f"/v1/staff/customers/{xu}/cards", headers=pudong,
                           json={"card_number": card})
               for card in ("C-100200300", "C-300300300")]
    for answer in answers:
        assert answer.status_code == 202, answer.text
        body = answer.json()
        assert body["status"] == "pending_confirmation"
        assert body["message_zh"].startswith("已请求该会员卡的持有人确认")
        assert "Yang" not in answer.text and "Zhou" not in answer.text
        assert set(body) == {"kind", "hint", "status", "merge_request", "message_zh",
                             "message_en"}
        assert set(body["merge_request"]) == {"id", "status", "expires_at"}
    # Apart from the card's own hint and the request's id and time, the two answers are alike.
    same = [{k: v for k, v in a.json().items() if k not in ("hint", "merge_request")}
            for a in answers]
    assert same[0] == same[1]
    request = answers[0].json()["merge_request"]
    state = client.get(f"/v1/staff/customers/{xu}/merge-requests/{request['id']}",
                       headers=pudong)
    assert state.json() == request

    # Nothing moved: every row of each customer is where it was.
    assert {c: _everything_of(db, c) for c in (yang.id, xu, zhou.id)} == before
    # Pudong still cannot read Yang's profile; Yang's app login still opens Yang's account.
    assert client.get(f"/v1/staff/customers/{yang.id}/profile",
                      headers=pudong).status_code in (403, 404)
    me = _me(client, yang_login)
    assert me["id"] == yang.id and me["points"] == 700
    assert _me(client, auth(settings, xu))["points"] == 0
    # Yang sees in their access log that a Pudong assistant asked, and can answer in the app.
    assert any("asked to merge this record into another (member card •••• 0300)" in a
               for a in _actions(db, yang.id))
    asked = client.get("/v1/me/merge-requests", headers=yang_login).json()
    assert [(r["role"], r["hint"], r["store_id"], r["you_confirmed"]) for r in asked] == [
        ("from", "•••• 0300", PUDONG, False)]
    assert asked[0]["message_zh"].startswith("有人请求将您的这条会员记录")
    # The request is not reachable through another customer's path, nor by another store.
    assert client.get(f"/v1/staff/customers/{zhou.id}/merge-requests/{request['id']}",
                      headers=pudong).status_code == 404
    xuhui = auth(settings, "staff:ann", role="assistant", store="SH-XUHUI")
    assert client.get(f"/v1/staff/customers/{xu}/merge-requests/{request['id']}",
                      headers=xuhui).status_code == 403
    assert client.post(f"/v1/staff/customers/{xu}/cards", headers=xuhui,
                       json={"card_number": "C-100200300"}).status_code == 403


def test_linking_another_records_phone_or_app_account_asks_them_first(
        client: TestClient, settings: Settings, db: Conn) -> None:
    from customers.store import create_customer
    from identity.linking import link_identity

    yang = make_person(db, settings, "Yang", card="C-100200300", phone="13800001111")
    yang_login = auth(settings, yang.id)  # Yang's app account
    xu = create_customer(db, "Xu")
    before = {c: _everything_of(db, c) for c in (yang.id, xu)}
    assistant = Actor("staff:bo", "assistant", PUDONG)
    for kind, value in (("phone", "+86 138 0000 1111"), ("firebase", customer_uid(yang.id)),
                        ("member_card", "C-100200300")):
        linked = link_identity(db, settings, xu, kind, value,  # type: ignore[arg-type]
                               proof=f"staff_scan:{assistant.actor}", by=assistant)
        assert linked.status == "pending_confirmation" and linked.merge is None, kind
        assert linked.request is not None and linked.request.from_customer == yang.id
    # One open request for the pair, whatever was linked; nothing moved.
    assert db.execute("SELECT count(*) FROM merge_requests").fetchone() == (1,)
    assert {c: _everything_of(db, c) for c in (yang.id, xu)} == before
    assert _me(client, yang_login)["id"] == yang.id


def test_a_phone_proven_in_the_app_that_the_holder_never_verified_waits_for_the_holder(
        sms_settings: Settings, sms: SmsStandIn, db: Conn) -> None:
    from customers.store import create_customer

    yang = make_person(db, sms_settings, "Yang", card="C-100200300", phone="13800001111")
    db.execute("UPDATE customer_identities SET proof = 'typed_at_till' WHERE kind = 'phone'")
    yang_login = auth(sms_settings, yang.id)
    xu = create_customer(db, "Xu")
    xu_login = auth(sms_settings, xu)
    with TestClient(create_app(sms_settings)) as client:
        client.post("/v1/me/identities/phone", headers=xu_login, json={"phone": "13800001111"})
        before = {c: _everything_of(db, c) for c in (yang.id, xu)}
        linked = client.post("/v1/me/identities/phone/verify", headers=xu_login,
                             json={"phone": "13800001111", "code": sms.last_code()})
        assert linked.status_code == 202, linked.text
        assert linked.json()["status"] == "pending_confirmation"
        after = {c: _everything_of(db, c) for c in (yang.id, xu)}
        after[xu].pop("phone_codes.customer_id")  # the code was used up, as it should
        before[xu].pop("phone_codes.customer_id")
        assert after == before
        assert _me(client, yang_login)["id"] == yang.id
        # Xu confirmed their side by linking in their own app; Yang's answer completes it.
        mine = client.get("/v1/me/merge-requests", headers=xu_login).json()
        assert [(r["role"], r["you_confirmed"]) for r in mine] == [("into", True)]
        theirs = client.get("/v1/me/merge-requests", headers=yang_login).json()
        assert [(r["role"], r["you_confirmed"]) for r in theirs] == [("from", False)]
        done = client.post(f"/v1/me/merge-requests/{theirs[0]['id']}/confirm",
                           headers=yang_login)
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "merged"
        me = _me(client, yang_login)  # Yang's app account now opens the one record
        assert me["id"] == xu
        assert sorted(i["kind"] for i in me["identities"]) == [
            "firebase", "firebase", "member_card", "phone"]
        products = client.get("/v1/me/products", headers=xu_login).json()
        assert [p["id"] for p in products] == [yang.product_id]


def test_both_customers_confirm_in_their_apps_and_either_may_decline(
        client: TestClient, settings: Settings, db: Conn) -> None:
    yang = make_person(db, settings, "Yang", card="C-100200300", phone="13800001111",
                       points=700)
    xu = make_person(db, settings, "Xu", card="C-555666777", phone="13700003333", points=300)
    yang_login, xu_login = auth(settings, yang.id), auth(settings, xu.id)
    xuhui = auth(settings, "staff:ann", role="assistant", store="SH-XUHUI")

    def ask() -> int:
        answer = client.post(f"/v1/staff/customers/{xu.id}/cards", headers=xuhui,
                             json={"card_number": "C-100200300"})
        assert answer.status_code == 202, answer.text
        return int(answer.json()["merge_request"]["id"])

    # Declined by Yang: closed, nothing moved, asking again makes a new request.
    before = {c: _everything_of(db, c) for c in (yang.id, xu.id)}
    first = ask()
    assert ask() == first  # the same open request
    declined = client.post(f"/v1/me/merge-requests/{first}/decline", headers=yang_login)
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert client.post(f"/v1/me/merge-requests/{first}/confirm",
                       headers=xu_login).status_code == 409
    assert {c: _everything_of(db, c) for c in (yang.id, xu.id)} == before
    assert client.get(f"/v1/staff/customers/{xu.id}/merge-requests/{first}",
                      headers=xuhui).json()["status"] == "declined"

    second = ask()
    assert second != first
    # Only the two records' customers see and answer it.
    stranger = make_person(db, settings, "Zhou", card="C-300300300", phone="13800003333")
    assert client.post(f"/v1/me/merge-requests/{second}/confirm",
                       headers=auth(settings, stranger.id)).status_code == 404
    # Yang alone is not enough: the record Yang would join must agree too.
    one = client.post(f"/v1/me/merge-requests/{second}/confirm", headers=yang_login)
    assert one.status_code == 200 and one.json()["status"] == "pending"
    assert {c: _everything_of(db, c) for c in (yang.id, xu.id)} == before
    both = client.post(f"/v1/me/merge-requests/{second}/confirm", headers=xu_login)
    assert both.status_code == 200 and both.json()["status"] == "merged"
    assert _me(client, yang_login)["id"] == xu.id
    assert _me(client, xu_login)["points"] == 1000
    # The merged record is out of reach: no store reaches it by its old id.
    assert client.get(f"/v1/staff/customers/{yang.id}/profile", headers=xuhui).status_code == 404
    assert client.get(f"/v1/staff/customers/{xu.id}/merge-requests/{second}",
                      headers=xuhui).json()["status"] == "merged"
    assert any(a.endswith("another record of this customer was merged into this one "
                          "(member card •••• 0300)") for a in _actions(db, xu.id))


def test_codes_sent_to_verified_phones_confirm_at_the_till(
        sms_settings: Settings, sms: SmsStandIn, db: Conn) -> None:
    yang = make_person(db, sms_settings, "Yang", card="C-100200300", phone="13800001111")
    xu = make_person(db, sms_settings, "Xu", card="C-555666777", phone="13700003333")
    db.execute("INSERT INTO customer_identities (customer_id, kind, key_hash, hint, proof) "
               "VALUES (%s, 'phone', %s, '•••• 9999', 'typed_at_till')",
               (yang.id, __import__("identity.keys").keys.identity_hash(
                   sms_settings, "phone", "13900009999")))
    yang_login = auth(sms_settings, yang.id)
    xuhui = auth(sms_settings, "staff:ann", role="assistant", store="SH-XUHUI")
    with TestClient(create_app(sms_settings)) as client:
        request = client.post(f"/v1/staff/customers/{xu.id}/cards", headers=xuhui,
                              json={"card_number": "C-100200300"}).json()["merge_request"]
        base = f"/v1/staff/customers/{xu.id}/merge-requests/{request['id']}"
        before = {c: _data_of(db, c) for c in (yang.id, xu.id)}

        # A number on neither record, or one never verified, gets nothing; the answer is the
        # same as for a verified one.
        answers = [client.post(f"{base}/codes", headers=xuhui, json={"phone": phone})
                   for phone in ("13600006666", "13900009999", "13800001111")]
        assert [a.status_code for a in answers] == [202, 202, 202]
        assert answers[0].json() == answers[1].json() == answers[2].json()
        assert answers[0].json()["message_zh"].startswith("如果该号码是")
        assert [m["to"] for m in sms.messages] == ["+8613800001111"]
        assert sms.messages[0]["text"].startswith("Homeloop 合并会员记录确认码")
        code = sms.last_code()

        # A wrong code, a code for a number that got none, an expired one: one answer.
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        refusals = [client.post(f"{base}/confirm", headers=xuhui,
                                json={"phone": phone, "code": c})
                    for phone, c in (("13800001111", wrong), ("13600006666", code))]
        assert [r.status_code for r in refusals] == [422, 422]
        assert refusals[0].json()["detail"] == refusals[1].json()["detail"]
        assert "tries_left" not in refusals[0].json()
        later = clock.now() + timedelta(minutes=sms_settings.phone_code_minutes, seconds=1)
        with time_machine.travel(later, tick=True):  # the code has expired
            expired = client.post(f"{base}/confirm",
                                  headers=auth(sms_settings, "staff:ann", role="assistant",
                                               store="SH-XUHUI"),
                                  json={"phone": "13800001111", "code": code})
        assert expired.status_code == 422
        assert expired.json()["detail"] == refusals[0].json()["detail"]
        # The wrong try was counted, though the request was refused.
        assert db.execute("SELECT attempts FROM phone_codes WHERE merge_request_id IS NOT "
                          "NULL").fetchone() == (1,)
        assert {c: _data_of(db, c) for c in (yang.id, xu.id)} == before
        assert _me(client, yang_login)["id"] == yang.id

        # A fresh code to Yang's verified phone confirms Yang's side; Xu's confirms Xu's.
        client.post(f"{base}/codes", headers=xuhui, json={"phone": "138 0000 1111"})
        half = client.post(f"{base}/confirm", headers=xuhui,
                           json={"phone": "13800001111", "code": sms.last_code()})
        assert half.status_code == 200 and half.json()["status"] == "pending", half.text
        assert {c: _data_of(db, c) for c in (yang.id, xu.id)} == before
        client.post(f"{base}/codes", headers=xuhui, json={"phone": "13700003333"})
        assert sms.messages[-1]["to"] == "+8613700003333"
        done = client.post(f"{base}/confirm", headers=xuhui,
                           json={"phone": "13700003333", "code": sms.last_code()})
        assert done.status_code == 200 and done.json()["status"] == "merged", done.text
        assert _me(client, yang_login)["id"] == xu.id

        # Codes per request are limited (each ask counts, sent or not).
        other = make_person(db, sms_settings, "Zhou", card="C-300300300", phone="13500005555")
        request = client.post(f"/v1/staff/customers/{xu.id}/cards", headers=xuhui,
                              json={"card_number": "C-300300300"}).json()["merge_request"]
        asks = [client.post(f"/v1/staff/customers/{xu.id}/merge-requests/{request['id']}/codes",
                            headers=xuhui, json={"phone": "13600006666"}).status_code
                for _ in range(sms_settings.merge_codes_per_request + 1)]
        assert asks == [202] * sms_settings.merge_codes_per_request + [409]
        assert _everything_of(db, other.id)["customers"]


def _merged_pair(client: TestClient, settings: Settings,
                 db: Conn) -> tuple[Any, Any, dict[int, dict[str, list[str]]],
                                    dict[int, list[int]], int]:
    """Yang (with a home store and points) merged into Xu (without a home store), both
    confirming in their apps; what each had just before the merge."""
    yang = make_person(db, settings, "Yang", card="C-100200300", phone="13800001111",
                       points=700)
    xu = make_person(db, settings, "Xu", card="C-555666777", phone="13700003333", points=300)
    db.execute("UPDATE customers SET home_store_id = NULL WHERE id = %s", (xu.id,))
    yang_login, xu_login = auth(settings, yang.id), auth(settings, xu.id)
    xuhui = auth(settings, "staff:ann", role="assistant", store="SH-XUHUI")
    client.get(f"/v1/staff/customers/{yang.id}/profile", headers=xuhui)  # an audited read
    request = client.post(f"/v1/staff/customers/{xu.id}/cards", headers=xuhui,
                          json={"card_number": "C-100200300"}).json()["merge_request"]
    assert client.post(f"/v1/me/merge-requests/{request['id']}/confirm",
                       headers=xu_login).json()["status"] == "pending"
    before = {c: _everything_of(db, c) for c in (yang.id, xu.id)}
    audit_before = {c: _audit_ids(db, c) for c in (yang.id, xu.id)}
    assert client.post(f"/v1/me/merge-requests/{request['id']}/confirm",
                       headers=yang_login).json()["status"] == "merged"
    merges = client.get(f"/v1/staff/customers/{xu.id}/merges", headers=auth(settings, "staff:root"))
    assert merges.status_code == 200, merges.text
    [merge] = merges.json()
    return yang, xu, before, audit_before, int(merge["id"])


def test_an_admin_undoes_a_merge_and_both_records_are_as_they_were(
        client: TestClient, settings: Settings, db: Conn) -> None:
    yang, xu, before, audit_before, merge_id = _merged_pair(client, settings, db)
    xu_login, yang_login = auth(settings, xu.id), auth(settings, yang.id)
    # Merged: one record, with both customers' things; duplicates (a consent to the same
    # kind, the same store's consent) kept once, the survivor's.
    assert _me(client, yang_login)["id"] == xu.id
    me = _me(client, xu_login)
    assert me["points"] == 1000 and me["home_store_id"] == "SH-XUHUI"
    merged = _everything_of(db, xu.id)
    assert len(merged["store_consents.customer_id"]) == 1
    assert len(merged["product_instances.owner_id"]) == 2
    assert _everything_of(db, yang.id) == {"customers": _everything_of(db, yang.id)["customers"]}
    row = db.execute("SELECT merged_into, points FROM customers WHERE id = %s",
                     (yang.id,)).fetchone()
    assert row == (xu.id, 0)
    deleted = db.execute("SELECT deleted_rows FROM customer_merges WHERE id = %s",
                         (merge_id,)).fetchone()[0]
    assert set(deleted) == {"customer_consents", "privacy_consents", "store_consents"}

    undone = client.post(f"/v1/staff/merges/{merge_id}/undo", headers=auth(settings, "staff:root"))
    assert undone.status_code == 200, undone.text
    assert undone.json()["missing"] == {}
    assert undone.json()["restored"]["customers.points"] == 700
    # Exactly as before: every row of each record (ids and contents), points, home store,
    # identities, consents, the duplicates that were deleted.
    assert {c: _everything_of(db, c) for c in (yang.id, xu.id)} == before
    # The access log: each record has its entries back, and the merge and the undo on top.
    for customer in (yang.id, xu.id):
        now = _audit_ids(db, customer)
        assert now[:len(audit_before[customer])] == audit_before[customer]
        added = _actions(db, customer)[len(audit_before[customer]):]
        assert [a.split(":")[0] for a in added] == [f"merge {merge_id}",
                                                     f"merge {merge_id} undone"]
    # Each app login opens its own record again.
    assert _me(client, yang_login)["id"] == yang.id
    assert _me(client, xu_login)["id"] == xu.id
    assert _me(client, xu_login)["points"] == 300
    assert client.post(f"/v1/staff/merges/{merge_id}/undo",
                       headers=auth(settings, "staff:root")).status_code == 409
    listed = client.get(f"/v1/staff/customers/{yang.id}/merges",
                        headers=auth(settings, "staff:root")).json()
    assert listed[0]["undone_by"].startswith("staff:")


def test_only_an_admin_undoes_and_only_within_the_window(
        client: TestClient, settings: Settings, db: Conn) -> None:
    yang, xu, _, _, merge_id = _merged_pair(client, settings, db)
    for who in (auth(settings, "staff:ann", role="assistant", store="SH-XUHUI"),
                auth(settings, "staff:maya", role="store_manager", store="SH-XUHUI"),
                auth(settings, xu.id), auth(settings, yang.id)):
        assert client.post(f"/v1/staff/merges/{merge_id}/undo", headers=who).status_code in (
            401, 403)
    later = clock.now() + timedelta(days=settings.merge_undo_days, minutes=1)
    with time_machine.travel(later, tick=True):
        late = client.post(f"/v1/staff/merges/{merge_id}/undo",
                           headers=auth(settings, "staff:root"))
    assert late.status_code == 410, late.text
    assert _me(client, auth(settings, yang.id))["id"] == xu.id  # still one record


def test_undo_keeps_what_the_survivor_made_and_says_what_it_deleted(
        client: TestClient, settings: Settings, db: Conn) -> None:
    yang, xu, _, _, merge_id = _merged_pair(client, settings, db)
    root = auth(settings, "staff:root")
    xu_login = auth(settings, xu.id)
    # After the merge: Yang's push token is removed in the app, a new one registered, and
    # the points spent below what came from Yang.
    assert client.delete(f"/v1/me/push-tokens/push-token-of-{yang.name}",
                         headers=xu_login).status_code == 204
    client.post("/v1/me/push-tokens", headers=xu_login,
                json={"token": "push-token-new", "platform": "android"})
    db.execute("UPDATE customers SET points = 600 WHERE id = %s", (xu.id,))
    spent = client.post(f"/v1/staff/merges/{merge_id}/undo", headers=root)
    assert spent.status_code == 409 and "points" in spent.json()["detail"]
    db.execute("UPDATE customers SET points = 1000 WHERE id = %s", (xu.id,))
    undone = client.post(f"/v1/staff/merges/{merge_id}/undo", headers=root)
    assert undone.status_code == 200, undone.text
    assert undone.json()["missing"] == {"push_tokens.customer_id": 1}
    tokens = {r[0]: r[1] for r in db.execute("SELECT token, customer_id FROM push_tokens")}
    assert tokens == {"push-token-of-Xu": xu.id, "push-token-new": xu.id}
    assert _me(client, auth(settings, yang.id))["points"] == 700
