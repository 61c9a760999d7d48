-- Structure of the row-level security model, asserted in pgTAP.
-- Every policy of every table: its name, the roles it applies to and its command.
-- A policy added, dropped, or given to another role or command fails here;
-- the expression checks at the end catch a tenant policy that stops keying on
-- app.current_org_id(), and a platform-admin policy that stops requiring a
-- platform-admin context.

begin;
select plan(119);

-- organizations
select policies_are('public', 'organizations', array['organizations_definer_all', 'organizations_definer_platform_admin', 'organizations_member_select', 'organizations_platform_admin_select']);
select policy_roles_are('public', 'organizations', 'organizations_definer_platform_admin', array['vectra_definer']);
select policy_cmd_is('public', 'organizations', 'organizations_definer_platform_admin', 'ALL', 'organizations_definer_platform_admin is an ALL policy');
select policy_roles_are('public', 'organizations', 'organizations_member_select', array['vectra_member', 'vectra_tenant_reader']);
select policy_cmd_is('public', 'organizations', 'organizations_member_select', 'SELECT', 'organizations_member_select is a SELECT policy');
select policy_roles_are('public', 'organizations', 'organizations_platform_admin_select', array['vectra_platform_admin']);
select policy_cmd_is('public', 'organizations', 'organizations_platform_admin_select', 'SELECT', 'organizations_platform_admin_select is a SELECT policy');
select policy_roles_are('public', 'organizations', 'organizations_definer_all', array['vectra_definer']);
select policy_cmd_is('public', 'organizations', 'organizations_definer_all', 'ALL', 'organizations_definer_all is an ALL policy');

-- users
select policies_are('public', 'users', array['users_definer_all', 'users_definer_platform_admin', 'users_member_select', 'users_platform_admin_select']);
select policy_roles_are('public', 'users', 'users_definer_platform_admin', array['vectra_definer']);
select policy_cmd_is('public', 'users', 'users_definer_platform_admin', 'ALL', 'users_definer_platform_admin is an ALL policy');
select policy_roles_are('public', 'users', 'users_member_select', array['vectra_member', 'vectra_tenant_reader']);
select policy_cmd_is('public', 'users', 'users_member_select', 'SELECT', 'users_member_select is a SELECT policy');
select policy_roles_are('public', 'users', 'users_platform_admin_select', array['vectra_platform_admin']);
select policy_cmd_is('public', 'users', 'users_platform_admin_select', 'SELECT', 'users_platform_admin_select is a SELECT policy');
select policy_roles_are('public', 'users', 'users_definer_all', array['vectra_definer']);
select policy_cmd_is('public', 'users', 'users_definer_all', 'ALL', 'users_definer_all is an ALL policy');

-- invitations
select policies_are('public', 'invitations', array['invitations_definer_all', 'invitations_definer_platform_admin', 'invitations_member_select', 'invitations_platform_admin_select']);
select policy_roles_are('public', 'invitations', 'invitations_definer_platform_admin', array['vectra_definer']);
select policy_cmd_is('public', 'invitations', 'invitations_definer_platform_admin', 'ALL', 'invitations_definer_platform_admin is an ALL policy');
select policy_roles_are('public', 'invitations', 'invitations_member_select', array['vectra_member', 'vectra_tenant_reader']);
select policy_cmd_is('public', 'invitations', 'invitations_member_select', 'SELECT', 'invitations_member_select is a SELECT policy');
select policy_roles_are('public', 'invitations', 'invitations_platform_admin_select', array['vectra_platform_admin']);
select policy_cmd_is('public', 'invitations', 'invitations_platform_admin_select', 'SELECT', 'invitations_platform_admin_select is a SELECT policy');
select policy_roles_are('public', 'invitations', 'invitations_definer_all', array['vectra_definer']);
select policy_cmd_is('public', 'invitations', 'invitations_definer_all', 'ALL', 'invitations_definer_all is an ALL policy');

-- notifications
select policies_are('public', 'notifications', array['notifications_definer_all', 'notifications_definer_platform_admin', 'notifications_member_select', 'notifications_platform_admin_select']);
select policy_roles_are('public', 'notifications', 'notifications_definer_all', array['vectra_definer']);
select policy_cmd_is('public', 'notifications', 'notifications_definer_all', 'ALL', 'notifications_definer_all is an ALL policy');
select policy_roles_are('public', 'notifications', 'notifications_definer_platform_admin', array['vectra_definer']);
select policy_cmd_is('public', 'notifications', 'notifications_definer_platform_admin', 'ALL', 'notifications_definer_platform_admin is an ALL policy');
select policy_roles_are('public', 'notifications', 'notifications_member_select', array['vectra_member', 'vectra_tenant_reader']);
select policy_cmd_is('public', 'notifications', 'notifications_member_select', 'SELECT', 'notifications_member_select is a SELECT policy');
select policy_roles_are('public', 'notifications', 'notifications_platform_admin_select', array['vectra_platform_admin']);
select policy_cmd_is('public', 'notifications', 'notifications_platform_admin_select', 'SELECT', 'notifications_platform_admin_select is a SELECT policy');

-- email_outbox
select policies_are('public', 'email_outbox', array['email_outbox_definer_insert', 'email_outbox_definer_platform_admin', 'email_outbox_member_select', 'email_outbox_platform_admin_select']);
select policy_roles_are('public', 'email_outbox', 'email_outbox_definer_platform_admin', array['vectra_definer']);
select policy_cmd_is('public', 'email_outbox', 'email_outbox_definer_platform_admin', 'INSERT', 'email_outbox_definer_platform_admin is an INSERT policy');
select policy_roles_are('public', 'email_outbox', 'email_outbox_member_select', array['vectra_member', 'vectra_tenant_reader']);
select policy_cmd_is('public', 'email_outbox', 'email_outbox_member_select', 'SELECT', 'email_outbox_member_select is a SELECT policy');
select policy_roles_are('public', 'email_outbox', 'email_outbox_platform_admin_select', array['vectra_platform_admin']);
select policy_cmd_is('public', 'email_outbox', 'email_outbox_platform_admin_select', 'SELECT', 'email_outbox_platform_admin_select is a SELECT policy');
select policy_roles_are('public', 'email_outbox', 'email_outbox_definer_insert', array['vectra_definer']);
select policy_cmd_is('public', 'email_outbox', 'email_outbox_definer_insert', 'INSERT', 'email_outbox_definer_insert is an INSERT policy');

-- audit_log
select policies_are('public', 'audit_log', array['audit_log_definer_insert', 'audit_log_definer_platform_admin', 'audit_log_member_select', 'audit_log_platform_admin_select']);
select policy_roles_are('public', 'audit_log', 'audit_log_definer_platform_admin', array['vectra_definer']);
select policy_cmd_is('public', 'audit_log', 'audit_log_definer_platform_admin', 'INSERT', 'audit_log_definer_platform_admin is an INSERT policy');
select policy_roles_are('public', 'audit_log', 'audit_log_member_select', array['vectra_member', 'vectra_tenant_reader']);
select policy_cmd_is('public', 'audit_log', 'audit_log_member_select', 'SELECT', 'audit_log_member_select is a SELECT policy');
select policy_roles_are('public', 'audit_log', 'audit_log_platform_admin_select', array['vectra_platform_admin']);
select policy_cmd_is('public', 'audit_log', 'audit_log_platform_admin_select', 'SELECT', 'audit_log_platform_admin_select is a SELECT policy');
select policy_roles_are('public', 'audit_log', 'audit_log_definer_insert', array['vectra_definer']);
select policy_cmd_is('public', 'audit_log', 'audit_log_definer_insert', 'INSERT', 'audit_log_definer_insert is an INSERT policy');

-- campaigns
select policies_are('public', 'campaigns', array['campaigns_definer_all', 'campaigns_definer_platform_admin', 'campaigns_member_select', 'campaigns_platform_admin_select']);
select policy_roles_are('public', 'campaigns', 'campaigns_definer_platform_admin', array['vectra_definer']);
select policy_cmd_is('public', 'campaigns', 'campaigns_definer_platform_admin', 'ALL', 'campaigns_definer_platform_admin is an ALL policy');
select policy_roles_are('public', 'campaigns', 'campaigns_member_select', array['vectra_member', 'vectra_tenant_reader']);
select policy_cmd_is('public', 'campaigns', 'campaigns_member_select', 'SELECT', 'campaigns_member_select is a SELECT policy');
select policy_roles_are('public', 'campaigns', 'campaigns_platform_admin_select', array['vectra_platform_admin']);
select policy_cmd_is('public', 'campaigns', 'campaigns_platform_admin_select', 'SELECT', 'campaigns_platform_admin_select is a SELECT policy');
select policy_roles_are('public', 'campaigns', 'campaigns_definer_all', array['vectra_definer']);
select policy_cmd_is('public', 'campaigns', 'campaigns_definer_all', 'ALL', 'campaigns_definer_all is an ALL policy');

-- leads
select policies_are('public', 'leads', array['leads_definer_all', 'leads_definer_platform_admin', 'leads_member_select', 'leads_platform_admin_select']);
select policy_roles_are('public', 'leads', 'leads_definer_platform_admin', array['vectra_definer']);
select policy_cmd_is('public', 'leads', 'leads_definer_platform_admin', 'ALL', 'leads_definer_platform_admin is an ALL policy');
select policy_roles_are('public', 'leads', 'leads_member_select', array['vectra_member', 'vectra_tenant_reader']);
select policy_cmd_is('public', 'leads', 'leads_member_select', 'SELECT', 'leads_member_select is a SELECT policy');
select policy_roles_are('public', 'leads', 'leads_platform_admin_select', array['vectra_platform_admin']);
select policy_cmd_is('public', 'leads', 'leads_platform_admin_select', 'SELECT', 'leads_platform_admin_select is a SELECT policy');
select policy_roles_are('public', 'leads', 'leads_definer_all', array['vectra_definer']);
select policy_cmd_is('public', 'leads', 'leads_definer_all', 'ALL', 'leads_definer_all is an ALL policy');

-- meetings
select policies_are('public', 'meetings', array['meetings_definer_all', 'meetings_definer_platform_admin', 'meetings_member_select', 'meetings_platform_admin_select']);
select policy_roles_are('public', 'meetings', 'meetings_definer_platform_admin', array['vectra_definer']);
select policy_cmd_is('public', 'meetings', 'meetings_definer_platform_admin', 'ALL', 'meetings_definer_platform_admin is an ALL policy');
select policy_roles_are('public', 'meetings', 'meetings_member_select', array['vectra_member', 'vectra_tenant_reader']);
select policy_cmd_is('public', 'meetings', 'meetings_member_select', 'SELECT', 'meetings_member_select is a SELECT policy');
select policy_roles_are('public', 'meetings', 'meetings_platform_admin_select', array['vectra_platform_admin']);
select policy_cmd_is('public', 'meetings', 'meetings_platform_admin_select', 'SELECT', 'meetings_platform_admin_select is a SELECT policy');
select policy_roles_are('public', 'meetings', 'meetings_definer_all', array['vectra_definer']);
select policy_cmd_is('public', 'meetings', 'meetings_definer_all', 'ALL', 'meetings_definer_all is an ALL policy');

-- lead_suppressions
select policies_are('public', 'lead_suppressions', array['lead_suppressions_definer_select', 'lead_suppressions_member_select', 'lead_suppressions_platform_admin_select']);
select policy_roles_are('public', 'lead_suppressions', 'lead_suppressions_member_select', array['vectra_member', 'vectra_tenant_reader']);
select policy_cmd_is('public', 'lead_suppressions', 'lead_suppressions_member_select', 'SELECT', 'lead_suppressions_member_select is a SELECT policy');
select policy_roles_are('public', 'lead_suppressions', 'lead_suppressions_platform_admin_select', array['vectra_platform_admin']);
select policy_cmd_is('public', 'lead_suppressions', 'lead_suppressions_platform_admin_select', 'SELECT', 'lead_suppressions_platform_admin_select is a SELECT policy');
select policy_roles_are('public', 'lead_suppressions', 'lead_suppressions_definer_select', array['vectra_definer']);
select policy_cmd_is('public', 'lead_suppressions', 'lead_suppressions_definer_select', 'SELECT', 'lead_suppressions_definer_select is a SELECT policy');
select table_privs_are('public', 'lead_suppressions', 'vectra_definer', array['SELECT']);

-- sessions and one_time_tokens: RLS on and no policy for any request role, so
-- none can reach a row even if a grant were added by mistake. sessions has
-- two for vectra_definer alone: the rule functions revoke the sessions of
-- the request's organization's members (any in a platform-admin context).
select set_eq($$ select polname::text || ' ' || polcmd::text || ' ' || array_to_string(polroles::regrole[], ',')
                   from pg_policy where polrelid = 'public.sessions'::regclass $$,
              array['sessions_definer_select r vectra_definer', 'sessions_definer_revoke w vectra_definer',
                    'sessions_definer_platform_admin * vectra_definer'],
              'sessions has no policy but the definer''s to revoke a member''s sessions');
select is_empty($$ select polname from pg_policy where polrelid = 'public.one_time_tokens'::regclass $$, 'one_time_tokens has no policy');
select is_empty($$ select polname from pg_policy where polrelid = 'auth.settings'::regclass $$, 'auth.settings has no policy');
select table_privs_are('public', 'sessions', 'vectra_member', '{}'::text[]);
select table_privs_are('public', 'sessions', 'vectra_platform_admin', '{}'::text[]);
select table_privs_are('public', 'sessions', 'vectra_tenant_reader', '{}'::text[]);
select table_privs_are('public', 'one_time_tokens', 'vectra_member', '{}'::text[]);
select table_privs_are('public', 'one_time_tokens', 'vectra_platform_admin', '{}'::text[]);
select table_privs_are('public', 'one_time_tokens', 'vectra_tenant_reader', '{}'::text[]);

-- RLS enabled and forced on every table of the data model.
select results_eq(
  $$ select c.oid::regclass::text from pg_class c
      where c.relnamespace in ('public'::regnamespace, 'app'::regnamespace, 'auth'::regnamespace) and c.relkind = 'r'
        and c.relname <> 'refinery_schema_history' and not (c.relrowsecurity and c.relforcerowsecurity) $$,
  $$ select null::text where false $$,
  'every table has RLS enabled and forced'
);

-- Append-only audit log, written only by definer functions: no request role
-- may insert, update or delete.
select table_privs_are('public', 'audit_log', 'vectra_member', array['SELECT']);
select table_privs_are('public', 'audit_log', 'vectra_platform_admin', array['SELECT']);
select table_privs_are('public', 'audit_log', 'vectra_tenant_reader', array['SELECT']);
select table_privs_are('public', 'audit_log', 'vectra_worker', '{}'::text[]);
select table_privs_are('public', 'audit_log', 'vectra_anon', '{}'::text[]);
select table_privs_are('public', 'audit_log', 'vectra_definer', array['INSERT']);
-- The outbox likewise; the worker reaches it through functions only.
select table_privs_are('public', 'email_outbox', 'vectra_worker', '{}'::text[]);
select table_privs_are('public', 'email_outbox', 'vectra_definer', array['INSERT']);
select is_empty(
  $$ select grantee || ' ' || privilege_type || ' ' || table_name from information_schema.role_table_grants
      where table_schema in ('public', 'app', 'auth')
        and grantee in ('vectra_anon', 'vectra_member', 'vectra_platform_admin', 'vectra_worker', 'vectra_tenant_reader')
        and privilege_type in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE') $$,
  'no request role (nor the reader) holds a direct write on any table'
);
select is_empty(
  $$ select grantee || ' ' || privilege_type || ' ' || table_name || '.' || column_name
       from information_schema.column_privileges
      where table_schema in ('public', 'app', 'auth')
        and grantee in ('vectra_anon', 'vectra_member', 'vectra_platform_admin', 'vectra_worker', 'vectra_tenant_reader')
        and privilege_type in ('INSERT', 'UPDATE') $$,
  'nor a column-level write'
);
select is_empty(
  $$ select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('app', 'auth') and p.proconfig is not null
        and not (p.proconfig @> array['search_path=pg_catalog, pg_temp']) $$,
  'every function of app and auth that pins a search_path pins pg_catalog, pg_temp (pg_temp last)'
);
select is_empty(
  $$ select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('app', 'auth') and p.prosecdef
        and not coalesce(p.proconfig @> array['search_path=pg_catalog, pg_temp'], false) $$,
  'every SECURITY DEFINER function pins it'
);
select is_empty(
  $$ select grantee || ' ' || privilege_type || ' ' || table_name from information_schema.role_table_grants
      where table_schema = 'public' and grantee = 'vectra_tenant_reader' and privilege_type <> 'SELECT' $$,
  'the DBA reader only reads'
);

-- The setting helpers read transaction-local settings and fail closed.
select is(app.current_org_id(), null, 'no app.org_id means NULL');
select is((select app.current_org_id() from (select set_config('app.org_id', '', true)) s), null, 'empty app.org_id means NULL');
select is(app.is_platform_admin(), false, 'no settings is no platform-admin context');

-- Every tenant policy (members, readers, the rule functions) keys on the
-- organization setting, in USING and in WITH CHECK: the expression must
-- *start* with that equality and may only narrow it with AND (an added OR,
-- or another column, fails).
select is_empty(
  $$ select policyname from pg_policies
      where roles && array['vectra_member', 'vectra_tenant_reader', 'vectra_definer']::name[]
        and policyname !~ '_definer_platform_admin$'
        and ((qual is not null
              and qual !~ '^\(\(?(organization_id|id|user_organization_id) = app\.current_org_id\(\)\)( AND .*\))?$')
          or (with_check is not null
              and with_check !~ '^\(\(?(organization_id|id|user_organization_id) = app\.current_org_id\(\)\)( AND .*\))?$')) $$,
  'every tenant policy is organization_id = app.current_org_id(), possibly narrowed with AND'
);
-- Every platform-admin policy requires the platform-admin context, and only
-- reads. The test is a plain call (no subquery: Citus refuses them in
-- policies), inlined by the planner.
select is_empty(
  $$ select policyname from pg_policies
      where 'vectra_platform_admin' = any (roles)
        and (qual is distinct from 'app.is_platform_admin()'
             or with_check is not null or cmd <> 'SELECT') $$,
  'every vectra_platform_admin policy is a SELECT using app.is_platform_admin() alone'
);
-- The console's write functions (vectra_definer) reach every organization
-- only in a platform-admin context: the policy must start with that test.
select is_empty(
  $$ select policyname from pg_policies
      where policyname ~ '_definer_platform_admin$'
        and (roles <> array['vectra_definer']::name[]
          or (qual is not null and qual !~ '^\(?app\.is_platform_admin\(\)( AND .*)?\)?$')
          or (with_check is not null and with_check !~ '^\(?app\.is_platform_admin\(\)( AND .*)?\)?$')
          or coalesce(qual, with_check) is null) $$,
  'every vectra_definer platform-admin policy requires app.is_platform_admin(), possibly narrowed with AND'
);
-- No policy applies to PUBLIC, the authenticator or the worker.
select is_empty(
  $$ select policyname from pg_policies where roles && array['public', 'vectra_authenticator', 'vectra_worker']::name[] $$,
  'no policy for PUBLIC, vectra_authenticator or vectra_worker'
);

select * from finish();
rollback;
