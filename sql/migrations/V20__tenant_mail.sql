-- Tenant mail: what an organization's email may be, and when it still goes.
--
-- 1. Mail an organization sends (its notifications and invitations) while
--    it is suspended or deleted, or that a sender sends whose account is, is
--    withheld: the outbox worker marks it `cancelled` (with the reason in
--    `last_error`) when it reaches it, instead of sending it. The platform's
--    own mail about the organization (the notice that it was suspended) and
--    its users' account mail still go. Nothing cancelled is sent later: reactivating the
--    organization replays no stale campaign; its owners send again if they
--    want to. The notification's `delivery` counts and the console's outbox
--    figures show the cancelled mail.
-- 2. `org_to_prospects` goes to the organization's own prospects only:
--    listed addresses must be leads of the organization (a 422 names those
--    that are not); "all" is every lead that is not lost. An organization
--    is not a relay to arbitrary addresses.
-- 3. Tenant mail cannot pass for the platform's own: the platform's name
--    (`auth.settings.platform_name`, PLATFORM_NAME) and "[Alert]" are
--    refused in the subjects of organizations' notifications (the platform
--    admin's system_alerts carry "[Alert]"), and the platform's name in
--    organization names. Compared after NFKC normalization, case folding and
--    without anything but letters and digits, so "V E C T R A", "ｖｅｃｔｒａ"
--    and "vectra-team" count. (Look-alike letters of other scripts, such as a
--    Cyrillic "е", are not folded: a documented limit.) The worker sends
--    organization mail as "<organization> via <platform>" with Reply-To the
--    sender (auth.outbox_claim gives it the sender's address).
-- 4. A quota a fresh organization cannot multiply by signing up again: all
--    organizations younger than a day share one daily allowance of
--    notification emails (`new_organizations_notification_emails_per_day`,
--    NEW_ORGANIZATIONS_NOTIFICATION_EMAILS_PER_DAY, 1000 by default), on
--    top of each organization's own.
-- 5. Suppression by mailbox: an unsubscribed address also suppresses its
--    plus-addressed forms and the other way round ("ann+news@x.test" and
--    "ann@x.test" are one mailbox, app.mailbox_key).

alter table auth.settings
  add column platform_name text not null default 'Vectra'
    check (pg_catalog.char_length(platform_name) between 1 and 60
           and pg_catalog.regexp_replace(platform_name, '[^[:alnum:]]', '', 'g') <> ''),
  add column new_organizations_notification_emails_per_day integer not null default 1000
    check (new_organizations_notification_emails_per_day > 0);

comment on column auth.settings.platform_name is
  'The platform''s name (PLATFORM_NAME): reserved in organization names and in the subjects of organizations'' notifications; mail of an organization says "<organization> via <platform_name>".';
comment on column auth.settings.new_organizations_notification_emails_per_day is
  'Notification emails that all organizations younger than a day may queue together per rolling 24 hours (NEW_ORGANIZATIONS_NOTIFICATION_EMAILS_PER_DAY).';

-- What two names have in common when one imitates the other.
create function app.name_key(p text) returns text
language sql immutable parallel safe
as $$
  select pg_catalog.lower(pg_catalog.regexp_replace(pg_catalog.normalize(p, 'NFKC'), '[^[:alnum:]]', '', 'g'))
$$;

comment on function app.name_key(text) is
  'A name as compared for imitation: NFKC-normalized, lower-cased, letters and digits only.';

-- Whether a text holds the platform's name (as app.name_key compares).
create function app.holds_platform_name(p text) returns boolean
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return pg_catalog.strpos(app.name_key(p), app.name_key((auth.current_settings()).platform_name)) > 0;
end
$$;

comment on function app.holds_platform_name(text) is
  'Whether a text holds the platform''s name (auth.settings.platform_name), compared by app.name_key.';

-- The mailbox an address delivers to, for suppression: lower-cased, without
-- a "+tag" in its local part.
create function app.mailbox_key(p text) returns text
language sql immutable parallel safe
as $$
  select pg_catalog.regexp_replace(pg_catalog.lower(p), '^([^@+]*)\+[^@]*@', '\1@')
$$;

comment on function app.mailbox_key(text) is
  'The mailbox of an address for suppression: lower-case, "+tag" removed from the local part (ann+x@y.test -> ann@y.test).';

create index lead_suppressions_mailbox_idx on public.lead_suppressions (organization_id, app.mailbox_key(email));

-- Organization names: the platform's name is the platform's. A trigger, so
-- that every path (register, the owner's rename, the console, direct SQL)
-- meets it; only the platform admin may use it (its own test organizations).
create function app.check_organization_name() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  -- The field as the API names it: register creates, the owner renames.
  v_field text := case tg_op when 'INSERT' then 'organization_name' else 'name' end;
  v_message text;
begin
  if (tg_op = 'INSERT' or new.name is distinct from old.name)
     and app.holds_platform_name(new.name)
     and app.current_user_role() is distinct from 'platform_admin' then
    v_message := pg_catalog.format('%s is the platform''s name; choose another', (auth.current_settings()).platform_name);
    raise exception '%: %', v_field, v_message
      using errcode = 'VA422', detail = pg_catalog.jsonb_build_object(v_field, v_message)::text;
  end if;
  return new;
end
$$;

comment on function app.check_organization_name() is
  'Trigger: a new or renamed organization may not hold the platform''s name (VA422 naming organization_name on register, name on a rename), unless the platform admin names it.';

create trigger organizations_name_not_the_platforms
  before insert or update of name on public.organizations
  for each row execute function app.check_organization_name();

-- The worker's claim: due rows, minus those it must withhold.
create or replace function auth.outbox_claim(p_limit integer, p_stale interval)
returns table (id uuid, to_email text, template text, context jsonb, attempts integer, max_attempts integer)
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
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
           case when g.status is distinct from 'active' and d.organization_id is not null
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
                    'reply_to', case when n.organization_id is not null then u.email end))
             from public.notifications n
             left join public.organizations g on g.id = n.organization_id
             left join public.users u on u.id = n.sender_id
            where n.id = c.notification_id), '{}'),
         c.attempts, c.max_attempts
    from claimed c;
end
$$;

comment on function auth.outbox_claim(integer, interval) is
  'Outbox worker: claims due rows (status sending, one more attempt) with FOR UPDATE SKIP LOCKED and returns them with their context (a notification''s content, its organization''s name, and its sender''s name and, for an organization''s mail, address as reply_to). Due notifications and invitations of an organization that is not active, and notifications of a sender whose account is not, are marked cancelled instead, with the reason in last_error.';

create or replace function app.notification_json(n public.notifications) returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
begin
  return (select pg_catalog.jsonb_build_object(
    'id', n.id, 'type', n.type, 'organization_id', n.organization_id, 'sender_id', n.sender_id,
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
$$;

create or replace function auth.service_stats() returns jsonb
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v jsonb;
  v_since timestamptz := pg_catalog.now() - interval '24 hours';
begin
  select pg_catalog.jsonb_build_object(
    'database', pg_catalog.jsonb_build_object(
      'size_bytes', pg_catalog.pg_database_size(pg_catalog.current_database()),
      'connections', (select pg_catalog.count(*) from pg_catalog.pg_stat_activity
                       where datname = pg_catalog.current_database())),
    'outbox', (select pg_catalog.jsonb_build_object(
                 'pending', pg_catalog.count(*) filter (where status = 'pending'),
                 'sending', pg_catalog.count(*) filter (where status = 'sending'),
                 'failed', pg_catalog.count(*) filter (where status = 'failed'),
                 'cancelled', pg_catalog.count(*) filter (where status = 'cancelled'),
                 'sent_last_24h', pg_catalog.count(*) filter (where status = 'sent' and sent_at > v_since))
                 from public.email_outbox),
    'email_delivery_seconds', (
      select pg_catalog.jsonb_build_object(
        'count', pg_catalog.count(*),
        'p50', pg_catalog.round(pg_catalog.percentile_cont(0.5) within group (order by d)::numeric, 3),
        'p95', pg_catalog.round(pg_catalog.percentile_cont(0.95) within group (order by d)::numeric, 3),
        'p99', pg_catalog.round(pg_catalog.percentile_cont(0.99) within group (order by d)::numeric, 3))
        from (select extract(epoch from sent_at - created_at) as d
                from public.email_outbox
               where status = 'sent' and sent_at > v_since) sent)
  ) into v;
  return v;
end
$$;

-- The daily quota: the organization's own, and for an organization younger
-- than a day, the allowance all such organizations share.
create or replace function auth.check_notification_quota(p_org uuid, p_count integer) returns void
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  s auth.settings := auth.current_settings();
  v_limit integer := s.notification_emails_per_organization_per_day;
  v_young integer := s.new_organizations_notification_emails_per_day;
  v_created timestamptz;
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
  select created_at into v_created from public.organizations where id = p_org;
  if v_created > pg_catalog.now() - interval '1 day' then
    if p_count > v_young then
      raise exception 'recipients: % addresses, more than an organization less than a day old may send (%)', p_count, v_young
        using errcode = 'VA422',
              detail = pg_catalog.jsonb_build_object('recipients', pg_catalog.format(
                '%s addresses, more than an organization less than a day old may send (%s)', p_count, v_young))::text;
    end if;
    -- One allowance for all of them, counted one send after the other.
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('vectra.notify.new-organizations', 0));
    select coalesce(pg_catalog.sum(n.recipient_count), 0), pg_catalog.min(n.created_at) into v_used, v_oldest
      from public.organizations o
      join public.notifications n on n.organization_id = o.id and n.created_at > pg_catalog.now() - interval '1 day'
     where o.status = any ('{active,suspended,deleted}') and o.created_at > pg_catalog.now() - interval '1 day';
    if v_used + p_count > v_young then
      perform auth.raise_too_many(pg_catalog.format(
        'Organizations less than a day old have sent %s notification emails in the last 24 hours (at most %s together); try again later',
        v_used, v_young), least(v_oldest, v_created) + interval '1 day');
    end if;
  end if;
end
$$;

comment on function auth.check_notification_quota(uuid, integer) is
  'VA429 (with the time it frees up) when a send would pass the organization''s daily quota of notification emails, or, for an organization younger than a day, the allowance all such organizations share; VA422 when one send is larger than either.';

-- At most twenty addresses of a list, and how many more, for a message.
create function app.some_of(p text[]) returns text
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if pg_catalog.cardinality(p) <= 20 then
    return pg_catalog.array_to_string(p, ', ');
  end if;
  return pg_catalog.array_to_string(p[1:20], ', ') || pg_catalog.format(' and %s more', pg_catalog.cardinality(p) - 20);
end
$$;

comment on function app.some_of(text[]) is 'The first twenty items of a list and how many more, for an error message.';

-- The organization's send: its leads only, no platform look-alike subject,
-- suppression by mailbox.
create or replace function app.send_notification(p jsonb, p_key text) returns jsonb
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
  v_subject text;
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
  v_subject := pg_catalog.lower(pg_catalog.regexp_replace(pg_catalog.normalize(p ->> 'subject', 'NFKC'), '\s', '', 'g'));
  if pg_catalog.strpos(v_subject, '[alert]') > 0 or app.holds_platform_name(p ->> 'subject') then
    raise exception 'subject: must not hold "[Alert]" or the platform''s name (%): they mark the platform''s own mail', (auth.current_settings()).platform_name
      using errcode = 'VA422',
            detail = pg_catalog.jsonb_build_object('subject', pg_catalog.format(
              'must not hold "[Alert]" or the platform''s name (%s): they mark the platform''s own mail',
              (auth.current_settings()).platform_name))::text;
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
    if v_list is not null then
      v_unknown := array(select a from pg_catalog.unnest(v_list) a
                          where not exists (select 1 from public.leads l
                                             where l.organization_id = app.current_org_id()
                                               and pg_catalog.lower(l.email) = a)
                          order by 1);
      if pg_catalog.cardinality(v_unknown) > 0 then
        raise exception 'recipients: not leads of this organization: %', app.some_of(v_unknown)
          using errcode = 'VA422',
                detail = pg_catalog.jsonb_build_object('recipients', 'not leads of this organization: '
                                                       || app.some_of(v_unknown))::text;
      end if;
    end if;
    v_all := coalesce(v_list, array(select distinct pg_catalog.lower(email) from public.leads
                                     where organization_id = app.current_org_id() and status <> 'lost' order by 1));
    v_send := array(select a from pg_catalog.unnest(v_all) a
                     where not exists (select 1 from public.lead_suppressions s
                                        where s.organization_id = app.current_org_id()
                                          and app.mailbox_key(s.email) = app.mailbox_key(a))
                     order by 1);
    v_suppressed := pg_catalog.cardinality(v_all) - pg_catalog.cardinality(v_send);
  end if;
  return app.queue_notification(app.current_org_id(), p, v_send, v_suppressed, p_key, v_hash,
                                case when v_type = 'org_to_prospects' then 'prospects' end);
end
$$;

comment on function app.send_notification(jsonb, text) is
  'POST /user/notifications/send (owner, admin): org_to_prospects to listed leads of the organization or "all" its leads that are not lost (suppressed mailboxes skipped and counted), org_owner_to_members to listed or all active members; no "[Alert]" or platform name in the subject; idempotent by Idempotency-Key; queues one outbox row per recipient.';

revoke all on function app.name_key(text), app.holds_platform_name(text), app.mailbox_key(text),
  app.check_organization_name(), app.some_of(text[]) from public;
-- Organizations are written by vectra_definer's functions and the migration
-- owner's (register): the trigger's checks run as them.
grant execute on function app.name_key(text), app.holds_platform_name(text), app.mailbox_key(text), app.some_of(text[])
  to vectra_definer;
