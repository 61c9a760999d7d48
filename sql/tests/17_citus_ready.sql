-- The schema as Citus can distribute it by organization_id, read from the
-- catalog: policies without subqueries, organization_id NOT NULL and in
-- every key of every tenant table, no SET NULL between tenant tables; and
-- the platform's own rows (no organization) under the reserved
-- app.platform_org_id(), which no organization can take and no member or
-- reader sees, while the API still shows them with no organization.

begin;
select plan(35);

-- ------------------------------------------------------------- the catalog

select is_empty($$
  select schemaname || '.' || tablename || ' ' || policyname from pg_policies
   where schemaname in ('public', 'app') and (qual ~* 'select' or with_check ~* 'select') $$,
  'no policy on a public or app table holds a subquery');

-- Tenant tables: every public table with an organization_id column, but
-- users (a reference table under Citus: platform admins have none).
create temporary view tenant_tables as
select c.oid as rel, c.relname, a.attnum, a.attnotnull
  from pg_class c
  join pg_attribute a on a.attrelid = c.oid and a.attname = 'organization_id' and not a.attisdropped
 where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and c.relname <> 'users';
grant select on tenant_tables to public;

select cmp_ok((select count(*) from tenant_tables), '>=', 8::bigint,
  'the tenant tables are found (organization_id column, public, not users)');
select is_empty($$ select relname from tenant_tables where not attnotnull $$,
  'every tenant table has organization_id NOT NULL');
select is_empty($$
  select t.relname || ' ' || i.indexrelid::regclass::text
    from tenant_tables t join pg_index i on i.indrelid = t.rel
   where i.indisunique and not (t.attnum = any (i.indkey::int2[])) $$,
  'every primary key, unique constraint and unique index of a tenant table includes organization_id');
select is_empty($$
  select c.conname from pg_constraint c
   where c.contype = 'f'
     and c.conrelid in (select rel from tenant_tables) and c.confrelid in (select rel from tenant_tables)
     and (c.confdeltype in ('n', 'd') or c.confupdtype in ('n', 'd')) $$,
  'no foreign key between two tenant tables sets NULL or a default');
select is_empty($$
  select c.conname from pg_constraint c
   where c.contype = 'f' and c.conrelid in (select rel from tenant_tables)
     and c.confrelid in (select rel from tenant_tables)
     and not ((select attnum from tenant_tables where rel = c.conrelid) = any (c.conkey)) $$,
  'every foreign key between two tenant tables includes organization_id');
select is((select array_agg(a.attname::text order by k.n)
             from pg_constraint c, unnest(c.conkey) with ordinality k(attnum, n), pg_attribute a
            where c.conname = t || '_pkey' and a.attrelid = c.conrelid and a.attnum = k.attnum),
          array['organization_id', 'id'], t || ': primary key (organization_id, id)')
  from unnest(array['notifications', 'email_outbox', 'audit_log']) t;
select is((select count(*)::int from pg_constraint
            where conrelid in ('public.notifications'::regclass, 'public.email_outbox'::regclass, 'public.audit_log'::regclass)
              and confrelid = 'public.organizations'::regclass),
          0, 'notifications, email_outbox and audit_log have no foreign key to organizations (platform rows have none)');

-- ------------------------------------------------------------- the reserved id

select is(app.platform_org_id(), '00000000-0000-0000-0000-000000000000'::uuid, 'the reserved organization id');
select throws_ok($$ insert into organizations (id, name, slug) values (app.platform_org_id(), 'Platform', 'platform') $$,
  '23514', 'new row for relation "organizations" violates check constraint "organizations_id_not_platform"',
  'no organization can take the reserved id');
select set_config('app.org_id', app.platform_org_id()::text, true);
select is(app.current_org_id(), null, 'a request set to the reserved id has no organization');
select set_config('app.org_id', '', true);

-- ------------------------------------------------------------- platform rows

insert into organizations (id, name, slug) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'Alpha', 'alpha'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'Beta', 'beta');
insert into users (id, organization_id, email, password_hash, full_name, role, status, email_verified_at) values
  ('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000000', 'owner@alpha.test', 'h', 'Ann', 'owner', 'active', now()),
  ('bbbbbbbb-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000000', 'owner@beta.test', 'h', 'Bob', 'owner', 'active', now()),
  ('cccccccc-0000-0000-0000-000000000001', null, 'admin@vectra.test', 'h', 'Pat', 'platform_admin', 'active', now());
insert into sessions (id, user_id, token_hash, expires_at) values
  ('aaaaaaaa-5555-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000001', sha256('s1'), now() + interval '1 day'),
  ('bbbbbbbb-5555-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000001', sha256('s2'), now() + interval '1 day'),
  ('cccccccc-5555-0000-0000-000000000001', 'cccccccc-0000-0000-0000-000000000001', sha256('s3'), now() + interval '1 day');
select throws_ok($$ update organizations set id = app.platform_org_id() where slug = 'beta' $$,
  '23514', null, 'nor can an organization be moved to it');

create function pg_temp.as_user(p_user text, p_session text, p_org text, p_role text) returns void
language sql as $$
  select set_config('app.user_id', p_user, true), set_config('app.session_id', p_session, true),
         set_config('app.org_id', coalesce(p_org, ''), true), set_config('app.role', p_role, true)
$$;
grant execute on function pg_temp.as_user(text, text, text, text) to public;

-- The platform admin sends a system alert, and the console writes an
-- organization's rows (an invitation mail, its audit entry).
set local role vectra_platform_admin;
select pg_temp.as_user('cccccccc-0000-0000-0000-000000000001', 'cccccccc-5555-0000-0000-000000000001', null, 'platform_admin');
select is(app.admin_send_notification('{"type": "system_alerts", "recipients": "all", "subject": "Maintenance", "body": "Tonight"}', null) ->> 'recipient_count',
  '3', 'a system alert to every active user');
select lives_ok($$ select app.admin_invite('bbbbbbbb-0000-0000-0000-000000000000', 'new@beta.test', 'member') $$,
  'a console invitation into Beta');
select is((select n ->> 'organization_id' from jsonb_array_elements(app.admin_list_notifications(1, 20, null, null, null) -> 'items') n),
  null, 'the console shows the system alert with no organization, as before');
select is(jsonb_typeof(app.admin_list_notifications(1, 20, null, null, null) -> 'items' -> 0 -> 'organization_id'),
  'null', '(a JSON null)');
select is((app.admin_list_notifications(1, 20, null, app.platform_org_id(), null) ->> 'total')::int, 0,
  'filtering the console by the reserved id finds nothing: it is no organization');
reset role;
select pg_temp.as_user('', '', null, '');

select is((select array_agg(distinct organization_id) from notifications where subject = 'Maintenance'),
  array[app.platform_org_id()], 'the system alert is stored under the reserved id');
select is((select count(*)::int from email_outbox e join notifications n on n.id = e.notification_id
            where n.subject = 'Maintenance' and e.organization_id = app.platform_org_id()),
  3, 'so are its outbox rows');
select is((select organization_id from audit_log where action = 'notification.send'),
  app.platform_org_id(), 'and its audit entry');
select is((select organization_id from audit_log where action = 'invitation.create'),
  'bbbbbbbb-0000-0000-0000-000000000000'::uuid, 'an organization''s console entry stays the organization''s');

-- Members and readers of a real organization, by direct SQL, see none of them.
set local role vectra_member;
select pg_temp.as_user('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-5555-0000-0000-000000000001',
                       'aaaaaaaa-0000-0000-0000-000000000000', 'owner');
select is((select count(*)::int from notifications) + (select count(*)::int from email_outbox where organization_id is not null)
          + (select count(*)::int from audit_log),
  0, 'an owner of Alpha sees no platform notification, outbox row or audit entry');
select pg_temp.as_user('bbbbbbbb-0000-0000-0000-000000000001', 'bbbbbbbb-5555-0000-0000-000000000001',
                       'bbbbbbbb-0000-0000-0000-000000000000', 'owner');
select is((select count(*)::int from notifications where organization_id = app.platform_org_id())
          + (select count(*)::int from email_outbox where organization_id = app.platform_org_id())
          + (select count(*)::int from audit_log where organization_id = app.platform_org_id()),
  0, 'an owner of Beta neither');
select is((select count(*)::int from audit_log), 1, '(Beta''s owner does see Beta''s own entry)');
select pg_temp.as_user('bbbbbbbb-0000-0000-0000-000000000001', 'bbbbbbbb-5555-0000-0000-000000000001',
                       app.platform_org_id()::text, 'owner');
select is((select count(*)::int from notifications) + (select count(*)::int from email_outbox where organization_id is not null)
          + (select count(*)::int from audit_log),
  0, 'a request set to the reserved id sees nothing of it either');
reset role;
set local role vectra_tenant_reader;
select pg_temp.as_user('', '', app.platform_org_id()::text, 'owner');
select is((select count(*)::int from notifications) + (select count(*)::int from email_outbox where organization_id is not null)
          + (select count(*)::int from audit_log),
  0, 'nor does a DBA''s reader login that chooses the reserved id');
reset role;
select pg_temp.as_user('', '', null, '');

-- The outbox worker: the reserved id is no organization, always deliverable.
set local role vectra_worker;
select is((select count(*)::int from auth.outbox_claim(100, interval '5 minutes') c where c.template = 'notification'),
  3, 'the worker claims the system alert''s mail (nothing withheld for an organization)');
reset role;

-- ------------------------------------------------------------- deletions

-- A campaign's deletion keeps its leads, unassigned, and its counter right.
insert into campaigns (id, organization_id, name) values
  ('aaaaaaaa-cccc-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000000', 'Spring');
insert into leads (organization_id, email, campaign_id) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'p1@prospect.test', 'aaaaaaaa-cccc-0000-0000-000000000001'),
  ('aaaaaaaa-0000-0000-0000-000000000000', 'p2@prospect.test', 'aaaaaaaa-cccc-0000-0000-000000000001');
select is((select leads_count from campaigns where id = 'aaaaaaaa-cccc-0000-0000-000000000001'), 2,
  'the statement trigger counts the campaign''s leads');
set local role vectra_member;
select pg_temp.as_user('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-5555-0000-0000-000000000001',
                       'aaaaaaaa-0000-0000-0000-000000000000', 'owner');
select lives_ok($$ select app.delete_campaign('aaaaaaaa-cccc-0000-0000-000000000001') $$, 'the owner deletes the campaign');
reset role;
select is((select array_agg(campaign_id) from leads where organization_id = 'aaaaaaaa-0000-0000-0000-000000000000'),
  array[null, null]::uuid[], 'its leads stay, unassigned');

-- Erasing Beta deletes its notifications and outbox rows (no foreign key
-- does it now), keeps its audit entries and every platform row.
set local role vectra_platform_admin;
select pg_temp.as_user('cccccccc-0000-0000-0000-000000000001', 'cccccccc-5555-0000-0000-000000000001', null, 'platform_admin');
select is(app.admin_delete_organization('bbbbbbbb-0000-0000-0000-000000000000', true) ->> 'status', 'erased', 'the console erases Beta');
reset role;
select pg_temp.as_user('', '', null, '');
select is((select count(*)::int from email_outbox where organization_id = 'bbbbbbbb-0000-0000-0000-000000000000')
          + (select count(*)::int from notifications where organization_id = 'bbbbbbbb-0000-0000-0000-000000000000'),
  0, 'Beta''s outbox rows (its invitation mail) went with it');
select is((select count(*)::int from audit_log where organization_id = 'bbbbbbbb-0000-0000-0000-000000000000'),
  2, 'its audit entries stay (invitation.create, organization.erase)');

select * from finish();
rollback;
