//! Router metrics.

use prometheus::{IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

#[derive(Clone)]
pub struct RouterMetrics {
    pub connections: IntCounterVec,
    pub active: IntGauge,
    pub login_failures: IntCounterVec,
    pub queries: IntCounterVec,
    pub errors: IntCounterVec,
    pub host_up: IntGaugeVec,
    pub active_writer: IntGaugeVec,
    pub lag: IntGaugeVec,
    pub pool: IntGaugeVec,
    pub failovers: IntCounterVec,
    pub borrow_timeouts: IntCounterVec,
}

impl RouterMetrics {
    pub fn register(r: &Registry) -> prometheus::Result<RouterMetrics> {
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
            login_failures: IntCounterVec::new(
                Opts::new(
                    "tandem_router_login_failures_total",
                    "Refused logins, by reason.",
                ),
                &["reason"],
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
            borrow_timeouts: IntCounterVec::new(
                Opts::new(
                    "tandem_router_pool_borrow_timeouts_total",
                    "Statements refused because no pooled connection was free within borrow_timeout.",
                ),
                &["data_host", "host"],
            )?,
        };
        r.register(Box::new(m.connections.clone()))?;
        r.register(Box::new(m.active.clone()))?;
        r.register(Box::new(m.login_failures.clone()))?;
        r.register(Box::new(m.queries.clone()))?;
        r.register(Box::new(m.errors.clone()))?;
        r.register(Box::new(m.host_up.clone()))?;
        r.register(Box::new(m.active_writer.clone()))?;
        r.register(Box::new(m.lag.clone()))?;
        r.register(Box::new(m.pool.clone()))?;
        r.register(Box::new(m.failovers.clone()))?;
        r.register(Box::new(m.borrow_timeouts.clone()))?;
        Ok(m)
    }
}
