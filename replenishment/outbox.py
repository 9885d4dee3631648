"""Pushing offers to the customers' phones through an outbox. Callers own the transaction.

Every minute (``replenishment.send_pushes``):

1. :func:`enqueue` (its own transaction): one outbox row per offer that is ``pending`` and
   past ``deliver_after`` (so never in quiet hours), set-based, ``ON CONFLICT DO NOTHING``
   on the offer: one push per offer, whatever the retries.
2. :func:`deliver`: claim a batch of due rows (``FOR UPDATE SKIP LOCKED``: a second worker
   skips them), send each customer's message to every live token of theirs through FCM
   (batched), and record what happened before the transaction commits:

   - sent to at least one token → row ``sent`` with FCM's message ids, offer ``sent``;
   - a token FCM calls unregistered or invalid → pruned with the reason, never used again;
   - FCM unavailable, quota, internal errors → ``next_attempt_at`` = now + backoff * 2^(n-1)
     after the n-th attempt; after ``max_attempts`` → ``dead`` with the last error;
   - no live token (none registered, or all just pruned) → ``failed``, 'no push token'.
     The offer stays ``pending`` (it is still in the app's list), and registering a token
     queues the push again (:func:`register_push_token`) while the offer is open;
   - the offer was opened, dismissed or lapsed before its turn → ``failed`` with that.

The claimed rows stay locked while FCM is called: the price of "two workers never send the
same row" without a lease column, and why the batch is bounded and FCM's in-call retries
are off (:mod:`notifications.fcm`). A worker that dies mid-send rolls back; its rows are
sent again by the next run (FCM may then deliver a message twice; it is at-least-once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from homeloop.db import Conn
from homeloop.errors import PushUnavailable
from homeloop.settings import Settings
from notifications import tokens
from notifications.fcm import Outcome, Push, Result
from replenishment import outbox_store
from replenishment.outbox_store import NO_TOKEN, Claimed, NewState

__all__ = ["DeliverResult", "PushPolicy", "Sender", "deliver", "enqueue", "next_state",
           "register_push_token"]


class Sender(Protocol):
    def send(self, pushes: Sequence[Push]) -> list[Result]: ...


@dataclass(frozen=True, slots=True)
class PushPolicy:
    batch_size: int = 200
    max_attempts: int = 6
    backoff_s: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> PushPolicy:
        return cls(batch_size=settings.push_batch_size, max_attempts=settings.push_max_attempts,
                   backoff_s=settings.push_backoff_s)


@dataclass(frozen=True, slots=True)
class DeliverResult:
    claimed: int
    sent: int
    retrying: int
    dead: int
    failed: int
    pruned_tokens: int


def enqueue(conn: Conn, now: datetime) -> int:
    return outbox_store.enqueue(conn, now)


def deliver(conn: Conn, sender: Sender, now: datetime,
            policy: PushPolicy = PushPolicy()) -> DeliverResult:
    """Send one batch of due pushes and record the outcome (see the module's docstring)."""
    claimed = outbox_store.claim(conn, now, policy.batch_size)
    pushable = [c for c in claimed if c.offer_status == "pending" and not c.offer_lapsed]
    live = tokens.live_tokens(conn, sorted({c.customer_id for c in pushable}))
    targets = [(c, token) for c in pushable for token in live.get(c.customer_id, [])]
    pushes = [Push(token, str(c.payload["title"]), str(c.payload["body"]),
                   {k: str(v) for k, v in c.payload["data"].items()}) for c, token in targets]
    try:
        results = sender.send(pushes) if pushes else []
    except PushUnavailable as exc:
        results = [Result(Outcome.RETRY, error=str(exc))] * len(pushes)

    by_row: dict[int, list[Result]] = {}
    dead_tokens: dict[str, str] = {}
    for (c, token), result in zip(targets, results, strict=True):
        by_row.setdefault(c.id, []).append(result)
        if result.outcome is Outcome.PRUNE:
            dead_tokens[token] = result.error or "refused by FCM"
    pruned = tokens.prune(conn, dead_tokens, now)

    states = [next_state(c, by_row.get(c.id, []), now, policy) for c in pushable]
    pushed = {c.id for c in pushable}
    states += [NewState(c.id, "failed", c.attempts, now,
                        "offer lapsed" if c.offer_lapsed else f"offer {c.offer_status}", [])
               for c in claimed if c.id not in pushed]
    outbox_store.record(conn, states, now)
    count = {s: sum(1 for n in states if n.status == s) for s in ("sent", "queued", "dead",
                                                                   "failed")}
    return DeliverResult(claimed=len(claimed), sent=count["sent"], retrying=count["queued"],
                         dead=count["dead"], failed=count["failed"], pruned_tokens=pruned)


def next_state(row: Claimed, results: Sequence[Result], now: datetime,
               policy: PushPolicy) -> NewState:
    """What one outbox row becomes after sending it to each of its tokens. Pure."""
    sent = [r.message_id for r in results if r.outcome is Outcome.SENT and r.message_id]
    retry = [r for r in results if r.outcome is Outcome.RETRY]
    if sent:
        return NewState(row.id, "sent", row.attempts + 1, now, None, sent)
    if not retry:  # no tokens, or FCM refused every one
        return NewState(row.id, "failed", row.attempts, now, NO_TOKEN, [])
    attempts = row.attempts + 1
    error = retry[0].error
    if attempts >= policy.max_attempts:
        return NewState(row.id, "dead", attempts, now, error, [])
    wait = timedelta(seconds=policy.backoff_s * 2 ** (attempts - 1))
    return NewState(row.id, "queued", attempts, now + wait, error, [])


def register_push_token(conn: Conn, customer_id: int, token: str, platform: str,
                        now: datetime) -> tokens.PushToken:
    """Store the customer's token and queue again the pushes that waited for one."""
    registered = tokens.register(conn, customer_id, token, platform, now)
    outbox_store.requeue_no_token(conn, customer_id, now)
    return registered
