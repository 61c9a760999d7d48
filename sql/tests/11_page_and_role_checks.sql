-- The page bounds are the database's alone (app.check_page), named all
-- at once in the words the API documents; and the role ladder of the
-- organization routes answers from the database (auth.authorize), which
-- the service no longer repeats.

begin;
select plan(9);

create function pg_temp.detail_of(p_sql text) returns jsonb
language plpgsql as $$
declare
  v_detail text;
begin
  execute p_sql;
  return null;
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return v_detail::jsonb;
end
$$;

select lives_ok($$ select app.check_page(1, 1) $$, 'page 1, per_page 1');
select lives_ok($$ select app.check_page(1000000, 100) $$, 'the largest page and per_page');
select throws_ok($$ select app.check_page(0, 20) $$, 'VA422', 'The request has invalid fields', 'page 0');
select is(pg_temp.detail_of($$ select app.check_page(0, 20) $$),
  '{"page": "must be a whole number from 1 to 1000000"}', 'page 0 names page');
select is(pg_temp.detail_of($$ select app.check_page(1, 101) $$),
  '{"per_page": "must be a whole number from 1 to 100"}', 'per_page 101 names per_page');
select is(pg_temp.detail_of($$ select app.check_page(2147483647, -2147483648) $$),
  '{"page": "must be a whole number from 1 to 1000000", "per_page": "must be a whole number from 1 to 100"}',
  'both out of bounds: both named at once');

-- The same rule through a list, as the member role with a tenant's settings.
insert into organizations (id, name, slug) values ('aaaaaaaa-0000-0000-0000-000000000000', 'Alpha', 'alpha');
insert into users (id, organization_id, email, password_hash, full_name, role, email_verified_at)
  values ('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000000', 'ann@alpha.test', 'h', 'Ann', 'owner', now()),
         ('aaaaaaaa-0000-0000-0000-000000000002', 'aaaaaaaa-0000-0000-0000-000000000000', 'mo@alpha.test', 'h', 'Mo', 'member', now());
insert into sessions (id, user_id, token_hash, expires_at)
  values ('aaaaaaaa-0000-0000-0000-0000000000a1', 'aaaaaaaa-0000-0000-0000-000000000001', sha256('x1'), now() + interval '1 day'),
         ('aaaaaaaa-0000-0000-0000-0000000000a2', 'aaaaaaaa-0000-0000-0000-000000000002', sha256('x2'), now() + interval '1 day');

set local role vectra_member;
select set_config('app.org_id', 'aaaaaaaa-0000-0000-0000-000000000000', true),
       set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000001', true),
       set_config('app.role', 'owner', true),
       set_config('app.session_id', 'aaaaaaaa-0000-0000-0000-0000000000a1', true);
select throws_ok($$ select app.list_users(1, 0, null, null, null, null) $$, 'VA422', 'The request has invalid fields',
  'a list refuses per_page 0 itself');

-- A member asking for an owner's or an admin's action is refused by the
-- database, with the message the API answers.
select set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000002', true),
       set_config('app.role', 'member', true),
       set_config('app.session_id', 'aaaaaaaa-0000-0000-0000-0000000000a2', true);
select throws_ok($$ select app.update_organization('{"name": "Taken over"}') $$, 'VA403',
  'This action requires one of the roles: owner, admin', 'a member cannot rename the organization');
select throws_ok($$ select app.list_users(1, 20, null, null, null, null) $$, 'VA403',
  'This action requires one of the roles: owner, admin, manager', 'a member cannot list the team');

select * from finish();
rollback;
