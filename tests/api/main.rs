//! The integration test binary (one binary: one database server, one link).
//! See harness/mod.rs for how databases are provided.

mod harness;

mod admin;
mod auth;
mod begin_request;
mod catalog;
mod concurrency;
mod contract;
mod data_errors;
mod dev;
mod hardening;
mod heavy_input;
mod http;
mod keys;
mod lists;
mod metrics;
mod migrate;
mod notifications;
mod openapi;
mod organization;
mod pgtap;
mod pool;
mod prospecting;
mod repo;
mod rls;
mod schema;
mod tenant_mail;
mod topology;
mod unverified_accounts;
