//! The API's contract: an OpenAPI 3.1 document built here from one table of
//! operations (method, path, who may call it, parameters, request and
//! response schemas), served at `GET /api/v1/openapi.json` and browsed with
//! Swagger UI at `/docs`.
//!
//! What keeps it true:
//! - the table is checked against the router itself (`tests/api/openapi.rs`):
//!   a routed path or method missing here, or an operation here that is not
//!   routed, fails the tests;
//! - every response schema is closed (`additionalProperties: false`) and
//!   every property a response always has is `required`; the test harness
//!   checks every response the integration tests receive against this
//!   document (`tests/api/harness/contract.rs`: status, content type, body,
//!   required headers), and CI does the same with Newman's responses
//!   (`scripts/check-responses.py`) and schemathesis's;
//! - enumerations and limits are read from the constants the code checks
//!   with (`domain::enums`, `domain::MAX_*`, the handlers' `MAX_*`), which
//!   tests compare with the SQL enums and functions.

use serde_json::{Map, Value, json};

use crate::domain::enums::{
    CAMPAIGN_STATUSES, EMAIL_STATUSES, INVITATION_STATUSES, LEAD_STATUSES, MEETING_STATUSES,
    NOTIFICATION_TYPES, ORDERS, ORGANIZATION_ROLES, ORGANIZATION_STATUSES, PLANS,
    SETTABLE_STATUSES, USER_ROLES, USER_STATUSES,
};
use crate::domain::{
    DEFAULT_PER_PAGE, MAX_EMAIL_CHARS, MAX_NAME_CHARS, MAX_PAGE, MAX_PASSWORD_CHARS, MAX_PER_PAGE,
    MIN_PASSWORD_CHARS,
};
use crate::http::list::MAX_SEARCH_CHARS;
use crate::http::notifications::{
    MAX_ACTION_TEXT_CHARS, MAX_BODY_CHARS, MAX_BODY_HTML_CHARS, MAX_LISTED, MAX_SUBJECT_CHARS,
    MAX_URL_CHARS,
};
use crate::http::prospecting::MAX_IMPORT_ROWS;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// No token.
    None,
    /// A bearer access token.
    Bearer,
}

/// One operation of the table.
struct Op {
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    auth: Auth,
    /// Query parameters (see [`query_param`]).
    query: &'static [&'static str],
    /// The request body's schema (a component name), if any.
    body: Option<&'static str>,
    /// The success status and its schema (a component name; `None`: no body).
    ok: (u16, Option<&'static str>),
    /// Error statuses besides the ones every operation may answer.
    errors: &'static [u16],
}

const LIST: &[&str] = &["page", "per_page"];

#[rustfmt::skip]
const OPS: &[Op] = &[
    // Health
    Op { method: "get", path: "/health", tag: "Health", summary: "Liveness: the process answers", auth: Auth::None, query: &[], body: None, ok: (200, Some("Status")), errors: &[] },
    Op { method: "get", path: "/ready", tag: "Health", summary: "Readiness: the database answers and is migrated", auth: Auth::None, query: &[], body: None, ok: (200, Some("Readiness")), errors: &[503] },
    Op { method: "get", path: "/api/v1/openapi.json", tag: "Health", summary: "This document", auth: Auth::None, query: &[], body: None, ok: (200, Some("OpenApiDocument")), errors: &[] },
    Op { method: "get", path: "/.well-known/jwks.json", tag: "Auth", summary: "The public keys that verify access tokens (JWK Set; empty with HS256 alone)", auth: Auth::None, query: &[], body: None, ok: (200, Some("JwkSet")), errors: &[] },
    // Auth
    Op { method: "post", path: "/api/v1/auth/register", tag: "Auth", summary: "Register: a new organization and its owner (202 whatever the address)", auth: Auth::None, query: &[], body: Some("RegisterBody"), ok: (202, Some("Detail")), errors: &[400, 415, 422, 429] },
    Op { method: "post", path: "/api/v1/auth/login", tag: "Auth", summary: "Sign in: a token pair", auth: Auth::None, query: &[], body: Some("LoginBody"), ok: (200, Some("Tokens")), errors: &[400, 401, 403, 415, 422, 429] },
    Op { method: "post", path: "/api/v1/auth/refresh", tag: "Auth", summary: "Rotate the refresh token: a new pair", auth: Auth::None, query: &[], body: Some("RefreshBody"), ok: (200, Some("Tokens")), errors: &[400, 401, 403, 415, 422] },
    Op { method: "post", path: "/api/v1/auth/logout", tag: "Auth", summary: "End this session", auth: Auth::Bearer, query: &[], body: None, ok: (204, None), errors: &[401, 403] },
    Op { method: "post", path: "/api/v1/auth/change-password", tag: "Auth", summary: "Change the password (ends the other sessions)", auth: Auth::Bearer, query: &[], body: Some("ChangePasswordBody"), ok: (200, Some("PasswordChanged")), errors: &[400, 401, 403, 415, 422, 429] },
    Op { method: "post", path: "/api/v1/auth/verify-email", tag: "Auth", summary: "Verify the email with the emailed token: a token pair", auth: Auth::None, query: &[], body: Some("TokenBody"), ok: (200, Some("Tokens")), errors: &[400, 403, 415, 422] },
    Op { method: "post", path: "/api/v1/auth/send-verification-email", tag: "Auth", summary: "Email a new verification link to the signed-in user", auth: Auth::Bearer, query: &[], body: None, ok: (202, Some("Detail")), errors: &[401, 403, 409, 429] },
    Op { method: "post", path: "/api/v1/auth/resend-verification-email", tag: "Auth", summary: "Email a new verification link to an address (202 whatever the address)", auth: Auth::None, query: &[], body: Some("EmailBody"), ok: (202, Some("Detail")), errors: &[400, 415, 422, 429] },
    Op { method: "post", path: "/api/v1/auth/forgot-password", tag: "Auth", summary: "Email a reset link (202 whatever the address)", auth: Auth::None, query: &[], body: Some("EmailBody"), ok: (202, Some("Detail")), errors: &[400, 415, 422, 429] },
    Op { method: "post", path: "/api/v1/auth/reset-password", tag: "Auth", summary: "Set a new password with the emailed token (ends every session)", auth: Auth::None, query: &[], body: Some("ResetBody"), ok: (200, Some("Detail")), errors: &[400, 415, 422] },
    Op { method: "post", path: "/api/v1/auth/accept-invitation", tag: "Auth", summary: "Accept an invitation: the account and a token pair", auth: Auth::None, query: &[], body: Some("AcceptInvitationBody"), ok: (201, Some("Tokens")), errors: &[400, 403, 409, 415, 422] },
    Op { method: "get", path: "/api/v1/auth/me", tag: "Auth", summary: "Moved: 308 to /api/v1/user/me", auth: Auth::None, query: &[], body: None, ok: (308, None), errors: &[] },
    // User
    Op { method: "get", path: "/api/v1/user/me", tag: "User", summary: "The signed-in user's profile", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("Profile")), errors: &[401, 403] },
    Op { method: "get", path: "/api/v1/user/sessions", tag: "User", summary: "The signed-in user's live sessions", auth: Auth::Bearer, query: LIST, body: None, ok: (200, Some("SessionPage")), errors: &[401, 403, 422] },
    Op { method: "post", path: "/api/v1/user/sessions/revoke-others", tag: "User", summary: "End every other session", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("SessionsRevoked")), errors: &[401, 403] },
    Op { method: "delete", path: "/api/v1/user/sessions/{session_id}", tag: "User", summary: "End one of the user's sessions", auth: Auth::Bearer, query: &[], body: None, ok: (204, None), errors: &[401, 403, 404] },
    // Organization and team
    Op { method: "get", path: "/api/v1/user/organizations/me", tag: "Organization", summary: "The user's organization", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("Organization")), errors: &[401, 403] },
    Op { method: "patch", path: "/api/v1/user/organizations/me", tag: "Organization", summary: "Rename it or change its settings (owner, admin)", auth: Auth::Bearer, query: &[], body: Some("OrganizationPatch"), ok: (200, Some("Organization")), errors: &[400, 401, 403, 415, 422] },
    Op { method: "get", path: "/api/v1/user/organizations/me/users", tag: "Organization", summary: "The members (owner, admin, manager)", auth: Auth::Bearer, query: &["page", "per_page", "role", "status", "q", "search"], body: None, ok: (200, Some("MemberPage")), errors: &[401, 403, 422] },
    Op { method: "post", path: "/api/v1/user/organizations/me/users/invite", tag: "Organization", summary: "Invite someone by email (owner, admin)", auth: Auth::Bearer, query: &[], body: Some("InviteBody"), ok: (201, Some("Invitation")), errors: &[400, 401, 403, 409, 415, 422, 429] },
    Op { method: "patch", path: "/api/v1/user/organizations/me/users/{user_id}/role", tag: "Organization", summary: "Change a member's role (owner, admin)", auth: Auth::Bearer, query: &[], body: Some("RoleBody"), ok: (200, Some("Member")), errors: &[400, 401, 403, 404, 409, 415, 422] },
    Op { method: "delete", path: "/api/v1/user/organizations/me/users/{user_id}", tag: "Organization", summary: "Remove a member (owner, admin)", auth: Auth::Bearer, query: &[], body: None, ok: (204, None), errors: &[401, 403, 404, 409] },
    Op { method: "get", path: "/api/v1/user/organizations/me/invitations", tag: "Organization", summary: "Invitations, newest first (owner, admin)", auth: Auth::Bearer, query: LIST, body: None, ok: (200, Some("InvitationPage")), errors: &[401, 403, 422] },
    Op { method: "delete", path: "/api/v1/user/organizations/me/invitations/{invitation_id}", tag: "Organization", summary: "Revoke a pending invitation (owner, admin)", auth: Auth::Bearer, query: &[], body: None, ok: (204, None), errors: &[401, 403, 404, 409] },
    Op { method: "post", path: "/api/v1/user/organizations/me/invitations/{invitation_id}/resend", tag: "Organization", summary: "Resend an invitation with a new link (owner, admin)", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("Invitation")), errors: &[401, 403, 404, 409, 429] },
    Op { method: "get", path: "/api/v1/user/organizations/me/audit-log", tag: "Organization", summary: "The audit log, newest first (owner, admin)", auth: Auth::Bearer, query: &["page", "per_page", "action"], body: None, ok: (200, Some("AuditPage")), errors: &[401, 403, 422] },
    // Prospecting
    Op { method: "get", path: "/api/v1/user/campaigns", tag: "Prospecting", summary: "Campaigns with their lead counts", auth: Auth::Bearer, query: &["page", "per_page", "status", "q", "search", "sort_campaign", "order"], body: None, ok: (200, Some("CampaignPage")), errors: &[401, 403, 422] },
    Op { method: "post", path: "/api/v1/user/campaigns", tag: "Prospecting", summary: "Create a campaign (owner, admin, manager)", auth: Auth::Bearer, query: &[], body: Some("CampaignBody"), ok: (201, Some("Campaign")), errors: &[400, 401, 403, 409, 415, 422] },
    Op { method: "get", path: "/api/v1/user/campaigns/{campaign_id}", tag: "Prospecting", summary: "One campaign", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("Campaign")), errors: &[401, 403, 404] },
    Op { method: "patch", path: "/api/v1/user/campaigns/{campaign_id}", tag: "Prospecting", summary: "Rename it or move it along draft → active ⇄ paused → completed", auth: Auth::Bearer, query: &[], body: Some("CampaignPatch"), ok: (200, Some("Campaign")), errors: &[400, 401, 403, 404, 409, 415, 422] },
    Op { method: "delete", path: "/api/v1/user/campaigns/{campaign_id}", tag: "Prospecting", summary: "Delete a campaign (owner, admin)", auth: Auth::Bearer, query: &[], body: None, ok: (204, None), errors: &[401, 403, 404] },
    Op { method: "get", path: "/api/v1/user/leads", tag: "Prospecting", summary: "Leads: filter, search, sort", auth: Auth::Bearer, query: &["page", "per_page", "status", "campaign_id", "q", "search", "sort_lead", "order"], body: None, ok: (200, Some("LeadPage")), errors: &[401, 403, 422] },
    Op { method: "post", path: "/api/v1/user/leads", tag: "Prospecting", summary: "Create a lead (owner, admin, manager)", auth: Auth::Bearer, query: &[], body: Some("LeadBody"), ok: (201, Some("Lead")), errors: &[400, 401, 403, 409, 415, 422] },
    Op { method: "post", path: "/api/v1/user/leads/import", tag: "Prospecting", summary: "Import leads: a JSON array or CSV with a header row, all or nothing", auth: Auth::Bearer, query: &[], body: Some("LeadImport"), ok: (201, Some("Imported")), errors: &[400, 401, 403, 409, 413, 415, 422] },
    Op { method: "get", path: "/api/v1/user/leads/{lead_id}", tag: "Prospecting", summary: "One lead", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("Lead")), errors: &[401, 403, 404] },
    Op { method: "patch", path: "/api/v1/user/leads/{lead_id}", tag: "Prospecting", summary: "Edit a lead or move it one step along its funnel", auth: Auth::Bearer, query: &[], body: Some("LeadPatch"), ok: (200, Some("Lead")), errors: &[400, 401, 403, 404, 409, 415, 422] },
    Op { method: "delete", path: "/api/v1/user/leads/{lead_id}", tag: "Prospecting", summary: "Delete a lead (owner, admin)", auth: Auth::Bearer, query: &[], body: None, ok: (204, None), errors: &[401, 403, 404] },
    Op { method: "get", path: "/api/v1/user/meetings", tag: "Prospecting", summary: "Meetings, soonest first", auth: Auth::Bearer, query: &["page", "per_page", "status", "lead_id", "campaign_id", "sort_meeting", "order"], body: None, ok: (200, Some("MeetingPage")), errors: &[401, 403, 422] },
    Op { method: "post", path: "/api/v1/user/meetings", tag: "Prospecting", summary: "Schedule a meeting with a lead (owner, admin, manager)", auth: Auth::Bearer, query: &[], body: Some("MeetingBody"), ok: (201, Some("Meeting")), errors: &[400, 401, 403, 404, 409, 415, 422] },
    Op { method: "get", path: "/api/v1/user/meetings/{meeting_id}", tag: "Prospecting", summary: "One meeting", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("Meeting")), errors: &[401, 403, 404] },
    Op { method: "patch", path: "/api/v1/user/meetings/{meeting_id}", tag: "Prospecting", summary: "Move, complete or cancel a meeting", auth: Auth::Bearer, query: &[], body: Some("MeetingPatch"), ok: (200, Some("Meeting")), errors: &[400, 401, 403, 404, 409, 415, 422] },
    Op { method: "delete", path: "/api/v1/user/meetings/{meeting_id}", tag: "Prospecting", summary: "Delete a meeting (owner, admin)", auth: Auth::Bearer, query: &[], body: None, ok: (204, None), errors: &[401, 403, 404] },
    // Notifications
    Op { method: "post", path: "/api/v1/user/notifications/send", tag: "Notifications", summary: "Send org_to_prospects or org_owner_to_members (owner, admin)", auth: Auth::Bearer, query: &[], body: Some("NotificationBody"), ok: (202, Some("Queued")), errors: &[400, 401, 403, 415, 422, 429] },
    Op { method: "get", path: "/api/v1/user/notifications", tag: "Notifications", summary: "The organization's notifications with delivery counts (owner, admin)", auth: Auth::Bearer, query: &["page", "per_page", "type"], body: None, ok: (200, Some("NotificationPage")), errors: &[401, 403, 422] },
    Op { method: "get", path: "/api/v1/user/notifications/{notification_id}", tag: "Notifications", summary: "One notification and a page of its recipients (owner, admin)", auth: Auth::Bearer, query: LIST, body: None, ok: (200, Some("NotificationDetail")), errors: &[400, 401, 403, 404, 422] },
    Op { method: "get", path: "/api/v1/unsubscribe", tag: "Notifications", summary: "The unsubscribe page of an email's link (changes nothing)", auth: Auth::None, query: &["token"], body: None, ok: (200, Some("Html")), errors: &[400] },
    Op { method: "post", path: "/api/v1/unsubscribe", tag: "Notifications", summary: "One-click unsubscribe (RFC 8058)", auth: Auth::None, query: &["token"], body: None, ok: (200, Some("Html")), errors: &[400] },
    // Platform admin
    Op { method: "get", path: "/api/v1/admin/overview", tag: "Platform Admin", summary: "Every count of the platform, as of its last snapshot", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("Overview")), errors: &[401, 403, 503] },
    Op { method: "get", path: "/api/v1/admin/organizations", tag: "Platform Admin", summary: "Every organization", auth: Auth::Bearer, query: &["page", "per_page", "plan", "org_status", "q", "search", "sort_org", "order"], body: None, ok: (200, Some("AdminOrganizationPage")), errors: &[401, 403, 422] },
    Op { method: "post", path: "/api/v1/admin/organizations", tag: "Platform Admin", summary: "Create an organization, its owner invited", auth: Auth::Bearer, query: &[], body: Some("AdminOrganizationBody"), ok: (201, Some("AdminOrganizationCreated")), errors: &[400, 401, 403, 409, 415, 422, 429] },
    Op { method: "get", path: "/api/v1/admin/organizations/{org_id}", tag: "Platform Admin", summary: "One organization with its owners, counts and pending invitations", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("AdminOrganizationDetail")), errors: &[401, 403, 404] },
    Op { method: "patch", path: "/api/v1/admin/organizations/{org_id}", tag: "Platform Admin", summary: "Rename, change plan or settings, suspend, reactivate or restore", auth: Auth::Bearer, query: &[], body: Some("AdminOrganizationPatch"), ok: (200, Some("AdminOrganizationDetail")), errors: &[400, 401, 403, 404, 409, 415, 422] },
    Op { method: "delete", path: "/api/v1/admin/organizations/{org_id}", tag: "Platform Admin", summary: "Soft delete, or erase with ?hard=true", auth: Auth::Bearer, query: &["hard"], body: None, ok: (200, Some("Deleted")), errors: &[400, 401, 403, 404, 422] },
    Op { method: "post", path: "/api/v1/admin/organizations/{org_id}/users/invite", tag: "Platform Admin", summary: "Invite anyone into an organization, with any role", auth: Auth::Bearer, query: &[], body: Some("InviteBody"), ok: (201, Some("Invitation")), errors: &[400, 401, 403, 404, 409, 415, 422, 429] },
    Op { method: "get", path: "/api/v1/admin/users", tag: "Platform Admin", summary: "Every user, platform admins included", auth: Auth::Bearer, query: &["page", "per_page", "organization_id", "role_any", "user_status", "q", "search", "sort_user", "order"], body: None, ok: (200, Some("AdminUserPage")), errors: &[401, 403, 422] },
    Op { method: "patch", path: "/api/v1/admin/users/{user_id}", tag: "Platform Admin", summary: "Suspend or reactivate a user", auth: Auth::Bearer, query: &[], body: Some("StatusBody"), ok: (200, Some("AdminUserUpdated")), errors: &[400, 401, 403, 404, 409, 415, 422] },
    Op { method: "get", path: "/api/v1/admin/system/metrics", tag: "Platform Admin", summary: "The process's and the database's figures", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("SystemMetrics")), errors: &[401, 403] },
    Op { method: "post", path: "/api/v1/admin/notifications/send", tag: "Platform Admin", summary: "Send vectra_to_users, vectra_to_org_owner or system_alerts", auth: Auth::Bearer, query: &[], body: Some("NotificationBody"), ok: (202, Some("Queued")), errors: &[400, 401, 403, 415, 422] },
    Op { method: "get", path: "/api/v1/admin/notifications", tag: "Platform Admin", summary: "Every notification", auth: Auth::Bearer, query: &["page", "per_page", "type", "organization_id"], body: None, ok: (200, Some("NotificationPage")), errors: &[401, 403, 422] },
    Op { method: "get", path: "/api/v1/admin/notifications/{notification_id}", tag: "Platform Admin", summary: "Any notification and a page of its recipients", auth: Auth::Bearer, query: LIST, body: None, ok: (200, Some("NotificationDetail")), errors: &[400, 401, 403, 404, 422] },
];

/// `GET /metrics`, in the document when the main listener serves it.
const METRICS_OP: Op = Op {
    method: "get",
    path: "/metrics",
    tag: "Health",
    summary: "Prometheus text format (METRICS_TOKEN as a bearer token)",
    auth: Auth::Bearer,
    query: &[],
    body: None,
    ok: (200, Some("Text")),
    errors: &[401],
};

/// The operations that answer a page of a list (their responses are a
/// `…Page` and they take `cursor`).
fn is_list(op: &Op) -> bool {
    op.method == "get" && matches!(op.ok, (200, Some(schema)) if schema.ends_with("Page"))
}

/// Whether the operation pages something: a list, or a notification's
/// recipients inside its detail. Both take `cursor`.
fn pages(op: &Op) -> bool {
    is_list(op) || matches!(op.ok, (200, Some("NotificationDetail")))
}

fn uuid() -> Value {
    json!({"type": "string", "format": "uuid"})
}

fn enum_of(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

/// A query parameter: its public name and schema.
fn query_param(key: &str) -> (&'static str, Value) {
    match key {
        "page" => (
            "page",
            json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}),
        ),
        "per_page" => (
            "per_page",
            json!({"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE}),
        ),
        "cursor" => (
            "cursor",
            json!({"type": "string", "description": "next_cursor of the previous page: the next page, however deep"}),
        ),
        "q" => (
            "q",
            json!({"type": "string", "maxLength": MAX_SEARCH_CHARS}),
        ),
        "search" => (
            "search",
            json!({"type": "string", "maxLength": MAX_SEARCH_CHARS, "description": "the same as q"}),
        ),
        "order" => ("order", enum_of(ORDERS)),
        "role" => ("role", enum_of(ORGANIZATION_ROLES)),
        "role_any" => ("role", enum_of(USER_ROLES)),
        "status" | "user_status" => ("status", enum_of(USER_STATUSES)),
        "org_status" => ("status", enum_of(ORGANIZATION_STATUSES)),
        "plan" => ("plan", enum_of(PLANS)),
        "action" => (
            "action",
            json!({"type": "string", "examples": ["invitation.create"]}),
        ),
        "type" => ("type", enum_of(NOTIFICATION_TYPES)),
        "organization_id" => ("organization_id", uuid()),
        "campaign_id" => ("campaign_id", uuid()),
        "lead_id" => ("lead_id", uuid()),
        "sort_campaign" | "sort_lead" => ("sort", enum_of(&["created_at", "name"])),
        "sort_meeting" => ("sort", enum_of(&["scheduled_at", "created_at"])),
        "sort_org" => (
            "sort",
            enum_of(&["created_at", "name", "plan", "users_count"]),
        ),
        "sort_user" => (
            "sort",
            enum_of(&["created_at", "name", "email", "last_login_at"]),
        ),
        "hard" => ("hard", json!({"type": "boolean", "default": false})),
        "token" => ("token", json!({"type": "string"})),
        other => unreachable!("query parameter {other} has no schema"),
    }
}

/// Query parameters read as filters: empty means absent.
const FILTERS: &[&str] = &[
    "role",
    "role_any",
    "status",
    "user_status",
    "org_status",
    "plan",
    "action",
    "type",
    "organization_id",
    "campaign_id",
    "lead_id",
    "q",
    "search",
];

/// Which status a filter of the same name means on each list.
fn status_for(path: &str, key: &'static str) -> Value {
    let statuses: &[&str] = if path.ends_with("/campaigns") {
        CAMPAIGN_STATUSES
    } else if path.ends_with("/leads") {
        LEAD_STATUSES
    } else if path.ends_with("/meetings") {
        MEETING_STATUSES
    } else {
        return query_param(key).1;
    };
    enum_of(statuses)
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn content(schema: &str) -> Value {
    match schema {
        "Html" => json!({"text/html": {"schema": {"type": "string"}}}),
        "Text" => json!({"text/plain": {"schema": {"type": "string"}}}),
        "JwkSet" => json!({"application/jwk-set+json": {"schema": reference("JwkSet")}}),
        "LeadImport" => json!({
            "application/json": {"schema": {"type": "array", "items": reference("LeadBody"),
                                             "minItems": 1, "maxItems": MAX_IMPORT_ROWS}},
            "text/csv": {"schema": {"type": "string"}}
        }),
        name => json!({"application/json": {"schema": reference(name)}}),
    }
}

/// The statuses every operation may answer: the body limit, a bug, the
/// database unavailable (or a statement cancelled), the request timeout.
const EVERY_OPERATION: &[u16] = &[413, 500, 503, 504];

/// What the operations that use the database may also answer: a
/// concurrent request won a race (409, Retry-After), a value the database
/// cannot hold (422).
const EVERY_DATABASE_OPERATION: &[u16] = &[409, 422];

fn uses_database(op: &Op) -> bool {
    !matches!(
        op.path,
        "/health" | "/api/v1/openapi.json" | "/.well-known/jwks.json" | "/metrics"
    )
}

fn operation(op: &Op) -> Value {
    let mut params: Vec<Value> = op
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            json!({"name": name, "in": "path", "required": true,
                   "schema": {"type": "string", "format": "uuid"}})
        })
        .collect();
    let cursor: &[&str] = if pages(op) { &["cursor"] } else { &[] };
    for key in op.query.iter().chain(cursor) {
        let (name, schema) = query_param(key);
        let schema = if name == "status" {
            status_for(op.path, key)
        } else if (name == "q" || name == "search") && op.path.ends_with("/leads") {
            // A trigram at least (`app.check_search`): 3 characters once trimmed.
            let mut schema = schema;
            schema["minLength"] = json!(3);
            schema["pattern"] = json!("^\\s*\\S.+\\S\\s*$");
            schema["description"] = json!("at least 3 characters once trimmed");
            schema
        } else {
            schema
        };
        // A filter left empty (`?status=`, as forms send it) is no filter.
        let schema = if FILTERS.contains(key) {
            json!({"anyOf": [schema, {"const": ""}]})
        } else {
            schema
        };
        params.push(
            json!({"name": name, "in": "query", "required": *key == "token", "schema": schema}),
        );
    }
    if op.path.ends_with("/notifications/send") {
        params.push(json!({"$ref": "#/components/parameters/Idempotency-Key"}));
    }
    let mut responses = Map::new();
    let (status, schema) = op.ok;
    let mut ok = json!({"description": reason(status), "headers": {"X-Request-Id": header_ref("X-Request-Id")}});
    if let Some(schema) = schema {
        ok["content"] = content(schema);
    }
    if status == 308 {
        ok["headers"]["Location"] = header_ref("Location");
    }
    responses.insert(status.to_string(), ok);
    let mut errors: Vec<u16> = op.errors.to_vec();
    errors.extend(EVERY_OPERATION);
    if uses_database(op) {
        errors.extend(EVERY_DATABASE_OPERATION);
    }
    if op.auth == Auth::Bearer {
        errors.extend([401, 403]);
    }
    // A path id that is not a UUID: 422 naming it; an unknown one: 404.
    if op.path.contains('{') {
        errors.extend([404, 422]);
    }
    if op.body.is_some() {
        errors.extend([400, 415, 422]);
    }
    if !op.query.is_empty() {
        errors.extend([400, 422]);
    }
    errors.sort_unstable();
    errors.dedup();
    for code in errors {
        if code == status {
            continue;
        }
        responses.insert(
            code.to_string(),
            json!({"$ref": format!("#/components/responses/{}", error_response_name(code))}),
        );
    }
    let mut o = json!({
        "tags": [op.tag],
        "summary": op.summary,
        "operationId": operation_id(op),
        "parameters": params,
        "responses": responses,
    });
    if op.auth == Auth::Bearer {
        o["security"] = json!([{"bearer": []}]);
    } else {
        o["security"] = json!([]);
    }
    if let Some(body) = op.body {
        o["requestBody"] = json!({"required": true, "content": content(body)});
    }
    o
}

fn header_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/headers/{name}")})
}

/// The component response of an error status (`Error404` …).
pub fn error_response_name(status: u16) -> String {
    format!("Error{status}")
}

/// The error responses every operation refers to: problem+json, with the
/// headers each status always carries.
fn error_responses() -> Value {
    let mut out = Map::new();
    for code in [
        400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 503, 504,
    ] {
        let mut headers = json!({"X-Request-Id": header_ref("X-Request-Id")});
        match code {
            401 => headers["WWW-Authenticate"] = header_ref("WWW-Authenticate"),
            405 => headers["Allow"] = header_ref("Allow"),
            429 | 503 => headers["Retry-After"] = header_ref("Retry-After"),
            // Only a lost race says when to try again.
            409 => headers["Retry-After"] = header_ref("Retry-After-Optional"),
            _ => {}
        }
        out.insert(
            error_response_name(code),
            json!({"description": reason(code), "headers": headers,
                   "content": {"application/problem+json": {"schema": reference("Problem")}}}),
        );
    }
    Value::Object(out)
}

fn headers() -> Value {
    json!({
        "X-Request-Id": {"required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 128},
            "description": "The request's id: the caller's X-Request-Id when acceptable (1 to 128 of letters, digits and -_.:+/=@), else a new UUID. In every log line of the request, and the instance of a problem."},
        "Retry-After": {"required": true, "schema": {"type": "integer", "minimum": 1},
            "description": "Seconds to wait before trying again."},
        "Retry-After-Optional": {"required": false, "schema": {"type": "integer", "minimum": 1},
            "description": "Seconds to wait before trying again: on a 409 of a concurrent request (a deadlock or a serialization failure), where trying again is safe."},
        "WWW-Authenticate": {"required": true, "schema": {"const": "Bearer realm=\"vectra\""}},
        "Allow": {"required": true, "schema": {"type": "string"}, "description": "The methods the path takes."},
        "Location": {"required": true, "schema": {"type": "string"}}
    })
}

fn operation_id(op: &Op) -> String {
    let path: String = op
        .path
        .trim_start_matches("/api/v1")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_matches(|c| c == '{' || c == '}' || c == '.')
                .replace(['-', '.'], "_")
        })
        .collect::<Vec<_>>()
        .join("_");
    format!("{}_{}", op.method, path)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        308 => "Permanent Redirect",
        400 => "Bad request: malformed JSON or query string, a bad one-time token",
        401 => "Not authenticated: missing, bad, expired or revoked token (WWW-Authenticate)",
        403 => "Forbidden for this caller",
        404 => "Not found",
        405 => "Method not allowed (Allow)",
        409 => "Conflict with the current state, or a concurrent request (then Retry-After)",
        413 => "Body too large",
        415 => "Unsupported content type",
        422 => "Invalid fields, each named (in a path, the query or the body)",
        429 => "Too many requests (Retry-After)",
        500 => "Unexpected error",
        503 => "Unavailable: the database, a cancelled statement, shutting down (Retry-After)",
        504 => "The request took too long",
        _ => "Response",
    }
}

/// The whole document. `metrics_route`: whether `GET /metrics` is on the
/// main listener (METRICS_TOKEN set).
pub fn document(metrics_route: bool) -> Value {
    let mut paths = Map::new();
    let ops = OPS.iter().chain(metrics_route.then_some(&METRICS_OP));
    for op in ops {
        let item = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        item[op.method] = operation(op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Vectra API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Multi-tenant B2B prospecting backend; tenant isolation enforced by PostgreSQL row-level security. Errors are RFC 9457 problem+json, with the request id as their instance; a bad value is a 422 naming its field wherever it is (path, query or body). Every response carries X-Request-Id. Browser clients on the origins of CORS_ALLOWED_ORIGINS may call every route (preflights answered; Authorization, Content-Type, Idempotency-Key and X-Request-Id allowed; X-Request-Id, Retry-After and WWW-Authenticate exposed). See docs/api.md for the rules of each route."
        },
        "servers": [{"url": "/", "description": "The service that serves this document"}],
        "tags": [
            {"name": "Health", "description": "Probes, this document, the metrics"},
            {"name": "Auth", "description": "Registration, sign-in, tokens, passwords, verification, invitations, the signing keys"},
            {"name": "User", "description": "The signed-in user and their sessions"},
            {"name": "Organization", "description": "The caller's organization: settings, members, invitations, audit log"},
            {"name": "Prospecting", "description": "Campaigns, leads and meetings"},
            {"name": "Notifications", "description": "Sending, history, one-click unsubscribe"},
            {"name": "Platform Admin", "description": "The platform console (the platform admin only)"}
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                           "description": "The access_token of login, refresh, verify-email or accept-invitation."}
            },
            "parameters": {
                "Idempotency-Key": {"name": "Idempotency-Key", "in": "header", "required": false,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                    "description": "A retried send with the same key answers the first 202 and queues nothing twice."}
            },
            "headers": headers(),
            "responses": error_responses(),
            "schemas": schemas()
        }
    })
}

/// Every (method, path) of the table, upper-case methods: what the router
/// must route, no more, no less.
pub fn operations(metrics_route: bool) -> Vec<(String, String)> {
    OPS.iter()
        .chain(metrics_route.then_some(&METRICS_OP))
        .map(|op| (op.method.to_uppercase(), op.path.to_owned()))
        .collect()
}

/// A page of a list (or of a notification's recipients): closed, with the
/// count strategy's and the cursor's fields (docs/api.md, List parameters).
fn page_of(item: &str) -> Value {
    record(json!({
        "items": {"type": "array", "items": reference(item)},
        "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1},
        "total": {"type": "integer", "minimum": 0,
                  "description": "Every match: exact up to 1,000, PostgreSQL's estimate beyond (total_is_estimate); a search: exact up to 1,000, then 1,001, and in a list of 10,000 rows or more the matches known up to this page and one more, flagged"},
        "total_is_estimate": {"type": "boolean"},
        "next_cursor": {"type": ["string", "null"],
                        "description": "The cursor of the next page (cursor=); null on the last"}
    }))
}

/// A response object: every property always present (`required`), no other.
fn record(properties: Value) -> Value {
    record_with_optional(properties, &[])
}

/// The same, with the properties only some responses carry.
fn record_with_optional(properties: Value, optional: &[&str]) -> Value {
    let keys: Vec<&String> = properties
        .as_object()
        .expect("properties")
        .keys()
        .filter(|k| !optional.contains(&k.as_str()))
        .collect();
    json!({"type": "object", "additionalProperties": false, "required": keys, "properties": properties})
}

/// A response object extending another (its properties merged in).
fn extend(base: &Value, more: Value, optional: &[&str]) -> Value {
    let mut properties = base["properties"].as_object().expect("base").clone();
    let mut required: Vec<Value> = base["required"].as_array().expect("required").clone();
    for (k, v) in more.as_object().expect("more") {
        properties.insert(k.clone(), v.clone());
        if !optional.contains(&k.as_str()) {
            required.push(Value::String(k.clone()));
        }
    }
    json!({"type": "object", "additionalProperties": false, "required": required, "properties": properties})
}

/// A request body: the `required` properties, and the others optional,
/// where `null` means "not given" as it does to the service. `closed`: the
/// service refuses other fields (422 naming them); otherwise it ignores them.
fn body(required: &[&str], properties: Value, closed: bool) -> Value {
    let properties: Map<String, Value> = properties
        .as_object()
        .expect("properties")
        .iter()
        .map(|(k, v)| {
            let v = if required.contains(&k.as_str()) || accepts_null(v) {
                v.clone()
            } else {
                json!({"anyOf": [v, {"type": "null"}]})
            };
            (k.clone(), v)
        })
        .collect();
    let mut o = json!({"type": "object", "required": required, "properties": properties});
    if closed {
        o["additionalProperties"] = json!(false);
    }
    o
}

fn accepts_null(schema: &Value) -> bool {
    match &schema["type"] {
        Value::String(t) => t == "null",
        Value::Array(ts) => ts.iter().any(|t| t == "null"),
        _ => schema.as_object().is_some_and(|o| o.is_empty()),
    }
}

/// Counts keyed by the values of an enumeration: `{"active": 3, …}`.
fn counts_by(values: &[&str]) -> Value {
    let properties: Map<String, Value> = values
        .iter()
        .map(|v| (v.to_string(), json!({"type": "integer", "minimum": 0})))
        .collect();
    record(Value::Object(properties))
}

fn count() -> Value {
    json!({"type": "integer", "minimum": 0})
}

fn schemas() -> Value {
    let uuid = uuid();
    let uuid_or_null = json!({"type": ["string", "null"], "format": "uuid"});
    let time = json!({"type": "string", "format": "date-time"});
    let time_or_null = json!({"type": ["string", "null"], "format": "date-time"});
    let text = json!({"type": "string"});
    let text_or_null = json!({"type": ["string", "null"]});
    let email =
        json!({"type": "string", "maxLength": MAX_EMAIL_CHARS, "examples": ["ann@example.com"]});
    let password = json!({"type": "string", "minLength": MIN_PASSWORD_CHARS, "maxLength": MAX_PASSWORD_CHARS,
                          "examples": ["correct horse battery staple"]});
    let name = json!({"type": "string", "minLength": 1, "maxLength": MAX_NAME_CHARS});
    // Free-form by design: an organization's settings (a JSON object of at
    // most 16 KiB), an audit entry's data.
    let settings = json!({"type": "object", "additionalProperties": true,
                          "description": "The organization's own settings: any JSON object of at most 16 KiB"});
    let organization = record(json!({
        "id": uuid, "name": text, "slug": text, "plan": enum_of(PLANS),
        "status": enum_of(ORGANIZATION_STATUSES), "settings": settings,
        "created_at": time, "updated_at": time}));
    let member = record(json!({
        "id": uuid, "email": text, "full_name": text, "role": enum_of(USER_ROLES),
        "status": enum_of(USER_STATUSES), "email_verified": {"type": "boolean"},
        "last_login_at": time_or_null, "created_at": time, "deleted_at": time_or_null}));
    let invitation = record(json!({
        "id": uuid, "email": text, "role": enum_of(USER_ROLES), "invited_by": uuid_or_null,
        "created_at": time, "expires_at": time, "accepted_at": time_or_null, "revoked_at": time_or_null,
        "status": enum_of(INVITATION_STATUSES)}));
    let admin_organization = extend(
        &organization,
        json!({"users_count": count(), "deleted_at": time_or_null}),
        &[],
    );
    let notification = record(json!({
        "id": uuid, "type": enum_of(NOTIFICATION_TYPES), "organization_id": uuid_or_null,
        "sender_id": uuid_or_null, "subject": text,
        "recipient_count": count(), "suppressed_count": count(), "created_at": time,
        "delivery": counts_by(EMAIL_STATUSES)}));
    let recipients = json!({"oneOf": [
        {"const": "all"},
        {"type": "array", "minItems": 1, "maxItems": MAX_LISTED, "items": email}
    ]});
    // recipients, or (vectra_to_org_owner only) organization_ids; a null
    // is not "not given" here except for body_html and action_url.
    let notification_body = json!({
        "type": "object", "additionalProperties": false,
        "required": ["type", "subject", "body"],
        "oneOf": [{"required": ["recipients"]}, {"required": ["organization_ids"]}],
        "properties": {
            "type": enum_of(NOTIFICATION_TYPES), "recipients": recipients,
            "organization_ids": {"type": "array", "minItems": 1, "maxItems": MAX_LISTED, "items": uuid,
                                 "description": "vectra_to_org_owner only, instead of recipients"},
            "subject": {"type": "string", "minLength": 1, "maxLength": MAX_SUBJECT_CHARS},
            "body": {"type": "string", "minLength": 1, "maxLength": MAX_BODY_CHARS},
            "body_html": {"type": ["string", "null"], "maxLength": MAX_BODY_HTML_CHARS},
            "action_url": {"type": ["string", "null"], "format": "uri", "maxLength": MAX_URL_CHARS},
            "action_text": {"type": "string", "minLength": 1, "maxLength": MAX_ACTION_TEXT_CHARS,
                            "description": "required with action_url"}}
    });
    json!({
        "Problem": record_with_optional(json!({
            "type": {"type": "string", "examples": ["urn:vectra:problem:validation"]},
            "title": text, "status": {"type": "integer", "minimum": 400, "maximum": 599}, "detail": text,
            "instance": {"type": "string", "description": "The request id (X-Request-Id)"},
            "hint": text,
            "errors": {"type": "array", "items": record_with_optional(json!({
                "field": text, "message": text,
                "row": {"type": "integer", "minimum": 1, "description": "The row of an import (1 is the first)"}}),
                &["row"])}
        }), &["hint", "errors"]),
        "OpenApiDocument": {"type": "object", "required": ["openapi", "info", "paths", "components"],
                            "properties": {"openapi": {"const": "3.1.0"}, "info": {"type": "object"},
                                           "paths": {"type": "object"}, "components": {"type": "object"}}},
        "Status": record(json!({"status": {"const": "ok"}})),
        "JwkSet": record(json!({"keys": {"type": "array", "items": record(json!({
            "kty": {"const": "OKP"}, "crv": {"const": "Ed25519"}, "x": text,
            "kid": text, "alg": {"const": "EdDSA"}, "use": {"const": "sig"}}))}})),
        "Readiness": record(json!({"status": {"const": "ready"}, "schema_version": {"type": "integer"},
            "expected_schema_version": {"type": "integer"}})),
        "Detail": record(json!({"detail": text})),
        "PasswordChanged": record(json!({"detail": text, "sessions_revoked": count()})),
        "SessionsRevoked": record(json!({"sessions_revoked": count()})),
        "RegisterBody": body(&["email", "password", "full_name"], json!({
            "email": email, "password": password, "full_name": name,
            "organization_name": name}), false),
        "LoginBody": body(&["email", "password"], json!({"email": email, "password": text}), false),
        "RefreshBody": body(&["refresh_token"], json!({"refresh_token": text}), false),
        "ChangePasswordBody": body(&["current_password", "new_password"], json!({
            "current_password": text, "new_password": password}), false),
        "TokenBody": body(&["token"], json!({"token": text}), false),
        "EmailBody": body(&["email"], json!({"email": email}), false),
        "ResetBody": body(&["token", "new_password"], json!({"token": text, "new_password": password}), false),
        "AcceptInvitationBody": body(&["token", "password", "full_name"], json!({
            "token": text, "password": password, "full_name": name}), false),
        "Tokens": record(json!({
            "access_token": text, "refresh_token": text,
            "token_type": {"const": "bearer"}, "expires_in": {"type": "integer", "minimum": 1},
            "user": reference("Profile")})),
        "Profile": record(json!({
            "id": uuid, "email": text, "full_name": text, "role": enum_of(USER_ROLES),
            "status": enum_of(USER_STATUSES), "email_verified": {"type": "boolean"}, "created_at": time,
            "organization": {"oneOf": [{"type": "null"}, record(json!({
                "id": uuid, "name": text, "slug": text, "plan": enum_of(PLANS),
                "status": enum_of(ORGANIZATION_STATUSES)}))]}})),
        "Session": record(json!({"id": uuid, "created_at": time, "last_used_at": time_or_null,
            "expires_at": time, "user_agent": text_or_null, "ip": text_or_null,
            "current": {"type": "boolean"}})),
        "SessionPage": page_of("Session"),
        "Organization": organization,
        "OrganizationPatch": body(&[], json!({"name": name, "settings": settings}), true),
        "Member": member,
        "MemberPage": page_of("Member"),
        "InviteBody": body(&["email", "role"], json!({"email": email, "role": enum_of(ORGANIZATION_ROLES)}), false),
        "RoleBody": body(&["role"], json!({"role": enum_of(ORGANIZATION_ROLES)}), false),
        "Invitation": invitation,
        "InvitationPage": page_of("Invitation"),
        "AuditEntry": record(json!({
            "id": uuid, "action": text, "actor_id": uuid_or_null, "actor_name": text_or_null,
            "target_type": text_or_null, "target_id": uuid_or_null,
            "data": {"type": "object", "additionalProperties": true,
                     "description": "What the action changed, by action"},
            "created_at": time})),
        "AuditPage": page_of("AuditEntry"),
        "CampaignBody": body(&["name"], json!({"name": name, "status": enum_of(CAMPAIGN_STATUSES)}), true),
        "CampaignPatch": body(&[], json!({"name": name, "status": enum_of(CAMPAIGN_STATUSES)}), true),
        "Campaign": record(json!({"id": uuid, "name": text, "status": enum_of(CAMPAIGN_STATUSES),
            "leads_count": count(), "created_at": time, "updated_at": time})),
        "CampaignPage": page_of("Campaign"),
        "LeadBody": body(&["email"], json!({"email": email, "full_name": name, "company": name,
            "status": enum_of(LEAD_STATUSES), "campaign_id": uuid}), true),
        "LeadPatch": body(&[], json!({"email": email, "full_name": {"type": ["string", "null"], "maxLength": MAX_NAME_CHARS},
            "company": {"type": ["string", "null"], "maxLength": MAX_NAME_CHARS},
            "status": enum_of(LEAD_STATUSES), "campaign_id": uuid_or_null}), true),
        "Lead": record(json!({"id": uuid, "email": text,
            "full_name": text_or_null, "company": text_or_null, "status": enum_of(LEAD_STATUSES),
            "campaign_id": uuid_or_null, "created_at": time, "updated_at": time})),
        "LeadPage": page_of("Lead"),
        "Imported": record(json!({"created": {"type": "integer", "minimum": 1, "maximum": MAX_IMPORT_ROWS}})),
        "MeetingBody": body(&["lead_id", "scheduled_at"], json!({"lead_id": uuid, "scheduled_at": time,
            "status": enum_of(MEETING_STATUSES)}), true),
        "MeetingPatch": body(&[], json!({"scheduled_at": time, "status": enum_of(MEETING_STATUSES)}), true),
        "Meeting": record(json!({"id": uuid, "lead_id": uuid, "scheduled_at": time,
            "status": enum_of(MEETING_STATUSES), "created_at": time, "updated_at": time})),
        "MeetingPage": page_of("Meeting"),
        "NotificationBody": notification_body,
        "Queued": record(json!({
            "id": uuid, "type": enum_of(NOTIFICATION_TYPES), "recipient_count": count(),
            "suppressed_count": count(), "status": {"const": "queued"}})),
        "Notification": notification.clone(),
        "NotificationPage": page_of("Notification"),
        "Recipient": record(json!({"email": text, "status": enum_of(EMAIL_STATUSES), "attempts": count(),
            "last_error": text_or_null, "sent_at": time_or_null})),
        "NotificationDetail": extend(&notification, json!({
            "body": text, "body_html": text_or_null, "action_url": text_or_null, "action_text": text_or_null,
            "recipients": page_of("Recipient")}), &[]),
        "Overview": record(json!({
            "as_of": {"type": "string", "format": "date-time", "description": "When the snapshot was computed"},
            "age_seconds": {"type": "integer", "minimum": 0},
            "organizations": record(json!({"total": count(), "by_status": counts_by(ORGANIZATION_STATUSES),
                "by_plan": counts_by(PLANS), "new_last_30_days": count()})),
            "users": record(json!({"total": count(), "by_role": counts_by(USER_ROLES),
                "by_status": counts_by(USER_STATUSES), "new_last_30_days": count()})),
            "campaigns": record(json!({"total": count(), "active": count()})),
            "leads": record(json!({"total": count(), "converted": count(),
                "conversion_rate": {"type": "number", "minimum": 0, "maximum": 1}})),
            "meetings": record(json!({"scheduled_upcoming": count()})),
            "emails": record(json!({"sent": count(), "failed": count(), "pending": count()}))})),
        "AdminOrganizationBody": body(&["name"], json!({"name": name, "plan": enum_of(PLANS),
            "settings": settings, "owner_email": email}), true),
        "AdminOrganizationPatch": body(&[], json!({"name": name, "plan": enum_of(PLANS),
            "settings": settings, "status": enum_of(SETTABLE_STATUSES)}), true),
        "AdminOrganization": admin_organization.clone(),
        "AdminOrganizationCreated": extend(&admin_organization, json!({"owner_invitation": invitation}),
            &["owner_invitation"]),
        "AdminOrganizationDetail": extend(&admin_organization, json!({
            "owners": {"type": "array", "items": record(json!({
                "id": uuid, "email": text, "full_name": text, "status": enum_of(USER_STATUSES),
                "email_verified": {"type": "boolean"}, "last_login_at": time_or_null}))},
            "counts": record(json!({"users": count(), "campaigns": count(), "leads": count(), "meetings": count()})),
            "pending_invitations": {"type": "array", "items": invitation}}), &[]),
        "AdminOrganizationPage": page_of("AdminOrganization"),
        "Deleted": record_with_optional(json!({"id": uuid, "status": enum_of(&["deleted", "erased"]),
            "erased": {"type": "boolean"},
            "rows": record(json!({"users": count(), "invitations": count(), "campaigns": count(),
                "leads": count(), "meetings": count()}))}), &["rows"]),
        "AdminUser": extend(&member, json!({"is_platform_admin": {"type": "boolean"},
            "organization": {"oneOf": [{"type": "null"}, record(json!({
                "id": uuid, "name": text, "slug": text, "status": enum_of(ORGANIZATION_STATUSES)}))]}}), &[]),
        "AdminUserPage": page_of("AdminUser"),
        "AdminUserUpdated": extend(&member, json!({"sessions_revoked": count()}), &[]),
        "StatusBody": body(&["status"], json!({"status": enum_of(SETTABLE_STATUSES)}), false),
        "SystemMetrics": system_metrics()
    })
}

/// `GET /admin/system/metrics` (`http::prometheus::system_metrics`): the
/// process's requests and latency, the pool, the database's figures.
fn system_metrics() -> Value {
    let seconds_or_null = json!({"type": ["number", "null"], "minimum": 0});
    let latency = json!({"count": count(), "p50": seconds_or_null, "p95": seconds_or_null,
                         "p99": seconds_or_null});
    let mut route = latency.clone();
    route["method"] = json!({"type": "string"});
    route["route"] = json!({"type": "string"});
    record(json!({
        "uptime_seconds": count(),
        "requests": record(json!({"total": count(), "by_status_class": counts_by(&["1xx", "2xx", "3xx", "4xx", "5xx"])})),
        "latency_seconds": record(json!({"window_seconds": count(), "overall": record(latency.clone()),
            "routes": {"type": "array", "items": record(route)}})),
        "database": record(json!({"size_bytes": count(), "connections": count(),
            "pool": record(json!({"max_size": count(), "size": count(), "in_use": count(),
                "available": {"type": "integer"}, "waiting": count()}))})),
        "outbox": record(json!({"pending": count(), "sending": count(), "failed": count(),
            "cancelled": count(), "sent_last_24h": count()})),
        "email_delivery_seconds": record(latency)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_resolves_and_ids_are_unique() {
        let doc = document(true);
        let text = doc.to_string();
        for part in text.split("\"$ref\":\"#/").skip(1) {
            let pointer: String = part.chars().take_while(|c| *c != '"').collect();
            assert!(
                doc.pointer(&format!("/{pointer}")).is_some(),
                "unresolved #/{pointer}"
            );
        }
        let mut ids: Vec<String> = OPS.iter().map(operation_id).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate operationId");
    }

    /// Every response object is closed: an undocumented field is a
    /// violation wherever it appears (free-form maps say so explicitly).
    #[test]
    fn response_objects_are_closed() {
        fn walk(v: &Value, at: &str, open: &mut Vec<String>) {
            match v {
                Value::Object(o) => {
                    if o.get("type") == Some(&json!("object"))
                        && o.contains_key("properties")
                        && o.get("additionalProperties") != Some(&json!(false))
                    {
                        open.push(at.to_owned());
                    }
                    for (k, child) in o {
                        walk(child, &format!("{at}/{k}"), open);
                    }
                }
                Value::Array(items) => {
                    for (i, child) in items.iter().enumerate() {
                        walk(child, &format!("{at}/{i}"), open);
                    }
                }
                _ => {}
            }
        }
        let doc = document(true);
        let request_bodies: Vec<String> = OPS
            .iter()
            .filter_map(|op| op.body)
            .map(str::to_owned)
            .chain(["LeadBody".to_owned()])
            .collect();
        let mut open = Vec::new();
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            if request_bodies.contains(name) || name == "OpenApiDocument" {
                continue;
            }
            walk(schema, name, &mut open);
        }
        assert!(open.is_empty(), "open response objects: {open:?}");
    }

    #[test]
    fn lists_take_a_cursor_and_pages_carry_their_count_strategy() {
        let doc = document(false);
        let leads = &doc["paths"]["/api/v1/user/leads"]["get"]["parameters"];
        assert!(
            leads
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "cursor")
        );
        let page = &doc["components"]["schemas"]["LeadPage"];
        assert!(page["properties"]["next_cursor"].is_object());
        let required = page["required"].as_array().unwrap();
        assert!(required.contains(&json!("next_cursor")));
        assert!(required.contains(&json!("total_is_estimate")));
    }
}
