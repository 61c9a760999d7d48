-- Table app.platform_overview: columns, constraints, indexes, triggers, row-level security, policies, privileges.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE TABLE app.platform_overview (
    id boolean DEFAULT true NOT NULL,
    data jsonb NOT NULL,
    computed_at timestamp with time zone NOT NULL
);
ALTER TABLE app.platform_overview OWNER TO CURRENT_USER;
COMMENT ON TABLE app.platform_overview IS 'The platform overview as last computed (auth.refresh_overview, every minute by the outbox worker): one row.';

-- Constraints

ALTER TABLE ONLY app.platform_overview ADD CONSTRAINT platform_overview_id_check CHECK (id);
ALTER TABLE ONLY app.platform_overview ADD CONSTRAINT platform_overview_pkey PRIMARY KEY (id);

-- Row-level security

ALTER TABLE app.platform_overview ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.platform_overview FORCE ROW LEVEL SECURITY;

-- Policies

CREATE POLICY platform_overview_platform_admin_select ON app.platform_overview
    AS PERMISSIVE
    FOR SELECT
    TO vectra_platform_admin
    USING (app.is_platform_admin());
COMMENT ON POLICY platform_overview_platform_admin_select ON app.platform_overview IS 'The platform admin reads the overview, in a platform-admin context only.';

-- Privileges

GRANT SELECT ON TABLE app.platform_overview TO vectra_platform_admin;
