-- Advisory locks are the service's: no request role, no DBA role and not the
-- authenticator can take one (a held key once stalled an organization's
-- sends until they timed out), while vectra_definer's functions still do.
-- Large objects nobody's: no role of ours can create one (storage outside
-- every table and policy).

begin;
select plan(22);

create function pg_temp.refused(p_role text, p_sql text) returns text
language plpgsql as $$
begin
  execute pg_catalog.format('set local role %I', p_role);
  begin
    execute p_sql;
  exception when insufficient_privilege then
    reset role;
    return sqlerrm;
  end;
  reset role;
  return 'allowed';
end
$$;

select is(pg_temp.refused(r, 'select pg_advisory_lock(42)'), 'permission denied for function pg_advisory_lock',
          r || ' takes no session advisory lock')
  from unnest(array['vectra_anon', 'vectra_member', 'vectra_platform_admin', 'vectra_worker',
                    'vectra_tenant_reader', 'vectra_authenticator']) r;
select is(pg_temp.refused(r, 'select pg_advisory_xact_lock(hashtextextended(''vectra.notify.org:x'', 0))'),
          'permission denied for function pg_advisory_xact_lock', r || ' takes no transaction advisory lock')
  from unnest(array['vectra_anon', 'vectra_member', 'vectra_platform_admin', 'vectra_worker',
                    'vectra_tenant_reader', 'vectra_authenticator']) r;
select is(pg_temp.refused('vectra_tenant_reader', 'select pg_try_advisory_lock_shared(1, 2)'),
          'permission denied for function pg_try_advisory_lock_shared', 'nor tries one, shared, with two keys');
select is(pg_temp.refused('vectra_member', 'select pg_try_advisory_xact_lock(1)'),
          'permission denied for function pg_try_advisory_xact_lock', 'nor tries a transaction one');
-- Releasing only ever releases one's own: it stays allowed.
select is(pg_temp.refused('vectra_tenant_reader', 'select pg_advisory_unlock_all()'), 'allowed',
          'releasing stays allowed');
-- The definer's functions take transaction locks, never session ones.
select is(pg_temp.refused('vectra_definer', 'select pg_advisory_xact_lock(1)'), 'allowed',
          'vectra_definer takes the transaction locks its functions need');
select is(pg_temp.refused('vectra_definer', 'select pg_advisory_lock(1)'), 'permission denied for function pg_advisory_lock',
          'but no session lock');
select is(pg_temp.refused(r, 'select lo_from_bytea(0, ''\x00''::bytea)'), 'permission denied for function lo_from_bytea',
          r || ' creates no large object')
  from unnest(array['vectra_tenant_reader', 'vectra_member', 'vectra_anon']) r;
select is(pg_temp.refused('vectra_worker', 'select lo_creat(-1)'), 'permission denied for function lo_creat',
          'nor by lo_creat');
-- Nobody but the superuser holds the privilege through PUBLIC any more.
select is((select count(*)::int from pg_proc p
            where p.proname ~ '^pg_(try_)?advisory_(xact_)?lock'
              and has_function_privilege('public', p.oid, 'execute')), 0,
          'no advisory lock function is executable by PUBLIC');

select * from finish();
rollback;
