-- What the attacker's review of the SECURITY DEFINER functions found:
-- a request role shadowing a type in its temporary schema, and the
-- caller-only functions trusting app.user_id. Both must fail.

begin;
select plan(14);

insert into organizations (id, name, slug) values ('aaaaaaaa-0000-0000-0000-000000000000', 'Alpha', 'alpha');
insert into users (id, organization_id, email, password_hash, full_name, role, email_verified_at) values
  ('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000000', 'owner@alpha.test', 'owner-hash', 'Ann', 'owner', now()),
  ('aaaaaaaa-0000-0000-0000-000000000002', 'aaaaaaaa-0000-0000-0000-000000000000', 'member@alpha.test', 'member-hash', 'Mo', 'member', now());
insert into sessions (id, user_id, token_hash, expires_at) values
  ('aaaaaaaa-5555-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000001', sha256('s1'), now() + interval '1 day'),
  ('aaaaaaaa-5555-0000-0000-000000000002', 'aaaaaaaa-0000-0000-0000-000000000002', sha256('s2'), now() + interval '1 day');

-- A copy of the template database has PUBLIC's default privileges (TEMP
-- included; `vectra migrate` revokes it on the databases it migrates). Keep
-- the door open here, to prove the functions no longer walk through it.
do $$ begin execute format('grant temporary on database %I to public', current_database()); end $$;

-- vectra_anon shadows uuid and bytea (types the definer functions declare)
-- with domains whose check runs the attacker's code.
set local role vectra_anon;
create function pg_temp.evil(v pg_catalog.text) returns boolean language plpgsql as $f$
begin
  raise exception 'hijacked as %', current_user;
end
$f$;
create domain pg_temp.uuid as pg_catalog.uuid check (pg_temp.evil(value::pg_catalog.text));
create domain pg_temp.bytea as pg_catalog.bytea check (pg_temp.evil('x'));
select lives_ok($$ select auth.register('new@alpha.test', 'h', 'Nia', 'Nia Org') $$,
  'register declares uuid variables and does not run the shadowing domain''s check');
select lives_ok($$ select auth.request_password_reset('owner@alpha.test') $$,
  'password reset (tokens as bytea) does not either');
select throws_ok($$ select auth.login('aaaaaaaa-0000-0000-0000-000000000001', 'wrong-hash', null, null) $$,
  'VA401', 'Invalid email or password', 'login refuses a wrong hash, and nothing else runs');
reset role;

-- A member, same session: the organization writes are not hijacked either.
set local role vectra_member;
select set_config('app.org_id', 'aaaaaaaa-0000-0000-0000-000000000000', true),
       set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000002', true),
       set_config('app.session_id', 'aaaaaaaa-5555-0000-0000-000000000002', true),
       set_config('app.role', 'member', true);
select throws_ok($$ select app.update_organization('{"name": "x"}') $$,
  'VA403', 'This action requires one of the roles: owner, admin', 'auth.authorize answers, not the attacker');
select throws_ok($$ select app.change_user_role('aaaaaaaa-0000-0000-0000-000000000002', 'owner') $$,
  'VA403', 'This action requires one of the roles: owner, admin', 'the role change refuses as ever');
reset role;
select is((select count(*)::int from users where role = 'owner' and organization_id = 'aaaaaaaa-0000-0000-0000-000000000000'), 1,
  'nobody became an owner');
select is((select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname in ('app', 'auth') and p.prosecdef
              and not coalesce(p.proconfig @> array['search_path=pg_catalog, pg_temp'], false)), 0,
  'every SECURITY DEFINER function searches pg_temp last');

-- vectra_anon naming someone else in app.user_id.
set local role vectra_anon;
select set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000001', true), set_config('app.session_id', '', true);
select throws_ok($$ select * from auth.current_credentials() $$, 'VA401', 'Authentication required',
  'another user''s hash is not readable with a forged app.user_id');
select throws_ok($$ select auth.my_sessions(1, 10, null) $$, 'VA401', 'Authentication required',
  'nor their sessions');
select set_config('app.session_id', 'aaaaaaaa-5555-0000-0000-000000000002', true);
select throws_ok($$ select auth.change_password('owner-hash', 'attacker-hash') $$, 'VA401', 'Authentication required',
  'nor their password, with one''s own session id');
select throws_ok($$ select auth.end_other_sessions() $$, 'VA401', 'Authentication required',
  'nor their sessions ended');
select set_config('app.session_id', 'aaaaaaaa-5555-0000-0000-000000000001', true);
select results_eq($$ select email from auth.current_credentials() $$, $$ values ('owner@alpha.test') $$,
  'with the owner''s own session, the owner''s own credentials (the service''s path)');
reset role;

-- Lifetimes are the operator's, not the caller's.
select hasnt_function('auth', 'refresh', array['text', 'text', 'inet', 'interval'],
  'auth.refresh takes no grace period from its caller');
select hasnt_function('auth', 'login', array['uuid', 'text', 'text', 'inet', 'interval'],
  'auth.login takes no session lifetime from its caller');

select * from finish();
rollback;
