-- Direct SQL as each request role is never more powerful than the API for
-- the same caller. Every statement a security review found succeeding as
-- vectra_member is tried here and must be refused; then the same for the
-- platform admin, the worker and the DBAs' reader.
--
-- The same file runs on a Citus cluster (scripts/citus-test.sh), in a
-- database the Postman collection and 02_tenant_isolation.sql have used:
-- its organizations, users and addresses are its own; the fixtures are
-- committed first and removed at the end; each role's part is a
-- transaction of its own, committed (pgTAP keeps its results in the
-- session), and a function's write is the last thing its transaction does
-- (Citus refuses a transaction that reads, as one role, shards another
-- wrote); settings are SET LOCAL (which reaches the shards; on PostgreSQL
-- the same as set_config(…, true)) and roles switch with set_config, as the
-- service's do. Counts are of this file's rows. A count that names one
-- organization is passed to pgTAP as text (results_eq): as one statement,
-- Citus would send it whole to the shard's worker, pgTAP's call included,
-- where pgTAP's session tables are not.

begin;
insert into organizations (id, name, slug) values
  ('a4000000-0000-0000-0000-000000000000', 'Alpha 4', 'alpha-4'),
  ('b4000000-0000-0000-0000-000000000000', 'Beta 4', 'beta-4');
insert into users (id, organization_id, email, password_hash, full_name, role, email_verified_at) values
  ('a4000000-0000-0000-0000-000000000001', 'a4000000-0000-0000-0000-000000000000', 'owner@alpha4.test', 'h', 'Ann', 'owner', now()),
  ('a4000000-0000-0000-0000-000000000002', 'a4000000-0000-0000-0000-000000000000', 'member@alpha4.test', 'h', 'Mo', 'member', now()),
  ('a4000000-0000-0000-0000-000000000003', 'a4000000-0000-0000-0000-000000000000', 'manager@alpha4.test', 'h', 'Max', 'manager', now()),
  ('b4000000-0000-0000-0000-000000000001', 'b4000000-0000-0000-0000-000000000000', 'owner@beta4.test', 'h', 'Bob', 'owner', now()),
  ('c4000000-0000-0000-0000-000000000001', null, 'admin4@vectra.test', 'h', 'Pat', 'platform_admin', now());
insert into sessions (id, user_id, token_hash, expires_at) values
  ('a4000000-5555-0000-0000-000000000001', 'a4000000-0000-0000-0000-000000000001', sha256('direct-sql-s1'), now() + interval '1 day'),
  ('a4000000-5555-0000-0000-000000000002', 'a4000000-0000-0000-0000-000000000002', sha256('direct-sql-s2'), now() + interval '1 day'),
  ('a4000000-5555-0000-0000-000000000003', 'a4000000-0000-0000-0000-000000000003', sha256('direct-sql-s3'), now() + interval '1 day');
insert into invitations (organization_id, id, email, role, token_hash, invited_by, expires_at) values
  ('a4000000-0000-0000-0000-000000000000', 'a4000000-1111-0000-0000-000000000001', 'invitee@alpha4.test', 'member',
   sha256('real'), 'a4000000-0000-0000-0000-000000000001', now() + interval '7 days');
-- Due tomorrow: a running service's worker leaves them alone until the
-- worker's part below makes them due.
insert into email_outbox (organization_id, to_email, template, context, next_attempt_at) values
  ('a4000000-0000-0000-0000-000000000000', 'member@alpha4.test', 'verify-email', '{"name": "Mo", "token": "secret-1"}',
   now() + interval '1 day'),
  ('b4000000-0000-0000-0000-000000000000', 'owner@beta4.test', 'verify-email', '{"name": "Bob", "token": "secret-2"}',
   now() + interval '1 day');
insert into campaigns (organization_id, id, name) values
  ('a4000000-0000-0000-0000-000000000000', 'a4000000-cccc-0000-0000-000000000001', 'A launch');
commit;

begin;
select plan(57);
-- User N of A (…000N) in a request of its own session (a4000000-5555-…000N)
-- with the role ROLE: the service's role, and the settings as SET LOCAL.
create function pg_temp.in_a_request(p_n integer, p_role text) returns void language plpgsql as $f$
begin
  perform pg_catalog.set_config('role', 'vectra_member', true);
  execute pg_catalog.format('set local app.org_id = %L', 'a4000000-0000-0000-0000-000000000000');
  execute pg_catalog.format('set local app.user_id = %L', 'a4000000-0000-0000-0000-00000000000' || p_n);
  execute pg_catalog.format('set local app.session_id = %L', 'a4000000-5555-0000-0000-00000000000' || p_n);
  execute pg_catalog.format('set local app.role = %L', p_role);
end $f$;
commit;

-- An ordinary member of A, with its own live session ----------------------------
begin;
select pg_temp.in_a_request(2, 'member');

select throws_ok($$ update public.users set role = 'owner' where id = app.current_user_id() $$,
  '42501', null, 'a member cannot make itself owner');
select throws_ok($$ update public.users set role = 'member' where role = 'owner' and id <> app.current_user_id() $$,
  '42501', null, 'a member cannot demote the owners (leaving none)');
select throws_ok($$ update public.organizations set name = 'x' $$,
  '42501', null, 'a member cannot rename the organization');
select throws_ok($$ insert into public.audit_log (organization_id, actor_id, action, target_type, target_id)
                    values (app.current_org_id(), app.current_user_id(), 'user.role_change', 'user', app.current_user_id()) $$,
  '42501', null, 'a member cannot forge an audit entry');
select throws_ok($$ insert into public.email_outbox (organization_id, to_email, template, context)
                    values (app.current_org_id(), 'victim@elsewhere.test', 'reset-password', '{"token":"chosen"}') $$,
  '42501', null, 'a member cannot queue an email to anyone with any template');
select throws_ok($$ insert into public.invitations (organization_id, email, role, token_hash, invited_by, expires_at)
                    values (app.current_org_id(), 'attacker@evil.test', 'owner', sha256(convert_to('known', 'UTF8')),
                            app.current_user_id(), now() + interval '7 days') $$,
  '42501', null, 'a member cannot plant an owner invitation with a token it knows');
select throws_ok($$ update public.invitations set token_hash = sha256(convert_to('known', 'UTF8'))
                     where accepted_at is null $$,
  '42501', null, 'a member cannot swap the token hash of a pending invitation');
select throws_ok($$ select app.hash_token('known') $$,
  '42501', null, 'token hashing is not the member''s to call');
select throws_ok($$ select app.audit('user.remove', 'user', null, '{}') $$,
  '42501', null, 'the audit helper is not callable directly');
select throws_ok($$ select auth.revoke_member_sessions('a4000000-0000-0000-0000-000000000001', 'spite') $$,
  '42501', null, 'ending a colleague''s sessions is not callable directly');
select throws_ok($$ insert into public.notifications (organization_id, type, sender_id, subject, body)
                    values (app.current_org_id(), 'org_owner_to_members', app.current_user_id(), 'S', 'B') $$,
  '42501', null, 'a member cannot record a notification directly');

-- Through the functions, with its own settings: the API's answers.
select throws_ok($$ select app.change_user_role('a4000000-0000-0000-0000-000000000002', 'owner') $$,
  'VA403', 'This action requires one of the roles: owner, admin', 'the function refuses a member');
select throws_ok($$ select app.invite_user('friend@evil.test', 'member') $$,
  'VA403', 'This action requires one of the roles: owner, admin', 'a member cannot invite');

-- Forged settings: the member claims to be the owner (role, then user).
set local app.role = 'owner';
select throws_ok($$ select app.change_user_role('a4000000-0000-0000-0000-000000000002', 'owner') $$,
  'VA401', 'Token no longer matches the account', 'a forged role setting is caught against the session');
set local app.user_id = 'a4000000-0000-0000-0000-000000000001';
select throws_ok($$ select app.change_user_role('a4000000-0000-0000-0000-000000000002', 'owner') $$,
  'VA401', 'Token no longer matches the account', 'another user''s id without that user''s session is caught too');
select throws_ok($$ select app.update_organization('{"name": "Owned"}') $$,
  'VA401', 'Token no longer matches the account', 'renaming with forged settings is refused');
select is((select role::text from users where id = 'a4000000-0000-0000-0000-000000000002'), 'member',
  'the member is still a member');

-- Prospecting data: no role writes it directly; the functions carry the matrix.
set local app.user_id = 'a4000000-0000-0000-0000-000000000002';
set local app.role = 'member';
set local app.session_id = 'a4000000-5555-0000-0000-000000000002';
select throws_ok($$ insert into campaigns (organization_id, name) values (app.current_org_id(), 'Mine') $$,
  '42501', null, 'a member does not insert campaigns');
select throws_ok($$ update campaigns set name = 'Renamed' $$, '42501', null, 'a member does not update campaigns');
select results_eq($$ select name from campaigns $$, $$ values ('A launch') $$, 'a member reads its organization''s campaigns');
select throws_ok($$ select app.create_campaign('{"name": "Mine"}') $$,
  'VA403', 'This action requires one of the roles: owner, admin, manager', 'the function refuses a member');
set local app.role = 'manager';
select throws_ok($$ select app.create_campaign('{"name": "Mine"}') $$,
  'VA401', 'Token no longer matches the account', 'a member claiming to be a manager is caught');
set local app.user_id = 'a4000000-0000-0000-0000-000000000003';
set local app.session_id = 'a4000000-5555-0000-0000-000000000003';
select throws_ok($$ insert into campaigns (organization_id, name) values (app.current_org_id(), 'Q3') $$,
  '42501', null, 'even a manager writes only through the functions');
select lives_ok($$ select app.create_campaign('{"name": "Q3"}') $$, 'a manager creates a campaign');
commit;

begin;
select pg_temp.in_a_request(3, 'manager');
select throws_ok($$ select app.delete_campaign((select id from campaigns where name = 'Q3')) $$,
  'VA403', 'This action requires one of the roles: owner, admin', 'a manager deletes nothing');
set local app.user_id = 'a4000000-0000-0000-0000-000000000001';
set local app.role = 'owner';
set local app.session_id = 'a4000000-5555-0000-0000-000000000001';
select lives_ok($$ select app.delete_campaign((select id from campaigns where name = 'Q3')) $$, 'an owner deletes a campaign');
select set_config('role', 'none', true);
commit;

-- The owner of A, with its real session: even the top role goes through the
-- functions, and they still work --------------------------------------------------
begin;
create temp table direct_sql_audit as
  select count(*)::int as n from audit_log
   where action = 'user.role_change' and actor_id = 'a4000000-0000-0000-0000-000000000001';
grant select on direct_sql_audit to public;
commit;

begin;
select pg_temp.in_a_request(1, 'owner');
select throws_ok($$ update public.users set role = 'admin' where id = 'a4000000-0000-0000-0000-000000000002' $$,
  '42501', null, 'an owner changes roles only through the function');
select throws_ok($$ insert into public.audit_log (organization_id, actor_id, action)
                    values (app.current_org_id(), app.current_user_id(), 'organization.update') $$,
  '42501', null, 'an owner cannot write the audit log directly');
select is(app.change_user_role('a4000000-0000-0000-0000-000000000002', 'admin') ->> 'role', 'admin',
  'the owner promotes through the function');
commit;

begin;
select pg_temp.in_a_request(1, 'owner');
select results_eq($$ select count(*)::int from audit_log where action = 'user.role_change'
                      and actor_id = 'a4000000-0000-0000-0000-000000000001' $$,
                  $$ select n + 1 from direct_sql_audit $$,
  'and the function wrote the audit entry, in the owner''s name');
select throws_ok($$ select app.change_user_role('a4000000-0000-0000-0000-000000000001', 'member') $$,
  'VA409', 'The organization must keep at least one active owner', 'the last owner stays');
select throws_ok($$ select app.change_user_role('b4000000-0000-0000-0000-000000000001', 'member') $$,
  'VA404', 'User not found', 'another tenant''s user is not found');
select is(app.invite_user('new@alpha4.test', 'manager') ->> 'status', 'pending', 'the owner invites');
commit;

begin;
select results_eq($$ select count(*)::int from email_outbox where template = 'invite-user'
                      and organization_id = 'a4000000-0000-0000-0000-000000000000' $$, array[1],
  'the invitation email was queued by the function');

-- vectra_platform_admin -----------------------------------------------------------
create temp table direct_sql_organizations as select count(*)::int as n from organizations;
grant select on direct_sql_organizations to public;
select set_config('role', 'vectra_platform_admin', true);
select is_empty($$ select 1 from organizations $$, 'the bare platform-admin role sees no organization');
select is_empty($$ select 1 from users $$, 'the bare platform-admin role sees no user');
set local app.user_id = 'c4000000-0000-0000-0000-000000000001';
set local app.role = 'platform_admin';
select results_eq($$ select count(*)::int from organizations $$, $$ select n from direct_sql_organizations $$,
  'in its context it sees every organization');
select throws_ok($$ update public.users set role = 'member' where role = 'owner' $$,
  '42501', null, 'the platform admin does not rewrite roles directly');
select throws_ok($$ insert into public.audit_log (organization_id, actor_id, action)
                    values (null, app.current_user_id(), 'organization.create') $$,
  '42501', null, 'the platform admin does not write the audit log directly');
select throws_ok($$ insert into public.email_outbox (to_email, template, context)
                    values ('victim@elsewhere.test', 'reset-password', '{"token":"chosen"}') $$,
  '42501', null, 'the platform admin does not queue arbitrary email');
select throws_ok($$ delete from public.organizations $$, '42501', null, 'the platform admin does not delete directly');
select set_config('role', 'none', true);
commit;

-- vectra_worker: the outbox through its three functions only ------------------------
begin;
update email_outbox set next_attempt_at = now() where to_email in ('member@alpha4.test', 'owner@beta4.test');
select set_config('role', 'vectra_worker', true);
select throws_ok($$ select context from public.email_outbox $$, '42501', null, 'the worker cannot browse pending tokens');
select throws_ok($$ update public.email_outbox set to_email = 'elsewhere@x.test' $$, '42501', null,
  'the worker cannot redirect an email');
select is((select count(*)::int from auth.outbox_claim(1000, '5 minutes')
             where context ? 'token' and to_email in ('member@alpha4.test', 'owner@beta4.test')), 2,
  'claiming returns the due rows with their context');
select is((select count(*)::int from auth.outbox_claim(1000, '5 minutes')
             where to_email in ('member@alpha4.test', 'owner@beta4.test')), 0, 'a second claim finds nothing due');
select set_config('role', 'none', true);
update email_outbox set status = 'pending', claimed_at = null where to_email = 'owner@beta4.test';
select set_config('test.unclaimed', (select id::text from email_outbox where to_email = 'owner@beta4.test'), true);
select set_config('role', 'vectra_worker', true);
select is(auth.outbox_mark_sent(current_setting('test.unclaimed')::uuid, 'Hi'), false,
  'a row the worker has not claimed cannot be marked sent');
select is(auth.outbox_mark_sent((select c.organization_id from auth.outbox_claim(1000, '5 minutes') c
                                 where c.to_email = 'owner@beta4.test'),
                                current_setting('test.unclaimed')::uuid, 'Hi'), true,
  'claimed, it is marked sent by its organization and id');
select set_config('role', 'none', true);
commit;

-- vectra_tenant_reader: a DBA's view of one tenant ---------------------------------------
begin;
set local app.org_id = '';
set local app.user_id = '';
set local app.session_id = '';
set local app.role = '';
select set_config('role', 'vectra_tenant_reader', true);
select is_empty($$ select 1 from users $$, 'the reader without settings sees no user');
set local app.org_id = 'a4000000-0000-0000-0000-000000000000';
set local app.user_id = 'a4000000-0000-0000-0000-000000000001';
set local app.role = 'owner';
select results_eq($$ select count(*)::int from users $$, array[3], 'with A''s settings it sees A''s three users');
select is_empty($$ select 1 from users where organization_id <> app.current_org_id() $$, 'and nobody else''s');
select results_eq($$ select (app.list_users(1, 10, null, null, null, null) ->> 'total')::int $$, array[3],
  'it may call the read functions');
select throws_ok($$ select password_hash from users $$, '42501', null, 'the reader reads no password hash');
select throws_ok($$ select context from email_outbox $$, '42501', null, 'the reader reads no email context');
select throws_ok($$ select 1 from sessions $$, '42501', null, 'the reader reads no session');
select throws_ok($$ insert into campaigns (organization_id, name) values (app.current_org_id(), 'X') $$,
  '42501', null, 'the reader writes nothing');
select throws_ok($$ select app.update_organization('{"name": "x"}') $$, '42501', null,
  'the reader calls no write function');
select set_config('role', 'none', true);

commit;

-- Nobody can become vectra_definer -------------------------------------------------------
begin;
select is((select count(*)::int from pg_auth_members m join pg_roles r on r.oid = m.roleid
            join pg_roles g on g.oid = m.member
           where r.rolname = 'vectra_definer' and g.rolname <> current_user), 0,
  'vectra_definer is granted to nobody (a migration owner that is not a superuser excepted)');

select * from finish();
commit;

-- This file's rows go (its audit entries stay, as an erased organization's do).
begin;
set local citus.multi_shard_modify_mode = 'sequential';
select auth.erase_organization('a4000000-0000-0000-0000-000000000000'),
       auth.erase_organization('b4000000-0000-0000-0000-000000000000');
delete from users where id = 'c4000000-0000-0000-0000-000000000001';
commit;
