-- Table public.notifications: columns, constraints, indexes, triggers, row-level security, policies, privileges.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE TABLE public.notifications (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    type public.notification_type NOT NULL,
    sender_id uuid,
    subject text NOT NULL,
    body text NOT NULL,
    body_html text,
    action_url text,
    action_text text,
    recipient_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    suppressed_count integer DEFAULT 0 NOT NULL,
    idempotency_key text,
    request_hash bytea
);
ALTER TABLE public.notifications OWNER TO CURRENT_USER;

-- Constraints

ALTER TABLE ONLY public.notifications ADD CONSTRAINT notifications_action CHECK (((action_url IS NULL) = (action_text IS NULL))) NOT VALID;
ALTER TABLE ONLY public.notifications ADD CONSTRAINT notifications_action_text_check CHECK ((length(action_text) <= 100));
ALTER TABLE ONLY public.notifications ADD CONSTRAINT notifications_action_url_check CHECK ((length(action_url) <= 2048));
ALTER TABLE ONLY public.notifications ADD CONSTRAINT notifications_action_url_shape CHECK (((action_url IS NULL) OR ((char_length(action_url) <= 2048) AND (action_url ~ '^https?://([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?([/?#][^\s"''<>\\`]*)?$'::text))));
ALTER TABLE ONLY public.notifications ADD CONSTRAINT notifications_body_check CHECK (((length(body) >= 1) AND (length(body) <= 50000)));
ALTER TABLE ONLY public.notifications ADD CONSTRAINT notifications_body_html_check CHECK ((length(body_html) <= 100000));
ALTER TABLE ONLY public.notifications ADD CONSTRAINT notifications_idempotency_key_check CHECK ((idempotency_key ~ '^[!-~]{1,255}$'::text));
ALTER TABLE ONLY public.notifications ADD CONSTRAINT notifications_pkey PRIMARY KEY (organization_id, id);
ALTER TABLE ONLY public.notifications ADD CONSTRAINT notifications_recipient_count_check CHECK ((recipient_count >= 0));
ALTER TABLE ONLY public.notifications ADD CONSTRAINT notifications_sender_id_fkey FOREIGN KEY (sender_id) REFERENCES public.users(id) ON DELETE SET NULL;
ALTER TABLE ONLY public.notifications ADD CONSTRAINT notifications_subject_check CHECK (((length(subject) >= 1) AND (length(subject) <= 200)));
ALTER TABLE ONLY public.notifications ADD CONSTRAINT notifications_suppressed_count_check CHECK ((suppressed_count >= 0));

-- Indexes (besides those of the constraints)

CREATE INDEX notifications_created_id_idx ON public.notifications USING btree (created_at, id);
CREATE INDEX notifications_id_idx ON public.notifications USING btree (id);
CREATE UNIQUE INDEX notifications_idempotency_key ON public.notifications USING btree (sender_id, idempotency_key, organization_id) WHERE (idempotency_key IS NOT NULL);
CREATE INDEX notifications_org_created_id_idx ON public.notifications USING btree (organization_id, created_at, id);
CREATE INDEX notifications_org_type_created_idx ON public.notifications USING btree (organization_id, type, created_at, id);
CREATE INDEX notifications_type_created_idx ON public.notifications USING btree (type, created_at, id);

-- Row-level security

ALTER TABLE public.notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.notifications FORCE ROW LEVEL SECURITY;

-- Policies

CREATE POLICY notifications_definer_all ON public.notifications
    AS PERMISSIVE
    FOR ALL
    TO vectra_definer
    USING ((organization_id = app.current_org_id()))
    WITH CHECK ((organization_id = app.current_org_id()));
COMMENT ON POLICY notifications_definer_all ON public.notifications IS 'app.send_notification records its own organization''s notifications only.';

CREATE POLICY notifications_definer_platform_admin ON public.notifications
    AS PERMISSIVE
    FOR ALL
    TO vectra_definer
    USING (app.is_platform_admin())
    WITH CHECK (app.is_platform_admin());
COMMENT ON POLICY notifications_definer_platform_admin ON public.notifications IS 'app.admin_send_notification records platform-wide notifications, in a platform-admin context only.';

CREATE POLICY notifications_member_select ON public.notifications
    AS PERMISSIVE
    FOR SELECT
    TO vectra_member, vectra_tenant_reader
    USING (((organization_id = app.current_org_id()) AND (app.current_user_role() = ANY (ARRAY['owner'::text, 'admin'::text]))));
COMMENT ON POLICY notifications_member_select ON public.notifications IS 'Owners and admins (and readers with an owner or admin role setting) see the notifications sent by their organization, as GET /user/notifications shows them; managers and members do not. Platform-wide ones (the reserved app.platform_org_id(), which app.current_org_id() never returns) are nobody''s to list here.';

CREATE POLICY notifications_platform_admin_select ON public.notifications
    AS PERMISSIVE
    FOR SELECT
    TO vectra_platform_admin
    USING (app.is_platform_admin());
COMMENT ON POLICY notifications_platform_admin_select ON public.notifications IS 'The platform admin reads every organization''s notifications, in a platform-admin context only (app.role = platform_admin and a user id): the bare role sees nothing.';

-- Privileges

GRANT SELECT, INSERT ON TABLE public.notifications TO vectra_definer;
GRANT SELECT ON TABLE public.notifications TO vectra_member;
GRANT SELECT ON TABLE public.notifications TO vectra_platform_admin;
GRANT SELECT ON TABLE public.notifications TO vectra_tenant_reader;
GRANT UPDATE (idempotency_key) ON TABLE public.notifications TO vectra_definer;
