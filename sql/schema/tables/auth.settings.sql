-- Table auth.settings: columns, constraints, indexes, triggers, row-level security, policies, privileges.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE TABLE auth.settings (
    id boolean DEFAULT true NOT NULL,
    platform_admin_email text DEFAULT 'admin@vectra.io'::text NOT NULL,
    invitation_ttl interval DEFAULT '7 days'::interval NOT NULL,
    invites_per_sender_per_hour integer DEFAULT 20 NOT NULL,
    invites_per_organization_per_hour integer DEFAULT 50 NOT NULL,
    invites_per_recipient_per_hour integer DEFAULT 3 NOT NULL,
    outstanding_links_per_purpose integer DEFAULT 3 NOT NULL,
    account_notices_per_hour integer DEFAULT 3 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    refresh_token_ttl interval DEFAULT '30 days'::interval NOT NULL,
    refresh_grace_period interval DEFAULT '00:00:10'::interval NOT NULL,
    unsubscribe_key bytea DEFAULT extensions.gen_random_bytes(32) NOT NULL,
    notification_emails_per_organization_per_day integer DEFAULT 10000 NOT NULL,
    platform_name text DEFAULT 'Vectra'::text NOT NULL,
    new_organizations_notification_emails_per_day integer DEFAULT 1000 NOT NULL,
    invites_per_recipient_per_hour_all_organizations integer DEFAULT 20 NOT NULL,
    unverified_account_ttl interval DEFAULT '7 days'::interval NOT NULL,
    rate_limit_key bytea DEFAULT extensions.gen_random_bytes(32) NOT NULL,
    unverified_since timestamp with time zone DEFAULT now() NOT NULL,
    cursor_key bytea DEFAULT extensions.gen_random_bytes(32) NOT NULL
);
ALTER TABLE auth.settings OWNER TO CURRENT_USER;
COMMENT ON TABLE auth.settings IS 'Operator settings that carry rules (platform-admin email, invitation lifetime and limits). One row, written by `vectra migrate` from the environment; read only by SECURITY DEFINER functions.';
COMMENT ON COLUMN auth.settings.invites_per_recipient_per_hour IS 'Invitation emails one address may receive per rolling hour from one organization (INVITES_PER_RECIPIENT_PER_HOUR).';
COMMENT ON COLUMN auth.settings.refresh_token_ttl IS 'How long a session lasts from its sign-in (REFRESH_TOKEN_TTL).';
COMMENT ON COLUMN auth.settings.refresh_grace_period IS 'How long the refresh token that just rotated still yields the same successor (REFRESH_GRACE_PERIOD).';
COMMENT ON COLUMN auth.settings.platform_name IS 'The platform''s name (PLATFORM_NAME): reserved in organization names and in the subjects of organizations'' notifications; mail of an organization says "<organization> via <platform_name>".';
COMMENT ON COLUMN auth.settings.new_organizations_notification_emails_per_day IS 'Notification emails that all organizations younger than a day may queue together per rolling 24 hours (NEW_ORGANIZATIONS_NOTIFICATION_EMAILS_PER_DAY).';
COMMENT ON COLUMN auth.settings.invites_per_recipient_per_hour_all_organizations IS 'Invitation emails one address may receive per rolling hour from all organizations together (INVITES_PER_RECIPIENT_PER_HOUR_ALL_ORGANIZATIONS).';
COMMENT ON COLUMN auth.settings.unverified_account_ttl IS 'How long an account whose email was never verified lasts (UNVERIFIED_ACCOUNT_TTL); then auth.expire_unverified_accounts removes it.';
COMMENT ON COLUMN auth.settings.rate_limit_key IS 'HMAC key of the abuse limits'' keys (auth.rate_limits, auth.login_failures): made by the migration, read only by the owner''s functions.';
COMMENT ON COLUMN auth.settings.unverified_since IS 'When this database began to expire unverified accounts (the migration that brought the rule): an account registered before counts its UNVERIFIED_ACCOUNT_TTL from here.';
COMMENT ON COLUMN auth.settings.cursor_key IS 'HMAC key of the lists'' cursors (app.make_cursor, app.open_cursor): made by the migration, read only by the owner''s functions.';

-- Constraints

ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_account_notices_per_hour_check CHECK ((account_notices_per_hour > 0));
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_cursor_key_check CHECK ((length(cursor_key) = 32));
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_id_check CHECK (id);
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_invitation_ttl_check CHECK ((invitation_ttl > '00:00:00'::interval));
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_invites_per_organization_per_hour_check CHECK ((invites_per_organization_per_hour > 0));
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_invites_per_recipient_per_hour_all_organizations_check CHECK ((invites_per_recipient_per_hour_all_organizations > 0));
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_invites_per_recipient_per_hour_check CHECK ((invites_per_recipient_per_hour > 0));
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_invites_per_sender_per_hour_check CHECK ((invites_per_sender_per_hour > 0));
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_new_organizations_notification_emails_per_day_check CHECK ((new_organizations_notification_emails_per_day > 0));
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_notification_emails_per_organization_per_day_check CHECK ((notification_emails_per_organization_per_day > 0));
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_outstanding_links_per_purpose_check CHECK ((outstanding_links_per_purpose > 0));
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_pkey PRIMARY KEY (id);
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_platform_admin_email_check CHECK (((platform_admin_email = lower(platform_admin_email)) AND (POSITION(('@'::text) IN (platform_admin_email)) > 1)));
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_platform_name_check CHECK ((((char_length(platform_name) >= 1) AND (char_length(platform_name) <= 60)) AND (regexp_replace(platform_name, '[^[:alnum:]]'::text, ''::text, 'g'::text) <> ''::text)));
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_rate_limit_key_check CHECK ((length(rate_limit_key) = 32));
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_refresh_grace_period_check CHECK (((refresh_grace_period >= '00:00:00'::interval) AND (refresh_grace_period <= '00:05:00'::interval)));
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_refresh_token_ttl_check CHECK ((refresh_token_ttl > '00:00:00'::interval));
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_unsubscribe_key_check CHECK ((length(unsubscribe_key) = 32));
ALTER TABLE ONLY auth.settings ADD CONSTRAINT settings_unverified_account_ttl_check CHECK ((unverified_account_ttl > '00:00:00'::interval));

-- Row-level security

ALTER TABLE auth.settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.settings FORCE ROW LEVEL SECURITY;

-- Privileges

-- No role but its owner holds a privilege on this table.
