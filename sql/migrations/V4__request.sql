-- V4: the request transaction (docs/security.md, "The request transaction").
--
-- Every authenticated request runs, as its first statement:
--
--   select set_config('role', $1, true),          -- vectra_member | vectra_platform_admin | vectra_anon
--          auth.begin_request($2, $3, $4, $5);    -- session, user, organization, role from the JWT
--
-- EXECUTE on auth.begin_request is checked when the statement starts, as
-- vectra_authenticator, which is why that role (and no request role) holds it.
-- By the time the function body runs the role has been switched, so the
-- function can check that the switched-to role suits the user.
--
-- Custom SQLSTATEs (class VA, mapped to HTTP by src/error.rs):
--   VA400 bad request   VA401 unauthenticated   VA403 forbidden
--   VA404 not found     VA409 conflict          VA422 unprocessable (field in DETAIL or HINT)

create function auth.begin_request(p_session_id uuid, p_user_id uuid, p_org_id uuid, p_role text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_request_role text := pg_catalog.current_setting('role');
  v record;
begin
  if v_request_role not in ('vectra_member', 'vectra_platform_admin', 'vectra_anon') then
    raise exception 'begin_request must run after switching to a request role (now: %)', v_request_role
      using errcode = '42501';
  end if;

  select s.user_id, s.revoked_at, s.expires_at,
         u.organization_id, u.role::text as user_role, u.status::text as user_status,
         u.email_verified_at, o.status::text as org_status
    into v
    from public.sessions s
    join public.users u on u.id = s.user_id
    left join public.organizations o on o.id = u.organization_id
   where s.id = p_session_id;

  if not found or v.user_id is distinct from p_user_id then
    raise exception 'Session not found' using errcode = 'VA401';
  end if;
  if v.revoked_at is not null then
    raise exception 'Session revoked' using errcode = 'VA401';
  end if;
  if v.expires_at <= pg_catalog.now() then
    raise exception 'Session expired' using errcode = 'VA401';
  end if;
  if v.user_status = 'removed' then
    raise exception 'Account removed' using errcode = 'VA401';
  end if;
  if v.user_status = 'suspended' then
    raise exception 'Account suspended' using errcode = 'VA403';
  end if;
  if v.org_status is not null and v.org_status <> 'active' then
    raise exception 'Organization %', v.org_status using errcode = 'VA403';
  end if;
  if v.organization_id is distinct from p_org_id or v.user_role is distinct from p_role then
    raise exception 'Token no longer matches the account'
      using errcode = 'VA401', hint = 'Refresh the access token.';
  end if;

  if v_request_role = 'vectra_member' and v.user_role = 'platform_admin' then
    raise exception 'Organization user access required' using errcode = 'VA403';
  end if;
  if v_request_role = 'vectra_platform_admin' then
    if v.user_role <> 'platform_admin' then
      raise exception 'Platform admin access required' using errcode = 'VA403';
    end if;
    if v.email_verified_at is null then
      raise exception 'Platform admin access requires a verified email'
        using errcode = 'VA403', hint = 'Verify your email address with the link sent to it, or ask for a new one with POST /api/v1/auth/send-verification-email.';
    end if;
  end if;

  perform pg_catalog.set_config('app.session_id', p_session_id::text, true),
          pg_catalog.set_config('app.user_id', p_user_id::text, true),
          pg_catalog.set_config('app.org_id', coalesce(p_org_id::text, ''), true),
          pg_catalog.set_config('app.role', p_role, true);
end
$$;

comment on function auth.begin_request(uuid, uuid, uuid, text) is
  'Checks the JWT claims against the database (session live, user active, organization active, org and role unchanged, request role suited to the user) and sets app.session_id, app.user_id, app.org_id and app.role for this transaction only.';

revoke all on function auth.begin_request(uuid, uuid, uuid, text) from public;
grant usage on schema auth to vectra_authenticator;
grant execute on function auth.begin_request(uuid, uuid, uuid, text) to vectra_authenticator;

-- Readiness: the newest applied migration, for GET /ready (called as vectra_anon).
create function app.schema_version() returns integer
language sql stable
security definer
set search_path = ''
as $$ select coalesce(max(version), 0) from public.refinery_schema_history $$;

comment on function app.schema_version() is 'Newest applied migration version; lets GET /ready compare the database with the binary.';
revoke all on function app.schema_version() from public;
grant execute on function app.schema_version() to vectra_anon;
