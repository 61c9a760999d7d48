-- Views.
-- Generated from a freshly migrated database by tests/api/schema.rs: do not edit.
-- Regenerate: VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema:: (see sql/schema/README.md).
-- CURRENT_USER stands for the migration owner (the role of DATABASE_ADMIN_URL).

CREATE VIEW app.invitation_rows WITH (security_invoker=true) AS
 SELECT invitations.id,
    invitations.organization_id,
    invitations.email,
    invitations.role,
    invitations.invited_by,
    invitations.created_at,
    invitations.expires_at,
    invitations.accepted_at,
    invitations.revoked_at
   FROM public.invitations;
ALTER VIEW app.invitation_rows OWNER TO CURRENT_USER;
GRANT SELECT ON TABLE app.invitation_rows TO vectra_definer;
GRANT SELECT ON TABLE app.invitation_rows TO vectra_member;
GRANT SELECT ON TABLE app.invitation_rows TO vectra_platform_admin;
GRANT SELECT ON TABLE app.invitation_rows TO vectra_tenant_reader;
COMMENT ON VIEW app.invitation_rows IS 'public.invitations without token_hash (security_invoker).';

CREATE VIEW app.members WITH (security_invoker=true) AS
 SELECT users.id,
    users.organization_id,
    users.email,
    users.full_name,
    users.role,
    users.status,
    users.email_verified_at,
    users.last_login_at,
    users.created_at,
    users.updated_at,
    users.deleted_at
   FROM public.users;
ALTER VIEW app.members OWNER TO CURRENT_USER;
GRANT SELECT ON TABLE app.members TO vectra_definer;
GRANT SELECT ON TABLE app.members TO vectra_member;
GRANT SELECT ON TABLE app.members TO vectra_platform_admin;
GRANT SELECT ON TABLE app.members TO vectra_tenant_reader;
COMMENT ON VIEW app.members IS 'public.users without password_hash (security_invoker).';
