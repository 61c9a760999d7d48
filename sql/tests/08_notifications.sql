-- Notifications as direct SQL would try them: who may send which
-- type, whom each type reaches, suppressions and signed unsubscribe links,
-- idempotent replays, and the history of each organization kept to itself.

begin;
select plan(35);

insert into organizations (id, name, slug) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'Alpha', 'alpha'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'Beta', 'beta');
insert into users (id, organization_id, email, password_hash, full_name, role, status, email_verified_at) values
  ('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000000', 'owner@alpha.test', 'h', 'Ann', 'owner', 'active', now()),
  ('aaaaaaaa-0000-0000-0000-000000000002', 'aaaaaaaa-0000-0000-0000-000000000000', 'member@alpha.test', 'h', 'Mo', 'member', 'active', now()),
  ('aaaaaaaa-0000-0000-0000-000000000003', 'aaaaaaaa-0000-0000-0000-000000000000', 'gone@alpha.test', 'h', 'Gus', 'member', 'suspended', now()),
  ('bbbbbbbb-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000000', 'owner@beta.test', 'h', 'Bob', 'owner', 'active', now()),
  ('bbbbbbbb-0000-0000-0000-000000000002', 'bbbbbbbb-0000-0000-0000-000000000000', 'member@beta.test', 'h', 'Bea', 'member', 'active', now()),
  ('cccccccc-0000-0000-0000-000000000001', null, 'admin@vectra.test', 'h', 'Pat', 'platform_admin', 'active', now());
insert into sessions (id, user_id, token_hash, expires_at) values
  ('aaaaaaaa-5555-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000001', sha256('s1'), now() + interval '1 day'),
  ('aaaaaaaa-5555-0000-0000-000000000002', 'aaaaaaaa-0000-0000-0000-000000000002', sha256('s2'), now() + interval '1 day'),
  ('bbbbbbbb-5555-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000001', sha256('s3'), now() + interval '1 day'),
  ('cccccccc-5555-0000-0000-000000000001', 'cccccccc-0000-0000-0000-000000000001', sha256('s4'), now() + interval '1 day');
insert into leads (organization_id, email, status) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'p1@prospect.test', 'new'),
  ('aaaaaaaa-0000-0000-0000-000000000000', 'p2@prospect.test', 'contacted'),
  ('aaaaaaaa-0000-0000-0000-000000000000', 'p3@prospect.test', 'lost'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'p1@prospect.test', 'new');

create function pg_temp.as_user(p_user text, p_session text, p_org text, p_role text) returns void
language sql as $$
  select set_config('app.user_id', p_user, true), set_config('app.session_id', p_session, true),
         set_config('app.org_id', coalesce(p_org, ''), true), set_config('app.role', p_role, true)
$$;
grant execute on function pg_temp.as_user(text, text, text, text) to public;

-- A member of Alpha sends nothing, directly or through the function.
set local role vectra_member;
select pg_temp.as_user('aaaaaaaa-0000-0000-0000-000000000002', 'aaaaaaaa-5555-0000-0000-000000000002',
                       'aaaaaaaa-0000-0000-0000-000000000000', 'member');
select throws_ok($$ select app.send_notification('{"type": "org_owner_to_members", "recipients": "all", "subject": "s", "body": "b"}', null) $$,
  'VA403', 'This action requires one of the roles: owner, admin', 'a member sends no notification');
select throws_ok($$ insert into public.email_outbox (organization_id, to_email, template, context)
                    values (app.current_org_id(), 'victim@elsewhere.test', 'notification', '{"subject": "x", "body": "y"}') $$,
  '42501', null, 'nor queues one directly');
select throws_ok($$ select app.admin_send_notification('{"type": "vectra_to_users", "recipients": "all", "subject": "s", "body": "b"}', null) $$,
  '42501', null, 'nor calls the platform admin''s');
-- With a forged owner role, the session is not an owner's.
select set_config('app.role', 'owner', true);
select throws_ok($$ select app.send_notification('{"type": "org_owner_to_members", "recipients": "all", "subject": "s", "body": "b"}', null) $$,
  'VA401', 'Token no longer matches the account', 'a forged role is refused');

-- Alpha's owner.
select pg_temp.as_user('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-5555-0000-0000-000000000001',
                       'aaaaaaaa-0000-0000-0000-000000000000', 'owner');
select throws_ok($$ select app.send_notification('{"type": "system_alerts", "recipients": "all", "subject": "s", "body": "b"}', null) $$,
  'VA403', 'An organization sends org_to_prospects or org_owner_to_members; system_alerts is the platform admin''s',
  'a platform type is refused, naming the organization''s');
select throws_ok($$ select app.send_notification('{"type": "org_owner_to_members", "recipients": ["member@beta.test"], "subject": "s", "body": "b"}', null) $$,
  'VA422', 'recipients: not active members of this organization: member@beta.test', 'Beta''s member is not reachable from Alpha');
select throws_ok($$ select app.send_notification('{"type": "org_owner_to_members", "recipients": ["gone@alpha.test"], "subject": "s", "body": "b"}', null) $$,
  'VA422', 'recipients: not active members of this organization: gone@alpha.test', 'nor a suspended member');
select throws_ok($$ select app.send_notification('{"type": "org_to_prospects", "recipients": ["x@y.test"], "subject": "", "body": "b", "action_url": "javascript:alert(1)", "extra": 1}', null) $$,
  'VA422', 'The request has invalid fields', 'bad fields are refused by the database too');
select is(app.send_notification('{"type": "org_owner_to_members", "recipients": "all", "subject": "Team news", "body": "Hello"}', 'k-1') ->> 'recipient_count',
  '1', '"all" members: the active ones but the sender');
reset role;
select is((select array_agg(to_email) from email_outbox where template = 'notification'), array['member@alpha.test'],
  'one outbox row, for Alpha''s active member');
select is((select count(*)::int from notifications where subject = 'Team news' and body = 'Hello'), 1,
  'the content is stored once, in the notification');
select is((select context from email_outbox where template = 'notification'), '{}'::jsonb,
  'not in every outbox row (members'' mail carries no unsubscribe link)');
select is((select action || ' ' || (actor_id = 'aaaaaaaa-0000-0000-0000-000000000001')::text from audit_log where action = 'notification.send'),
  'notification.send true', 'the send is audited in the sender''s name');

-- The same key again: the first answer, nothing more; another body: refused.
set local role vectra_member;
select pg_temp.as_user('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-5555-0000-0000-000000000001',
                       'aaaaaaaa-0000-0000-0000-000000000000', 'owner');
select is(app.send_notification('{"type": "org_owner_to_members", "recipients": "all", "subject": "Team news", "body": "Hello"}', 'k-1') ->> 'id',
  (select id::text from notifications where subject = 'Team news'), 'a replay answers the first send');
select throws_ok($$ select app.send_notification('{"type": "org_owner_to_members", "recipients": "all", "subject": "Other", "body": "Hello"}', 'k-1') $$,
  'VA422', 'Idempotency-Key: already used for a different request in the last 24 hours', 'the same key with another body is refused');
reset role;
select is((select count(*)::int from email_outbox where template = 'notification'), 1, 'and nothing more was queued');

-- Prospects: the leads not lost, each link signed for Alpha and that address.
set local role vectra_member;
select pg_temp.as_user('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-5555-0000-0000-000000000001',
                       'aaaaaaaa-0000-0000-0000-000000000000', 'owner');
select is(app.send_notification('{"type": "org_to_prospects", "recipients": "all", "subject": "Offer", "body": "Buy"}', null) - 'id',
  '{"type": "org_to_prospects", "recipient_count": 2, "suppressed_count": 0, "status": "queued"}'::jsonb,
  '"all" prospects: Alpha''s leads that are not lost');
reset role;
select set_config('test.token', (select context ->> 'unsubscribe_token' from email_outbox
                                  where to_email = 'p1@prospect.test' and template = 'notification'), true);
set local role vectra_anon;
select is(auth.unsubscribe(current_setting('test.token'), false) ->> 'unsubscribed', 'false', 'GET shows what the link would do');
reset role;
select is((select count(*)::int from lead_suppressions), 0, 'and changes nothing');
set local role vectra_anon;
select is(auth.unsubscribe(current_setting('test.token'), true) - 'unsubscribed',
  '{"kind": "prospects", "email": "p1@prospect.test", "organization_name": "Alpha"}'::jsonb, 'POST unsubscribes, no login');
select throws_ok($$ select auth.unsubscribe(left(current_setting('test.token'), -1) ||
                                            case when right(current_setting('test.token'), 1) = 'A' then 'B' else 'A' end, true) $$,
  'VA400', 'Invalid unsubscribe link', 'a tampered signature is refused');
select throws_ok($$ select auth.unsubscribe(auth.b64url(convert_to('prospects:bbbbbbbb-0000-0000-0000-000000000000:p1@prospect.test', 'UTF8'))
                                            || '.' || split_part(current_setting('test.token'), '.', 2), true) $$,
  '42501', null, 'anon cannot even build a payload (and a moved one would not verify)');
select throws_ok($$ select auth.unsubscribe('bm9wZQ.bm9wZQ', true) $$, 'VA400', 'Invalid unsubscribe link', 'nor forge one');
reset role;
select is((select array_agg(organization_id::text || ' ' || email) from lead_suppressions),
  array['aaaaaaaa-0000-0000-0000-000000000000 p1@prospect.test'], 'suppressed for Alpha only');
set local role vectra_member;
select pg_temp.as_user('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-5555-0000-0000-000000000001',
                       'aaaaaaaa-0000-0000-0000-000000000000', 'owner');
select is(app.send_notification('{"type": "org_to_prospects", "recipients": ["P1@prospect.test", "p2@prospect.test"], "subject": "Again", "body": "Buy"}', null)
            ->> 'suppressed_count', '1', 'a later send skips the address and counts it');

-- The history is the organization's own.
select is((app.list_notifications(1, 20, null, null) ->> 'total')::int, 3, 'Alpha lists its three sends');
select is((app.list_notifications(1, 20, 'org_to_prospects', null) ->> 'total')::int, 2, 'filtered by type');
select set_config('test.team_news', (select id::text from notifications where subject = 'Team news'), true);
select pg_temp.as_user('bbbbbbbb-0000-0000-0000-000000000001', 'bbbbbbbb-5555-0000-0000-000000000001',
                       'bbbbbbbb-0000-0000-0000-000000000000', 'owner');
select is((app.list_notifications(1, 20, null, null) ->> 'total')::int, 0, 'Beta sees none of them');
select throws_ok(format($$ select app.get_notification(%L, 1, 20, null) $$, current_setting('test.team_news')::uuid),
  'VA404', 'Notification not found', 'nor opens one');
reset role;

-- An owner whose email is not verified sends nothing.
update users set email_verified_at = null where email = 'owner@beta.test';
set local role vectra_member;
select pg_temp.as_user('bbbbbbbb-0000-0000-0000-000000000001', 'bbbbbbbb-5555-0000-0000-000000000001',
                       'bbbbbbbb-0000-0000-0000-000000000000', 'owner');
select throws_ok($$ select app.send_notification('{"type": "org_owner_to_members", "recipients": "all", "subject": "s", "body": "b"}', null) $$,
  'VA403', 'Verify your email address first: until then this account can only read', 'an unverified owner sends nothing');
reset role;

-- The platform admin.
set local role vectra_platform_admin;
select pg_temp.as_user('cccccccc-0000-0000-0000-000000000001', 'cccccccc-5555-0000-0000-000000000001', null, 'platform_admin');
select throws_ok($$ select app.admin_send_notification('{"type": "vectra_to_org_owner", "organization_ids": ["dddddddd-0000-0000-0000-000000000000"], "subject": "s", "body": "b"}', null) $$,
  'VA422', 'organization_ids: unknown: dddddddd-0000-0000-0000-000000000000', 'unknown organizations are named');
reset role;
update organizations set status = 'suspended' where slug = 'beta';
update users set announcements_opt_out_at = now() where email = 'member@alpha.test';
set local role vectra_platform_admin;
select pg_temp.as_user('cccccccc-0000-0000-0000-000000000001', 'cccccccc-5555-0000-0000-000000000001', null, 'platform_admin');
select is(app.admin_send_notification('{"type": "vectra_to_org_owner", "recipients": "all", "subject": "Owners", "body": "b"}', null) ->> 'recipient_count',
  '1', 'owners of active organizations only');
select is(app.admin_send_notification('{"type": "vectra_to_users", "recipients": "all", "subject": "News", "body": "b"}', null) - 'id',
  '{"type": "vectra_to_users", "recipient_count": 2, "suppressed_count": 1, "status": "queued"}'::jsonb,
  'announcements: active users of active organizations and the platform admin, without the opted-out');
reset role;
select is((select array_agg(e.to_email order by e.to_email) from email_outbox e join notifications n on n.id = e.notification_id
            where n.subject = 'News'), array['admin@vectra.test', 'owner@alpha.test'], 'those two');

-- The worker gets the content with each claimed row.
set local role vectra_worker;
select is((select context ->> 'subject' from auth.outbox_claim(100, '5 minutes') where to_email = 'admin@vectra.test'),
  'News', 'a claimed notification email carries its subject and body');
reset role;

select * from finish();
rollback;
