-- Notification limits as direct SQL would try them: the daily quota of an
-- organization's notification emails, notification rows and suppressions
-- kept from members and managers, odd lead addresses never queued,
-- action_url checked by the table itself, and recipients paged.

begin;
select plan(16);

insert into organizations (id, name, slug) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'Alpha', 'alpha');
insert into users (id, organization_id, email, password_hash, full_name, role, status, email_verified_at) values
  ('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000000', 'owner@alpha.test', 'h', 'Ann', 'owner', 'active', now()),
  ('aaaaaaaa-0000-0000-0000-000000000002', 'aaaaaaaa-0000-0000-0000-000000000000', 'manager@alpha.test', 'h', 'Max', 'manager', 'active', now());
insert into sessions (id, user_id, token_hash, expires_at) values
  ('aaaaaaaa-5555-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000001', sha256('s1'), now() + interval '1 day'),
  ('aaaaaaaa-5555-0000-0000-000000000002', 'aaaaaaaa-0000-0000-0000-000000000002', sha256('s2'), now() + interval '1 day');
insert into leads (organization_id, email, status) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'p1@prospect.test', 'new'),
  ('aaaaaaaa-0000-0000-0000-000000000000', 'p2@prospect.test', 'new'),
  ('aaaaaaaa-0000-0000-0000-000000000000', 'x1@prospect.test', 'lost'),
  ('aaaaaaaa-0000-0000-0000-000000000000', 'x2@prospect.test', 'lost'),
  ('aaaaaaaa-0000-0000-0000-000000000000', 'x3@prospect.test', 'lost'),
  ('aaaaaaaa-0000-0000-0000-000000000000', 'x4@prospect.test', 'lost'),
  ('aaaaaaaa-0000-0000-0000-000000000000', E'a:b@c.test\r\nbcc: z@z.test', 'new'),
  ('aaaaaaaa-0000-0000-0000-000000000000', 'eve <victim@elsewhere.test>', 'new');
insert into email_outbox (organization_id, to_email, template, context) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'new@alpha.test', 'invite-user', '{}');
insert into lead_suppressions (organization_id, email) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'gone@prospect.test');
update auth.settings set notification_emails_per_organization_per_day = 3;

create function pg_temp.as_user(p_user text, p_session text, p_role text) returns void
language sql as $$
  select set_config('app.user_id', p_user, true), set_config('app.session_id', p_session, true),
         set_config('app.org_id', 'aaaaaaaa-0000-0000-0000-000000000000', true), set_config('app.role', p_role, true)
$$;
grant execute on function pg_temp.as_user(text, text, text) to public;

set local role vectra_member;
select pg_temp.as_user('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-5555-0000-0000-000000000001', 'owner');
-- "all" prospects: the two plain addresses; the two odd leads are skipped.
select is(app.send_notification('{"type": "org_to_prospects", "recipients": "all", "subject": "Spring", "body": "Hi"}', null) ->> 'recipient_count',
  '2', '"all" prospects: the plain addresses only');
reset role;
select is((select array_agg(to_email order by to_email) from email_outbox where template = 'notification'),
  array['p1@prospect.test', 'p2@prospect.test'], 'no odd address reaches the outbox');
select is((select data ->> 'skipped_invalid' from audit_log where action = 'notification.send'), '2',
  'the audit entry counts the skipped ones');

-- The quota: 3 a day. Two are used; two more would pass it.
set local role vectra_member;
select pg_temp.as_user('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-5555-0000-0000-000000000001', 'owner');
select throws_ok($$ select app.send_notification('{"type": "org_to_prospects", "recipients": ["x1@prospect.test", "x2@prospect.test"], "subject": "More", "body": "Hi"}', null) $$,
  'VA429', 'This organization has sent 2 notification emails in the last 24 hours (at most 3); try again later',
  'a send past the daily quota waits');
select throws_ok($$ select app.send_notification('{"type": "org_to_prospects", "recipients": ["x1@prospect.test", "x2@prospect.test", "x3@prospect.test", "x4@prospect.test"], "subject": "More", "body": "Hi"}', null) $$,
  'VA422', 'recipients: 4 addresses, more than this organization''s 3 per day', 'one send larger than the quota never passes');
select is(app.send_notification('{"type": "org_to_prospects", "recipients": ["x1@prospect.test"], "subject": "One more", "body": "Hi"}', null) ->> 'recipient_count',
  '1', 'what fits in the quota goes');

-- What the owner reads, and the manager does not (the API shows the history to owners and admins).
select is((select count(*)::int from notifications), 2, 'the owner reads the organization''s notifications');
select is((select count(*)::int from email_outbox where notification_id is not null), 3, 'and their deliveries');
select is((select count(*)::int from lead_suppressions), 1, 'and the suppressions');
select set_config('test.spring', (select id::text from notifications where subject = 'Spring'), true);
select is(jsonb_array_length(app.get_notification(current_setting('test.spring')::uuid, 2, 1, null) -> 'recipients' -> 'items'), 1,
  'recipients come a page at a time');
select is(app.get_notification(current_setting('test.spring')::uuid, 2, 1, null) #>> '{recipients,items,0,email}', 'p2@prospect.test',
  'by address');
select pg_temp.as_user('aaaaaaaa-0000-0000-0000-000000000002', 'aaaaaaaa-5555-0000-0000-000000000002', 'manager');
select is((select count(*)::int from notifications), 0, 'a manager reads no notification by direct SQL');
select is((select count(*)::int from email_outbox), 1, 'nor their deliveries (the invitation''s row stays visible)');
select is((select count(*)::int from lead_suppressions), 0, 'nor the suppressions');
reset role;

-- action_url, whoever writes it.
select throws_ok($$ insert into notifications (organization_id, type, sender_id, subject, body, action_url, action_text)
                    values ('aaaaaaaa-0000-0000-0000-000000000000', 'org_to_prospects', 'aaaaaaaa-0000-0000-0000-000000000001',
                            's', 'b', 'http://a"><script>x</script>/', 'go') $$,
  '23514', null, 'an action_url with markup is refused by the table');
select lives_ok($$ insert into notifications (organization_id, type, sender_id, subject, body, action_url, action_text)
                   values ('aaaaaaaa-0000-0000-0000-000000000000', 'org_to_prospects', 'aaaaaaaa-0000-0000-0000-000000000001',
                           's', 'b', 'https://shop.example:8443/spring?utm=x#top', 'go') $$,
  'a plain one is stored');

select * from finish();
rollback;
