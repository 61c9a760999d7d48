-- Issue 19's second review, in a migration of its own: V20, V21 and V22 are
-- as every deployment applied them (a migration once applied never changes:
-- refinery refuses a database whose applied migrations' checksums differ).
--
-- * The platform's name is compared by app.name_key (compatibility forms,
--   accents and common Cyrillic and Greek look-alikes folded, letters and
--   digits only), in organization names and now in users' full names
--   (which invitations and greetings show): app.name_is_reserved,
--   app.check_user_name and its trigger; "[Alert]" by app.holds_alert_marker.
-- * Invitations are limited per mailbox across organizations
--   (app.mailbox_key folds Gmail's dots too; the index on it is built with
--   the lists' indexes, without blocking writes).
-- * Unverified accounts with data of their own are kept; the expiry counts
--   from auth.settings.unverified_since for accounts registered before this
--   migration.
-- * Large objects: no request role may create one (lo_creat, lo_create,
--   lo_from_bytea revoked from PUBLIC).

-- squawk-ignore adding-field-with-default
alter table auth.settings add column unverified_since timestamptz not null default now();
comment on column auth.settings.unverified_since is
  'When this database began to expire unverified accounts (the migration that brought the rule): an account registered before counts its UNVERIFIED_ACCOUNT_TTL from here.';

revoke execute on function pg_catalog.lo_creat(integer) from public;
revoke execute on function pg_catalog.lo_create(oid) from public;
revoke execute on function pg_catalog.lo_from_bytea(oid, bytea) from public;

CREATE OR REPLACE FUNCTION app.name_key(p text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
  select pg_catalog.regexp_replace(
           pg_catalog.lower(pg_catalog.translate(
             pg_catalog.regexp_replace(pg_catalog.normalize(p, 'NFKD'),
               '[\u0300-\u036F\u1AB0-\u1AFF\u1DC0-\u1DFF\u20D0-\u20FF\uFE20-\uFE2F]', '', 'g'),
             'АВЕЅІЈКМНОРСТХУаеѕіјорсухԁԛԝкмнтвΑΒΕΖΗΙΚΜΝΟΡΤΥΧαεοριτνκυχ',
             'ABESIJKMHOPCTXYaesijopcyxdqwkmhtbABEZHIKMNOPTYXaeopitvkux')),
           '[^a-z0-9]', '', 'g')
$function$;
ALTER FUNCTION app.name_key(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.name_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.name_key(text) TO vectra_definer;
COMMENT ON FUNCTION app.name_key(text) IS 'A name as compared for imitation: NFKD without combining marks, common Cyrillic and Greek look-alikes as Latin letters, lower case, ASCII letters and digits only.';

CREATE OR REPLACE FUNCTION app.mailbox_key(p text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
  select case
    when pg_catalog.split_part(pg_catalog.lower(p), '@', 2) in ('gmail.com', 'googlemail.com')
      then pg_catalog.replace(pg_catalog.split_part(pg_catalog.split_part(pg_catalog.lower(p), '@', 1), '+', 1), '.', '')
           || '@gmail.com'
    else pg_catalog.regexp_replace(pg_catalog.lower(p), '^([^@+]*)\+[^@]*@', '\1@')
  end
$function$;
ALTER FUNCTION app.mailbox_key(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.mailbox_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.mailbox_key(text) TO vectra_definer;
COMMENT ON FUNCTION app.mailbox_key(text) IS 'The mailbox of an address for suppression and invitation limits: lower-case, "+tag" removed from the local part (ann+x@y.test -> ann@y.test); Gmail''s dots and googlemail.com folded (a.nn@googlemail.com -> ann@gmail.com).';

CREATE OR REPLACE FUNCTION app.holds_alert_marker(p text)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
  select pg_catalog.strpos(pg_catalog.lower(pg_catalog.regexp_replace(pg_catalog.normalize(p, 'NFKC'),
           '[\s\u00AD\u200B-\u200F\u2060-\u2064\uFEFF]', '', 'g')), '[alert]') > 0
$function$;
ALTER FUNCTION app.holds_alert_marker(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.holds_alert_marker(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.holds_alert_marker(text) TO vectra_definer;
COMMENT ON FUNCTION app.holds_alert_marker(text) IS 'Whether a text holds "[Alert]" (NFKC, case-folded, without spaces or invisible characters), the mark of the platform''s system alerts.';

CREATE OR REPLACE FUNCTION app.name_is_reserved(p_name text)
 RETURNS text
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  if app.holds_platform_name(p_name) then
    return pg_catalog.format('%s is the platform''s name; choose another', (auth.current_settings()).platform_name);
  end if;
  if app.holds_alert_marker(p_name) then
    return '"[Alert]" marks the platform''s own alerts; choose another';
  end if;
  return null;
end
$function$;
ALTER FUNCTION app.name_is_reserved(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.name_is_reserved(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.name_is_reserved(text) TO vectra_definer;
COMMENT ON FUNCTION app.name_is_reserved(text) IS 'Why a name may not be used (it holds the platform''s name or "[Alert]"), or NULL.';

CREATE OR REPLACE FUNCTION app.check_organization_name()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  -- The field as the API names it: register creates, the owner renames.
  v_field text := case tg_op when 'INSERT' then 'organization_name' else 'name' end;
  v_message text;
begin
  if tg_op = 'UPDATE' and new.name is not distinct from old.name then
    return new;
  end if;
  v_message := app.name_is_reserved(new.name);
  if v_message is not null then
    begin
      -- A live platform-admin session, checked, not a setting claimed.
      perform auth.authorize_platform_admin();
      return new;
    exception when sqlstate 'VA401' or sqlstate 'VA403' then
      raise exception '%: %', v_field, v_message
        using errcode = 'VA422', detail = pg_catalog.jsonb_build_object(v_field, v_message)::text;
    end;
  end if;
  return new;
end
$function$;
ALTER FUNCTION app.check_organization_name() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.check_organization_name() FROM PUBLIC;
COMMENT ON FUNCTION app.check_organization_name() IS 'Trigger: a new or renamed organization may not hold the platform''s name or "[Alert]" (VA422 naming organization_name on register, name on a rename), unless a live platform-admin session names it.';

CREATE OR REPLACE FUNCTION app.check_user_name()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_message text;
begin
  if new.role = 'platform_admin' or (tg_op = 'UPDATE' and new.full_name is not distinct from old.full_name) then
    return new;
  end if;
  v_message := app.name_is_reserved(new.full_name);
  if v_message is not null then
    raise exception 'full_name: %', v_message
      using errcode = 'VA422', detail = pg_catalog.jsonb_build_object('full_name', v_message)::text;
  end if;
  return new;
end
$function$;
ALTER FUNCTION app.check_user_name() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.check_user_name() FROM PUBLIC;
COMMENT ON FUNCTION app.check_user_name() IS 'Trigger: a user''s full name (shown in invitations and greetings) may not hold the platform''s name or "[Alert]" (VA422 full_name), but the platform admin''s own.';

CREATE OR REPLACE FUNCTION app.admin_create_invitation(p_org uuid, p_email text, p_role public.user_role)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_email text := pg_catalog.lower(pg_catalog.btrim(p_email));
  v_token text := app.new_token();
  v_inv app.invitation_rows;
  v_pending app.invitation_rows;
  v_id uuid;
begin
  -- The service's rule (src/domain/email.rs), for direct callers too.
  if v_email is null or pg_catalog.length(v_email) > 254
     or v_email !~ '^[a-z0-9!#$%&''*+/=?^_`{|}~.-]{1,64}@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'
     or v_email ~ '(^\.|\.\.|\.@)' then
    raise exception 'email: must be an email address'
      using errcode = 'VA422', detail = '{"email": "must be an email address"}';
  end if;
  -- A verified account has the address; an unverified one gives way when
  -- the invitation is accepted (auth.accept_invitation).
  if exists (select 1 from public.users where pg_catalog.lower(email) = v_email and email_verified_at is not null) then
    raise exception 'A user with this email already exists' using errcode = 'VA409';
  end if;
  perform 1 from public.invitations
   where organization_id = p_org and email = v_email and accepted_at is null and revoked_at is null for update;
  select * into v_pending from app.invitation_rows
   where organization_id = p_org and email = v_email and accepted_at is null and revoked_at is null;
  if found then
    if v_pending.expires_at > pg_catalog.now() then
      raise exception 'A pending invitation for this email already exists' using errcode = 'VA409';
    end if;
    update public.invitations set revoked_at = pg_catalog.now() where organization_id = p_org and id = v_pending.id;
  end if;
  perform auth.check_invitation_limits(p_org, app.current_user_id(), v_email);
  insert into public.invitations (organization_id, email, role, token_hash, invited_by, expires_at)
  values (p_org, v_email, p_role, app.hash_token(v_token), app.current_user_id(),
          pg_catalog.now() + (auth.current_settings()).invitation_ttl)
  returning id into v_id;
  select * into v_inv from app.invitation_rows where organization_id = p_org and id = v_id;
  perform app.queue_invitation_email(v_inv, v_token);
  perform app.admin_audit(p_org, 'invitation.create', 'invitation', v_id,
                          pg_catalog.jsonb_build_object('email', v_email, 'role', p_role));
  return app.invitation_json(v_inv);
end
$function$;
ALTER FUNCTION app.admin_create_invitation(uuid, text, public.user_role) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.admin_create_invitation(uuid, text, public.user_role) FROM PUBLIC;
COMMENT ON FUNCTION app.admin_create_invitation(uuid, text, public.user_role) IS 'The console''s invitation (an organization''s owner, a member): refused when a verified account has the address; an unverified one gives way when the invitation is accepted.';

CREATE OR REPLACE FUNCTION app.send_notification(p jsonb, p_key text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
  if app.display_name_error(p ->> 'subject') = 'must not contain control or invisible formatting characters' then
    raise exception 'subject: must not contain control or invisible formatting characters'
      using errcode = 'VA422', detail = '{"subject": "must not contain control or invisible formatting characters"}';
  end if;
  if app.holds_alert_marker(p ->> 'subject') or app.holds_platform_name(p ->> 'subject') then
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
$function$;
ALTER FUNCTION app.send_notification(jsonb, text) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.send_notification(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.send_notification(jsonb, text) TO vectra_member;
COMMENT ON FUNCTION app.send_notification(jsonb, text) IS 'POST /user/notifications/send (owner, admin): org_to_prospects to listed leads of the organization or "all" its leads that are not lost (suppressed mailboxes skipped and counted), org_owner_to_members to listed or all active members; no "[Alert]" or platform name in the subject; idempotent by Idempotency-Key; queues one outbox row per recipient.';

CREATE OR REPLACE FUNCTION auth.check_invitation_limits(p_org uuid, p_sender uuid, p_email text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  s auth.settings := auth.current_settings();
  v_since timestamptz := pg_catalog.now() - interval '1 hour';
  v_mailbox text := app.mailbox_key(p_email);
begin
  -- Concurrent invitations of one organization or to one mailbox are counted
  -- one after the other.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('vectra.invite.org:' || p_org::text, 0));
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('vectra.invite.to:' || v_mailbox, 0));
  perform auth.raise_if_over(array(
      select created_at from public.audit_log
       where organization_id = p_org and action in ('invitation.create', 'invitation.resend')
         and actor_id = p_sender and created_at > v_since
       order by created_at desc limit s.invites_per_sender_per_hour),
    s.invites_per_sender_per_hour, 'You have sent too many invitations in the last hour; try again later');
  perform auth.raise_if_over(array(
      select created_at from public.audit_log
       where organization_id = p_org and action in ('invitation.create', 'invitation.resend')
         and created_at > v_since
       order by created_at desc limit s.invites_per_organization_per_hour),
    s.invites_per_organization_per_hour, 'This organization has sent too many invitations in the last hour; try again later');
  perform auth.raise_if_over(array(
      select created_at from public.email_outbox
       where app.mailbox_key(to_email) = v_mailbox and template = 'invite-user'
         and organization_id = p_org and created_at > v_since
       order by created_at desc limit s.invites_per_recipient_per_hour),
    s.invites_per_recipient_per_hour, 'This organization has invited this address too often in the last hour; try again later');
  -- All organizations together, but never an organization's first
  -- invitation of the hour to this mailbox.
  if exists (select 1 from public.email_outbox
              where app.mailbox_key(to_email) = v_mailbox and template = 'invite-user'
                and organization_id = p_org and created_at > v_since) then
    perform auth.raise_if_over(array(
        select created_at from public.email_outbox
         where app.mailbox_key(to_email) = v_mailbox and template = 'invite-user' and created_at > v_since
         order by created_at desc limit s.invites_per_recipient_per_hour_all_organizations),
      s.invites_per_recipient_per_hour_all_organizations,
      'This address has received too many invitations in the last hour; try again later');
  end if;
end
$function$;
ALTER FUNCTION auth.check_invitation_limits(uuid, uuid, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.check_invitation_limits(uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.check_invitation_limits(uuid, uuid, text) TO vectra_definer;
COMMENT ON FUNCTION auth.check_invitation_limits(uuid, uuid, text) IS 'VA429 when an invitation email would pass a rolling-hour limit: per sender, per organization, per organization and recipient mailbox, per recipient mailbox from all organizations (never for an organization''s first invitation of the hour to it).';

CREATE OR REPLACE FUNCTION auth.expire_unverified_accounts(p_limit integer)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  s auth.settings := auth.current_settings();
  v_id uuid;
  v_removed integer := 0;
begin
  if p_limit is null or p_limit not between 1 and 10000 then
    raise exception 'p_limit must be from 1 to 10000' using errcode = '22023';
  end if;
  for v_id in
    select u.id from public.users u
     where u.email_verified_at is null
       and u.created_at < pg_catalog.now() - s.unverified_account_ttl
       and s.unverified_since < pg_catalog.now() - s.unverified_account_ttl
       and not exists (select 1 from public.users o
                        where o.organization_id = u.organization_id and o.id <> u.id)
       and not exists (select 1 from public.campaigns c where c.organization_id = u.organization_id)
       and not exists (select 1 from public.leads l where l.organization_id = u.organization_id)
       and not exists (select 1 from public.notifications n where n.organization_id = u.organization_id)
     order by u.created_at
     limit p_limit
     for update of u skip locked
  loop
    if auth.remove_unverified_account(v_id, 'expired') is not null then
      v_removed := v_removed + 1;
    end if;
  end loop;
  return v_removed;
end
$function$;
ALTER FUNCTION auth.expire_unverified_accounts(integer) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.expire_unverified_accounts(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.expire_unverified_accounts(integer) TO vectra_worker;
COMMENT ON FUNCTION auth.expire_unverified_accounts(integer) IS 'The outbox worker, hourly: removes up to p_limit accounts whose email was not verified within auth.settings.unverified_account_ttl, counted from their registration or from auth.settings.unverified_since, whichever is later (auth.remove_unverified_account: never one with colleagues or data). Returns how many.';

CREATE OR REPLACE FUNCTION auth.remove_unverified_account(p_user_id uuid, p_reason text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data, created_at)
  values (null, null, 'account.remove_unverified', 'user', u.id, v_removed, pg_catalog.clock_timestamp());
  if v_org.id is not null then
    -- Every tenant table's key to organizations cascades; sessions and
    -- one-time tokens follow the user.
    delete from public.organizations where id = v_org.id;
  else
    delete from public.users where id = u.id;
  end if;
  return v_removed;
end
$function$;
ALTER FUNCTION auth.remove_unverified_account(uuid, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.remove_unverified_account(uuid, text) FROM PUBLIC;
COMMENT ON FUNCTION auth.remove_unverified_account(uuid, text) IS 'Removes an account whose email was never verified, with its organization, and audits it (action account.remove_unverified, no organization); NULL (nothing removed) when the account is verified, has colleagues, or its organization holds campaigns, leads or notifications.';

create trigger users_name_not_the_platforms before insert or update of full_name on public.users
  for each row execute function app.check_user_name();
