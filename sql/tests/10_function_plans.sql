-- No function of app or auth is a LANGUAGE sql function with a SET
-- clause (never inlined, planned again on every call); the setting helpers
-- that policies inline stay plain, inlinable SQL.

begin;
select plan(3);

select is_empty(
  $$ select p.oid::regprocedure::text from pg_proc p
       join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang
      where n.nspname in ('app', 'auth') and l.lanname = 'sql' and p.proconfig is not null $$,
  'no LANGUAGE sql function of app or auth carries a SET clause'
);
select is(
  (select array_agg(p.proname::text order by p.proname) from pg_proc p
     join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang
    where n.nspname = 'app' and l.lanname = 'sql' and p.proconfig is null and not p.prosecdef
      and p.proname in ('current_org_id', 'current_user_id', 'current_user_role', 'current_session_id', 'is_platform_admin')),
  array['current_org_id', 'current_session_id', 'current_user_id', 'current_user_role', 'is_platform_admin'],
  'the setting helpers stay inlinable SQL'
);
insert into organizations (id, name, slug) values ('aaaaaaaa-0000-0000-0000-000000000000', 'Alpha', 'alpha');
insert into users (id, organization_id, email, password_hash, full_name, role)
  values ('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000000', 'ann@alpha.test', 'h', 'Ann', 'owner');
select is(auth.profile('aaaaaaaa-0000-0000-0000-000000000001') #>> '{organization,name}', 'Alpha',
  'a rewritten function answers as before');

select * from finish();
rollback;
