-- V5: authentication (docs/security.md, "Authentication functions").
--
-- Everything that must cross tenants before a tenant is known lives here, in
-- schema auth, as SECURITY DEFINER functions with an empty search_path and
-- schema-qualified names. The service calls them as vectra_anon (public
-- routes) or as vectra_anon with the settings of auth.begin_request (signed-in
-- routes that only concern the caller: logout, change-password, /user/me).
--
-- Division of labour: PostgreSQL generates every one-time and refresh token
-- (pgcrypto's gen_random_bytes, 32 bytes, base64url), stores only its SHA-256
-- and hands the raw value to the email outbox or the caller once. Rust hashes
-- and verifies passwords (argon2id cannot run in PostgreSQL), signs JWTs and
-- sends the email.
--
-- Trust: vectra_anon is reachable only by vectra_authenticator (the service)
-- and superusers. auth.login() opens a session for a user id once the service
-- has verified the password against the hash auth.login_lookup() returned.

------------------------------------------------------------------------------
-- Internal helpers: no grant, called only by the functions below.
------------------------------------------------------------------------------

create function auth.new_token() returns text
language sql volatile
set search_path = ''
as $$ select pg_catalog.translate(pg_catalog.encode(extensions.gen_random_bytes(32), 'base64'), '+/=', '-_') $$;
comment on function auth.new_token() is '32 random bytes, base64url without padding (43 characters).';

create function auth.hash_token(p_token text) returns bytea
language sql immutable strict
set search_path = ''
as $$ select pg_catalog.sha256(pg_catalog.convert_to(p_token, 'UTF8')) $$;
comment on function auth.hash_token(text) is 'SHA-256 of a token: the only form in which tokens are stored.';

-- What the API shows of a user (GET /user/me, login, refresh …).
create function auth.profile(p_user_id uuid) returns jsonb
language sql stable
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
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
   where u.id = p_user_id
$$;

create function auth.queue_email(p_organization_id uuid, p_to text, p_template text, p_context jsonb)
returns uuid
language sql volatile
set search_path = ''
as $$
  insert into public.email_outbox (organization_id, to_email, template, context)
  values (p_organization_id, p_to, p_template, p_context)
  returning id
$$;

-- A fresh one-time token for (user, purpose); older unused ones stop working.
create function auth.issue_one_time_token(p_user_id uuid, p_purpose public.token_purpose, p_ttl interval)
returns text
language plpgsql volatile
set search_path = ''
as $$
declare
  v_token text := auth.new_token();
begin
  update public.one_time_tokens
     set used_at = pg_catalog.now()
   where user_id = p_user_id and purpose = p_purpose and used_at is null;
  insert into public.one_time_tokens (user_id, purpose, token_hash, expires_at)
  values (p_user_id, p_purpose, auth.hash_token(v_token), pg_catalog.now() + p_ttl);
  return v_token;
end
$$;

-- Queues the verify-email message with a fresh 24-hour token.
create function auth.issue_verification(p_user_id uuid) returns void
language plpgsql volatile
set search_path = ''
as $$
declare
  v record;
begin
  select id, organization_id, email, full_name into v from public.users where id = p_user_id;
  perform auth.queue_email(v.organization_id, v.email, 'verify-email',
    pg_catalog.jsonb_build_object('name', v.full_name,
                                  'token', auth.issue_one_time_token(v.id, 'verify_email', interval '24 hours')));
end
$$;

-- Opens a session (a refresh-token family) and answers like login.
create function auth.open_session(p_user_id uuid, p_user_agent text, p_ip inet, p_ttl interval)
returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_token text := auth.new_token();
  v_session uuid;
begin
  insert into public.sessions (user_id, token_hash, user_agent, ip, expires_at)
  values (p_user_id, auth.hash_token(v_token), pg_catalog.left(p_user_agent, 512), p_ip, pg_catalog.now() + p_ttl)
  returning id into v_session;
  update public.users set last_login_at = pg_catalog.now() where id = p_user_id;
  return pg_catalog.jsonb_build_object('session_id', v_session, 'refresh_token', v_token,
                                       'user', auth.profile(p_user_id));
end
$$;

-- Refuses users and organizations that may not sign in, with the reason.
create function auth.assert_may_sign_in(p_user_id uuid) returns void
language plpgsql stable
set search_path = ''
as $$
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
$$;

-- URL-safe, unique slug for an organization name.
create function auth.unique_slug(p_name text) returns text
language plpgsql volatile
set search_path = ''
as $$
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
$$;

-- The caller of a signed-in auth route (set by auth.begin_request).
create function auth.require_user() returns uuid
language plpgsql stable
set search_path = ''
as $$
declare
  v_user uuid := app.current_user_id();
begin
  if v_user is null then
    raise exception 'Authentication required' using errcode = 'VA401';
  end if;
  return v_user;
end
$$;

------------------------------------------------------------------------------
-- Public routes (vectra_anon)
------------------------------------------------------------------------------

create function auth.register(p_email text, p_password_hash text, p_full_name text,
                              p_organization_name text, p_platform_admin_email text)
returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_org uuid;
  v_user uuid;
begin
  if pg_catalog.lower(p_email) = pg_catalog.lower(p_platform_admin_email) then
    -- The platform admin belongs to no organization; its powers wait for a
    -- verified email (auth.begin_request).
    insert into public.users (organization_id, email, password_hash, full_name, role)
    values (null, pg_catalog.lower(p_email), p_password_hash, p_full_name, 'platform_admin')
    returning id into v_user;
  else
    if p_organization_name is null or pg_catalog.btrim(p_organization_name) = '' then
      raise exception 'organization_name: is required'
        using errcode = 'VA422', detail = '{"organization_name": "is required"}';
    end if;
    insert into public.organizations (name, slug)
    values (pg_catalog.btrim(p_organization_name), auth.unique_slug(p_organization_name))
    returning id into v_org;
    insert into public.users (organization_id, email, password_hash, full_name, role)
    values (v_org, pg_catalog.lower(p_email), p_password_hash, p_full_name, 'owner')
    returning id into v_user;
  end if;
  perform auth.issue_verification(v_user);
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id)
  values (v_org, v_user, 'user.register', 'user', v_user);
  return auth.profile(v_user);
end
$$;

create function auth.login_lookup(p_email text)
returns table (user_id uuid, password_hash text)
language sql stable security definer
set search_path = ''
as $$
  select id, password_hash from public.users where pg_catalog.lower(email) = pg_catalog.lower(p_email)
$$;

create function auth.login(p_user_id uuid, p_verified_hash text, p_user_agent text, p_ip inet, p_ttl interval)
returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  -- The hash the service verified must still be the user's: a password
  -- changed in between makes the login fail rather than succeed on the old one.
  perform 1 from public.users where id = p_user_id and password_hash = p_verified_hash for update;
  if not found then
    raise exception 'Invalid email or password' using errcode = 'VA401';
  end if;
  perform auth.assert_may_sign_in(p_user_id);
  return auth.open_session(p_user_id, p_user_agent, p_ip, p_ttl);
end
$$;

create function auth.refresh(p_token text, p_user_agent text, p_ip inet)
returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_hash bytea := auth.hash_token(p_token);
  v_session public.sessions;
  v_token text;
begin
  select * into v_session from public.sessions where token_hash = v_hash for update;
  if not found then
    -- An already-rotated token: someone replayed it, so the whole family is
    -- revoked. The caller gets an error *after* this commits.
    update public.sessions
       set revoked_at = coalesce(revoked_at, pg_catalog.now()),
           revoked_reason = coalesce(revoked_reason, 'refresh token reuse')
     where rotated_hashes @> array[v_hash];
    if found then
      return pg_catalog.jsonb_build_object('error', 'reused');
    end if;
    raise exception 'Invalid refresh token' using errcode = 'VA401';
  end if;
  if v_session.revoked_at is not null then
    raise exception 'Session revoked' using errcode = 'VA401';
  end if;
  if v_session.expires_at <= pg_catalog.now() then
    raise exception 'Session expired' using errcode = 'VA401';
  end if;
  perform auth.assert_may_sign_in(v_session.user_id);
  v_token := auth.new_token();
  update public.sessions
     set token_hash = auth.hash_token(v_token),
         rotated_hashes = rotated_hashes || token_hash,
         last_used_at = pg_catalog.now(),
         user_agent = coalesce(pg_catalog.left(p_user_agent, 512), user_agent),
         ip = coalesce(p_ip, ip)
   where id = v_session.id;
  return pg_catalog.jsonb_build_object('session_id', v_session.id, 'refresh_token', v_token,
                                       'user', auth.profile(v_session.user_id));
end
$$;

create function auth.request_password_reset(p_email text) returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v record;
begin
  select id, organization_id, email, full_name into v
    from public.users
   where pg_catalog.lower(email) = pg_catalog.lower(p_email) and status = 'active';
  if found then
    perform auth.queue_email(v.organization_id, v.email, 'reset-password',
      pg_catalog.jsonb_build_object('name', v.full_name,
                                    'token', auth.issue_one_time_token(v.id, 'reset_password', interval '1 hour')));
  end if;
end
$$;

-- The email a valid reset token belongs to (the service checks that the new
-- password is not the email before hashing it).
create function auth.reset_password_email(p_token text) returns text
language plpgsql stable security definer
set search_path = ''
as $$
declare
  v_email text;
begin
  select u.email into v_email
    from public.one_time_tokens t join public.users u on u.id = t.user_id
   where t.token_hash = auth.hash_token(p_token) and t.purpose = 'reset_password'
     and t.used_at is null and t.expires_at > pg_catalog.now();
  if not found then
    raise exception 'Invalid or expired token' using errcode = 'VA400';
  end if;
  return v_email;
end
$$;

create function auth.reset_password(p_token text, p_new_hash text) returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_user uuid;
begin
  update public.one_time_tokens
     set used_at = pg_catalog.now()
   where token_hash = auth.hash_token(p_token) and purpose = 'reset_password'
     and used_at is null and expires_at > pg_catalog.now()
  returning user_id into v_user;
  if not found then
    raise exception 'Invalid or expired token' using errcode = 'VA400';
  end if;
  -- Following the emailed link proves control of the address.
  update public.users
     set password_hash = p_new_hash, email_verified_at = coalesce(email_verified_at, pg_catalog.now())
   where id = v_user;
  update public.sessions
     set revoked_at = pg_catalog.now(), revoked_reason = 'password reset'
   where user_id = v_user and revoked_at is null;
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id)
  select organization_id, id, 'user.password_reset', 'user', id from public.users where id = v_user;
end
$$;

create function auth.verify_email(p_token text) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_user uuid;
begin
  update public.one_time_tokens
     set used_at = pg_catalog.now()
   where token_hash = auth.hash_token(p_token) and purpose = 'verify_email'
     and used_at is null and expires_at > pg_catalog.now()
  returning user_id into v_user;
  if not found then
    raise exception 'Invalid or expired token' using errcode = 'VA400';
  end if;
  update public.users set email_verified_at = coalesce(email_verified_at, pg_catalog.now()) where id = v_user;
  return auth.profile(v_user);
end
$$;

create function auth.resend_verification_email(p_email text) returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_user uuid;
begin
  select id into v_user from public.users
   where pg_catalog.lower(email) = pg_catalog.lower(p_email)
     and status = 'active' and email_verified_at is null;
  if found then
    perform auth.issue_verification(v_user);
  end if;
end
$$;

-- The email an open invitation is bound to.
create function auth.invitation_email(p_token text) returns text
language plpgsql stable security definer
set search_path = ''
as $$
declare
  v_email text;
begin
  select email into v_email from public.invitations
   where token_hash = auth.hash_token(p_token)
     and accepted_at is null and revoked_at is null and expires_at > pg_catalog.now();
  if not found then
    raise exception 'Invalid or expired invitation' using errcode = 'VA400';
  end if;
  return v_email;
end
$$;

create function auth.accept_invitation(p_token text, p_password_hash text, p_full_name text,
                                       p_user_agent text, p_ip inet, p_ttl interval)
returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_inv public.invitations;
  v_user uuid;
begin
  select * into v_inv from public.invitations
   where token_hash = auth.hash_token(p_token)
     and accepted_at is null and revoked_at is null and expires_at > pg_catalog.now()
  for update;
  if not found then
    raise exception 'Invalid or expired invitation' using errcode = 'VA400';
  end if;
  if exists (select 1 from public.users where pg_catalog.lower(email) = v_inv.email) then
    raise exception 'A user with this email already exists' using errcode = 'VA409';
  end if;
  insert into public.users (organization_id, email, password_hash, full_name, role, email_verified_at)
  values (v_inv.organization_id, v_inv.email, p_password_hash, p_full_name, v_inv.role, pg_catalog.now())
  returning id into v_user;
  update public.invitations set accepted_at = pg_catalog.now()
   where organization_id = v_inv.organization_id and id = v_inv.id;
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data)
  values (v_inv.organization_id, v_user, 'invitation.accept', 'invitation', v_inv.id,
          pg_catalog.jsonb_build_object('role', v_inv.role, 'email', v_inv.email));
  perform auth.assert_may_sign_in(v_user);
  return auth.open_session(v_user, p_user_agent, p_ip, p_ttl);
end
$$;

------------------------------------------------------------------------------
-- Signed-in routes about the caller only (vectra_anon + begin_request settings)
------------------------------------------------------------------------------

create function auth.me() returns jsonb
language sql stable security definer
set search_path = ''
as $$ select auth.profile(auth.require_user()) $$;

create function auth.logout() returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_session uuid := nullif(pg_catalog.current_setting('app.session_id', true), '')::uuid;
begin
  perform auth.require_user();
  update public.sessions
     set revoked_at = pg_catalog.now(), revoked_reason = 'logout'
   where id = v_session and user_id = app.current_user_id() and revoked_at is null;
end
$$;

-- The caller's email and password hash, for change-password (the service
-- verifies the current password and checks the new one is not the email).
create function auth.current_credentials() returns table (email text, password_hash text)
language sql stable security definer
set search_path = ''
as $$ select email, password_hash from public.users where id = auth.require_user() $$;

-- Returns how many other sessions were revoked.
create function auth.change_password(p_current_hash text, p_new_hash text) returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_user uuid := auth.require_user();
  v_session uuid := nullif(pg_catalog.current_setting('app.session_id', true), '')::uuid;
  v_revoked integer;
begin
  update public.users set password_hash = p_new_hash
   where id = v_user and password_hash = p_current_hash;
  if not found then
    raise exception 'The password was changed in the meantime; try again' using errcode = 'VA409';
  end if;
  update public.sessions
     set revoked_at = pg_catalog.now(), revoked_reason = 'password changed'
   where user_id = v_user and id is distinct from v_session and revoked_at is null;
  get diagnostics v_revoked = row_count;
  update public.one_time_tokens set used_at = pg_catalog.now()
   where user_id = v_user and purpose = 'reset_password' and used_at is null;
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id)
  select organization_id, id, 'user.password_change', 'user', id from public.users where id = v_user;
  return v_revoked;
end
$$;

create function auth.send_verification_email() returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_user uuid := auth.require_user();
begin
  if exists (select 1 from public.users where id = v_user and email_verified_at is not null) then
    raise exception 'Email already verified' using errcode = 'VA409';
  end if;
  perform auth.issue_verification(v_user);
end
$$;

------------------------------------------------------------------------------
-- Operator only (vectra create-platform-admin, as the migration owner)
------------------------------------------------------------------------------

create function auth.create_platform_admin(p_email text, p_password_hash text, p_full_name text)
returns uuid
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_user uuid;
begin
  insert into public.users (organization_id, email, password_hash, full_name, role, email_verified_at)
  values (null, pg_catalog.lower(p_email), p_password_hash, p_full_name, 'platform_admin', pg_catalog.now())
  returning id into v_user;
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id)
  values (null, v_user, 'platform_admin.create', 'user', v_user);
  return v_user;
end
$$;

------------------------------------------------------------------------------
-- GET /user/organizations/me: an ordinary function under RLS (vectra_member)
------------------------------------------------------------------------------

create function app.my_organization() returns jsonb
language plpgsql stable
set search_path = ''
as $$
declare
  v jsonb;
begin
  select pg_catalog.jsonb_build_object('id', id, 'name', name, 'slug', slug, 'plan', plan, 'status', status,
                                       'settings', settings, 'created_at', created_at, 'updated_at', updated_at)
    into v
    from public.organizations
   where id = app.current_org_id();
  if v is null then
    raise exception 'Organization not found' using errcode = 'VA404';
  end if;
  return v;
end
$$;
comment on function app.my_organization() is 'The caller''s organization; SECURITY INVOKER, so the organizations policies decide.';

------------------------------------------------------------------------------
-- Grants
------------------------------------------------------------------------------

revoke all on all functions in schema auth from public;
grant usage on schema auth to vectra_anon;
grant execute on function
  auth.register(text, text, text, text, text),
  auth.login_lookup(text),
  auth.login(uuid, text, text, inet, interval),
  auth.refresh(text, text, inet),
  auth.request_password_reset(text),
  auth.reset_password_email(text),
  auth.reset_password(text, text),
  auth.verify_email(text),
  auth.resend_verification_email(text),
  auth.invitation_email(text),
  auth.accept_invitation(text, text, text, text, inet, interval),
  auth.me(),
  auth.logout(),
  auth.current_credentials(),
  auth.change_password(text, text),
  auth.send_verification_email()
to vectra_anon;
revoke all on function app.my_organization() from public;
grant execute on function app.my_organization() to vectra_member;
-- The authenticator keeps EXECUTE on auth.begin_request only (V4).
grant execute on function auth.begin_request(uuid, uuid, uuid, text) to vectra_authenticator;
