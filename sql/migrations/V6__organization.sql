-- V6: organization self-service (/api/v1/user/organizations/me/*).
--
-- Every route is one function of schema app, SECURITY INVOKER: it runs as
-- vectra_member under the policies of V3, so it can only ever see and change
-- the caller's organization. The permission rules (who may do what, the role
-- ladder, the last owner) live here, so a DBA calling these functions as
-- vectra_member with the settings gets the API's answers:
--
--   begin;
--   set local role vectra_member;
--   select set_config('app.org_id', '<org>', true), set_config('app.user_id', '<user>', true),
--          set_config('app.role', 'admin', true);
--   select app.list_users(1, 20, null, null, null);
--   rollback;
--
-- Refusals use the VA class (docs/api.md): VA403 not allowed, VA404 not in
-- this organization (another tenant's ids look exactly like unknown ones),
-- VA409 conflicts with the state, VA422 invalid input (field errors in DETAIL).

------------------------------------------------------------------------------
-- Helpers
------------------------------------------------------------------------------

-- Tokens for invitations, generated where they are stored. SECURITY DEFINER
-- so that request roles need no access to schema extensions (pgcrypto).
create function app.new_token() returns text
language sql volatile security definer
set search_path = ''
as $$ select pg_catalog.translate(pg_catalog.encode(extensions.gen_random_bytes(32), 'base64'), '+/=', '-_') $$;
comment on function app.new_token() is '32 random bytes, base64url without padding (43 characters).';

create function app.hash_token(p_token text) returns bytea
language sql immutable strict
as $$ select pg_catalog.sha256(pg_catalog.convert_to(p_token, 'UTF8')) $$;
comment on function app.hash_token(text) is 'SHA-256 of a token: the only form in which tokens are stored.';

-- One definition for both schemas: auth's helpers now call app's.
create or replace function auth.new_token() returns text
language sql volatile
set search_path = ''
as $$ select app.new_token() $$;
create or replace function auth.hash_token(p_token text) returns bytea
language sql immutable strict
set search_path = ''
as $$ select app.hash_token(p_token) $$;

-- Row types without the secrets, so functions running as vectra_member can
-- say `select *` and pass whole rows around: users without password_hash,
-- invitations without token_hash. security_invoker: the caller's policies
-- and grants apply, exactly as on the tables.
create view app.members with (security_invoker = true) as
  select id, organization_id, email, full_name, role, status, email_verified_at, last_login_at,
         created_at, updated_at, deleted_at
    from public.users;
create view app.invitation_rows with (security_invoker = true) as
  select id, organization_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at
    from public.invitations;
comment on view app.members is 'public.users without password_hash (security_invoker).';
comment on view app.invitation_rows is 'public.invitations without token_hash (security_invoker).';
grant select on app.members, app.invitation_rows to vectra_member, vectra_platform_admin;

-- Rank on the ladder owner > admin > manager > member (NULL for anything else).
create function app.role_rank(p_role text) returns integer
language sql immutable
as $$
  select case p_role when 'owner' then 4 when 'admin' then 3 when 'manager' then 2 when 'member' then 1 end
$$;

-- The caller's role, refused unless it is one of p_allowed.
create function app.require_role(variadic p_allowed text[]) returns text
language plpgsql stable
set search_path = ''
as $$
declare
  v_role text := app.current_user_role();
begin
  if app.current_org_id() is null or v_role is null then
    raise exception 'Organization user access required' using errcode = 'VA403';
  end if;
  if not (v_role = any (p_allowed)) then
    raise exception 'This action requires one of the roles: %', pg_catalog.array_to_string(p_allowed, ', ')
      using errcode = 'VA403';
  end if;
  return v_role;
end
$$;

-- A role given in a request: one of the four organization roles.
create function app.parse_role(p_role text, p_field text) returns public.user_role
language plpgsql immutable
set search_path = ''
as $$
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
$$;

-- Page bounds shared by the list functions.
create function app.check_page(p_page integer, p_per_page integer) returns void
language plpgsql immutable
set search_path = ''
as $$
begin
  if p_page is null or p_page < 1 or p_page > 1000000 then
    raise exception 'page: must be from 1 to 1000000'
      using errcode = 'VA422', detail = '{"page": "must be from 1 to 1000000"}';
  end if;
  if p_per_page is null or p_per_page < 1 or p_per_page > 100 then
    raise exception 'per_page: must be between 1 and 100'
      using errcode = 'VA422', detail = '{"per_page": "must be between 1 and 100"}';
  end if;
end
$$;

-- An organization member as the team console shows it.
create function app.member_json(u app.members) returns jsonb
language sql stable
as $$
  select pg_catalog.jsonb_build_object(
    'id', u.id, 'email', u.email, 'full_name', u.full_name, 'role', u.role, 'status', u.status,
    'email_verified', u.email_verified_at is not null, 'last_login_at', u.last_login_at,
    'created_at', u.created_at, 'deleted_at', u.deleted_at)
$$;

create function app.invitation_json(i app.invitation_rows) returns jsonb
language sql stable
as $$
  select pg_catalog.jsonb_build_object(
    'id', i.id, 'email', i.email, 'role', i.role, 'invited_by', i.invited_by,
    'created_at', i.created_at, 'expires_at', i.expires_at, 'accepted_at', i.accepted_at,
    'revoked_at', i.revoked_at,
    'status', case when i.accepted_at is not null then 'accepted'
                   when i.revoked_at is not null then 'revoked'
                   when i.expires_at <= pg_catalog.now() then 'expired'
                   else 'pending' end)
$$;

create function app.organization_json(o public.organizations) returns jsonb
language sql stable
as $$
  select pg_catalog.jsonb_build_object(
    'id', o.id, 'name', o.name, 'slug', o.slug, 'plan', o.plan, 'status', o.status,
    'settings', o.settings, 'created_at', o.created_at, 'updated_at', o.updated_at)
$$;

-- clock_timestamp(): entries of one transaction keep their order.
create function app.audit(p_action text, p_target_type text, p_target_id uuid, p_data jsonb) returns void
language sql volatile
as $$
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data, created_at)
  values (app.current_org_id(), app.current_user_id(), p_action, p_target_type, p_target_id,
          coalesce(p_data, '{}'), pg_catalog.clock_timestamp())
$$;

-- After taking the owners' locks, the caller's role must still be the one
-- its token claims: an owner demoted by a concurrent request while this one
-- waited must not act as an owner.
create function app.assert_caller_unchanged() returns void
language plpgsql stable
set search_path = ''
as $$
begin
  if not exists (select 1 from public.users
                  where id = app.current_user_id() and organization_id = app.current_org_id()
                    and role::text = app.current_user_role() and status = 'active') then
    raise exception 'Token no longer matches the account'
      using errcode = 'VA401', hint = 'Refresh the access token.';
  end if;
end
$$;

-- Sessions are out of reach of vectra_member; this definer revokes those of
-- one user of the caller's own organization, and nothing else.
create function auth.revoke_member_sessions(p_user_id uuid, p_reason text) returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_count integer;
  v_target_role text;
begin
  -- coalesce: an unset role must be refused, not compared to NULL.
  if coalesce(app.current_user_role(), '') not in ('owner', 'admin') then
    raise exception 'This action requires one of the roles: owner, admin' using errcode = 'VA403';
  end if;
  select role::text into v_target_role from public.users
   where id = p_user_id and organization_id = app.current_org_id();
  if not found then
    raise exception 'User not found' using errcode = 'VA404';
  end if;
  if v_target_role = 'owner' and coalesce(app.current_user_role(), '') <> 'owner' then
    raise exception 'Only an owner can end an owner''s sessions' using errcode = 'VA403';
  end if;
  update public.sessions set revoked_at = pg_catalog.now(), revoked_reason = p_reason
   where user_id = p_user_id and revoked_at is null;
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

------------------------------------------------------------------------------
-- The organization
------------------------------------------------------------------------------

create or replace function app.my_organization() returns jsonb
language plpgsql stable
set search_path = ''
as $$
declare
  v public.organizations;
begin
  select * into v from public.organizations where id = app.current_org_id();
  if not found then
    raise exception 'Organization not found' using errcode = 'VA404';
  end if;
  return app.organization_json(v);
end
$$;

-- PATCH /user/organizations/me: name and settings, by owners and admins.
-- Owners are told by email (organization-update).
create function app.update_organization(p_changes jsonb) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_before public.organizations;
  v_after public.organizations;
  v_errors jsonb := '{}';
  v_key text;
  v_name text;
  v_changed jsonb := '{}';
begin
  perform app.require_role('owner', 'admin');
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
    if pg_catalog.jsonb_typeof(p_changes -> 'name') <> 'string' or v_name = '' or pg_catalog.length(v_name) > 200 then
      v_errors := v_errors || '{"name": "must be a string of 1 to 200 characters"}';
    elsif v_name ~ '[[:cntrl:]]' then
      v_errors := v_errors || '{"name": "must not contain control characters"}';
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

  select * into v_before from public.organizations where id = app.current_org_id() for update;
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
    insert into public.email_outbox (organization_id, to_email, template, context)
    select v_after.id, u.email, 'organization-update',
           pg_catalog.jsonb_build_object(
             'name', u.full_name, 'organization_name', v_after.name,
             'actor_name', (select full_name from public.users where id = app.current_user_id()),
             'changes', (select pg_catalog.jsonb_agg(k order by k) from pg_catalog.jsonb_object_keys(v_changed) k))
      from public.users u
     where u.organization_id = v_after.id and u.role = 'owner' and u.status = 'active';
  end if;
  return app.organization_json(v_after);
end
$$;

------------------------------------------------------------------------------
-- Members
------------------------------------------------------------------------------

-- GET /user/organizations/me/users: owners, admins, managers. Removed users
-- only when asked for with status=removed. Ordered by creation, then id.
create function app.list_users(p_page integer, p_per_page integer, p_role text, p_status text, p_search text)
returns jsonb
language plpgsql stable
set search_path = ''
as $$
declare
  v_role public.user_role;
  v_status public.user_status;
  v_pattern text;
  v_total bigint;
  v_items jsonb;
begin
  perform app.require_role('owner', 'admin', 'manager');
  perform app.check_page(p_page, p_per_page);
  if p_role is not null then
    v_role := app.parse_role(p_role, 'role');
  end if;
  if p_status is not null then
    if p_status not in ('active', 'suspended', 'removed') then
      raise exception 'status: must be one of active, suspended, removed'
        using errcode = 'VA422', detail = '{"status": "must be one of active, suspended, removed"}';
    end if;
    v_status := p_status::public.user_status;
  end if;
  if p_search is not null and pg_catalog.btrim(p_search) <> '' then
    -- A literal substring: the user's % and _ match themselves.
    v_pattern := '%' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
                   pg_catalog.btrim(p_search), '\', '\\'), '%', '\%'), '_', '\_') || '%';
  end if;

  with matching as (
    select u.*
      from app.members u
     where u.organization_id = app.current_org_id()
       and (v_role is null or u.role = v_role)
       and (case when v_status is null then u.status <> 'removed' else u.status = v_status end)
       and (v_pattern is null or u.full_name ilike v_pattern or u.email ilike v_pattern)
  )
  select (select pg_catalog.count(*) from matching),
         coalesce((select pg_catalog.jsonb_agg(app.member_json(m::app.members) order by m.created_at, m.id)
                     from (select * from matching order by created_at, id
                           limit p_per_page offset (p_page - 1)::bigint * p_per_page) m), '[]')
    into v_total, v_items;
  return pg_catalog.jsonb_build_object('items', v_items, 'page', p_page, 'per_page', p_per_page, 'total', v_total);
end
$$;

-- PATCH /user/organizations/me/users/{id}/role
create function app.change_user_role(p_user_id uuid, p_role text) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_caller text := app.require_role('owner', 'admin');
  v_new public.user_role := app.parse_role(p_role, 'role');
  v_target app.members;
begin
  if app.role_rank(v_new::text) > app.role_rank(v_caller) then
    raise exception 'You cannot grant a role above your own' using errcode = 'VA403';
  end if;
  -- Owners are locked first, in a fixed order, so two owners demoting each
  -- other at once cannot both succeed.
  perform 1 from public.users
   where organization_id = app.current_org_id() and role = 'owner' and status = 'active'
   order by id for update;
  perform app.assert_caller_unchanged();
  perform 1 from public.users where id = p_user_id and organization_id = app.current_org_id() for update;
  select * into v_target from app.members
   where id = p_user_id and organization_id = app.current_org_id() and status <> 'removed';
  if not found then
    raise exception 'User not found' using errcode = 'VA404';
  end if;
  if v_target.role = 'owner' and v_caller <> 'owner' then
    raise exception 'Only an owner can change an owner''s role' using errcode = 'VA403';
  end if;
  if v_target.role = v_new then
    return app.member_json(v_target);
  end if;
  if v_target.role = 'owner' and v_target.status = 'active' and not exists (
       select 1 from public.users
        where organization_id = app.current_org_id() and role = 'owner' and status = 'active'
          and id <> v_target.id) then
    raise exception 'The organization must keep at least one active owner' using errcode = 'VA409';
  end if;
  update public.users set role = v_new where id = v_target.id;
  perform app.audit('user.role_change', 'user', v_target.id,
                    pg_catalog.jsonb_build_object('email', v_target.email, 'from', v_target.role, 'to', v_new));
  v_target.role := v_new;
  return app.member_json(v_target);
end
$$;

-- DELETE /user/organizations/me/users/{id}: a soft delete; the user's
-- sessions end at once.
create function app.remove_user(p_user_id uuid) returns void
language plpgsql volatile
set search_path = ''
as $$
declare
  v_caller text := app.require_role('owner', 'admin');
  v_target app.members;
  v_revoked integer;
begin
  perform 1 from public.users
   where organization_id = app.current_org_id() and role = 'owner' and status = 'active'
   order by id for update;
  perform app.assert_caller_unchanged();
  perform 1 from public.users where id = p_user_id and organization_id = app.current_org_id() for update;
  select * into v_target from app.members
   where id = p_user_id and organization_id = app.current_org_id() and status <> 'removed';
  if not found then
    raise exception 'User not found' using errcode = 'VA404';
  end if;
  if v_target.role = 'owner' and v_caller <> 'owner' then
    raise exception 'Only an owner can remove an owner' using errcode = 'VA403';
  end if;
  if v_target.role = 'owner' and v_target.status = 'active' and not exists (
       select 1 from public.users
        where organization_id = app.current_org_id() and role = 'owner' and status = 'active'
          and id <> v_target.id) then
    raise exception 'The organization must keep at least one active owner' using errcode = 'VA409';
  end if;
  update public.users set status = 'removed', deleted_at = pg_catalog.now() where id = v_target.id;
  v_revoked := auth.revoke_member_sessions(v_target.id, 'removed from the organization');
  perform app.audit('user.remove', 'user', v_target.id,
                    pg_catalog.jsonb_build_object('email', v_target.email, 'role', v_target.role,
                                                  'sessions_revoked', v_revoked));
end
$$;

------------------------------------------------------------------------------
-- Invitations
------------------------------------------------------------------------------

-- Queues the invite-user email for an invitation and its fresh token.
create function app.queue_invitation_email(p_invitation app.invitation_rows, p_token text) returns void
language sql volatile
as $$
  insert into public.email_outbox (organization_id, to_email, template, context)
  select p_invitation.organization_id, p_invitation.email, 'invite-user',
         pg_catalog.jsonb_build_object(
           'token', p_token,
           'organization_name', o.name,
           'inviter_name', coalesce((select full_name from public.users where id = app.current_user_id()), 'Vectra'),
           'role', p_invitation.role,
           'expires_at', pg_catalog.to_char(p_invitation.expires_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'))
    from public.organizations o
   where o.id = p_invitation.organization_id
$$;

-- POST /user/organizations/me/users/invite
create function app.invite_user(p_email text, p_role text, p_ttl interval) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_caller text := app.require_role('owner', 'admin');
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
  if exists (select 1 from public.users
              where organization_id = app.current_org_id() and pg_catalog.lower(email) = v_email) then
    raise exception 'This person already has an account in the organization' using errcode = 'VA409';
  end if;
  perform 1 from public.invitations
   where organization_id = app.current_org_id() and email = v_email
     and accepted_at is null and revoked_at is null
  for update;
  select * into v_pending from app.invitation_rows
   where organization_id = app.current_org_id() and email = v_email
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
  insert into public.invitations (organization_id, email, role, token_hash, invited_by, expires_at)
  values (app.current_org_id(), v_email, v_role, app.hash_token(v_token), app.current_user_id(),
          pg_catalog.now() + p_ttl)
  returning id into v_id;
  select * into v_inv from app.invitation_rows where organization_id = app.current_org_id() and id = v_id;
  perform app.queue_invitation_email(v_inv, v_token);
  perform app.audit('invitation.create', 'invitation', v_inv.id,
                    pg_catalog.jsonb_build_object('email', v_inv.email, 'role', v_inv.role));
  return app.invitation_json(v_inv);
end
$$;

-- GET /user/organizations/me/invitations: pending ones (not accepted, not
-- revoked, not expired), newest first.
create function app.list_invitations(p_page integer, p_per_page integer) returns jsonb
language plpgsql stable
set search_path = ''
as $$
declare
  v_total bigint;
  v_items jsonb;
begin
  perform app.require_role('owner', 'admin');
  perform app.check_page(p_page, p_per_page);
  with pending as (
    select i.* from app.invitation_rows i
     where i.organization_id = app.current_org_id()
       and i.accepted_at is null and i.revoked_at is null and i.expires_at > pg_catalog.now()
  )
  select (select pg_catalog.count(*) from pending),
         coalesce((select pg_catalog.jsonb_agg(app.invitation_json(p::app.invitation_rows) order by p.created_at desc, p.id)
                     from (select * from pending order by created_at desc, id
                           limit p_per_page offset (p_page - 1)::bigint * p_per_page) p), '[]')
    into v_total, v_items;
  return pg_catalog.jsonb_build_object('items', v_items, 'page', p_page, 'per_page', p_per_page, 'total', v_total);
end
$$;

-- An invitation of the caller's organization that the caller may manage.
create function app.managed_invitation(p_id uuid) returns app.invitation_rows
language plpgsql volatile
set search_path = ''
as $$
declare
  v_caller text := app.require_role('owner', 'admin');
  v app.invitation_rows;
begin
  perform 1 from public.invitations where organization_id = app.current_org_id() and id = p_id for update;
  select * into v from app.invitation_rows where organization_id = app.current_org_id() and id = p_id;
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
$$;

-- DELETE /user/organizations/me/invitations/{id}
create function app.revoke_invitation(p_id uuid) returns void
language plpgsql volatile
set search_path = ''
as $$
declare
  v app.invitation_rows := app.managed_invitation(p_id);
begin
  update public.invitations set revoked_at = pg_catalog.now()
   where organization_id = v.organization_id and id = v.id;
  perform app.audit('invitation.revoke', 'invitation', v.id,
                    pg_catalog.jsonb_build_object('email', v.email, 'role', v.role));
end
$$;

-- POST /user/organizations/me/invitations/{id}/resend: a new token (the old
-- link stops working), a new expiry, a new email.
create function app.resend_invitation(p_id uuid, p_ttl interval) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v app.invitation_rows := app.managed_invitation(p_id);
  v_token text := app.new_token();
begin
  update public.invitations
     set token_hash = app.hash_token(v_token), expires_at = pg_catalog.now() + p_ttl
   where organization_id = v.organization_id and id = v.id;
  select * into v from app.invitation_rows where organization_id = v.organization_id and id = v.id;
  perform app.queue_invitation_email(v, v_token);
  perform app.audit('invitation.resend', 'invitation', v.id,
                    pg_catalog.jsonb_build_object('email', v.email, 'role', v.role));
  return app.invitation_json(v);
end
$$;

------------------------------------------------------------------------------
-- Audit log
------------------------------------------------------------------------------

-- GET /user/organizations/me/audit-log: owners and admins (the policy says
-- the same), newest first, optionally one action.
create function app.list_audit_log(p_page integer, p_per_page integer, p_action text) returns jsonb
language plpgsql stable
set search_path = ''
as $$
declare
  v_total bigint;
  v_items jsonb;
begin
  perform app.require_role('owner', 'admin');
  perform app.check_page(p_page, p_per_page);
  with entries as (
    select a.* from public.audit_log a
     where a.organization_id = app.current_org_id()
       and (p_action is null or a.action = p_action)
  )
  select (select pg_catalog.count(*) from entries),
         coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                     'id', e.id, 'action', e.action, 'actor_id', e.actor_id,
                     'actor_name', (select full_name from public.users where id = e.actor_id),
                     'target_type', e.target_type, 'target_id', e.target_id,
                     'data', e.data, 'created_at', e.created_at) order by e.created_at desc, e.id)
                     from (select * from entries order by created_at desc, id
                           limit p_per_page offset (p_page - 1)::bigint * p_per_page) e), '[]')
    into v_total, v_items;
  return pg_catalog.jsonb_build_object('items', v_items, 'page', p_page, 'per_page', p_per_page, 'total', v_total);
end
$$;

------------------------------------------------------------------------------
-- Grants: request roles call these; the authenticator resolves their names.
------------------------------------------------------------------------------

revoke all on all functions in schema app from public;
grant execute on function
  app.new_token(), app.hash_token(text), app.role_rank(text), app.require_role(text[]),
  app.assert_caller_unchanged(),
  app.parse_role(text, text), app.check_page(integer, integer),
  app.member_json(app.members), app.invitation_json(app.invitation_rows),
  app.organization_json(public.organizations), app.audit(text, text, uuid, jsonb),
  app.my_organization(), app.update_organization(jsonb),
  app.list_users(integer, integer, text, text, text), app.change_user_role(uuid, text),
  app.remove_user(uuid), app.queue_invitation_email(app.invitation_rows, text),
  app.invite_user(text, text, interval), app.list_invitations(integer, integer),
  app.managed_invitation(uuid), app.revoke_invitation(uuid), app.resend_invitation(uuid, interval),
  app.list_audit_log(integer, integer, text)
to vectra_member;
grant execute on function app.current_org_id(), app.current_user_id(), app.current_user_role()
  to vectra_anon, vectra_member, vectra_platform_admin, vectra_worker;
grant execute on function app.new_token(), app.hash_token(text) to vectra_platform_admin;
grant usage on schema auth to vectra_member;
revoke all on function auth.revoke_member_sessions(uuid, text) from public;
grant execute on function auth.revoke_member_sessions(uuid, text) to vectra_member;
-- auth.new_token/hash_token were replaced: keep them private.
revoke all on function auth.new_token(), auth.hash_token(text) from public;
