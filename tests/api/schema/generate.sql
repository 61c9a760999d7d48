-- The schema of a migrated database as text, for sql/schema/ (see
-- tests/api/schema.rs, which runs this as the migration owner with
-- search_path = '' so that every name but pg_catalog's comes out qualified).
--
-- One row per block: (file, section, key, sub, block). The Rust side sorts
-- by (file, section, key, sub) byte-wise, joins the blocks of one key with a
-- newline and separates keys with a blank line. Nothing here depends on an
-- OID, a time or the database's name: every order is by name (COLLATE "C")
-- or by column number, and the migration owner (whoever ran the migrations)
-- is written CURRENT_USER.
with
-- How a role is written in a statement.
role_names(oid, name) as (
  select r.oid, case when r.rolname = current_user then 'CURRENT_USER' else quote_ident(r.rolname) end
    from pg_catalog.pg_roles r
  union all
  select 0::oid, 'PUBLIC'
),
-- The schemas the migrations make or fill (not PostgreSQL's own).
ours as (
  select n.oid, n.nspname
    from pg_catalog.pg_namespace n
   where n.nspname <> 'information_schema' and n.nspname !~ '^pg_'
),
-- Objects that belong to an extension are the extension's, not ours.
ext_members as (
  select d.classid, d.objid from pg_catalog.pg_depend d where d.deptype = 'e'
),
rels as (
  select c.oid, c.relname, c.relkind, c.relowner, c.relacl, c.reloptions, c.relpersistence,
         c.relrowsecurity, c.relforcerowsecurity, n.nspname,
         format('%I.%I', n.nspname, c.relname) as qname,
         'tables/' || n.nspname || '.' || c.relname || '.sql' as file
    from pg_catalog.pg_class c
    join ours n on n.oid = c.relnamespace
   where c.relkind in ('r', 'p', 'v', 'm')
     and not exists (select 1 from ext_members e where e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass and e.objid = c.oid)
),
tabs as (select * from rels where relkind in ('r', 'p')),
funcs as (
  select p.oid, p.proname, p.prokind, p.prosecdef, p.proowner, p.proacl, n.nspname,
         format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.oidvectortypes(p.proargtypes)) as sig,
         'functions/' || n.nspname || '.'
           || case when not p.prosecdef then 'invoker'
                   when p.proowner = (select oid from pg_catalog.pg_roles where rolname = current_user) then 'definer.migration_owner'
                   else 'definer.' || pg_catalog.pg_get_userbyid(p.proowner) end
           || '.sql' as file
    from pg_catalog.pg_proc p
    join ours n on n.oid = p.pronamespace
   where not exists (select 1 from ext_members e where e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and e.objid = p.oid)
),
types as (
  select t.oid, t.typname, t.typtype, t.typowner, t.typacl, t.typbasetype, t.typtypmod, t.typnotnull,
         t.typdefaultbin, t.typrelid, n.nspname, format('%I.%I', n.nspname, t.typname) as qname
    from pg_catalog.pg_type t
    join ours n on n.oid = t.typnamespace
   where (t.typtype in ('e', 'd')
          or (t.typtype = 'c' and exists (select 1 from pg_catalog.pg_class c where c.oid = t.typrelid and c.relkind = 'c')))
     and not exists (select 1 from ext_members e where e.classid = 'pg_catalog.pg_type'::pg_catalog.regclass and e.objid = t.oid)
),
-- Every object whose privileges are written, with the privileges it has
-- and those it was created with (PostgreSQL's defaults for its kind, or
-- what initdb or its extension gave it): the difference is written as
-- REVOKE and GRANT statements.
acl_objects(file, section, key, sub, kind, target, owner, acl, initial) as (
  select file, 7, '', 1, 'TABLE', qname, relowner, relacl, pg_catalog.acldefault('r', relowner)
    from rels where relkind in ('r', 'p')
  union all
  select 'views.sql', 1, qname, 3, 'TABLE', qname, relowner, relacl, pg_catalog.acldefault('r', relowner)
    from rels where relkind in ('v', 'm')
  union all
  select file, 1, sig, 3, case prokind when 'p' then 'PROCEDURE' else 'FUNCTION' end, sig, proowner, proacl,
         pg_catalog.acldefault('f', proowner)
    from funcs
  union all
  select 'types.sql', case typtype when 'e' then 2 when 'd' then 3 else 4 end, qname, 3,
         case typtype when 'd' then 'DOMAIN' else 'TYPE' end, qname, typowner, typacl,
         pg_catalog.acldefault('T', typowner)
    from types
  union all
  select 'roles.sql', 4, n.nspname, 3, 'SCHEMA', quote_ident(n.nspname), n.nspowner, n.nspacl,
         coalesce(i.initprivs, pg_catalog.acldefault('n', n.nspowner))
    from pg_catalog.pg_namespace n
    join ours o on o.oid = n.oid
    left join pg_catalog.pg_init_privs i
      on i.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass and i.objoid = n.oid and i.objsubid = 0
  union all
  -- The database itself (its name varies: psql's :"DBNAME" is the current one).
  select 'roles.sql', 3, '', 1, 'DATABASE', ':"DBNAME"', d.datdba, d.datacl, pg_catalog.acldefault('d', d.datdba)
    from pg_catalog.pg_database d where d.datname = current_database()
  union all
  -- PostgreSQL's own functions and relations whose privileges differ from
  -- initdb's (the advisory locks, large objects …).
  select 'roles.sql', 6, '', 1, case p.prokind when 'p' then 'PROCEDURE' else 'FUNCTION' end,
         format('pg_catalog.%I(%s)', p.proname, pg_catalog.oidvectortypes(p.proargtypes)), p.proowner, p.proacl,
         coalesce(i.initprivs, pg_catalog.acldefault('f', p.proowner))
    from pg_catalog.pg_proc p
    left join pg_catalog.pg_init_privs i
      on i.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass and i.objoid = p.oid and i.objsubid = 0
   where p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace
     and coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))
         is distinct from coalesce(i.initprivs, pg_catalog.acldefault('f', p.proowner))
  union all
  select 'roles.sql', 6, '', 1, 'TABLE', format('pg_catalog.%I', c.relname), c.relowner, c.relacl,
         coalesce(i.initprivs, pg_catalog.acldefault('r', c.relowner))
    from pg_catalog.pg_class c
    left join pg_catalog.pg_init_privs i
      on i.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass and i.objoid = c.oid and i.objsubid = 0
   where c.relnamespace = 'pg_catalog'::pg_catalog.regnamespace and c.relkind in ('r', 'v')
     and coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner))
         is distinct from coalesce(i.initprivs, pg_catalog.acldefault('r', c.relowner))
),
acl_now as (
  select o.file, o.section, o.key, o.sub, o.kind, o.target, o.owner, a.grantor, a.grantee, a.privilege_type, a.is_grantable
    from acl_objects o
   cross join lateral pg_catalog.aclexplode(coalesce(o.acl, o.initial)) a
),
acl_then as (
  select o.file, o.section, o.key, o.sub, o.kind, o.target, o.owner, a.grantor, a.grantee, a.privilege_type, a.is_grantable
    from acl_objects o
   cross join lateral pg_catalog.aclexplode(o.initial) a
),
acl_changes(file, section, key, sub, kind, target, owner, verb, grantor, grantee, privilege_type, is_grantable) as (
  select n.file, n.section, n.key, n.sub, n.kind, n.target, n.owner, 'GRANT', n.grantor, n.grantee, n.privilege_type, n.is_grantable
    from acl_now n
   where not exists (select 1 from acl_then t
                      where (t.file, t.key, t.target, t.grantee, t.privilege_type) = (n.file, n.key, n.target, n.grantee, n.privilege_type)
                        and (t.is_grantable or not n.is_grantable))
  union all
  select t.file, t.section, t.key, t.sub, t.kind, t.target, t.owner, 'REVOKE', t.grantor, t.grantee, t.privilege_type, false
    from acl_then t
   where not exists (select 1 from acl_now n
                      where (t.file, t.key, t.target, t.grantee, t.privilege_type) = (n.file, n.key, n.target, n.grantee, n.privilege_type))
  union all
  select t.file, t.section, t.key, t.sub, t.kind, t.target, t.owner, 'REVOKE GRANT OPTION FOR', t.grantor, t.grantee, t.privilege_type, false
    from acl_then t
   where t.is_grantable
     and exists (select 1 from acl_now n
                  where (t.file, t.key, t.target, t.grantee, t.privilege_type) = (n.file, n.key, n.target, n.grantee, n.privilege_type)
                    and not n.is_grantable)
),
privilege_order(privilege_type, position) as (
  select p, o from unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER',
                                'EXECUTE', 'USAGE', 'CREATE', 'CONNECT', 'TEMPORARY']) with ordinality as u(p, o)
),
acl_statements as (
  select c.file, c.section, c.key, c.sub, c.target, c.verb, g.name as grantee,
         case when c.verb = 'GRANT'
              then format('GRANT %s ON %s %s TO %s%s%s;',
                          string_agg(c.privilege_type, ', ' order by po.position), c.kind, c.target, g.name,
                          case when c.is_grantable then ' WITH GRANT OPTION' else '' end,
                          case when c.grantor <> c.owner then ' GRANTED BY ' || gb.name else '' end)
              else format('%s %s ON %s %s FROM %s;',
                          c.verb, string_agg(c.privilege_type, ', ' order by po.position), c.kind, c.target, g.name)
         end as statement
    from acl_changes c
    join role_names g on g.oid = c.grantee
    join role_names gb on gb.oid = c.grantor
    join privilege_order po on po.privilege_type = c.privilege_type
   group by c.file, c.section, c.key, c.sub, c.kind, c.target, c.verb, g.name, c.is_grantable, c.grantor, c.owner, gb.name
),
-- Column privileges (a column has none by default).
column_statements as (
  select r.file, r.relkind, r.qname, g.name as grantee, a.privilege_type, a.is_grantable, gb.name as grantor,
         r.relowner <> a.grantor as by_other,
         format('GRANT %s (%s) ON TABLE %s TO %s%s%s;', a.privilege_type,
                string_agg(quote_ident(c.attname), ', ' order by c.attnum), r.qname, g.name,
                case when a.is_grantable then ' WITH GRANT OPTION' else '' end,
                case when r.relowner <> a.grantor then ' GRANTED BY ' || gb.name else '' end) as statement
    from rels r
    join pg_catalog.pg_attribute c on c.attrelid = r.oid and c.attnum > 0 and not c.attisdropped and c.attacl is not null
   cross join lateral pg_catalog.aclexplode(c.attacl) a
    join role_names g on g.oid = a.grantee
    join role_names gb on gb.oid = a.grantor
   group by r.file, r.relkind, r.qname, r.relowner, g.name, a.privilege_type, a.is_grantable, a.grantor, gb.name
),
-- The roles this database refers to: owners of our objects, grantees of
-- privileges that differ from the defaults, roles of policies and default
-- privileges. Roles are the cluster's; these are the ones of this schema
-- (not, say, a DBA's login that is a member of one of them).
referenced(oid) as (
  select relowner from rels
  union select proowner from funcs
  union select typowner from types
  union select nspowner from pg_catalog.pg_namespace n join ours o on o.oid = n.oid
  union select grantee from acl_changes
  union select a.grantee from rels r join pg_catalog.pg_attribute c on c.attrelid = r.oid and c.attacl is not null
                          cross join lateral pg_catalog.aclexplode(c.attacl) a
  union select unnest(p.polroles) from pg_catalog.pg_policy p join rels r on r.oid = p.polrelid
  union select defaclrole from pg_catalog.pg_default_acl
  union select a.grantee from pg_catalog.pg_default_acl d cross join lateral pg_catalog.aclexplode(d.defaclacl) a
),
our_roles as (
  select r.* from pg_catalog.pg_roles r
   where r.oid in (select oid from referenced) and r.rolname <> current_user and r.rolname !~ '^pg_'
)

-- roles.sql ------------------------------------------------------------------

-- 1. Each role: its attributes (never its password), settings and comment.
select 'roles.sql' as file, 1 as section, r.rolname::text as key, 1 as sub,
       format('CREATE ROLE %I %s;', r.rolname, concat_ws(' ',
         case when r.rolsuper then 'SUPERUSER' else 'NOSUPERUSER' end,
         case when r.rolinherit then 'INHERIT' else 'NOINHERIT' end,
         case when r.rolcreaterole then 'CREATEROLE' else 'NOCREATEROLE' end,
         case when r.rolcreatedb then 'CREATEDB' else 'NOCREATEDB' end,
         case when r.rolcanlogin then 'LOGIN' else 'NOLOGIN' end,
         case when r.rolreplication then 'REPLICATION' else 'NOREPLICATION' end,
         case when r.rolbypassrls then 'BYPASSRLS' else 'NOBYPASSRLS' end,
         case when r.rolconnlimit <> -1 then 'CONNECTION LIMIT ' || r.rolconnlimit end))
       || coalesce((select string_agg(format(E'\nALTER ROLE %I%s SET %s;', r.rolname,
                                             case when s.setdatabase <> 0 then ' IN DATABASE :"DBNAME"' else '' end,
                                             regexp_replace(c, '=', ' = ')), '' order by s.setdatabase, c collate "C")
                      from pg_catalog.pg_db_role_setting s cross join lateral unnest(s.setconfig) c
                     where s.setrole = r.oid
                       and s.setdatabase in (0, (select oid from pg_catalog.pg_database where datname = current_database()))), '')
       || coalesce(format(E'\nCOMMENT ON ROLE %I IS %L;', r.rolname, pg_catalog.shobj_description(r.oid, 'pg_authid')), '')
  from our_roles r

union all
-- 2. Who is a member of whom, among these roles and the migration owner.
select 'roles.sql', 2, '', 1,
       string_agg(format('GRANT %s TO %s%s;', g.name, m.name, case when a.admin_option then ' WITH ADMIN OPTION' else '' end),
                  E'\n' order by g.name collate "C", m.name collate "C")
  from pg_catalog.pg_auth_members a
  join role_names g on g.oid = a.roleid
  join role_names m on m.oid = a.member
 where a.roleid in (select oid from our_roles)
   and (a.member in (select oid from our_roles) or a.member = (select oid from pg_catalog.pg_roles where rolname = current_user))
having count(*) > 0

union all
-- 3. The database: its privileges (above) and settings.
select 'roles.sql', 3, '', 2,
       string_agg(format('ALTER DATABASE :"DBNAME" SET %s;', regexp_replace(c, '=', ' = ')), E'\n' order by c collate "C")
  from pg_catalog.pg_db_role_setting s cross join lateral unnest(s.setconfig) c
 where s.setrole = 0 and s.setdatabase = (select oid from pg_catalog.pg_database where datname = current_database())
having count(*) > 0

union all
-- 4. Each schema: who owns it (its privileges are above) and its comment.
select 'roles.sql', 4, n.nspname, 1,
       case when n.nspname = 'public' then '-- Schema public: created with the database.'
            else format('CREATE SCHEMA %I;', n.nspname) end
       || format(E'\nALTER SCHEMA %I OWNER TO %s;', n.nspname, o.name)
  from pg_catalog.pg_namespace n join ours s on s.oid = n.oid join role_names o on o.oid = n.nspowner
union all
select 'roles.sql', 4, n.nspname, 2,
       '-- In effect: ' || string_agg(
         p.privilege_type || ' for ' || coalesce(
           (select string_agg(rn.name, ', ' order by rn.name collate "C")
              from pg_catalog.aclexplode(coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) a
              join role_names rn on rn.oid = a.grantee
             where a.privilege_type = p.privilege_type and a.grantee <> n.nspowner), 'its owner only'),
         '; ' order by p.privilege_type desc) || '.'
  from pg_catalog.pg_namespace n join ours s on s.oid = n.oid
 cross join (values ('USAGE'), ('CREATE')) p(privilege_type)
 group by n.nspname
union all
select 'roles.sql', 4, n.nspname, 4, format('COMMENT ON SCHEMA %I IS %L;', n.nspname, d.description)
  from pg_catalog.pg_namespace n join ours s on s.oid = n.oid
  join pg_catalog.pg_description d
    on d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass and d.objoid = n.oid and d.objsubid = 0

union all
-- 5. Default privileges: what objects get when they are created.
select 'roles.sql', 5, '', 1,
       string_agg(x.statement, E'\n' order by x.statement collate "C")
  from (
    select format('ALTER DEFAULT PRIVILEGES FOR ROLE %s%s %s %s ON %s %s %s;',
                  fr.name,
                  case when d.defaclnamespace <> 0 then ' IN SCHEMA ' || quote_ident(d.defaclnamespace::pg_catalog.regnamespace::text) else '' end,
                  x.verb, string_agg(x.privilege_type, ', ' order by po.position),
                  case d.defaclobjtype when 'r' then 'TABLES' when 'S' then 'SEQUENCES' when 'f' then 'FUNCTIONS'
                                       when 'T' then 'TYPES' when 'n' then 'SCHEMAS' end,
                  case x.verb when 'GRANT' then 'TO' else 'FROM' end, g.name) as statement
      from pg_catalog.pg_default_acl d
      join role_names fr on fr.oid = d.defaclrole
     cross join lateral (
       -- A global entry replaces the built-in default; one per schema adds to it.
       select 'GRANT' as verb, a.grantee, a.privilege_type
         from pg_catalog.aclexplode(d.defaclacl) a
        where d.defaclnamespace <> 0
           or not exists (select 1 from pg_catalog.aclexplode(pg_catalog.acldefault(d.defaclobjtype, d.defaclrole)) b
                           where (b.grantee, b.privilege_type) = (a.grantee, a.privilege_type))
       union all
       select 'REVOKE', b.grantee, b.privilege_type
         from pg_catalog.aclexplode(pg_catalog.acldefault(d.defaclobjtype, d.defaclrole)) b
        where d.defaclnamespace = 0
          and not exists (select 1 from pg_catalog.aclexplode(d.defaclacl) a
                           where (b.grantee, b.privilege_type) = (a.grantee, a.privilege_type))
     ) x
      join role_names g on g.oid = x.grantee
      join privilege_order po on po.privilege_type = x.privilege_type
     group by fr.name, d.defaclnamespace, d.defaclobjtype, x.verb, g.name
  ) x
having count(*) > 0

union all
-- 3, 4, 6 and every other object's privileges.
select file, section, key, sub,
       string_agg(statement, E'\n' order by target collate "C", verb desc, grantee collate "C", statement collate "C")
  from acl_statements
 group by file, section, key, sub

-- types.sql ------------------------------------------------------------------

union all
-- 1. Extensions, and who may execute their functions.
select 'types.sql', 1, x.extname::text, 1,
       format('CREATE EXTENSION IF NOT EXISTS %I WITH SCHEMA %I;', x.extname, n.nspname)
       || coalesce((
         select string_agg(case when g.functions = g.total
                                then format(E'\n-- Its %s functions: EXECUTE for %s.', g.functions, g.holders)
                                else format(E'\n-- %s of its %s functions: EXECUTE for %s.', g.functions, g.total, g.holders) end,
                           '' order by g.functions desc, g.holders collate "C")
           from (
             select count(*) as functions, sum(count(*)) over () as total, f.holders
               from (
                 select p.oid,
                        coalesce((select string_agg(rn.name, ', ' order by rn.name collate "C")
                                    from pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
                                    join role_names rn on rn.oid = a.grantee
                                   where a.privilege_type = 'EXECUTE' and a.grantee <> p.proowner), 'its owner only') as holders
                   from pg_catalog.pg_depend d
                   join pg_catalog.pg_proc p on p.oid = d.objid
                  where d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
                    and d.refobjid = x.oid and d.deptype = 'e'
               ) f
              group by f.holders
           ) g), '')
  from pg_catalog.pg_extension x
  join pg_catalog.pg_namespace n on n.oid = x.extnamespace
 where x.extname <> 'plpgsql'

union all
-- 2. Enums, 3. domains, 4. composite types.
select 'types.sql', case t.typtype when 'e' then 2 when 'd' then 3 else 4 end, t.qname, 1,
       case t.typtype
         when 'e' then format(E'CREATE TYPE %s AS ENUM (\n%s\n);', t.qname,
                              (select string_agg('    ' || quote_literal(e.enumlabel), E',\n' order by e.enumsortorder)
                                 from pg_catalog.pg_enum e where e.enumtypid = t.oid))
         when 'd' then format('CREATE DOMAIN %s AS %s%s%s;', t.qname, pg_catalog.format_type(t.typbasetype, t.typtypmod),
                              coalesce(' DEFAULT ' || pg_catalog.pg_get_expr(t.typdefaultbin, 0), ''),
                              case when t.typnotnull then ' NOT NULL' else '' end)
                      || coalesce((select string_agg(format(E'\nALTER DOMAIN %s ADD CONSTRAINT %I %s;', t.qname, k.conname,
                                                            pg_catalog.pg_get_constraintdef(k.oid)), '' order by k.conname collate "C")
                                     from pg_catalog.pg_constraint k where k.contypid = t.oid), '')
         else format(E'CREATE TYPE %s AS (\n%s\n);', t.qname,
                     (select string_agg(format('    %I %s', a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)),
                                        E',\n' order by a.attnum)
                        from pg_catalog.pg_attribute a where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped))
       end
       || format(E'\nALTER TYPE %s OWNER TO %s;', t.qname, o.name)
  from types t join role_names o on o.oid = t.typowner
union all
select 'types.sql', case t.typtype when 'e' then 2 when 'd' then 3 else 4 end, t.qname, 4,
       format('COMMENT ON %s %s IS %L;', case t.typtype when 'd' then 'DOMAIN' else 'TYPE' end, t.qname, d.description)
  from types t
  join pg_catalog.pg_description d on d.classoid = 'pg_catalog.pg_type'::pg_catalog.regclass and d.objoid = t.oid and d.objsubid = 0

-- tables/<schema>.<table>.sql -------------------------------------------------

union all
-- 1. Columns, owner, storage parameters; comments on the table and columns.
select t.file, 1, '', 1,
       format(E'CREATE %sTABLE %s (\n%s\n);', case t.relpersistence when 'u' then 'UNLOGGED ' else '' end, t.qname,
              coalesce((
                select string_agg(format('    %I %s%s%s%s', a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
                                         case when a.attcollation <> ty.typcollation
                                              then ' COLLATE ' || a.attcollation::pg_catalog.regcollation::text else '' end,
                                         case when a.attgenerated = 's'
                                              then format(' GENERATED ALWAYS AS (%s) STORED', pg_catalog.pg_get_expr(d.adbin, d.adrelid))
                                              when a.attidentity = 'a' then ' GENERATED ALWAYS AS IDENTITY'
                                              when a.attidentity = 'd' then ' GENERATED BY DEFAULT AS IDENTITY'
                                              when d.adbin is not null then ' DEFAULT ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid)
                                              else '' end,
                                         case when a.attnotnull then ' NOT NULL' else '' end),
                                  E',\n' order by a.attnum)
                  from pg_catalog.pg_attribute a
                  join pg_catalog.pg_type ty on ty.oid = a.atttypid
                  left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
                 where a.attrelid = t.oid and a.attnum > 0 and not a.attisdropped), ''))
       || format(E'\nALTER TABLE %s OWNER TO %s;', t.qname, o.name)
       || case when t.reloptions is not null
               then format(E'\nALTER TABLE %s SET (%s);', t.qname, array_to_string(t.reloptions, ', ')) else '' end
  from tabs t join role_names o on o.oid = t.relowner
union all
-- Comments on tables and views, and on their columns (views.sql's too).
select case when r.relkind in ('v', 'm') then 'views.sql' else r.file end,
       1, case when r.relkind in ('v', 'm') then r.qname else '' end, case when r.relkind in ('v', 'm') then 5 else 2 end,
       string_agg(case when d.objsubid = 0
                       then format('COMMENT ON %s %s IS %L;',
                                   case r.relkind when 'v' then 'VIEW' when 'm' then 'MATERIALIZED VIEW' else 'TABLE' end,
                                   r.qname, d.description)
                       else format('COMMENT ON COLUMN %s.%I IS %L;', r.qname, a.attname, d.description) end,
                  E'\n' order by d.objsubid)
  from rels r
  join pg_catalog.pg_description d on d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objoid = r.oid
  left join pg_catalog.pg_attribute a on a.attrelid = r.oid and a.attnum = d.objsubid
 group by r.file, r.relkind, r.qname

union all
-- 2. Constraints (NOT VALID where so), and their comments.
select t.file, 2, '', 1,
       string_agg(format('ALTER TABLE ONLY %s ADD CONSTRAINT %I %s;', t.qname, k.conname, pg_catalog.pg_get_constraintdef(k.oid)),
                  E'\n' order by k.conname collate "C")
  from tabs t join pg_catalog.pg_constraint k on k.conrelid = t.oid and k.contype <> 't'
 group by t.file

union all
-- 3. Indexes that no constraint makes.
select t.file, 3, '', 1,
       string_agg(pg_catalog.pg_get_indexdef(i.indexrelid) || ';'
                  || case when not i.indisvalid then ' -- INVALID: an interrupted CREATE INDEX CONCURRENTLY' else '' end
                  || case when i.indisclustered then format(E'\nALTER TABLE %s CLUSTER ON %I;', t.qname, c.relname) else '' end,
                  E'\n' order by c.relname collate "C")
  from tabs t
  join pg_catalog.pg_index i on i.indrelid = t.oid
  join pg_catalog.pg_class c on c.oid = i.indexrelid
 where not exists (select 1 from pg_catalog.pg_constraint k where k.conrelid = t.oid and k.conindid = i.indexrelid)
 group by t.file

union all
-- 4. Triggers.
select t.file, 4, '', 1,
       string_agg(pg_catalog.pg_get_triggerdef(g.oid) || ';'
                  || case g.tgenabled when 'D' then format(E'\nALTER TABLE %s DISABLE TRIGGER %I;', t.qname, g.tgname)
                                      when 'R' then format(E'\nALTER TABLE %s ENABLE REPLICA TRIGGER %I;', t.qname, g.tgname)
                                      when 'A' then format(E'\nALTER TABLE %s ENABLE ALWAYS TRIGGER %I;', t.qname, g.tgname)
                                      else '' end,
                  E'\n' order by g.tgname collate "C")
  from tabs t join pg_catalog.pg_trigger g on g.tgrelid = t.oid and not g.tgisinternal
 group by t.file

union all
-- 2, 3, 4. Comments on constraints, indexes and triggers, after them.
select c.file, c.section, '', 2, string_agg(c.statement, E'\n' order by c.name collate "C")
  from (
    select t.file, 2 as section, k.conname as name,
           format('COMMENT ON CONSTRAINT %I ON %s IS %L;', k.conname, t.qname, d.description) as statement
      from tabs t join pg_catalog.pg_constraint k on k.conrelid = t.oid
      join pg_catalog.pg_description d on d.classoid = 'pg_catalog.pg_constraint'::pg_catalog.regclass and d.objoid = k.oid
    union all
    select t.file, 3, c.relname, format('COMMENT ON INDEX %I.%I IS %L;', t.nspname, c.relname, d.description)
      from tabs t
      join pg_catalog.pg_index i on i.indrelid = t.oid
      join pg_catalog.pg_class c on c.oid = i.indexrelid
      join pg_catalog.pg_description d on d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objoid = c.oid
    union all
    select t.file, 4, g.tgname, format('COMMENT ON TRIGGER %I ON %s IS %L;', g.tgname, t.qname, d.description)
      from tabs t join pg_catalog.pg_trigger g on g.tgrelid = t.oid
      join pg_catalog.pg_description d on d.classoid = 'pg_catalog.pg_trigger'::pg_catalog.regclass and d.objoid = g.oid
  ) c
 group by c.file, c.section

union all
-- 5. Row-level security, said either way.
select t.file, 5, '', 1,
       case when t.relrowsecurity then format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY;', t.qname)
            else '-- Row-level security is not enabled on this table.' end
       || E'\n' ||
       case when t.relforcerowsecurity then format('ALTER TABLE %s FORCE ROW LEVEL SECURITY;', t.qname)
            else '-- Row-level security is not forced on this table (its owner is not bound by policies).' end
  from tabs t

union all
-- 6. Policies, one statement each, with their comments.
select t.file, 6, p.polname::text, 1,
       format(E'CREATE POLICY %I ON %s\n    AS %s\n    FOR %s\n    TO %s%s%s;', p.polname, t.qname,
              case when p.polpermissive then 'PERMISSIVE' else 'RESTRICTIVE' end,
              case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT' when 'w' then 'UPDATE' when 'd' then 'DELETE' else 'ALL' end,
              (select string_agg(rn.name, ', ' order by rn.name collate "C") from unnest(p.polroles) r join role_names rn on rn.oid = r),
              coalesce(E'\n    USING (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')', ''),
              coalesce(E'\n    WITH CHECK (' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) || ')', ''))
       || coalesce(format(E'\nCOMMENT ON POLICY %I ON %s IS %L;', p.polname, t.qname, d.description), '')
  from tabs t
  join pg_catalog.pg_policy p on p.polrelid = t.oid
  left join pg_catalog.pg_description d on d.classoid = 'pg_catalog.pg_policy'::pg_catalog.regclass and d.objoid = p.oid

union all
-- 7. Privileges: the table's are above; none at all is said.
select t.file, 7, '', 0, '-- No role but its owner holds a privilege on this table.'
  from tabs t
 where not exists (select 1 from acl_changes c where c.file = t.file and c.section = 7 and c.verb = 'GRANT')
   and not exists (select 1 from pg_catalog.pg_attribute a where a.attrelid = t.oid and a.attacl is not null)
union all
-- 7. Column privileges.
select c.file, 7, '', 2, string_agg(c.statement, E'\n' order by c.grantee collate "C", c.privilege_type, c.statement collate "C")
  from column_statements c where c.relkind in ('r', 'p')
 group by c.file

-- views.sql ------------------------------------------------------------------

union all
select 'views.sql', 1, v.qname, 1,
       format(E'CREATE %sVIEW %s%s AS\n%s', case v.relkind when 'm' then 'MATERIALIZED ' else '' end, v.qname,
              coalesce(' WITH (' || array_to_string(v.reloptions, ', ') || ')', ''),
              pg_catalog.pg_get_viewdef(v.oid, true))
       || format(E'\nALTER %sVIEW %s OWNER TO %s;', case v.relkind when 'm' then 'MATERIALIZED ' else '' end, v.qname, o.name)
  from rels v join role_names o on o.oid = v.relowner
 where v.relkind in ('v', 'm')
union all
select 'views.sql', 1, c.qname, 4, string_agg(c.statement, E'\n' order by c.grantee collate "C", c.privilege_type, c.statement collate "C")
  from column_statements c where c.relkind in ('v', 'm')
 group by c.qname

-- functions/<schema>.<kind>.sql ---------------------------------------------

union all
select f.file, 1, f.sig, 1,
       rtrim(pg_catalog.pg_get_functiondef(f.oid), E'\n') || E';\n'
       || format('ALTER %s %s OWNER TO %s;', case f.prokind when 'p' then 'PROCEDURE' else 'FUNCTION' end, f.sig, o.name)
  from funcs f join role_names o on o.oid = f.proowner
union all
select f.file, 1, f.sig, 4,
       format('COMMENT ON %s %s IS %L;', case f.prokind when 'p' then 'PROCEDURE' else 'FUNCTION' end, f.sig, d.description)
  from funcs f
  join pg_catalog.pg_description d on d.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass and d.objoid = f.oid
