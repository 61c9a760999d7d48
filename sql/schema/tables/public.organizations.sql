-- Table public.organizations: columns, constraints, indexes, triggers, row-level security, policies, privileges.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE TABLE public.organizations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    slug text NOT NULL,
    plan public.org_plan DEFAULT 'free'::public.org_plan NOT NULL,
    status public.org_status DEFAULT 'active'::public.org_status NOT NULL,
    settings jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone,
    users_count integer DEFAULT 0 NOT NULL
);
ALTER TABLE public.organizations OWNER TO CURRENT_USER;
COMMENT ON COLUMN public.organizations.users_count IS 'Users of the organization not removed, counted again by each function that changes them (auth.count_users): the console sorts by it.';

-- Constraints

ALTER TABLE ONLY public.organizations ADD CONSTRAINT organizations_deleted_status CHECK (((status = 'deleted'::public.org_status) = (deleted_at IS NOT NULL)));
ALTER TABLE ONLY public.organizations ADD CONSTRAINT organizations_id_not_platform CHECK ((id <> app.platform_org_id()));
ALTER TABLE ONLY public.organizations ADD CONSTRAINT organizations_name_check CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200)));
ALTER TABLE ONLY public.organizations ADD CONSTRAINT organizations_name_display CHECK ((app.display_name_error(name) IS NULL)) NOT VALID;
ALTER TABLE ONLY public.organizations ADD CONSTRAINT organizations_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.organizations ADD CONSTRAINT organizations_settings_check CHECK (((jsonb_typeof(settings) = 'object'::text) AND (pg_column_size(settings) <= 16384)));
ALTER TABLE ONLY public.organizations ADD CONSTRAINT organizations_slug_check CHECK (((slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'::text) AND (length(slug) <= 100)));
ALTER TABLE ONLY public.organizations ADD CONSTRAINT organizations_slug_key UNIQUE (slug);
ALTER TABLE ONLY public.organizations ADD CONSTRAINT organizations_users_count_check CHECK ((users_count >= 0));

-- Indexes (besides those of the constraints)

CREATE INDEX organizations_created_idx ON public.organizations USING btree (created_at, id);
CREATE INDEX organizations_name_idx ON public.organizations USING btree (lower(name), id);
CREATE INDEX organizations_plan_idx ON public.organizations USING btree (plan, id);
CREATE INDEX organizations_search_idx ON public.organizations USING gin (name extensions.gin_trgm_ops, slug extensions.gin_trgm_ops);
CREATE INDEX organizations_status_created_id_idx ON public.organizations USING btree (status, created_at, id);
CREATE INDEX organizations_users_count_idx ON public.organizations USING btree (users_count, id);

-- Triggers

CREATE TRIGGER organizations_name_not_the_platforms BEFORE INSERT OR UPDATE OF name ON public.organizations FOR EACH ROW EXECUTE FUNCTION app.check_organization_name();
CREATE TRIGGER organizations_touch BEFORE UPDATE OF name, slug, plan, status, settings, deleted_at ON public.organizations FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();

-- Row-level security

ALTER TABLE public.organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.organizations FORCE ROW LEVEL SECURITY;

-- Policies

CREATE POLICY organizations_definer_all ON public.organizations
    AS PERMISSIVE
    FOR ALL
    TO vectra_definer
    USING ((id = app.current_org_id()))
    WITH CHECK ((id = app.current_org_id()));
COMMENT ON POLICY organizations_definer_all ON public.organizations IS 'The rule functions (owned by vectra_definer) read and update the request''s own organization only.';

CREATE POLICY organizations_definer_platform_admin ON public.organizations
    AS PERMISSIVE
    FOR ALL
    TO vectra_definer
    USING (app.is_platform_admin())
    WITH CHECK (app.is_platform_admin());
COMMENT ON POLICY organizations_definer_platform_admin ON public.organizations IS 'The console''s write functions (owned by vectra_definer, behind auth.authorize_platform_admin) reach every organization''s organizations in a platform-admin context only.';

CREATE POLICY organizations_member_select ON public.organizations
    AS PERMISSIVE
    FOR SELECT
    TO vectra_member, vectra_tenant_reader
    USING ((id = app.current_org_id()));
COMMENT ON POLICY organizations_member_select ON public.organizations IS 'Members (and DBAs as vectra_tenant_reader) see their own organization and no other.';

CREATE POLICY organizations_platform_admin_select ON public.organizations
    AS PERMISSIVE
    FOR SELECT
    TO vectra_platform_admin
    USING (app.is_platform_admin());
COMMENT ON POLICY organizations_platform_admin_select ON public.organizations IS 'The platform admin reads every organization''s organizations, in a platform-admin context only (app.role = platform_admin and a user id): the bare role sees nothing.';

-- Privileges

GRANT SELECT, INSERT, DELETE ON TABLE public.organizations TO vectra_definer;
GRANT SELECT ON TABLE public.organizations TO vectra_member;
GRANT SELECT ON TABLE public.organizations TO vectra_platform_admin;
GRANT SELECT ON TABLE public.organizations TO vectra_tenant_reader;
GRANT UPDATE (name, plan, status, settings, deleted_at, users_count) ON TABLE public.organizations TO vectra_definer;
