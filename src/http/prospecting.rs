//! `/api/v1/user/campaigns`, `/leads`, `/meetings`: the organization's
//! prospecting data.
//!
//! Each handler parses its input field by field (422 naming every bad field,
//! by row for an import) and calls one SQL function (`app.list_leads`,
//! `app.create_campaign` …). Who may do what is the database's to decide:
//! every organization role reads; manager and above create and update; admin
//! and above delete (the write functions are SECURITY DEFINER behind
//! `auth.authorize`). No role check is repeated here.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::AppState;
use super::json::{ApiJson, PathId, field_error, find_nul, messages};
use super::list::ListQuery;
use crate::auth::OrgUser;
use crate::db::{JsonText, calls};
use crate::domain::enums::{self, OneOf};
use crate::domain::{Email, display_name};
use crate::error::{ApiError, FieldError, Problem};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/user/campaigns",
            get(list_campaigns).post(create_campaign),
        )
        .route(
            "/api/v1/user/campaigns/{campaign_id}",
            get(get_campaign)
                .patch(update_campaign)
                .delete(delete_campaign),
        )
        .route("/api/v1/user/leads", get(list_leads).post(create_lead))
        .route("/api/v1/user/leads/import", post(import_leads))
        .route(
            "/api/v1/user/leads/{lead_id}",
            get(get_lead).patch(update_lead).delete(delete_lead),
        )
        .route(
            "/api/v1/user/meetings",
            get(list_meetings).post(create_meeting),
        )
        .route(
            "/api/v1/user/meetings/{meeting_id}",
            get(get_meeting)
                .patch(update_meeting)
                .delete(delete_meeting),
        )
}

/// Most leads one import may hold.
pub const MAX_IMPORT_ROWS: usize = 5_000;
/// Most row errors one answer lists.
const MAX_REPORTED_ERRORS: usize = 100;

/// The statuses, as the enumerations of `domain::enums` (one list each).
type CampaignStatus = OneOf<enums::CampaignStatus>;
type LeadStatus = OneOf<enums::LeadStatus>;
type MeetingStatus = OneOf<enums::MeetingStatus>;

/// Tells a field sent as `null` (clear it) from one not sent (keep it).
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Collects field errors, optionally of one row of a batch.
struct Check<'a> {
    errors: &'a mut Vec<FieldError>,
    row: Option<u32>,
}

impl Check<'_> {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        let e = FieldError::new(field, message);
        self.errors.push(match self.row {
            Some(row) => e.in_row(row),
            None => e,
        });
    }

    /// A required display name (campaign names).
    fn name(&mut self, field: &str, raw: &str, out: &mut Map<String, Value>) {
        match display_name(raw) {
            Ok(name) => {
                out.insert(field.to_owned(), Value::String(name));
            }
            Err(message) => self.fail(field, message),
        }
    }

    /// An optional display name: blank means none.
    fn optional_name(&mut self, field: &str, raw: Option<&str>, out: &mut Map<String, Value>) {
        match raw.map(|s| s.trim_matches(' ')).filter(|s| !s.is_empty()) {
            None => {
                out.insert(field.to_owned(), Value::Null);
            }
            Some(s) => self.name(field, s, out),
        }
    }

    fn email(&mut self, raw: &str, out: &mut Map<String, Value>) {
        match Email::parse(raw) {
            Ok(email) => {
                out.insert("email".to_owned(), Value::String(email.to_string()));
            }
            Err(message) => self.fail("email", message),
        }
    }
}

fn done(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

fn nothing_to_change(changes: &Map<String, Value>) -> Result<(), ApiError> {
    if changes.is_empty() {
        return Err(ApiError::validation(vec![FieldError::new(
            "body",
            "send at least one field to change",
        )]));
    }
    Ok(())
}

/// The changes of a PATCH: the field errors first, then an empty change
/// refused.
fn changes(errors: Vec<FieldError>, changes: Map<String, Value>) -> Result<Value, ApiError> {
    done(errors)?;
    nothing_to_change(&changes)?;
    Ok(Value::Object(changes))
}

// ---------------------------------------------------------------------------
// Campaigns
// ---------------------------------------------------------------------------

/// `GET /api/v1/user/campaigns`: `status`, `q` (name), `sort`
/// (`created_at`, `name`), `order`, `page`, `per_page`.
async fn list_campaigns(
    State(state): State<AppState>,
    user: OrgUser,
    mut q: ListQuery,
) -> Result<JsonText, ApiError> {
    let search = q.search();
    let cursor = q.cursor();
    q.finish()?;
    Ok(calls::list_campaigns(
        &state.db,
        &user.actor(),
        q.page.page,
        q.page.per_page,
        q.filter("status"),
        search.as_deref(),
        q.sort("created_at"),
        q.desc(true),
        cursor.as_deref(),
    )
    .await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignBody {
    name: String,
    #[serde(default)]
    status: Option<CampaignStatus>,
}

/// `POST /api/v1/user/campaigns` (owner, admin, manager).
async fn create_campaign(
    State(state): State<AppState>,
    user: OrgUser,
    ApiJson(body): ApiJson<CampaignBody>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = Vec::new();
    let mut out = Map::new();
    Check {
        errors: &mut errors,
        row: None,
    }
    .name("name", &body.name, &mut out);
    if let Some(status) = body.status {
        out.insert("status".into(), json!(status));
    }
    done(errors)?;
    Ok((
        StatusCode::CREATED,
        calls::create_campaign(&state.db, &user.actor(), &Value::Object(out)).await?,
    ))
}

/// `GET /api/v1/user/campaigns/{campaign_id}`.
async fn get_campaign(
    State(state): State<AppState>,
    user: OrgUser,
    PathId(id): PathId,
) -> Result<JsonText, ApiError> {
    Ok(calls::get_campaign(&state.db, &user.actor(), id).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignPatch {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    status: Option<CampaignStatus>,
}

/// `PATCH /api/v1/user/campaigns/{campaign_id}` (owner, admin, manager).
async fn update_campaign(
    State(state): State<AppState>,
    user: OrgUser,
    PathId(id): PathId,
    ApiJson(body): ApiJson<CampaignPatch>,
) -> Result<JsonText, ApiError> {
    let mut errors = Vec::new();
    let mut out = Map::new();
    if let Some(name) = &body.name {
        Check {
            errors: &mut errors,
            row: None,
        }
        .name("name", name, &mut out);
    }
    if let Some(status) = body.status {
        out.insert("status".into(), json!(status));
    }
    let changes = changes(errors, out)?;
    Ok(calls::update_campaign(&state.db, &user.actor(), id, &changes).await?)
}

/// `DELETE /api/v1/user/campaigns/{campaign_id}` (owner, admin): its leads
/// stay, without a campaign.
async fn delete_campaign(
    State(state): State<AppState>,
    user: OrgUser,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    calls::delete_campaign(&state.db, &user.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------
// Leads
// ---------------------------------------------------------------------------

/// `GET /api/v1/user/leads`: `status`, `campaign_id`, `q` (email, name,
/// company), `sort` (`created_at`, `name`), `order`, `page`, `per_page`.
async fn list_leads(
    State(state): State<AppState>,
    user: OrgUser,
    mut q: ListQuery,
) -> Result<JsonText, ApiError> {
    let search = q.search();
    let campaign = q.uuid("campaign_id");
    let cursor = q.cursor();
    q.finish()?;
    Ok(calls::list_leads(
        &state.db,
        &user.actor(),
        q.page.page,
        q.page.per_page,
        q.filter("status"),
        campaign,
        search.as_deref(),
        q.sort("created_at"),
        q.desc(true),
        cursor.as_deref(),
    )
    .await?)
}

/// One lead of a create or an import, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeadInput {
    email: String,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    company: Option<String>,
    #[serde(default)]
    status: Option<LeadStatus>,
    #[serde(default)]
    campaign_id: Option<Uuid>,
}

impl LeadInput {
    /// The lead as the SQL functions take it, or the row's field errors.
    fn validate(&self, check: &mut Check<'_>) -> Value {
        let mut out = Map::new();
        check.email(&self.email, &mut out);
        check.optional_name("full_name", self.full_name.as_deref(), &mut out);
        check.optional_name("company", self.company.as_deref(), &mut out);
        if let Some(status) = self.status {
            out.insert("status".into(), json!(status));
        }
        if let Some(campaign) = self.campaign_id {
            out.insert("campaign_id".into(), json!(campaign));
        }
        Value::Object(out)
    }
}

/// `POST /api/v1/user/leads` (owner, admin, manager).
async fn create_lead(
    State(state): State<AppState>,
    user: OrgUser,
    ApiJson(body): ApiJson<LeadInput>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = Vec::new();
    let lead = body.validate(&mut Check {
        errors: &mut errors,
        row: None,
    });
    done(errors)?;
    Ok((
        StatusCode::CREATED,
        calls::create_lead(&state.db, &user.actor(), &lead).await?,
    ))
}

/// `GET /api/v1/user/leads/{lead_id}`.
async fn get_lead(
    State(state): State<AppState>,
    user: OrgUser,
    PathId(id): PathId,
) -> Result<JsonText, ApiError> {
    Ok(calls::get_lead(&state.db, &user.actor(), id).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeadPatch {
    #[serde(default)]
    email: Option<String>,
    #[serde(default, deserialize_with = "present")]
    full_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    company: Option<Option<String>>,
    #[serde(default)]
    status: Option<LeadStatus>,
    #[serde(default, deserialize_with = "present")]
    campaign_id: Option<Option<Uuid>>,
}

/// `PATCH /api/v1/user/leads/{lead_id}` (owner, admin, manager): `null`
/// clears `full_name`, `company` or `campaign_id`.
async fn update_lead(
    State(state): State<AppState>,
    user: OrgUser,
    PathId(id): PathId,
    ApiJson(body): ApiJson<LeadPatch>,
) -> Result<JsonText, ApiError> {
    let mut errors = Vec::new();
    let mut out = Map::new();
    let mut check = Check {
        errors: &mut errors,
        row: None,
    };
    if let Some(email) = &body.email {
        check.email(email, &mut out);
    }
    if let Some(name) = &body.full_name {
        check.optional_name("full_name", name.as_deref(), &mut out);
    }
    if let Some(company) = &body.company {
        check.optional_name("company", company.as_deref(), &mut out);
    }
    if let Some(status) = body.status {
        out.insert("status".into(), json!(status));
    }
    if let Some(campaign) = body.campaign_id {
        out.insert("campaign_id".into(), json!(campaign));
    }
    let changes = changes(errors, out)?;
    Ok(calls::update_lead(&state.db, &user.actor(), id, &changes).await?)
}

/// `DELETE /api/v1/user/leads/{lead_id}` (owner, admin): its meetings go too.
async fn delete_lead(
    State(state): State<AppState>,
    user: OrgUser,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    calls::delete_lead(&state.db, &user.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The columns (or keys) an import row may have.
const LEAD_COLUMNS: &[&str] = &["email", "full_name", "company", "status", "campaign_id"];

/// `POST /api/v1/user/leads/import` (owner, admin, manager): a JSON array of
/// leads, or CSV with a header row (`Content-Type: text/csv`). All or
/// nothing: any bad row refuses the whole batch, naming its row (1 is the
/// first lead); at most 5,000 leads. The caller is checked before the body
/// is read, which then happens off the async workers.
async fn import_leads(
    State(state): State<AppState>,
    user: OrgUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let actor = user.actor();
    calls::authorize(&state.db, &actor, LEAD_WRITERS).await?;
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let batch = state
        .heavy
        .run(move || import_batch(&mime, &body))
        .await??;
    let created = calls::insert_leads(&state.db, &actor, &batch).await?;
    let count = created.as_array().map_or(0, Vec::len);
    Ok((StatusCode::CREATED, Json(json!({ "created": count }))))
}

/// Who may import leads (the SQL function checks it again).
const LEAD_WRITERS: &[&str] = &["owner", "admin", "manager"];

/// An import's body, read and checked row by row: the leads as the SQL
/// function takes them, or every row error (up to a hundred).
fn import_batch(mime: &str, body: &[u8]) -> Result<Value, ApiError> {
    let rows = if mime == "text/csv" {
        csv_rows(body)?
    } else if mime == "application/json" || mime.ends_with("+json") {
        json_rows(body)?
    } else {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Expected a JSON array (Content-Type: application/json) or CSV with a header row (Content-Type: text/csv)",
        )
        .into());
    };
    if rows.is_empty() || rows.len() > MAX_IMPORT_ROWS {
        return Err(ApiError::validation(vec![FieldError::new(
            "body",
            format!("must hold 1 to {MAX_IMPORT_ROWS} leads"),
        )]));
    }
    let mut errors = Vec::new();
    let mut leads = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        let mut check = Check {
            errors: &mut errors,
            row: Some(i as u32 + 1),
        };
        match row {
            Ok(input) => leads.push(input.validate(&mut check)),
            Err(e) => check.errors.push(e.in_row(i as u32 + 1)),
        }
        if errors.len() >= MAX_REPORTED_ERRORS {
            errors.truncate(MAX_REPORTED_ERRORS);
            break;
        }
    }
    done(errors)?;
    Ok(Value::Array(leads))
}

/// One parsed row: the lead, or the first error found in it.
type Row = Result<LeadInput, FieldError>;

fn json_rows(body: &[u8]) -> Result<Vec<Row>, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Malformed JSON: {e}")))?;
    let Value::Array(items) = value else {
        return Err(ApiError::validation(vec![FieldError::new(
            "body",
            "must be an array of leads",
        )]));
    };
    if items.len() > MAX_IMPORT_ROWS {
        return Err(ApiError::validation(vec![FieldError::new(
            "body",
            format!("must hold 1 to {MAX_IMPORT_ROWS} leads"),
        )]));
    }
    Ok(items.into_iter().map(lead_of_value).collect())
}

fn lead_of_value(item: Value) -> Row {
    let mut nul = Vec::new();
    find_nul(&item, "", &mut nul);
    if let Some(e) = nul.into_iter().next() {
        return Err(e);
    }
    serde_path_to_error::deserialize(item).map_err(|e| field_error(&e, "lead"))
}

fn csv_rows(body: &[u8]) -> Result<Vec<Row>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(body);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| ApiError::validation(vec![FieldError::new("header", e.to_string())]))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let mut problems = Vec::new();
    for h in &header {
        if !LEAD_COLUMNS.contains(&h.as_str()) {
            problems.push(FieldError::new(
                "header",
                format!(
                    "unknown column {h:?} (expected some of {})",
                    LEAD_COLUMNS.join(", ")
                ),
            ));
        }
    }
    if !header.iter().any(|h| h == "email") {
        problems.push(FieldError::new("header", "needs an email column"));
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        if rows.len() == MAX_IMPORT_ROWS {
            return Err(ApiError::validation(vec![FieldError::new(
                "body",
                format!("must hold 1 to {MAX_IMPORT_ROWS} leads"),
            )]));
        }
        rows.push(match record {
            Err(e) => Err(FieldError::new("line", e.to_string())),
            Ok(record) => {
                // Empty cells are absent fields.
                let item: Map<String, Value> = header
                    .iter()
                    .zip(record.iter())
                    .filter(|(_, cell)| !cell.is_empty())
                    .map(|(h, cell)| (h.clone(), Value::String(cell.to_owned())))
                    .collect();
                lead_of_value(Value::Object(item))
            }
        });
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------
// Meetings
// ---------------------------------------------------------------------------

/// `GET /api/v1/user/meetings`: `status`, `lead_id`, `campaign_id`, `sort`
/// (`scheduled_at`, `created_at`), `order` (soonest first by default),
/// `page`, `per_page`.
async fn list_meetings(
    State(state): State<AppState>,
    user: OrgUser,
    mut q: ListQuery,
) -> Result<JsonText, ApiError> {
    let lead = q.uuid("lead_id");
    let campaign = q.uuid("campaign_id");
    let cursor = q.cursor();
    q.finish()?;
    Ok(calls::list_meetings(
        &state.db,
        &user.actor(),
        q.page.page,
        q.page.per_page,
        q.filter("status"),
        lead,
        campaign,
        q.sort("scheduled_at"),
        q.desc(false),
        cursor.as_deref(),
    )
    .await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MeetingBody {
    lead_id: Uuid,
    #[serde(deserialize_with = "date_time")]
    scheduled_at: OffsetDateTime,
    #[serde(default)]
    status: Option<MeetingStatus>,
}

/// `POST /api/v1/user/meetings` (owner, admin, manager).
async fn create_meeting(
    State(state): State<AppState>,
    user: OrgUser,
    ApiJson(body): ApiJson<MeetingBody>,
) -> Result<impl IntoResponse, ApiError> {
    let meeting = json!({
        "lead_id": body.lead_id,
        "scheduled_at": rfc3339(body.scheduled_at)?,
        "status": body.status,
    });
    Ok((
        StatusCode::CREATED,
        calls::create_meeting(&state.db, &user.actor(), &strip_nulls(meeting)).await?,
    ))
}

/// `GET /api/v1/user/meetings/{meeting_id}`.
async fn get_meeting(
    State(state): State<AppState>,
    user: OrgUser,
    PathId(id): PathId,
) -> Result<JsonText, ApiError> {
    Ok(calls::get_meeting(&state.db, &user.actor(), id).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MeetingPatch {
    #[serde(default, deserialize_with = "optional_date_time")]
    scheduled_at: Option<OffsetDateTime>,
    #[serde(default)]
    status: Option<MeetingStatus>,
}

/// `PATCH /api/v1/user/meetings/{meeting_id}` (owner, admin, manager): move
/// it (while scheduled), complete or cancel it.
async fn update_meeting(
    State(state): State<AppState>,
    user: OrgUser,
    PathId(id): PathId,
    ApiJson(body): ApiJson<MeetingPatch>,
) -> Result<JsonText, ApiError> {
    let mut out = Map::new();
    if let Some(at) = body.scheduled_at {
        out.insert("scheduled_at".into(), Value::String(rfc3339(at)?));
    }
    if let Some(status) = body.status {
        out.insert("status".into(), json!(status));
    }
    let changes = changes(Vec::new(), out)?;
    Ok(calls::update_meeting(&state.db, &user.actor(), id, &changes).await?)
}

/// `DELETE /api/v1/user/meetings/{meeting_id}` (owner, admin).
async fn delete_meeting(
    State(state): State<AppState>,
    user: OrgUser,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    calls::delete_meeting(&state.db, &user.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An RFC 3339 time, or the one wording of a bad one.
fn date_time<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
    let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    OffsetDateTime::parse(&raw, &time::format_description::well_known::Rfc3339)
        .map_err(|_| serde::de::Error::custom(messages::DATE_TIME))
}

fn optional_date_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
    date_time(d).map(Some)
}

/// A meeting time as the database takes it: in UTC, years 1 to 9999
/// (PostgreSQL has no year 0).
fn rfc3339(at: OffsetDateTime) -> Result<String, ApiError> {
    let out_of_range = || {
        ApiError::validation(vec![FieldError::new(
            "scheduled_at",
            "must be a time between the years 1 and 9999",
        )])
    };
    let utc = at
        .checked_to_offset(time::UtcOffset::UTC)
        .filter(|utc| (1..=9999).contains(&utc.year()))
        .ok_or_else(out_of_range)?;
    utc.format(&time::format_description::well_known::Rfc3339)
        .map_err(|_| out_of_range())
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_map_columns_and_blank_cells() {
        let rows = csv_rows(b"email,Full_Name,company,status\nann@example.com,Ann Lee,,new\n  bob@example.com ,,Bobco,\n")
            .expect("rows");
        assert_eq!(rows.len(), 2);
        let ann = rows[0].as_ref().expect("ann");
        assert_eq!(ann.email, "ann@example.com");
        assert_eq!(ann.full_name.as_deref(), Some("Ann Lee"));
        assert!(ann.company.is_none());
        let bob = rows[1].as_ref().expect("bob");
        assert_eq!(bob.email, "bob@example.com");
        assert_eq!(bob.company.as_deref(), Some("Bobco"));
        assert!(bob.status.is_none());
    }

    #[test]
    fn csv_headers_are_checked() {
        let Err(ApiError::Problem(p)) = csv_rows(b"mail,phone\nx,y\n") else {
            panic!("accepted");
        };
        let messages: Vec<&str> = p.errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages[2].contains("email"));
    }

    #[test]
    fn json_rows_name_the_bad_field() {
        let rows = json_rows(br#"[{"email": "a@b.co", "status": "won"}, {"full_name": "x"}, {"email": "c@d.co", "phone": 1}]"#)
            .expect("rows");
        let fields: Vec<String> = rows
            .iter()
            .map(|r| {
                r.as_ref()
                    .err()
                    .map(|e| e.field.clone())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(fields, vec!["status", "email", "phone"]);
    }
}
