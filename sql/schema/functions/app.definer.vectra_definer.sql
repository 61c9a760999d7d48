-- SECURITY DEFINER functions of schema app owned by vectra_definer: they run with vectra_definer's privileges, under its policies.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE OR REPLACE FUNCTION app.admin_create_organization(p jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v public.organizations;
  v_errors jsonb := '{}';
  v_key text;
  v_result jsonb;
begin
  perform auth.authorize_platform_admin();
  if p is null or pg_catalog.jsonb_typeof(p) <> 'object' then
    raise exception 'The body must be a JSON object' using errcode = 'VA422', detail = '{"body": "must be an object"}';
  end if;
  if pg_catalog.jsonb_typeof(p -> 'name') is distinct from 'string' then
    v_errors := v_errors || '{"name": "is required"}';
  elsif app.display_name_error(p ->> 'name') is not null then
    v_errors := v_errors || pg_catalog.jsonb_build_object('name', app.display_name_error(p ->> 'name'));
  end if;
  if p ? 'plan' and coalesce(p ->> 'plan', '') <> all (array['free', 'starter', 'pro', 'enterprise']) then
    v_errors := v_errors || '{"plan": "must be one of free, starter, pro, enterprise"}';
  end if;
  if p ? 'settings' and (pg_catalog.jsonb_typeof(p -> 'settings') <> 'object'
                         or pg_catalog.pg_column_size(p -> 'settings') > 16384) then
    v_errors := v_errors || '{"settings": "must be a JSON object of at most 16 KiB"}';
  end if;
  if p ? 'owner_email' and pg_catalog.jsonb_typeof(p -> 'owner_email') not in ('string', 'null') then
    v_errors := v_errors || '{"owner_email": "must be a string"}';
  end if;
  for v_key in select pg_catalog.jsonb_object_keys(p) loop
    if v_key not in ('name', 'plan', 'settings', 'owner_email') then
      v_errors := v_errors || pg_catalog.jsonb_build_object(v_key, 'is not a field of an organization (name, plan, settings, owner_email)');
    end if;
  end loop;
  if v_errors <> '{}' then
    raise exception 'The request has invalid fields' using errcode = 'VA422', detail = v_errors::text;
  end if;
  insert into public.organizations (name, slug, plan, settings)
  values (pg_catalog.btrim(p ->> 'name'), auth.unique_slug(p ->> 'name'),
          coalesce(p ->> 'plan', 'free')::public.org_plan, coalesce(p -> 'settings', '{}'))
  returning * into v;
  v_result := app.admin_organization_json(v, 0);
  if pg_catalog.jsonb_typeof(p -> 'owner_email') = 'string' and pg_catalog.btrim(p ->> 'owner_email') <> '' then
    v_result := v_result || pg_catalog.jsonb_build_object('owner_invitation',
                  app.admin_create_invitation(v.id, p ->> 'owner_email', 'owner'));
  end if;
  perform app.admin_audit(v.id, 'organization.create', 'organization', v.id,
                          pg_catalog.jsonb_build_object('name', v.name, 'slug', v.slug, 'plan', v.plan));
  return v_result;
end
$function$;
ALTER FUNCTION app.admin_create_organization(jsonb) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.admin_create_organization(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.admin_create_organization(jsonb) TO vectra_platform_admin;

CREATE OR REPLACE FUNCTION app.admin_delete_organization(p_org uuid, p_hard boolean)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v public.organizations;
begin
  perform auth.authorize_platform_admin();
  if p_hard is not true then
    select * into v from public.organizations where id = p_org for update;
    if not found then
      raise exception 'Organization not found' using errcode = 'VA404';
    end if;
    if v.status <> 'deleted' then
      update public.organizations set status = 'deleted', deleted_at = pg_catalog.now() where id = p_org;
      perform app.admin_audit(p_org, 'organization.delete', 'organization', p_org,
                              pg_catalog.jsonb_build_object('name', v.name, 'from', v.status));
    end if;
    return pg_catalog.jsonb_build_object('id', p_org, 'status', 'deleted', 'erased', false);
  end if;
  return auth.console_erase_organization(p_org);
end
$function$;
ALTER FUNCTION app.admin_delete_organization(uuid, boolean) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.admin_delete_organization(uuid, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.admin_delete_organization(uuid, boolean) TO vectra_platform_admin;

CREATE OR REPLACE FUNCTION app.admin_invite(p_org uuid, p_email text, p_role text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_role public.user_role := app.parse_role(p_role, 'role');
  v_status public.org_status;
begin
  perform auth.authorize_platform_admin();
  select status into v_status from public.organizations where id = p_org for update;
  if not found then
    raise exception 'Organization not found' using errcode = 'VA404';
  end if;
  if v_status <> 'active' then
    raise exception 'The organization is %; reactivate it first', v_status using errcode = 'VA409';
  end if;
  return app.admin_create_invitation(p_org, p_email, v_role);
end
$function$;
ALTER FUNCTION app.admin_invite(uuid, text, text) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.admin_invite(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.admin_invite(uuid, text, text) TO vectra_platform_admin;

CREATE OR REPLACE FUNCTION app.admin_send_notification(p jsonb, p_key text)
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
$function$;
ALTER FUNCTION app.admin_send_notification(jsonb, text) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.admin_send_notification(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.admin_send_notification(jsonb, text) TO vectra_platform_admin;

CREATE OR REPLACE FUNCTION app.admin_update_organization(p_org uuid, p jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_owner record;
  v_before public.organizations;
  v_after public.organizations;
  v_errors jsonb := '{}';
  v_key text;
  v_changed jsonb := '{}';
  v_notice text[] := '{}';
  v_plan public.org_plan;
  v_status public.org_status;
begin
  perform auth.authorize_platform_admin();
  if p is null or pg_catalog.jsonb_typeof(p) <> 'object' then
    raise exception 'The body must be a JSON object' using errcode = 'VA422', detail = '{"body": "must be an object"}';
  end if;
  for v_key in select pg_catalog.jsonb_object_keys(p) loop
    if v_key not in ('name', 'plan', 'settings', 'status') then
      v_errors := v_errors || pg_catalog.jsonb_build_object(v_key, 'is not an editable field (name, plan, settings, status)');
    end if;
  end loop;
  if p ? 'name' and (pg_catalog.jsonb_typeof(p -> 'name') <> 'string' or app.display_name_error(p ->> 'name') is not null) then
    v_errors := v_errors || pg_catalog.jsonb_build_object('name', coalesce(app.display_name_error(p ->> 'name'), 'must be a string'));
  end if;
  if p ? 'plan' and coalesce(p ->> 'plan', '') <> all (array['free', 'starter', 'pro', 'enterprise']) then
    v_errors := v_errors || '{"plan": "must be one of free, starter, pro, enterprise"}';
  end if;
  if p ? 'settings' and (pg_catalog.jsonb_typeof(p -> 'settings') <> 'object'
                         or pg_catalog.pg_column_size(p -> 'settings') > 16384) then
    v_errors := v_errors || '{"settings": "must be a JSON object of at most 16 KiB"}';
  end if;
  if p ? 'status' and coalesce(p ->> 'status', '') <> all (array['active', 'suspended']) then
    v_errors := v_errors || '{"status": "must be active or suspended (DELETE deletes)"}';
  end if;
  if v_errors <> '{}' then
    raise exception 'The request has invalid fields' using errcode = 'VA422', detail = v_errors::text;
  end if;
  if not (p ?| array['name', 'plan', 'settings', 'status']) then
    raise exception 'Nothing to change: send name, plan, settings and/or status'
      using errcode = 'VA422', detail = '{"body": "send name, plan, settings and/or status"}';
  end if;
  select * into v_before from public.organizations where id = p_org for update;
  if not found then
    raise exception 'Organization not found' using errcode = 'VA404';
  end if;
  v_plan := (p ->> 'plan')::public.org_plan;
  v_status := (p ->> 'status')::public.org_status;
  update public.organizations
     set name = coalesce(pg_catalog.btrim(p ->> 'name'), name),
         plan = coalesce(v_plan, plan),
         settings = coalesce(p -> 'settings', settings),
         status = coalesce(v_status, status),
         deleted_at = case when p ? 'status' then null else deleted_at end
   where id = p_org
  returning * into v_after;
  foreach v_key in array array['name', 'plan', 'settings', 'status'] loop
    if (pg_catalog.to_jsonb(v_before) -> v_key) is distinct from (pg_catalog.to_jsonb(v_after) -> v_key) then
      v_changed := v_changed || pg_catalog.jsonb_build_object(v_key, pg_catalog.jsonb_build_object(
                     'from', pg_catalog.to_jsonb(v_before) -> v_key, 'to', pg_catalog.to_jsonb(v_after) -> v_key));
      if v_key in ('plan', 'status') then
        v_notice := v_notice || pg_catalog.format('%s: %s → %s', v_key,
                      pg_catalog.to_jsonb(v_before) ->> v_key, pg_catalog.to_jsonb(v_after) ->> v_key);
      end if;
    end if;
  end loop;
  if v_changed <> '{}' then
    perform app.admin_audit(p_org, 'organization.update', 'organization', p_org, v_changed);
  end if;
  if pg_catalog.cardinality(v_notice) > 0 then
    for v_owner in
      select u.email, pg_catalog.jsonb_build_object(
               'name', u.full_name, 'organization_name', v_after.name, 'actor_name', 'The Vectra team',
               'changes', (select pg_catalog.jsonb_agg(k order by k) from pg_catalog.jsonb_object_keys(v_changed) k),
               'details', pg_catalog.to_jsonb(v_notice)) as context
        from public.users u
       where u.organization_id = p_org and u.role = 'owner' and u.status = 'active'
    loop
      insert into public.email_outbox (organization_id, to_email, template, context)
      values (p_org, v_owner.email, 'organization-update', v_owner.context);
    end loop;
  end if;
  return app.admin_get_organization(p_org);
end
$function$;
ALTER FUNCTION app.admin_update_organization(uuid, jsonb) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.admin_update_organization(uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.admin_update_organization(uuid, jsonb) TO vectra_platform_admin;

CREATE OR REPLACE FUNCTION app.admin_update_user(p_user uuid, p jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v app.members;
  v_status text := p ->> 'status';
  v_revoked integer := 0;
begin
  perform auth.authorize_platform_admin();
  if p is null or pg_catalog.jsonb_typeof(p) <> 'object' or coalesce(v_status, '') <> all (array['active', 'suspended'])
     or (select pg_catalog.count(*) from pg_catalog.jsonb_object_keys(p)) <> 1 then
    raise exception 'status: must be active or suspended'
      using errcode = 'VA422', detail = '{"status": "must be active or suspended"}';
  end if;
  select * into v from app.members where id = p_user;
  if not found then
    raise exception 'User not found' using errcode = 'VA404';
  end if;
  -- Platform admins are the operator's to manage (vectra create-platform-admin,
  -- SQL as the owner): no platform admin suspends another, so none can lock
  -- the others out, alone or in a race.
  if v.role = 'platform_admin' then
    raise exception 'Platform admins are managed by the operator, not from the console' using errcode = 'VA409';
  end if;
  -- Every active owner of the organization, in id order, as the member
  -- functions lock them (app.locked_member): two suspensions at once cannot
  -- each leave the other as the last owner.
  perform 1 from public.users
   where organization_id = v.organization_id and role = 'owner' and status = 'active'
   order by id for update;
  perform 1 from public.users where id = p_user for update;
  select * into v from app.members where id = p_user;
  if v.status = 'removed' then
    raise exception 'This user was removed from the organization; invite them again instead' using errcode = 'VA409';
  end if;
  if v_status = 'suspended' and v.role = 'owner' and v.status = 'active' and not exists (
       select 1 from public.users where organization_id = v.organization_id and role = 'owner'
                                    and status = 'active' and id <> v.id) then
    raise exception 'The organization must keep at least one active owner; suspend the organization instead'
      using errcode = 'VA409';
  end if;
  if v.status::text <> v_status then
    update public.users set status = v_status::public.user_status where id = p_user;
    perform auth.count_users(v.organization_id);
    if v_status = 'suspended' then
      v_revoked := auth.admin_revoke_sessions(p_user, 'suspended by the platform admin');
    end if;
    perform app.admin_audit(v.organization_id, case when v_status = 'suspended' then 'user.suspend' else 'user.reactivate' end,
                            'user', p_user, pg_catalog.jsonb_build_object('email', v.email, 'sessions_revoked', v_revoked));
  end if;
  select * into v from app.members where id = p_user;
  return app.member_json(v) || pg_catalog.jsonb_build_object('role', v.role, 'sessions_revoked', v_revoked);
end
$function$;
ALTER FUNCTION app.admin_update_user(uuid, jsonb) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.admin_update_user(uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.admin_update_user(uuid, jsonb) TO vectra_platform_admin;

CREATE OR REPLACE FUNCTION app.authorize(VARIADIC p_allowed text[])
 RETURNS void
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  if 'platform_admin' = any (p_allowed) and app.current_user_role() = 'platform_admin' then
    perform auth.authorize_platform_admin();
  else
    perform auth.authorize(variadic p_allowed);
  end if;
end
$function$;
ALTER FUNCTION app.authorize(text[]) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.authorize(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.authorize(text[]) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.authorize(text[]) TO vectra_platform_admin;
COMMENT ON FUNCTION app.authorize(text[]) IS 'Whether the caller may do what needs one of these roles (platform_admin included): the service asks before expensive work on client input. Raises what auth.authorize (or auth.authorize_platform_admin) raises; changes nothing.';

CREATE OR REPLACE FUNCTION app.change_user_role(p_user_id uuid, p_role text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v_caller text := auth.authorize('owner', 'admin');
  v_new public.user_role := app.parse_role(p_role, 'role');
  v_target app.members;
begin
  if app.role_rank(v_new::text) > app.role_rank(v_caller) then
    raise exception 'You cannot grant a role above your own' using errcode = 'VA403';
  end if;
  v_target := app.locked_member(p_user_id);
  if v_target.role = 'owner' and v_caller <> 'owner' then
    raise exception 'Only an owner can change an owner''s role' using errcode = 'VA403';
  end if;
  if v_target.role = v_new then
    return app.member_json(v_target);
  end if;
  perform app.assert_keeps_an_owner(v_target);
  update public.users set role = v_new where id = v_target.id and organization_id = v_current_org;
  perform app.audit('user.role_change', 'user', v_target.id,
                    pg_catalog.jsonb_build_object('email', v_target.email, 'from', v_target.role, 'to', v_new));
  v_target.role := v_new;
  return app.member_json(v_target);
end
$function$;
ALTER FUNCTION app.change_user_role(uuid, text) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.change_user_role(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.change_user_role(uuid, text) TO vectra_member;

CREATE OR REPLACE FUNCTION app.create_campaign(p_campaign jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v public.campaigns;
begin
  perform auth.authorize('owner', 'admin', 'manager');
  insert into public.campaigns (organization_id, name, status)
  values (v_current_org, pg_catalog.btrim(p_campaign ->> 'name'),
          coalesce(p_campaign ->> 'status', 'draft')::public.campaign_status)
  returning * into v;
  return app.campaign_json(v, 0);
end
$function$;
ALTER FUNCTION app.create_campaign(jsonb) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.create_campaign(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.create_campaign(jsonb) TO vectra_member;

CREATE OR REPLACE FUNCTION app.create_lead(p_lead jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
begin
  perform auth.authorize('owner', 'admin', 'manager');
  perform app.require_campaign((p_lead ->> 'campaign_id')::uuid, 'campaign_id');
  if exists (select 1 from public.leads
              where organization_id = v_current_org
                and pg_catalog.lower(email) = pg_catalog.lower(pg_catalog.btrim(p_lead ->> 'email'))) then
    raise exception 'A lead with this email already exists' using errcode = 'VA409';
  end if;
  return app.insert_leads(pg_catalog.jsonb_build_array(p_lead)) -> 0;
end
$function$;
ALTER FUNCTION app.create_lead(jsonb) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.create_lead(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.create_lead(jsonb) TO vectra_member;

CREATE OR REPLACE FUNCTION app.create_meeting(p_meeting jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v public.meetings;
  v_lead uuid := (p_meeting ->> 'lead_id')::uuid;
begin
  perform auth.authorize('owner', 'admin', 'manager');
  if not exists (select 1 from public.leads where organization_id = v_current_org and id = v_lead) then
    raise exception 'lead_id: no such lead in this organization'
      using errcode = 'VA422', detail = '{"lead_id": "no such lead in this organization"}';
  end if;
  insert into public.meetings (organization_id, lead_id, scheduled_at, status)
  values (v_current_org, v_lead, (p_meeting ->> 'scheduled_at')::timestamptz,
          coalesce(p_meeting ->> 'status', 'scheduled')::public.meeting_status)
  returning * into v;
  return app.meeting_json(v);
end
$function$;
ALTER FUNCTION app.create_meeting(jsonb) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.create_meeting(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.create_meeting(jsonb) TO vectra_member;

CREATE OR REPLACE FUNCTION app.delete_campaign(p_id uuid)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
begin
  perform auth.authorize('owner', 'admin');
  update public.leads set campaign_id = null
   where organization_id = v_current_org and campaign_id = p_id;
  delete from public.campaigns where organization_id = v_current_org and id = p_id;
  if not found then
    raise exception 'Campaign not found' using errcode = 'VA404';
  end if;
end
$function$;
ALTER FUNCTION app.delete_campaign(uuid) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.delete_campaign(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.delete_campaign(uuid) TO vectra_member;

CREATE OR REPLACE FUNCTION app.delete_lead(p_id uuid)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
begin
  perform auth.authorize('owner', 'admin');
  delete from public.leads where organization_id = v_current_org and id = p_id;
  if not found then
    raise exception 'Lead not found' using errcode = 'VA404';
  end if;
end
$function$;
ALTER FUNCTION app.delete_lead(uuid) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.delete_lead(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.delete_lead(uuid) TO vectra_member;

CREATE OR REPLACE FUNCTION app.delete_meeting(p_id uuid)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
begin
  perform auth.authorize('owner', 'admin');
  delete from public.meetings where organization_id = v_current_org and id = p_id;
  if not found then
    raise exception 'Meeting not found' using errcode = 'VA404';
  end if;
end
$function$;
ALTER FUNCTION app.delete_meeting(uuid) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.delete_meeting(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.delete_meeting(uuid) TO vectra_member;

CREATE OR REPLACE FUNCTION app.insert_leads(p_leads jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v_errors jsonb;
  v_count integer;
  v_created jsonb;
  v_row jsonb;
  v_lead public.leads;
  v_rows public.leads[] := '{}';
begin
  perform auth.authorize('owner', 'admin', 'manager');
  if p_leads is null or pg_catalog.jsonb_typeof(p_leads) <> 'array' then
    raise exception 'The body must be a JSON array of leads' using errcode = 'VA422', detail = '{"body": "must be an array"}';
  end if;
  v_count := pg_catalog.jsonb_array_length(p_leads);
  if v_count = 0 or v_count > 5000 then
    raise exception 'body: must hold 1 to 5000 leads' using errcode = 'VA422', detail = '{"body": "must hold 1 to 5000 leads"}';
  end if;
  with input as (
    select r.ordinality::integer as row_no, pg_catalog.lower(pg_catalog.btrim(r.value ->> 'email')) as email,
           (r.value ->> 'campaign_id')::uuid as campaign_id
      from pg_catalog.jsonb_array_elements(p_leads) with ordinality r (value, ordinality)
  ), problems as (
    select i.row_no, 'email' as field,
           'appears in an earlier row (' || pg_catalog.min(e.row_no) || ')' as message
      from input i join input e on e.email = i.email and e.row_no < i.row_no
     group by i.row_no
    union all
    select i.row_no, 'email', 'a lead with this email already exists'
      from input i
     where exists (select 1 from public.leads l
                    where l.organization_id = v_current_org and pg_catalog.lower(l.email) = i.email)
    union all
    select i.row_no, 'campaign_id', 'no such campaign in this organization'
      from input i
     where i.campaign_id is not null
       and not exists (select 1 from public.campaigns c
                        where c.organization_id = v_current_org and c.id = i.campaign_id)
  )
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('row', row_no, 'field', field, 'message', message)
                              order by row_no, field)
    into v_errors
    from (select * from problems order by row_no, field limit 100) p;
  if v_errors is not null then
    raise exception 'The import has invalid rows; nothing was imported'
      using errcode = 'VA422', detail = pg_catalog.jsonb_build_object('errors', v_errors)::text;
  end if;
  for v_row in select r.value from pg_catalog.jsonb_array_elements(p_leads) with ordinality r (value, ordinality)
                order by r.ordinality loop
    insert into public.leads (organization_id, campaign_id, email, full_name, company, status)
    values (v_current_org, (v_row ->> 'campaign_id')::uuid,
            pg_catalog.lower(pg_catalog.btrim(v_row ->> 'email')),
            nullif(pg_catalog.btrim(v_row ->> 'full_name'), ''), nullif(pg_catalog.btrim(v_row ->> 'company'), ''),
            coalesce(v_row ->> 'status', 'new')::public.lead_status)
    returning * into v_lead;
    v_rows := v_rows || v_lead;
  end loop;
  select pg_catalog.jsonb_agg(app.lead_json(c) order by c.created_at, c.id) into v_created
    from pg_catalog.unnest(v_rows) c;
  return v_created;
end
$function$;
ALTER FUNCTION app.insert_leads(jsonb) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.insert_leads(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.insert_leads(jsonb) TO vectra_member;

CREATE OR REPLACE FUNCTION app.invite_user(p_email text, p_role text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v_caller text := auth.authorize('owner', 'admin');
  v_role public.user_role := app.parse_role(p_role, 'role');
  v_email text := pg_catalog.lower(pg_catalog.btrim(p_email));
  v_pending app.invitation_rows;
  v_token text := app.new_token();
  v_inv app.invitation_rows;
  v_id uuid;
begin
  if app.role_rank(v_role::text) > app.role_rank(v_caller) then
    raise exception 'You cannot invite someone with a role above your own' using errcode = 'VA403';
  end if;
  perform app.require_verified_email();
  if v_email is null or pg_catalog.length(v_email) not between 3 and 254 or pg_catalog.strpos(v_email, '@') < 2 then
    raise exception 'email: must be an email address'
      using errcode = 'VA422', detail = '{"email": "must be an email address"}';
  end if;
  if exists (select 1 from public.users
              where organization_id = v_current_org and pg_catalog.lower(email) = v_email) then
    raise exception 'This person already has an account in the organization' using errcode = 'VA409';
  end if;
  perform 1 from public.invitations
   where organization_id = v_current_org and email = v_email
     and accepted_at is null and revoked_at is null
  for update;
  select * into v_pending from app.invitation_rows
   where organization_id = v_current_org and email = v_email
     and accepted_at is null and revoked_at is null;
  if found then
    if v_pending.expires_at > pg_catalog.now() then
      raise exception 'A pending invitation for this email already exists; resend it instead'
        using errcode = 'VA409',
              hint = 'POST /api/v1/user/organizations/me/invitations/' || v_pending.id || '/resend';
    end if;
    -- An expired one makes way for the new one.
    update public.invitations set revoked_at = pg_catalog.now()
     where organization_id = v_pending.organization_id and id = v_pending.id;
  end if;
  perform auth.check_invitation_limits(v_current_org, app.current_user_id(), v_email);
  insert into public.invitations (organization_id, email, role, token_hash, invited_by, expires_at)
  values (v_current_org, v_email, v_role, app.hash_token(v_token), app.current_user_id(),
          pg_catalog.now() + (auth.current_settings()).invitation_ttl)
  returning id into v_id;
  select * into v_inv from app.invitation_rows where organization_id = v_current_org and id = v_id;
  perform app.queue_invitation_email(v_inv, v_token);
  perform app.audit('invitation.create', 'invitation', v_inv.id,
                    pg_catalog.jsonb_build_object('email', v_inv.email, 'role', v_inv.role));
  return app.invitation_json(v_inv);
end
$function$;
ALTER FUNCTION app.invite_user(text, text) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.invite_user(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.invite_user(text, text) TO vectra_member;

CREATE OR REPLACE FUNCTION app.remove_user(p_user_id uuid)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v_caller text := auth.authorize('owner', 'admin');
  v_target app.members;
  v_revoked integer;
begin
  v_target := app.locked_member(p_user_id);
  if v_target.role = 'owner' and v_caller <> 'owner' then
    raise exception 'Only an owner can remove an owner' using errcode = 'VA403';
  end if;
  perform app.assert_keeps_an_owner(v_target);
  update public.users set status = 'removed', deleted_at = pg_catalog.now()
   where id = v_target.id and organization_id = v_current_org;
  perform auth.count_users(v_current_org);
  v_revoked := auth.revoke_member_sessions(v_target.id, 'removed from the organization');
  perform app.audit('user.remove', 'user', v_target.id,
                    pg_catalog.jsonb_build_object('email', v_target.email, 'role', v_target.role,
                                                  'sessions_revoked', v_revoked));
end
$function$;
ALTER FUNCTION app.remove_user(uuid) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.remove_user(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.remove_user(uuid) TO vectra_member;

CREATE OR REPLACE FUNCTION app.resend_invitation(p_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v app.invitation_rows := app.managed_invitation(p_id);
  v_token text := app.new_token();
begin
  perform app.require_verified_email();
  perform auth.check_invitation_limits(v.organization_id, app.current_user_id(), v.email);
  update public.invitations
     set token_hash = app.hash_token(v_token), expires_at = pg_catalog.now() + (auth.current_settings()).invitation_ttl
   where organization_id = v.organization_id and id = v.id;
  select * into v from app.invitation_rows where organization_id = v.organization_id and id = v.id;
  perform app.queue_invitation_email(v, v_token);
  perform app.audit('invitation.resend', 'invitation', v.id,
                    pg_catalog.jsonb_build_object('email', v.email, 'role', v.role));
  return app.invitation_json(v);
end
$function$;
ALTER FUNCTION app.resend_invitation(uuid) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.resend_invitation(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.resend_invitation(uuid) TO vectra_member;

CREATE OR REPLACE FUNCTION app.revoke_invitation(p_id uuid)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v app.invitation_rows := app.managed_invitation(p_id);
begin
  update public.invitations set revoked_at = pg_catalog.now()
   where organization_id = v.organization_id and id = v.id;
  perform app.audit('invitation.revoke', 'invitation', v.id,
                    pg_catalog.jsonb_build_object('email', v.email, 'role', v.role));
end
$function$;
ALTER FUNCTION app.revoke_invitation(uuid) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.revoke_invitation(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.revoke_invitation(uuid) TO vectra_member;

CREATE OR REPLACE FUNCTION app.send_notification(p jsonb, p_key text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
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
                    where organization_id = v_current_org and status = 'active'
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
                                             where l.organization_id = v_current_org
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
                                     where organization_id = v_current_org and status <> 'lost' order by 1));
    v_send := array(select a from pg_catalog.unnest(v_all) a
                     where not exists (select 1 from public.lead_suppressions s
                                        where s.organization_id = v_current_org
                                          and app.mailbox_key(s.email) = app.mailbox_key(a))
                     order by 1);
    v_suppressed := pg_catalog.cardinality(v_all) - pg_catalog.cardinality(v_send);
  end if;
  return app.queue_notification(v_current_org, p, v_send, v_suppressed, p_key, v_hash,
                                case when v_type = 'org_to_prospects' then 'prospects' end);
end
$function$;
ALTER FUNCTION app.send_notification(jsonb, text) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.send_notification(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.send_notification(jsonb, text) TO vectra_member;
COMMENT ON FUNCTION app.send_notification(jsonb, text) IS 'POST /user/notifications/send (owner, admin): org_to_prospects to listed leads of the organization or "all" its leads that are not lost (suppressed mailboxes skipped and counted), org_owner_to_members to listed or all active members; no "[Alert]" or platform name in the subject; idempotent by Idempotency-Key; queues one outbox row per recipient.';

CREATE OR REPLACE FUNCTION app.update_campaign(p_id uuid, p_changes jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v public.campaigns;
  v_status public.campaign_status;
begin
  perform auth.authorize('owner', 'admin', 'manager');
  v_status := (p_changes ->> 'status')::public.campaign_status;
  update public.campaigns
     set name = coalesce(pg_catalog.btrim(p_changes ->> 'name'), name),
         status = coalesce(v_status, status)
   where organization_id = v_current_org and id = p_id
  returning * into v;
  if not found then
    raise exception 'Campaign not found' using errcode = 'VA404';
  end if;
  return app.get_campaign(v.id);
end
$function$;
ALTER FUNCTION app.update_campaign(uuid, jsonb) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.update_campaign(uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.update_campaign(uuid, jsonb) TO vectra_member;

CREATE OR REPLACE FUNCTION app.update_lead(p_id uuid, p_changes jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v public.leads;
  v_email text := pg_catalog.lower(pg_catalog.btrim(p_changes ->> 'email'));
  v_status public.lead_status;
begin
  perform auth.authorize('owner', 'admin', 'manager');
  perform app.require_campaign((p_changes ->> 'campaign_id')::uuid, 'campaign_id');
  if v_email is not null and exists (
       select 1 from public.leads
        where organization_id = v_current_org and pg_catalog.lower(email) = v_email and id <> p_id) then
    raise exception 'A lead with this email already exists' using errcode = 'VA409';
  end if;
  v_status := (p_changes ->> 'status')::public.lead_status;
  update public.leads
     set email = coalesce(v_email, email),
         full_name = case when p_changes ? 'full_name' then nullif(pg_catalog.btrim(p_changes ->> 'full_name'), '') else full_name end,
         company = case when p_changes ? 'company' then nullif(pg_catalog.btrim(p_changes ->> 'company'), '') else company end,
         campaign_id = case when p_changes ? 'campaign_id' then (p_changes ->> 'campaign_id')::uuid else campaign_id end,
         status = coalesce(v_status, status)
   where organization_id = v_current_org and id = p_id
  returning * into v;
  if not found then
    raise exception 'Lead not found' using errcode = 'VA404';
  end if;
  return app.lead_json(v);
end
$function$;
ALTER FUNCTION app.update_lead(uuid, jsonb) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.update_lead(uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.update_lead(uuid, jsonb) TO vectra_member;

CREATE OR REPLACE FUNCTION app.update_meeting(p_id uuid, p_changes jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v public.meetings;
  v_status public.meeting_status;
  v_at timestamptz;
begin
  perform auth.authorize('owner', 'admin', 'manager');
  select * into v from public.meetings where organization_id = v_current_org and id = p_id for update;
  if not found then
    raise exception 'Meeting not found' using errcode = 'VA404';
  end if;
  if p_changes ? 'scheduled_at' and v.status <> 'scheduled'
     and (p_changes ->> 'scheduled_at')::timestamptz is distinct from v.scheduled_at then
    raise exception 'scheduled_at: only a scheduled meeting can be moved'
      using errcode = 'VA422', detail = '{"scheduled_at": "only a scheduled meeting can be moved"}';
  end if;
  v_status := (p_changes ->> 'status')::public.meeting_status;
  v_at := (p_changes ->> 'scheduled_at')::timestamptz;
  update public.meetings
     set scheduled_at = coalesce(v_at, scheduled_at),
         status = coalesce(v_status, status)
   where organization_id = v_current_org and id = p_id
  returning * into v;
  return app.meeting_json(v);
end
$function$;
ALTER FUNCTION app.update_meeting(uuid, jsonb) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.update_meeting(uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.update_meeting(uuid, jsonb) TO vectra_member;

CREATE OR REPLACE FUNCTION app.update_organization(p_changes jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_owner record;
  v_current_org uuid := app.current_org_id();
  v_before public.organizations;
  v_after public.organizations;
  v_errors jsonb := '{}';
  v_key text;
  v_name text;
  v_changed jsonb := '{}';
begin
  perform auth.authorize('owner', 'admin');
  if p_changes is null or pg_catalog.jsonb_typeof(p_changes) <> 'object' then
    raise exception 'The body must be a JSON object' using errcode = 'VA422', detail = '{"body": "must be an object"}';
  end if;
  for v_key in select pg_catalog.jsonb_object_keys(p_changes) loop
    if v_key in ('plan', 'status') then
      v_errors := v_errors || pg_catalog.jsonb_build_object(v_key, 'is managed by the platform admin and cannot be changed here');
    elsif v_key not in ('name', 'settings') then
      v_errors := v_errors || pg_catalog.jsonb_build_object(v_key, 'is not an editable field (name, settings)');
    end if;
  end loop;
  if p_changes ? 'name' then
    v_name := pg_catalog.btrim(p_changes ->> 'name');
    if pg_catalog.jsonb_typeof(p_changes -> 'name') <> 'string' then
      v_errors := v_errors || '{"name": "must be a string"}';
    elsif app.display_name_error(v_name) is not null then
      v_errors := v_errors || pg_catalog.jsonb_build_object('name', app.display_name_error(v_name));
    end if;
  end if;
  if p_changes ? 'settings' then
    if pg_catalog.jsonb_typeof(p_changes -> 'settings') <> 'object' then
      v_errors := v_errors || '{"settings": "must be a JSON object"}';
    elsif pg_catalog.pg_column_size(p_changes -> 'settings') > 16384 then
      v_errors := v_errors || '{"settings": "must be at most 16 KiB"}';
    end if;
  end if;
  if v_errors <> '{}' then
    raise exception 'The request has invalid fields' using errcode = 'VA422', detail = v_errors::text;
  end if;
  if not (p_changes ?| array['name', 'settings']) then
    raise exception 'Nothing to change: send name and/or settings'
      using errcode = 'VA422', detail = '{"body": "send name and/or settings"}';
  end if;

  select * into v_before from public.organizations where id = v_current_org for update;
  if not found then
    raise exception 'Organization not found' using errcode = 'VA404';
  end if;
  update public.organizations
     set name = coalesce(v_name, name),
         settings = coalesce(p_changes -> 'settings', settings)
   where id = v_before.id
  returning * into v_after;

  if v_after.name is distinct from v_before.name then
    v_changed := v_changed || pg_catalog.jsonb_build_object('name',
      pg_catalog.jsonb_build_object('from', v_before.name, 'to', v_after.name));
  end if;
  if v_after.settings is distinct from v_before.settings then
    v_changed := v_changed || pg_catalog.jsonb_build_object('settings',
      pg_catalog.jsonb_build_object('from', v_before.settings, 'to', v_after.settings));
  end if;
  if v_changed <> '{}' then
    perform app.audit('organization.update', 'organization', v_after.id, v_changed);
    for v_owner in
      select u.email, pg_catalog.jsonb_build_object(
               'name', u.full_name, 'organization_name', v_after.name,
               'actor_name', (select full_name from public.users where id = app.current_user_id()),
               'changes', (select pg_catalog.jsonb_agg(k order by k) from pg_catalog.jsonb_object_keys(v_changed) k)) as context
        from public.users u
       where u.organization_id = v_after.id and u.role = 'owner' and u.status = 'active'
    loop
      insert into public.email_outbox (organization_id, to_email, template, context)
      values (v_after.id, v_owner.email, 'organization-update', v_owner.context);
    end loop;
  end if;
  return app.organization_json(v_after);
end
$function$;
ALTER FUNCTION app.update_organization(jsonb) OWNER TO vectra_definer;
REVOKE EXECUTE ON FUNCTION app.update_organization(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.update_organization(jsonb) TO vectra_member;
