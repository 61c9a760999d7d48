-- SECURITY DEFINER functions of schema auth owned by the migration owner: they run as a superuser or BYPASSRLS role, past row-level security.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE OR REPLACE FUNCTION auth.accept_invitation(p_token text, p_password_hash text, p_full_name text, p_user_agent text, p_ip inet)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_inv public.invitations;
  v_key record;
  v_user uuid;
  v_existing public.users;
  v_superseded jsonb;
begin
  perform app.one_connection_per_node();
  select i.organization_id, i.id into v_key from public.invitations i
   where i.token_hash = auth.hash_token(p_token)
     and i.accepted_at is null and i.revoked_at is null and i.expires_at > pg_catalog.now()
   order by i.created_at, i.organization_id, i.id
   limit 1;
  select * into v_inv from public.invitations i
   where i.organization_id = v_key.organization_id and i.id = v_key.id
     and i.accepted_at is null and i.revoked_at is null and i.expires_at > pg_catalog.now()
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
  perform auth.count_users(v_inv.organization_id);
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
ALTER FUNCTION auth.accept_invitation(text, text, text, text, inet) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.accept_invitation(text, text, text, text, inet) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.accept_invitation(text, text, text, text, inet) TO vectra_anon;
COMMENT ON FUNCTION auth.accept_invitation(text, text, text, text, inet) IS 'POST /auth/accept-invitation: creates the invited account (verified email, invited role) and opens its session. An unverified account of the same address gives way (auth.remove_unverified_account); a verified one is a VA409.';

CREATE OR REPLACE FUNCTION auth.authorize(VARIADIC p_allowed text[])
 RETURNS text
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v_role text := app.current_user_role();
  v_verified timestamptz;
begin
  if v_current_org is null or v_role is null or app.current_user_id() is null then
    raise exception 'Organization user access required' using errcode = 'VA403';
  end if;
  if not (v_role = any (p_allowed)) then
    raise exception 'This action requires one of the roles: %', pg_catalog.array_to_string(p_allowed, ', ')
      using errcode = 'VA403';
  end if;
  select u.email_verified_at into v_verified
    from public.sessions s
    join public.users u on u.id = s.user_id
    join public.organizations o on o.id = u.organization_id
   where s.id = app.current_session_id()
     and s.user_id = app.current_user_id()
     and s.revoked_at is null and s.expires_at > pg_catalog.now()
     and u.organization_id = v_current_org
     and u.role::text = v_role and u.status = 'active'
     and o.status = 'active';
  if not found then
    raise exception 'Token no longer matches the account'
      using errcode = 'VA401', hint = 'Refresh the access token.';
  end if;
  if v_verified is null then
    raise exception 'Verify your email address first: until then this account can only read'
      using errcode = 'VA403',
            hint = 'Follow the link in the verification email, or ask for a new one with POST /api/v1/auth/send-verification-email.';
  end if;
  return v_role;
end
$function$;
ALTER FUNCTION auth.authorize(text[]) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.authorize(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.authorize(text[]) TO vectra_definer;
COMMENT ON FUNCTION auth.authorize(text[]) IS 'The gate of every write that carries a rule: an organization user of one of the allowed roles, with a live session, an active account and organization, and a verified email (VA403/VA401 otherwise). Returns the role.';

CREATE OR REPLACE FUNCTION auth.authorize_platform_admin()
 RETURNS uuid
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  perform app.require_platform_admin();
  perform 1
    from public.sessions s join public.users u on u.id = s.user_id
   where s.id = app.current_session_id() and s.user_id = app.current_user_id()
     and s.revoked_at is null and s.expires_at > pg_catalog.now()
     and u.role = 'platform_admin' and u.organization_id is null and u.status = 'active'
     and u.email_verified_at is not null;
  if not found then
    raise exception 'Token no longer matches the account'
      using errcode = 'VA401', hint = 'Refresh the access token.';
  end if;
  return app.current_user_id();
end
$function$;
ALTER FUNCTION auth.authorize_platform_admin() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.authorize_platform_admin() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.authorize_platform_admin() TO vectra_definer;

CREATE OR REPLACE FUNCTION auth.begin_request(p_session_id uuid, p_user_id uuid, p_org_id uuid, p_role text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_request_role text := pg_catalog.current_setting('role');
  v record;
begin
  if v_request_role not in ('vectra_member', 'vectra_platform_admin', 'vectra_anon') then
    raise exception 'begin_request must run after switching to a request role (now: %)', v_request_role
      using errcode = '42501';
  end if;

  select s.user_id, s.revoked_at, s.expires_at,
         u.organization_id, u.role::text as user_role, u.status::text as user_status,
         u.email_verified_at, o.status::text as org_status
    into v
    from public.sessions s
    join public.users u on u.id = s.user_id
    left join public.organizations o on o.id = u.organization_id
   where s.id = p_session_id;

  if not found or v.user_id is distinct from p_user_id then
    raise exception 'Session not found' using errcode = 'VA401';
  end if;
  if v.revoked_at is not null then
    raise exception 'Session revoked' using errcode = 'VA401';
  end if;
  if v.expires_at <= pg_catalog.now() then
    raise exception 'Session expired' using errcode = 'VA401';
  end if;
  if v.user_status = 'removed' then
    raise exception 'Account removed' using errcode = 'VA401';
  end if;
  if v.user_status = 'suspended' then
    raise exception 'Account suspended' using errcode = 'VA403';
  end if;
  if v.org_status is not null and v.org_status <> 'active' then
    raise exception 'Organization %', v.org_status using errcode = 'VA403';
  end if;
  if v.organization_id is distinct from p_org_id or v.user_role is distinct from p_role then
    raise exception 'Token no longer matches the account'
      using errcode = 'VA401', hint = 'Refresh the access token.';
  end if;

  if v_request_role = 'vectra_member' and v.user_role = 'platform_admin' then
    raise exception 'Organization user access required' using errcode = 'VA403';
  end if;
  if v_request_role = 'vectra_platform_admin' then
    if v.user_role <> 'platform_admin' then
      raise exception 'Platform admin access required' using errcode = 'VA403';
    end if;
    if v.email_verified_at is null then
      raise exception 'Platform admin access requires a verified email'
        using errcode = 'VA403', hint = 'Verify your email address with the link sent to it, or ask for a new one with POST /api/v1/auth/send-verification-email.';
    end if;
  end if;

  if pg_catalog.current_setting('citus.propagate_set_commands', true) = 'local' then
    -- A Citus coordinator: SET LOCAL travels to the workers. The values are
    -- a uuid and a role name the checks above matched against the database,
    -- quoted as literals all the same.
    execute pg_catalog.format('set local app.session_id = %L', p_session_id::text);
    execute pg_catalog.format('set local app.user_id = %L', p_user_id::text);
    execute pg_catalog.format('set local app.org_id = %L', coalesce(p_org_id::text, ''));
    execute pg_catalog.format('set local app.role = %L', p_role);
    if p_org_id is not null and pg_catalog.current_setting('vectra.tenant_routing', true) = 'strict' then
      set local citus.multi_task_query_log_level = 'error';
    end if;
  else
    perform pg_catalog.set_config('app.session_id', p_session_id::text, true),
            pg_catalog.set_config('app.user_id', p_user_id::text, true),
            pg_catalog.set_config('app.org_id', coalesce(p_org_id::text, ''), true),
            pg_catalog.set_config('app.role', p_role, true);
  end if;
end
$function$;
ALTER FUNCTION auth.begin_request(uuid, uuid, uuid, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.begin_request(uuid, uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.begin_request(uuid, uuid, uuid, text) TO vectra_authenticator;
COMMENT ON FUNCTION auth.begin_request(uuid, uuid, uuid, text) IS 'Checks the JWT claims against the database (session live, user active, organization active, org and role unchanged, request role suited to the user) and sets app.session_id, app.user_id, app.org_id and app.role for this transaction only (SET LOCAL on a Citus coordinator, so that they reach the shards; with vectra.tenant_routing = strict, an organization user''s statement that would touch more than one shard is an error).';

CREATE OR REPLACE FUNCTION auth.change_password(p_current_hash text, p_new_hash text)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_org uuid;
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
  select coalesce(organization_id, app.platform_org_id()) into v_org from public.users where id = v_user;
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id)
  values (v_org, v_user, 'user.password_change', 'user', v_user);
  return v_revoked;
end
$function$;
ALTER FUNCTION auth.change_password(text, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.change_password(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.change_password(text, text) TO vectra_anon;

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
  v_routing text;
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
    v_routing := app.across_tenants(true, null);
    perform auth.raise_if_over(array(
        select created_at from public.email_outbox
         where app.mailbox_key(to_email) = v_mailbox and template = 'invite-user' and created_at > v_since
         order by created_at desc limit s.invites_per_recipient_per_hour_all_organizations),
      s.invites_per_recipient_per_hour_all_organizations,
      'This address has received too many invitations in the last hour; try again later');
    perform app.across_tenants(false, v_routing);
  end if;
end
$function$;
ALTER FUNCTION auth.check_invitation_limits(uuid, uuid, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.check_invitation_limits(uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.check_invitation_limits(uuid, uuid, text) TO vectra_definer;
COMMENT ON FUNCTION auth.check_invitation_limits(uuid, uuid, text) IS 'VA429 when an invitation email would pass a rolling-hour limit: per sender, per organization, per organization and recipient mailbox, per recipient mailbox from all organizations (never for an organization''s first invitation of the hour to it).';

CREATE OR REPLACE FUNCTION auth.check_login(p_address_key text, p_email text, p_per_minute integer)
 RETURNS double precision
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_wait double precision;
  v_until timestamptz;
  v_now timestamptz := pg_catalog.clock_timestamp();
begin
  v_wait := auth.hit_limits(array[p_address_key], p_per_minute);
  if v_wait is not null then
    return v_wait;
  end if;
  select blocked_until into v_until from auth.login_failures
   where key = auth.limit_key('login|email|' || p_email);
  if v_until > v_now then
    return extract(epoch from v_until - v_now)::double precision;
  end if;
  return null;
end
$function$;
ALTER FUNCTION auth.check_login(text, text, integer) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.check_login(text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.check_login(text, text, integer) TO vectra_anon;
COMMENT ON FUNCTION auth.check_login(text, text, integer) IS 'Before a password is checked: the client address''s limit (auth.hit_limits), then the email''s login backoff. NULL when the attempt may go on, else the seconds to wait.';

CREATE OR REPLACE FUNCTION auth.check_notification_quota(p_org uuid, p_count integer)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  s auth.settings := auth.current_settings();
  v_limit integer := s.notification_emails_per_organization_per_day;
  v_young integer := s.new_organizations_notification_emails_per_day;
  v_created timestamptz;
  v_used bigint;
  v_oldest timestamptz;
  v_routing text;
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
    v_routing := app.across_tenants(true, null);
    select coalesce(pg_catalog.sum(n.recipient_count), 0), pg_catalog.min(n.created_at) into v_used, v_oldest
      from public.organizations o
      join public.notifications n on n.organization_id = o.id and n.created_at > pg_catalog.now() - interval '1 day'
     where o.status = any ('{active,suspended,deleted}') and o.created_at > pg_catalog.now() - interval '1 day';
    perform app.across_tenants(false, v_routing);
    if v_used + p_count > v_young then
      perform auth.raise_too_many(pg_catalog.format(
        'Organizations less than a day old have sent %s notification emails in the last 24 hours (at most %s together); try again later',
        v_used, v_young), least(v_oldest, v_created) + interval '1 day');
    end if;
  end if;
end
$function$;
ALTER FUNCTION auth.check_notification_quota(uuid, integer) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.check_notification_quota(uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.check_notification_quota(uuid, integer) TO vectra_definer;
COMMENT ON FUNCTION auth.check_notification_quota(uuid, integer) IS 'VA429 (with the time it frees up) when a send would pass the organization''s daily quota of notification emails, or, for an organization younger than a day, the allowance all such organizations share; VA422 when one send is larger than either.';

CREATE OR REPLACE FUNCTION auth.compute_overview()
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v jsonb;
  v_since timestamptz := pg_catalog.now() - interval '30 days';
begin
  select pg_catalog.jsonb_build_object(
    'organizations', (
      select pg_catalog.jsonb_build_object(
        'total', pg_catalog.count(*),
        'by_status', pg_catalog.jsonb_build_object(
          'active', pg_catalog.count(*) filter (where status = 'active'),
          'suspended', pg_catalog.count(*) filter (where status = 'suspended'),
          'deleted', pg_catalog.count(*) filter (where status = 'deleted')),
        'by_plan', pg_catalog.jsonb_build_object(
          'free', pg_catalog.count(*) filter (where plan = 'free'),
          'starter', pg_catalog.count(*) filter (where plan = 'starter'),
          'pro', pg_catalog.count(*) filter (where plan = 'pro'),
          'enterprise', pg_catalog.count(*) filter (where plan = 'enterprise')),
        'new_last_30_days', pg_catalog.count(*) filter (where created_at > v_since))
        from public.organizations),
    'users', (
      select pg_catalog.jsonb_build_object(
        'total', pg_catalog.count(*),
        'by_role', pg_catalog.jsonb_build_object(
          'platform_admin', pg_catalog.count(*) filter (where role = 'platform_admin'),
          'owner', pg_catalog.count(*) filter (where role = 'owner'),
          'admin', pg_catalog.count(*) filter (where role = 'admin'),
          'manager', pg_catalog.count(*) filter (where role = 'manager'),
          'member', pg_catalog.count(*) filter (where role = 'member')),
        'by_status', pg_catalog.jsonb_build_object(
          'active', pg_catalog.count(*) filter (where status = 'active'),
          'suspended', pg_catalog.count(*) filter (where status = 'suspended'),
          'removed', pg_catalog.count(*) filter (where status = 'removed')),
        'new_last_30_days', pg_catalog.count(*) filter (where created_at > v_since))
        from public.users),
    'campaigns', (
      select pg_catalog.jsonb_build_object('total', pg_catalog.count(*),
                                           'active', pg_catalog.count(*) filter (where status = 'active'))
        from public.campaigns),
    'leads', (
      select pg_catalog.jsonb_build_object(
        'total', pg_catalog.count(*),
        'converted', pg_catalog.count(*) filter (where status = 'converted'),
        'conversion_rate', case when pg_catalog.count(*) = 0 then 0
                                else pg_catalog.round((pg_catalog.count(*) filter (where status = 'converted'))::numeric
                                                      / pg_catalog.count(*), 4) end)
        from public.leads),
    'meetings', (
      select pg_catalog.jsonb_build_object(
        'scheduled_upcoming', pg_catalog.count(*) filter (where status = 'scheduled' and scheduled_at > pg_catalog.now()))
        from public.meetings),
    'emails', (
      select pg_catalog.jsonb_build_object(
        'sent', pg_catalog.count(*) filter (where status = 'sent'),
        'failed', pg_catalog.count(*) filter (where status = 'failed'),
        'pending', pg_catalog.count(*) filter (where status in ('pending', 'sending')))
        from public.email_outbox)
  ) into v;
  return v;
end
$function$;
ALTER FUNCTION auth.compute_overview() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.compute_overview() FROM PUBLIC;
COMMENT ON FUNCTION auth.compute_overview() IS 'The platform overview''s figures, counted from every table: a scan of them all, run on a cadence by auth.refresh_overview, never per request.';

CREATE OR REPLACE FUNCTION auth.console_erase_organization(p_org uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v public.organizations;
  v_counts jsonb;
begin
  perform auth.authorize_platform_admin();
  select * into v from public.organizations where id = p_org for update;
  if not found then
    raise exception 'Organization not found' using errcode = 'VA404';
  end if;
  v_counts := pg_catalog.jsonb_build_object(
    'users', (select pg_catalog.count(*) from public.users where organization_id = p_org),
    'invitations', (select pg_catalog.count(*) from public.invitations where organization_id = p_org),
    'campaigns', (select pg_catalog.count(*) from public.campaigns where organization_id = p_org),
    'leads', (select pg_catalog.count(*) from public.leads where organization_id = p_org),
    'meetings', (select pg_catalog.count(*) from public.meetings where organization_id = p_org));
  -- Notifications and outbox rows, then the organization (the other tenant
  -- tables cascade; sessions and one-time tokens follow their users).
  perform auth.erase_organization(p_org);
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data, created_at)
  values (p_org, app.current_user_id(), 'organization.erase', 'organization', p_org,
          pg_catalog.jsonb_build_object('name', v.name, 'slug', v.slug, 'rows', v_counts), pg_catalog.clock_timestamp());
  return pg_catalog.jsonb_build_object('id', p_org, 'status', 'erased', 'erased', true, 'rows', v_counts);
end
$function$;
ALTER FUNCTION auth.console_erase_organization(uuid) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.console_erase_organization(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.console_erase_organization(uuid) TO vectra_definer;
COMMENT ON FUNCTION auth.console_erase_organization(uuid) IS 'DELETE /admin/organizations/{id}?hard=true, for app.admin_delete_organization: in a platform-admin context, locks the organization, counts its rows, erases it (auth.erase_organization) and writes the audit entry, all as one role.';

CREATE OR REPLACE FUNCTION auth.count_campaign_leads()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  d record;
begin
  if tg_op = 'INSERT' then
    for d in select organization_id, campaign_id, pg_catalog.count(*)::integer as n from new_rows
              where campaign_id is not null group by 1, 2 loop
      update public.campaigns set leads_count = leads_count + d.n
       where organization_id = d.organization_id and id = d.campaign_id;
    end loop;
  elsif tg_op = 'DELETE' then
    for d in select organization_id, campaign_id, pg_catalog.count(*)::integer as n from old_rows
              where campaign_id is not null group by 1, 2 loop
      update public.campaigns set leads_count = leads_count - d.n
       where organization_id = d.organization_id and id = d.campaign_id;
    end loop;
  else
    for d in select organization_id, campaign_id, pg_catalog.sum(n)::integer as n
               from (select organization_id, campaign_id, 1 as n from new_rows
                     union all
                     select organization_id, campaign_id, -1 from old_rows) m
              where campaign_id is not null
              group by 1, 2
             having pg_catalog.sum(n) <> 0 loop
      update public.campaigns set leads_count = leads_count + d.n
       where organization_id = d.organization_id and id = d.campaign_id;
    end loop;
  end if;
  return null;
end
$function$;
ALTER FUNCTION auth.count_campaign_leads() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.count_campaign_leads() FROM PUBLIC;
COMMENT ON FUNCTION auth.count_campaign_leads() IS 'Statement-level trigger on leads: campaigns.leads_count after an insert, a delete, or leads that changed campaign.';

CREATE OR REPLACE FUNCTION auth.create_platform_admin(p_email text, p_password_hash text, p_full_name text)
 RETURNS uuid
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
ALTER FUNCTION auth.create_platform_admin(text, text, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.create_platform_admin(text, text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION auth.current_credentials()
 RETURNS TABLE(email text, password_hash text)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return query select email, password_hash from public.users where id = auth.require_user();
end
$function$;
ALTER FUNCTION auth.current_credentials() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.current_credentials() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.current_credentials() TO vectra_anon;

CREATE OR REPLACE FUNCTION auth.current_settings()
 RETURNS auth.settings
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v auth.settings;
begin
  select * into v from auth.settings where id;
  return v;
end
$function$;
ALTER FUNCTION auth.current_settings() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.current_settings() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.current_settings() TO vectra_definer;
COMMENT ON FUNCTION auth.current_settings() IS 'The operator settings row (auth.settings).';

CREATE OR REPLACE FUNCTION auth.end_other_sessions()
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_count integer;
begin
  update public.sessions
     set revoked_at = pg_catalog.now(), revoked_reason = 'ended by the user'
   where user_id = auth.require_user() and id is distinct from app.current_session_id()
     and revoked_at is null;
  get diagnostics v_count = row_count;
  return v_count;
end
$function$;
ALTER FUNCTION auth.end_other_sessions() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.end_other_sessions() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.end_other_sessions() TO vectra_anon;

CREATE OR REPLACE FUNCTION auth.end_session(p_session_id uuid)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  update public.sessions
     set revoked_at = pg_catalog.now(), revoked_reason = 'ended by the user'
   where id = p_session_id and user_id = auth.require_user()
     and revoked_at is null and expires_at > pg_catalog.now();
  if not found then
    raise exception 'Session not found' using errcode = 'VA404';
  end if;
  return p_session_id = app.current_session_id();
end
$function$;
ALTER FUNCTION auth.end_session(uuid) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.end_session(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.end_session(uuid) TO vectra_anon;

CREATE OR REPLACE FUNCTION auth.erase_organization(p_org uuid)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  if p_org is null or p_org = app.platform_org_id() then
    raise exception 'erase_organization: not an organization' using errcode = '22023';
  end if;
  delete from public.email_outbox where organization_id = p_org;
  delete from public.notifications where organization_id = p_org;
  delete from public.organizations where id = p_org;
end
$function$;
ALTER FUNCTION auth.erase_organization(uuid) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.erase_organization(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.erase_organization(uuid) TO vectra_definer;
COMMENT ON FUNCTION auth.erase_organization(uuid) IS 'Deletes an organization with its notifications and outbox rows (which have no foreign key to it: platform rows live under app.platform_org_id()); its other tenant rows cascade, its audit entries stay. Called by app.admin_delete_organization (hard) and auth.remove_unverified_account only.';

CREATE OR REPLACE FUNCTION auth.expire_unverified_accounts(p_limit integer)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  s auth.settings := auth.current_settings();
  v record;
  v_removed integer := 0;
begin
  if p_limit is null or p_limit not between 1 and 10000 then
    raise exception 'p_limit must be from 1 to 10000' using errcode = '22023';
  end if;
  for v in
    select u.id, u.organization_id from public.users u
     where u.email_verified_at is null
       and u.created_at < pg_catalog.now() - s.unverified_account_ttl
       and s.unverified_since < pg_catalog.now() - s.unverified_account_ttl
       and not exists (select 1 from public.users o
                        where o.organization_id = u.organization_id and o.id <> u.id)
     order by u.created_at
  loop
    exit when v_removed >= p_limit;
    continue when v.organization_id is not null
                  and (exists (select 1 from public.campaigns c where c.organization_id = v.organization_id)
                       or exists (select 1 from public.leads l where l.organization_id = v.organization_id)
                       or exists (select 1 from public.notifications n where n.organization_id = v.organization_id));
    if auth.remove_unverified_account(v.id, 'expired') is not null then
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

CREATE OR REPLACE FUNCTION auth.hit_limits(p_keys text[], p_per_minute integer)
 RETURNS double precision
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_now timestamptz := pg_catalog.clock_timestamp();
  v_period interval;
  v_tolerance interval;
  v_key text;
  v_hash bytea;
  v_tat timestamptz;
begin
  if p_per_minute is null or p_per_minute < 1 or p_keys is null
     or pg_catalog.cardinality(p_keys) not between 1 and 4 then
    raise exception 'hit_limits: 1 to 4 keys and a positive limit' using errcode = '22023';
  end if;
  v_period := pg_catalog.make_interval(secs => 60.0 / p_per_minute);
  v_tolerance := v_period * (p_per_minute - 1);
  foreach v_key in array p_keys loop
    v_hash := auth.limit_key(v_key);
    insert into auth.rate_limits as r (key, tat) values (v_hash, v_now + v_period)
    on conflict (key) do update set tat = greatest(r.tat, v_now) + v_period
      where greatest(r.tat, v_now) - v_now <= v_tolerance
    returning r.tat into v_tat;
    if not found then
      select r.tat into v_tat from auth.rate_limits r where r.key = v_hash;
      return greatest(extract(epoch from v_tat - v_now - v_tolerance)::double precision, 0.001);
    end if;
  end loop;
  return null;
end
$function$;
ALTER FUNCTION auth.hit_limits(text[], integer) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.hit_limits(text[], integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.hit_limits(text[], integer) TO vectra_anon;
COMMENT ON FUNCTION auth.hit_limits(text[], integer) IS 'Counts one attempt against each key (GCRA, p_per_minute a minute, all usable at once): NULL when allowed, else the seconds to wait. Shared by every instance.';

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
ALTER FUNCTION auth.invitation_email(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.invitation_email(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.invitation_email(text) TO vectra_anon;

CREATE OR REPLACE FUNCTION auth.limit_key(p_text text)
 RETURNS bytea
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  return extensions.hmac(pg_catalog.convert_to(p_text, 'UTF8'),
                         (auth.current_settings()).rate_limit_key, 'sha256');
end
$function$;
ALTER FUNCTION auth.limit_key(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.limit_key(text) FROM PUBLIC;
COMMENT ON FUNCTION auth.limit_key(text) IS 'The stored form of an abuse-limit key: HMAC-SHA-256 under auth.settings.rate_limit_key.';

CREATE OR REPLACE FUNCTION auth.login(p_user_id uuid, p_verified_hash text, p_user_agent text, p_ip inet)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  -- The hash the service verified must still be the user's: a password
  -- changed in between makes the login fail rather than succeed on the old one.
  perform 1 from public.users where id = p_user_id and password_hash = p_verified_hash for update;
  if not found then
    raise exception 'Invalid email or password' using errcode = 'VA401';
  end if;
  perform auth.assert_may_sign_in(p_user_id);
  return auth.open_session(p_user_id, p_user_agent, p_ip);
end
$function$;
ALTER FUNCTION auth.login(uuid, text, text, inet) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.login(uuid, text, text, inet) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.login(uuid, text, text, inet) TO vectra_anon;

CREATE OR REPLACE FUNCTION auth.login_failed(p_email text, p_free integer)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_key bytea := auth.limit_key('login|email|' || p_email);
  v_now timestamptz := pg_catalog.clock_timestamp();
  v_count integer;
begin
  -- Counted atomically (the row stays locked to the end of the request).
  insert into auth.login_failures as f (key, failures, last_failure, blocked_until)
  values (v_key, 1, v_now, v_now)
  on conflict (key) do update
    set failures = case when f.last_failure < v_now - interval '1 hour' then 1 else f.failures + 1 end,
        last_failure = v_now
  returning failures into v_count;
  if v_count > p_free then
    update auth.login_failures
       set blocked_until = v_now + least(interval '1 second' * pg_catalog.power(2, least(v_count - p_free - 1, 20)),
                                         interval '15 minutes')
     where key = v_key;
  end if;
end
$function$;
ALTER FUNCTION auth.login_failed(text, integer) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.login_failed(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.login_failed(text, integer) TO vectra_anon;
COMMENT ON FUNCTION auth.login_failed(text, integer) IS 'A failed login for this email: past p_free failures (LOGIN_FAILURES_BEFORE_BACKOFF), the next attempt waits 1 s, 2 s, 4 s … up to 15 minutes. A failure more than an hour after the last one starts afresh.';

CREATE OR REPLACE FUNCTION auth.login_lookup(p_email text)
 RETURNS TABLE(user_id uuid, password_hash text)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return query select id, password_hash from public.users where pg_catalog.lower(email) = pg_catalog.lower(p_email);
end
$function$;
ALTER FUNCTION auth.login_lookup(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.login_lookup(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.login_lookup(text) TO vectra_anon;

CREATE OR REPLACE FUNCTION auth.login_succeeded(p_email text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  delete from auth.login_failures where key = auth.limit_key('login|email|' || p_email);
end
$function$;
ALTER FUNCTION auth.login_succeeded(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.login_succeeded(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.login_succeeded(text) TO vectra_anon;
COMMENT ON FUNCTION auth.login_succeeded(text) IS 'A successful login: the email''s failures are forgotten.';

CREATE OR REPLACE FUNCTION auth.logout()
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_session uuid := nullif(pg_catalog.current_setting('app.session_id', true), '')::uuid;
begin
  perform auth.require_user();
  update public.sessions
     set revoked_at = pg_catalog.now(), revoked_reason = 'logout'
   where id = v_session and user_id = app.current_user_id() and revoked_at is null;
end
$function$;
ALTER FUNCTION auth.logout() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.logout() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.logout() TO vectra_anon;

CREATE OR REPLACE FUNCTION auth.me()
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select auth.profile(auth.require_user()));
end
$function$;
ALTER FUNCTION auth.me() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.me() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.me() TO vectra_anon;

CREATE OR REPLACE FUNCTION auth.my_sessions(p_page integer, p_per_page integer, p_cursor text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  perform auth.require_user();
  return app.page('sessions', 'last_used_at', true, app.filters('live', 'true'), p_page, p_per_page, p_cursor);
end
$function$;
ALTER FUNCTION auth.my_sessions(integer, integer, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.my_sessions(integer, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.my_sessions(integer, integer, text) TO vectra_anon;

CREATE OR REPLACE FUNCTION auth.outbox_claim(p_limit integer, p_stale interval)
 RETURNS TABLE(id uuid, to_email text, template text, context jsonb, attempts integer, max_attempts integer, organization_id uuid)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  c record;
  o public.email_outbox;
  n public.notifications;
  v_org_status text;
  v_org_name text;
  v_sender public.users;
  v_withheld text;
begin
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception 'p_limit must be from 1 to 1000' using errcode = '22023';
  end if;
  for c in
    select e.organization_id, e.id from public.email_outbox e
     where (e.status = 'pending' and e.next_attempt_at <= pg_catalog.now())
        or (e.status = 'sending' and e.claimed_at < pg_catalog.now() - p_stale)
     order by e.next_attempt_at
     limit p_limit
  loop
    select * into o from public.email_outbox e
     where e.organization_id = c.organization_id and e.id = c.id
       and ((e.status = 'pending' and e.next_attempt_at <= pg_catalog.now())
            or (e.status = 'sending' and e.claimed_at < pg_catalog.now() - p_stale))
       for update skip locked;
    continue when not found;
    n := null;
    v_sender := null;
    if o.notification_id is not null then
      select * into n from public.notifications x
       where x.organization_id = o.organization_id and x.id = o.notification_id;
      if n.sender_id is not null then
        select * into v_sender from public.users u where u.id = n.sender_id;
      end if;
    end if;
    select g.status::text, g.name into v_org_status, v_org_name
      from public.organizations g where g.id = o.organization_id;
    v_withheld := case
      when v_org_status is distinct from 'active' and o.organization_id <> app.platform_org_id()
           and o.template in ('notification', 'invite-user')
        then 'withheld: the organization is ' || coalesce(v_org_status, 'gone')
      when n.sender_id is not null and v_sender.status is distinct from 'active'
        then 'withheld: the sender''s account is ' || coalesce(v_sender.status::text, 'gone')
    end;
    if v_withheld is not null then
      update public.email_outbox e
         set status = 'cancelled', claimed_at = null, last_error = v_withheld, context = e.context - 'token'
       where e.organization_id = o.organization_id and e.id = o.id;
      continue;
    end if;
    update public.email_outbox e
       set status = 'sending', claimed_at = pg_catalog.now(), attempts = e.attempts + 1
     where e.organization_id = o.organization_id and e.id = o.id
    returning e.* into o;
    id := o.id;
    organization_id := o.organization_id;
    to_email := o.to_email;
    template := o.template;
    attempts := o.attempts;
    max_attempts := o.max_attempts;
    context := o.context || case when n.id is null then '{}'::jsonb else pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                 'type', n.type, 'subject', n.subject, 'body', n.body, 'body_html', n.body_html,
                 'action_url', n.action_url, 'action_text', n.action_text,
                 'organization_name', case when n.organization_id <> app.platform_org_id() then v_org_name end,
                 'sender_name', v_sender.full_name,
                 -- An organization's mail answers to its sender.
                 'reply_to', case when n.organization_id <> app.platform_org_id() then v_sender.email end)) end;
    return next;
  end loop;
end
$function$;
ALTER FUNCTION auth.outbox_claim(integer, interval) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.outbox_claim(integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.outbox_claim(integer, interval) TO vectra_worker;
COMMENT ON FUNCTION auth.outbox_claim(integer, interval) IS 'Outbox worker: claims due rows (status sending, one more attempt) with FOR UPDATE SKIP LOCKED and returns them with their context (a notification''s content, its organization''s name, and its sender''s name and, for an organization''s mail, address as reply_to) and their organization, which the marks take. Due notifications and invitations of an organization that is not active, and notifications of a sender whose account is not, are marked cancelled instead, with the reason in last_error.';

CREATE OR REPLACE FUNCTION auth.outbox_mark_failed(p_id uuid, p_delay_secs double precision, p_error text, p_permanent boolean)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_org uuid;
begin
  select e.organization_id into v_org from public.email_outbox e where e.id = p_id;
  return found and auth.outbox_mark_failed(v_org, p_id, p_delay_secs, p_error, p_permanent);
end
$function$;
ALTER FUNCTION auth.outbox_mark_failed(uuid, double precision, text, boolean) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.outbox_mark_failed(uuid, double precision, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.outbox_mark_failed(uuid, double precision, text, boolean) TO vectra_worker;
COMMENT ON FUNCTION auth.outbox_mark_failed(uuid, double precision, text, boolean) IS 'The previous release''s outbox worker, by id alone (which reads every shard on Citus): finds the row''s organization and calls auth.outbox_mark_failed(organization, id, …). Kept for a rolling upgrade.';

CREATE OR REPLACE FUNCTION auth.outbox_mark_failed(p_organization_id uuid, p_id uuid, p_delay_secs double precision, p_error text, p_permanent boolean)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  update public.email_outbox
     set status = case when p_permanent or attempts >= max_attempts then 'failed' else 'pending' end::public.email_status,
         context = case when p_permanent or attempts >= max_attempts then context - 'token' else context end,
         next_attempt_at = pg_catalog.now() + pg_catalog.make_interval(secs => greatest(0, least(p_delay_secs, 86400))),
         last_error = pg_catalog.left(p_error, 2000), claimed_at = null
   where organization_id = p_organization_id and id = p_id and status = 'sending';
  return found;
end
$function$;
ALTER FUNCTION auth.outbox_mark_failed(uuid, uuid, double precision, text, boolean) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.outbox_mark_failed(uuid, uuid, double precision, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.outbox_mark_failed(uuid, uuid, double precision, text, boolean) TO vectra_worker;
COMMENT ON FUNCTION auth.outbox_mark_failed(uuid, uuid, double precision, text, boolean) IS 'Outbox worker: reschedules a claimed row after a failed attempt, or marks it failed (and strips its token) after a permanent error or its last attempt. The row is named by its organization and id, as auth.outbox_claim returns them.';

CREATE OR REPLACE FUNCTION auth.outbox_mark_sent(p_id uuid, p_subject text)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_org uuid;
begin
  select e.organization_id into v_org from public.email_outbox e where e.id = p_id;
  return found and auth.outbox_mark_sent(v_org, p_id, p_subject);
end
$function$;
ALTER FUNCTION auth.outbox_mark_sent(uuid, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.outbox_mark_sent(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.outbox_mark_sent(uuid, text) TO vectra_worker;
COMMENT ON FUNCTION auth.outbox_mark_sent(uuid, text) IS 'The previous release''s outbox worker, by id alone (which reads every shard on Citus): finds the row''s organization and calls auth.outbox_mark_sent(organization, id, subject). Kept for a rolling upgrade.';

CREATE OR REPLACE FUNCTION auth.outbox_mark_sent(p_organization_id uuid, p_id uuid, p_subject text)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  update public.email_outbox
     set status = 'sent', sent_at = pg_catalog.now(), subject = pg_catalog.left(p_subject, 998),
         last_error = null, claimed_at = null, context = context - 'token'
   where organization_id = p_organization_id and id = p_id and status = 'sending';
  return found;
end
$function$;
ALTER FUNCTION auth.outbox_mark_sent(uuid, uuid, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.outbox_mark_sent(uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.outbox_mark_sent(uuid, uuid, text) TO vectra_worker;
COMMENT ON FUNCTION auth.outbox_mark_sent(uuid, uuid, text) IS 'Outbox worker: records a delivery (only of a row in status sending) and strips its one-time token. The row is named by its organization and id, as auth.outbox_claim returns them.';

CREATE OR REPLACE FUNCTION auth.prune_limits()
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_limits integer;
  v_failures integer;
begin
  delete from auth.rate_limits where tat < pg_catalog.clock_timestamp();
  get diagnostics v_limits = row_count;
  delete from auth.login_failures
   where last_failure < pg_catalog.clock_timestamp() - interval '1 hour'
     and blocked_until < pg_catalog.clock_timestamp();
  get diagnostics v_failures = row_count;
  return v_limits + v_failures;
end
$function$;
ALTER FUNCTION auth.prune_limits() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.prune_limits() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.prune_limits() TO vectra_worker;
COMMENT ON FUNCTION auth.prune_limits() IS 'The outbox worker, every minute: forgets rate-limit keys whose allowance is whole again and login failures older than an hour. Returns how many rows went.';

CREATE OR REPLACE FUNCTION auth.refresh(p_token text, p_user_agent text, p_ip inet)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_hash bytea := auth.hash_token(p_token);
  v_session public.sessions;
  v_key bytea;
  v_token text;
begin
  select * into v_session from public.sessions where token_hash = v_hash for update;
  if not found then
    select * into v_session from public.sessions where rotated_hashes @> array[v_hash] for update;
    if not found then
      raise exception 'Invalid refresh token' using errcode = 'VA401';
    end if;
    -- The token that rotated last, again within the grace period: the same
    -- successor (a concurrent refresh waits for the first one's row lock and
    -- lands here).
    if v_session.revoked_at is null and v_session.expires_at > pg_catalog.now()
       and v_session.token_key is not null
       and v_session.rotated_hashes[pg_catalog.array_upper(v_session.rotated_hashes, 1)] = v_hash
       and v_session.rotated_at > pg_catalog.now() - (auth.current_settings()).refresh_grace_period then
      v_token := auth.derive_token(v_session.token_key, p_token);
      if auth.hash_token(v_token) = v_session.token_hash then
        perform auth.assert_may_sign_in(v_session.user_id);
        return pg_catalog.jsonb_build_object('session_id', v_session.id, 'refresh_token', v_token,
                                             'user', auth.profile(v_session.user_id));
      end if;
    end if;
    -- Anything else is a replay: the whole family is revoked. The caller
    -- gets an error *after* this commits.
    update public.sessions
       set revoked_at = coalesce(revoked_at, (select pg_catalog.now())),
           revoked_reason = coalesce(revoked_reason, 'refresh token reuse')
     where id = v_session.id;
    return pg_catalog.jsonb_build_object('error', 'reused');
  end if;
  if v_session.revoked_at is not null then
    raise exception 'Session revoked' using errcode = 'VA401';
  end if;
  if v_session.expires_at <= pg_catalog.now() then
    raise exception 'Session expired' using errcode = 'VA401';
  end if;
  perform auth.assert_may_sign_in(v_session.user_id);
  v_key := coalesce(v_session.token_key, extensions.gen_random_bytes(32));
  v_token := auth.derive_token(v_key, p_token);
  update public.sessions
     set token_hash = auth.hash_token(v_token),
         token_key = v_key,
         rotated_hashes = rotated_hashes || token_hash,
         rotated_at = pg_catalog.now(),
         last_used_at = pg_catalog.now(),
         user_agent = coalesce(pg_catalog.left(p_user_agent, 512), user_agent),
         ip = coalesce(p_ip, ip)
   where id = v_session.id;
  return pg_catalog.jsonb_build_object('session_id', v_session.id, 'refresh_token', v_token,
                                       'user', auth.profile(v_session.user_id));
end
$function$;
ALTER FUNCTION auth.refresh(text, text, inet) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.refresh(text, text, inet) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.refresh(text, text, inet) TO vectra_anon;

CREATE OR REPLACE FUNCTION auth.refresh_overview(p_max_age interval)
 RETURNS timestamp with time zone
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_at timestamptz;
begin
  insert into app.platform_overview (data, computed_at) values ('{}', '-infinity') on conflict do nothing;
  select computed_at into v_at from app.platform_overview where id for update skip locked;
  if not found then
    -- Another instance is computing it now.
    select computed_at into v_at from app.platform_overview where id;
    return v_at;
  end if;
  if v_at > pg_catalog.clock_timestamp() - p_max_age then
    return v_at;
  end if;
  update app.platform_overview set data = auth.compute_overview(), computed_at = pg_catalog.clock_timestamp()
   where id returning computed_at into v_at;
  return v_at;
end
$function$;
ALTER FUNCTION auth.refresh_overview(interval) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.refresh_overview(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.refresh_overview(interval) TO vectra_worker;
COMMENT ON FUNCTION auth.refresh_overview(interval) IS 'Recomputes the platform overview when its snapshot is older than p_max_age (the outbox worker, every minute; one instance at a time). Returns the snapshot''s time.';

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
      perform auth.count_users(v_org);
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
ALTER FUNCTION auth.register(text, text, text, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.register(text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.register(text, text, text, text) TO vectra_anon;

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
ALTER FUNCTION auth.remove_unverified_account(uuid, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.remove_unverified_account(uuid, text) FROM PUBLIC;
COMMENT ON FUNCTION auth.remove_unverified_account(uuid, text) IS 'Removes an account whose email was never verified, with its organization (auth.erase_organization), and audits it (action account.remove_unverified, a platform entry under app.platform_org_id()); NULL (nothing removed) when the account is verified, has colleagues, or its organization holds campaigns, leads or notifications.';

CREATE OR REPLACE FUNCTION auth.request_password_reset(p_email text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v record;
  v_token text;
begin
  select id, organization_id, email, full_name into v
    from public.users
   where pg_catalog.lower(email) = pg_catalog.lower(p_email) and status = 'active';
  if found then
    v_token := auth.issue_one_time_token(v.id, 'reset_password', interval '1 hour');
    if v_token is not null then
      perform auth.queue_email(v.organization_id, v.email, 'reset-password',
        pg_catalog.jsonb_build_object('name', v.full_name, 'token', v_token));
    end if;
  end if;
end
$function$;
ALTER FUNCTION auth.request_password_reset(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.request_password_reset(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.request_password_reset(text) TO vectra_anon;

CREATE OR REPLACE FUNCTION auth.resend_verification_email(p_email text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_user uuid;
begin
  select id into v_user from public.users
   where pg_catalog.lower(email) = pg_catalog.lower(p_email)
     and status = 'active' and email_verified_at is null;
  if found then
    perform auth.issue_verification(v_user);
  end if;
end
$function$;
ALTER FUNCTION auth.resend_verification_email(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.resend_verification_email(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.resend_verification_email(text) TO vectra_anon;

CREATE OR REPLACE FUNCTION auth.reset_password(p_token text, p_new_hash text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_org uuid;
  v_user uuid := auth.redeem_link(p_token, 'reset_password');
begin
  -- Following the emailed link proves control of the address.
  update public.users
     set password_hash = p_new_hash, email_verified_at = coalesce(email_verified_at, (select pg_catalog.now()))
   where id = v_user;
  update public.sessions
     set revoked_at = pg_catalog.now(), revoked_reason = 'password reset'
   where user_id = v_user and revoked_at is null;
  select coalesce(organization_id, app.platform_org_id()) into v_org from public.users where id = v_user;
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id)
  values (v_org, v_user, 'user.password_reset', 'user', v_user);
end
$function$;
ALTER FUNCTION auth.reset_password(text, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.reset_password(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.reset_password(text, text) TO vectra_anon;

CREATE OR REPLACE FUNCTION auth.reset_password_email(p_token text)
 RETURNS text
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_email text;
begin
  select u.email into v_email
    from public.one_time_tokens t join public.users u on u.id = t.user_id
   where t.token_hash = auth.hash_token(p_token) and t.purpose = 'reset_password'
     and t.used_at is null and t.expires_at > pg_catalog.now();
  if not found then
    raise exception 'Invalid or expired token' using errcode = 'VA400';
  end if;
  return v_email;
end
$function$;
ALTER FUNCTION auth.reset_password_email(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.reset_password_email(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.reset_password_email(text) TO vectra_anon;

CREATE OR REPLACE FUNCTION auth.send_verification_email()
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_user uuid := auth.require_user();
  v_next timestamptz;
begin
  if exists (select 1 from public.users where id = v_user and email_verified_at is not null) then
    raise exception 'Email already verified' using errcode = 'VA409';
  end if;
  if not auth.issue_verification(v_user) then
    select pg_catalog.min(expires_at) into v_next from public.one_time_tokens
     where user_id = v_user and purpose = 'verify_email' and used_at is null and expires_at > pg_catalog.now();
    perform auth.raise_too_many('Verification links are already on their way; use the newest one', v_next);
  end if;
end
$function$;
ALTER FUNCTION auth.send_verification_email() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.send_verification_email() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.send_verification_email() TO vectra_anon;

CREATE OR REPLACE FUNCTION auth.service_stats()
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;
ALTER FUNCTION auth.service_stats() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.service_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.service_stats() TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION auth.service_stats() TO vectra_worker;
COMMENT ON FUNCTION auth.service_stats() IS 'Aggregates for the system metrics (database size and connections, outbox counts, delivery latency over 24 h); callable by the platform admin and the worker.';

CREATE OR REPLACE FUNCTION auth.unsubscribe(p_token text, p_apply boolean)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;
ALTER FUNCTION auth.unsubscribe(text, boolean) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.unsubscribe(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.unsubscribe(text, boolean) TO vectra_anon;
COMMENT ON FUNCTION auth.unsubscribe(text, boolean) IS 'One-click unsubscribe (RFC 8058): a prospect from one organization''s mail, or a user from the platform''s announcements. VA400 for a token that is not ours.';

CREATE OR REPLACE FUNCTION auth.unsubscribe_target(p_token text, OUT kind text, OUT organization_id uuid, OUT email text)
 RETURNS record
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;
ALTER FUNCTION auth.unsubscribe_target(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.unsubscribe_target(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION auth.unsubscribe_token(p_kind text, p_org uuid, p_email text)
 RETURNS text
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;
ALTER FUNCTION auth.unsubscribe_token(text, uuid, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.unsubscribe_token(text, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.unsubscribe_token(text, uuid, text) TO vectra_definer;
COMMENT ON FUNCTION auth.unsubscribe_token(text, uuid, text) IS 'The signed token of a one-click unsubscribe link (kind prospects of one organization, or announcements).';

CREATE OR REPLACE FUNCTION auth.verify_email(p_token text, p_user_agent text, p_ip inet)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_user uuid := auth.redeem_link(p_token, 'verify_email');
begin
  update public.users set email_verified_at = coalesce(email_verified_at, (select pg_catalog.now())) where id = v_user;
  begin
    perform auth.assert_may_sign_in(v_user);
  exception when sqlstate 'VA403' then
    return pg_catalog.jsonb_build_object('error', sqlerrm);
  end;
  return auth.open_session(v_user, p_user_agent, p_ip);
end
$function$;
ALTER FUNCTION auth.verify_email(text, text, inet) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.verify_email(text, text, inet) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.verify_email(text, text, inet) TO vectra_anon;
