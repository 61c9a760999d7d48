-- Isolation on a worker (scripts/citus-test.sh runs this on the first worker,
-- after the Postman collection filled the cluster): the request roles may log
-- in to the workers, so what they can do there directly is checked too. The
-- shards carry the tables' row-level security, forced, and their grants:
--
--   * on a shard of audit_log, a request role without settings sees nothing;
--     with its organization's settings, all of that organization's rows;
--     with another organization's, none;
--   * a request role cannot write a shard;
--   * the shards' policies are the distributed table's.
--
-- Run as the superuser, in one transaction rolled back. (Citus refuses DDL
-- but temporary tables on a worker: the checks run in DO blocks, as the
-- role, and leave their counts in a temporary table.)

begin;
select plan(7);
set local citus.override_table_visibility = off;

create temp table pick (shard regclass, org uuid, n bigint, seen_without bigint, seen_as_org bigint,
                        seen_as_other bigint, write_error text);
grant select, update on pick to public;

-- The shard of audit_log on this worker with the most rows of one organization.
do $$
declare
  r record;
  best record;
begin
  for r in select (logicalrelid::text || '_' || shardid)::regclass as shard from pg_dist_shard
            where logicalrelid = 'public.audit_log'::regclass
              and exists (select from pg_class where relname = 'audit_log_' || shardid) loop
    execute format('select organization_id as org, count(*) as n from %s
                     where organization_id <> app.platform_org_id() group by 1 order by 2 desc limit 1', r.shard)
      into best;
    if best.org is not null and (select n from pick) is distinct from greatest((select n from pick), best.n) then
      delete from pick;
      insert into pick (shard, org, n) values (r.shard, best.org, best.n);
    end if;
  end loop;
end $$;

select ok((select n from pick) > 0, 'this worker holds a shard of audit_log with an organization''s rows');
select ok((select relrowsecurity and relforcerowsecurity from pg_class where oid = (select shard from pick)),
          'the shard has row-level security, forced');
select is((select count(*)::int from pg_policy where polrelid = (select shard from pick)),
          (select count(*)::int from pg_policy where polrelid = 'public.audit_log'::regclass),
          'and the distributed table''s policies');

-- As a request role, logged in to this worker as the coordinator logs in.
select set_config('role', 'vectra_member', true);
do $$
declare
  p record;
  v bigint;
begin
  select * into p from pick;
  execute format('select count(*) from %s', p.shard) into v;
  update pick set seen_without = v;
  perform set_config('app.org_id', p.org::text, true), set_config('app.user_id', gen_random_uuid()::text, true),
          set_config('app.role', 'owner', true);
  execute format('select count(*) from %s', p.shard) into v;
  update pick set seen_as_org = v;
  perform set_config('app.org_id', gen_random_uuid()::text, true);
  execute format('select count(*) from %s', p.shard) into v;
  update pick set seen_as_other = v;
  begin
    execute format('delete from %s', p.shard);
  exception when others then
    update pick set write_error = sqlstate;
  end;
end $$;
select set_config('role', 'postgres', true);

select is((select seen_without from pick), 0::bigint, 'a request role without settings reads no row of the shard');
select is((select seen_as_org from pick), (select n from pick),
          'with its organization''s settings: that organization''s rows, all of them');
select is((select seen_as_other from pick), 0::bigint, 'with another organization''s: none of them');
select is((select write_error from pick), '42501', 'a request role cannot write the shard');

select * from finish();
rollback;
