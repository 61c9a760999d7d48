-- Tenant mail as direct SQL would try it: an owner's send to addresses that
-- are not the organization's leads, a subject passing for the platform's
-- alerts, an organization named after the platform, a suspended
-- organization's mail at the worker's claim, and suppression by mailbox.

begin;
select plan(16);

insert into organizations (id, name, slug, status, deleted_at) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'Alpha', 'alpha', 'active', null),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'Beta', 'beta', 'suspended', null);
insert into users (id, organization_id, email, password_hash, full_name, role, status, email_verified_at) values
  ('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000000', 'owner@alpha.test', 'h', 'Ann', 'owner', 'active', now()),
  ('bbbbbbbb-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000000', 'owner@beta.test', 'h', 'Bob', 'owner', 'active', now());
insert into sessions (id, user_id, token_hash, expires_at) values
  ('aaaaaaaa-5555-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000001', sha256('s1'), now() + interval '1 day');
insert into leads (organization_id, email) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'lea@prospect.test'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'bea@prospect.test');

create function pg_temp.as_owner() returns void
language sql as $$
  select set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000001', true),
         set_config('app.session_id', 'aaaaaaaa-5555-0000-0000-000000000001', true),
         set_config('app.org_id', 'aaaaaaaa-0000-0000-0000-000000000000', true), set_config('app.role', 'owner', true)
$$;
grant execute on function pg_temp.as_owner() to public;

set local role vectra_member;
select pg_temp.as_owner();
select throws_ok($$ select app.send_notification('{"type": "org_to_prospects", "recipients": ["lea@prospect.test", "bea@prospect.test", "x@elsewhere.test"], "subject": "Hi", "body": "Hi"}', null) $$,
  'VA422', 'recipients: not leads of this organization: bea@prospect.test, x@elsewhere.test',
  'an owner''s direct send names the addresses that are not its leads (another tenant''s lead included)');
select throws_ok($$ select app.send_notification('{"type": "org_to_prospects", "recipients": ["lea@prospect.test"], "subject": "[alert] Your account", "body": "Hi"}', null) $$,
  'VA422', 'subject: must not hold "[Alert]" or the platform''s name (Vectra): they mark the platform''s own mail',
  'nor passes for the platform''s alerts');
select throws_ok($$ select app.send_notification('{"type": "org_owner_to_members", "recipients": "all", "subject": "VECTRA notice", "body": "Hi"}', null) $$,
  'VA422', 'subject: must not hold "[Alert]" or the platform''s name (Vectra): they mark the platform''s own mail',
  'nor borrows the platform''s name, to members either');
select is(app.send_notification('{"type": "org_to_prospects", "recipients": ["LEA@prospect.test"], "subject": "Hi", "body": "Hi"}', null) ->> 'recipient_count',
  '1', 'a listed lead, in any case, goes');
select throws_ok($$ select app.update_organization('{"name": "The Vectra Team"}') $$,
  'VA422', 'name: Vectra is the platform''s name; choose another', 'the owner cannot rename the organization after the platform');
reset role;

-- The trigger holds for every writer, the migration owner (register) too.
select throws_ok($$ insert into organizations (name, slug) values ('Ｖｅｃｔｒａ Security', 'vs') $$,
  'VA422', 'organization_name: Vectra is the platform''s name; choose another', 'register cannot name one after the platform');
-- A platform-admin *setting* is not a platform admin: the trigger checks the session.
select throws_ok($$ select set_config('app.role', 'platform_admin', true), set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000001', true);
                    insert into organizations (name, slug) values ('Vectra Internal', 'vectra-internal') $$,
  'VA422', 'organization_name: Vectra is the platform''s name; choose another', 'a forged platform-admin setting does not lift it');
insert into users (id, organization_id, email, password_hash, full_name, role, status, email_verified_at) values
  ('99999999-0000-0000-0000-000000000001', null, 'ops@vectra.test', 'h', 'Vectra Ops', 'platform_admin', 'active', now());
insert into sessions (id, user_id, token_hash, expires_at) values
  ('99999999-5555-0000-0000-000000000001', '99999999-0000-0000-0000-000000000001', sha256('pa'), now() + interval '1 day');
select lives_ok($$ select set_config('app.role', 'platform_admin', true), set_config('app.org_id', '', true),
                          set_config('app.user_id', '99999999-0000-0000-0000-000000000001', true),
                          set_config('app.session_id', '99999999-5555-0000-0000-000000000001', true);
                   insert into organizations (name, slug) values ('Vectra Internal', 'vectra-internal') $$,
  'the platform admin, in its live session, may (and is itself named so)');
select set_config('app.role', '', true), set_config('app.user_id', '', true), set_config('app.session_id', '', true);
select throws_ok($$ insert into users (organization_id, email, password_hash, full_name, role)
                    values ('aaaaaaaa-0000-0000-0000-000000000000', 'x@alpha.test', 'h', '[ALERT] Security Desk', 'member') $$,
  'VA422', 'full_name: "[Alert]" marks the platform''s own alerts; choose another', 'nor may a user''s full name pass for an alert');

-- The worker's claim withholds a suspended organization's mail.
insert into notifications (id, organization_id, type, sender_id, subject, body, recipient_count)
  values ('bbbbbbbb-7777-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000000', 'org_to_prospects',
          'bbbbbbbb-0000-0000-0000-000000000001', 'Old offer', 'b', 1);
insert into email_outbox (organization_id, notification_id, to_email, template) values
  ('bbbbbbbb-0000-0000-0000-000000000000', 'bbbbbbbb-7777-0000-0000-000000000001', 'bea@prospect.test', 'notification'),
  ('bbbbbbbb-0000-0000-0000-000000000000', null, 'owner@beta.test', 'organization-update');
set local role vectra_worker;
select is(array(select to_email || ' ' || template from auth.outbox_claim(100, '5 minutes') order by 1),
  array['lea@prospect.test notification', 'owner@beta.test organization-update'],
  'the claim leaves out the suspended organization''s notification; the platform''s notice about it goes');
reset role;
select is((select status::text || ': ' || last_error from email_outbox where to_email = 'bea@prospect.test'),
  'cancelled: withheld: the organization is suspended', 'and marks it cancelled, saying why');
select is((select count(*)::int from auth.outbox_claim(100, '0 seconds') c where c.to_email = 'bea@prospect.test'), 0,
  'a cancelled row is never claimed again');

-- Suppression compares mailboxes.
select is(app.mailbox_key('Ann+News@Example.TEST'), 'ann@example.test', 'a +tag and the case do not make another mailbox');
select is(app.mailbox_key('ann@example.test'), 'ann@example.test', 'a plain address is its own mailbox');
select is(app.mailbox_key('A.Nn+x@GoogleMail.com'), 'ann@gmail.com', 'Gmail ignores dots, and googlemail.com is gmail.com');
select is(app.name_key('Véc̆tra Ｓupport, Vеctra (Cyrillic е)'), 'vectrasupportvectracyrillice',
  'accents, fullwidth and Cyrillic look-alikes fold to the Latin letters they imitate');

select * from finish();
rollback;
