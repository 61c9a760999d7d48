-- Roles, memberships, the database's and schemas' privileges, default privileges, and privileges changed on PostgreSQL's own objects.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

-- Roles (cluster-wide; attributes, settings and comments)

CREATE ROLE vectra_anon NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
COMMENT ON ROLE vectra_anon IS 'Vectra: unauthenticated requests. EXECUTE on the public auth functions only.';

CREATE ROLE vectra_authenticator NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS;
COMMENT ON ROLE vectra_authenticator IS 'Vectra: login role of the service (DATABASE_URL). No privileges of its own; every request switches to vectra_anon, vectra_member, vectra_platform_admin or vectra_worker for one transaction.';

CREATE ROLE vectra_definer NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
COMMENT ON ROLE vectra_definer IS 'Vectra: owner of the SECURITY DEFINER functions of schema app that carry the rules (role ladder, last owner, invitations, audit log, outbox). NOLOGIN, no BYPASSRLS, granted to nobody: its policies confine it to the organization of the request.';

CREATE ROLE vectra_member NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
COMMENT ON ROLE vectra_member IS 'Vectra: organization users. Tenant tables through RLS: rows whose organization_id = app.current_org_id().';

CREATE ROLE vectra_platform_admin NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
COMMENT ON ROLE vectra_platform_admin IS 'Vectra: the platform admin. Every row, through explicit policies TO vectra_platform_admin (no BYPASSRLS).';

CREATE ROLE vectra_tenant_reader NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
COMMENT ON ROLE vectra_tenant_reader IS 'Vectra: read-only role for DBAs'' own logins. The member read policies apply (one tenant, chosen with app.org_id); no secret column, no write.';

CREATE ROLE vectra_worker NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
COMMENT ON ROLE vectra_worker IS 'Vectra: the email outbox worker. Claims and marks rows of email_outbox.';

-- Memberships

GRANT vectra_anon TO vectra_authenticator;
GRANT vectra_member TO vectra_authenticator;
GRANT vectra_platform_admin TO vectra_authenticator;
GRANT vectra_worker TO vectra_authenticator;

-- The database

REVOKE TEMPORARY ON DATABASE :"DBNAME" FROM PUBLIC;

-- Schemas

CREATE SCHEMA app;
ALTER SCHEMA app OWNER TO CURRENT_USER;
-- In effect: USAGE for vectra_anon, vectra_authenticator, vectra_definer, vectra_member, vectra_platform_admin, vectra_tenant_reader, vectra_worker; CREATE for its owner only.
GRANT USAGE ON SCHEMA app TO vectra_anon;
GRANT USAGE ON SCHEMA app TO vectra_authenticator;
GRANT USAGE ON SCHEMA app TO vectra_definer;
GRANT USAGE ON SCHEMA app TO vectra_member;
GRANT USAGE ON SCHEMA app TO vectra_platform_admin;
GRANT USAGE ON SCHEMA app TO vectra_tenant_reader;
GRANT USAGE ON SCHEMA app TO vectra_worker;

CREATE SCHEMA auth;
ALTER SCHEMA auth OWNER TO CURRENT_USER;
-- In effect: USAGE for vectra_anon, vectra_authenticator, vectra_definer, vectra_platform_admin, vectra_worker; CREATE for its owner only.
GRANT USAGE ON SCHEMA auth TO vectra_anon;
GRANT USAGE ON SCHEMA auth TO vectra_authenticator;
GRANT USAGE ON SCHEMA auth TO vectra_definer;
GRANT USAGE ON SCHEMA auth TO vectra_platform_admin;
GRANT USAGE ON SCHEMA auth TO vectra_worker;

CREATE SCHEMA extensions;
ALTER SCHEMA extensions OWNER TO CURRENT_USER;
-- In effect: USAGE for its owner only; CREATE for its owner only.

-- Schema public: created with the database.
ALTER SCHEMA public OWNER TO pg_database_owner;
-- In effect: USAGE for PUBLIC; CREATE for its owner only.
COMMENT ON SCHEMA public IS 'standard public schema';

-- Default privileges

ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- PostgreSQL's own objects: privileges that differ from initdb's

REVOKE EXECUTE ON FUNCTION pg_catalog.lo_creat(integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.lo_create(oid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.lo_from_bytea(oid, bytea) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_advisory_lock(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_advisory_lock(integer, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_advisory_lock_shared(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_advisory_lock_shared(integer, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_advisory_xact_lock(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_advisory_xact_lock(bigint) TO vectra_definer;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_advisory_xact_lock(integer, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_advisory_xact_lock_shared(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_advisory_xact_lock_shared(integer, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_try_advisory_lock(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_try_advisory_lock(integer, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_try_advisory_lock_shared(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_try_advisory_lock_shared(integer, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_try_advisory_xact_lock(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_try_advisory_xact_lock(integer, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_try_advisory_xact_lock_shared(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_try_advisory_xact_lock_shared(integer, integer) FROM PUBLIC;
