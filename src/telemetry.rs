//! Logging: human-readable in a terminal, JSON lines otherwise (containers,
//! log shippers). `RUST_LOG` filters, defaulting to `info`.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

pub fn init() {
    init_with_default("info");
}

/// `default`: the filter when `RUST_LOG` is not set.
pub fn init_with_default(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let registry = tracing_subscriber::registry().with(filter);
    // `try_init`: a second call (tests) keeps the first subscriber.
    let _ = if std::io::stdout().is_terminal() {
        registry.with(fmt::layer()).try_init()
    } else {
        registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .try_init()
    };
}
