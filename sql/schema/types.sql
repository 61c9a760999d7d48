-- Extensions and types.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

-- Extensions

CREATE EXTENSION IF NOT EXISTS btree_gin WITH SCHEMA extensions;
-- Its 87 functions: EXECUTE for its owner only.

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA extensions;
-- Its 31 functions: EXECUTE for its owner only.

CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
-- Its 36 functions: EXECUTE for PUBLIC.

-- Enums

CREATE TYPE public.campaign_status AS ENUM (
    'draft',
    'active',
    'paused',
    'completed'
);
ALTER TYPE public.campaign_status OWNER TO CURRENT_USER;

CREATE TYPE public.email_status AS ENUM (
    'pending',
    'sending',
    'sent',
    'failed',
    'cancelled'
);
ALTER TYPE public.email_status OWNER TO CURRENT_USER;

CREATE TYPE public.lead_status AS ENUM (
    'new',
    'contacted',
    'replied',
    'qualified',
    'converted',
    'lost'
);
ALTER TYPE public.lead_status OWNER TO CURRENT_USER;

CREATE TYPE public.meeting_status AS ENUM (
    'scheduled',
    'completed',
    'cancelled'
);
ALTER TYPE public.meeting_status OWNER TO CURRENT_USER;

CREATE TYPE public.notification_type AS ENUM (
    'org_to_prospects',
    'org_owner_to_members',
    'vectra_to_users',
    'vectra_to_org_owner',
    'system_alerts'
);
ALTER TYPE public.notification_type OWNER TO CURRENT_USER;

CREATE TYPE public.org_plan AS ENUM (
    'free',
    'starter',
    'pro',
    'enterprise'
);
ALTER TYPE public.org_plan OWNER TO CURRENT_USER;

CREATE TYPE public.org_status AS ENUM (
    'active',
    'suspended',
    'deleted'
);
ALTER TYPE public.org_status OWNER TO CURRENT_USER;

CREATE TYPE public.token_purpose AS ENUM (
    'verify_email',
    'reset_password'
);
ALTER TYPE public.token_purpose OWNER TO CURRENT_USER;

CREATE TYPE public.user_role AS ENUM (
    'platform_admin',
    'owner',
    'admin',
    'manager',
    'member'
);
ALTER TYPE public.user_role OWNER TO CURRENT_USER;

CREATE TYPE public.user_status AS ENUM (
    'active',
    'suspended',
    'removed'
);
ALTER TYPE public.user_status OWNER TO CURRENT_USER;
