-- The outbox worker routes its writes (docs/scale-out.md). It claimed rows
-- by organization and id, then marked each one sent or failed by its id
-- alone: on a Citus cluster every mark read every shard of email_outbox.
--
-- auth.outbox_claim also returns each row's organization_id (a last column:
-- a worker of the previous release selects its columns by name and is not
-- affected), and auth.outbox_mark_sent and auth.outbox_mark_failed take it
-- first, so each mark is one shard's statement. The versions by id alone
-- stay for the previous release's workers during a rolling upgrade (a later
-- migration drops them): they find the row's organization and call the new
-- ones, so what a mark does is written once.

drop function auth.outbox_claim(integer, interval);

create function auth.outbox_claim(p_limit integer, p_stale interval)
 RETURNS TABLE(id uuid, to_email text, template text, context jsonb, attempts integer, max_attempts integer,
               organization_id uuid)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
declare
  c record;
  o public.email_outbox;
  n public.notifications;
  v_org_status text;
  v_org_name text;
  v_sender public.users;
  v_withheld text;
begin
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception 'p_limit must be from 1 to 1000' using errcode = '22023';
  end if;
  for c in
    select e.organization_id, e.id from public.email_outbox e
     where (e.status = 'pending' and e.next_attempt_at <= pg_catalog.now())
        or (e.status = 'sending' and e.claimed_at < pg_catalog.now() - p_stale)
     order by e.next_attempt_at
     limit p_limit
  loop
    select * into o from public.email_outbox e
     where e.organization_id = c.organization_id and e.id = c.id
       and ((e.status = 'pending' and e.next_attempt_at <= pg_catalog.now())
            or (e.status = 'sending' and e.claimed_at < pg_catalog.now() - p_stale))
       for update skip locked;
    continue when not found;
    n := null;
    v_sender := null;
    if o.notification_id is not null then
      select * into n from public.notifications x
       where x.organization_id = o.organization_id and x.id = o.notification_id;
      if n.sender_id is not null then
        select * into v_sender from public.users u where u.id = n.sender_id;
      end if;
    end if;
    select g.status::text, g.name into v_org_status, v_org_name
      from public.organizations g where g.id = o.organization_id;
    v_withheld := case
      when v_org_status is distinct from 'active' and o.organization_id <> app.platform_org_id()
           and o.template in ('notification', 'invite-user')
        then 'withheld: the organization is ' || coalesce(v_org_status, 'gone')
      when n.sender_id is not null and v_sender.status is distinct from 'active'
        then 'withheld: the sender''s account is ' || coalesce(v_sender.status::text, 'gone')
    end;
    if v_withheld is not null then
      update public.email_outbox e
         set status = 'cancelled', claimed_at = null, last_error = v_withheld, context = e.context - 'token'
       where e.organization_id = o.organization_id and e.id = o.id;
      continue;
    end if;
    update public.email_outbox e
       set status = 'sending', claimed_at = pg_catalog.now(), attempts = e.attempts + 1
     where e.organization_id = o.organization_id and e.id = o.id
    returning e.* into o;
    id := o.id;
    organization_id := o.organization_id;
    to_email := o.to_email;
    template := o.template;
    attempts := o.attempts;
    max_attempts := o.max_attempts;
    context := o.context || case when n.id is null then '{}'::jsonb else pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                 'type', n.type, 'subject', n.subject, 'body', n.body, 'body_html', n.body_html,
                 'action_url', n.action_url, 'action_text', n.action_text,
                 'organization_name', case when n.organization_id <> app.platform_org_id() then v_org_name end,
                 'sender_name', v_sender.full_name,
                 -- An organization's mail answers to its sender.
                 'reply_to', case when n.organization_id <> app.platform_org_id() then v_sender.email end)) end;
    return next;
  end loop;
end
$function$;
alter function auth.outbox_claim(integer, interval) owner to current_user;
revoke execute on function auth.outbox_claim(integer, interval) from public;
grant execute on function auth.outbox_claim(integer, interval) to vectra_worker;
comment on function auth.outbox_claim(integer, interval) is 'Outbox worker: claims due rows (status sending, one more attempt) with FOR UPDATE SKIP LOCKED and returns them with their context (a notification''s content, its organization''s name, and its sender''s name and, for an organization''s mail, address as reply_to) and their organization, which the marks take. Due notifications and invitations of an organization that is not active, and notifications of a sender whose account is not, are marked cancelled instead, with the reason in last_error.';

create function auth.outbox_mark_sent(p_organization_id uuid, p_id uuid, p_subject text)
 returns boolean
 language plpgsql
 security definer
 set search_path to 'pg_catalog', 'pg_temp'
as $function$
begin
  update public.email_outbox
     set status = 'sent', sent_at = pg_catalog.now(), subject = pg_catalog.left(p_subject, 998),
         last_error = null, claimed_at = null, context = context - 'token'
   where organization_id = p_organization_id and id = p_id and status = 'sending';
  return found;
end
$function$;
alter function auth.outbox_mark_sent(uuid, uuid, text) owner to current_user;
revoke execute on function auth.outbox_mark_sent(uuid, uuid, text) from public;
grant execute on function auth.outbox_mark_sent(uuid, uuid, text) to vectra_worker;
comment on function auth.outbox_mark_sent(uuid, uuid, text) is 'Outbox worker: records a delivery (only of a row in status sending) and strips its one-time token. The row is named by its organization and id, as auth.outbox_claim returns them.';

create function auth.outbox_mark_failed(p_organization_id uuid, p_id uuid, p_delay_secs double precision, p_error text,
                                        p_permanent boolean)
 returns boolean
 language plpgsql
 security definer
 set search_path to 'pg_catalog', 'pg_temp'
as $function$
begin
  update public.email_outbox
     set status = case when p_permanent or attempts >= max_attempts then 'failed' else 'pending' end::public.email_status,
         context = case when p_permanent or attempts >= max_attempts then context - 'token' else context end,
         next_attempt_at = pg_catalog.now() + pg_catalog.make_interval(secs => greatest(0, least(p_delay_secs, 86400))),
         last_error = pg_catalog.left(p_error, 2000), claimed_at = null
   where organization_id = p_organization_id and id = p_id and status = 'sending';
  return found;
end
$function$;
alter function auth.outbox_mark_failed(uuid, uuid, double precision, text, boolean) owner to current_user;
revoke execute on function auth.outbox_mark_failed(uuid, uuid, double precision, text, boolean) from public;
grant execute on function auth.outbox_mark_failed(uuid, uuid, double precision, text, boolean) to vectra_worker;
comment on function auth.outbox_mark_failed(uuid, uuid, double precision, text, boolean) is 'Outbox worker: reschedules a claimed row after a failed attempt, or marks it failed (and strips its token) after a permanent error or its last attempt. The row is named by its organization and id, as auth.outbox_claim returns them.';

create or replace function auth.outbox_mark_sent(p_id uuid, p_subject text)
 returns boolean
 language plpgsql
 security definer
 set search_path to 'pg_catalog', 'pg_temp'
as $function$
declare
  v_org uuid;
begin
  select e.organization_id into v_org from public.email_outbox e where e.id = p_id;
  return found and auth.outbox_mark_sent(v_org, p_id, p_subject);
end
$function$;
comment on function auth.outbox_mark_sent(uuid, text) is 'The previous release''s outbox worker, by id alone (which reads every shard on Citus): finds the row''s organization and calls auth.outbox_mark_sent(organization, id, subject). Kept for a rolling upgrade.';

create or replace function auth.outbox_mark_failed(p_id uuid, p_delay_secs double precision, p_error text, p_permanent boolean)
 returns boolean
 language plpgsql
 security definer
 set search_path to 'pg_catalog', 'pg_temp'
as $function$
declare
  v_org uuid;
begin
  select e.organization_id into v_org from public.email_outbox e where e.id = p_id;
  return found and auth.outbox_mark_failed(v_org, p_id, p_delay_secs, p_error, p_permanent);
end
$function$;
comment on function auth.outbox_mark_failed(uuid, double precision, text, boolean) is 'The previous release''s outbox worker, by id alone (which reads every shard on Citus): finds the row''s organization and calls auth.outbox_mark_failed(organization, id, …). Kept for a rolling upgrade.';
