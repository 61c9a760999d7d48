-- The platform console: who may call it, what it counts, and that its
-- writes carry their rules (a live session of a verified platform admin, the
-- audit log, the last active owner, erasure that leaves nothing behind and
-- touches no other organization) for direct SQL as much as for the API.

begin;
select plan(44);

insert into organizations (id, name, slug, plan, created_at) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'Alpha', 'alpha', 'pro', now() - interval '60 days'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'Beta', 'beta', 'free', now());
insert into users (id, organization_id, email, password_hash, full_name, role, email_verified_at, created_at) values
  ('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000000', 'owner@alpha.test', 'h', 'Ann', 'owner', now(), now() - interval '60 days'),
  ('aaaaaaaa-0000-0000-0000-000000000002', 'aaaaaaaa-0000-0000-0000-000000000000', 'member@alpha.test', 'h', 'Mo', 'member', now(), now()),
  ('bbbbbbbb-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000000', 'owner@beta.test', 'h', 'Bob', 'owner', now(), now()),
  ('cccccccc-0000-0000-0000-000000000001', null, 'admin@vectra.test', 'h', 'Pat', 'platform_admin', now(), now() - interval '60 days'),
  ('cccccccc-0000-0000-0000-000000000002', null, 'unverified@vectra.test', 'h', 'Una', 'platform_admin', null, now());
-- organizations.users_count, as the service's functions keep it.
select auth.count_users(null);
insert into sessions (id, user_id, token_hash, expires_at) values
  ('aaaaaaaa-5555-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000001', sha256('s1'), now() + interval '1 day'),
  ('aaaaaaaa-5555-0000-0000-000000000002', 'aaaaaaaa-0000-0000-0000-000000000002', sha256('s2'), now() + interval '1 day'),
  ('cccccccc-5555-0000-0000-000000000001', 'cccccccc-0000-0000-0000-000000000001', sha256('s3'), now() + interval '1 day'),
  ('cccccccc-5555-0000-0000-000000000002', 'cccccccc-0000-0000-0000-000000000002', sha256('s4'), now() + interval '1 day');
insert into campaigns (organization_id, id, name, status) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'aaaaaaaa-cccc-0000-0000-000000000001', 'A launch', 'active'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'bbbbbbbb-cccc-0000-0000-000000000001', 'B draft', 'draft');
insert into leads (organization_id, id, campaign_id, email, status) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'aaaaaaaa-dddd-0000-0000-000000000001', 'aaaaaaaa-cccc-0000-0000-000000000001', 'l1@a.test', 'new'),
  ('aaaaaaaa-0000-0000-0000-000000000000', 'aaaaaaaa-dddd-0000-0000-000000000002', 'aaaaaaaa-cccc-0000-0000-000000000001', 'l2@a.test', 'contacted'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'bbbbbbbb-dddd-0000-0000-000000000001', null, 'l1@b.test', 'new');
-- The status machine: contacted -> replied -> qualified -> converted.
update leads set status = 'replied' where id = 'aaaaaaaa-dddd-0000-0000-000000000002';
update leads set status = 'qualified' where id = 'aaaaaaaa-dddd-0000-0000-000000000002';
update leads set status = 'converted' where id = 'aaaaaaaa-dddd-0000-0000-000000000002';
insert into meetings (organization_id, lead_id, scheduled_at) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'aaaaaaaa-dddd-0000-0000-000000000001', now() + interval '2 days'),
  ('aaaaaaaa-0000-0000-0000-000000000000', 'aaaaaaaa-dddd-0000-0000-000000000001', now() - interval '2 days');
insert into email_outbox (organization_id, to_email, template, context, status, sent_at) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'member@alpha.test', 'verify-email', '{}', 'sent', now()),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'owner@beta.test', 'verify-email', '{}', 'failed', null);

-- Members never reach the console -------------------------------------------------
set local role vectra_member;
select set_config('app.org_id', 'aaaaaaaa-0000-0000-0000-000000000000', true),
       set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000001', true),
       set_config('app.session_id', 'aaaaaaaa-5555-0000-0000-000000000001', true),
       set_config('app.role', 'owner', true);
select throws_ok($$ select app.admin_overview() $$, '42501', null, 'an owner cannot read the overview');
select throws_ok($$ select app.admin_update_organization('bbbbbbbb-0000-0000-0000-000000000000', '{"plan": "pro"}') $$,
  '42501', null, 'nor call a console write');
-- An owner who forges the platform-admin role in its settings gains nothing:
-- the member functions check the role against the account.
select set_config('app.org_id', '', true), set_config('app.role', 'platform_admin', true);
select throws_ok($$ select app.update_organization('{"name": "Taken"}') $$, null, null,
  'a forged platform-admin role is refused by the member functions');
reset role;
select is((select name from organizations where id = 'aaaaaaaa-0000-0000-0000-000000000000'), 'Alpha', 'and changed nothing');

-- The platform admin, settings without a live session: reads, no writes -----------
set local role vectra_platform_admin;
select set_config('app.org_id', '', true),
       set_config('app.user_id', 'cccccccc-0000-0000-0000-000000000001', true),
       set_config('app.session_id', '', true),
       set_config('app.role', 'platform_admin', true);
select throws_ok($$ select app.admin_update_organization('bbbbbbbb-0000-0000-0000-000000000000', '{"plan": "pro"}') $$,
  'VA401', 'Token no longer matches the account', 'a console write needs the admin''s live session');
-- An unverified platform admin, with its own session.
select set_config('app.user_id', 'cccccccc-0000-0000-0000-000000000002', true),
       set_config('app.session_id', 'cccccccc-5555-0000-0000-000000000002', true);
select throws_ok($$ select app.admin_create_organization('{"name": "Gamma"}') $$,
  'VA401', 'Token no longer matches the account', 'an unverified platform admin writes nothing');
-- Direct writes stay refused in the context too.
select throws_ok($$ update public.organizations set plan = 'enterprise' $$, '42501', null,
  'the platform admin does not update organizations directly');
select throws_ok($$ delete from public.users where organization_id = 'bbbbbbbb-0000-0000-0000-000000000000' $$,
  '42501', null, 'nor delete users directly');

-- The verified platform admin with its session ---------------------------------------
select set_config('app.user_id', 'cccccccc-0000-0000-0000-000000000001', true),
       set_config('app.session_id', 'cccccccc-5555-0000-0000-000000000001', true);
-- The overview is a snapshot (app.platform_overview): none yet, then the worker's.
select throws_ok($$ select app.admin_overview() $$, 'VA503', 'The overview is being computed; try again shortly',
  'before the first snapshot, the overview says to come back');
reset role;
select auth.refresh_overview('0 seconds');
set local role vectra_platform_admin;
select ok((app.admin_overview() ->> 'age_seconds')::int between 0 and 5, 'the overview tells its age');
select is(app.admin_overview() - 'emails' - 'as_of' - 'age_seconds',
  '{"organizations": {"total": 2, "by_status": {"active": 2, "suspended": 0, "deleted": 0},
                      "by_plan": {"free": 1, "starter": 0, "pro": 1, "enterprise": 0}, "new_last_30_days": 1},
    "users": {"total": 5, "by_role": {"platform_admin": 2, "owner": 2, "admin": 0, "manager": 0, "member": 1},
              "by_status": {"active": 5, "suspended": 0, "removed": 0}, "new_last_30_days": 3},
    "campaigns": {"total": 2, "active": 1},
    "leads": {"total": 3, "converted": 1, "conversion_rate": 0.3333},
    "meetings": {"scheduled_upcoming": 1}}'::jsonb,
  'the overview counts every organization');
select is(app.admin_overview() -> 'emails', '{"sent": 1, "failed": 1, "pending": 0}'::jsonb, 'and the outbox');
select is((app.admin_list_organizations(1, 20, null, null, null, 'users_count', true, null) #>> '{items,0,slug}'), 'alpha',
  'organizations sort by users_count');
select is((app.admin_list_organizations(1, 20, 'free', null, null, 'created_at', false, null) #>> '{items,0,slug}'), 'beta',
  'and filter by plan');
select throws_ok($$ select app.admin_list_organizations(1, 20, 'gold', null, null, 'created_at', false, null) $$,
  'VA422', null, 'an unknown plan is refused');
select is((app.admin_list_users(1, 20, null, 'platform_admin', null, null, 'email', false, null) ->> 'total')::int, 2,
  'users filter by role, platform admins included');

-- Create an organization with its owner's invitation.
select set_config('test.gamma',
  app.admin_create_organization('{"name": "Gamma  Co", "plan": "starter", "owner_email": "Boss@Gamma.test"}') ->> 'id', true);
select is((select slug || ' ' || plan from organizations where id = current_setting('test.gamma')::uuid), 'gamma-co starter',
  'the organization gets a slug from its name');
select is((select role::text from invitations where organization_id = current_setting('test.gamma')::uuid and email = 'boss@gamma.test'),
  'owner', 'its owner is invited');
select is((select count(*)::int from email_outbox where organization_id = current_setting('test.gamma')::uuid and template = 'invite-user'),
  1, 'by email');
select is((select array_agg(action order by action) from audit_log where organization_id = current_setting('test.gamma')::uuid
            and actor_id = 'cccccccc-0000-0000-0000-000000000001'),
  array['invitation.create', 'organization.create'], 'both in the audit log in the platform admin''s name');

-- A plan change emails the owners; a suspension blocks.
select lives_ok($$ select app.admin_update_organization('aaaaaaaa-0000-0000-0000-000000000000', '{"plan": "enterprise", "status": "suspended"}') $$,
  'the platform admin suspends Alpha and changes its plan');
reset role;
select is((select context -> 'details' from email_outbox where to_email = 'owner@alpha.test' and template = 'organization-update'),
  '["plan: pro → enterprise", "status: active → suspended"]'::jsonb, 'Alpha''s owner is told what changed');
select throws_ok($$ select set_config('role', 'vectra_member', true), auth.begin_request('aaaaaaaa-5555-0000-0000-000000000002', 'aaaaaaaa-0000-0000-0000-000000000002',
                                             'aaaaaaaa-0000-0000-0000-000000000000', 'member') $$,
  'VA403', 'Organization suspended', 'a member''s live session is refused at its next request');
set local role vectra_platform_admin;
select lives_ok($$ select app.admin_update_organization('aaaaaaaa-0000-0000-0000-000000000000', '{"status": "active"}') $$,
  'reactivation');
reset role;
select lives_ok($$ select set_config('role', 'vectra_member', true), auth.begin_request('aaaaaaaa-5555-0000-0000-000000000002', 'aaaaaaaa-0000-0000-0000-000000000002',
                                            'aaaaaaaa-0000-0000-0000-000000000000', 'member') $$,
  'restores the same session');
reset role;
select set_config('app.org_id', '', true), set_config('app.user_id', 'cccccccc-0000-0000-0000-000000000001', true),
       set_config('app.session_id', 'cccccccc-5555-0000-0000-000000000001', true), set_config('app.role', 'platform_admin', true);
set local role vectra_platform_admin;

-- One user: the last active owner stays; another is suspended and signed out.
select throws_ok($$ select app.admin_update_user('aaaaaaaa-0000-0000-0000-000000000001', '{"status": "suspended"}') $$,
  'VA409', null, 'the last active owner cannot be suspended');
select throws_ok($$ select app.admin_update_user('cccccccc-0000-0000-0000-000000000001', '{"status": "suspended"}') $$,
  'VA409', 'Platform admins are managed by the operator, not from the console', 'nor a platform admin, itself included');
select is((app.admin_update_user('aaaaaaaa-0000-0000-0000-000000000002', '{"status": "suspended"}') ->> 'sessions_revoked')::int,
  1, 'suspending a member revokes its session');
select throws_ok($$ select app.admin_update_user('aaaaaaaa-0000-0000-0000-000000000002', '{"status": "removed"}') $$,
  'VA422', null, 'only active or suspended');

-- What only direct SQL could send: no address but a real one, no erasure by NULL.
select throws_ok($$ select app.admin_invite('aaaaaaaa-0000-0000-0000-000000000000', '["a@b.test"]', 'member') $$,
  'VA422', 'email: must be an email address', 'an invitation is for an email address');
select throws_ok($$ select app.admin_create_organization('{"name": "Delta", "owner_email": ["v@w.test"]}') $$,
  'VA422', 'The request has invalid fields', 'owner_email is a string');
select is(app.admin_delete_organization(current_setting('test.gamma')::uuid, null) ->> 'erased', 'false',
  'a NULL hard flag is a soft delete');

-- Soft delete, restore, hard delete.
select is(app.admin_delete_organization('bbbbbbbb-0000-0000-0000-000000000000', false) ->> 'status', 'deleted', 'a soft delete');
select is((select status::text from organizations where id = 'bbbbbbbb-0000-0000-0000-000000000000'), 'deleted',
  'keeps the organization, marked deleted');
select is((app.admin_update_organization('bbbbbbbb-0000-0000-0000-000000000000', '{"status": "active"}') ->> 'deleted_at'), null,
  'PATCH status active restores it');
select is(app.admin_delete_organization('bbbbbbbb-0000-0000-0000-000000000000', true) #> '{rows}',
  '{"users": 1, "invitations": 0, "campaigns": 1, "leads": 1, "meetings": 0}'::jsonb, 'a hard delete counts what it erases');
reset role;
select is((select count(*)::int from organizations where id = 'bbbbbbbb-0000-0000-0000-000000000000')
        + (select count(*)::int from users where organization_id = 'bbbbbbbb-0000-0000-0000-000000000000')
        + (select count(*)::int from campaigns where organization_id = 'bbbbbbbb-0000-0000-0000-000000000000')
        + (select count(*)::int from leads where organization_id = 'bbbbbbbb-0000-0000-0000-000000000000')
        + (select count(*)::int from email_outbox where organization_id = 'bbbbbbbb-0000-0000-0000-000000000000')
        + (select count(*)::int from sessions s join users u on u.id = s.user_id where u.email = 'owner@beta.test'), 0,
  'nothing of Beta remains');
select is((select count(*)::int from users where organization_id = 'aaaaaaaa-0000-0000-0000-000000000000')
          || ' ' || (select count(*) from leads where organization_id = 'aaaaaaaa-0000-0000-0000-000000000000')
          || ' ' || (select count(*) from meetings), '2 2 2', 'Alpha lost no row');
select is((select data ->> 'slug' from audit_log where action = 'organization.erase'
            and organization_id = 'bbbbbbbb-0000-0000-0000-000000000000'), 'beta', 'the audit log keeps the erasure');
set local role vectra_platform_admin;
select throws_ok($$ select app.admin_get_organization('bbbbbbbb-0000-0000-0000-000000000000') $$, 'VA404',
  'Organization not found', 'the console no longer finds it');
reset role;

-- The service's aggregates: the worker and the platform admin, nobody else.
set local role vectra_platform_admin;
select is((auth.service_stats() #>> '{outbox,sent_last_24h}')::int, 1, 'the platform admin reads them too (Alpha''s sent email)');
reset role;
set local role vectra_worker;
select is((auth.service_stats() #>> '{outbox,failed}')::int, 0, 'the worker reads the outbox counts (Beta''s failed row went with it)');
reset role;
set local role vectra_member;
select throws_ok($$ select auth.service_stats() $$, '42501', null, 'a member cannot');
reset role;
set local role vectra_tenant_reader;
select throws_ok($$ select auth.service_stats() $$, '42501', null, 'nor the DBAs'' reader');
reset role;

select * from finish();
rollback;
