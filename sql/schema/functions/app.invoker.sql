-- Functions of schema app that run as their caller (SECURITY INVOKER): the caller's privileges and policies apply.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE OR REPLACE FUNCTION app.across_tenants(p_on boolean, p_saved text)
 RETURNS text
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_now text := pg_catalog.current_setting('citus.multi_task_query_log_level', true);
begin
  if v_now is null then
    return null;
  end if;
  perform pg_catalog.set_config('citus.multi_task_query_log_level',
                                case when p_on then 'off' else coalesce(p_saved, v_now) end, true);
  return v_now;
end
$function$;
ALTER FUNCTION app.across_tenants(boolean, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.across_tenants(boolean, text) FROM PUBLIC;
COMMENT ON FUNCTION app.across_tenants(boolean, text) IS 'On a Citus coordinator with strict tenant routing: lifts it for a read that counts across organizations by design (true; returns the level to put back) or puts it back (false, the level). Transaction-local; a no-op on PostgreSQL.';

CREATE OR REPLACE FUNCTION app.admin_audit(p_org uuid, p_action text, p_target_type text, p_target_id uuid, p_data jsonb)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data, created_at)
  values (coalesce(p_org, app.platform_org_id()), app.current_user_id(), p_action, p_target_type, p_target_id,
          coalesce(p_data, '{}'), pg_catalog.clock_timestamp());
end
$function$;
ALTER FUNCTION app.admin_audit(uuid, text, text, uuid, jsonb) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.admin_audit(uuid, text, text, uuid, jsonb) FROM PUBLIC;

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

CREATE OR REPLACE FUNCTION app.admin_get_notification(p_id uuid, p_page integer, p_per_page integer, p_cursor text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  n public.notifications;
begin
  perform app.require_platform_admin();
  select * into n from public.notifications where id = p_id;
  if not found then
    raise exception 'Notification not found' using errcode = 'VA404';
  end if;
  return app.notification_detail(n) || pg_catalog.jsonb_build_object('recipients',
    app.page('deliveries', 'email', false, app.filters('notification_id', n.id::text), p_page, p_per_page, p_cursor));
end
$function$;
ALTER FUNCTION app.admin_get_notification(uuid, integer, integer, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.admin_get_notification(uuid, integer, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.admin_get_notification(uuid, integer, integer, text) TO vectra_platform_admin;

CREATE OR REPLACE FUNCTION app.admin_get_organization(p_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v public.organizations;
begin
  perform app.require_platform_admin();
  select * into v from public.organizations where id = p_id;
  if not found then
    raise exception 'Organization not found' using errcode = 'VA404';
  end if;
  return app.admin_organization_json(v, (select pg_catalog.count(*) from public.users
                                          where organization_id = v.id and status <> 'removed'))
    || pg_catalog.jsonb_build_object(
         'owners', coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                'id', u.id, 'email', u.email, 'full_name', u.full_name, 'status', u.status,
                                'email_verified', u.email_verified_at is not null, 'last_login_at', u.last_login_at)
                              order by u.created_at, u.id)
                               from public.users u
                              where u.organization_id = v.id and u.role = 'owner' and u.status <> 'removed'), '[]'),
         'counts', pg_catalog.jsonb_build_object(
           'users', (select pg_catalog.count(*) from public.users where organization_id = v.id and status <> 'removed'),
           'campaigns', (select pg_catalog.count(*) from public.campaigns where organization_id = v.id),
           'leads', (select pg_catalog.count(*) from public.leads where organization_id = v.id),
           'meetings', (select pg_catalog.count(*) from public.meetings where organization_id = v.id)),
         'pending_invitations', coalesce((select pg_catalog.jsonb_agg(app.invitation_json(i) order by i.created_at desc, i.id)
                                            from app.invitation_rows i
                                           where i.organization_id = v.id and i.accepted_at is null
                                             and i.revoked_at is null and i.expires_at > pg_catalog.now()), '[]'));
end
$function$;
ALTER FUNCTION app.admin_get_organization(uuid) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.admin_get_organization(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.admin_get_organization(uuid) TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.admin_get_organization(uuid) TO vectra_platform_admin;

CREATE OR REPLACE FUNCTION app.admin_list_notifications(p_page integer, p_per_page integer, p_type text, p_org uuid, p_cursor text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  perform app.require_platform_admin();
  perform app.check_notification_type(p_type);
  return app.page('all-notifications', 'created_at', true,
                  app.filters('type', p_type, 'organization_id', p_org::text), p_page, p_per_page, p_cursor);
end
$function$;
ALTER FUNCTION app.admin_list_notifications(integer, integer, text, uuid, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.admin_list_notifications(integer, integer, text, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.admin_list_notifications(integer, integer, text, uuid, text) TO vectra_platform_admin;

CREATE OR REPLACE FUNCTION app.admin_list_organizations(p_page integer, p_per_page integer, p_plan text, p_status text, p_search text, p_sort text, p_desc boolean, p_cursor text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  perform app.require_platform_admin();
  perform app.check_sort(p_sort, 'created_at', 'name', 'plan', 'users_count');
  perform app.check_filter('plan', p_plan, 'free', 'starter', 'pro', 'enterprise');
  perform app.check_filter('status', p_status, 'active', 'suspended', 'deleted');
  return app.page('organizations', p_sort, p_desc,
                  app.filters('plan', p_plan, 'status', p_status,
                              'search', nullif(pg_catalog.btrim(p_search), '')),
                  p_page, p_per_page, p_cursor);
end
$function$;
ALTER FUNCTION app.admin_list_organizations(integer, integer, text, text, text, text, boolean, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.admin_list_organizations(integer, integer, text, text, text, text, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.admin_list_organizations(integer, integer, text, text, text, text, boolean, text) TO vectra_platform_admin;

CREATE OR REPLACE FUNCTION app.admin_list_users(p_page integer, p_per_page integer, p_organization_id uuid, p_role text, p_status text, p_search text, p_sort text, p_desc boolean, p_cursor text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  perform app.require_platform_admin();
  perform app.check_sort(p_sort, 'created_at', 'name', 'email', 'last_login_at');
  perform app.check_filter('role', p_role, 'platform_admin', 'owner', 'admin', 'manager', 'member');
  perform app.check_filter('status', p_status, 'active', 'suspended', 'removed');
  return app.page('users', p_sort, p_desc,
                  app.filters('organization_id', p_organization_id::text, 'role', p_role, 'status', p_status,
                              'search', nullif(pg_catalog.btrim(p_search), '')),
                  p_page, p_per_page, p_cursor);
end
$function$;
ALTER FUNCTION app.admin_list_users(integer, integer, uuid, text, text, text, text, boolean, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.admin_list_users(integer, integer, uuid, text, text, text, text, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.admin_list_users(integer, integer, uuid, text, text, text, text, boolean, text) TO vectra_platform_admin;

CREATE OR REPLACE FUNCTION app.admin_organization_json(o public.organizations, p_users_count bigint)
 RETURNS jsonb
 LANGUAGE sql
 STABLE
AS $function$
  select app.organization_json(o) operator(pg_catalog.||)
         pg_catalog.jsonb_build_object('users_count', coalesce(p_users_count, 0), 'deleted_at', o.deleted_at)
$function$;
ALTER FUNCTION app.admin_organization_json(public.organizations, bigint) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.admin_organization_json(public.organizations, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.admin_organization_json(public.organizations, bigint) TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.admin_organization_json(public.organizations, bigint) TO vectra_platform_admin;

CREATE OR REPLACE FUNCTION app.admin_overview()
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v app.platform_overview;
begin
  perform app.require_platform_admin();
  select * into v from app.platform_overview where id and computed_at > '-infinity';
  if not found then
    raise exception 'The overview is being computed; try again shortly'
      using errcode = 'VA503', detail = '{"retry_after": 10}',
            hint = 'The outbox worker computes it when the service starts, then every minute.';
  end if;
  return v.data || pg_catalog.jsonb_build_object(
    'as_of', v.computed_at,
    'age_seconds', greatest(0, pg_catalog.floor(extract(epoch from pg_catalog.now() - v.computed_at)))::bigint);
end
$function$;
ALTER FUNCTION app.admin_overview() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.admin_overview() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.admin_overview() TO vectra_platform_admin;
COMMENT ON FUNCTION app.admin_overview() IS 'GET /admin/overview: the platform''s figures as of the last snapshot (as_of, age_seconds), never a scan per request.';

CREATE OR REPLACE FUNCTION app.any_role()
 RETURNS text
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select app.require_role('owner', 'admin', 'manager', 'member'));
end
$function$;
ALTER FUNCTION app.any_role() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.any_role() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.any_role() TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.any_role() TO vectra_member;
GRANT EXECUTE ON FUNCTION app.any_role() TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.assert_keeps_an_owner(p_target app.members)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
begin
  if p_target.role = 'owner' and p_target.status = 'active' and not exists (
       select 1 from public.users
        where organization_id = v_current_org and role = 'owner' and status = 'active'
          and id <> p_target.id) then
    raise exception 'The organization must keep at least one active owner' using errcode = 'VA409';
  end if;
end
$function$;
ALTER FUNCTION app.assert_keeps_an_owner(app.members) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.assert_keeps_an_owner(app.members) FROM PUBLIC;

CREATE OR REPLACE FUNCTION app.audit(p_action text, p_target_type text, p_target_id uuid, p_data jsonb)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
declare
  v_current_org uuid := app.current_org_id();
begin
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data, created_at)
  values (v_current_org, app.current_user_id(), p_action, p_target_type, p_target_id,
          coalesce(p_data, '{}'), pg_catalog.clock_timestamp());
end
$function$;
ALTER FUNCTION app.audit(text, text, uuid, jsonb) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.audit(text, text, uuid, jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION app.audit_log_is_append_only()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  raise exception 'audit_log is append-only' using errcode = '42501';
end
$function$;
ALTER FUNCTION app.audit_log_is_append_only() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.audit_log_is_append_only() FROM PUBLIC;

CREATE OR REPLACE FUNCTION app.campaign_json(c public.campaigns, p_leads_count bigint)
 RETURNS jsonb
 LANGUAGE sql
 STABLE
AS $function$
  select pg_catalog.jsonb_build_object(
    'id', c.id, 'name', c.name, 'status', c.status, 'leads_count', coalesce(p_leads_count, 0),
    'created_at', c.created_at, 'updated_at', c.updated_at)
$function$;
ALTER FUNCTION app.campaign_json(public.campaigns, bigint) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.campaign_json(public.campaigns, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.campaign_json(public.campaigns, bigint) TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.campaign_json(public.campaigns, bigint) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.campaign_json(public.campaigns, bigint) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.check_filter(p_field text, p_value text, VARIADIC p_allowed text[])
 RETURNS void
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  if p_value is not null and not (p_value = any (p_allowed)) then
    raise exception '%: must be one of %', p_field, pg_catalog.array_to_string(p_allowed, ', ')
      using errcode = 'VA422',
            detail = pg_catalog.jsonb_build_object(p_field,
              'must be one of ' || pg_catalog.array_to_string(p_allowed, ', '))::text;
  end if;
end
$function$;
ALTER FUNCTION app.check_filter(text, text, text[]) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.check_filter(text, text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.check_filter(text, text, text[]) TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.check_filter(text, text, text[]) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.check_filter(text, text, text[]) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.check_filter(text, text, text[]) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.check_notification(p jsonb, p_allow_org_ids boolean)
 RETURNS text[]
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;
ALTER FUNCTION app.check_notification(jsonb, boolean) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.check_notification(jsonb, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.check_notification(jsonb, boolean) TO vectra_definer;

CREATE OR REPLACE FUNCTION app.check_notification_type(p_type text)
 RETURNS void
 LANGUAGE sql
 IMMUTABLE
AS $function$
  select app.check_filter('type', p_type, 'org_to_prospects', 'org_owner_to_members', 'vectra_to_users',
                          'vectra_to_org_owner', 'system_alerts')
$function$;
ALTER FUNCTION app.check_notification_type(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.check_notification_type(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.check_notification_type(text) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.check_notification_type(text) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.check_notification_type(text) TO vectra_tenant_reader;
COMMENT ON FUNCTION app.check_notification_type(text) IS 'VA422 naming type unless it is a notification type (or NULL).';

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

CREATE OR REPLACE FUNCTION app.check_page(p_page integer, p_per_page integer)
 RETURNS void
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_errors jsonb := '{}';
begin
  if p_page is null or p_page < 1 or p_page > 1000000 then
    v_errors := v_errors || jsonb_build_object('page', 'must be a whole number from 1 to 1000000');
  end if;
  if p_per_page is null or p_per_page < 1 or p_per_page > 100 then
    v_errors := v_errors || jsonb_build_object('per_page', 'must be a whole number from 1 to 100');
  end if;
  if v_errors <> '{}' then
    raise exception 'The request has invalid fields'
      using errcode = 'VA422', detail = v_errors::text;
  end if;
end
$function$;
ALTER FUNCTION app.check_page(integer, integer) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.check_page(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.check_page(integer, integer) TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.check_page(integer, integer) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.check_page(integer, integer) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.check_page(integer, integer) TO vectra_tenant_reader;
COMMENT ON FUNCTION app.check_page(integer, integer) IS 'The page bounds of every list (page 1 to 1000000, per_page 1 to 100): VA422 naming each bad one. The only copy of this rule.';

CREATE OR REPLACE FUNCTION app.check_search(p_search text)
 RETURNS text
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  if p_search is null or pg_catalog.btrim(p_search) = '' then
    return null;
  end if;
  if pg_catalog.length(pg_catalog.btrim(p_search)) < 3 then
    raise exception 'search: must hold at least 3 characters'
      using errcode = 'VA422', detail = '{"search": "must hold at least 3 characters"}';
  end if;
  return pg_catalog.btrim(p_search);
end
$function$;
ALTER FUNCTION app.check_search(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.check_search(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.check_search(text) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.check_search(text) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.check_search(text) TO vectra_tenant_reader;
COMMENT ON FUNCTION app.check_search(text) IS 'A list''s search, trimmed; NULL when empty; VA422 when shorter than 3 characters (a trigram: shorter, no index could serve it).';

CREATE OR REPLACE FUNCTION app.check_sort(p_sort text, VARIADIC p_allowed text[])
 RETURNS void
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  if p_sort is null or not (p_sort = any (p_allowed)) then
    raise exception 'sort: must be one of %', pg_catalog.array_to_string(p_allowed, ', ')
      using errcode = 'VA422',
            detail = pg_catalog.jsonb_build_object('sort',
              'must be one of ' || pg_catalog.array_to_string(p_allowed, ', '))::text;
  end if;
end
$function$;
ALTER FUNCTION app.check_sort(text, text[]) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.check_sort(text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.check_sort(text, text[]) TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.check_sort(text, text[]) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.check_sort(text, text[]) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.check_sort(text, text[]) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.check_status_transition()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  if not app.status_transition_allowed(pg_catalog.regexp_replace(TG_TABLE_NAME, '_[0-9]+$', ''),
                                       old.status::text, new.status::text) then
    raise exception 'status: cannot change from % to %', old.status, new.status
      using errcode = 'VA422',
            detail = pg_catalog.jsonb_build_object('status',
              pg_catalog.format('cannot change from %s to %s', old.status, new.status))::text;
  end if;
  return new;
end
$function$;
ALTER FUNCTION app.check_status_transition() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.check_status_transition() FROM PUBLIC;

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

CREATE OR REPLACE FUNCTION app.current_org_id()
 RETURNS uuid
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$ select nullif(nullif(pg_catalog.current_setting('app.org_id', true), '')::uuid, app.platform_org_id()) $function$;
ALTER FUNCTION app.current_org_id() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.current_org_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.current_org_id() TO vectra_anon;
GRANT EXECUTE ON FUNCTION app.current_org_id() TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.current_org_id() TO vectra_member;
GRANT EXECUTE ON FUNCTION app.current_org_id() TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.current_org_id() TO vectra_tenant_reader;
GRANT EXECUTE ON FUNCTION app.current_org_id() TO vectra_worker;
COMMENT ON FUNCTION app.current_org_id() IS 'Organization of the current request (setting app.org_id), NULL when unset or when it is the reserved app.platform_org_id() (no request acts as the platform''s organization).';

CREATE OR REPLACE FUNCTION app.current_role_at_least(p_role text)
 RETURNS boolean
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$ select coalesce(app.role_rank(app.current_user_role()) >= app.role_rank(p_role), false) $function$;
ALTER FUNCTION app.current_role_at_least(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.current_role_at_least(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.current_role_at_least(text) TO vectra_anon;
GRANT EXECUTE ON FUNCTION app.current_role_at_least(text) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.current_role_at_least(text) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.current_role_at_least(text) TO vectra_tenant_reader;
GRANT EXECUTE ON FUNCTION app.current_role_at_least(text) TO vectra_worker;
COMMENT ON FUNCTION app.current_role_at_least(text) IS 'True when app.role ranks at least p_role on the ladder owner > admin > manager > member.';

CREATE OR REPLACE FUNCTION app.current_session_id()
 RETURNS uuid
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$ select nullif(pg_catalog.current_setting('app.session_id', true), '')::uuid $function$;
ALTER FUNCTION app.current_session_id() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.current_session_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.current_session_id() TO vectra_anon;
GRANT EXECUTE ON FUNCTION app.current_session_id() TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.current_session_id() TO vectra_member;
GRANT EXECUTE ON FUNCTION app.current_session_id() TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.current_session_id() TO vectra_tenant_reader;
GRANT EXECUTE ON FUNCTION app.current_session_id() TO vectra_worker;
COMMENT ON FUNCTION app.current_session_id() IS 'Session of the current request (setting app.session_id), NULL when unset.';

CREATE OR REPLACE FUNCTION app.current_user_id()
 RETURNS uuid
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$ select nullif(pg_catalog.current_setting('app.user_id', true), '')::uuid $function$;
ALTER FUNCTION app.current_user_id() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.current_user_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.current_user_id() TO vectra_anon;
GRANT EXECUTE ON FUNCTION app.current_user_id() TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.current_user_id() TO vectra_member;
GRANT EXECUTE ON FUNCTION app.current_user_id() TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.current_user_id() TO vectra_tenant_reader;
GRANT EXECUTE ON FUNCTION app.current_user_id() TO vectra_worker;
COMMENT ON FUNCTION app.current_user_id() IS 'User of the current request (setting app.user_id), NULL when unset.';

CREATE OR REPLACE FUNCTION app.current_user_role()
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$ select nullif(pg_catalog.current_setting('app.role', true), '') $function$;
ALTER FUNCTION app.current_user_role() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.current_user_role() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.current_user_role() TO vectra_anon;
GRANT EXECUTE ON FUNCTION app.current_user_role() TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.current_user_role() TO vectra_member;
GRANT EXECUTE ON FUNCTION app.current_user_role() TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.current_user_role() TO vectra_tenant_reader;
GRANT EXECUTE ON FUNCTION app.current_user_role() TO vectra_worker;
COMMENT ON FUNCTION app.current_user_role() IS 'Organization role of the current request (setting app.role), NULL when unset.';

CREATE OR REPLACE FUNCTION app.display_name_error(p_name text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
  select case
    when p_name is null or pg_catalog.btrim(p_name) = '' then 'is required'
    when pg_catalog.length(pg_catalog.btrim(p_name)) > 200 then 'must be at most 200 characters'
    -- Cc, Cf, Zl, Zp (NUL cannot occur in text).
    when p_name ~ '[\u0001-\u001F\u007F-\u009F\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890-\u0891\u08E2\u180E\u200B-\u200F\u2028-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB\U000110BD\U000110CD\U00013430-\U0001343F\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A\U000E0001\U000E0020-\U000E007F]'
      then 'must not contain control or invisible formatting characters'
  end
$function$;
ALTER FUNCTION app.display_name_error(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.display_name_error(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.display_name_error(text) TO vectra_definer;
COMMENT ON FUNCTION app.display_name_error(text) IS 'NULL for an acceptable display name (users.full_name, organizations.name), else what is wrong with it: empty, longer than 200 characters, or holding control or invisible formatting characters (Cc, Cf, Zl, Zp).';

CREATE OR REPLACE FUNCTION app.exact_count_cap()
 RETURNS integer
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$ select 1000 $function$;
ALTER FUNCTION app.exact_count_cap() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.exact_count_cap() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.exact_count_cap() TO vectra_member;
GRANT EXECUTE ON FUNCTION app.exact_count_cap() TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.exact_count_cap() TO vectra_tenant_reader;
COMMENT ON FUNCTION app.exact_count_cap() IS 'Rows a list counts exactly; beyond, its total is the planner''s estimate (at least the cap + 1), flagged by total_is_estimate. Also how deep `page` goes in a search.';

CREATE OR REPLACE FUNCTION app.filters(VARIADIC p_pairs text[])
 RETURNS jsonb
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_filters jsonb := '{}';
begin
  for i in 1 .. coalesce(pg_catalog.array_length(p_pairs, 1), 0) - 1 by 2 loop
    if p_pairs[i + 1] is not null then
      v_filters := v_filters || pg_catalog.jsonb_build_object(p_pairs[i], p_pairs[i + 1]);
    end if;
  end loop;
  return v_filters;
end
$function$;
ALTER FUNCTION app.filters(text[]) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.filters(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.filters(text[]) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.filters(text[]) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.filters(text[]) TO vectra_tenant_reader;
COMMENT ON FUNCTION app.filters(text[]) IS 'The filters of a list call as jsonb: pairs of name and value, those without a value left out.';

CREATE OR REPLACE FUNCTION app.get_campaign(p_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v public.campaigns;
begin
  perform app.any_role();
  select * into v from public.campaigns where organization_id = v_current_org and id = p_id;
  if not found then
    raise exception 'Campaign not found' using errcode = 'VA404';
  end if;
  return app.campaign_json(v, (select pg_catalog.count(*) from public.leads
                                where organization_id = v.organization_id and campaign_id = v.id));
end
$function$;
ALTER FUNCTION app.get_campaign(uuid) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.get_campaign(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.get_campaign(uuid) TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.get_campaign(uuid) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.get_campaign(uuid) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.get_lead(p_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v public.leads;
begin
  perform app.any_role();
  select * into v from public.leads where organization_id = v_current_org and id = p_id;
  if not found then
    raise exception 'Lead not found' using errcode = 'VA404';
  end if;
  return app.lead_json(v);
end
$function$;
ALTER FUNCTION app.get_lead(uuid) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.get_lead(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.get_lead(uuid) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.get_lead(uuid) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.get_meeting(p_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v public.meetings;
begin
  perform app.any_role();
  select * into v from public.meetings where organization_id = v_current_org and id = p_id;
  if not found then
    raise exception 'Meeting not found' using errcode = 'VA404';
  end if;
  return app.meeting_json(v);
end
$function$;
ALTER FUNCTION app.get_meeting(uuid) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.get_meeting(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.get_meeting(uuid) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.get_meeting(uuid) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.get_notification(p_id uuid, p_page integer, p_per_page integer, p_cursor text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  n public.notifications;
begin
  perform app.require_role('owner', 'admin');
  select * into n from public.notifications where id = p_id and organization_id = v_current_org;
  if not found then
    raise exception 'Notification not found' using errcode = 'VA404';
  end if;
  return app.notification_detail(n) || pg_catalog.jsonb_build_object('recipients',
    app.page('deliveries', 'email', false, app.filters('notification_id', n.id::text), p_page, p_per_page, p_cursor));
end
$function$;
ALTER FUNCTION app.get_notification(uuid, integer, integer, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.get_notification(uuid, integer, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.get_notification(uuid, integer, integer, text) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.get_notification(uuid, integer, integer, text) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.hash_token(p_token text)
 RETURNS bytea
 LANGUAGE sql
 IMMUTABLE STRICT
AS $function$ select pg_catalog.sha256(pg_catalog.convert_to(p_token, 'UTF8')) $function$;
ALTER FUNCTION app.hash_token(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.hash_token(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.hash_token(text) TO vectra_definer;
COMMENT ON FUNCTION app.hash_token(text) IS 'SHA-256 of a token: the only form in which tokens are stored.';

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

CREATE OR REPLACE FUNCTION app.holds_platform_name(p text)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  return pg_catalog.strpos(app.name_key(p), app.name_key((auth.current_settings()).platform_name)) > 0;
end
$function$;
ALTER FUNCTION app.holds_platform_name(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.holds_platform_name(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.holds_platform_name(text) TO vectra_definer;
COMMENT ON FUNCTION app.holds_platform_name(text) IS 'Whether a text holds the platform''s name (auth.settings.platform_name), compared by app.name_key.';

CREATE OR REPLACE FUNCTION app.invitation_json(i app.invitation_rows)
 RETURNS jsonb
 LANGUAGE sql
 STABLE
AS $function$
  select pg_catalog.jsonb_build_object(
    'id', i.id, 'email', i.email, 'role', i.role, 'invited_by', i.invited_by,
    'created_at', i.created_at, 'expires_at', i.expires_at, 'accepted_at', i.accepted_at,
    'revoked_at', i.revoked_at,
    'status', case when i.accepted_at is not null then 'accepted'
                   when i.revoked_at is not null then 'revoked'
                   when i.expires_at <= pg_catalog.now() then 'expired'
                   else 'pending' end)
$function$;
ALTER FUNCTION app.invitation_json(app.invitation_rows) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.invitation_json(app.invitation_rows) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.invitation_json(app.invitation_rows) TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.invitation_json(app.invitation_rows) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.invitation_json(app.invitation_rows) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.invitation_json(app.invitation_rows) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.is_plain_email(p text)
 RETURNS boolean
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select p ~ '^[A-Za-z0-9.!#$%&''*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$'
     and pg_catalog.char_length(p) <= 254);
end
$function$;
ALTER FUNCTION app.is_plain_email(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.is_plain_email(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.is_plain_email(text) TO vectra_definer;

CREATE OR REPLACE FUNCTION app.is_platform_admin()
 RETURNS boolean
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
  select coalesce(nullif(pg_catalog.current_setting('app.role', true), '') = 'platform_admin'
                  and nullif(pg_catalog.current_setting('app.user_id', true), '') is not null, false)
$function$;
ALTER FUNCTION app.is_platform_admin() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.is_platform_admin() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.is_platform_admin() TO vectra_anon;
GRANT EXECUTE ON FUNCTION app.is_platform_admin() TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.is_platform_admin() TO vectra_member;
GRANT EXECUTE ON FUNCTION app.is_platform_admin() TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.is_platform_admin() TO vectra_tenant_reader;
GRANT EXECUTE ON FUNCTION app.is_platform_admin() TO vectra_worker;
COMMENT ON FUNCTION app.is_platform_admin() IS 'True in a platform-admin context (app.role = platform_admin and app.user_id set); false without settings.';

CREATE OR REPLACE FUNCTION app.lead_json(l public.leads)
 RETURNS jsonb
 LANGUAGE sql
 STABLE
AS $function$
  select pg_catalog.jsonb_build_object(
    'id', l.id, 'email', l.email, 'full_name', l.full_name, 'company', l.company,
    'status', l.status, 'campaign_id', l.campaign_id,
    'created_at', l.created_at, 'updated_at', l.updated_at)
$function$;
ALTER FUNCTION app.lead_json(public.leads) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.lead_json(public.leads) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.lead_json(public.leads) TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.lead_json(public.leads) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.lead_json(public.leads) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.like_pattern(p_search text)
 RETURNS text
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select case when p_search is null or pg_catalog.btrim(p_search) = '' then null
              else '%' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
                     pg_catalog.btrim(p_search), '\', '\\'), '%', '\%'), '_', '\_') || '%' end);
end
$function$;
ALTER FUNCTION app.like_pattern(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.like_pattern(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.like_pattern(text) TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.like_pattern(text) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.like_pattern(text) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.like_pattern(text) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.list_audit_log(p_page integer, p_per_page integer, p_action text, p_cursor text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  perform app.require_role('owner', 'admin');
  return app.page('audit', 'created_at', true, app.filters('action', p_action), p_page, p_per_page, p_cursor);
end
$function$;
ALTER FUNCTION app.list_audit_log(integer, integer, text, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.list_audit_log(integer, integer, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.list_audit_log(integer, integer, text, text) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.list_audit_log(integer, integer, text, text) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.list_campaigns(p_page integer, p_per_page integer, p_status text, p_search text, p_sort text, p_desc boolean, p_cursor text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  perform app.any_role();
  perform app.check_sort(p_sort, 'created_at', 'name');
  perform app.check_filter('status', p_status, 'draft', 'active', 'paused', 'completed');
  return app.page('campaigns', p_sort, p_desc,
                  app.filters('status', p_status, 'search', nullif(pg_catalog.btrim(p_search), '')),
                  p_page, p_per_page, p_cursor);
end
$function$;
ALTER FUNCTION app.list_campaigns(integer, integer, text, text, text, boolean, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.list_campaigns(integer, integer, text, text, text, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.list_campaigns(integer, integer, text, text, text, boolean, text) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.list_campaigns(integer, integer, text, text, text, boolean, text) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.list_invitations(p_page integer, p_per_page integer, p_cursor text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  perform app.require_role('owner', 'admin');
  return app.page('invitations', 'created_at', true, app.filters('pending', 'true'), p_page, p_per_page, p_cursor);
end
$function$;
ALTER FUNCTION app.list_invitations(integer, integer, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.list_invitations(integer, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.list_invitations(integer, integer, text) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.list_invitations(integer, integer, text) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.list_items(p_list text, p_scope uuid, p_ids uuid[])
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  -- p_ids in their order; p_scope the value of the list's scope column
  -- (app.list_scope: null matches nothing). Row-level security applies.
  -- Rows go to the helpers as row(x.*)::type: on a Citus worker the table
  -- is a shard, whose row type is its own.
  case p_list
    when 'leads' then
      return (select pg_catalog.jsonb_agg(app.lead_json(row(l.*)::public.leads) order by pg_catalog.array_position(p_ids, l.id))
                from public.leads l where l.organization_id = p_scope and l.id = any (p_ids));
    when 'meetings' then
      return (select pg_catalog.jsonb_agg(app.meeting_json(row(m.*)::public.meetings) order by pg_catalog.array_position(p_ids, m.id))
                from public.meetings m where m.organization_id = p_scope and m.id = any (p_ids));
    when 'campaigns' then
      return (select pg_catalog.jsonb_agg(app.campaign_json(row(c.*)::public.campaigns, c.leads_count) order by pg_catalog.array_position(p_ids, c.id))
                from public.campaigns c where c.organization_id = p_scope and c.id = any (p_ids));
    when 'members' then
      return (select pg_catalog.jsonb_agg(app.member_json(row(u.*)::app.members) order by pg_catalog.array_position(p_ids, u.id))
                from app.members u where u.organization_id = p_scope and u.id = any (p_ids));
    when 'invitations' then
      return (select pg_catalog.jsonb_agg(app.invitation_json(row(i.*)::app.invitation_rows) order by pg_catalog.array_position(p_ids, i.id))
                from app.invitation_rows i where i.organization_id = p_scope and i.id = any (p_ids));
    when 'audit' then
      return (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'id', a.id, 'action', a.action, 'actor_id', a.actor_id,
                       'actor_name', (select u.full_name from public.users u where u.id = a.actor_id),
                       'target_type', a.target_type, 'target_id', a.target_id,
                       'data', a.data, 'created_at', a.created_at) order by pg_catalog.array_position(p_ids, a.id))
                from public.audit_log a where a.organization_id = p_scope and a.id = any (p_ids));
    when 'sessions' then
      return (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'id', x.id, 'created_at', x.created_at, 'last_used_at', x.last_used_at,
                       'expires_at', x.expires_at, 'user_agent', x.user_agent, 'ip', pg_catalog.host(x.ip),
                       'current', x.id = app.current_session_id()) order by pg_catalog.array_position(p_ids, x.id))
                from public.sessions x where x.user_id = p_scope and x.id = any (p_ids));
    else
      raise exception 'list % has no static items', p_list using errcode = '22023';
  end case;
end
$function$;
ALTER FUNCTION app.list_items(text, uuid, uuid[]) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.list_items(text, uuid, uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.list_items(text, uuid, uuid[]) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.list_items(text, uuid, uuid[]) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.list_items(text, uuid, uuid[]) TO vectra_tenant_reader;
COMMENT ON FUNCTION app.list_items(text, uuid, uuid[]) IS 'The items of a page of the lists whose spec says items: static (app.list_spec), in the order of p_ids, read as the caller (row-level security applies) within the list''s scope value p_scope: one static statement per list, so its plan is kept for the connection''s life (a statement built by app.page is planned on every call).';

CREATE OR REPLACE FUNCTION app.list_leads(p_page integer, p_per_page integer, p_status text, p_campaign_id uuid, p_search text, p_sort text, p_desc boolean, p_cursor text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  perform app.any_role();
  perform app.check_sort(p_sort, 'created_at', 'name');
  perform app.check_filter('status', p_status, 'new', 'contacted', 'replied', 'qualified', 'converted', 'lost');
  return app.page('leads', p_sort, p_desc,
                  app.filters('status', p_status, 'campaign_id', p_campaign_id::text, 'search', app.check_search(p_search)),
                  p_page, p_per_page, p_cursor);
end
$function$;
ALTER FUNCTION app.list_leads(integer, integer, text, uuid, text, text, boolean, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.list_leads(integer, integer, text, uuid, text, text, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.list_leads(integer, integer, text, uuid, text, text, boolean, text) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.list_leads(integer, integer, text, uuid, text, text, boolean, text) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.list_meetings(p_page integer, p_per_page integer, p_status text, p_lead_id uuid, p_campaign_id uuid, p_sort text, p_desc boolean, p_cursor text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  perform app.any_role();
  perform app.check_sort(p_sort, 'scheduled_at', 'created_at');
  perform app.check_filter('status', p_status, 'scheduled', 'completed', 'cancelled');
  return app.page('meetings', p_sort, p_desc,
                  app.filters('status', p_status, 'lead_id', p_lead_id::text, 'campaign_id', p_campaign_id::text),
                  p_page, p_per_page, p_cursor);
end
$function$;
ALTER FUNCTION app.list_meetings(integer, integer, text, uuid, uuid, text, boolean, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.list_meetings(integer, integer, text, uuid, uuid, text, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.list_meetings(integer, integer, text, uuid, uuid, text, boolean, text) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.list_meetings(integer, integer, text, uuid, uuid, text, boolean, text) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.list_notifications(p_page integer, p_per_page integer, p_type text, p_cursor text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  perform app.require_role('owner', 'admin');
  perform app.check_notification_type(p_type);
  return app.page('notifications', 'created_at', true, app.filters('type', p_type), p_page, p_per_page, p_cursor);
end
$function$;
ALTER FUNCTION app.list_notifications(integer, integer, text, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.list_notifications(integer, integer, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.list_notifications(integer, integer, text, text) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.list_notifications(integer, integer, text, text) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.list_scope(p_spec jsonb, OUT sql text, OUT id uuid)
 RETURNS record
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v_platform boolean := app.is_platform_admin()
                        and pg_catalog.current_setting('role') = 'vectra_platform_admin';
begin
  case p_spec ->> 'scope'
    when 'organization' then
      id := v_current_org;
    when 'organization_admins' then
      id := case when app.current_user_role() in ('owner', 'admin') then v_current_org end;
    when 'deliveries' then
      if v_platform then
        sql := 'true';
        return;
      end if;
      id := case when app.current_user_role() in ('owner', 'admin') then v_current_org end;
    when 'platform' then
      sql := case when v_platform then 'true' else 'false' end;
      return;
    when 'user' then
      if exists (select from public.sessions x
                  where x.id = app.current_session_id() and x.user_id = app.current_user_id()
                    and x.revoked_at is null and x.expires_at > pg_catalog.now()) then
        id := app.current_user_id();
      end if;
    else
      raise exception 'list scope % unknown', p_spec ->> 'scope';
  end case;
  sql := case when id is null then 'false' else (p_spec ->> 'scope_column') || ' = $1' end;
end
$function$;
ALTER FUNCTION app.list_scope(jsonb) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.list_scope(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.list_scope(jsonb) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.list_scope(jsonb) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.list_scope(jsonb) TO vectra_tenant_reader;
COMMENT ON FUNCTION app.list_scope(jsonb) IS 'A list''s scope for the current request, as a condition on $1 and $1''s value: the rule of its table''s read policies (organization; organization and owner or admin; platform admin; the request''s user), false outside a request.';

CREATE OR REPLACE FUNCTION app.list_spec(p_list text)
 RETURNS jsonb
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  -- A notification with its deliveries counted by status (tenant: scoped by $1).
  v_notification_row text := $$row(n.*)::public.notifications as r, (select pg_catalog.jsonb_build_object(
                   'pending', pg_catalog.count(*) filter (where e.status = 'pending'),
                   'sending', pg_catalog.count(*) filter (where e.status = 'sending'),
                   'sent', pg_catalog.count(*) filter (where e.status = 'sent'),
                   'failed', pg_catalog.count(*) filter (where e.status = 'failed'),
                   'cancelled', pg_catalog.count(*) filter (where e.status = 'cancelled'))
                   from public.email_outbox e where %scope% e.organization_id = n.organization_id and e.notification_id = n.id) as delivery$$;
begin
  -- A CASE statement, not an expression: only the branch taken is built.
  case p_list
    when 'leads' then
      return pg_catalog.jsonb_build_object(
        'from', 'public.leads l', 'id', 'l.id', 'scope', 'organization', 'scope_column', 'l.organization_id',
        'sorts', pg_catalog.jsonb_build_object(
          'created_at', pg_catalog.jsonb_build_array('l.created_at', 'timestamptz'),
          'name', pg_catalog.jsonb_build_array('lower(coalesce(l.full_name, l.email))', 'text')),
        'filters', pg_catalog.jsonb_build_object(
          'status', $$l.status = ($2 ->> 'status')::public.lead_status$$,
          'campaign_id', $$l.campaign_id = ($2 ->> 'campaign_id')::uuid$$,
          'search', $$(l.email ilike app.like_pattern($2 ->> 'search') or l.full_name ilike app.like_pattern($2 ->> 'search')
                       or l.company ilike app.like_pattern($2 ->> 'search'))$$),
        'estimated', pg_catalog.jsonb_build_array('search'),
        'items', 'static');
    when 'meetings' then
      return pg_catalog.jsonb_build_object(
        'from', 'public.meetings m', 'id', 'm.id', 'scope', 'organization', 'scope_column', 'm.organization_id',
        'sorts', pg_catalog.jsonb_build_object(
          'scheduled_at', pg_catalog.jsonb_build_array('m.scheduled_at', 'timestamptz'),
          'created_at', pg_catalog.jsonb_build_array('m.created_at', 'timestamptz')),
        'filters', pg_catalog.jsonb_build_object(
          'status', $$m.status = ($2 ->> 'status')::public.meeting_status$$,
          'lead_id', $$m.lead_id = ($2 ->> 'lead_id')::uuid$$,
          'campaign_id', $$m.lead_id in (select l.id from public.leads l where l.organization_id = $1
                                          and l.campaign_id = ($2 ->> 'campaign_id')::uuid)$$),
        'estimated', pg_catalog.jsonb_build_array('campaign_id'),
        'items', 'static');
    when 'campaigns' then
      return pg_catalog.jsonb_build_object(
        'from', 'public.campaigns c', 'id', 'c.id', 'scope', 'organization', 'scope_column', 'c.organization_id',
        'sorts', pg_catalog.jsonb_build_object(
          'created_at', pg_catalog.jsonb_build_array('c.created_at', 'timestamptz'),
          'name', pg_catalog.jsonb_build_array('lower(c.name)', 'text')),
        'filters', pg_catalog.jsonb_build_object(
          'status', $$c.status = ($2 ->> 'status')::public.campaign_status$$,
          'search', $$c.name ilike app.like_pattern($2 ->> 'search')$$),
        'estimated', pg_catalog.jsonb_build_array('search'),
        'items', 'static');
    when 'members' then
      return pg_catalog.jsonb_build_object(
        'from', 'app.members u', 'id', 'u.id', 'scope', 'organization', 'scope_column', 'u.organization_id',
        'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('u.created_at', 'timestamptz')),
        'filters', pg_catalog.jsonb_build_object(
          'role', $$u.role = ($2 ->> 'role')::public.user_role$$,
          'status', $$u.status = ($2 ->> 'status')::public.user_status$$,
          'present', $$u.status <> 'removed'$$,
          'search', $$(u.full_name ilike app.like_pattern($2 ->> 'search') or u.email ilike app.like_pattern($2 ->> 'search'))$$),
        'estimated', pg_catalog.jsonb_build_array('search'),
        'items', 'static');
    when 'invitations' then
      return pg_catalog.jsonb_build_object(
        'from', 'app.invitation_rows i', 'id', 'i.id', 'scope', 'organization', 'scope_column', 'i.organization_id',
        'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('i.created_at', 'timestamptz')),
        'filters', pg_catalog.jsonb_build_object(
          'pending', 'i.accepted_at is null and i.revoked_at is null and i.expires_at > pg_catalog.now()'),
        'items', 'static');
    when 'audit' then
      return pg_catalog.jsonb_build_object(
        'from', 'public.audit_log a', 'id', 'a.id', 'scope', 'organization_admins', 'scope_column', 'a.organization_id',
        'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('a.created_at', 'timestamptz')),
        'filters', pg_catalog.jsonb_build_object('action', $$a.action = ($2 ->> 'action')$$),
        'items', 'static');
    when 'notifications' then
      return pg_catalog.jsonb_build_object(
        'from', 'public.notifications n', 'id', 'n.id', 'scope', 'organization_admins', 'scope_column', 'n.organization_id',
        'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('n.created_at', 'timestamptz')),
        'filters', pg_catalog.jsonb_build_object('type', $$n.type = ($2 ->> 'type')::public.notification_type$$),
        'row', pg_catalog.replace(v_notification_row, '%scope%', 'e.organization_id = $1 and'), 'item', 'app.notification_json(s.r, s.delivery)');
    when 'all-notifications' then
      return pg_catalog.jsonb_build_object(
        'from', 'public.notifications n', 'id', 'n.id', 'scope', 'platform',
        'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('n.created_at', 'timestamptz')),
        'filters', pg_catalog.jsonb_build_object(
          'type', $$n.type = ($2 ->> 'type')::public.notification_type$$,
          'organization_id', $$(n.organization_id = ($2 ->> 'organization_id')::uuid and n.organization_id <> app.platform_org_id())$$),
        'row', pg_catalog.replace(v_notification_row, '%scope%', ''), 'item', 'app.notification_json(s.r, s.delivery)');
    when 'deliveries' then
      return pg_catalog.jsonb_build_object(
        'from', 'public.email_outbox e', 'id', 'e.id', 'scope', 'deliveries', 'scope_column', 'e.organization_id',
        'sorts', pg_catalog.jsonb_build_object('email', pg_catalog.jsonb_build_array('e.to_email', 'text')),
        'filters', pg_catalog.jsonb_build_object('notification_id', $$e.notification_id = ($2 ->> 'notification_id')::uuid$$),
        'required', pg_catalog.jsonb_build_array('notification_id'),
        'row', 'e.to_email, e.status, e.attempts, e.last_error, e.sent_at',
        'item', $$pg_catalog.jsonb_build_object('email', s.to_email, 'status', s.status, 'attempts', s.attempts,
                    'last_error', s.last_error, 'sent_at', s.sent_at)$$);
    when 'sessions' then
      return pg_catalog.jsonb_build_object(
        'from', 'public.sessions x', 'id', 'x.id', 'scope', 'user', 'scope_column', 'x.user_id',
        'sorts', pg_catalog.jsonb_build_object('last_used_at', pg_catalog.jsonb_build_array('x.last_used_at', 'timestamptz')),
        'filters', pg_catalog.jsonb_build_object(
          'live', 'x.revoked_at is null and x.expires_at > pg_catalog.now()'),
        'items', 'static');
    when 'organizations' then
      return pg_catalog.jsonb_build_object(
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
        'estimated', pg_catalog.jsonb_build_array('search'),
        'row', 'row(o.*)::public.organizations as r', 'item', 'app.admin_organization_json(s.r, (s.r).users_count)');
    when 'users' then
      return pg_catalog.jsonb_build_object(
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
        'estimated', pg_catalog.jsonb_build_array('search'),
        'row', 'row(u.*)::app.members as r, o.id as org_id, o.name as org_name, o.slug as org_slug, o.status as org_status',
        'item', $$app.member_json(s.r) || pg_catalog.jsonb_build_object('role', (s.r).role,
                    'is_platform_admin', (s.r).role = 'platform_admin',
                    'organization', case when s.org_id is null then null else pg_catalog.jsonb_build_object(
                      'id', s.org_id, 'name', s.org_name, 'slug', s.org_slug, 'status', s.org_status) end)$$);
    else
      return null;
  end case;
end
$function$;
ALTER FUNCTION app.list_spec(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.list_spec(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.list_spec(text) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.list_spec(text) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.list_spec(text) TO vectra_tenant_reader;
COMMENT ON FUNCTION app.list_spec(text) IS 'Every list of the API, described once: its rows, its scope (the rule of the tables'' read policies), sort keys, filters (and those no index serves in the list''s order: estimated) and items. app.list_positions and app.page build their queries from it alone.';

CREATE OR REPLACE FUNCTION app.list_users(p_page integer, p_per_page integer, p_role text, p_status text, p_search text, p_cursor text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  perform app.require_role('owner', 'admin', 'manager');
  perform app.check_filter('status', p_status, 'active', 'suspended', 'removed');
  return app.page('members', 'created_at', false,
                  app.filters('role', case when p_role is not null then app.parse_role(p_role, 'role')::text end,
                              'status', p_status,
                              'present', case when p_status is null then 'true' end,
                              'search', nullif(pg_catalog.btrim(p_search), '')),
                  p_page, p_per_page, p_cursor);
end
$function$;
ALTER FUNCTION app.list_users(integer, integer, text, text, text, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.list_users(integer, integer, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.list_users(integer, integer, text, text, text, text) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.list_users(integer, integer, text, text, text, text) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.locked_member(p_user_id uuid)
 RETURNS app.members
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v_target app.members;
begin
  perform 1 from public.users
   where organization_id = v_current_org and role = 'owner' and status = 'active'
   order by id for update;
  perform auth.authorize('owner', 'admin');
  perform 1 from public.users where id = p_user_id and organization_id = v_current_org for update;
  select * into v_target from app.members
   where id = p_user_id and organization_id = v_current_org and status <> 'removed';
  if not found then
    raise exception 'User not found' using errcode = 'VA404';
  end if;
  return v_target;
end
$function$;
ALTER FUNCTION app.locked_member(uuid) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.locked_member(uuid) FROM PUBLIC;

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

CREATE OR REPLACE FUNCTION app.managed_invitation(p_id uuid)
 RETURNS app.invitation_rows
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v_caller text := auth.authorize('owner', 'admin');
  v app.invitation_rows;
begin
  perform 1 from public.invitations where organization_id = v_current_org and id = p_id for update;
  select * into v from app.invitation_rows where organization_id = v_current_org and id = p_id;
  if not found then
    raise exception 'Invitation not found' using errcode = 'VA404';
  end if;
  if app.role_rank(v.role::text) > app.role_rank(v_caller) then
    raise exception 'Only an owner can manage an invitation to the owner role' using errcode = 'VA403';
  end if;
  if v.accepted_at is not null then
    raise exception 'This invitation has already been accepted' using errcode = 'VA409';
  end if;
  if v.revoked_at is not null then
    raise exception 'This invitation has been revoked' using errcode = 'VA409';
  end if;
  return v;
end
$function$;
ALTER FUNCTION app.managed_invitation(uuid) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.managed_invitation(uuid) FROM PUBLIC;

CREATE OR REPLACE FUNCTION app.meeting_json(m public.meetings)
 RETURNS jsonb
 LANGUAGE sql
 STABLE
AS $function$
  select pg_catalog.jsonb_build_object(
    'id', m.id, 'lead_id', m.lead_id, 'scheduled_at', m.scheduled_at, 'status', m.status,
    'created_at', m.created_at, 'updated_at', m.updated_at)
$function$;
ALTER FUNCTION app.meeting_json(public.meetings) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.meeting_json(public.meetings) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.meeting_json(public.meetings) TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.meeting_json(public.meetings) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.meeting_json(public.meetings) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.member_json(u app.members)
 RETURNS jsonb
 LANGUAGE sql
 STABLE
AS $function$
  select pg_catalog.jsonb_build_object(
    'id', u.id, 'email', u.email, 'full_name', u.full_name, 'role', u.role, 'status', u.status,
    'email_verified', u.email_verified_at is not null, 'last_login_at', u.last_login_at,
    'created_at', u.created_at, 'deleted_at', u.deleted_at)
$function$;
ALTER FUNCTION app.member_json(app.members) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.member_json(app.members) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.member_json(app.members) TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.member_json(app.members) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.member_json(app.members) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.member_json(app.members) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.my_organization()
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v public.organizations;
begin
  select * into v from public.organizations where id = v_current_org;
  if not found then
    raise exception 'Organization not found' using errcode = 'VA404';
  end if;
  return app.organization_json(v);
end
$function$;
ALTER FUNCTION app.my_organization() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.my_organization() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.my_organization() TO vectra_member;
GRANT EXECUTE ON FUNCTION app.my_organization() TO vectra_tenant_reader;
COMMENT ON FUNCTION app.my_organization() IS 'The caller''s organization; SECURITY INVOKER, so the organizations policies decide.';

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

CREATE OR REPLACE FUNCTION app.notification_answer(n public.notifications)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select pg_catalog.jsonb_build_object('id', n.id, 'type', n.type, 'recipient_count', n.recipient_count,
                                       'suppressed_count', n.suppressed_count, 'status', 'queued'));
end
$function$;
ALTER FUNCTION app.notification_answer(public.notifications) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.notification_answer(public.notifications) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.notification_answer(public.notifications) TO vectra_definer;

CREATE OR REPLACE FUNCTION app.notification_detail(n public.notifications)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select app.notification_json(n) || pg_catalog.jsonb_build_object(
    'body', n.body, 'body_html', n.body_html, 'action_url', n.action_url, 'action_text', n.action_text));
end
$function$;
ALTER FUNCTION app.notification_detail(public.notifications) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.notification_detail(public.notifications) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.notification_detail(public.notifications) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.notification_detail(public.notifications) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.notification_detail(public.notifications) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.notification_json(n public.notifications)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return app.notification_json(n, (select pg_catalog.jsonb_build_object(
                     'pending', pg_catalog.count(*) filter (where e.status = 'pending'),
                     'sending', pg_catalog.count(*) filter (where e.status = 'sending'),
                     'sent', pg_catalog.count(*) filter (where e.status = 'sent'),
                     'failed', pg_catalog.count(*) filter (where e.status = 'failed'),
                     'cancelled', pg_catalog.count(*) filter (where e.status = 'cancelled'))
                     from public.email_outbox e where e.organization_id = n.organization_id and e.notification_id = n.id));
end
$function$;
ALTER FUNCTION app.notification_json(public.notifications) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.notification_json(public.notifications) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.notification_json(public.notifications) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.notification_json(public.notifications) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.notification_json(public.notifications) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.notification_json(n public.notifications, p_delivery jsonb)
 RETURNS jsonb
 LANGUAGE sql
 STABLE
AS $function$
  select pg_catalog.jsonb_build_object(
    'id', n.id, 'type', n.type,
    'organization_id', case when n.organization_id operator(pg_catalog.=) app.platform_org_id() then null
                            else n.organization_id end,
    'sender_id', n.sender_id,
    'subject', n.subject, 'recipient_count', n.recipient_count, 'suppressed_count', n.suppressed_count,
    'created_at', n.created_at,
    'delivery', p_delivery)
$function$;
ALTER FUNCTION app.notification_json(public.notifications, jsonb) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.notification_json(public.notifications, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.notification_json(public.notifications, jsonb) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.notification_json(public.notifications, jsonb) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.notification_json(public.notifications, jsonb) TO vectra_tenant_reader;
COMMENT ON FUNCTION app.notification_json(public.notifications, jsonb) IS 'A notification as the API shows it (the reserved platform organization as null), with its delivery counts as given.';

CREATE OR REPLACE FUNCTION app.notification_max_recipients()
 RETURNS integer
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select 50000);
end
$function$;
ALTER FUNCTION app.notification_max_recipients() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.notification_max_recipients() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.notification_max_recipients() TO vectra_definer;

CREATE OR REPLACE FUNCTION app.notification_replay(p_key text, p_hash bytea)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  n public.notifications;
  v_org uuid := coalesce(app.current_org_id(), app.platform_org_id());
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
  select * into n from public.notifications
   where organization_id = v_org
     and sender_id = app.current_user_id() and idempotency_key = p_key;
  if not found then
    return null;
  end if;
  if n.created_at <= pg_catalog.now() - interval '24 hours' then
    update public.notifications set idempotency_key = null where organization_id = n.organization_id and id = n.id;
    return null;
  end if;
  if n.request_hash is distinct from p_hash then
    raise exception 'Idempotency-Key: already used for a different request in the last 24 hours'
      using errcode = 'VA422', detail = '{"Idempotency-Key": "already used for a different request in the last 24 hours"}';
  end if;
  return app.notification_answer(n);
end
$function$;
ALTER FUNCTION app.notification_replay(text, bytea) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.notification_replay(text, bytea) FROM PUBLIC;

CREATE OR REPLACE FUNCTION app.one_connection_per_node()
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  if pg_catalog.current_setting('citus.multi_shard_modify_mode', true) is not null then
    perform pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
  end if;
end
$function$;
ALTER FUNCTION app.one_connection_per_node() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.one_connection_per_node() FROM PUBLIC;
COMMENT ON FUNCTION app.one_connection_per_node() IS 'On a Citus coordinator: this transaction''s multi-shard statements use one connection per node (citus.multi_shard_modify_mode), so that it may write a reference table after reading every shard. A no-op on PostgreSQL.';

CREATE OR REPLACE FUNCTION app.organization_json(o public.organizations)
 RETURNS jsonb
 LANGUAGE sql
 STABLE
AS $function$
  select pg_catalog.jsonb_build_object(
    'id', o.id, 'name', o.name, 'slug', o.slug, 'plan', o.plan, 'status', o.status,
    'settings', o.settings, 'created_at', o.created_at, 'updated_at', o.updated_at)
$function$;
ALTER FUNCTION app.organization_json(public.organizations) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.organization_json(public.organizations) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.organization_json(public.organizations) TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.organization_json(public.organizations) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.organization_json(public.organizations) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.organization_json(public.organizations) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.page(p_list text, p_sort text, p_desc boolean, p_filters jsonb, p_page integer, p_per_page integer, p_cursor text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_spec jsonb := app.list_spec(p_list);
  v_depth integer := app.page_depth_cap(coalesce(p_filters, '{}') ? 'search');
  v_fingerprint text := pg_catalog.concat_ws('|', p_list, p_sort, case when p_desc then 'desc' else 'asc' end,
                                             coalesce(p_filters, '{}')::text);
  v_after jsonb;
  v_positions jsonb;
  v_rows jsonb;
  v_ids uuid[];
  v_scope record;
  v_items jsonb;
  v_next text;
begin
  perform app.check_page(p_page, p_per_page);
  if p_cursor is not null then
    if p_page <> 1 then
      raise exception 'page: must be 1 (or left out) with a cursor'
        using errcode = 'VA422', detail = '{"page": "must be 1 (or left out) with a cursor"}';
    end if;
    v_after := app.open_cursor(p_cursor, v_fingerprint);
  elsif (p_page::bigint - 1) * p_per_page >= v_depth then
    raise exception 'page: must stay within the first % rows; follow next_cursor to go further', v_depth
      using errcode = 'VA422', detail = pg_catalog.jsonb_build_object('page', pg_catalog.format(
              'must stay within the first %s rows; follow next_cursor to go further', v_depth))::text;
  end if;
  v_positions := app.list_positions(p_list, p_sort, p_desc, p_filters, v_after -> 'k', p_per_page + 1,
                                    case when v_after is null then (p_page - 1) * p_per_page else 0 end);
  v_rows := v_positions -> 'rows';
  if pg_catalog.jsonb_array_length(v_rows) > p_per_page then
    v_rows := v_rows - p_per_page;
    v_next := app.make_cursor(v_fingerprint, v_rows -> (p_per_page - 1));
  end if;
  select pg_catalog.array_agg((r ->> 1)::uuid) into v_ids from pg_catalog.jsonb_array_elements(v_rows) r;
  -- The rows themselves, as the caller: row-level security decides. A
  -- statement of app.list_items (its plan kept) for most lists, or the
  -- spec's item expression.
  v_scope := app.list_scope(v_spec);
  if v_spec ->> 'items' = 'static' then
    v_items := app.list_items(p_list, v_scope.id, v_ids);
  else
    execute pg_catalog.format(
      'select pg_catalog.jsonb_agg(%1$s order by pg_catalog.array_position($2, s.i))'
      ' from (select %2$s as i, %3$s from %4$s where %5$s and %2$s = any ($2)) s',
      v_spec ->> 'item', v_spec ->> 'id', v_spec ->> 'row', coalesce(v_spec ->> 'fetch', v_spec ->> 'from'),
      v_scope.sql)
      into v_items using v_scope.id, v_ids;
  end if;
  return pg_catalog.jsonb_build_object(
    'items', coalesce(v_items, '[]'), 'page', p_page, 'per_page', p_per_page,
    'total', v_positions -> 'total', 'total_is_estimate', v_positions -> 'total_is_estimate',
    'next_cursor', v_next);
end
$function$;
ALTER FUNCTION app.page(text, text, boolean, jsonb, integer, integer, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.page(text, text, boolean, jsonb, integer, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.page(text, text, boolean, jsonb, integer, integer, text) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.page(text, text, boolean, jsonb, integer, integer, text) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.page(text, text, boolean, jsonb, integer, integer, text) TO vectra_tenant_reader;
COMMENT ON FUNCTION app.page(text, text, boolean, jsonb, integer, integer, text) IS 'One page of a list (app.list_spec): page within the first app.exact_count_cap() rows, or the cursor of the previous page (signed, bound to the list, sort, order and filters); positions from app.list_positions, rows read as the caller (row-level security applies), the next page''s cursor, the total (exact up to the cap, estimated beyond: total_is_estimate).';

CREATE OR REPLACE FUNCTION app.page_depth_cap(p_search boolean)
 RETURNS integer
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$ select case when p_search then app.exact_count_cap() else 10000 end $function$;
ALTER FUNCTION app.page_depth_cap(boolean) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.page_depth_cap(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.page_depth_cap(boolean) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.page_depth_cap(boolean) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.page_depth_cap(boolean) TO vectra_tenant_reader;
COMMENT ON FUNCTION app.page_depth_cap(boolean) IS 'How many rows `page` reaches (page - 1) * per_page < cap: 10,000 in a list, 1,000 in a search (whose offsets cost the rows the search skips); next_cursor goes further, at the cost of a page.';

CREATE OR REPLACE FUNCTION app.parse_role(p_role text, p_field text)
 RETURNS public.user_role
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  if p_role = 'platform_admin' then
    raise exception '%: platform_admin is never granted in an organization', p_field
      using errcode = 'VA422',
            detail = pg_catalog.jsonb_build_object(p_field, 'platform_admin is never granted in an organization')::text;
  end if;
  if app.role_rank(p_role) is null then
    raise exception '%: must be one of owner, admin, manager, member', p_field
      using errcode = 'VA422',
            detail = pg_catalog.jsonb_build_object(p_field, 'must be one of owner, admin, manager, member')::text;
  end if;
  return p_role::public.user_role;
end
$function$;
ALTER FUNCTION app.parse_role(text, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.parse_role(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.parse_role(text, text) TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.parse_role(text, text) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.parse_role(text, text) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.platform_org_id()
 RETURNS uuid
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$ select '00000000-0000-0000-0000-000000000000'::uuid $function$;
ALTER FUNCTION app.platform_org_id() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.platform_org_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.platform_org_id() TO vectra_anon;
GRANT EXECUTE ON FUNCTION app.platform_org_id() TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.platform_org_id() TO vectra_member;
GRANT EXECUTE ON FUNCTION app.platform_org_id() TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.platform_org_id() TO vectra_tenant_reader;
GRANT EXECUTE ON FUNCTION app.platform_org_id() TO vectra_worker;
COMMENT ON FUNCTION app.platform_org_id() IS 'The reserved organization id under which notifications, email_outbox and audit_log keep platform-wide rows (no organization). No organization can take it (organizations_id_not_platform), so no user belongs to it, and app.current_org_id() never returns it: no member or reader policy matches these rows. The API shows it as null.';

CREATE OR REPLACE FUNCTION app.queue_invitation_email(p_invitation app.invitation_rows, p_token text)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
declare
  v_context jsonb;
begin
  select pg_catalog.jsonb_build_object(
           'token', p_token,
           'organization_name', o.name,
           'inviter_name', coalesce((select full_name from public.users where id = app.current_user_id()), 'Vectra'),
           'role', p_invitation.role,
           'expires_at', pg_catalog.to_char(p_invitation.expires_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'))
    into v_context
    from public.organizations o
   where o.id = p_invitation.organization_id;
  if found then
    insert into public.email_outbox (organization_id, to_email, template, context)
    values (p_invitation.organization_id, p_invitation.email, 'invite-user', v_context);
  end if;
end
$function$;
ALTER FUNCTION app.queue_invitation_email(app.invitation_rows, text) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.queue_invitation_email(app.invitation_rows, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION app.queue_notification(p_org uuid, p jsonb, p_recipients text[], p_suppressed integer, p_key text, p_hash bytea, p_unsubscribe text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  n public.notifications;
  v_recipient text;
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
  foreach v_recipient in array coalesce(v_to, '{}') loop
    insert into public.email_outbox (organization_id, notification_id, to_email, template, context)
    values (v_org, n.id, v_recipient, 'notification',
            case when p_unsubscribe is null then '{}'::jsonb
                 else pg_catalog.jsonb_build_object('unsubscribe_token', auth.unsubscribe_token(p_unsubscribe, p_org, v_recipient)) end);
  end loop;
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data, created_at)
  values (v_org, app.current_user_id(), 'notification.send', 'notification', n.id,
          pg_catalog.jsonb_build_object('type', n.type, 'recipients', v_count, 'suppressed', p_suppressed,
                                        'skipped_invalid', coalesce(pg_catalog.cardinality(p_recipients), 0) - v_count),
          pg_catalog.clock_timestamp());
  return app.notification_answer(n);
end
$function$;
ALTER FUNCTION app.queue_notification(uuid, jsonb, text[], integer, text, bytea, text) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.queue_notification(uuid, jsonb, text[], integer, text, bytea, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION app.require_campaign(p_id uuid, p_field text)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
begin
  if p_id is not null and not exists (
       select 1 from public.campaigns where organization_id = v_current_org and id = p_id) then
    raise exception '%: no such campaign in this organization', p_field
      using errcode = 'VA422',
            detail = pg_catalog.jsonb_build_object(p_field, 'no such campaign in this organization')::text;
  end if;
end
$function$;
ALTER FUNCTION app.require_campaign(uuid, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.require_campaign(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.require_campaign(uuid, text) TO vectra_definer;

CREATE OR REPLACE FUNCTION app.require_platform_admin()
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  if not app.is_platform_admin() then
    raise exception 'Platform admin access required' using errcode = 'VA403';
  end if;
end
$function$;
ALTER FUNCTION app.require_platform_admin() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.require_platform_admin() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.require_platform_admin() TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.require_platform_admin() TO vectra_platform_admin;

CREATE OR REPLACE FUNCTION app.require_role(VARIADIC p_allowed text[])
 RETURNS text
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v_role text := app.current_user_role();
begin
  if v_current_org is null or v_role is null then
    raise exception 'Organization user access required' using errcode = 'VA403';
  end if;
  if not (v_role = any (p_allowed)) then
    raise exception 'This action requires one of the roles: %', pg_catalog.array_to_string(p_allowed, ', ')
      using errcode = 'VA403';
  end if;
  return v_role;
end
$function$;
ALTER FUNCTION app.require_role(text[]) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.require_role(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.require_role(text[]) TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.require_role(text[]) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.require_role(text[]) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.require_verified_email()
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
begin
  if not exists (select 1 from public.users
                  where id = app.current_user_id() and organization_id = v_current_org
                    and email_verified_at is not null) then
    raise exception 'Verify your email address before inviting anyone'
      using errcode = 'VA403',
            hint = 'Follow the link in the verification email, or ask for a new one with POST /api/v1/auth/send-verification-email.';
  end if;
end
$function$;
ALTER FUNCTION app.require_verified_email() OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.require_verified_email() FROM PUBLIC;

CREATE OR REPLACE FUNCTION app.role_rank(p_role text)
 RETURNS integer
 LANGUAGE sql
 IMMUTABLE
AS $function$
  select case p_role when 'owner' then 4 when 'admin' then 3 when 'manager' then 2 when 'member' then 1 end
$function$;
ALTER FUNCTION app.role_rank(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.role_rank(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.role_rank(text) TO vectra_definer;
GRANT EXECUTE ON FUNCTION app.role_rank(text) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.role_rank(text) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.role_rank(text) TO vectra_tenant_reader;

CREATE OR REPLACE FUNCTION app.some_of(p text[])
 RETURNS text
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  if pg_catalog.cardinality(p) <= 20 then
    return pg_catalog.array_to_string(p, ', ');
  end if;
  return pg_catalog.array_to_string(p[1:20], ', ') || pg_catalog.format(' and %s more', pg_catalog.cardinality(p) - 20);
end
$function$;
ALTER FUNCTION app.some_of(text[]) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.some_of(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.some_of(text[]) TO vectra_definer;
COMMENT ON FUNCTION app.some_of(text[]) IS 'The first twenty items of a list and how many more, for an error message.';

CREATE OR REPLACE FUNCTION app.status_transition_allowed(p_table text, p_from text, p_to text)
 RETURNS boolean
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select p_from = p_to or exists (
    select 1 from (values
      ('leads', 'new', 'contacted'), ('leads', 'contacted', 'replied'),
      ('leads', 'replied', 'qualified'), ('leads', 'qualified', 'converted'),
      ('leads', 'new', 'lost'), ('leads', 'contacted', 'lost'), ('leads', 'replied', 'lost'),
      ('leads', 'qualified', 'lost'), ('leads', 'converted', 'lost'),
      ('meetings', 'scheduled', 'completed'), ('meetings', 'scheduled', 'cancelled'),
      ('campaigns', 'draft', 'active'), ('campaigns', 'active', 'paused'),
      ('campaigns', 'paused', 'active'), ('campaigns', 'active', 'completed'),
      ('campaigns', 'paused', 'completed')
    ) t (tbl, from_status, to_status)
    where tbl = p_table and from_status = p_from and to_status = p_to));
end
$function$;
ALTER FUNCTION app.status_transition_allowed(text, text, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.status_transition_allowed(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.status_transition_allowed(text, text, text) TO vectra_definer;
COMMENT ON FUNCTION app.status_transition_allowed(text, text, text) IS 'The status machine of leads, meetings and campaigns (docs/api.md, Prospecting).';

CREATE OR REPLACE FUNCTION app.touch_updated_at()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  new.updated_at := pg_catalog.now();
  return new;
end
$function$;
ALTER FUNCTION app.touch_updated_at() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.touch_updated_at() FROM PUBLIC;
