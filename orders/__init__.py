"""Orders followed home: lifecycle, delivery slots, notifications, installers and ratings.

Roles: :mod:`orders.lifecycle` (pure: transitions, wording, quiet hours, reputation),
:mod:`orders.schemas` (pydantic bodies), :mod:`orders.store` (SQL; callers own the
transaction), :mod:`orders.service` (one unit of work each).
"""

__all__ = ["lifecycle", "schemas", "service", "store"]
