-- Functions of schema auth that run as their caller (SECURITY INVOKER): the caller's privileges and policies apply.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE OR REPLACE FUNCTION auth.admin_revoke_sessions(p_user_id uuid, p_reason text)
 RETURNS integer
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_count integer;
begin
  perform auth.authorize_platform_admin();
  update public.sessions set revoked_at = pg_catalog.now(), revoked_reason = p_reason
   where user_id = p_user_id and revoked_at is null;
  get diagnostics v_count = row_count;
  return v_count;
end
$function$;
ALTER FUNCTION auth.admin_revoke_sessions(uuid, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.admin_revoke_sessions(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.admin_revoke_sessions(uuid, text) TO vectra_definer;

CREATE OR REPLACE FUNCTION auth.assert_may_sign_in(p_user_id uuid)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v record;
begin
  select u.status::text as user_status, o.status::text as org_status
    into v
    from public.users u left join public.organizations o on o.id = u.organization_id
   where u.id = p_user_id;
  if v.user_status = 'removed' then
    raise exception 'This account has been removed from its organization' using errcode = 'VA403';
  elsif v.user_status = 'suspended' then
    raise exception 'This account is suspended' using errcode = 'VA403';
  elsif v.org_status = 'suspended' then
    raise exception 'This organization is suspended' using errcode = 'VA403';
  elsif v.org_status = 'deleted' then
    raise exception 'This organization has been deleted' using errcode = 'VA403';
  end if;
end
$function$;
ALTER FUNCTION auth.assert_may_sign_in(uuid) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.assert_may_sign_in(uuid) FROM PUBLIC;

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
ALTER FUNCTION auth.b64url(bytea) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.b64url(bytea) FROM PUBLIC;

CREATE OR REPLACE FUNCTION auth.b64url_decode(p text)
 RETURNS bytea
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v text := pg_catalog.translate(p, '-_', '+/');
begin
  if p !~ '^[A-Za-z0-9_-]*$' then
    return null;
  end if;
  return pg_catalog.decode(v || pg_catalog.repeat('=', (4 - pg_catalog.length(v) % 4) % 4), 'base64');
exception when others then
  return null;
end
$function$;
ALTER FUNCTION auth.b64url_decode(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.b64url_decode(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION auth.count_users(p_org uuid)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  update public.organizations o
     set users_count = (select pg_catalog.count(*) from public.users u
                         where u.organization_id = o.id and u.status <> 'removed')
   where o.id = p_org or p_org is null;
end
$function$;
ALTER FUNCTION auth.count_users(uuid) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.count_users(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.count_users(uuid) TO vectra_definer;
COMMENT ON FUNCTION auth.count_users(uuid) IS 'Counts the users of an organization (of every organization when NULL) that are not removed into organizations.users_count, as its caller: called by every function that adds, removes, suspends or restores a member, and by the seeders after their COPY.';

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
ALTER FUNCTION auth.derive_token(bytea, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.derive_token(bytea, text) FROM PUBLIC;
COMMENT ON FUNCTION auth.derive_token(bytea, text) IS 'The successor of refresh token p_token under session key p_key (43 base64url characters).';

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
ALTER FUNCTION auth.hash_token(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.hash_token(text) FROM PUBLIC;
COMMENT ON FUNCTION auth.hash_token(text) IS 'SHA-256 of a token: the only form in which tokens are stored.';

CREATE OR REPLACE FUNCTION auth.issue_one_time_token(p_user_id uuid, p_purpose public.token_purpose, p_ttl interval)
 RETURNS text
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_token text;
begin
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended('vectra.link:' || p_user_id::text || ':' || p_purpose::text, 0));
  if (select pg_catalog.count(*) from public.one_time_tokens
       where user_id = p_user_id and purpose = p_purpose and used_at is null and expires_at > pg_catalog.now())
     >= (auth.current_settings()).outstanding_links_per_purpose then
    return null;
  end if;
  v_token := auth.new_token();
  insert into public.one_time_tokens (user_id, purpose, token_hash, expires_at)
  values (p_user_id, p_purpose, auth.hash_token(v_token), pg_catalog.now() + p_ttl);
  return v_token;
end
$function$;
ALTER FUNCTION auth.issue_one_time_token(uuid, public.token_purpose, interval) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.issue_one_time_token(uuid, public.token_purpose, interval) FROM PUBLIC;

CREATE OR REPLACE FUNCTION auth.issue_verification(p_user_id uuid)
 RETURNS boolean
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v record;
  v_token text;
begin
  select id, organization_id, email, full_name into v from public.users where id = p_user_id;
  v_token := auth.issue_one_time_token(v.id, 'verify_email', interval '24 hours');
  if v_token is null then
    return false;
  end if;
  perform auth.queue_email(v.organization_id, v.email, 'verify-email',
    pg_catalog.jsonb_build_object('name', v.full_name, 'token', v_token));
  return true;
end
$function$;
ALTER FUNCTION auth.issue_verification(uuid) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.issue_verification(uuid) FROM PUBLIC;

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
ALTER FUNCTION auth.new_token() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.new_token() FROM PUBLIC;
COMMENT ON FUNCTION auth.new_token() IS '32 random bytes, base64url without padding (43 characters).';

CREATE OR REPLACE FUNCTION auth.notify_existing_account(p_user_id uuid)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v record;
begin
  select id, organization_id, email, full_name into v from public.users where id = p_user_id;
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('vectra.notice:' || v.email, 0));
  if (select pg_catalog.count(*) from public.email_outbox
       where to_email = v.email and template = 'account-exists'
         and created_at > pg_catalog.now() - interval '1 hour')
     < (auth.current_settings()).account_notices_per_hour then
    perform auth.queue_email(v.organization_id, v.email, 'account-exists',
      pg_catalog.jsonb_build_object('name', v.full_name));
  end if;
end
$function$;
ALTER FUNCTION auth.notify_existing_account(uuid) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.notify_existing_account(uuid) FROM PUBLIC;

CREATE OR REPLACE FUNCTION auth.open_session(p_user_id uuid, p_user_agent text, p_ip inet)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_token text := auth.new_token();
  v_session uuid;
  v_org uuid;
begin
  select organization_id into v_org from public.users where id = p_user_id;
  insert into public.sessions (user_id, user_organization_id, token_hash, token_key, user_agent, ip, expires_at)
  values (p_user_id, v_org, auth.hash_token(v_token), extensions.gen_random_bytes(32),
          pg_catalog.left(p_user_agent, 512), p_ip,
          pg_catalog.now() + (auth.current_settings()).refresh_token_ttl)
  returning id into v_session;
  update public.users set last_login_at = pg_catalog.now() where id = p_user_id;
  return pg_catalog.jsonb_build_object('session_id', v_session, 'refresh_token', v_token,
                                       'user', auth.profile(p_user_id));
end
$function$;
ALTER FUNCTION auth.open_session(uuid, text, inet) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.open_session(uuid, text, inet) FROM PUBLIC;

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
ALTER FUNCTION auth.profile(uuid) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.profile(uuid) FROM PUBLIC;

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
  values (coalesce(p_organization_id, app.platform_org_id()), p_to, p_template, p_context)
  returning id into v;
  return v;
end
$function$;
ALTER FUNCTION auth.queue_email(uuid, text, text, jsonb) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.queue_email(uuid, text, text, jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION auth.raise_if_over(p_newest timestamp with time zone[], p_limit integer, p_message text)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  if p_newest[p_limit] is not null then
    perform auth.raise_too_many(p_message, p_newest[p_limit] + interval '1 hour');
  end if;
end
$function$;
ALTER FUNCTION auth.raise_if_over(timestamp with time zone[], integer, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.raise_if_over(timestamp with time zone[], integer, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION auth.raise_too_many(p_message text, p_until timestamp with time zone)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
begin
  raise exception '%', p_message
    using errcode = 'VA429',
          detail = pg_catalog.jsonb_build_object('retry_after',
            greatest(1, pg_catalog.ceil(extract(epoch from p_until - pg_catalog.now()))::integer))::text;
end
$function$;
ALTER FUNCTION auth.raise_too_many(text, timestamp with time zone) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.raise_too_many(text, timestamp with time zone) FROM PUBLIC;

CREATE OR REPLACE FUNCTION auth.redeem_link(p_token text, p_purpose public.token_purpose)
 RETURNS uuid
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_user uuid;
begin
  update public.one_time_tokens
     set used_at = pg_catalog.now()
   where token_hash = auth.hash_token(p_token) and purpose = p_purpose
     and used_at is null and expires_at > pg_catalog.now()
  returning user_id into v_user;
  if not found then
    raise exception 'Invalid or expired token' using errcode = 'VA400';
  end if;
  update public.one_time_tokens set used_at = pg_catalog.now()
   where user_id = v_user and purpose = p_purpose and used_at is null;
  return v_user;
end
$function$;
ALTER FUNCTION auth.redeem_link(text, public.token_purpose) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.redeem_link(text, public.token_purpose) FROM PUBLIC;

CREATE OR REPLACE FUNCTION auth.require_user()
 RETURNS uuid
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_user uuid := app.current_user_id();
begin
  if v_user is null or not exists (
       select 1 from public.sessions
        where id = app.current_session_id() and user_id = v_user
          and revoked_at is null and expires_at > pg_catalog.now()) then
    raise exception 'Authentication required' using errcode = 'VA401';
  end if;
  return v_user;
end
$function$;
ALTER FUNCTION auth.require_user() OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.require_user() FROM PUBLIC;

CREATE OR REPLACE FUNCTION auth.revoke_member_sessions(p_user_id uuid, p_reason text)
 RETURNS integer
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_current_org uuid := app.current_org_id();
  v_count integer;
  v_target_role text;
begin
  -- coalesce: an unset role must be refused, not compared to NULL.
  if coalesce(app.current_user_role(), '') not in ('owner', 'admin') then
    raise exception 'This action requires one of the roles: owner, admin' using errcode = 'VA403';
  end if;
  select role::text into v_target_role from public.users
   where id = p_user_id and organization_id = v_current_org;
  if not found then
    raise exception 'User not found' using errcode = 'VA404';
  end if;
  if v_target_role = 'owner' and coalesce(app.current_user_role(), '') <> 'owner' then
    raise exception 'Only an owner can end an owner''s sessions' using errcode = 'VA403';
  end if;
  update public.sessions set revoked_at = pg_catalog.now(), revoked_reason = p_reason
   where user_id = p_user_id and revoked_at is null;
  get diagnostics v_count = row_count;
  return v_count;
end
$function$;
ALTER FUNCTION auth.revoke_member_sessions(uuid, text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.revoke_member_sessions(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.revoke_member_sessions(uuid, text) TO vectra_definer;

CREATE OR REPLACE FUNCTION auth.unique_slug(p_name text)
 RETURNS text
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  v_base text := pg_catalog.btrim(pg_catalog.regexp_replace(pg_catalog.lower(p_name), '[^a-z0-9]+', '-', 'g'), '-');
  v_candidate text;
  v_n integer := 1;
begin
  v_base := pg_catalog.btrim(pg_catalog.left(v_base, 60), '-');
  if v_base = '' then
    v_base := 'org';
  end if;
  v_candidate := v_base;
  while exists (select 1 from public.organizations where slug = v_candidate) loop
    v_n := v_n + 1;
    v_candidate := v_base || '-' || v_n;
  end loop;
  return v_candidate;
end
$function$;
ALTER FUNCTION auth.unique_slug(text) OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION auth.unique_slug(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.unique_slug(text) TO vectra_definer;
