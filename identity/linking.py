"""Linking a member card, phone number or app account to a customer, with proof.

- **Phone**: :func:`start_phone_link` makes a 6-digit code (:mod:`identity.codes`: a keyed
  hash, valid ``phone_code_minutes``) for the caller to send by SMS; :func:`verify_phone_link`
  checks it (at most ``phone_code_attempts`` tries per code) and links the number.
- **Member card**: a store assistant scans it at the till (:func:`link_identity` with proof
  ``staff_scan``).

If the identity already belongs to another customer record, nothing moves: a merge request
asks both customers (:mod:`identity.merge_requests`), and the records become one only when
both have confirmed. Proof the caller already holds counts: a customer linking in their own
app has confirmed their side; and the code that proves a phone number proves control of the
other record's channel when that record verified the same number (with an SMS code), so it
confirms the other side too: the two records are merged at once (and an admin can undo it).
Callers own the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from homeloop.db import Conn
from homeloop.errors import InvalidInput, NotFound, missing
from homeloop.settings import Settings
from identity import audit
from identity.codes import check_code, issue_code
from identity.keys import Kind, hint, identity_hash
from identity.merge import Merge
from identity.merge_requests import VERIFIED_PHONE_PROOFS, MergeRequest, Via, open_request

__all__ = ["Linked", "identities_of", "link_identity", "start_phone_link", "unlink_identity",
           "verify_phone_link"]

Status = Literal["linked", "merged", "pending_confirmation"]


@dataclass(frozen=True, slots=True)
class Linked:
    kind: str
    hint: str
    status: Status
    request: MergeRequest | None = None  # when another record holds the identity
    merge: Merge | None = None  # when that record was merged into this one


def link_identity(conn: Conn, settings: Settings, customer_id: int, kind: Kind, value: str, *,
                  proof: str, by: audit.Actor, customer_proof: Via | None = None,
                  proves_holder: bool = False) -> Linked:
    """Link ``value`` to the customer, or ask for a merge if another record holds it.

    ``customer_proof`` is how the customer themselves confirmed (``signed_in``: they link in
    their own app); ``proves_holder`` says that ``proof`` shows control of the identity, which
    confirms the holder's side if the holder verified it too (a phone number, by SMS)."""
    key = identity_hash(settings, kind, value)
    shown = hint(kind, value)
    owner = conn.execute("SELECT customer_id, proof FROM customer_identities "
                         "WHERE kind = %s AND key_hash = %s FOR UPDATE", (kind, key)).fetchone()
    if owner is None:
        conn.execute("INSERT INTO customer_identities (customer_id, kind, key_hash, hint, proof) "
                     "VALUES (%s, %s, %s, %s, %s)", (customer_id, kind, key, shown, proof))
        return Linked(kind, shown, "linked")
    holder = int(owner[0])
    if holder == customer_id:
        return Linked(kind, shown, "linked")
    holder_proof: Via | None = None
    if proves_holder and kind == "phone" and str(owner[1]) in VERIFIED_PHONE_PROOFS:
        holder_proof = "sms_code"
    request, merge = open_request(conn, settings, into_id=customer_id, from_id=holder,
                                  kind=kind, hint=shown, by=by, into_via=customer_proof,
                                  from_via=holder_proof)
    return Linked(kind, shown, "merged" if merge else "pending_confirmation", request, merge)


def start_phone_link(conn: Conn, settings: Settings, customer_id: int, phone: str) -> str:
    """A new code for ``phone``; earlier codes for it stop working."""
    return issue_code(conn, settings, customer_id, identity_hash(settings, "phone", phone))


def verify_phone_link(conn: Conn, settings: Settings, customer_id: int, phone: str,
                      code: str, by: audit.Actor) -> Linked:
    """Check the code and link the phone. A wrong code counts an attempt (commit it!)."""
    check_code(conn, settings, identity_hash(settings, "phone", phone), code,
               customer_id=customer_id)
    return link_identity(conn, settings, customer_id, "phone", phone, proof="sms_code", by=by,
                         customer_proof="signed_in", proves_holder=True)


def identities_of(conn: Conn, customer_id: int) -> list[tuple[int, str, str, str]]:
    """(id, kind, hint, proof) of each linked identity."""
    return [(int(i), str(k), str(h), str(p)) for i, k, h, p in conn.execute(
        "SELECT id, kind, hint, proof FROM customer_identities WHERE customer_id = %s "
        "ORDER BY id", (customer_id,)).fetchall()]


def unlink_identity(conn: Conn, customer_id: int, identity_id: int) -> None:
    row = conn.execute("SELECT kind FROM customer_identities WHERE id = %s "
                       "AND customer_id = %s", (identity_id, customer_id)).fetchone()
    if row is None:
        raise NotFound(missing("identity", identity_id))
    if row[0] == "firebase":
        raise InvalidInput("the app account you are signed in with cannot be unlinked")
    conn.execute("DELETE FROM customer_identities WHERE id = %s", (identity_id,))
