"""The uploads of failed assets leave the blob store after ``asset_failed_source_days``; the
asset and its report stay, saying "source removed". Time moves with time-machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import time_machine
from fastapi.testclient import TestClient

from ar_assets.storage import open_blob_store
from ar_assets.tasks import run_remove_failed_sources
from homeloop.settings import Settings
from homeloop.worker import make_celery
from tests.ar_assets.conftest import box_glb
from tests.ar_assets.test_processing import processed

Conn = psycopg.Connection[tuple[Any, ...]]


@pytest.mark.clock
def test_a_failed_assets_source_is_removed_after_the_retention_and_its_report_stays(
        client: TestClient, settings: Settings, db: Conn, now: datetime) -> None:
    in_mm = box_glb((2000.0, 800.0, 900.0))  # a sofa drawn in millimetres, sent without unit
    failed = processed(client, settings, in_mm, "sofa.glb")
    assert failed["status"] == "failed"
    other = processed(client, settings, box_glb((2000.0, 810.0, 900.0)), "sofa2.glb")
    sha, sha2 = failed["source"]["sha256"], other["source"]["sha256"]
    blobs = open_blob_store(settings)
    days = settings.asset_failed_source_days
    assert days == 30
    now = now.astimezone(UTC)  # days of 24 hours, also across a change of summer time

    with time_machine.travel(now + timedelta(days=days) - timedelta(hours=1), tick=True):
        assert run_remove_failed_sources(settings) == []
    assert blobs.local_path(sha) is not None

    with time_machine.travel(now + timedelta(days=days, hours=1), tick=True):
        assert run_remove_failed_sources(settings) == [failed["id"], other["id"]]
        assert run_remove_failed_sources(settings) == []  # once
    assert blobs.local_path(sha) is None and blobs.local_path(sha2) is None

    after = client.get(failed["status_url"]).json()
    assert after["status"] == "failed" and after["source"]["sha256"] == sha
    codes = [i["code"] for i in after["report"]["issues"]]
    assert codes == ["IMPLAUSIBLE_SIZE", "SOURCE_REMOVED"]
    [removed] = [i for i in after["report"]["issues"] if i["code"] == "SOURCE_REMOVED"]
    assert removed["message"].startswith("source removed") and removed["severity"] == "info"
    assert after["report"]["source_removed"] is True


@pytest.mark.clock
def test_bytes_another_asset_uses_stay(client: TestClient, settings: Settings, db: Conn,
                                       now: datetime) -> None:
    in_mm = box_glb((2000.0, 800.0, 900.0))
    failed = processed(client, settings, in_mm, "sofa.glb")
    fixed = processed(client, settings, in_mm, "sofa.glb", unit="mm")  # the same bytes
    assert failed["status"] == "failed" and fixed["status"] == "ready"

    with time_machine.travel(now + timedelta(days=31), tick=True):
        assert run_remove_failed_sources(settings) == [failed["id"]]
    assert open_blob_store(settings).local_path(fixed["source"]["sha256"]) is not None
    assert client.get(failed["status_url"]).json()["report"]["source_removed"] is True
    assert client.get(fixed["status_url"]).json()["status"] == "ready"


def test_the_retention_is_a_setting_and_beat_runs_it_nightly(settings: Settings) -> None:
    assert Settings(asset_failed_source_days=7).asset_failed_source_days == 7
    app = make_celery(settings)
    try:
        entry = app.conf.beat_schedule["assets-failed-sources"]
        assert entry["task"] == "ar_assets.remove_failed_sources"
        app.loader.import_default_modules()
        assert "ar_assets.remove_failed_sources" in app.tasks
    finally:
        app.close()
