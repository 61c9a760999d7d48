-- Table public.invitations: columns, constraints, indexes, triggers, row-level security, policies, privileges.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE TABLE public.invitations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    email text NOT NULL,
    role public.user_role NOT NULL,
    token_hash bytea NOT NULL,
    invited_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    accepted_at timestamp with time zone,
    revoked_at timestamp with time zone
);
ALTER TABLE public.invitations OWNER TO CURRENT_USER;

-- Constraints

ALTER TABLE ONLY public.invitations ADD CONSTRAINT invitations_email_check CHECK (((email = lower(email)) AND ((length(email) >= 3) AND (length(email) <= 254))));
ALTER TABLE ONLY public.invitations ADD CONSTRAINT invitations_invited_by_fkey FOREIGN KEY (invited_by) REFERENCES public.users(id) ON DELETE SET NULL;
ALTER TABLE ONLY public.invitations ADD CONSTRAINT invitations_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.invitations ADD CONSTRAINT invitations_organization_id_token_hash_key UNIQUE (organization_id, token_hash);
ALTER TABLE ONLY public.invitations ADD CONSTRAINT invitations_pkey PRIMARY KEY (organization_id, id);
ALTER TABLE ONLY public.invitations ADD CONSTRAINT invitations_role_check CHECK ((role <> 'platform_admin'::public.user_role));
ALTER TABLE ONLY public.invitations ADD CONSTRAINT invitations_single_outcome CHECK (((accepted_at IS NULL) OR (revoked_at IS NULL)));
ALTER TABLE ONLY public.invitations ADD CONSTRAINT invitations_token_hash_check CHECK ((length(token_hash) = 32));

-- Indexes (besides those of the constraints)

CREATE INDEX invitations_org_created_idx ON public.invitations USING btree (organization_id, created_at);
CREATE INDEX invitations_org_pending_idx ON public.invitations USING btree (organization_id, created_at, id) WHERE ((accepted_at IS NULL) AND (revoked_at IS NULL));
CREATE UNIQUE INDEX invitations_pending_email_key ON public.invitations USING btree (organization_id, email) WHERE ((accepted_at IS NULL) AND (revoked_at IS NULL));
CREATE INDEX invitations_token_hash_idx ON public.invitations USING btree (token_hash);

-- Row-level security

ALTER TABLE public.invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.invitations FORCE ROW LEVEL SECURITY;

-- Policies

CREATE POLICY invitations_definer_all ON public.invitations
    AS PERMISSIVE
    FOR ALL
    TO vectra_definer
    USING ((organization_id = app.current_org_id()))
    WITH CHECK ((organization_id = app.current_org_id()));
COMMENT ON POLICY invitations_definer_all ON public.invitations IS 'The rule functions create, re-issue and revoke invitations of the request''s organization only.';

CREATE POLICY invitations_definer_platform_admin ON public.invitations
    AS PERMISSIVE
    FOR ALL
    TO vectra_definer
    USING (app.is_platform_admin())
    WITH CHECK (app.is_platform_admin());
COMMENT ON POLICY invitations_definer_platform_admin ON public.invitations IS 'The console''s write functions (owned by vectra_definer, behind auth.authorize_platform_admin) reach every organization''s invitations in a platform-admin context only.';

CREATE POLICY invitations_member_select ON public.invitations
    AS PERMISSIVE
    FOR SELECT
    TO vectra_member, vectra_tenant_reader
    USING ((organization_id = app.current_org_id()));
COMMENT ON POLICY invitations_member_select ON public.invitations IS 'Members and readers see the invitations of their own organization (never token_hash, by grant).';

CREATE POLICY invitations_platform_admin_select ON public.invitations
    AS PERMISSIVE
    FOR SELECT
    TO vectra_platform_admin
    USING (app.is_platform_admin());
COMMENT ON POLICY invitations_platform_admin_select ON public.invitations IS 'The platform admin reads every organization''s invitations, in a platform-admin context only (app.role = platform_admin and a user id): the bare role sees nothing.';

-- Privileges

GRANT INSERT ON TABLE public.invitations TO vectra_definer;
GRANT SELECT (id, organization_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at) ON TABLE public.invitations TO vectra_definer;
GRANT UPDATE (token_hash, expires_at, revoked_at) ON TABLE public.invitations TO vectra_definer;
GRANT SELECT (id, organization_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at) ON TABLE public.invitations TO vectra_member;
GRANT SELECT (id, organization_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at) ON TABLE public.invitations TO vectra_platform_admin;
GRANT SELECT (id, organization_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at) ON TABLE public.invitations TO vectra_tenant_reader;
