"""Core schema: catalog, stores, inventory, customers, products, devices, timelines.

Revision ID: 0001
Revises:
"""

from alembic import context, op

from homeloop.settings import Settings

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

CORE = """
CREATE TABLE stores (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    city        text NOT NULL,
    online      boolean NOT NULL DEFAULT false,
    lat         double precision,
    lon         double precision,
    timezone    text NOT NULL DEFAULT 'Asia/Shanghai',
    -- pickup at a physical store is same/next day; the online store ships in lead_days
    lead_days   integer NOT NULL DEFAULT 0 CHECK (lead_days >= 0)
);

CREATE TABLE skus (
    sku          text PRIMARY KEY,
    name         text NOT NULL,
    name_zh      text NOT NULL,
    category     text NOT NULL,
    grade        text NOT NULL DEFAULT 'standard',
    price_cents  integer NOT NULL CHECK (price_cents >= 0),
    currency     text NOT NULL DEFAULT 'CNY',
    width_mm     integer CHECK (width_mm > 0),
    depth_mm     integer CHECK (depth_mm > 0),
    height_mm    integer CHECK (height_mm > 0),
    tagged       boolean NOT NULL DEFAULT false,
    attrs        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX skus_category ON skus (category);

-- A device SKU's consumables: whichever capacity runs out first (litres, uses, level, months).
CREATE TABLE sku_consumables (
    device_sku      text NOT NULL REFERENCES skus(sku),
    consumable_sku  text NOT NULL REFERENCES skus(sku),
    capacity_litres double precision CHECK (capacity_litres > 0),
    capacity_uses   integer CHECK (capacity_uses > 0),
    capacity_months integer CHECK (capacity_months > 0),
    level_based     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (device_sku, consumable_sku)
);

-- A product's services, due by time or by usage of a metric.
CREATE TABLE sku_services (
    device_sku      text NOT NULL REFERENCES skus(sku),
    service_sku     text NOT NULL REFERENCES skus(sku),
    interval_months integer CHECK (interval_months > 0),
    interval_usage  double precision CHECK (interval_usage > 0),
    usage_metric    text,
    PRIMARY KEY (device_sku, service_sku)
);

CREATE TABLE inventory (
    store_id  text NOT NULL REFERENCES stores(id),
    sku       text NOT NULL REFERENCES skus(sku),
    on_hand   integer NOT NULL CHECK (on_hand >= 0),
    PRIMARY KEY (store_id, sku)
);

CREATE TABLE customers (
    id             bigserial PRIMARY KEY,
    display_name   text NOT NULL,
    locale         text NOT NULL DEFAULT 'zh-CN',
    timezone       text NOT NULL DEFAULT 'Asia/Shanghai',
    home_store_id  text REFERENCES stores(id),
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE product_instances (
    id          bigserial PRIMARY KEY,
    sku         text NOT NULL REFERENCES skus(sku),
    tag_uid     text NOT NULL UNIQUE,
    owner_id    bigint REFERENCES customers(id),
    claimed_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX product_instances_owner ON product_instances (owner_id);

CREATE TABLE ownership_changes (
    id           bigserial PRIMARY KEY,
    instance_id  bigint NOT NULL REFERENCES product_instances(id),
    from_owner   bigint REFERENCES customers(id),
    to_owner     bigint REFERENCES customers(id),
    via          text NOT NULL CHECK (via IN ('app_claim', 'nfc_tap', 'staff_transfer')),
    at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE devices (
    id             text PRIMARY KEY,
    instance_id    bigint NOT NULL UNIQUE REFERENCES product_instances(id),
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    last_seen_at   timestamptz,
    online         boolean NOT NULL DEFAULT false,
    status_at      timestamptz
);

CREATE TABLE readings (
    time       timestamptz NOT NULL,
    device_id  text NOT NULL,
    metric     text NOT NULL,
    value      double precision NOT NULL
);

CREATE TABLE events (
    time       timestamptz NOT NULL,
    device_id  text NOT NULL,
    kind       text NOT NULL,
    data       jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE TABLE dead_letters (
    id            bigserial PRIMARY KEY,
    received_at   timestamptz NOT NULL DEFAULT now(),
    topic         text NOT NULL,
    payload       bytea NOT NULL,
    payload_size  integer NOT NULL,
    reason        text NOT NULL
);
CREATE INDEX dead_letters_received ON dead_letters (received_at);
"""

# The natural keys that make redelivery harmless.
KEYS = """
CREATE UNIQUE INDEX readings_key ON readings (device_id, metric, time);
CREATE UNIQUE INDEX events_key ON events (device_id, kind, time);
"""

ROLLUP_COLUMNS = """
    device_id   text NOT NULL,
    metric      text NOT NULL,
    bucket      timestamptz NOT NULL,
    n           bigint NOT NULL,
    total       double precision NOT NULL,
    min         double precision NOT NULL,
    max         double precision NOT NULL,
    last_time   timestamptz NOT NULL,
    last_value  double precision NOT NULL,
    PRIMARY KEY (device_id, metric, bucket)
"""

PORTABLE = f"""
CREATE INDEX readings_time_brin ON readings USING brin (time);
CREATE INDEX events_time_brin ON events USING brin (time);
CREATE TABLE readings_hourly ({ROLLUP_COLUMNS});
CREATE TABLE readings_daily ({ROLLUP_COLUMNS});
"""


def timescale_sql(settings: Settings) -> str:
    return f"""
CREATE EXTENSION IF NOT EXISTS timescaledb;
SELECT create_hypertable('readings', 'time', chunk_time_interval => interval '1 day');
SELECT create_hypertable('events', 'time', chunk_time_interval => interval '7 days');

CREATE MATERIALIZED VIEW readings_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT device_id, metric, time_bucket(interval '1 hour', time) AS bucket,
       count(*) AS n, sum(value) AS total, min(value) AS min, max(value) AS max,
       max(time) AS last_time, last(value, time) AS last_value
FROM readings GROUP BY device_id, metric, time_bucket(interval '1 hour', time)
WITH NO DATA;

CREATE MATERIALIZED VIEW readings_daily
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT device_id, metric, time_bucket(interval '1 day', time) AS bucket,
       count(*) AS n, sum(value) AS total, min(value) AS min, max(value) AS max,
       max(time) AS last_time, last(value, time) AS last_value
FROM readings GROUP BY device_id, metric, time_bucket(interval '1 day', time)
WITH NO DATA;

SELECT add_continuous_aggregate_policy('readings_hourly',
    start_offset => interval '{settings.max_backlog_age_days + 1} days',
    end_offset => interval '1 hour', schedule_interval => interval '5 minutes');
SELECT add_continuous_aggregate_policy('readings_daily',
    start_offset => interval '{settings.max_backlog_age_days + 2} days',
    end_offset => interval '1 day', schedule_interval => interval '1 hour');

ALTER TABLE readings SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'device_id, metric', timescaledb.compress_orderby = 'time');
SELECT add_compression_policy('readings', interval '{settings.compress_after_days} days');
ALTER TABLE events SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_id');
SELECT add_compression_policy('events', interval '{settings.compress_after_days} days');
SELECT add_retention_policy('readings', interval '{settings.raw_retention_days} days');
"""


def use_timescale() -> bool:
    bind = op.get_bind()
    available = bind.exec_driver_sql(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").first()
    preloaded = bind.exec_driver_sql(
        "SELECT position('timescaledb' in current_setting('shared_preload_libraries')) > 0"
    ).scalar()
    return bool(available and preloaded)


def upgrade() -> None:
    settings = context.config.attributes.get("homeloop_settings") or Settings()
    op.execute(CORE)
    op.execute(KEYS)
    if use_timescale():
        op.execute(timescale_sql(settings))
    else:
        # Raw retention runs as the Celery beat task timelines.enforce_retention.
        op.execute(PORTABLE)


def downgrade() -> None:
    if op.get_bind().exec_driver_sql(
            "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").first():
        op.execute("DROP MATERIALIZED VIEW readings_daily, readings_hourly CASCADE")
    else:
        op.execute("DROP TABLE readings_daily, readings_hourly")
    op.execute("""
        DROP TABLE dead_letters, events, readings, devices, ownership_changes,
            product_instances, customers, inventory, sku_services, sku_consumables, skus,
            stores CASCADE;
    """)
