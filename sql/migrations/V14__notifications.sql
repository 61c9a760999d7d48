-- V14: notifications, the five types.
--
-- An organization's owners and admins send org_to_prospects and
-- org_owner_to_members (app.send_notification); the platform admin sends
-- vectra_to_users, vectra_to_org_owner and system_alerts
-- (app.admin_send_notification). Both are SECURITY DEFINER functions of
-- vectra_definer behind auth.authorize / auth.authorize_platform_admin, so
-- that the sender, the type and the recipients are the database's to check:
-- no request role writes notifications or the outbox directly.
--
-- One send is one transaction: the notification row (its content, once) and
-- one outbox row per recipient (set-based). The worker's claim merges the
-- notification's content into the row's context, so a thousand recipients
-- do not store the body a thousand times.
--
-- Bulk mail can be refused by its recipients (RFC 8058): org_to_prospects and
-- vectra_to_users carry a signed one-click unsubscribe link. Prospects are
-- suppressed per organization (public.lead_suppressions), users opt out of
-- the platform's announcements (users.announcements_opt_out_at). Later sends
-- skip them and count them in suppressed_count.

------------------------------------------------------------------------------
-- Schema
------------------------------------------------------------------------------

alter table public.notifications
  add column suppressed_count integer not null default 0 check (suppressed_count >= 0),
  -- Idempotency-Key of the send, per sender, for 24 hours (then released).
  add column idempotency_key text check (idempotency_key ~ '^[!-~]{1,255}$'),
  add column request_hash bytea,
  add constraint notifications_action check ((action_url is null) = (action_text is null)) not valid;
create unique index notifications_idempotency_key on public.notifications (sender_id, idempotency_key)
  where idempotency_key is not null;
create index notifications_created_idx on public.notifications (created_at desc, id);

-- Prospects who asked this organization for no more email.
create table public.lead_suppressions (
  organization_id  uuid not null references public.organizations (id) on delete cascade,
  email            text not null check (email = pg_catalog.lower(email) and pg_catalog.length(email) between 3 and 254),
  created_at       timestamptz not null default now(),
  primary key (organization_id, email)
);
comment on table public.lead_suppressions is
  'Addresses that unsubscribed from an organization''s org_to_prospects mail (one-click link); its later sends skip them.';
alter table public.lead_suppressions enable row level security, force row level security;

alter table public.users add column announcements_opt_out_at timestamptz;
comment on column public.users.announcements_opt_out_at is
  'When the user unsubscribed from the platform''s announcements (vectra_to_users); NULL: subscribed.';

-- The key of the unsubscribe links' signatures, made once per database.
alter table auth.settings add column unsubscribe_key bytea not null default extensions.gen_random_bytes(32)
  check (pg_catalog.length(unsubscribe_key) = 32);

------------------------------------------------------------------------------
-- Grants and policies
------------------------------------------------------------------------------

grant select on public.lead_suppressions to vectra_member, vectra_tenant_reader, vectra_platform_admin;
create policy lead_suppressions_member_select on public.lead_suppressions for select
  to vectra_member, vectra_tenant_reader using (organization_id = app.current_org_id());
comment on policy lead_suppressions_member_select on public.lead_suppressions is
  'Members and readers see which prospects unsubscribed from their organization''s mail.';
create policy lead_suppressions_platform_admin_select on public.lead_suppressions for select
  to vectra_platform_admin using ((select app.is_platform_admin()));
comment on policy lead_suppressions_platform_admin_select on public.lead_suppressions is
  'The platform admin reads every organization''s suppressions, in a platform-admin context only.';

grant select on public.lead_suppressions to vectra_definer;
create policy lead_suppressions_definer_select on public.lead_suppressions for select to vectra_definer
  using (organization_id = app.current_org_id());
comment on policy lead_suppressions_definer_select on public.lead_suppressions is
  'app.send_notification reads its own organization''s suppressions (writes are auth.unsubscribe''s, the owner''s).';

grant select, insert on public.notifications to vectra_definer;
grant update (idempotency_key) on public.notifications to vectra_definer;
grant select (announcements_opt_out_at) on public.users to vectra_definer;
create policy notifications_definer_all on public.notifications for all to vectra_definer
  using (organization_id = app.current_org_id()) with check (organization_id = app.current_org_id());
comment on policy notifications_definer_all on public.notifications is
  'app.send_notification records its own organization''s notifications only.';
create policy notifications_definer_platform_admin on public.notifications for all to vectra_definer
  using ((select app.is_platform_admin())) with check ((select app.is_platform_admin()));
comment on policy notifications_definer_platform_admin on public.notifications is
  'app.admin_send_notification records platform-wide notifications, in a platform-admin context only.';

------------------------------------------------------------------------------
-- Unsubscribe links
------------------------------------------------------------------------------

-- base64url without padding.
create function auth.b64url(p bytea) returns text
language sql immutable parallel safe
set search_path = pg_catalog, pg_temp
as $$
  select pg_catalog.rtrim(pg_catalog.translate(pg_catalog.replace(pg_catalog.encode(p, 'base64'), E'\n', ''), '+/', '-_'), '=')
$$;

create function auth.b64url_decode(p text) returns bytea
language plpgsql immutable parallel safe
set search_path = pg_catalog, pg_temp
as $$
declare
  v text := pg_catalog.translate(p, '-_', '+/');
begin
  if p !~ '^[A-Za-z0-9_-]*$' then
    return null;
  end if;
  return pg_catalog.decode(v || pg_catalog.repeat('=', (4 - pg_catalog.length(v) % 4) % 4), 'base64');
exception when others then
  return null;
end
$$;

-- A link's token: what it unsubscribes (kind prospects with the
-- organization, or announcements) and the address, signed with
-- HMAC-SHA-256 under auth.settings.unsubscribe_key.
create function auth.unsubscribe_token(p_kind text, p_org uuid, p_email text) returns text
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_payload text := p_kind || ':' || coalesce(p_org::text, '') || ':' || pg_catalog.lower(p_email);
begin
  if p_kind not in ('prospects', 'announcements') or (p_kind = 'prospects') <> (p_org is not null) then
    raise exception 'unsubscribe_token: bad kind or organization' using errcode = '22023';
  end if;
  return auth.b64url(pg_catalog.convert_to(v_payload, 'UTF8')) || '.'
      || auth.b64url(extensions.hmac(pg_catalog.convert_to(v_payload, 'UTF8'),
                                     (auth.current_settings()).unsubscribe_key, 'sha256'));
end
$$;
comment on function auth.unsubscribe_token(text, uuid, text) is
  'The signed token of a one-click unsubscribe link (kind prospects of one organization, or announcements).';

-- The link's token read back: kind, organization and address, or VA400.
create function auth.unsubscribe_target(p_token text, out kind text, out organization_id uuid, out email text)
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_parts text[] := pg_catalog.string_to_array(coalesce(p_token, ''), '.');
  v_payload bytea;
  v_fields text[];
begin
  if pg_catalog.length(p_token) > 2000 or pg_catalog.cardinality(v_parts) <> 2 then
    raise exception 'Invalid unsubscribe link' using errcode = 'VA400';
  end if;
  v_payload := auth.b64url_decode(v_parts[1]);
  if v_payload is null
     or auth.b64url(extensions.hmac(v_payload, (auth.current_settings()).unsubscribe_key, 'sha256')) <> v_parts[2] then
    raise exception 'Invalid unsubscribe link' using errcode = 'VA400';
  end if;
  v_fields := pg_catalog.string_to_array(pg_catalog.convert_from(v_payload, 'UTF8'), ':');
  kind := v_fields[1];
  organization_id := nullif(v_fields[2], '')::uuid;
  email := pg_catalog.array_to_string(v_fields[3:], ':');
end
$$;

-- GET (p_apply false: what the link would do) and POST (p_apply true: do it)
-- on /api/v1/unsubscribe. No login: the signature is the proof.
create function auth.unsubscribe(p_token text, p_apply boolean) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  t record;
  v_org_name text;
begin
  select * into t from auth.unsubscribe_target(p_token);
  if t.kind = 'prospects' then
    select name into v_org_name from public.organizations where id = t.organization_id;
    if not found then
      raise exception 'Invalid unsubscribe link' using errcode = 'VA400';
    end if;
    if p_apply then
      insert into public.lead_suppressions (organization_id, email) values (t.organization_id, t.email)
      on conflict do nothing;
      if found then
        insert into public.audit_log (organization_id, actor_id, action, target_type, data)
        values (t.organization_id, null, 'notification.unsubscribe', 'lead', pg_catalog.jsonb_build_object('email', t.email));
      end if;
    end if;
  else
    if p_apply then
      update public.users set announcements_opt_out_at = pg_catalog.now()
       where pg_catalog.lower(email) = t.email and announcements_opt_out_at is null;
    end if;
  end if;
  return pg_catalog.jsonb_build_object('kind', t.kind, 'email', t.email, 'organization_name', v_org_name,
                                       'unsubscribed', p_apply);
end
$$;
comment on function auth.unsubscribe(text, boolean) is
  'One-click unsubscribe (RFC 8058): a prospect from one organization''s mail, or a user from the platform''s announcements. VA400 for a token that is not ours.';

------------------------------------------------------------------------------
-- Sending
------------------------------------------------------------------------------

-- Most recipients one send may reach ("all" included); a list holds at most 1,000.
create function app.notification_max_recipients() returns integer
language sql immutable
set search_path = pg_catalog, pg_temp
as $$ select 50000 $$;

-- The fields every type shares, checked for direct callers as the service
-- checks them (src/http/notifications.rs): VA422 naming every bad field.
-- Returns the listed recipients, lower-cased and deduplicated (NULL for "all").
create function app.check_notification(p jsonb, p_allow_org_ids boolean) returns text[]
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
declare
  e jsonb := '{}';
  v_list text[];
  k text;
begin
  if p is null or pg_catalog.jsonb_typeof(p) <> 'object' then
    raise exception 'The body must be a JSON object' using errcode = 'VA422', detail = '{"body": "must be an object"}';
  end if;
  for k in select pg_catalog.jsonb_object_keys(p) loop
    if k not in ('type', 'recipients', 'subject', 'body', 'body_html', 'action_url', 'action_text', 'organization_ids') then
      e := e || pg_catalog.jsonb_build_object(k, 'is not a field of a notification');
    end if;
  end loop;
  if pg_catalog.jsonb_typeof(p -> 'subject') is distinct from 'string'
     or pg_catalog.char_length(pg_catalog.btrim(p ->> 'subject')) not between 1 and 200
     or (p ->> 'subject') ~ '[\x00-\x1f\x7f]' then
    e := e || '{"subject": "must be 1 to 200 characters on one line"}';
  end if;
  if pg_catalog.jsonb_typeof(p -> 'body') is distinct from 'string'
     or pg_catalog.char_length(pg_catalog.btrim(p ->> 'body')) not between 1 and 20000 then
    e := e || '{"body": "must be 1 to 20000 characters"}';
  end if;
  if p ? 'body_html' and pg_catalog.jsonb_typeof(p -> 'body_html') <> 'null'
     and (pg_catalog.jsonb_typeof(p -> 'body_html') <> 'string' or pg_catalog.char_length(p ->> 'body_html') > 100000) then
    e := e || '{"body_html": "must be HTML of at most 100000 characters"}';
  end if;
  if coalesce(pg_catalog.jsonb_typeof(p -> 'action_url'), 'null') <> 'null' then
    if pg_catalog.jsonb_typeof(p -> 'action_url') <> 'string' or pg_catalog.char_length(p ->> 'action_url') > 2048
       or (p ->> 'action_url') !~ '^https?://[^\s/?#@]+[^\s]*$' then
      e := e || '{"action_url": "must be an absolute https URL"}';
    end if;
    if pg_catalog.jsonb_typeof(p -> 'action_text') is distinct from 'string'
       or pg_catalog.char_length(pg_catalog.btrim(p ->> 'action_text')) not between 1 and 100 then
      e := e || '{"action_text": "is required with action_url (1 to 100 characters)"}';
    end if;
  elsif coalesce(pg_catalog.jsonb_typeof(p -> 'action_text'), 'null') <> 'null' then
    e := e || '{"action_text": "needs an action_url"}';
  end if;
  if p ? 'organization_ids' and not p_allow_org_ids then
    e := e || '{"organization_ids": "only for vectra_to_org_owner"}';
  end if;
  if p ? 'organization_ids' and p_allow_org_ids then
    if p ? 'recipients' then
      e := e || '{"recipients": "send recipients or organization_ids, not both"}';
    end if;
  elsif p -> 'recipients' = '"all"' then
    v_list := null;
  elsif pg_catalog.jsonb_typeof(p -> 'recipients') = 'array'
        and pg_catalog.jsonb_array_length(p -> 'recipients') between 1 and 1000
        and not exists (select 1 from pg_catalog.jsonb_array_elements(p -> 'recipients') r
                         where pg_catalog.jsonb_typeof(r) <> 'string') then
    v_list := array(select distinct pg_catalog.lower(pg_catalog.btrim(r))
                      from pg_catalog.jsonb_array_elements_text(p -> 'recipients') r);
    if exists (select 1 from pg_catalog.unnest(v_list) a
                where pg_catalog.length(a) > 254
                   or a !~ '^[a-z0-9!#$%&''*+/=?^_`{|}~.-]{1,64}@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'
                   or a ~ '(^\.|\.\.|\.@)') then
      e := e || '{"recipients": "must all be email addresses"}';
    end if;
  else
    e := e || '{"recipients": "must be \"all\" or a list of 1 to 1000 email addresses"}';
  end if;
  if e <> '{}' then
    raise exception 'The request has invalid fields' using errcode = 'VA422', detail = e::text;
  end if;
  return v_list;
end
$$;

-- The earlier send of this sender with this Idempotency-Key (within 24 h):
-- its answer, or NULL when there is none. The same key with another body is
-- VA422. A key older than 24 h is released. Concurrent sends with one key
-- are serialized by an advisory lock, so exactly one of them queues mail.
create function app.notification_replay(p_key text, p_hash bytea) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  n public.notifications;
begin
  if p_key is null then
    return null;
  end if;
  if p_key !~ '^[!-~]{1,255}$' then
    raise exception 'Idempotency-Key: must be 1 to 255 visible ASCII characters'
      using errcode = 'VA422', detail = '{"Idempotency-Key": "must be 1 to 255 visible ASCII characters"}';
  end if;
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(
    'vectra.notification:' || app.current_user_id()::text || ':' || p_key, 0));
  select * into n from public.notifications where sender_id = app.current_user_id() and idempotency_key = p_key;
  if not found then
    return null;
  end if;
  if n.created_at <= pg_catalog.now() - interval '24 hours' then
    update public.notifications set idempotency_key = null where id = n.id;
    return null;
  end if;
  if n.request_hash is distinct from p_hash then
    raise exception 'Idempotency-Key: already used for a different request in the last 24 hours'
      using errcode = 'VA422', detail = '{"Idempotency-Key": "already used for a different request in the last 24 hours"}';
  end if;
  return app.notification_answer(n);
end
$$;

create function app.notification_answer(n public.notifications) returns jsonb
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select pg_catalog.jsonb_build_object('id', n.id, 'type', n.type, 'recipient_count', n.recipient_count,
                                       'suppressed_count', n.suppressed_count, 'status', 'queued')
$$;

-- Records the notification and queues one email per address of
-- p_recipients (already resolved and without the suppressed ones).
create function app.queue_notification(p_org uuid, p jsonb, p_recipients text[], p_suppressed integer,
                                       p_key text, p_hash bytea, p_unsubscribe text) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  n public.notifications;
  v_count integer := coalesce(pg_catalog.cardinality(p_recipients), 0);
begin
  if v_count > app.notification_max_recipients() then
    raise exception 'recipients: % addresses, more than % per send', v_count, app.notification_max_recipients()
      using errcode = 'VA422',
            detail = pg_catalog.jsonb_build_object('recipients', pg_catalog.format(
              '%s addresses, more than %s per send', v_count, app.notification_max_recipients()))::text;
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
    from pg_catalog.unnest(p_recipients) r;
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data, created_at)
  values (p_org, app.current_user_id(), 'notification.send', 'notification', n.id,
          pg_catalog.jsonb_build_object('type', n.type, 'recipients', v_count, 'suppressed', p_suppressed),
          pg_catalog.clock_timestamp());
  return app.notification_answer(n);
end
$$;

-- POST /user/notifications/send: org_to_prospects, org_owner_to_members.
create function app.send_notification(p jsonb, p_key text) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_type text;
  v_list text[];
  v_hash bytea := pg_catalog.sha256(pg_catalog.convert_to(coalesce(p::text, ''), 'UTF8'));
  v_replay jsonb;
  v_all text[];
  v_unknown text[];
  v_send text[];
  v_suppressed integer := 0;
begin
  perform auth.authorize('owner', 'admin');
  v_type := p ->> 'type';
  if v_type in ('vectra_to_users', 'vectra_to_org_owner', 'system_alerts') then
    raise exception 'An organization sends org_to_prospects or org_owner_to_members; % is the platform admin''s', v_type
      using errcode = 'VA403';
  end if;
  if v_type is distinct from 'org_to_prospects' and v_type is distinct from 'org_owner_to_members' then
    raise exception 'type: must be one of org_to_prospects, org_owner_to_members'
      using errcode = 'VA422', detail = '{"type": "must be one of org_to_prospects, org_owner_to_members"}';
  end if;
  v_list := app.check_notification(p, false);
  if not exists (select 1 from public.users where id = app.current_user_id()
                   and organization_id = app.current_org_id() and email_verified_at is not null) then
    raise exception 'Verify your email address before sending notifications' using errcode = 'VA403';
  end if;
  v_replay := app.notification_replay(p_key, v_hash);
  if v_replay is not null then
    return v_replay;
  end if;
  if v_type = 'org_owner_to_members' then
    v_all := array(select pg_catalog.lower(email) from public.users
                    where organization_id = app.current_org_id() and status = 'active'
                      and id <> app.current_user_id() order by 1);
    if v_list is not null then
      v_unknown := array(select a from pg_catalog.unnest(v_list) a where not (a = any (v_all)) order by 1);
      if pg_catalog.cardinality(v_unknown) > 0 then
        raise exception 'recipients: not active members of this organization: %', pg_catalog.array_to_string(v_unknown, ', ')
          using errcode = 'VA422',
                detail = pg_catalog.jsonb_build_object('recipients', 'not active members of this organization: '
                                                       || pg_catalog.array_to_string(v_unknown, ', '))::text;
      end if;
      v_all := v_list;
    end if;
    v_send := v_all;
  else
    v_all := coalesce(v_list, array(select distinct email from public.leads
                                     where organization_id = app.current_org_id() and status <> 'lost' order by 1));
    v_send := array(select a from pg_catalog.unnest(v_all) a
                     where not exists (select 1 from public.lead_suppressions s
                                        where s.organization_id = app.current_org_id() and s.email = a)
                     order by 1);
    v_suppressed := pg_catalog.cardinality(v_all) - pg_catalog.cardinality(v_send);
  end if;
  return app.queue_notification(app.current_org_id(), p, v_send, v_suppressed, p_key, v_hash,
                                case when v_type = 'org_to_prospects' then 'prospects' end);
end
$$;

-- POST /admin/notifications/send: vectra_to_users, vectra_to_org_owner,
-- system_alerts. Platform-wide: the notification and its emails belong to
-- no organization.
create function app.admin_send_notification(p jsonb, p_key text) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_type text;
  v_list text[];
  v_hash bytea := pg_catalog.sha256(pg_catalog.convert_to(coalesce(p::text, ''), 'UTF8'));
  v_replay jsonb;
  v_all text[];
  v_unknown text[];
  v_send text[];
  v_orgs uuid[];
  v_suppressed integer := 0;
begin
  perform auth.authorize_platform_admin();
  v_type := p ->> 'type';
  if v_type in ('org_to_prospects', 'org_owner_to_members') then
    raise exception 'The platform admin sends vectra_to_users, vectra_to_org_owner or system_alerts; % is an organization''s', v_type
      using errcode = 'VA403';
  end if;
  if v_type is null or v_type not in ('vectra_to_users', 'vectra_to_org_owner', 'system_alerts') then
    raise exception 'type: must be one of vectra_to_users, vectra_to_org_owner, system_alerts'
      using errcode = 'VA422', detail = '{"type": "must be one of vectra_to_users, vectra_to_org_owner, system_alerts"}';
  end if;
  v_list := app.check_notification(p, v_type = 'vectra_to_org_owner');
  if v_type = 'vectra_to_org_owner' and p ? 'organization_ids' then
    if pg_catalog.jsonb_typeof(p -> 'organization_ids') <> 'array'
       or pg_catalog.jsonb_array_length(p -> 'organization_ids') not between 1 and 1000
       or exists (select 1 from pg_catalog.jsonb_array_elements(p -> 'organization_ids') i
                   where pg_catalog.jsonb_typeof(i) <> 'string'
                      or (i #>> '{}') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$') then
      raise exception 'organization_ids: must be a list of 1 to 1000 organization ids'
        using errcode = 'VA422', detail = '{"organization_ids": "must be a list of 1 to 1000 organization ids"}';
    end if;
    v_orgs := array(select distinct (i #>> '{}')::uuid from pg_catalog.jsonb_array_elements(p -> 'organization_ids') i);
    v_unknown := array(select o::text from pg_catalog.unnest(v_orgs) o
                        where not exists (select 1 from public.organizations g where g.id = o) order by 1);
    if pg_catalog.cardinality(v_unknown) > 0 then
      raise exception 'organization_ids: unknown: %', pg_catalog.array_to_string(v_unknown, ', ')
        using errcode = 'VA422',
              detail = pg_catalog.jsonb_build_object('organization_ids', 'unknown: ' || pg_catalog.array_to_string(v_unknown, ', '))::text;
    end if;
  elsif v_type = 'vectra_to_org_owner' and v_list is not null then
    raise exception 'recipients: must be "all" (every active organization''s owners), or send organization_ids'
      using errcode = 'VA422', detail = '{"recipients": "must be \"all\" (every active organization''s owners), or send organization_ids"}';
  end if;
  v_replay := app.notification_replay(p_key, v_hash);
  if v_replay is not null then
    return v_replay;
  end if;
  if v_type = 'vectra_to_org_owner' then
    v_send := array(select distinct pg_catalog.lower(u.email) from public.users u
                      join public.organizations o on o.id = u.organization_id
                     where u.role = 'owner' and u.status = 'active' and o.status = 'active'
                       and (v_orgs is null or o.id = any (v_orgs))
                     order by 1);
  else
    -- Every active user (of an active organization, or a platform admin), or
    -- the listed ones, which must be users.
    if v_list is not null then
      v_unknown := array(select a from pg_catalog.unnest(v_list) a
                          where not exists (select 1 from public.users u where pg_catalog.lower(u.email) = a) order by 1);
      if pg_catalog.cardinality(v_unknown) > 0 then
        raise exception 'recipients: not users: %', pg_catalog.array_to_string(v_unknown, ', ')
          using errcode = 'VA422',
                detail = pg_catalog.jsonb_build_object('recipients', 'not users: ' || pg_catalog.array_to_string(v_unknown, ', '))::text;
      end if;
    end if;
    v_all := array(select pg_catalog.lower(u.email) from public.users u
                     left join public.organizations o on o.id = u.organization_id
                    where (v_list is null and u.status = 'active' and (o.status = 'active' or u.role = 'platform_admin'))
                       or pg_catalog.lower(u.email) = any (v_list)
                    order by 1);
    if v_type = 'vectra_to_users' then
      v_send := array(select pg_catalog.lower(u.email) from public.users u
                       where pg_catalog.lower(u.email) = any (v_all) and u.announcements_opt_out_at is null
                       order by 1);
      v_suppressed := pg_catalog.cardinality(v_all) - pg_catalog.cardinality(v_send);
    else
      v_send := v_all;
    end if;
  end if;
  return app.queue_notification(null, p, v_send, v_suppressed, p_key, v_hash,
                                case when v_type = 'vectra_to_users' then 'announcements' end);
end
$$;

------------------------------------------------------------------------------
-- History (security invoker)
------------------------------------------------------------------------------

create function app.notification_json(n public.notifications) returns jsonb
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select pg_catalog.jsonb_build_object(
    'id', n.id, 'type', n.type, 'organization_id', n.organization_id, 'sender_id', n.sender_id,
    'subject', n.subject, 'recipient_count', n.recipient_count, 'suppressed_count', n.suppressed_count,
    'created_at', n.created_at,
    'delivery', (select pg_catalog.jsonb_build_object(
                   'pending', pg_catalog.count(*) filter (where e.status = 'pending'),
                   'sending', pg_catalog.count(*) filter (where e.status = 'sending'),
                   'sent', pg_catalog.count(*) filter (where e.status = 'sent'),
                   'failed', pg_catalog.count(*) filter (where e.status = 'failed'))
                   from public.email_outbox e where e.notification_id = n.id))
$$;

create function app.notification_detail(n public.notifications) returns jsonb
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select app.notification_json(n) || pg_catalog.jsonb_build_object(
    'body', n.body, 'body_html', n.body_html, 'action_url', n.action_url, 'action_text', n.action_text,
    'recipients', coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                               'email', e.to_email, 'status', e.status, 'attempts', e.attempts,
                               'last_error', e.last_error, 'sent_at', e.sent_at)
                             order by e.to_email)
                              from public.email_outbox e where e.notification_id = n.id), '[]'))
$$;

create function app.notification_page(p_page integer, p_per_page integer, p_type text, p_org uuid, p_mine boolean)
returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_total bigint;
  v_items jsonb;
begin
  perform app.check_page(p_page, p_per_page);
  perform app.check_filter('type', p_type, 'org_to_prospects', 'org_owner_to_members', 'vectra_to_users',
                           'vectra_to_org_owner', 'system_alerts');
  select pg_catalog.count(*) into v_total from public.notifications n
   where (p_type is null or n.type::text = p_type)
     and (not p_mine or n.organization_id = app.current_org_id())
     and (p_org is null or n.organization_id = p_org);
  select coalesce(pg_catalog.jsonb_agg(app.notification_json(x) order by x.created_at desc, x.id), '[]') into v_items
    from (select * from public.notifications n
           where (p_type is null or n.type::text = p_type)
             and (not p_mine or n.organization_id = app.current_org_id())
             and (p_org is null or n.organization_id = p_org)
           order by n.created_at desc, n.id
           limit p_per_page offset (p_page - 1)::bigint * p_per_page) x;
  return pg_catalog.jsonb_build_object('items', v_items, 'page', p_page, 'per_page', p_per_page, 'total', v_total);
end
$$;

-- GET /user/notifications (owner, admin): the organization's own.
create function app.list_notifications(p_page integer, p_per_page integer, p_type text) returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.require_role('owner', 'admin');
  return app.notification_page(p_page, p_per_page, p_type, null, true);
end
$$;

-- GET /user/notifications/{id} (owner, admin).
create function app.get_notification(p_id uuid) returns jsonb
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
  return app.notification_detail(n);
end
$$;

-- GET /admin/notifications: every one, platform-wide and organizations'.
create function app.admin_list_notifications(p_page integer, p_per_page integer, p_type text, p_org uuid) returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.require_platform_admin();
  return app.notification_page(p_page, p_per_page, p_type, p_org, false);
end
$$;

create function app.admin_get_notification(p_id uuid) returns jsonb
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
  return app.notification_detail(n);
end
$$;

------------------------------------------------------------------------------
-- The worker: a notification email's context carries its content
------------------------------------------------------------------------------

create or replace function auth.outbox_claim(p_limit integer, p_stale interval)
returns table (id uuid, to_email text, template text, context jsonb, attempts integer, max_attempts integer)
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception 'p_limit must be from 1 to 1000' using errcode = '22023';
  end if;
  return query
  with claimed as (
    update public.email_outbox o
       set status = 'sending', claimed_at = pg_catalog.now(), attempts = o.attempts + 1
     where o.id in (select e.id from public.email_outbox e
                     where (e.status = 'pending' and e.next_attempt_at <= pg_catalog.now())
                        or (e.status = 'sending' and e.claimed_at < pg_catalog.now() - p_stale)
                     order by e.next_attempt_at
                     limit p_limit
                     for update skip locked)
    returning o.id, o.to_email, o.template, o.context, o.attempts, o.max_attempts, o.notification_id
  )
  select c.id, c.to_email, c.template,
         c.context || coalesce((
           select pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                    'type', n.type, 'subject', n.subject, 'body', n.body, 'body_html', n.body_html,
                    'action_url', n.action_url, 'action_text', n.action_text,
                    'organization_name', (select g.name from public.organizations g where g.id = n.organization_id),
                    'sender_name', (select u.full_name from public.users u where u.id = n.sender_id)))
             from public.notifications n where n.id = c.notification_id), '{}'),
         c.attempts, c.max_attempts
    from claimed c;
end
$$;

------------------------------------------------------------------------------
-- Ownership and grants
------------------------------------------------------------------------------

grant create on schema app to vectra_definer;
alter function app.send_notification(jsonb, text) owner to vectra_definer;
alter function app.admin_send_notification(jsonb, text) owner to vectra_definer;
alter function app.queue_notification(uuid, jsonb, text[], integer, text, bytea, text) owner to vectra_definer;
alter function app.notification_replay(text, bytea) owner to vectra_definer;
revoke create on schema app from vectra_definer;

revoke all on function
  auth.b64url(bytea), auth.b64url_decode(text), auth.unsubscribe_token(text, uuid, text),
  auth.unsubscribe_target(text), auth.unsubscribe(text, boolean), app.notification_max_recipients(),
  app.check_notification(jsonb, boolean), app.notification_replay(text, bytea),
  app.notification_answer(public.notifications),
  app.queue_notification(uuid, jsonb, text[], integer, text, bytea, text),
  app.send_notification(jsonb, text), app.admin_send_notification(jsonb, text),
  app.notification_json(public.notifications), app.notification_detail(public.notifications),
  app.notification_page(integer, integer, text, uuid, boolean), app.list_notifications(integer, integer, text),
  app.get_notification(uuid), app.admin_list_notifications(integer, integer, text, uuid),
  app.admin_get_notification(uuid)
from public;
grant execute on function auth.unsubscribe(text, boolean) to vectra_anon;
grant execute on function app.send_notification(jsonb, text), app.list_notifications(integer, integer, text),
  app.get_notification(uuid), app.notification_page(integer, integer, text, uuid, boolean),
  app.notification_json(public.notifications), app.notification_detail(public.notifications)
to vectra_member;
grant execute on function app.list_notifications(integer, integer, text), app.get_notification(uuid),
  app.notification_page(integer, integer, text, uuid, boolean),
  app.notification_json(public.notifications), app.notification_detail(public.notifications)
to vectra_tenant_reader;
grant execute on function app.admin_send_notification(jsonb, text), app.admin_list_notifications(integer, integer, text, uuid),
  app.admin_get_notification(uuid), app.notification_page(integer, integer, text, uuid, boolean),
  app.notification_json(public.notifications), app.notification_detail(public.notifications)
to vectra_platform_admin;
grant execute on function app.check_notification(jsonb, boolean), app.notification_replay(text, bytea),
  app.notification_answer(public.notifications), app.notification_max_recipients(),
  app.queue_notification(uuid, jsonb, text[], integer, text, bytea, text), auth.unsubscribe_token(text, uuid, text)
to vectra_definer;
