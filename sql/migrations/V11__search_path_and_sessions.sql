-- V11: what an attacker's review of V7-V10 found.
--
-- 1. `set search_path = ''` does not pin type names. PostgreSQL still looks
--    in the session's temporary schema (pg_temp) *first* for relations and
--    types unless pg_temp is listed explicitly. A request role with TEMP on
--    the database (PUBLIC has it by default) could
--      create domain pg_temp.text as pg_catalog.text check (pg_temp.evil(value));
--    and any SECURITY DEFINER function declaring a `text` variable then ran
--    pg_temp.evil as the function's owner: the migration owner, often a
--    superuser. Every function of schemas app and auth now has
--    `search_path = pg_catalog, pg_temp` (pg_temp listed last is searched
--    last, and never for functions), and PUBLIC loses TEMP on the database
--    (`vectra migrate` revokes it again on every run: CREATE DATABASE …
--    TEMPLATE does not copy a database's privileges).
-- 2. The functions about the caller alone (auth.me, change_password, the
--    session functions …) trusted app.user_id: `set_config('app.user_id',
--    <anyone>)` as vectra_anon read that user's hash and sessions.
--    auth.require_user now requires app.session_id to be a live session of
--    app.user_id, as auth.authorize does for the organization writes.
-- 3. Session lifetime and the refresh grace period were parameters chosen
--    by the caller; they are operator settings now (auth.settings).

------------------------------------------------------------------------------
-- 1. No temporary objects for PUBLIC
------------------------------------------------------------------------------

do $$
begin
  execute pg_catalog.format('revoke temporary on database %I from public', pg_catalog.current_database());
end
$$;

------------------------------------------------------------------------------
-- 3. Session settings
------------------------------------------------------------------------------

alter table auth.settings
  add column refresh_token_ttl interval not null default '30 days' check (refresh_token_ttl > interval '0'),
  add column refresh_grace_period interval not null default '10 seconds'
    check (refresh_grace_period >= interval '0' and refresh_grace_period <= interval '5 minutes');
comment on column auth.settings.refresh_token_ttl is 'How long a session lasts from its sign-in (REFRESH_TOKEN_TTL).';
comment on column auth.settings.refresh_grace_period is
  'How long the refresh token that just rotated still yields the same successor (REFRESH_GRACE_PERIOD).';

------------------------------------------------------------------------------
-- 2. The caller, verified
------------------------------------------------------------------------------

-- The caller of a signed-in auth route: app.user_id, once app.session_id is
-- a live session of that user (auth.begin_request checked the same when the
-- transaction started; this keeps a changed setting from borrowing someone
-- else's identity).
create or replace function auth.require_user() returns uuid
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
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
$$;

------------------------------------------------------------------------------
-- 3. Sessions open and rotate with the operator's lifetimes
------------------------------------------------------------------------------

drop function auth.open_session(uuid, text, inet, interval);
create function auth.open_session(p_user_id uuid, p_user_agent text, p_ip inet)
returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_token text := auth.new_token();
  v_session uuid;
begin
  insert into public.sessions (user_id, token_hash, token_key, user_agent, ip, expires_at)
  values (p_user_id, auth.hash_token(v_token), extensions.gen_random_bytes(32),
          pg_catalog.left(p_user_agent, 512), p_ip,
          pg_catalog.now() + (auth.current_settings()).refresh_token_ttl)
  returning id into v_session;
  update public.users set last_login_at = pg_catalog.now() where id = p_user_id;
  return pg_catalog.jsonb_build_object('session_id', v_session, 'refresh_token', v_token,
                                       'user', auth.profile(p_user_id));
end
$$;

drop function auth.login(uuid, text, text, inet, interval);
create function auth.login(p_user_id uuid, p_verified_hash text, p_user_agent text, p_ip inet)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  -- The hash the service verified must still be the user's: a password
  -- changed in between makes the login fail rather than succeed on the old one.
  perform 1 from public.users where id = p_user_id and password_hash = p_verified_hash for update;
  if not found then
    raise exception 'Invalid email or password' using errcode = 'VA401';
  end if;
  perform auth.assert_may_sign_in(p_user_id);
  return auth.open_session(p_user_id, p_user_agent, p_ip);
end
$$;

drop function auth.refresh(text, text, inet, interval);
create function auth.refresh(p_token text, p_user_agent text, p_ip inet)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
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
       and v_session.rotated_at > pg_catalog.now() - (auth.current_settings()).refresh_grace_period then
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

drop function auth.verify_email(text, text, inet, interval);
create function auth.verify_email(p_token text, p_user_agent text, p_ip inet) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
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
  return auth.open_session(v_user, p_user_agent, p_ip);
end
$$;

drop function auth.accept_invitation(text, text, text, text, inet, interval);
create function auth.accept_invitation(p_token text, p_password_hash text, p_full_name text,
                                       p_user_agent text, p_ip inet)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
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
  return auth.open_session(v_user, p_user_agent, p_ip);
end
$$;

revoke all on function
  auth.open_session(uuid, text, inet), auth.login(uuid, text, text, inet), auth.refresh(text, text, inet),
  auth.verify_email(text, text, inet), auth.accept_invitation(text, text, text, text, inet)
from public;
grant execute on function
  auth.login(uuid, text, text, inet), auth.refresh(text, text, inet),
  auth.verify_email(text, text, inet), auth.accept_invitation(text, text, text, text, inet)
to vectra_anon;

------------------------------------------------------------------------------
-- 1. Every function of app and auth with a pinned search_path gets the safe one
------------------------------------------------------------------------------

do $$
declare
  f regprocedure;
begin
  for f in
    select p.oid::regprocedure
      from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname in ('app', 'auth')
       and exists (select 1 from pg_catalog.unnest(p.proconfig) c where c like 'search_path=%')
       and not (p.proconfig @> array['search_path=pg_catalog, pg_temp'])
  loop
    execute pg_catalog.format('alter function %s set search_path = pg_catalog, pg_temp', f);
  end loop;
end
$$;
