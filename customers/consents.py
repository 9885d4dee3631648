"""Consent to messages, per offer kind and channel, and the opt-out. Callers own the transaction.

Without a stored answer, service messages (replenish, maintenance, quality) are allowed and
marketing (upsell, crosssell, points) is not: ``offer_kinds.marketing`` says which is which,
and the offer rules read the same default. Every change is also appended to
``consent_changes``, so what a customer agreed to, and when, can be shown later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from homeloop import clock
from homeloop.db import Conn
from homeloop.errors import InvalidInput, NotFound, missing

__all__ = ["CHANNELS", "ConsentSettings", "get_consents", "record_change", "set_consents"]

CHANNELS = ("push",)
OPT_OUT_KIND = "*"  # in consent_changes: the opt-out of every offer


@dataclass(frozen=True, slots=True)
class ConsentSettings:
    channel: str
    opted_out: bool
    kinds: dict[str, bool]  # every offer kind, with the default where nothing was said


def get_consents(conn: Conn, customer_id: int, channel: str = "push") -> ConsentSettings:
    opted = conn.execute("SELECT opted_out_at IS NOT NULL FROM customers WHERE id = %s",
                         (customer_id,)).fetchone()
    if opted is None:
        raise NotFound(missing("customer", customer_id))
    rows = conn.execute(
        "SELECT k.kind, coalesce(c.granted, NOT k.marketing) FROM offer_kinds k "
        "LEFT JOIN customer_consents c ON c.kind = k.kind AND c.customer_id = %s "
        "AND c.channel = %s ORDER BY k.kind", (customer_id, channel)).fetchall()
    return ConsentSettings(channel, bool(opted[0]), {str(k): bool(g) for k, g in rows})


def set_consents(conn: Conn, customer_id: int, kinds: Mapping[str, bool], *,
                 channel: str = "push", opted_out: bool | None = None) -> ConsentSettings:
    """Record the customer's answers (only the kinds given change) and the opt-out, if given."""
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}")
    known = {str(r[0]) for r in conn.execute("SELECT kind FROM offer_kinds").fetchall()}
    if unknown := sorted(set(kinds) - known):
        raise InvalidInput(f"unknown offer kinds: {', '.join(unknown)}")
    current = get_consents(conn, customer_id, channel)
    changed = {k: v for k, v in kinds.items() if current.kinds.get(k) != v}
    if kinds:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO customer_consents (customer_id, kind, channel, granted) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (customer_id, kind, channel) "
                "DO UPDATE SET granted = excluded.granted, updated_at = now()",
                [(customer_id, k, channel, v) for k, v in sorted(kinds.items())])
    if opted_out is not None and opted_out != current.opted_out:
        conn.execute("UPDATE customers SET opted_out_at = CASE WHEN %s THEN %s END "
                     "WHERE id = %s", (opted_out, clock.now(), customer_id))
        changed[OPT_OUT_KIND] = not opted_out
    if changed:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO consent_changes (customer_id, kind, channel, granted) "
                "VALUES (%s, %s, %s, %s)",
                [(customer_id, k, channel, v) for k, v in sorted(changed.items())])
    return get_consents(conn, customer_id, channel)


def record_change(conn: Conn, customer_id: int, kind: str, channel: str, granted: bool) -> None:
    """Append a consent given or withdrawn elsewhere (a privacy purpose, a store) to the
    history, beside the offer consents'."""
    conn.execute("INSERT INTO consent_changes (customer_id, kind, channel, granted) "
                 "VALUES (%s, %s, %s, %s)", (customer_id, kind, channel, granted))
