-- The abuse limits every instance shares: counted per key (a GCRA), stored
-- only as HMACs, out of reach of every role but through their functions.

begin;
select plan(16);

select is_empty($$ select polname from pg_policy where polrelid in ('auth.rate_limits'::regclass, 'auth.login_failures'::regclass) $$,
  'the limit tables have no policy: only the owner''s functions reach them');
select ok((select relpersistence = 'u' from pg_class where oid = 'auth.rate_limits'::regclass)
          and (select relpersistence = 'u' from pg_class where oid = 'auth.login_failures'::regclass),
  'both are unlogged (no WAL; a crash forgets short-lived counts)');

set local role vectra_anon;
select throws_ok($$ select * from auth.rate_limits $$, '42501', 'permission denied for table rate_limits',
  'vectra_anon reads no counter');
select throws_ok($$ delete from auth.login_failures $$, '42501', 'permission denied for table login_failures',
  'nor clears anyone''s failures');
-- Three a minute: three at once, then a wait of one period (20 s).
select is(auth.hit_limits(array['login|ip|192.0.2.1'], 3), null, 'first attempt');
select is(auth.hit_limits(array['login|ip|192.0.2.1'], 3), null, 'second');
select is(auth.hit_limits(array['login|ip|192.0.2.1'], 3), null, 'third');
select ok(auth.hit_limits(array['login|ip|192.0.2.1'], 3) between 19.9 and 20.0, 'the fourth waits one period');
select is(auth.hit_limits(array['login|ip|192.0.2.2', 'register|ip|192.0.2.1'], 3), null,
  'other keys count for themselves');
-- Two keys: the spent one stops the attempt.
select ok(auth.hit_limits(array['forgot|ip|192.0.2.9', 'login|ip|192.0.2.1'], 3) > 0,
  'an attempt with a spent key among its keys is refused');
-- The login backoff: two free failures, then 1 s, 2 s …
select auth.login_failed('ann@example.com', 2), auth.login_failed('ann@example.com', 2);
select is(auth.check_login('login|ip|198.51.100.1', 'ann@example.com', 100), null, 'two failures are free');
select auth.login_failed('ann@example.com', 2);
select ok(auth.check_login('login|ip|198.51.100.1', 'ann@example.com', 100) between 0.5 and 1.0,
  'the third makes the next attempt wait a second');
select auth.login_succeeded('ann@example.com');
select is(auth.check_login('login|ip|198.51.100.1', 'ann@example.com', 100), null, 'a success clears it');
reset role;

select is((select count(*)::int from auth.rate_limits
            where key = extensions.hmac('login|ip|192.0.2.1', (select rate_limit_key from auth.settings), 'sha256')), 1,
  'a key is stored as its HMAC under the database''s key');
select is_empty($$ select 1 from auth.rate_limits where position(convert_to('192.0.2', 'UTF8') in key) > 0 $$,
  'and never as the address itself');

set local role vectra_member;
select throws_ok($$ select auth.hit_limits(array['login|ip|192.0.2.1'], 1000000) $$, '42501',
  'permission denied for schema auth', 'a member cannot even reach the counters'' functions');
reset role;

select * from finish();
rollback;
