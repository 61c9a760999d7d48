-- Table public.audit_log: columns, constraints, indexes, triggers, row-level security, policies, privileges.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE TABLE public.audit_log (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    actor_id uuid,
    action text NOT NULL,
    target_type text,
    target_id uuid,
    data jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE public.audit_log OWNER TO CURRENT_USER;

-- Constraints

ALTER TABLE ONLY public.audit_log ADD CONSTRAINT audit_log_action_check CHECK ((action ~ '^[a-z_]+(\.[a-z_]+)+$'::text));
ALTER TABLE ONLY public.audit_log ADD CONSTRAINT audit_log_pkey PRIMARY KEY (organization_id, id);

-- Indexes (besides those of the constraints)

CREATE INDEX audit_log_org_action_created_idx ON public.audit_log USING btree (organization_id, action, created_at, id);
CREATE INDEX audit_log_org_created_id_idx ON public.audit_log USING btree (organization_id, created_at, id);

-- Triggers

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON public.audit_log FOR EACH STATEMENT EXECUTE FUNCTION app.audit_log_is_append_only();
CREATE TRIGGER audit_log_no_update BEFORE DELETE OR UPDATE ON public.audit_log FOR EACH STATEMENT EXECUTE FUNCTION app.audit_log_is_append_only();

-- Row-level security

ALTER TABLE public.audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.audit_log FORCE ROW LEVEL SECURITY;

-- Policies

CREATE POLICY audit_log_definer_insert ON public.audit_log
    AS PERMISSIVE
    FOR INSERT
    TO vectra_definer
    WITH CHECK (((organization_id = app.current_org_id()) AND (actor_id = app.current_user_id())));
COMMENT ON POLICY audit_log_definer_insert ON public.audit_log IS 'The rule functions append audit entries for the request''s organization, in the caller''s name.';

CREATE POLICY audit_log_definer_platform_admin ON public.audit_log
    AS PERMISSIVE
    FOR INSERT
    TO vectra_definer
    WITH CHECK ((app.is_platform_admin() AND (actor_id = app.current_user_id())));
COMMENT ON POLICY audit_log_definer_platform_admin ON public.audit_log IS 'The console''s write functions append audit entries for any organization (or the platform''s, app.platform_org_id()), in the platform admin''s name.';

CREATE POLICY audit_log_member_select ON public.audit_log
    AS PERMISSIVE
    FOR SELECT
    TO vectra_member, vectra_tenant_reader
    USING (((organization_id = app.current_org_id()) AND (app.current_user_role() = ANY (ARRAY['owner'::text, 'admin'::text]))));
COMMENT ON POLICY audit_log_member_select ON public.audit_log IS 'Owners and admins (and readers with an owner or admin role setting) read their own organization''s audit log; managers and members do not.';

CREATE POLICY audit_log_platform_admin_select ON public.audit_log
    AS PERMISSIVE
    FOR SELECT
    TO vectra_platform_admin
    USING (app.is_platform_admin());
COMMENT ON POLICY audit_log_platform_admin_select ON public.audit_log IS 'The platform admin reads every organization''s audit_log, in a platform-admin context only (app.role = platform_admin and a user id): the bare role sees nothing.';

-- Privileges

GRANT INSERT ON TABLE public.audit_log TO vectra_definer;
GRANT SELECT ON TABLE public.audit_log TO vectra_member;
GRANT SELECT ON TABLE public.audit_log TO vectra_platform_admin;
GRANT SELECT ON TABLE public.audit_log TO vectra_tenant_reader;
