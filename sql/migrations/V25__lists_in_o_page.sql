-- Lists whose cost does not grow with the tenant.
--
-- Every list numbered all its matching rows with a window ordered by CASE
-- expressions, which no index can serve: each page sorted the whole tenant
-- (2.6 s for the first page of a million leads). Now:
--
-- * Every list is described once, in app.list_spec: its rows, its scope,
--   its sort keys, its filters, its items. app.page builds the queries of a
--   page from that description alone; nothing a caller sends becomes SQL
--   text, only values ($1 the scope, $2 the filters as jsonb, $3/$4 the
--   cursor's key and id, $5/$6 the limit and offset).
-- * Positions, then rows. Under row-level security PostgreSQL puts into an
--   index scan only the conditions whose functions are LEAKPROOF, and enum
--   equality, ILIKE and lower() are not: a status filter, a search or a
--   cursor sorted by name would read the whole tenant. So the positions of a
--   page (sort keys and ids) and its count are computed by
--   app.list_positions, as the owner, past row-level security, with the
--   owner's own conditions and the caller's scope (app.list_scope: the same
--   rule as the tables' read policies); then app.page reads the rows as the
--   caller, by id, through row-level security, which still decides what the
--   caller sees.
-- * `ORDER BY <key>, id` with the same direction on both, served by an index
--   (scope column[, filter], key, id); `id` breaks ties, so the order is
--   total and stable.
-- * `page`: an OFFSET, within the first 10,000 rows (1,000 in a search:
--   app.page_depth_cap); beyond, clients follow `next_cursor` (a keyset: the
--   last row's key and id), which every page returns while rows remain. A
--   cursor is signed with a key of the database (auth.settings.cursor_key)
--   and bound to its list, sort, order and filters: a forged or stale one is
--   a 422.
-- * `total`: exact up to 1,000 (a count that stops there), beyond it the
--   planner's estimate, flagged by `total_is_estimate`
--   (app.exact_count_cap).
-- * `search`: trigram indexes (pg_trgm, GIN) serve the substring searches;
--   a search of leads must hold 3 characters (a trigram) at least.
--
-- A campaign's leads count and an organization's users count are kept with
-- them (campaigns.leads_count, organizations.users_count, statement-level
-- triggers), so a page counts nothing. The platform overview is a snapshot
-- the outbox worker refreshes every minute (auth.refresh_overview), shown
-- with its time: never a scan of every lead per request.

create extension if not exists pg_trgm with schema extensions;
create extension if not exists btree_gin with schema extensions;

-- ---------------------------------------------------------------- cursors

-- (A volatile default rewrites the table: auth.settings holds one row.)
-- squawk-ignore adding-field-with-default
alter table auth.settings add column cursor_key bytea not null default extensions.gen_random_bytes(32)
  check (pg_catalog.length(cursor_key) = 32);

comment on column auth.settings.cursor_key is
  'HMAC key of the lists'' cursors (app.make_cursor, app.open_cursor): made by the migration, read only by the owner''s functions.';

create function app.exact_count_cap() returns integer
language sql immutable parallel safe
as $$ select 1000 $$;

comment on function app.exact_count_cap() is
  'Rows a list counts exactly; beyond, its total is the planner''s estimate (at least the cap + 1), flagged by total_is_estimate. Also how deep `page` goes in a search.';

create function app.page_depth_cap(p_search boolean) returns integer
language sql immutable parallel safe
as $$ select case when p_search then app.exact_count_cap() else 10000 end $$;

comment on function app.page_depth_cap(boolean) is
  'How many rows `page` reaches (page - 1) * per_page < cap: 10,000 in a list, 1,000 in a search (whose offsets cost the rows the search skips); next_cursor goes further, at the cost of a page.';

create function app.make_cursor(p_fingerprint text, p_position jsonb) returns text
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_payload text := pg_catalog.jsonb_build_object(
    'f', pg_catalog.left(pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_fingerprint, 'UTF8')), 'hex'), 16),
    'k', p_position)::text;
begin
  return auth.b64url(pg_catalog.convert_to(v_payload, 'UTF8')) || '.'
      || auth.b64url(pg_catalog.substr(extensions.hmac(pg_catalog.convert_to(v_payload, 'UTF8'),
                                                        (auth.current_settings()).cursor_key, 'sha256'), 1, 16));
end
$$;

comment on function app.make_cursor(text, jsonb) is
  'A list''s cursor after the row at p_position ([sort key, id]): the position and the fingerprint of its list, sort, order and filters, signed (HMAC-SHA-256 under auth.settings.cursor_key, which only the owner reads).';

create function app.open_cursor(p_cursor text, p_fingerprint text) returns jsonb
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_payload bytea;
  v_sig bytea;
  v jsonb;
begin
  begin
    if pg_catalog.length(p_cursor) > 1024 or pg_catalog.split_part(p_cursor, '.', 3) <> '' then
      v := null;
    else
      v_payload := auth.b64url_decode(pg_catalog.split_part(p_cursor, '.', 1));
      v_sig := auth.b64url_decode(pg_catalog.split_part(p_cursor, '.', 2));
      if v_sig is distinct from pg_catalog.substr(
           extensions.hmac(v_payload, (auth.current_settings()).cursor_key, 'sha256'), 1, 16) then
        v := null;
      else
        v := pg_catalog.convert_from(v_payload, 'UTF8')::jsonb;
      end if;
    end if;
  exception when others then
    v := null;
  end;
  if v is null or v ->> 'f' is distinct from pg_catalog.left(pg_catalog.encode(
       pg_catalog.sha256(pg_catalog.convert_to(p_fingerprint, 'UTF8')), 'hex'), 16)
     or pg_catalog.jsonb_typeof(v -> 'k') is distinct from 'array'
     or pg_catalog.jsonb_typeof(v -> 'k' -> 1) is distinct from 'string' then
    raise exception 'cursor: is not a cursor of this list with these filters and this order; start again from the first page'
      using errcode = 'VA422',
            detail = '{"cursor": "is not a cursor of this list with these filters and this order; start again from the first page"}';
  end if;
  return v;
end
$$;

comment on function app.open_cursor(text, text) is
  'A cursor''s content ({f, k: [sort key, id]}) once its signature and fingerprint check out; VA422 naming cursor otherwise (forged, altered, or made for another list, sort, order or filters).';

-- ---------------------------------------------------------- the lists

-- Every list in one place: what it reads, whose rows it ranks (its scope,
-- the same rule as the tables' read policies), its sort keys and their
-- types, its filters (conditions on $2, the filters' values as jsonb) and
-- how a row becomes an item. Constants of the migration owner: nothing a
-- caller sends becomes SQL text, only values ($1 the scope's id, $2 the
-- filters, $3/$4 the cursor's key and id, $5/$6 the limit and offset).
--
-- Scopes: `organization` (column = the request's organization),
-- `organization_admins` (the same, for an owner or admin: the policies of
-- audit_log and notifications), `platform` (a platform admin's request),
-- `deliveries` (email_outbox: an owner or admin of the organization, or the
-- platform admin), `user` (the request's user: sessions).
create function app.list_spec(p_list text) returns jsonb
language sql immutable parallel safe
as $spec$
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
    'row', 'l as r', 'item', 'app.lead_json(s.r)')
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
    'row', 'm as r', 'item', 'app.meeting_json(s.r)')
  when 'campaigns' then pg_catalog.jsonb_build_object(
    'from', 'public.campaigns c', 'id', 'c.id', 'scope', 'organization', 'scope_column', 'c.organization_id',
    'sorts', pg_catalog.jsonb_build_object(
      'created_at', pg_catalog.jsonb_build_array('c.created_at', 'timestamptz'),
      'name', pg_catalog.jsonb_build_array('lower(c.name)', 'text')),
    'filters', pg_catalog.jsonb_build_object(
      'status', $$c.status = ($2 ->> 'status')::public.campaign_status$$,
      'search', $$c.name ilike app.like_pattern($2 ->> 'search')$$),
    'row', 'c as r', 'item', 'app.campaign_json(s.r, (s.r).leads_count)')
  when 'members' then pg_catalog.jsonb_build_object(
    'from', 'app.members u', 'id', 'u.id', 'scope', 'organization', 'scope_column', 'u.organization_id',
    'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('u.created_at', 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object(
      'role', $$u.role = ($2 ->> 'role')::public.user_role$$,
      'status', $$u.status = ($2 ->> 'status')::public.user_status$$,
      'present', $$u.status <> 'removed'$$,
      'search', $$(u.full_name ilike app.like_pattern($2 ->> 'search') or u.email ilike app.like_pattern($2 ->> 'search'))$$),
    'row', 'u as r', 'item', 'app.member_json(s.r)')
  when 'invitations' then pg_catalog.jsonb_build_object(
    'from', 'app.invitation_rows i', 'id', 'i.id', 'scope', 'organization', 'scope_column', 'i.organization_id',
    'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('i.created_at', 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object(
      'pending', 'i.accepted_at is null and i.revoked_at is null and i.expires_at > pg_catalog.now()'),
    'row', 'i as r', 'item', 'app.invitation_json(s.r)')
  when 'audit' then pg_catalog.jsonb_build_object(
    'from', 'public.audit_log a', 'id', 'a.id', 'scope', 'organization_admins', 'scope_column', 'a.organization_id',
    'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('a.created_at', 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object('action', $$a.action = ($2 ->> 'action')$$),
    'row', 'a as r',
    'item', $$pg_catalog.jsonb_build_object('id', (s.r).id, 'action', (s.r).action, 'actor_id', (s.r).actor_id,
                'actor_name', (select u.full_name from public.users u where u.id = (s.r).actor_id),
                'target_type', (s.r).target_type, 'target_id', (s.r).target_id,
                'data', (s.r).data, 'created_at', (s.r).created_at)$$)
  when 'notifications' then pg_catalog.jsonb_build_object(
    'from', 'public.notifications n', 'id', 'n.id', 'scope', 'organization_admins', 'scope_column', 'n.organization_id',
    'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('n.created_at', 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object('type', $$n.type = ($2 ->> 'type')::public.notification_type$$),
    'row', 'n as r', 'item', 'app.notification_json(s.r)')
  when 'all-notifications' then pg_catalog.jsonb_build_object(
    'from', 'public.notifications n', 'id', 'n.id', 'scope', 'platform',
    'sorts', pg_catalog.jsonb_build_object('created_at', pg_catalog.jsonb_build_array('n.created_at', 'timestamptz')),
    'filters', pg_catalog.jsonb_build_object(
      'type', $$n.type = ($2 ->> 'type')::public.notification_type$$,
      'organization_id', $$n.organization_id = ($2 ->> 'organization_id')::uuid$$),
    'row', 'n as r', 'item', 'app.notification_json(s.r)')
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
    'row', 'x as r',
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
    'row', 'o as r', 'item', 'app.admin_organization_json(s.r, (s.r).users_count)')
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
    'row', 'u as r, o.id as org_id, o.name as org_name, o.slug as org_slug, o.status as org_status',
    'item', $$app.member_json(s.r) || pg_catalog.jsonb_build_object('role', (s.r).role,
                'is_platform_admin', (s.r).role = 'platform_admin',
                'organization', case when s.org_id is null then null else pg_catalog.jsonb_build_object(
                  'id', s.org_id, 'name', s.org_name, 'slug', s.org_slug, 'status', s.org_status) end)$$)
  end
$spec$;

comment on function app.list_spec(text) is
  'Every list of the API, described once: its rows, its scope (the rule of the tables'' read policies), sort keys, filters and items. app.list_positions and app.page build their queries from it alone.';

-- The scope of a list as SQL on $1, and $1's value, for the current request:
-- the same rule as the read policies of its table, so that the positions a
-- list computes past row-level security are those of rows the caller may
-- read. 'false' outside such a request.
--
-- The settings alone do not make a platform admin here: the policies that
-- show every row are `to vectra_platform_admin`, a role only the service
-- takes, after auth.begin_request checked the account. So the platform scope
-- also needs that role (the `role` setting, which a SECURITY DEFINER call
-- leaves as the caller had it). Sessions are read by no request role: their
-- scope needs the request's live session of that user, as auth.require_user.
create function app.list_scope(p_spec jsonb, out sql text, out id uuid)
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_platform boolean := app.is_platform_admin()
                        and pg_catalog.current_setting('role') = 'vectra_platform_admin';
begin
  case p_spec ->> 'scope'
    when 'organization' then
      id := app.current_org_id();
    when 'organization_admins' then
      id := case when app.current_user_role() in ('owner', 'admin') then app.current_org_id() end;
    when 'deliveries' then
      if v_platform then
        sql := 'true';
        return;
      end if;
      id := case when app.current_user_role() in ('owner', 'admin') then app.current_org_id() end;
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
$$;

comment on function app.list_scope(jsonb) is
  'A list''s scope for the current request, as a condition on $1 and $1''s value: the rule of its table''s read policies (organization; organization and owner or admin; platform admin; the request''s user), false outside a request.';

-- The positions of a page: the sort key and id of its rows (and of one more,
-- to know of a next page), and the count. Computed past row-level security,
-- as the owner, for one reason: under row-level security PostgreSQL may put
-- only LEAKPROOF conditions into an index scan, and enum equality, ILIKE
-- (trigram search) and lower() are not, so every filter, search and name
-- cursor would read the whole tenant. Here the conditions are the owner's
-- own (app.list_spec), the rows are those of the caller's scope (the
-- policies' rule, app.list_scope), and only positions come out: app.page
-- reads the rows themselves as the caller, through row-level security.
create function app.list_positions(p_list text, p_sort text, p_desc boolean, p_filters jsonb,
                                   p_after jsonb, p_limit integer, p_offset integer)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
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
  -- The rows' keys and ids, in index order, from the offset or after the cursor.
  execute pg_catalog.format(
    'select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(s.k, s.i) order by s.k %1$s, s.i %1$s)'
    ' from (select %2$s as k, %3$s as i from %4$s where %5$s %6$s order by 1 %1$s, 2 %1$s limit $5 offset $6) s',
    v_dir, v_key ->> 0, v_spec ->> 'id', v_spec ->> 'from', v_where,
    case when p_after is null then ''
         else pg_catalog.format('and (%s, %s) %s ($3::%s, $4::uuid)', v_key ->> 0, v_spec ->> 'id',
                                case when p_desc then '<' else '>' end, v_key ->> 1) end)
    into v_rows
    using v_scope.id, p_filters, p_after ->> 0, p_after ->> 1, p_limit, p_offset;
  -- The last page by offset knows the total (not an empty one past the end,
  -- nor one after a cursor); otherwise exact up to the cap, then the
  -- planner's estimate.
  v_rows := coalesce(v_rows, '[]');
  if p_after is null and pg_catalog.jsonb_array_length(v_rows) < p_limit
     and (pg_catalog.jsonb_array_length(v_rows) > 0 or p_offset = 0) then
    return pg_catalog.jsonb_build_object('rows', v_rows, 'total_is_estimate', false,
                                         'total', p_offset + pg_catalog.jsonb_array_length(v_rows));
  end if;
  execute pg_catalog.format('select pg_catalog.count(*) from (select from %s where %s limit %s) c',
                            v_spec ->> 'from', v_where, v_cap + 1)
    into v_total using v_scope.id, p_filters;
  if v_total > v_cap then
    execute pg_catalog.format('explain (format json) select from %s where %s', v_spec ->> 'from', v_where)
      into v_plan using v_scope.id, p_filters;
    return pg_catalog.jsonb_build_object('rows', coalesce(v_rows, '[]'), 'total_is_estimate', true,
      'total', greatest(v_cap + 1, ((v_plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric)::bigint));
  end if;
  return pg_catalog.jsonb_build_object('rows', coalesce(v_rows, '[]'), 'total', v_total, 'total_is_estimate', false);
end
$$;

comment on function app.list_positions(text, text, boolean, jsonb, jsonb, integer, integer) is
  'Sort keys and ids of a page of a list (app.list_spec), and its count, for the caller''s scope (app.list_scope): past row-level security so that filters, search and cursors are served by indexes (their operators are not LEAKPROOF); positions only, the rows are read through row-level security by app.page.';

-- One page of a list, as the caller: checks the page, opens the cursor,
-- asks app.list_positions where the page's rows are, reads them through
-- row-level security and signs the cursor of the next page.
create function app.page(p_list text, p_sort text, p_desc boolean, p_filters jsonb,
                         p_page integer, p_per_page integer, p_cursor text)
returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
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
  -- The rows themselves, as the caller: row-level security decides.
  v_scope := app.list_scope(v_spec);
  execute pg_catalog.format(
    'select pg_catalog.jsonb_agg(%1$s order by pg_catalog.array_position($2, s.i))'
    ' from (select %2$s as i, %3$s from %4$s where %5$s and %2$s = any ($2)) s',
    v_spec ->> 'item', v_spec ->> 'id', v_spec ->> 'row', coalesce(v_spec ->> 'fetch', v_spec ->> 'from'),
    v_scope.sql)
    into v_items using v_scope.id, v_ids;
  return pg_catalog.jsonb_build_object(
    'items', coalesce(v_items, '[]'), 'page', p_page, 'per_page', p_per_page,
    'total', v_positions -> 'total', 'total_is_estimate', v_positions -> 'total_is_estimate',
    'next_cursor', v_next);
end
$$;

comment on function app.page(text, text, boolean, jsonb, integer, integer, text) is
  'One page of a list (app.list_spec): page within the first app.exact_count_cap() rows, or the cursor of the previous page (signed, bound to the list, sort, order and filters); positions from app.list_positions, rows read as the caller (row-level security applies), the next page''s cursor, the total (exact up to the cap, estimated beyond: total_is_estimate).';

-- ------------------------------------------------------------ indexes

-- The indexes the lists walk are built by the next migration, without
-- blocking writes (CREATE INDEX CONCURRENTLY, outside a transaction).

-- ------------------------------------------------ campaigns' lead counts

-- The counter is not an edit: it leaves updated_at alone.
drop trigger campaigns_touch on public.campaigns;
create trigger campaigns_touch before update of name, status on public.campaigns
  for each row execute function app.touch_updated_at();

alter table public.campaigns add column leads_count integer not null default 0 check (leads_count >= 0);
update public.campaigns c set leads_count = n.count
  from (select organization_id, campaign_id, pg_catalog.count(*) as count from public.leads
         where campaign_id is not null group by 1, 2) n
 where c.organization_id = n.organization_id and c.id = n.campaign_id;

comment on column public.campaigns.leads_count is
  'Leads in the campaign, kept by the statement-level triggers on leads (auth.count_campaign_leads).';


-- One update per campaign a statement touched, whatever its size: +1 for
-- each new row, -1 for each old one, per campaign. (A statement-level
-- trigger sees only the transition tables of its event: each branch names
-- those it has.) As the owner: the counter follows whoever writes the leads.
create function auth.count_campaign_leads() returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if tg_op = 'INSERT' then
    update public.campaigns c set leads_count = c.leads_count + d.n
      from (select organization_id, campaign_id, pg_catalog.count(*) as n from new_rows
             where campaign_id is not null group by 1, 2) d
     where c.organization_id = d.organization_id and c.id = d.campaign_id;
  elsif tg_op = 'DELETE' then
    update public.campaigns c set leads_count = c.leads_count - d.n
      from (select organization_id, campaign_id, pg_catalog.count(*) as n from old_rows
             where campaign_id is not null group by 1, 2) d
     where c.organization_id = d.organization_id and c.id = d.campaign_id;
  else
    update public.campaigns c set leads_count = c.leads_count + d.n
      from (select organization_id, campaign_id, pg_catalog.sum(n) as n
              from (select organization_id, campaign_id, 1 as n from new_rows
                    union all
                    select organization_id, campaign_id, -1 from old_rows) m
             where campaign_id is not null
             group by 1, 2
            having pg_catalog.sum(n) <> 0) d
     where c.organization_id = d.organization_id and c.id = d.campaign_id;
  end if;
  return null;
end
$$;

comment on function auth.count_campaign_leads() is
  'Statement-level trigger on leads: campaigns.leads_count after an insert, a delete, or leads that changed campaign.';

create trigger leads_count_inserted after insert on public.leads
  referencing new table as new_rows for each statement execute function auth.count_campaign_leads();
create trigger leads_count_deleted after delete on public.leads
  referencing old table as old_rows for each statement execute function auth.count_campaign_leads();
-- (Transition tables cannot go with a column list: every update statement,
-- whose unchanged campaigns cancel out.)
create trigger leads_count_moved after update on public.leads
  referencing old table as old_rows new table as new_rows
  for each statement execute function auth.count_campaign_leads();

-- ------------------------------------------- organizations' users counts

-- The counter is not an edit either.
drop trigger organizations_touch on public.organizations;
create trigger organizations_touch before update of name, slug, plan, status, settings, deleted_at
  on public.organizations for each row execute function app.touch_updated_at();

alter table public.organizations add column users_count integer not null default 0 check (users_count >= 0);
update public.organizations o set users_count = n.count
  from (select organization_id, pg_catalog.count(*) as count from public.users
         where organization_id is not null and status <> 'removed' group by 1) n
 where o.id = n.organization_id;

comment on column public.organizations.users_count is
  'Users of the organization not removed, kept by the statement-level triggers on users (auth.count_organization_users): the console sorts by it.';


create function auth.count_organization_users() returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if tg_op = 'INSERT' then
    update public.organizations o set users_count = o.users_count + d.n
      from (select organization_id, pg_catalog.count(*) as n from new_rows
             where organization_id is not null and status <> 'removed' group by 1) d
     where o.id = d.organization_id;
  elsif tg_op = 'DELETE' then
    update public.organizations o set users_count = o.users_count - d.n
      from (select organization_id, pg_catalog.count(*) as n from old_rows
             where organization_id is not null and status <> 'removed' group by 1) d
     where o.id = d.organization_id;
  else
    update public.organizations o set users_count = o.users_count + d.n
      from (select organization_id, pg_catalog.sum(n) as n
              from (select organization_id, 1 as n from new_rows where status <> 'removed'
                    union all
                    select organization_id, -1 from old_rows where status <> 'removed') m
             where organization_id is not null
             group by 1
            having pg_catalog.sum(n) <> 0) d
     where o.id = d.organization_id;
  end if;
  return null;
end
$$;

comment on function auth.count_organization_users() is
  'Statement-level trigger on users: organizations.users_count after an insert, a delete, or users removed or restored.';

create trigger users_count_inserted after insert on public.users
  referencing new table as new_rows for each statement execute function auth.count_organization_users();
create trigger users_count_deleted after delete on public.users
  referencing old table as old_rows for each statement execute function auth.count_organization_users();
create trigger users_count_changed after update on public.users
  referencing old table as old_rows new table as new_rows
  for each statement execute function auth.count_organization_users();

-- ------------------------------------------------------------ the lists

-- What each list function still does: check the caller's role (the API's
-- rule, stricter than the policies for some lists), check sort, filters and
-- search with named 422s, and hand the values to app.page.

-- A search of leads must hold 3 characters (a trigram) for its index to
-- serve it: shorter, it would read the whole tenant. (The other lists are
-- small enough, a tenant's campaigns and members, or served by an index on
-- their sort key, the console's, to search with fewer.)
create function app.check_search(p_search text) returns text
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
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
$$;

comment on function app.check_search(text) is
  'A list''s search, trimmed; NULL when empty; VA422 when shorter than 3 characters (a trigram: shorter, no index could serve it).';

-- The filters given, as app.page takes them: {name: value} without NULLs.
create function app.filters(variadic p_pairs text[]) returns jsonb
language sql immutable
as $$
  select coalesce(pg_catalog.jsonb_object_agg(p_pairs[i], p_pairs[i + 1]), '{}')
    from pg_catalog.generate_subscripts(p_pairs, 1) i
   where i % 2 = 1 and p_pairs[i + 1] is not null
$$;

comment on function app.filters(text[]) is 'The filters of a list call as jsonb: pairs of name and value, those without a value left out.';

drop function app.list_leads(integer, integer, text, uuid, text, text, boolean);
create function app.list_leads(p_page integer, p_per_page integer, p_status text, p_campaign_id uuid,
                               p_search text, p_sort text, p_desc boolean, p_cursor text) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.any_role();
  perform app.check_sort(p_sort, 'created_at', 'name');
  perform app.check_filter('status', p_status, 'new', 'contacted', 'replied', 'qualified', 'converted', 'lost');
  return app.page('leads', p_sort, p_desc,
                  app.filters('status', p_status, 'campaign_id', p_campaign_id::text, 'search', app.check_search(p_search)),
                  p_page, p_per_page, p_cursor);
end
$$;

drop function app.list_meetings(integer, integer, text, uuid, uuid, text, boolean);
create function app.list_meetings(p_page integer, p_per_page integer, p_status text, p_lead_id uuid,
                                  p_campaign_id uuid, p_sort text, p_desc boolean, p_cursor text) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.any_role();
  perform app.check_sort(p_sort, 'scheduled_at', 'created_at');
  perform app.check_filter('status', p_status, 'scheduled', 'completed', 'cancelled');
  return app.page('meetings', p_sort, p_desc,
                  app.filters('status', p_status, 'lead_id', p_lead_id::text, 'campaign_id', p_campaign_id::text),
                  p_page, p_per_page, p_cursor);
end
$$;

drop function app.list_campaigns(integer, integer, text, text, text, boolean);
create function app.list_campaigns(p_page integer, p_per_page integer, p_status text, p_search text,
                                   p_sort text, p_desc boolean, p_cursor text) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.any_role();
  perform app.check_sort(p_sort, 'created_at', 'name');
  perform app.check_filter('status', p_status, 'draft', 'active', 'paused', 'completed');
  return app.page('campaigns', p_sort, p_desc,
                  app.filters('status', p_status, 'search', nullif(pg_catalog.btrim(p_search), '')),
                  p_page, p_per_page, p_cursor);
end
$$;

drop function app.list_users(integer, integer, text, text, text);
create function app.list_users(p_page integer, p_per_page integer, p_role text, p_status text, p_search text,
                               p_cursor text) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
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
$$;

drop function app.list_invitations(integer, integer);
create function app.list_invitations(p_page integer, p_per_page integer, p_cursor text) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.require_role('owner', 'admin');
  return app.page('invitations', 'created_at', true, app.filters('pending', 'true'), p_page, p_per_page, p_cursor);
end
$$;

drop function app.list_audit_log(integer, integer, text);
create function app.list_audit_log(p_page integer, p_per_page integer, p_action text, p_cursor text) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.require_role('owner', 'admin');
  return app.page('audit', 'created_at', true, app.filters('action', p_action), p_page, p_per_page, p_cursor);
end
$$;

drop function app.list_notifications(integer, integer, text);
drop function app.admin_list_notifications(integer, integer, text, uuid);
drop function app.notification_page(integer, integer, text, uuid, boolean);

create function app.list_notifications(p_page integer, p_per_page integer, p_type text, p_cursor text) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.require_role('owner', 'admin');
  perform app.check_notification_type(p_type);
  return app.page('notifications', 'created_at', true, app.filters('type', p_type), p_page, p_per_page, p_cursor);
end
$$;

create function app.admin_list_notifications(p_page integer, p_per_page integer, p_type text, p_org uuid,
                                             p_cursor text) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.require_platform_admin();
  perform app.check_notification_type(p_type);
  return app.page('all-notifications', 'created_at', true,
                  app.filters('type', p_type, 'organization_id', p_org::text), p_page, p_per_page, p_cursor);
end
$$;

create function app.check_notification_type(p_type text) returns void
language sql immutable
as $$
  select app.check_filter('type', p_type, 'org_to_prospects', 'org_owner_to_members', 'vectra_to_users',
                          'vectra_to_org_owner', 'system_alerts')
$$;

comment on function app.check_notification_type(text) is 'VA422 naming type unless it is a notification type (or NULL).';

drop function app.get_notification(uuid, integer, integer);
drop function app.admin_get_notification(uuid, integer, integer);
drop function app.notification_recipients(public.notifications, integer, integer);

create function app.get_notification(p_id uuid, p_page integer, p_per_page integer, p_cursor text) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  n public.notifications;
begin
  perform app.require_role('owner', 'admin');
  select * into n from public.notifications where id = p_id and organization_id = app.current_org_id();
  if not found then
    raise exception 'Notification not found' using errcode = 'VA404';
  end if;
  return app.notification_detail(n) || pg_catalog.jsonb_build_object('recipients',
    app.page('deliveries', 'email', false, app.filters('notification_id', n.id::text), p_page, p_per_page, p_cursor));
end
$$;

create function app.admin_get_notification(p_id uuid, p_page integer, p_per_page integer, p_cursor text) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
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
$$;

drop function auth.my_sessions(integer, integer);
create function auth.my_sessions(p_page integer, p_per_page integer, p_cursor text) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform auth.require_user();
  return app.page('sessions', 'last_used_at', true, app.filters('live', 'true'), p_page, p_per_page, p_cursor);
end
$$;

drop function app.admin_list_organizations(integer, integer, text, text, text, text, boolean);
create function app.admin_list_organizations(p_page integer, p_per_page integer, p_plan text, p_status text,
                                             p_search text, p_sort text, p_desc boolean, p_cursor text) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
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
$$;

drop function app.admin_list_users(integer, integer, uuid, text, text, text, text, boolean);
create function app.admin_list_users(p_page integer, p_per_page integer, p_organization_id uuid, p_role text,
                                     p_status text, p_search text, p_sort text, p_desc boolean, p_cursor text)
returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
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
$$;

-- ----------------------------------------------------- the platform overview

create table app.platform_overview (
  id boolean primary key default true check (id),
  data jsonb not null,
  computed_at timestamptz not null
);

comment on table app.platform_overview is
  'The platform overview as last computed (auth.refresh_overview, every minute by the outbox worker): one row.';

alter table app.platform_overview enable row level security, force row level security;
create policy platform_overview_platform_admin_select on app.platform_overview for select to vectra_platform_admin
  using ((select app.is_platform_admin()));
comment on policy platform_overview_platform_admin_select on app.platform_overview is
  'The platform admin reads the overview, in a platform-admin context only.';
grant select on app.platform_overview to vectra_platform_admin;

-- The figures, counted from every table (what app.admin_overview computed
-- on every request before).
create function auth.compute_overview() returns jsonb
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
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
$$;

comment on function auth.compute_overview() is
  'The platform overview''s figures, counted from every table: a scan of them all, run on a cadence by auth.refresh_overview, never per request.';

-- Refreshes the snapshot when it is older than p_max_age; one instance at a
-- time (the others skip). Returns when the snapshot was computed.
create function auth.refresh_overview(p_max_age interval) returns timestamptz
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
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
$$;

comment on function auth.refresh_overview(interval) is
  'Recomputes the platform overview when its snapshot is older than p_max_age (the outbox worker, every minute; one instance at a time). Returns the snapshot''s time.';

create or replace function app.admin_overview() returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
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
$$;

comment on function app.admin_overview() is
  'GET /admin/overview: the platform''s figures as of the last snapshot (as_of, age_seconds), never a scan per request.';

-- ------------------------------------------------------------ privileges

revoke all on function app.exact_count_cap(), app.page_depth_cap(boolean), app.make_cursor(text, jsonb), app.open_cursor(text, text),
  app.list_spec(text), app.list_scope(jsonb),
  app.list_positions(text, text, boolean, jsonb, jsonb, integer, integer),
  app.page(text, text, boolean, jsonb, integer, integer, text),
  app.check_search(text), app.filters(text[]), app.check_notification_type(text),
  auth.count_campaign_leads(), auth.count_organization_users(),
  app.list_leads(integer, integer, text, uuid, text, text, boolean, text),
  app.list_meetings(integer, integer, text, uuid, uuid, text, boolean, text),
  app.list_campaigns(integer, integer, text, text, text, boolean, text),
  app.list_users(integer, integer, text, text, text, text),
  app.list_invitations(integer, integer, text),
  app.list_audit_log(integer, integer, text, text),
  app.list_notifications(integer, integer, text, text),
  app.admin_list_notifications(integer, integer, text, uuid, text),
  app.get_notification(uuid, integer, integer, text),
  app.admin_get_notification(uuid, integer, integer, text),
  auth.my_sessions(integer, integer, text),
  app.admin_list_organizations(integer, integer, text, text, text, text, boolean, text),
  app.admin_list_users(integer, integer, uuid, text, text, text, text, boolean, text),
  auth.compute_overview(), auth.refresh_overview(interval)
from public;

-- The list machinery, for every request role (and DBAs' readers): what it
-- returns is bounded by the caller's scope (app.list_scope) and, for rows,
-- by row-level security.
grant execute on function app.exact_count_cap(), app.page_depth_cap(boolean), app.make_cursor(text, jsonb), app.open_cursor(text, text),
  app.list_spec(text), app.list_scope(jsonb),
  app.list_positions(text, text, boolean, jsonb, jsonb, integer, integer),
  app.page(text, text, boolean, jsonb, integer, integer, text),
  app.check_search(text), app.filters(text[]), app.check_notification_type(text)
to vectra_member, vectra_tenant_reader, vectra_platform_admin;
grant execute on function
  app.list_leads(integer, integer, text, uuid, text, text, boolean, text),
  app.list_meetings(integer, integer, text, uuid, uuid, text, boolean, text),
  app.list_campaigns(integer, integer, text, text, text, boolean, text),
  app.list_users(integer, integer, text, text, text, text),
  app.list_invitations(integer, integer, text),
  app.list_audit_log(integer, integer, text, text),
  app.list_notifications(integer, integer, text, text),
  app.get_notification(uuid, integer, integer, text)
to vectra_member, vectra_tenant_reader;
grant execute on function
  app.admin_list_notifications(integer, integer, text, uuid, text),
  app.admin_get_notification(uuid, integer, integer, text),
  app.admin_list_organizations(integer, integer, text, text, text, text, boolean, text),
  app.admin_list_users(integer, integer, uuid, text, text, text, text, boolean, text)
to vectra_platform_admin;
grant execute on function auth.my_sessions(integer, integer, text) to vectra_anon;
grant execute on function auth.refresh_overview(interval) to vectra_worker;
