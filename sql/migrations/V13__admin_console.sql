-- V13: the platform console (/api/v1/admin/*).
--
-- The platform admin reads every tenant as vectra_platform_admin through the
-- select policies of V9, which require a platform-admin context; the console's
-- reads are SECURITY INVOKER functions under those policies. Its writes are
-- SECURITY DEFINER functions owned by vectra_definer, like the members', and
-- start with auth.authorize_platform_admin(): the settings must match a live
-- session of an active platform admin whose email is verified. For them,
-- vectra_definer gets policies keyed on that same context (it has no
-- organization to be confined to). Every write is in the audit log, with the
-- target organization's id and the platform admin as actor.

------------------------------------------------------------------------------
-- Who is calling
------------------------------------------------------------------------------

-- Reads: the platform-admin context (the policies would show nothing anyway).
create function app.require_platform_admin() returns void
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  if not app.is_platform_admin() then
    raise exception 'Platform admin access required' using errcode = 'VA403';
  end if;
end
$$;

-- Writes: the context, checked against a live session of a verified,
-- active platform admin. Returns the admin's user id.
create function auth.authorize_platform_admin() returns uuid
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
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
$$;

-- Ends every session of one user, for the console's suspensions.
create function auth.admin_revoke_sessions(p_user_id uuid, p_reason text) returns integer
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_count integer;
begin
  perform auth.authorize_platform_admin();
  update public.sessions set revoked_at = pg_catalog.now(), revoked_reason = p_reason
   where user_id = p_user_id and revoked_at is null;
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

------------------------------------------------------------------------------
-- vectra_definer in a platform-admin context
------------------------------------------------------------------------------

grant insert, delete on public.organizations to vectra_definer;
-- Policies run their functions as the querying role.
grant execute on function app.is_platform_admin() to vectra_definer;
grant update (plan, status, deleted_at) on public.organizations to vectra_definer;

-- The platform-admin test is wrapped in a scalar subquery everywhere: the
-- planner then evaluates it once per statement (an InitPlan) instead of
-- inlining two current_setting() calls into every row's filter, which made a
-- count over a million leads 3.4 times slower (358 ms against 105 ms). The
-- tenant policies keep their plain equality (org_id = app.current_org_id()),
-- which indexes use and a sharded planner can route on.
do $$
declare
  t text;
begin
  foreach t in array array['organizations', 'users', 'invitations', 'notifications', 'email_outbox',
                           'audit_log', 'campaigns', 'leads', 'meetings'] loop
    execute pg_catalog.format(
      'alter policy %1$s_platform_admin_select on public.%1$I using ((select app.is_platform_admin()))', t);
  end loop;
end
$$;

do $$
declare
  t text;
begin
  foreach t in array array['organizations', 'users', 'invitations', 'campaigns', 'leads', 'meetings'] loop
    execute pg_catalog.format($f$
      create policy %1$s_definer_platform_admin on public.%1$I for all to vectra_definer
        using ((select app.is_platform_admin())) with check ((select app.is_platform_admin()));
      comment on policy %1$s_definer_platform_admin on public.%1$I is
        'The console''s write functions (owned by vectra_definer, behind auth.authorize_platform_admin) reach every organization''s %1$s in a platform-admin context only.';
    $f$, t);
  end loop;
end
$$;
create policy audit_log_definer_platform_admin on public.audit_log for insert to vectra_definer
  with check ((select app.is_platform_admin()) and actor_id = app.current_user_id());
comment on policy audit_log_definer_platform_admin on public.audit_log is
  'The console''s write functions append audit entries for any organization (or none), in the platform admin''s name.';
create policy email_outbox_definer_platform_admin on public.email_outbox for insert to vectra_definer
  with check ((select app.is_platform_admin()));
comment on policy email_outbox_definer_platform_admin on public.email_outbox is
  'The console''s write functions queue invitation and organization-update emails of any organization.';

------------------------------------------------------------------------------
-- Reads (security invoker, as vectra_platform_admin)
------------------------------------------------------------------------------

-- GET /admin/overview: every number in one statement.
create function app.admin_overview() returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v jsonb;
  v_since timestamptz := pg_catalog.now() - interval '30 days';
begin
  perform app.require_platform_admin();
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
$$;

create function app.admin_organization_json(o public.organizations, p_users_count bigint) returns jsonb
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select app.organization_json(o) || pg_catalog.jsonb_build_object('users_count', coalesce(p_users_count, 0),
                                                                     'deleted_at', o.deleted_at)
$$;

-- GET /admin/organizations. users_count counts the users not removed.
create function app.admin_list_organizations(p_page integer, p_per_page integer, p_plan text, p_status text,
                                             p_search text, p_sort text, p_desc boolean) returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_pattern text := app.like_pattern(p_search);
  v_total bigint;
  v_items jsonb;
begin
  perform app.require_platform_admin();
  perform app.check_page(p_page, p_per_page);
  perform app.check_sort(p_sort, 'created_at', 'name', 'plan', 'users_count');
  perform app.check_filter('plan', p_plan, 'free', 'starter', 'pro', 'enterprise');
  perform app.check_filter('status', p_status, 'active', 'suspended', 'deleted');
  with counted as (
    select o as r, (select pg_catalog.count(*) from public.users u
                     where u.organization_id = o.id and u.status <> 'removed') as users_count
      from public.organizations o
     where (p_plan is null or o.plan::text = p_plan)
       and (p_status is null or o.status::text = p_status)
       and (v_pattern is null or o.name ilike v_pattern or o.slug ilike v_pattern)
  ), matching as (
    select c.r, c.users_count, pg_catalog.row_number() over (
             order by case when p_sort = 'name' and not p_desc then pg_catalog.lower((c.r).name) end asc,
                      case when p_sort = 'name' and p_desc then pg_catalog.lower((c.r).name) end desc,
                      case when p_sort = 'plan' and not p_desc then (c.r).plan end asc,
                      case when p_sort = 'plan' and p_desc then (c.r).plan end desc,
                      case when p_sort = 'users_count' and not p_desc then c.users_count end asc,
                      case when p_sort = 'users_count' and p_desc then c.users_count end desc,
                      case when p_sort = 'created_at' and not p_desc then (c.r).created_at end asc,
                      case when p_sort = 'created_at' and p_desc then (c.r).created_at end desc,
                      (c.r).id) as ord
      from counted c
  )
  select (select pg_catalog.count(*) from matching),
         coalesce((select pg_catalog.jsonb_agg(app.admin_organization_json(p.r, p.users_count) order by p.ord)
                     from (select * from matching order by ord
                            limit p_per_page offset (p_page - 1)::bigint * p_per_page) p), '[]')
    into v_total, v_items;
  return pg_catalog.jsonb_build_object('items', v_items, 'page', p_page, 'per_page', p_per_page, 'total', v_total);
end
$$;

-- GET /admin/organizations/{id}: the organization, its owners, its counts
-- and its pending invitations.
create function app.admin_get_organization(p_id uuid) returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
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
$$;

-- GET /admin/users: every user, platform admins included (and marked).
create function app.admin_list_users(p_page integer, p_per_page integer, p_organization_id uuid, p_role text,
                                     p_status text, p_search text, p_sort text, p_desc boolean) returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_pattern text := app.like_pattern(p_search);
  v_total bigint;
  v_items jsonb;
begin
  perform app.require_platform_admin();
  perform app.check_page(p_page, p_per_page);
  perform app.check_sort(p_sort, 'created_at', 'name', 'email', 'last_login_at');
  perform app.check_filter('role', p_role, 'platform_admin', 'owner', 'admin', 'manager', 'member');
  perform app.check_filter('status', p_status, 'active', 'suspended', 'removed');
  with matching as (
    select u as r, o.id as org_id, o.name as org_name, o.slug as org_slug, o.status as org_status,
           pg_catalog.row_number() over (
             order by case when p_sort = 'name' and not p_desc then pg_catalog.lower(u.full_name) end asc,
                      case when p_sort = 'name' and p_desc then pg_catalog.lower(u.full_name) end desc,
                      case when p_sort = 'email' and not p_desc then u.email end asc,
                      case when p_sort = 'email' and p_desc then u.email end desc,
                      case when p_sort = 'last_login_at' and not p_desc then u.last_login_at end asc nulls first,
                      case when p_sort = 'last_login_at' and p_desc then u.last_login_at end desc nulls last,
                      case when p_sort = 'created_at' and not p_desc then u.created_at end asc,
                      case when p_sort = 'created_at' and p_desc then u.created_at end desc,
                      u.id) as ord
      from app.members u left join public.organizations o on o.id = u.organization_id
     where (p_organization_id is null or u.organization_id = p_organization_id)
       and (p_role is null or u.role::text = p_role)
       and (p_status is null or u.status::text = p_status)
       and (v_pattern is null or u.full_name ilike v_pattern or u.email ilike v_pattern)
  )
  select (select pg_catalog.count(*) from matching),
         coalesce((select pg_catalog.jsonb_agg(app.member_json(p.r) || pg_catalog.jsonb_build_object(
                            'role', (p.r).role,
                            'is_platform_admin', (p.r).role = 'platform_admin',
                            'organization', case when p.org_id is null then null else pg_catalog.jsonb_build_object(
                              'id', p.org_id, 'name', p.org_name, 'slug', p.org_slug, 'status', p.org_status) end)
                          order by p.ord)
                     from (select * from matching order by ord
                            limit p_per_page offset (p_page - 1)::bigint * p_per_page) p), '[]')
    into v_total, v_items;
  return pg_catalog.jsonb_build_object('items', v_items, 'page', p_page, 'per_page', p_per_page, 'total', v_total);
end
$$;

-- The database side of GET /admin/system/metrics and of GET /metrics: the
-- database's size and connections, the outbox by status and the delivery
-- latency (queued to sent) over the last 24 hours. Aggregates only, no row;
-- SECURITY DEFINER so that the worker (which reads no row of the outbox) can
-- serve it to a Prometheus scraper.
create function auth.service_stats() returns jsonb
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
comment on function auth.service_stats() is
  'Aggregates for the system metrics (database size and connections, outbox counts, delivery latency over 24 h); callable by the platform admin and the worker.';

------------------------------------------------------------------------------
-- Writes (SECURITY DEFINER, owned by vectra_definer)
------------------------------------------------------------------------------

-- The platform admin's audit entry for organization p_org (or none).
create function app.admin_audit(p_org uuid, p_action text, p_target_type text, p_target_id uuid, p_data jsonb)
returns void
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data, created_at)
  values (p_org, app.current_user_id(), p_action, p_target_type, p_target_id,
          coalesce(p_data, '{}'), pg_catalog.clock_timestamp())
$$;

-- An invitation into organization p_org, with its email. The caller checks
-- who may invite; this checks the organization, the address and the limits.
create function app.admin_create_invitation(p_org uuid, p_email text, p_role public.user_role) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
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
  if exists (select 1 from public.users where pg_catalog.lower(email) = v_email) then
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
$$;

-- POST /admin/organizations: {name, plan?, settings?, owner_email?}
create function app.admin_create_organization(p jsonb) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
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
  perform app.admin_audit(v.id, 'organization.create', 'organization', v.id,
                          pg_catalog.jsonb_build_object('name', v.name, 'slug', v.slug, 'plan', v.plan));
  v_result := app.admin_organization_json(v, 0);
  if pg_catalog.jsonb_typeof(p -> 'owner_email') = 'string' and pg_catalog.btrim(p ->> 'owner_email') <> '' then
    v_result := v_result || pg_catalog.jsonb_build_object('owner_invitation',
                  app.admin_create_invitation(v.id, p ->> 'owner_email', 'owner'));
  end if;
  return v_result;
end
$$;

-- POST /admin/organizations/{id}/users/invite: any role, owner included,
-- into an active organization.
create function app.admin_invite(p_org uuid, p_email text, p_role text) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
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
$$;

-- PATCH /admin/organizations/{id}: {name?, plan?, settings?, status?} with
-- status active or suspended (DELETE deletes). Owners are emailed when the
-- plan or the status changes.
create function app.admin_update_organization(p_org uuid, p jsonb) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_before public.organizations;
  v_after public.organizations;
  v_errors jsonb := '{}';
  v_key text;
  v_changed jsonb := '{}';
  v_notice text[] := '{}';
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
  update public.organizations
     set name = coalesce(pg_catalog.btrim(p ->> 'name'), name),
         plan = coalesce((p ->> 'plan')::public.org_plan, plan),
         settings = coalesce(p -> 'settings', settings),
         status = coalesce((p ->> 'status')::public.org_status, status),
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
    insert into public.email_outbox (organization_id, to_email, template, context)
    select p_org, u.email, 'organization-update',
           pg_catalog.jsonb_build_object(
             'name', u.full_name, 'organization_name', v_after.name, 'actor_name', 'The Vectra team',
             'changes', (select pg_catalog.jsonb_agg(k order by k) from pg_catalog.jsonb_object_keys(v_changed) k),
             'details', pg_catalog.to_jsonb(v_notice))
      from public.users u
     where u.organization_id = p_org and u.role = 'owner' and u.status = 'active';
  end if;
  return app.admin_get_organization(p_org);
end
$$;

-- DELETE /admin/organizations/{id}: soft (status deleted: its users are
-- refused at their next request and at login; PATCH status active restores
-- it), or with p_hard every row of it, in every tenant table, in this one
-- transaction. The audit log keeps its entries (it is append-only) and the
-- record of the erasure.
create function app.admin_delete_organization(p_org uuid, p_hard boolean) returns jsonb
language plpgsql volatile security definer
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
  if p_hard is not true then
    if v.status <> 'deleted' then
      update public.organizations set status = 'deleted', deleted_at = pg_catalog.now() where id = p_org;
      perform app.admin_audit(p_org, 'organization.delete', 'organization', p_org,
                              pg_catalog.jsonb_build_object('name', v.name, 'from', v.status));
    end if;
    return pg_catalog.jsonb_build_object('id', p_org, 'status', 'deleted', 'erased', false);
  end if;
  v_counts := pg_catalog.jsonb_build_object(
    'users', (select pg_catalog.count(*) from public.users where organization_id = p_org),
    'invitations', (select pg_catalog.count(*) from public.invitations where organization_id = p_org),
    'campaigns', (select pg_catalog.count(*) from public.campaigns where organization_id = p_org),
    'leads', (select pg_catalog.count(*) from public.leads where organization_id = p_org),
    'meetings', (select pg_catalog.count(*) from public.meetings where organization_id = p_org));
  perform app.admin_audit(p_org, 'organization.erase', 'organization', p_org,
                          pg_catalog.jsonb_build_object('name', v.name, 'slug', v.slug, 'rows', v_counts));
  -- Every tenant table's key to organizations cascades (sessions and
  -- one-time tokens follow their users).
  delete from public.organizations where id = p_org;
  return pg_catalog.jsonb_build_object('id', p_org, 'status', 'erased', 'erased', true, 'rows', v_counts);
end
$$;

-- PATCH /admin/users/{id}: {status: active | suspended} of an organization
-- user. Suspending ends the user's sessions (they sign in again once
-- reactivated).
create function app.admin_update_user(p_user uuid, p jsonb) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
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
    if v_status = 'suspended' then
      v_revoked := auth.admin_revoke_sessions(p_user, 'suspended by the platform admin');
    end if;
    perform app.admin_audit(v.organization_id, case when v_status = 'suspended' then 'user.suspend' else 'user.reactivate' end,
                            'user', p_user, pg_catalog.jsonb_build_object('email', v.email, 'sessions_revoked', v_revoked));
  end if;
  select * into v from app.members where id = p_user;
  return app.member_json(v) || pg_catalog.jsonb_build_object('role', v.role, 'sessions_revoked', v_revoked);
end
$$;

------------------------------------------------------------------------------
-- Ownership and grants
------------------------------------------------------------------------------

grant create on schema app to vectra_definer;
alter function app.admin_audit(uuid, text, text, uuid, jsonb) owner to vectra_definer;
alter function app.admin_create_invitation(uuid, text, public.user_role) owner to vectra_definer;
alter function app.admin_create_organization(jsonb) owner to vectra_definer;
alter function app.admin_invite(uuid, text, text) owner to vectra_definer;
alter function app.admin_update_organization(uuid, jsonb) owner to vectra_definer;
alter function app.admin_delete_organization(uuid, boolean) owner to vectra_definer;
alter function app.admin_update_user(uuid, jsonb) owner to vectra_definer;
revoke create on schema app from vectra_definer;

revoke all on function
  app.require_platform_admin(), auth.authorize_platform_admin(), auth.admin_revoke_sessions(uuid, text),
  auth.service_stats(), app.admin_overview(), app.admin_organization_json(public.organizations, bigint),
  app.admin_list_organizations(integer, integer, text, text, text, text, boolean), app.admin_get_organization(uuid),
  app.admin_list_users(integer, integer, uuid, text, text, text, text, boolean),
  app.admin_audit(uuid, text, text, uuid, jsonb), app.admin_create_invitation(uuid, text, public.user_role),
  app.admin_create_organization(jsonb), app.admin_invite(uuid, text, text),
  app.admin_update_organization(uuid, jsonb), app.admin_delete_organization(uuid, boolean),
  app.admin_update_user(uuid, jsonb)
from public;
-- The console: reads as the platform admin, writes through vectra_definer.
grant execute on function
  app.require_platform_admin(), app.admin_overview(), app.admin_organization_json(public.organizations, bigint),
  app.admin_list_organizations(integer, integer, text, text, text, text, boolean), app.admin_get_organization(uuid),
  app.admin_list_users(integer, integer, uuid, text, text, text, text, boolean), auth.service_stats(),
  app.admin_create_organization(jsonb), app.admin_invite(uuid, text, text),
  app.admin_update_organization(uuid, jsonb), app.admin_delete_organization(uuid, boolean),
  app.admin_update_user(uuid, jsonb),
  -- helpers the reads call as the platform admin
  app.like_pattern(text), app.check_sort(text, text[]), app.check_filter(text, text, text[]),
  app.check_page(integer, integer), app.organization_json(public.organizations),
  app.invitation_json(app.invitation_rows), app.member_json(app.members)
to vectra_platform_admin;
grant execute on function
  app.require_platform_admin(), auth.authorize_platform_admin(), auth.admin_revoke_sessions(uuid, text),
  app.admin_organization_json(public.organizations, bigint), app.admin_get_organization(uuid),
  auth.unique_slug(text), app.check_page(integer, integer), app.like_pattern(text),
  app.check_sort(text, text[]), app.check_filter(text, text, text[])
to vectra_definer;
grant execute on function auth.service_stats() to vectra_worker;
-- The console's metrics call auth.service_stats() (its only function in auth).
grant usage on schema auth to vectra_platform_admin;
