//! HTTP routes, one module per route group; each exposes `router()`.

pub mod health;
