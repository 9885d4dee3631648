"""Reads that tolerate lag go to the streaming replica (HOMELOOP_DATABASE_REPLICA_URL).

Here the "replica" is the test database itself, seen through a schema that lags: its
``readings`` is a view that hides the last readings, as a standby that has not replayed them
yet would. The app configured with it shows the lagging timeline, while who may read it is
still decided on the primary; without a replica, the same route shows every reading.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import _replica_conn
from device_gateway.provisioning import Credentials
from homeloop import clock
from homeloop.settings import Settings
from tests.api.conftest import auth
from tests.api.test_products import customer
from tests.conftest import write_through_gateway

pytestmark = pytest.mark.clock

Conn = psycopg.Connection[tuple[Any, ...]]


@pytest.fixture
def lagging(db: Conn) -> Iterator[Callable[[datetime], None]]:
    """``lag(until)``: the replica has replayed the readings before ``until`` only."""
    def lag(until: datetime) -> None:
        db.execute("CREATE SCHEMA IF NOT EXISTS lagging")
        db.execute("CREATE OR REPLACE VIEW lagging.readings AS "
                   f"SELECT * FROM public.readings WHERE time < '{until.isoformat()}'")
    yield lag
    db.execute("DROP SCHEMA IF EXISTS lagging CASCADE")


@pytest.fixture
def replica_client(settings: Settings, db: Conn) -> Iterator[TestClient]:
    options = quote("-c search_path=lagging,public")
    replica = settings.model_copy(update={
        "database_replica_url": f"{settings.database_url}?options={options}"})
    with TestClient(create_app(replica)) as test_client:
        yield test_client


def test_the_timeline_is_read_on_the_replica_and_access_on_the_primary(
        replica_client: TestClient, client: TestClient, settings: Settings, db: Conn,
        provisioned: Any, lagging: Callable[[datetime], None]) -> None:
    tag: Credentials = provisioned("WP-500", 1)[0]
    li, wang = customer(db, "Li"), customer(db, "Wang")
    claimed = replica_client.post("/v1/me/products/claim", json={"tag_uid": tag.tag_uid},
                                  headers=auth(settings, f"customer:{li}"))
    assert claimed.status_code == 201, claimed.text
    hour = clock.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    write_through_gateway(db, tag.device_id,
                          [(hour + timedelta(minutes=10 * i), {"flow_l": float(i)})
                           for i in range(6)])
    lagging(hour + timedelta(minutes=35))  # the replica has not seen the last two yet
    query = {"from": (hour - timedelta(hours=1)).isoformat(), "bucket": "raw",
             "metric": "flow_l"}

    def values(answer: Any) -> list[float]:
        assert answer.status_code == 200, answer.text
        return [p["value"] for p in answer.json()["series"][0]["points"]]
    li_auth = auth(settings, f"customer:{li}")
    assert values(replica_client.get(f"/v1/products/{tag.instance_id}/timeline",
                                     params=query, headers=li_auth)) == [0.0, 1.0, 2.0, 3.0]
    assert values(client.get(f"/v1/products/{tag.instance_id}/timeline",
                             params=query, headers=li_auth)) == [float(i) for i in range(6)]

    # Who may read is the primary's answer: a stranger is refused.
    stranger = replica_client.get(f"/v1/products/{tag.instance_id}/timeline",
                                  headers=auth(settings, f"customer:{wang}"))
    assert stranger.status_code == 404


def test_replica_transactions_are_read_only(
        replica_client: TestClient, settings: Settings, db: Conn, provisioned: Any) -> None:
    tag: Credentials = provisioned("WP-500", 1)[0]
    li = customer(db, "Li")
    replica_client.post("/v1/me/products/claim", json={"tag_uid": tag.tag_uid},
                        headers=auth(settings, f"customer:{li}"))
    answer = replica_client.get(f"/v1/products/{tag.instance_id}/forecasts",
                                headers=auth(settings, f"customer:{li}"))
    assert answer.status_code == 200, answer.text
    # What the dependency gives a route refuses to write.
    given = _replica_conn(SimpleNamespace(app=replica_client.app), None)  # type: ignore[arg-type]
    replica = next(given)
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        replica.execute("INSERT INTO customers (display_name) VALUES ('x')")
    given.close()


def test_without_a_replica_a_timeline_takes_no_second_connection_of_the_pool(
        client: TestClient, settings: Settings, db: Conn, provisioned: Any) -> None:
    """The lag-tolerant read shares the request's transaction when there is no replica: a
    second connection per request would let as many concurrent readers as the pool holds
    each wait for a second one that never comes free."""
    tag: Credentials = provisioned("WP-500", 1)[0]
    li = customer(db, "Li")
    li_auth = auth(settings, f"customer:{li}")
    assert client.post("/v1/me/products/claim", json={"tag_uid": tag.tag_uid},
                       headers=li_auth).status_code == 201
    pool = client.app.state.pool  # type: ignore[attr-defined]

    def taken(path: str) -> int:
        before = pool.get_stats()["requests_num"]
        answer = client.get(path, headers=li_auth)
        assert answer.status_code == 200, answer.text
        return int(pool.get_stats()["requests_num"] - before)
    plain = taken("/v1/me/products")  # the request's transaction (and signing in)
    assert taken(f"/v1/products/{tag.instance_id}/timeline") == plain
    assert taken(f"/v1/products/{tag.instance_id}/forecasts") == plain
