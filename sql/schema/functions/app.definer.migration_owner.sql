-- SECURITY DEFINER functions of schema app owned by the migration owner: they run as a superuser or BYPASSRLS role, past row-level security.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE OR REPLACE FUNCTION app.list_positions(p_list text, p_sort text, p_desc boolean, p_filters jsonb, p_after jsonb, p_limit integer, p_offset integer)
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
ALTER FUNCTION app.list_positions(text, text, boolean, jsonb, jsonb, integer, integer) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.list_positions(text, text, boolean, jsonb, jsonb, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.list_positions(text, text, boolean, jsonb, jsonb, integer, integer) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.list_positions(text, text, boolean, jsonb, jsonb, integer, integer) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.list_positions(text, text, boolean, jsonb, jsonb, integer, integer) TO vectra_tenant_reader;
COMMENT ON FUNCTION app.list_positions(text, text, boolean, jsonb, jsonb, integer, integer) IS 'Sort keys and ids of a page of a list (app.list_spec), and its total, for the caller''s scope (app.list_scope): past row-level security so that filters, search and cursors are served by indexes (their operators are not LEAKPROOF); positions only, the rows are read through row-level security by app.page. The total is exact up to app.exact_count_cap(), the planner''s estimate beyond (total_is_estimate), and the estimate without a count when a filter of the list''s estimated ones is present and the planner expects ten times the cap or more.';

CREATE OR REPLACE FUNCTION app.make_cursor(p_fingerprint text, p_position jsonb)
 RETURNS text
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_payload text := pg_catalog.jsonb_build_object(
    'f', pg_catalog.left(pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_fingerprint, 'UTF8')), 'hex'), 16),
    'k', p_position)::text;
begin
  return auth.b64url(pg_catalog.convert_to(v_payload, 'UTF8')) || '.'
      || auth.b64url(pg_catalog.substr(extensions.hmac(pg_catalog.convert_to(v_payload, 'UTF8'),
                                                        (auth.current_settings()).cursor_key, 'sha256'), 1, 16));
end
$function$;
ALTER FUNCTION app.make_cursor(text, jsonb) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.make_cursor(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.make_cursor(text, jsonb) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.make_cursor(text, jsonb) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.make_cursor(text, jsonb) TO vectra_tenant_reader;
COMMENT ON FUNCTION app.make_cursor(text, jsonb) IS 'A list''s cursor after the row at p_position ([sort key, id]): the position and the fingerprint of its list, sort, order and filters, signed (HMAC-SHA-256 under auth.settings.cursor_key, which only the owner reads).';

CREATE OR REPLACE FUNCTION app.new_token()
 RETURNS text
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select pg_catalog.translate(pg_catalog.encode(extensions.gen_random_bytes(32), 'base64'), '+/=', '-_'));
end
$function$;
ALTER FUNCTION app.new_token() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.new_token() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.new_token() TO vectra_definer;
COMMENT ON FUNCTION app.new_token() IS '32 random bytes, base64url without padding (43 characters).';

CREATE OR REPLACE FUNCTION app.open_cursor(p_cursor text, p_fingerprint text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;
ALTER FUNCTION app.open_cursor(text, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.open_cursor(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.open_cursor(text, text) TO vectra_member;
GRANT EXECUTE ON FUNCTION app.open_cursor(text, text) TO vectra_platform_admin;
GRANT EXECUTE ON FUNCTION app.open_cursor(text, text) TO vectra_tenant_reader;
COMMENT ON FUNCTION app.open_cursor(text, text) IS 'A cursor''s content ({f, k: [sort key, id]}) once its signature and fingerprint check out; VA422 naming cursor otherwise (forged, altered, or made for another list, sort, order or filters).';

CREATE OR REPLACE FUNCTION app.schema_version()
 RETURNS integer
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select coalesce(max(version), 0) from public.refinery_schema_history);
end
$function$;
ALTER FUNCTION app.schema_version() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION app.schema_version() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.schema_version() TO vectra_anon;
COMMENT ON FUNCTION app.schema_version() IS 'Newest applied migration version; lets GET /ready compare the database with the binary.';
