//! The daemon's Prometheus registry and the metrics that belong to the daemon itself.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use prometheus::{Encoder, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};

/// Brings a subsystem's gauges up to date just before a scrape.
pub type Refresher = Arc<dyn Fn() + Send + Sync>;

/// Version and commit baked in at build time.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const COMMIT: &str = env!("TANDEM_GIT_COMMIT");

/// Every metric the daemon exports is registered here; subsystems register their own.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub config_reloads: IntCounterVec,
    pub config_last_reload_successful: IntGauge,
    pub config_generation: IntGauge,
    pub subsystem_enabled: IntGaugeVec,
    /// Called by [`Metrics::render`] before gathering, by subsystem name.
    refreshers: Arc<RwLock<BTreeMap<String, Refresher>>>,
}

fn must<T>(r: prometheus::Result<T>, what: &str) -> T {
    // Metric definitions are static: an error here is a programming error caught by tests.
    match r {
        Ok(v) => v,
        Err(e) => panic!("metric {what}: {e}"),
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let build = must(
            IntGaugeVec::new(
                Opts::new("tandem_build_info", "Build information; always 1."),
                &["version", "commit"],
            ),
            "build_info",
        );
        build.with_label_values(&[VERSION, COMMIT]).set(1);
        let start = must(
            IntGauge::new(
                "tandem_start_time_seconds",
                "Unix time at which the daemon started.",
            ),
            "start_time",
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        start.set(now);
        let config_reloads = must(
            IntCounterVec::new(
                Opts::new(
                    "tandem_config_reloads_total",
                    "Config reloads (SIGHUP, reload @@config) by result: applied, refused, or rolled_back (rollback @@config).",
                ),
                &["result"],
            ),
            "reloads",
        );
        let config_last_reload_successful = must(
            IntGauge::new(
                "tandem_config_last_reload_successful",
                "1 if the last reload was applied (or none was tried), 0 if it was refused.",
            ),
            "last_reload",
        );
        config_last_reload_successful.set(1);
        let config_generation = must(
            IntGauge::new(
                "tandem_config_generation",
                "Generation of the running config: 1 at start, +1 per applied reload.",
            ),
            "generation",
        );
        config_generation.set(1);
        let subsystem_enabled = must(
            IntGaugeVec::new(
                Opts::new(
                    "tandem_subsystem_enabled",
                    "1 when the subsystem is configured in the running config.",
                ),
                &["subsystem"],
            ),
            "subsystem_enabled",
        );
        for c in [
            Box::new(build) as Box<dyn prometheus::core::Collector>,
            Box::new(start),
            Box::new(config_reloads.clone()),
            Box::new(config_last_reload_successful.clone()),
            Box::new(config_generation.clone()),
            Box::new(subsystem_enabled.clone()),
        ] {
            must(registry.register(c), "register");
        }
        // Label values appear at 0 so a dashboard sees both results from the start.
        config_reloads.with_label_values(&["applied"]);
        config_reloads.with_label_values(&["refused"]);
        Metrics {
            registry,
            config_reloads,
            config_last_reload_successful,
            config_generation,
            subsystem_enabled,
            refreshers: Arc::default(),
        }
    }

    /// Registers (or replaces) the gauge refresher of subsystem `name`.
    pub fn register_refresh(&self, name: &str, f: impl Fn() + Send + Sync + 'static) {
        if let Ok(mut r) = self.refreshers.write() {
            r.insert(name.to_string(), Arc::new(f));
        }
    }

    pub fn unregister_refresh(&self, name: &str) {
        if let Ok(mut r) = self.refreshers.write() {
            r.remove(name);
        }
    }

    /// The Prometheus text exposition of every registered metric.
    pub fn render(&self) -> String {
        // Gauges read from live state (a write-host switch, a pool's size) are refreshed
        // now, so a scrape right after an event already shows it.
        let refreshers: Vec<Refresher> = self
            .refreshers
            .read()
            .map(|r| r.values().cloned().collect())
            .unwrap_or_default();
        for f in refreshers {
            f();
        }
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(e) = encoder.encode(&self.registry.gather(), &mut buf) {
            tracing::warn!("encoding metrics failed: {e}");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_build_info() {
        let m = Metrics::new();
        let text = m.render();
        assert!(text.contains("tandem_build_info{"), "{text}");
        assert!(
            text.contains("tandem_config_reloads_total{result=\"refused\"} 0"),
            "{text}"
        );
    }
}
