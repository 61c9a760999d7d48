-- V12: prospecting data (/api/v1/user/campaigns, /leads, /meetings).
--
-- The tables exist since V2. Every role of the organization reads them;
-- manager and above create and update, admin and above delete. V9 wrote that
-- matrix as policies keyed on app.role, which a forged setting passes; here
-- the writes move to SECURITY DEFINER functions owned by vectra_definer that
-- start with auth.authorize (the settings checked against a live session),
-- like every other rule-carrying write, and vectra_member loses its direct
-- writes: no request role writes any table directly any more. This migration
-- also adds what the routes need:
--
--   * one lead per email and organization, names that cannot disguise
--     themselves, emails stored lower-case;
--   * status transitions that make sense, enforced by a trigger for every
--     path (a lead moves new -> contacted -> replied -> qualified ->
--     converted, or to lost from any other status; a meeting is scheduled,
--     then completed or cancelled; a campaign goes draft -> active <-> paused
--     -> completed);
--   * one function per route: the reads SECURITY INVOKER under the member
--     (and reader) policies, the writes SECURITY DEFINER as vectra_definer
--     under its policies (the request's organization only); clear refusals
--     (403 naming the roles, 404 for another tenant's ids, 422 naming the
--     field) and a set-based bulk import.
--
-- Keys are composite (organization_id, id) since V2, so a lead can never
-- name another tenant's campaign, nor a meeting another tenant's lead.

------------------------------------------------------------------------------
-- Table rules
------------------------------------------------------------------------------

-- Existing rows are not re-checked (nothing wrote these tables before V12,
-- but an upgrade must not fail on hand-made data); every write from now on is.
alter table public.leads
  add constraint leads_email_lower check (email = pg_catalog.lower(email) and pg_catalog.strpos(email, '@') > 1) not valid,
  add constraint leads_full_name_display check (full_name is null or app.display_name_error(full_name) is null) not valid,
  add constraint leads_company_display check (company is null or app.display_name_error(company) is null) not valid;
alter table public.campaigns
  add constraint campaigns_name_display check (app.display_name_error(name) is null) not valid;

-- One lead per address in an organization: an import reports duplicates
-- rather than doubling them.
create unique index leads_org_email_key on public.leads (organization_id, pg_catalog.lower(email));
create index leads_org_created_idx on public.leads (organization_id, created_at, id);
create index campaigns_org_created_idx on public.campaigns (organization_id, created_at, id);
create index meetings_org_status_scheduled_idx on public.meetings (organization_id, status, scheduled_at);

------------------------------------------------------------------------------
-- Writes only through vectra_definer
------------------------------------------------------------------------------

revoke insert, update, delete on public.campaigns, public.leads, public.meetings from vectra_member;
drop policy campaigns_member_insert on public.campaigns;
drop policy campaigns_member_update on public.campaigns;
drop policy campaigns_member_delete on public.campaigns;
drop policy leads_member_insert on public.leads;
drop policy leads_member_update on public.leads;
drop policy leads_member_delete on public.leads;
drop policy meetings_member_insert on public.meetings;
drop policy meetings_member_update on public.meetings;
drop policy meetings_member_delete on public.meetings;

grant select, insert, update, delete on public.campaigns, public.leads, public.meetings to vectra_definer;
do $$
declare
  t text;
begin
  foreach t in array array['campaigns', 'leads', 'meetings'] loop
    execute pg_catalog.format($f$
      create policy %1$s_definer_all on public.%1$I for all to vectra_definer
        using (organization_id = app.current_org_id()) with check (organization_id = app.current_org_id());
      comment on policy %1$s_definer_all on public.%1$I is
        'The prospecting write functions (owned by vectra_definer) create, change and delete the request''s own organization''s %1$s only.';
    $f$, t);
  end loop;
end
$$;

-- Which status may follow which. Same status is always allowed (no change).
create function app.status_transition_allowed(p_table text, p_from text, p_to text) returns boolean
language sql immutable parallel safe
set search_path = pg_catalog, pg_temp
as $$
  select p_from = p_to or exists (
    select 1 from (values
      ('leads', 'new', 'contacted'), ('leads', 'contacted', 'replied'),
      ('leads', 'replied', 'qualified'), ('leads', 'qualified', 'converted'),
      ('leads', 'new', 'lost'), ('leads', 'contacted', 'lost'), ('leads', 'replied', 'lost'),
      ('leads', 'qualified', 'lost'), ('leads', 'converted', 'lost'),
      ('meetings', 'scheduled', 'completed'), ('meetings', 'scheduled', 'cancelled'),
      ('campaigns', 'draft', 'active'), ('campaigns', 'active', 'paused'),
      ('campaigns', 'paused', 'active'), ('campaigns', 'active', 'completed'),
      ('campaigns', 'paused', 'completed')
    ) t (tbl, from_status, to_status)
    where tbl = p_table and from_status = p_from and to_status = p_to)
$$;
comment on function app.status_transition_allowed(text, text, text) is
  'The status machine of leads, meetings and campaigns (docs/api.md, Prospecting).';

create function app.check_status_transition() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if not app.status_transition_allowed(TG_TABLE_NAME, old.status::text, new.status::text) then
    raise exception 'status: cannot change from % to %', old.status, new.status
      using errcode = 'VA422',
            detail = pg_catalog.jsonb_build_object('status',
              pg_catalog.format('cannot change from %s to %s', old.status, new.status))::text;
  end if;
  return new;
end
$$;
create trigger leads_status_transition before update of status on public.leads
  for each row execute function app.check_status_transition();
create trigger meetings_status_transition before update of status on public.meetings
  for each row execute function app.check_status_transition();
create trigger campaigns_status_transition before update of status on public.campaigns
  for each row execute function app.check_status_transition();

------------------------------------------------------------------------------
-- Shared pieces
------------------------------------------------------------------------------

-- A literal substring pattern for ILIKE: the caller's %, _ and \ match
-- themselves. NULL for an absent or blank search.
create function app.like_pattern(p_search text) returns text
language sql immutable parallel safe
set search_path = pg_catalog, pg_temp
as $$
  select case when p_search is null or pg_catalog.btrim(p_search) = '' then null
              else '%' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
                     pg_catalog.btrim(p_search), '\', '\\'), '%', '\%'), '_', '\_') || '%' end
$$;

-- A sort field of a list route, refused unless allowed (VA422 naming them).
create function app.check_sort(p_sort text, variadic p_allowed text[]) returns void
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_sort is null or not (p_sort = any (p_allowed)) then
    raise exception 'sort: must be one of %', pg_catalog.array_to_string(p_allowed, ', ')
      using errcode = 'VA422',
            detail = pg_catalog.jsonb_build_object('sort',
              'must be one of ' || pg_catalog.array_to_string(p_allowed, ', '))::text;
  end if;
end
$$;

-- An enum value given as a filter, refused unless it is one (VA422 naming them).
create function app.check_filter(p_field text, p_value text, variadic p_allowed text[]) returns void
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_value is not null and not (p_value = any (p_allowed)) then
    raise exception '%: must be one of %', p_field, pg_catalog.array_to_string(p_allowed, ', ')
      using errcode = 'VA422',
            detail = pg_catalog.jsonb_build_object(p_field,
              'must be one of ' || pg_catalog.array_to_string(p_allowed, ', '))::text;
  end if;
end
$$;

create function app.any_role() returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$ select app.require_role('owner', 'admin', 'manager', 'member') $$;

create function app.campaign_json(c public.campaigns, p_leads_count bigint) returns jsonb
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select pg_catalog.jsonb_build_object(
    'id', c.id, 'name', c.name, 'status', c.status, 'leads_count', coalesce(p_leads_count, 0),
    'created_at', c.created_at, 'updated_at', c.updated_at)
$$;

create function app.lead_json(l public.leads) returns jsonb
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select pg_catalog.jsonb_build_object(
    'id', l.id, 'email', l.email, 'full_name', l.full_name, 'company', l.company,
    'status', l.status, 'campaign_id', l.campaign_id,
    'created_at', l.created_at, 'updated_at', l.updated_at)
$$;

create function app.meeting_json(m public.meetings) returns jsonb
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select pg_catalog.jsonb_build_object(
    'id', m.id, 'lead_id', m.lead_id, 'scheduled_at', m.scheduled_at, 'status', m.status,
    'created_at', m.created_at, 'updated_at', m.updated_at)
$$;

-- The campaign p_id must be one of the caller's organization (VA422 naming
-- p_field otherwise: the id came in a body, it is not the resource asked for).
create function app.require_campaign(p_id uuid, p_field text) returns void
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_id is not null and not exists (
       select 1 from public.campaigns where organization_id = app.current_org_id() and id = p_id) then
    raise exception '%: no such campaign in this organization', p_field
      using errcode = 'VA422',
            detail = pg_catalog.jsonb_build_object(p_field, 'no such campaign in this organization')::text;
  end if;
end
$$;

------------------------------------------------------------------------------
-- Campaigns
------------------------------------------------------------------------------

create function app.list_campaigns(p_page integer, p_per_page integer, p_status text, p_search text,
                                   p_sort text, p_desc boolean) returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_pattern text := app.like_pattern(p_search);
  v_total bigint;
  v_items jsonb;
begin
  perform app.any_role();
  perform app.check_page(p_page, p_per_page);
  perform app.check_sort(p_sort, 'created_at', 'name');
  perform app.check_filter('status', p_status, 'draft', 'active', 'paused', 'completed');
  -- Each match as a whole row (r) with its sort key, ordered once.
  with matching as (
    select c as r, pg_catalog.row_number() over (
             order by case when p_sort = 'name' and not p_desc then pg_catalog.lower(c.name) end asc,
                      case when p_sort = 'name' and p_desc then pg_catalog.lower(c.name) end desc,
                      case when p_sort = 'created_at' and not p_desc then c.created_at end asc,
                      case when p_sort = 'created_at' and p_desc then c.created_at end desc,
                      c.id) as ord
      from public.campaigns c
     where c.organization_id = app.current_org_id()
       and (p_status is null or c.status::text = p_status)
       and (v_pattern is null or c.name ilike v_pattern)
  )
  select (select pg_catalog.count(*) from matching),
         coalesce((select pg_catalog.jsonb_agg(app.campaign_json(p.r,
                     (select pg_catalog.count(*) from public.leads l
                       where l.organization_id = app.current_org_id() and l.campaign_id = (p.r).id))
                     order by p.ord)
                     from (select m.r, m.ord
                             from matching m
                            order by ord
                            limit p_per_page offset (p_page - 1)::bigint * p_per_page) p), '[]')
    into v_total, v_items;
  return pg_catalog.jsonb_build_object('items', v_items, 'page', p_page, 'per_page', p_per_page, 'total', v_total);
end
$$;

create function app.get_campaign(p_id uuid) returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v public.campaigns;
begin
  perform app.any_role();
  select * into v from public.campaigns where organization_id = app.current_org_id() and id = p_id;
  if not found then
    raise exception 'Campaign not found' using errcode = 'VA404';
  end if;
  return app.campaign_json(v, (select pg_catalog.count(*) from public.leads
                                where organization_id = v.organization_id and campaign_id = v.id));
end
$$;

-- p_campaign: {name, status?}, validated by the service (src/http/prospecting.rs).
create function app.create_campaign(p_campaign jsonb) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v public.campaigns;
begin
  perform auth.authorize('owner', 'admin', 'manager');
  insert into public.campaigns (organization_id, name, status)
  values (app.current_org_id(), pg_catalog.btrim(p_campaign ->> 'name'),
          coalesce(p_campaign ->> 'status', 'draft')::public.campaign_status)
  returning * into v;
  return app.campaign_json(v, 0);
end
$$;

-- p_changes: {name?, status?}
create function app.update_campaign(p_id uuid, p_changes jsonb) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v public.campaigns;
begin
  perform auth.authorize('owner', 'admin', 'manager');
  update public.campaigns
     set name = coalesce(pg_catalog.btrim(p_changes ->> 'name'), name),
         status = coalesce((p_changes ->> 'status')::public.campaign_status, status)
   where organization_id = app.current_org_id() and id = p_id
  returning * into v;
  if not found then
    raise exception 'Campaign not found' using errcode = 'VA404';
  end if;
  return app.get_campaign(v.id);
end
$$;

-- Its leads stay, without a campaign (the key sets campaign_id to NULL).
create function app.delete_campaign(p_id uuid) returns void
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform auth.authorize('owner', 'admin');
  delete from public.campaigns where organization_id = app.current_org_id() and id = p_id;
  if not found then
    raise exception 'Campaign not found' using errcode = 'VA404';
  end if;
end
$$;

------------------------------------------------------------------------------
-- Leads
------------------------------------------------------------------------------

create function app.list_leads(p_page integer, p_per_page integer, p_status text, p_campaign_id uuid,
                               p_search text, p_sort text, p_desc boolean) returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_pattern text := app.like_pattern(p_search);
  v_total bigint;
  v_items jsonb;
begin
  perform app.any_role();
  perform app.check_page(p_page, p_per_page);
  perform app.check_sort(p_sort, 'created_at', 'name');
  perform app.check_filter('status', p_status, 'new', 'contacted', 'replied', 'qualified', 'converted', 'lost');
  with matching as (
    select l as r, pg_catalog.row_number() over (
             order by case when p_sort = 'name' and not p_desc then pg_catalog.lower(coalesce(l.full_name, l.email)) end asc,
                      case when p_sort = 'name' and p_desc then pg_catalog.lower(coalesce(l.full_name, l.email)) end desc,
                      case when p_sort = 'created_at' and not p_desc then l.created_at end asc,
                      case when p_sort = 'created_at' and p_desc then l.created_at end desc,
                      l.id) as ord
      from public.leads l
     where l.organization_id = app.current_org_id()
       and (p_status is null or l.status::text = p_status)
       and (p_campaign_id is null or l.campaign_id = p_campaign_id)
       and (v_pattern is null or l.email ilike v_pattern or l.full_name ilike v_pattern
            or l.company ilike v_pattern)
  )
  select (select pg_catalog.count(*) from matching),
         coalesce((select pg_catalog.jsonb_agg(app.lead_json(p.r) order by p.ord)
                     from (select m.r, m.ord
                             from matching m
                            order by ord
                            limit p_per_page offset (p_page - 1)::bigint * p_per_page) p), '[]')
    into v_total, v_items;
  return pg_catalog.jsonb_build_object('items', v_items, 'page', p_page, 'per_page', p_per_page, 'total', v_total);
end
$$;

create function app.get_lead(p_id uuid) returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v public.leads;
begin
  perform app.any_role();
  select * into v from public.leads where organization_id = app.current_org_id() and id = p_id;
  if not found then
    raise exception 'Lead not found' using errcode = 'VA404';
  end if;
  return app.lead_json(v);
end
$$;

-- POST /user/leads/import (and POST /user/leads, with one lead): a JSON array
-- of {email, full_name?, company?, status?, campaign_id?}, validated field by
-- field by the service. All or nothing: duplicates (within the batch or with
-- the organization's leads) and unknown campaigns are reported by row (1 is
-- the first element), at most 100, as DETAIL {"errors": [{row, field,
-- message}]}; then one set-based insert. Returns the leads created.
create function app.insert_leads(p_leads jsonb) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_errors jsonb;
  v_count integer;
  v_created jsonb;
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
                    where l.organization_id = app.current_org_id() and pg_catalog.lower(l.email) = i.email)
    union all
    select i.row_no, 'campaign_id', 'no such campaign in this organization'
      from input i
     where i.campaign_id is not null
       and not exists (select 1 from public.campaigns c
                        where c.organization_id = app.current_org_id() and c.id = i.campaign_id)
  )
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('row', row_no, 'field', field, 'message', message)
                              order by row_no, field)
    into v_errors
    from (select * from problems order by row_no, field limit 100) p;
  if v_errors is not null then
    raise exception 'The import has invalid rows; nothing was imported'
      using errcode = 'VA422', detail = pg_catalog.jsonb_build_object('errors', v_errors)::text;
  end if;
  with created as (
    insert into public.leads (organization_id, campaign_id, email, full_name, company, status)
    select app.current_org_id(), (r.value ->> 'campaign_id')::uuid,
           pg_catalog.lower(pg_catalog.btrim(r.value ->> 'email')),
           nullif(pg_catalog.btrim(r.value ->> 'full_name'), ''), nullif(pg_catalog.btrim(r.value ->> 'company'), ''),
           coalesce(r.value ->> 'status', 'new')::public.lead_status
      from pg_catalog.jsonb_array_elements(p_leads) with ordinality r (value, ordinality)
     order by r.ordinality
    returning *
  )
  select pg_catalog.jsonb_agg(app.lead_json(c::public.leads) order by c.created_at, c.id) into v_created from created c;
  return v_created;
end
$$;

-- POST /user/leads: one lead, refused with a 409 when the organization has
-- its email already.
create function app.create_lead(p_lead jsonb) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform auth.authorize('owner', 'admin', 'manager');
  perform app.require_campaign((p_lead ->> 'campaign_id')::uuid, 'campaign_id');
  if exists (select 1 from public.leads
              where organization_id = app.current_org_id()
                and pg_catalog.lower(email) = pg_catalog.lower(pg_catalog.btrim(p_lead ->> 'email'))) then
    raise exception 'A lead with this email already exists' using errcode = 'VA409';
  end if;
  return app.insert_leads(pg_catalog.jsonb_build_array(p_lead)) -> 0;
end
$$;

-- p_changes: {email?, full_name?, company?, status?, campaign_id?}; a key
-- present with null clears full_name, company or campaign_id.
create function app.update_lead(p_id uuid, p_changes jsonb) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v public.leads;
  v_email text := pg_catalog.lower(pg_catalog.btrim(p_changes ->> 'email'));
begin
  perform auth.authorize('owner', 'admin', 'manager');
  perform app.require_campaign((p_changes ->> 'campaign_id')::uuid, 'campaign_id');
  if v_email is not null and exists (
       select 1 from public.leads
        where organization_id = app.current_org_id() and pg_catalog.lower(email) = v_email and id <> p_id) then
    raise exception 'A lead with this email already exists' using errcode = 'VA409';
  end if;
  update public.leads
     set email = coalesce(v_email, email),
         full_name = case when p_changes ? 'full_name' then nullif(pg_catalog.btrim(p_changes ->> 'full_name'), '') else full_name end,
         company = case when p_changes ? 'company' then nullif(pg_catalog.btrim(p_changes ->> 'company'), '') else company end,
         campaign_id = case when p_changes ? 'campaign_id' then (p_changes ->> 'campaign_id')::uuid else campaign_id end,
         status = coalesce((p_changes ->> 'status')::public.lead_status, status)
   where organization_id = app.current_org_id() and id = p_id
  returning * into v;
  if not found then
    raise exception 'Lead not found' using errcode = 'VA404';
  end if;
  return app.lead_json(v);
end
$$;

-- Its meetings go with it.
create function app.delete_lead(p_id uuid) returns void
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform auth.authorize('owner', 'admin');
  delete from public.leads where organization_id = app.current_org_id() and id = p_id;
  if not found then
    raise exception 'Lead not found' using errcode = 'VA404';
  end if;
end
$$;

------------------------------------------------------------------------------
-- Meetings
------------------------------------------------------------------------------

create function app.list_meetings(p_page integer, p_per_page integer, p_status text, p_lead_id uuid,
                                  p_campaign_id uuid, p_sort text, p_desc boolean) returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_total bigint;
  v_items jsonb;
begin
  perform app.any_role();
  perform app.check_page(p_page, p_per_page);
  perform app.check_sort(p_sort, 'scheduled_at', 'created_at');
  perform app.check_filter('status', p_status, 'scheduled', 'completed', 'cancelled');
  with matching as (
    select m as r, pg_catalog.row_number() over (
             order by case when p_sort = 'scheduled_at' and not p_desc then m.scheduled_at end asc,
                      case when p_sort = 'scheduled_at' and p_desc then m.scheduled_at end desc,
                      case when p_sort = 'created_at' and not p_desc then m.created_at end asc,
                      case when p_sort = 'created_at' and p_desc then m.created_at end desc,
                      m.id) as ord
      from public.meetings m
     where m.organization_id = app.current_org_id()
       and (p_status is null or m.status::text = p_status)
       and (p_lead_id is null or m.lead_id = p_lead_id)
       and (p_campaign_id is null or exists (
             select 1 from public.leads l
              where l.organization_id = m.organization_id and l.id = m.lead_id and l.campaign_id = p_campaign_id))
  )
  select (select pg_catalog.count(*) from matching),
         coalesce((select pg_catalog.jsonb_agg(app.meeting_json(p.r) order by p.ord)
                     from (select m.r, m.ord
                             from matching m
                            order by ord
                            limit p_per_page offset (p_page - 1)::bigint * p_per_page) p), '[]')
    into v_total, v_items;
  return pg_catalog.jsonb_build_object('items', v_items, 'page', p_page, 'per_page', p_per_page, 'total', v_total);
end
$$;

create function app.get_meeting(p_id uuid) returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v public.meetings;
begin
  perform app.any_role();
  select * into v from public.meetings where organization_id = app.current_org_id() and id = p_id;
  if not found then
    raise exception 'Meeting not found' using errcode = 'VA404';
  end if;
  return app.meeting_json(v);
end
$$;

-- p_meeting: {lead_id, scheduled_at, status?}
create function app.create_meeting(p_meeting jsonb) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v public.meetings;
  v_lead uuid := (p_meeting ->> 'lead_id')::uuid;
begin
  perform auth.authorize('owner', 'admin', 'manager');
  if not exists (select 1 from public.leads where organization_id = app.current_org_id() and id = v_lead) then
    raise exception 'lead_id: no such lead in this organization'
      using errcode = 'VA422', detail = '{"lead_id": "no such lead in this organization"}';
  end if;
  insert into public.meetings (organization_id, lead_id, scheduled_at, status)
  values (app.current_org_id(), v_lead, (p_meeting ->> 'scheduled_at')::timestamptz,
          coalesce(p_meeting ->> 'status', 'scheduled')::public.meeting_status)
  returning * into v;
  return app.meeting_json(v);
end
$$;

-- p_changes: {scheduled_at?, status?}; only a scheduled meeting moves.
create function app.update_meeting(p_id uuid, p_changes jsonb) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v public.meetings;
begin
  perform auth.authorize('owner', 'admin', 'manager');
  select * into v from public.meetings where organization_id = app.current_org_id() and id = p_id for update;
  if not found then
    raise exception 'Meeting not found' using errcode = 'VA404';
  end if;
  if p_changes ? 'scheduled_at' and v.status <> 'scheduled'
     and (p_changes ->> 'scheduled_at')::timestamptz is distinct from v.scheduled_at then
    raise exception 'scheduled_at: only a scheduled meeting can be moved'
      using errcode = 'VA422', detail = '{"scheduled_at": "only a scheduled meeting can be moved"}';
  end if;
  update public.meetings
     set scheduled_at = coalesce((p_changes ->> 'scheduled_at')::timestamptz, scheduled_at),
         status = coalesce((p_changes ->> 'status')::public.meeting_status, status)
   where organization_id = app.current_org_id() and id = p_id
  returning * into v;
  return app.meeting_json(v);
end
$$;

create function app.delete_meeting(p_id uuid) returns void
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform auth.authorize('owner', 'admin');
  delete from public.meetings where organization_id = app.current_org_id() and id = p_id;
  if not found then
    raise exception 'Meeting not found' using errcode = 'VA404';
  end if;
end
$$;

------------------------------------------------------------------------------
-- Ownership and grants
------------------------------------------------------------------------------

grant create on schema app to vectra_definer;
alter function app.create_campaign(jsonb) owner to vectra_definer;
alter function app.update_campaign(uuid, jsonb) owner to vectra_definer;
alter function app.delete_campaign(uuid) owner to vectra_definer;
alter function app.insert_leads(jsonb) owner to vectra_definer;
alter function app.create_lead(jsonb) owner to vectra_definer;
alter function app.update_lead(uuid, jsonb) owner to vectra_definer;
alter function app.delete_lead(uuid) owner to vectra_definer;
alter function app.create_meeting(jsonb) owner to vectra_definer;
alter function app.update_meeting(uuid, jsonb) owner to vectra_definer;
alter function app.delete_meeting(uuid) owner to vectra_definer;
revoke create on schema app from vectra_definer;

revoke all on function
  app.status_transition_allowed(text, text, text), app.check_status_transition(),
  app.like_pattern(text), app.check_sort(text, text[]), app.check_filter(text, text, text[]),
  app.any_role(), app.campaign_json(public.campaigns, bigint), app.lead_json(public.leads),
  app.meeting_json(public.meetings), app.require_campaign(uuid, text),
  app.list_campaigns(integer, integer, text, text, text, boolean), app.get_campaign(uuid),
  app.create_campaign(jsonb), app.update_campaign(uuid, jsonb), app.delete_campaign(uuid),
  app.list_leads(integer, integer, text, uuid, text, text, boolean), app.get_lead(uuid),
  app.insert_leads(jsonb), app.create_lead(jsonb), app.update_lead(uuid, jsonb), app.delete_lead(uuid),
  app.list_meetings(integer, integer, text, uuid, uuid, text, boolean), app.get_meeting(uuid),
  app.create_meeting(jsonb), app.update_meeting(uuid, jsonb), app.delete_meeting(uuid)
from public;
-- Reads: members and the DBAs' reader, under their own policies.
grant execute on function
  app.like_pattern(text), app.check_sort(text, text[]), app.check_filter(text, text, text[]),
  app.any_role(), app.campaign_json(public.campaigns, bigint), app.lead_json(public.leads),
  app.meeting_json(public.meetings),
  app.list_campaigns(integer, integer, text, text, text, boolean), app.get_campaign(uuid),
  app.list_leads(integer, integer, text, uuid, text, text, boolean), app.get_lead(uuid),
  app.list_meetings(integer, integer, text, uuid, uuid, text, boolean), app.get_meeting(uuid)
to vectra_member, vectra_tenant_reader;
-- Writes: the entry points for members (each starts with auth.authorize).
grant execute on function
  app.create_campaign(jsonb), app.update_campaign(uuid, jsonb), app.delete_campaign(uuid),
  app.insert_leads(jsonb), app.create_lead(jsonb), app.update_lead(uuid, jsonb), app.delete_lead(uuid),
  app.create_meeting(jsonb), app.update_meeting(uuid, jsonb), app.delete_meeting(uuid)
to vectra_member;
-- What the write functions call as vectra_definer (the trigger and the
-- CHECK constraints run as the writer too).
grant execute on function
  app.status_transition_allowed(text, text, text), app.require_campaign(uuid, text),
  app.any_role(), app.require_role(text[]), app.campaign_json(public.campaigns, bigint),
  app.lead_json(public.leads), app.meeting_json(public.meetings), app.get_campaign(uuid)
to vectra_definer;
