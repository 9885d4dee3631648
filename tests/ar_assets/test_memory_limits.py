"""What keeps the processing tree's memory bounded, as an operator and an editor see it: the
textures a model may carry, and how many worker processes a host runs."""

from __future__ import annotations

import os
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from ar_assets.service import MAX_TEXTURE_INPUT, MAX_TEXTURE_PIXELS, WORST_TREE_MB
from devtools.bench.assets import _texture_glb
from homeloop.settings import Settings
from homeloop.worker import worker_concurrency
from tests.ar_assets.test_processing import processed

Conn = psycopg.Connection[tuple[Any, ...]]


def test_textures_over_the_pixel_budget_fail_with_the_budget_named(
        client: TestClient, settings: Settings, db: Conn) -> None:
    count = MAX_TEXTURE_PIXELS // MAX_TEXTURE_INPUT**2 + 1  # one 8192 px texture too many
    asset = processed(client, settings, _texture_glb(count, MAX_TEXTURE_INPUT), "box.glb")

    assert asset["status"] == "failed"
    [issue] = [i for i in asset["report"]["issues"] if i["severity"] == "error"]
    assert issue["code"] == "TEXTURES_TOO_LARGE"
    assert "at most 268 (4 of 8192 x 8192 px)" in issue["message"]
    assert "input_validator" in asset["report"]


def test_the_worker_runs_as_many_processes_as_its_memory_holds(settings: Settings) -> None:
    cpus = os.cpu_count() or 1

    def processes(mb: int) -> int:
        return worker_concurrency(settings.model_copy(update={"worker_memory_mb": mb}))

    assert processes(WORST_TREE_MB - 1) == 1  # never none
    assert processes(WORST_TREE_MB) == 1
    assert processes(2 * WORST_TREE_MB) == min(2, cpus)
    assert processes(100 * WORST_TREE_MB) == cpus  # at most one per CPU
