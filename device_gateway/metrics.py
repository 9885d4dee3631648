"""Prometheus metrics of the gateway process."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter, Gauge, Histogram

from device_gateway.writer import BatchResult, Incoming

RECEIVED = Counter("homeloop_gateway_messages_received_total", "MQTT messages received")
WRITTEN = Counter("homeloop_gateway_readings_written_total", "New readings committed")
DUPLICATES = Counter("homeloop_gateway_readings_duplicate_total",
                     "Readings already stored (redelivery), skipped")
EVENTS = Counter("homeloop_gateway_events_written_total", "New events committed")
DEAD = Counter("homeloop_gateway_dead_letters_total", "Messages kept as dead letters")
BATCH_SECONDS = Histogram("homeloop_gateway_batch_seconds", "Time to commit one batch",
                          buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5))
LATENCY = Histogram("homeloop_gateway_receive_to_commit_seconds",
                    "From the gateway receiving a message to its batch committing",
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
LAG = Gauge("homeloop_gateway_consumer_lag_messages",
            "Messages received but not yet committed (the writer's queue)")
LAG_SECONDS = Gauge("homeloop_gateway_consumer_lag_seconds",
                    "Age of the oldest message in the last committed batch")


def observe(result: BatchResult, batch: Sequence[Incoming], committed: float, queued: int) -> None:
    WRITTEN.inc(result.readings_written)
    DUPLICATES.inc(result.readings_offered - result.readings_written)
    EVENTS.inc(result.events_written)
    DEAD.inc(result.dead_letters)
    BATCH_SECONDS.observe(result.seconds)
    oldest = min(msg.received_at for msg in batch)
    LATENCY.observe(committed - oldest)
    LAG.set(queued)
    LAG_SECONDS.set(committed - oldest)
