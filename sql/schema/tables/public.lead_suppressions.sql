-- Table public.lead_suppressions: columns, constraints, indexes, triggers, row-level security, policies, privileges.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE TABLE public.lead_suppressions (
    organization_id uuid NOT NULL,
    email text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE public.lead_suppressions OWNER TO CURRENT_USER;
COMMENT ON TABLE public.lead_suppressions IS 'Addresses that unsubscribed from an organization''s org_to_prospects mail (one-click link); its later sends skip them.';

-- Constraints

ALTER TABLE ONLY public.lead_suppressions ADD CONSTRAINT lead_suppressions_email_check CHECK (((email = lower(email)) AND ((length(email) >= 3) AND (length(email) <= 254))));
ALTER TABLE ONLY public.lead_suppressions ADD CONSTRAINT lead_suppressions_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.lead_suppressions ADD CONSTRAINT lead_suppressions_pkey PRIMARY KEY (organization_id, email);

-- Indexes (besides those of the constraints)

CREATE INDEX lead_suppressions_mailbox_idx ON public.lead_suppressions USING btree (organization_id, app.mailbox_key(email));

-- Row-level security

ALTER TABLE public.lead_suppressions ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.lead_suppressions FORCE ROW LEVEL SECURITY;

-- Policies

CREATE POLICY lead_suppressions_definer_select ON public.lead_suppressions
    AS PERMISSIVE
    FOR SELECT
    TO vectra_definer
    USING ((organization_id = app.current_org_id()));
COMMENT ON POLICY lead_suppressions_definer_select ON public.lead_suppressions IS 'app.send_notification reads its own organization''s suppressions (writes are auth.unsubscribe''s, the owner''s).';

CREATE POLICY lead_suppressions_member_select ON public.lead_suppressions
    AS PERMISSIVE
    FOR SELECT
    TO vectra_member, vectra_tenant_reader
    USING (((organization_id = app.current_org_id()) AND (app.current_user_role() = ANY (ARRAY['owner'::text, 'admin'::text]))));
COMMENT ON POLICY lead_suppressions_member_select ON public.lead_suppressions IS 'Owners and admins (and readers with an owner or admin role setting) see which prospects unsubscribed from their organization''s mail.';

CREATE POLICY lead_suppressions_platform_admin_select ON public.lead_suppressions
    AS PERMISSIVE
    FOR SELECT
    TO vectra_platform_admin
    USING (app.is_platform_admin());
COMMENT ON POLICY lead_suppressions_platform_admin_select ON public.lead_suppressions IS 'The platform admin reads every organization''s suppressions, in a platform-admin context only.';

-- Privileges

GRANT SELECT ON TABLE public.lead_suppressions TO vectra_definer;
GRANT SELECT ON TABLE public.lead_suppressions TO vectra_member;
GRANT SELECT ON TABLE public.lead_suppressions TO vectra_platform_admin;
GRANT SELECT ON TABLE public.lead_suppressions TO vectra_tenant_reader;
