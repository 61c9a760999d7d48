-- vectra: no transaction
--
-- The indexes the lists walk (`ORDER BY key, id` per sort and filter; trigram
-- indexes for the searches), built without blocking writes: each statement
-- runs on its own, outside a transaction (the migration runner's rule for a
-- file whose first line is the one above), so CREATE INDEX CONCURRENTLY can
-- build them while the tables take traffic. An index a build interrupted
-- leaves invalid; the runner drops such indexes before it runs a migration
-- again, so `if not exists` never keeps a broken one. An index whose
-- definition changes gets a new name: the new one is built before the old
-- one goes.

-- Leads: each sort (created_at, the name) with each filter (status, campaign).
create index concurrently if not exists leads_org_status_created_idx
  on public.leads (organization_id, status, created_at, id);
create index concurrently if not exists leads_org_campaign_created_idx
  on public.leads (organization_id, campaign_id, created_at, id) include (status);
create index concurrently if not exists leads_org_name_idx
  on public.leads (organization_id, (lower(coalesce(full_name, email))), id);
create index concurrently if not exists leads_org_status_name_idx
  on public.leads (organization_id, status, (lower(coalesce(full_name, email))), id);
create index concurrently if not exists leads_org_campaign_name_idx
  on public.leads (organization_id, campaign_id, (lower(coalesce(full_name, email))), id);
create index concurrently if not exists leads_search_idx on public.leads using gin
  (organization_id, email extensions.gin_trgm_ops, full_name extensions.gin_trgm_ops, company extensions.gin_trgm_ops);
drop index concurrently if exists public.leads_org_status_idx;
drop index concurrently if exists public.leads_org_campaign_idx;

-- Meetings: scheduled_at and created_at, by status and by lead.
create index concurrently if not exists meetings_org_scheduled_id_idx
  on public.meetings (organization_id, scheduled_at, id);
create index concurrently if not exists meetings_org_created_idx
  on public.meetings (organization_id, created_at, id);
create index concurrently if not exists meetings_org_status_scheduled_id_idx
  on public.meetings (organization_id, status, scheduled_at, id);
create index concurrently if not exists meetings_org_lead_scheduled_idx
  on public.meetings (organization_id, lead_id, scheduled_at, id);
drop index concurrently if exists public.meetings_org_scheduled_idx;
drop index concurrently if exists public.meetings_org_status_scheduled_idx;
drop index concurrently if exists public.meetings_org_lead_idx;

-- Campaigns: by name, by status.
create index concurrently if not exists campaigns_org_name_idx
  on public.campaigns (organization_id, (lower(name)), id);
create index concurrently if not exists campaigns_org_status_created_idx
  on public.campaigns (organization_id, status, created_at, id);

-- The audit log, newest first, by action.
create index concurrently if not exists audit_log_org_created_id_idx
  on public.audit_log (organization_id, created_at, id);
create index concurrently if not exists audit_log_org_action_created_idx
  on public.audit_log (organization_id, action, created_at, id);
drop index concurrently if exists public.audit_log_org_created_idx;
drop index concurrently if exists public.audit_log_org_action_idx;

-- Notifications, an organization's and the console's, by type; their deliveries by address.
create index concurrently if not exists notifications_org_created_id_idx
  on public.notifications (organization_id, created_at, id);
create index concurrently if not exists notifications_org_type_created_idx
  on public.notifications (organization_id, type, created_at, id);
create index concurrently if not exists notifications_created_id_idx
  on public.notifications (created_at, id);
create index concurrently if not exists notifications_type_created_idx
  on public.notifications (type, created_at, id);
drop index concurrently if exists public.notifications_org_created_idx;
drop index concurrently if exists public.notifications_created_idx;
create index concurrently if not exists email_outbox_notification_email_idx
  on public.email_outbox (notification_id, to_email, id);
drop index concurrently if exists public.email_outbox_notification_idx;

-- Pending invitations, newest first.
create index concurrently if not exists invitations_org_pending_idx
  on public.invitations (organization_id, created_at, id)
  where accepted_at is null and revoked_at is null;

-- The console: users and organizations by each sort; their searches.
create index concurrently if not exists users_created_idx on public.users (created_at, id);
create index concurrently if not exists users_name_idx on public.users ((lower(full_name)), id);
create index concurrently if not exists users_last_login_idx
  on public.users ((coalesce(last_login_at, '-infinity'::timestamptz)), id);
create index concurrently if not exists users_search_idx on public.users using gin
  (full_name extensions.gin_trgm_ops, email extensions.gin_trgm_ops);
create index concurrently if not exists organizations_created_idx on public.organizations (created_at, id);
create index concurrently if not exists organizations_status_created_id_idx
  on public.organizations (status, created_at, id);
create index concurrently if not exists organizations_name_idx on public.organizations ((lower(name)), id);
create index concurrently if not exists organizations_plan_idx on public.organizations (plan, id);
create index concurrently if not exists organizations_users_count_idx on public.organizations (users_count, id);
create index concurrently if not exists organizations_search_idx on public.organizations using gin
  (name extensions.gin_trgm_ops, slug extensions.gin_trgm_ops);
drop index concurrently if exists public.organizations_status_created_idx;

-- A user's live sessions, most recently used first.
create index concurrently if not exists sessions_user_used_idx
  on public.sessions (user_id, last_used_at, id) where revoked_at is null;

-- Invitations to one mailbox, from every organization (auth.check_invitation_limits).
create index concurrently if not exists email_outbox_invited_mailbox_idx
  on public.email_outbox (app.mailbox_key(to_email), created_at) where template = 'invite-user';
