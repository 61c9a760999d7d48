-- The organization functions called directly as vectra_member with a user's
-- settings, the way the service does: the answers are the API's. The write
-- functions check the settings against a live session (auth.authorize), so
-- each user here has one.

begin;
select plan(17);

insert into organizations (id, name, slug) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'Alpha', 'alpha'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'Beta', 'beta');
insert into users (id, organization_id, email, password_hash, full_name, role) values
  ('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000000', 'owner@alpha.test', 'h', 'Ann', 'owner'),
  ('aaaaaaaa-0000-0000-0000-000000000002', 'aaaaaaaa-0000-0000-0000-000000000000', 'admin@alpha.test', 'h', 'Al', 'admin'),
  ('aaaaaaaa-0000-0000-0000-000000000003', 'aaaaaaaa-0000-0000-0000-000000000000', 'member@alpha.test', 'h', 'Mo', 'member'),
  ('bbbbbbbb-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000000', 'owner@beta.test', 'h', 'Bob', 'owner');
update users set email_verified_at = now();
insert into sessions (id, user_id, token_hash, expires_at) values
  ('dddddddd-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000001', sha256('1'), now() + interval '1 day'),
  ('dddddddd-0000-0000-0000-000000000002', 'aaaaaaaa-0000-0000-0000-000000000002', sha256('2'), now() + interval '1 day'),
  ('dddddddd-0000-0000-0000-000000000003', 'aaaaaaaa-0000-0000-0000-000000000003', sha256('3'), now() + interval '1 day');

-- As A's admin -----------------------------------------------------------------
set local role vectra_member;
select set_config('app.org_id', 'aaaaaaaa-0000-0000-0000-000000000000', true),
       set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000002', true),
       set_config('app.session_id', 'dddddddd-0000-0000-0000-000000000002', true),
       set_config('app.role', 'admin', true);

select throws_ok($$ select app.change_user_role('aaaaaaaa-0000-0000-0000-000000000001', 'member') $$,
  'VA403', 'Only an owner can change an owner''s role', 'an admin cannot change an owner');
select throws_ok($$ select app.change_user_role('aaaaaaaa-0000-0000-0000-000000000003', 'owner') $$,
  'VA403', 'You cannot grant a role above your own', 'an admin cannot make an owner');
select throws_ok($$ select app.change_user_role('bbbbbbbb-0000-0000-0000-000000000001', 'member') $$,
  'VA404', 'User not found', 'another tenant''s user is not found');
select throws_ok($$ select app.remove_user('bbbbbbbb-0000-0000-0000-000000000001') $$,
  'VA404', 'User not found', 'another tenant''s user cannot be removed');
select throws_ok($$ select app.invite_user('boss@alpha.test', 'owner') $$,
  'VA403', 'You cannot invite someone with a role above your own', 'an admin cannot invite an owner');
select throws_ok($$ select app.change_user_role('aaaaaaaa-0000-0000-0000-000000000003', 'platform_admin') $$,
  'VA422', null, 'platform_admin is never granted');
select is(app.invite_user('new@alpha.test', 'manager') ->> 'status', 'pending', 'an admin invites a manager');
select is((select count(*)::int from email_outbox where template = 'invite-user'), 1, 'the invitation email is queued in the same transaction');
select is(app.change_user_role('aaaaaaaa-0000-0000-0000-000000000003', 'manager') ->> 'role', 'manager', 'an admin promotes a member');
select is((select action from audit_log where action = 'user.role_change'), 'user.role_change', 'the change is in the audit log');
reset role;

-- As A's (former) member, now manager, with its new role --------------------
set local role vectra_member;
select set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000003', true), set_config('app.role', 'manager', true),
       set_config('app.session_id', 'dddddddd-0000-0000-0000-000000000003', true);
select is((app.list_users(1, 10, null, null, null, null) ->> 'total')::int, 3, 'a manager lists the three users of A');
select throws_ok($$ select app.list_audit_log(1, 10, null, null) $$, 'VA403', null, 'a manager does not read the audit log');
select throws_ok($$ select auth.revoke_member_sessions('aaaaaaaa-0000-0000-0000-000000000001', 'spite') $$,
  '42501', null, 'a manager cannot end anyone''s sessions (nobody calls it directly)');
select throws_ok($$ select extensions.gen_random_bytes(8) $$, '42501', null, 'pgcrypto is out of reach of request roles');
select set_config('app.role', '', true);
select throws_ok($$ select app.remove_user('aaaaaaaa-0000-0000-0000-000000000001') $$,
  'VA403', 'Organization user access required', 'without a role setting nobody removes anyone');
select set_config('app.role', 'manager', true);
reset role;

-- As A's owner -------------------------------------------------------------------
set local role vectra_member;
select set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000001', true), set_config('app.role', 'owner', true),
       set_config('app.session_id', 'dddddddd-0000-0000-0000-000000000001', true);
select throws_ok($$ select app.remove_user('aaaaaaaa-0000-0000-0000-000000000001') $$,
  'VA409', 'The organization must keep at least one active owner', 'the last owner stays');
select throws_ok($$ select app.update_organization('{"plan": "pro"}') $$,
  'VA422', null, 'the plan is not the organization''s to change');
reset role;

select * from finish();
rollback;
