"""AR assets: product 3D models and their levels of detail.

- ``assets``: one upload of a model, its processing status and what processing found
  (report, bounding box, footprint polygon, triangle count, colour variants). ``sku`` names
  the product it shows; a SKU's default model is its ready asset with the latest
  ``default_at`` (set when it becomes ready, and when staff choose it again).
- ``asset_files``: the files made from an asset, one per profile (``master`` is the normalised
  full model; ``phone``, ``planner``, ``vr`` the levels of detail), each a content-addressed
  blob (sha256) in the blob store, with its size, triangles and largest texture.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ASSETS = """
CREATE TABLE assets (
    id             bigserial PRIMARY KEY,
    sku            text REFERENCES skus(sku),
    status         text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'processing', 'ready', 'failed')),
    source_name    text NOT NULL,
    source_format  text NOT NULL CHECK (source_format IN ('glb', 'gltf', 'zip', 'obj', 'stl',
                                                           'ply')),
    source_sha256  text NOT NULL,
    source_size    bigint NOT NULL CHECK (source_size >= 0),
    unit           text,              -- the unit the uploader named, else NULL (metres)
    up_axis        text,              -- 'y' or 'z' as named, else the format's convention
    uploaded_by    text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    attempts       integer NOT NULL DEFAULT 0,
    report         jsonb NOT NULL DEFAULT '{}'::jsonb,
    bbox           jsonb,             -- {"min": [x, y, z], "max": [x, y, z]} in metres, Y up
    footprint      jsonb,             -- [[x, z], ...] convex polygon on the floor, metres
    triangles      integer,
    variants       jsonb NOT NULL DEFAULT '[]'::jsonb,
    default_at     timestamptz       -- the SKU's default since then (the latest wins)
);
CREATE INDEX assets_sku_default ON assets (sku, default_at DESC) WHERE status = 'ready';

CREATE TABLE asset_files (
    asset_id       bigint NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    profile        text NOT NULL CHECK (profile IN ('master', 'phone', 'planner', 'vr')),
    sha256         text NOT NULL,
    size           bigint NOT NULL,
    triangles      integer NOT NULL,
    draw_calls     integer NOT NULL,
    max_texture    integer NOT NULL,  -- longest side of the largest texture, pixels
    compression    text NOT NULL,     -- 'none' or 'EXT_meshopt_compression'
    validator      jsonb NOT NULL,    -- errors, warnings of the Khronos validator
    PRIMARY KEY (asset_id, profile)
);
CREATE INDEX asset_files_sha ON asset_files (sha256);
"""


def upgrade() -> None:
    op.execute(ASSETS)


def downgrade() -> None:
    op.execute("DROP TABLE asset_files; DROP TABLE assets;")
