-- Table auth.login_failures: columns, constraints, indexes, triggers, row-level security, policies, privileges.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE UNLOGGED TABLE auth.login_failures (
    key bytea NOT NULL,
    failures integer NOT NULL,
    last_failure timestamp with time zone NOT NULL,
    blocked_until timestamp with time zone NOT NULL
);
ALTER TABLE auth.login_failures OWNER TO CURRENT_USER;
COMMENT ON TABLE auth.login_failures IS 'Failed logins per email (HMAC key), shared by every instance: the backoff of auth.check_login. Cleared by a success, forgotten an hour after the last failure.';

-- Constraints

ALTER TABLE ONLY auth.login_failures ADD CONSTRAINT login_failures_failures_check CHECK ((failures > 0));
ALTER TABLE ONLY auth.login_failures ADD CONSTRAINT login_failures_pkey PRIMARY KEY (key);

-- Row-level security

ALTER TABLE auth.login_failures ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.login_failures FORCE ROW LEVEL SECURITY;

-- Privileges

-- No role but its owner holds a privilege on this table.
