"""Bytes two assets share are deleted by neither's refusal: a refused upload of the same
bytes as one being accepted waits for it (the blob's lock), and our own served file
uploaded again and refused stays served."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from ar_assets import service
from ar_assets.storage import open_blob_store
from homeloop.errors import NotFound
from homeloop.settings import Settings
from tests.ar_assets.conftest import box_glb, upload
from tests.ar_assets.test_processing import processed, profile_bytes

Conn = psycopg.Connection[tuple[Any, ...]]


def test_a_refusal_while_the_same_bytes_are_being_accepted_keeps_them(
        settings: Settings, db: Conn) -> None:
    data = box_glb()
    blobs = open_blob_store(settings)
    first, second = blobs.writer(1 << 20), blobs.writer(1 << 20)
    for writer in (first, second):
        writer.write(data)
        sha = writer.finish()
    refused: list[Exception] = []

    def accept(conn: Conn, sku: str | None, place: Any) -> int:
        return service.accept_upload(conn, settings, sha256=sha, size=len(data),
                                     head=data[:64], filename="box.glb", sku=sku, unit=None,
                                     up=None, uploaded_by="staff:eve", place=place)

    with psycopg.connect(settings.database_url) as one, \
            psycopg.connect(settings.database_url) as other:
        def refuse() -> None:
            try:
                with other.transaction():
                    accept(other, "NO-SUCH-SKU", second.place)
            except NotFound as exc:
                refused.append(exc)

        with one.transaction():
            asset_id = accept(one, None, first.place)
            racer = threading.Thread(target=refuse)
            racer.start()
            racer.join(timeout=1.0)
            assert racer.is_alive()  # it waits for this upload's transaction to end
        racer.join(timeout=30)
    assert refused and not racer.is_alive()
    assert blobs.local_path(sha) is not None
    assert db.execute("SELECT id, source_sha256 FROM assets").fetchall() == [(asset_id, sha)]
    for writer in (first, second):
        writer.abort()


def test_our_own_file_uploaded_again_and_refused_stays_served(
        client: TestClient, settings: Settings, db: Conn) -> None:
    asset = processed(client, settings, box_glb(), "box.glb")
    phone = profile_bytes(client, asset, "phone")

    resp = upload(client, settings, phone, "box-phone.glb", sku="NO-SUCH-SKU")

    assert resp.status_code == 404
    assert profile_bytes(client, asset, "phone") == phone
