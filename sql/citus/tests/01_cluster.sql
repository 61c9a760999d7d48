-- The schema on a Citus cluster, on the coordinator (scripts/citus-test.sh,
-- after `vectra dev --citus` distributed it and the Postman collection ran):
--
--   1. the layout: shared tables are reference tables, tenant tables are
--      distributed by organization_id and colocated, the rest is local;
--      every function is on every worker;
--   2. the roles: no request role logs in to the coordinator; each may log
--      in to the workers (the coordinator's connections run as the role);
--   3. the request transaction: auth.begin_request's settings reach the
--      shards (SET LOCAL), and RLS there shows the caller's organization
--      only; without settings nothing (fails closed);
--   4. routing: a statement with the organization routes to one shard;
--      strict tenant routing refuses one that would read every shard;
--   5. the outbox worker's marks name the organization, and so route;
--   (4) a page past the exact count: the total is the cap plus one.
--
-- Run as the superuser. The two organizations of section 3 are committed
-- first and deleted at the end: Citus refuses a transaction that reads, as
-- a request role, shards it wrote as another user.

begin;
-- Reference tables and distributed tables written in one transaction.
set local citus.multi_shard_modify_mode = 'sequential';
insert into organizations (id, name, slug) values
  ('aaaaaaaa-0000-4000-8000-00000000c175', 'Citus Alpha', 'citus-alpha'),
  ('bbbbbbbb-0000-4000-8000-00000000c175', 'Citus Beta', 'citus-beta');
insert into users (id, organization_id, email, password_hash, full_name, role, email_verified_at) values
  ('aaaaaaaa-0000-4000-8000-00000000a001', 'aaaaaaaa-0000-4000-8000-00000000c175', 'owner@citus-alpha.test', 'h', 'Ann', 'owner', now()),
  ('bbbbbbbb-0000-4000-8000-00000000b001', 'bbbbbbbb-0000-4000-8000-00000000c175', 'owner@citus-beta.test', 'h', 'Bob', 'owner', now());
insert into sessions (id, user_id, token_hash, expires_at) values
  ('aaaaaaaa-5555-4000-8000-00000000a001', 'aaaaaaaa-0000-4000-8000-00000000a001', sha256('citus-a'), now() + interval '1 day'),
  ('bbbbbbbb-5555-4000-8000-00000000b001', 'bbbbbbbb-0000-4000-8000-00000000b001', sha256('citus-b'), now() + interval '1 day');
insert into leads (organization_id, email) values
  ('aaaaaaaa-0000-4000-8000-00000000c175', 'one@a.test'), ('aaaaaaaa-0000-4000-8000-00000000c175', 'two@a.test'),
  ('aaaaaaaa-0000-4000-8000-00000000c175', 'three@a.test'),
  ('bbbbbbbb-0000-4000-8000-00000000c175', 'one@b.test'), ('bbbbbbbb-0000-4000-8000-00000000c175', 'two@b.test');
-- B has more leads than a list counts exactly (app.exact_count_cap(), 1,000).
insert into leads (organization_id, email)
  select 'bbbbbbbb-0000-4000-8000-00000000c175', 'bulk-' || g || '@b.test' from generate_series(1, 1000) g;
commit;

begin;
select plan(23);
-- A single-shard query is pushed down whole, pgTAP's calls with it: the
-- counts are taken apart, by this function, and compared here.
create function pg_temp.n(p_sql text) returns bigint language plpgsql as $$
declare v bigint;
begin
  execute p_sql into v;
  return v;
end $$;
grant execute on function pg_temp.n(text) to public;

-- 1. Layout ------------------------------------------------------------------------------

select is(array(select logicalrelid::text from pg_dist_partition where partmethod = 'n' order by 1),
          array['auth.settings', 'one_time_tokens', 'organizations', 'sessions', 'users'],
          'shared tables are reference tables (a copy on every node)');
select is(array(select logicalrelid::text || '.' || column_to_column_name(logicalrelid, partkey)
                  from pg_dist_partition where partmethod = 'h' order by 1),
          array['audit_log.organization_id', 'campaigns.organization_id', 'email_outbox.organization_id',
                'invitations.organization_id', 'lead_suppressions.organization_id', 'leads.organization_id',
                'meetings.organization_id', 'notifications.organization_id'],
          'every tenant table is distributed by organization_id');
select is((select count(distinct colocationid) from pg_dist_partition where partmethod = 'h'), 1::bigint,
          'all colocated: a tenant''s rows and their joins are on one shard');
select is(array(select c.oid::regclass::text from pg_class c
                 where c.relkind in ('r', 'p')
                   and c.relnamespace in ('public'::regnamespace, 'app'::regnamespace, 'auth'::regnamespace)
                   and not exists (select from pg_dist_partition p where p.logicalrelid = c.oid)
                   and not exists (select from pg_depend d where d.objid = c.oid and d.deptype = 'e')
                 order by 1),
          array['app.platform_overview', 'auth.login_failures', 'auth.rate_limits', 'refinery_schema_history'],
          'the rest stays on the coordinator: the limits, the overview snapshot, the migrations'' history');
select is((select array_agg(distinct result) from run_command_on_workers(
             $$select count(*) from pg_proc where pronamespace in ('app'::regnamespace, 'auth'::regnamespace)$$)),
          array[(select count(*)::text from pg_proc where pronamespace in ('app'::regnamespace, 'auth'::regnamespace))],
          'every function of app and auth is on every worker (none lost while converting the tables)');
select ok((select setconfig @> array['citus.propagate_set_commands=local']
             from pg_db_role_setting where setdatabase = (select oid from pg_database where datname = current_database())
              and setrole = 0),
          'SET LOCAL of the request settings travels to the workers (citus.propagate_set_commands)');

-- 2. Roles -------------------------------------------------------------------------------

select is(array(select rolname::text from pg_roles
                 where rolname in ('vectra_anon', 'vectra_member', 'vectra_platform_admin', 'vectra_worker',
                                   'vectra_definer', 'vectra_tenant_reader') and rolcanlogin),
          '{}'::text[], 'no request role may log in to the coordinator, where clients connect');
select is((select array_agg(distinct result) from run_command_on_workers(
             $$select count(*) from pg_roles where rolcanlogin and rolname in ('vectra_anon', 'vectra_member',
               'vectra_platform_admin', 'vectra_worker', 'vectra_definer', 'vectra_tenant_reader')$$)),
          array['6'], 'each may log in to every worker, as the coordinator connects as the role a query runs as');

-- 3. The request transaction ------------------------------------------------------------

select isnt(get_shard_id_for_distribution_column('leads', 'aaaaaaaa-0000-4000-8000-00000000c175'::uuid),
            get_shard_id_for_distribution_column('leads', 'bbbbbbbb-0000-4000-8000-00000000c175'::uuid),
            'the two organizations live on different shards');

-- Roles switch as the service switches them, with set_config (a SET LOCAL ROLE
-- would travel to the workers' connections, which are already the role's).
select set_config('role', 'vectra_member', true);
select is(pg_temp.n('select count(*) from leads'), 0::bigint,
          'a request role without the request''s settings sees no lead on any shard');
-- The service's context statement, as the authenticator (src/db/request.rs).
select set_config('role', 'vectra_authenticator', true);
select set_config('role', 'vectra_member', true),
       auth.begin_request('aaaaaaaa-5555-4000-8000-00000000a001', 'aaaaaaaa-0000-4000-8000-00000000a001',
                          'aaaaaaaa-0000-4000-8000-00000000c175', 'owner');
select is(pg_temp.n($$select count(*) from leads where organization_id = 'aaaaaaaa-0000-4000-8000-00000000c175'$$), 3::bigint,
          'auth.begin_request''s settings reach the shard: the caller''s organization''s leads');
select is(pg_temp.n($$select count(*) from leads where organization_id = 'bbbbbbbb-0000-4000-8000-00000000c175'$$), 0::bigint,
          'and none of another organization, on its shard, even when asked for by its id');
select throws_ok($$insert into leads (organization_id, email) values ('bbbbbbbb-0000-4000-8000-00000000c175', 'x@b.test')$$,
                 '42501', null, 'a row for another organization is refused on its shard (no grant, or the policy)');
select is((select pg_catalog.current_setting('citus.multi_task_query_log_level')), 'error',
          'auth.begin_request turned strict tenant routing on for an organization''s request (vectra.tenant_routing)');

-- 4. Routing -----------------------------------------------------------------------------

select lives_ok($$select count(*) from leads where organization_id = 'aaaaaaaa-0000-4000-8000-00000000c175'$$,
                'a statement naming its organization runs on one shard');
select throws_ok($$select count(*) from leads$$, null, 'multi-task query about to be executed',
                 'one that would read every shard is refused in strict mode (RLS alone would keep it to the rows of the caller, at the cost of every shard)');
select is((select jsonb_array_length(app.page('leads', 'created_at', true, '{}', 1, 20, null) -> 'items')), 3,
          'a page of the leads list, in strict mode: its statements route to the organization''s shard');
select isnt((select app.page('leads', 'created_at', true, '{}', 1, 2, null) ->> 'next_cursor'), null,
            'and a page with a next one, whose cursor reads the operator''s settings (a reference table) as their owner');

-- B's owner: a page of a list past the exact count. On a coordinator the total is the cap
-- plus one, flagged an estimate (no EXPLAIN of the distributed count), and the page's
-- cursor still reads its key from a reference table in the same transaction.
select set_config('role', 'vectra_authenticator', true);
select set_config('role', 'vectra_member', true),
       auth.begin_request('bbbbbbbb-5555-4000-8000-00000000b001', 'bbbbbbbb-0000-4000-8000-00000000b001',
                          'bbbbbbbb-0000-4000-8000-00000000c175', 'owner');
select is((app.page('leads', 'created_at', true, '{}', 1, 2, null) ->> 'total')::int, app.exact_count_cap() + 1,
          'past the exact count, the total is the cap plus one on a coordinator');
select is((app.page('leads', 'created_at', true, '{}', 1, 2, null) ->> 'total_is_estimate')::boolean, true,
          'and flagged an estimate');
select isnt(app.page('leads', 'created_at', true, '{}', 1, 2, null) ->> 'next_cursor', null,
            'with the next page''s cursor');

-- 5. The outbox worker's marks -----------------------------------------------------------

select set_config('role', 'none', true);
select set_config('role', 'vectra_worker', true);
set local citus.multi_task_query_log_level = 'error';
select lives_ok($$select auth.outbox_mark_sent('aaaaaaaa-0000-4000-8000-00000000c175', gen_random_uuid(), 'Hi')$$,
                'the worker marks a row by its organization and id: one shard''s statement');
select throws_ok($$select auth.outbox_mark_sent(gen_random_uuid(), 'Hi')$$, null, 'multi-task query about to be executed',
                 'the previous release''s mark by id alone reads every shard (kept for a rolling upgrade only)');

select * from finish();
rollback;

begin;
set local citus.multi_shard_modify_mode = 'sequential';
delete from leads where organization_id in ('aaaaaaaa-0000-4000-8000-00000000c175', 'bbbbbbbb-0000-4000-8000-00000000c175');
delete from sessions where id = 'aaaaaaaa-5555-4000-8000-00000000a001';
delete from users where organization_id in ('aaaaaaaa-0000-4000-8000-00000000c175', 'bbbbbbbb-0000-4000-8000-00000000c175');
delete from organizations where id in ('aaaaaaaa-0000-4000-8000-00000000c175', 'bbbbbbbb-0000-4000-8000-00000000c175');
commit;
