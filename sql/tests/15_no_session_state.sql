-- Nothing a request role can reach creates session state (DESIGN §4, docs/security.md
-- "Nothing outlives the transaction"), so the service resets a connection only after a
-- request that failed, was cancelled or found state of an earlier request, instead of before
-- every request. What a request role (vectra_anon, vectra_member, vectra_platform_admin,
-- vectra_worker) and vectra_authenticator (before its set role) can reach:
--
--   1. privileges: no TEMP, no session advisory lock, no superuser (so no SET SESSION
--      AUTHORIZATION, no superuser-only setting), no SET granted on a parameter, no CREATE
--      in any schema, no sequence (nextval/currval keep values in the session);
--   2. the functions the service's statements call, and everything they call in turn (every
--      function of app, auth and public that no extension owns): no session-level
--      set_config or SET/RESET, no dynamic SQL, no PREPARE/DEALLOCATE, no LISTEN, no cursor
--      held past its transaction nor read by name, no session advisory lock, no currval or
--      lastval, no temporary table, no DISCARD, no dblink (a detector with positive and
--      negative controls, then every function);
--   3. the tenant context: every app.* setting the database reads is one auth.begin_request
--      sets for its transaction, whatever the session holds;
--   4. what a request role could still do with SQL of its own (no path of the service sends
--      any) and how the service handles each: a session-level setting or role (the context
--      statement overrides and reports it), a cursor WITH HOLD (survives its commit: reported,
--      closed by the reset), a SQL PREPARE (survives even a rollback: counted by the reset,
--      which then closes the connection), LISTEN (only at commit; the reset unlistens).
--
-- Run as the superuser; sections 3 and 4 commit, so the file runs in several transactions.

begin;
select plan(29);

create temp table request_roles (r text);
insert into request_roles values ('vectra_anon'), ('vectra_member'), ('vectra_platform_admin'),
                                 ('vectra_worker'), ('vectra_authenticator');

-- 1. Privileges --------------------------------------------------------------------------

select is(array(select r from request_roles where has_database_privilege(r, current_database(), 'temporary')),
          '{}'::text[], 'no request role, nor the authenticator, creates temporary objects');
select is(array(select r || ': ' || p.oid::regprocedure::text
                  from request_roles, pg_proc p
                 where p.pronamespace = 'pg_catalog'::regnamespace
                   and p.proname ~ '^pg_(try_)?advisory_lock(_shared)?$'
                   and has_function_privilege(r, p.oid, 'execute')),
          '{}'::text[], 'nor takes a session advisory lock');
select is(array(select r from request_roles
                 where exists (select from pg_roles s where s.rolsuper and pg_has_role(r, s.oid, 'member'))),
          '{}'::text[], 'none is or may become a superuser: no SET SESSION AUTHORIZATION, no superuser-only setting');
select is(array(select r || ': ' || a.parname
                  from request_roles, pg_parameter_acl a
                 where has_parameter_privilege(r, a.parname, 'set')
                   and exists (select from pg_settings s where s.name = a.parname and s.context = 'superuser')),
          '{}'::text[], 'none was granted SET on a superuser-only parameter');
select is(array(select r || ': ' || n.nspname
                  from request_roles, pg_namespace n
                 where has_schema_privilege(r, n.oid, 'create')),
          '{}'::text[], 'none creates objects in any schema (nothing to shadow through a search_path)');
select is(array(select r || ': ' || c.oid::regclass::text
                  from request_roles, pg_class c
                 where c.relkind = 'S' and c.relpersistence <> 't'
                   and (has_sequence_privilege(r, c.oid, 'usage') or has_sequence_privilege(r, c.oid, 'select')
                        or has_sequence_privilege(r, c.oid, 'update'))),
          '{}'::text[], 'none reaches a sequence (nextval and currval keep values in the session)');
select is(array(select r || ': ' || p.proname from request_roles, pg_proc p
                 where p.proname like 'dblink%' and has_function_privilege(r, p.oid, 'execute')),
          '{}'::text[], 'none opens a connection of its own (dblink)');

-- 2. The functions -----------------------------------------------------------------------

-- The constructs of a function body that leave state in the session. Comments are part of
-- prosrc: the patterns avoid words that prose uses ("hold", "move").
create function pg_temp.session_state_in(src text) returns text[]
language sql immutable as $$
  select coalesce(array_agg(label order by label), '{}')
    from (values
      ('session-level set_config',
       (select count(*) from regexp_matches(src, 'set_config\s*\(', 'gi'))
       > (select count(*) from regexp_matches(src, 'set_config\s*\((?:[^()]|\([^()]*\))*,\s*true\s*\)', 'gi'))),
      ('SET or RESET', src ~* '(^|;|\mbegin|\mthen|\melse|\mloop)\s*(--[^\n]*\n\s*)*(set|reset)\s+(?!local\M)'),
      -- Dynamic SQL is allowed in one shape only, the lists' (app.page, app.list_positions): a read whose template
      -- is a literal SELECT (or EXPLAIN of one, which runs nothing) and whose result goes
      -- INTO variables (a SET or other utility command cannot return data: PL/pgSQL
      -- refuses it; `select (%s)` takes only a query, as a scalar subquery); the fragments
      -- come from app.list_spec and app.list_scope, whose own bodies this scan reads, and
      -- values only through USING.
      -- And one more: auth.begin_request's SET LOCAL of an app.* setting on a Citus
      -- coordinator (a literal template, for the transaction only).
      ('dynamic SQL or EXECUTE',
       regexp_replace(regexp_replace(src,
         '\mexecute\s+pg_catalog\.format\(\s*''(select|explain \(format json\) select)\M[^;]*\minto\s+\w+(\s*,\s*\w+)*\s+using\M', '', 'gi'),
         '\mexecute\s+pg_catalog\.format\(''set local app\.[a-z_]+ = %L'',[^;]*;', '', 'gi') ~* '\mexecute\M'),
      ('PREPARE or DEALLOCATE', src ~* '\m(prepare|deallocate)\s+\w'),
      ('LISTEN', src ~* '\m(un)?listen\s+[\w*"]'),
      ('cursor WITH HOLD', src ~* '\mwith\s+hold\M'),
      ('cursor read by name', src ~* '(^|;|\mbegin|\mthen|\melse|\mloop)\s*(fetch|move)\M'),
      ('session advisory lock', src ~* '\mpg_(try_)?advisory_lock(_shared)?\s*\('),
      ('currval or lastval', src ~* '\m(currval|lastval)\s*\('),
      ('temporary table', src ~* '\mcreate\s+((global|local)\s+)?temp(orary)?\M|\minto\s+temp(orary)?\M'),
      ('DISCARD', src ~* '\mdiscard\s+(all|plans|sequences|temp)'),
      ('dblink', src ~* '\mdblink')
    ) found(label, present)
   where present
$$;

-- Positive controls: each construct is found.
select is(
  (select array_agg(c order by c collate "C") from (
     select unnest(pg_temp.session_state_in(src)) c from (values
       ($b$ perform pg_catalog.set_config('app.org_id', v_org::text, false); $b$),
       ($b$ perform set_config('app.user_id', coalesce(p_user::text, ''), false); $b$),
       ($b$ begin set role vectra_platform_admin; end $b$),
       ($b$ if x then set session authorization vectra_member; end if; $b$),
       ($b$ begin reset statement_timeout; end $b$),
       ($b$ begin execute pg_catalog.format('select %L', p); end $b$),
       ($b$ begin execute pg_catalog.format('set app.org_id = %L', p) into v using p; end $b$),
       ($b$ begin execute pg_catalog.format('set app.org_id = %L', p); end $b$),
       ($b$ begin execute v_sql into v_rows, v_total using p; end $b$),
       ($b$ begin prepare p1 as select 1; end $b$),
       ($b$ begin deallocate s1; end $b$),
       ($b$ begin listen tenant_a; end $b$),
       ($b$ begin unlisten *; end $b$),
       ($b$ declare c cursor with hold for select 1 $b$),
       ($b$ begin fetch c into v; end $b$),
       ($b$ perform pg_advisory_lock(42); $b$),
       ($b$ perform pg_catalog.pg_try_advisory_lock_shared(1, 2); $b$),
       ($b$ select currval('public.audit_log_id_seq') $b$),
       ($b$ create temp table t (x int) $b$),
       ($b$ discard all $b$),
       ($b$ perform dblink_connect('x') $b$)
     ) s(src)) d),
  array['DISCARD', 'LISTEN', 'LISTEN', 'PREPARE or DEALLOCATE', 'PREPARE or DEALLOCATE', 'SET or RESET',
        'SET or RESET', 'SET or RESET', 'currval or lastval', 'cursor WITH HOLD', 'cursor read by name',
        'dblink', 'dynamic SQL or EXECUTE', 'dynamic SQL or EXECUTE', 'dynamic SQL or EXECUTE', 'dynamic SQL or EXECUTE', 'session advisory lock', 'session advisory lock',
        'session-level set_config', 'session-level set_config', 'temporary table'],
  'the detector finds each construct that leaves session state'
);
-- Negative controls: what the functions do write is not taken for one.
select is(
  (select array_agg(c) from (
     select unnest(pg_temp.session_state_in(src)) c from (values
       ($b$ perform pg_catalog.set_config('app.org_id', coalesce(p_org_id::text, ''), true),
                    pg_catalog.set_config('app.role', p_role, true); $b$),
       ($b$ begin set local statement_timeout = 1000; end $b$),
       ($b$ update public.users set role = v_new where id = p_user; $b$),
       ($b$ insert into t values (1) on conflict (key) do update set tat = 2; $b$),
       ($b$ perform pg_catalog.pg_advisory_xact_lock(1); $b$),
       ($b$ execute pg_catalog.format('select count(*) from %s where %s', v_from, v_where) into v_total using p_id; $b$),
       ($b$ execute pg_catalog.format('select (%s), (%s)', v_positions, v_count) into v_rows, v_total using p_id; $b$),
       ($b$ execute pg_catalog.format('set local app.org_id = %L', coalesce(p_org_id::text, '')); $b$),
       ($b$ -- a held key once stalled an organization; rows cannot move between tenants $b$)
     ) s(src)) d),
  null, 'and takes no transaction-local setting, UPDATE … SET, transaction lock, read by dynamic SQL, SET LOCAL by dynamic SQL or prose for one'
);

select cmp_ok((select count(*)::int from pg_proc p
                where p.pronamespace in ('app'::regnamespace, 'auth'::regnamespace)), '>', 100,
              'the scan below sees the service''s functions');
select is(
  array(select p.oid::regprocedure::text || ': ' || array_to_string(pg_temp.session_state_in(p.prosrc), ', ')
          from pg_proc p
          join pg_namespace n on n.oid = p.pronamespace
         where n.nspname in ('app', 'auth', 'public')
           and not exists (select from pg_depend d
                            where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
           and cardinality(pg_temp.session_state_in(p.prosrc)) > 0
         order by 1),
  '{}'::text[],
  'no function of app, auth or public leaves state in the session'
);
select is(
  array(select distinct split_part(c, '=', 1)
          from pg_proc p, unnest(p.proconfig) c
         where p.pronamespace in ('app'::regnamespace, 'auth'::regnamespace)),
  array['search_path'],
  'the functions'' SET clauses set only search_path, for the call (restored when it returns)'
);
select is(
  array(select p.oid::regprocedure::text from pg_proc p
         where p.pronamespace in ('app'::regnamespace, 'auth'::regnamespace)
           and (p.prorettype = 'refcursor'::regtype or 'refcursor'::regtype = any (p.proargtypes))),
  '{}'::text[],
  'no function takes or returns a cursor'
);

-- 3. The tenant context ------------------------------------------------------------------

select is(
  array(select distinct m[1] from pg_proc p, regexp_matches(p.prosrc, '''(app\.[a-z_]+)''', 'g') m
         where p.pronamespace in ('app'::regnamespace, 'auth'::regnamespace) order by 1),
  array(select distinct m[1]
          from regexp_matches(
                 (select prosrc from pg_proc where oid = 'auth.begin_request(uuid, uuid, uuid, text)'::regprocedure),
                 'set_config\(''(app\.[a-z_]+)''(?:[^()]|\([^()]*\))*,\s*true\)', 'g') m
         order by 1),
  'every app.* setting the functions read is one auth.begin_request sets for its transaction'
);
select is(
  array(select distinct m[1] from pg_policies p,
               regexp_matches(coalesce(p.qual, '') || coalesce(p.with_check, ''), '(current_setting\([^)]*\))', 'g') m),
  '{}'::text[],
  'and the policies read settings only through those functions'
);

insert into organizations (id, name, slug) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'Alpha', 'alpha'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'Beta', 'beta');
insert into users (id, organization_id, email, password_hash, full_name, role, email_verified_at) values
  ('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000000', 'owner@alpha.test', 'h', 'Ann', 'owner', now()),
  ('bbbbbbbb-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000000', 'owner@beta.test', 'h', 'Bob', 'owner', now());
insert into sessions (id, user_id, token_hash, expires_at) values
  ('aaaaaaaa-5555-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000001', sha256('a'), now() + interval '1 day'),
  ('bbbbbbbb-5555-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000001', sha256('b'), now() + interval '1 day');
create temp table seen (step text, value text);
grant insert, select on seen to public;
commit;

-- The service's session from here on: the authenticator, whose `set role` is checked
-- against its memberships.
set session authorization vectra_authenticator;

-- A request of A leaves its whole context in the session (set_config(…, false): any role
-- may set a custom setting), and commits.
begin;
select set_config('role', 'vectra_member', true);
select set_config('app.session_id', 'aaaaaaaa-5555-0000-0000-000000000001', false),
       set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000001', false),
       set_config('app.org_id', 'aaaaaaaa-0000-0000-0000-000000000000', false),
       set_config('app.role', 'owner', false);
commit;
-- (Each observation in a block of its own: in one simple query, statements before a `begin`
-- join its transaction.)
begin; insert into seen values ('between requests', current_setting('app.org_id')); commit;

-- The next request, of B: its context statement sets each setting for its transaction.
begin;
select set_config('role', 'vectra_member', true),
       auth.begin_request('bbbbbbbb-5555-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000001',
                          'bbbbbbbb-0000-0000-0000-000000000000', 'owner');
insert into seen values ('B: app.session_id', current_setting('app.session_id')),
                        ('B: app.user_id', current_setting('app.user_id')),
                        ('B: app.org_id', current_setting('app.org_id')),
                        ('B: app.role', current_setting('app.role')),
                        ('B: organizations', (select string_agg(slug, ',') from organizations));
commit;

-- A request that leaves a role for the session: the next context statement is checked as
-- that role, which may not call auth.begin_request, so a signed-in request fails closed.
begin;
select set_config('role', 'vectra_member', true);
select set_config('role', 'vectra_platform_admin', false);
commit;
begin; insert into seen values ('role between requests', current_user); commit;
begin;
do $$ begin
  perform set_config('role', 'vectra_member', true),
          auth.begin_request('bbbbbbbb-5555-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000001',
                             'bbbbbbbb-0000-0000-0000-000000000000', 'owner');
  insert into seen values ('context under a leaked role', 'ran');
exception when insufficient_privilege then
  insert into seen values ('context under a leaked role', sqlstate);
end $$;
commit;
begin; reset role; commit;

-- 4. What SQL of a request role's own could leave, and how each is handled ---------------

-- A cursor WITH HOLD, declared by a request of A: it survives the commit (its rows, A's, were
-- read at that commit, as A).
begin;
select set_config('role', 'vectra_member', true),
       auth.begin_request('aaaaaaaa-5555-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000001',
                          'aaaaaaaa-0000-0000-0000-000000000000', 'owner');
declare held cursor with hold for select slug from organizations;
commit;
begin;
insert into seen values ('cursors after the commit', (select string_agg(name, ',') from pg_cursors where is_holdable));
commit;
-- A SQL PREPARE survives even the rollback of its request.
begin;
select set_config('role', 'vectra_anon', true);
prepare planted as select 1;
rollback;
begin;
insert into seen values ('SQL-prepared after a rollback', (select count(*) from pg_prepared_statements where from_sql)::text);
commit;
-- LISTEN takes effect at commit only.
begin;
select set_config('role', 'vectra_anon', true);
listen tenant_a;
rollback;
begin;
insert into seen values ('channels after a rollback', (select count(*) from pg_listening_channels())::text);
commit;
begin;
select set_config('role', 'vectra_anon', true);
listen tenant_a;
commit;
begin;
insert into seen values ('channels after a commit', (select string_agg(c, ',') from pg_listening_channels() c));
commit;

-- The reset the service sends after a failed, cancelled or reporting request
-- (src/db/request.rs, RESET_SESSION).
-- (Less its `discard temp`, which would drop this file's temporary tables and pgTAP's.)
begin;
close all; set session authorization default; reset all; unlisten *;
select pg_catalog.pg_advisory_unlock_all(); discard sequences;
commit;

begin;
insert into seen values ('after the reset: cursors', (select count(*) from pg_cursors where is_holdable)::text),
                        ('after the reset: channels', (select count(*) from pg_listening_channels())::text),
                        ('after the reset: app.org_id', current_setting('app.org_id')),
                        ('after the reset: role', (current_user = session_user)::text),
                        ('after the reset: SQL-prepared', (select count(*) from pg_prepared_statements where from_sql)::text);

select is((select value from seen where step = 'between requests'), 'aaaaaaaa-0000-0000-0000-000000000000',
          'a setting set for the session outlives its request (a request role may set one)');
select is((select array_agg(value order by step) from seen where step like 'B: app.%'),
          -- in the order of the steps: app.org_id, app.role, app.session_id, app.user_id
          array['bbbbbbbb-0000-0000-0000-000000000000', 'owner', 'bbbbbbbb-5555-0000-0000-000000000001',
                'bbbbbbbb-0000-0000-0000-000000000001'],
          'but auth.begin_request sets all four for the next request''s transaction, B''s');
select is((select value from seen where step = 'B: organizations'), 'beta', 'so B sees only B');
select is((select value from seen where step = 'role between requests'), 'vectra_platform_admin',
          'a role set for the session outlives its request');
select is((select value from seen where step = 'context under a leaked role'), '42501',
          'and a signed-in context statement then fails closed: EXECUTE on begin_request is the authenticator''s');
select is((select value from seen where step = 'cursors after the commit'), 'held',
          'a cursor WITH HOLD outlives its request (the context statement reports it)');
select is((select value from seen where step = 'SQL-prepared after a rollback'), '1',
          'a SQL PREPARE outlives even a rollback (the reset counts it)');
select is((select value from seen where step = 'channels after a rollback'), '0', 'LISTEN does nothing until commit');
select is((select value from seen where step = 'channels after a commit'), 'tenant_a', 'LISTEN outlives its commit');
select is((select value from seen where step = 'after the reset: cursors'), '0', 'the reset closes held cursors');
select is((select value from seen where step = 'after the reset: channels'), '0', 'and stops listening');
select is((select value from seen where step = 'after the reset: app.org_id'), '', 'and clears the settings');
select is((select value from seen where step = 'after the reset: role'), 'true', 'and the role');
select is((select value from seen where step = 'after the reset: SQL-prepared'), '1',
          'but keeps prepared statements: the service closes a connection that has a SQL-prepared one');

select * from finish();
commit;
