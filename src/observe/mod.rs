//! Observability: logs, Prometheus metrics and the `/status` document.

pub mod http;
pub mod logging;
pub mod metrics;
pub mod stats_page;
pub mod status;
