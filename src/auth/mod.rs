//! Tokens and their keys, password hashing, rate limits and the extractors every route uses.

pub mod extract;
pub mod jwt;
pub mod password;
pub mod platform_admin;
pub mod rate_limit;
pub mod tokens;

pub use extract::{AuthUser, OrgUser, PlatformAdmin, Role};
pub use jwt::{Claims, JwtKeys};
