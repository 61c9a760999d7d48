-- Prospecting data: keys that never cross tenants, the role matrix in
-- the functions, the status machines for every path.

begin;
select plan(18);

insert into organizations (id, name, slug) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'Alpha', 'alpha'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'Beta', 'beta');
insert into users (id, organization_id, email, password_hash, full_name, role, email_verified_at) values
  ('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000000', 'owner@alpha.test', 'h', 'Ann', 'owner', now()),
  ('aaaaaaaa-0000-0000-0000-000000000002', 'aaaaaaaa-0000-0000-0000-000000000000', 'manager@alpha.test', 'h', 'Max', 'manager', now()),
  ('aaaaaaaa-0000-0000-0000-000000000003', 'aaaaaaaa-0000-0000-0000-000000000000', 'member@alpha.test', 'h', 'Mo', 'member', now());
insert into sessions (id, user_id, token_hash, expires_at) values
  ('aaaaaaaa-5555-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000001', sha256('s1'), now() + interval '1 day'),
  ('aaaaaaaa-5555-0000-0000-000000000002', 'aaaaaaaa-0000-0000-0000-000000000002', sha256('s2'), now() + interval '1 day'),
  ('aaaaaaaa-5555-0000-0000-000000000003', 'aaaaaaaa-0000-0000-0000-000000000003', sha256('s3'), now() + interval '1 day');
insert into campaigns (organization_id, id, name) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'aaaaaaaa-cccc-0000-0000-000000000001', 'A launch'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'bbbbbbbb-cccc-0000-0000-000000000001', 'B launch');
insert into leads (organization_id, id, campaign_id, email) values
  ('aaaaaaaa-0000-0000-0000-000000000000', 'aaaaaaaa-dddd-0000-0000-000000000001', 'aaaaaaaa-cccc-0000-0000-000000000001', 'lead@a.test'),
  ('bbbbbbbb-0000-0000-0000-000000000000', 'bbbbbbbb-dddd-0000-0000-000000000001', 'bbbbbbbb-cccc-0000-0000-000000000001', 'lead@b.test');

-- The keys, even for the superuser (past every policy).
select throws_ok($$ insert into leads (organization_id, campaign_id, email)
                    values ('aaaaaaaa-0000-0000-0000-000000000000', 'bbbbbbbb-cccc-0000-0000-000000000001', 'x@a.test') $$,
  '23503', null, 'a lead of A cannot name B''s campaign');
select throws_ok($$ insert into meetings (organization_id, lead_id, scheduled_at)
                    values ('aaaaaaaa-0000-0000-0000-000000000000', 'bbbbbbbb-dddd-0000-0000-000000000001', now()) $$,
  '23503', null, 'a meeting of A cannot name B''s lead');
select throws_ok($$ update leads set status = 'converted' where email = 'lead@a.test' $$,
  'VA422', 'status: cannot change from new to converted', 'the status machine holds for the superuser too');
select throws_ok($$ insert into leads (organization_id, email) values ('aaaaaaaa-0000-0000-0000-000000000000', 'LEAD@a.test') $$,
  '23514', null, 'emails are stored lower-case');
select throws_ok($$ insert into leads (organization_id, email) values ('aaaaaaaa-0000-0000-0000-000000000000', 'lead@a.test') $$,
  '23505', null, 'one lead per email in an organization');

-- A's member: reads, never writes.
set local role vectra_member;
select set_config('app.org_id', 'aaaaaaaa-0000-0000-0000-000000000000', true),
       set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000003', true),
       set_config('app.session_id', 'aaaaaaaa-5555-0000-0000-000000000003', true),
       set_config('app.role', 'member', true);
select is((app.list_leads(1, 20, null, null, null, 'created_at', true, null) ->> 'total')::int, 1, 'a member lists A''s one lead');
select throws_ok($$ insert into leads (organization_id, email) values (app.current_org_id(), 'x@a.test') $$,
  '42501', null, 'a member inserts no lead directly');
select throws_ok($$ select app.create_lead('{"email": "x@a.test"}') $$,
  'VA403', 'This action requires one of the roles: owner, admin, manager', 'nor through the function');

-- A's manager, with its session: creates, updates, not deletes.
select set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000002', true),
       set_config('app.session_id', 'aaaaaaaa-5555-0000-0000-000000000002', true),
       set_config('app.role', 'manager', true);
select throws_ok($$ select app.create_lead('{"email": "x@a.test", "campaign_id": "bbbbbbbb-cccc-0000-0000-000000000001"}') $$,
  'VA422', 'campaign_id: no such campaign in this organization', 'B''s campaign does not exist in A');
select throws_ok($$ select app.create_meeting('{"lead_id": "bbbbbbbb-dddd-0000-0000-000000000001", "scheduled_at": "2031-01-01T00:00:00Z"}') $$,
  'VA422', 'lead_id: no such lead in this organization', 'B''s lead does not exist in A');
select is(app.create_lead('{"email": "new@a.test", "campaign_id": "aaaaaaaa-cccc-0000-0000-000000000001"}') ->> 'email',
  'new@a.test', 'a manager creates a lead in its own campaign');
select throws_ok($$ select app.update_lead('bbbbbbbb-dddd-0000-0000-000000000001', '{"status": "lost"}') $$,
  'VA404', 'Lead not found', 'B''s lead is not found');
select throws_ok($$ select app.insert_leads('[{"email": "a1@a.test"}, {"email": "A1@a.test"}, {"email": "lead@a.test"}]') $$,
  'VA422', 'The import has invalid rows; nothing was imported', 'an import with duplicates is refused whole');
select is((select count(*)::int from leads where email like 'a1@%'), 0, 'and wrote nothing');
select throws_ok($$ select app.delete_lead('aaaaaaaa-dddd-0000-0000-000000000001') $$,
  'VA403', 'This action requires one of the roles: owner, admin', 'a manager deletes no lead');
reset role;

-- A's owner deletes; the lead's meetings go with it.
insert into meetings (organization_id, lead_id, scheduled_at)
  values ('aaaaaaaa-0000-0000-0000-000000000000', 'aaaaaaaa-dddd-0000-0000-000000000001', now() + interval '1 day');
set local role vectra_member;
select set_config('app.user_id', 'aaaaaaaa-0000-0000-0000-000000000001', true),
       set_config('app.session_id', 'aaaaaaaa-5555-0000-0000-000000000001', true),
       set_config('app.role', 'owner', true);
select lives_ok($$ select app.delete_lead('aaaaaaaa-dddd-0000-0000-000000000001') $$, 'an owner deletes a lead');
reset role;
select is((select count(*)::int from meetings), 0, 'its meeting went with it');
select is((select count(*)::int from leads where organization_id = 'bbbbbbbb-0000-0000-0000-000000000000'), 1,
  'B kept its lead');

select * from finish();
rollback;
