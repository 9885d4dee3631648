"""Settings, read from ``HOMELOOP_*`` environment variables and a ``.env`` file.

Build a :class:`Settings` in each process's entry point (CLI command, FastAPI lifespan,
gateway ``main``) and pass it down; nothing reads the environment at import time.

Secrets (:data:`SECRETS`) have no built-in values. ``HOMELOOP_ENV`` says which world this is:

- ``production`` (unless it says ``development``): each process calls
  :func:`require_secrets` for the secrets it uses (:data:`API_SECRETS`,
  :data:`GATEWAY_SECRETS`, :data:`WORKER_SECRETS`) and refuses to start when one is missing,
  a published default or placeholder, or short;
- ``development`` (the demo, the local services, the tests): a secret left unset is made
  once per install and kept in ``<state_dir>/secrets.env`` (mode 0600), so every process of
  the install agrees on it and no two installs share one.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from homeloop.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SECRETS = ("secret_key", "identity_key", "gateway_password", "order_webhook_secret")
# What each process relies on. The API issues sessions, hashes identities and renders the
# broker's password file (provisioning); the gateway signs in to the broker; the worker signs
# order webhooks. Beat only schedules: it holds none.
API_SECRETS = ("secret_key", "previous_secret_keys", "identity_key", "gateway_password")
GATEWAY_SECRETS = ("gateway_password",)
WORKER_SECRETS = ("order_webhook_secret",)
# With broker=emqx, what revokes devices (the API, `homeloop devices`) also holds the secret
# of EMQX's API key: see broker_secrets.
MIN_SECRET_LENGTH = 32
MAKE_ONE = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
# Values that were published with the code (built-in defaults, the compose file's
# placeholders): anyone can sign with them, so they are refused by name.
PUBLISHED = frozenset({
    "dev-only-secret-change-me-in-production-0123456789",
    "dev-only-identity-key-change-me-0123456789",
    "homeloop-gateway-dev-password",
    "dev-only-order-webhook-secret-0123456789",
    "change-me-gateway",
    "change-me-to-a-long-random-secret",
    "change-me-to-another-long-random-secret",
})
PLACEHOLDER_WORDS = ("change-me", "changeme", "change_me", "dev-only", "dev_only",
                     "placeholder", "example", "insecure", "replace-me", "replace_me")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOMELOOP_", env_file=".env", extra="ignore")

    # "production" unless set to "development" (see the module's docstring).
    env: Literal["production", "development"] = "production"

    # Local service runner: fixed, non-default ports on loopback, data in a project folder.
    state_dir: Path = PROJECT_ROOT / ".local"
    pg_port: int = 55432
    mqtt_port: int = 51883
    redis_port: int = 56379

    database_url: str = "postgresql://homeloop:homeloop@127.0.0.1:55432/homeloop"
    # A streaming replica (deploy/scale) for the API's reads that tolerate its lag (api/deps.py,
    # ReplicaConnDep); without one they use the primary.
    database_replica_url: str | None = None
    mqtt_host: str = "127.0.0.1"
    redis_url: str = "redis://127.0.0.1:56379/0"

    # Which broker checks device credentials (docs/SCALING.md). "mosquitto" (small installs,
    # the local services, the demo): provisioning and revocation render its files below and
    # make it reload. "emqx" (deploy/scale): EMQX reads the broker_credentials and broker_acl
    # views itself, so nothing is rendered; a revocation closes the device's connection
    # through EMQX's REST API with this API key (device_gateway/emqx.py).
    broker: Literal["mosquitto", "emqx"] = "mosquitto"
    emqx_api_url: str = "http://127.0.0.1:18083"
    emqx_api_key: str = ""
    emqx_api_secret: str = Field(default="", repr=False)  # a secret (with broker=emqx)
    emqx_timeout_s: float = Field(default=5.0, gt=0)
    emqx_attempts: int = Field(default=4, ge=1)
    emqx_backoff_s: float = Field(default=0.5, ge=0)  # doubles with each failed attempt

    # Broker auth files the provisioning code renders; the broker reloads them on SIGHUP.
    mqtt_password_file: Path | None = None
    mqtt_acl_file: Path | None = None
    mqtt_pid_file: Path | None = None
    gateway_username: str = "homeloop-gateway"
    gateway_password: str = Field(default="", repr=False)  # a secret: see below

    # Gateway behaviour.
    gateway_share_group: str = "homeloop"
    gateway_batch_size: int = Field(default=2000, ge=1)
    gateway_batch_ms: int = Field(default=100, ge=1)
    gateway_queue_size: int = Field(default=20_000, ge=1)
    gateway_receive_maximum: int = Field(default=10_000, ge=1, le=65_535)
    gateway_metrics_port: int = 0  # Prometheus metrics of the gateway; 0: none
    gateway_metrics_host: str = "127.0.0.1"
    max_payload_bytes: int = 64 * 1024
    max_backlog_age_days: int = 30
    max_future_skew_s: int = 300

    # Timelines.
    raw_retention_days: int = 90
    compress_after_days: int = 7

    # What can be had where (catalog/availability.py): a physical store this close (great-circle
    # km) to the store asked about is "nearby" for offers, recommendations, search, orders and
    # bills of materials alike; one further away never is.
    nearby_store_km: float = Field(default=50.0, ge=0)

    # Offers (replenishment/offers.py): what keeps offers from being spam. When to offer is the
    # risk of running out before a new one could be there (replenishment/risk.py).
    offer_bundle_days: int = Field(default=7, ge=0)  # consumables due this close share an offer
    offer_expiry_days: int = Field(default=3, ge=0)  # an offer lapses this long after its due date
    offer_weekly_cap: int = Field(default=3, ge=0)  # per customer, rolling 7 days
    offer_service_lead_days: int = Field(default=3, ge=0)  # booking a technician's visit
    # A consumable used up in this many days or fewer makes its owner a heavy user: they are
    # offered the bigger pack of the same category (an up-sell), with their consent.
    offer_heavy_days: float = Field(default=30.0, gt=0)

    # Work that grows with the fleet (replenishment/tasks.py): the hourly forecasts and the
    # offer evaluation are split into chunks of this many customers (a range of their ids),
    # one Celery task each, spread over the workers; retention deletes this many hours of
    # raw readings per transaction (device_gateway/retention.py).
    fleet_chunk_customers: int = Field(default=2000, ge=1)
    prune_chunk_instances: int = Field(default=100_000, ge=1)  # instance ids per prune task
    retention_batch_hours: int = Field(default=1, ge=1)

    # Push delivery (notifications/fcm.py, replenishment/outbox.py). Without a service account
    # the outbox still fills, and nothing is sent.
    fcm_project_id: str | None = None  # else the service account's
    fcm_credentials_file: Path | None = None  # service-account JSON
    fcm_endpoint: str | None = None  # FCM base URL override (a local stand-in)
    fcm_timeout_s: float = Field(default=10.0, gt=0)
    push_batch_size: int = Field(default=200, ge=1)  # outbox rows claimed per run
    push_max_attempts: int = Field(default=6, ge=1)  # then the row is dead
    push_backoff_s: float = Field(default=60.0, ge=0)  # doubles with each failed attempt

    # Accepted offers go to the retailer's order system as signed webhooks
    # (replenishment/order_requests.py). Without a URL they wait, queued.
    order_webhook_url: str | None = None
    order_webhook_secret: str = Field(default="", repr=False)  # a secret: see below
    order_webhook_timeout_s: float = Field(default=10.0, gt=0)
    order_webhook_max_attempts: int = Field(default=8, ge=1)
    order_webhook_backoff_s: float = Field(default=30.0, ge=0)  # doubles with each failure
    order_webhook_batch: int = Field(default=100, ge=1)

    # AR assets (ar_assets/): uploads, processing, the blob store.
    asset_max_upload_bytes: int = Field(default=100 * 1024 * 1024, ge=1)
    asset_blob_dir: Path | None = None  # the local blob store; else state_dir / "assets"
    # An S3-compatible bucket for the blobs (several API hosts and workers); the folder above
    # is then each host's cache. Credentials come the standard AWS ways (environment, files).
    asset_s3_bucket: str | None = None
    asset_s3_endpoint_url: str | None = None  # for a bucket that is not on AWS
    asset_s3_region: str | None = None
    asset_s3_prefix: str = "assets/"
    # With a bucket: how much of it this host keeps in its read-through cache, least
    # recently used blobs evicted first.
    asset_cache_max_bytes: int = Field(default=10 * 1024**3, ge=0)
    asset_node: str = "node"  # runs the Khronos glTF-Validator (ar_assets/validate.cjs)
    asset_gltfpack: str = "gltfpack"
    asset_tool_timeout_s: float = Field(default=600.0, gt=0)
    # A failed asset's uploaded file is deleted from the blob store this many days after it
    # failed (beat's ar_assets.remove_failed_sources, nightly); the asset and its report stay.
    asset_failed_source_days: int = Field(default=30, ge=0)
    # Memory a worker host gives to Celery worker processes, in MB: `homeloop worker` runs as
    # many processes as fit, each budgeted at the measured worst processing tree
    # (ar_assets.service.WORST_TREE_MB), at most one per CPU.
    worker_memory_mb: int = Field(default=2048, ge=1)
    # The room designer's built web client (web/kiosk, `npm run build`), served at /kiosk/.
    web_dir: Path = PROJECT_ROOT / "web" / "kiosk" / "dist"

    # Floor plans (floorplans/): the numbers a house can have. A plan with a number outside
    # them is refused (422, naming the field); a body over the size limit is refused as its
    # bytes arrive (413). The bounds here are floorplans.schemas.SANE, within which every
    # computation on a plan stays finite: the limits can be set narrower, never wider.
    plan_max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    plan_max_coordinate_m: float = Field(default=1_000.0, gt=0, le=100_000.0)
    plan_max_size_m: float = Field(default=100.0, gt=0, le=10_000.0)
    plan_lowest_storey: int = Field(default=-5, ge=-1_000, le=0)
    plan_highest_storey: int = Field(default=100, ge=0, le=1_000)
    plan_max_rooms: int = Field(default=500, ge=1, le=100_000)
    plan_max_walls: int = Field(default=5_000, ge=1, le=1_000_000)
    plan_max_openings: int = Field(default=5_000, ge=1, le=1_000_000)  # doors, windows, passages
    # Fixtures, detected objects, a design's placements: each list at most this long.
    plan_max_items: int = Field(default=5_000, ge=1, le=1_000_000)

    # API.
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    # Prometheus metrics of the API process on their own port (never the public API's); 0: none.
    api_metrics_port: int = 0
    api_metrics_host: str = "127.0.0.1"
    # The reverse proxies (addresses or CIDR blocks) whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; nobody's by default. JSON or comma-separated.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # Signs staff and kiosk session tokens (HS256), a secret: see below. Tokens name the key
    # that signed them (``kid``) and verify under it while it is current or previous, so
    # moving the current key to the previous ones (JSON or comma-separated) and setting a new
    # one signs nobody out (identity/sessions.py).
    secret_key: str = Field(default="", repr=False)
    previous_secret_keys: Annotated[list[str], NoDecode] = Field(default=[], repr=False)

    # Identity (identity/, api/auth.py). Customers sign in with Firebase: ID tokens are
    # verified by firebase-admin for this project. The standard FIREBASE_AUTH_EMULATOR_HOST
    # variable points firebase-admin at an Auth emulator (development and tests only).
    firebase_project_id: str = "homeloop-dev"
    identity_key: str = Field(default="", repr=False)  # keys identity hashes; a secret
    staff_session_hours: float = Field(default=8.0, gt=0)
    kiosk_session_minutes: float = Field(default=60.0, gt=0)
    kiosk_grant_minutes: float = Field(default=30.0, gt=0)  # a kiosk may open a customer's data
    handoff_code_minutes: float = Field(default=5.0, gt=0)  # a QR code shown by a kiosk
    phone_code_minutes: float = Field(default=10.0, gt=0)
    phone_code_attempts: int = Field(default=5, ge=1)
    sms_endpoint: str | None = None  # the SMS gateway's HTTP endpoint; without it, no SMS
    # Merging two customer records (identity/merge_requests.py, identity/merge.py): a pending
    # merge waits this long for both customers' proof; an admin may undo a merge this long.
    merge_request_hours: float = Field(default=72.0, gt=0)
    merge_codes_per_request: int = Field(default=5, ge=1)  # SMS codes asked for, per request
    merge_undo_days: float = Field(default=30.0, ge=0)
    sms_timeout_s: float = Field(default=10.0, gt=0)
    # Rate limits per identity (limits' notation), counted in Redis.
    rate_limit: str = "300/minute"
    sign_in_rate_limit: str = "10/minute"  # per client address and account name
    failed_auth_rate_limit: str = "60/minute"  # bad or missing tokens, per client address
    anonymous_rate_limit: str = "600/minute"  # open routes (search, QR views), per address

    @property
    def asset_dir(self) -> Path:
        return self.asset_blob_dir or self.state_dir / "assets"

    @property
    def mqtt_dir(self) -> Path:
        return self.state_dir / "mosquitto"

    @property
    def password_file(self) -> Path:
        return self.mqtt_password_file or self.mqtt_dir / "passwd"

    @property
    def acl_file(self) -> Path:
        return self.mqtt_acl_file or self.mqtt_dir / "acl"

    @property
    def broker_pid_file(self) -> Path:
        return self.mqtt_pid_file or self.mqtt_dir / "mosquitto.pid"

    @field_validator("env", mode="before")
    @classmethod
    def _env(cls, value: Any) -> str:
        return "development" if str(value).strip().lower() == "development" else "production"

    @field_validator("trusted_proxies", "previous_secret_keys", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        """A JSON list, or comma-separated (what one types in an environment variable)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [item.strip() for item in text.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not an IP address or CIDR block") from exc
        return value

    @model_validator(mode="after")
    def _development_secrets(self) -> Settings:
        if self.env == "development":
            unset = [name for name in SECRETS if not getattr(self, name)]
            if unset:
                made = development_secrets(self.state_dir)
                for name in unset:
                    setattr(self, name, made[name])
        return self


def env_name(name: str) -> str:
    """The environment variable of a setting: ``secret_key`` -> ``HOMELOOP_SECRET_KEY``."""
    return f"HOMELOOP_{name.upper()}"


def broker_secrets(settings: Settings) -> tuple[str, ...]:
    """The broker's secrets a process that revokes devices needs: EMQX's API secret with
    ``broker=emqx``, none with Mosquitto (its files are written locally)."""
    return ("emqx_api_secret",) if settings.broker == "emqx" else ()


def secrets_environment(settings: Settings) -> dict[str, str]:
    """The secrets of ``settings`` as environment variables, for a child process that must
    share them although it runs with a state folder of its own (a benchmark's)."""
    return {env_name(name): str(getattr(settings, name)) for name in SECRETS
            if getattr(settings, name)}


def weakness(value: str) -> str | None:
    """Why ``value`` cannot be a production secret, or None when it can."""
    if not value.strip():
        return "is not set"
    if value in PUBLISHED:
        return "is a value published with the code"
    lowered = value.lower()
    for word in PLACEHOLDER_WORDS:
        if word in lowered:
            return f'looks like a placeholder (it contains "{word}")'
    if len(value) < MIN_SECRET_LENGTH:
        return f"is too short ({len(value)} characters; at least {MIN_SECRET_LENGTH})"
    return None


def require_secrets(settings: Settings, names: Iterable[str]) -> None:
    """Refuse (:class:`ConfigError`, naming every setting at fault) to run in production with
    a secret that is missing, published, a placeholder or short. Development has its own."""
    if settings.env == "development":
        return
    faults = []
    for name in names:
        value = getattr(settings, name)
        if isinstance(value, list):  # previous keys: optional, but each must be sound
            faults += [f"{env_name(name)} (item {i + 1}) {why}"
                       for i, item in enumerate(value) if (why := weakness(item))]
        elif why := weakness(value):
            faults.append(f"{env_name(name)} {why}")
    if faults:
        raise ConfigError(
            "refusing to start in production with unsafe secrets:\n"
            + "".join(f"  {fault}\n" for fault in faults)
            + f"Make each one with: {MAKE_ONE}\n"
            "and give it to the process in its environment (or a .env file).\n"
            "On a development machine, set HOMELOOP_ENV=development instead: each install "
            "then makes its own.")


def development_secrets(state_dir: Path) -> dict[str, str]:
    """This install's development secrets, made once under ``state_dir`` (mode 0600).

    A lock file serialises processes that start together, so they all read the same values.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "secrets.env"
    lock = os.open(state_dir / "secrets.env.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found: dict[str, str] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                key, sep, value = line.partition("=")
                if sep and key.startswith("HOMELOOP_"):
                    found[key.removeprefix("HOMELOOP_").lower()] = value.strip()
        missing = [name for name in SECRETS if not found.get(name)]
        if missing:
            for name in missing:
                found[name] = secrets.token_urlsafe(48)
            text = ("# Development secrets of this install, made by homeloop (HOMELOOP_ENV="
                    "development).\n# Never use them in production.\n"
                    + "".join(f"{env_name(name)}={found[name]}\n" for name in SECRETS))
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(text)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        return found
    finally:
        os.close(lock)  # releases the lock
