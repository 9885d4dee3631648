"""Problem details are written for the person who reads them: a signed-in customer in their own
locale, anyone else in their Accept-Language, else Simplified Chinese; the machine ``code``
stays the same in every language."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from customers import store as customers
from homeloop.settings import Settings
from tests.api.conftest import auth

Conn = Any
CJK = re.compile(r"[\u4e00-\u9fff]")
MISSING_PLAN = 999_999


def test_a_customer_reads_problems_in_their_locale_whatever_the_browser_says(
        client: TestClient, settings: Settings, db: Conn) -> None:
    chinese = auth(settings, customers.create_customer(db, "Lin", locale="zh-CN"))
    english = auth(settings, customers.create_customer(db, "Ann", locale="en"))
    path = f"/v1/floorplans/{MISSING_PLAN}"
    zh = client.get(path, headers={**chinese, "Accept-Language": "en-US,en;q=0.9"})
    en = client.get(path, headers={**english, "Accept-Language": "zh-CN,zh;q=0.9"})
    assert (zh.status_code, en.status_code) == (404, 404)
    assert (zh.json()["title"], zh.json()["detail"]) == ("未找到", f"户型图 {MISSING_PLAN}不存在")
    assert (en.json()["title"], en.json()["detail"]) == (
        "Not found", f"floor plan {MISSING_PLAN} does not exist")
    assert zh.json()["code"] == en.json()["code"] == "not_found"
    assert zh.headers["content-language"] == "zh-CN" and en.headers["content-language"] == "en"
    # the screen's own language switch (?lang=) is the one thing that beats the locale
    asked = client.get(path, params={"lang": "en"}, headers=chinese)
    assert asked.json()["detail"] == f"floor plan {MISSING_PLAN} does not exist"


def test_anyone_else_reads_their_accept_language_and_chinese_by_default(
        client: TestClient) -> None:
    cases = {None: "zh-CN", "en-GB,en;q=0.8": "en", "fr-FR, en;q=0.3, zh;q=0.7": "zh-CN",
             "de, en;q=0.5": "en", "ja": "zh-CN", "en;q=0": "zh-CN"}
    for header, lang in cases.items():
        headers = {"Accept-Language": header} if header else {}
        answer = client.get("/v1/floorplans/1", headers=headers)  # not signed in
        body = answer.json()
        assert answer.status_code == 401 and body["code"] == "unauthorized", header
        assert answer.headers["content-language"] == lang, header
        words = body["title"] + body["detail"]
        assert bool(CJK.search(body["title"])) == (lang == "zh-CN"), (header, words)
    # a route nobody answers, and a method nobody answers there: Starlette's own problems too
    zh = client.get("/v1/no-such-thing").json()
    en = client.get("/v1/no-such-thing", headers={"Accept-Language": "en"}).json()
    assert (zh["title"], zh["detail"], zh["code"]) == ("未找到", "未找到", "not_found")
    assert (en["title"], en["detail"], en["code"]) == ("Not found", "Not found", "not_found")
    zh = client.post("/healthz").json()
    en = client.post("/healthz", headers={"Accept-Language": "en"}).json()
    assert zh["detail"] == "此处不接受 POST；可用的方法：GET" and zh["title"] == "不支持该方法"
    assert en["detail"] == "POST is not answered here; these are: GET"


def test_invalid_input_has_a_title_in_the_language_and_field_errors_for_programs(
        client: TestClient, settings: Settings, db: Conn) -> None:
    lin = auth(settings, customers.create_customer(db, "Lin"))
    zh = client.post("/v1/designs", headers=lin, json={"floor_plan_id": "not a number"})
    en = client.post("/v1/designs", headers=lin, params={"lang": "en"},
                     json={"floor_plan_id": "not a number"})
    assert (zh.status_code, en.status_code) == (422, 422)
    assert (zh.json()["title"], en.json()["title"]) == ("请求无效", "Invalid request")
    assert zh.json()["code"] == en.json()["code"] == "invalid_request"
    assert zh.json()["errors"] == en.json()["errors"]  # for programs: the same in both


def test_a_floor_plan_that_cannot_be_read_is_refused_in_the_readers_language(
        client: TestClient, settings: Settings, db: Conn) -> None:
    lin = auth(settings, customers.create_customer(db, "Lin"))
    ann = auth(settings, customers.create_customer(db, "Ann", locale="en"))
    unknown = {"hello": "world"}  # neither our format nor a RoomPlan export
    zh = client.post("/v1/floorplans", headers=lin, json=unknown)
    en = client.post("/v1/floorplans", headers=ann, json=unknown)
    assert (zh.status_code, en.status_code) == (422, 422)
    assert zh.json()["code"] == en.json()["code"] == "floorplan.unknown_format"
    assert zh.json()["detail"].startswith("无法识别的户型图格式")
    assert en.json()["detail"].startswith("unknown floor plan format")
    broken = client.post("/v1/floorplans", headers={**lin, "Content-Type": "application/json"},
                         content=b'{"walls": [')
    assert broken.status_code == 422 and broken.json()["code"] == "floorplan.not_json"
    assert broken.json()["detail"].startswith("该户型图不是 JSON")
