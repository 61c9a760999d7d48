-- Notifications, hardened after an attacker's review of V14:
--
-- 1. A daily quota of notification emails per organization
--    (auth.settings.notification_emails_per_organization_per_day, written by
--    `vectra migrate` from NOTIFICATION_EMAILS_PER_ORGANIZATION_PER_DAY): a
--    self-registered owner cannot turn the service into a bulk relay. One
--    send larger than the whole quota is VA422; a send that would pass it
--    within the rolling 24 hours is VA429 with retry_after.
-- 2. Members and managers no longer read notification content, their
--    recipients' delivery rows or the suppression list by direct SQL: the API
--    shows them to owners and admins only, and so do the policies now.
-- 3. Every resolved address is checked again before it is queued: leads
--    imported with an odd email ("all" of org_to_prospects) are skipped, never
--    handed to the mailer.
-- 4. action_url, whoever stores it, is an absolute http(s) URL without
--    quotes, angle brackets, backslashes or credentials (a table constraint).
-- 5. The recipients of one notification are paged (GET …/notifications/{id}
--    answered 5 MB for a 50,000-recipient send).

------------------------------------------------------------------------------
-- 1. The daily quota
------------------------------------------------------------------------------

alter table auth.settings
  add column notification_emails_per_organization_per_day integer not null default 10000
    check (notification_emails_per_organization_per_day > 0);

create function auth.check_notification_quota(p_org uuid, p_count integer) returns void
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_limit integer := (auth.current_settings()).notification_emails_per_organization_per_day;
  v_used bigint;
  v_oldest timestamptz;
begin
  if p_count > v_limit then
    raise exception 'recipients: % addresses, more than this organization''s % per day', p_count, v_limit
      using errcode = 'VA422',
            detail = pg_catalog.jsonb_build_object('recipients', pg_catalog.format(
              '%s addresses, more than this organization''s %s per day', p_count, v_limit))::text;
  end if;
  -- Concurrent sends of one organization are counted one after the other.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('vectra.notify.org:' || p_org::text, 0));
  select coalesce(pg_catalog.sum(recipient_count), 0), pg_catalog.min(created_at) into v_used, v_oldest
    from public.notifications
   where organization_id = p_org and created_at > pg_catalog.now() - interval '1 day';
  if v_used + p_count > v_limit then
    perform auth.raise_too_many(pg_catalog.format(
      'This organization has sent %s notification emails in the last 24 hours (at most %s); try again later',
      v_used, v_limit), v_oldest + interval '1 day');
  end if;
end
$$;
comment on function auth.check_notification_quota(uuid, integer) is
  'VA422 when one send exceeds the organization''s daily quota of notification emails, VA429 (retry_after) when it would pass it within the rolling 24 hours (auth.settings).';
revoke all on function auth.check_notification_quota(uuid, integer) from public;
grant execute on function auth.check_notification_quota(uuid, integer) to vectra_definer;

-- A plausible address: what the mailer can take without a display name,
-- folding or a second recipient (listed addresses passed the API's rules
-- already; leads imported by direct SQL may not have).
create function app.is_plain_email(p text) returns boolean
language sql immutable
set search_path = pg_catalog, pg_temp
as $$
  select p ~ '^[A-Za-z0-9.!#$%&''*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$'
     and pg_catalog.char_length(p) <= 254
$$;
revoke all on function app.is_plain_email(text) from public;
grant execute on function app.is_plain_email(text) to vectra_definer;

-- V14's queue_notification, with the quota (organizations only: the
-- platform admin's sends are the operator's) and the address check.
create or replace function app.queue_notification(p_org uuid, p jsonb, p_recipients text[], p_suppressed integer,
                                                  p_key text, p_hash bytea, p_unsubscribe text) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  n public.notifications;
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
  values (p_org, (p ->> 'type')::public.notification_type, app.current_user_id(), pg_catalog.btrim(p ->> 'subject'),
          pg_catalog.btrim(p ->> 'body'), nullif(p ->> 'body_html', ''), p ->> 'action_url',
          pg_catalog.btrim(p ->> 'action_text'), v_count, p_suppressed, p_key, p_hash)
  returning * into n;
  insert into public.email_outbox (organization_id, notification_id, to_email, template, context)
  select p_org, n.id, r, 'notification',
         case when p_unsubscribe is null then '{}'::jsonb
              else pg_catalog.jsonb_build_object('unsubscribe_token', auth.unsubscribe_token(p_unsubscribe, p_org, r)) end
    from pg_catalog.unnest(v_to) r;
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data, created_at)
  values (p_org, app.current_user_id(), 'notification.send', 'notification', n.id,
          pg_catalog.jsonb_build_object('type', n.type, 'recipients', v_count, 'suppressed', p_suppressed,
                                        'skipped_invalid', coalesce(pg_catalog.cardinality(p_recipients), 0) - v_count),
          pg_catalog.clock_timestamp());
  return app.notification_answer(n);
end
$$;

------------------------------------------------------------------------------
-- 2. Owners and admins only, by direct SQL too
------------------------------------------------------------------------------

alter policy notifications_member_select on public.notifications
  using (organization_id = app.current_org_id() and app.current_user_role() in ('owner', 'admin'));
comment on policy notifications_member_select on public.notifications is
  'Owners and admins (and readers with an owner or admin role setting) see the notifications sent by their organization, as GET /user/notifications shows them; managers and members do not. Platform-wide ones (NULL organization) are nobody''s to list here.';

alter policy email_outbox_member_select on public.email_outbox
  using (organization_id = app.current_org_id()
         and (notification_id is null or app.current_user_role() in ('owner', 'admin')));
comment on policy email_outbox_member_select on public.email_outbox is
  'Members and readers see the delivery status of their own organization''s emails (never the context, by grant); the recipients of notifications only as an owner or admin.';

alter policy lead_suppressions_member_select on public.lead_suppressions
  using (organization_id = app.current_org_id() and app.current_user_role() in ('owner', 'admin'));
comment on policy lead_suppressions_member_select on public.lead_suppressions is
  'Owners and admins (and readers with an owner or admin role setting) see which prospects unsubscribed from their organization''s mail.';

------------------------------------------------------------------------------
-- 4. action_url, however it is written
------------------------------------------------------------------------------

alter table public.notifications add constraint notifications_action_url_shape check (
  action_url is null
  or (pg_catalog.char_length(action_url) <= 2048
      and action_url ~ '^https?://([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?([/?#][^\s"''<>\\`]*)?$'));

------------------------------------------------------------------------------
-- 5. Recipients, a page at a time
------------------------------------------------------------------------------

-- The recipients of n, by address: page p_page of p_per_page.
create function app.notification_recipients(n public.notifications, p_page integer, p_per_page integer) returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.check_page(p_page, p_per_page);
  return pg_catalog.jsonb_build_object(
    'items', coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                'email', e.to_email, 'status', e.status, 'attempts', e.attempts,
                                'last_error', e.last_error, 'sent_at', e.sent_at) order by e.to_email)
                         from (select to_email, status, attempts, last_error, sent_at from public.email_outbox
                                where notification_id = n.id
                                order by to_email
                                limit p_per_page offset (p_page - 1)::bigint * p_per_page) e), '[]'),
    'page', p_page, 'per_page', p_per_page,
    'total', (select pg_catalog.count(*) from public.email_outbox where notification_id = n.id));
end
$$;

create or replace function app.notification_detail(n public.notifications) returns jsonb
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select app.notification_json(n) || pg_catalog.jsonb_build_object(
    'body', n.body, 'body_html', n.body_html, 'action_url', n.action_url, 'action_text', n.action_text)
$$;

-- GET /user/notifications/{id}?page=&per_page= (owner, admin): the
-- notification and a page of its recipients.
drop function app.get_notification(uuid);
create function app.get_notification(p_id uuid, p_page integer, p_per_page integer) returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  n public.notifications;
begin
  perform app.require_role('owner', 'admin');
  select * into n from public.notifications where id = p_id and organization_id = app.current_org_id();
  if not found then
    raise exception 'Notification not found' using errcode = 'VA404';
  end if;
  return app.notification_detail(n) || pg_catalog.jsonb_build_object(
    'recipients', app.notification_recipients(n, p_page, p_per_page));
end
$$;

drop function app.admin_get_notification(uuid);
create function app.admin_get_notification(p_id uuid, p_page integer, p_per_page integer) returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  n public.notifications;
begin
  perform app.require_platform_admin();
  select * into n from public.notifications where id = p_id;
  if not found then
    raise exception 'Notification not found' using errcode = 'VA404';
  end if;
  return app.notification_detail(n) || pg_catalog.jsonb_build_object(
    'recipients', app.notification_recipients(n, p_page, p_per_page));
end
$$;

revoke all on function app.notification_recipients(public.notifications, integer, integer),
  app.get_notification(uuid, integer, integer), app.admin_get_notification(uuid, integer, integer) from public;
grant execute on function app.notification_recipients(public.notifications, integer, integer)
  to vectra_member, vectra_tenant_reader, vectra_platform_admin;
grant execute on function app.get_notification(uuid, integer, integer) to vectra_member, vectra_tenant_reader;
grant execute on function app.admin_get_notification(uuid, integer, integer) to vectra_platform_admin;
