"""Provisioning and revoking tags on the real broker while other tags keep publishing."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg

from device_gateway.provisioning import PARALLEL_FROM, Credentials, revoke, sync_broker
from homeloop.settings import Settings
from tests.conftest import Device, wait_for

REVOKE_DEADLINE_S = 5.0  # issue 17: a revocation is effective within seconds
STALL_LIMIT_S = 1.0  # ... and no other tag's publish waits longer than this meanwhile


class Publishing:
    """Tags publishing a reading each every 50 ms, noting the longest wait for a PUBACK."""

    def __init__(self, tags: list[Device]) -> None:
        self.tags, self.longest, self.sent, self.unacked = tags, 0.0, 0, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        seq = 0
        while not self.stop.wait(0.05):
            seq += 1
            for tag in self.tags:
                started = time.monotonic()
                info = tag.publish({"ts": int(time.time() * 1000), "seq": seq,
                                    "m": {"flow_l": seq}})
                info.wait_for_publish(10)
                self.longest = max(self.longest, time.monotonic() - started)
                self.sent += 1
                self.unacked += not info.is_published()

    def __enter__(self) -> Publishing:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(30)


def test_other_tags_publish_on_across_a_provisioning_and_a_revocation(
        settings: Settings, device: Any, provisioned: Any) -> None:
    bystanders: list[Device] = [device("WP-500") for _ in range(4)]
    victim: Device = device("WP-500")
    pid_before = settings.broker_pid_file.read_text()

    with Publishing(bystanders) as load:
        wait_for(lambda: load.sent >= 40, what="the bystanders to publish")
        # A factory batch, large enough to be hashed on every core; one broker reload for all.
        batch: list[Credentials] = provisioned("WP-500", PARALLEL_FROM + 10)
        newcomer = Device(settings, batch[-1]).connect()  # the broker knows it at once
        newcomer.close()

        revoked_at = time.monotonic()
        with psycopg.connect(settings.database_url) as conn:
            revoke(conn, victim.id)
            conn.commit()
            sync_broker(conn, settings)
        assert victim.disconnected.wait(REVOKE_DEADLINE_S), "the revoked tag is still connected"
        again = Device(settings, victim.creds)
        again.client.connect("127.0.0.1", settings.mqtt_port)
        again.client.loop_start()
        wait_for(lambda: again.refused, what="the broker to refuse the revoked tag")
        again.client.loop_stop()
        refused_after = time.monotonic() - revoked_at
        sent_at_revocation = load.sent
        wait_for(lambda: load.sent >= sent_at_revocation + 40,
                 what="the bystanders to publish after the revocation")

    assert refused_after < REVOKE_DEADLINE_S
    assert "Not authorized" in again.refused[0] or "Bad user name" in again.refused[0]
    assert not any(tag.disconnected.is_set() for tag in bystanders), "a bystander was dropped"
    assert load.unacked == 0, f"{load.unacked} of {load.sent} readings were never acknowledged"
    assert load.longest < STALL_LIMIT_S, f"a bystander waited {load.longest:.2f} s for a PUBACK"
    assert settings.broker_pid_file.read_text() == pid_before  # no broker restart
