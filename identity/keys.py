"""Keyed hashes of identities: a member card or phone number is never stored in plain.

HMAC-SHA256 under ``settings.identity_key`` over the kind and the normalised value, so the
same card typed with spaces or a phone with a country code finds the same customer, and a
leaked table cannot be reversed by hashing every phone number without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Literal

from homeloop.errors import InvalidInput
from homeloop.settings import Settings

__all__ = ["Kind", "hint", "identity_hash", "normalise", "secret_hash"]

Kind = Literal["firebase", "member_card", "phone"]
_PHONE = re.compile(r"\+?[0-9]{6,15}")
_CARD = re.compile(r"[A-Z0-9]{6,32}")


def normalise(kind: Kind, value: str) -> str:
    if kind == "phone":
        digits = re.sub(r"[\s().-]", "", value)
        if not _PHONE.fullmatch(digits):
            raise InvalidInput("a phone number has 6 to 15 digits, with an optional leading +")
        # Mainland numbers are often typed without the country code.
        if not digits.startswith("+"):
            digits = "+86" + digits.removeprefix("0086").lstrip("0")
        return digits
    if kind == "member_card":
        card = re.sub(r"[\s-]", "", value).upper()
        if not _CARD.fullmatch(card):
            raise InvalidInput("a member card number has 6 to 32 letters and digits")
        return card
    if not value or len(value) > 128:
        raise InvalidInput("a Firebase uid has 1 to 128 characters")
    return value


def identity_hash(settings: Settings, kind: Kind, value: str) -> bytes:
    message = f"{kind}:{normalise(kind, value)}".encode()
    return hmac.new(settings.identity_key.encode(), message, hashlib.sha256).digest()


def secret_hash(settings: Settings, secret: str) -> bytes:
    """For high-entropy secrets and short codes: keyed, so a table dump alone proves nothing."""
    return hmac.new(settings.identity_key.encode(), secret.encode(), hashlib.sha256).digest()


def hint(kind: Kind, value: str) -> str:
    """What a customer sees of a linked identity: enough to recognise it, not to use it."""
    if kind == "firebase":
        return "app account"
    return "•••• " + normalise(kind, value)[-4:]
