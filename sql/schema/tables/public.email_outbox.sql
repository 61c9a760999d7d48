-- Table public.email_outbox: columns, constraints, indexes, triggers, row-level security, policies, privileges.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE TABLE public.email_outbox (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    notification_id uuid,
    to_email text NOT NULL,
    template text NOT NULL,
    context jsonb DEFAULT '{}'::jsonb NOT NULL,
    subject text,
    status public.email_status DEFAULT 'pending'::public.email_status NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    max_attempts integer DEFAULT 8 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    claimed_at timestamp with time zone,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    sent_at timestamp with time zone
);
ALTER TABLE public.email_outbox OWNER TO CURRENT_USER;

-- Constraints

ALTER TABLE ONLY public.email_outbox ADD CONSTRAINT email_outbox_attempts_check CHECK ((attempts >= 0));
ALTER TABLE ONLY public.email_outbox ADD CONSTRAINT email_outbox_context_check CHECK ((jsonb_typeof(context) = 'object'::text));
ALTER TABLE ONLY public.email_outbox ADD CONSTRAINT email_outbox_max_attempts_check CHECK ((max_attempts > 0));
ALTER TABLE ONLY public.email_outbox ADD CONSTRAINT email_outbox_notification_same_org FOREIGN KEY (organization_id, notification_id) REFERENCES public.notifications(organization_id, id) ON DELETE CASCADE;
ALTER TABLE ONLY public.email_outbox ADD CONSTRAINT email_outbox_pkey PRIMARY KEY (organization_id, id);
ALTER TABLE ONLY public.email_outbox ADD CONSTRAINT email_outbox_sent_at CHECK (((status = 'sent'::public.email_status) = (sent_at IS NOT NULL)));
ALTER TABLE ONLY public.email_outbox ADD CONSTRAINT email_outbox_template_check CHECK ((template ~ '^[a-z][a-z0-9-]*$'::text));
ALTER TABLE ONLY public.email_outbox ADD CONSTRAINT email_outbox_to_email_check CHECK (((length(to_email) >= 3) AND (length(to_email) <= 254)));

-- Indexes (besides those of the constraints)

CREATE INDEX email_outbox_due_idx ON public.email_outbox USING btree (next_attempt_at) WHERE (status = ANY (ARRAY['pending'::public.email_status, 'sending'::public.email_status]));
CREATE INDEX email_outbox_id_idx ON public.email_outbox USING btree (id);
CREATE INDEX email_outbox_invited_mailbox_idx ON public.email_outbox USING btree (app.mailbox_key(to_email), created_at) WHERE (template = 'invite-user'::text);
CREATE INDEX email_outbox_notification_email_idx ON public.email_outbox USING btree (notification_id, to_email, id);
CREATE INDEX email_outbox_org_created_idx ON public.email_outbox USING btree (organization_id, created_at);
CREATE INDEX email_outbox_recipient_idx ON public.email_outbox USING btree (to_email, created_at);

-- Row-level security

ALTER TABLE public.email_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.email_outbox FORCE ROW LEVEL SECURITY;

-- Policies

CREATE POLICY email_outbox_definer_insert ON public.email_outbox
    AS PERMISSIVE
    FOR INSERT
    TO vectra_definer
    WITH CHECK ((organization_id = app.current_org_id()));
COMMENT ON POLICY email_outbox_definer_insert ON public.email_outbox IS 'The rule functions queue emails of the request''s organization only (recipients and templates are chosen by the function, not the caller).';

CREATE POLICY email_outbox_definer_platform_admin ON public.email_outbox
    AS PERMISSIVE
    FOR INSERT
    TO vectra_definer
    WITH CHECK (app.is_platform_admin());
COMMENT ON POLICY email_outbox_definer_platform_admin ON public.email_outbox IS 'The console''s write functions queue invitation and organization-update emails of any organization.';

CREATE POLICY email_outbox_member_select ON public.email_outbox
    AS PERMISSIVE
    FOR SELECT
    TO vectra_member, vectra_tenant_reader
    USING (((organization_id = app.current_org_id()) AND ((notification_id IS NULL) OR (app.current_user_role() = ANY (ARRAY['owner'::text, 'admin'::text])))));
COMMENT ON POLICY email_outbox_member_select ON public.email_outbox IS 'Members and readers see the delivery status of their own organization''s emails (never the context, by grant); the recipients of notifications only as an owner or admin.';

CREATE POLICY email_outbox_platform_admin_select ON public.email_outbox
    AS PERMISSIVE
    FOR SELECT
    TO vectra_platform_admin
    USING (app.is_platform_admin());
COMMENT ON POLICY email_outbox_platform_admin_select ON public.email_outbox IS 'The platform admin reads every organization''s email_outbox, in a platform-admin context only (app.role = platform_admin and a user id): the bare role sees nothing.';

-- Privileges

GRANT INSERT ON TABLE public.email_outbox TO vectra_definer;
GRANT SELECT (id, organization_id, notification_id, to_email, template, subject, status, attempts, max_attempts, next_attempt_at, last_error, created_at, sent_at) ON TABLE public.email_outbox TO vectra_member;
GRANT SELECT (id, organization_id, notification_id, to_email, template, subject, status, attempts, max_attempts, next_attempt_at, last_error, created_at, sent_at) ON TABLE public.email_outbox TO vectra_platform_admin;
GRANT SELECT (id, organization_id, notification_id, to_email, template, subject, status, attempts, max_attempts, next_attempt_at, last_error, created_at, sent_at) ON TABLE public.email_outbox TO vectra_tenant_reader;
