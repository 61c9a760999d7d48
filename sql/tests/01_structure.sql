-- Structure of the row-level security model, asserted in pgTAP.
-- Every policy of every table: its name, the roles it applies to and its command.
-- A policy added, dropped, or given to another role or command fails here;
-- the expression checks at the end catch a member policy that stops keying on
-- app.current_org_id().

begin;
select plan(80);


-- organizations
select policies_are('public', 'organizations', array['organizations_member_select', 'organizations_member_update', 'organizations_platform_admin_all']);
select policy_roles_are('public', 'organizations', 'organizations_member_select', array['vectra_member']);
select policy_cmd_is('public', 'organizations', 'organizations_member_select', 'SELECT', 'organizations_member_select is a SELECT policy');
select policy_roles_are('public', 'organizations', 'organizations_member_update', array['vectra_member']);
select policy_cmd_is('public', 'organizations', 'organizations_member_update', 'UPDATE', 'organizations_member_update is a UPDATE policy');
select policy_roles_are('public', 'organizations', 'organizations_platform_admin_all', array['vectra_platform_admin']);
select policy_cmd_is('public', 'organizations', 'organizations_platform_admin_all', 'ALL', 'organizations_platform_admin_all is a ALL policy');

-- users
select policies_are('public', 'users', array['users_member_select', 'users_member_update', 'users_platform_admin_all']);
select policy_roles_are('public', 'users', 'users_member_select', array['vectra_member']);
select policy_cmd_is('public', 'users', 'users_member_select', 'SELECT', 'users_member_select is a SELECT policy');
select policy_roles_are('public', 'users', 'users_member_update', array['vectra_member']);
select policy_cmd_is('public', 'users', 'users_member_update', 'UPDATE', 'users_member_update is a UPDATE policy');
select policy_roles_are('public', 'users', 'users_platform_admin_all', array['vectra_platform_admin']);
select policy_cmd_is('public', 'users', 'users_platform_admin_all', 'ALL', 'users_platform_admin_all is a ALL policy');

-- invitations
select policies_are('public', 'invitations', array['invitations_member_insert', 'invitations_member_select', 'invitations_member_update', 'invitations_platform_admin_all']);
select policy_roles_are('public', 'invitations', 'invitations_member_insert', array['vectra_member']);
select policy_cmd_is('public', 'invitations', 'invitations_member_insert', 'INSERT', 'invitations_member_insert is a INSERT policy');
select policy_roles_are('public', 'invitations', 'invitations_member_select', array['vectra_member']);
select policy_cmd_is('public', 'invitations', 'invitations_member_select', 'SELECT', 'invitations_member_select is a SELECT policy');
select policy_roles_are('public', 'invitations', 'invitations_member_update', array['vectra_member']);
select policy_cmd_is('public', 'invitations', 'invitations_member_update', 'UPDATE', 'invitations_member_update is a UPDATE policy');
select policy_roles_are('public', 'invitations', 'invitations_platform_admin_all', array['vectra_platform_admin']);
select policy_cmd_is('public', 'invitations', 'invitations_platform_admin_all', 'ALL', 'invitations_platform_admin_all is a ALL policy');

-- notifications
select policies_are('public', 'notifications', array['notifications_member_insert', 'notifications_member_select', 'notifications_platform_admin_all']);
select policy_roles_are('public', 'notifications', 'notifications_member_insert', array['vectra_member']);
select policy_cmd_is('public', 'notifications', 'notifications_member_insert', 'INSERT', 'notifications_member_insert is a INSERT policy');
select policy_roles_are('public', 'notifications', 'notifications_member_select', array['vectra_member']);
select policy_cmd_is('public', 'notifications', 'notifications_member_select', 'SELECT', 'notifications_member_select is a SELECT policy');
select policy_roles_are('public', 'notifications', 'notifications_platform_admin_all', array['vectra_platform_admin']);
select policy_cmd_is('public', 'notifications', 'notifications_platform_admin_all', 'ALL', 'notifications_platform_admin_all is a ALL policy');

-- email_outbox
select policies_are('public', 'email_outbox', array['email_outbox_member_insert', 'email_outbox_member_select', 'email_outbox_platform_admin_all', 'email_outbox_worker_select', 'email_outbox_worker_update']);
select policy_roles_are('public', 'email_outbox', 'email_outbox_member_insert', array['vectra_member']);
select policy_cmd_is('public', 'email_outbox', 'email_outbox_member_insert', 'INSERT', 'email_outbox_member_insert is a INSERT policy');
select policy_roles_are('public', 'email_outbox', 'email_outbox_member_select', array['vectra_member']);
select policy_cmd_is('public', 'email_outbox', 'email_outbox_member_select', 'SELECT', 'email_outbox_member_select is a SELECT policy');
select policy_roles_are('public', 'email_outbox', 'email_outbox_platform_admin_all', array['vectra_platform_admin']);
select policy_cmd_is('public', 'email_outbox', 'email_outbox_platform_admin_all', 'ALL', 'email_outbox_platform_admin_all is a ALL policy');
select policy_roles_are('public', 'email_outbox', 'email_outbox_worker_select', array['vectra_worker']);
select policy_cmd_is('public', 'email_outbox', 'email_outbox_worker_select', 'SELECT', 'email_outbox_worker_select is a SELECT policy');
select policy_roles_are('public', 'email_outbox', 'email_outbox_worker_update', array['vectra_worker']);
select policy_cmd_is('public', 'email_outbox', 'email_outbox_worker_update', 'UPDATE', 'email_outbox_worker_update is a UPDATE policy');

-- audit_log
select policies_are('public', 'audit_log', array['audit_log_member_insert', 'audit_log_member_select', 'audit_log_platform_admin_insert', 'audit_log_platform_admin_select']);
select policy_roles_are('public', 'audit_log', 'audit_log_member_insert', array['vectra_member']);
select policy_cmd_is('public', 'audit_log', 'audit_log_member_insert', 'INSERT', 'audit_log_member_insert is a INSERT policy');
select policy_roles_are('public', 'audit_log', 'audit_log_member_select', array['vectra_member']);
select policy_cmd_is('public', 'audit_log', 'audit_log_member_select', 'SELECT', 'audit_log_member_select is a SELECT policy');
select policy_roles_are('public', 'audit_log', 'audit_log_platform_admin_insert', array['vectra_platform_admin']);
select policy_cmd_is('public', 'audit_log', 'audit_log_platform_admin_insert', 'INSERT', 'audit_log_platform_admin_insert is a INSERT policy');
select policy_roles_are('public', 'audit_log', 'audit_log_platform_admin_select', array['vectra_platform_admin']);
select policy_cmd_is('public', 'audit_log', 'audit_log_platform_admin_select', 'SELECT', 'audit_log_platform_admin_select is a SELECT policy');

-- campaigns
select policies_are('public', 'campaigns', array['campaigns_member_all', 'campaigns_platform_admin_all']);
select policy_roles_are('public', 'campaigns', 'campaigns_member_all', array['vectra_member']);
select policy_cmd_is('public', 'campaigns', 'campaigns_member_all', 'ALL', 'campaigns_member_all is a ALL policy');
select policy_roles_are('public', 'campaigns', 'campaigns_platform_admin_all', array['vectra_platform_admin']);
select policy_cmd_is('public', 'campaigns', 'campaigns_platform_admin_all', 'ALL', 'campaigns_platform_admin_all is a ALL policy');

-- leads
select policies_are('public', 'leads', array['leads_member_all', 'leads_platform_admin_all']);
select policy_roles_are('public', 'leads', 'leads_member_all', array['vectra_member']);
select policy_cmd_is('public', 'leads', 'leads_member_all', 'ALL', 'leads_member_all is a ALL policy');
select policy_roles_are('public', 'leads', 'leads_platform_admin_all', array['vectra_platform_admin']);
select policy_cmd_is('public', 'leads', 'leads_platform_admin_all', 'ALL', 'leads_platform_admin_all is a ALL policy');

-- meetings
select policies_are('public', 'meetings', array['meetings_member_all', 'meetings_platform_admin_all']);
select policy_roles_are('public', 'meetings', 'meetings_member_all', array['vectra_member']);
select policy_cmd_is('public', 'meetings', 'meetings_member_all', 'ALL', 'meetings_member_all is a ALL policy');
select policy_roles_are('public', 'meetings', 'meetings_platform_admin_all', array['vectra_platform_admin']);
select policy_cmd_is('public', 'meetings', 'meetings_platform_admin_all', 'ALL', 'meetings_platform_admin_all is a ALL policy');

-- sessions and one_time_tokens: RLS on and no policy at all, so no request
-- role can reach a row even if a grant were added by mistake.
select is_empty($$ select polname from pg_policy where polrelid = 'public.sessions'::regclass $$, 'sessions has no policy');
select is_empty($$ select polname from pg_policy where polrelid = 'public.one_time_tokens'::regclass $$, 'one_time_tokens has no policy');
select table_privs_are('public', 'sessions', 'vectra_member', '{}'::text[]);
select table_privs_are('public', 'sessions', 'vectra_platform_admin', '{}'::text[]);
select table_privs_are('public', 'one_time_tokens', 'vectra_member', '{}'::text[]);
select table_privs_are('public', 'one_time_tokens', 'vectra_platform_admin', '{}'::text[]);

-- RLS enabled and forced on every table of the data model.
select results_eq(
  $$ select relname::text from pg_class
      where relnamespace = 'public'::regnamespace and relkind = 'r'
        and relname <> 'refinery_schema_history' and not (relrowsecurity and relforcerowsecurity) $$,
  $$ select null::text where false $$,
  'every table has RLS enabled and forced'
);

-- Append-only audit log: no UPDATE or DELETE privilege for any request role.
select table_privs_are('public', 'audit_log', 'vectra_member', array['INSERT', 'SELECT']);
select table_privs_are('public', 'audit_log', 'vectra_platform_admin', array['INSERT', 'SELECT']);
select table_privs_are('public', 'audit_log', 'vectra_worker', '{}'::text[]);
select table_privs_are('public', 'audit_log', 'vectra_anon', '{}'::text[]);

-- The setting helpers read transaction-local settings and fail closed.
select is(app.current_org_id(), null, 'no app.org_id means NULL');
select is((select app.current_org_id() from (select set_config('app.org_id', '', true)) s), null, 'empty app.org_id means NULL');

-- Every member policy keys on the organization setting, in USING and in WITH
-- CHECK: the expression must *start* with that equality and may only narrow
-- it with AND (an added OR, or another column, fails).
select is_empty(
  $$ select policyname from pg_policies
      where 'vectra_member' = any (roles)
        and ((qual is not null
              and qual !~ '^\(\(?(organization_id|id) = app\.current_org_id\(\)\)( AND .*\))?$')
          or (with_check is not null
              and with_check !~ '^\(\(?(organization_id|id) = app\.current_org_id\(\)\)( AND .*\))?$')) $$,
  'every vectra_member policy is organization_id = app.current_org_id(), possibly narrowed with AND'
);
-- No policy applies to PUBLIC, and none to the authenticator.
select is_empty(
  $$ select policyname from pg_policies where roles && array['public', 'vectra_authenticator']::name[] $$,
  'no policy for PUBLIC or vectra_authenticator'
);

select * from finish();
rollback;
