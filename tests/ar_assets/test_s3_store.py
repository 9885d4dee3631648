"""Blobs in an S3-compatible bucket: against a local stand-in of the S3 API (moto's server),
over real HTTP, as several API hosts with their own caches would use it."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ar_assets.storage import S3BlobStore, open_blob_store
from homeloop.settings import Settings
from tests.ar_assets.conftest import box_glb
from tests.ar_assets.test_processing import processed
from tests.conftest import free_port

Conn = psycopg.Connection[tuple[Any, ...]]


@dataclass(frozen=True)
class Bucket:
    endpoint: str
    name: str


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    """A fresh bucket on the stand-in (its state lives as long as the process)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    bucket = Bucket(f"http://127.0.0.1:{port}", f"homeloop-assets-{uuid.uuid4().hex[:8]}")
    boto3.client("s3", endpoint_url=bucket.endpoint).create_bucket(Bucket=bucket.name)
    yield bucket
    server.stop()


def on_s3(settings: Settings, bucket: Bucket, cache: Path) -> Settings:
    return settings.model_copy(update={"asset_s3_bucket": bucket.name, "asset_s3_endpoint_url":
                                       bucket.endpoint, "asset_blob_dir": cache})


def keys(bucket: Bucket) -> set[str]:
    listed = boto3.client("s3", endpoint_url=bucket.endpoint).list_objects_v2(
        Bucket=bucket.name)
    return {o["Key"] for o in listed.get("Contents", [])}


def test_an_upload_lands_in_the_bucket_and_another_host_serves_it(
        settings: Settings, s3: Bucket, tmp_path: Path, db: Conn) -> None:
    first = on_s3(settings, s3, tmp_path / "host-1")
    with TestClient(create_app(first)) as client:
        asset = processed(client, first, box_glb((0.6, 0.9, 0.4)), "lamp.glb", sku="CM-100")
    assert asset["status"] == "ready", asset
    shas = {p["sha256"] for p in asset["profiles"].values()}
    assert {f"assets/{sha}" for sha in shas} <= keys(s3)

    # A second API host, with nothing cached, serves the same file from the bucket.
    second = on_s3(settings, s3, tmp_path / "host-2")
    phone = asset["profiles"]["phone"]
    with TestClient(create_app(second)) as client:
        served = client.get(phone["url"])
        assert served.status_code == 200
        assert hashlib.sha256(served.content).hexdigest() == phone["sha256"]
        part = client.get(phone["url"], headers={"Range": "bytes=0-3"})
        assert part.status_code == 206 and part.content == b"glTF"
        assert client.get(phone["url"], headers={"If-None-Match": served.headers["etag"]}
                          ).status_code == 304
    assert (tmp_path / "host-2" / phone["sha256"][:2] / phone["sha256"][2:4]
            / phone["sha256"]).is_file()


def test_the_bucket_store_puts_reads_sizes_and_deletes(
        settings: Settings, s3: Bucket, tmp_path: Path) -> None:
    store = open_blob_store(on_s3(settings, s3, tmp_path / "cache"))
    assert isinstance(store, S3BlobStore)
    source = tmp_path / "blob.bin"
    source.write_bytes(b"a model" * 1000)
    sha = store.put(source)
    assert sha == hashlib.sha256(source.read_bytes()).hexdigest()
    assert store.put(source) == sha and keys(s3) == {f"assets/{sha}"}
    assert store.size(sha) == 7000

    elsewhere = open_blob_store(on_s3(settings, s3, tmp_path / "other-cache"))
    with elsewhere.open(sha) as f:
        assert f.read() == source.read_bytes()
    store.delete(sha)
    assert keys(s3) == set() and store.size(sha) is None
    assert store.local_path(sha) is None
    assert store.size("not-a-hash") is None
    with pytest.raises(FileNotFoundError):
        store.open("0" * 64)


def test_the_cache_keeps_to_its_size_evicting_the_least_recently_used(
        settings: Settings, s3: Bucket, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    store = open_blob_store(on_s3(settings, s3, cache).model_copy(
        update={"asset_cache_max_bytes": 20_000}))
    assert isinstance(store, S3BlobStore)

    def blob(tag: bytes) -> str:
        source = tmp_path / "blob.bin"
        source.write_bytes(tag * 7000)
        sha = store.put(source)
        # file times tick in milliseconds: keep the order of use clear
        time.sleep(0.05)  # noqa: TID251
        return sha

    def cached() -> set[str]:
        return {p.name for p in cache.glob("??/??/*")}

    first, second = blob(b"a"), blob(b"b")
    with store.open(first) as f:  # the first is used again: now the second is the oldest
        assert f.read(1) == b"a"
    time.sleep(0.05)  # noqa: TID251
    third = blob(b"c")

    assert cached() == {first, third}  # 14,000 bytes of at most 20,000
    assert keys(s3) == {f"assets/{s}" for s in (first, second, third)}  # the bucket keeps all
    with store.open(second) as f:  # fetched again when it is next used
        assert f.read() == b"b" * 7000
    assert second in cached() and len(cached()) == 2
