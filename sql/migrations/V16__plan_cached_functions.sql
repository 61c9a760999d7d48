-- Every LANGUAGE sql function of app and auth that carries a SET clause
-- (search_path) becomes plpgsql, with the same body, signature, volatility,
-- security and settings: a SQL function with a SET clause can never be
-- inlined and is planned again on every call, while plpgsql keeps its plans
-- for the connection's life (docs/performance.md). The bodies are those of
-- V5 to V15 unchanged, wrapped: `return (<select>)` for a value, `return
-- query` for a set, the statement itself for void. `#variable_conflict
-- use_column` keeps the SQL function's reading of a name that is both a
-- column and a parameter or output column (the column wins).
--
-- Plain SQL helpers without a SET clause (app.current_org_id() and the other
-- setting helpers) stay LANGUAGE sql: policies inline them.

-- app.admin_audit(uuid,text,text,uuid,jsonb)
CREATE OR REPLACE FUNCTION app.admin_audit(p_org uuid, p_action text, p_target_type text, p_target_id uuid, p_data jsonb)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data, created_at)
  values (p_org, app.current_user_id(), p_action, p_target_type, p_target_id,
          coalesce(p_data, '{}'), pg_catalog.clock_timestamp());
end
$function$;

-- app.admin_organization_json(organizations,bigint)
CREATE OR REPLACE FUNCTION app.admin_organization_json(o public.organizations, p_users_count bigint)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select app.organization_json(o) || pg_catalog.jsonb_build_object('users_count', coalesce(p_users_count, 0),
                                                                     'deleted_at', o.deleted_at));
end
$function$;

-- app.any_role()
CREATE OR REPLACE FUNCTION app.any_role()
 RETURNS text
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select app.require_role('owner', 'admin', 'manager', 'member'));
end
$function$;

-- app.audit(text,text,uuid,jsonb)
CREATE OR REPLACE FUNCTION app.audit(p_action text, p_target_type text, p_target_id uuid, p_data jsonb)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data, created_at)
  values (app.current_org_id(), app.current_user_id(), p_action, p_target_type, p_target_id,
          coalesce(p_data, '{}'), pg_catalog.clock_timestamp());
end
$function$;

-- app.campaign_json(campaigns,bigint)
CREATE OR REPLACE FUNCTION app.campaign_json(c public.campaigns, p_leads_count bigint)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select pg_catalog.jsonb_build_object(
    'id', c.id, 'name', c.name, 'status', c.status, 'leads_count', coalesce(p_leads_count, 0),
    'created_at', c.created_at, 'updated_at', c.updated_at));
end
$function$;

-- app.is_plain_email(text)
CREATE OR REPLACE FUNCTION app.is_plain_email(p text)
 RETURNS boolean
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select p ~ '^[A-Za-z0-9.!#$%&''*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$'
     and pg_catalog.char_length(p) <= 254);
end
$function$;

-- app.lead_json(leads)
CREATE OR REPLACE FUNCTION app.lead_json(l public.leads)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select pg_catalog.jsonb_build_object(
    'id', l.id, 'email', l.email, 'full_name', l.full_name, 'company', l.company,
    'status', l.status, 'campaign_id', l.campaign_id,
    'created_at', l.created_at, 'updated_at', l.updated_at));
end
$function$;

-- app.like_pattern(text)
CREATE OR REPLACE FUNCTION app.like_pattern(p_search text)
 RETURNS text
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select case when p_search is null or pg_catalog.btrim(p_search) = '' then null
              else '%' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
                     pg_catalog.btrim(p_search), '\', '\\'), '%', '\%'), '_', '\_') || '%' end);
end
$function$;

-- app.meeting_json(meetings)
CREATE OR REPLACE FUNCTION app.meeting_json(m public.meetings)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select pg_catalog.jsonb_build_object(
    'id', m.id, 'lead_id', m.lead_id, 'scheduled_at', m.scheduled_at, 'status', m.status,
    'created_at', m.created_at, 'updated_at', m.updated_at));
end
$function$;

-- app.new_token()
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

-- app.notification_answer(notifications)
CREATE OR REPLACE FUNCTION app.notification_answer(n public.notifications)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select pg_catalog.jsonb_build_object('id', n.id, 'type', n.type, 'recipient_count', n.recipient_count,
                                       'suppressed_count', n.suppressed_count, 'status', 'queued'));
end
$function$;

-- app.notification_detail(notifications)
CREATE OR REPLACE FUNCTION app.notification_detail(n public.notifications)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select app.notification_json(n) || pg_catalog.jsonb_build_object(
    'body', n.body, 'body_html', n.body_html, 'action_url', n.action_url, 'action_text', n.action_text));
end
$function$;

-- app.notification_json(notifications)
CREATE OR REPLACE FUNCTION app.notification_json(n public.notifications)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select pg_catalog.jsonb_build_object(
    'id', n.id, 'type', n.type, 'organization_id', n.organization_id, 'sender_id', n.sender_id,
    'subject', n.subject, 'recipient_count', n.recipient_count, 'suppressed_count', n.suppressed_count,
    'created_at', n.created_at,
    'delivery', (select pg_catalog.jsonb_build_object(
                   'pending', pg_catalog.count(*) filter (where e.status = 'pending'),
                   'sending', pg_catalog.count(*) filter (where e.status = 'sending'),
                   'sent', pg_catalog.count(*) filter (where e.status = 'sent'),
                   'failed', pg_catalog.count(*) filter (where e.status = 'failed'))
                   from public.email_outbox e where e.notification_id = n.id)));
end
$function$;

-- app.notification_max_recipients()
CREATE OR REPLACE FUNCTION app.notification_max_recipients()
 RETURNS integer
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select 50000);
end
$function$;

-- app.queue_invitation_email(app.invitation_rows,text)
CREATE OR REPLACE FUNCTION app.queue_invitation_email(p_invitation app.invitation_rows, p_token text)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  insert into public.email_outbox (organization_id, to_email, template, context)
  select p_invitation.organization_id, p_invitation.email, 'invite-user',
         pg_catalog.jsonb_build_object(
           'token', p_token,
           'organization_name', o.name,
           'inviter_name', coalesce((select full_name from public.users where id = app.current_user_id()), 'Vectra'),
           'role', p_invitation.role,
           'expires_at', pg_catalog.to_char(p_invitation.expires_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'))
    from public.organizations o
   where o.id = p_invitation.organization_id;
end
$function$;

-- app.schema_version()
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

-- app.status_transition_allowed(text,text,text)
CREATE OR REPLACE FUNCTION app.status_transition_allowed(p_table text, p_from text, p_to text)
 RETURNS boolean
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select p_from = p_to or exists (
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
    where tbl = p_table and from_status = p_from and to_status = p_to));
end
$function$;

-- auth.b64url(bytea)
CREATE OR REPLACE FUNCTION auth.b64url(p bytea)
 RETURNS text
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select pg_catalog.rtrim(pg_catalog.translate(pg_catalog.replace(pg_catalog.encode(p, 'base64'), E'\n', ''), '+/', '-_'), '='));
end
$function$;

-- auth.current_credentials()
CREATE OR REPLACE FUNCTION auth.current_credentials()
 RETURNS TABLE(email text, password_hash text)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return query select email, password_hash from public.users where id = auth.require_user();
end
$function$;

-- auth.derive_token(bytea,text)
CREATE OR REPLACE FUNCTION auth.derive_token(p_key bytea, p_token text)
 RETURNS text
 LANGUAGE plpgsql
 IMMUTABLE STRICT
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select pg_catalog.translate(pg_catalog.encode(
           extensions.hmac(pg_catalog.convert_to(p_token, 'UTF8'), p_key, 'sha256'), 'base64'), '+/=', '-_'));
end
$function$;

-- auth.hash_token(text)
CREATE OR REPLACE FUNCTION auth.hash_token(p_token text)
 RETURNS bytea
 LANGUAGE plpgsql
 IMMUTABLE STRICT
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select app.hash_token(p_token));
end
$function$;

-- auth.login_lookup(text)
CREATE OR REPLACE FUNCTION auth.login_lookup(p_email text)
 RETURNS TABLE(user_id uuid, password_hash text)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return query select id, password_hash from public.users where pg_catalog.lower(email) = pg_catalog.lower(p_email);
end
$function$;

-- auth.me()
CREATE OR REPLACE FUNCTION auth.me()
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select auth.profile(auth.require_user()));
end
$function$;

-- auth.new_token()
CREATE OR REPLACE FUNCTION auth.new_token()
 RETURNS text
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select app.new_token());
end
$function$;

-- auth.profile(uuid)
CREATE OR REPLACE FUNCTION auth.profile(p_user_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
  return (select pg_catalog.jsonb_build_object(
           'id', u.id,
           'email', u.email,
           'full_name', u.full_name,
           'role', u.role,
           'status', u.status,
           'email_verified', u.email_verified_at is not null,
           'created_at', u.created_at,
           'organization', case when o.id is null then null else pg_catalog.jsonb_build_object(
             'id', o.id, 'name', o.name, 'slug', o.slug, 'plan', o.plan, 'status', o.status) end)
    from public.users u
    left join public.organizations o on o.id = u.organization_id
   where u.id = p_user_id);
end
$function$;

-- auth.queue_email(uuid,text,text,jsonb)
CREATE OR REPLACE FUNCTION auth.queue_email(p_organization_id uuid, p_to text, p_template text, p_context jsonb)
 RETURNS uuid
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
declare
  v uuid;
begin
  insert into public.email_outbox (organization_id, to_email, template, context)
  values (p_organization_id, p_to, p_template, p_context)
  returning id into v;
  return v;
end
$function$;
