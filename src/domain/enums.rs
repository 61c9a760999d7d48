//! The enumerations of the API, each written once: the Rust checks, the
//! OpenAPI document and the error messages read these constants. Each one
//! that is a PostgreSQL enum names it, and a test (`tests/api/contract.rs`)
//! compares the two, value by value and in order.

/// `public.user_role`, highest first.
pub const USER_ROLES: &[&str] = &["platform_admin", "owner", "admin", "manager", "member"];
/// The roles an organization grants (every role but `platform_admin`).
pub const ORGANIZATION_ROLES: &[&str] = &["owner", "admin", "manager", "member"];
/// `public.user_status`.
pub const USER_STATUSES: &[&str] = &["active", "suspended", "removed"];
/// `public.org_plan`.
pub const PLANS: &[&str] = &["free", "starter", "pro", "enterprise"];
/// `public.org_status`.
pub const ORGANIZATION_STATUSES: &[&str] = &["active", "suspended", "deleted"];
/// What the platform admin may set an organization's or a user's status to.
pub const SETTABLE_STATUSES: &[&str] = &["active", "suspended"];
/// `public.campaign_status`.
pub const CAMPAIGN_STATUSES: &[&str] = &["draft", "active", "paused", "completed"];
/// `public.lead_status`.
pub const LEAD_STATUSES: &[&str] = &[
    "new",
    "contacted",
    "replied",
    "qualified",
    "converted",
    "lost",
];
/// `public.meeting_status`.
pub const MEETING_STATUSES: &[&str] = &["scheduled", "completed", "cancelled"];
/// `public.email_status`: an outbox row's, a recipient's delivery.
pub const EMAIL_STATUSES: &[&str] = &["pending", "sending", "sent", "failed", "cancelled"];
/// `public.notification_type`.
pub const NOTIFICATION_TYPES: &[&str] = &[
    "org_to_prospects",
    "org_owner_to_members",
    "vectra_to_users",
    "vectra_to_org_owner",
    "system_alerts",
];
/// What an organization sends (the first two of [`NOTIFICATION_TYPES`]).
pub const ORGANIZATION_NOTIFICATION_TYPES: &[&str] = &["org_to_prospects", "org_owner_to_members"];
/// What the platform admin sends (the other three).
pub const PLATFORM_NOTIFICATION_TYPES: &[&str] =
    &["vectra_to_users", "vectra_to_org_owner", "system_alerts"];
/// An invitation's status, computed from its times (not a column).
pub const INVITATION_STATUSES: &[&str] = &["pending", "accepted", "revoked", "expired"];
/// `order` of every sorted list.
pub const ORDERS: &[&str] = &["asc", "desc"];

/// Every PostgreSQL enum above, with its constant: what the catalog test
/// compares.
pub const SQL_ENUMS: &[(&str, &[&str])] = &[
    ("user_role", USER_ROLES),
    ("user_status", USER_STATUSES),
    ("org_plan", PLANS),
    ("org_status", ORGANIZATION_STATUSES),
    ("campaign_status", CAMPAIGN_STATUSES),
    ("lead_status", LEAD_STATUSES),
    ("meeting_status", MEETING_STATUSES),
    ("email_status", EMAIL_STATUSES),
    ("notification_type", NOTIFICATION_TYPES),
];

/// An enumeration, for [`OneOf`].
pub trait Enumeration {
    const VALUES: &'static [&'static str];
}

/// A value of the enumeration `E`, parsed from a string: anything else is
/// refused with [`one_of`]'s wording, as the query filters and the SQL
/// functions refuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OneOf<E>(&'static str, std::marker::PhantomData<E>);

impl<E: Enumeration> OneOf<E> {
    pub fn parse(raw: &str) -> Result<Self, String> {
        E::VALUES
            .iter()
            .find(|v| **v == raw)
            .map(|v| OneOf(v, std::marker::PhantomData))
            .ok_or_else(|| one_of(E::VALUES))
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl<'de, E: Enumeration> serde::Deserialize<'de> for OneOf<E> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl<E> serde::Serialize for OneOf<E> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

macro_rules! enumerations {
    ($($name:ident = $values:ident;)*) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name;
        impl Enumeration for $name {
            const VALUES: &'static [&'static str] = $values;
        }
    )*};
}

enumerations! {
    CampaignStatus = CAMPAIGN_STATUSES;
    LeadStatus = LEAD_STATUSES;
    MeetingStatus = MEETING_STATUSES;
}

/// The one wording of a value outside its enumeration, wherever it is
/// (a body, a query; the SQL functions say the same).
pub fn one_of(values: &[&str]) -> String {
    format!("must be one of {}", values.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subsets_are_subsets() {
        assert_eq!(ORGANIZATION_ROLES, &USER_ROLES[1..]);
        let split = [ORGANIZATION_NOTIFICATION_TYPES, PLATFORM_NOTIFICATION_TYPES].concat();
        assert_eq!(split, NOTIFICATION_TYPES);
        assert!(
            SETTABLE_STATUSES
                .iter()
                .all(|s| ORGANIZATION_STATUSES.contains(s))
        );
        assert!(SETTABLE_STATUSES.iter().all(|s| USER_STATUSES.contains(s)));
        assert_eq!(one_of(ORDERS), "must be one of asc, desc");
    }

    #[test]
    fn one_of_parses_its_values_and_names_them_otherwise() {
        let lost: OneOf<LeadStatus> = serde_json::from_str("\"lost\"").unwrap();
        assert_eq!(lost.as_str(), "lost");
        assert_eq!(serde_json::to_string(&lost).unwrap(), "\"lost\"");
        let e = serde_json::from_value::<OneOf<LeadStatus>>(serde_json::json!("won")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "must be one of new, contacted, replied, qualified, converted, lost"
        );
    }
}
