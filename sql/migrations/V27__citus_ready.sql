-- A schema that Citus can distribute by organization_id, while plain
-- PostgreSQL behaves as before: the same API answers, the same rows visible
-- to the same roles.
--
-- What Citus needs (DESIGN.md, "Scale-out"), and what this migration does
-- for each:
--
-- 1. Policies without subqueries. The platform-admin policies wrapped their
--    check as `(select app.is_platform_admin())`, which Citus refuses on a
--    distributed or reference table. They become a plain call: a STABLE SQL
--    function that reads only settings, which PostgreSQL inlines. Inlined,
--    it is evaluated on every row a scan filters (a policy's condition is
--    never made a one-time filter, as the subquery's InitPlan was): about
--    150 ns a row (a count of 200,000 leads as the platform admin: from
--    7-10 ms to 35-45 ms). No console call scans under that policy any more
--    (the overview and the lists' positions are computed by the owner, a
--    page reads at most per_page rows by id): the console list measured the
--    same (docs/performance.md, "The platform console").
-- 2. No NULL organization. notifications, email_outbox and audit_log stored
--    platform-wide rows (system alerts and other platform notifications,
--    their outbox rows, mail to users of no organization, platform audit
--    entries) under a NULL organization_id, which cannot be a distribution
--    key. They now live under a reserved id, app.platform_org_id(), that no
--    organization can take (a CHECK on organizations.id) and so no user can
--    belong to (users.organization_id references organizations). The
--    column becomes NOT NULL and the primary keys (organization_id, id).
--    The functions that wrote NULL write the reserved id; those that answer
--    the API map it back to null; the request's organization
--    (app.current_org_id()) is never the reserved id, so no member or
--    reader policy can match a platform row.
-- 3. invitations: no unique key without organization_id.
-- 4. leads: no ON DELETE SET NULL between two tenant tables; deleting a
--    campaign unassigns its leads itself.
--
-- Everything runs in one transaction, on purpose. The linter's rules for
-- big tables (CREATE INDEX CONCURRENTLY, NOT VALID then VALIDATE, PRIMARY
-- KEY USING INDEX) shorten locks by spreading a change over several
-- transactions; this one cannot be spread: the NOT NULL column, its keys
-- and the functions that write it must change together (an old function's
-- NULL fails the new NOT NULL, a new function's reserved id fails the old
-- foreign key). Each such statement carries a squawk-ignore. notifications,
-- email_outbox, audit_log, invitations and leads stay locked from their
-- first ALTER to the commit, for a scan of each and the build of its new
-- keys: 0.24 s in all on a database with 200,000 leads.

-- ------------------------------------------------------- the reserved organization

create function app.platform_org_id() returns uuid
language sql immutable parallel safe
as $$ select '00000000-0000-0000-0000-000000000000'::uuid $$;

comment on function app.platform_org_id() is
  'The reserved organization id under which notifications, email_outbox and audit_log keep platform-wide rows (no organization). No organization can take it (organizations_id_not_platform), so no user belongs to it, and app.current_org_id() never returns it: no member or reader policy matches these rows. The API shows it as null.';

revoke execute on function app.platform_org_id() from public;
-- The same roles as app.current_org_id(), which calls it (an inlined SQL
-- function still needs EXECUTE on what it calls).
grant execute on function app.platform_org_id()
  to vectra_anon, vectra_definer, vectra_member, vectra_platform_admin, vectra_tenant_reader, vectra_worker;

-- No organization is the platform. Organizations get their id from
-- gen_random_uuid() (version 4, never all zeros), so every existing row
-- passes; organizations is small (one row per tenant).
-- squawk-ignore constraint-missing-not-valid
alter table public.organizations add constraint organizations_id_not_platform
  check (id <> app.platform_org_id());

-- The request's organization is never the reserved one, whoever sets
-- app.org_id (a DBA's reader login chooses it freely): every policy and
-- list scope of the form `organization_id = app.current_org_id()` then
-- cannot match a platform row. The service never sets it (a user's
-- organization is a real one); this makes it a property of the function.
create or replace function app.current_org_id() returns uuid
language sql stable parallel safe
as $$ select nullif(nullif(pg_catalog.current_setting('app.org_id', true), '')::uuid, app.platform_org_id()) $$;

comment on function app.current_org_id() is
  'Organization of the current request (setting app.org_id), NULL when unset or when it is the reserved app.platform_org_id() (no request acts as the platform''s organization).';

-- ------------------------------------------------------------- the rows

-- The foreign keys to organizations cannot hold for platform rows (the
-- reserved id is no organization). The two paths that delete an
-- organization (the console's erase, the removal of unverified accounts)
-- delete its notifications and outbox rows themselves: auth.erase_organization.
-- audit_log never had one: an organization's audit entries outlive it.
alter table public.notifications drop constraint notifications_organization_id_fkey;
alter table public.email_outbox drop constraint email_outbox_organization_id_fkey;

-- email_outbox -> notifications by (organization_id, notification_id) only:
-- the key on notifications(id) alone goes, and the pair is now checked for
-- every row (a NULL organization used to skip it, hence the second key).
alter table public.email_outbox drop constraint email_outbox_notification_id_fkey;
alter table public.email_outbox drop constraint email_outbox_notification_same_org;

-- Existing platform rows move to the reserved id. audit_log is append-only:
-- its statement triggers refuse every UPDATE and DELETE, for everyone. This
-- one update (organization_id NULL -> the reserved id, no other column) is
-- the migration's own, made as the table owner with the triggers disabled
-- for that statement only and enabled again in the same transaction: no
-- other session can write meanwhile (DISABLE TRIGGER locks the table until
-- commit), and no entry's content changes.
alter table public.audit_log disable trigger audit_log_no_update;
update public.audit_log set organization_id = app.platform_org_id() where organization_id is null;
alter table public.audit_log enable trigger audit_log_no_update;

update public.notifications set organization_id = app.platform_org_id() where organization_id is null;
update public.email_outbox set organization_id = app.platform_org_id() where organization_id is null;

-- NOT NULL scans each table under an ACCESS EXCLUSIVE lock: this
-- transaction rebuilds their primary keys under the same lock anyway, so a
-- NOT VALID check validated apart would not shorten it.
-- squawk-ignore adding-not-nullable-field
alter table public.notifications alter column organization_id set not null;
-- squawk-ignore adding-not-nullable-field
alter table public.email_outbox alter column organization_id set not null;
-- squawk-ignore adding-not-nullable-field
alter table public.audit_log alter column organization_id set not null;

-- ------------------------------------------------------------- the keys

-- Primary keys (organization_id, id). notifications_org_id_key was the same
-- pair: the primary key replaces it. A plain index on id stays where rows
-- are found by id alone (the console's notification and its deliveries'
-- pages, the outbox worker's updates); audit_log is read by organization.
alter table public.notifications drop constraint notifications_pkey;
alter table public.notifications drop constraint notifications_org_id_key;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
alter table public.notifications add constraint notifications_pkey primary key (organization_id, id);
-- squawk-ignore require-concurrent-index-creation
create index notifications_id_idx on public.notifications (id);

-- One idempotency key per sender and key, now within the sender's
-- organization (a sender's notifications are all of one organization, its
-- own or the platform's for a platform admin: the same rows are unique).
-- organization_id last: app.notification_replay finds a key by sender and
-- key, the index's prefix.
-- squawk-ignore require-concurrent-index-deletion
drop index public.notifications_idempotency_key;
-- squawk-ignore require-concurrent-index-creation
create unique index notifications_idempotency_key on public.notifications (sender_id, idempotency_key, organization_id)
  where idempotency_key is not null;

alter table public.email_outbox drop constraint email_outbox_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
alter table public.email_outbox add constraint email_outbox_pkey primary key (organization_id, id);
-- squawk-ignore require-concurrent-index-creation
create index email_outbox_id_idx on public.email_outbox (id);

-- Checked at once: both tables are locked by this transaction already.
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
alter table public.email_outbox add constraint email_outbox_notification_same_org
  foreign key (organization_id, notification_id) references public.notifications (organization_id, id) on delete cascade;

alter table public.audit_log drop constraint audit_log_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
alter table public.audit_log add constraint audit_log_pkey primary key (organization_id, id);

-- invitations: unique per (organization_id, token_hash), and a plain index
-- for the accept-invitation lookup by token alone. A token is 32 random
-- bytes stored as SHA-256: two invitations with one hash do not happen in
-- practice, and the lookups take the oldest one if they ever did. The
-- primary key (organization_id, id) stays; nothing references
-- invitations(id) alone.
alter table public.invitations drop constraint invitations_id_key;
alter table public.invitations drop constraint invitations_token_hash_key;
-- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
alter table public.invitations add constraint invitations_organization_id_token_hash_key unique (organization_id, token_hash);
-- squawk-ignore require-concurrent-index-creation
create index invitations_token_hash_idx on public.invitations (token_hash);

-- leads -> campaigns: NO ACTION instead of SET NULL (campaign_id). The
-- campaign's deletion (app.delete_campaign) unassigns its leads first, in
-- the same function; erasing an organization deletes its campaigns and
-- leads in one statement (both cascade from organizations), which NO ACTION
-- checks at its end, when no lead is left.
alter table public.leads drop constraint leads_organization_id_campaign_id_fkey;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
alter table public.leads add constraint leads_organization_id_campaign_id_fkey
  foreign key (organization_id, campaign_id) references public.campaigns (organization_id, id);

-- ------------------------------------------------------------- policies

-- The platform-admin policies: `app.is_platform_admin()` instead of
-- `(select app.is_platform_admin())`, nothing else changes (roles,
-- commands, the other conditions, comments).
alter policy organizations_platform_admin_select on public.organizations using (app.is_platform_admin());
alter policy organizations_definer_platform_admin on public.organizations
  using (app.is_platform_admin()) with check (app.is_platform_admin());
alter policy users_platform_admin_select on public.users using (app.is_platform_admin());
alter policy users_definer_platform_admin on public.users
  using (app.is_platform_admin()) with check (app.is_platform_admin());
alter policy invitations_platform_admin_select on public.invitations using (app.is_platform_admin());
alter policy invitations_definer_platform_admin on public.invitations
  using (app.is_platform_admin()) with check (app.is_platform_admin());
alter policy campaigns_platform_admin_select on public.campaigns using (app.is_platform_admin());
alter policy campaigns_definer_platform_admin on public.campaigns
  using (app.is_platform_admin()) with check (app.is_platform_admin());
alter policy leads_platform_admin_select on public.leads using (app.is_platform_admin());
alter policy leads_definer_platform_admin on public.leads
  using (app.is_platform_admin()) with check (app.is_platform_admin());
alter policy meetings_platform_admin_select on public.meetings using (app.is_platform_admin());
alter policy meetings_definer_platform_admin on public.meetings
  using (app.is_platform_admin()) with check (app.is_platform_admin());
alter policy lead_suppressions_platform_admin_select on public.lead_suppressions using (app.is_platform_admin());
alter policy notifications_platform_admin_select on public.notifications using (app.is_platform_admin());
alter policy notifications_definer_platform_admin on public.notifications
  using (app.is_platform_admin()) with check (app.is_platform_admin());
alter policy email_outbox_platform_admin_select on public.email_outbox using (app.is_platform_admin());
alter policy email_outbox_definer_platform_admin on public.email_outbox with check (app.is_platform_admin());
alter policy audit_log_platform_admin_select on public.audit_log using (app.is_platform_admin());
alter policy audit_log_definer_platform_admin on public.audit_log
  with check (app.is_platform_admin() and actor_id = app.current_user_id());
alter policy platform_overview_platform_admin_select on app.platform_overview using (app.is_platform_admin());

-- Comments that named the NULL organization.
comment on policy notifications_member_select on public.notifications is
  'Owners and admins (and readers with an owner or admin role setting) see the notifications sent by their organization, as GET /user/notifications shows them; managers and members do not. Platform-wide ones (the reserved app.platform_org_id(), which app.current_org_id() never returns) are nobody''s to list here.';
comment on policy audit_log_definer_platform_admin on public.audit_log is
  'The console''s write functions append audit entries for any organization (or the platform''s, app.platform_org_id()), in the platform admin''s name.';

-- ------------------------------------------------------------- functions

-- Erasing an organization: its notifications and outbox rows no longer
-- follow it by a foreign key, so they are deleted here, then the
-- organization, whose other tenant tables still cascade (users, with their
-- sessions and one-time tokens; invitations, campaigns, leads, meetings,
-- lead_suppressions). audit_log is left as before: it had no key to
-- organizations, its append-only triggers refuse any DELETE, and an erased
-- organization's entries (organization.erase among them) outlive it. As the
-- owner, as the cascade ran: vectra_definer (the console) keeps no DELETE
-- on notifications or email_outbox.
create function auth.erase_organization(p_org uuid) returns void
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_org is null or p_org = app.platform_org_id() then
    raise exception 'erase_organization: not an organization' using errcode = '22023';
  end if;
  delete from public.email_outbox where organization_id = p_org;
  delete from public.notifications where organization_id = p_org;
  delete from public.organizations where id = p_org;
end
$$;

comment on function auth.erase_organization(uuid) is
  'Deletes an organization with its notifications and outbox rows (which have no foreign key to it: platform rows live under app.platform_org_id()); its other tenant rows cascade, its audit entries stay. Called by app.admin_delete_organization (hard) and auth.remove_unverified_account only.';

revoke execute on function auth.erase_organization(uuid) from public;
grant execute on function auth.erase_organization(uuid) to vectra_definer;

create or replace function app.admin_delete_organization(p_org uuid, p_hard boolean)
 returns jsonb
 language plpgsql
 security definer
 set search_path to 'pg_catalog', 'pg_temp'
as $function$
declare
  v public.organizations;
  v_counts jsonb;
begin
  perform auth.authorize_platform_admin();
  select * into v from public.organizations where id = p_org for update;
  if not found then
    raise exception 'Organization not found' using errcode = 'VA404';
  end if;
  if p_hard is not true then
    if v.status <> 'deleted' then
      update public.organizations set status = 'deleted', deleted_at = pg_catalog.now() where id = p_org;
      perform app.admin_audit(p_org, 'organization.delete', 'organization', p_org,
                              pg_catalog.jsonb_build_object('name', v.name, 'from', v.status));
    end if;
    return pg_catalog.jsonb_build_object('id', p_org, 'status', 'deleted', 'erased', false);
  end if;
  v_counts := pg_catalog.jsonb_build_object(
    'users', (select pg_catalog.count(*) from public.users where organization_id = p_org),
    'invitations', (select pg_catalog.count(*) from public.invitations where organization_id = p_org),
    'campaigns', (select pg_catalog.count(*) from public.campaigns where organization_id = p_org),
    'leads', (select pg_catalog.count(*) from public.leads where organization_id = p_org),
    'meetings', (select pg_catalog.count(*) from public.meetings where organization_id = p_org));
  perform app.admin_audit(p_org, 'organization.erase', 'organization', p_org,
                          pg_catalog.jsonb_build_object('name', v.name, 'slug', v.slug, 'rows', v_counts));
  -- Notifications and outbox rows, then the organization (the other tenant
  -- tables cascade; sessions and one-time tokens follow their users).
  perform auth.erase_organization(p_org);
  return pg_catalog.jsonb_build_object('id', p_org, 'status', 'erased', 'erased', true, 'rows', v_counts);
end
$function$;

create or replace function auth.remove_unverified_account(p_user_id uuid, p_reason text)
 returns jsonb
 language plpgsql
 security definer
 set search_path to 'pg_catalog', 'pg_temp'
as $function$
declare
  u public.users;
  v_org public.organizations;
  v_removed jsonb;
begin
  select * into u from public.users where id = p_user_id and email_verified_at is null for update;
  if not found then
    return null;
  end if;
  if u.organization_id is not null then
    select * into v_org from public.organizations where id = u.organization_id for update;
    -- Colleagues, or data written before unverified accounts lost their
    -- writes: not ours to remove.
    if exists (select 1 from public.users where organization_id = u.organization_id and id <> u.id)
       or exists (select 1 from public.campaigns where organization_id = u.organization_id)
       or exists (select 1 from public.leads where organization_id = u.organization_id)
       or exists (select 1 from public.notifications where organization_id = u.organization_id) then
      return null;
    end if;
  end if;
  v_removed := pg_catalog.jsonb_build_object(
    'user_id', u.id, 'email', u.email, 'registered_at', u.created_at, 'reason', p_reason,
    'organization_id', v_org.id, 'organization_name', v_org.name);
  -- A platform entry: the organization is about to go.
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data, created_at)
  values (app.platform_org_id(), null, 'account.remove_unverified', 'user', u.id, v_removed, pg_catalog.clock_timestamp());
  if v_org.id is not null then
    -- Its outbox rows (the verification mail) and the organization; the
    -- other tenant tables cascade, sessions and one-time tokens follow the user.
    perform auth.erase_organization(v_org.id);
  else
    delete from public.users where id = u.id;
  end if;
  return v_removed;
end
$function$;

comment on function auth.remove_unverified_account(uuid, text) is
  'Removes an account whose email was never verified, with its organization (auth.erase_organization), and audits it (action account.remove_unverified, a platform entry under app.platform_org_id()); NULL (nothing removed) when the account is verified, has colleagues, or its organization holds campaigns, leads or notifications.';

-- Deleting a campaign keeps its leads, unassigned: the foreign key no longer
-- does it (NO ACTION), this function does, before the delete and as the same
-- role (one write path: vectra_definer writes both). The statement trigger
-- on leads brings the campaign's leads_count to 0 on the way.
create or replace function app.delete_campaign(p_id uuid)
 returns void
 language plpgsql
 security definer
 set search_path to 'pg_catalog', 'pg_temp'
as $function$
begin
  perform auth.authorize('owner', 'admin');
  update public.leads set campaign_id = null
   where organization_id = app.current_org_id() and campaign_id = p_id;
  delete from public.campaigns where organization_id = app.current_org_id() and id = p_id;
  if not found then
    raise exception 'Campaign not found' using errcode = 'VA404';
  end if;
end
$function$;

-- The console's audit entries: a NULL organization (none of the callers
-- passes one today) is the platform's.
create or replace function app.admin_audit(p_org uuid, p_action text, p_target_type text, p_target_id uuid, p_data jsonb)
 returns void
 language plpgsql
 set search_path to 'pg_catalog', 'pg_temp'
as $function$
#variable_conflict use_column
begin
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data, created_at)
  values (coalesce(p_org, app.platform_org_id()), app.current_user_id(), p_action, p_target_type, p_target_id,
          coalesce(p_data, '{}'), pg_catalog.clock_timestamp());
end
$function$;

-- A notification of no organization (the console's: p_org NULL) is stored,
-- with its outbox rows and audit entry, under the platform's id; the quota
-- and the unsubscribe tokens still see "no organization".
create or replace function app.queue_notification(p_org uuid, p jsonb, p_recipients text[], p_suppressed integer, p_key text, p_hash bytea, p_unsubscribe text)
 returns jsonb
 language plpgsql
 set search_path to 'pg_catalog', 'pg_temp'
as $function$
declare
  n public.notifications;
  v_org uuid := coalesce(p_org, app.platform_org_id());
  v_to text[] := array(select r from pg_catalog.unnest(p_recipients) r where app.is_plain_email(r));
  v_count integer := coalesce(pg_catalog.cardinality(v_to), 0);
begin
  if v_count > app.notification_max_recipients() then
    raise exception 'recipients: % addresses, more than % per send', v_count, app.notification_max_recipients()
      using errcode = 'VA422',
            detail = pg_catalog.jsonb_build_object('recipients', pg_catalog.format(
              '%s addresses, more than %s per send', v_count, app.notification_max_recipients()))::text;
  end if;
  if p_org is not null then
    perform auth.check_notification_quota(p_org, v_count);
  end if;
  insert into public.notifications (organization_id, type, sender_id, subject, body, body_html, action_url, action_text,
                                    recipient_count, suppressed_count, idempotency_key, request_hash)
  values (v_org, (p ->> 'type')::public.notification_type, app.current_user_id(), pg_catalog.btrim(p ->> 'subject'),
          pg_catalog.btrim(p ->> 'body'), nullif(p ->> 'body_html', ''), p ->> 'action_url',
          pg_catalog.btrim(p ->> 'action_text'), v_count, p_suppressed, p_key, p_hash)
  returning * into n;
  insert into public.email_outbox (organization_id, notification_id, to_email, template, context)
  select v_org, n.id, r, 'notification',
         case when p_unsubscribe is null then '{}'::jsonb
              else pg_catalog.jsonb_build_object('unsubscribe_token', auth.unsubscribe_token(p_unsubscribe, p_org, r)) end
    from pg_catalog.unnest(v_to) r;
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data, created_at)
  values (v_org, app.current_user_id(), 'notification.send', 'notification', n.id,
          pg_catalog.jsonb_build_object('type', n.type, 'recipients', v_count, 'suppressed', p_suppressed,
                                        'skipped_invalid', coalesce(pg_catalog.cardinality(p_recipients), 0) - v_count),
          pg_catalog.clock_timestamp());
  return app.notification_answer(n);
end
$function$;

-- The API shows a platform notification's organization as null, as before.
create or replace function app.notification_json(n public.notifications)
 returns jsonb
 language plpgsql
 stable
 set search_path to 'pg_catalog', 'pg_temp'
as $function$
#variable_conflict use_column
begin
  return (select pg_catalog.jsonb_build_object(
    'id', n.id, 'type', n.type, 'organization_id', nullif(n.organization_id, app.platform_org_id()),
    'sender_id', n.sender_id,
    'subject', n.subject, 'recipient_count', n.recipient_count, 'suppressed_count', n.suppressed_count,
    'created_at', n.created_at,
    'delivery', (select pg_catalog.jsonb_build_object(
                   'pending', pg_catalog.count(*) filter (where e.status = 'pending'),
                   'sending', pg_catalog.count(*) filter (where e.status = 'sending'),
                   'sent', pg_catalog.count(*) filter (where e.status = 'sent'),
                   'failed', pg_catalog.count(*) filter (where e.status = 'failed'),
                   'cancelled', pg_catalog.count(*) filter (where e.status = 'cancelled'))
                   from public.email_outbox e where e.notification_id = n.id)));
end
$function$;

-- Mail of no organization (verification, reset and notice mail to a
-- platform admin) is queued under the platform's id.
create or replace function auth.queue_email(p_organization_id uuid, p_to text, p_template text, p_context jsonb)
 returns uuid
 language plpgsql
 set search_path to 'pg_catalog', 'pg_temp'
as $function$
#variable_conflict use_column
declare
  v uuid;
begin
  insert into public.email_outbox (organization_id, to_email, template, context)
  values (coalesce(p_organization_id, app.platform_org_id()), p_to, p_template, p_context)
  returning id into v;
  return v;
end
$function$;

create or replace function auth.create_platform_admin(p_email text, p_password_hash text, p_full_name text)
 returns uuid
 language plpgsql
 security definer
 set search_path to 'pg_catalog', 'pg_temp'
as $function$
declare
  v_user uuid;
begin
  insert into public.users (organization_id, email, password_hash, full_name, role, email_verified_at)
  values (null, pg_catalog.lower(p_email), p_password_hash, p_full_name, 'platform_admin', pg_catalog.now())
  returning id into v_user;
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id)
  values (app.platform_org_id(), v_user, 'platform_admin.create', 'user', v_user);
  return v_user;
end
$function$;

-- A platform admin (no organization) changing or resetting its password:
-- a platform entry.
create or replace function auth.change_password(p_current_hash text, p_new_hash text)
 returns integer
 language plpgsql
 security definer
 set search_path to 'pg_catalog', 'pg_temp'
as $function$
declare
  v_user uuid := auth.require_user();
  v_session uuid := nullif(pg_catalog.current_setting('app.session_id', true), '')::uuid;
  v_revoked integer;
begin
  update public.users set password_hash = p_new_hash
   where id = v_user and password_hash = p_current_hash;
  if not found then
    raise exception 'The password was changed in the meantime; try again' using errcode = 'VA409';
  end if;
  update public.sessions
     set revoked_at = pg_catalog.now(), revoked_reason = 'password changed'
   where user_id = v_user and id is distinct from v_session and revoked_at is null;
  get diagnostics v_revoked = row_count;
  update public.one_time_tokens set used_at = pg_catalog.now()
   where user_id = v_user and purpose = 'reset_password' and used_at is null;
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id)
  select coalesce(organization_id, app.platform_org_id()), id, 'user.password_change', 'user', id
    from public.users where id = v_user;
  return v_revoked;
end
$function$;

create or replace function auth.reset_password(p_token text, p_new_hash text)
 returns void
 language plpgsql
 security definer
 set search_path to 'pg_catalog', 'pg_temp'
as $function$
declare
  v_user uuid := auth.redeem_link(p_token, 'reset_password');
begin
  -- Following the emailed link proves control of the address.
  update public.users
     set password_hash = p_new_hash, email_verified_at = coalesce(email_verified_at, pg_catalog.now())
   where id = v_user;
  update public.sessions
     set revoked_at = pg_catalog.now(), revoked_reason = 'password reset'
   where user_id = v_user and revoked_at is null;
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id)
  select coalesce(organization_id, app.platform_org_id()), id, 'user.password_reset', 'user', id
    from public.users where id = v_user;
end
$function$;

-- The outbox worker: the platform's id is "no organization", always
-- deliverable (no organization's status to withhold it) and without a
-- reply_to, as a NULL organization was.
CREATE OR REPLACE FUNCTION auth.outbox_claim(p_limit integer, p_stale interval)
 RETURNS TABLE(id uuid, to_email text, template text, context jsonb, attempts integer, max_attempts integer)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception 'p_limit must be from 1 to 1000' using errcode = '22023';
  end if;
  return query
  with due as (
    select e.id, e.organization_id, e.notification_id, e.template
      from public.email_outbox e
     where (e.status = 'pending' and e.next_attempt_at <= pg_catalog.now())
        or (e.status = 'sending' and e.claimed_at < pg_catalog.now() - p_stale)
     order by e.next_attempt_at
     limit p_limit
     for update skip locked
  ), judged as (
    select d.id,
           case when g.status is distinct from 'active' and d.organization_id <> app.platform_org_id()
                     and d.template in ('notification', 'invite-user')
                  then 'withheld: the organization is ' || coalesce(g.status::text, 'gone')
                when u.status is distinct from 'active' and n.sender_id is not null
                  then 'withheld: the sender''s account is ' || u.status::text
           end as withheld
      from due d
      left join public.organizations g on g.id = d.organization_id
      left join public.notifications n on n.id = d.notification_id
      left join public.users u on u.id = n.sender_id
  ), cancelled as (
    update public.email_outbox o
       set status = 'cancelled', claimed_at = null, last_error = j.withheld, context = o.context - 'token'
      from judged j
     where o.id = j.id and j.withheld is not null
    returning o.id
  ), claimed as (
    update public.email_outbox o
       set status = 'sending', claimed_at = pg_catalog.now(), attempts = o.attempts + 1
      from judged j
     where o.id = j.id and j.withheld is null
    returning o.id, o.to_email, o.template, o.context, o.attempts, o.max_attempts, o.notification_id
  )
  select c.id, c.to_email, c.template,
         c.context || coalesce((
           select pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                    'type', n.type, 'subject', n.subject, 'body', n.body, 'body_html', n.body_html,
                    'action_url', n.action_url, 'action_text', n.action_text,
                    'organization_name', g.name, 'sender_name', u.full_name,
                    -- An organization's mail answers to its sender.
                    'reply_to', case when n.organization_id <> app.platform_org_id() then u.email end))
             from public.notifications n
             left join public.organizations g on g.id = n.organization_id
             left join public.users u on u.id = n.sender_id
            where n.id = c.notification_id), '{}'),
         c.attempts, c.max_attempts
    from claimed c;
end
$function$;

-- The console's notification list filtered by organization: the platform's
-- id is no organization, and matches nothing, as before.
CREATE OR REPLACE FUNCTION app.list_spec(p_list text)
 RETURNS jsonb
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
select case p_list
  when 'leads' then pg_catalog.jsonb_build_object(
    'from', 'public.leads l', 'id', 'l.id', 'scope', 'organization', 'scope_column', 'l.organization_id',
    'sorts', pg_catalog.jsonb_build_object(
      'created_at', pg_catalog.jsonb_build_array('l.created_at', 'timestamptz'),
      'name', pg_catalog.jsonb_build_array('lower(coalesce(l.full_name, l.email))', 'text')),
    'filters', pg_catalog.jsonb_build_object(
      'status', $$l.status = ($2 ->> 'status')::public.lead_status$$,
      'campaign_id', $$l.campaign_id = ($2 ->> 'campaign_id')::uuid$$,
      'search', $$(l.email ilike app.like_pattern($2 ->> 'search') or l.full_name ilike app.like_pattern($2 ->> 'search')
                   or l.company ilike app.like_pattern($2 ->> 'search'))$$),
    'row', 'l as r', 'item', 'app.lead_json(s.r)')
  when 'meetings' then pg_catalog.jsonb_build_object(
    'from', 'public.meetings m', 'id', 'm.id', 'scope', 'organization', 'scope_column', 'm.organization_id',
    'sorts', pg_catalog.jsonb_build_object(
      'scheduled_at', pg_catalog.jsonb_build_array('m.scheduled_at', 'timestamptz'),
      'created_at', pg_catalog.jsonb_build_array('m.created_at', 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object(
      'status', $$m.status = ($2 ->> 'status')::public.meeting_status$$,
      'lead_id', $$m.lead_id = ($2 ->> 'lead_id')::uuid$$,
      'campaign_id', $$m.lead_id in (select l.id from public.leads l where l.organization_id = $1
                                      and l.campaign_id = ($2 ->> 'campaign_id')::uuid)$$),
    'row', 'm as r', 'item', 'app.meeting_json(s.r)')
  when 'campaigns' then pg_catalog.jsonb_build_object(
    'from', 'public.campaigns c', 'id', 'c.id', 'scope', 'organization', 'scope_column', 'c.organization_id',
    'sorts', pg_catalog.jsonb_build_object(
      'created_at', pg_catalog.jsonb_build_array('c.created_at', 'timestamptz'),
      'name', pg_catalog.jsonb_build_array('lower(c.name)', 'text')),
    'filters', pg_catalog.jsonb_build_object(
      'status', $$c.status = ($2 ->> 'status')::public.campaign_status$$,
      'search', $$c.name ilike app.like_pattern($2 ->> 'search')$$),
    'row', 'c as r', 'item', 'app.campaign_json(s.r, (s.r).leads_count)')
  when 'members' then pg_catalog.jsonb_build_object(
    'from', 'app.members u', 'id', 'u.id', 'scope', 'organization', 'scope_column', 'u.organization_id',
    'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('u.created_at', 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object(
      'role', $$u.role = ($2 ->> 'role')::public.user_role$$,
      'status', $$u.status = ($2 ->> 'status')::public.user_status$$,
      'present', $$u.status <> 'removed'$$,
      'search', $$(u.full_name ilike app.like_pattern($2 ->> 'search') or u.email ilike app.like_pattern($2 ->> 'search'))$$),
    'row', 'u as r', 'item', 'app.member_json(s.r)')
  when 'invitations' then pg_catalog.jsonb_build_object(
    'from', 'app.invitation_rows i', 'id', 'i.id', 'scope', 'organization', 'scope_column', 'i.organization_id',
    'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('i.created_at', 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object(
      'pending', 'i.accepted_at is null and i.revoked_at is null and i.expires_at > pg_catalog.now()'),
    'row', 'i as r', 'item', 'app.invitation_json(s.r)')
  when 'audit' then pg_catalog.jsonb_build_object(
    'from', 'public.audit_log a', 'id', 'a.id', 'scope', 'organization_admins', 'scope_column', 'a.organization_id',
    'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('a.created_at', 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object('action', $$a.action = ($2 ->> 'action')$$),
    'row', 'a as r',
    'item', $$pg_catalog.jsonb_build_object('id', (s.r).id, 'action', (s.r).action, 'actor_id', (s.r).actor_id,
                'actor_name', (select u.full_name from public.users u where u.id = (s.r).actor_id),
                'target_type', (s.r).target_type, 'target_id', (s.r).target_id,
                'data', (s.r).data, 'created_at', (s.r).created_at)$$)
  when 'notifications' then pg_catalog.jsonb_build_object(
    'from', 'public.notifications n', 'id', 'n.id', 'scope', 'organization_admins', 'scope_column', 'n.organization_id',
    'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('n.created_at', 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object('type', $$n.type = ($2 ->> 'type')::public.notification_type$$),
    'row', 'n as r', 'item', 'app.notification_json(s.r)')
  when 'all-notifications' then pg_catalog.jsonb_build_object(
    'from', 'public.notifications n', 'id', 'n.id', 'scope', 'platform',
    'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('n.created_at', 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object(
      'type', $$n.type = ($2 ->> 'type')::public.notification_type$$,
      'organization_id', $$(n.organization_id = ($2 ->> 'organization_id')::uuid and n.organization_id <> app.platform_org_id())$$),
    'row', 'n as r', 'item', 'app.notification_json(s.r)')
  when 'deliveries' then pg_catalog.jsonb_build_object(
    'from', 'public.email_outbox e', 'id', 'e.id', 'scope', 'deliveries', 'scope_column', 'e.organization_id',
    'sorts', pg_catalog.jsonb_build_object('email', pg_catalog.jsonb_build_array('e.to_email', 'text')),
    'filters', pg_catalog.jsonb_build_object('notification_id', $$e.notification_id = ($2 ->> 'notification_id')::uuid$$),
    'required', pg_catalog.jsonb_build_array('notification_id'),
    'row', 'e.to_email, e.status, e.attempts, e.last_error, e.sent_at',
    'item', $$pg_catalog.jsonb_build_object('email', s.to_email, 'status', s.status, 'attempts', s.attempts,
                'last_error', s.last_error, 'sent_at', s.sent_at)$$)
  when 'sessions' then pg_catalog.jsonb_build_object(
    'from', 'public.sessions x', 'id', 'x.id', 'scope', 'user', 'scope_column', 'x.user_id',
    'sorts', pg_catalog.jsonb_build_object('last_used_at', pg_catalog.jsonb_build_array('x.last_used_at', 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object(
      'live', 'x.revoked_at is null and x.expires_at > pg_catalog.now()'),
    'row', 'x as r',
    'item', $$pg_catalog.jsonb_build_object('id', (s.r).id, 'created_at', (s.r).created_at,
                'last_used_at', (s.r).last_used_at, 'expires_at', (s.r).expires_at,
                'user_agent', (s.r).user_agent, 'ip', pg_catalog.host((s.r).ip),
                'current', (s.r).id = app.current_session_id())$$)
  when 'organizations' then pg_catalog.jsonb_build_object(
    'from', 'public.organizations o', 'id', 'o.id', 'scope', 'platform',
    'sorts', pg_catalog.jsonb_build_object(
      'created_at', pg_catalog.jsonb_build_array('o.created_at', 'timestamptz'),
      'name', pg_catalog.jsonb_build_array('lower(o.name)', 'text'),
      'plan', pg_catalog.jsonb_build_array('o.plan', 'public.org_plan'),
      'users_count', pg_catalog.jsonb_build_array('o.users_count', 'integer')),
    'filters', pg_catalog.jsonb_build_object(
      'plan', $$o.plan = ($2 ->> 'plan')::public.org_plan$$,
      'status', $$o.status = ($2 ->> 'status')::public.org_status$$,
      'search', $$(o.name ilike app.like_pattern($2 ->> 'search') or o.slug ilike app.like_pattern($2 ->> 'search'))$$),
    'row', 'o as r', 'item', 'app.admin_organization_json(s.r, (s.r).users_count)')
  when 'users' then pg_catalog.jsonb_build_object(
    'from', 'app.members u', 'id', 'u.id', 'scope', 'platform',
    'fetch', 'app.members u left join public.organizations o on o.id = u.organization_id',
    'sorts', pg_catalog.jsonb_build_object(
      'created_at', pg_catalog.jsonb_build_array('u.created_at', 'timestamptz'),
      'name', pg_catalog.jsonb_build_array('lower(u.full_name)', 'text'),
      'email', pg_catalog.jsonb_build_array('lower(u.email)', 'text'),
      'last_login_at', pg_catalog.jsonb_build_array($$coalesce(u.last_login_at, '-infinity'::timestamptz)$$, 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object(
      'organization_id', $$u.organization_id = ($2 ->> 'organization_id')::uuid$$,
      'role', $$u.role = ($2 ->> 'role')::public.user_role$$,
      'status', $$u.status = ($2 ->> 'status')::public.user_status$$,
      'search', $$(u.full_name ilike app.like_pattern($2 ->> 'search') or u.email ilike app.like_pattern($2 ->> 'search'))$$),
    'row', 'u as r, o.id as org_id, o.name as org_name, o.slug as org_slug, o.status as org_status',
    'item', $$app.member_json(s.r) || pg_catalog.jsonb_build_object('role', (s.r).role,
                'is_platform_admin', (s.r).role = 'platform_admin',
                'organization', case when s.org_id is null then null else pg_catalog.jsonb_build_object(
                  'id', s.org_id, 'name', s.org_name, 'slug', s.org_slug, 'status', s.org_status) end)$$)
  end
$function$;

-- Invitations by token alone: at most one row, the oldest, now that the
-- hash is unique per organization only.
CREATE OR REPLACE FUNCTION auth.accept_invitation(p_token text, p_password_hash text, p_full_name text, p_user_agent text, p_ip inet)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_inv public.invitations;
  v_user uuid;
  v_existing public.users;
  v_superseded jsonb;
begin
  select * into v_inv from public.invitations
   where token_hash = auth.hash_token(p_token)
     and accepted_at is null and revoked_at is null and expires_at > pg_catalog.now()
   order by created_at, organization_id, id
   limit 1
  for update;
  if not found then
    raise exception 'Invalid or expired invitation' using errcode = 'VA400';
  end if;
  select * into v_existing from public.users where pg_catalog.lower(email) = v_inv.email for update;
  if found then
    -- The invitation proves control of the address; an account that never
    -- did gives way, unless others depend on it.
    v_superseded := auth.remove_unverified_account(v_existing.id, 'invitation.accept');
    if v_superseded is null then
      raise exception 'A user with this email already exists' using errcode = 'VA409';
    end if;
  end if;
  insert into public.users (organization_id, email, password_hash, full_name, role, email_verified_at)
  values (v_inv.organization_id, v_inv.email, p_password_hash, p_full_name, v_inv.role, pg_catalog.now())
  returning id into v_user;
  update public.invitations set accepted_at = pg_catalog.now()
   where organization_id = v_inv.organization_id and id = v_inv.id;
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data)
  values (v_inv.organization_id, v_user, 'invitation.accept', 'invitation', v_inv.id,
          pg_catalog.jsonb_build_object('role', v_inv.role, 'email', v_inv.email)
          || case when v_superseded is null then '{}'::jsonb
                  else pg_catalog.jsonb_build_object('replaced_unverified_account', v_superseded -> 'user_id') end);
  perform auth.assert_may_sign_in(v_user);
  return auth.open_session(v_user, p_user_agent, p_ip);
end
$function$;

CREATE OR REPLACE FUNCTION auth.invitation_email(p_token text)
 RETURNS text
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_email text;
begin
  select email into v_email from public.invitations
   where token_hash = auth.hash_token(p_token)
     and accepted_at is null and revoked_at is null and expires_at > pg_catalog.now()
   order by created_at, organization_id, id
   limit 1;
  if not found then
    raise exception 'Invalid or expired invitation' using errcode = 'VA400';
  end if;
  return v_email;
end
$function$;

-- The platform admin registering (no organization): a platform entry.
CREATE OR REPLACE FUNCTION auth.register(p_email text, p_password_hash text, p_full_name text, p_organization_name text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_email text := pg_catalog.lower(pg_catalog.btrim(p_email));
  v_existing uuid;
  v_org uuid;
  v_user uuid;
  v_constraint text;
begin
  select id into v_existing from public.users where pg_catalog.lower(email) = v_email;
  if found then
    perform auth.notify_existing_account(v_existing);
    return;
  end if;
  begin
    if v_email = (auth.current_settings()).platform_admin_email then
      -- The platform admin belongs to no organization; its powers wait for a
      -- verified email (auth.begin_request).
      insert into public.users (organization_id, email, password_hash, full_name, role)
      values (null, v_email, p_password_hash, p_full_name, 'platform_admin')
      returning id into v_user;
    else
      if p_organization_name is null or pg_catalog.btrim(p_organization_name) = '' then
        raise exception 'organization_name: is required'
          using errcode = 'VA422', detail = '{"organization_name": "is required"}';
      end if;
      insert into public.organizations (name, slug)
      values (pg_catalog.btrim(p_organization_name), auth.unique_slug(p_organization_name))
      returning id into v_org;
      insert into public.users (organization_id, email, password_hash, full_name, role)
      values (v_org, v_email, p_password_hash, p_full_name, 'owner')
      returning id into v_user;
    end if;
  exception when unique_violation then
    -- The same address registered concurrently: answered like any existing one.
    get stacked diagnostics v_constraint = constraint_name;
    if v_constraint <> 'users_email_key' then
      raise;
    end if;
    select id into v_existing from public.users where pg_catalog.lower(email) = v_email;
    perform auth.notify_existing_account(v_existing);
    return;
  end;
  perform auth.issue_verification(v_user);
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id)
  values (coalesce(v_org, app.platform_org_id()), v_user, 'user.register', 'user', v_user);
end
$function$;
