-- Invitations and unverified accounts: nobody can keep an address from
-- joining the organization that invites it.
--
-- 1. The per-recipient invitation limit counts per organization and
--    recipient (INVITES_PER_RECIPIENT_PER_HOUR, 3 by default): one
--    organization's invitations no longer lock another out of inviting the
--    same address. A higher cap for all organizations together
--    (INVITES_PER_RECIPIENT_PER_HOUR_ALL_ORGANIZATIONS, 20 by default) still
--    keeps an address from being flooded.
-- 2. An invitation proves control of its address: accepting it wins over an
--    unverified account of that address (someone registered it and never
--    proved it was theirs). That account is removed, with its organization
--    when nobody else is in it, and the removal is audited. A verified
--    account still answers 409.
-- 3. Unverified accounts expire: auth.expire_unverified_accounts, run by the
--    outbox worker every hour, removes those older than
--    UNVERIFIED_ACCOUNT_TTL (7 days by default) the same way. What an
--    unverified account may do until then: sign in, read, manage itself
--    (auth.authorize refuses it every write).

alter table auth.settings
  add column invites_per_recipient_per_hour_all_organizations integer not null default 20
    check (invites_per_recipient_per_hour_all_organizations > 0),
  add column unverified_account_ttl interval not null default '7 days'
    check (unverified_account_ttl > interval '0');

comment on column auth.settings.invites_per_recipient_per_hour is
  'Invitation emails one address may receive per rolling hour from one organization (INVITES_PER_RECIPIENT_PER_HOUR).';
comment on column auth.settings.invites_per_recipient_per_hour_all_organizations is
  'Invitation emails one address may receive per rolling hour from all organizations together (INVITES_PER_RECIPIENT_PER_HOUR_ALL_ORGANIZATIONS).';
comment on column auth.settings.unverified_account_ttl is
  'How long an account whose email was never verified lasts (UNVERIFIED_ACCOUNT_TTL); then auth.expire_unverified_accounts removes it.';

create index users_unverified_idx on public.users (created_at) where email_verified_at is null;

create or replace function auth.check_invitation_limits(p_org uuid, p_sender uuid, p_email text) returns void
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  s auth.settings := auth.current_settings();
  v_since timestamptz := pg_catalog.now() - interval '1 hour';
begin
  -- Concurrent invitations of one organization or to one address are counted
  -- one after the other.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('vectra.invite.org:' || p_org::text, 0));
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('vectra.invite.to:' || p_email, 0));
  perform auth.raise_if_over(array(
      select created_at from public.audit_log
       where organization_id = p_org and action in ('invitation.create', 'invitation.resend')
         and actor_id = p_sender and created_at > v_since
       order by created_at desc limit s.invites_per_sender_per_hour),
    s.invites_per_sender_per_hour, 'You have sent too many invitations in the last hour; try again later');
  perform auth.raise_if_over(array(
      select created_at from public.audit_log
       where organization_id = p_org and action in ('invitation.create', 'invitation.resend')
         and created_at > v_since
       order by created_at desc limit s.invites_per_organization_per_hour),
    s.invites_per_organization_per_hour, 'This organization has sent too many invitations in the last hour; try again later');
  perform auth.raise_if_over(array(
      select created_at from public.email_outbox
       where to_email = p_email and template = 'invite-user' and organization_id = p_org and created_at > v_since
       order by created_at desc limit s.invites_per_recipient_per_hour),
    s.invites_per_recipient_per_hour, 'This organization has invited this address too often in the last hour; try again later');
  perform auth.raise_if_over(array(
      select created_at from public.email_outbox
       where to_email = p_email and template = 'invite-user' and created_at > v_since
       order by created_at desc limit s.invites_per_recipient_per_hour_all_organizations),
    s.invites_per_recipient_per_hour_all_organizations,
    'This address has received too many invitations in the last hour; try again later');
end
$$;

comment on function auth.check_invitation_limits(uuid, uuid, text) is
  'VA429 when an invitation email would pass a rolling-hour limit: per sender, per organization, per organization and recipient, per recipient from all organizations.';

-- Removes an unverified account, and its organization when nobody else is
-- in it; NULL (and nothing removed) when the account is verified or has
-- colleagues. Audited as a platform entry (its organization may be gone).
create function auth.remove_unverified_account(p_user_id uuid, p_reason text) returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  u public.users;
  v_org public.organizations;
  v_removed jsonb;
begin
  select * into u from public.users where id = p_user_id and email_verified_at is null for update;
  if not found then
    return null;
  end if;
  if u.organization_id is not null then
    select * into v_org from public.organizations where id = u.organization_id for update;
    if exists (select 1 from public.users where organization_id = u.organization_id and id <> u.id) then
      return null;
    end if;
  end if;
  v_removed := pg_catalog.jsonb_build_object(
    'user_id', u.id, 'email', u.email, 'registered_at', u.created_at, 'reason', p_reason,
    'organization_id', v_org.id, 'organization_name', v_org.name);
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data, created_at)
  values (null, null, 'account.remove_unverified', 'user', u.id, v_removed, pg_catalog.clock_timestamp());
  if v_org.id is not null then
    -- Every tenant table's key to organizations cascades; sessions and
    -- one-time tokens follow the user.
    delete from public.organizations where id = v_org.id;
  else
    delete from public.users where id = u.id;
  end if;
  return v_removed;
end
$$;

comment on function auth.remove_unverified_account(uuid, text) is
  'Removes an account whose email was never verified, with its organization when nobody else is in it, and audits it (action account.remove_unverified, no organization); NULL when the account is verified or has colleagues.';

create or replace function auth.accept_invitation(p_token text, p_password_hash text, p_full_name text,
                                                   p_user_agent text, p_ip inet) returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_inv public.invitations;
  v_user uuid;
  v_existing public.users;
  v_superseded jsonb;
begin
  select * into v_inv from public.invitations
   where token_hash = auth.hash_token(p_token)
     and accepted_at is null and revoked_at is null and expires_at > pg_catalog.now()
  for update;
  if not found then
    raise exception 'Invalid or expired invitation' using errcode = 'VA400';
  end if;
  select * into v_existing from public.users where pg_catalog.lower(email) = v_inv.email for update;
  if found then
    -- The invitation proves control of the address; an account that never
    -- did gives way, unless others depend on it.
    v_superseded := auth.remove_unverified_account(v_existing.id, 'invitation.accept');
    if v_superseded is null then
      raise exception 'A user with this email already exists' using errcode = 'VA409';
    end if;
  end if;
  insert into public.users (organization_id, email, password_hash, full_name, role, email_verified_at)
  values (v_inv.organization_id, v_inv.email, p_password_hash, p_full_name, v_inv.role, pg_catalog.now())
  returning id into v_user;
  update public.invitations set accepted_at = pg_catalog.now()
   where organization_id = v_inv.organization_id and id = v_inv.id;
  insert into public.audit_log (organization_id, actor_id, action, target_type, target_id, data)
  values (v_inv.organization_id, v_user, 'invitation.accept', 'invitation', v_inv.id,
          pg_catalog.jsonb_build_object('role', v_inv.role, 'email', v_inv.email)
          || case when v_superseded is null then '{}'::jsonb
                  else pg_catalog.jsonb_build_object('replaced_unverified_account', v_superseded -> 'user_id') end);
  perform auth.assert_may_sign_in(v_user);
  return auth.open_session(v_user, p_user_agent, p_ip);
end
$$;

comment on function auth.accept_invitation(text, text, text, text, inet) is
  'POST /auth/accept-invitation: creates the invited account (verified email, invited role) and opens its session. An unverified account of the same address gives way (auth.remove_unverified_account); a verified one is a VA409.';

create function auth.expire_unverified_accounts(p_limit integer) returns integer
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_ttl interval := (auth.current_settings()).unverified_account_ttl;
  v_id uuid;
  v_removed integer := 0;
begin
  if p_limit is null or p_limit not between 1 and 10000 then
    raise exception 'p_limit must be from 1 to 10000' using errcode = '22023';
  end if;
  for v_id in
    select u.id from public.users u
     where u.email_verified_at is null and u.created_at < pg_catalog.now() - v_ttl
       and not exists (select 1 from public.users o
                        where o.organization_id = u.organization_id and o.id <> u.id)
     order by u.created_at
     limit p_limit
     for update of u skip locked
  loop
    if auth.remove_unverified_account(v_id, 'expired') is not null then
      v_removed := v_removed + 1;
    end if;
  end loop;
  return v_removed;
end
$$;

comment on function auth.expire_unverified_accounts(integer) is
  'The outbox worker, hourly: removes up to p_limit accounts whose email was not verified within auth.settings.unverified_account_ttl (auth.remove_unverified_account). Returns how many.';

revoke all on function auth.remove_unverified_account(uuid, text), auth.expire_unverified_accounts(integer) from public;
grant execute on function auth.expire_unverified_accounts(integer) to vectra_worker;
