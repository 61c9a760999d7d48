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
    rotated_at timestamp with time zone
);
ALTER TABLE public.sessions OWNER TO CURRENT_USER;
COMMENT ON COLUMN public.sessions.token_key IS 'Random key from which each refresh token''s successor is derived (HMAC-SHA-256); NULL for sessions opened before V10 until their first refresh.';
COMMENT ON COLUMN public.sessions.rotated_at IS 'When the refresh token last rotated (start of the grace period).';

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

-- Privileges

-- No role but its owner holds a privilege on this table.
