-- V1: the database roles of the request model (docs/security.md, "Roles").
--
-- Roles are cluster-wide while migrations run per database, so every role is
-- created only when missing (tests create many databases on one server), and
-- its security-relevant attributes are corrected when they are wrong.

do $$
declare
  r text;
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'vectra_authenticator') then
    create role vectra_authenticator login noinherit;
  end if;
  -- The service logs in as vectra_authenticator and can do nothing by itself:
  -- no superuser, no BYPASSRLS, and NOINHERIT so that being a member of the
  -- request roles grants nothing until a transaction explicitly switches role.
  -- (Altered only when wrong: changing SUPERUSER or BYPASSRLS needs a superuser.)
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'vectra_authenticator'
              and (rolsuper or rolbypassrls or rolinherit or rolcreatedb or rolcreaterole
                   or rolreplication or not rolcanlogin)) then
    alter role vectra_authenticator login noinherit nosuperuser nocreatedb nocreaterole nobypassrls noreplication;
  end if;

  foreach r in array array['vectra_anon', 'vectra_member', 'vectra_platform_admin', 'vectra_worker'] loop
    if not exists (select 1 from pg_catalog.pg_roles where rolname = r) then
      execute format('create role %I nologin', r);
    end if;
    if exists (select 1 from pg_catalog.pg_roles where rolname = r
                and (rolsuper or rolbypassrls or rolcreatedb or rolcreaterole or rolreplication or rolcanlogin)) then
      execute format('alter role %I nologin nosuperuser nocreatedb nocreaterole nobypassrls noreplication', r);
    end if;
    -- Membership is what allows `set role`; NOINHERIT on the authenticator
    -- means it never exercises these roles' privileges implicitly.
    if not pg_catalog.pg_has_role('vectra_authenticator', r, 'member') then
      execute format('grant %I to vectra_authenticator', r);
    end if;
  end loop;
end
$$;

comment on role vectra_authenticator is
  'Vectra: login role of the service (DATABASE_URL). No privileges of its own; every request switches to vectra_anon, vectra_member, vectra_platform_admin or vectra_worker for one transaction.';
comment on role vectra_anon is
  'Vectra: unauthenticated requests. EXECUTE on the public auth functions only.';
comment on role vectra_member is
  'Vectra: organization users. Tenant tables through RLS: rows whose organization_id = app.current_org_id().';
comment on role vectra_platform_admin is
  'Vectra: the platform admin. Every row, through explicit policies TO vectra_platform_admin (no BYPASSRLS).';
comment on role vectra_worker is
  'Vectra: the email outbox worker. Claims and marks rows of email_outbox.';
