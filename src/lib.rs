// The OpenAPI document (http/openapi.rs) is one large json! literal.
#![recursion_limit = "512"]

//! Vectra API: a multi-tenant backend where PostgreSQL enforces tenant
//! isolation through Row-Level Security. See README.md and docs/.

pub mod app;
pub mod auth;
pub mod blocking;
pub mod client_addr;
pub mod config;
pub mod db;
pub mod dev;
pub mod domain;
pub mod email;
pub mod error;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod seed;
pub mod telemetry;
