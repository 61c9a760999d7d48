-- Abuse limits counted once for the whole deployment.
--
-- The per-address, per-email and per-user limits of the public routes, and
-- the login backoff per email, were counted in each instance's memory: three
-- instances behind a proxy allowed three times the attempts. They are now
-- counted here, where every instance meets, in one statement per limited
-- request (each instance still keeps its in-memory limiter in front, which
-- only ever refuses earlier than the database would and keeps floods of one
-- key off it).
--
-- * auth.rate_limits: a GCRA per key (theoretical arrival time): a key gets
--   its per-minute allowance at once, which comes back at a steady pace.
-- * auth.login_failures: failed logins per email; past the free ones, each
--   failure makes the next attempt wait 1 s, 2 s, 4 s … up to 15 minutes;
--   forgotten an hour after the last failure, cleared by a success.
--
-- Both are UNLOGGED: they cost no WAL, and a crash of the server (or a
-- failover to a replica, which does not have them) forgets the counts, which
-- is the right trade for short-lived counters. Keys are HMAC-SHA-256 of the
-- route, the kind and the value under a key of this database
-- (auth.settings.rate_limit_key): no address or email is stored. The values
-- (the limit per minute, the free failures) come from the service's
-- configuration, RATE_LIMIT_PER_MINUTE and LOGIN_FAILURES_BEFORE_BACKOFF.
-- Rows live a minute (rate limits) or an hour (failures) past their last
-- use; auth.prune_limits, run by the outbox worker every minute, deletes
-- them.

alter table auth.settings
  add column rate_limit_key bytea not null default extensions.gen_random_bytes(32)
    check (pg_catalog.length(rate_limit_key) = 32);

comment on column auth.settings.rate_limit_key is
  'HMAC key of the abuse limits'' keys (auth.rate_limits, auth.login_failures): made by the migration, read only by the owner''s functions.';

create unlogged table auth.rate_limits (
  key bytea primary key,
  tat timestamptz not null
);

comment on table auth.rate_limits is
  'Abuse limits shared by every instance: per key (HMAC of route, kind and value), the GCRA''s theoretical arrival time. Written and read by auth.hit_limits only.';

create unlogged table auth.login_failures (
  key bytea primary key,
  failures integer not null check (failures > 0),
  last_failure timestamptz not null,
  blocked_until timestamptz not null
);

comment on table auth.login_failures is
  'Failed logins per email (HMAC key), shared by every instance: the backoff of auth.check_login. Cleared by a success, forgotten an hour after the last failure.';

-- No policy: nobody but the owner's functions reads or writes them.
alter table auth.rate_limits enable row level security, force row level security;
alter table auth.login_failures enable row level security, force row level security;

-- A key as stored: HMAC-SHA-256 of the text under the database's key.
create function auth.limit_key(p_text text) returns bytea
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  return extensions.hmac(pg_catalog.convert_to(p_text, 'UTF8'),
                         (auth.current_settings()).rate_limit_key, 'sha256');
end
$$;

comment on function auth.limit_key(text) is
  'The stored form of an abuse-limit key: HMAC-SHA-256 under auth.settings.rate_limit_key.';

-- Counts one attempt against each key, in order; the first key whose
-- allowance is spent stops it (the keys after it are not counted). NULL
-- when allowed, else the seconds until the next attempt is.
create function auth.hit_limits(p_keys text[], p_per_minute integer) returns double precision
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := pg_catalog.clock_timestamp();
  v_period interval;
  v_tolerance interval;
  v_key text;
  v_hash bytea;
  v_tat timestamptz;
begin
  if p_per_minute is null or p_per_minute < 1 or p_keys is null
     or pg_catalog.cardinality(p_keys) not between 1 and 4 then
    raise exception 'hit_limits: 1 to 4 keys and a positive limit' using errcode = '22023';
  end if;
  v_period := pg_catalog.make_interval(secs => 60.0 / p_per_minute);
  v_tolerance := v_period * (p_per_minute - 1);
  foreach v_key in array p_keys loop
    v_hash := auth.limit_key(v_key);
    insert into auth.rate_limits as r (key, tat) values (v_hash, v_now + v_period)
    on conflict (key) do update set tat = greatest(r.tat, v_now) + v_period
      where greatest(r.tat, v_now) - v_now <= v_tolerance
    returning r.tat into v_tat;
    if not found then
      select r.tat into v_tat from auth.rate_limits r where r.key = v_hash;
      return greatest(extract(epoch from v_tat - v_now - v_tolerance)::double precision, 0.001);
    end if;
  end loop;
  return null;
end
$$;

comment on function auth.hit_limits(text[], integer) is
  'Counts one attempt against each key (GCRA, p_per_minute a minute, all usable at once): NULL when allowed, else the seconds to wait. Shared by every instance.';

-- A login attempt: the address's limit (every attempt counts), then the
-- email's backoff (only failures count). NULL when it may go on.
create function auth.check_login(p_address_key text, p_email text, p_per_minute integer) returns double precision
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_wait double precision;
  v_until timestamptz;
  v_now timestamptz := pg_catalog.clock_timestamp();
begin
  v_wait := auth.hit_limits(array[p_address_key], p_per_minute);
  if v_wait is not null then
    return v_wait;
  end if;
  select blocked_until into v_until from auth.login_failures
   where key = auth.limit_key('login|email|' || p_email);
  if v_until > v_now then
    return extract(epoch from v_until - v_now)::double precision;
  end if;
  return null;
end
$$;

comment on function auth.check_login(text, text, integer) is
  'Before a password is checked: the client address''s limit (auth.hit_limits), then the email''s login backoff. NULL when the attempt may go on, else the seconds to wait.';

create function auth.login_failed(p_email text, p_free integer) returns void
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_key bytea := auth.limit_key('login|email|' || p_email);
  v_now timestamptz := pg_catalog.clock_timestamp();
  v_count integer;
begin
  -- Counted atomically (the row stays locked to the end of the request).
  insert into auth.login_failures as f (key, failures, last_failure, blocked_until)
  values (v_key, 1, v_now, v_now)
  on conflict (key) do update
    set failures = case when f.last_failure < v_now - interval '1 hour' then 1 else f.failures + 1 end,
        last_failure = v_now
  returning failures into v_count;
  if v_count > p_free then
    update auth.login_failures
       set blocked_until = v_now + least(interval '1 second' * pg_catalog.power(2, least(v_count - p_free - 1, 20)),
                                         interval '15 minutes')
     where key = v_key;
  end if;
end
$$;

comment on function auth.login_failed(text, integer) is
  'A failed login for this email: past p_free failures (LOGIN_FAILURES_BEFORE_BACKOFF), the next attempt waits 1 s, 2 s, 4 s … up to 15 minutes. A failure more than an hour after the last one starts afresh.';

create function auth.login_succeeded(p_email text) returns void
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  delete from auth.login_failures where key = auth.limit_key('login|email|' || p_email);
end
$$;

comment on function auth.login_succeeded(text) is 'A successful login: the email''s failures are forgotten.';

create function auth.prune_limits() returns integer
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_limits integer;
  v_failures integer;
begin
  delete from auth.rate_limits where tat < pg_catalog.clock_timestamp();
  get diagnostics v_limits = row_count;
  delete from auth.login_failures
   where last_failure < pg_catalog.clock_timestamp() - interval '1 hour'
     and blocked_until < pg_catalog.clock_timestamp();
  get diagnostics v_failures = row_count;
  return v_limits + v_failures;
end
$$;

comment on function auth.prune_limits() is
  'The outbox worker, every minute: forgets rate-limit keys whose allowance is whole again and login failures older than an hour. Returns how many rows went.';

revoke all on function auth.limit_key(text), auth.hit_limits(text[], integer),
  auth.check_login(text, text, integer), auth.login_failed(text, integer), auth.login_succeeded(text),
  auth.prune_limits() from public;
-- The limited routes run as vectra_anon (signed in or not).
grant execute on function auth.hit_limits(text[], integer), auth.check_login(text, text, integer),
  auth.login_failed(text, integer), auth.login_succeeded(text) to vectra_anon;
grant execute on function auth.prune_limits() to vectra_worker;
