-- Invitations and unverified accounts: nobody can keep an address from
-- joining the organization that invites it.
--
-- 1. The per-recipient invitation limit counts per organization and
--    recipient mailbox (INVITES_PER_RECIPIENT_PER_HOUR, 3 by default; "ann",
--    "ann+1" and, at Gmail, "a.nn" are one mailbox): one organization's
--    invitations no longer lock another out of inviting the same address.
--    A higher cap for all organizations together
--    (INVITES_PER_RECIPIENT_PER_HOUR_ALL_ORGANIZATIONS, 20 by default) still
--    keeps a mailbox from being flooded, but never stops an organization's
--    first invitation to it in the hour: however many organizations an
--    attacker registers, the real employer's invitation goes out.
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
-- 4. Nothing of value goes with them: an account whose organization holds
--    data (campaigns, leads, meetings, notifications: written before
--    unverified accounts lost their writes) is never removed, by an
--    invitation or by the sweep; and accounts that exist when this migration
--    runs count their period from it (auth.settings.unverified_since), not
--    from their registration: an upgrade removes nobody at once.
-- 5. The console's invitations (an organization's owner, a member) give way
--    to an unverified account the same way, instead of refusing the address.

alter table auth.settings
  add column invites_per_recipient_per_hour_all_organizations integer not null default 20
    check (invites_per_recipient_per_hour_all_organizations > 0),
  add column unverified_account_ttl interval not null default '7 days'
    check (unverified_account_ttl > interval '0'),
  -- When unverified accounts began to expire here: accounts older than this
  -- count their period from it.
  add column unverified_since timestamptz not null default pg_catalog.now();

comment on column auth.settings.invites_per_recipient_per_hour is
  'Invitation emails one address may receive per rolling hour from one organization (INVITES_PER_RECIPIENT_PER_HOUR).';
comment on column auth.settings.invites_per_recipient_per_hour_all_organizations is
  'Invitation emails one address may receive per rolling hour from all organizations together (INVITES_PER_RECIPIENT_PER_HOUR_ALL_ORGANIZATIONS).';
comment on column auth.settings.unverified_since is
  'When this database began to expire unverified accounts (the migration that brought the rule): an account registered before counts its UNVERIFIED_ACCOUNT_TTL from here.';
comment on column auth.settings.unverified_account_ttl is
  'How long an account whose email was never verified lasts (UNVERIFIED_ACCOUNT_TTL); then auth.expire_unverified_accounts removes it.';

create index users_unverified_idx on public.users (created_at) where email_verified_at is null;
create index email_outbox_invited_mailbox_idx on public.email_outbox (app.mailbox_key(to_email), created_at)
  where template = 'invite-user';

create or replace function auth.check_invitation_limits(p_org uuid, p_sender uuid, p_email text) returns void
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  s auth.settings := auth.current_settings();
  v_since timestamptz := pg_catalog.now() - interval '1 hour';
  v_mailbox text := app.mailbox_key(p_email);
begin
  -- Concurrent invitations of one organization or to one mailbox are counted
  -- one after the other.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('vectra.invite.org:' || p_org::text, 0));
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('vectra.invite.to:' || v_mailbox, 0));
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
       where app.mailbox_key(to_email) = v_mailbox and template = 'invite-user'
         and organization_id = p_org and created_at > v_since
       order by created_at desc limit s.invites_per_recipient_per_hour),
    s.invites_per_recipient_per_hour, 'This organization has invited this address too often in the last hour; try again later');
  -- All organizations together, but never an organization's first
  -- invitation of the hour to this mailbox.
  if exists (select 1 from public.email_outbox
              where app.mailbox_key(to_email) = v_mailbox and template = 'invite-user'
                and organization_id = p_org and created_at > v_since) then
    perform auth.raise_if_over(array(
        select created_at from public.email_outbox
         where app.mailbox_key(to_email) = v_mailbox and template = 'invite-user' and created_at > v_since
         order by created_at desc limit s.invites_per_recipient_per_hour_all_organizations),
      s.invites_per_recipient_per_hour_all_organizations,
      'This address has received too many invitations in the last hour; try again later');
  end if;
end
$$;

comment on function auth.check_invitation_limits(uuid, uuid, text) is
  'VA429 when an invitation email would pass a rolling-hour limit: per sender, per organization, per organization and recipient mailbox, per recipient mailbox from all organizations (never for an organization''s first invitation of the hour to it).';

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
    -- Colleagues, or data written before unverified accounts lost their
    -- writes: not ours to remove.
    if exists (select 1 from public.users where organization_id = u.organization_id and id <> u.id)
       or exists (select 1 from public.campaigns where organization_id = u.organization_id)
       or exists (select 1 from public.leads where organization_id = u.organization_id)
       or exists (select 1 from public.notifications where organization_id = u.organization_id) then
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
  'Removes an account whose email was never verified, with its organization, and audits it (action account.remove_unverified, no organization); NULL (nothing removed) when the account is verified, has colleagues, or its organization holds campaigns, leads or notifications.';

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
  s auth.settings := auth.current_settings();
  v_id uuid;
  v_removed integer := 0;
begin
  if p_limit is null or p_limit not between 1 and 10000 then
    raise exception 'p_limit must be from 1 to 10000' using errcode = '22023';
  end if;
  for v_id in
    select u.id from public.users u
     where u.email_verified_at is null
       and u.created_at < pg_catalog.now() - s.unverified_account_ttl
       and s.unverified_since < pg_catalog.now() - s.unverified_account_ttl
       and not exists (select 1 from public.users o
                        where o.organization_id = u.organization_id and o.id <> u.id)
       and not exists (select 1 from public.campaigns c where c.organization_id = u.organization_id)
       and not exists (select 1 from public.leads l where l.organization_id = u.organization_id)
       and not exists (select 1 from public.notifications n where n.organization_id = u.organization_id)
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
  'The outbox worker, hourly: removes up to p_limit accounts whose email was not verified within auth.settings.unverified_account_ttl, counted from their registration or from auth.settings.unverified_since, whichever is later (auth.remove_unverified_account: never one with colleagues or data). Returns how many.';

-- The console's invitations: refused for a verified account only.
create or replace function app.admin_create_invitation(p_org uuid, p_email text, p_role public.user_role) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_email text := pg_catalog.lower(pg_catalog.btrim(p_email));
  v_token text := app.new_token();
  v_inv app.invitation_rows;
  v_pending app.invitation_rows;
  v_id uuid;
begin
  -- The service's rule (src/domain/email.rs), for direct callers too.
  if v_email is null or pg_catalog.length(v_email) > 254
     or v_email !~ '^[a-z0-9!#$%&''*+/=?^_`{|}~.-]{1,64}@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'
     or v_email ~ '(^\.|\.\.|\.@)' then
    raise exception 'email: must be an email address'
      using errcode = 'VA422', detail = '{"email": "must be an email address"}';
  end if;
  -- A verified account has the address; an unverified one gives way when
  -- the invitation is accepted (auth.accept_invitation).
  if exists (select 1 from public.users where pg_catalog.lower(email) = v_email and email_verified_at is not null) then
    raise exception 'A user with this email already exists' using errcode = 'VA409';
  end if;
  perform 1 from public.invitations
   where organization_id = p_org and email = v_email and accepted_at is null and revoked_at is null for update;
  select * into v_pending from app.invitation_rows
   where organization_id = p_org and email = v_email and accepted_at is null and revoked_at is null;
  if found then
    if v_pending.expires_at > pg_catalog.now() then
      raise exception 'A pending invitation for this email already exists' using errcode = 'VA409';
    end if;
    update public.invitations set revoked_at = pg_catalog.now() where organization_id = p_org and id = v_pending.id;
  end if;
  perform auth.check_invitation_limits(p_org, app.current_user_id(), v_email);
  insert into public.invitations (organization_id, email, role, token_hash, invited_by, expires_at)
  values (p_org, v_email, p_role, app.hash_token(v_token), app.current_user_id(),
          pg_catalog.now() + (auth.current_settings()).invitation_ttl)
  returning id into v_id;
  select * into v_inv from app.invitation_rows where organization_id = p_org and id = v_id;
  perform app.queue_invitation_email(v_inv, v_token);
  perform app.admin_audit(p_org, 'invitation.create', 'invitation', v_id,
                          pg_catalog.jsonb_build_object('email', v_email, 'role', p_role));
  return app.invitation_json(v_inv);
end
$$;

comment on function app.admin_create_invitation(uuid, text, public.user_role) is
  'The console''s invitation (an organization''s owner, a member): refused when a verified account has the address; an unverified one gives way when the invitation is accepted.';

revoke all on function auth.remove_unverified_account(uuid, text), auth.expire_unverified_accounts(integer) from public;
grant execute on function auth.expire_unverified_accounts(integer) to vectra_worker;
