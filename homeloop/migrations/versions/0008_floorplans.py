"""Floor plans, community layouts, designs and handoffs; install facts on the catalog.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UP = """
-- What the fit and compatibility checks need to know about a product.
ALTER TABLE skus
    ADD COLUMN box_width_mm  integer CHECK (box_width_mm > 0),
    ADD COLUMN box_depth_mm  integer CHECK (box_depth_mm > 0),
    ADD COLUMN box_height_mm integer CHECK (box_height_mm > 0),
    ADD COLUMN rough_in_mm   integer CHECK (rough_in_mm > 0),
    ADD COLUMN needs         text[] NOT NULL DEFAULT '{}'
        CHECK (needs <@ ARRAY['water', 'drain', 'power', 'gas']);

CREATE TABLE communities (
    id       bigserial PRIMARY KEY,
    name     text NOT NULL,
    city     text NOT NULL,
    address  text NOT NULL DEFAULT '',
    UNIQUE (city, name)
);

CREATE TABLE community_layouts (
    id            bigserial PRIMARY KEY,
    community_id  bigint NOT NULL REFERENCES communities(id),
    unit_type     text NOT NULL,
    name          text NOT NULL,
    plan          jsonb NOT NULL,
    area_m2       double precision NOT NULL,
    bedrooms      integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_id, unit_type)
);

-- A customer's plan; owner_id is null while a kiosk's store session holds it. A customer's
-- plans and designs are their personal data: deleting the customer deletes them.
CREATE TABLE floor_plans (
    id          bigserial PRIMARY KEY,
    owner_id    bigint REFERENCES customers(id) ON DELETE CASCADE,
    store_id    text,  -- the kiosk's or assistant's store, as their session names it
    name        text NOT NULL,
    plan        jsonb NOT NULL,
    source      text NOT NULL CHECK (source IN ('json', 'roomplan', 'layout')),
    layout_id   bigint REFERENCES community_layouts(id),
    area_m2     double precision NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (owner_id IS NOT NULL OR store_id IS NOT NULL)
);
CREATE INDEX floor_plans_owner ON floor_plans (owner_id);

-- The raw upload a plan came from (a RoomPlan export with its coreModel), never parsed again.
CREATE TABLE floor_plan_sources (
    floor_plan_id  bigint PRIMARY KEY REFERENCES floor_plans(id) ON DELETE CASCADE,
    media_type     text NOT NULL,
    raw            bytea NOT NULL
);

CREATE TABLE designs (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    floor_plan_id  bigint NOT NULL REFERENCES floor_plans(id) ON DELETE CASCADE,
    owner_id       bigint REFERENCES customers(id) ON DELETE CASCADE,
    store_id       text,
    name           text NOT NULL,
    version        integer NOT NULL DEFAULT 1,
    placements     jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (owner_id IS NOT NULL OR store_id IS NOT NULL)
);
CREATE INDEX designs_owner ON designs (owner_id);

-- Every version of a design. content_of: the version whose placements this one holds (itself
-- for an edit; an earlier one for an undo), so undo after undo walks further back.
CREATE TABLE design_versions (
    design_id   uuid NOT NULL REFERENCES designs(id) ON DELETE CASCADE,
    version     integer NOT NULL,
    op          text NOT NULL CHECK (op IN ('create', 'edit', 'undo')),
    content_of  integer NOT NULL,
    name        text NOT NULL,
    placements  jsonb NOT NULL,
    author      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (design_id, version)
);

-- Kiosk -> phone: a design's short-lived single-use code, stored as its SHA-256 only.
CREATE TABLE handoff_codes (
    code_hash   bytea PRIMARY KEY,
    design_id   uuid NOT NULL REFERENCES designs(id) ON DELETE CASCADE,
    store_id    text,
    kiosk_id    integer,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    claimed_at  timestamptz,
    claimed_by  bigint REFERENCES customers(id) ON DELETE SET NULL
);
"""

DOWN = """
DROP TABLE handoff_codes;
DROP TABLE design_versions;
DROP TABLE designs;
DROP TABLE floor_plan_sources;
DROP TABLE floor_plans;
DROP TABLE community_layouts;
DROP TABLE communities;
ALTER TABLE skus DROP COLUMN box_width_mm, DROP COLUMN box_depth_mm, DROP COLUMN box_height_mm,
    DROP COLUMN rough_in_mm, DROP COLUMN needs;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
