-- Behaviour of the policies, role by role, on two organizations.
-- Run as a superuser; each block switches role and settings the way the
-- request transaction does (set_config), asserts, and switches back.
--
-- The same file runs on a Citus cluster (scripts/citus-test.sh): the
-- fixtures are committed first (Citus refuses a transaction that reads, as
-- one role, shards another wrote), and roles switch with set_config, which
-- stays on the coordinator, as the service's do.

-- Fixtures (as the superuser): orgs A and B, an owner each, the platform admin.
begin;
insert into organizations (id, name, slug) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'Alpha', 'alpha'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'Beta', 'beta');
insert into users (id, organization_id, email, password_hash, full_name, role, email_verified_at) values
  ('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000000', 'owner@alpha.test', 'h', 'Ann', 'owner', now()),
  ('aaaaaaaa-0000-0000-0000-000000000002', 'aaaaaaaa-0000-0000-0000-000000000000', 'member@alpha.test', 'h', 'Al', 'member', now()),
  ('bbbbbbbb-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000000', 'owner@beta.test', 'h', 'Bob', 'owner', now()),
  ('cccccccc-0000-0000-0000-000000000001', null, 'admin@vectra.test', 'h', 'Pat', 'platform_admin', now());
insert into campaigns (organization_id, id, name) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'aaaaaaaa-0000-0000-0000-0000000000c1', 'A launch'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'bbbbbbbb-0000-0000-0000-0000000000c1', 'B launch');
insert into leads (organization_id, id, campaign_id, email) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'aaaaaaaa-0000-0000-0000-0000000000d1', 'aaaaaaaa-0000-0000-0000-0000000000c1', 'lead@a.test'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'bbbbbbbb-0000-0000-0000-0000000000d1', 'bbbbbbbb-0000-0000-0000-0000000000c1', 'lead@b.test');
-- Two emails a worker claimed three minutes ago and never finished: due again
-- for a claim that treats a minute as stale (and not yet for the running
-- service's worker, if any, which waits five).
insert into email_outbox (organization_id, to_email, template, context, status, claimed_at, attempts) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'member@alpha.test', 'verify-email', '{"name": "Al", "token": "t1"}',
   'sending', now() - interval '3 minutes', 1),
  (app.platform_org_id(), 'admin@vectra.test', 'verify-email', '{"name": "Pat", "token": "t2"}',
   'sending', now() - interval '3 minutes', 1);
insert into audit_log (organization_id, actor_id, action) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'aaaaaaaa-0000-0000-0000-000000000001', 'organization.update'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'bbbbbbbb-0000-0000-0000-000000000001', 'organization.update');
commit;

begin;
select plan(25);
-- The SQLSTATE a statement fails with (NULL when it succeeds).
create function pg_temp.refused(p_sql text) returns text language plpgsql as $f$
begin
  execute p_sql;
  return null;
exception when others then
  return sqlstate;
end $f$;
grant execute on function pg_temp.refused(text) to public;
create temp table organizations_count as select count(*)::int as n from organizations;
create temp table users_count as select count(*)::int as n from users;
grant select on organizations_count, users_count to public;
-- vectra_member with A's settings ------------------------------------------
select set_config('role', 'vectra_member', true);
-- SET LOCAL, as auth.begin_request on a Citus coordinator: the settings
-- reach the shards (on PostgreSQL the same as set_config(…, true)).
set local app.org_id = 'aaaaaaaa-0000-0000-0000-000000000000';
set local app.user_id = 'aaaaaaaa-0000-0000-0000-000000000001';
set local app.role = 'owner';

select results_eq(
  $$ select email from users order by email $$,
  $$ values ('member@alpha.test'), ('owner@alpha.test') $$,
  'member of A sees exactly A''s users'
);
select results_eq($$ select slug from organizations $$, $$ values ('alpha') $$, 'member of A sees only organization A');
select results_eq($$ select name from campaigns $$, $$ values ('A launch') $$, 'member of A sees only A''s campaigns');
select results_eq($$ select email from leads $$, $$ values ('lead@a.test') $$, 'member of A sees only A''s leads');
select is_empty(
  $$ select 1 from users where organization_id = 'bbbbbbbb-0000-0000-0000-000000000000' $$,
  'asking for B''s users by id returns nothing'
);
select is_empty($$ select 1 from users where organization_id is null $$, 'the platform admin row is invisible to members');
select throws_ok(
  $$ insert into campaigns (organization_id, name) values ('bbbbbbbb-0000-0000-0000-000000000000', 'planted') $$,
  '42501', null, 'member of A cannot insert a campaign into B'
);
-- (Citus refuses any change of the distribution column first: 0A000.)
select ok(pg_temp.refused($$ update campaigns set organization_id = 'bbbbbbbb-0000-0000-0000-000000000000' $$)
            = any (array['42501', '0A000']),
          'member of A cannot move its rows into B');
select throws_ok(
  $$ update leads set status = 'lost' where organization_id = 'bbbbbbbb-0000-0000-0000-000000000000' $$,
  '42501', null, 'members update no lead directly, B''s least of all'
);
select throws_ok(
  $$ delete from campaigns where id = 'bbbbbbbb-0000-0000-0000-0000000000c1' $$,
  '42501', null, 'members delete no campaign directly'
);
select throws_ok($$ select password_hash from users $$, '42501', null, 'password hashes are not readable');
select throws_ok($$ select context from email_outbox $$, '42501', null, 'email contexts (one-time tokens) are not readable');
select results_eq($$ select to_email from email_outbox $$, $$ values ('member@alpha.test') $$,
  'member of A sees only A''s email deliveries');
select throws_ok($$ select 1 from sessions $$, '42501', null, 'sessions are not readable');
select throws_ok($$ update audit_log set action = 'x.y' $$, '42501', null, 'the audit log cannot be rewritten');
select results_eq($$ select count(*)::int from audit_log $$, array[1], 'an owner reads its own organization''s audit log');

-- no settings: fail closed --------------------------------------------------
set local app.org_id = '';
set local app.user_id = '';
set local app.role = '';
select is_empty($$ select 1 from users $$, 'without settings a member sees no user');
select is_empty($$ select 1 from organizations $$, 'without settings a member sees no organization');
select set_config('role', 'none', true);

-- vectra_platform_admin -------------------------------------------------------
select set_config('role', 'vectra_platform_admin', true);
set local app.user_id = 'cccccccc-0000-0000-0000-000000000001';
set local app.role = 'platform_admin';
-- (Every organization there is, counted beforehand as the superuser: on a
-- cluster the Postman collection's too.)
select is((select count(*)::int from organizations), (select n from organizations_count),
          'the platform admin sees every organization');
select is((select count(*)::int from users), (select n from users_count), 'the platform admin sees every user');
select throws_ok($$ delete from audit_log $$, '42501', null, 'not even the platform admin deletes audit entries');
select set_config('role', 'none', true);

-- vectra_anon and vectra_worker ----------------------------------------------
select set_config('role', 'vectra_anon', true);
select throws_ok($$ select 1 from organizations $$, '42501', null, 'anonymous requests read no table');
select set_config('role', 'none', true);
select set_config('role', 'vectra_worker', true);
select throws_ok($$ select 1 from users $$, '42501', null, 'the worker reads no user');
select throws_ok($$ select 1 from email_outbox $$, '42501', null, 'the worker does not browse the outbox');
select results_eq($$ select count(*)::int from auth.outbox_claim(10, '1 minute') where context ? 'token' $$, array[2],
  'the worker claims every organization''s due email, context included');
select set_config('role', 'none', true);

select * from finish();
rollback;
