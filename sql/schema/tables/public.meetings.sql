-- Table public.meetings: columns, constraints, indexes, triggers, row-level security, policies, privileges.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE TABLE public.meetings (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    lead_id uuid NOT NULL,
    scheduled_at timestamp with time zone NOT NULL,
    status public.meeting_status DEFAULT 'scheduled'::public.meeting_status NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE public.meetings OWNER TO CURRENT_USER;

-- Constraints

ALTER TABLE ONLY public.meetings ADD CONSTRAINT meetings_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.meetings ADD CONSTRAINT meetings_organization_id_lead_id_fkey FOREIGN KEY (organization_id, lead_id) REFERENCES public.leads(organization_id, id) ON DELETE CASCADE;
ALTER TABLE ONLY public.meetings ADD CONSTRAINT meetings_pkey PRIMARY KEY (organization_id, id);

-- Indexes (besides those of the constraints)

CREATE INDEX meetings_org_created_idx ON public.meetings USING btree (organization_id, created_at, id);
CREATE INDEX meetings_org_lead_scheduled_idx ON public.meetings USING btree (organization_id, lead_id, scheduled_at, id);
CREATE INDEX meetings_org_scheduled_id_idx ON public.meetings USING btree (organization_id, scheduled_at, id);
CREATE INDEX meetings_org_status_scheduled_id_idx ON public.meetings USING btree (organization_id, status, scheduled_at, id);

-- Triggers

CREATE TRIGGER meetings_status_transition BEFORE UPDATE OF status ON public.meetings FOR EACH ROW EXECUTE FUNCTION app.check_status_transition();
CREATE TRIGGER meetings_touch BEFORE UPDATE ON public.meetings FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();

-- Row-level security

ALTER TABLE public.meetings ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.meetings FORCE ROW LEVEL SECURITY;

-- Policies

CREATE POLICY meetings_definer_all ON public.meetings
    AS PERMISSIVE
    FOR ALL
    TO vectra_definer
    USING ((organization_id = app.current_org_id()))
    WITH CHECK ((organization_id = app.current_org_id()));
COMMENT ON POLICY meetings_definer_all ON public.meetings IS 'The prospecting write functions (owned by vectra_definer) create, change and delete the request''s own organization''s meetings only.';

CREATE POLICY meetings_definer_platform_admin ON public.meetings
    AS PERMISSIVE
    FOR ALL
    TO vectra_definer
    USING (app.is_platform_admin())
    WITH CHECK (app.is_platform_admin());
COMMENT ON POLICY meetings_definer_platform_admin ON public.meetings IS 'The console''s write functions (owned by vectra_definer, behind auth.authorize_platform_admin) reach every organization''s meetings in a platform-admin context only.';

CREATE POLICY meetings_member_select ON public.meetings
    AS PERMISSIVE
    FOR SELECT
    TO vectra_member, vectra_tenant_reader
    USING ((organization_id = app.current_org_id()));
COMMENT ON POLICY meetings_member_select ON public.meetings IS 'Every role of the organization (and readers) sees its own organization''s meetings only.';

CREATE POLICY meetings_platform_admin_select ON public.meetings
    AS PERMISSIVE
    FOR SELECT
    TO vectra_platform_admin
    USING (app.is_platform_admin());
COMMENT ON POLICY meetings_platform_admin_select ON public.meetings IS 'The platform admin reads every organization''s meetings, in a platform-admin context only (app.role = platform_admin and a user id): the bare role sees nothing.';

-- Privileges

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.meetings TO vectra_definer;
GRANT SELECT ON TABLE public.meetings TO vectra_member;
GRANT SELECT ON TABLE public.meetings TO vectra_platform_admin;
GRANT SELECT ON TABLE public.meetings TO vectra_tenant_reader;
