"""The gateway process: MQTT 5 shared subscription in, batched commits out, acks after commit.

Two threads. The paho network loop (main thread) does almost nothing: ``on_message`` wraps
the message in an :class:`Incoming` and puts it on a bounded queue. The writer thread takes
batches (up to ``gateway_batch_size`` messages or ``gateway_batch_ms`` after the first one),
commits them through :class:`BatchWriter`, and only then acknowledges each message.

Nothing is acknowledged before it is committed, and the session is persistent, so the broker
redelivers whatever was in flight when the process, the connection or the database died; the
natural keys make that redelivery harmless. The receive maximum bounds what is in flight, and
the queue holds at least that much, so ``on_message`` never blocks the network loop.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Sequence
from types import FrameType

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions
from tenacity import Retrying, retry_if_exception_type, wait_exponential

from device_gateway import metrics
from device_gateway.payloads import Limits
from device_gateway.writer import BatchResult, BatchWriter, Incoming
from homeloop.metrics import serve as serve_metrics
from homeloop.settings import GATEWAY_SECRETS, Settings, require_secrets

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 86_400
SUBSCRIPTIONS = ("readings", "events", "status")
RETRYABLE = (psycopg.OperationalError, psycopg.errors.DeadlockDetected,
             psycopg.errors.SerializationFailure)


def limits_from(settings: Settings) -> Limits:
    return Limits(max_payload_bytes=settings.max_payload_bytes,
                  max_age_ms=settings.max_backlog_age_days * 86_400_000,
                  max_future_ms=settings.max_future_skew_s * 1000)


class Gateway:
    def __init__(self, settings: Settings, client_id: str) -> None:
        self.settings = settings
        self.client_id = client_id
        self._queue: queue.Queue[Incoming] = queue.Queue(
            maxsize=max(settings.gateway_queue_size, settings.gateway_receive_maximum))
        self._writer = BatchWriter(settings.database_url, limits_from(settings))
        self._stopping = threading.Event()
        self._gen = 0
        self._failure: BaseException | None = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5, manual_ack=True)
        self.client.username_pw_set(settings.gateway_username, settings.gateway_password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)

    # --- network loop thread -----------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _userdata: object, _flags: mqtt.ConnectFlags,
                    reason: ReasonCode, _props: Properties | None) -> None:
        if reason.is_failure:
            log.error("broker refused the gateway: %s", reason)
            return
        self._gen += 1
        group = self.settings.gateway_share_group
        client.subscribe([(f"$share/{group}/tags/+/{kind}", SubscribeOptions(qos=1))
                          for kind in SUBSCRIPTIONS])

    def _on_subscribe(self, _client: mqtt.Client, _userdata: object, _mid: int,
                      reasons: list[ReasonCode], _props: Properties | None) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            log.error("broker refused the gateway's subscriptions: %s", refused)
            return
        log.info("gateway %s subscribed (connection %d)", self.client_id, self._gen)

    def _on_disconnect(self, _client: mqtt.Client, _userdata: object,
                       _flags: mqtt.DisconnectFlags, reason: ReasonCode,
                       _props: Properties | None) -> None:
        # Message ids of the old connection mean nothing on the next one: never ack them.
        self._gen += 1
        if not self._stopping.is_set():
            log.warning("gateway %s disconnected: %s", self.client_id, reason)

    def _on_message(self, _client: mqtt.Client, _userdata: object,
                    msg: mqtt.MQTTMessage) -> None:
        if self._stopping.is_set():
            return  # not queued, never acked: the broker redelivers it to the next run
        metrics.RECEIVED.inc()
        payload = msg.payload if isinstance(msg.payload, bytes) else bytes(msg.payload)
        content_type = getattr(msg.properties, "ContentType", None)  # MQTT 5, if sent
        self._queue.put(Incoming(msg.mid, msg.topic, payload, msg.qos, time.time(), self._gen,
                                 content_type if isinstance(content_type, str) else None))

    # --- writer thread -------------------------------------------------------------------

    def _next_batch(self) -> list[Incoming]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.settings.gateway_batch_ms / 1000
        while len(batch) < self.settings.gateway_batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self._queue.get_nowait() if remaining <= 0
                             else self._queue.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _write(self, batch: Sequence[Incoming]) -> BatchResult:
        """Commit a batch, retrying what the database may get over (restart, deadlock).

        A batch the database refuses for any other reason is split until the one message
        that causes it is found; that message becomes a dead letter and the rest go in.
        Asked to stop while the database stays away, it gives up after a few tries and
        raises: nothing was acked, so the broker redelivers the batch to the next run.
        """
        retrying = Retrying(retry=retry_if_exception_type(RETRYABLE),
                            wait=wait_exponential(multiplier=0.05, max=2.0),
                            stop=lambda rs: self._stopping.is_set() and rs.attempt_number > 5,
                            before_sleep=lambda rs: log.warning(
                                "database unavailable, retrying batch: %s",
                                rs.outcome.exception() if rs.outcome else "?"),
                            reraise=True)
        try:
            return retrying(self._writer.write, batch)
        except RETRYABLE:
            raise  # the database is away, not the message at fault: never a dead letter
        except psycopg.Error as exc:
            if len(batch) == 1:
                reason = f"database refused the message: {type(exc).__name__}: {exc}"[:500]
                return retrying(self._writer.write_dead, batch, reason)
            half = len(batch) // 2
            first, second = self._write(batch[:half]), self._write(batch[half:])
            first.merge(second)
            return first

    def _writer_loop(self) -> None:
        try:
            while True:
                batch = self._next_batch()
                if not batch:
                    if self._stopping.is_set():
                        break
                    try:
                        self._writer.flush_last_seen()
                    except psycopg.Error as exc:  # best effort; the next batch retries
                        log.warning("could not record last-seen times: %s", exc)
                    continue
                result = self._write(batch)
                committed = time.time()
                gen = self._gen
                for msg in batch:
                    if msg.qos and msg.gen == gen:
                        self.client.ack(msg.mid, msg.qos)
                metrics.observe(result, batch, committed, self._queue.qsize())
        except BaseException as exc:
            self._failure = exc
            raise
        finally:
            self._writer.close()
            self.client.disconnect()

    # --- lifecycle ---------------------------------------------------------------------

    def stop(self) -> None:
        """Take no more messages; commit and ack what is queued, then disconnect."""
        self._stopping.set()

    def run(self) -> None:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        props.ReceiveMaximum = self.settings.gateway_receive_maximum
        self.client.connect_async(self.settings.mqtt_host, self.settings.mqtt_port,
                                  keepalive=30, clean_start=False, properties=props)
        writer = threading.Thread(target=self._writer_loop, name="gateway-writer", daemon=True)
        writer.start()
        self.client.loop_forever(retry_first_connection=True)
        writer.join(timeout=30)
        if self._failure is not None:
            raise self._failure


def run_gateway(settings: Settings, client_id: str) -> None:
    """The gateway process. Refuses (:class:`ConfigError`) an unsafe broker password in
    production before connecting anywhere."""
    require_secrets(settings, GATEWAY_SECRETS)
    gateway = Gateway(settings, client_id)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: flushing and stopping", signum)
        gateway.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if settings.gateway_metrics_port:
        serve_metrics(settings.gateway_metrics_host, settings.gateway_metrics_port)
    gateway.run()
