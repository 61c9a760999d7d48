-- Table public.campaigns: columns, constraints, indexes, triggers, row-level security, policies, privileges.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE TABLE public.campaigns (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    name text NOT NULL,
    status public.campaign_status DEFAULT 'draft'::public.campaign_status NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    leads_count integer DEFAULT 0 NOT NULL
);
ALTER TABLE public.campaigns OWNER TO CURRENT_USER;
COMMENT ON COLUMN public.campaigns.leads_count IS 'Leads in the campaign, kept by the statement-level triggers on leads (auth.count_campaign_leads).';

-- Constraints

ALTER TABLE ONLY public.campaigns ADD CONSTRAINT campaigns_leads_count_check CHECK ((leads_count >= 0));
ALTER TABLE ONLY public.campaigns ADD CONSTRAINT campaigns_name_check CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200)));
ALTER TABLE ONLY public.campaigns ADD CONSTRAINT campaigns_name_display CHECK ((app.display_name_error(name) IS NULL)) NOT VALID;
ALTER TABLE ONLY public.campaigns ADD CONSTRAINT campaigns_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.campaigns ADD CONSTRAINT campaigns_pkey PRIMARY KEY (organization_id, id);

-- Indexes (besides those of the constraints)

CREATE INDEX campaigns_org_created_idx ON public.campaigns USING btree (organization_id, created_at, id);
CREATE INDEX campaigns_org_name_idx ON public.campaigns USING btree (organization_id, lower(name), id);
CREATE INDEX campaigns_org_status_created_idx ON public.campaigns USING btree (organization_id, status, created_at, id);

-- Triggers

CREATE TRIGGER campaigns_status_transition BEFORE UPDATE OF status ON public.campaigns FOR EACH ROW EXECUTE FUNCTION app.check_status_transition();
CREATE TRIGGER campaigns_touch BEFORE UPDATE OF name, status ON public.campaigns FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();

-- Row-level security

ALTER TABLE public.campaigns ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.campaigns FORCE ROW LEVEL SECURITY;

-- Policies

CREATE POLICY campaigns_definer_all ON public.campaigns
    AS PERMISSIVE
    FOR ALL
    TO vectra_definer
    USING ((organization_id = app.current_org_id()))
    WITH CHECK ((organization_id = app.current_org_id()));
COMMENT ON POLICY campaigns_definer_all ON public.campaigns IS 'The prospecting write functions (owned by vectra_definer) create, change and delete the request''s own organization''s campaigns only.';

CREATE POLICY campaigns_definer_platform_admin ON public.campaigns
    AS PERMISSIVE
    FOR ALL
    TO vectra_definer
    USING (app.is_platform_admin())
    WITH CHECK (app.is_platform_admin());
COMMENT ON POLICY campaigns_definer_platform_admin ON public.campaigns IS 'The console''s write functions (owned by vectra_definer, behind auth.authorize_platform_admin) reach every organization''s campaigns in a platform-admin context only.';

CREATE POLICY campaigns_member_select ON public.campaigns
    AS PERMISSIVE
    FOR SELECT
    TO vectra_member, vectra_tenant_reader
    USING ((organization_id = app.current_org_id()));
COMMENT ON POLICY campaigns_member_select ON public.campaigns IS 'Every role of the organization (and readers) sees its own organization''s campaigns only.';

CREATE POLICY campaigns_platform_admin_select ON public.campaigns
    AS PERMISSIVE
    FOR SELECT
    TO vectra_platform_admin
    USING (app.is_platform_admin());
COMMENT ON POLICY campaigns_platform_admin_select ON public.campaigns IS 'The platform admin reads every organization''s campaigns, in a platform-admin context only (app.role = platform_admin and a user id): the bare role sees nothing.';

-- Privileges

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.campaigns TO vectra_definer;
GRANT SELECT ON TABLE public.campaigns TO vectra_member;
GRANT SELECT ON TABLE public.campaigns TO vectra_platform_admin;
GRANT SELECT ON TABLE public.campaigns TO vectra_tenant_reader;
