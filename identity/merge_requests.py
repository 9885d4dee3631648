"""Pending merges: two customer records become one only when both customers proved they want it.

Linking an identity (member card, phone number, app account) that another record holds does
not move anything: it opens a merge request (``merge_requests``) naming the record the
identity was linked to (``into``, which survives) and the record holding it (``from``). Each
side confirms with its own proof:

- **in their app**: the customer signed in to that record confirms (or declines) the request
  (``/v1/me/merge-requests``); the customer who linked in their own app has confirmed their
  side by doing so;
- **with a one-time code** sent by SMS to a phone number verified on that record (linked with
  an SMS code, :data:`VERIFIED_PHONE_PROOFS`): the person at the till gives the number, the
  assistant asks for a code (:func:`start_code`) and types in what arrived
  (:func:`confirm_with_code`). The number must already be on the record: a number nobody
  verified proves nothing.

When both sides have confirmed, :func:`identity.merge.merge_customers` runs. Either side may
decline; a request expires after ``merge_request_hours``. Whoever asks (an assistant) learns
nothing about the other record: not its id, name, store consents or which ways it has to
confirm; the answer to a code request is the same whether or not the number is on a record of
the request. The other record's access log shows that its merge was asked for and by whom.

Callers own the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from psycopg.rows import class_row

from homeloop import clock
from homeloop.db import Conn
from homeloop.errors import Conflict, Gone, InvalidInput, NotFound, missing
from homeloop.settings import Settings
from identity import audit
from identity.codes import check_code, issue_code
from identity.keys import Kind, identity_hash
from identity.merge import Merge, merge_customers

__all__ = ["VERIFIED_PHONE_PROOFS", "MergeRequest", "confirm", "confirm_with_code", "decline",
           "get_request", "open_request", "requests_of", "start_code"]

# A phone linked with these proofs is a verified channel of its record.
VERIFIED_PHONE_PROOFS = ("sms_code",)
Side = Literal["into", "from"]
Via = Literal["app", "sms_code", "signed_in"]
_KIND_NAMES = {"member_card": "member card", "phone": "phone", "firebase": "app account"}


@dataclass(frozen=True, slots=True)
class MergeRequest:
    id: int
    into_customer: int
    from_customer: int
    kind: str
    hint: str
    requested_by: str
    store_id: str | None
    status: str  # pending, merged, declined, cancelled, expired
    created_at: datetime
    expires_at: datetime
    into_confirmed_via: str | None
    from_confirmed_via: str | None
    merge_id: int | None

    def side_of(self, customer_id: int) -> Side | None:
        if customer_id == self.into_customer:
            return "into"
        if customer_id == self.from_customer:
            return "from"
        return None

    @property
    def about(self) -> str:
        return f"{_KIND_NAMES.get(self.kind, self.kind)} {self.hint}"


_COLUMNS = ("id, into_customer, from_customer, kind, hint, requested_by, store_id, "
            "CASE WHEN status = 'pending' AND expires_at <= %(now)s THEN 'expired' "
            "ELSE status END AS status, created_at, expires_at, into_confirmed_via, "
            "from_confirmed_via, merge_id")


def _get(conn: Conn, request_id: int, *, lock: bool = False) -> MergeRequest | None:
    with conn.cursor(row_factory=class_row(MergeRequest)) as cur:
        return cur.execute(f"SELECT {_COLUMNS} FROM merge_requests WHERE id = %(id)s"
                           + (" FOR UPDATE" if lock else ""),
                           {"id": request_id, "now": clock.now()}).fetchone()


def open_request(conn: Conn, settings: Settings, *, into_id: int, from_id: int, kind: Kind,
                 hint: str, by: audit.Actor, into_via: Via | None = None,
                 from_via: Via | None = None) -> tuple[MergeRequest, Merge | None]:
    """Ask for ``from_id`` to be merged into ``into_id`` (or find the same open request), with
    the proof the caller already holds for either side; merge at once if both are proven."""
    # One open request per pair: serialise on the two records.
    conn.execute("SELECT 1 FROM customers WHERE id IN (%s, %s) ORDER BY id FOR UPDATE",
                 (into_id, from_id))
    row = conn.execute("SELECT id FROM merge_requests WHERE into_customer = %s "
                       "AND from_customer = %s AND status = 'pending' AND expires_at > %s "
                       "ORDER BY id DESC LIMIT 1", (into_id, from_id, clock.now())).fetchone()
    if row is None:
        row = conn.execute(
            "INSERT INTO merge_requests (into_customer, from_customer, kind, hint, "
            "requested_by, store_id, expires_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (into_id, from_id, kind, hint, by.actor, by.store_id,
             clock.now() + timedelta(hours=settings.merge_request_hours))).fetchone()
        assert row is not None
        audit.record_as(conn, by, from_id, f"merge request {row[0]}: asked to merge this "
                        f"record into another ({_KIND_NAMES[kind]} {hint})", anonymous=True)
    request_id = int(row[0])
    merge = None
    if into_via is not None:
        _, merge = _confirm_side(conn, request_id, "into", into_via, by)
    if from_via is not None:
        _, merge = _confirm_side(conn, request_id, "from", from_via, by)
    request = _get(conn, request_id)
    assert request is not None
    return request, merge


def requests_of(conn: Conn, customer_id: int) -> list[MergeRequest]:
    """The open requests into or out of the customer's record, newest first."""
    with conn.cursor(row_factory=class_row(MergeRequest)) as cur:
        return cur.execute(
            f"SELECT {_COLUMNS} FROM merge_requests WHERE %(c)s IN (into_customer, from_customer) "
            "AND status = 'pending' AND expires_at > %(now)s ORDER BY id DESC",
            {"c": customer_id, "now": clock.now()}).fetchall()


def get_request(conn: Conn, request_id: int, customer_id: int, *,
                side: Side | None = None) -> MergeRequest:
    """The request, if ``customer_id`` is one of its two records (on ``side``, if given)."""
    request = _get(conn, request_id)
    found = request.side_of(customer_id) if request is not None else None
    if request is None or found is None or (side is not None and found != side):
        raise NotFound(missing("merge request", request_id))
    return request


def _open(request: MergeRequest) -> None:
    if request.status == "expired":
        raise Gone(f"merge request {request.id} has expired: link the identity again")
    if request.status != "pending":
        raise Conflict(f"merge request {request.id} is already {request.status}")


def _confirm_side(conn: Conn, request_id: int, side: Side, via: Via,
                  by: audit.Actor) -> tuple[MergeRequest, Merge | None]:
    request = _get(conn, request_id, lock=True)
    assert request is not None
    _open(request)
    conn.execute(f"UPDATE merge_requests SET {side}_confirmed_at = now(), "
                 f"{side}_confirmed_via = %s WHERE id = %s AND {side}_confirmed_at IS NULL",
                 (via, request_id))
    request = _get(conn, request_id)
    assert request is not None
    if request.into_confirmed_via is None or request.from_confirmed_via is None:
        return request, None
    merge = merge_customers(conn, request.from_customer, request.into_customer, by,
                            request_id=request.id, about=request.about)
    conn.execute("UPDATE merge_requests SET status = 'merged', decided_at = now(), "
                 "decided_by = %s, merge_id = %s WHERE id = %s", (by.actor, merge.id, request_id))
    request = _get(conn, request_id)
    assert request is not None
    return request, merge


def confirm(conn: Conn, request_id: int, customer_id: int,
            by: audit.Actor) -> tuple[MergeRequest, Merge | None]:
    """The customer, signed in to one of the two records, confirms their side."""
    request = get_request(conn, request_id, customer_id)
    side = request.side_of(customer_id)
    assert side is not None
    return _confirm_side(conn, request_id, side, "app", by)


def decline(conn: Conn, request_id: int, customer_id: int, by: audit.Actor) -> MergeRequest:
    """The customer, signed in to one of the two records, says no: the request is closed."""
    get_request(conn, request_id, customer_id)
    request = _get(conn, request_id, lock=True)
    assert request is not None
    _open(request)
    conn.execute("UPDATE merge_requests SET status = 'declined', decided_at = now(), "
                 "decided_by = %s WHERE id = %s", (by.actor, request_id))
    other = request.from_customer if customer_id == request.into_customer \
        else request.into_customer
    audit.record_as(conn, by, other, f"merge request {request_id} declined", anonymous=True)
    declined = _get(conn, request_id)
    assert declined is not None
    return declined


def _verified_side(conn: Conn, request: MergeRequest, phone_key: bytes) -> int | None:
    """The record of the request that has this phone as a verified channel, if either does."""
    row = conn.execute(
        "SELECT customer_id FROM customer_identities WHERE kind = 'phone' AND key_hash = %s "
        "AND customer_id IN (%s, %s) AND proof = ANY(%s)",
        (phone_key, request.into_customer, request.from_customer,
         list(VERIFIED_PHONE_PROOFS))).fetchone()
    return int(row[0]) if row else None


def start_code(conn: Conn, settings: Settings, request_id: int, into_id: int,
               phone: str) -> str | None:
    """A code to send to ``phone`` if it is a verified phone of one of the request's two
    records whose side is not confirmed yet; else None (and nothing is sent). Every call
    counts against ``merge_codes_per_request``, whether or not a code is made."""
    request = get_request(conn, request_id, into_id, side="into")
    locked = _get(conn, request_id, lock=True)
    assert locked is not None
    _open(locked)
    sent = conn.execute("UPDATE merge_requests SET codes_sent = codes_sent + 1 WHERE id = %s "
                        "RETURNING codes_sent", (request_id,)).fetchone()
    assert sent is not None
    if int(sent[0]) > settings.merge_codes_per_request:
        raise Conflict(f"{settings.merge_codes_per_request} codes were already asked for this "
                       "merge: confirm in the app, or link the identity again later")
    phone_key = identity_hash(settings, "phone", phone)
    owner = _verified_side(conn, request, phone_key)
    if owner is None:
        return None
    side = request.side_of(owner)
    if (request.into_confirmed_via if side == "into" else request.from_confirmed_via):
        return None
    return issue_code(conn, settings, owner, phone_key, merge_request=request_id)


def confirm_with_code(conn: Conn, settings: Settings, request_id: int, into_id: int,
                      phone: str, code: str,
                      by: audit.Actor) -> tuple[MergeRequest, Merge | None]:
    """Confirm the side whose verified phone received ``code``. Every failure with the code
    (none was sent to this number, a wrong one, an expired one) is the same error, so that
    the answer does not tell whether the number is on the other record; a wrong try counts
    (commit it)."""
    request = get_request(conn, request_id, into_id, side="into")
    _open(request)
    try:
        owner = check_code(conn, settings, identity_hash(settings, "phone", phone), code,
                           merge_request=request_id)
    except (NotFound, Gone, InvalidInput) as exc:
        raise InvalidInput("the code is wrong, has expired, or was not sent to this number: "
                           "ask for a new one") from exc
    side = request.side_of(owner)
    if side is None:  # the record left the request (it cannot: codes name the request)
        raise NotFound(missing("merge request", request_id))
    return _confirm_side(conn, request_id, side, "sms_code", by)
