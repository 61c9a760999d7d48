-- Table public.sessions: columns, constraints, indexes, triggers, row-level security, policies, privileges.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE TABLE public.sessions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    token_hash bytea NOT NULL,
    rotated_hashes bytea[] DEFAULT '{}'::bytea[] NOT NULL,
    user_agent text,
    ip inet,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_used_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    revoked_reason text,
    token_key bytea,
    rotated_at timestamp with time zone,
    user_organization_id uuid
);
ALTER TABLE public.sessions OWNER TO CURRENT_USER;
COMMENT ON COLUMN public.sessions.token_key IS 'Random key from which each refresh token''s successor is derived (HMAC-SHA-256); NULL for sessions opened before V10 until their first refresh.';
COMMENT ON COLUMN public.sessions.rotated_at IS 'When the refresh token last rotated (start of the grace period).';
COMMENT ON COLUMN public.sessions.user_organization_id IS 'The organization of the session''s user (NULL for the platform admin), set when the session opens: what the definer''s policies on sessions name.';

-- Constraints

ALTER TABLE ONLY public.sessions ADD CONSTRAINT sessions_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.sessions ADD CONSTRAINT sessions_token_hash_check CHECK ((length(token_hash) = 32));
ALTER TABLE ONLY public.sessions ADD CONSTRAINT sessions_token_hash_key UNIQUE (token_hash);
ALTER TABLE ONLY public.sessions ADD CONSTRAINT sessions_token_key_check CHECK ((length(token_key) = 32));
ALTER TABLE ONLY public.sessions ADD CONSTRAINT sessions_user_agent_check CHECK ((length(user_agent) <= 512));
ALTER TABLE ONLY public.sessions ADD CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

-- Indexes (besides those of the constraints)

CREATE INDEX sessions_rotated_hashes_idx ON public.sessions USING gin (rotated_hashes);
CREATE INDEX sessions_user_idx ON public.sessions USING btree (user_id) WHERE (revoked_at IS NULL);
CREATE INDEX sessions_user_used_idx ON public.sessions USING btree (user_id, last_used_at, id) WHERE (revoked_at IS NULL);

-- Row-level security

ALTER TABLE public.sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.sessions FORCE ROW LEVEL SECURITY;

-- Policies

CREATE POLICY sessions_definer_platform_admin ON public.sessions
    AS PERMISSIVE
    FOR ALL
    TO vectra_definer
    USING (app.is_platform_admin())
    WITH CHECK (app.is_platform_admin());
COMMENT ON POLICY sessions_definer_platform_admin ON public.sessions IS 'The console''s write functions (owned by vectra_definer, behind auth.authorize_platform_admin) revoke any user''s sessions in a platform-admin context only (auth.admin_revoke_sessions); the grant allows reading and revoking, nothing else.';

CREATE POLICY sessions_definer_revoke ON public.sessions
    AS PERMISSIVE
    FOR UPDATE
    TO vectra_definer
    USING ((user_organization_id = app.current_org_id()))
    WITH CHECK ((user_organization_id = app.current_org_id()));
COMMENT ON POLICY sessions_definer_revoke ON public.sessions IS 'The rule functions revoke the sessions of the request''s organization''s users (auth.revoke_member_sessions); its grant is the two revocation columns.';

CREATE POLICY sessions_definer_select ON public.sessions
    AS PERMISSIVE
    FOR SELECT
    TO vectra_definer
    USING ((user_organization_id = app.current_org_id()));
COMMENT ON POLICY sessions_definer_select ON public.sessions IS 'The rule functions see the sessions of the request''s organization''s users, to revoke them.';

-- Privileges

GRANT SELECT (id, user_id, revoked_at, user_organization_id) ON TABLE public.sessions TO vectra_definer;
GRANT UPDATE (revoked_at, revoked_reason) ON TABLE public.sessions TO vectra_definer;
