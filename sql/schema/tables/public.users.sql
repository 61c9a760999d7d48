-- Table public.users: columns, constraints, indexes, triggers, row-level security, policies, privileges.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE TABLE public.users (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid,
    email text NOT NULL,
    password_hash text NOT NULL,
    full_name text NOT NULL,
    role public.user_role NOT NULL,
    status public.user_status DEFAULT 'active'::public.user_status NOT NULL,
    email_verified_at timestamp with time zone,
    last_login_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone,
    announcements_opt_out_at timestamp with time zone
);
ALTER TABLE public.users OWNER TO CURRENT_USER;
COMMENT ON COLUMN public.users.announcements_opt_out_at IS 'When the user unsubscribed from the platform''s announcements (vectra_to_users); NULL: subscribed.';

-- Constraints

ALTER TABLE ONLY public.users ADD CONSTRAINT users_email_check CHECK (((email = lower(email)) AND ((length(email) >= 3) AND (length(email) <= 254)) AND (POSITION(('@'::text) IN (email)) > 1)));
ALTER TABLE ONLY public.users ADD CONSTRAINT users_full_name_check CHECK (((length(btrim(full_name)) >= 1) AND (length(btrim(full_name)) <= 200)));
ALTER TABLE ONLY public.users ADD CONSTRAINT users_full_name_display CHECK ((app.display_name_error(full_name) IS NULL)) NOT VALID;
ALTER TABLE ONLY public.users ADD CONSTRAINT users_org_id_key UNIQUE (organization_id, id);
ALTER TABLE ONLY public.users ADD CONSTRAINT users_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.users ADD CONSTRAINT users_platform_admin_has_no_org CHECK (((role = 'platform_admin'::public.user_role) = (organization_id IS NULL)));
ALTER TABLE ONLY public.users ADD CONSTRAINT users_removed_deleted_at CHECK (((status = 'removed'::public.user_status) = (deleted_at IS NOT NULL)));

-- Indexes (besides those of the constraints)

CREATE INDEX users_created_idx ON public.users USING btree (created_at, id);
CREATE UNIQUE INDEX users_email_key ON public.users USING btree (lower(email));
CREATE INDEX users_last_login_idx ON public.users USING btree (COALESCE(last_login_at, '-infinity'::timestamp with time zone), id);
CREATE INDEX users_name_idx ON public.users USING btree (lower(full_name), id);
CREATE INDEX users_org_created_idx ON public.users USING btree (organization_id, created_at, id);
CREATE INDEX users_platform_admin_idx ON public.users USING btree (id) WHERE (organization_id IS NULL);
CREATE INDEX users_search_idx ON public.users USING gin (full_name extensions.gin_trgm_ops, email extensions.gin_trgm_ops);
CREATE INDEX users_unverified_idx ON public.users USING btree (created_at) WHERE (email_verified_at IS NULL);

-- Triggers

CREATE TRIGGER users_name_not_the_platforms BEFORE INSERT OR UPDATE OF full_name ON public.users FOR EACH ROW EXECUTE FUNCTION app.check_user_name();
CREATE TRIGGER users_touch BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();

-- Row-level security

ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.users FORCE ROW LEVEL SECURITY;

-- Policies

CREATE POLICY users_definer_all ON public.users
    AS PERMISSIVE
    FOR ALL
    TO vectra_definer
    USING ((organization_id = app.current_org_id()))
    WITH CHECK ((organization_id = app.current_org_id()));
COMMENT ON POLICY users_definer_all ON public.users IS 'The rule functions change roles and statuses of the request''s organization''s users only.';

CREATE POLICY users_definer_platform_admin ON public.users
    AS PERMISSIVE
    FOR ALL
    TO vectra_definer
    USING (app.is_platform_admin())
    WITH CHECK (app.is_platform_admin());
COMMENT ON POLICY users_definer_platform_admin ON public.users IS 'The console''s write functions (owned by vectra_definer, behind auth.authorize_platform_admin) reach every organization''s users in a platform-admin context only.';

CREATE POLICY users_member_select ON public.users
    AS PERMISSIVE
    FOR SELECT
    TO vectra_member, vectra_tenant_reader
    USING ((organization_id = app.current_org_id()));
COMMENT ON POLICY users_member_select ON public.users IS 'Members and readers see the users of their own organization; the platform admin row (NULL organization) matches no organization.';

CREATE POLICY users_platform_admin_select ON public.users
    AS PERMISSIVE
    FOR SELECT
    TO vectra_platform_admin
    USING (app.is_platform_admin());
COMMENT ON POLICY users_platform_admin_select ON public.users IS 'The platform admin reads every organization''s users, in a platform-admin context only (app.role = platform_admin and a user id): the bare role sees nothing.';

-- Privileges

GRANT SELECT (id, organization_id, email, full_name, role, status, email_verified_at, last_login_at, created_at, updated_at, deleted_at, announcements_opt_out_at) ON TABLE public.users TO vectra_definer;
GRANT UPDATE (full_name, role, status, deleted_at) ON TABLE public.users TO vectra_definer;
GRANT SELECT (id, organization_id, email, full_name, role, status, email_verified_at, last_login_at, created_at, updated_at, deleted_at) ON TABLE public.users TO vectra_member;
GRANT SELECT (id, organization_id, email, full_name, role, status, email_verified_at, last_login_at, created_at, updated_at, deleted_at) ON TABLE public.users TO vectra_platform_admin;
GRANT SELECT (id, organization_id, email, full_name, role, status, email_verified_at, last_login_at, created_at, updated_at, deleted_at) ON TABLE public.users TO vectra_tenant_reader;
