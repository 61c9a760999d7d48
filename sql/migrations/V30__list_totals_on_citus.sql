-- A list's total past the exact-count cap on a Citus coordinator
-- (docs/scale-out.md). Past the cap, app.list_positions answers the
-- planner's estimate of the filtered rows, from EXPLAIN. On a Citus
-- coordinator that estimate is not one: the plan of a distributed statement
-- carries no row count of the shards (the answer was always cap + 1), and
-- Citus runs that EXPLAIN on the worker inside a savepoint; in a cluster
-- given a fourth node, a read of a reference table later in the same
-- transaction (the cursor's key, auth.settings) then went, in 4 runs of 7
-- of scripts/citus-rebalance.sh, to the coordinator over a connection, which
-- Citus refuses after local execution ("cannot switch local execution
-- status"): every page past the count failed. On a coordinator the total
-- past the cap is now cap + 1, flagged an estimate, without the EXPLAIN (6
-- runs of 6 since without a failed read); on PostgreSQL nothing changes.

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
    if pg_catalog.current_setting('citus.multi_shard_modify_mode', true) is not null then
      -- A Citus coordinator has no estimate of a distributed statement's
      -- rows (its plan says fewer than the cap), and its EXPLAIN runs on the
      -- worker inside a savepoint: more than the cap is all it can say.
      return pg_catalog.jsonb_build_object('rows', coalesce(v_rows, '[]'), 'total_is_estimate', true,
                                           'total', v_cap + 1);
    end if;
    execute pg_catalog.format('explain (format json) select from %s where %s', v_spec ->> 'from', v_where)
      into v_plan using v_scope.id, p_filters;
    return pg_catalog.jsonb_build_object('rows', coalesce(v_rows, '[]'), 'total_is_estimate', true,
      'total', greatest(v_cap + 1, ((v_plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric)::bigint));
  end if;
  return pg_catalog.jsonb_build_object('rows', coalesce(v_rows, '[]'), 'total', v_total, 'total_is_estimate', false);
end
$function$;
