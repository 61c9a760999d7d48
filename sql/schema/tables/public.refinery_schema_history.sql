-- Table public.refinery_schema_history: columns, constraints, indexes, triggers, row-level security, policies, privileges.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE TABLE public.refinery_schema_history (
    version integer NOT NULL,
    name character varying(255),
    applied_on character varying(255),
    checksum character varying(255)
);
ALTER TABLE public.refinery_schema_history OWNER TO CURRENT_USER;

-- Constraints

ALTER TABLE ONLY public.refinery_schema_history ADD CONSTRAINT refinery_schema_history_pkey PRIMARY KEY (version);

-- Row-level security

-- Row-level security is not enabled on this table.
-- Row-level security is not forced on this table (its owner is not bound by policies).

-- Privileges

-- No role but its owner holds a privilege on this table.
