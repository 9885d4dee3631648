"""Staff members: a role, a store for assistants, an Argon2 password.

Callers own the transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg import errors
from psycopg.rows import class_row

from homeloop.db import Conn
from homeloop.errors import Conflict, InvalidInput, NotFound, Unauthorized, missing

__all__ = ["ROLES", "StaffMember", "assistant_of_store", "authenticate", "create_staff",
           "disable_staff", "get_staff", "set_password"]

Role = Literal["assistant", "store_manager", "catalog_editor", "fleet_operator", "admin"]
ROLES: tuple[Role, ...] = ("assistant", "store_manager", "catalog_editor", "fleet_operator",
                           "admin")
_hasher = PasswordHasher()
# Verifying against this when the account does not exist keeps the answer's timing the same.
_DUMMY_HASH = _hasher.hash("no such account")


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: int
    username: str
    display_name: str
    role: str
    store_id: str | None
    disabled: bool

    @property
    def actor(self) -> str:
        """How the staff member is named in logs, audits and records: ``staff:<id>``."""
        return f"staff:{self.id}"



def create_staff(conn: Conn, username: str, display_name: str, role: str,
                 store_id: str | None = None) -> tuple[StaffMember, str]:
    """A new staff member and their first password (shown once, stored only as a hash)."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if role in ("assistant", "store_manager") and store_id is None:
        raise InvalidInput("a store assistant or manager belongs to a store")
    password = secrets.token_urlsafe(12)
    try:
        with conn.transaction(), conn.cursor(row_factory=class_row(StaffMember)) as cur:
            member = cur.execute(
                "INSERT INTO staff_members (username, display_name, role, store_id, "
                "password_hash) VALUES (%s, %s, %s, %s, %s) RETURNING id, username, "
                "display_name, role, store_id, disabled_at IS NOT NULL AS disabled",
                (username, display_name, role, store_id, _hasher.hash(password))).fetchone()
    except errors.UniqueViolation as exc:
        raise Conflict(f"the username {username!r} is taken") from exc
    except errors.CheckViolation as exc:
        raise InvalidInput("a username has 2 to 64 of a-z, 0-9, '.', '_' and '-'") from exc
    except errors.ForeignKeyViolation as exc:
        raise InvalidInput(f"store {store_id!r} does not exist") from exc
    assert member is not None
    return member, password


def get_staff(conn: Conn, staff_id: int) -> StaffMember:
    with conn.cursor(row_factory=class_row(StaffMember)) as cur:
        member = cur.execute("SELECT id, username, display_name, role, store_id, "
                             "disabled_at IS NOT NULL AS disabled FROM staff_members "
                             "WHERE id = %s", (staff_id,)).fetchone()
    if member is None:
        raise NotFound(missing("staff member", staff_id))
    return member


def assistant_of_store(conn: Conn, actor: str, store_id: str) -> StaffMember | None:
    """The active assistant named ``actor`` (``staff:<id>``, as their QR code shows it) at
    ``store_id``, or None."""
    staff_id = actor.removeprefix("staff:")
    if not staff_id.isdecimal() or len(staff_id) > 18:
        return None
    try:
        member = get_staff(conn, int(staff_id))
    except NotFound:
        return None
    if member.disabled or member.role != "assistant" or member.store_id != store_id:
        return None
    return member


def authenticate(conn: Conn, username: str, password: str) -> StaffMember:
    row = conn.execute("SELECT id, password_hash FROM staff_members WHERE username = %s "
                       "AND disabled_at IS NULL", (username,)).fetchone()
    try:
        _hasher.verify(row[1] if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        row = None
    if row is None:
        raise Unauthorized("wrong username or password")
    return get_staff(conn, int(row[0]))


def disable_staff(conn: Conn, staff_id: int) -> None:
    if conn.execute("UPDATE staff_members SET disabled_at = coalesce(disabled_at, now()) "
                    "WHERE id = %s", (staff_id,)).rowcount == 0:
        raise NotFound(missing("staff member", staff_id))


def set_password(conn: Conn, staff_id: int, password: str) -> None:
    """Replace a staff member's password (stored only as a hash)."""
    if len(password) < 8:
        raise InvalidInput("a password has at least 8 characters")
    if conn.execute("UPDATE staff_members SET password_hash = %s WHERE id = %s",
                    (_hasher.hash(password), staff_id)).rowcount == 0:
        raise NotFound(missing("staff member", staff_id))
