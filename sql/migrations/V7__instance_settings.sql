-- V7: instance settings decided by the operator, never by a caller.
--
-- Until V6, auth.register took the platform-admin email as a parameter, so
-- anyone who could call it (vectra_anon) could name themselves platform
-- admin with `select auth.register('me@evil.test', …, 'me@evil.test')`; and
-- app.invite_user took the invitation lifetime from its caller. Values that
-- carry a rule now live in this one-row table, written only by the migration
-- owner: `vectra migrate` (and `vectra serve` when it migrates) stores the
-- configured values after applying the migrations (src/db/migrate.rs).
--
-- RLS is enabled and forced with no policy and no grant: only SECURITY
-- DEFINER functions owned by the migration owner read it.

create table auth.settings (
  id                                 boolean primary key default true check (id),
  platform_admin_email               text not null default 'admin@vectra.io'
                                     check (platform_admin_email = pg_catalog.lower(platform_admin_email)
                                            and position('@' in platform_admin_email) > 1),
  invitation_ttl                     interval not null default '7 days' check (invitation_ttl > interval '0'),
  -- Invitation emails (new invitations and resends) per rolling hour.
  invites_per_sender_per_hour        integer not null default 20 check (invites_per_sender_per_hour > 0),
  invites_per_organization_per_hour  integer not null default 50 check (invites_per_organization_per_hour > 0),
  invites_per_recipient_per_hour     integer not null default 3 check (invites_per_recipient_per_hour > 0),
  -- Unexpired, unused one-time links (verification, reset) one user may hold
  -- per purpose; a request beyond sends nothing.
  outstanding_links_per_purpose      integer not null default 3 check (outstanding_links_per_purpose > 0),
  -- "Someone tried to register with your address" emails per rolling hour.
  account_notices_per_hour           integer not null default 3 check (account_notices_per_hour > 0),
  updated_at                         timestamptz not null default now()
);
comment on table auth.settings is
  'Operator settings that carry rules (platform-admin email, invitation lifetime and limits). One row, written by `vectra migrate` from the environment; read only by SECURITY DEFINER functions.';
insert into auth.settings default values;

alter table auth.settings enable row level security, force row level security;
revoke all on auth.settings from public;

-- The row, for the definer functions (plpgsql: planned once per connection).
create function auth.current_settings() returns auth.settings
language plpgsql stable security definer
set search_path = ''
as $$
declare
  v auth.settings;
begin
  select * into v from auth.settings where id;
  return v;
end
$$;
comment on function auth.current_settings() is 'The operator settings row (auth.settings).';
revoke all on function auth.current_settings() from public;
