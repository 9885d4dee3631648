"""Settings, read from ``HOMELOOP_*`` environment variables and a ``.env`` file.

Build a :class:`Settings` in each process's entry point (CLI command, FastAPI lifespan,
gateway ``main``) and pass it down; nothing reads the environment at import time.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOMELOOP_", env_file=".env", extra="ignore")

    # Local service runner: fixed, non-default ports on loopback, data in a project folder.
    state_dir: Path = PROJECT_ROOT / ".local"
    pg_port: int = 55432
    mqtt_port: int = 51883
    redis_port: int = 56379

    database_url: str = "postgresql://homeloop:homeloop@127.0.0.1:55432/homeloop"
    mqtt_host: str = "127.0.0.1"
    redis_url: str = "redis://127.0.0.1:56379/0"

    # Broker auth files the provisioning code renders; the broker reloads them on SIGHUP.
    mqtt_password_file: Path | None = None
    mqtt_acl_file: Path | None = None
    mqtt_pid_file: Path | None = None
    gateway_username: str = "homeloop-gateway"
    gateway_password: str = "homeloop-gateway-dev-password"

    # Gateway behaviour.
    gateway_share_group: str = "homeloop"
    gateway_batch_size: int = Field(default=2000, ge=1)
    gateway_batch_ms: int = Field(default=100, ge=1)
    gateway_queue_size: int = Field(default=20_000, ge=1)
    gateway_receive_maximum: int = Field(default=10_000, ge=1, le=65_535)
    gateway_metrics_port: int = 0
    gateway_metrics_host: str = "127.0.0.1"
    max_payload_bytes: int = 64 * 1024
    max_backlog_age_days: int = 30
    max_future_skew_s: int = 300

    # Timelines.
    raw_retention_days: int = 90
    compress_after_days: int = 7

    # Offers (replenishment/offers.py): when to offer, and what keeps offers from being spam.
    offer_safety_margin_days: float = Field(default=2.0, ge=0)
    offer_bundle_days: int = Field(default=7, ge=0)  # consumables due this close share an offer
    offer_expiry_days: int = Field(default=3, ge=0)  # an offer lapses this long after its due date
    offer_weekly_cap: int = Field(default=3, ge=0)  # per customer, rolling 7 days
    offer_nearby_store_km: float = Field(default=50.0, ge=0)  # how far a pickup may send anyone
    offer_service_lead_days: int = Field(default=3, ge=0)  # booking a technician's visit
    # A consumable used up in this many days or fewer makes its owner a heavy user: they are
    # offered the bigger pack of the same category (an up-sell), with their consent.
    offer_heavy_days: float = Field(default=30.0, gt=0)

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
    order_webhook_secret: str = "dev-only-order-webhook-secret-0123456789"
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
    # The room designer's built web client (web/kiosk, `npm run build`), served at /kiosk/.
    web_dir: Path = PROJECT_ROOT / "web" / "kiosk" / "dist"

    # API.
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    # Signs staff and kiosk session tokens (HS256).
    secret_key: str = "dev-only-secret-change-me-in-production-0123456789"

    # Identity (identity/, api/auth.py). Customers sign in with Firebase: ID tokens are
    # verified by firebase-admin for this project. The standard FIREBASE_AUTH_EMULATOR_HOST
    # variable points firebase-admin at an Auth emulator (development and tests only).
    firebase_project_id: str = "homeloop-dev"
    identity_key: str = "dev-only-identity-key-change-me-0123456789"  # keys identity hashes
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
