"""Catalog search (facets, Chinese and English text) and recommendations ranked by what can
be had, never out of stock everywhere."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from homeloop.settings import Settings
from tests.api.conftest import auth


def _skus(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    return [i["sku"] for i in r.json()["items"]]


def test_chinese_and_english_free_text(client: TestClient) -> None:
    assert _skus(client.get("/v1/search", params={"q": "灰色 沙发"})) == ["SOFA-3-GREY"]
    assert set(_skus(client.get("/v1/search", params={"q": "沙发"}))) == {
        "SOFA-3-GREY", "SOFA-2-BEIGE", "SOFA-CORNER"}
    # English words match the names and the colours, materials and styles too.
    assert set(_skus(client.get("/v1/search", params={"q": "grey sofa"}))) == {
        "SOFA-3-GREY", "SOFA-2-BEIGE", "SOFA-CORNER"}
    assert _skus(client.get("/v1/search", params={"q": "dark grey"})) == ["SOFA-CORNER"]
    assert set(_skus(client.get("/v1/search", params={"q": "oak"}))) == {"FLOOR-OAK",
                                                                         "BED-180"}
    assert _skus(client.get("/v1/search", params={"q": "马桶 300"})) == [
        "WC-300", "WC-300-SMART"]
    assert _skus(client.get("/v1/search", params={"q": "沙发 100%"})) == []


def test_placeable_is_what_stands_in_a_room(client: TestClient) -> None:
    """The room designer's "Add a product": furniture, appliances and fittings, not the
    rinse aid, pods and filters they use, their services or the oak floor by the m²."""
    placed = set(_skus(client.get("/v1/search", params={"placeable": "true", "limit": 100})))
    everything = set(_skus(client.get("/v1/search", params={"limit": 100})))
    assert {"SOFA-3-GREY", "BED-180", "DW-60", "WC-300", "LAMP-FLOOR", "CM-100"} <= placed
    assert everything - placed >= {"RINSE-500", "POD-ESP-50", "FLT-RO-1", "SVC-DESCALE",
                                   "FLOOR-OAK"}
    assert set(_skus(client.get("/v1/search", params={"q": "洗碗机", "placeable": "true"}))) \
        == {"DW-60"}


def test_facets_sizes_and_stock(client: TestClient, db: Any) -> None:
    # "grey sofa under 2.2 m, in stock here"
    r = client.get("/v1/search", params={"q": "sofa", "width_max": 2200, "stock": "here",
                                         "store_id": "SH-XUHUI"})
    assert set(_skus(r)) == {"SOFA-2-BEIGE", "SOFA-3-GREY"}
    # The beige two-seater comes in grey too; the corner sofa is dark grey and too wide.
    assert set(_skus(client.get("/v1/search", params={"q": "sofa", "colour": "grey",
                                                      "width_max": 2200}))) == {
        "SOFA-3-GREY", "SOFA-2-BEIGE"}
    assert _skus(client.get("/v1/search", params={"colour": "dark grey"})) == ["SOFA-CORNER"]
    assert _skus(client.get("/v1/search", params={"colour": "dark grey",
                                                  "width_max": 2200})) == []
    all_sofas = client.get("/v1/search", params={"category": "sofa"}).json()
    assert all_sofas["total"] == 3
    assert all_sofas["facets"]["category"] == {"sofa": 3}
    assert all_sofas["facets"]["colour"] == {"beige": 2, "grey": 2, "dark grey": 1}
    assert all_sofas["facets"]["style"] == {"nordic": 3}
    # The corner sofa is out of stock at Xuhui; Pudong (nearby) has it.
    assert _skus(client.get("/v1/search", params={"category": "sofa", "stock": "nearby",
                                                  "store_id": "SH-XUHUI",
                                                  "price_min": 800_000})) == ["SOFA-CORNER"]
    db.execute("UPDATE inventory SET on_hand = 0 WHERE sku = 'SOFA-CORNER' AND store_id <> "
               "'ONLINE'")
    assert _skus(client.get("/v1/search", params={"category": "sofa", "stock": "nearby",
                                                  "store_id": "SH-XUHUI",
                                                  "price_min": 800_000})) == []
    assert _skus(client.get("/v1/search", params={"category": "sofa", "stock": "online",
                                                  "price_min": 800_000})) == ["SOFA-CORNER"]
    assert client.get("/v1/search", params={"stock": "here"}).status_code == 422


def test_fits_this_wall(client: TestClient, settings: Settings, db: Any, customer: int) -> None:
    import json

    plan = {"walls": [
        {"id": "short", "start": [0, 0], "end": [2.0, 0], "thickness": 0.1, "height": 2.6},
        {"id": "door", "start": [0, 0], "end": [0, 3.0], "thickness": 0.1, "height": 2.6},
        {"id": "window", "start": [2.0, 0], "end": [2.0, 3.0], "thickness": 0.1,
         "height": 2.6}],
        "openings": [{"id": "d", "wall_id": "door", "kind": "door", "width": 0.9},
                     {"id": "w", "wall_id": "window", "kind": "window", "width": 1.2}]}
    plan_id = db.execute(
        "INSERT INTO floor_plans (owner_id, name, plan, source, area_m2) "
        "VALUES (%s, 'test', %s, 'json', 6) RETURNING id", (customer, json.dumps(plan))
    ).fetchone()[0]

    mine = auth(settings, customer)  # the plan is theirs: search reads it for them only

    def sofas(wall: str) -> set[str]:
        return set(_skus(client.get("/v1/search", headers=mine, params={
            "category": "sofa", "floor_plan_id": plan_id, "wall_id": wall})))

    # 1.9 m usable; 2.0 m beside a 0.9 m door; 2.9 m under a window (it does not block)
    assert sofas("short") == {"SOFA-2-BEIGE"}
    assert sofas("door") == {"SOFA-2-BEIGE"}
    assert sofas("window") == {"SOFA-2-BEIGE", "SOFA-3-GREY", "SOFA-CORNER"}  # 2.85 m
    assert client.get("/v1/search", headers=mine,
                      params={"floor_plan_id": plan_id, "wall_id": "nope"}).status_code == 404
    assert client.get("/v1/search", params={"wall_id": "short"}).status_code == 422


def test_recommendations_only_what_can_be_had_in_availability_order(
        client: TestClient, settings: Settings, db: Any, customer: int,
        assistant: dict[str, str]) -> None:
    # The customer bought a 300 mm toilet and looked at a sofa.
    r = client.post("/v1/staff/orders", headers=assistant,
                    json={"customer_id": customer, "lines": [{"sku": "WC-300"}]})
    assert r.status_code == 201
    client.post("/v1/me/views", headers=auth(settings, customer),
                json={"sku": "SOFA-3-GREY", "store_id": "SH-XUHUI", "session_id": "sess-0001"})
    # Someone else bought the toilet with a floor lamp, twice.
    other = int(db.execute("INSERT INTO customers (display_name) VALUES ('O') RETURNING id")
                .fetchone()[0])
    from identity.privacy import set_store_consent
    set_store_consent(db, other, "SH-XUHUI", True)
    for _ in range(2):
        client.post("/v1/staff/orders", headers=assistant, json={
            "customer_id": other, "lines": [{"sku": "WC-300"}, {"sku": "LAMP-FLOOR"}]})
    from clienteling.tasks import run_copurchase
    assert run_copurchase(settings) == 2
    # The corner sofa is only online; the beige sofa only at Pudong; the smart toilet nowhere.
    db.execute("UPDATE inventory SET on_hand = 0 WHERE sku = 'SOFA-CORNER' AND store_id <> "
               "'ONLINE'")
    db.execute("UPDATE inventory SET on_hand = 0 WHERE sku = 'SOFA-2-BEIGE' AND store_id <> "
               "'SH-PUDONG'")
    db.execute("UPDATE inventory SET on_hand = 0 WHERE sku = 'WC-300-SMART'")

    got = client.get(f"/v1/staff/customers/{customer}/recommendations", headers=assistant,
                     params={"limit": 20})
    assert got.status_code == 200, got.text
    recs = got.json()
    by_sku = {r["sku"]: r for r in recs}
    assert "WC-300-SMART" not in by_sku and "WC-300" not in by_sku  # nowhere / already had
    assert [r["tier"] for r in recs] == sorted(r["tier"] for r in recs)
    assert by_sku["LAMP-FLOOR"]["reason"].startswith("often bought with TOFTA")
    assert by_sku["LAMP-FLOOR"]["availability"] == "in stock here (10)"  # two were sold
    beige = by_sku["SOFA-2-BEIGE"]
    assert beige["tier"] == 1 and beige["store_id"] == "SH-PUDONG" and beige["days"] == 2
    assert beige["availability"].startswith("at Shanghai Pudong, 11 km away: here in 2 days")
    assert (beige["store_name"], beige["store_name_zh"]) == ("Shanghai Pudong", "上海浦东店")
    assert by_sku["LAMP-FLOOR"]["store_name_zh"] == "上海徐汇店"  # here: this store
    assert by_sku["SOFA-CORNER"]["tier"] == 2 and "delivered by" in \
        by_sku["SOFA-CORNER"]["availability"]
    assert by_sku["SOFA-CORNER"]["reason"] == "similar to SÖDER 3-seat sofa, grey"

    cart = client.post("/v1/recommendations/cart", headers=assistant,
                       json={"skus": ["CM-100"]}).json()
    # Its consumables; the descaling service has no stock to offer (services are booked).
    assert {r["sku"] for r in cart} >= {"POD-ESP-50", "POD-ESP-100", "DESC-1"}
    assert "SVC-DESCALE" not in {r["sku"] for r in cart}
    assert all(r["reason"] == "goes with your KAFFE capsule coffee machine" for r in cart
               if r["sku"].startswith("POD-"))
