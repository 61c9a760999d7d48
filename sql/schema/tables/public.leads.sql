-- Table public.leads: columns, constraints, indexes, triggers, row-level security, policies, privileges.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE TABLE public.leads (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    campaign_id uuid,
    email text NOT NULL,
    full_name text,
    company text,
    status public.lead_status DEFAULT 'new'::public.lead_status NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE public.leads OWNER TO CURRENT_USER;

-- Constraints

ALTER TABLE ONLY public.leads ADD CONSTRAINT leads_company_display CHECK (((company IS NULL) OR (app.display_name_error(company) IS NULL))) NOT VALID;
ALTER TABLE ONLY public.leads ADD CONSTRAINT leads_email_check CHECK (((length(email) >= 3) AND (length(email) <= 254)));
ALTER TABLE ONLY public.leads ADD CONSTRAINT leads_email_lower CHECK (((email = lower(email)) AND (strpos(email, '@'::text) > 1))) NOT VALID;
ALTER TABLE ONLY public.leads ADD CONSTRAINT leads_full_name_display CHECK (((full_name IS NULL) OR (app.display_name_error(full_name) IS NULL))) NOT VALID;
ALTER TABLE ONLY public.leads ADD CONSTRAINT leads_organization_id_campaign_id_fkey FOREIGN KEY (organization_id, campaign_id) REFERENCES public.campaigns(organization_id, id);
ALTER TABLE ONLY public.leads ADD CONSTRAINT leads_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.leads ADD CONSTRAINT leads_pkey PRIMARY KEY (organization_id, id);

-- Indexes (besides those of the constraints)

CREATE INDEX leads_org_campaign_created_idx ON public.leads USING btree (organization_id, campaign_id, created_at, id) INCLUDE (status);
CREATE INDEX leads_org_campaign_name_incl_idx ON public.leads USING btree (organization_id, campaign_id, lower(COALESCE(full_name, email)), id) INCLUDE (full_name, email);
CREATE INDEX leads_org_created_idx ON public.leads USING btree (organization_id, created_at, id);
CREATE UNIQUE INDEX leads_org_email_key ON public.leads USING btree (organization_id, lower(email));
CREATE INDEX leads_org_name_incl_idx ON public.leads USING btree (organization_id, lower(COALESCE(full_name, email)), id) INCLUDE (full_name, email);
CREATE INDEX leads_org_status_created_idx ON public.leads USING btree (organization_id, status, created_at, id);
CREATE INDEX leads_org_status_name_incl_idx ON public.leads USING btree (organization_id, status, lower(COALESCE(full_name, email)), id) INCLUDE (full_name, email);
CREATE INDEX leads_search_idx ON public.leads USING gin (organization_id, email extensions.gin_trgm_ops, full_name extensions.gin_trgm_ops, company extensions.gin_trgm_ops);

-- Triggers

CREATE TRIGGER leads_count_deleted AFTER DELETE ON public.leads REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION auth.count_campaign_leads();
CREATE TRIGGER leads_count_inserted AFTER INSERT ON public.leads REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION auth.count_campaign_leads();
CREATE TRIGGER leads_count_moved AFTER UPDATE ON public.leads REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION auth.count_campaign_leads();
CREATE TRIGGER leads_status_transition BEFORE UPDATE OF status ON public.leads FOR EACH ROW EXECUTE FUNCTION app.check_status_transition();
CREATE TRIGGER leads_touch BEFORE UPDATE ON public.leads FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();

-- Row-level security

ALTER TABLE public.leads ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.leads FORCE ROW LEVEL SECURITY;

-- Policies

CREATE POLICY leads_definer_all ON public.leads
    AS PERMISSIVE
    FOR ALL
    TO vectra_definer
    USING ((organization_id = app.current_org_id()))
    WITH CHECK ((organization_id = app.current_org_id()));
COMMENT ON POLICY leads_definer_all ON public.leads IS 'The prospecting write functions (owned by vectra_definer) create, change and delete the request''s own organization''s leads only.';

CREATE POLICY leads_definer_platform_admin ON public.leads
    AS PERMISSIVE
    FOR ALL
    TO vectra_definer
    USING (app.is_platform_admin())
    WITH CHECK (app.is_platform_admin());
COMMENT ON POLICY leads_definer_platform_admin ON public.leads IS 'The console''s write functions (owned by vectra_definer, behind auth.authorize_platform_admin) reach every organization''s leads in a platform-admin context only.';

CREATE POLICY leads_member_select ON public.leads
    AS PERMISSIVE
    FOR SELECT
    TO vectra_member, vectra_tenant_reader
    USING ((organization_id = app.current_org_id()));
COMMENT ON POLICY leads_member_select ON public.leads IS 'Every role of the organization (and readers) sees its own organization''s leads only.';

CREATE POLICY leads_platform_admin_select ON public.leads
    AS PERMISSIVE
    FOR SELECT
    TO vectra_platform_admin
    USING (app.is_platform_admin());
COMMENT ON POLICY leads_platform_admin_select ON public.leads IS 'The platform admin reads every organization''s leads, in a platform-admin context only (app.role = platform_admin and a user id): the bare role sees nothing.';

-- Privileges

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.leads TO vectra_definer;
GRANT SELECT ON TABLE public.leads TO vectra_member;
GRANT SELECT ON TABLE public.leads TO vectra_platform_admin;
GRANT SELECT ON TABLE public.leads TO vectra_tenant_reader;
