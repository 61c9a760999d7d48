-- V3: setting helpers, row-level security, policies and grants (docs/security.md).
--
-- The model: each request runs in one transaction that switches to a request
-- role and sets transaction-local settings through auth.begin_request (V4).
-- Policies below compare an indexed organization_id with those settings: plain
-- equalities, no subqueries, so they stay cheap and portable to Citus.
-- An unset setting reads as NULL, NULL equals nothing, so no settings means no
-- rows: the model fails closed.

-- Setting helpers. Plain SQL, schema-qualified and without a SET clause so the
-- planner can inline them into policies and use the organization_id indexes.
create function app.current_org_id() returns uuid
language sql stable parallel safe
as $$ select nullif(pg_catalog.current_setting('app.org_id', true), '')::uuid $$;

create function app.current_user_id() returns uuid
language sql stable parallel safe
as $$ select nullif(pg_catalog.current_setting('app.user_id', true), '')::uuid $$;

create function app.current_user_role() returns text
language sql stable parallel safe
as $$ select nullif(pg_catalog.current_setting('app.role', true), '') $$;

comment on function app.current_org_id() is 'Organization of the current request (setting app.org_id), NULL when unset.';
comment on function app.current_user_id() is 'User of the current request (setting app.user_id), NULL when unset.';
comment on function app.current_user_role() is 'Organization role of the current request (setting app.role), NULL when unset.';

revoke all on all functions in schema app from public;
grant usage on schema app to vectra_anon, vectra_member, vectra_platform_admin, vectra_worker;
-- The service prepares its statements before the transaction switches role,
-- and name lookup at prepare time needs USAGE on the schema. USAGE only
-- resolves names: the authenticator holds no EXECUTE in this schema.
grant usage on schema app to vectra_authenticator;
grant execute on function app.current_org_id(), app.current_user_id(), app.current_user_role()
  to vectra_anon, vectra_member, vectra_platform_admin, vectra_worker;

-- RLS on every table, forced so that even the table owner is subject to it
-- (superusers and BYPASSRLS roles excepted; the migration owner is one of
-- those, see docs/security.md).
alter table public.organizations   enable row level security, force row level security;
alter table public.users           enable row level security, force row level security;
alter table public.sessions        enable row level security, force row level security;
alter table public.one_time_tokens enable row level security, force row level security;
alter table public.invitations     enable row level security, force row level security;
alter table public.notifications   enable row level security, force row level security;
alter table public.email_outbox    enable row level security, force row level security;
alter table public.audit_log       enable row level security, force row level security;
alter table public.campaigns       enable row level security, force row level security;
alter table public.leads           enable row level security, force row level security;
alter table public.meetings        enable row level security, force row level security;

-- sessions and one_time_tokens hold token hashes: no grant and no policy for
-- any request role. Only the SECURITY DEFINER functions of schema auth read
-- or write them.
revoke all on public.sessions, public.one_time_tokens from public;

------------------------------------------------------------------------------
-- organizations
------------------------------------------------------------------------------
grant select on public.organizations to vectra_member;
grant update (name, settings) on public.organizations to vectra_member;
grant select, insert, update, delete on public.organizations to vectra_platform_admin;

create policy organizations_member_select on public.organizations
  for select to vectra_member
  using (id = app.current_org_id());
comment on policy organizations_member_select on public.organizations is
  'Members see their own organization and no other.';

create policy organizations_member_update on public.organizations
  for update to vectra_member
  using (id = app.current_org_id())
  with check (id = app.current_org_id());
comment on policy organizations_member_update on public.organizations is
  'Members may update their own organization (columns name and settings only, by grant; app.update_organization lets owners and admins do it).';

create policy organizations_platform_admin_all on public.organizations
  for all to vectra_platform_admin
  using (true) with check (true);
comment on policy organizations_platform_admin_all on public.organizations is
  'The platform admin manages every organization.';

------------------------------------------------------------------------------
-- users (password_hash is never granted to a request role)
------------------------------------------------------------------------------
grant select (id, organization_id, email, full_name, role, status, email_verified_at,
              last_login_at, created_at, updated_at, deleted_at)
  on public.users to vectra_member, vectra_platform_admin;
grant update (full_name, role, status, deleted_at) on public.users to vectra_member;
grant update (full_name, role, status, deleted_at, email_verified_at) on public.users to vectra_platform_admin;
grant delete on public.users to vectra_platform_admin;

create policy users_member_select on public.users
  for select to vectra_member
  using (organization_id = app.current_org_id());
comment on policy users_member_select on public.users is
  'Members see the users of their own organization; the platform admin row (NULL organization) matches no organization.';

create policy users_member_update on public.users
  for update to vectra_member
  using (organization_id = app.current_org_id())
  with check (organization_id = app.current_org_id());
comment on policy users_member_update on public.users is
  'Members may update users of their own organization (role, status, name by grant); app.change_user_role and app.remove_user enforce the role ladder.';

create policy users_platform_admin_all on public.users
  for all to vectra_platform_admin
  using (true) with check (true);
comment on policy users_platform_admin_all on public.users is
  'The platform admin sees and manages every user of every organization.';

------------------------------------------------------------------------------
-- invitations (token_hash is never readable by a request role)
------------------------------------------------------------------------------
grant select (id, organization_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at)
  on public.invitations to vectra_member, vectra_platform_admin;
grant insert (organization_id, email, role, token_hash, invited_by, expires_at)
  on public.invitations to vectra_member, vectra_platform_admin;
grant update (token_hash, expires_at, revoked_at)
  on public.invitations to vectra_member, vectra_platform_admin;
grant delete on public.invitations to vectra_platform_admin;

create policy invitations_member_select on public.invitations
  for select to vectra_member
  using (organization_id = app.current_org_id());
comment on policy invitations_member_select on public.invitations is
  'Members see the invitations of their own organization.';

create policy invitations_member_insert on public.invitations
  for insert to vectra_member
  with check (organization_id = app.current_org_id() and invited_by = app.current_user_id());
comment on policy invitations_member_insert on public.invitations is
  'Members may invite into their own organization only, in their own name.';

create policy invitations_member_update on public.invitations
  for update to vectra_member
  using (organization_id = app.current_org_id())
  with check (organization_id = app.current_org_id());
comment on policy invitations_member_update on public.invitations is
  'Members may revoke or re-issue invitations of their own organization.';

create policy invitations_platform_admin_all on public.invitations
  for all to vectra_platform_admin
  using (true) with check (true);
comment on policy invitations_platform_admin_all on public.invitations is
  'The platform admin invites into any organization (for example its first owner).';

------------------------------------------------------------------------------
-- notifications
------------------------------------------------------------------------------
grant select, insert on public.notifications to vectra_member;
grant select, insert, delete on public.notifications to vectra_platform_admin;

create policy notifications_member_select on public.notifications
  for select to vectra_member
  using (organization_id = app.current_org_id());
comment on policy notifications_member_select on public.notifications is
  'Members see the notifications sent by their organization; platform-wide ones (NULL organization) are not theirs to list.';

create policy notifications_member_insert on public.notifications
  for insert to vectra_member
  with check (organization_id = app.current_org_id() and sender_id = app.current_user_id());
comment on policy notifications_member_insert on public.notifications is
  'Members may record notifications of their own organization only, sent in their own name.';

create policy notifications_platform_admin_all on public.notifications
  for all to vectra_platform_admin
  using (true) with check (true);
comment on policy notifications_platform_admin_all on public.notifications is
  'The platform admin sends platform-wide notifications and sees all of them.';

------------------------------------------------------------------------------
-- email_outbox (the context may carry one-time tokens: only the worker reads it)
------------------------------------------------------------------------------
grant select (id, organization_id, notification_id, to_email, template, subject, status, attempts,
              max_attempts, next_attempt_at, last_error, created_at, sent_at)
  on public.email_outbox to vectra_member, vectra_platform_admin;
grant insert (organization_id, notification_id, to_email, template, context)
  on public.email_outbox to vectra_member, vectra_platform_admin;
grant update (status, attempts, next_attempt_at, last_error)
  on public.email_outbox to vectra_platform_admin;
grant select, update (status, attempts, next_attempt_at, claimed_at, last_error, sent_at, subject, context)
  on public.email_outbox to vectra_worker;

create policy email_outbox_member_select on public.email_outbox
  for select to vectra_member
  using (organization_id = app.current_org_id());
comment on policy email_outbox_member_select on public.email_outbox is
  'Members see the delivery status of their own organization''s emails (not the context, by grant).';

create policy email_outbox_member_insert on public.email_outbox
  for insert to vectra_member
  with check (organization_id = app.current_org_id());
comment on policy email_outbox_member_insert on public.email_outbox is
  'Members queue emails for their own organization only.';

create policy email_outbox_platform_admin_all on public.email_outbox
  for all to vectra_platform_admin
  using (true) with check (true);
comment on policy email_outbox_platform_admin_all on public.email_outbox is
  'The platform admin sees every delivery (failures included) and may requeue one; the context is not granted.';

create policy email_outbox_worker_select on public.email_outbox
  for select to vectra_worker
  using (true);
comment on policy email_outbox_worker_select on public.email_outbox is
  'The worker delivers email for every organization, so it reads every row.';

create policy email_outbox_worker_update on public.email_outbox
  for update to vectra_worker
  using (true) with check (true);
comment on policy email_outbox_worker_update on public.email_outbox is
  'The worker claims rows and records the outcome of each delivery (status, subject and context columns only, by grant).';

------------------------------------------------------------------------------
-- audit_log (append-only: no UPDATE or DELETE grant or policy for anyone,
-- and a trigger that refuses both even to the owner)
------------------------------------------------------------------------------
grant select, insert on public.audit_log to vectra_member, vectra_platform_admin;

create policy audit_log_member_select on public.audit_log
  for select to vectra_member
  using (organization_id = app.current_org_id() and app.current_user_role() in ('owner', 'admin'));
comment on policy audit_log_member_select on public.audit_log is
  'Owners and admins read their own organization''s audit log; managers and members do not.';

create policy audit_log_member_insert on public.audit_log
  for insert to vectra_member
  with check (organization_id = app.current_org_id() and actor_id = app.current_user_id());
comment on policy audit_log_member_insert on public.audit_log is
  'Members append entries for their own organization, in their own name.';

create policy audit_log_platform_admin_select on public.audit_log
  for select to vectra_platform_admin
  using (true);
comment on policy audit_log_platform_admin_select on public.audit_log is
  'The platform admin reads every audit entry.';

create policy audit_log_platform_admin_insert on public.audit_log
  for insert to vectra_platform_admin
  with check (actor_id = app.current_user_id());
comment on policy audit_log_platform_admin_insert on public.audit_log is
  'The platform admin appends entries in its own name, for any organization or none.';

------------------------------------------------------------------------------
-- campaigns, leads, meetings: the organization's prospecting data
------------------------------------------------------------------------------
grant select, insert, update, delete on public.campaigns, public.leads, public.meetings to vectra_member;
grant select, delete on public.campaigns, public.leads, public.meetings to vectra_platform_admin;

create policy campaigns_member_all on public.campaigns
  for all to vectra_member
  using (organization_id = app.current_org_id())
  with check (organization_id = app.current_org_id());
comment on policy campaigns_member_all on public.campaigns is
  'Members work on their own organization''s campaigns only.';

create policy campaigns_platform_admin_all on public.campaigns
  for all to vectra_platform_admin
  using (true) with check (true);
comment on policy campaigns_platform_admin_all on public.campaigns is
  'The platform admin counts every organization''s campaigns (read and delete, by grant).';

create policy leads_member_all on public.leads
  for all to vectra_member
  using (organization_id = app.current_org_id())
  with check (organization_id = app.current_org_id());
comment on policy leads_member_all on public.leads is
  'Members work on their own organization''s leads only.';

create policy leads_platform_admin_all on public.leads
  for all to vectra_platform_admin
  using (true) with check (true);
comment on policy leads_platform_admin_all on public.leads is
  'The platform admin counts every organization''s leads (read and delete, by grant).';

create policy meetings_member_all on public.meetings
  for all to vectra_member
  using (organization_id = app.current_org_id())
  with check (organization_id = app.current_org_id());
comment on policy meetings_member_all on public.meetings is
  'Members work on their own organization''s meetings only.';

create policy meetings_platform_admin_all on public.meetings
  for all to vectra_platform_admin
  using (true) with check (true);
comment on policy meetings_platform_admin_all on public.meetings is
  'The platform admin counts every organization''s meetings (read and delete, by grant).';

-- The sequence-free schema needs no sequence grants; types are public by default.
