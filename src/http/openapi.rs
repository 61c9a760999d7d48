//! The API's contract: an OpenAPI 3.1 document built here from one table of
//! operations (method, path, who may call it, parameters, request and
//! response schemas), served at `GET /api/v1/openapi.json` and browsed with
//! Swagger UI at `/docs`. The table is checked against the router itself
//! (`tests/api/openapi.rs`): a routed path or method missing here, or an
//! operation here that is not routed, fails the build's tests; schemathesis
//! checks every response against it in `.ci/run`.

use serde_json::{Map, Value, json};

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
    Op { method: "get", path: "/api/v1/openapi.json", tag: "Health", summary: "This document", auth: Auth::None, query: &[], body: None, ok: (200, Some("AnyObject")), errors: &[] },
    Op { method: "get", path: "/.well-known/jwks.json", tag: "Auth", summary: "The public keys that verify access tokens (JWK Set; empty with HS256 alone)", auth: Auth::None, query: &[], body: None, ok: (200, Some("JwkSet")), errors: &[] },
    // Auth
    Op { method: "post", path: "/api/v1/auth/register", tag: "Auth", summary: "Register: a new organization and its owner (202 whatever the address)", auth: Auth::None, query: &[], body: Some("RegisterBody"), ok: (202, Some("Detail")), errors: &[400, 415, 422, 429] },
    Op { method: "post", path: "/api/v1/auth/login", tag: "Auth", summary: "Sign in: a token pair", auth: Auth::None, query: &[], body: Some("LoginBody"), ok: (200, Some("Tokens")), errors: &[400, 401, 403, 415, 422, 429] },
    Op { method: "post", path: "/api/v1/auth/refresh", tag: "Auth", summary: "Rotate the refresh token: a new pair", auth: Auth::None, query: &[], body: Some("RefreshBody"), ok: (200, Some("Tokens")), errors: &[400, 401, 403, 415, 422] },
    Op { method: "post", path: "/api/v1/auth/logout", tag: "Auth", summary: "End this session", auth: Auth::Bearer, query: &[], body: None, ok: (204, None), errors: &[401, 403] },
    Op { method: "post", path: "/api/v1/auth/change-password", tag: "Auth", summary: "Change the password (ends the other sessions)", auth: Auth::Bearer, query: &[], body: Some("ChangePasswordBody"), ok: (200, Some("Detail")), errors: &[400, 401, 403, 415, 422, 429] },
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
    Op { method: "post", path: "/api/v1/user/sessions/revoke-others", tag: "User", summary: "End every other session", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("Revoked")), errors: &[401, 403] },
    Op { method: "delete", path: "/api/v1/user/sessions/{session_id}", tag: "User", summary: "End one of the user's sessions", auth: Auth::Bearer, query: &[], body: None, ok: (204, None), errors: &[400, 401, 403, 404] },
    // Organization and team
    Op { method: "get", path: "/api/v1/user/organizations/me", tag: "Organization", summary: "The user's organization", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("Organization")), errors: &[401, 403] },
    Op { method: "patch", path: "/api/v1/user/organizations/me", tag: "Organization", summary: "Rename it or change its settings (owner, admin)", auth: Auth::Bearer, query: &[], body: Some("OrganizationPatch"), ok: (200, Some("Organization")), errors: &[400, 401, 403, 415, 422] },
    Op { method: "get", path: "/api/v1/user/organizations/me/users", tag: "Organization", summary: "The members (owner, admin, manager)", auth: Auth::Bearer, query: &["page", "per_page", "role", "status", "q", "search"], body: None, ok: (200, Some("MemberPage")), errors: &[401, 403, 422] },
    Op { method: "post", path: "/api/v1/user/organizations/me/users/invite", tag: "Organization", summary: "Invite someone by email (owner, admin)", auth: Auth::Bearer, query: &[], body: Some("InviteBody"), ok: (201, Some("Invitation")), errors: &[400, 401, 403, 409, 415, 422, 429] },
    Op { method: "patch", path: "/api/v1/user/organizations/me/users/{user_id}/role", tag: "Organization", summary: "Change a member's role (owner, admin)", auth: Auth::Bearer, query: &[], body: Some("RoleBody"), ok: (200, Some("Member")), errors: &[400, 401, 403, 404, 409, 415, 422] },
    Op { method: "delete", path: "/api/v1/user/organizations/me/users/{user_id}", tag: "Organization", summary: "Remove a member (owner, admin)", auth: Auth::Bearer, query: &[], body: None, ok: (204, None), errors: &[400, 401, 403, 404, 409] },
    Op { method: "get", path: "/api/v1/user/organizations/me/invitations", tag: "Organization", summary: "Invitations, newest first (owner, admin)", auth: Auth::Bearer, query: LIST, body: None, ok: (200, Some("InvitationPage")), errors: &[401, 403, 422] },
    Op { method: "delete", path: "/api/v1/user/organizations/me/invitations/{invitation_id}", tag: "Organization", summary: "Revoke a pending invitation (owner, admin)", auth: Auth::Bearer, query: &[], body: None, ok: (204, None), errors: &[400, 401, 403, 404, 409] },
    Op { method: "post", path: "/api/v1/user/organizations/me/invitations/{invitation_id}/resend", tag: "Organization", summary: "Resend an invitation with a new link (owner, admin)", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("Invitation")), errors: &[400, 401, 403, 404, 409, 429] },
    Op { method: "get", path: "/api/v1/user/organizations/me/audit-log", tag: "Organization", summary: "The audit log, newest first (owner, admin)", auth: Auth::Bearer, query: &["page", "per_page", "action"], body: None, ok: (200, Some("AuditPage")), errors: &[401, 403, 422] },
    // Prospecting
    Op { method: "get", path: "/api/v1/user/campaigns", tag: "Prospecting", summary: "Campaigns with their lead counts", auth: Auth::Bearer, query: &["page", "per_page", "status", "q", "search", "sort_campaign", "order"], body: None, ok: (200, Some("CampaignPage")), errors: &[401, 403, 422] },
    Op { method: "post", path: "/api/v1/user/campaigns", tag: "Prospecting", summary: "Create a campaign (owner, admin, manager)", auth: Auth::Bearer, query: &[], body: Some("CampaignBody"), ok: (201, Some("Campaign")), errors: &[400, 401, 403, 409, 415, 422] },
    Op { method: "get", path: "/api/v1/user/campaigns/{campaign_id}", tag: "Prospecting", summary: "One campaign", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("Campaign")), errors: &[400, 401, 403, 404] },
    Op { method: "patch", path: "/api/v1/user/campaigns/{campaign_id}", tag: "Prospecting", summary: "Rename it or move it along draft → active ⇄ paused → completed", auth: Auth::Bearer, query: &[], body: Some("CampaignPatch"), ok: (200, Some("Campaign")), errors: &[400, 401, 403, 404, 409, 415, 422] },
    Op { method: "delete", path: "/api/v1/user/campaigns/{campaign_id}", tag: "Prospecting", summary: "Delete a campaign (owner, admin)", auth: Auth::Bearer, query: &[], body: None, ok: (204, None), errors: &[400, 401, 403, 404] },
    Op { method: "get", path: "/api/v1/user/leads", tag: "Prospecting", summary: "Leads: filter, search, sort", auth: Auth::Bearer, query: &["page", "per_page", "status", "campaign_id", "q", "search", "sort_lead", "order"], body: None, ok: (200, Some("LeadPage")), errors: &[401, 403, 422] },
    Op { method: "post", path: "/api/v1/user/leads", tag: "Prospecting", summary: "Create a lead (owner, admin, manager)", auth: Auth::Bearer, query: &[], body: Some("LeadBody"), ok: (201, Some("Lead")), errors: &[400, 401, 403, 409, 415, 422] },
    Op { method: "post", path: "/api/v1/user/leads/import", tag: "Prospecting", summary: "Import leads: a JSON array or CSV with a header row, all or nothing", auth: Auth::Bearer, query: &[], body: Some("LeadImport"), ok: (201, Some("Imported")), errors: &[400, 401, 403, 409, 413, 415, 422] },
    Op { method: "get", path: "/api/v1/user/leads/{lead_id}", tag: "Prospecting", summary: "One lead", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("Lead")), errors: &[400, 401, 403, 404] },
    Op { method: "patch", path: "/api/v1/user/leads/{lead_id}", tag: "Prospecting", summary: "Edit a lead or move it one step along its funnel", auth: Auth::Bearer, query: &[], body: Some("LeadPatch"), ok: (200, Some("Lead")), errors: &[400, 401, 403, 404, 409, 415, 422] },
    Op { method: "delete", path: "/api/v1/user/leads/{lead_id}", tag: "Prospecting", summary: "Delete a lead (owner, admin)", auth: Auth::Bearer, query: &[], body: None, ok: (204, None), errors: &[400, 401, 403, 404] },
    Op { method: "get", path: "/api/v1/user/meetings", tag: "Prospecting", summary: "Meetings, soonest first", auth: Auth::Bearer, query: &["page", "per_page", "status", "lead_id", "campaign_id", "sort_meeting", "order"], body: None, ok: (200, Some("MeetingPage")), errors: &[401, 403, 422] },
    Op { method: "post", path: "/api/v1/user/meetings", tag: "Prospecting", summary: "Schedule a meeting with a lead (owner, admin, manager)", auth: Auth::Bearer, query: &[], body: Some("MeetingBody"), ok: (201, Some("Meeting")), errors: &[400, 401, 403, 404, 409, 415, 422] },
    Op { method: "get", path: "/api/v1/user/meetings/{meeting_id}", tag: "Prospecting", summary: "One meeting", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("Meeting")), errors: &[400, 401, 403, 404] },
    Op { method: "patch", path: "/api/v1/user/meetings/{meeting_id}", tag: "Prospecting", summary: "Move, complete or cancel a meeting", auth: Auth::Bearer, query: &[], body: Some("MeetingPatch"), ok: (200, Some("Meeting")), errors: &[400, 401, 403, 404, 409, 415, 422] },
    Op { method: "delete", path: "/api/v1/user/meetings/{meeting_id}", tag: "Prospecting", summary: "Delete a meeting (owner, admin)", auth: Auth::Bearer, query: &[], body: None, ok: (204, None), errors: &[400, 401, 403, 404] },
    // Notifications
    Op { method: "post", path: "/api/v1/user/notifications/send", tag: "Notifications", summary: "Send org_to_prospects or org_owner_to_members (owner, admin)", auth: Auth::Bearer, query: &[], body: Some("NotificationBody"), ok: (202, Some("Queued")), errors: &[400, 401, 403, 415, 422, 429] },
    Op { method: "get", path: "/api/v1/user/notifications", tag: "Notifications", summary: "The organization's notifications with delivery counts (owner, admin)", auth: Auth::Bearer, query: &["page", "per_page", "type"], body: None, ok: (200, Some("NotificationPage")), errors: &[401, 403, 422] },
    Op { method: "get", path: "/api/v1/user/notifications/{notification_id}", tag: "Notifications", summary: "One notification and a page of its recipients (owner, admin)", auth: Auth::Bearer, query: LIST, body: None, ok: (200, Some("NotificationDetail")), errors: &[400, 401, 403, 404, 422] },
    Op { method: "get", path: "/api/v1/unsubscribe", tag: "Notifications", summary: "The unsubscribe page of an email's link (changes nothing)", auth: Auth::None, query: &["token"], body: None, ok: (200, Some("Html")), errors: &[400] },
    Op { method: "post", path: "/api/v1/unsubscribe", tag: "Notifications", summary: "One-click unsubscribe (RFC 8058)", auth: Auth::None, query: &["token"], body: None, ok: (200, Some("Html")), errors: &[400] },
    // Platform admin
    Op { method: "get", path: "/api/v1/admin/overview", tag: "Platform Admin", summary: "Every count of the platform", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("Overview")), errors: &[401, 403] },
    Op { method: "get", path: "/api/v1/admin/organizations", tag: "Platform Admin", summary: "Every organization", auth: Auth::Bearer, query: &["page", "per_page", "plan", "org_status", "q", "search", "sort_org", "order"], body: None, ok: (200, Some("AdminOrganizationPage")), errors: &[401, 403, 422] },
    Op { method: "post", path: "/api/v1/admin/organizations", tag: "Platform Admin", summary: "Create an organization, its owner invited", auth: Auth::Bearer, query: &[], body: Some("AdminOrganizationBody"), ok: (201, Some("AdminOrganization")), errors: &[400, 401, 403, 409, 415, 422, 429] },
    Op { method: "get", path: "/api/v1/admin/organizations/{org_id}", tag: "Platform Admin", summary: "One organization with its owners, counts and pending invitations", auth: Auth::Bearer, query: &[], body: None, ok: (200, Some("AdminOrganization")), errors: &[400, 401, 403, 404] },
    Op { method: "patch", path: "/api/v1/admin/organizations/{org_id}", tag: "Platform Admin", summary: "Rename, change plan or settings, suspend, reactivate or restore", auth: Auth::Bearer, query: &[], body: Some("AdminOrganizationPatch"), ok: (200, Some("AdminOrganization")), errors: &[400, 401, 403, 404, 409, 415, 422] },
    Op { method: "delete", path: "/api/v1/admin/organizations/{org_id}", tag: "Platform Admin", summary: "Soft delete, or erase with ?hard=true", auth: Auth::Bearer, query: &["hard"], body: None, ok: (200, Some("Deleted")), errors: &[400, 401, 403, 404, 422] },
    Op { method: "post", path: "/api/v1/admin/organizations/{org_id}/users/invite", tag: "Platform Admin", summary: "Invite anyone into an organization, with any role", auth: Auth::Bearer, query: &[], body: Some("InviteBody"), ok: (201, Some("Invitation")), errors: &[400, 401, 403, 404, 409, 415, 422, 429] },
    Op { method: "get", path: "/api/v1/admin/users", tag: "Platform Admin", summary: "Every user, platform admins included", auth: Auth::Bearer, query: &["page", "per_page", "organization_id", "role_any", "user_status", "q", "search", "sort_user", "order"], body: None, ok: (200, Some("AdminUserPage")), errors: &[401, 403, 422] },
    Op { method: "patch", path: "/api/v1/admin/users/{user_id}", tag: "Platform Admin", summary: "Suspend or reactivate a user", auth: Auth::Bearer, query: &[], body: Some("StatusBody"), ok: (200, Some("AdminUser")), errors: &[400, 401, 403, 404, 409, 415, 422] },
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

fn uuid() -> Value {
    json!({"type": "string", "format": "uuid"})
}

fn enum_of(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

/// A query parameter: its public name and schema.
fn query_param(key: &str) -> (&'static str, Value) {
    let order = enum_of(&["asc", "desc"]);
    match key {
        "page" => (
            "page",
            json!({"type": "integer", "minimum": 1, "default": 1}),
        ),
        "per_page" => (
            "per_page",
            json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
        ),
        "q" => ("q", json!({"type": "string", "maxLength": 100})),
        "search" => (
            "search",
            json!({"type": "string", "maxLength": 100, "description": "the same as q"}),
        ),
        "order" => ("order", order),
        "role" => ("role", enum_of(&["owner", "admin", "manager", "member"])),
        "role_any" => (
            "role",
            enum_of(&["platform_admin", "owner", "admin", "manager", "member"]),
        ),
        "status" | "user_status" => ("status", enum_of(&["active", "suspended", "removed"])),
        "org_status" => ("status", enum_of(&["active", "suspended", "deleted"])),
        "plan" => ("plan", enum_of(&["free", "starter", "pro", "enterprise"])),
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

const NOTIFICATION_TYPES: &[&str] = &[
    "org_to_prospects",
    "org_owner_to_members",
    "vectra_to_users",
    "vectra_to_org_owner",
    "system_alerts",
];

/// Which status a filter of the same name means on each list.
fn status_for(path: &str, key: &'static str) -> Value {
    let statuses: &[&str] = if path.ends_with("/campaigns") {
        &["draft", "active", "paused", "completed"]
    } else if path.ends_with("/leads") {
        &[
            "new",
            "contacted",
            "replied",
            "qualified",
            "converted",
            "lost",
        ]
    } else if path.ends_with("/meetings") {
        &["scheduled", "completed", "cancelled"]
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
            "application/json": {"schema": {"type": "array", "items": reference("LeadBody"), "minItems": 1}},
            "text/csv": {"schema": {"type": "string"}}
        }),
        name => json!({"application/json": {"schema": reference(name)}}),
    }
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
    for key in op.query {
        let (name, schema) = query_param(key);
        let schema = if name == "status" {
            status_for(op.path, key)
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
    let mut responses = Map::new();
    let (status, schema) = op.ok;
    let mut ok = json!({"description": reason(status)});
    if let Some(schema) = schema {
        ok["content"] = content(schema);
    }
    if status == 308 {
        ok["headers"] = json!({"Location": {"schema": {"type": "string"}}});
    }
    responses.insert(status.to_string(), ok);
    let mut errors: Vec<u16> = op.errors.to_vec();
    // Any request may be refused for its size, its time or the server's
    // state; every error is problem+json.
    errors.extend([413, 500, 503, 504]);
    if op.auth == Auth::Bearer {
        errors.extend([401, 403]);
    }
    if op.path.contains('{') {
        errors.extend([400, 404]);
    }
    if op.body.is_some() {
        errors.extend([400, 415, 422]);
    }
    if !op.query.is_empty() {
        errors.push(422);
    }
    errors.push(405);
    errors.sort_unstable();
    errors.dedup();
    for code in errors {
        if code == status {
            continue;
        }
        responses.insert(
            code.to_string(),
            json!({"description": reason(code), "content": {"application/problem+json": {"schema": reference("Problem")}}}),
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
        400 => "Bad request: malformed JSON, id or token",
        401 => "Not authenticated: missing, bad, expired or revoked token",
        403 => "Forbidden for this caller",
        404 => "Not found",
        405 => "Method not allowed",
        409 => "Conflict with the current state",
        413 => "Body too large",
        415 => "Unsupported content type",
        422 => "Invalid fields, each named",
        429 => "Too many requests (Retry-After)",
        500 => "Unexpected error",
        503 => "Database unavailable",
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
            "description": "Multi-tenant B2B prospecting backend; tenant isolation enforced by PostgreSQL row-level security. Errors are RFC 9457 problem+json. See docs/api.md for the rules of each route."
        },
        "tags": [
            {"name": "Health"}, {"name": "Auth"}, {"name": "User"}, {"name": "Organization"},
            {"name": "Prospecting"}, {"name": "Notifications"}, {"name": "Platform Admin"}
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                           "description": "The access_token of login, refresh, verify-email or accept-invitation."}
            },
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

fn page_of(item: &str) -> Value {
    json!({
        "type": "object",
        "required": ["items", "page", "per_page", "total"],
        "properties": {
            "items": {"type": "array", "items": reference(item)},
            "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"}
        }
    })
}

/// A request or response object: the `required` properties, and the others
/// optional, where `null` means "not given" as it does to the service.
fn object(required: &[&str], properties: Value) -> Value {
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
    json!({"type": "object", "required": required, "properties": properties})
}

fn accepts_null(schema: &Value) -> bool {
    match &schema["type"] {
        Value::String(t) => t == "null",
        Value::Array(ts) => ts.iter().any(|t| t == "null"),
        _ => schema.as_object().is_some_and(|o| o.is_empty()),
    }
}

fn schemas() -> Value {
    let uuid = json!({"type": "string", "format": "uuid"});
    let time = json!({"type": "string", "format": "date-time"});
    let time_or_null = json!({"type": ["string", "null"], "format": "date-time"});
    let text_or_null = json!({"type": ["string", "null"]});
    let email = json!({"type": "string", "maxLength": 254, "examples": ["ann@example.com"]});
    let role = enum_of(&["platform_admin", "owner", "admin", "manager", "member"]);
    let org_role = enum_of(&["owner", "admin", "manager", "member"]);
    let password = json!({"type": "string", "minLength": 10, "maxLength": 128, "examples": ["correct horse battery staple"]});
    let name = json!({"type": "string", "minLength": 1, "maxLength": 200});
    let org_ref = json!({"type": ["object", "null"], "required": ["id", "name"], "properties": {
        "id": uuid, "name": {"type": "string"}, "slug": {"type": "string"}, "status": {"type": "string"}}});
    let recipients = json!({"oneOf": [
        {"const": "all"},
        {"type": "array", "minItems": 1, "maxItems": 1000, "items": email}
    ]});
    json!({
        "Problem": object(&["type", "title", "status", "detail"], json!({
            "type": {"type": "string", "examples": ["urn:vectra:problem:validation"]},
            "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
            "instance": {"type": "string"}, "hint": {"type": "string"},
            "errors": {"type": "array", "items": object(&["field", "message"], json!({
                "field": {"type": "string"}, "message": {"type": "string"}}))}
        })),
        "AnyObject": {"type": "object"},
        "Status": object(&["status"], json!({"status": {"type": "string"}})),
        "JwkSet": {"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "items": {
            "type": "object", "required": ["kty", "crv", "x", "kid", "alg", "use"],
            "properties": {"kty": {"const": "OKP"}, "crv": {"const": "Ed25519"}, "x": {"type": "string"},
                "kid": {"type": "string"}, "alg": {"const": "EdDSA"}, "use": {"const": "sig"}},
            "not": {"required": ["d"]}}}}},
        "Readiness": object(&["status"], json!({"status": {"type": "string"}})),
        "Detail": object(&["detail"], json!({"detail": {"type": "string"}})),
        "Revoked": object(&[], json!({"revoked": {"type": "integer"}})),
        "RegisterBody": object(&["email", "password", "full_name"], json!({
            "email": email, "password": password, "full_name": name, "organization_name": name})),
        "LoginBody": object(&["email", "password"], json!({"email": email, "password": {"type": "string"}})),
        "RefreshBody": object(&["refresh_token"], json!({"refresh_token": {"type": "string"}})),
        "ChangePasswordBody": object(&["current_password", "new_password"], json!({
            "current_password": {"type": "string"}, "new_password": password})),
        "TokenBody": object(&["token"], json!({"token": {"type": "string"}})),
        "EmailBody": object(&["email"], json!({"email": email})),
        "ResetBody": object(&["token", "new_password"], json!({"token": {"type": "string"}, "new_password": password})),
        "AcceptInvitationBody": object(&["token", "password", "full_name"], json!({
            "token": {"type": "string"}, "password": password, "full_name": name})),
        "Tokens": object(&["access_token", "refresh_token", "token_type", "expires_in", "user"], json!({
            "access_token": {"type": "string"}, "refresh_token": {"type": "string"},
            "token_type": {"const": "bearer"}, "expires_in": {"type": "integer"}, "user": reference("Profile")})),
        "Profile": object(&["id", "email", "full_name", "role"], json!({
            "id": uuid, "email": {"type": "string"}, "full_name": {"type": "string"}, "role": role,
            "email_verified": {"type": "boolean"}, "organization": org_ref})),
        "Session": object(&["id"], json!({"id": uuid, "created_at": time, "last_used_at": time_or_null,
            "user_agent": text_or_null, "current": {"type": "boolean"}})),
        "SessionPage": page_of("Session"),
        "Organization": object(&["id", "name", "slug", "plan", "status"], json!({
            "id": uuid, "name": {"type": "string"}, "slug": {"type": "string"},
            "plan": enum_of(&["free", "starter", "pro", "enterprise"]),
            "status": enum_of(&["active", "suspended", "deleted"]), "settings": {"type": "object"},
            "created_at": time, "updated_at": time})),
        "OrganizationPatch": object(&[], json!({"name": name, "settings": {"type": "object"}})),
        "Member": object(&["id", "email", "full_name", "role", "status"], json!({
            "id": uuid, "email": {"type": "string"}, "full_name": {"type": "string"}, "role": role,
            "status": enum_of(&["active", "suspended", "removed"]), "email_verified": {"type": "boolean"},
            "last_login_at": time_or_null, "created_at": time})),
        "MemberPage": page_of("Member"),
        "InviteBody": object(&["email", "role"], json!({"email": email, "role": org_role})),
        "RoleBody": object(&["role"], json!({"role": org_role})),
        "Invitation": object(&["id", "email", "role", "status", "expires_at"], json!({
            "id": uuid, "email": {"type": "string"}, "role": role, "status": {"type": "string"},
            "expires_at": time, "invited_by": {"type": ["string", "null"], "format": "uuid"}, "created_at": time})),
        "InvitationPage": page_of("Invitation"),
        "AuditEntry": object(&["id", "action", "created_at"], json!({
            "id": {"type": ["integer", "string"]}, "action": {"type": "string"}, "actor_id": {"type": ["string", "null"]},
            "target_type": text_or_null, "target_id": text_or_null, "data": {}, "created_at": time})),
        "AuditPage": page_of("AuditEntry"),
        "CampaignBody": object(&["name"], json!({"name": name, "status": enum_of(&["draft", "active", "paused", "completed"])})),
        "CampaignPatch": object(&[], json!({"name": name, "status": enum_of(&["draft", "active", "paused", "completed"])})),
        "Campaign": object(&["id", "name", "status"], json!({"id": uuid, "name": {"type": "string"},
            "status": enum_of(&["draft", "active", "paused", "completed"]), "created_at": time})),
        "CampaignPage": page_of("Campaign"),
        "LeadBody": object(&["email"], json!({"email": email, "full_name": name, "company": name,
            "status": enum_of(&["new", "contacted", "replied", "qualified", "converted", "lost"]), "campaign_id": uuid})),
        "LeadPatch": object(&[], json!({"email": email, "full_name": {"type": ["string", "null"]},
            "company": {"type": ["string", "null"]},
            "status": enum_of(&["new", "contacted", "replied", "qualified", "converted", "lost"]),
            "campaign_id": {"type": ["string", "null"], "format": "uuid"}})),
        "Lead": object(&["id", "email", "status"], json!({"id": uuid, "email": {"type": "string"},
            "full_name": text_or_null, "company": text_or_null,
            "status": enum_of(&["new", "contacted", "replied", "qualified", "converted", "lost"]),
            "campaign_id": {"type": ["string", "null"], "format": "uuid"}, "created_at": time})),
        "LeadPage": page_of("Lead"),
        "Imported": object(&["created"], json!({"created": {"type": "integer"}})),
        "MeetingBody": object(&["lead_id", "scheduled_at"], json!({"lead_id": uuid, "scheduled_at": time,
            "status": enum_of(&["scheduled", "completed", "cancelled"])})),
        "MeetingPatch": object(&[], json!({"scheduled_at": time, "status": enum_of(&["scheduled", "completed", "cancelled"])})),
        "Meeting": object(&["id", "lead_id", "scheduled_at", "status"], json!({"id": uuid, "lead_id": uuid,
            "scheduled_at": time, "status": enum_of(&["scheduled", "completed", "cancelled"])})),
        "MeetingPage": page_of("Meeting"),
        "NotificationBody": object(&["type", "subject", "body"], json!({
            "type": enum_of(NOTIFICATION_TYPES), "recipients": recipients,
            "organization_ids": {"type": "array", "minItems": 1, "maxItems": 1000, "items": uuid},
            "subject": {"type": "string", "minLength": 1, "maxLength": 200},
            "body": {"type": "string", "minLength": 1, "maxLength": 20000},
            "body_html": {"type": ["string", "null"], "maxLength": 100000},
            "action_url": {"type": "string", "format": "uri", "maxLength": 2048},
            "action_text": {"type": "string", "minLength": 1, "maxLength": 100}})),
        "Queued": object(&["id", "type", "recipient_count", "suppressed_count", "status"], json!({
            "id": uuid, "type": enum_of(NOTIFICATION_TYPES), "recipient_count": {"type": "integer"},
            "suppressed_count": {"type": "integer"}, "status": {"const": "queued"}})),
        "Notification": object(&["id", "type", "subject", "recipient_count", "suppressed_count", "delivery"], json!({
            "id": uuid, "type": enum_of(NOTIFICATION_TYPES), "organization_id": {"type": ["string", "null"], "format": "uuid"},
            "sender_id": {"type": ["string", "null"]}, "subject": {"type": "string"},
            "recipient_count": {"type": "integer"}, "suppressed_count": {"type": "integer"}, "created_at": time,
            "delivery": object(&["pending", "sending", "sent", "failed", "cancelled"], json!({
                "pending": {"type": "integer"}, "sending": {"type": "integer"}, "sent": {"type": "integer"}, "failed": {"type": "integer"},
                "cancelled": {"type": "integer"}}))})),
        "NotificationPage": page_of("Notification"),
        "Recipient": object(&["email", "status", "attempts"], json!({"email": {"type": "string"},
            "status": enum_of(&["pending", "sending", "sent", "failed", "cancelled"]), "attempts": {"type": "integer"},
            "last_error": text_or_null, "sent_at": time_or_null})),
        "NotificationDetail": {"allOf": [reference("Notification"), object(&["body", "recipients"], json!({
            "body": {"type": "string"}, "body_html": text_or_null, "action_url": text_or_null, "action_text": text_or_null,
            "recipients": page_of("Recipient")}))]},
        "Overview": object(&["organizations", "users", "campaigns", "leads", "meetings", "emails"], json!({
            "organizations": {"type": "object"}, "users": {"type": "object"}, "campaigns": {"type": "object"},
            "leads": {"type": "object"}, "meetings": {"type": "object"}, "emails": {"type": "object"}})),
        "AdminOrganizationBody": object(&["name"], json!({"name": name,
            "plan": enum_of(&["free", "starter", "pro", "enterprise"]), "settings": {"type": "object"}, "owner_email": email})),
        "AdminOrganizationPatch": object(&[], json!({"name": name, "plan": enum_of(&["free", "starter", "pro", "enterprise"]),
            "settings": {"type": "object"}, "status": enum_of(&["active", "suspended"])})),
        "AdminOrganization": object(&["id", "name", "slug", "plan", "status"], json!({
            "id": uuid, "name": {"type": "string"}, "slug": {"type": "string"},
            "plan": enum_of(&["free", "starter", "pro", "enterprise"]),
            "status": enum_of(&["active", "suspended", "deleted"]), "users_count": {"type": "integer"},
            "deleted_at": time_or_null, "settings": {"type": "object"}})),
        "AdminOrganizationPage": page_of("AdminOrganization"),
        "Deleted": object(&["id", "status", "erased"], json!({"id": uuid, "status": enum_of(&["deleted", "erased"]),
            "erased": {"type": "boolean"}, "rows": {"type": "object"}})),
        "AdminUser": object(&["id", "email", "role", "status"], json!({"id": uuid, "email": {"type": "string"},
            "full_name": {"type": "string"}, "role": role, "status": enum_of(&["active", "suspended", "removed"]),
            "is_platform_admin": {"type": "boolean"}, "organization": org_ref})),
        "AdminUserPage": page_of("AdminUser"),
        "StatusBody": object(&["status"], json!({"status": enum_of(&["active", "suspended"])})),
        "SystemMetrics": object(&["uptime_seconds", "requests", "database", "outbox"], json!({
            "uptime_seconds": {"type": "integer"}, "requests": {"type": "object"}, "latency_seconds": {"type": "object"},
            "database": {"type": "object"}, "outbox": {"type": "object"}, "email_delivery_seconds": {"type": "object"}}))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_resolves_and_ids_are_unique() {
        let doc = document(true);
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            assert!(schemas.contains_key(&name), "unresolved {name}");
        }
        let mut ids: Vec<String> = OPS.iter().map(operation_id).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate operationId");
    }
}
