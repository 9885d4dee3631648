"""The one exception tree of Homeloop.

    HomeloopError
    ├── ConfigError       settings a process refuses to start with (an unsafe secret)
    ├── ServiceError      a local service could not be installed, started or stopped
    ├── PayloadError      a device message that cannot be stored (ends as a dead letter)
    ├── PushUnavailable   FCM (or its OAuth token) could not be reached for a whole batch
    ├── OutputInvalid     a file we made failed its validator (a room scene): never served;
    │                     the API answers 500 and logs it for the operator
    └── DomainError       a request the domain refuses; the API maps each to problem+json
        ├── NotFound      404: no such thing, or not yours (we never say which)
        ├── Conflict      409: the state forbids it (product already claimed, ...)
        ├── Forbidden     403: authenticated, but not allowed
        ├── Unauthorized  401: no or bad credentials
        ├── Gone          410: it existed but can no longer be used (an expired handoff code)
        ├── PreconditionFailed    412: If-Match names a version that is no longer current
        ├── PreconditionRequired  428: a change to a versioned thing without If-Match
        ├── InvalidInput  422: well-formed but meaningless input
        ├── TooLarge      413: a body over its size limit (an asset upload)
        └── TooManyRequests 429: over a rate limit (Retry-After says when to retry)

Library errors (psycopg, paho, firebase) are caught at the boundary that knows what they mean and
re-raised as one of these with ``raise ... from exc``.
"""

from __future__ import annotations


class HomeloopError(Exception):
    """Base of every error Homeloop raises on purpose."""


class ConfigError(HomeloopError):
    """Said once at start-up, before the process connects anywhere."""


class ServiceError(HomeloopError):
    pass


class PayloadError(HomeloopError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PushUnavailable(HomeloopError):
    """The batch is retried later; errors about one token are outcomes, not exceptions."""


class OutputInvalid(HomeloopError):
    """Our own output is broken: a bug or bad stored data, for the operator, never the
    customer's to fix (and never a file sent to them)."""


class DomainError(HomeloopError):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra  # more members of the problem+json body (an asset's report)


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"


class Gone(DomainError):
    status = 410
    title = "Gone"


class PreconditionFailed(DomainError):
    status = 412
    title = "Precondition failed"


class PreconditionRequired(DomainError):
    status = 428
    title = "Precondition required"


class TooManyRequests(DomainError):
    """Over a rate limit; ``retry_after`` (seconds) becomes the Retry-After header."""

    status = 429
    title = "Too many requests"


class InvalidInput(DomainError):
    status = 422
    title = "Invalid input"


class TooLarge(DomainError):
    status = 413
    title = "Content too large"
