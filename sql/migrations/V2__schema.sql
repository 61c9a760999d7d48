-- V2: schemas, types and tables (docs/database.md).
--
-- Conventions:
--   * Every id is a uuid, every time a timestamptz.
--   * Tenant tables carry organization_id and key on (organization_id, id);
--     foreign keys between tenant tables include organization_id, so a row can
--     never point into another tenant. Keys to users (invited_by, sender_id)
--     are plain because the platform admin has no organization; the member
--     insert policies (V3) pin them to the caller instead.
--   * Raw secrets are never stored: tokens are stored as SHA-256 (bytea). The
--     one exception is an email waiting in email_outbox, whose context holds
--     the one-time token it carries until the worker delivers it and strips it
--     (only vectra_worker may read the context).

-- Request roles may use, never create in, any schema of ours.
revoke create on schema public from public;

create schema if not exists app;   -- setting helpers and API functions
create schema if not exists auth;  -- SECURITY DEFINER functions that must cross tenants
create schema if not exists extensions;
revoke all on schema extensions from public;
-- gen_random_bytes() for one-time tokens, generated where they are stored.
create extension if not exists pgcrypto with schema extensions;
revoke all on schema app from public;
revoke all on schema auth from public;
-- Functions created from here on (by the migration owner, in this database)
-- are executable only by whom we grant it to. This cannot be said per schema:
-- PostgreSQL's per-schema default privileges only add to the global default.
alter default privileges revoke execute on functions from public;

create type public.org_plan as enum ('free', 'starter', 'pro', 'enterprise');
create type public.org_status as enum ('active', 'suspended', 'deleted');
create type public.user_role as enum ('platform_admin', 'owner', 'admin', 'manager', 'member');
create type public.user_status as enum ('active', 'suspended', 'removed');
create type public.token_purpose as enum ('verify_email', 'reset_password');
create type public.notification_type as enum
  ('org_to_prospects', 'org_owner_to_members', 'vectra_to_users', 'vectra_to_org_owner', 'system_alerts');
create type public.email_status as enum ('pending', 'sending', 'sent', 'failed');
create type public.campaign_status as enum ('draft', 'active', 'paused', 'completed');
create type public.lead_status as enum ('new', 'contacted', 'replied', 'qualified', 'converted', 'lost');
create type public.meeting_status as enum ('scheduled', 'completed', 'cancelled');

-- Keeps updated_at honest without trusting callers.
create function app.touch_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := pg_catalog.now();
  return new;
end
$$;

-- organizations: the tenants. Its own id is the tenant key.
create table public.organizations (
  id          uuid primary key default gen_random_uuid(),
  name        text not null check (length(btrim(name)) between 1 and 200),
  slug        text not null check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 100),
  plan        public.org_plan not null default 'free',
  status      public.org_status not null default 'active',
  settings    jsonb not null default '{}'::jsonb
              check (jsonb_typeof(settings) = 'object' and pg_column_size(settings) <= 16384),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  deleted_at  timestamptz,
  constraint organizations_slug_key unique (slug),
  constraint organizations_deleted_status check ((status = 'deleted') = (deleted_at is not null))
);
create index organizations_status_created_idx on public.organizations (status, created_at);
create trigger organizations_touch before update on public.organizations
  for each row execute function app.touch_updated_at();

-- users: organization_id is NULL exactly for the platform admin.
create table public.users (
  id                 uuid primary key default gen_random_uuid(),
  organization_id    uuid references public.organizations (id) on delete cascade,
  email              text not null check (email = lower(email) and length(email) between 3 and 254 and position('@' in email) > 1),
  password_hash      text not null,
  full_name          text not null check (length(btrim(full_name)) between 1 and 200),
  role               public.user_role not null,
  status             public.user_status not null default 'active',
  email_verified_at  timestamptz,
  last_login_at      timestamptz,
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now(),
  deleted_at         timestamptz,
  constraint users_platform_admin_has_no_org check ((role = 'platform_admin') = (organization_id is null)),
  constraint users_removed_deleted_at check ((status = 'removed') = (deleted_at is not null)),
  -- target of the tenant-including foreign keys
  constraint users_org_id_key unique (organization_id, id)
);
create unique index users_email_key on public.users (lower(email));
create index users_org_created_idx on public.users (organization_id, created_at, id);
create index users_platform_admin_idx on public.users (id) where organization_id is null;
create trigger users_touch before update on public.users
  for each row execute function app.touch_updated_at();

-- sessions: one row per refresh-token family (one login). Only auth.* functions touch it.
create table public.sessions (
  id              uuid primary key default gen_random_uuid(),
  user_id         uuid not null references public.users (id) on delete cascade,
  token_hash      bytea not null check (length(token_hash) = 32),
  rotated_hashes  bytea[] not null default '{}',
  user_agent      text check (length(user_agent) <= 512),
  ip              inet,
  created_at      timestamptz not null default now(),
  last_used_at    timestamptz not null default now(),
  expires_at      timestamptz not null,
  revoked_at      timestamptz,
  revoked_reason  text,
  constraint sessions_token_hash_key unique (token_hash)
);
create index sessions_user_idx on public.sessions (user_id) where revoked_at is null;
create index sessions_rotated_hashes_idx on public.sessions using gin (rotated_hashes);

-- one_time_tokens: email verification and password reset. Only auth.* functions touch it.
create table public.one_time_tokens (
  id          uuid primary key default gen_random_uuid(),
  user_id     uuid not null references public.users (id) on delete cascade,
  purpose     public.token_purpose not null,
  token_hash  bytea not null check (length(token_hash) = 32),
  created_at  timestamptz not null default now(),
  expires_at  timestamptz not null,
  used_at     timestamptz,
  constraint one_time_tokens_token_hash_key unique (token_hash)
);
create index one_time_tokens_user_idx on public.one_time_tokens (user_id, purpose) where used_at is null;

-- invitations: bound to one email, single use, revocable.
create table public.invitations (
  id               uuid not null default gen_random_uuid(),
  organization_id  uuid not null references public.organizations (id) on delete cascade,
  email            text not null check (email = lower(email) and length(email) between 3 and 254),
  role             public.user_role not null check (role <> 'platform_admin'),
  token_hash       bytea not null check (length(token_hash) = 32),
  -- the inviter may be the platform admin (no organization), hence a plain key
  invited_by       uuid references public.users (id) on delete set null,
  created_at       timestamptz not null default now(),
  expires_at       timestamptz not null,
  accepted_at      timestamptz,
  revoked_at       timestamptz,
  primary key (organization_id, id),
  constraint invitations_id_key unique (id),
  constraint invitations_token_hash_key unique (token_hash),
  constraint invitations_single_outcome check (accepted_at is null or revoked_at is null)
);
create unique index invitations_pending_email_key on public.invitations (organization_id, email)
  where accepted_at is null and revoked_at is null;
create index invitations_org_created_idx on public.invitations (organization_id, created_at);

-- notifications: organization_id NULL for platform-wide notifications.
create table public.notifications (
  id               uuid primary key default gen_random_uuid(),
  organization_id  uuid references public.organizations (id) on delete cascade,
  type             public.notification_type not null,
  sender_id        uuid references public.users (id) on delete set null,
  subject          text not null check (length(subject) between 1 and 200),
  body             text not null check (length(body) between 1 and 50000),
  body_html        text check (length(body_html) <= 100000),
  action_url       text check (length(action_url) <= 2048),
  action_text      text check (length(action_text) <= 100),
  recipient_count  integer not null default 0 check (recipient_count >= 0),
  created_at       timestamptz not null default now(),
  constraint notifications_org_id_key unique (organization_id, id)
);
create index notifications_org_created_idx on public.notifications (organization_id, created_at);

-- email_outbox: every email, written in the transaction that causes it. The
-- worker renders `template` with `context` when it sends (templates/emails/),
-- records the rendered subject, and strips one-time tokens from the context
-- once the message is delivered.
create table public.email_outbox (
  id               uuid primary key default gen_random_uuid(),
  organization_id  uuid references public.organizations (id) on delete cascade,
  notification_id  uuid references public.notifications (id) on delete cascade,
  to_email         text not null check (length(to_email) between 3 and 254),
  template         text not null check (template ~ '^[a-z][a-z0-9-]*$'),
  context          jsonb not null default '{}'::jsonb check (jsonb_typeof(context) = 'object'),
  subject          text,
  status           public.email_status not null default 'pending',
  attempts         integer not null default 0 check (attempts >= 0),
  max_attempts     integer not null default 8 check (max_attempts > 0),
  next_attempt_at  timestamptz not null default now(),
  claimed_at       timestamptz,
  last_error       text,
  created_at       timestamptz not null default now(),
  sent_at          timestamptz,
  constraint email_outbox_sent_at check ((status = 'sent') = (sent_at is not null)),
  -- An organization's email may only belong to that organization's
  -- notification (not checked for platform-wide rows, whose organization is NULL).
  constraint email_outbox_notification_same_org foreign key (organization_id, notification_id)
    references public.notifications (organization_id, id) on delete cascade
);
create index email_outbox_due_idx on public.email_outbox (next_attempt_at) where status in ('pending', 'sending');
create index email_outbox_org_created_idx on public.email_outbox (organization_id, created_at);
create index email_outbox_notification_idx on public.email_outbox (notification_id);

-- audit_log: append-only. No foreign keys on purpose: the record outlives the
-- users and organizations it mentions, including a hard delete.
create table public.audit_log (
  id               uuid primary key default gen_random_uuid(),
  organization_id  uuid,
  actor_id         uuid,
  action           text not null check (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
  target_type      text,
  target_id        uuid,
  data             jsonb not null default '{}'::jsonb,
  created_at       timestamptz not null default now()
);
create index audit_log_org_created_idx on public.audit_log (organization_id, created_at desc, id);
create index audit_log_org_action_idx on public.audit_log (organization_id, action, created_at desc);

-- Append-only even for the table owner: UPDATE and DELETE raise, whoever asks.
create function app.audit_log_is_append_only() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'audit_log is append-only' using errcode = '42501';
end
$$;
create trigger audit_log_no_update before update or delete on public.audit_log
  for each statement execute function app.audit_log_is_append_only();
create trigger audit_log_no_truncate before truncate on public.audit_log
  for each statement execute function app.audit_log_is_append_only();

-- Prospecting data, counted by the platform overview.
create table public.campaigns (
  id               uuid not null default gen_random_uuid(),
  organization_id  uuid not null references public.organizations (id) on delete cascade,
  name             text not null check (length(btrim(name)) between 1 and 200),
  status           public.campaign_status not null default 'draft',
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  primary key (organization_id, id)
);
create trigger campaigns_touch before update on public.campaigns
  for each row execute function app.touch_updated_at();

create table public.leads (
  id               uuid not null default gen_random_uuid(),
  organization_id  uuid not null references public.organizations (id) on delete cascade,
  campaign_id      uuid,
  email            text not null check (length(email) between 3 and 254),
  full_name        text,
  company          text,
  status           public.lead_status not null default 'new',
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  primary key (organization_id, id),
  foreign key (organization_id, campaign_id) references public.campaigns (organization_id, id)
    on delete set null (campaign_id)
);
create index leads_org_campaign_idx on public.leads (organization_id, campaign_id);
create index leads_org_status_idx on public.leads (organization_id, status);
create trigger leads_touch before update on public.leads
  for each row execute function app.touch_updated_at();

create table public.meetings (
  id               uuid not null default gen_random_uuid(),
  organization_id  uuid not null references public.organizations (id) on delete cascade,
  lead_id          uuid not null,
  scheduled_at     timestamptz not null,
  status           public.meeting_status not null default 'scheduled',
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  primary key (organization_id, id),
  foreign key (organization_id, lead_id) references public.leads (organization_id, id) on delete cascade
);
create index meetings_org_lead_idx on public.meetings (organization_id, lead_id);
create index meetings_org_scheduled_idx on public.meetings (organization_id, scheduled_at);
create trigger meetings_touch before update on public.meetings
  for each row execute function app.touch_updated_at();
