-- Lists: app.list_positions ranks rows past row-level security, so
-- direct SQL must not get more from it than from the policies: only the
-- caller's scope (the policies' rule), positions only, nothing of a list the
-- caller's role may not read, no SQL from the caller; and app.page reads the
-- rows themselves through row-level security.

begin;
select plan(30);

insert into organizations (id, name, slug) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'Alpha', 'alpha'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'Beta', 'beta');
insert into users (id, organization_id, email, password_hash, full_name, role, email_verified_at) values
  ('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000000', 'owner@alpha.test', 'h', 'Ann', 'owner', now()),
  ('aaaaaaaa-0000-0000-0000-000000000003', 'aaaaaaaa-0000-0000-0000-000000000000', 'member@alpha.test', 'h', 'Mo', 'member', now()),
  ('bbbbbbbb-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000000', 'owner@beta.test', 'h', 'Bob', 'owner', now()),
  ('cccccccc-0000-0000-0000-000000000001', null, 'admin@vectra.test', 'h', 'Pat', 'platform_admin', now());
insert into sessions (id, user_id, token_hash, expires_at) values
  ('aaaaaaaa-5555-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000001', sha256('s1'), now() + interval '1 day'),
  ('aaaaaaaa-5555-0000-0000-000000000003', 'aaaaaaaa-0000-0000-0000-000000000003', sha256('s3'), now() + interval '1 day'),
  ('cccccccc-5555-0000-0000-000000000001', 'cccccccc-0000-0000-0000-000000000001', sha256('s4'), now() + interval '1 day');
insert into leads (organization_id, email, status)
  select 'aaaaaaaa-0000-0000-0000-000000000000', 'a' || i || '@a.test', 'new' from generate_series(1, 5) i;
insert into leads (organization_id, email, status)
  select 'bbbbbbbb-0000-0000-0000-000000000000', 'b' || i || '@b.test', 'new' from generate_series(1, 7) i;
insert into audit_log (organization_id, action, target_type) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'lead.created', 'lead'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'lead.created', 'lead');

-- Outside a request: no scope, nothing.
set local role vectra_member;
select is(app.list_positions('leads', 'created_at', true, '{}', null, 21, 0),
  '{"rows": [], "total": 0, "total_is_estimate": false}', 'without the request''s settings, a list ranks nothing');

-- A's member.
select set_config('app.org_id', 'aaaaaaaa-0000-0000-0000-000000000000', true),
       set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000003', true),
       set_config('app.session_id', 'aaaaaaaa-5555-0000-0000-000000000003', true),
       set_config('app.role', 'member', true);
select is((app.list_positions('leads', 'created_at', true, '{}', null, 21, 0) ->> 'total')::int, 5,
  'a member of A ranks A''s five leads, not B''s seven');
select is((select count(*)::int from jsonb_array_elements(app.list_positions('leads', 'created_at', true, '{}', null, 21, 0) -> 'rows') r
            where (r ->> 1)::uuid in (select id from public.leads)), 5,
  'every position is of a lead the member may read');
select is(app.list_positions('audit', 'created_at', true, '{}', null, 21, 0) -> 'total', '0',
  'the audit log is for owners and admins, as its policy says: a member ranks none of it');
select is((select count(*)::int from public.audit_log), 0, 'and reads none of it directly');
select is(app.list_positions('organizations', 'created_at', true, '{}', null, 21, 0) -> 'total', '0',
  'the console''s lists rank nothing for a member');
select is(app.list_positions('users', 'created_at', true, '{"organization_id": "bbbbbbbb-0000-0000-0000-000000000000"}', null, 21, 0) -> 'total', '0',
  'not even with B named in a filter');
select is(app.list_positions('sessions', 'last_used_at', true, '{}', null, 21, 0) -> 'total', '1',
  'sessions: the member''s own');
select set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000001', true);
select is(app.list_positions('sessions', 'last_used_at', true, '{}', null, 21, 0) -> 'total', '0',
  'and nobody else''s: another user id in the settings, without that user''s session, ranks nothing');
select set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000003', true);
select is(app.page('leads', 'created_at', true, '{}', 1, 20, null) -> 'total', '5', 'app.page: A''s leads');
select is((select count(*)::int from jsonb_array_elements(app.page('leads', 'created_at', true, '{}', 1, 20, null) -> 'items') i
            where i ->> 'email' like '%@a.test'), 5, 'A''s, all of them');

-- app.list_items, the page's rows, is the caller's read: naming B's scope and
-- B's ids gets a member of A nothing (row-level security), A's ids in B's
-- scope neither, and a list without static items is refused.
select is(app.list_items('leads', 'bbbbbbbb-0000-0000-0000-000000000000',
                         array(select l.id from public.leads l where l.organization_id = 'bbbbbbbb-0000-0000-0000-000000000000')),
  null, 'a member of A asking for B''s leads in B''s scope gets nothing');
reset role;
select is(app.list_items('leads', 'bbbbbbbb-0000-0000-0000-000000000000',
                         array(select l.id from public.leads l where l.organization_id = 'bbbbbbbb-0000-0000-0000-000000000000')) is null,
  false, 'the control: the same call past row-level security reads B''s seven');
set local role vectra_member;
select is(app.list_items('leads', 'bbbbbbbb-0000-0000-0000-000000000000',
                         array(select l.id from public.leads l)),
  null, 'A''s own ids named in B''s scope: nothing either');
select is(pg_catalog.jsonb_array_length(app.list_items('leads', 'aaaaaaaa-0000-0000-0000-000000000000',
                         array(select l.id from public.leads l order by l.email desc))), 5,
  'A''s ids in A''s scope: A''s five leads');
select throws_ok($$ select app.list_items('organizations', null, '{}') $$,
  '22023', 'list organizations has no static items', 'a list without static items is refused');

-- Nothing a caller sends becomes SQL: unknown lists, sorts and filters are refused.
select throws_ok($$ select app.list_positions('public.leads l where true --', 'created_at', true, '{}', null, 21, 0) $$,
  '22023', null, 'an unknown list is refused');
select throws_ok($$ select app.list_positions('leads', 'l.id) or true --', true, '{}', null, 21, 0) $$,
  '22023', null, 'an unknown sort is refused');
select throws_ok($$ select app.list_positions('leads', 'created_at', true, '{"status = status or true --": "x"}', null, 21, 0) $$,
  '22023', null, 'an unknown filter is refused');
select throws_ok($$ select app.list_positions('leads', 'created_at', true, '{}', null, 100000, 0) $$,
  '22023', null, 'and so is an unbounded page');
select throws_ok($$ select app.list_positions('leads', 'created_at', true, '{"campaign_id": "x''); drop table leads; --"}', null, 21, 0) $$,
  '22P02', null, 'filter values are values: a bad one fails its cast');
select throws_ok($$ select app.list_positions('deliveries', 'email', false, '{}', null, 21, 0) $$,
  '22023', null, 'the deliveries of no notification are refused');

-- The cursor key is the owner's.
select throws_ok($$ select cursor_key from auth.settings $$, '42501', null, 'no request role reads the cursor key');
-- A cursor made by hand is only a position: the rows are still A's.
select is((select count(*)::int from jsonb_array_elements(
            app.page('leads', 'created_at', true, '{}', 1, 20,
                     app.make_cursor('leads|created_at|desc|{}', '["infinity", "ffffffff-ffff-ffff-ffff-ffffffffffff"]')) -> 'items') i
            where i ->> 'email' like '%@a.test'), 5, 'a cursor forged with app.make_cursor reaches only A''s leads');
select throws_ok($$ select app.page('leads', 'created_at', true, '{}', 1, 20, 'e30.AAAAAAAAAAAAAAAAAAAAAA') $$,
  'VA422', 'cursor: is not a cursor of this list with these filters and this order; start again from the first page',
  'a cursor with a wrong signature is a 422');

-- A's owner reads A's audit log, never B's.
select set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000001', true),
       set_config('app.session_id', 'aaaaaaaa-5555-0000-0000-000000000001', true),
       set_config('app.role', 'owner', true);
select is(app.list_positions('audit', 'created_at', true, '{}', null, 21, 0) -> 'total', '1', 'an owner ranks its own audit log');

-- The DBA's reader of A: the same scope.
reset role;
set local role vectra_tenant_reader;
select is((app.list_positions('leads', 'created_at', true, '{}', null, 21, 0) ->> 'total')::int, 5,
  'a tenant reader ranks its tenant''s leads only');

-- The platform admin: every organization, no tenant's leads (no organization).
reset role;
set local role vectra_platform_admin;
select set_config('app.org_id', '', true),
       set_config('app.user_id', 'cccccccc-0000-0000-0000-000000000001', true),
       set_config('app.session_id', 'cccccccc-5555-0000-0000-000000000001', true),
       set_config('app.role', 'platform_admin', true);
select is(app.list_positions('organizations', 'created_at', true, '{}', null, 21, 0) -> 'total', '2',
  'the platform admin ranks every organization');
select is(app.list_positions('leads', 'created_at', true, '{}', null, 21, 0) -> 'total', '0',
  'and no tenant''s leads: it belongs to no organization');
-- A forged platform-admin role without the account is no platform admin.
reset role;
set local role vectra_member;
select set_config('app.org_id', 'aaaaaaaa-0000-0000-0000-000000000000', true),
       set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000003', true),
       set_config('app.role', 'platform_admin', true);
select is(app.list_positions('organizations', 'created_at', true, '{}', null, 21, 0) -> 'total', '0',
  'a member claiming the platform-admin role in its settings ranks no organization');

select * from finish();
rollback;
