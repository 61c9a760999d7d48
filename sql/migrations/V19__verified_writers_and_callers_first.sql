-- Who may write, checked before any expensive work.
--
-- 1. Every write that carries a rule starts with auth.authorize (the role
--    ladder, a live session, an active account and organization). It now
--    also requires a verified email: an account whose address nobody has
--    proved may sign in, read what its role reads and manage its own
--    account (password, sessions, a new verification link), but it writes
--    nothing its organization or anyone else would see (no invitation, no
--    notification, no prospecting data, no organization or member change).
--    Registering someone else's address thus gains nothing but a locked,
--    expiring account (see the unverified-accounts migration).
--
-- 2. app.authorize: the same check on its own, for the service to ask
--    before it parses, sanitizes or hashes anything a caller sent (the HTML
--    of a notification, a lead import). The write function checks again in
--    its own transaction; this one only spares the work.

create or replace function auth.authorize(variadic p_allowed text[]) returns text
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_role text := app.current_user_role();
  v_verified timestamptz;
begin
  if app.current_org_id() is null or v_role is null or app.current_user_id() is null then
    raise exception 'Organization user access required' using errcode = 'VA403';
  end if;
  if not (v_role = any (p_allowed)) then
    raise exception 'This action requires one of the roles: %', pg_catalog.array_to_string(p_allowed, ', ')
      using errcode = 'VA403';
  end if;
  select u.email_verified_at into v_verified
    from public.sessions s
    join public.users u on u.id = s.user_id
    join public.organizations o on o.id = u.organization_id
   where s.id = app.current_session_id()
     and s.user_id = app.current_user_id()
     and s.revoked_at is null and s.expires_at > pg_catalog.now()
     and u.organization_id = app.current_org_id()
     and u.role::text = v_role and u.status = 'active'
     and o.status = 'active';
  if not found then
    raise exception 'Token no longer matches the account'
      using errcode = 'VA401', hint = 'Refresh the access token.';
  end if;
  if v_verified is null then
    raise exception 'Verify your email address first: until then this account can only read'
      using errcode = 'VA403',
            hint = 'Follow the link in the verification email, or ask for a new one with POST /api/v1/auth/send-verification-email.';
  end if;
  return v_role;
end
$$;

comment on function auth.authorize(text[]) is
  'The gate of every write that carries a rule: an organization user of one of the allowed roles, with a live session, an active account and organization, and a verified email (VA403/VA401 otherwise). Returns the role.';

create function app.authorize(variadic p_allowed text[]) returns void
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if 'platform_admin' = any (p_allowed) and app.current_user_role() = 'platform_admin' then
    perform auth.authorize_platform_admin();
  else
    perform auth.authorize(variadic p_allowed);
  end if;
end
$$;

comment on function app.authorize(text[]) is
  'Whether the caller may do what needs one of these roles (platform_admin included): the service asks before expensive work on client input. Raises what auth.authorize (or auth.authorize_platform_admin) raises; changes nothing.';

grant create on schema app to vectra_definer;
alter function app.authorize(text[]) owner to vectra_definer;
revoke create on schema app from vectra_definer;
revoke all on function app.authorize(text[]) from public;
grant execute on function app.authorize(text[]) to vectra_member, vectra_platform_admin;
