//! Every statement the service sends, one typed Rust function per SQL
//! function: the handlers call these, never SQL text. [`CATALOG`] lists them
//! with their parameter and result types, and `tests/api/catalog.rs`
//! prepares each against the migrated schema, so a function renamed,
//! dropped or given another signature fails a test rather than a request.
//!
//! Each function runs its statement in its own request transaction as
//! `actor` ([`Db::call`]): the role, the settings, then the statement.

use std::net::IpAddr;

use serde_json::Value;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, ToSql, Type};
use uuid::Uuid;

use super::{Actor, Db, Error, JsonText};

/// What a call returns: a `jsonb` passed on as text ([`JsonText`]), one
/// value, the rows themselves, or nothing (`()` for `void` functions, or
/// a result the caller does not need).
pub trait CallResult: Sized {
    /// Whether the statement's result columns can be read as `Self`.
    fn accepts(columns: &[Type]) -> bool;
    fn from_rows(sql: &str, rows: Vec<Row>) -> Result<Self, Error>;
}

macro_rules! single_value {
    ($($t:ty),*) => {$(
        impl CallResult for $t {
            fn accepts(columns: &[Type]) -> bool {
                matches!(columns, [one] if <$t as FromSql>::accepts(one))
            }
            fn from_rows(sql: &str, rows: Vec<Row>) -> Result<Self, Error> {
                super::request::first_value(sql, &rows)
            }
        }
    )*};
}

single_value!(JsonText, Value, i32, bool, String, Uuid, Option<f64>);

impl CallResult for () {
    fn accepts(_: &[Type]) -> bool {
        true
    }
    fn from_rows(_: &str, _: Vec<Row>) -> Result<Self, Error> {
        Ok(())
    }
}

/// Several columns, read by the caller.
pub struct Rows(pub Vec<Row>);

impl CallResult for Rows {
    fn accepts(columns: &[Type]) -> bool {
        !columns.is_empty()
    }
    fn from_rows(_: &str, rows: Vec<Row>) -> Result<Self, Error> {
        Ok(Rows(rows))
    }
}

/// One entry of [`CATALOG`].
pub struct Call {
    pub name: &'static str,
    pub sql: &'static str,
    /// Per parameter, the SQL type the value is sent as (the statement is
    /// parsed with these types, named or unnamed: see `Statements`).
    pub params: &'static [Type],
    /// Whether the result columns can be read as the Rust result type.
    pub result: fn(&[Type]) -> bool,
}

/// A Rust value a call sends, and the SQL type it is sent as.
pub trait SqlParam: ToSql + Sync {
    const TYPE: Type;
}

macro_rules! sql_param {
    ($($t:ty => $ty:ident),* $(,)?) => {$(
        impl SqlParam for $t {
            const TYPE: Type = Type::$ty;
        }
    )*};
}

sql_param!(
    &str => TEXT,
    Uuid => UUID,
    i32 => INT4,
    f64 => FLOAT8,
    bool => BOOL,
    &Value => JSONB,
    IpAddr => INET,
    &[&str] => TEXT_ARRAY,
);

impl<T: SqlParam> SqlParam for Option<T> {
    const TYPE: Type = T::TYPE;
}

macro_rules! calls {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty = $sql:literal;
    )*) => {
        $(
            $(#[$doc])*
            #[doc = concat!("\n\n`", $sql, "`")]
            // As many arguments as the SQL function has parameters.
            #[allow(clippy::too_many_arguments)]
            pub async fn $name(db: &Db, actor: &Actor, $($arg: $ty),*) -> Result<$ret, Error> {
                let params: &[(&(dyn ToSql + Sync), Type)] = &[$((&$arg, <$ty as SqlParam>::TYPE)),*];
                let rows = db.query_typed(actor, $sql, params).await?;
                <$ret as CallResult>::from_rows($sql, rows)
            }
        )*

        /// Every call above, for the catalog test.
        pub const CATALOG: &[Call] = &[$(
            Call {
                name: stringify!($name),
                sql: $sql,
                params: &[$(<$ty as SqlParam>::TYPE),*],
                result: <$ret as CallResult>::accepts,
            },
        )*];
    };
}

/// `vectra create-platform-admin`, run as the migration owner on its own
/// connection (not a request transaction): listed for the catalog test.
pub const CREATE_PLATFORM_ADMIN: Call = Call {
    name: "create_platform_admin",
    sql: "select auth.create_platform_admin($1, $2, $3)",
    params: &[Type::TEXT, Type::TEXT, Type::TEXT],
    result: <Uuid as CallResult>::accepts,
};

calls! {
    // ---- schema auth: sign-up, sessions, passwords ----

    /// A new account and its organization, or a note to an existing one.
    fn register(email: &str, password_hash: &str, full_name: &str, organization_name: Option<&str>) -> ()
        = "select auth.register($1, $2, $3, $4)";
    /// The account a sign-in may open: `(user_id, password_hash)`.
    fn login_lookup(email: &str) -> Rows
        = "select user_id, password_hash from auth.login_lookup($1)";
    /// Opens a session after the password was verified.
    fn login(user_id: Uuid, password_hash: &str, user_agent: Option<&str>, ip: IpAddr) -> Value
        = "select auth.login($1, $2, $3, $4)";
    /// Rotates a refresh token; `{"error"}` when a rotated one came back.
    fn refresh(refresh_token: &str, user_agent: Option<&str>, ip: IpAddr) -> Value
        = "select auth.refresh($1, $2, $3)";
    fn logout() -> () = "select auth.logout()";
    /// The caller's `(email, password_hash)`.
    fn current_credentials() -> Rows
        = "select email, password_hash from auth.current_credentials()";
    /// Sessions revoked (every other one).
    fn change_password(current_hash: &str, new_hash: &str) -> i32
        = "select auth.change_password($1, $2)";
    fn verify_email(token: &str, user_agent: Option<&str>, ip: IpAddr) -> Value
        = "select auth.verify_email($1, $2, $3)";
    fn send_verification_email() -> () = "select auth.send_verification_email()";
    fn resend_verification_email(email: &str) -> ()
        = "select auth.resend_verification_email($1)";
    fn request_password_reset(email: &str) -> () = "select auth.request_password_reset($1)";
    /// The email a live reset token belongs to.
    fn reset_password_email(token: &str) -> String = "select auth.reset_password_email($1)";
    fn reset_password(token: &str, new_hash: &str) -> () = "select auth.reset_password($1, $2)";
    /// The email a live invitation is for.
    fn invitation_email(token: &str) -> String = "select auth.invitation_email($1)";
    fn accept_invitation(token: &str, password_hash: &str, full_name: &str, user_agent: Option<&str>, ip: IpAddr) -> Value
        = "select auth.accept_invitation($1, $2, $3, $4, $5)";
    fn me() -> JsonText = "select auth.me()";
    fn my_sessions(page: i32, per_page: i32, cursor: Option<&str>) -> JsonText
        = "select auth.my_sessions($1, $2, $3)";
    fn end_session(session_id: Uuid) -> () = "select auth.end_session($1)";
    fn end_other_sessions() -> i32 = "select auth.end_other_sessions()";
    /// What the unsubscribe link points at; `apply` unsubscribes.
    fn unsubscribe(token: &str, apply: bool) -> Value = "select auth.unsubscribe($1, $2)";
    /// The database's figures for the metrics (the worker's or the admin's).
    fn service_stats() -> Value = "select auth.service_stats()";
    fn schema_version() -> i32 = "select app.schema_version()";
    /// Nothing but the request transaction: the context statement's checks.
    fn confirm_session() -> () = "select 1";
    /// One attempt against each abuse-limit key, for the whole deployment:
    /// the seconds to wait when one is spent.
    fn hit_limits(keys: &[&str], per_minute: i32) -> Option<f64>
        = "select auth.hit_limits($1, $2)";
    /// A login attempt: the address's limit, then the email's backoff.
    fn check_login(address_key: &str, email: &str, per_minute: i32) -> Option<f64>
        = "select auth.check_login($1, $2, $3)";
    fn login_failed(email: &str, free_failures: i32) -> ()
        = "select auth.login_failed($1, $2)";
    fn login_succeeded(email: &str) -> () = "select auth.login_succeeded($1)";
    /// Whether the caller may act with one of these roles: asked before
    /// any expensive work on what it sent (the write checks again).
    fn authorize(roles: &[&str]) -> () = "select app.authorize(variadic $1)";

    // ---- the outbox worker ----

    /// `(id, to_email, template, context, attempts, max_attempts,
    /// organization_id)` of the rows claimed, stale claims included.
    fn outbox_claim(batch_size: i32, stale_after: &str) -> Rows
        = "select id, to_email, template, context, attempts, max_attempts, organization_id \
           from auth.outbox_claim($1::int4, $2::text::interval)";
    /// One-time tokens leave the outbox once delivered. A row is named by
    /// its organization and id (one shard's statement on Citus).
    fn outbox_mark_sent(organization_id: Uuid, id: Uuid, subject: &str) -> ()
        = "select auth.outbox_mark_sent($1, $2, $3)";
    /// A failure after the last attempt is final, and then the token goes too.
    fn outbox_mark_failed(organization_id: Uuid, id: Uuid, delay_secs: f64, error: &str, permanent: bool) -> ()
        = "select auth.outbox_mark_failed($1, $2, $3, $4, $5)";
    /// Abuse-limit keys that recovered, forgotten; how many.
    fn prune_limits() -> i32 = "select auth.prune_limits()";
    /// Recomputes the platform overview when its snapshot is older than
    /// `max_age` (an interval); one instance at a time, the others skip.
    fn refresh_overview(max_age: &str) -> ()
        = "select auth.refresh_overview($1::text::interval)";
    /// Accounts never verified within `UNVERIFIED_ACCOUNT_TTL`, removed
    /// (at most `limit`); how many.
    fn expire_unverified_accounts(limit: i32) -> i32
        = "select auth.expire_unverified_accounts($1)";

    // ---- the organization ----

    fn my_organization() -> JsonText = "select app.my_organization()";
    fn update_organization(changes: &Value) -> JsonText = "select app.update_organization($1)";
    fn list_users(page: i32, per_page: i32, role: Option<&str>, status: Option<&str>, search: Option<&str>, cursor: Option<&str>) -> JsonText
        = "select app.list_users($1, $2, $3, $4, $5, $6)";
    fn invite_user(email: &str, role: &str) -> JsonText = "select app.invite_user($1, $2)";
    fn change_user_role(user_id: Uuid, role: &str) -> JsonText
        = "select app.change_user_role($1, $2)";
    fn remove_user(user_id: Uuid) -> () = "select app.remove_user($1)";
    fn list_invitations(page: i32, per_page: i32, cursor: Option<&str>) -> JsonText
        = "select app.list_invitations($1, $2, $3)";
    fn revoke_invitation(invitation_id: Uuid) -> () = "select app.revoke_invitation($1)";
    fn resend_invitation(invitation_id: Uuid) -> JsonText = "select app.resend_invitation($1)";
    fn list_audit_log(page: i32, per_page: i32, action: Option<&str>, cursor: Option<&str>) -> JsonText
        = "select app.list_audit_log($1, $2, $3, $4)";

    // ---- prospecting ----

    fn list_campaigns(page: i32, per_page: i32, status: Option<&str>, search: Option<&str>, sort: &str, desc: bool, cursor: Option<&str>) -> JsonText
        = "select app.list_campaigns($1, $2, $3, $4, $5, $6, $7)";
    fn create_campaign(campaign: &Value) -> JsonText = "select app.create_campaign($1)";
    fn get_campaign(id: Uuid) -> JsonText = "select app.get_campaign($1)";
    fn update_campaign(id: Uuid, changes: &Value) -> JsonText
        = "select app.update_campaign($1, $2)";
    fn delete_campaign(id: Uuid) -> () = "select app.delete_campaign($1)";
    fn list_leads(page: i32, per_page: i32, status: Option<&str>, campaign_id: Option<Uuid>, search: Option<&str>, sort: &str, desc: bool, cursor: Option<&str>) -> JsonText
        = "select app.list_leads($1, $2, $3, $4, $5, $6, $7, $8)";
    fn create_lead(lead: &Value) -> JsonText = "select app.create_lead($1)";
    fn get_lead(id: Uuid) -> JsonText = "select app.get_lead($1)";
    fn update_lead(id: Uuid, changes: &Value) -> JsonText = "select app.update_lead($1, $2)";
    fn delete_lead(id: Uuid) -> () = "select app.delete_lead($1)";
    /// An import: all rows or none.
    fn insert_leads(leads: &Value) -> Value = "select app.insert_leads($1)";
    fn list_meetings(page: i32, per_page: i32, status: Option<&str>, lead_id: Option<Uuid>, campaign_id: Option<Uuid>, sort: &str, desc: bool, cursor: Option<&str>) -> JsonText
        = "select app.list_meetings($1, $2, $3, $4, $5, $6, $7, $8)";
    fn create_meeting(meeting: &Value) -> JsonText = "select app.create_meeting($1)";
    fn get_meeting(id: Uuid) -> JsonText = "select app.get_meeting($1)";
    fn update_meeting(id: Uuid, changes: &Value) -> JsonText
        = "select app.update_meeting($1, $2)";
    fn delete_meeting(id: Uuid) -> () = "select app.delete_meeting($1)";

    // ---- notifications ----

    fn send_notification(notification: &Value, idempotency_key: Option<&str>) -> JsonText
        = "select app.send_notification($1, $2)";
    fn list_notifications(page: i32, per_page: i32, kind: Option<&str>, cursor: Option<&str>) -> JsonText
        = "select app.list_notifications($1, $2, $3, $4)";
    /// One notification with a page of its recipients.
    fn get_notification(id: Uuid, page: i32, per_page: i32, cursor: Option<&str>) -> Value
        = "select app.get_notification($1, $2, $3, $4)";
    fn admin_send_notification(notification: &Value, idempotency_key: Option<&str>) -> JsonText
        = "select app.admin_send_notification($1, $2)";
    fn admin_list_notifications(page: i32, per_page: i32, kind: Option<&str>, organization_id: Option<Uuid>, cursor: Option<&str>) -> JsonText
        = "select app.admin_list_notifications($1, $2, $3, $4, $5)";
    fn admin_get_notification(id: Uuid, page: i32, per_page: i32, cursor: Option<&str>) -> Value
        = "select app.admin_get_notification($1, $2, $3, $4)";

    // ---- the platform console ----

    fn admin_overview() -> JsonText = "select app.admin_overview()";
    fn admin_list_organizations(page: i32, per_page: i32, plan: Option<&str>, status: Option<&str>, search: Option<&str>, sort: &str, desc: bool, cursor: Option<&str>) -> JsonText
        = "select app.admin_list_organizations($1, $2, $3, $4, $5, $6, $7, $8)";
    fn admin_get_organization(id: Uuid) -> JsonText = "select app.admin_get_organization($1)";
    fn admin_create_organization(organization: &Value) -> JsonText
        = "select app.admin_create_organization($1)";
    fn admin_update_organization(id: Uuid, changes: &Value) -> JsonText
        = "select app.admin_update_organization($1, $2)";
    fn admin_delete_organization(id: Uuid, hard: bool) -> JsonText
        = "select app.admin_delete_organization($1, $2)";
    fn admin_invite(organization_id: Uuid, email: &str, role: &str) -> JsonText
        = "select app.admin_invite($1, $2, $3)";
    fn admin_list_users(page: i32, per_page: i32, organization_id: Option<Uuid>, role: Option<&str>, status: Option<&str>, search: Option<&str>, sort: &str, desc: bool, cursor: Option<&str>) -> JsonText
        = "select app.admin_list_users($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    fn admin_update_user(id: Uuid, changes: &Value) -> JsonText
        = "select app.admin_update_user($1, $2)";
}
