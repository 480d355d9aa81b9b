//! Router metrics.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

#[derive(Clone)]
pub struct RouterMetrics {
    pub connections: IntCounterVec,
    pub active: IntGauge,
    /// 1 while the router is online, 0 after the admin port's `offline`.
    pub online: IntGauge,
    pub slow_statements: IntCounter,
    pub login_failures: IntCounterVec,
    pub tls_sessions: IntCounter,
    pub tls_expiry: IntGauge,
    pub queries: IntCounterVec,
    pub errors: IntCounterVec,
    pub host_up: IntGaugeVec,
    pub active_writer: IntGaugeVec,
    pub lag: IntGaugeVec,
    pub pool: IntGaugeVec,
    pub failovers: IntCounterVec,
    pub repl_stop_failures: IntCounterVec,
    pub borrow_timeouts: IntCounterVec,
    pub command_duration: HistogramVec,
    /// `command_duration`'s series, looked up once (not per command).
    pub durations: CommandDurations,
}

/// `tandem_router_command_duration_seconds` by command class.
#[derive(Clone)]
pub struct CommandDurations {
    pub query: Histogram,
    pub prepare: Histogram,
    pub execute: Histogram,
    pub fetch: Histogram,
    pub other: Histogram,
}

impl RouterMetrics {
    pub fn register(r: &Registry) -> prometheus::Result<RouterMetrics> {
        let command_duration = HistogramVec::new(
            HistogramOpts::new(
                "tandem_router_command_duration_seconds",
                "Time from a client command's arrival to the end of the router's answer, by command (query, prepare, execute, fetch, other).",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            &["command"],
        )?;
        let m = RouterMetrics {
            connections: IntCounterVec::new(
                Opts::new(
                    "tandem_router_connections_total",
                    "Client connections accepted by the router (port: sql or admin).",
                ),
                &["port"],
            )?,
            active: IntGauge::new(
                "tandem_router_active_connections",
                "Client sessions open now.",
            )?,
            online: IntGauge::new(
                "tandem_router_online",
                "1 while the router is online, 0 while the admin command `offline` holds it out of service (pings fail, /health/router answers 404, track_router is down), or once a reload stopped the router.",
            )?,
            slow_statements: IntCounter::new(
                "tandem_router_slow_statements_total",
                "Client statements (queries and prepared statement executions) that took at least the slow threshold (reload @@sqlslow=N on the admin port, 100 ms by default); the slowest are in show @@sql.slow.",
            )?,
            login_failures: IntCounterVec::new(
                Opts::new(
                    "tandem_router_login_failures_total",
                    "Refused logins, by reason.",
                ),
                &["reason"],
            )?,
            tls_sessions: IntCounter::new(
                "tandem_router_tls_sessions_total",
                "Client connections that started TLS (SSLRequest) and completed the TLS handshake.",
            )?,
            tls_expiry: IntGauge::new(
                "tandem_router_tls_cert_expiry_timestamp_seconds",
                "When the certificate offered to clients expires (Unix time); 0 with tls: off.",
            )?,
            queries: IntCounterVec::new(
                Opts::new(
                    "tandem_router_queries_total",
                    "Client commands, by kind (read, write, local, prepare, other) and target host.",
                ),
                &["kind", "target"],
            )?,
            errors: IntCounterVec::new(
                Opts::new(
                    "tandem_router_errors_total",
                    "Errors the router returned itself, by reason.",
                ),
                &["reason"],
            )?,
            host_up: IntGaugeVec::new(
                Opts::new(
                    "tandem_router_host_up",
                    "1 when the host's last heartbeat round succeeded.",
                ),
                &["data_host", "host"],
            )?,
            active_writer: IntGaugeVec::new(
                Opts::new(
                    "tandem_router_active_write_host_index",
                    "Index of the active write host of each data host.",
                ),
                &["data_host"],
            )?,
            lag: IntGaugeVec::new(
                Opts::new(
                    "tandem_router_replication_lag_seconds",
                    "Seconds_Behind_Master of a replica; absent while unknown (replication stopped).",
                ),
                &["data_host", "host"],
            )?,
            pool: IntGaugeVec::new(
                Opts::new(
                    "tandem_router_pool_connections",
                    "Backend connections per host, by state (idle, active).",
                ),
                &["data_host", "host", "state"],
            )?,
            failovers: IntCounterVec::new(
                Opts::new(
                    "tandem_router_write_host_switches_total",
                    "Write host switches (heartbeat failover or admin switch).",
                ),
                &["data_host"],
            )?,
            repl_stop_failures: IntCounterVec::new(
                Opts::new(
                    "tandem_router_replication_stop_failures_total",
                    "Write host switches where stop_replication_on_switch could not stop replication on the new write host (stop it by hand).",
                ),
                &["data_host"],
            )?,
            borrow_timeouts: IntCounterVec::new(
                Opts::new(
                    "tandem_router_pool_borrow_timeouts_total",
                    "Statements refused because no pooled connection was free within borrow_timeout.",
                ),
                &["data_host", "host"],
            )?,
            command_duration: command_duration.clone(),
            durations: CommandDurations {
                query: command_duration.with_label_values(&["query"]),
                prepare: command_duration.with_label_values(&["prepare"]),
                execute: command_duration.with_label_values(&["execute"]),
                fetch: command_duration.with_label_values(&["fetch"]),
                other: command_duration.with_label_values(&["other"]),
            },
        };
        // Every refusal reason has its series from the start, so that an alert on
        // `increase(...) > 0` sees the first one.
        for reason in LOGIN_FAILURE_REASONS {
            m.login_failures.with_label_values(&[reason]);
        }
        r.register(Box::new(m.command_duration.clone()))?;
        r.register(Box::new(m.connections.clone()))?;
        r.register(Box::new(m.active.clone()))?;
        r.register(Box::new(m.online.clone()))?;
        r.register(Box::new(m.slow_statements.clone()))?;
        r.register(Box::new(m.login_failures.clone()))?;
        r.register(Box::new(m.tls_sessions.clone()))?;
        r.register(Box::new(m.tls_expiry.clone()))?;
        r.register(Box::new(m.queries.clone()))?;
        r.register(Box::new(m.errors.clone()))?;
        r.register(Box::new(m.host_up.clone()))?;
        r.register(Box::new(m.active_writer.clone()))?;
        r.register(Box::new(m.lag.clone()))?;
        r.register(Box::new(m.pool.clone()))?;
        r.register(Box::new(m.failovers.clone()))?;
        r.register(Box::new(m.repl_stop_failures.clone()))?;
        r.register(Box::new(m.borrow_timeouts.clone()))?;
        Ok(m)
    }
}

/// The `reason` labels of `tandem_router_login_failures_total`.
pub const LOGIN_FAILURE_REASONS: [&str; 9] = [
    "password",
    "whitelist",
    "not_admin",
    "max_connections",
    "ssl_requested",
    "bad_handshake",
    "tls_handshake",
    "insecure_transport",
    "tls_required",
];
