-- Advisory locks are the service's, not its callers'.
--
-- The service serializes a few counts with transaction-level advisory locks
-- (an organization's notification quota, invitation limits, idempotency keys,
-- one-time links), taken inside its SECURITY DEFINER functions. PostgreSQL
-- lets PUBLIC call pg_advisory_lock and its kin, so any login, the read-only
-- DBA role included, could take the same key and hold it: an organization's
-- sends then waited behind it until they timed out. Taking an advisory lock
-- is now reserved to the roles whose functions take them: the migration
-- owner (superuser, or it owns the functions) and vectra_definer. No request
-- role, no DBA role and not the authenticator can take one. Releasing
-- (pg_advisory_unlock*) stays public: it only ever releases one's own.
--
-- The functions belong to pg_catalog, owned by the bootstrap superuser: only
-- a superuser can change who may call them. A migration owner that is not a
-- superuser (BYPASSRLS and CREATEROLE) gets a warning with the statements to
-- run as one (docs/security.md, "Advisory locks").

do $$
declare
  v_functions text := 'pg_catalog.pg_advisory_lock(bigint), pg_catalog.pg_advisory_lock(integer, integer),
    pg_catalog.pg_advisory_lock_shared(bigint), pg_catalog.pg_advisory_lock_shared(integer, integer),
    pg_catalog.pg_try_advisory_lock(bigint), pg_catalog.pg_try_advisory_lock(integer, integer),
    pg_catalog.pg_try_advisory_lock_shared(bigint), pg_catalog.pg_try_advisory_lock_shared(integer, integer),
    pg_catalog.pg_advisory_xact_lock(bigint), pg_catalog.pg_advisory_xact_lock(integer, integer),
    pg_catalog.pg_advisory_xact_lock_shared(bigint), pg_catalog.pg_advisory_xact_lock_shared(integer, integer),
    pg_catalog.pg_try_advisory_xact_lock(bigint), pg_catalog.pg_try_advisory_xact_lock(integer, integer),
    pg_catalog.pg_try_advisory_xact_lock_shared(bigint), pg_catalog.pg_try_advisory_xact_lock_shared(integer, integer)';
  v_statements text := pg_catalog.format(
    'revoke execute on function %s from public; grant execute on function pg_catalog.pg_advisory_xact_lock(bigint) to vectra_definer;',
    v_functions);
begin
  if (select rolsuper from pg_catalog.pg_roles where rolname = current_user) then
    execute v_statements;
  else
    raise warning 'advisory locks stay callable by PUBLIC: only a superuser can revoke them. Run as a superuser, in this database: %', v_statements;
  end if;
end
$$;
