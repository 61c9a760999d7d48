-- V9: direct SQL as a request role is never more powerful than the API.
--
-- Until V8 the rules beyond tenant isolation (the role ladder, the last
-- owner, who may invite, what enters the audit log and the outbox) lived in
-- SECURITY INVOKER functions, while vectra_member also held the direct table
-- writes those functions used. So `update users set role = 'owner'`, a forged
-- audit entry, an outbox row with any recipient and template, or an
-- invitation with a token hash of the caller's choosing all succeeded as
-- vectra_member. From here on:
--
--   * Request roles hold no direct write that carries a rule. vectra_member
--     keeps only the writes whose rule a policy can state (campaigns, leads,
--     meetings: by role, below); vectra_platform_admin keeps none yet.
--   * The functions that carry the rules are SECURITY DEFINER and owned by
--     vectra_definer: a NOLOGIN role without BYPASSRLS that nobody can switch
--     to. Its own policies confine it to the request's organization, so even
--     these functions cannot reach another tenant.
--   * Each of them first calls auth.authorize(), which checks the settings
--     against a live session: app.session_id must be an unrevoked, unexpired
--     session of app.user_id, whose organization and role are app.org_id and
--     app.role. Settings alone are claims anyone holding a request role could
--     type; a session id is known only to the holder of the access token.
--   * Audit entries and outbox rows are written only by such functions (and
--     by the auth.* functions of the migration owner).
--   * Platform-admin policies require a platform-admin context, so the bare
--     role without settings sees nothing, like vectra_member.
--   * vectra_worker reaches the outbox only through three functions.
--   * vectra_tenant_reader is the role DBAs' own logins are granted: the
--     member read policies, no secrets, no writes.

------------------------------------------------------------------------------
-- Roles (cluster-wide: created when missing, corrected when wrong)
------------------------------------------------------------------------------

do $$
declare
  r text;
begin
  foreach r in array array['vectra_definer', 'vectra_tenant_reader'] loop
    if not exists (select 1 from pg_catalog.pg_roles where rolname = r) then
      execute format('create role %I nologin', r);
    end if;
    if exists (select 1 from pg_catalog.pg_roles where rolname = r
                and (rolsuper or rolbypassrls or rolcreatedb or rolcreaterole or rolreplication or rolcanlogin)) then
      execute format('alter role %I nologin nosuperuser nocreatedb nocreaterole nobypassrls noreplication', r);
    end if;
  end loop;
  -- A migration owner that is not a superuser must be able to SET ROLE to
  -- vectra_definer to hand it the functions below (ALTER FUNCTION … OWNER).
  if not (select rolsuper from pg_catalog.pg_roles where rolname = current_user)
     and not pg_catalog.pg_has_role(current_user, 'vectra_definer', 'member') then
    execute format('grant vectra_definer to %I', current_user);
  end if;
end
$$;

comment on role vectra_definer is
  'Vectra: owner of the SECURITY DEFINER functions of schema app that carry the rules (role ladder, last owner, invitations, audit log, outbox). NOLOGIN, no BYPASSRLS, granted to nobody: its policies confine it to the organization of the request.';
comment on role vectra_tenant_reader is
  'Vectra: read-only role for DBAs'' own logins. The member read policies apply (one tenant, chosen with app.org_id); no secret column, no write.';

------------------------------------------------------------------------------
-- Setting helpers
------------------------------------------------------------------------------

create function app.current_session_id() returns uuid
language sql stable parallel safe
as $$ select nullif(pg_catalog.current_setting('app.session_id', true), '')::uuid $$;
comment on function app.current_session_id() is 'Session of the current request (setting app.session_id), NULL when unset.';

-- A platform-admin context: the role setting says so and a user is named.
-- auth.begin_request sets both only for a verified platform admin.
create function app.is_platform_admin() returns boolean
language sql stable parallel safe
as $$
  select coalesce(nullif(pg_catalog.current_setting('app.role', true), '') = 'platform_admin'
                  and nullif(pg_catalog.current_setting('app.user_id', true), '') is not null, false)
$$;
comment on function app.is_platform_admin() is 'True in a platform-admin context (app.role = platform_admin and app.user_id set); false without settings.';

-- The caller's rank is at least p_role's (owner > admin > manager > member).
-- Plain SQL without SET: inlined into the policies below.
create function app.current_role_at_least(p_role text) returns boolean
language sql stable parallel safe
as $$ select coalesce(app.role_rank(app.current_user_role()) >= app.role_rank(p_role), false) $$;
comment on function app.current_role_at_least(text) is 'True when app.role ranks at least p_role on the ladder owner > admin > manager > member.';

------------------------------------------------------------------------------
-- Direct writes that carry rules: revoked
------------------------------------------------------------------------------

revoke update on public.organizations from vectra_member;
revoke update on public.users from vectra_member;
revoke insert, update on public.invitations from vectra_member;
revoke insert on public.notifications from vectra_member;
revoke insert on public.email_outbox from vectra_member;
revoke insert on public.audit_log from vectra_member;

revoke insert, update, delete on public.organizations from vectra_platform_admin;
revoke update, delete on public.users from vectra_platform_admin;
revoke insert, update, delete on public.invitations from vectra_platform_admin;
revoke insert, delete on public.notifications from vectra_platform_admin;
revoke insert, update on public.email_outbox from vectra_platform_admin;
revoke insert on public.audit_log from vectra_platform_admin;
revoke delete on public.campaigns, public.leads, public.meetings from vectra_platform_admin;

drop policy organizations_member_update on public.organizations;
drop policy users_member_update on public.users;
drop policy invitations_member_insert on public.invitations;
drop policy invitations_member_update on public.invitations;
drop policy notifications_member_insert on public.notifications;
drop policy email_outbox_member_insert on public.email_outbox;
drop policy audit_log_member_insert on public.audit_log;
drop policy audit_log_platform_admin_insert on public.audit_log;

------------------------------------------------------------------------------
-- Read policies: members and the DBAs' reader
------------------------------------------------------------------------------

alter policy organizations_member_select on public.organizations to vectra_member, vectra_tenant_reader;
alter policy users_member_select on public.users to vectra_member, vectra_tenant_reader;
alter policy invitations_member_select on public.invitations to vectra_member, vectra_tenant_reader;
alter policy notifications_member_select on public.notifications to vectra_member, vectra_tenant_reader;
alter policy email_outbox_member_select on public.email_outbox to vectra_member, vectra_tenant_reader;
alter policy audit_log_member_select on public.audit_log to vectra_member, vectra_tenant_reader;

comment on policy organizations_member_select on public.organizations is
  'Members (and DBAs as vectra_tenant_reader) see their own organization and no other.';
comment on policy users_member_select on public.users is
  'Members and readers see the users of their own organization; the platform admin row (NULL organization) matches no organization.';
comment on policy invitations_member_select on public.invitations is
  'Members and readers see the invitations of their own organization (never token_hash, by grant).';
comment on policy notifications_member_select on public.notifications is
  'Members and readers see the notifications sent by their organization; platform-wide ones (NULL organization) are not theirs to list.';
comment on policy email_outbox_member_select on public.email_outbox is
  'Members and readers see the delivery status of their own organization''s emails (never the context, by grant).';
comment on policy audit_log_member_select on public.audit_log is
  'Owners and admins (and readers with an owner or admin role setting) read their own organization''s audit log; managers and members do not.';

grant usage on schema app to vectra_tenant_reader;
grant select on public.organizations to vectra_tenant_reader;
grant select (id, organization_id, email, full_name, role, status, email_verified_at,
              last_login_at, created_at, updated_at, deleted_at)
  on public.users to vectra_tenant_reader;
grant select (id, organization_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at)
  on public.invitations to vectra_tenant_reader;
grant select on public.notifications to vectra_tenant_reader;
grant select (id, organization_id, notification_id, to_email, template, subject, status, attempts,
              max_attempts, next_attempt_at, last_error, created_at, sent_at)
  on public.email_outbox to vectra_tenant_reader;
grant select on public.audit_log, public.campaigns, public.leads, public.meetings to vectra_tenant_reader;
grant select on app.members, app.invitation_rows to vectra_tenant_reader;

------------------------------------------------------------------------------
-- Prospecting data: the role matrix as policies (every role reads, manager
-- and above create and update, admin and above delete)
------------------------------------------------------------------------------

drop policy campaigns_member_all on public.campaigns;
drop policy leads_member_all on public.leads;
drop policy meetings_member_all on public.meetings;

do $$
declare
  t text;
begin
  foreach t in array array['campaigns', 'leads', 'meetings'] loop
    execute format($f$
      create policy %1$s_member_select on public.%1$I for select to vectra_member, vectra_tenant_reader
        using (organization_id = app.current_org_id());
      comment on policy %1$s_member_select on public.%1$I is
        'Every role of the organization (and readers) sees its own organization''s %1$s only.';
      create policy %1$s_member_insert on public.%1$I for insert to vectra_member
        with check (organization_id = app.current_org_id() and app.current_role_at_least('manager'));
      comment on policy %1$s_member_insert on public.%1$I is
        'Managers, admins and owners create %1$s in their own organization only.';
      create policy %1$s_member_update on public.%1$I for update to vectra_member
        using (organization_id = app.current_org_id() and app.current_role_at_least('manager'))
        with check (organization_id = app.current_org_id());
      comment on policy %1$s_member_update on public.%1$I is
        'Managers, admins and owners update their own organization''s %1$s and cannot move them to another.';
      create policy %1$s_member_delete on public.%1$I for delete to vectra_member
        using (organization_id = app.current_org_id() and app.current_role_at_least('admin'));
      comment on policy %1$s_member_delete on public.%1$I is
        'Admins and owners delete their own organization''s %1$s.';
    $f$, t);
  end loop;
end
$$;

------------------------------------------------------------------------------
-- The platform admin: a platform-admin context, and reads only (its writes
-- will be SECURITY DEFINER functions, like the members')
------------------------------------------------------------------------------

drop policy organizations_platform_admin_all on public.organizations;
drop policy users_platform_admin_all on public.users;
drop policy invitations_platform_admin_all on public.invitations;
drop policy notifications_platform_admin_all on public.notifications;
drop policy email_outbox_platform_admin_all on public.email_outbox;
drop policy audit_log_platform_admin_select on public.audit_log;
drop policy campaigns_platform_admin_all on public.campaigns;
drop policy leads_platform_admin_all on public.leads;
drop policy meetings_platform_admin_all on public.meetings;

do $$
declare
  t text;
begin
  foreach t in array array['organizations', 'users', 'invitations', 'notifications', 'email_outbox',
                           'audit_log', 'campaigns', 'leads', 'meetings'] loop
    execute format($f$
      create policy %1$s_platform_admin_select on public.%1$I for select to vectra_platform_admin
        using (app.is_platform_admin());
      comment on policy %1$s_platform_admin_select on public.%1$I is
        'The platform admin reads every organization''s %1$s, in a platform-admin context only (app.role = platform_admin and a user id): the bare role sees nothing.';
    $f$, t);
  end loop;
end
$$;

------------------------------------------------------------------------------
-- vectra_definer: what the rule-carrying functions may touch
------------------------------------------------------------------------------

grant usage on schema app, auth to vectra_definer;
grant select on public.organizations to vectra_definer;
grant update (name, settings) on public.organizations to vectra_definer;
grant select (id, organization_id, email, full_name, role, status, email_verified_at,
              last_login_at, created_at, updated_at, deleted_at)
  on public.users to vectra_definer;
grant update (full_name, role, status, deleted_at) on public.users to vectra_definer;
grant select (id, organization_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at)
  on public.invitations to vectra_definer;
grant insert on public.invitations to vectra_definer;
grant update (token_hash, expires_at, revoked_at) on public.invitations to vectra_definer;
grant insert on public.audit_log, public.email_outbox to vectra_definer;
grant select on app.members, app.invitation_rows to vectra_definer;

create policy organizations_definer_all on public.organizations for all to vectra_definer
  using (id = app.current_org_id()) with check (id = app.current_org_id());
comment on policy organizations_definer_all on public.organizations is
  'The rule functions (owned by vectra_definer) read and update the request''s own organization only.';
create policy users_definer_all on public.users for all to vectra_definer
  using (organization_id = app.current_org_id()) with check (organization_id = app.current_org_id());
comment on policy users_definer_all on public.users is
  'The rule functions change roles and statuses of the request''s organization''s users only.';
create policy invitations_definer_all on public.invitations for all to vectra_definer
  using (organization_id = app.current_org_id()) with check (organization_id = app.current_org_id());
comment on policy invitations_definer_all on public.invitations is
  'The rule functions create, re-issue and revoke invitations of the request''s organization only.';
create policy audit_log_definer_insert on public.audit_log for insert to vectra_definer
  with check (organization_id = app.current_org_id() and actor_id = app.current_user_id());
comment on policy audit_log_definer_insert on public.audit_log is
  'The rule functions append audit entries for the request''s organization, in the caller''s name.';
create policy email_outbox_definer_insert on public.email_outbox for insert to vectra_definer
  with check (organization_id = app.current_org_id());
comment on policy email_outbox_definer_insert on public.email_outbox is
  'The rule functions queue emails of the request''s organization only (recipients and templates are chosen by the function, not the caller).';

-- Recipient limits count invitation emails across organizations.
create index email_outbox_recipient_idx on public.email_outbox (to_email, created_at);

------------------------------------------------------------------------------
-- auth.authorize: the caller, verified against a live session
------------------------------------------------------------------------------

create function auth.authorize(variadic p_allowed text[]) returns text
language plpgsql stable security definer
set search_path = ''
as $$
declare
  v_role text := app.current_user_role();
begin
  if app.current_org_id() is null or v_role is null or app.current_user_id() is null then
    raise exception 'Organization user access required' using errcode = 'VA403';
  end if;
  if not (v_role = any (p_allowed)) then
    raise exception 'This action requires one of the roles: %', pg_catalog.array_to_string(p_allowed, ', ')
      using errcode = 'VA403';
  end if;
  perform 1
    from public.sessions s
    join public.users u on u.id = s.user_id
    join public.organizations o on o.id = u.organization_id
   where s.id = app.current_session_id()
     and s.user_id = app.current_user_id()
     and s.revoked_at is null and s.expires_at > pg_catalog.now()
     and u.organization_id = app.current_org_id()
     and u.role::text = v_role and u.status = 'active'
     and o.status = 'active';
  if not found then
    raise exception 'Token no longer matches the account'
      using errcode = 'VA401', hint = 'Refresh the access token.';
  end if;
  return v_role;
end
$$;
comment on function auth.authorize(text[]) is
  'The caller''s role if it is one of p_allowed and the settings match a live session (session, user, organization and role as the database has them); VA403 or VA401 otherwise. Called first by every rule-carrying function.';

------------------------------------------------------------------------------
-- Invitation limits (auth.settings), counted across organizations
------------------------------------------------------------------------------

-- VA429 "try again at p_until": DETAIL {"retry_after": seconds} becomes the
-- response's Retry-After (src/error.rs).
create function auth.raise_too_many(p_message text, p_until timestamptz) returns void
language plpgsql stable
set search_path = ''
as $$
begin
  raise exception '%', p_message
    using errcode = 'VA429',
          detail = pg_catalog.jsonb_build_object('retry_after',
            greatest(1, pg_catalog.ceil(extract(epoch from p_until - pg_catalog.now()))::integer))::text;
end
$$;

-- VA429 when the p_limit-th newest of p_newest is still inside the hour.
create function auth.raise_if_over(p_newest timestamptz[], p_limit integer, p_message text) returns void
language plpgsql stable
set search_path = ''
as $$
begin
  if p_newest[p_limit] is not null then
    perform auth.raise_too_many(p_message, p_newest[p_limit] + interval '1 hour');
  end if;
end
$$;

create function auth.check_invitation_limits(p_org uuid, p_sender uuid, p_email text) returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  s auth.settings := auth.current_settings();
  v_since timestamptz := pg_catalog.now() - interval '1 hour';
begin
  -- Concurrent invitations of one organization or to one address are counted
  -- one after the other.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('vectra.invite.org:' || p_org::text, 0));
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('vectra.invite.to:' || p_email, 0));
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
       where to_email = p_email and template = 'invite-user' and created_at > v_since
       order by created_at desc limit s.invites_per_recipient_per_hour),
    s.invites_per_recipient_per_hour, 'This address has received too many invitations in the last hour; try again later');
end
$$;
comment on function auth.check_invitation_limits(uuid, uuid, text) is
  'VA429 (with retry_after) when the sender, the organization or the recipient has reached its hourly invitation limit (auth.settings).';

------------------------------------------------------------------------------
-- The rule-carrying functions of V6, now SECURITY DEFINER as vectra_definer
------------------------------------------------------------------------------

-- clock_timestamp(): entries of one transaction keep their order. The
-- organization and the actor come from the settings, which the caller's
-- function has verified (auth.authorize); the definer policy checks them again.
create or replace function app.audit(p_action text, p_target_type text, p_target_id uuid, p_data jsonb) returns void
language sql volatile
set search_path = ''
as $$
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data, created_at)
  values (app.current_org_id(), app.current_user_id(), p_action, p_target_type, p_target_id,
          coalesce(p_data, '{}'), pg_catalog.clock_timestamp())
$$;

-- The caller must have verified its own address before emailing others.
create function app.require_verified_email() returns void
language plpgsql stable
set search_path = ''
as $$
begin
  if not exists (select 1 from public.users
                  where id = app.current_user_id() and organization_id = app.current_org_id()
                    and email_verified_at is not null) then
    raise exception 'Verify your email address before inviting anyone'
      using errcode = 'VA403',
            hint = 'Follow the link in the verification email, or ask for a new one with POST /api/v1/auth/send-verification-email.';
  end if;
end
$$;

create or replace function app.update_organization(p_changes jsonb) returns jsonb
language plpgsql volatile security definer
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

-- The member p_user_id of the caller's organization, for a role change or a
-- removal. Owners are locked first, in a fixed order, so two owners demoting
-- or removing each other at once cannot both succeed; then the caller is
-- checked again, so an owner demoted while this request waited does not act
-- as an owner; then the target is locked and read (removed users are gone).
create function app.locked_member(p_user_id uuid) returns app.members
language plpgsql volatile
set search_path = ''
as $$
declare
  v_target app.members;
begin
  perform 1 from public.users
   where organization_id = app.current_org_id() and role = 'owner' and status = 'active'
   order by id for update;
  perform auth.authorize('owner', 'admin');
  perform 1 from public.users where id = p_user_id and organization_id = app.current_org_id() for update;
  select * into v_target from app.members
   where id = p_user_id and organization_id = app.current_org_id() and status <> 'removed';
  if not found then
    raise exception 'User not found' using errcode = 'VA404';
  end if;
  return v_target;
end
$$;

-- Refuses to demote or remove the last active owner (whoever asks).
create function app.assert_keeps_an_owner(p_target app.members) returns void
language plpgsql stable
set search_path = ''
as $$
begin
  if p_target.role = 'owner' and p_target.status = 'active' and not exists (
       select 1 from public.users
        where organization_id = app.current_org_id() and role = 'owner' and status = 'active'
          and id <> p_target.id) then
    raise exception 'The organization must keep at least one active owner' using errcode = 'VA409';
  end if;
end
$$;

-- PATCH /user/organizations/me/users/{id}/role
create or replace function app.change_user_role(p_user_id uuid, p_role text) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
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
  update public.users set role = v_new where id = v_target.id and organization_id = app.current_org_id();
  perform app.audit('user.role_change', 'user', v_target.id,
                    pg_catalog.jsonb_build_object('email', v_target.email, 'from', v_target.role, 'to', v_new));
  v_target.role := v_new;
  return app.member_json(v_target);
end
$$;

-- DELETE /user/organizations/me/users/{id}: a soft delete; the user's
-- sessions end at once.
create or replace function app.remove_user(p_user_id uuid) returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
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
   where id = v_target.id and organization_id = app.current_org_id();
  v_revoked := auth.revoke_member_sessions(v_target.id, 'removed from the organization');
  perform app.audit('user.remove', 'user', v_target.id,
                    pg_catalog.jsonb_build_object('email', v_target.email, 'role', v_target.role,
                                                  'sessions_revoked', v_revoked));
end
$$;

-- The invite-user email for an invitation and its fresh token.
create or replace function app.queue_invitation_email(p_invitation app.invitation_rows, p_token text) returns void
language sql volatile
set search_path = ''
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

-- POST /user/organizations/me/users/invite. The lifetime comes from
-- auth.settings, not from the caller.
drop function app.invite_user(text, text, interval);
create function app.invite_user(p_email text, p_role text) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
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
  perform auth.check_invitation_limits(app.current_org_id(), app.current_user_id(), v_email);
  insert into public.invitations (organization_id, email, role, token_hash, invited_by, expires_at)
  values (app.current_org_id(), v_email, v_role, app.hash_token(v_token), app.current_user_id(),
          pg_catalog.now() + (auth.current_settings()).invitation_ttl)
  returning id into v_id;
  select * into v_inv from app.invitation_rows where organization_id = app.current_org_id() and id = v_id;
  perform app.queue_invitation_email(v_inv, v_token);
  perform app.audit('invitation.create', 'invitation', v_inv.id,
                    pg_catalog.jsonb_build_object('email', v_inv.email, 'role', v_inv.role));
  return app.invitation_json(v_inv);
end
$$;

-- An invitation of the caller's organization that the caller may manage.
create or replace function app.managed_invitation(p_id uuid) returns app.invitation_rows
language plpgsql volatile
set search_path = ''
as $$
declare
  v_caller text := auth.authorize('owner', 'admin');
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
create or replace function app.revoke_invitation(p_id uuid) returns void
language plpgsql volatile security definer
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
drop function app.resend_invitation(uuid, interval);
create function app.resend_invitation(p_id uuid) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
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
$$;

drop function app.assert_caller_unchanged();

------------------------------------------------------------------------------
-- The outbox worker: three functions instead of the table
------------------------------------------------------------------------------

drop policy email_outbox_worker_select on public.email_outbox;
drop policy email_outbox_worker_update on public.email_outbox;
revoke all on public.email_outbox from vectra_worker;

-- Claims up to p_limit due rows (and rows whose claim went stale): the only
-- way the worker sees a context, and only of the rows it is about to send.
create function auth.outbox_claim(p_limit integer, p_stale interval)
returns table (id uuid, to_email text, template text, context jsonb, attempts integer, max_attempts integer)
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception 'p_limit must be from 1 to 1000' using errcode = '22023';
  end if;
  return query
  update public.email_outbox o
     set status = 'sending', claimed_at = pg_catalog.now(), attempts = o.attempts + 1
   where o.id in (select e.id from public.email_outbox e
                   where (e.status = 'pending' and e.next_attempt_at <= pg_catalog.now())
                      or (e.status = 'sending' and e.claimed_at < pg_catalog.now() - p_stale)
                   order by e.next_attempt_at
                   limit p_limit
                   for update skip locked)
  returning o.id, o.to_email, o.template, o.context, o.attempts, o.max_attempts;
end
$$;
comment on function auth.outbox_claim(integer, interval) is
  'Outbox worker: claims due rows (status sending, one more attempt) with FOR UPDATE SKIP LOCKED and returns them with their context.';

-- Delivered: the one-time token leaves the outbox. Only a claimed row.
create function auth.outbox_mark_sent(p_id uuid, p_subject text) returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  update public.email_outbox
     set status = 'sent', sent_at = pg_catalog.now(), subject = pg_catalog.left(p_subject, 998),
         last_error = null, claimed_at = null, context = context - 'token'
   where id = p_id and status = 'sending';
  return found;
end
$$;
comment on function auth.outbox_mark_sent(uuid, text) is
  'Outbox worker: records a delivery (only of a row in status sending) and strips its one-time token.';

-- Failed: retried after p_delay_secs, or failed for good (permanent error or
-- last attempt), and then the token goes too.
create function auth.outbox_mark_failed(p_id uuid, p_delay_secs double precision, p_error text, p_permanent boolean)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  update public.email_outbox
     set status = case when p_permanent or attempts >= max_attempts then 'failed' else 'pending' end::public.email_status,
         context = case when p_permanent or attempts >= max_attempts then context - 'token' else context end,
         next_attempt_at = pg_catalog.now() + pg_catalog.make_interval(secs => greatest(0, least(p_delay_secs, 86400))),
         last_error = pg_catalog.left(p_error, 2000), claimed_at = null
   where id = p_id and status = 'sending';
  return found;
end
$$;
comment on function auth.outbox_mark_failed(uuid, double precision, text, boolean) is
  'Outbox worker: reschedules a claimed row after a failed attempt, or marks it failed (and strips its token) after a permanent error or its last attempt.';

------------------------------------------------------------------------------
-- Ownership and grants
------------------------------------------------------------------------------

-- ALTER … OWNER needs the new owner to hold CREATE on the schema (for a
-- migration owner that is not a superuser); it is taken back at once.
grant create on schema app to vectra_definer;
alter function app.audit(text, text, uuid, jsonb) owner to vectra_definer;
alter function app.require_verified_email() owner to vectra_definer;
alter function app.update_organization(jsonb) owner to vectra_definer;
alter function app.change_user_role(uuid, text) owner to vectra_definer;
alter function app.locked_member(uuid) owner to vectra_definer;
alter function app.assert_keeps_an_owner(app.members) owner to vectra_definer;
alter function app.remove_user(uuid) owner to vectra_definer;
alter function app.queue_invitation_email(app.invitation_rows, text) owner to vectra_definer;
alter function app.invite_user(text, text) owner to vectra_definer;
alter function app.managed_invitation(uuid) owner to vectra_definer;
alter function app.revoke_invitation(uuid) owner to vectra_definer;
alter function app.resend_invitation(uuid) owner to vectra_definer;
revoke create on schema app from vectra_definer;

-- Functions created here are not executable by PUBLIC (V2's default
-- privileges); ownership changes keep the owner's EXECUTE. Spell it out.
revoke all on function
  app.audit(text, text, uuid, jsonb), app.require_verified_email(), app.update_organization(jsonb),
  app.change_user_role(uuid, text), app.remove_user(uuid), app.queue_invitation_email(app.invitation_rows, text),
  app.invite_user(text, text), app.managed_invitation(uuid), app.revoke_invitation(uuid), app.resend_invitation(uuid),
  app.locked_member(uuid), app.assert_keeps_an_owner(app.members),
  auth.authorize(text[]), auth.raise_too_many(text, timestamptz), auth.raise_if_over(timestamptz[], integer, text),
  auth.check_invitation_limits(uuid, uuid, text),
  auth.outbox_claim(integer, interval), auth.outbox_mark_sent(uuid, text),
  auth.outbox_mark_failed(uuid, double precision, text, boolean),
  app.current_session_id(), app.is_platform_admin(), app.current_role_at_least(text)
from public;

-- The entry points members call (each starts with auth.authorize).
grant execute on function
  app.update_organization(jsonb), app.change_user_role(uuid, text), app.remove_user(uuid),
  app.invite_user(text, text), app.revoke_invitation(uuid), app.resend_invitation(uuid)
to vectra_member;
-- Helpers that members no longer need: the writes they served are definer-only.
revoke execute on function
  app.audit(text, text, uuid, jsonb), app.queue_invitation_email(app.invitation_rows, text),
  app.managed_invitation(uuid), app.new_token(), app.hash_token(text)
from vectra_member;
revoke execute on function app.new_token(), app.hash_token(text) from vectra_platform_admin;
revoke execute on function auth.revoke_member_sessions(uuid, text) from vectra_member;
revoke usage on schema auth from vectra_member;

-- What the definer functions call.
grant execute on function
  app.current_org_id(), app.current_user_id(), app.current_user_role(), app.current_session_id(),
  app.role_rank(text), app.parse_role(text, text), app.member_json(app.members),
  app.invitation_json(app.invitation_rows), app.organization_json(public.organizations),
  app.new_token(), app.hash_token(text), app.display_name_error(text),
  auth.authorize(text[]), auth.check_invitation_limits(uuid, uuid, text), auth.current_settings(),
  auth.revoke_member_sessions(uuid, text)
to vectra_definer;

-- Policies call these as the querying role.
grant execute on function app.current_session_id(), app.is_platform_admin(), app.current_role_at_least(text)
  to vectra_anon, vectra_member, vectra_platform_admin, vectra_worker, vectra_tenant_reader;
grant execute on function app.current_org_id(), app.current_user_id(), app.current_user_role(), app.role_rank(text)
  to vectra_tenant_reader, vectra_platform_admin;

-- The DBA reader may call the read functions (security invoker: its own policies apply).
grant execute on function
  app.my_organization(), app.list_users(integer, integer, text, text, text),
  app.list_invitations(integer, integer), app.list_audit_log(integer, integer, text),
  app.require_role(text[]), app.check_page(integer, integer), app.parse_role(text, text),
  app.member_json(app.members), app.invitation_json(app.invitation_rows),
  app.organization_json(public.organizations)
to vectra_tenant_reader;

-- The worker: the three outbox functions and nothing else of schema auth.
grant usage on schema auth to vectra_worker;
grant execute on function
  auth.outbox_claim(integer, interval), auth.outbox_mark_sent(uuid, text),
  auth.outbox_mark_failed(uuid, double precision, text, boolean)
to vectra_worker;
