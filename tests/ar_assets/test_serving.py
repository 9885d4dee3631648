"""Serving model files: strong ETags, 304, Range, immutable hashed URLs; a real worker."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from homeloop.settings import Settings
from tests.ar_assets.conftest import box_glb, multipart_upload, upload
from tests.ar_assets.test_processing import processed
from tests.conftest import process_env, wait_for

Conn = psycopg.Connection[tuple[Any, ...]]


def test_files_have_strong_etags_304_ranges_and_immutable_hashed_urls(
        client: TestClient, settings: Settings, db: Conn) -> None:
    asset = processed(client, settings, box_glb((0.6, 0.9, 0.4)), "lamp.glb", sku="CM-100")
    phone = asset["profiles"]["phone"]

    by_id = client.get(f"/v1/assets/{asset['id']}", params={"profile": "phone"})
    assert by_id.status_code == 200
    assert hashlib.sha256(by_id.content).hexdigest() == phone["sha256"]
    assert by_id.headers["etag"] == f'"{phone["sha256"]}"'
    assert "immutable" not in by_id.headers["cache-control"]
    assert by_id.headers["accept-ranges"] == "bytes"

    hashed = client.get(phone["url"])
    assert hashed.content == by_id.content and phone["url"].endswith(phone["sha256"] + ".glb")
    assert "immutable" in hashed.headers["cache-control"]

    again = client.get(phone["url"], headers={"If-None-Match": hashed.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == hashed.headers["etag"]
    other = client.get(phone["url"], headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200

    part = client.get(phone["url"], headers={"Range": "bytes=0-11"})
    assert part.status_code == 206 and part.content == by_id.content[:12]
    assert part.headers["content-range"] == f"bytes 0-11/{len(by_id.content)}"
    assert part.content[:4] == b"glTF"

    model = client.get("/v1/skus/CM-100/model", params={"profile": "planner"})
    assert model.status_code == 200
    assert model.headers["content-location"] == asset["profiles"]["planner"]["url"]
    assert client.get("/v1/skus/CM-100/model", headers={
        "If-None-Match": model.headers["etag"]}, params={"profile": "planner"}).status_code == 304
    assert client.get("/v1/skus/WC-400/model").status_code == 404
    assert client.get(f"/v1/assets/{asset['id']}", params={"profile": "kiosk"}
                      ).status_code == 422
    assert client.get("/v1/asset-files/" + "0" * 64 + ".glb").status_code == 404
    assert client.get("/v1/asset-files/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_a_file_of_an_asset_not_ready_is_404(client: TestClient, settings: Settings,
                                             db: Conn) -> None:
    resp = upload(client, settings, box_glb(), "box.glb")
    assert resp.status_code == 202
    assert client.get(resp.json()["status_url"], params={"profile": "phone"}).status_code == 404
    assert client.get("/v1/assets/999999").status_code == 404


@pytest.mark.real_clock("the Celery worker is another process, on the machine's clock")
def test_a_multipart_upload_is_processed_by_a_real_worker(
        client: TestClient, settings: Settings, db: Conn, sofa_zip: bytes) -> None:
    worker = subprocess.Popen([sys.executable, "-m", "homeloop", "worker", "--concurrency", "1"],
                              env=process_env(settings), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        resp = multipart_upload(client, settings, sofa_zip, "sofa_03.zip", sku="SOFA-3-GREY")
        assert resp.status_code == 202, resp.text
        url = resp.json()["status_url"]
        done = wait_for(lambda: (body := client.get(url).json())["status"] in ("ready", "failed")
                        and body, timeout=120, what="the worker to process the upload")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert done["status"] == "ready", done["report"]
    assert done["source"]["format"] == "zip" and done["triangles"] == 8004
    assert client.get("/v1/skus/SOFA-3-GREY/model").status_code == 200


def test_uploads_whose_task_was_lost_are_queued_again(client: TestClient, settings: Settings,
                                                      db: Conn) -> None:
    from ar_assets.tasks import run_requeue
    from homeloop.worker import make_celery

    fresh = upload(client, settings, box_glb(), "a.glb").json()["id"]
    lost = upload(client, settings, box_glb((0.5, 0.5, 0.5)), "b.glb").json()["id"]
    dead = upload(client, settings, box_glb((0.4, 0.5, 0.5)), "c.glb").json()["id"]
    db.execute("UPDATE assets SET updated_at = now() - interval '10 minutes' WHERE id = %s",
               (lost,))
    db.execute("UPDATE assets SET status = 'processing', updated_at = now() - interval "
               "'1 day' WHERE id = %s", (dead,))

    sent: list[int] = []
    assert run_requeue(settings, sent.append) == [lost, dead] == sent
    assert fresh not in sent
    beat = make_celery(settings).conf.beat_schedule["assets-requeue"]
    assert beat["task"] == "ar_assets.requeue_stale"


def test_staff_list_uploads_by_sku_and_status(client: TestClient, settings: Settings,
                                              db: Conn) -> None:
    from tests.ar_assets.conftest import editor

    ready = processed(client, settings, box_glb(), "a.glb", sku="WC-400")
    pending = upload(client, settings, box_glb((0.3, 0.3, 0.3)), "b.glb", sku="WC-400").json()
    upload(client, settings, box_glb((0.2, 0.3, 0.3)), "c.glb", sku="CM-100")

    listed = client.get("/v1/assets", params={"sku": "WC-400"}, headers=editor(settings))
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()] == [pending["id"], ready["id"]]
    assert set(listed.json()[1]["profiles"]) == {"phone", "planner", "vr"}
    only = client.get("/v1/assets", params={"status": "ready"}, headers=editor(settings))
    assert [a["id"] for a in only.json()] == [ready["id"]]
    assert client.get("/v1/assets").status_code == 401


def test_a_product_page_reads_the_item_with_its_model_and_colours(
        client: TestClient, settings: Settings, db: Conn) -> None:
    from tests.ar_assets.conftest import sample_zip

    bare = client.get("/v1/skus/LAMP-TABLE")
    assert bare.status_code == 200
    assert bare.json()["model"] is None and bare.json()["name_zh"] == "HEKTAR 台灯"
    assert "SH-XUHUI" in bare.json()["in_stock_at"]
    assert bare.json()["store_names"]["SH-XUHUI"] == {"name": "Shanghai Xuhui",
                                                       "name_zh": "上海徐汇店"}
    assert set(bare.json()["store_names"]) == set(bare.json()["in_stock_at"])
    asset = processed(client, settings, sample_zip("sofa_03"), "sofa.zip", sku="SOFA-3-GREY")
    item = client.get("/v1/skus/SOFA-3-GREY").json()
    assert item["model"]["id"] == asset["id"]
    assert item["model"]["profiles"]["phone"]["url"] == asset["profiles"]["phone"]["url"]
    assert item["model"]["variants"] == asset["variants"]
    assert "SH-XUHUI" not in client.get("/v1/skus/SOFA-CORNER").json()["in_stock_at"]
    assert client.get("/v1/skus/NO-SUCH-THING").status_code == 404
