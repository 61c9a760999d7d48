-- V10: signing in without revealing who has an account; sessions a user can
-- see and end; refresh tokens that survive two tabs.
--
--   * auth.register answers the same for a new and an existing email. A new
--     one gets its organization and a verification link; an existing one is
--     told by email that someone tried to register with it. Who becomes the
--     platform admin is decided by auth.settings, never by the caller.
--   * auth.verify_email opens a session: following the emailed link signs
--     the new user in.
--   * One-time links (verification, reset) no longer kill each other: each
--     stays valid until it expires or one of them is used; at most
--     auth.settings.outstanding_links_per_purpose are outstanding per user,
--     and a request beyond sends nothing.
--   * Refresh tokens are derived, not drawn: the successor of token T is
--     HMAC-SHA-256(T) under a random key of the session. Presenting the token
--     that just rotated again within a grace period (a second tab, a retried
--     request) yields the same successor instead of revoking the session; a
--     replay after the grace period revokes it as before. Nothing secret is
--     stored but the key, which no request role can read.

------------------------------------------------------------------------------
-- Sessions
------------------------------------------------------------------------------

alter table public.sessions
  add column token_key bytea check (length(token_key) = 32),
  add column rotated_at timestamptz;
comment on column public.sessions.token_key is
  'Random key from which each refresh token''s successor is derived (HMAC-SHA-256); NULL for sessions opened before V10 until their first refresh.';
comment on column public.sessions.rotated_at is 'When the refresh token last rotated (start of the grace period).';

create function auth.derive_token(p_key bytea, p_token text) returns text
language sql immutable strict
set search_path = ''
as $$
  select pg_catalog.translate(pg_catalog.encode(
           extensions.hmac(pg_catalog.convert_to(p_token, 'UTF8'), p_key, 'sha256'), 'base64'), '+/=', '-_')
$$;
comment on function auth.derive_token(bytea, text) is 'The successor of refresh token p_token under session key p_key (43 base64url characters).';

create or replace function auth.open_session(p_user_id uuid, p_user_agent text, p_ip inet, p_ttl interval)
returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_token text := auth.new_token();
  v_session uuid;
begin
  insert into public.sessions (user_id, token_hash, token_key, user_agent, ip, expires_at)
  values (p_user_id, auth.hash_token(v_token), extensions.gen_random_bytes(32),
          pg_catalog.left(p_user_agent, 512), p_ip, pg_catalog.now() + p_ttl)
  returning id into v_session;
  update public.users set last_login_at = pg_catalog.now() where id = p_user_id;
  return pg_catalog.jsonb_build_object('session_id', v_session, 'refresh_token', v_token,
                                       'user', auth.profile(p_user_id));
end
$$;

drop function auth.refresh(text, text, inet);
create function auth.refresh(p_token text, p_user_agent text, p_ip inet, p_grace interval)
returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_hash bytea := auth.hash_token(p_token);
  v_session public.sessions;
  v_key bytea;
  v_token text;
begin
  select * into v_session from public.sessions where token_hash = v_hash for update;
  if not found then
    select * into v_session from public.sessions where rotated_hashes @> array[v_hash] for update;
    if not found then
      raise exception 'Invalid refresh token' using errcode = 'VA401';
    end if;
    -- The token that rotated last, again within the grace period: the same
    -- successor (a concurrent refresh waits for the first one's row lock and
    -- lands here).
    if v_session.revoked_at is null and v_session.expires_at > pg_catalog.now()
       and v_session.token_key is not null
       and v_session.rotated_hashes[pg_catalog.array_upper(v_session.rotated_hashes, 1)] = v_hash
       and v_session.rotated_at > pg_catalog.now() - p_grace then
      v_token := auth.derive_token(v_session.token_key, p_token);
      if auth.hash_token(v_token) = v_session.token_hash then
        perform auth.assert_may_sign_in(v_session.user_id);
        return pg_catalog.jsonb_build_object('session_id', v_session.id, 'refresh_token', v_token,
                                             'user', auth.profile(v_session.user_id));
      end if;
    end if;
    -- Anything else is a replay: the whole family is revoked. The caller
    -- gets an error *after* this commits.
    update public.sessions
       set revoked_at = coalesce(revoked_at, pg_catalog.now()),
           revoked_reason = coalesce(revoked_reason, 'refresh token reuse')
     where id = v_session.id;
    return pg_catalog.jsonb_build_object('error', 'reused');
  end if;
  if v_session.revoked_at is not null then
    raise exception 'Session revoked' using errcode = 'VA401';
  end if;
  if v_session.expires_at <= pg_catalog.now() then
    raise exception 'Session expired' using errcode = 'VA401';
  end if;
  perform auth.assert_may_sign_in(v_session.user_id);
  v_key := coalesce(v_session.token_key, extensions.gen_random_bytes(32));
  v_token := auth.derive_token(v_key, p_token);
  update public.sessions
     set token_hash = auth.hash_token(v_token),
         token_key = v_key,
         rotated_hashes = rotated_hashes || token_hash,
         rotated_at = pg_catalog.now(),
         last_used_at = pg_catalog.now(),
         user_agent = coalesce(pg_catalog.left(p_user_agent, 512), user_agent),
         ip = coalesce(p_ip, ip)
   where id = v_session.id;
  return pg_catalog.jsonb_build_object('session_id', v_session.id, 'refresh_token', v_token,
                                       'user', auth.profile(v_session.user_id));
end
$$;

-- GET /user/sessions: the caller's live sessions, most recently used first.
create function auth.my_sessions(p_page integer, p_per_page integer) returns jsonb
language plpgsql stable security definer
set search_path = ''
as $$
declare
  v_user uuid := auth.require_user();
  v_total bigint;
  v_items jsonb;
begin
  perform app.check_page(p_page, p_per_page);
  select pg_catalog.count(*) into v_total
    from public.sessions
   where user_id = v_user and revoked_at is null and expires_at > pg_catalog.now();
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'id', s.id, 'created_at', s.created_at, 'last_used_at', s.last_used_at,
           'expires_at', s.expires_at, 'user_agent', s.user_agent, 'ip', pg_catalog.host(s.ip),
           'current', s.id = app.current_session_id()) order by s.last_used_at desc, s.id), '[]')
    into v_items
    from (select * from public.sessions
           where user_id = v_user and revoked_at is null and expires_at > pg_catalog.now()
           order by last_used_at desc, id
           limit p_per_page offset (p_page - 1)::bigint * p_per_page) s;
  return pg_catalog.jsonb_build_object('items', v_items, 'page', p_page, 'per_page', p_per_page, 'total', v_total);
end
$$;

-- DELETE /user/sessions/{id}: ends one of the caller's sessions (the current
-- one too: that is a logout). Another user's session is not found.
create function auth.end_session(p_session_id uuid) returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  update public.sessions
     set revoked_at = pg_catalog.now(), revoked_reason = 'ended by the user'
   where id = p_session_id and user_id = auth.require_user()
     and revoked_at is null and expires_at > pg_catalog.now();
  if not found then
    raise exception 'Session not found' using errcode = 'VA404';
  end if;
  return p_session_id = app.current_session_id();
end
$$;

-- POST /user/sessions/revoke-others: every session but the current one.
create function auth.end_other_sessions() returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_count integer;
begin
  update public.sessions
     set revoked_at = pg_catalog.now(), revoked_reason = 'ended by the user'
   where user_id = auth.require_user() and id is distinct from app.current_session_id()
     and revoked_at is null;
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

------------------------------------------------------------------------------
-- One-time links
------------------------------------------------------------------------------

-- A fresh one-time token for (user, purpose), or NULL when the user already
-- holds as many unexpired, unused ones as auth.settings allows. Older tokens
-- keep working: a request by someone else cannot kill the link the user is
-- about to click.
create or replace function auth.issue_one_time_token(p_user_id uuid, p_purpose public.token_purpose, p_ttl interval)
returns text
language plpgsql volatile
set search_path = ''
as $$
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
$$;

-- Queues the verify-email message with a fresh 24-hour token; false when the
-- user already holds the allowed number of links.
drop function auth.issue_verification(uuid);
create function auth.issue_verification(p_user_id uuid) returns boolean
language plpgsql volatile
set search_path = ''
as $$
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
$$;

create or replace function auth.request_password_reset(p_email text) returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v record;
  v_token text;
begin
  select id, organization_id, email, full_name into v
    from public.users
   where pg_catalog.lower(email) = pg_catalog.lower(p_email) and status = 'active';
  if found then
    v_token := auth.issue_one_time_token(v.id, 'reset_password', interval '1 hour');
    if v_token is not null then
      perform auth.queue_email(v.organization_id, v.email, 'reset-password',
        pg_catalog.jsonb_build_object('name', v.full_name, 'token', v_token));
    end if;
  end if;
end
$$;

create or replace function auth.resend_verification_email(p_email text) returns void
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

-- The signed-in caller asks for a link: told when there are enough already.
create or replace function auth.send_verification_email() returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_user uuid := auth.require_user();
  v_next timestamptz;
begin
  if exists (select 1 from public.users where id = v_user and email_verified_at is not null) then
    raise exception 'Email already verified' using errcode = 'VA409';
  end if;
  if not auth.issue_verification(v_user) then
    select pg_catalog.min(expires_at) into v_next from public.one_time_tokens
     where user_id = v_user and purpose = 'verify_email' and used_at is null and expires_at > pg_catalog.now();
    perform auth.raise_too_many('Verification links are already on their way; use the newest one', v_next);
  end if;
end
$$;

-- Redeems a one-time link: its user, once it and every other unused link of
-- that user and purpose are spent. VA400 for an unknown, used or expired one.
create function auth.redeem_link(p_token text, p_purpose public.token_purpose) returns uuid
language plpgsql volatile
set search_path = ''
as $$
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
$$;

-- Using a reset link spends every reset link of that user.
create or replace function auth.reset_password(p_token text, p_new_hash text) returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_user uuid := auth.redeem_link(p_token, 'reset_password');
begin
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

-- POST /auth/verify-email: marks the address verified, spends every
-- verification link of the user, and opens a session. When the account may
-- not sign in (suspended, removed, organization not active) the verification
-- still counts and the answer is {"error": reason}.
drop function auth.verify_email(text);
create function auth.verify_email(p_token text, p_user_agent text, p_ip inet, p_ttl interval) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_user uuid := auth.redeem_link(p_token, 'verify_email');
begin
  update public.users set email_verified_at = coalesce(email_verified_at, pg_catalog.now()) where id = v_user;
  begin
    perform auth.assert_may_sign_in(v_user);
  exception when sqlstate 'VA403' then
    return pg_catalog.jsonb_build_object('error', sqlerrm);
  end;
  return auth.open_session(v_user, p_user_agent, p_ip, p_ttl);
end
$$;

------------------------------------------------------------------------------
-- Registration
------------------------------------------------------------------------------

-- Tells the owner of an address that someone tried to register with it (at
-- most auth.settings.account_notices_per_hour times an hour).
create function auth.notify_existing_account(p_user_id uuid) returns void
language plpgsql volatile
set search_path = ''
as $$
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
$$;

drop function auth.register(text, text, text, text, text);
create function auth.register(p_email text, p_password_hash text, p_full_name text, p_organization_name text)
returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_email text := pg_catalog.lower(pg_catalog.btrim(p_email));
  v_existing uuid;
  v_org uuid;
  v_user uuid;
  v_constraint text;
begin
  select id into v_existing from public.users where pg_catalog.lower(email) = v_email;
  if found then
    perform auth.notify_existing_account(v_existing);
    return;
  end if;
  begin
    if v_email = (auth.current_settings()).platform_admin_email then
      -- The platform admin belongs to no organization; its powers wait for a
      -- verified email (auth.begin_request).
      insert into public.users (organization_id, email, password_hash, full_name, role)
      values (null, v_email, p_password_hash, p_full_name, 'platform_admin')
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
      values (v_org, v_email, p_password_hash, p_full_name, 'owner')
      returning id into v_user;
    end if;
  exception when unique_violation then
    -- The same address registered concurrently: answered like any existing one.
    get stacked diagnostics v_constraint = constraint_name;
    if v_constraint <> 'users_email_key' then
      raise;
    end if;
    select id into v_existing from public.users where pg_catalog.lower(email) = v_email;
    perform auth.notify_existing_account(v_existing);
    return;
  end;
  perform auth.issue_verification(v_user);
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id)
  values (v_org, v_user, 'user.register', 'user', v_user);
end
$$;

------------------------------------------------------------------------------
-- Grants
------------------------------------------------------------------------------

revoke all on function
  auth.derive_token(bytea, text), auth.open_session(uuid, text, inet, interval),
  auth.refresh(text, text, inet, interval), auth.my_sessions(integer, integer),
  auth.end_session(uuid), auth.end_other_sessions(),
  auth.issue_one_time_token(uuid, public.token_purpose, interval), auth.issue_verification(uuid),
  auth.verify_email(text, text, inet, interval), auth.notify_existing_account(uuid),
  auth.redeem_link(text, public.token_purpose),
  auth.register(text, text, text, text)
from public;
grant execute on function
  auth.register(text, text, text, text),
  auth.refresh(text, text, inet, interval),
  auth.verify_email(text, text, inet, interval),
  auth.my_sessions(integer, integer),
  auth.end_session(uuid),
  auth.end_other_sessions()
to vectra_anon;
