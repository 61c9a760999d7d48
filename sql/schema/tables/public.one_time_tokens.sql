-- Table public.one_time_tokens: columns, constraints, indexes, triggers, row-level security, policies, privileges.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE TABLE public.one_time_tokens (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    purpose public.token_purpose NOT NULL,
    token_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone
);
ALTER TABLE public.one_time_tokens OWNER TO CURRENT_USER;

-- Constraints

ALTER TABLE ONLY public.one_time_tokens ADD CONSTRAINT one_time_tokens_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.one_time_tokens ADD CONSTRAINT one_time_tokens_token_hash_check CHECK ((length(token_hash) = 32));
ALTER TABLE ONLY public.one_time_tokens ADD CONSTRAINT one_time_tokens_token_hash_key UNIQUE (token_hash);
ALTER TABLE ONLY public.one_time_tokens ADD CONSTRAINT one_time_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

-- Indexes (besides those of the constraints)

CREATE INDEX one_time_tokens_user_idx ON public.one_time_tokens USING btree (user_id, purpose) WHERE (used_at IS NULL);

-- Row-level security

ALTER TABLE public.one_time_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.one_time_tokens FORCE ROW LEVEL SECURITY;

-- Privileges

-- No role but its owner holds a privilege on this table.
