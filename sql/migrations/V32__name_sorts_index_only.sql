-- vectra: no transaction
--
-- Leads by name, read from the index alone (issue 21; docs/performance.md,
-- "Big tenants"). The name sorts walk indexes on the expression
-- lower(coalesce(full_name, email)); PostgreSQL answers an expression from
-- an index only when the columns it is computed from are in the index too,
-- so each position a page walked (the 10,000 of page 500, the 21 of any
-- page) was a heap fetch: page 500 by name took 17 ms inside PostgreSQL in
-- a tenant of a million leads, 4.6 times the small tenant's time through
-- HTTP. With full_name and email included, the same walk is an index-only
-- scan: 1.8 ms. The indexes grow by about 45 % (89 to 129 MB per million
-- leads each).
--
-- Built as V26's were: concurrently, one statement at a time, new names
-- built before the old indexes go.

create index concurrently if not exists leads_org_name_incl_idx
  on public.leads (organization_id, (lower(coalesce(full_name, email))), id) include (full_name, email);
create index concurrently if not exists leads_org_status_name_incl_idx
  on public.leads (organization_id, status, (lower(coalesce(full_name, email))), id) include (full_name, email);
create index concurrently if not exists leads_org_campaign_name_incl_idx
  on public.leads (organization_id, campaign_id, (lower(coalesce(full_name, email))), id) include (full_name, email);
drop index concurrently if exists public.leads_org_name_idx;
drop index concurrently if exists public.leads_org_status_name_idx;
drop index concurrently if exists public.leads_org_campaign_name_idx;
