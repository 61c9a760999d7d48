-- Table auth.rate_limits: columns, constraints, indexes, triggers, row-level security, policies, privileges.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE UNLOGGED TABLE auth.rate_limits (
    key bytea NOT NULL,
    tat timestamp with time zone NOT NULL
);
ALTER TABLE auth.rate_limits OWNER TO CURRENT_USER;
COMMENT ON TABLE auth.rate_limits IS 'Abuse limits shared by every instance: per key (HMAC of route, kind and value), the GCRA''s theoretical arrival time. Written and read by auth.hit_limits only.';

-- Constraints

ALTER TABLE ONLY auth.rate_limits ADD CONSTRAINT rate_limits_pkey PRIMARY KEY (key);

-- Row-level security

ALTER TABLE auth.rate_limits ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.rate_limits FORCE ROW LEVEL SECURITY;

-- Privileges

-- No role but its owner holds a privilege on this table.
