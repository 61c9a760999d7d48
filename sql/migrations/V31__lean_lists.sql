-- Lean lists (issue 21; docs/performance.md, "Big tenants" and "CPU per
-- request").
--
-- 1. Totals of searches in big tenants. A list counts its rows up to the
--    exact-count cap (1,000). A filter an index serves in the list's order
--    costs that count at most the cap's index entries; a search does not:
--    `search=lee` in a tenant of a million leads (2 % match) read about
--    60,000 rows, three ILIKEs each, to count 1,001: 26.6 ms of its 27
--    through HTTP. The same for the meetings of one campaign (a lead lookup
--    per meeting). app.list_spec names, per list, the filters counted that
--    way ('estimated'). With one in the request, app.list_positions no
--    longer counts in a scope of ten times the cap or more rows (the
--    planner's estimate of the scope alone, the tenant's own size): the
--    total is the matches known, those up to the page and the one after
--    it, flagged total_is_estimate. In a smaller scope it counts up to the
--    cap, and past it answers the cap plus one, flagged. Never the
--    planner's estimate of the filter itself: that comes from statistics
--    over the whole table, values of every tenant, and a tenant could
--    probe them with searches of its choosing (found by a review of this
--    migration: a page 2 of a search with no match of the tenant's own
--    answered an estimate that another tenant's rows made). On a Citus
--    coordinator, which has no estimate (V30), the count as before.
--
-- 2. Items by statements whose plans are kept. app.page built the statement
--    that reads a page's rows with EXECUTE, planned on every call: in a
--    small tenant a page cost PostgreSQL more than the window lists it
--    replaced (docs/performance.md). app.list_items holds one static
--    statement per list for leads, meetings, campaigns, members,
--    invitations, the audit log and sessions (their specs say items:
--    static, and no longer carry the item expression); the notification
--    lists, the deliveries and the console's lists keep the spec's
--    expression. And app.list_positions reads a page's positions and the
--    count in one statement (one planning and one execution fewer), but
--    with an estimated filter (1.) or on a Citus coordinator, where they
--    stay two.
--
-- 3. The row-to-JSON helpers those statements call inline. V16 made every
--    LANGUAGE sql function with a SET clause plpgsql, so that its plans are
--    kept; for the five below, which run no statement of their own (an
--    expression over their arguments), that left a call per row through a
--    plpgsql frame and a search_path switched and restored: 2.5
--    microseconds a row, 51 of the 138 the rows of a page of 20 leads cost
--    PostgreSQL in a kept plan. As plain LANGUAGE sql functions without a
--    SET clause, STABLE (jsonb_build_object is), they are inlined like
--    app.member_json, app.invitation_json and app.organization_json already
--    were: every name in them is qualified (pg_catalog., app., and the
--    operators as operator(pg_catalog.…)), so no search_path can redirect
--    them, and inlined they run in the caller's statement, under the
--    caller's pinned search_path. Bodies unchanged but for that.
--    (In a statement planned on every call the inlining is paid at each
--    planning and saves nothing: hence 2.)
--
-- 4. Nothing rebuilt in every transaction. A request is one transaction,
--    and PL/pgSQL builds the state of each expression it evaluates once per
--    transaction; a LANGUAGE sql function it cannot inline is parsed and
--    planned once per transaction. app.list_spec, inlined into
--    `v_spec := app.list_spec(p_list)`, was one CASE expression over every
--    list's spec (hundreds of nodes, built twice per page: about 150
--    microseconds each); it is now PL/pgSQL with a CASE statement, so only
--    the list asked for is built (8 microseconds). app.filters, a SQL
--    function with a FROM clause (never inlined), is PL/pgSQL too. A leads
--    page called alone in its transaction (pgbench, one client): 0.94 ms
--    before this migration, 0.51 after.
--
-- 5. The notification lists' delivery counts are written once in
--    app.list_spec (they were two copies differing by the tenant's scope).

create or replace function app.list_spec(p_list text)
 returns jsonb
 language plpgsql
 immutable parallel safe
 set search_path to 'pg_catalog', 'pg_temp'
as $function$
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

create or replace function app.list_positions(p_list text, p_sort text, p_desc boolean, p_filters jsonb, p_after jsonb, p_limit integer, p_offset integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_spec jsonb := app.list_spec(p_list);
  v_scope record;
  v_key jsonb;
  v_where text;
  v_filter text;
  v_dir text := case when p_desc then 'desc' else 'asc' end;
  v_cap integer := app.exact_count_cap();
  v_rows jsonb;
  v_total bigint;
  v_plan json;
  v_estimate bigint;
  v_citus boolean;
  v_estimated boolean;
  v_positions text;
  v_count text;
begin
  if v_spec is null then
    raise exception 'list % unknown', p_list using errcode = '22023';
  end if;
  v_key := v_spec -> 'sorts' -> p_sort;
  if v_key is null then
    raise exception 'sort: % cannot sort by %', p_list, p_sort using errcode = '22023';
  end if;
  if p_limit not between 1 and 101 or p_offset not between 0 and app.page_depth_cap(false) then
    raise exception 'limit or offset out of bounds' using errcode = '22023';
  end if;
  v_scope := app.list_scope(v_spec);
  v_where := v_scope.sql;
  if coalesce(p_filters, '{}') ? 'search' and p_offset > app.page_depth_cap(true) then
    raise exception 'offset out of bounds for a search' using errcode = '22023';
  end if;
  for v_filter in select pg_catalog.jsonb_object_keys(coalesce(p_filters, '{}')) loop
    if not (v_spec -> 'filters') ? v_filter then
      raise exception '% has no filter %', p_list, v_filter using errcode = '22023';
    end if;
    v_where := v_where || ' and ' || (v_spec -> 'filters' ->> v_filter);
  end loop;
  if exists (select from pg_catalog.jsonb_array_elements_text(coalesce(v_spec -> 'required', '[]')) r (f)
              where not coalesce(p_filters, '{}') ? r.f) then
    raise exception '% needs the filters %', p_list, v_spec -> 'required' using errcode = '22023';
  end if;
  v_citus := pg_catalog.current_setting('citus.multi_shard_modify_mode', true) is not null;
  -- A filter no index serves in the list's order (a search, the meetings of
  -- a campaign) would read about cap / selectivity rows to count up to the
  -- cap (below).
  v_estimated := coalesce(p_filters, '{}') ?| array(
                   select pg_catalog.jsonb_array_elements_text(coalesce(v_spec -> 'estimated', '[]')));
  -- The rows' keys and ids, in index order, from the offset or after the
  -- cursor (a subquery: run below as `select (...)`).
  v_positions := pg_catalog.format(
    'select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(s.k, s.i) order by s.k %1$s, s.i %1$s)'
    ' from (select %2$s as k, %3$s as i from %4$s where %5$s %6$s order by 1 %1$s, 2 %1$s limit $5 offset $6) s',
    v_dir, v_key ->> 0, v_spec ->> 'id', v_spec ->> 'from', v_where,
    case when p_after is null then ''
         else pg_catalog.format('and (%s, %s) %s ($3::%s, $4::uuid)', v_key ->> 0, v_spec ->> 'id',
                                case when p_desc then '<' else '>' end, v_key ->> 1) end);
  -- The count up to the cap.
  v_count := pg_catalog.format('select pg_catalog.count(*) from (select from %s where %s limit %s) c',
                               v_spec ->> 'from', v_where, v_cap + 1);
  -- On PostgreSQL without an estimated filter, both in one statement (one
  -- planning, one execution); otherwise the positions first.
  if v_estimated or v_citus then
    execute pg_catalog.format('select (%s)', v_positions) into v_rows
      using v_scope.id, p_filters, p_after ->> 0, p_after ->> 1, p_limit, p_offset;
  else
    execute pg_catalog.format('select (%s), (%s)', v_positions, v_count) into v_rows, v_total
      using v_scope.id, p_filters, p_after ->> 0, p_after ->> 1, p_limit, p_offset;
  end if;
  -- The last page by offset knows the total (not an empty one past the end,
  -- nor one after a cursor); otherwise exact up to the cap, then the
  -- planner's estimate.
  v_rows := coalesce(v_rows, '[]');
  if p_after is null and pg_catalog.jsonb_array_length(v_rows) < p_limit
     and (pg_catalog.jsonb_array_length(v_rows) > 0 or p_offset = 0) then
    return pg_catalog.jsonb_build_object('rows', v_rows, 'total_is_estimate', false,
                                         'total', p_offset + pg_catalog.jsonb_array_length(v_rows));
  end if;
  -- An estimated filter. Its total never comes from the planner's estimate
  -- of the filter: the planner estimates a search from statistics over the
  -- whole table, sampled values of every tenant, and a tenant could probe
  -- them with searches of its choosing. In a scope of ten times the cap or
  -- more rows (the planner's estimate of the scope alone: the tenant's own
  -- size), nothing is counted: the total is the matches known, those up to
  -- this page and the one after it, flagged. Below that (and on a Citus
  -- coordinator, which has no estimate), the matches are counted up to the
  -- cap, and past it the total is the cap plus one, flagged.
  if v_estimated and not v_citus then
    execute pg_catalog.format('explain (format json) select from %s where %s', v_spec ->> 'from', v_scope.sql)
      into v_plan using v_scope.id;
    if ((v_plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric) >= 10 * v_cap then
      -- (an empty page past the end knows of none)
      return pg_catalog.jsonb_build_object('rows', v_rows, 'total_is_estimate', true,
        'total', case when pg_catalog.jsonb_array_length(v_rows) = 0 then 0
                      else p_offset + pg_catalog.jsonb_array_length(v_rows) end);
    end if;
  end if;
  if v_estimated or v_citus then
    execute pg_catalog.format('select (%s)', v_count) into v_total using v_scope.id, p_filters;
  end if;
  if v_total > v_cap then
    if v_estimated or v_citus then
      -- More than the cap is all an estimated filter may say, and all a
      -- Citus coordinator can: it has no estimate of a distributed
      -- statement's rows (its plan says fewer than the cap), and its EXPLAIN
      -- runs on the worker inside a savepoint.
      return pg_catalog.jsonb_build_object('rows', v_rows, 'total_is_estimate', true, 'total', v_cap + 1);
    end if;
    execute pg_catalog.format('explain (format json) select from %s where %s', v_spec ->> 'from', v_where)
      into v_plan using v_scope.id, p_filters;
    v_estimate := ((v_plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric)::bigint;
    return pg_catalog.jsonb_build_object('rows', v_rows, 'total_is_estimate', true,
                                         'total', greatest(v_cap + 1, v_estimate));
  end if;
  return pg_catalog.jsonb_build_object('rows', v_rows, 'total', v_total, 'total_is_estimate', false);
end
$function$;

create or replace function app.lead_json(l public.leads)
 returns jsonb
 language sql
 stable
as $function$
  select pg_catalog.jsonb_build_object(
    'id', l.id, 'email', l.email, 'full_name', l.full_name, 'company', l.company,
    'status', l.status, 'campaign_id', l.campaign_id,
    'created_at', l.created_at, 'updated_at', l.updated_at)
$function$;

create or replace function app.meeting_json(m public.meetings)
 returns jsonb
 language sql
 stable
as $function$
  select pg_catalog.jsonb_build_object(
    'id', m.id, 'lead_id', m.lead_id, 'scheduled_at', m.scheduled_at, 'status', m.status,
    'created_at', m.created_at, 'updated_at', m.updated_at)
$function$;

create or replace function app.campaign_json(c public.campaigns, p_leads_count bigint)
 returns jsonb
 language sql
 stable
as $function$
  select pg_catalog.jsonb_build_object(
    'id', c.id, 'name', c.name, 'status', c.status, 'leads_count', coalesce(p_leads_count, 0),
    'created_at', c.created_at, 'updated_at', c.updated_at)
$function$;

create or replace function app.admin_organization_json(o public.organizations, p_users_count bigint)
 returns jsonb
 language sql
 stable
as $function$
  select app.organization_json(o) operator(pg_catalog.||)
         pg_catalog.jsonb_build_object('users_count', coalesce(p_users_count, 0), 'deleted_at', o.deleted_at)
$function$;

create or replace function app.notification_json(n public.notifications, p_delivery jsonb)
 returns jsonb
 language sql
 stable
as $function$
  select pg_catalog.jsonb_build_object(
    'id', n.id, 'type', n.type,
    'organization_id', case when n.organization_id operator(pg_catalog.=) app.platform_org_id() then null
                            else n.organization_id end,
    'sender_id', n.sender_id,
    'subject', n.subject, 'recipient_count', n.recipient_count, 'suppressed_count', n.suppressed_count,
    'created_at', n.created_at,
    'delivery', p_delivery)
$function$;

create function app.list_items(p_list text, p_scope uuid, p_ids uuid[])
 returns jsonb
 language plpgsql
 stable
 set search_path to 'pg_catalog', 'pg_temp'
as $function$
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
revoke execute on function app.list_items(text, uuid, uuid[]) from public;
grant execute on function app.list_items(text, uuid, uuid[]) to vectra_member, vectra_platform_admin, vectra_tenant_reader;
comment on function app.list_items(text, uuid, uuid[]) is
  'The items of a page of the lists whose spec says items: static (app.list_spec), in the order of p_ids, read as the caller (row-level security applies) within the list''s scope value p_scope: one static statement per list, so its plan is kept for the connection''s life (a statement built by app.page is planned on every call).';

create or replace function app.page(p_list text, p_sort text, p_desc boolean, p_filters jsonb, p_page integer, p_per_page integer, p_cursor text)
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

-- The filters of a list call: plpgsql, because as a LANGUAGE sql function
-- with a FROM clause it was never inlined, and its body was parsed and
-- planned again in every transaction (50 microseconds of a leads page).
create or replace function app.filters(variadic p_pairs text[])
 returns jsonb
 language plpgsql
 immutable
 set search_path to 'pg_catalog', 'pg_temp'
as $function$
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

comment on function app.list_spec(text) is
  'Every list of the API, described once: its rows, its scope (the rule of the tables'' read policies), sort keys, filters (and those no index serves in the list''s order: estimated) and items. app.list_positions and app.page build their queries from it alone.';

comment on function app.list_positions(text, text, boolean, jsonb, jsonb, integer, integer) is
  'Sort keys and ids of a page of a list (app.list_spec), and its total, for the caller''s scope (app.list_scope): past row-level security so that filters, search and cursors are served by indexes (their operators are not LEAKPROOF); positions only, the rows are read through row-level security by app.page. The total is exact up to app.exact_count_cap(), the planner''s estimate beyond (total_is_estimate), and the estimate without a count when a filter of the list''s estimated ones is present and the planner expects ten times the cap or more.';
