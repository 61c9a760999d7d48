-- The request path on a Citus cluster (docs/scale-out.md), and what it took
-- for every route to run there unchanged. `vectra migrate` distributes the
-- schema afterwards (sql/citus/distribute.sql) when the database is a Citus
-- coordinator; on PostgreSQL the changes below keep every answer as it was.
-- Each changed function names the rules it follows:
--
--  1. The tenant context reaches the shards. A setting made with
--     set_config() stays on the coordinator, so a worker would see no
--     organization (the policies then show nothing); a SET LOCAL travels to
--     the workers' connections when the database sets
--     citus.propagate_set_commands = 'local' (`vectra migrate` does on a
--     cluster). auth.begin_request uses SET LOCAL there and set_config() on
--     PostgreSQL; either way each setting lasts for the transaction only.
--     Strict tenant routing: with vectra.tenant_routing = 'strict' (a
--     database setting that `vectra dev --citus` and CI make), a statement of
--     an organization user's request that would touch more than one shard is
--     an error (citus.multi_task_query_log_level), so a tenant route that
--     stops routing fails its tests instead of quietly reading every shard.
--  2. Counters without nested writes. Triggers fire where the rows are: on
--     the shard of a distributed table, on every copy of a reference table.
--     campaigns.leads_count is counted on the leads' shard, one statement
--     per campaign naming its organization (routed to that same shard); a
--     set-based UPDATE … FROM the transition table cannot be routed.
--     organizations.users_count is no longer a trigger's: users is a
--     reference table, and a trigger on a copy may not write another one;
--     the functions that add, remove, suspend or restore a member count the
--     organization again (auth.count_users, as their caller).
--  3. Statements route. Citus sends a statement to one shard when its
--     organization is a constant or a parameter; `organization_id =
--     app.current_org_id()` is neither. Each function that names the
--     request's organization takes it once into a variable, which PL/pgSQL
--     passes to its statements as a parameter (on PostgreSQL the plans are
--     the same). A lookup by another key names the organization too.
--  4. Locks route. Citus refuses FOR UPDATE on a statement it cannot route:
--     rows looked for across organizations (due mail, expired accounts, an
--     invitation by its token) are read first, then locked by organization
--     and id, with the conditions checked again under the lock (SKIP LOCKED
--     for the outbox, so that several workers claim each row once).
--  5. Rows travel with their type. A list's statement runs whole on the
--     organization's shard, where a whole-row reference has the shard's row
--     type, which no item function takes: rows are made explicitly of the
--     table's (or the view's) type. A function called from a statement on a
--     shard may not query distributed tables itself: the notification lists
--     take the delivery counts in their own statement.
--  6. Values first. Citus evaluates a write's functions on the coordinator
--     and refuses one that is not immutable inside CASE or COALESCE (an
--     enum's input function is only stable; now() neither): such values are
--     computed into variables before the statement.
--  7. INSERT … VALUES. An INSERT … SELECT whose source is not a table of the
--     same shard goes through COPY on Citus, which row-level security does
--     not allow (and the definer's policies are what keeps its writes in its
--     organization): rows are looked up, then inserted one statement each.
--     An import of 5,000 leads is 5,000 statements.
--  8. Two limits count across organizations by design (invitations to one
--     mailbox from every organization; the allowance shared by
--     organizations less than a day old): strict routing is lifted for those
--     two reads alone (app.across_tenants), then put back.
--  9. One role writes a transaction's rows. On Citus each role reaches the
--     workers over its own connections; two roles writing the same shards (or
--     reference tables) in one transaction either are refused or deadlock
--     across the nodes. The console's erase is one owner's function; the
--     console's new organization writes its audit entry after its owner's
--     invitation; members' sessions are revoked by the definer that changes
--     the member, under policies that name the session's organization.
-- 10. One connection per node. A statement that reads every shard opens
--     several connections per node; a later write of a reference table in
--     the transaction needs one (accepting an invitation finds it by its
--     token, then creates the account): such a transaction runs its
--     multi-shard statements over one connection per node.
-- 11. Triggers on shards: a trigger fires on the shard (leads_102008), whose
--     name ends with the shard's number; status transitions use the table's.

-- ------------------------------------------------------------ new objects

-- Rule 2: organizations.users_count, counted by the functions.
drop trigger users_count_inserted on public.users;
drop trigger users_count_changed on public.users;
drop trigger users_count_deleted on public.users;
drop function auth.count_organization_users();

create function auth.count_users(p_org uuid) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  update public.organizations o
     set users_count = (select pg_catalog.count(*) from public.users u
                         where u.organization_id = o.id and u.status <> 'removed')
   where o.id = p_org or p_org is null;
end
$$;
revoke execute on function auth.count_users(uuid) from public;
grant execute on function auth.count_users(uuid) to vectra_definer;
-- It runs as its caller: as the migration owner from auth.register and
-- auth.accept_invitation, as vectra_definer from the member and console
-- functions (whose policies on organizations are the request's
-- organization, or any in a platform-admin context), so that the
-- transaction writes users and organizations as one role (on Citus, two
-- roles writing the same reference tables in one transaction deadlock).
grant update (users_count) on public.organizations to vectra_definer;
comment on function auth.count_users(uuid) is
  'Counts the users of an organization (of every organization when NULL) that are not removed into organizations.users_count, as its caller: called by every function that adds, removes, suspends or restores a member, and by the seeders after their COPY.';
comment on column public.organizations.users_count is
  'Users of the organization not removed, counted again by each function that changes them (auth.count_users): the console sorts by it.';

-- Rule 5: a notification from its row and its delivery counts.
create function app.notification_json(n public.notifications, p_delivery jsonb) returns jsonb
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
begin
  return pg_catalog.jsonb_build_object(
    'id', n.id, 'type', n.type, 'organization_id', nullif(n.organization_id, app.platform_org_id()),
    'sender_id', n.sender_id,
    'subject', n.subject, 'recipient_count', n.recipient_count, 'suppressed_count', n.suppressed_count,
    'created_at', n.created_at,
    'delivery', p_delivery);
end
$$;
revoke execute on function app.notification_json(public.notifications, jsonb) from public;
grant execute on function app.notification_json(public.notifications, jsonb)
  to vectra_member, vectra_platform_admin, vectra_tenant_reader;
comment on function app.notification_json(public.notifications, jsonb) is
  'A notification as the API shows it (the reserved platform organization as null), with its delivery counts as given.';

-- Rule 8: lifting strict tenant routing for a read across organizations.
create function app.across_tenants(p_on boolean, p_saved text) returns text
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
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
$$;
revoke execute on function app.across_tenants(boolean, text) from public;
comment on function app.across_tenants(boolean, text) is
  'On a Citus coordinator with strict tenant routing: lifts it for a read that counts across organizations by design (true; returns the level to put back) or puts it back (false, the level). Transaction-local; a no-op on PostgreSQL.';

-- Rule 9: the console's erase, written by one role.
create function auth.console_erase_organization(p_org uuid) returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
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
$$;
revoke execute on function auth.console_erase_organization(uuid) from public;
grant execute on function auth.console_erase_organization(uuid) to vectra_definer;
comment on function auth.console_erase_organization(uuid) is
  'DELETE /admin/organizations/{id}?hard=true, for app.admin_delete_organization: in a platform-admin context, locks the organization, counts its rows, erases it (auth.erase_organization) and writes the audit entry, all as one role.';

-- Rule 9: sessions carry their user's organization, for the definer's policies.
alter table public.sessions add column user_organization_id uuid;
comment on column public.sessions.user_organization_id is
  'The organization of the session''s user (NULL for the platform admin), set when the session opens: what the definer''s policies on sessions name.';
update public.sessions s set user_organization_id = u.organization_id
  from public.users u where u.id = s.user_id and u.organization_id is not null;
grant select (id, user_id, user_organization_id, revoked_at), update (revoked_at, revoked_reason)
  on public.sessions to vectra_definer;
create policy sessions_definer_select on public.sessions for select to vectra_definer
  using (user_organization_id = app.current_org_id());
comment on policy sessions_definer_select on public.sessions is
  'The rule functions see the sessions of the request''s organization''s users, to revoke them.';
create policy sessions_definer_revoke on public.sessions for update to vectra_definer
  using (user_organization_id = app.current_org_id())
  with check (user_organization_id = app.current_org_id());
comment on policy sessions_definer_revoke on public.sessions is
  'The rule functions revoke the sessions of the request''s organization''s users (auth.revoke_member_sessions); its grant is the two revocation columns.';
create policy sessions_definer_platform_admin on public.sessions for all to vectra_definer
  using (app.is_platform_admin()) with check (app.is_platform_admin());
comment on policy sessions_definer_platform_admin on public.sessions is
  'The console''s write functions (owned by vectra_definer, behind auth.authorize_platform_admin) revoke any user''s sessions in a platform-admin context only (auth.admin_revoke_sessions); the grant allows reading and revoking, nothing else.';

-- Rule 10: one connection per node.
create function app.one_connection_per_node() returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if pg_catalog.current_setting('citus.multi_shard_modify_mode', true) is not null then
    perform pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
  end if;
end
$$;
revoke execute on function app.one_connection_per_node() from public;
comment on function app.one_connection_per_node() is
  'On a Citus coordinator: this transaction''s multi-shard statements use one connection per node (citus.multi_shard_modify_mode), so that it may write a reference table after reading every shard. A no-op on PostgreSQL.';

-- ------------------------------------------------------ the functions changed

-- Each in its final form, after the rules it follows.

-- app.admin_create_organization: rule 9.
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

-- app.admin_delete_organization: rule 9.
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

-- app.admin_update_organization: rules 6, 7.
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

-- app.admin_update_user: rule 2.
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

-- app.assert_keeps_an_owner: rule 3.
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

-- app.audit: rule 3.
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

-- app.change_user_role: rule 3.
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

-- app.check_status_transition: rule 11.
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

-- app.create_campaign: rule 3.
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

-- app.create_lead: rule 3.
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

-- app.create_meeting: rule 3.
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

-- app.delete_campaign: rule 3.
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

-- app.delete_lead: rule 3.
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

-- app.delete_meeting: rule 3.
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

-- app.get_campaign: rule 3.
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

-- app.get_lead: rule 3.
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

-- app.get_meeting: rule 3.
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

-- app.get_notification: rule 3.
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

-- app.insert_leads: rules 3, 7.
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

-- app.invite_user: rule 3.
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

-- app.list_scope: rule 3.
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

-- app.list_spec: rule 5.
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
    'row', 'row(l.*)::public.leads as r', 'item', 'app.lead_json(s.r)')
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
    'row', 'row(m.*)::public.meetings as r', 'item', 'app.meeting_json(s.r)')
  when 'campaigns' then pg_catalog.jsonb_build_object(
    'from', 'public.campaigns c', 'id', 'c.id', 'scope', 'organization', 'scope_column', 'c.organization_id',
    'sorts', pg_catalog.jsonb_build_object(
      'created_at', pg_catalog.jsonb_build_array('c.created_at', 'timestamptz'),
      'name', pg_catalog.jsonb_build_array('lower(c.name)', 'text')),
    'filters', pg_catalog.jsonb_build_object(
      'status', $$c.status = ($2 ->> 'status')::public.campaign_status$$,
      'search', $$c.name ilike app.like_pattern($2 ->> 'search')$$),
    'row', 'row(c.*)::public.campaigns as r', 'item', 'app.campaign_json(s.r, (s.r).leads_count)')
  when 'members' then pg_catalog.jsonb_build_object(
    'from', 'app.members u', 'id', 'u.id', 'scope', 'organization', 'scope_column', 'u.organization_id',
    'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('u.created_at', 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object(
      'role', $$u.role = ($2 ->> 'role')::public.user_role$$,
      'status', $$u.status = ($2 ->> 'status')::public.user_status$$,
      'present', $$u.status <> 'removed'$$,
      'search', $$(u.full_name ilike app.like_pattern($2 ->> 'search') or u.email ilike app.like_pattern($2 ->> 'search'))$$),
    'row', 'row(u.*)::app.members as r', 'item', 'app.member_json(s.r)')
  when 'invitations' then pg_catalog.jsonb_build_object(
    'from', 'app.invitation_rows i', 'id', 'i.id', 'scope', 'organization', 'scope_column', 'i.organization_id',
    'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('i.created_at', 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object(
      'pending', 'i.accepted_at is null and i.revoked_at is null and i.expires_at > pg_catalog.now()'),
    'row', 'row(i.*)::app.invitation_rows as r', 'item', 'app.invitation_json(s.r)')
  when 'audit' then pg_catalog.jsonb_build_object(
    'from', 'public.audit_log a', 'id', 'a.id', 'scope', 'organization_admins', 'scope_column', 'a.organization_id',
    'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('a.created_at', 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object('action', $$a.action = ($2 ->> 'action')$$),
    'row', 'row(a.*)::public.audit_log as r',
    'item', $$pg_catalog.jsonb_build_object('id', (s.r).id, 'action', (s.r).action, 'actor_id', (s.r).actor_id,
                'actor_name', (select u.full_name from public.users u where u.id = (s.r).actor_id),
                'target_type', (s.r).target_type, 'target_id', (s.r).target_id,
                'data', (s.r).data, 'created_at', (s.r).created_at)$$)
  when 'notifications' then pg_catalog.jsonb_build_object(
    'from', 'public.notifications n', 'id', 'n.id', 'scope', 'organization_admins', 'scope_column', 'n.organization_id',
    'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('n.created_at', 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object('type', $$n.type = ($2 ->> 'type')::public.notification_type$$),
    'row', $$row(n.*)::public.notifications as r, (select pg_catalog.jsonb_build_object(
                   'pending', pg_catalog.count(*) filter (where e.status = 'pending'),
                   'sending', pg_catalog.count(*) filter (where e.status = 'sending'),
                   'sent', pg_catalog.count(*) filter (where e.status = 'sent'),
                   'failed', pg_catalog.count(*) filter (where e.status = 'failed'),
                   'cancelled', pg_catalog.count(*) filter (where e.status = 'cancelled'))
                   from public.email_outbox e where e.organization_id = $1 and e.organization_id = n.organization_id and e.notification_id = n.id) as delivery$$, 'item', 'app.notification_json(s.r, s.delivery)')
  when 'all-notifications' then pg_catalog.jsonb_build_object(
    'from', 'public.notifications n', 'id', 'n.id', 'scope', 'platform',
    'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('n.created_at', 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object(
      'type', $$n.type = ($2 ->> 'type')::public.notification_type$$,
      'organization_id', $$(n.organization_id = ($2 ->> 'organization_id')::uuid and n.organization_id <> app.platform_org_id())$$),
    'row', $$row(n.*)::public.notifications as r, (select pg_catalog.jsonb_build_object(
                   'pending', pg_catalog.count(*) filter (where e.status = 'pending'),
                   'sending', pg_catalog.count(*) filter (where e.status = 'sending'),
                   'sent', pg_catalog.count(*) filter (where e.status = 'sent'),
                   'failed', pg_catalog.count(*) filter (where e.status = 'failed'),
                   'cancelled', pg_catalog.count(*) filter (where e.status = 'cancelled'))
                   from public.email_outbox e where e.organization_id = n.organization_id and e.notification_id = n.id) as delivery$$, 'item', 'app.notification_json(s.r, s.delivery)')
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
    'row', 'row(x.*)::public.sessions as r',
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
    'row', 'row(o.*)::public.organizations as r', 'item', 'app.admin_organization_json(s.r, (s.r).users_count)')
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
    'row', 'row(u.*)::app.members as r, o.id as org_id, o.name as org_name, o.slug as org_slug, o.status as org_status',
    'item', $$app.member_json(s.r) || pg_catalog.jsonb_build_object('role', (s.r).role,
                'is_platform_admin', (s.r).role = 'platform_admin',
                'organization', case when s.org_id is null then null else pg_catalog.jsonb_build_object(
                  'id', s.org_id, 'name', s.org_name, 'slug', s.org_slug, 'status', s.org_status) end)$$)
  end
$function$;

-- app.locked_member: rule 3.
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

-- app.managed_invitation: rule 3.
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

-- app.my_organization: rule 3.
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

-- app.notification_json: rule 5.
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

-- app.notification_replay: rule 3.
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

-- app.queue_invitation_email: rule 7.
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

-- app.queue_notification: rule 7.
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

-- app.remove_user: rules 2, 3.
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

-- app.require_campaign: rule 3.
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

-- app.require_role: rule 3.
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

-- app.require_verified_email: rule 3.
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

-- app.send_notification: rule 3.
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

-- app.update_campaign: rules 3, 6.
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

-- app.update_lead: rules 3, 6.
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

-- app.update_meeting: rules 3, 6.
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

-- app.update_organization: rules 3, 7.
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

-- auth.accept_invitation: rules 2, 4, 10.
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

-- auth.admin_revoke_sessions: rule 9.
CREATE OR REPLACE FUNCTION auth.admin_revoke_sessions(p_user_id uuid, p_reason text)
 RETURNS integer
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_count integer;
begin
  perform auth.authorize_platform_admin();
  update public.sessions set revoked_at = pg_catalog.now(), revoked_reason = p_reason
   where user_id = p_user_id and revoked_at is null;
  get diagnostics v_count = row_count;
  return v_count;
end
$function$;

-- auth.authorize: rule 3.
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

-- auth.begin_request: rule 1.
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

-- auth.change_password: rule 7.
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

-- auth.check_invitation_limits: rule 8.
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

-- auth.check_notification_quota: rule 8.
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

-- auth.count_campaign_leads: rule 2.
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

-- auth.expire_unverified_accounts: rule 4.
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

-- auth.open_session: rule 9.
CREATE OR REPLACE FUNCTION auth.open_session(p_user_id uuid, p_user_agent text, p_ip inet)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_token text := auth.new_token();
  v_session uuid;
  v_org uuid;
begin
  select organization_id into v_org from public.users where id = p_user_id;
  insert into public.sessions (user_id, user_organization_id, token_hash, token_key, user_agent, ip, expires_at)
  values (p_user_id, v_org, auth.hash_token(v_token), extensions.gen_random_bytes(32),
          pg_catalog.left(p_user_agent, 512), p_ip,
          pg_catalog.now() + (auth.current_settings()).refresh_token_ttl)
  returning id into v_session;
  update public.users set last_login_at = pg_catalog.now() where id = p_user_id;
  return pg_catalog.jsonb_build_object('session_id', v_session, 'refresh_token', v_token,
                                       'user', auth.profile(p_user_id));
end
$function$;

-- auth.outbox_claim: rule 4.
CREATE OR REPLACE FUNCTION auth.outbox_claim(p_limit integer, p_stale interval)
 RETURNS TABLE(id uuid, to_email text, template text, context jsonb, attempts integer, max_attempts integer)
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

-- auth.refresh: rule 6.
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

-- auth.register: rule 2.
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

-- auth.reset_password: rules 6, 7.
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

-- auth.revoke_member_sessions: rules 3, 9.
CREATE OR REPLACE FUNCTION auth.revoke_member_sessions(p_user_id uuid, p_reason text)
 RETURNS integer
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v_count integer;
  v_target_role text;
begin
  -- coalesce: an unset role must be refused, not compared to NULL.
  if coalesce(app.current_user_role(), '') not in ('owner', 'admin') then
    raise exception 'This action requires one of the roles: owner, admin' using errcode = 'VA403';
  end if;
  select role::text into v_target_role from public.users
   where id = p_user_id and organization_id = v_current_org;
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
$function$;

-- auth.verify_email: rule 6.
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

comment on function auth.begin_request(uuid, uuid, uuid, text) is
  'Checks the JWT claims against the database (session live, user active, organization active, org and role unchanged, request role suited to the user) and sets app.session_id, app.user_id, app.org_id and app.role for this transaction only (SET LOCAL on a Citus coordinator, so that they reach the shards; with vectra.tenant_routing = strict, an organization user''s statement that would touch more than one shard is an error).';
