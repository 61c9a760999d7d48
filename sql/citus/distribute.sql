-- The schema on a Citus cluster: run by `vectra migrate` after the
-- migrations when the database has the citus extension (src/db/citus.rs),
-- in one transaction, as the migration owner. On plain PostgreSQL it never
-- runs. It does what is left to do, so it runs after every migration:
--
-- * shared tables (organizations, users, sessions, one-time tokens) become
--   reference tables (a copy on every node); every tenant table is
--   distributed by organization_id, all colocated, so a tenant's rows and
--   their joins live on one shard; the operator's and the limits' tables
--   (auth.settings, auth.rate_limits, auth.login_failures,
--   app.platform_overview) stay on the coordinator, where only the
--   coordinator's own functions read them;
-- * Citus drops the functions typed by a table's rows while it converts that
--   table, and refuses to convert a table a view depends on: those views
--   and functions are saved, dropped, and made again afterwards with their
--   owners, settings, comments and grants;
-- * foreign keys are dropped before and added back after (one kind of
--   table at a time would make Citus turn the others into local tables).
--
-- Every table of public, app and auth must be classified here: a test
-- fails on one that is not (tests/api/citus.rs).

do $distribute$
declare
  r record;
  s text;
begin
  create temp table citus_tables_wanted (rel regclass primary key, kind text not null) on commit drop;
  insert into citus_tables_wanted values
    ('public.organizations', 'reference'), ('public.users', 'reference'),
    ('public.sessions', 'reference'), ('public.one_time_tokens', 'reference'),
    ('public.campaigns', 'distributed'), ('public.leads', 'distributed'), ('public.meetings', 'distributed'),
    ('public.invitations', 'distributed'), ('public.notifications', 'distributed'),
    ('public.email_outbox', 'distributed'), ('public.audit_log', 'distributed'),
    ('public.lead_suppressions', 'distributed'),
    ('auth.settings', 'reference'), ('auth.rate_limits', 'local'), ('auth.login_failures', 'local'),
    ('app.platform_overview', 'local');

  -- Every table classified.
  for r in select c.oid::regclass as rel from pg_catalog.pg_class c
            where c.relkind in ('r', 'p') and c.relnamespace in ('public'::regnamespace, 'app'::regnamespace, 'auth'::regnamespace)
              and c.relname <> 'refinery_schema_history'
              and not exists (select from pg_catalog.pg_depend d where d.objid = c.oid and d.deptype = 'e')
              and c.oid not in (select rel from citus_tables_wanted) loop
    raise exception 'table % is not classified for Citus (sql/citus/distribute.sql)', r.rel;
  end loop;

  -- What is left to convert.
  create temp table citus_to_convert on commit drop as
    select w.rel, w.kind from citus_tables_wanted w
     where w.kind <> 'local'
       and not exists (select from pg_catalog.pg_dist_partition p where p.logicalrelid = w.rel);
  if not exists (select from citus_to_convert) then
    return;
  end if;
  perform pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
  -- Reference tables, their foreign keys and distributed tables in one
  -- transaction: one connection per node.
  perform pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);

  -- The views of app and auth, and the functions typed by the rows of a
  -- table converted or of those views: saved, to be made again.
  create temp table citus_saved (ord serial, kind text, name text, ddl text[]) on commit drop;
  insert into citus_saved (kind, name, ddl)
  select 'view', c.oid::regclass::text,
         array[pg_catalog.format('create view %s with (%s) as %s', c.oid::regclass,
                                 pg_catalog.array_to_string(c.reloptions, ', '), pg_catalog.pg_get_viewdef(c.oid)),
               pg_catalog.format('alter view %s owner to %I', c.oid::regclass, pg_catalog.pg_get_userbyid(c.relowner))]
         || coalesce((select pg_catalog.array_agg(pg_catalog.format('comment on view %s is %L', c.oid::regclass, d.description))
                        from pg_catalog.pg_description d where d.objoid = c.oid and d.objsubid = 0), '{}')
         || coalesce((select pg_catalog.array_agg(pg_catalog.format('grant %s on %s to %I', a.privilege_type, c.oid::regclass,
                                                                    pg_catalog.pg_get_userbyid(a.grantee)))
                        from pg_catalog.aclexplode(c.relacl) a where a.grantee <> c.relowner), '{}')
    from pg_catalog.pg_class c
   where c.relkind = 'v' and c.relnamespace in ('app'::regnamespace, 'auth'::regnamespace);
  insert into citus_saved (kind, name, ddl)
  select 'function', p.oid::regprocedure::text,
         array[pg_catalog.pg_get_functiondef(p.oid),
               pg_catalog.format('alter function %s owner to %I', p.oid::regprocedure, pg_catalog.pg_get_userbyid(p.proowner))]
         || coalesce((select pg_catalog.array_agg(pg_catalog.format('comment on function %s is %L', p.oid::regprocedure, d.description))
                        from pg_catalog.pg_description d
                       where d.objoid = p.oid and d.classoid = 'pg_catalog.pg_proc'::regclass), '{}')
         || coalesce((select pg_catalog.array_agg(pg_catalog.format('grant execute on function %s to %I', p.oid::regprocedure,
                                                                    pg_catalog.pg_get_userbyid(a.grantee)))
                        from pg_catalog.aclexplode(p.proacl) a where a.grantee <> p.proowner and a.grantee <> 0), '{}')
    from pg_catalog.pg_proc p
   where exists (select from pg_catalog.unnest(p.proargtypes::oid[] || p.prorettype) t (oid)
                   join pg_catalog.pg_type ty on ty.oid = t.oid
                  where ty.typrelid in (select rel from citus_to_convert
                                        union all
                                        select c.oid from pg_catalog.pg_class c
                                         where c.relkind = 'v' and c.relnamespace in ('app'::regnamespace, 'auth'::regnamespace)));
  create temp table citus_saved_fks on commit drop as
    select conrelid::regclass as rel, conname, pg_catalog.pg_get_constraintdef(oid) as def
      from pg_catalog.pg_constraint
     where contype = 'f' and (conrelid in (select rel from citus_tables_wanted where kind <> 'local')
                              or confrelid in (select rel from citus_tables_wanted where kind <> 'local'));

  for r in select * from citus_saved where kind = 'function' order by ord loop
    execute pg_catalog.format('drop function %s', r.name);
  end loop;
  for r in select * from citus_saved where kind = 'view' order by ord desc loop
    execute pg_catalog.format('drop view %s', r.name);
  end loop;
  for r in select * from citus_saved_fks loop
    execute pg_catalog.format('alter table %s drop constraint %I', r.rel, r.conname);
  end loop;

  for r in select * from citus_to_convert where kind = 'reference' order by rel::text loop
    perform pg_catalog.create_reference_table(r.rel);
  end loop;
  -- Colocated with the first one distributed, whichever it is.
  for r in select * from citus_to_convert where kind = 'distributed' order by rel::text loop
    perform pg_catalog.create_distributed_table(r.rel, 'organization_id',
      colocate_with => coalesce((select p.logicalrelid::text from pg_catalog.pg_dist_partition p
                                  where p.partmethod = 'h' and p.logicalrelid in (select rel from citus_tables_wanted)
                                  order by p.logicalrelid::text limit 1), 'default'));
  end loop;

  for r in select * from citus_saved_fks loop
    execute pg_catalog.format('alter table %s add constraint %I %s', r.rel, r.conname, r.def);
  end loop;
  for r in select * from citus_saved order by case kind when 'view' then 0 else 1 end, ord loop
    foreach s in array r.ddl loop
      execute s;
    end loop;
  end loop;
end
$distribute$;
